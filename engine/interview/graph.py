"""The relevance graph: which rules, typologies and derived facts a goal still depends on.

A goal (a typology the rep cares about) depends on the rules that give it evidence, and
through their conditions on the typologies and derived facts they test, and on the rules
behind those (the graph the loader stratifies). Built once per compiled rulebase and
cached on it; `closure()` cuts it to what still matters given what has fired.

May import: `engine.reasoning` and lower (see engine/interview/__init__.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result, combine
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import (
    All,
    Any_,
    ConclusionTest,
    Evidence,
    FactTest,
    Not,
    PhraseTest,
    Rule,
    Rulebase,
    SetFact,
    walk,
)

_EPS = 1e-9


@dataclass
class RelevanceGraph:
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
    def of(cls, compiled: CompiledRulebase) -> RelevanceGraph:
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
            absent = by_absence(r.when)
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

    def closure(self, goal: str, fired: set[str], live: dict[str, set[str]]) -> GoalClosure:
        """Rules a goal still depends on, and the typologies and derived facts in between.

        Unfired rules count with everything they test. A fired rule counts once and
        for good, unless it holds by the absence of something (`not:`) or rests on a
        conclusion or derived fact: then what could undo it still matters. Of the rules
        giving evidence to a typology only the `live` ones count: those that can still
        change its value or its confidence.
        """
        cl = GoalClosure(goal)
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
class GoalClosure:
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



def frozen_rules(g: RelevanceGraph, done: set[str]) -> set[str]:
    """Rules whose every input is settled: facts answered or skipped (whose deriving rules,
    if any, are settled too) and conclusions of typologies whose rules are all settled.
    Whatever such a rule did or did not do, it will do again; this is dependency analysis,
    not evaluation."""
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


def live_rules(g: RelevanceGraph, rb: Rulebase, base: Result, fired: set[str], frozen: set[str]) -> dict[str, set[str]]:
    """Per typology, the rules that can still change its value or its leading class's confidence.

    Bounds from the weights alone (MYCIN combination is monotone): a class's highest
    reachable CF adds every positive weight still to come and drops what could be
    undone; its lowest does the opposite. A rule matters if it touches the leading
    class, or a class that could reach the leader's lowest CF (or, with no
    conclusion yet, the threshold). Weights of rules resting on conclusions are
    scaled by a confidence <= 1, so their full weight is a safe bound.
    """
    out: dict[str, set[str]] = {}
    for tid, typ in rb.typologies.items():
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


def by_absence(cond, negated: bool = False) -> set:
    """Facts (ids) and typologies (("t", id)) a condition tests by their absence."""
    if isinstance(cond, Not):
        return by_absence(cond.item, not negated)
    if isinstance(cond, (All, Any_)):
        out: set = set()
        for c in cond.items:
            out |= by_absence(c, negated)
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


def union_of(closures: list[GoalClosure]) -> tuple[dict[str, float], dict[str, float]]:
    """Typologies and derived facts the goals depend on, each with its strongest reach."""
    typs: dict[str, float] = {}
    facts: dict[str, float] = {}
    for cl in closures:
        for t, r in cl.typologies.items():
            typs[t] = max(r, typs.get(t, 0.0))
        for f, r in cl.facts.items():
            facts[f] = max(r, facts.get(f, 0.0))
    return typs, facts

