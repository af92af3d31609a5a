"""Whole-rulebase analysis for `zhike rules check`, beyond what the loader validates.

The loader checks each file on its own terms (shapes, ids, values, sources).
This module looks at the rulebase as a whole, statically, on the model's
condition trees: rules that can never fire, rules that fight or repeat each
other, classes, strategies and facts that are dead weight, citations whose
anchor text is not in the seed, keywords claimed by rules of different
classes, and golden cases that name rules that do not exist.

Nothing here runs the rule engine. A condition is turned into disjunctive
normal form over its tests, and each conjunction is checked for consistency
fact by fact (finite value sets, number intervals, known/unknown). Every
"never" the analysis claims is sound: when it cannot decide (a condition too
big to expand, a confidence threshold) it assumes the rule may fire, so a
finding is always a real problem, never a guess.

Check ids (all analysis findings are warnings unless noted):

| id | finding |
|---|---|
| contradiction (error) | a rule's or strategy's conditions can never all hold |
| impossible-value (error) | a number test the fact's min/max makes impossible |
| conflict | two overlapping rules push one typology to different classes with equal weight and specificity |
| redundant | a rule with the same effects as another that applies whenever it does |
| unreachable-class | no rule can conclude a class (no evidence, or too little for the threshold) |
| unreachable-strategy | a strategy for a class no rule can conclude |
| unreachable-rule | a rule that needs a conclusion no rule can reach |
| unused-fact | a fact (and its question) no rule or strategy tests |
| anchor-not-found (error) | a source section's anchor text is not in its seed file |
| seed-missing (error) | a seed file listed in sources.yaml is not in the seeds directory |
| anchor-check-skipped | the seeds directory was not found, so anchors were not checked |
| duplicate-keyword | one keyword in `said:` of rules for different classes |
| unknown-rule, unknown-typology, unknown-class, unknown-fact, test-format (errors) | golden case files (tests/*.yaml) |
"""
from __future__ import annotations

import itertools
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..reasoning.inference import combine
from ..report.describe import describe
from ..rules.loader import RESERVED_UTTERANCES, display_path, normalise_text
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
    Strategy,
    Warn,
    walk,
)
from ..rules.yamlpos import Located, Pos, YamlError, load_file

WARNING = "warning"
ERROR = "error"
MAX_TERMS = 256  # beyond this a condition is not expanded; it is assumed satisfiable

Lit = tuple[Any, bool]  # (atom: FactTest | ConclusionTest | PhraseTest, holds?)


# --- seeds ----------------------------------------------------------------------------

def seeds_dir() -> Path:
    """Where the seed documents are: $ZHIKE_SEEDS, else ../shared/seeds beside the repository."""
    env = os.environ.get("ZHIKE_SEEDS")
    if env:
        return Path(env)
    from ..paths import ROOT

    return ROOT.parent / "shared" / "seeds"


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
class _Verdict:
    ok: bool
    culprits: list[Lit]  # the tests that cannot hold together, when not ok


class _Logic:
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
    def term(self, term: list[Lit], reach: dict[str, set] | None) -> _Verdict:
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
                return _Verdict(False, [(stand_in[a], True) if a in stand_in else (a, p) for a, p in lits])
        for p in said_yes:
            for n in said_no:
                if _phrase_implies(p, n):
                    return _Verdict(False, [(p, True), (n, False)])
        return _Verdict(True, [])

    def check(self, cond: Condition, reach: dict[str, set] | None = None) -> tuple[bool, list[_Verdict]]:
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
    """Every utterance that matches p also matches n."""
    return (all(any(k2 in k for k2 in n.keywords) for k in p.keywords)
            and all(r in n.regexes for r in p.regexes))


def _atoms_with_polarity(cond: Condition, positive: bool = True) -> Iterator[tuple[Any, bool]]:
    if isinstance(cond, Not):
        yield from _atoms_with_polarity(cond.item, not positive)
    elif isinstance(cond, (All, Any_)):
        for c in cond.items:
            yield from _atoms_with_polarity(c, positive)
    else:
        yield cond, positive


