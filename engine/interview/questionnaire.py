"""The questionnaire: which question to ask next, and the state of one interview.

No terminal I/O here (engine/commands/ask.py does that); everything the
terminal shows is built from this module's data and text helpers.

Relevance comes from the rulebase itself. A goal (a typology the rep cares
about) depends on the rules that give it evidence, and through their
conditions on the typologies and derived facts they test, and on the rules
behind those (the graph the loader stratifies; `rule.level` orders it). Cut
from that graph are:
- rules that fired and are final: a rule counts once, so its premises no
  longer matter. A fired rule that holds by an absence (`not:`) or rests on a
  conclusion or derived fact is not final: what could undo it stays.
- rules whose inputs are all settled (answered or skipped facts, conclusions
  of typologies whose rules are all settled): they will never fire now;
- rules that cannot change their typology's value or its leading class's
  confidence, by bounds on the certainty factors still reachable.
The facts the remaining rules test, not yet answered or skipped, are the
candidates, including facts a rule derived when the rep's own answer could
still override the cue.

Ranking runs the real engine: for the most promising candidates (by a
structural prior: rule weights times the links to the goal) every possible
answer is added to the current answers and `infer()` is run on that
hypothetical profile. A candidate is worth asking by how much, on average
over its answers, it brings the unsettled goals towards a confident
conclusion, plus a little for moving the evidence they depend on. A
candidate none of whose answers changes anything the goals depend on is not
asked. A fact that only matters together with another unknown fact (a rule
needs both) shows no change on its own; it is kept only if some combination
of the facts that rule tests does change something. Outcomes are cached and
reused across answers while nothing that changed since can reach what the
candidate reaches, so each answer costs only a few new inferences.

A goal is settled when it is concluded with at least `confident` confidence
(never below its typology's threshold); the interview ends when every goal is
settled or no relevant question is left.
"""
from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, did_you_mean
from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result, combine, infer
from ..reasoning.profile import Profile, coerce_value
from ..report.describe import class_label, describe, value_label
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import (
    All,
    Any_,
    ConclusionTest,
    Evidence,
    FactDef,
    FactTest,
    Not,
    PhraseTest,
    Rule,
    Rulebase,
    SetFact,
    walk,
)

DEFAULT_CONFIDENT = 0.8
# How much new hypothetical inference one question may cost. An inference costs about
# 1 + facts/8 units: infer() grows with what is known (on 284 rules: ~1 ms empty, ~5 ms at 30
# facts). With outcomes reused across answers this keeps answer-to-question p95 under 100 ms
# (bench/bench_ask.py). A deterministic count, not a clock: scripted runs stay reproducible.
SIMULATION_BUDGET = 24.0
MAX_SAMPLES = 8  # hypothetical utterances / numbers per fact
MAX_COMBINATIONS = 32  # joint answers tried per rule when a fact only matters together with others
JOINT_BUDGET = 48  # joint answers tried per question in all
_CACHE_SIZE = 1024
_BETA = 0.1  # credit for evidence that moves without (yet) settling a goal
_GAMMA = 0.05  # structural prior, a tie-breaker
_EPS = 1e-9


