"""The `--map` file: which column holds which fact, with value tables, ranges, or several facts per column.

```yaml
auto: true
columns:
  客户速度: pace                  # column -> fact (id or label)
  有没有预算: {fact: has_money, values: {有: true, 没有: false, 说不清: null}}
  阶段:                           # one column, several facts: each value names what it sets
    values:
      已回款: {payment_status: paid, contract_status: returned}
      方案演示: {contact_status: active}
  备注: rep_notes                 # the rep's own notes (never what the customer said)
ignore: [电话]
```

Every mistake is reported at once as `file:line:col` (`InputError`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..i18n import _, current_lang
from ..reasoning.profile import (
    ValueProblem,
    coerce_value,
    did_you_mean_key,
    did_you_mean_labels,
    fact_label,
    fact_named,
)
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef, Rulebase, number_problem
from ..rules.yamlpos import Located, YamlError, load_file, load_text
from ..words.labels import suggest
from .mapping import REP_NOTES, REP_NOTES_FACT, MapEntry, MapSpec, Multi, Range, Translation, header_key

_RANGE_KEYS = {"from": (True, True), "above": (True, False), "to": (False, True), "below": (False, False)}


def load_map(path: str | Path, rb: Rulebase) -> MapSpec:
    """Read a column mapping YAML file; raise InputError with every problem, positioned."""
    path = Path(path)
    try:
        loc = load_file(path)
    except YamlError as e:
        raise InputError("", e.problems) from None
    spec = map_from_located(loc, rb, str(path))
    spec.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return spec


def map_from_dict(data: dict[str, Any], rb: Rulebase, where: str = "<mapping>") -> MapSpec:
    """The same as a --map file, from plain Python data (library use)."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    try:
        loc = load_text(text, where)
    except YamlError as e:  # pragma: no cover - json.dumps output is always valid YAML
        raise InputError("", e.problems) from None
    spec = map_from_located(loc, rb, where)
    spec.sha256 = hashlib.sha256(text.encode()).hexdigest()
    return spec


def map_from_located(loc: Located | None, rb: Rulebase, name: str) -> MapSpec:
    problems: list[Problem] = []
    spec = MapSpec([], True, name)

    def err(at: Located, message: str, check: str = "map") -> None:
        problems.append(Problem(at.key_pos or at.pos, message, check))

    if loc is None:
        return spec
    if not isinstance(loc.value, dict):
        raise InputError("", [Problem(loc.pos, _("a mapping file is a mapping with `columns:` (and optionally "
                                                 "`auto: false`)"), "map")])
    for key, val in loc.value.items():
        if key not in ("columns", "auto", "ignore"):
            err(val, _("unknown key {key}", key=repr(key)) + did_you_mean_key(key, ["columns", "auto", "ignore"])
                + _("; a mapping file has `columns`, `auto` and `ignore`"))
    auto = loc.value.get("auto")
    if auto is not None:
        if not isinstance(auto.value, bool):
            err(auto, _("`auto` is true or false"))
        else:
            spec.auto = auto.value
    ignore = loc.value.get("ignore")
    if ignore is not None and ignore.value is not None:
        items = ignore.value if isinstance(ignore.value, list) else [ignore]
        for item in items:
            if isinstance(item.value, (dict, list)) or item.value is None:
                err(item, _("`ignore` lists column headers"))
            else:
                spec.entries.append(MapEntry(str(item.value), None, None, item.pos))
    cols = loc.value.get("columns")
    if cols is not None and cols.value is not None:
        if not isinstance(cols.value, dict):
            err(cols, _("`columns` maps column headers to facts, e.g. `客户节奏: pace`"))
        else:
            for column, val in cols.value.items():
                entry = _map_entry(column, val, rb, err)
                if entry is not None:
                    spec.entries.append(entry)
    seen: dict[str, MapEntry] = {}
    for e in spec.entries:
        if e.fact is None or e.fact in (RESERVED_UTTERANCES, REP_NOTES) or rb.facts[e.fact].type == "list":
            continue
        if e.fact in seen:
            problems.append(Problem(e.pos, _('"{fact}" already comes from column "{column}" (line {line}); a fact '
                                             'with one answer takes one column', fact=fact_label(rb.facts[e.fact]),
                                             column=seen[e.fact].column, line=seen[e.fact].pos.line), "map"))
        seen[e.fact] = e
    if problems:
        raise InputError("", problems)
    return spec


