"""Which column of a prospect list holds which fact, and how its cells become fact values.

A column maps to a fact, in this order of precedence:

1. the `--map` file names it (with an optional value table or number ranges);
2. its header is the fact id;
3. its header is the fact's zh or en label (Chinese sheets kept by hand);
4. its header is a built-in alias (`engine/batch/aliases.yaml`: HubSpot and Salesforce
   export headers, the headers Chinese offices and CRMs use — 销售易, 纷享销客, 悟空CRM,
   hand-kept Excel sheets — and the usual names of the customer's words and of the rep's notes).

A column may also set several facts at once (`阶段: 已回款` → the payment and the contract
status): such a column has a `Multi` table instead of one fact. A column of the rep's notes
(备注, 跟进记录) goes to the profile's `rep_notes`, never to what the customer said.

Headers are compared loosely (NFKC, case, spaces and punctuation ignored), so
`Buying Role`, `buying_role` and `hs_buying_role`'s label all meet. A non-list
fact takes one column only; the alias table is keyed by fact id and entries
whose fact (or target value) the loaded rulebase lacks are skipped, so the
table keeps working while the catalogue grows.

Cells are translated (value table, ranges) and then go through
`profile.coerce_value`, the one coercion every input uses; what it refuses gets a lenient
second reading (`lenient`: parts of labels, synonyms, traditional characters, "约20万").
A cell that still fits nothing is a `CellProblem`: by default the cell is left blank and the
row classified with a warning; `--on-bad-value reject` rejects the row.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, _, current_lang
from ..reasoning.profile import Profile, ValueProblem, coerce_value, fact_label
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef, Rulebase, Text, number_problem
from ..rules.yamlpos import Pos
from ..words.labels import loose_key
from ..words.normalise import to_simplified
from .cells import ABSENT
from .lenient import lenient_value, number_in, table_key, table_lookup

_SPACE = re.compile(r"[\s_]+")
KEPT_CELLS = 4096  # cells read, kept per plan (see Plan.read)
_NUMBER_FACT = FactDef("number", "number", Text("数值", "number"), Text("", ""), None, {}, None, None, None,
                       Pos("<mapping>", 1, 1))
# How a column came to its fact (ColumnPlan.how), as --explain-map says it
HOW = {"map file": N_("mapping file"), "fact id": N_("fact id"), "label (zh)": N_("Chinese name"),
       "label (en)": N_("English name"), "alias": N_("usual header"), "ignored": N_("ignored")}
# The rep's own notes: not a fact of the catalogue but a part of every profile (Profile.rep_notes),
# read only by `noted:` tests. A column of them maps here; what the customer said maps to utterances.
REP_NOTES = "rep_notes"
REP_NOTES_FACT = FactDef(REP_NOTES, "list", Text("销售备注", "Rep's notes"),
                         Text("你对这位客户有什么记录?", "What did you note about this customer?"), None, {}, None, None,
                         None, Pos("<mapping>", 1, 1))


def header_key(s: Any) -> str:
    """How headers and table values are compared: NFKC, case-folded, simplified characters, no spaces or
    punctuation."""
    return loose_key(to_simplified(unicodedata.normalize("NFKC", str(s))))


_BRACKETS = re.compile(r"[(（\[【<《][^)）\]】>》]*[)）\]】>》]|[?？*:：]+")
# the number a form or a template puts before its questions: "1.客户名称", "10、沟通记录", "Q3. 预算", "一、来源", "①意向"
_NUMBERED = re.compile(r"^\s*(?:(?:no\.?|q)?\s*[0-9]{1,3}|[一二三四五六七八九十]{1,3})\s*[.、．)）:：]\s*(?=[^\d\s])"
                       r"|^\s*[①-⑳]\s*", re.IGNORECASE)


def bare_header_key(s: Any) -> str:
    """The key of a header without what sheets add to it: brackets (预算(万元) → 预算, 意向等级(A/B/C) → 意向等级),
    marks of a required field or a question (*客户名称, 客户名称:, 决策人?) and a question's number (6.预算 → 预算)."""
    return header_key(_BRACKETS.sub("", _NUMBERED.sub("", str(s))))


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
    # the same table keyed loosely (simplified, no punctuation), for cells that hold a key among other words
    loose: dict[str, Any] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # loose key -> where it stands in the table (ties)
    shown: dict[str, str] = field(default_factory=dict)  # value_key -> the entry as written (for explanations)

    def add(self, raw: Any, value: Any) -> None:
        self.values[value_key(raw)] = value
        self.shown.setdefault(value_key(raw), str(raw))
        k = table_key(raw)
        if k and k not in self.loose:
            self.loose[k] = value
            self.order[k] = len(self.order)

    def __bool__(self) -> bool:
        return bool(self.values or self.ranges or self.split)