class _Skip:
    """An explicit "don't know": recorded, never asked again, never asserted."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()


# --- the dependency graph, once per compiled rulebase ---------------------------------

@dataclass
class _Graph:
    rules: dict[str, Rule]
    evidencers: dict[str, list[str]]  # typology -> rules giving it evidence
    setters: dict[str, list[str]]  # fact -> rules deriving it
    tests: dict[str, list[str]]  # rule -> catalogue facts it tests (phrases count as utterances)
    typologies: dict[str, list[str]]  # rule -> typologies it tests
    derived: dict[str, list[str]]  # rule -> derived facts it tests
    defeat: dict[str, tuple[list[str], list[str], list[str]]]  # rule -> (facts, typologies, derived facts)
    # that could still undo or rescale it once fired: facts it tests by absence, conclusions, derived facts
    strength: dict[str, float]  # rule -> how much it can move its conclusion
    phrases: dict[str, list[PhraseTest]]
    operands: dict[str, list[Any]]  # fact -> values rules compare it with
    order: dict[str, int]  # fact -> catalogue position
    cones: dict[str, frozenset] = field(default_factory=dict)
    testers: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # ("f"|"t", id) -> rules testing it

    @classmethod
    def of(cls, compiled: CompiledRulebase) -> _Graph:
        g = compiled.cache.get("questionnaire_graph")
        if g is not None:
            return g
        rb = compiled.rulebase
        evidencers: dict[str, list[str]] = {t: [] for t in rb.typologies}
        setters: dict[str, list[str]] = {}
        tests, typs, derived, strength, phrases, defeat = {}, {}, {}, {}, {}, {}
        operands: dict[str, list[Any]] = {}
        for r in rb.rules:
            for e in r.then:
                if isinstance(e, Evidence) and r.id not in evidencers[e.typology]:
                    evidencers[e.typology].append(r.id)
                elif isinstance(e, SetFact):
                    setters.setdefault(e.fact, []).append(r.id)
        for r in rb.rules:
            refs: list[str] = []
            for c in walk(r.when):
                fid = c.fact if isinstance(c, FactTest) else RESERVED_UTTERANCES if isinstance(c, PhraseTest) else None
                if fid in rb.facts and fid not in refs:
                    refs.append(fid)
                if isinstance(c, FactTest) and c.op not in ("known", "answered"):
                    ops = operands.setdefault(c.fact, [])
                    for v in (c.operand if isinstance(c.operand, (list, tuple)) else [c.operand]):
                        if v not in ops:
                            ops.append(v)
            tests[r.id] = refs
            typs[r.id] = list(dict.fromkeys(c.typology for c in walk(r.when) if isinstance(c, ConclusionTest)))
            derived[r.id] = list(dict.fromkeys(c.fact for c in walk(r.when)
                                               if isinstance(c, FactTest) and c.fact in setters))
            weights = [abs(e.weight) for e in r.then if isinstance(e, Evidence)]
            strength[r.id] = max(weights) if weights else 0.5 if any(isinstance(e, SetFact) for e in r.then) else 0.0
            phrases[r.id] = [c for c in walk(r.when) if isinstance(c, PhraseTest)]
            absent = _by_absence(r.when)
            # A fired rule is not final when it holds by an absence, or rests on a conclusion or
            # a derived fact: those can still change (and a conclusion's confidence scales its weight).
            defeat[r.id] = ([f for f in refs if f in absent], list(typs[r.id]), list(derived[r.id]))
        g = cls({r.id: r for r in rb.rules}, evidencers, setters, tests, typs, derived, defeat, strength, phrases,
                operands, {f: i for i, f in enumerate(rb.facts)})
        compiled.cache["questionnaire_graph"] = g
        return g

    def cone(self, fact: str) -> frozenset:
        """Every typology and derived fact an answer to `fact` can influence, however indirectly."""
        cone = self.cones.get(fact)
        if cone is not None:
            return cone
        if not self.testers:
            for rid in self.rules:
                for f in self.tests[rid]:
                    self.testers.setdefault(("f", f), []).append(rid)
                for t in self.typologies[rid]:
                    self.testers.setdefault(("t", t), []).append(rid)
        nodes: set[tuple[str, str]] = set()
        queue = [("f", fact)]
        while queue:
            for rid in self.testers.get(queue.pop(), []):
                for e in self.rules[rid].then:
                    node = ("t", e.typology) if isinstance(e, Evidence) else ("f", e.fact) if isinstance(e, SetFact) \
                        else None
                    if node is not None and node not in nodes:
                        nodes.add(node)
                        queue.append(node)
        self.cones[fact] = cone = frozenset(nodes)
        return cone

    def closure(self, goal: str, fired: set[str], live: dict[str, set[str]]) -> _Closure:
        """Rules a goal still depends on, and the typologies and derived facts in between.

        Unfired rules count with everything they test. A fired rule counts once and
        for good, unless it holds by the absence of something (`not:`) or rests on a
        conclusion or derived fact: then what could undo it still matters. Of the rules
        giving evidence to a typology only the `live` ones count: those that can still
        change its value or its confidence.
        """
        cl = _Closure(goal)
        cl.typologies[goal] = 1.0
        queue: list[tuple[str, str]] = [("t", goal)]
        while queue:
            node = queue.pop(0)
            kind, name = node
            for rid in (live.get(name, ()) if kind == "t" else self.setters.get(name, [])):
                if rid in cl.rule_node:
                    continue
                if rid in fired:
                    facts, typs, dfacts = self.defeat[rid]
                    if not (facts or typs or dfacts):
                        continue
                    cl.tests[rid] = facts
                else:
                    typs, dfacts = self.typologies[rid], self.derived[rid]
                    cl.tests[rid] = self.tests[rid]
                cl.rule_node[rid] = node
                cl.rules.append(rid)
                # how strongly this rule can reach the goal: its own weight times the links above it
                factor = cl.typologies[name] if kind == "t" else cl.facts[name]
                weights = [abs(e.weight) for e in self.rules[rid].then
                           if isinstance(e, Evidence) and e.typology == name] if kind == "t" else [1.0]
                cl.reach[rid] = factor * max(weights, default=0.0)
                for t in typs:
                    if t not in cl.typologies:
                        cl.typologies[t] = cl.reach[rid]
                        cl.node_parent[("t", t)] = rid
                        queue.append(("t", t))
                for f in dfacts:
                    if f not in cl.facts:
                        cl.facts[f] = cl.reach[rid]
                        cl.node_parent[("f", f)] = rid
                        queue.append(("f", f))
        return cl


@dataclass
class _Closure:
    goal: str
    rules: list[str] = field(default_factory=list)
    typologies: dict[str, float] = field(default_factory=dict)  # typology -> reach (the goal: 1)
    facts: dict[str, float] = field(default_factory=dict)  # derived facts on the way -> reach
    reach: dict[str, float] = field(default_factory=dict)  # rule -> its weight times the links to the goal
    tests: dict[str, list[str]] = field(default_factory=dict)  # rule -> the facts of it that still matter
    rule_node: dict[str, tuple[str, str]] = field(default_factory=dict)  # rule -> what it produces for the goal
    node_parent: dict[tuple[str, str], str] = field(default_factory=dict)  # node -> the rule that tests it

    def path(self, rid: str) -> list[tuple[str, str]]:
        """The nodes from a rule's product up to the goal."""
        out: list[tuple[str, str]] = []
        node = self.rule_node.get(rid)
        while node is not None and node not in out:
            out.append(node)
            if node == ("t", self.goal):
                break
            parent = self.node_parent.get(node)
            node = self.rule_node.get(parent) if parent else None
        return out


