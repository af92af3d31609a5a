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

from ..errors import InputError, Problem, did_you_mean
from ..reasoning.profile import Profile, ValueProblem, coerce_value
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef, Rulebase, Text, number_problem
from ..rules.yamlpos import Located, Pos, YamlError, load_file, load_text
from .tabular import ABSENT

ALIASES_FILE = Path(__file__).resolve().parent / "aliases.yaml"
_PUNCT = re.compile(r"[\W_]+")
_SPACE = re.compile(r"[\s_]+")
_NUMBER_FACT = FactDef("number", "number", Text("数值", "number"), Text("", ""), None, {}, None, None, None,
                       Pos("<mapping>", 1, 1))


def header_key(s: Any) -> str:
    """How headers and table values are compared: NFKC, case-folded, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(s)).casefold().strip()
    key = _PUNCT.sub("", text)
    return key or text  # a header or value made only of punctuation ("-", "?") keeps it


def value_key(v: Any) -> str:
    """Key of a cell or a value-table entry: numbers compare as numbers ("1", 1, 1.0 are one key)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if number_problem(v) is None:
            return f"{float(v):g}"
        return str(v)  # too large to be a number: it can only match as the text it is
    s = str(v).strip()
    if len(s) <= 100:  # longer text is never a number (see engine.rules.model.number_problem)
        try:
            x = float(s.replace(',', ''))
        except ValueError:
            pass
        else:
            if number_problem(x) is None:
                return f"{x:g}"
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

    def text(self) -> str:
        lo = "" if self.lo is None else f"{self.lo:g}{'≤' if self.lo_incl else '<'}"
        hi = "" if self.hi is None else f"{'≤' if self.hi_incl else '<'}{self.hi:g}"
        return f"{lo}x{hi}→{self.value}"


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
    how: str  # map file | fact id | label (zh) | label (en) | alias | ignored
    translation: Translation | None = None
    note: str = ""  # why a column is ignored, or where an alias comes from


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
                problems.append(f"column {column!r}: {e}")
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
        raise ValueProblem(f"{f.id} takes one value, got several: {raw!r}")
    return _translate_one(raw, f, tr)


def _translate_one(raw: Any, f: FactDef, tr: Translation) -> Any:
    if tr.values:
        k = value_key(raw)
        if k in tr.values:
            return tr.values[k]
    if tr.ranges and not isinstance(raw, bool):
        if isinstance(raw, (int, float)) and number_problem(raw) is not None:
            raise ValueProblem(f"{raw!r} {number_problem(raw)}")
        x = coerce_value(_NUMBER_FACT, raw) if not isinstance(raw, (int, float)) else float(raw)
        if x is None:
            return None
        for r in tr.ranges:
            if r.holds(x):
                return r.value
        raise ValueProblem(f"{f.id}: {x:g} is in none of the ranges {', '.join(r.text() for r in tr.ranges)}")
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
        raise InputError("", [Problem(loc.pos, "a mapping file is a mapping with `columns:` (and optionally "
                                      "`auto: false`)", "map")])
    for key, val in loc.value.items():
        if key not in ("columns", "auto", "ignore"):
            err(val, f"unknown key {key!r}{did_you_mean(key, ['columns', 'auto', 'ignore'])}; "
                "a mapping file has columns, auto and ignore")
    auto = loc.value.get("auto")
    if auto is not None:
        if not isinstance(auto.value, bool):
            err(auto, "`auto` is true or false")
        else:
            spec.auto = auto.value
    ignore = loc.value.get("ignore")
    if ignore is not None and ignore.value is not None:
        items = ignore.value if isinstance(ignore.value, list) else [ignore]
        for item in items:
            if isinstance(item.value, (dict, list)) or item.value is None:
                err(item, "`ignore` lists column headers")
            else:
                spec.entries.append(MapEntry(str(item.value), None, None, item.pos))
    cols = loc.value.get("columns")
    if cols is not None and cols.value is not None:
        if not isinstance(cols.value, dict):
            err(cols, "`columns` maps column headers to fact ids, e.g. `客户节奏: pace`")
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
            problems.append(Problem(e.pos, f"fact {e.fact!r} is already mapped from column {seen[e.fact].column!r} "
                                    f"(line {seen[e.fact].pos.line}); a one-value fact takes one column", "map"))
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
        err(val, f"column {column!r}: give a fact id, `ignore`, or a mapping with `fact:` and `values:`/`ranges:`")
        return None
    for key, sub in val.value.items():
        if key not in ("fact", "values", "ranges", "split", "prefer"):
            err(sub, f"unknown key {key!r}{did_you_mean(key, ['fact', 'values', 'ranges', 'split', 'prefer'])}; "
                "a column takes fact, values, ranges, split and prefer")
    fact_loc = val.value.get("fact")
    if fact_loc is None or not isinstance(fact_loc.value, str):
        err(fact_loc or val, f"column {column!r}: `fact:` names the fact this column holds")
        return None
    f = _known_fact(fact_loc.value, fact_loc, rb, err)
    if f is None:
        return None
    tr = Translation()
    values = val.value.get("values")
    if values is not None:
        if not isinstance(values.value, dict):
            err(values, "`values` maps what the cells say to the fact's values, e.g. {是: true, 否: false}")
        else:
            for raw, target in values.value.items():
                v = _checked_value(f, target, err)
                if v is not _BAD:
                    tr.values[value_key(raw)] = v
    ranges = val.value.get("ranges")
    if ranges is not None:
        if not isinstance(ranges.value, list):
            err(ranges, "`ranges` is a list like [{below: 50, value: small}, {from: 50, value: large}]")
        else:
            for item in ranges.value:
                r = _range(item, f, err)
                if r is not None:
                    tr.ranges.append(r)
    split = val.value.get("split")
    if split is not None:
        if not isinstance(split.value, str) or not split.value:
            err(split, "`split` is the text between several values in one cell, e.g. \";\"")
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
        err(loc, f"{f.id}: a value table maps to one value")
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
        err(item, "a range is a mapping like {from: 50, below: 500, value: medium}")
        return None
    lo = hi = None
    lo_incl = hi_incl = True
    for key, sub in item.value.items():
        if key == "value":
            continue
        if key not in _RANGE_KEYS:
            err(sub, f"unknown key {key!r} in a range; use from (≥), above (>), to (≤), below (<) and value")
            return None
        if isinstance(sub.value, bool) or not isinstance(sub.value, (int, float)):
            err(sub, f"`{key}` takes a number")
            return None
        if number_problem(sub.value) is not None:
            err(sub, f"`{key}` {number_problem(sub.value)}")
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


