"""Why is the customer not X? The rules for X that did not fire, the evidence against, and the
smallest change of facts that would make X the conclusion.

The search runs the real inference (`infer`) on changed copies of the profile, with the compiled
rulebase the caller already has: nothing is recompiled per try. Which changes are tried:

- only facts that the rules for or against X test, and the facts behind their premises (the rules
  that derive a fact they test, the rules that decide a typology they test), so the search stays
  small and every change it proposes is one a rule can see;
- for each such fact, the values that make one of those tests hold or fail (`is: x` -> x, `> 5` -> 6, …);
- unknown facts first, then answered ones; one change, then two, then three (breadth first), so the
  first set found is a smallest one, and among the smallest, one that changes the fewest answers.

"No change of up to three facts would do it" is said only when every combination was tried; if the
search stops at its bound first, the answer says it was not complete.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError
from ..i18n import _
from ..rules.model import (
    All,
    Any_,
    ConclusionTest,
    Condition,
    Evidence,
    FactDef,
    FactTest,
    Not,
    PhraseTest,
    Rule,
    Rulebase,
    SetFact,
    Typology,
    walk,
)
from ..words.labels import loose_key as loose
from .compiler import CompiledRulebase
from .inference import Because, Conclusion, Result, infer
from .profile import Profile

MAX_CHANGES = 3
MAX_TRIES = 5000  # inference runs per question (about 1 ms each on the bundled rulebase)
MAX_SECONDS = 10.0
_DEPTH = 3  # how far behind a premise the candidate facts are looked for


@dataclass(frozen=True)
class Change:
    fact: str
    old: Any  # None when the fact was not known
    new: Any


@dataclass
class Unmet:
    """A rule for the class that did not fire, and the tests of its condition that failed."""

    rule: Rule
    weight: float
    failed: list[Condition]  # leaves (or negations, or whole groups) that do not hold


@dataclass
class WhyNot:
    typology: Typology
    cls: str
    conclusion: Conclusion
    unmet: list[Unmet]
    against: list[Because]  # fired evidence against the class, and for the class that won instead
    changes: list[Change] | None  # None: no change set found
    complete: bool  # every combination up to max_changes was tried
    tried: int
    max_changes: int = MAX_CHANGES
    candidates: int = 0
    result_after: Conclusion | None = field(default=None, repr=False)

    @property
    def already(self) -> bool:
        return self.conclusion.value == self.cls


def parse_target(rb: Rulebase, text: str) -> tuple[str, str]:
    """`social_style=owl`, `社交风格=猫头鹰`, `owl` or `猫头鹰` -> (typology id, class id)."""
    raw = str(text).strip()
    typ_part, sep, cls_part = raw.partition("=")
    if not sep:
        typ_part, cls_part = "", raw
    typ_part, cls_part = typ_part.strip(), cls_part.strip()
    if typ_part:
        typs = [t for t in rb.typologies.values() if _names(typ_part, t.id, t.label.zh, t.label.en)]
        if not typs:
            raise InputError(_("{name} names no typology; write TYPOLOGY=CLASS, e.g. social_style=owl",
                               name=repr(typ_part)))
    else:
        typs = list(rb.typologies.values())
    hits = [(t, c) for t in typs for c in t.classes.values() if c.id == cls_part]
    if not hits:
        hits = [(t, c) for t in typs for c in t.classes.values() if _names(cls_part, None, c.label.zh, c.label.en)]
    if not hits:
        folded = [(t, c) for t in typs for c in t.classes.values() if c.id.casefold() == cls_part.casefold()]
        if len(folded) == 1:
            raise InputError(_("{name} is not a class: class ids are case-sensitive, and it differs from {real} "
                               "only in capitals", name=repr(cls_part), real=repr(folded[0][1].id)))
        raise InputError(_("{name} names no class; write TYPOLOGY=CLASS, e.g. social_style=owl", name=repr(cls_part)))
    if len({t.id for t, _c in hits}) > 1:
        example = hits[0][0].id + "=" + hits[0][1].id
        raise InputError(_("{name} is a class of several typologies; write TYPOLOGY=CLASS, e.g. {example}",
                           name=repr(cls_part), example=example))
    return hits[0][0].id, hits[0][1].id


def _names(text: str, cid: str | None, *labels: str) -> bool:
    """A typed name matches an id exactly, or a label loosely (whole label, or the part before a bracket)."""
    if cid is not None and text == cid:
        return True
    want = loose(text)
    for label in labels:
        short = label.split("(")[0].split("(")[0]
        if want and want in (loose(label), loose(short), loose(short.replace("型", ""))):
            return True
    return False


# --- which conditions hold on a profile -------------------------------------------------------

@dataclass
class _World:
    values: dict[str, list[Any]]  # fact -> its values (input and derived)
    answered: set[str]
    conclusions: dict[str, Conclusion]
    phrases: set[str]


def _world(compiled: CompiledRulebase, result: Result) -> _World:
    values: dict[str, list[Any]] = {}
    for fid, v in result.profile.facts.items():
        values[fid] = list(v) if isinstance(v, list) else [v]
    for d in result.derived:
        values.setdefault(d.fact, []).append(d.value)
    said = set()
    if result.profile.utterances:
        said = set(compiled.phrases.match_checked(result.profile.utterances)[0])
    return _World(values, set(result.profile.facts), result.conclusions, said)


def _leaf_holds(c: Condition, w: _World) -> bool:
    if isinstance(c, PhraseTest):
        return c.id in w.phrases
    if isinstance(c, ConclusionTest):
        k = w.conclusions.get(c.typology)
        value = k.value if k else None
        if c.min_confidence is not None and (k is None or k.confidence < c.min_confidence):
            value = None
        if c.op == "known":
            return (value is not None) == bool(c.operand)
        if value is None:
            return False
        return {"is": value == c.operand, "in": value in (c.operand or ()),
                "is_not": value != c.operand, "not_in": value not in (c.operand or ())}[c.op]
    assert isinstance(c, FactTest)
    vals = w.values.get(c.fact, [])
    if c.op == "known":
        return bool(vals) == bool(c.operand)
    if c.op == "answered":
        return (c.fact in w.answered) == bool(c.operand)
    return any(_value_test(c.op, c.operand, v) for v in vals)


def _value_test(op: str, arg: Any, v: Any) -> bool:
    try:
        if op == "is":
            return _same(v, arg)
        if op == "in":
            return any(_same(v, a) for a in arg)
        if op == "is_not":
            return not _same(v, arg)
        if op == "not_in":
            return not any(_same(v, a) for a in arg)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        if op == "between":
            return arg[0] <= v <= arg[1]
        return {"gt": v > arg, "gte": v >= arg, "lt": v < arg, "lte": v <= arg}[op]
    except TypeError:
        return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b


def holds(c: Condition, w: _World) -> bool:
    if isinstance(c, All):
        return all(holds(x, w) for x in c.items)
    if isinstance(c, Any_):
        return any(holds(x, w) for x in c.items)
    if isinstance(c, Not):
        return not holds(c.item, w)
    return _leaf_holds(c, w)


def failed_tests(c: Condition, w: _World) -> list[Condition]:
    """The parts of a condition that keep it from holding: for `all`, each failing item (recursively);
    for `any`, the whole group; a leaf or a negation as itself."""
    if holds(c, w):
        return []
    if isinstance(c, All):
        return [f for x in c.items for f in failed_tests(x, w)]
    return [c]


# --- candidate changes ----------------------------------------------------------------------

def _rules_about(rb: Rulebase, tid: str, cls: str) -> list[tuple[Rule, float]]:
    out = []
    for r in rb.rules:
        for e in r.then:
            if isinstance(e, Evidence) and e.typology == tid and e.cls == cls:
                out.append((r, e.weight))
    return out


def _premise_rules(rb: Rulebase, rules: list[Rule]) -> list[Rule]:
    """The rules, and the rules behind their premises (derived facts, conclusions), a few levels deep."""
    setters: dict[str, list[Rule]] = {}
    deciders: dict[str, list[Rule]] = {}
    for r in rb.rules:
        for e in r.then:
            if isinstance(e, SetFact):
                setters.setdefault(e.fact, []).append(r)
            elif isinstance(e, Evidence):
                deciders.setdefault(e.typology, []).append(r)
    seen: dict[str, Rule] = {r.id: r for r in rules}
    frontier = list(rules)
    for _level in range(_DEPTH):
        nxt = []
        for r in frontier:
            for c in walk(r.when):
                deps = (setters.get(c.fact, []) if isinstance(c, FactTest) and c.op != "answered" else
                        deciders.get(c.typology, []) if isinstance(c, ConclusionTest) else [])
                for d in deps:
                    if d.id not in seen:
                        seen[d.id] = d
                        nxt.append(d)
        frontier = nxt
    return list(seen.values())


def _some_value(f: FactDef) -> Any:
    if f.type == "bool":
        return True
    if f.values:
        return next(iter(f.values))
    if f.type == "number":
        return f.min if f.min is not None else 1
    return None


def _number_for(op: str, arg: Any, f: FactDef, make: bool) -> list[Any]:
    step = 1 if float(arg if op != "between" else arg[0]).is_integer() else 0.01
    if op == "between":
        lo, hi = arg
        return [lo] if make else [lo - step, hi + step]
    true_v = {"gt": arg + step, "gte": arg, "lt": arg - step, "lte": arg}[op]
    false_v = {"gt": arg, "gte": arg - step, "lt": arg, "lte": arg + step}[op]
    v = true_v if make else false_v
    if (f.min is not None and v < f.min) or (f.max is not None and v > f.max):
        return []
    return [int(v) if float(v).is_integer() else v]


def _values_for(t: FactTest, f: FactDef) -> list[Any]:
    """Values of the fact that make the test hold, and values that make it fail."""
    choices = [True, False] if f.type == "bool" else list(f.values) if f.values else []
    if t.op in ("known", "answered"):
        v = _some_value(f)
        return [v] if v is not None else []
    if f.type == "number" and t.op in ("gt", "gte", "lt", "lte", "between"):
        return _number_for(t.op, t.operand, f, True) + _number_for(t.op, t.operand, f, False)
    if choices:
        named = t.operand if t.op in ("in", "not_in") else [t.operand]
        others = [c for c in choices if not any(_same(c, n) for n in named)]
        return [*named, *others[:1]]
    return [t.operand] if t.op == "is" else []


def candidates(rb: Rulebase, profile: Profile, tid: str, cls: str) -> list[Change]:
    """Every single change the search may combine: unknown facts first, then answered ones."""
    base = [r for r, _w in _rules_about(rb, tid, cls)]
    out: list[Change] = []
    seen: set[tuple[str, str]] = set()
    for r in _premise_rules(rb, base):
        for c in walk(r.when):
            # a derived fact in the catalogue can be answered too (a rep may know the budget outright)
            if not isinstance(c, FactTest) or c.fact not in rb.facts:
                continue
            f = rb.facts[c.fact]
            old = profile.facts.get(c.fact)
            for v in _values_for(c, f):
                new: Any = v
                if f.type == "list":
                    current = list(old) if isinstance(old, list) else []
                    new = [x for x in current if not _same(x, v)] if any(_same(x, v) for x in current) \
                        else current + [v]
                if old is not None and _same_value(old, new):
                    continue
                key = (c.fact, repr(new))
                if key not in seen:
                    seen.add(key)
                    out.append(Change(c.fact, old, new))
    out.sort(key=lambda ch: ch.old is not None)  # stable: unknown facts first
    return out


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and sorted(map(repr, a)) == sorted(map(repr, b))
    return _same(a, b)


def apply_changes(profile: Profile, changes: list[Change]) -> Profile:
    facts = dict(profile.facts)
    for ch in changes:
        facts[ch.fact] = ch.new
    return replace(profile, facts=facts, warnings=[])


# --- the question -----------------------------------------------------------------------------

def why_not(compiled: CompiledRulebase, profile: Profile, tid: str, cls: str, *, result: Result | None = None,
            max_changes: int = MAX_CHANGES, max_tries: int = MAX_TRIES, max_seconds: float = MAX_SECONDS) -> WhyNot:
    """Why the profile is not `cls` of typology `tid`, and the smallest change that would make it so."""
    rb = compiled.rulebase
    typ = rb.typologies[tid]
    if cls not in typ.classes:
        raise InputError(_("{name} names no class; write TYPOLOGY=CLASS, e.g. social_style=owl", name=repr(cls)))
    result = result if result is not None else infer(compiled, profile)
    concl = result.conclusions[tid]
    world = _world(compiled, result)
    fired = set(result.fired)
    unmet = [Unmet(r, w, failed_tests(r.when, world)) for r, w in _rules_about(rb, tid, cls)
             if w > 0 and r.id not in fired]
    unmet.sort(key=lambda u: (len(u.failed), -u.weight))
    against = [b for b in concl.because if (b.cls == cls and b.weight < 0) or (b.cls != cls and b.cls == concl.value
                                                                                and b.weight > 0)]
    out = WhyNot(typ, cls, concl, unmet, against, None, True, 0, max_changes)
    if out.already:
        out.changes = []
        return out
    cands = candidates(rb, profile, tid, cls)
    out.candidates = len(cands)
    deadline = time.monotonic() + max_seconds
    for size in range(1, max_changes + 1):
        combos = [cmb for cmb in itertools.combinations(range(len(cands)), size)
                  if len({cands[i].fact for i in cmb}) == size]
        combos.sort(key=lambda cmb: (sum(cands[i].old is not None for i in cmb), cmb))
        for cmb in combos:
            if out.tried >= max_tries or time.monotonic() > deadline:
                out.complete = False
                return out
            changes = [cands[i] for i in cmb]
            out.tried += 1
            after = infer(compiled, apply_changes(profile, changes), missing=False).conclusions[tid]
            if after.value == cls:
                out.changes, out.result_after = changes, after
                return out
    return out


__all__ = ["MAX_CHANGES", "Change", "Unmet", "WhyNot", "apply_changes", "candidates", "failed_tests", "holds",
           "parse_target", "why_not"]
