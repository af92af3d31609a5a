"""What is asked outside the look-ahead ranking: first the context question that decides which
questions apply, then what the customer said; and at the end, when the goals are done but
nothing gives a next best action yet, the question most likely to give one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..reasoning.inference import Result
from ..rules.loader import RESERVED_UTTERANCES, fact_refs
from .candidates import Candidate, Question

if TYPE_CHECKING:
    from .ranking import Ranker

_EPS = 1e-9


def opening(ranker: Ranker, cands: dict[str, Candidate], done: set[str], gates: dict[str, list[str]], base: Result,
             unsettled: list[str], typs: dict[str, float], dfacts: dict[str, float]) -> Candidate | None:
    """What is asked before the ranking: a context question that decides whether relevant
    questions apply (their gate), then what the customer said — the cheapest rich evidence."""
    waiting: dict[str, list[Candidate]] = {}
    for c in cands.values():
        for g in gates.get(c.fact, ()):
            if g not in done and g in ranker.rb.facts:
                waiting.setdefault(g, []).append(c)
    if waiting:
        topics = {t.id: i for i, t in enumerate(ranker.rb.topics)}
        gate = min(waiting, key=lambda g: (topics.get(ranker.rb.facts[g].topic, len(topics)), ranker.graph.order[g]))
        first = cands.get(gate) or Candidate(gate)
        first.goals = list(dict.fromkeys([*first.goals, *(goal for c in waiting[gate] for goal in c.goals)]))
        first.opens = [c.fact for c in waiting[gate]]
        ranker.simulate(first, base, unsettled, typs, dfacts)
        return first
    said = cands.get(RESERVED_UTTERANCES)
    if said is not None:
        ranker.simulate(said, base, unsettled, typs, dfacts)
        if said.effect is not False:
            return said
    return None


def action_question(ranker: Ranker, base: Result, done: set[str], previous: dict[str, Any],
                    gates: dict[str, list[str]] | None = None) -> Question | None:
    """When the goals are done but nothing gives a next best action yet: the open question whose
    answers most often give one (e.g. what the next contact is for), or None. As in the interview,
    the context question comes before the questions whose applicability it decides."""
    if base.next_best_action is not None:
        return None
    facts: list[str] = []
    for s in ranker.rb.strategies:
        if s.summary and all(base.conclusions[t].value == c for t, c in s.classes if t in base.conclusions):
            facts += [f for f in fact_refs(s.when) if f in ranker.rb.facts and f not in done and f not in facts]
    topics = {t.id: i for i, t in enumerate(ranker.rb.topics)}
    waiting: dict[str, list[str]] = {}
    for f in facts:
        for g in (gates or {}).get(f, ()):
            if g not in done and g in ranker.rb.facts:
                waiting.setdefault(g, []).append(f)
    if waiting:
        gate = min(waiting, key=lambda g: (topics.get(ranker.rb.facts[g].topic, len(topics)), ranker.graph.order[g]))
        return Question(ranker.rb.facts[gate], [], [], {}, [], 0.0, 1, previous.get(gate), opens=waiting[gate],
                        for_action=True)
    best, best_share = None, 0.0
    for f in sorted(facts, key=lambda f: (topics.get(ranker.rb.facts[f].topic, len(topics)), ranker.graph.order[f])):
        values, _null = ranker.values_of(Candidate(f))
        outcomes = [ranker.infer(ranker.with_answer(base.profile, f, v), full=False) for v in values]
        ranker.simulations += len(outcomes)
        share = sum(r.next_best_action is not None for r in outcomes) / max(1, len(values))
        if share > best_share + _EPS:
            best, best_share = f, share
    if best is None:
        return None
    return Question(ranker.rb.facts[best], [], [], {}, [], best_share, 1, previous.get(best), for_action=True)