@dataclass
class Multi:
    """A column whose cells set several facts at once (`阶段: 已回款` → payment and contract status)."""

    facts: dict[str, FactDef]  # every fact the column can set, in table order
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # table_key(raw) -> {fact id: value}
    order: dict[str, int] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)  # table_key -> the entry as written
    split: str = ",，、;；/／|"  # a cell may list several entries ("急性子、爱砍价")

    def add(self, raw: Any, sets: dict[str, Any]) -> None:
        k = table_key(raw)
        if k and k not in self.values:
            self.values[k] = sets
            self.order[k] = len(self.order)
            self.shown[k] = str(raw)

    def lookup(self, raw: Any) -> dict[str, Any] | None:
        """The facts one cell sets ({} when it says they are not known); None when nothing fits."""
        text = str(raw)
        parts = [p for p in re.split(f"[{re.escape(self.split)}]", text) if p.strip()] or [text]
        out: dict[str, Any] = {}
        found = False
        for part in parts:
            hit = table_lookup(self.values, self.order, part)
            if hit is None and len(parts) > 1:
                continue  # one unknown word among known ones: the known ones still count
            if hit is None:
                return None
            found = True
            for fid, v in hit[1].items():
                out.setdefault(fid, v)
        return out if found else None


@dataclass
class CellProblem:
    """A cell that fits nothing: which column, and why (in the language of the run)."""

    index: int
    column: str
    message: str

    def __str__(self) -> str:
        return _('column "{column}": {problem}', column=self.column, problem=self.message)


@dataclass
class ColumnPlan:
    index: int
    name: str
    fact: FactDef | None
    how: str  # map file | fact id | label (zh) | label (en) | alias | ignored (a code: see HOW)
    translation: Translation | None = None
    note: str = ""  # why a column is ignored, or where an alias comes from (in the language of the run)
    multi: Multi | None = None  # a column that sets several facts (then `fact` is None)

    @property
    def mapped(self) -> bool:
        return self.fact is not None or self.multi is not None


