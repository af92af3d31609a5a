"""Satisfiability of condition trees, decided statically on the model.

A condition is turned into disjunctive normal form over its tests, and each
conjunction is checked for consistency fact by fact (finite value sets, number
intervals, known/unknown). Every "never" it claims is sound: when it cannot
decide (a condition too big to expand, a confidence threshold) it answers
"may hold", so a finding built on it is a real problem, never a guess.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...rules.loader import RESERVED_UTTERANCES
from ...rules.model import (
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
    Warn,
    walk,
)

MAX_TERMS = 256  # beyond this a condition is not expanded; it is assumed satisfiable

Lit = tuple[Any, bool]  # (atom: FactTest | ConclusionTest | PhraseTest, holds?)


# --- number intervals -------------------------------------------------------------------

Interval = tuple[float, bool, float, bool]  # lo, lo included, hi, hi included
INF = float("inf")


def _iv_empty(i: Interval) -> bool:
    lo, li, hi, hi_inc = i
    return lo > hi or (lo == hi and not (li and hi_inc))


def _iv_and(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for x in a:
        for y in b:
            if x[0] > y[0] or (x[0] == y[0] and not x[1]):
                lo, li = x[0], x[1]
            else:
                lo, li = y[0], y[1]
            if x[2] < y[2] or (x[2] == y[2] and not x[3]):
                hi, hi_inc = x[2], x[3]
            else:
                hi, hi_inc = y[2], y[3]
            iv = (lo, li, hi, hi_inc)
            if not _iv_empty(iv):
                out.append(iv)
    return out


def _iv_not(a: list[Interval]) -> list[Interval]:
    out = [(-INF, False, INF, False)]
    for lo, li, hi, hi_inc in a:
        outside = [i for i in ((-INF, False, lo, not li), (hi, not hi_inc, INF, False)) if not _iv_empty(i)]
        out = _iv_and(out, outside)
    return out


def _number_set(op: str, arg: Any) -> list[Interval]:
    if op == "gt":
        return [(arg, False, INF, False)]
    if op == "gte":
        return [(arg, True, INF, False)]
    if op == "lt":
        return [(-INF, False, arg, False)]
    if op == "lte":
        return [(-INF, False, arg, True)]
    if op == "between":
        return [(arg[0], True, arg[1], True)]
    if op in ("is", "is_not"):
        s = [(arg, True, arg, True)]
        return s if op == "is" else _iv_not(s)
    points = [(v, True, v, True) for v in arg]
    return points if op == "in" else _iv_not(points)


# --- satisfiability of condition trees -----------------------------------------------------

def _dnf(cond: Condition, positive: bool = True) -> list[list[Lit]] | None:
    """Disjunctive normal form with negations pushed to the tests; None when too big to expand.

    `not` means "does not hold", and a test on an unknown fact does not hold,
    so De Morgan's laws apply unchanged at this level.
    """
    if isinstance(cond, Not):
        return _dnf(cond.item, not positive)
    if isinstance(cond, (All, Any_)):
        conj = isinstance(cond, All) == positive
        parts = [_dnf(c, positive) for c in cond.items]
        if any(p is None for p in parts):
            return None
        if not conj:
            out = [t for p in parts for t in p]
            return out if len(out) <= MAX_TERMS else None
        terms: list[list[Lit]] = [[]]
        for p in parts:
            terms = [t + u for t in terms for u in p]
            if len(terms) > MAX_TERMS:
                return None
        return terms
    return [[(cond, positive)]]


@dataclass
class Verdict:
    ok: bool
    culprits: list[Lit]  # the tests that cannot hold together, when not ok


class Logic:
    """Decides whether conjunctions of tests can hold at the same time."""

    def __init__(self, rb: Rulebase):
        self.rb = rb
        self.derived: dict[str, set] = {}
        for r in rb.rules:
            for e in r.then:
                if isinstance(e, SetFact):
                    self.derived.setdefault(e.fact, set()).add(e.value)

    # one fact or typology ---------------------------------------------------------------
    def subject_ok(self, key: tuple[str, str], lits: list[Lit], reach: dict[str, set] | None) -> bool:
        kind, name = key
        unknown_ok = True
        known_ok = True
        answered: set[bool] = set()
        preds: list[tuple[str, Any, bool]] = []  # (op, operand, holds)
        for atom, pos in lits:
            op, arg = atom.op, atom.operand
            if op == "answered":
                answered.add(arg == pos)
                continue
            if op == "known":
                if arg == pos:
                    unknown_ok = False
                else:
                    known_ok = False
                continue
            if isinstance(atom, ConclusionTest) and atom.min_confidence is not None and not pos:
                # "not (T is C with confidence ≥ m)" may hold with T = C at a lower confidence
                continue
            if pos:
                unknown_ok = False
            preds.append((op, arg, pos))
        if True in answered and False in answered:
            return False
        if True in answered:
            unknown_ok = False
        if unknown_ok:
            return True
        if not known_ok:
            return False
        only_derived = False in answered
        if kind == "t":
            domain = set(self.rb.typologies[name].classes) if reach is None else set(reach.get(name, ()))
            return bool(self._finite(domain, preds))
        f = self.rb.facts.get(name)
        if f is None:
            return True
        if only_derived and name not in self.derived:
            return False
        return self._fact_ok(f, preds, self.derived.get(name) if only_derived else None)

    def _finite(self, domain: set, preds: list[tuple[str, Any, bool]]) -> set:
        allowed = set(domain)
        for op, arg, pos in preds:
            vals = {arg} if op in ("is", "is_not") else set(arg)
            inside = op in ("is", "in")
            keep = vals if inside == pos else None
            allowed = allowed & keep if keep is not None else allowed - vals
        return allowed

    def _fact_ok(self, f: FactDef, preds: list[tuple[str, Any, bool]], derived_only: set | None) -> bool:
        if f.type in ("enum", "bool"):
            domain = set(f.values) if f.type == "enum" else {True, False}
            if derived_only is not None:
                domain &= derived_only
            return bool(self._finite(domain, preds))
        if f.type == "number":
            lo = f.min if f.min is not None else -INF
            hi = f.max if f.max is not None else INF
            allowed: list[Interval] = [(lo, f.min is not None, hi, f.max is not None)]
            if derived_only is not None:
                allowed = _iv_and(allowed, [(v, True, v, True) for v in derived_only])
            for op, arg, pos in preds:
                s = _number_set(op, arg)
                allowed = _iv_and(allowed, s if pos else _iv_not(s))
            return bool(allowed)
        if f.type == "text":
            exact: set | None = set(derived_only) if derived_only is not None else None
            excluded: set = set()
            for op, arg, pos in preds:
                vals = {arg} if op in ("is", "is_not") else set(arg)
                if (op in ("is", "in")) == pos:
                    exact = vals if exact is None else exact & vals
                else:
                    excluded |= vals
            return exact is None or bool(exact - excluded)
        # list: the value is a non-empty set of items; `is` = contains, `in` = contains one of
        required: set = set()
        forbidden: set = set()
        one_of: list[set] = []
        for op, arg, pos in preds:
            vals = {arg} if op == "is" else set(arg)
            if pos:
                if op == "is":
                    required |= vals
                else:
                    one_of.append(vals)
            else:
                forbidden |= vals
        if required & forbidden or any(not (o - forbidden) for o in one_of):
            return False
        return not f.values or bool(set(f.values) - forbidden) or bool(required)

    # a conjunction ----------------------------------------------------------------------------
    def term(self, term: list[Lit], reach: dict[str, set] | None) -> Verdict:
        groups: dict[tuple[str, str], list[Lit]] = {}
        said_yes: list[PhraseTest] = []
        said_no: list[PhraseTest] = []
        stand_in: dict[FactTest, PhraseTest] = {}  # `utterances is known`, implied by a phrase
        for atom, pos in term:
            if isinstance(atom, PhraseTest):
                (said_yes if pos else said_no).append(atom)
                if pos:  # something was said, so `utterances` is known
                    known = FactTest(RESERVED_UTTERANCES, "known", True, atom.pos)
                    stand_in[known] = atom
                    groups.setdefault(("f", RESERVED_UTTERANCES), []).append((known, True))
                continue
            key = ("f", atom.fact) if isinstance(atom, FactTest) else ("t", atom.typology)
            groups.setdefault(key, []).append((atom, pos))
        for key, lits in groups.items():
            if not self.subject_ok(key, lits, reach):
                return Verdict(False, [(stand_in[a], True) if a in stand_in else (a, p) for a, p in lits])
        for p in said_yes:
            for n in said_no:
                if _phrase_implies(p, n):
                    return Verdict(False, [(p, True), (n, False)])
        return Verdict(True, [])

    def check(self, cond: Condition, reach: dict[str, set] | None = None) -> tuple[bool, list[Verdict]]:
        """(can hold, the verdict of each alternative); unknown counts as can hold."""
        terms = _dnf(cond)
        if terms is None:
            return True, []
        verdicts = [self.term(t, reach) for t in terms]
        return any(v.ok for v in verdicts), verdicts

    def sat(self, cond: Condition, reach: dict[str, set] | None = None) -> bool:
        return self.check(cond, reach)[0]

    def implies(self, a: Condition, b: Condition) -> bool:
        """Whenever `a` holds, `b` holds (False when undecided)."""
        terms = _dnf(All((a, Not(b, b.pos)), a.pos))
        return terms is not None and not any(self.term(t, None).ok for t in terms)


def _phrase_implies(p: PhraseTest, n: PhraseTest) -> bool:
    """Every utterance that matches p also matches n (False when that cannot be told)."""
    if (p.heard, p.denied, p.examples_of) != (n.heard, n.denied, n.examples_of) or p.examples_of:
        return False
    return (all(any(k2 in k for k2 in n.keywords) for k in p.keywords)
            and all(r in n.regexes for r in p.regexes)
            and set(p.concepts) <= set(n.concepts)
            and (n.form is None or n.form == p.form))


# --- shapes of conditions and effects ------------------------------------------------------

def atoms_with_polarity(cond: Condition, positive: bool = True) -> Iterator[tuple[Any, bool]]:
    """Every test of a condition with whether it must hold (True) or must not (under an odd number of `not`)."""
    if isinstance(cond, Not):
        yield from atoms_with_polarity(cond.item, not positive)
    elif isinstance(cond, (All, Any_)):
        for c in cond.items:
            yield from atoms_with_polarity(c, positive)
    else:
        yield cond, positive


def size(cond: Condition) -> int:
    """Specificity: how many tests a condition makes."""
    return sum(1 for c in walk(cond) if isinstance(c, (FactTest, ConclusionTest, PhraseTest)))


def subjects(cond: Condition) -> frozenset:
    """The facts, typologies and phrases a condition looks at."""
    out = set()
    for c in walk(cond):
        if isinstance(c, FactTest):
            out.add(("f", c.fact))
        elif isinstance(c, ConclusionTest):
            out.add(("t", c.typology))
        elif isinstance(c, PhraseTest):
            out.add(("p", c.keywords, c.regexes, c.concepts, c.form, c.heard, c.denied, c.examples_of))
    return frozenset(out)


def effects_key(rule: Rule) -> tuple:
    """A rule's effects in a comparable form (two rules with equal keys do the same thing)."""
    out = []
    for e in rule.then:
        if isinstance(e, Evidence):
            out.append(("e", e.typology, e.cls, round(e.weight, 9)))
        elif isinstance(e, SetFact):
            out.append(("s", e.fact, repr(e.value)))
        elif isinstance(e, Warn):
            out.append(("w", e.text.zh, e.text.en))
    return tuple(sorted(out))
