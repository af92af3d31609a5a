"""What each rule depends on, and the facts still worth asking for (the missing-facts analysis).

Worked out once per compiled rulebase (`Deps.of`), so that per profile the analysis is bit
operations and list slicing; inference.py runs it after every profile.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..rules.loader import RESERVED_UTTERANCES, fact_refs
from ..rules.model import ConclusionTest, Evidence, FactTest, PhraseTest, Rule, SetFact, Typology, Warn, walk
from .compiler import CompiledRulebase
from .profile import Profile


@dataclass
class Deps:
    """What each rule depends on, precomputed once per compiled rulebase: the missing-facts
    analysis runs for every profile, so per profile it is only bit operations and filtering."""

    bit: dict[str, int]  # fact id -> its bit
    closure: dict[str, int]  # rule id -> facts it tests, directly or through the derived facts
    #                          and conclusions it waits on (their rules' facts), as a bit mask
    evidencers: dict[str, list[str]]  # typology id -> rules that give it evidence
    ranked: dict[str, list[str]]  # typology id -> facts that may matter, most rules first
    overall: list[str]  # every fact that may matter, most rules first
    scaled: frozenset[int]  # productions that test conclusions (weight scaled by their confidence)
    typologies_by_level: dict[int, list[Typology]]  # the pass at whose start a typology is final
    # per typology: the union of its evidencers' closures (the mask while none of them fired), and
    # `ranked` as (bit, fact) pairs; `overall` likewise
    every: dict[str, int] = field(default_factory=dict)
    ranked_bits: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    overall_bits: list[tuple[int, str]] = field(default_factory=list)
    # per typology, and overall: where each fact of `ranked` stands in it; the mask of `overall`
    ranked_at: dict[str, dict[str, int]] = field(default_factory=dict)
    overall_at: dict[str, int] = field(default_factory=dict)
    overall_mask: int = 0
    # per production index, its `then` by kind, in order: (typology, class, weight) evidence, SetFacts, Warns
    effects: dict[int, tuple[list[tuple[str, str, float]], list[SetFact], list[Warn]]] = field(default_factory=dict)
    class_order: dict[str, dict[str, int]] = field(default_factory=dict)  # typology -> class -> its place
    # inference's plan: (t, k) of a fact -> the rulesets whose rules can match it, in pass order (so a
    # fact goes only where it can matter); per pass, in order: (level, typologies final at its start,
    # its rulesets)
    routes: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    schedule: list[tuple[int, list[Typology], list[str]]] = field(default_factory=list)
    # the missing-facts analysis by production index, as inference records firings: per typology
    # its evidencers' (index, closure) pairs; per production, the typologies it gives evidence to
    evidencer_closures: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    evidences: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, compiled: CompiledRulebase) -> Deps:
        deps = compiled.cache.get("deps")
        if deps is None:
            deps = compiled.cache["deps"] = cls._build(compiled)
        return deps

    @classmethod
    def _build(cls, compiled: CompiledRulebase) -> Deps:
        rb = compiled.rulebase
        bit = {f: 1 << i for i, f in enumerate(rb.facts)}
        setters: dict[str, list[Rule]] = {}
        evidencers: dict[str, list[str]] = {t: [] for t in rb.typologies}
        for r in rb.rules:
            for e in r.then:
                if isinstance(e, SetFact):
                    setters.setdefault(e.fact, []).append(r)
                elif isinstance(e, Evidence) and r.id not in evidencers[e.typology]:
                    evidencers[e.typology].append(r.id)
        by_id = {r.id: r for r in rb.rules}
        closure: dict[str, int] = {}

        def close(r: Rule, visiting: set[str]) -> int:
            if r.id in closure:
                return closure[r.id]
            visiting.add(r.id)
            mask = 0
            for f in fact_refs(r.when):
                mask |= bit.get(f, 0)
            for c in walk(r.when):
                deps: list[Rule] = []
                if isinstance(c, FactTest) and c.fact in setters and c.op != "answered":
                    deps = setters[c.fact]
                elif isinstance(c, ConclusionTest):
                    deps = [by_id[x] for x in evidencers.get(c.typology, ())]
                for d in deps:
                    if d.id not in visiting:  # the loader rejects cycles; this only guards recursion
                        mask |= close(d, visiting)
            visiting.discard(r.id)
            closure[r.id] = mask
            return mask

        for r in rb.rules:
            close(r, set())
        order = list(rb.facts)
        ranked: dict[str, list[str]] = {}
        total: dict[str, int] = {}
        for tid, rules in evidencers.items():
            counts = {f: sum(1 for r in rules if closure[r] & bit[f]) for f in order}
            ranked[tid] = sorted((f for f in order if counts[f]), key=lambda f: (-counts[f], order.index(f)))
            for f, n in counts.items():
                total[f] = total.get(f, 0) + n
        overall = sorted((f for f in order if total[f]), key=lambda f: (-total[f], order.index(f)))
        # weights scaled by the premises' confidence: conclusions, and phrases (a conceded clause or
        # a distant likeness to an example sentence is weaker evidence)
        scaled = frozenset(i for i, p in enumerate(compiled.productions)
                           if any(isinstance(c, (ConclusionTest, PhraseTest)) for c in walk(p.when)))
        by_level: dict[int, list[Typology]] = {}
        for t in rb.typologies.values():
            by_level.setdefault(t.level, []).append(t)
        every = {}
        for tid, rules in evidencers.items():
            mask = 0
            for rid in rules:
                mask |= closure[rid]
            every[tid] = mask
        deps = cls(bit, closure, evidencers, ranked, overall, scaled, by_level, every,
                   {tid: [(bit[f], f) for f in facts] for tid, facts in ranked.items()},
                   [(bit[f], f) for f in overall])
        deps.ranked_at = {tid: {f: i for i, f in enumerate(facts)} for tid, facts in ranked.items()}
        deps.overall_at = {f: i for i, f in enumerate(overall)}
        for f in overall:
            deps.overall_mask |= bit[f]
        for i, p in enumerate(compiled.productions):
            then = getattr(p, "then", [])
            deps.effects[i] = ([(e.typology, e.cls, e.weight) for e in then if isinstance(e, Evidence)],
                               [e for e in then if isinstance(e, SetFact)], [e for e in then if isinstance(e, Warn)])
        deps.class_order = {tid: {c: i for i, c in enumerate(t.classes)} for tid, t in rb.typologies.items()}
        routes: dict[tuple[str, str], list[str]] = {}
        for level in range(compiled.max_level + 2):
            names = compiled.passes.get(level, [])
            deps.schedule.append((level, by_level.get(level, []), names))
            for name in names:
                for key in sorted(compiled.keys[name]):
                    routes.setdefault(key, []).append(name)
        deps.routes = {key: tuple(names) for key, names in routes.items()}
        at = {p.id: i for i, p in enumerate(compiled.productions)}
        deps.evidencer_closures = {tid: [(at[rid], closure[rid]) for rid in rules] for tid, rules in evidencers.items()}
        for tid, rules in evidencers.items():
            for rid in rules:
                deps.evidences[at[rid]] = (*deps.evidences.get(at[rid], ()), tid)
        return deps


def missing_facts(compiled: CompiledRulebase, profile: Profile, fired: set[int],
                  derived: set[str], per_typology: bool = True) -> tuple[dict, list]:
    """Unknown facts that unfired rules test, per typology and overall, most useful first.

    A rule that has not fired may still fire once more is known: the facts it
    tests, and those behind the conclusions and derived facts it waits on, are
    what a rep should find out next. "Most useful" = tested by the most rules.
    `fired`: the indices (in compiled.productions) of the productions that fired.
    per_typology=False leaves the per-typology lists out (the first value is then
    empty): a batch row shows only the overall list, and the lists are most of the cost.
    """
    deps = Deps.of(compiled)
    bit = deps.bit
    known = 0
    for f in profile.facts:
        known |= bit.get(f, 0)
    for f in derived:
        known |= bit.get(f, 0)
    if profile.utterances:
        known |= bit.get(RESERVED_UTTERANCES, 0)
    unknown = ~known
    # the typologies some of whose evidencers fired: found from the firings (a few dozen), not by
    # testing every typology's evidencers against them
    evidences = deps.evidences
    touched = {tid for i in fired if i in evidences for tid in evidences[i]}
    per_typ: dict[str, list[str]] = {}
    union = 0
    gone: set[str] | None = None  # the known facts: few, so the usual lists are the ranked ones without them
    for tid, every in deps.every.items():
        if tid not in touched:
            mask = every & unknown  # the usual case: none of its rules fired (precomputed union)
            if per_typology and mask:
                if gone is None:
                    gone = _known(profile, derived)
                per_typ[tid] = _without(deps.ranked[tid], deps.ranked_at[tid], gone)
            elif per_typology:
                per_typ[tid] = []
            union |= mask
            continue
        mask = 0
        for i, closed in deps.evidencer_closures[tid]:
            if i not in fired:
                mask |= closed
        mask &= unknown
        union |= mask
        if per_typology:
            per_typ[tid] = [f for b, f in deps.ranked_bits[tid] if mask & b] if mask else []
    if not union:
        overall = []
    elif union == deps.overall_mask & unknown:  # every fact that may matter and is not known
        overall = _without(deps.overall, deps.overall_at, gone if gone is not None else _known(profile, derived))
    else:
        overall = [f for b, f in deps.overall_bits if union & b]
    return per_typ, overall


def _known(profile: Profile, derived: set[str]) -> set[str]:
    """The facts a profile knows, as the missing-facts analysis counts them."""
    return {*profile.facts, *derived, RESERVED_UTTERANCES} if profile.utterances else {*profile.facts, *derived}


def _without(ranked: list[str], at: dict[str, int], gone: set[str]) -> list[str]:
    """`ranked` without the facts of `gone` (`at`: where each fact stands in it): a few slices
    instead of a test per fact."""
    cuts = sorted(at[f] for f in gone if f in at)
    if not cuts:
        return list(ranked)
    out = ranked[:cuts[0]]
    for a, b in itertools.pairwise(cuts):
        out += ranked[a + 1:b]
    out += ranked[cuts[-1] + 1:]
    return out