@dataclass
class MapEntry:
    column: str
    fact: str | None  # None: ignore this column (unless `multi`)
    translation: Translation | None
    pos: Pos
    multi: Multi | None = None


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
        # several-fact columns first: a column that gives one of their facts on its own wins
        # (a header broken over lines in its cell is named on one line in what the user reads)
        self._active = sorted(((p.index, " ".join(p.name.split()), p.fact, p.translation, p.multi)
                               for p in self.plans if p.mapped), key=lambda a: a[4] is None)
        # (column, language, text of a cell) -> (value, None) or (None, why it fits nothing): a prospect list
        # repeats the same few values in a column, and reading one is pure (its fact, its table, the language
        # of the messages). Bounded: the oldest go first.
        self._read: dict[tuple[int, str, str], tuple[Any, str | None]] = {}

    @property
    def mapped(self) -> list[ColumnPlan]:
        return [p for p in self.plans if p.mapped]

    @property
    def ignored(self) -> list[ColumnPlan]:
        return [p for p in self.plans if not p.mapped]

    def profile(self, values: list[Any], name: str = "") -> tuple[Profile, list[str]]:
        """The profile of one row, and a message for every cell that does not fit its fact."""
        profile, problems = self.read(values, name)
        return profile, [str(p) for p in problems]

    def read(self, values: list[Any], name: str = "") -> tuple[Profile, list[CellProblem]]:
        """The profile of one row, and every cell that fits nothing (left out of the profile)."""
        facts: dict[str, Any] = {}
        utterances: list[str] = []
        notes: list[str] = []
        problems: list[CellProblem] = []
        from_multi: set[str] = set()
        n = len(values)
        lang = ""  # the language of the messages: asked once per row, when a cell is first read
        for index, column, f, tr, multi in self._active:
            raw = values[index] if index < n else None
            if raw is None or raw is ABSENT:
                continue
            if isinstance(raw, str):
                raw = raw.strip()
                if not raw:
                    continue
            elif isinstance(raw, float) and raw != raw:  # NaN: pandas' empty cell
                continue
            if multi is not None:
                sets = multi.lookup(raw)
                if sets is None:
                    problems.append(CellProblem(index, column, _not_in_multi(raw, multi)))
                    continue
                for fid, v in sets.items():
                    if v is not None and fid not in facts:
                        facts[fid] = v
                        from_multi.add(fid)
                continue
            assert f is not None
            if isinstance(raw, str):
                key = (index, lang or (lang := current_lang()), raw)
                kept = self._read.get(key)
                if kept is None:
                    kept = _read_cell(raw, f, tr)
                    if len(self._read) >= KEPT_CELLS:
                        del self._read[next(iter(self._read))]
                    self._read[key] = kept
            else:
                kept = _read_cell(raw, f, tr)
            value, why = kept
            if why is not None:
                problems.append(CellProblem(index, column, why))
                continue
            if type(value) is list:
                value = list(value)  # the profile's own: a row may extend it (a kept value is shared)
            if value is None:
                continue
            if f.id == RESERVED_UTTERANCES:
                utterances.extend(v for v in value if v not in utterances)
            elif f.id == REP_NOTES:
                notes.extend(v for v in value if v not in notes)
            elif f.type == "list" and f.id in facts and f.id not in from_multi:
                facts[f.id] = facts[f.id] + [v for v in value if v not in facts[f.id]]
            else:
                facts[f.id] = value
                from_multi.discard(f.id)
        return Profile(facts, utterances, name, rep_notes=notes), problems


def header_known(rb: Rulebase) -> Callable[[str], bool]:
    """Whether a header names a fact (id or label), a usual header or a known CRM field: how the
    header row is told from the title and note rows above it."""
    from .aliases import aliases_for

    aliases, known = aliases_for(rb)
    keys = set(aliases) | set(known) | {header_key(f) for f in rb.facts}
    keys |= {header_key(f.label.get(lang)) for f in rb.facts.values() for lang in ("zh", "en")}
    return lambda h: header_key(h) in keys or bare_header_key(h) in keys


def fact_by_id(rb: Rulebase, fid: str) -> FactDef:
    """A fact of the rulebase, or the rep's notes (not a catalogue fact, but a column may hold them)."""
    return REP_NOTES_FACT if fid == REP_NOTES else rb.facts[fid]


def _read_cell(raw: Any, f: FactDef, tr: Translation | None) -> tuple[Any, str | None]:
    """(its value, None) or (None, why it fits nothing): what Plan.read keeps of a cell."""
    try:
        return _cell_value(raw, f, tr), None
    except ValueProblem as e:
        return None, str(e)


def _cell_value(raw: Any, f: FactDef, tr: Translation | None) -> Any:
    """One cell as its fact's value (None: unknown); raises ValueProblem when nothing fits."""
    value = _translate(raw, f, tr) if tr else raw
    if f.id in (RESERVED_UTTERANCES, REP_NOTES) and isinstance(value, str):
        # one remark per line, as the question asks reps to write them
        value = [line.strip() for line in value.splitlines() if line.strip()]
        return value or None
    try:
        return coerce_value(f, value)
    except ValueProblem:
        if value is not raw and not isinstance(value, str):
            raise
        m = lenient_value(f, value)
        if m is None:
            raise
        return m.value