# --- what the questionnaire hands out ---------------------------------------------------

@dataclass
class Outcome:
    """One hypothetical answer and what inference made of it."""

    value: Any
    result: Result
    gains: dict[str, float]  # goal -> change in how settled it is
    movement: float  # how much the evidence the goals depend on moved
    lift: dict[str, float] = field(default_factory=dict)  # goal -> rise of its best-rising class


@dataclass
class Question:
    fact: FactDef
    goals: list[str]  # goals the answer can still change
    rules: list[Rule]  # unfired rules it feeds, strongest first
    paths: dict[str, list[tuple[str, str]]]  # rule -> typologies / derived facts on the way to a goal
    outcomes: list[Outcome]  # simulated answers (empty if not simulated)
    score: float
    remaining: int  # about how many questions are left, this one included
    previous: Any = None  # the answer before `back`, if any


@dataclass
class Status:
    settled: list[str]  # goals concluded with enough confidence
    unsettled: list[str]
    reason: str  # "confident" (every goal settled) | "exhausted" (nothing relevant left) | "asking"


@dataclass
class _Cand:
    fact: str
    goals: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    prior: float = 0.0
    values: list[Any] | None = None
    null_outcome: bool = False  # free text: "nothing that matters was said" is one of the outcomes
    outcomes: list[Outcome] = field(default_factory=list)
    gains: dict[str, float] = field(default_factory=dict)
    lift: dict[str, float] = field(default_factory=dict)  # goal -> mean rise of its best-rising class
    tests: dict[str, list[str]] = field(default_factory=dict)  # rule -> its facts that still matter
    score: float = 0.0
    effect: bool | None = None  # None: not simulated (or nothing to simulate)


# --- the interview ------------------------------------------------------------------------