def _map_entry(column: str, val: Located, rb: Rulebase, err) -> MapEntry | None:
    pos = val.key_pos or val.pos
    if val.value is None or val.value == "ignore":
        return MapEntry(column, None, None, pos)
    if isinstance(val.value, str):
        f = _known_fact(val.value, val, rb, err)
        return MapEntry(column, f.id, None, pos) if f else None
    if not isinstance(val.value, dict):
        err(val, _('column "{column}": give a fact, `ignore`, or a mapping with `fact:` and `values:`/`ranges:`',
                   column=column))
        return None
    for key, sub in val.value.items():
        if key not in ("fact", "values", "ranges", "split", "prefer"):
            err(sub, _("unknown key {key}", key=repr(key))
                + did_you_mean_key(key, ["fact", "values", "ranges", "split", "prefer"])
                + _("; a column takes `fact`, `values`, `ranges`, `split` and `prefer`"))
    fact_loc = val.value.get("fact")
    values = val.value.get("values")
    if fact_loc is None and values is not None and isinstance(values.value, dict) and \
            any(isinstance(t.value, dict) for t in values.value.values()):
        return _multi_entry(column, values, rb, err, pos)
    if fact_loc is None or not isinstance(fact_loc.value, str):
        err(fact_loc or val, _('column "{column}": `fact:` names the fact this column holds', column=column))
        return None
    f = _known_fact(fact_loc.value, fact_loc, rb, err)
    if f is None:
        return None
    tr = Translation()
    if values is not None:
        if not isinstance(values.value, dict):
            err(values, _("`values` maps what the cells say to the fact's answers, e.g. {是: true, 否: false}"))
        else:
            for raw, target in values.value.items():
                v = _checked_value(f, target, err)
                if v is not _BAD:
                    tr.add(raw, v)
    ranges = val.value.get("ranges")
    if ranges is not None:
        if not isinstance(ranges.value, list):
            err(ranges, _("`ranges` is a list like [{below: 50, value: small}, {from: 50, value: large}]"))
        else:
            for item in ranges.value:
                r = _range(item, f, err)
                if r is not None:
                    tr.ranges.append(r)
    split = val.value.get("split")
    if split is not None:
        if not isinstance(split.value, str) or not split.value:
            err(split, _("`split` is the text between several answers in one cell, e.g. \";\""))
        else:
            tr.split = split.value
    prefer = val.value.get("prefer")
    if prefer is not None:
        items = prefer.value if isinstance(prefer.value, list) else [prefer]
        for item in items:
            v = _checked_value(f, item, err)
            if v is not _BAD and v is not None:
                tr.prefer.append(v)
    return MapEntry(column, f.id, tr if tr else None, pos)


_BAD = object()


def _checked_value(f: FactDef, loc: Located, err) -> Any:
    if isinstance(loc.value, (dict, list)):
        err(loc, _('"{fact}": a value table maps to one answer', fact=fact_label(f)))
        return _BAD
    try:
        v = coerce_value(f, loc.value)
    except ValueProblem as e:
        err(loc, str(e), "bad-value")
        return _BAD
    if isinstance(v, list):  # a list fact: a table entry names one of its values
        return v[0] if len(v) == 1 else v
    return v


def _range(item: Located, f: FactDef, err) -> Range | None:
    if not isinstance(item.value, dict) or "value" not in item.value:
        err(item, _("a range is a mapping like {from: 50, below: 500, value: medium}"))
        return None
    lo = hi = None
    lo_incl = hi_incl = True
    for key, sub in item.value.items():
        if key == "value":
            continue
        if key not in _RANGE_KEYS:
            err(sub, _("unknown key {key} in a range; use from (≥), above (>), to (≤), below (<) and value",
                       key=repr(key)))
            return None
        if isinstance(sub.value, bool) or not isinstance(sub.value, (int, float)):
            err(sub, _("`{key}` takes a number", key=key))
            return None
        if number_problem(sub.value) is not None:
            finite = not isinstance(sub.value, float) or sub.value - sub.value == 0
            err(sub, _("`{key}` is too large: a number has at most 15 digits before the decimal point", key=key)
                if finite else _("`{key}` takes a finite number", key=key))
            return None
        is_lo, incl = _RANGE_KEYS[key]
        if is_lo:
            lo, lo_incl = float(sub.value), incl
        else:
            hi, hi_incl = float(sub.value), incl
    value = _checked_value(f, item.value["value"], err)
    if value is _BAD:
        return None
    return Range(lo, lo_incl, hi, hi_incl, value)


def _multi_entry(column: str, values: Located, rb: Rulebase, err, pos) -> MapEntry | None:
    """`values:` whose entries each name several facts: `已回款: {payment_status: paid, contract_status: returned}`."""
    multi = Multi({})
    for raw, target in values.value.items():
        if target.value is None:
            multi.add(raw, {})  # the entry says nothing about any fact: not a problem, no warning
            continue
        if not isinstance(target.value, dict):
            err(target, _('column "{column}": each value here names the facts it sets, e.g. '
                          '{{payment_status: paid, contract_status: returned}}', column=column))
            continue
        sets: dict[str, Any] = {}
        for fname, sub in target.value.items():
            f = _known_fact(str(fname), sub, rb, err)
            if f is None:
                continue
            v = _checked_value(f, sub, err)
            if v is _BAD:
                continue
            sets[f.id] = v
            multi.facts.setdefault(f.id, f)
        multi.add(raw, sets)
    if not multi.facts:
        return None
    return MapEntry(column, None, None, pos, multi)


def _known_fact(name: str, loc: Located, rb: Rulebase, err) -> FactDef | None:
    """The fact a mapping names, by id or by label (zh or en); `rep_notes` for the rep's own notes."""
    if header_key(name) in (header_key(REP_NOTES), header_key(REP_NOTES_FACT.label.zh),
                            header_key(REP_NOTES_FACT.label.en)):
        return REP_NOTES_FACT
    f = fact_named(rb, name)
    if f is None:
        lang = current_lang()
        close = suggest(name, [(f.label.get(lang), (f.id, f.label.zh, f.label.en)) for f in rb.facts.values()])
        err(loc, _("{name} names no fact", name=repr(name)) + did_you_mean_labels(close)
            + _("; `zhike facts` lists them"), "unknown-fact")
    return f
