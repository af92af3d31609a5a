"""`zhike rules test`: run the golden cases, pytest style, with rule coverage."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK
from ..output import write_text


def run(rulebase: Path, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool) -> int:
    from ..casetest import load_cases, run_cases
    from ..compiler import compile_rulebase
    from ..loader import load_rulebase

    rb = load_rulebase(rulebase)
    cases = load_cases(rb)
    if keyword:
        cases = [c for c in cases if keyword.casefold() in c.name.casefold()]
    with compile_rulebase(rb) as compiled:
        report = run_cases(compiled, cases)
    passed = len(report.results) - len(report.failed)
    if fmt == "json":
        write_text(json.dumps({
            "passed": passed, "failed": len(report.failed),
            "coverage": round(report.coverage, 4), "uncovered": report.uncovered,
            "failures": [{"case": r.case.name, "file": r.case.pos.file, "line": r.case.pos.line,
                          "failures": r.failures, "fired": r.result.fired if r.result else []}
                         for r in report.failed],
        }, ensure_ascii=False, indent=2) + "\n", None)
        return EXIT_FAILED if report.failed else EXIT_OK
    lines: list[str] = []
    for r in report.results:
        where = f"{r.case.pos.file}:{r.case.pos.line}"
        if r.ok:
            if verbose:
                lines.append(f"PASS {where}: {r.case.name}")
            continue
        lines.append(f"FAIL {where}: {r.case.name}")
        lines += [f"    {f}" for f in r.failures]
        if r.result is not None:
            lines.append(f"    fired: {', '.join(r.result.fired) or 'nothing'}")
    total_rules = len(report.rules)
    covered = total_rules - len(report.uncovered)
    lines.append(f"rule coverage: {covered}/{total_rules} ({report.coverage:.0%})")
    if show_coverage and report.uncovered:
        lines.append("not exercised by any case:")
        lines += [f"    {rid}" for rid in report.uncovered]
    lines.append(f"{passed} passed, {len(report.failed)} failed")
    write_text("\n".join(lines) + "\n", None)
    return EXIT_FAILED if report.failed else EXIT_OK
