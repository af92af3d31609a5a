"""`zhike rules check`: every loader problem and every analysis finding, all at once.

Exit 0 when clean (warnings allowed), 1 when there are warnings and --strict,
2 when there are errors. Findings go to stdout, like any linter, so they can be
piped into an editor's problem matcher.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Problem
from ..report.output import write_text


def summary(problems: list[Problem]) -> dict[str, int]:
    counts = {"errors": 0, "warnings": 0, "info": 0}
    for p in problems:
        key = {"error": "errors", "warning": "warnings"}.get(p.severity, "info")
        counts[key] += 1
    return counts


_PLURAL = {"typology": "typologies", "strategy": "strategies", "info": "info"}


def _n(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else _PLURAL.get(word, word + 's')}"


def run(rulebase: Path, fmt: str, strict: bool) -> int:
    from ..rules.loader import check_rulebase
    from ..trainer.lint import lint, seeds_dir

    rb, loader_problems = check_rulebase(rulebase)
    findings = lint(rb, loader_problems)
    problems = sorted(loader_problems + findings, key=Problem.sort_key)
    counts = summary(problems)
    if counts["errors"]:
        code = EXIT_USAGE
    elif counts["warnings"] and strict:
        code = EXIT_FAILED
    else:
        code = EXIT_OK
    if fmt == "json":
        doc = {
            "rulebase": str(rulebase),
            "problems": [p.to_json() for p in problems],
            "summary": {**counts, "exit_code": code,
                        "typologies": len(rb.typologies) if rb else 0, "rules": len(rb.rules) if rb else 0,
                        "strategies": len(rb.strategies) if rb else 0, "facts": len(rb.facts) if rb else 0,
                        "seeds": str(seeds_dir())},
        }
        write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", None)
        return code
    lines = [str(p) for p in problems]
    parts = [_n(n, {"errors": "error", "warnings": "warning"}.get(k, "info")) for k, n in counts.items() if n]
    if rb is not None:
        what = ", ".join(_n(len(x), w) for x, w in ((rb.typologies, "typology"), (rb.rules, "rule"),
                                                     (rb.strategies, "strategy"), (rb.facts, "fact")))
        lines.append(f"{', '.join(parts) if parts else 'no problems'} in {rulebase} ({what})")
    else:
        lines.append(", ".join(parts))
    write_text("\n".join(lines) + "\n", None)
    return code
