"""`zhike facts`: the fact catalogue, the one vocabulary of rules, profiles, questions and batch columns."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import EXIT_OK
from ..report.output import write_text


def catalogue(rulebase: Path) -> list[dict]:
    return _catalogue(rulebase)[0]


def _catalogue(rulebase: Path) -> tuple[list[dict], list[str]]:
    """The catalogue and the rulebase files it was read from (an output must not replace one)."""
    from ..rules.loader import load_rulebase

    rb = load_rulebase(rulebase)
    users: dict[str, list[str]] = {}
    from ..rules.loader import fact_refs

    for p in list(rb.rules) + list(rb.strategies):
        for f in fact_refs(p.when):
            users.setdefault(f, []).append(p.id)
    out = []
    for f in rb.facts.values():
        item = {
            "id": f.id,
            "type": f.type,
            "label": f.label.to_json(),
            "question": f.question.to_json(),
            "help": f.help.to_json() if f.help else None,
            "values": list(f.values) if f.values else None,
            "value_labels": {v.id: v.label.to_json() for v in f.values.values()} if f.values else None,
            "min": f.min,
            "max": f.max,
            "unit": f.unit.to_json() if f.unit else None,
            "used_by": users.get(f.id, []),
        }
        out.append(item)
    return out, list(rb.files)


def run(rulebase: Path, as_json: bool, lang: str, output: str | None) -> int:
    items, inputs = _catalogue(rulebase)
    if as_json:
        write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", output, inputs=inputs)
        return EXIT_OK
    from ..report.render import pad, wrap

    lines = []
    for f in items:
        kind = f["type"]
        if f["values"]:
            vals = " | ".join(f"{v} ({f['value_labels'][v][lang]})" for v in f["values"])
            kind += f": {vals}"
        elif f["type"] == "number":
            lo = "" if f["min"] is None else f"{f['min']:g}"
            hi = "" if f["max"] is None else f"{f['max']:g}"
            unit = f" {f['unit'][lang]}" if f["unit"] else ""
            kind += f" {lo}..{hi}{unit}"
        lines.append(f"{pad(f['id'], 24)}{wrap(kind, indent=24)}")
        lines.append(f"{'':24}{wrap(f['question'][lang], indent=24)}")
        lines.append("")
    write_text("\n".join(lines), output, inputs=inputs)
    return EXIT_OK
