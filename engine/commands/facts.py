"""`zhike facts`: the fact catalogue, the one vocabulary of rules, profiles, questions and batch columns.

The text lists the facts by topic, in the order a rep's questions come in
(`topics:` of the manifest; facts without a topic follow in catalogue order),
each with the names a profile key or a column header may use (its zh and en
labels, and its id), the kind of answer in words (yes/no, a choice, a number…)
and its question. `--json` is the machine-readable catalogue.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK
from ..i18n import N_, _
from ..report.output import write_text

# the kind of answer a fact takes, as a rep says it
KINDS = {"bool": N_("yes/no"), "enum": N_("choice"), "number": N_("number"), "text": N_("text"), "list": N_("list")}


def catalogue(rulebase: Path) -> list[dict]:
    return _catalogue(rulebase)[0]


def _catalogue(rulebase: Path) -> tuple[list[dict], list[str], Any]:
    """The catalogue, the rulebase files it was read from (an output must not replace one), and the rulebase."""
    from ..rules.loader import fact_refs, load_rulebase

    rb = load_rulebase(rulebase)
    users: dict[str, list[str]] = {}
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
            "topic": f.topic,
        }
        out.append(item)
    return out, list(rb.files), rb


def run(rulebase: Path, as_json: bool, lang: str, output: str | None) -> int:
    items, inputs, rb = _catalogue(rulebase)
    if as_json:
        write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", output, inputs=inputs)
        return EXIT_OK
    write_text("\n".join(_text(items, rb, lang)), output, inputs=inputs)
    return EXIT_OK


def _groups(items: list[dict], rb: Any) -> list[tuple[str | None, list[dict]]]:
    """(topic label or None, facts) in the order a rep's questions come in; the rest in catalogue order."""
    topics = list(getattr(rb, "topics", None) or [])
    by_topic: dict[str, list[dict]] = {t.id: [] for t in topics}
    rest: list[dict] = []
    for item in items:
        (by_topic[item["topic"]] if item.get("topic") in by_topic else rest).append(item)
    groups: list[tuple[str | None, list[dict]]] = [(t.id, by_topic[t.id]) for t in topics if by_topic[t.id]]
    if rest:
        groups.append((None, rest))
    return groups


def _kind(f: dict, lang: str) -> str:
    """The kind of answer in words: 是/否, 选项: 快 / 慢, 数字 0..100 万元, 文字, 列表."""
    kind = _(KINDS.get(f["type"], f["type"]))
    if f["values"]:
        return _("{kind}: {values}", kind=kind, values=" / ".join(f["value_labels"][v][lang] for v in f["values"]))
    if f["type"] == "number":
        lo, hi = f["min"], f["max"]
        span = (f"{lo:g}..{hi:g}" if lo is not None and hi is not None else f"≥ {lo:g}" if lo is not None
                else f"≤ {hi:g}" if hi is not None else "")
        unit = f["unit"][lang] if f["unit"] else ""
        return " ".join(x for x in (kind, span, unit) if x)
    return kind


def _text(items: list[dict], rb: Any, lang: str) -> list[str]:
    from ..report.textwidth import pad, wrap

    topic_labels = {t.id: t.label.get(lang) for t in (getattr(rb, "topics", None) or [])}
    groups = _groups(items, rb)
    lines = [wrap(_("The facts a profile or a batch column can give. A profile key or a column header may be any "
                    "of the names listed (case, spaces and punctuation do not matter).")), ""]
    for topic, facts in groups:
        if topic is not None or len(groups) > 1:
            heading = topic_labels[topic] if topic is not None else _("Other facts")
            lines += [f"== {heading} ==", ""]
        for f in facts:
            label = f["label"][lang]
            lines.append(f"{pad(label, 24)}{wrap(_kind(f, lang), indent=24)}")
            lines.append(f"{'':4}{wrap(f['question'][lang], indent=4)}")
            names = list(dict.fromkeys([f["label"]["zh"], f["label"]["en"], f["id"]]))
            lines.append(f"{'':4}" + wrap(_("names: {names}", names=" · ".join(names)), indent=4))
            lines.append("")
    return lines
