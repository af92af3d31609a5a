"""`zhike batch INPUT --init-map FILE`: a commented mapping file for this sheet, to edit and pass to --map.

For every header: the fact it maps to and why (the fact's id or name, a usual header, or what its
values look like), or `ignore` with why and the closest facts; for every mapped column, the
distinct values seen in the first rows with what each becomes, those not understood marked
`null  # ??`. Editing that file and running with `--map FILE` is the whole workflow; the file is
a --map file like any other (`engine.batch.mapfile`).
"""
from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from typing import Any

from ..i18n import _, current_lang
from ..reasoning.profile import ValueProblem, coerce_value
from ..rules.model import FactDef, Rulebase
from ..words.labels import suggest
from .lenient import lenient_value, number_in
from .mapping import HOW, REP_NOTES, RESERVED_UTTERANCES, ColumnPlan, Plan, _cell_value

SAMPLE_ROWS = 1000
MAX_VALUES = 40  # distinct values listed per column; more are left to the usual reading
OVERLAP = 0.6  # share of a column's distinct values that must be a fact's answers to map it by its values


def _q(text: Any) -> str:
    """A YAML scalar that reads back as exactly this text (a JSON string is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def seen_values(reader: Any, plan: Plan, rows: int = SAMPLE_ROWS) -> dict[int, Counter]:
    """Column index -> distinct non-blank cell texts in the first `rows` rows, with counts."""
    seen: dict[int, Counter] = {i: Counter() for i in range(len(plan.columns))}
    for rec in islice(iter(reader), rows):
        if rec.error_code:
            continue
        for i, v in enumerate(rec.values[: len(plan.columns)]):
            if v is not None and str(v).strip():
                seen[i][str(v).strip()] += 1
    return seen


def _by_values(values: Counter, rb: Rulebase) -> tuple[FactDef, int] | None:
    """The one choice fact most of a column's distinct values are answers of (not yes/no: too many such facts)."""
    distinct = list(values)[:MAX_VALUES]
    if len(distinct) < 2:
        return None
    scores = []
    for f in rb.facts.values():
        if f.type != "enum":
            continue
        hits = 0
        for v in distinct:
            try:
                ok = coerce_value(f, v) is not None
            except ValueProblem:
                m = lenient_value(f, v)
                ok = m is not None and m.value is not None and m.how in ("simplified", "part")
            hits += ok
        if hits >= max(2, OVERLAP * len(distinct)):
            scores.append((hits, f))
    scores.sort(key=lambda x: -x[0])
    if not scores or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return scores[0][1], scores[0][0]


