"""`zhike rules test`: run the golden cases, pytest style, with rule coverage.

Output: a line of dots per case file, then one FAILED line per failing case
(file:line, name, expected vs got, and what fired with its weight), then
coverage and the pass/fail counts. Exit 0 all passed, 1 a case failed,
2 a case file (or the rulebase) is malformed.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK
from ..i18n import _, ngettext
from ..report.output import write_text


def _where(r) -> str:
    return f"{r.case.pos.file}:{r.case.pos.line}"


def run(rulebase: Path, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool) -> int:
    from ..reasoning.compiler import compile_rulebase
    from ..rules.loader import load_rulebase
    from ..trainer.casetest import load_cases, run_cases
    from .rules_check import comma_list

    started = time.perf_counter()
    rb = load_rulebase(rulebase)
    cases = load_cases(rb)
    total = len(cases)
    if keyword:
        cases = [c for c in cases if keyword.casefold() in c.name.casefold()]
    with compile_rulebase(rb) as compiled:
        report = run_cases(compiled, cases)
    elapsed = time.perf_counter() - started
    passed = len(report.results) - len(report.failed)
    where = {r.id: r.pos for r in rb.rules} | {s.id: s.pos for s in rb.strategies}
    code = EXIT_FAILED if report.failed else EXIT_OK
    if fmt == "json":
        write_text(json.dumps({
            "passed": passed, "failed": len(report.failed), "deselected": total - len(cases),
            "coverage": round(report.coverage, 4),
            "uncovered": [{"id": u, "kind": "strategy" if u in report.strategies else "rule",
                           "file": where[u].file, "line": where[u].line} for u in report.uncovered],
            "cases": [{"case": r.case.name, "file": r.case.pos.file, "line": r.case.pos.line, "ok": r.ok,
                       "failures": r.failures, "fired": r.result.fired if r.result else [], "trace": r.trace()}
                      for r in report.results],
        }, ensure_ascii=False, indent=2) + "\n", None)
        return code

    lines: list[str] = []
    by_file: dict[str, list] = {}
    for r in report.results:
        by_file.setdefault(r.case.pos.file, []).append(r)
    done = 0
    for file, results in by_file.items():
        done += len(results)
        if verbose:
            for r in results:
                lines.append(_("PASSED {where} {name}", where=_where(r), name=r.case.name) if r.ok else
                             _("FAILED {where} {name}", where=_where(r), name=r.case.name))
        else:
            marks = "".join("." if r.ok else "F" for r in results)
            pct = f"[{done * 100 // max(len(report.results), 1):3d}%]"
            lines.append(f"{file} {marks}".ljust(72) + f" {pct}")
    if report.failed:
        lines.append("")
        lines.append(_(" short test summary info ").center(80, "="))
        for r in report.failed:
            trace = ", ".join(r.trace()) or _("nothing")
            lines.append(_("FAILED {where} {name} - {failures} | fired: {trace}", where=_where(r), name=r.case.name,
                           failures="; ".join(r.failures), trace=trace))

    rules = [x for x in report.rules if x not in report.strategies]
    strats = [x for x in report.rules if x in report.strategies]
    uncovered = set(report.uncovered)
    lines.append(_("coverage: {rules}, {strategies} fired ({percent})",
                   rules=ngettext("{hit}/{n} rule", "{hit}/{n} rules", len(rules),
                                  hit=len(rules) - len(uncovered & set(rules))),
                   strategies=ngettext("{hit}/{n} strategy", "{hit}/{n} strategies", len(strats),
                                       hit=len(strats) - len(uncovered & set(strats))),
                   percent=f"{report.coverage:.0%}"))
    if show_coverage and uncovered:
        for heading, ids in ((_("rules no case exercises:"), rules), (_("strategies no case exercises:"), strats)):
            missing = [i for i in ids if i in uncovered]
            if missing:
                lines.append(heading)
                lines += [f"    {where[i]}: {i}" for i in missing]
    counts = [ngettext("{n} failed", "{n} failed", len(report.failed))] if report.failed else []
    if passed or not report.failed:
        counts.append(ngettext("{n} passed", "{n} passed", passed))
    if total - len(cases):
        counts.append(ngettext("{n} deselected", "{n} deselected", total - len(cases)))
    if not report.results:
        counts = [_("no cases ran")]
    lines.append(_(" {counts} in {seconds}s ", counts=comma_list(counts), seconds=format(elapsed, ".2f")).center(80, "="))
    write_text("\n".join(lines) + "\n", None)
    return code