def _known_fact(fid: str, loc: Located, rb: Rulebase, err) -> FactDef | None:
    f = rb.facts.get(fid)
    if f is None:
        err(loc, f"unknown fact {fid!r}{did_you_mean(fid, rb.facts)}; see `zhike facts`", "unknown-fact")
    return f


# --- built-in aliases -----------------------------------------------------------

@dataclass
class Alias:
    fact: str
    translation: Translation | None
    origin: str  # e.g. "HubSpot / Salesforce export" for --explain-map


_alias_cache: dict[str, tuple[dict[str, list[Alias]], dict[str, str]]] = {}
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


def aliases_for(rb: Rulebase) -> tuple[dict[str, list[Alias]], dict[str, str]]:
    """header key -> aliases usable with this rulebase; header key -> why a known header maps to nothing here."""
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
        alias = Alias(fid, tr if tr else None, entry.get("origin", "common header"))
        for h in entry.get("headers") or []:
            out.setdefault(header_key(h), []).append(alias)
    known = {header_key(h): f"{why}; no fact with that meaning in this rulebase"
             for why, headers in (data.get("unmapped") or {}).items() for h in headers}
    for fid, entry in (data.get("aliases") or {}).items():
        if fid not in rb.facts and isinstance(entry, dict):
            for h in entry.get("headers") or []:
                known.setdefault(header_key(h), f"a usual header for the fact {fid!r}, which this rulebase lacks")
    _alias_cache[rb.sha256] = (out, known)
    return out, known


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
                plan.note = "ignored by the mapping file"
            else:
                plan.fact, plan.how, plan.translation = rb.facts[e.fact], "map file", e.translation
                candidates.append((_RANK["map file"], i, plan))
            continue
        if not spec.auto:
            plan.note = "not in the mapping file (auto: false)"
            continue
        if name.startswith("_"):
            plan.note = "zhike's own column (rejects file)"
            continue
        if name in reserved:
            plan.note = "a result column of an earlier run"
            continue
        if key in ids:
            plan.fact, plan.how = rb.facts[ids[key]], "fact id"
        elif key in labels:
            hits = labels[key]
            if len({fid for fid, _ in hits}) > 1:
                plan.note = f"label of several facts ({', '.join(sorted({fid for fid, _ in hits}))}); use --map"
                continue
            plan.fact, plan.how = rb.facts[hits[0][0]], f"label ({hits[0][1]})"
        elif key in aliases:
            a = aliases[key][0]
            plan.fact, plan.how, plan.translation, plan.note = rb.facts[a.fact], "alias", a.translation, a.origin
        else:
            plan.note = known_unmapped.get(key, "no fact with this name, label or alias")
            continue
        candidates.append((_RANK.get(plan.how, 2), i, plan))

    taken: dict[str, ColumnPlan] = {}
    duplicates: list[tuple[int, str, str, str]] = []
    for _, _, plan in sorted(candidates, key=lambda c: (c[0], c[1])):
        f = plan.fact
        assert f is not None
        if f.type == "list":
            continue  # several columns may add to a list (e.g. two notes columns)
        first = taken.get(f.id)
        if first is None:
            taken[f.id] = plan
        else:
            plan.note = f"{f.id} already comes from column {first.name!r}"
            plan.fact, plan.how, plan.translation = None, "ignored", None
            duplicates.append((plan.index, plan.name, f.id, first.name))
    missing = [e.column for e in spec.entries if id(e) not in used_entries]
    return Plan(list(columns), plans, rb, missing, [d[1:] for d in sorted(duplicates)])
