"""Candidate ranking: which relevant question is worth asking next, by look-ahead.

The candidates are the facts the rules a goal still depends on test (the relevance
graph, engine/interview/graph.py), not yet answered or skipped, including facts a rule
derived when the rep's own answer could still override the cue. Cut from that graph are:
- rules that fired and are final: a rule counts once, so its premises no
  longer matter. A fired rule that holds by an absence (`not:`) or rests on a
  conclusion or derived fact is not final: what could undo it stays.
- rules whose inputs are all settled (answered or skipped facts, conclusions
  of typologies whose rules are all settled): they will never fire now;
- rules that cannot change their typology's value or its leading class's
  confidence, by bounds on the certainty factors still reachable.

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
(never below its typology's threshold).
"""
from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from typing import Any

from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result, infer
from ..reasoning.profile import Profile
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef
from .agenda import opening
from .candidates import Candidate, Outcome, Question, Status
from .graph import GoalClosure, RelevanceGraph, frozen_rules, live_rules, union_of
from .memo import dump_memo, load_memo, slim

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
# The topic of the last question is kept while one of its questions scores at least this share
# of the best question's score: questions on one subject come together, but a much better
# question elsewhere still wins (the ranking decides the topic).
STAY_IN_TOPIC = 0.25
_EPS = 1e-9