def _value_yaml(f: FactDef, v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format(v, "g")
    if isinstance(v, list):
        return "[" + ", ".join(_q(x) for x in v) + "]"
    return _q(v)


def _single(p: ColumnPlan, values: Counter, lang: str) -> list[str]:
    f = p.fact
    assert f is not None
    out = [f"  {_q(p.name)}:", f"    fact: {f.id}"]
    if f.id in (RESERVED_UTTERANCES, REP_NOTES) or f.type == "text":
        return out  # free text: nothing to translate
    tr = p.translation
    if tr is not None and tr.ranges:
        out.append("    ranges:")
        for r in tr.ranges:
            parts = []
            if r.lo is not None:
                parts.append(f"{'from' if r.lo_incl else 'above'}: {r.lo:g}")
            if r.hi is not None:
                parts.append(f"{'to' if r.hi_incl else 'below'}: {r.hi:g}")
            parts.append(f"value: {_value_yaml(f, r.value)}")
            out.append("      - {" + ", ".join(parts) + "}")
    rows = []
    for raw, n in list(values.items())[:MAX_VALUES]:
        try:
            v = _cell_value(raw, f, tr)
        except ValueProblem as e:
            rows.append(f"      {_q(raw)}: null  # ?? {_comment(_('not understood ({n} cells): {why}', n=n, why=e))}")
            continue
        if tr is not None and tr.ranges and number_in(raw) is not None:
            continue  # a number (about, or a range) that the ranges read
        shown = _("unknown") if v is None else (", ".join(f.label_of(x, lang) for x in v) if isinstance(v, list)
                                               else f.label_of(v, lang))
        rows.append(f"      {_q(raw)}: {_value_yaml(f, v[0] if isinstance(v, list) and len(v) == 1 else v)}"
                    f"  # → {_comment(shown)} ({n})")
    if rows:
        out.append("    values:")
        out += rows
    return out


def _multi(p: ColumnPlan, values: Counter, lang: str) -> list[str]:
    multi = p.multi
    assert multi is not None
    out = [f"  {_q(p.name)}:", "    values:"]
    for raw, n in list(values.items())[:MAX_VALUES]:
        sets = multi.lookup(raw)
        if sets is None:
            out.append(f"      {_q(raw)}: null  # ?? {_comment(_('not understood ({n} cells)', n=n))}")
            continue
        body = ", ".join(f"{fid}: {_value_yaml(multi.facts[fid], v)}" for fid, v in sets.items())
        words = _(", ").join(f"{multi.facts[fid].label.get(lang)}={multi.facts[fid].label_of(v, lang)}"
                             for fid, v in sets.items() if v is not None)
        out.append(f"      {_q(raw)}: " + ("{" + body + "}" if body else "null") + f"  # → {_comment(words) or _('unknown')} ({n})")
    return out


def init_map_text(reader: Any, plan: Plan, rb: Rulebase, source: str) -> str:
    """The commented mapping YAML for the sheet `reader` is reading (its rows are consumed)."""
    lang = current_lang()
    values = seen_values(reader, plan)
    lines = [
        "# " + _comment(_("zhike batch mapping for {source}, made by --init-map", source=source)),
        "# " + _comment(_("Edit it and run: zhike batch {source} --map THIS_FILE", source=source)),
        "# " + _comment(_("Each column names the fact it holds (or `ignore`). Under `values:` each value seen in the "
                          "sheet says what it becomes; `null` means unknown; lines marked ?? were not understood — "
                          "write the answer there. Values not listed are read as usual (names of answers, 是/否, "
                          "numbers).")),
        "auto: false  # " + _comment(_("only the columns below; true maps other columns by their names too")),
        "columns:",
    ]
    named: set[str] = set()
    for p in plan.plans:
        name = p.name or ""
        if not name.strip() or name in named:
            # a column without a header (or a header twice) cannot be named in a mapping: say so, in a comment
            lines.append("  # " + _comment(_("column {n} ({name}): cannot be named in a mapping file; it is kept "
                                                "unchanged in the output", n=p.index + 1, name=repr(name))))
            continue
        named.add(name)
        if p.multi is not None:
            facts = " + ".join(f.label.get(lang) for f in p.multi.facts.values())
            lines.append("  # " + _comment(_("{column} → {facts} ({how})", column=name, facts=facts,
                                                how=_(HOW.get(p.how, p.how)) + (f": {p.note}" if p.note else ""))))
            lines += _multi(p, values[p.index], lang)
            continue
        if p.fact is not None:
            lines.append("  # " + _comment(_("{column} → {facts} ({how})", column=name, facts=p.fact.label.get(lang),
                                                how=_(HOW.get(p.how, p.how)) + (f": {p.note}" if p.note else ""))))
            lines += _single(p, values[p.index], lang)
            continue
        guess = _by_values(values[p.index], rb) if not name.startswith("_") else None
        if guess is not None:
            f, hits = guess
            p2 = ColumnPlan(p.index, name, f, "values")
            lines.append("  # " + _comment(_("{column} → {facts} (by its values: {hits} of {n} are its answers)",
                                                column=name, facts=f.label.get(lang), hits=hits,
                                                n=min(len(values[p.index]), MAX_VALUES))))
            lines += _single(p2, values[p.index], lang)
            continue
        close = suggest(name, [(f.label.get(lang), (f.id, f.label.zh, f.label.en)) for f in rb.facts.values()])
        why = p.note or _("no fact has this name")
        closest = _("closest facts: {facts}", facts=_(", ").join(close)) if close else _("no fact is close")
        lines.append("  # " + _comment(_("{column}: not mapped — {why}; {closest}", column=name, why=why,
                                            closest=closest)))
        lines.append(f"  {_q(name)}: ignore")
    return "\n".join(lines) + "\n"
