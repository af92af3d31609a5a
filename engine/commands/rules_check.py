"""`zhike rules check`: every loader problem and every analysis finding, all at once.

Exit 0 when clean (warnings allowed), 1 when there are warnings and --strict,
2 when there are errors. Findings go to stdout, like any linter, so they can be
piped into an editor's problem matcher.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Problem
from ..i18n import _, ngettext
from ..report.output import write_text


def summary(problems: list[Problem]) -> dict[str, int]:
    counts = {"errors": 0, "warnings": 0, "info": 0}
    for p in problems:
        key = {"error": "errors", "warning": "warnings"}.get(p.severity, "info")
        counts[key] += 1
    return counts


def _severities(counts: dict[str, int]) -> list[str]:
    out = []
    if counts["errors"]:
        out.append(ngettext("{n} error", "{n} errors", counts["errors"]))
    if counts["warnings"]:
        out.append(ngettext("{n} warning", "{n} warnings", counts["warnings"]))
    if counts["info"]:
        out.append(ngettext("{n} info", "{n} info", counts["info"]))
    return out


def _contents(rb) -> str:
    return comma_list([ngettext("{n} typology", "{n} typologies", len(rb.typologies)),
                       ngettext("{n} rule", "{n} rules", len(rb.rules)),
                       ngettext("{n} strategy", "{n} strategies", len(rb.strategies)),
                       ngettext("{n} fact", "{n} facts", len(rb.facts))])


def comma_list(items: list[str]) -> str:
    """a, b, c in the current language."""
    out = items[0] if items else ""
    for item in items[1:]:
        out = _("{first}, {second}", first=out, second=item)
    return out


def run(rulebase: Path, fmt: str, strict: bool, seeds: Path | None = None, require_seeds: bool = False) -> int:
    from ..rules.loader import check_rulebase
    from ..trainer.lint import lint, seeds_dir
    from ..trainer.lint.triage import apply_ignores, root_cause_first, suppressed_json

    seeds = seeds if seeds is not None else seeds_dir()
    rb, loader_problems = check_rulebase(rulebase)
    findings = lint(rb, loader_problems, seeds, require_seeds)
    triage = apply_ignores(root_cause_first(loader_problems + findings, Path(rulebase)), Path(rulebase))
    note = triage.note()
    problems = triage.shown + ([note] if note else [])
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
            "suppressed": suppressed_json(triage),
            "knock_on": [p.to_json() for p in triage.knock_on],
            "summary": {**counts, "exit_code": code, "suppressed": len(triage.suppressed),
                        "typologies": len(rb.typologies) if rb else 0, "rules": len(rb.rules) if rb else 0,
                        "strategies": len(rb.strategies) if rb else 0, "facts": len(rb.facts) if rb else 0,
                        "seeds": str(seeds)},
        }
        write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", None)
        return code
    lines = [str(p) for p in problems]
    parts = _severities(counts)
    if rb is not None and parts:
        lines.append(_("{counts} in {rulebase} ({contents})", counts=comma_list(parts), rulebase=rulebase,
                       contents=_contents(rb)))
    elif rb is not None:
        lines.append(_("no problems in {rulebase} ({contents})", rulebase=rulebase, contents=_contents(rb)))
    else:
        lines.append(comma_list(parts))
    write_text("\n".join(lines) + "\n", None)
    return code
