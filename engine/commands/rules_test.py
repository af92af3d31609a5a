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
from ..report.output import write_text


def run(rulebase: Path, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool) -> int:
    from ..reasoning.compiler import compile_rulebase
    from ..rules.loader import load_rulebase
    from ..trainer.casetest import load_cases, run_cases

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
                lines.append(f"{'PASSED' if r.ok else 'FAILED'} {r.case.pos.file}:{r.case.pos.line} {r.case.name}")
        else:
            marks = "".join("." if r.ok else "F" for r in results)
            pct = f"[{done * 100 // max(len(report.results), 1):3d}%]"
            lines.append(f"{file} {marks}".ljust(72) + f" {pct}")
    if report.failed:
        lines.append("")
        lines.append(" short test summary info ".center(80, "="))
        for r in report.failed:
            trace = ", ".join(r.trace()) or "nothing"
            lines.append(f"FAILED {r.case.pos.file}:{r.case.pos.line} {r.case.name} - "
                         f"{'; '.join(r.failures)} | fired: {trace}")

    rules = [x for x in report.rules if x not in report.strategies]
    strats = [x for x in report.rules if x in report.strategies]
    uncovered = set(report.uncovered)
    lines.append(f"coverage: {len(rules) - len(uncovered & set(rules))}/{len(rules)} rules, "
                 f"{len(strats) - len(uncovered & set(strats))}/{len(strats)} strategies fired "
                 f"({report.coverage:.0%})")
    if show_coverage and uncovered:
        for kind, ids in (("rules", rules), ("strategies", strats)):
            missing = [i for i in ids if i in uncovered]
            if missing:
                lines.append(f"{kind} no case exercises:")
                lines += [f"    {where[i]}: {i}" for i in missing]
    counts = [f"{len(report.failed)} failed"] if report.failed else []
    if passed or not report.failed:
        counts.append(f"{passed} passed")
    if total - len(cases):
        counts.append(f"{total - len(cases)} deselected")
    if not report.results:
        counts = ["no cases ran"]
    lines.append(f" {', '.join(counts)} in {elapsed:.2f}s ".center(80, "="))
    write_text("\n".join(lines) + "\n", None)
    return code