class Questionnaire:
    """One interview: answers so far, and the next question worth asking.

    `given` holds every answer known (the rep's, a resumed session's, a script's),
    fact id -> catalogue value or SKIP, in the order they came. Only those in
    `history` are in effect: an answer from a file is used when its question
    becomes relevant, so answers to questions that never matter stay unused.
    """

    def __init__(self, compiled: CompiledRulebase, goals: list[str] | None = None, *,
                 confident: float = DEFAULT_CONFIDENT, budget: float = SIMULATION_BUDGET,
                 scripted: bool = False, name: str = "") -> None:
        self.compiled = compiled
        self.rb = compiled.rulebase
        self.goals = resolve_goals(self.rb, goals)
        self.confident = confident
        self.budget = budget
        self.scripted = scripted
        self.name = name
        self.graph = _Graph.of(compiled)
        self.given: dict[str, Any] = {}
        self.history: list[str] = []
        self.unavailable: set[str] = set()  # scripted: relevant, but the script has no answer
        self.auto: list[str] = []  # answers taken from `given` without asking
        self.previous: dict[str, Any] = {}  # answers taken back
        self.simulations = 0  # hypothetical inferences run (for benchmarks)
        self._cache: OrderedDict[tuple, Result] = OrderedDict()
        # fact -> (answers when simulated, values, outcomes): reused while nothing that changed since
        # can influence what this fact influences (typologies are mostly independent of each other)
        self._memo: dict[str, tuple[dict, list[Any], list[Outcome]]] = {}
        self._joint: dict[str, tuple[dict, bool]] = {}  # fact -> (answers when checked, matters jointly)
        self._joint_left = 0
        self._status = Status([], list(self.goals), "asking")

    # -- state ----------------------------------------------------------------------------
    def profile(self) -> Profile:
        """The answers in effect, as a profile (the same thing `zhike classify` reads)."""
        used = set(self.history)
        facts: dict[str, Any] = {}
        utterances: list[str] = []
        for f, v in self.given.items():
            if f not in used or v is SKIP:
                continue
            if f == RESERVED_UTTERANCES:
                utterances = list(v)
            else:
                facts[f] = v
        return Profile(facts, utterances, self.name)

    def result(self) -> Result:
        return self._infer(self.profile())

    @property
    def answered(self) -> list[str]:
        return [f for f in self.history if self.given.get(f) is not SKIP]

    @property
    def skipped(self) -> list[str]:
        return [f for f, v in self.given.items() if v is SKIP]

    def preload(self, answers: dict[str, Any]) -> None:
        """Answers to use when their question comes up (a script, or a resumed session)."""
        for f, v in answers.items():
            if f not in self.history:
                self.given[f] = v

    def answer(self, fact_id: str, raw: Any) -> Any:
        """Record an answer (coerced like a profile value); None or "unknown" is a skip. Raises ValueProblem."""
        f = self._fact(fact_id)
        value = coerce_value(f, raw)
        if value is None:
            self.skip(fact_id)
            return None
        self._record(fact_id, value)
        return value

    def skip(self, fact_id: str) -> None:
        """A real "don't know": not asked again, not asserted."""
        self._fact(fact_id)
        self._record(fact_id, SKIP)

    def back(self) -> str | None:
        """Take back the last answer or skip; the caller asks that fact again. None if there is none."""
        if not self.history:
            return None
        f = self.history.pop()
        old = self.given.pop(f, None)
        if old is not None:
            self.previous[f] = old
        if f in self.auto:
            self.auto.remove(f)
        return f

    def status(self) -> Status:
        return self._status

    # -- the next question ------------------------------------------------------------------
    def next_question(self) -> Question | None:
        """The most useful relevant question, or None when done (see status()).

        Answers already given (a script, a resumed session) are used as their
        questions come up; in scripted mode a relevant question without an
        answer is passed over.
        """
        while True:
            q = self._choose()
            if q is None:
                return None
            f = q.fact.id
            if f in self.given:
                self.history.append(f)
                self.auto.append(f)
                continue
            if self.scripted:
                self.unavailable.add(f)
                continue
            return q

    def question(self, fact_id: str) -> Question:
        """The question for one fact, e.g. to ask it again after `back`."""
        f = self._fact(fact_id)
        base = self.result()
        unsettled = [g for g in self.goals if not self.settled(base, g)]
        cands, closures = self._candidates(base, unsettled)
        cand = cands.get(fact_id) or _Cand(fact_id)
        typs, dfacts = _union(closures)
        self._simulate(cand, base, unsettled, typs, dfacts)
        return self._question(cand, f, cands, closures, base, unsettled)

    def settled(self, result: Result, goal: str) -> bool:
        c = result.conclusions[goal]
        return c.value is not None and c.confidence >= self._target(goal) - _EPS

    def settledness(self, result: Result, goal: str) -> float:
        """0 (no conclusion) .. 1 (concluded with enough confidence)."""
        c = result.conclusions[goal]
        if c.value is None:
            return 0.0
        t = self._target(goal)
        return min(c.confidence, t) / t

    def _target(self, goal: str) -> float:
        return max(self.confident, self.rb.typologies[goal].threshold)

    # -- internals --------------------------------------------------------------------------------
    def _fact(self, fact_id: str) -> FactDef:
        f = self.rb.facts.get(fact_id)
        if f is None:
            raise InputError(f"unknown fact {fact_id!r}{did_you_mean(fact_id, self.rb.facts)}")
        return f

    def _record(self, fact_id: str, value: Any) -> None:
        self.given.pop(fact_id, None)  # an answer moves to the end: the profile keeps answer order
        self.given[fact_id] = value
        if fact_id in self.history:
            self.history.remove(fact_id)
        self.history.append(fact_id)
        self.unavailable.discard(fact_id)
        self.previous.pop(fact_id, None)

    def _infer(self, profile: Profile, full: bool = True) -> Result:
        # Fact order is part of the key: it decides firing order, which the report shows.
        # Look-ahead runs (full=False) skip the missing-facts analysis, about a quarter of a run.
        key = (tuple((f, tuple(v) if isinstance(v, list) else v) for f, v in profile.facts.items()),
               tuple(profile.utterances), full)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        result = infer(self.compiled, profile, missing=full)
        self._cache[key] = result
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _blocked(self, base: Result) -> set[str]:
        """Facts never to propose: answered, skipped, or passed over. A fact a rule derived is still
        proposed when the rep's own answer could change something (rules may let it win over a cue)."""
        return set(self.history) | self.unavailable

    def _candidates(self, base: Result, unsettled: list[str]) -> tuple[dict[str, _Cand], list[_Closure]]:
        g = self.graph
        fired = set(base.fired)
        blocked = self._blocked(base)
        cands: dict[str, _Cand] = {}
        frozen = self._frozen()
        live = self._live(base, fired, frozen)
        closures = [g.closure(goal, fired | frozen, live) for goal in unsettled]
        tests: dict[str, list[str]] = {}
        for cl in closures:
            tests.update(cl.tests)
        for cl in closures:
            for rid in cl.rules:
                for f in cl.tests[rid]:
                    if f in blocked:
                        continue
                    c = cands.setdefault(f, _Cand(f))
                    if cl.goal not in c.goals:
                        c.goals.append(cl.goal)
                    if rid not in c.rules:
                        c.rules.append(rid)
        for c in cands.values():
            c.values, c.null_outcome = self._values(c)
            prior = 0.0
            for rid in c.rules:
                others = sum(1 for f in tests[rid] if f != c.fact and f not in blocked)
                prior += sum(cl.reach.get(rid, 0.0) for cl in closures) / (1 + others)
            c.prior = prior / max(1, len(c.values) + c.null_outcome)
            c.rules.sort(key=lambda rid: (-max(cl.reach.get(rid, 0.0) for cl in closures), rid))
            c.tests = {rid: tests[rid] for rid in c.rules}
        return cands, closures

    def _frozen(self) -> set[str]:
        """Rules whose every input is settled: facts answered or skipped (whose deriving rules,
        if any, are settled too) and conclusions of typologies whose rules are all settled.
        Whatever such a rule did or did not do, it will do again; this is dependency analysis,
        not evaluation."""
        g = self.graph
        done = set(self.history) | self.unavailable
        memo: dict[tuple[str, str], bool] = {}

        def node(kind: str, name: str) -> bool:
            key = (kind, name)
            if key not in memo:
                memo[key] = False  # stratified rulebases have no cycles; this only guards the recursion
                if kind == "r":
                    memo[key] = (all(node("f", f) for f in g.tests[name])
                                 and all(node("t", t) for t in g.typologies[name]))
                elif kind == "t":
                    memo[key] = all(node("r", r) for r in g.evidencers.get(name, []))
                else:
                    memo[key] = name in done and all(node("r", r) for r in g.setters.get(name, []))
            return memo[key]

        return {rid for rid in g.rules if node("r", rid)}

    def _live(self, base: Result, fired: set[str], frozen: set[str]) -> dict[str, set[str]]:
        """Per typology, the rules that can still change its value or its leading class's confidence.

        Bounds from the weights alone (MYCIN combination is monotone): a class's highest
        reachable CF adds every positive weight still to come and drops what could be
        undone; its lowest does the opposite. A rule matters if it touches the leading
        class, or a class that could reach the leader's lowest CF (or, with no
        conclusion yet, the threshold). Weights of rules resting on conclusions are
        scaled by a confidence <= 1, so their full weight is a safe bound.
        """
        g = self.graph
        out: dict[str, set[str]] = {}
        for tid, typ in self.rb.typologies.items():
            c = base.conclusions[tid]
            undoable = {b.rule.id for b in c.because if any(g.defeat[b.rule.id]) and b.rule.id not in frozen}
            now: dict[str, list[float]] = {}  # class -> signed weights that will stay
            for b in c.because:
                if b.rule.id not in undoable:
                    now.setdefault(b.cls, []).append(b.weight)
            movers: dict[str, list[tuple[str, float]]] = {}  # rule -> (class, full weight) it may add or undo
            for rid in g.evidencers[tid]:
                if (rid not in fired and rid not in frozen) or rid in undoable:
                    movers[rid] = [(e.cls, e.weight) for e in g.rules[rid].then
                                   if isinstance(e, Evidence) and e.typology == tid]
            up: dict[str, list[float]] = {}
            down: dict[str, list[float]] = {}
            for effects in movers.values():
                for cls, w in effects:
                    (up if w > 0 else down).setdefault(cls, []).append(w)
            bar = typ.threshold if c.value is None else combine(now.get(c.value, []) + down.get(c.value, []))
            out[tid] = {rid for rid, effects in movers.items()
                        if any(cls == c.value or combine(now.get(cls, []) + up.get(cls, [])) >= bar - _EPS
                               for cls, _ in effects)}
        return out

    def _values(self, c: _Cand) -> tuple[list[Any], bool]:
        """Hypothetical answers to try, and whether "nothing relevant" is an outcome too."""
        f = self.rb.facts[c.fact]
        if f.type == "enum":
            return list(f.values), False
        if f.type == "bool":
            return [True, False], False
        if f.type == "list" and f.values:
            return [[v] for v in f.values], False
        if f.type == "number":
            return _number_samples(f, [v for v in self.graph.operands.get(c.fact, [])
                                       if isinstance(v, (int, float)) and not isinstance(v, bool)]), False
        # free text: what rules look for, strongest rules first
        samples: list[Any] = []
        for rid in sorted(c.rules, key=lambda r: -self.graph.strength[r]):
            if c.fact == RESERVED_UTTERANCES:
                for p in self.graph.phrases[rid]:
                    if p.keywords and [p.keywords[0]] not in samples:
                        samples.append([p.keywords[0]])
        for v in self.graph.operands.get(c.fact, []):
            if isinstance(v, str):
                s = [v] if f.type == "list" else v
                if s not in samples:
                    samples.append(s)
        return samples[:MAX_SAMPLES], True

    def _with(self, profile: Profile, fact: str, value: Any) -> Profile:
        if fact == RESERVED_UTTERANCES:
            return Profile(dict(profile.facts), profile.utterances + list(value), profile.name)
        facts = dict(profile.facts)
        facts[fact] = value
        return Profile(facts, list(profile.utterances), profile.name)

    def _simulate(self, c: _Cand, base: Result, unsettled: list[str], typs: dict[str, float], dfacts: dict[str, float]) -> float:
        """Run every hypothetical answer of a candidate (or reuse them); returns the cost of what was run."""
        if c.effect is not None or not c.values:
            return 0.0
        spent = 0.0
        state = _snapshot(base.profile)
        old = self._memo.get(c.fact)
        if old is not None and self._reusable(c, old, state, unsettled):
            c.outcomes = old[2]
        else:
            cost = 1 + (len(base.profile.facts) + 1 + bool(base.profile.utterances)) / 8
            for v in c.values:
                r = self._infer(self._with(base.profile, c.fact, v), full=False)
                self.simulations += 1
                spent += cost
                gains = {goal: self.settledness(r, goal) - self.settledness(base, goal) for goal in unsettled}
                c.outcomes.append(Outcome(v, r, gains, _movement(base, r, typs, dfacts),
                                          {goal: _lift(base, r, goal) for goal in unsettled}))
            self._memo[c.fact] = (state, c.values, c.outcomes)
        n = len(c.outcomes) + c.null_outcome
        c.gains = {goal: sum(o.gains[goal] for o in c.outcomes) / n for goal in unsettled}
        c.lift = {goal: sum(o.lift[goal] for o in c.outcomes) / n for goal in unsettled}
        move = sum(o.movement for o in c.outcomes) / n
        c.effect = any(o.movement > _EPS or any(abs(o.gains[g]) > _EPS for g in unsettled) for o in c.outcomes)
        c.score = sum(c.gains.values()) + _BETA * move + _GAMMA * c.prior
        return spent

    def _reusable(self, c: _Cand, old: tuple[dict, list[Any], list[Outcome]], state: dict[str, Any],
                  unsettled: list[str]) -> bool:
        """Whether outcomes simulated in an earlier state still hold: nothing that changed since can reach
        any typology or derived fact this fact can reach, so its effect on them is the same."""
        then, values, outcomes = old
        if values != c.values or not outcomes or any(g not in outcomes[0].gains for g in unsettled):
            return False
        changed = {k for k in then.keys() | state.keys() if then.get(k) != state.get(k)}
        cone = self.graph.cone(c.fact)
        return c.fact not in changed and not any(cone & self.graph.cone(f) for f in changed)

    def _matters_jointly(self, c: _Cand, base: Result, typs: dict[str, float], dfacts: dict[str, float], blocked: set[str]) -> bool:
        """Whether answering this fact together with the other unknown facts of one of its rules changes anything."""
        state = _snapshot(base.profile)
        old = self._joint.get(c.fact)
        if old is not None:
            changed = {k for k in old[0].keys() | state.keys() if old[0].get(k) != state.get(k)}
            cone = self.graph.cone(c.fact)
            if c.fact not in changed and not any(cone & self.graph.cone(f) for f in changed):
                return old[1]
        found = self._try_jointly(c, base, typs, dfacts, blocked)
        if found is not None:
            self._joint[c.fact] = (state, found)
        return bool(found)

    def _try_jointly(self, c: _Cand, base: Result, typs: dict[str, float], dfacts: dict[str, float],
                     blocked: set[str]) -> bool | None:
        """True / False, or None when this question's budget ran out before an answer."""
        for rid in c.rules:
            others = [f for f in c.tests.get(rid, []) if f != c.fact and f not in blocked]
            if not others:
                continue
            pools = [c.values or []] + [self._values(_Cand(f, rules=[rid]))[0] for f in others]
            if not all(pools):
                continue
            facts = [c.fact, *others]
            for combo in itertools.islice(itertools.product(*pools), MAX_COMBINATIONS):
                if self._joint_left <= 0:
                    return None
                self._joint_left -= 1
                p = base.profile
                for f, v in zip(facts, combo, strict=True):
                    p = self._with(p, f, v)
                self.simulations += 1
                if _movement(base, self._infer(p, full=False), typs, dfacts) > _EPS:
                    return True
        return False

    def _choose(self) -> Question | None:
        base = self.result()
        unsettled = [g for g in self.goals if not self.settled(base, g)]
        settled = [g for g in self.goals if g not in unsettled]
        if not unsettled:
            self._status = Status(settled, [], "confident")
            return None
        cands, closures = self._candidates(base, unsettled)
        typs, dfacts = _union(closures)
        order = sorted(cands.values(), key=lambda c: (-c.prior, self.graph.order[c.fact]))
        spent = 0.0
        self._joint_left = JOINT_BUDGET
        for c in order:
            if spent >= self.budget and any(x.effect for x in order):
                break
            spent += self._simulate(c, base, unsettled, typs, dfacts)
        best = max((c for c in order if c.effect), default=None,
                   key=lambda c: (c.score, -self.graph.order[c.fact]))
        if best is None:
            # Nothing changes anything on its own: free text we could not sample, or facts that
            # only matter together with others (a rule needs both). Most promising first.
            blocked = self._blocked(base)
            for c in order:
                if c.effect is None and not c.values:
                    best = c
                    break
                if self._matters_jointly(c, base, typs, dfacts, blocked):
                    best = c
                    break
        if best is None:
            self._status = Status(settled, unsettled, "exhausted")
            return None
        self._status = Status(settled, unsettled, "asking")
        return self._question(best, self.rb.facts[best.fact], cands, closures, base, unsettled)

    def _question(self, best: _Cand, f: FactDef, cands: dict[str, _Cand], closures: list[_Closure],
                  base: Result, unsettled: list[str]) -> Question:
        relevant = [c for c in cands.values() if c.effect is not False]
        remaining = 0
        for goal in unsettled:
            mine = [c for c in relevant if goal in c.goals]
            if mine:
                lift = max((c.lift.get(goal, 0.0) for c in mine), default=0.0)
                remaining += min(len(mine), _steps(base.conclusions[goal], lift, self._target(goal)))
        remaining = max(1, min(remaining, len(relevant)))
        paths: dict[str, list[tuple[str, str]]] = {}
        for rid in best.rules:
            for cl in closures:
                if rid in cl.rule_node:
                    paths[rid] = cl.path(rid)
                    break
        goal_order = {g: i for i, g in enumerate(self.goals)}
        return Question(f, sorted(best.goals, key=goal_order.get), [self.graph.rules[r] for r in best.rules],
                        paths, best.outcomes, best.score, remaining, self.previous.get(f.id))


