"""`zhike rules test`: run the golden cases, pytest style, with rule coverage.

Output: a line of dots per case file, then one FAILED line per failing case
(file:line, name, expected vs got, and what fired with its weight), then
coverage and the pass/fail counts. Exit 0 all passed, 1 a case failed,
2 a case file (or the rulebase) is malformed.

With `--corpus [DIR]` it runs the utterance corpus instead (engine.trainer.corpus):
per typology and split the class scores and confusion matrix; exit 1 when a
held-out macro-F1 is below its floor (`corpus/floor.yaml`), 2 when a corpus file
is malformed.
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


def run(rulebase: Path, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool,
        corpus: str | None = None, split: str = "all", show_misses: bool = False, write_floor: bool = False) -> int:
    if corpus is not None:
        return run_corpus(rulebase, corpus or None, split, fmt, show_misses, write_floor)
    from ..reasoning.compiler import compile_rulebase
    from ..trainer.casetest import load_cases, load_rulebase_for_cases, run_cases
    from .rules_check import comma_list

    started = time.perf_counter()
    rb = load_rulebase_for_cases(rulebase)  # a case naming a rule that failed to load says so
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


def run_corpus(rulebase: Path, corpus: str | None, split: str, fmt: str, show_misses: bool,
               write_floor: bool) -> int:
    from ..errors import InputError
    from ..reasoning.compiler import compile_rulebase
    from ..report.output import atomic_write_text
    from ..rules.loader import display_path, load_rulebase
    from ..trainer.corpus import SPLITS, corpus_dir, load_corpus
    from ..trainer.corpus_metrics import FLOOR_SPLIT, floor_path, floor_text, load_floor
    from ..trainer.corpus_report import render_json, render_text
    from ..trainer.corpus_report import run_corpus as run_all

    rb = load_rulebase(rulebase)
    root = Path(corpus) if corpus else corpus_dir(rb)
    splits = SPLITS if split == "all" else (split,)
    if write_floor and FLOOR_SPLIT not in splits:
        raise InputError(_("--write-floor needs the held-out split: leave out --split or use --split heldout"))
    items = load_corpus(rb, root, splits)
    floors = load_floor(rb, floor_path(root))
    with compile_rulebase(rb) as compiled:
        result = run_all(rb, compiled, root, items, splits, floors)
    written = None
    if write_floor:
        heldout = {s.typology: s for s in result.scores if s.split == FLOOR_SPLIT}
        written = floor_path(root)
        atomic_write_text(written, floor_text(heldout, floors))
        result.floors = load_floor(rb, written)
        result.floor_misses = []
    if fmt == "json":
        data = render_json(result)
        if written is not None:
            data["floor_written"] = display_path(written)
        write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", None)
    else:
        text = render_text(result, show_misses)
        if written is not None:
            text += _("floor written to {path}", path=display_path(written)) + "\n"
        write_text(text, None)
    return EXIT_OK if result.ok else EXIT_FAILED