class Ranker:
    """The look-ahead: candidates for the next question, each scored by simulating its answers.

    Holds what is worth keeping between answers: the inference cache, and the simulated
    outcomes of each candidate (reused while nothing that changed can reach them).
    """

    def __init__(self, compiled: CompiledRulebase, goals: list[str], *, confident: float, budget: float) -> None:
        self.compiled = compiled
        self.rb = compiled.rulebase
        self.goals = goals
        self.confident = confident
        self.budget = budget
        self.graph = RelevanceGraph.of(compiled)
        self.simulations = 0  # hypothetical inferences run (for benchmarks)
        self._cache: OrderedDict[tuple, Result] = OrderedDict()
        # fact -> (answers when simulated, values, outcomes): reused while nothing that changed since
        # can influence what this fact influences (typologies are mostly independent of each other)
        self._memo: dict[str, tuple[dict, list[Any], list[Outcome]]] = {}
        self._joint: dict[str, tuple[dict, bool]] = {}  # fact -> (answers when checked, matters jointly)
        self._joint_left = 0

    def memo_dump(self) -> bytes:
        """The look-ahead's memo as bytes, for another process to go on from (engine/interview/memo.py)."""
        return dump_memo(self.goals, self._memo, self._joint)

    def memo_load(self, blob: bytes | None) -> bool:
        """Take up a memo `memo_dump` wrote for this rulebase and these goals (the caller checks the rulebase's
        sha256); False, keeping nothing, for anything unreadable."""
        loaded = load_memo(self.rb, blob)
        if loaded is None:
            return False
        self._memo, self._joint = loaded
        return True

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


    def infer(self, profile: Profile, full: bool = True, advice: bool = True) -> Result:
        # Fact order is part of the key: it decides firing order, which the report shows.
        # Look-ahead runs (full=False) skip the missing-facts analysis, about a quarter of a run;
        # those that only compare conclusions (advice=False) also skip the strategies' rulesets.
        key = (tuple((f, tuple(v) if isinstance(v, list) else v) for f, v in profile.facts.items()),
               tuple(profile.utterances), full, advice)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        result = infer(self.compiled, profile, missing=full, advice=advice)
        self._cache[key] = result
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result


    def _candidates(self, base: Result, unsettled: list[str], done: set[str]) -> tuple[dict[str, Candidate], list[GoalClosure]]:
        g = self.graph
        fired = set(base.fired)
        blocked = done
        cands: dict[str, Candidate] = {}
        frozen = frozen_rules(g, done)
        live = live_rules(g, self.rb, base, fired, frozen)
        closures = [g.closure(goal, fired | frozen, live) for goal in unsettled]
        tests: dict[str, list[str]] = {}
        for cl in closures:
            tests.update(cl.tests)
        for cl in closures:
            for rid in cl.rules:
                for f in cl.tests[rid]:
                    if f in blocked:
                        continue
                    c = cands.setdefault(f, Candidate(f))
                    if cl.goal not in c.goals:
                        c.goals.append(cl.goal)
                    if rid not in c.rules:
                        c.rules.append(rid)
        for c in cands.values():
            c.values, c.null_outcome = self.values_of(c)
            prior = 0.0
            for rid in c.rules:
                others = sum(1 for f in tests[rid] if f != c.fact and f not in blocked)
                prior += sum(cl.reach.get(rid, 0.0) for cl in closures) / (1 + others)
            c.prior = prior / max(1, len(c.values) + c.null_outcome)
            c.rules.sort(key=lambda rid: (-max(cl.reach.get(rid, 0.0) for cl in closures), rid))
            c.tests = {rid: tests[rid] for rid in c.rules}
        return cands, closures

    def values_of(self, c: Candidate) -> tuple[list[Any], bool]:
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

    def with_answer(self, profile: Profile, fact: str, value: Any) -> Profile:
        if fact == RESERVED_UTTERANCES:
            return Profile(dict(profile.facts), profile.utterances + list(value), profile.name)
        facts = dict(profile.facts)
        facts[fact] = value
        return Profile(facts, list(profile.utterances), profile.name)

    def simulate(self, c: Candidate, base: Result, unsettled: list[str], typs: dict[str, float], dfacts: dict[str, float]) -> float:
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
                r = self.infer(self.with_answer(base.profile, c.fact, v), full=False, advice=False)
                self.simulations += 1
                spent += cost
                gains = {goal: self.settledness(r, goal) - self.settledness(base, goal) for goal in unsettled}
                c.outcomes.append(Outcome(v, slim(r), gains, _movement(base, r, typs, dfacts),
                                          {goal: _lift(base, r, goal) for goal in unsettled}))
            self._memo[c.fact] = (state, c.values, c.outcomes)
        n = len(c.outcomes) + c.null_outcome
        c.gains = {goal: sum(o.gains[goal] for o in c.outcomes) / n for goal in unsettled}
        c.lift = {goal: sum(o.lift[goal] for o in c.outcomes) / n for goal in unsettled}
        move = sum(o.movement for o in c.outcomes) / n
        c.effect = any(o.movement > _EPS or any(abs(o.gains[g]) > _EPS for g in unsettled) for o in c.outcomes)
        c.score = sum(c.gains.values()) + _BETA * move + _GAMMA * c.prior
        return spent

    def _reusable(self, c: Candidate, old: tuple[dict, list[Any], list[Outcome]], state: dict[str, Any],
                  unsettled: list[str]) -> bool:
        """Whether outcomes simulated in an earlier state still hold: nothing that changed since can reach
        any typology or derived fact this fact can reach, so its effect on them is the same."""
        then, values, outcomes = old
        if values != c.values or not outcomes or any(g not in outcomes[0].gains for g in unsettled):
            return False
        changed = {k for k in then.keys() | state.keys() if then.get(k) != state.get(k)}
        cone = self.graph.cone(c.fact)
        return c.fact not in changed and not any(cone & self.graph.cone(f) for f in changed)

    def _matters_jointly(self, c: Candidate, base: Result, typs: dict[str, float], dfacts: dict[str, float], blocked: set[str]) -> bool:
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

    def _try_jointly(self, c: Candidate, base: Result, typs: dict[str, float], dfacts: dict[str, float],
                     blocked: set[str]) -> bool | None:
        """True / False, or None when this question's budget ran out before an answer."""
        for rid in c.rules:
            others = [f for f in c.tests.get(rid, []) if f != c.fact and f not in blocked]
            if not others:
                continue
            pools = [c.values or []] + [self.values_of(Candidate(f, rules=[rid]))[0] for f in others]
            if not all(pools):
                continue
            facts = [c.fact, *others]
            for combo in itertools.islice(itertools.product(*pools), MAX_COMBINATIONS):
                if self._joint_left <= 0:
                    return None
                self._joint_left -= 1
                p = base.profile
                for f, v in zip(facts, combo, strict=True):
                    p = self.with_answer(p, f, v)
                self.simulations += 1
                if _movement(base, self.infer(p, full=False, advice=False), typs, dfacts) > _EPS:
                    return True
        return False

    def choose(self, base: Result, done: set[str], previous: dict[str, Any], *, topic: str | None = None,
               gates: dict[str, list[str]] | None = None) -> tuple[Question | None, Status]:
        """The most useful question given the answers behind `base`, and the interview's status.

        `done`: facts never to propose (answered, skipped, passed over, or no longer applying);
        `previous`: answers taken back; `topic`: the topic of the last question, whose questions are
        preferred while they are worth asking; `gates`: fact -> the facts its `applies_when` tests.
        A fact a rule derived is still proposed when the rep's own answer could change something
        (rules may let it win over a cue).
        """
        unsettled = [g for g in self.goals if not self.settled(base, g)]
        settled = [g for g in self.goals if g not in unsettled]
        if not unsettled:
            return None, Status(settled, [], "confident")
        cands, closures = self._candidates(base, unsettled, done)
        typs, dfacts = union_of(closures)
        # the current topic's questions are simulated first, so they are scored even on a tight budget
        order = sorted(cands.values(), key=lambda c: (topic is None or self.rb.facts[c.fact].topic != topic,
                                                      -c.prior, self.graph.order[c.fact]))
        first = opening(self, cands, done, gates or {}, base, unsettled, typs, dfacts)
        spent = 0.0
        self._joint_left = JOINT_BUDGET
        for c in order:  # also before an opening question: its estimate of what is left needs the lifts
            if spent >= self.budget and any(x.effect for x in order):
                break
            spent += self.simulate(c, base, unsettled, typs, dfacts)
        if first is not None:
            question = self._question(first, self.rb.facts[first.fact], cands, closures, base, unsettled, previous)
            return question, Status(settled, unsettled, "asking")
        best = max((c for c in order if c.effect), default=None,
                   key=lambda c: (c.score, -self.graph.order[c.fact]))
        if best is not None and topic is not None:
            here = max((c for c in order if c.effect and self.rb.facts[c.fact].topic == topic), default=None,
                       key=lambda c: (c.score, -self.graph.order[c.fact]))
            if here is not None and here.score >= STAY_IN_TOPIC * best.score:
                best = here
        if best is None:
            # Nothing changes anything on its own: free text we could not sample, or facts that
            # only matter together with others (a rule needs both). Most promising first.
            for c in order:
                if c.effect is None and not c.values:
                    best = c
                    break
                if self._matters_jointly(c, base, typs, dfacts, done):
                    best = c
                    break
        if best is None:
            return None, Status(settled, unsettled, "exhausted")
        question = self._question(best, self.rb.facts[best.fact], cands, closures, base, unsettled, previous)
        return question, Status(settled, unsettled, "asking")

    def question_for(self, fact: FactDef, base: Result, done: set[str], previous: dict[str, Any]) -> Question:
        """The question for one given fact, e.g. to ask it again after `back`."""
        unsettled = [g for g in self.goals if not self.settled(base, g)]
        cands, closures = self._candidates(base, unsettled, done)
        cand = cands.get(fact.id) or Candidate(fact.id)
        typs, dfacts = union_of(closures)
        self.simulate(cand, base, unsettled, typs, dfacts)
        return self._question(cand, fact, cands, closures, base, unsettled, previous)

    def _question(self, best: Candidate, f: FactDef, cands: dict[str, Candidate], closures: list[GoalClosure],
                  base: Result, unsettled: list[str], previous: dict[str, Any]) -> Question:
        relevant = [c for c in cands.values() if c.effect is not False]
        # about how many questions are left: per goal, the answers of its best lift it still needs,
        # taken from its most promising questions; a question that serves several goals counts once
        needed: set[str] = set()
        for goal in unsettled:
            mine = sorted((c for c in relevant if goal in c.goals), key=lambda c: (-c.prior, self.graph.order[c.fact]))
            if mine:
                lift = max((c.lift.get(goal, 0.0) for c in mine), default=0.0)
                needed.update(c.fact for c in mine[:_steps(base.conclusions[goal], lift, self._target(goal))])
        remaining = max(1, len(needed))
        paths: dict[str, list[tuple[str, str]]] = {}
        for rid in best.rules:
            for cl in closures:
                if rid in cl.rule_node:
                    paths[rid] = cl.path(rid)
                    break
        goal_order = {g: i for i, g in enumerate(self.goals)}
        return Question(f, sorted(best.goals, key=goal_order.get), [self.graph.rules[r] for r in best.rules],
                        paths, best.outcomes, best.score, remaining, previous.get(f.id),
                        frozenset(c.fact for c in relevant), list(best.opens))

def _snapshot(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {f: tuple(v) if isinstance(v, list) else v for f, v in profile.facts.items()}
    if profile.utterances:
        out[RESERVED_UTTERANCES] = tuple(profile.utterances)
    return out



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