def _not_in_multi(raw: Any, multi: Multi) -> str:
    names = _(", ").join(fact_label(f) for f in list(multi.facts.values())[:4])
    return _("{value} is none of the usual entries of this column, so it says nothing here about {facts}",
             value=repr(str(raw)[:40]), facts=names)


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
        m = number_in(raw)
        if m is not None and isinstance(m.value, (int, float)) and number_problem(m.value) is None:
            x = float(m.value)
            for r in tr.ranges:
                if r.holds(x):
                    return r.value
            lang = current_lang()
            raise ValueProblem(_('"{fact}": {value} is in none of the ranges {ranges}', fact=fact_label(f),
                                 value=format(x, "g"), ranges=_(", ").join(r.text(f.label_of(r.value, lang))
                                                                          for r in tr.ranges)))
    if tr.loose and isinstance(raw, str):
        hit = table_lookup(tr.loose, tr.order, raw)
        if hit is not None:
            return hit[1]
    if tr.ranges and not tr.values and not isinstance(raw, bool) and f.type != "bool":
        raise ValueProblem(_('"{fact}": the ranges need a number, not {value}', fact=fact_label(f), value=repr(raw)))
    return raw


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
    from .aliases import aliases_for, usual_values  # they build on this module's Translation and Range

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
            if e.multi is not None:
                plan.multi, plan.how = e.multi, "map file"
            elif e.fact is None:
                plan.note = _("ignored by the mapping file")
            else:
                plan.fact, plan.how, plan.translation = fact_by_id(rb, e.fact), "map file", e.translation
                candidates.append((_RANK["map file"], i, plan))
            continue
        if not spec.auto:
            plan.note = _("not in the mapping file (auto: false)")
            continue
        if name.startswith("_"):
            plan.note = _("zhike's own column (rejects file)")
            continue
        if not name.strip():
            plan.note = _("no header")
            continue
        if name in reserved:
            plan.note = _("a result column of an earlier run")
            continue
        bare = bare_header_key(name)
        if key not in aliases and bare in aliases and key not in ids and key not in labels:
            key = bare  # 预算(万元) is 预算
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
            plan.how, plan.note = "alias", a.origin.get(current_lang())
            if a.multi is not None:
                plan.multi = a.multi
                continue  # a several-fact column gives way to a column of one of its facts, row by row
            plan.fact, plan.translation = fact_by_id(rb, a.fact), a.translation
        else:
            known = known_unmapped.get(key) or known_unmapped.get(bare)  # 商机金额(元) is 商机金额
            rest = aliases.without_subject(bare) if known is None else None
            if rest is not None:
                known = known_unmapped.get(rest)  # 联系人电话 is 电话: contact details
            plan.note = (_("{what}: no fact with that meaning in this rulebase", what=known.get(current_lang()))
                         if known is not None else _("no fact has this name"))
            continue
        if plan.translation is None and plan.fact is not None:
            plan.translation = usual_values(rb, plan.fact.id)
        candidates.append((_RANK.get(plan.how, 2), i, plan))

    taken: dict[str, ColumnPlan] = {}
    duplicates: list[tuple[int, str, str, str]] = []
    for _rank, _index, plan in sorted(candidates, key=lambda c: (c[0], c[1])):
        f = plan.fact
        if f is None or f.type == "list":
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


from .mapfile import load_map, map_from_dict, map_from_located  # noqa: E402  (the --map file builds on the above)

__all__ = ["HOW", "REP_NOTES", "CellProblem", "ColumnPlan", "MapEntry", "MapSpec", "Multi", "Plan", "Range",
           "Translation", "bare_header_key", "build_plan", "fact_by_id", "header_key", "header_known", "load_map", "map_from_dict",
           "map_from_located", "value_key"]
