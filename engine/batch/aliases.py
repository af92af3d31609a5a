"""The built-in column aliases (aliases.yaml): CRM export headers and usual sheet headers, per fact.

An alias maps only when the loaded rulebase has its fact, and a value
translation only when the fact has the target value; everything else is
skipped, so the table keeps working while the catalogue grows. What an alias
is (`origin`) and why a known header maps to nothing (`unmapped`) are shown to
the user, so the table gives them in zh and en.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..reasoning.profile import ValueProblem, coerce_value
from ..rules.model import Rulebase, Text
from ..rules.yamlpos import YamlError, load_file
from .mapping import Range, Translation, header_key, value_key

ALIASES_FILE = Path(__file__).resolve().parent / "aliases.yaml"


@dataclass
class Alias:
    fact: str
    translation: Translation | None
    origin: Text  # e.g. "HubSpot Buying Role", for --explain-map


_alias_cache: dict[str, tuple[dict[str, list[Alias]], dict[str, Text]]] = {}
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


def aliases_for(rb: Rulebase) -> tuple[dict[str, list[Alias]], dict[str, Text]]:
    """header key -> aliases usable with this rulebase; header key -> what a known header is that maps to nothing here
    (None for the usual header of a fact this rulebase lacks)."""
    cached = _alias_cache.get(rb.sha256)
    if cached is not None:
        return cached
    data = _load_alias_data()
    out: dict[str, list[Alias]] = {}
    for fid, entry in (data.get("aliases") or {}).items():
        f = rb.facts.get(fid)
        if f is None or not isinstance(entry, dict):
            continue  # the loaded rulebase has no such fact (yet)
        tr = Translation()
        for raw, target in (entry.get("values") or {}).items():
            try:
                v = coerce_value(f, target)
            except ValueProblem:
                continue  # this rulebase's fact lacks that value: leave such cells to coerce_value
            tr.values[value_key(raw)] = v[0] if isinstance(v, list) and len(v) == 1 else v
        for item in entry.get("ranges") or []:
            try:
                v = coerce_value(f, item.get("value"))
            except ValueProblem:
                continue
            lo_key = next((k for k in ("from", "above") if k in item), None)
            hi_key = next((k for k in ("to", "below") if k in item), None)
            tr.ranges.append(Range(item.get(lo_key) if lo_key else None, lo_key == "from",
                                   item.get(hi_key) if hi_key else None, hi_key == "to", v))
        tr.split = entry.get("split")
        for p in entry.get("prefer") or []:
            if p in f.values:
                tr.prefer.append(p)
        alias = Alias(fid, tr if tr else None, _text(entry.get("origin")))
        for h in entry.get("headers") or []:
            out.setdefault(header_key(h), []).append(alias)
    known = {header_key(h): _text(item.get("why")) for item in (data.get("unmapped") or []) if isinstance(item, dict)
             for h in item.get("headers") or []}
    for fid, entry in (data.get("aliases") or {}).items():
        if fid not in rb.facts and isinstance(entry, dict):
            for h in entry.get("headers") or []:
                known.setdefault(header_key(h), _text(entry.get("origin")))
    _alias_cache[rb.sha256] = (out, known)
    return out, known
