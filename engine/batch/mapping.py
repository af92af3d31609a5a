"""Which column of a prospect list holds which fact, and how its cells become fact values.

A column maps to a fact, in this order of precedence:

1. the `--map` file names it (with an optional value table or number ranges);
2. its header is the fact id;
3. its header is the fact's zh or en label (Chinese sheets kept by hand);
4. its header is a built-in alias (`engine/batch/aliases.yaml`: HubSpot and Salesforce
   export headers, and the usual names of a "what the customer said" column).

Headers are compared loosely (NFKC, case, spaces and punctuation ignored), so
`Buying Role`, `buying_role` and `hs_buying_role`'s label all meet. A non-list
fact takes one column only; the alias table is keyed by fact id and entries
whose fact (or target value) the loaded rulebase lacks are skipped, so the
table keeps working while the catalogue grows.

Cells are translated (value table, ranges) and then go through
`profile.coerce_value`, the one coercion every input uses.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..i18n import N_, _, current_lang
from ..reasoning.profile import (
    Profile,
    ValueProblem,
    coerce_value,
    did_you_mean_key,
    did_you_mean_labels,
    fact_label,
    fact_named,
)
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef, Rulebase, Text, number_problem
from ..rules.yamlpos import Located, Pos, YamlError, load_file, load_text
from ..words.labels import loose_key, suggest
from .cells import ABSENT

_SPACE = re.compile(r"[\s_]+")
_NUMBER_FACT = FactDef("number", "number", Text("数值", "number"), Text("", ""), None, {}, None, None, None,
                       Pos("<mapping>", 1, 1))
# How a column came to its fact (ColumnPlan.how), as --explain-map says it
HOW = {"map file": N_("mapping file"), "fact id": N_("fact id"), "label (zh)": N_("Chinese name"),
       "label (en)": N_("English name"), "alias": N_("usual header"), "ignored": N_("ignored")}


def header_key(s: Any) -> str:
    """How headers and table values are compared: NFKC, case-folded, no spaces or punctuation."""
    return loose_key(s)


def value_key(v: Any) -> str:
    """Key of a cell or a value-table entry: numbers compare as numbers ("1", 1, 1.0 are one key)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if number_problem(v) is None:
            return format(float(v), "g")
        return str(v)  # too large to be a number: it can only match as the text it is
    s = str(v).strip()
    if len(s) <= 100:  # longer text is never a number (see engine.rules.model.number_problem)
        try:
            x = float(s.replace(',', ''))
        except ValueError:
            pass
        else:
            if number_problem(x) is None:
                return format(x, "g")
    # Spaces and underscores go ("DECISION_MAKER" = "Decision Maker"); other punctuation stays,
    # so a range like "5-25" never meets the number 525.
    return _SPACE.sub("", unicodedata.normalize("NFKC", s).casefold())


@dataclass(frozen=True)
class Range:
    lo: float | None
    lo_incl: bool
    hi: float | None
    hi_incl: bool
    value: Any

    def holds(self, x: float) -> bool:
        if self.lo is not None and (x < self.lo or (x == self.lo and not self.lo_incl)):
            return False
        return not (self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_incl)))

    def text(self, shown: str | None = None) -> str:
        """e.g. `50≤x<500→medium`; `shown`: the value as the user knows it (its label)."""
        lo = "" if self.lo is None else f"{self.lo:g}{'≤' if self.lo_incl else '<'}"
        hi = "" if self.hi is None else f"{'≤' if self.hi_incl else '<'}{self.hi:g}"
        return f"{lo}x{hi}→{self.value if shown is None else shown}"


@dataclass
class Translation:
    """How one column's cells become values for its fact, before coercion."""

    values: dict[str, Any] = field(default_factory=dict)  # value_key(raw) -> value (None = unknown)
    ranges: list[Range] = field(default_factory=list)
    prefer: list[Any] = field(default_factory=list)  # for "a;b" cells of a one-value fact: the first of these wins
    split: str | None = None  # separator of several values in one cell

    def __bool__(self) -> bool:
        return bool(self.values or self.ranges or self.split)


@dataclass
class ColumnPlan:
    index: int
    name: str
    fact: FactDef | None
    how: str  # map file | fact id | label (zh) | label (en) | alias | ignored (a code: see HOW)
    translation: Translation | None = None
    note: str = ""  # why a column is ignored, or where an alias comes from (in the language of the run)


@dataclass
class MapEntry:
    column: str
    fact: str | None  # None: ignore this column
    translation: Translation | None
    pos: Pos


@dataclass
class MapSpec:
    """A parsed `--map` file (or the same structure given as a dict)."""

    entries: list[MapEntry]
    auto: bool = True
    name: str = "<mapping>"
    sha256: str = ""


