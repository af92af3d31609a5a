"""The built-in column aliases (aliases.yaml): CRM export headers and usual sheet headers, per fact.

An alias maps only when the loaded rulebase has its fact, and a value
translation only when the fact has the target value; everything else is
skipped, so the table keeps working while the catalogue grows. What an alias
is (`origin`) and why a known header maps to nothing (`unmapped`) are shown to
the user, so the table gives them in zh and en.

Three kinds of entry: `aliases:` keyed by fact id (`has_money@amount` is a second
entry for `has_money`), `rep_notes` among them for the rep's own notes; and
`several:` for a column whose values each set several facts (a CRM's 阶段).

A header that is not listed is still read as a listed one when it ends with one of
the `heads:` (购房预算 is a 预算, 经纪人备注 a 备注: a Chinese compound names its
kind last), starts with one of the `subjects:` the column is about (对接人能否拍板 is
能否拍板, 联系人身份 is 身份) or is two listed headers of the same column run together
(职称/职务): `AliasTable` answers for those keys too, unless the header is a known
unmapped one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..reasoning.profile import ValueProblem, coerce_value
from ..rules.model import FactDef, Rulebase, Text
from ..rules.yamlpos import YamlError, load_file
from .mapping import REP_NOTES, REP_NOTES_FACT, Multi, Range, Translation, header_key

ALIASES_FILE = Path(__file__).resolve().parent / "aliases.yaml"


@dataclass
class Alias:
    fact: str
    translation: Translation | None
    origin: Text  # e.g. "HubSpot Buying Role", for --explain-map
    multi: Multi | None = None  # a column that sets several facts (then `fact` is "")


class AliasTable(dict):
    """header key -> the aliases it can be: the listed headers, and (through `in` and `[]`) the headers
    read as a listed one — ending with a head word (购房预算 → 预算), starting with whom the column is about
    (对接人能否拍板 → 能否拍板) or made of two listed headers of the same column (职称职务 → 职称) — except the
    headers known to map to nothing (`unmapped`)."""

    DERIVED_KEPT = 4096  # header keys looked up and kept, per table

    def __init__(self, listed: dict[str, list[Alias]], heads: list[str], unmapped: set[str],
                 subjects: list[str] | tuple[str, ...] = ()):
        super().__init__(listed)
        self._heads = sorted((h for h in heads if dict.__contains__(self, h)), key=len, reverse=True)
        self._subjects = sorted((s for s in subjects if s), key=len, reverse=True)
        self._unmapped = unmapped
        self._derived: dict[str, list[Alias] | None] = {}

    def derived(self, key: str) -> list[Alias] | None:
        """The aliases of a header key that is not listed, read through a head word or two listed headers."""
        if key in self._derived:
            return self._derived[key]
        found: list[Alias] | None = None
        if key and key not in self._unmapped:
            found = self._by_head(key)
            rest = self.without_subject(key) if found is None else None
            if rest is not None:  # 对接人能否拍板: whom it is about, then what
                found = self._by_head(rest)
            for i in range(1, len(key)) if found is None else ():
                # two headers of one column run together: 职称/职务, or a bilingual 阶段 Stage, 运费预算 Budget
                first, second = self._by_head(key[:i]), self._by_head(key[i:])
                if first and second and _same(first[0], second[0]):
                    found = first
                    break
        if len(self._derived) >= self.DERIVED_KEPT:
            self._derived.clear()  # shared by every plan of this rulebase (threads too): start afresh, atomically
        self._derived[key] = found
        return found

    def without_subject(self, key: str) -> str | None:
        """A header key without whom the column is about (联系人电话 → 电话), or None when it starts with no subject."""
        return next((key[len(s):] for s in self._subjects if key.startswith(s) and len(key) > len(s)), None)

    def _by_head(self, key: str) -> list[Alias] | None:
        """The aliases of a listed header key, or of one ending with a head word (not one known to map to nothing)."""
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        if key in self._unmapped:
            return None
        return next((dict.__getitem__(self, h) for h in self._heads if len(key) > len(h) and key.endswith(h)), None)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (isinstance(key, str) and self.derived(key) is not None)

    def __missing__(self, key: str) -> list[Alias]:
        found = self.derived(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(key)
        return found


def _same(a: Alias, b: Alias) -> bool:
    """Whether two aliases are one entry of the table (a `several:` entry makes one alias per header)."""
    return a is b or (a.multi is not None and a.multi is b.multi) or (
        a.multi is None and b.multi is None and a.fact == b.fact and a.translation is b.translation)


_alias_cache: dict[str, tuple[dict[str, list[Alias]], dict[str, Text]]] = {}
_fact_tables: dict[str, dict[str, Translation]] = {}
_alias_data: dict | None = None


def _load_alias_data() -> dict:
    global _alias_data
    if _alias_data is None:
        try:
            loc = load_file(ALIASES_FILE)
        except YamlError as e:  # pragma: no cover - a packaging bug, not a user mistake
            raise InputError("", e.problems) from None
        _alias_data = loc.plain() if loc is not None else {}
    return _alias_data


def _text(data: Any) -> Text:
    """A zh/en text of the alias table (a plain string serves both)."""
    if isinstance(data, dict):
        return Text(str(data.get("zh") or data.get("en") or ""), str(data.get("en") or data.get("zh") or ""))
    return Text(str(data or ""), str(data or ""))


def _value(f: FactDef, target: Any) -> tuple[bool, Any]:
    """(usable, value) for a table's target value: unusable when this rulebase's fact lacks it."""
    if target is None:
        return True, None
    try:
        v = coerce_value(f, target)
    except ValueProblem:
        return False, None
    return True, (v[0] if isinstance(v, list) and len(v) == 1 else v)


def _translation(f: FactDef, entry: dict) -> Translation:
    tr = Translation()
    for raw, target in (entry.get("values") or {}).items():
        ok, v = _value(f, target)
        if ok:
            tr.add(raw, v)
    for item in entry.get("ranges") or []:
        ok, v = _value(f, item.get("value"))
        if not ok:
            continue
        lo_key = next((k for k in ("from", "above") if k in item), None)
        hi_key = next((k for k in ("to", "below") if k in item), None)
        tr.ranges.append(Range(item.get(lo_key) if lo_key else None, lo_key == "from",
                               item.get(hi_key) if hi_key else None, hi_key == "to", v))
    tr.split = entry.get("split")
    for p in entry.get("prefer") or []:
        if p in f.values:
            tr.prefer.append(p)
    return tr


def _multi(rb: Rulebase, entry: dict) -> Multi | None:
    multi = Multi({})
    for raw, sets in (entry.get("values") or {}).items():
        usable: dict[str, Any] = {}
        for fid, target in (sets or {}).items():
            f = rb.facts.get(fid)
            if f is None:
                continue  # this rulebase has no such fact (yet)
            ok, v = _value(f, target)
            if ok:
                usable[fid] = v
                multi.facts.setdefault(fid, f)
        multi.add(raw, usable)
    return multi if multi.facts else None


def aliases_for(rb: Rulebase) -> tuple[AliasTable, dict[str, Text]]:
    """header key -> aliases usable with this rulebase; header key -> what a known header is that maps to nothing here
    (None for the usual header of a fact this rulebase lacks)."""
    cached = _alias_cache.get(rb.sha256)
    if cached is not None:
        return cached
    data = _load_alias_data()
    out: dict[str, list[Alias]] = {}
    known: dict[str, Text] = {}
    tables: dict[str, Translation] = {}
    for key, entry in (data.get("aliases") or {}).items():
        fid = str(key).split("@", 1)[0]
        f = REP_NOTES_FACT if fid == REP_NOTES else rb.facts.get(fid)
        if not isinstance(entry, dict):
            continue
        if f is None:  # the loaded rulebase has no such fact (yet): say what the header is
            for h in entry.get("headers") or []:
                known.setdefault(header_key(h), _text(entry.get("origin")))
            continue
        tr = _translation(f, entry)
        if tr and "@" not in str(key):
            tables.setdefault(f.id, tr)
        alias = Alias(f.id, tr if tr else None, _text(entry.get("origin")))
        for h in entry.get("headers") or []:
            out.setdefault(header_key(h), []).append(alias)
    for entry in data.get("several") or []:
        if not isinstance(entry, dict):
            continue
        multi = _multi(rb, entry)
        for h in entry.get("headers") or []:
            if multi is None:
                known.setdefault(header_key(h), _text(entry.get("origin")))
            else:
                out.setdefault(header_key(h), []).append(Alias("", None, _text(entry.get("origin")), multi))
    for item in data.get("unmapped") or []:
        if isinstance(item, dict):
            for h in item.get("headers") or []:
                known.setdefault(header_key(h), _text(item.get("why")))
    table = AliasTable(out, [header_key(h) for h in data.get("heads") or []], set(known),
                       [header_key(s) for s in data.get("subjects") or []])
    _alias_cache[rb.sha256] = (table, known)
    _fact_tables[rb.sha256] = tables
    return table, known


def usual_values(rb: Rulebase, fid: str) -> Translation | None:
    """The usual values of a fact (its alias entry's value table), for a column named by the fact's own
    id or label: "三个月内" in a 采购时间 column means the same as in a Timeframe column."""
    aliases_for(rb)
    return _fact_tables.get(rb.sha256, {}).get(fid)