def _size(cond: Condition) -> int:
    """Specificity: how many tests a condition makes."""
    return sum(1 for c in walk(cond) if isinstance(c, (FactTest, ConclusionTest, PhraseTest)))


def _subjects(cond: Condition) -> frozenset:
    out = set()
    for c in walk(cond):
        if isinstance(c, FactTest):
            out.add(("f", c.fact))
        elif isinstance(c, ConclusionTest):
            out.add(("t", c.typology))
        elif isinstance(c, PhraseTest):
            out.add(("p", c.keywords, c.regexes))
    return frozenset(out)


def _effects_key(rule: Rule) -> tuple:
    out = []
    for e in rule.then:
        if isinstance(e, Evidence):
            out.append(("e", e.typology, e.cls, round(e.weight, 9)))
        elif isinstance(e, SetFact):
            out.append(("s", e.fact, repr(e.value)))
        elif isinstance(e, Warn):
            out.append(("w", e.text.zh, e.text.en))
    return tuple(sorted(out))


# --- positions in the YAML ------------------------------------------------------------------

class _Nodes:
    """The YAML nodes behind model positions, for pointing at a keyword or operand."""

    def __init__(self, rb: Rulebase):
        self.rb = rb
        self.by_file: dict[str, dict[tuple[int, int], Located]] = {}
        self.trees: dict[str, Located | None] = {}

    def tree(self, file: str) -> Located | None:
        if file not in self.trees:
            path = Path(file)
            if not path.is_absolute() and not path.exists():
                path = Path(self.rb.root) / file
            try:
                self.trees[file] = load_file(path, file)
            except YamlError:
                self.trees[file] = None
            index: dict[tuple[int, int], Located] = {}
            if self.trees[file] is not None:
                stack = [self.trees[file]]
                while stack:
                    n = stack.pop()
                    index.setdefault((n.pos.line, n.pos.col), n)
                    if isinstance(n.value, dict):
                        stack.extend(n.value.values())
                    elif isinstance(n.value, list):
                        stack.extend(n.value)
            self.by_file[file] = index
        return self.trees[file]

    def at(self, pos: Pos | None) -> Located | None:
        if pos is None:
            return None
        self.tree(pos.file)
        return self.by_file.get(pos.file, {}).get((pos.line, pos.col))

    def child(self, pos: Pos | None, *keys: str) -> Located | None:
        n = self.at(pos)
        for k in keys:
            if n is None or not isinstance(n.value, dict):
                return None
            n = n.value.get(k)
        return n


def _iter_maps(loc: Located | None) -> Iterator[dict[str, Located]]:
    if loc is None:
        return
    stack = [loc]
    while stack:
        n = stack.pop()
        if isinstance(n.value, dict):
            yield n.value
            stack.extend(n.value.values())
        elif isinstance(n.value, list):
            stack.extend(n.value)


# --- the analysis ------------------------------------------------------------------------------

