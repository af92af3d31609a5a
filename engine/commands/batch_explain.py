"""`zhike batch --explain-map`: how a prospect list would be read, before a long run; and the progress line.

The mapping (each column with the fact or facts it gives and how it was matched, with the values
its cells would become), the rows above the header that are not prospects, the facts no column
gives, the result columns, and a dry run of the first rows: how many would be rejected and how
many cells would be left blank, and why. Exit code 1 when rows would be rejected.
"""
from __future__ import annotations

import sys
import time
from itertools import islice
from typing import Any

from ..batch.readers import rows_named
from ..batch.summary import REJECT_KINDS  # what each reject code means, in words
from ..i18n import _, ngettext

EXPLAIN_SAMPLE = 1000
EXPLAIN_UNMAPPED = 12  # facts no column gives, named in --explain-map (`zhike facts` lists them all)


class Progress:
    """One line on stderr, redrawn at most five times a second (only on a terminal)."""

    def __init__(self, reader: Any):
        self.reader = reader
        self.t0 = self.last = time.monotonic()

    def update(self, rows: int, rejected: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        frac = self.reader.progress()
        pct = f"{frac:6.1%}  " if frac is not None else ""
        rate = rows / max(now - self.t0, 1e-6)
        bar = ""
        if frac is not None:
            n = int(frac * 24)
            bar = "[" + "#" * n + "." * (24 - n) + "] "
        sys.stderr.write("\r" + bar + pct + _("{rows} rows  {rate}/s  {rejected} rejected ", rows=format(rows, ","),
                                               rate=format(rate, ",.0f"), rejected=format(rejected, ",")))
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def where_read(reader: Any) -> str:
    """How the input was read: format, encoding and delimiter, sheet, header row."""
    if reader.format == "csv":
        where = _("CSV, encoding {encoding}, delimiter {delimiter}", encoding=reader.encoding,
                  delimiter=repr(reader.delimiter))
    else:
        where = reader.format.upper()
    if reader.detail:
        where = _("{where}, {detail}", where=where, detail=reader.detail)
    if getattr(reader, "header_row", 0) and reader.header_row > 1:
        where = _("{where}, header in row {row}", where=where, row=reader.header_row)
    return where


def above_header(reader: Any) -> list[str]:
    """The rows above the header (a title, notes), named so nobody wonders where they went."""
    if not reader.above:
        return []
    return [ngettext("note: {count} row above the header is not a prospect ({rows})",
                     "note: {count} rows above the header are not prospects ({rows})", len(reader.above),
                     count=len(reader.above), rows=rows_named(reader.above))]


def explain(reader: Any, plan: Any, rb: Any, result_headers: list[str], lang: str, spec: Any,
            on_bad_value: str) -> int:
    """Print the mapping and a dry run; the exit code: 1 when rows would be rejected."""
    from ..batch.mapping import HOW
    from ..report.textwidth import dwidth, pad

    out: list[str] = []
    out.append(ngettext("{name}: {where}, {count} column", "{name}: {where}, {count} columns", len(reader.columns),
                        name=reader.name, where=where_read(reader), count=format(len(reader.columns), ",")))
    out += reader.notes + above_header(reader)
    line = _("rulebase: {name} {version}", name=rb.title.get(lang) or rb.name, version=rb.version)
    if spec.entries:
        line += _("; mapping: {name}", name=spec.name)
    out.append(line)
    out.append("")
    blank = _("(blank)")
    head = (_("column"), _("fact it gives"), _("matched by"))
    width = min(36, max([dwidth(" ".join(c.split()) or blank) for c in reader.columns] + [dwidth(head[0]), 6]))
    gives = {p.index: gives_text(p, lang) for p in plan.mapped}
    fwidth = min(30, max([dwidth(g) for g in gives.values()] + [dwidth(head[1]), 4]))
    out.append(f"{pad(head[0], width)}    {pad(head[1], fwidth)}  {head[2]}")
    for p in plan.plans:
        name = " ".join(p.name.split()) or blank  # a header broken over lines in its cell, on one line
        if not p.mapped:
            out.append(f"{pad(name, width)}    {pad('-', fwidth)}  " + _("ignored: {why}", why=p.note))
            continue
        how = _(HOW.get(p.how, p.how)) + (f": {p.note}" if p.note else "")
        shown = table_shown(p, lang)
        if shown:
            how += _("; values {values}", values=shown)
        out.append(f"{pad(name, width)}  → {pad(gives[p.index], fwidth)}  {how}")
    facts = {fid for p in plan.mapped for fid in facts_of(p)}
    out.append("")
    out.append(ngettext("{mapped} of {count} column gives {facts}; {ignored} ignored (kept unchanged in the output)",
                        "{mapped} of {count} columns give {facts}; {ignored} ignored (kept unchanged in the output)",
                        len(plan.columns), mapped=len(plan.mapped), count=len(plan.columns), ignored=len(plan.ignored),
                        facts=ngettext("{n} fact", "{n} facts", len(facts))))
    unmapped = [f.label.get(lang) for fid, f in rb.facts.items() if fid not in facts]
    if unmapped:
        shown = _(", ").join(unmapped[:EXPLAIN_UNMAPPED])
        if len(unmapped) > EXPLAIN_UNMAPPED:
            rest = len(unmapped) - EXPLAIN_UNMAPPED
            shown = ngettext("{shown} and {n} more fact", "{shown} and {n} more facts", rest, shown=shown)
        out.append(_("facts no column gives: {facts}", facts=shown))
    for col in plan.missing_columns:
        out.append(_('the mapping names column "{column}", which the input does not have', column=col))
    out.append(_("result columns: {columns}", columns=", ".join(result_headers)))
    lines, rejected = dry_run(reader, plan, on_bad_value)
    out += lines
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return 1 if rejected else 0


def facts_of(p: Any) -> list[str]:
    """The fact ids a column plan gives."""
    if p.multi is not None:
        return list(p.multi.facts)
    return [p.fact.id] if p.fact is not None else []


def gives_text(p: Any, lang: str) -> str:
    """What a mapped column gives, by label: one fact, or several ("合同状况 + 付款状况 + …")."""
    if p.multi is not None:
        labels = [f.label.get(lang) for f in p.multi.facts.values()]
        return " + ".join(labels[:3]) + (" …" if len(labels) > 3 else "")
    return p.fact.label.get(lang)


def value_shown(fact: Any, value: Any, lang: str) -> str:
    """A value of a value table as the user knows it: its label; unknown for None."""
    if value is None:
        return _("unknown")
    if isinstance(value, list):
        return "+".join(fact.label_of(v, lang) for v in value)
    return fact.label_of(value, lang)


def table_shown(p: Any, lang: str, n: int = 4) -> str:
    """A few entries of a column's value table, e.g. `已回款→合同状况=客户已签字回传, … (+60)`."""
    if p.multi is not None:
        items = list(p.multi.values.items())
        shown = [f"{p.multi.shown[k]}→" + ", ".join(f"{p.multi.facts[fid].label.get(lang)}="
                                                   f"{value_shown(p.multi.facts[fid], v, lang)}" for fid, v in sets.items())
                 if sets else f"{p.multi.shown[k]}→" + _("unknown") for k, sets in items[:2]]
        more = len(items) - len(shown)
    elif p.translation is not None:
        tr = p.translation
        shown = [f"{tr.shown.get(k, k)}→{value_shown(p.fact, v, lang)}" for k, v in list(tr.values.items())[:n]]
        shown += [r.text(value_shown(p.fact, r.value, lang)) for r in tr.ranges[:n]]
        more = len(tr.values) + len(tr.ranges) - len(shown)
    else:
        return ""
    text = ", ".join(shown)
    return text + (f" (+{more})" if more > 0 and shown else "")


def dry_run(reader: Any, plan: Any, on_bad_value: str) -> tuple[list[str], int]:
    """What the first rows would give: rows rejected and cells left blank, and why; (lines, rows rejected)."""
    codes: dict[str, int] = {}
    examples: dict[str, str] = {}
    blanks: dict[str, int] = {}
    blank_example: dict[str, str] = {}
    n = 0
    noted = len(reader.notes)  # what reading the rows adds (a 合计 row under the table) is said below
    for rec in islice(iter(reader), EXPLAIN_SAMPLE):
        n += 1
        if rec.error_code:
            codes[rec.error_code] = codes.get(rec.error_code, 0) + 1
            examples.setdefault(rec.error_code, _("row {row}: {problem}", row=rec.row, problem=rec.error))
            continue
        _profile, problems = plan.read(list(rec.values))
        if problems and on_bad_value == "reject":
            codes["bad-value"] = codes.get("bad-value", 0) + 1
            examples.setdefault("bad-value", _("row {row}: {problem}", row=rec.row, problem=str(problems[0])))
        for p in problems if on_bad_value == "blank" else ():
            blanks[p.column] = blanks.get(p.column, 0) + 1
            blank_example.setdefault(p.column, _("row {row}: {problem}", row=rec.row, problem=p.message))
    bad = sum(codes.values())
    out = ["", ngettext("checked the first {count} row: {bad} would be rejected",
                        "checked the first {count} rows: {bad} would be rejected", n, count=format(n, ","),
                        bad=format(bad, ","))]
    out += ["  " + note for note in reader.notes[noted:]]
    for code, count in sorted(codes.items()):
        out.append("  " + _("{code} ({kind}): {count}, e.g. {example}", code=code,
                            kind=_(REJECT_KINDS.get(code, code)), count=format(count, ","), example=examples[code]))
    for column, count in blanks.items():
        out.append("  " + ngettext('column "{column}": {count} cell would be left blank, e.g. {example}',
                                   'column "{column}": {count} cells would be left blank, e.g. {example}', count,
                                   column=column, count=format(count, ","), example=blank_example[column]))
    return out, bad