@dataclass
class Plan:
    """The mapping of one header onto one rulebase."""

    columns: list[str]
    plans: list[ColumnPlan]
    rulebase: Rulebase
    missing_columns: list[str] = field(default_factory=list)  # named in --map but not in the input
    # (column, fact id, column it comes from): a second column for a one-value fact, not used
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._active = [(p.index, p.name, p.fact, p.translation) for p in self.plans if p.fact is not None]

    @property
    def mapped(self) -> list[ColumnPlan]:
        return [p for p in self.plans if p.fact is not None]

    @property
    def ignored(self) -> list[ColumnPlan]:
        return [p for p in self.plans if p.fact is None]

    def profile(self, values: list[Any], name: str = "") -> tuple[Profile, list[str]]:
        """The profile of one row, and a message for every cell that does not fit its fact."""
        facts: dict[str, Any] = {}
        utterances: list[str] = []
        problems: list[str] = []
        n = len(values)
        for index, column, f, tr in self._active:
            raw = values[index] if index < n else None
            if raw is None or raw is ABSENT:
                continue
            if isinstance(raw, str):
                raw = raw.strip()
                if not raw:
                    continue
            elif isinstance(raw, float) and raw != raw:  # NaN: pandas' empty cell
                continue
            try:
                value = _translate(raw, f, tr) if tr else raw
                if f.id == RESERVED_UTTERANCES and isinstance(value, str):
                    # one remark per line, as the question asks reps to write them
                    value = [line for line in value.splitlines() if line.strip()]
                value = coerce_value(f, value)
            except ValueProblem as e:
                problems.append(_('column "{column}": {problem}', column=column, problem=e))
                continue
            if value is None:
                continue
            if f.id == RESERVED_UTTERANCES:
                utterances.extend(v for v in value if v not in utterances)
            elif f.type == "list" and f.id in facts:
                facts[f.id] = facts[f.id] + [v for v in value if v not in facts[f.id]]
            else:
                facts[f.id] = value
        return Profile(facts, utterances, name), problems


def _translate(raw: Any, f: FactDef, tr: Translation) -> Any:
    if tr.split and isinstance(raw, str) and tr.split in raw:
        parts = [p for p in (x.strip() for x in raw.split(tr.split)) if p]
        values = [v for v in (_translate_one(p, f, tr) for p in parts) if v is not None]
        if f.type == "list":
            return values or None
        distinct = list(dict.fromkeys(values))
        if len(distinct) <= 1:
            return distinct[0] if distinct else None
        for want in tr.prefer:
            if want in distinct:
                return want
        raise ValueProblem(_('"{fact}" takes one answer, but the cell has several: {value}', fact=fact_label(f),
                             value=repr(raw)))
    return _translate_one(raw, f, tr)


def _translate_one(raw: Any, f: FactDef, tr: Translation) -> Any:
    if tr.values:
        k = value_key(raw)
        if k in tr.values:
            return tr.values[k]
    if tr.ranges and not isinstance(raw, bool):
        if isinstance(raw, (int, float)) and number_problem(raw) is not None:
            raise ValueProblem(_('"{fact}": {value} is not a number the ranges can use (at most 15 digits before '
                                 'the decimal point)', fact=fact_label(f), value=repr(raw)))
        try:
            x = coerce_value(_NUMBER_FACT, raw) if not isinstance(raw, (int, float)) else float(raw)
        except ValueProblem:
            raise ValueProblem(_('"{fact}": the ranges need a number, not {value}', fact=fact_label(f),
                                 value=repr(raw))) from None
        if x is None:
            return None
        for r in tr.ranges:
            if r.holds(x):
                return r.value
        lang = current_lang()
        raise ValueProblem(_('"{fact}": {value} is in none of the ranges {ranges}', fact=fact_label(f), value=format(x, "g"),
                             ranges=_(", ").join(r.text(f.label_of(r.value, lang)) for r in tr.ranges)))
    return raw


# --- the --map file -----------------------------------------------------------

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
        if e.fact is None or e.fact == RESERVED_UTTERANCES or rb.facts[e.fact].type == "list":
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
    if fact_loc is None or not isinstance(fact_loc.value, str):
        err(fact_loc or val, _('column "{column}": `fact:` names the fact this column holds', column=column))
        return None
    f = _known_fact(fact_loc.value, fact_loc, rb, err)
    if f is None:
        return None
    tr = Translation()
    values = val.value.get("values")
    if values is not None:
        if not isinstance(values.value, dict):
            err(values, _("`values` maps what the cells say to the fact's answers, e.g. {是: true, 否: false}"))
        else:
            for raw, target in values.value.items():
                v = _checked_value(f, target, err)
                if v is not _BAD:
                    tr.values[value_key(raw)] = v
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