class _Linter:
    def __init__(self, rb: Rulebase, loader_problems: list[Problem], seeds: Path | None):
        self.rb = rb
        self.loader_problems = loader_problems
        self.seeds = seeds
        self.logic = _Logic(rb)
        self.nodes = _Nodes(rb)
        self.out: list[Problem] = []
        self.broken_files = {p.pos.file for p in loader_problems if p.severity == ERROR}
        # rules that failed to load still tell us which classes and facts the trainer meant to use
        self.raw_classes: set[tuple[str, str]] = set()
        self.raw_facts: set[str] = set()
        self.raw_rule_ids: set[str] = set()
        self._scan_raw()

    def add(self, pos: Pos, message: str, check: str, severity: str = WARNING) -> None:
        self.out.append(Problem(pos, message, check, severity))

    def _scan_raw(self) -> None:
        root = Path(self.rb.root)
        for p in sorted((root / "typologies").glob("*.yaml")) + sorted((root / "guidance").glob("*.yaml")):
            tree = self.nodes.tree(display_path(p))
            if tree is None or not isinstance(tree.value, dict):
                continue
            home = None
            typ = tree.value.get("typology")
            if typ is not None and isinstance(typ.value, dict) and "id" in typ.value:
                home = str(typ.value["id"].value)
            for m in _iter_maps(tree):
                if "said" in m:
                    self.raw_facts.add(RESERVED_UTTERANCES)
                for key in ("fact", "set"):
                    if key in m and isinstance(m[key].value, str):
                        self.raw_facts.add(m[key].value)
                if "class" in m and isinstance(m["class"].value, str):
                    ref = m["class"].value
                    t, _, c = ref.partition(".") if "." in ref else (home, "", ref)
                    self.raw_classes.add((str(t), c))
            rules = tree.value.get("rules")
            for item in rules.value if rules is not None and isinstance(rules.value, list) else []:
                if isinstance(item.value, dict) and "id" in item.value:
                    self.raw_rule_ids.add(str(item.value["id"].value))

    def _maybe_reached_by_broken_rule(self, tid: str, cid: str) -> bool:
        return bool(self.broken_files) and (tid, cid) in self.raw_classes

    # ----------------------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        dead = self.never_fire()
        reach, live = self.reachability(dead)
        self.unreachable(reach, live, dead)
        self.conflicts_and_redundancy(live)
        self.unused_facts()
        self.duplicate_keywords()
        self.anchors()
        self.cases()
        return sorted(self.out, key=Problem.sort_key)

    # contradiction / impossible-value ---------------------------------------------------------
    def never_fire(self) -> set[str]:
        dead: set[str] = set()
        items: list[Rule | Strategy] = [*self.rb.rules, *self.rb.strategies]
        for item in items:
            what = "rule" if isinstance(item, Rule) else "strategy"
            impossible = False
            for atom, positive in _atoms_with_polarity(item.when):
                if isinstance(atom, FactTest) and positive and atom.op not in ("known", "answered") \
                        and not self.logic.subject_ok(("f", atom.fact), [(atom, True)], None):
                    impossible = True
                    self._impossible(atom)
            ok, verdicts = self.logic.check(item.when)
            if ok:
                continue
            dead.add(item.id)
            if impossible:
                continue  # the impossible test is the reason; one finding is enough
            culprits = verdicts[0].culprits
            last = max((a.pos for a, _ in culprits), key=lambda p: (p.line, p.col), default=item.when.pos)
            text = " and ".join(dict.fromkeys(self._lit_text(lit) for lit in culprits))
            alt = "" if len(verdicts) == 1 else f" (none of its {len(verdicts)} alternatives can hold; the first needs {text})"
            msg = (f"{what} {item.id} can never {'fire' if what == 'rule' else 'apply'}: "
                   + (f"{text} cannot all hold at once" if len(verdicts) == 1 else f"its conditions contradict each other{alt}"))
            self.add(last, msg, "contradiction", ERROR)
        return dead

    def _lit_text(self, lit: Lit) -> str:
        atom, pos = lit
        cond = atom if pos else Not(atom, atom.pos)
        return f"“{describe(cond, self.rb, 'en')}”"

    def _impossible(self, atom: FactTest) -> None:
        f = self.rb.facts[atom.fact]
        node = self.nodes.at(atom.pos)
        where = atom.pos
        if node is not None and isinstance(node.value, dict):
            op_node = next((v for k, v in node.value.items() if k != "fact"), None)
            if op_node is not None:
                where = op_node.pos
        lo = f"{f.min:g}" if f.min is not None else "-∞"
        hi = f"{f.max:g}" if f.max is not None else "∞"
        self.add(where, f"“{describe(atom, self.rb, 'en')}” can never hold: fact {f.id} ranges over {lo}..{hi}",
                 "impossible-value", ERROR)

    # reachability ------------------------------------------------------------------------------
    def reachability(self, dead: set[str]) -> tuple[dict[str, set], set[str]]:
        """Least fixpoint: the classes some firing rule can push over the threshold, and the rules that can fire."""
        reach: dict[str, set] = {t: set() for t in self.rb.typologies}
        live: set[str] = set()
        while True:
            changed = False
            for r in self.rb.rules:
                if r.id in live or r.id in dead:
                    continue
                if self.logic.sat(r.when, reach):
                    live.add(r.id)
                    changed = True
            for t, typ in self.rb.typologies.items():
                for c in typ.classes:
                    if c not in reach[t] and combine(self._weights(t, c, live)) >= typ.threshold - 1e-12 \
                            and self._weights(t, c, live):
                        reach[t].add(c)
                        changed = True
            if not changed:
                return reach, live

    def _weights(self, t: str, c: str, rules: set[str]) -> list[float]:
        return [e.weight for r in self.rb.rules if r.id in rules for e in r.then
                if isinstance(e, Evidence) and e.typology == t and e.cls == c and e.weight > 0]

    def unreachable(self, reach: dict[str, set], live: set[str], dead: set[str]) -> None:
        explained: set[tuple[str, str]] = set()
        full = {t: set(typ.classes) for t, typ in self.rb.typologies.items()}

        def blockers(cond: Condition) -> list[ConclusionTest]:
            out = []
            for atom, positive in _atoms_with_polarity(cond):
                if isinstance(atom, ConclusionTest) and positive and atom.op in ("is", "in"):
                    classes = [atom.operand] if atom.op == "is" else list(atom.operand)
                    if not any(c in reach[atom.typology] for c in classes):
                        out.append(atom)
            return out

        def report(item: Rule | Strategy, check: str) -> None:
            bl = [b for b in blockers(item.when)
                  if not any(self._maybe_reached_by_broken_rule(b.typology, c)
                             for c in ([b.operand] if b.op == "is" else b.operand))]
            if not bl and self.broken_files:
                return
            what = "rule" if isinstance(item, Rule) else "strategy"
            if bl:
                b = bl[0]
                classes = [b.operand] if b.op == "is" else list(b.operand)
                names = " / ".join(classes)
                for c in classes:
                    explained.add((b.typology, c))
                msg = (f"{what} {item.id} can never {'fire' if what == 'rule' else 'apply'}: "
                       f"no rule can conclude {b.typology} = {names}; add a rule with evidence for it"
                       + (" or remove the strategy" if what == "strategy" else ""))
                self.add(b.pos, msg, check)
            else:
                self.add(item.pos, f"{what} {item.id} can never {'fire' if what == 'rule' else 'apply'}: "
                                   "the conclusions it needs cannot all be reached", check)

        for r in self.rb.rules:
            if r.id not in live and r.id not in dead and self.logic.sat(r.when, full):
                report(r, "unreachable-rule")
        for s in self.rb.strategies:
            if s.id not in dead and self.logic.sat(s.when, full) and not self.logic.sat(s.when, reach):
                report(s, "unreachable-strategy")
        for t, typ in self.rb.typologies.items():
            for c, cdef in typ.classes.items():
                if c in reach[t] or (t, c) in explained or self._maybe_reached_by_broken_rule(t, c):
                    continue
                ws = self._weights(t, c, live)
                if not ws:
                    msg = (f"no rule can conclude class {c} of {t}: no rule that can fire gives evidence for it; "
                           f"add a rule with `{{class: {c}, weight: ...}}` or remove the class")
                else:
                    msg = (f"class {c} of {t} can never be concluded: even if every rule for it fired, its "
                           f"confidence would be {combine(ws):.2f}, below the threshold {typ.threshold:g}")
                self.add(cdef.pos, msg, "unreachable-class")

    # conflict / redundant --------------------------------------------------------------------------
    def conflicts_and_redundancy(self, live: set[str]) -> None:
        rules = [r for r in self.rb.rules if r.id in live]
        effects = {r.id: _effects_key(r) for r in rules}
        sizes = {r.id: _size(r.when) for r in rules}
        subjects = {r.id: _subjects(r.when) for r in rules}
        redundant: set[str] = set()
        for a, b in itertools.combinations(rules, 2):
            if effects[a.id] == effects[b.id]:
                b_in_a = self.logic.implies(b.when, a.when)
                a_in_b = self.logic.implies(a.when, b.when)
                if b_in_a or a_in_b:
                    narrow, wide = (b, a) if b_in_a else (a, b)
                    if narrow.id in redundant:
                        continue
                    redundant.add(narrow.id)
                    how = "the same conditions" if (b_in_a and a_in_b) else "applies whenever this one does"
                    self.add(narrow.pos, f"rule {narrow.id} is redundant: rule {wide.id} ({wide.pos}) has the same "
                                         f"effects and {how}, so the evidence is counted twice; remove one or "
                                         "give them different effects", "redundant")
                continue
            if sizes[a.id] != sizes[b.id] or subjects[a.id] != subjects[b.id]:
                continue
            for t in self.rb.typologies:
                pa = {e.cls: e.weight for e in a.then if isinstance(e, Evidence) and e.typology == t and e.weight > 0}
                pb = {e.cls: e.weight for e in b.then if isinstance(e, Evidence) and e.typology == t and e.weight > 0}
                if not pa or not pb or set(pa) & set(pb) or abs(max(pa.values()) - max(pb.values())) > 1e-9:
                    continue
                if not self.logic.sat(All((a.when, b.when), a.when.pos)):
                    continue
                self.add(b.pos, f"rule {b.id} conflicts with rule {a.id} ({a.pos}): both can fire together and push "
                                f"{t} to {' / '.join(pb)} vs {' / '.join(pa)} with the same weight "
                                f"{max(pb.values()):g} and the same specificity, so the result is a tie; "
                                "make one condition more specific or change a weight", "conflict")
                break

    # unused facts ---------------------------------------------------------------------------------
    def unused_facts(self) -> None:
        used: set[str] = set()
        for item in [*self.rb.rules, *self.rb.strategies]:
            for c in walk(item.when):
                if isinstance(c, FactTest):
                    used.add(c.fact)
                elif isinstance(c, PhraseTest):
                    used.add(RESERVED_UTTERANCES)
        setters = {e.fact: r.id for r in self.rb.rules for e in r.then if isinstance(e, SetFact)}
        for fid, f in self.rb.facts.items():
            if fid in used or (self.broken_files and fid in self.raw_facts):
                continue
            if fid == RESERVED_UTTERANCES:
                msg = "no rule has a `said:` condition, so what the customer said is never used"
            elif fid in setters:
                msg = (f"fact {fid} is derived by rule {setters[fid]} but no rule or strategy tests it; "
                       "its question is never asked")
            else:
                msg = f"no rule or strategy tests fact {fid}, so its question is never asked; use it or remove it"
            self.add(f.pos, msg, "unused-fact")

    # duplicate keywords ----------------------------------------------------------------------------
    def duplicate_keywords(self) -> None:
        """A keyword that pulls toward two different classes: the same word, or one inside the other.

        Keywords match as substrings, so an utterance with "太贵了" also
        matches a rule listening for "太贵".
        """
        occurrences: list[tuple[str, Pos, Rule, dict[str, set]]] = []
        for r in self.rb.rules:
            classes: dict[str, set] = {}
            for e in r.then:
                if isinstance(e, Evidence) and e.weight > 0:
                    classes.setdefault(e.typology, set()).add(e.cls)
            if not classes:
                continue
            for atom, positive in _atoms_with_polarity(r.when):
                if isinstance(atom, PhraseTest) and positive:
                    occurrences += [(kw, where, r, classes) for kw, where in self._keywords(atom)]
        reported: set[tuple[str, Pos]] = set()
        for i, (kw, where, r, classes) in enumerate(occurrences):
            for kw0, _, r0, classes0 in occurrences[:i]:
                if r0.id == r.id or (kw, where) in reported or not (kw0 in kw or kw in kw0):
                    continue
                clash = [t for t in classes if t in classes0 and not classes[t] & classes0[t]]
                if not clash:
                    continue
                t = clash[0]
                reported.add((kw, where))
                same = "is also" if kw == kw0 else (f"contains keyword “{kw0}”" if kw0 in kw else
                                                    f"is part of keyword “{kw0}”")
                where_else = "in" if kw == kw0 else "of"
                self.add(where, f"keyword “{kw}” {same} {where_else} rule {r0.id} ({r0.pos}), which points {t} to "
                                f"{' / '.join(sorted(classes0[t]))}, while this rule points it to "
                                f"{' / '.join(sorted(classes[t]))}; one utterance would count for both, so keep "
                                "the keyword in one of them", "duplicate-keyword")

    def _keywords(self, atom: PhraseTest) -> Iterable[tuple[str, Pos]]:
        said = self.nodes.child(atom.pos, "said")
        if said is None or not isinstance(said.value, dict):
            return [(k, atom.pos) for k in atom.keywords]
        out = []
        for lang in ("zh", "en"):
            items = said.value.get(lang)
            for x in items.value if items is not None and isinstance(items.value, list) else []:
                if isinstance(x.value, str) and x.value.strip():
                    out.append((normalise_text(x.value.strip()), x.pos))
        return out

    # anchors -----------------------------------------------------------------------------------
    def anchors(self) -> None:
        sources = Path(self.rb.root) / "sources.yaml"
        sources_file = display_path(sources)
        if not self.rb.seeds:
            return
        if self.seeds is None or not self.seeds.is_dir():
            where = self.seeds if self.seeds is not None else "(none)"
            self.add(Pos(sources_file, 1, 1), f"anchor check skipped: seed directory {where} not found; "
                                              "set ZHIKE_SEEDS to the folder with the seed documents",
                     "anchor-check-skipped")
            return
        for seed in self.rb.seeds.values():
            path = self.seeds / seed.file
            fnode = self.nodes.child(seed.pos, "file")
            fpos = fnode.pos if fnode is not None else seed.pos
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self.add(fpos, f"seed file {seed.file} not found in {self.seeds}", "seed-missing", ERROR)
                continue
            loose = _loose(text)
            for sec in seed.sections.values():
                if sec.anchor in text:
                    continue
                node = self.nodes.child(sec.pos, "anchor")
                hint = (" (it differs only in spacing or full-/half-width characters; copy it exactly)"
                        if _loose(sec.anchor) in loose else "; copy a short phrase exactly as it stands in the seed")
                self.add(node.pos if node else sec.pos,
                         f"anchor of section {sec.id} of seed {seed.id} does not occur in {seed.file}{hint}",
                         "anchor-not-found", ERROR)

    # golden cases --------------------------------------------------------------------------------
    def cases(self) -> None:
        from .casetest import check_cases

        _, problems = check_cases(self.rb, declared=self.raw_rule_ids if self.broken_files else ())
        self.out.extend(problems)


def _loose(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def lint(rb: Rulebase | None, loader_problems: list[Problem], seeds: Path | None = None) -> list[Problem]:
    """The analysis findings for a (possibly partial) rulebase, sorted; loader problems are not repeated.

    `loader_problems` (from `check_rulebase`) tell which parts failed to load,
    so nothing is reported as unused or unreachable merely because the rule
    that uses it is broken. `seeds` defaults to `seeds_dir()`.
    """
    if rb is None:
        return []
    return _Linter(rb, loader_problems, seeds if seeds is not None else seeds_dir()).run()