def _snapshot(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {f: tuple(v) if isinstance(v, list) else v for f, v in profile.facts.items()}
    if profile.utterances:
        out[RESERVED_UTTERANCES] = tuple(profile.utterances)
    return out


def _by_absence(cond, negated: bool = False) -> set:
    """Facts (ids) and typologies (("t", id)) a condition tests by their absence."""
    if isinstance(cond, Not):
        return _by_absence(cond.item, not negated)
    if isinstance(cond, (All, Any_)):
        out: set = set()
        for c in cond.items:
            out |= _by_absence(c, negated)
        return out
    absent = getattr(cond, "op", None) in ("known", "answered") and cond.operand is False
    if negated == absent:
        return set()
    if isinstance(cond, FactTest):
        return {cond.fact}
    if isinstance(cond, PhraseTest):
        return {RESERVED_UTTERANCES}
    if isinstance(cond, ConclusionTest):
        return {("t", cond.typology)}
    return set()


def _union(closures: list[_Closure]) -> tuple[dict[str, float], dict[str, float]]:
    """Typologies and derived facts the goals depend on, each with its strongest reach."""
    typs: dict[str, float] = {}
    facts: dict[str, float] = {}
    for cl in closures:
        for t, r in cl.typologies.items():
            typs[t] = max(r, typs.get(t, 0.0))
        for f, r in cl.facts.items():
            facts[f] = max(r, facts.get(f, 0.0))
    return typs, facts


def _movement(a: Result, b: Result, typs: dict[str, float], dfacts: dict[str, float]) -> float:
    """How much the conclusions and derived facts the goals depend on differ between two results,
    each weighed by how strongly it reaches a goal (a goal itself: 1)."""
    m = 0.0
    for t, reach in typs.items():
        ca, cb = a.conclusions[t], b.conclusions[t]
        sa, sb = dict(ca.scores), dict(cb.scores)
        d = sum(abs(sa.get(k, 0.0) - sb.get(k, 0.0)) for k in sa.keys() | sb.keys())
        if ca.value != cb.value:
            d += 1.0
        m += reach * d
    da = {(d.fact, repr(d.value)) for d in a.derived if d.fact in dfacts}
    db = {(d.fact, repr(d.value)) for d in b.derived if d.fact in dfacts}
    return m + 0.5 * sum(dfacts[f] for f, _ in da ^ db)


def _lift(base: Result, after: Result, goal: str) -> float:
    sa, sb = dict(base.conclusions[goal].scores), dict(after.conclusions[goal].scores)
    return max([sb[k] - sa.get(k, 0.0) for k in sb] + [0.0])


def _steps(c, lift: float, target: float) -> int:
    """Answers of about `lift` each that take the leading class to `target`, combined as certainty factors."""
    if lift < 0.05:
        return 99  # no estimate: capped by the number of candidates
    conf = max(0.0, c.scores[0][1]) if c.scores else 0.0
    n = 0
    while conf < target - _EPS and n < 99:
        conf += lift * (1 - conf)
        n += 1
    return max(1, n)


def _number_samples(f: FactDef, cuts: list[float]) -> list[float]:
    """One number in each range the rules' comparisons cut the scale into, and the cut points."""
    cuts = sorted({float(x) for x in cuts})
    if not cuts:
        return []
    points = [cuts[0] - max(1.0, abs(cuts[0]) * 0.1), *cuts, cuts[-1] + max(1.0, abs(cuts[-1]) * 0.1)]
    points += [(a + b) / 2 for a, b in itertools.pairwise(cuts)]
    lo = -math.inf if f.min is None else f.min
    hi = math.inf if f.max is None else f.max
    return sorted({min(max(p, lo), hi) for p in points})[:MAX_SAMPLES]


def resolve_goals(rb: Rulebase, goals: list[str] | None) -> list[str]:
    """Typology ids to settle, in rulebase order; all when none given. Raises InputError for an unknown one."""
    if not goals:
        return list(rb.typologies)
    wanted: list[str] = []
    for g in goals:
        for part in str(g).replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if part not in rb.typologies:
                raise InputError(f"unknown goal {part!r}{did_you_mean(part, rb.typologies)}; "
                                 f"goals are typologies: {', '.join(rb.typologies)}")
            if part not in wanted:
                wanted.append(part)
    return [t for t in rb.typologies if t in wanted] or list(rb.typologies)


# --- text for the rep (no I/O) --------------------------------------------------------------

_TEXT = {
    "zh": {
        "why_goals": "问这个,是因为它还能改变:", "feeds": "它用于这些规则:", "if": "如果回答",
        "then_for": "支持", "against": "反对", "sets": "推出", "via": "经由", "no_change": "目前结论不变",
        "undecided": "未定", "how_none": "还没有任何结论:还没有规则触发。", "derived": "推出的事实",
        "sep": ":", "more": "还有 {n} 条规则", "settled": "✓",
    },
    "en": {
        "why_goals": "Asked because it can still change:", "feeds": "It feeds these rules:", "if": "If the answer is",
        "then_for": "for", "against": "against", "sets": "sets", "via": "via", "no_change": "no change so far",
        "undecided": "undecided", "how_none": "No conclusions yet: no rule has fired.", "derived": "Derived facts",
        "sep": ": ", "more": "{n} more rules", "settled": "✓",
    },
}


def _node_label(rb, node: tuple[str, str], lang: str) -> str:
    kind, name = node
    if kind == "t":
        return rb.typologies[name].label.get(lang)
    return rb.facts[name].label.get(lang) if name in rb.facts else name


def _effects(rb, rule: Rule, lang: str) -> str:
    w = _TEXT[lang]
    parts = []
    for e in rule.then:
        if isinstance(e, Evidence):
            word = w["then_for"] if e.weight > 0 else w["against"]
            parts.append(f"{word} {class_label(rb, e.typology, e.cls, lang)} {abs(e.weight):.2f}")
        elif isinstance(e, SetFact):
            parts.append(f"{w['sets']} {rb.facts[e.fact].label.get(lang)} = {value_label(rb, e.fact, e.value, lang)}")
    return ", ".join(parts) if lang == "en" else ",".join(parts)


def conclusion_line(q: Questionnaire, result: Result, goal: str, lang: str) -> str:
    """`Social style (TOPK): Tiger 93% ✓` or `... undecided (Tiger 30% / Peacock 30%)`."""
    rb = q.rb
    w = _TEXT[lang]
    c = result.conclusions[goal]
    label = rb.typologies[goal].label.get(lang)
    if c.value is not None:
        mark = f" {w['settled']}" if q.settled(result, goal) else ""
        return f"{label}{w['sep']}{class_label(rb, goal, c.value, lang)} {c.confidence:.0%}{mark}"
    lead = " / ".join(f"{class_label(rb, goal, k, lang)} {s:.0%}" for k, s in c.scores[:3] if s > 0)
    return f"{label}{w['sep']}{w['undecided']}" + (f" ({lead})" if lead else "")


def why_text(q: Questionnaire, question: Question, lang: str, limit: int = 6) -> str:
    """Why this question is asked: the goals it can change, the rules it feeds, what each answer would do."""
    rb = q.rb
    w = _TEXT[lang]
    lines = [w["why_goals"]]
    lines += [f"  · {rb.typologies[g].label.get(lang)}" for g in question.goals]
    lines.append(w["feeds"])
    for rule in question.rules[:limit]:
        path = question.paths.get(rule.id, [])
        via = ""
        if len(path) > 1 or (path and path[0][0] == "f"):
            via = f"  ({w['via']} {' → '.join(_node_label(rb, n, lang) for n in path)})"
        lines.append(f"  · {rule.id}: {describe(rule.when, rb, lang)}")
        lines.append(f"      → {_effects(rb, rule, lang)}{via}")
        lines.append(f"      {rule.rationale.get(lang)}")
    if len(question.rules) > limit:
        lines.append("  · " + w["more"].format(n=len(question.rules) - limit))
    if question.outcomes:
        base = q.result()
        lines.append("")
        for o in question.outcomes[:8]:
            shown = [conclusion_line(q, o.result, g, lang) for g in question.goals
                     if _concl_key(o.result, g) != _concl_key(base, g)]
            answer = (", ".join(o.value) if isinstance(o.value, list) and question.fact.id == RESERVED_UTTERANCES
                      else value_label(rb, question.fact.id, o.value, lang))
            lines.append(f"  {w['if']} “{answer}” → {'; '.join(shown) if shown else w['no_change']}")
    return "\n".join(lines)


def _concl_key(result: Result, goal: str) -> tuple:
    c = result.conclusions[goal]
    return (c.value, c.confidence, tuple(c.scores))


def how_text(q: Questionnaire, result: Result, lang: str) -> str:
    """How the current conclusions were reached: every fired rule with its facts and rationale."""
    from ..report.render import to_json

    w = _TEXT[lang]
    data = to_json(result, lang)
    lines: list[str] = []
    for tid, c in data["conclusions"].items():
        if not c["because"] and tid not in q.goals:
            continue
        lines.append(conclusion_line(q, result, tid, lang))
        for b in c["because"]:
            lines.append(f"    {b['weight']:+.2f} {b['class_label']} ← {b['rule']}: {b['when']}")
            for fact in b["facts"]:
                lines.append(f"          · {fact['text']}")
            lines.append(f"          {b['rationale']}")
    if data["derived"]:
        lines.append(w["derived"] + w["sep"].rstrip())
        for d in data["derived"]:
            lines.append(f"    {d['text']} ← {d['rule']}: {d['rationale']}")
    if not any(c["because"] for c in data["conclusions"].values()):
        lines.insert(0, w["how_none"])
    return "\n".join(lines)