def _known_fact(name: str, loc: Located, rb: Rulebase, err) -> FactDef | None:
    """The fact a mapping names, by id or by label (zh or en)."""
    f = fact_named(rb, name)
    if f is None:
        lang = current_lang()
        close = suggest(name, [(f.label.get(lang), (f.id, f.label.zh, f.label.en)) for f in rb.facts.values()])
        err(loc, _("{name} names no fact", name=repr(name)) + did_you_mean_labels(close)
            + _("; `zhike facts` lists them"), "unknown-fact")
    return f



# --- building the plan ------------------------------------------------------------

_RANK = {"map file": 0, "fact id": 1, "label (zh)": 2, "label (en)": 2, "alias": 3}


def build_plan(columns: list[str], rb: Rulebase, spec: MapSpec | None = None,
               reserved: frozenset[str] = frozenset()) -> Plan:
    """Decide which column holds which fact. `reserved`: result column names (a previous run's output)."""
    spec = spec or MapSpec([])
    by_key: dict[str, list[MapEntry]] = {}
    for e in spec.entries:
        by_key.setdefault(e.column, []).append(e)
    loose: dict[str, list[MapEntry]] = {}
    for e in spec.entries:
        loose.setdefault(header_key(e.column), []).append(e)
    ids = {header_key(f): f for f in rb.facts}
    labels: dict[str, list[tuple[str, str]]] = {}
    for f in rb.facts.values():
        for lang in ("zh", "en"):
            labels.setdefault(header_key(f.label.get(lang)), []).append((f.id, lang))
    from .aliases import aliases_for  # it builds on this module's Translation and Range

    aliases, known_unmapped = aliases_for(rb)

    candidates: list[tuple[int, int, ColumnPlan]] = []
    plans: list[ColumnPlan] = []
    used_entries: set[int] = set()
    for i, name in enumerate(columns):
        key = header_key(name)
        entries = by_key.get(name) or loose.get(key)
        plan = ColumnPlan(i, name, None, "ignored")
        plans.append(plan)
        if entries:
            e = entries[0]
            used_entries.update(id(x) for x in entries)
            if e.fact is None:
                plan.note = _("ignored by the mapping file")
            else:
                plan.fact, plan.how, plan.translation = rb.facts[e.fact], "map file", e.translation
                candidates.append((_RANK["map file"], i, plan))
            continue
        if not spec.auto:
            plan.note = _("not in the mapping file (auto: false)")
            continue
        if name.startswith("_"):
            plan.note = _("zhike's own column (rejects file)")
            continue
        if name in reserved:
            plan.note = _("a result column of an earlier run")
            continue
        if key in ids:
            plan.fact, plan.how = rb.facts[ids[key]], "fact id"
        elif key in labels:
            hits = labels[key]
            if len({fid for fid, _lang in hits}) > 1:
                names = sorted({fact_label(rb.facts[fid]) for fid, _lang in hits})
                plan.note = _("the name of several facts ({facts}); say which in a --map file",
                              facts=_(", ").join(names))
                continue
            plan.fact, plan.how = rb.facts[hits[0][0]], f"label ({hits[0][1]})"
        elif key in aliases:
            a = aliases[key][0]
            plan.fact, plan.how, plan.translation = rb.facts[a.fact], "alias", a.translation
            plan.note = a.origin.get(current_lang())
        else:
            known = known_unmapped.get(key)
            plan.note = (_("{what}: no fact with that meaning in this rulebase", what=known.get(current_lang()))
                         if known is not None else _("no fact has this name"))
            continue
        candidates.append((_RANK.get(plan.how, 2), i, plan))

    taken: dict[str, ColumnPlan] = {}
    duplicates: list[tuple[int, str, str, str]] = []
    for _rank, _index, plan in sorted(candidates, key=lambda c: (c[0], c[1])):
        f = plan.fact
        assert f is not None
        if f.type == "list":
            continue  # several columns may add to a list (e.g. two notes columns)
        first = taken.get(f.id)
        if first is None:
            taken[f.id] = plan
        else:
            plan.note = _('"{fact}" already comes from column "{column}"', fact=fact_label(f), column=first.name)
            plan.fact, plan.how, plan.translation = None, "ignored", None
            duplicates.append((plan.index, plan.name, f.id, first.name))
    missing = [e.column for e in spec.entries if id(e) not in used_entries]
    return Plan(list(columns), plans, rb, missing, [d[1:] for d in sorted(duplicates)])
