"""The passes of the rulebase: in which pass each rule, strategy and typology can be decided."""
from __future__ import annotations

from ..i18n import N_, _
from .checker import Checker
from .conditions import RESERVED_UTTERANCES
from .model import ConclusionTest, Condition, Evidence, FactTest, PhraseTest, Rule, SetFact, Strategy, Typology, walk
from .yamlpos import Pos

NODE_KINDS = {"rule": N_("rule"), "typology": N_("typology"), "fact": N_("fact")}


def stratify(rb_rules: list[Rule], strategies: list[Strategy], typologies: dict[str, Typology],
              checker: Checker) -> int:
    """Give each rule, strategy and typology the pass in which it can be decided.

    A rule that tests a conclusion (or a derived fact) runs only after every
    rule that could change that conclusion (or fact) has run: this is what
    makes negation and counting evidence sound in a forward-chaining engine
    that never retracts an action. Returns the highest pass number.
    """
    setters: dict[str, list[Rule]] = {}
    evidencers: dict[str, list[Rule]] = {}
    for r in rb_rules:
        for e in r.then:
            if isinstance(e, SetFact):
                setters.setdefault(e.fact, []).append(r)
            elif isinstance(e, Evidence):
                evidencers.setdefault(e.typology, []).append(r)

    memo: dict[tuple, int] = {}
    on_stack: list[tuple] = []
    reported: set = set()

    def node_level(node: tuple) -> int:
        if node in memo:
            return memo[node]
        if node in on_stack:
            cycle = on_stack[on_stack.index(node):] + [node]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                names = " → ".join(f"{_(NODE_KINDS[k])} {n}" for k, n in cycle)
                rule_nodes = [n for k, n in cycle if k == "rule"]
                pos = next((r.pos for r in rb_rules if r.id in rule_nodes), Pos("?", 1, 1))
                facts = [n for k, n in cycle if k == "fact"]
                if facts:
                    test = f"{{fact: {facts[0]}, answered: false}}"
                    hint = _("break the cycle; if a rule should set {fact} only when the rep has not given it, "
                             "test `{test}` instead of `known`", fact=facts[0], test=test)
                else:
                    hint = _("break the cycle")
                checker.err(pos, _("rules depend on each other in a cycle: {names}; {hint}", names=names, hint=hint),
                            "cycle")
            return 0
        on_stack.append(node)
        kind, name = node
        if kind == "rule":
            rule = rule_by_id[name]
            level = _cond_level(rule.when)
        elif kind == "typology":
            rules = evidencers.get(name, [])
            level = 1 + max((node_level(("rule", r.id)) for r in rules), default=-1)
        else:  # derived fact
            level = 1 + max((node_level(("rule", r.id)) for r in setters.get(name, [])), default=-1)
        on_stack.pop()
        memo[node] = level
        return level

    def _cond_level(cond: Condition) -> int:
        level = 0
        for c in walk(cond):
            if isinstance(c, ConclusionTest):
                level = max(level, node_level(("typology", c.typology)))
            elif isinstance(c, FactTest) and c.fact in setters and c.op != "answered":
                # `answered` looks only at the rep's input, so it need not wait for derivations
                level = max(level, node_level(("fact", c.fact)))
        return level

    rule_by_id = {r.id: r for r in rb_rules}
    top = 0
    for r in rb_rules:
        r.level = node_level(("rule", r.id))
        top = max(top, r.level)
    for s in strategies:
        s.level = _cond_level(s.when)
        top = max(top, s.level)
    for t in typologies.values():
        t.level = node_level(("typology", t.id))
    return top




def fact_refs(cond: Condition) -> list[str]:
    """Fact ids a condition tests, in order, without repeats (phrases count as `utterances`)."""
    out: list[str] = []
    for c in walk(cond):
        fid = c.fact if isinstance(c, FactTest) else RESERVED_UTTERANCES if isinstance(c, PhraseTest) else None
        if fid and fid not in out:
            out.append(fid)
    return out
