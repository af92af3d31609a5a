"""Reachability: classes no rule can conclude, and the rules and strategies that wait for them.

unreachable-class: no rule that can fire gives evidence for a class, or too little for the threshold.
unreachable-strategy: a strategy for a class no rule can conclude.
unreachable-rule: a rule that needs a conclusion no rule can reach.
"""
from __future__ import annotations

from collections.abc import Iterator

from ...errors import Problem
from ...i18n import _
from ...reasoning.inference import combine
from ...rules.model import ConclusionTest, Condition, Evidence, Rule, Rulebase, Strategy
from .context import Context, Family, problem
from .contradictions import dead
from .logic import atoms_with_polarity


def reach_and_live(ctx: Context) -> tuple[dict[str, set], set[str]]:
    """The classes some firing rule can push over the threshold, and the rules that can fire (least fixpoint)."""
    return ctx.cached("reach", _fixpoint)


def _fixpoint(ctx: Context) -> tuple[dict[str, set], set[str]]:
    never = dead(ctx)
    reach: dict[str, set] = {t: set() for t in ctx.rb.typologies}
    live: set[str] = set()
    while True:
        changed = False
        for r in ctx.rb.rules:
            if r.id in live or r.id in never:
                continue
            if ctx.logic.sat(r.when, reach):
                live.add(r.id)
                changed = True
        for t, typ in ctx.rb.typologies.items():
            for c in typ.classes:
                if c not in reach[t] and combine(_weights(ctx.rb, t, c, live)) >= typ.threshold - 1e-12 \
                        and _weights(ctx.rb, t, c, live):
                    reach[t].add(c)
                    changed = True
        if not changed:
            return reach, live


def _weights(rb: Rulebase, t: str, c: str, rules: set[str]) -> list[float]:
    return [e.weight for r in rb.rules if r.id in rules for e in r.then
            if isinstance(e, Evidence) and e.typology == t and e.cls == c and e.weight > 0]


def run(ctx: Context) -> Iterator[Problem]:
    reach, live = reach_and_live(ctx)
    never = dead(ctx)
    rb = ctx.rb
    explained: set[tuple[str, str]] = set()
    full = {t: set(typ.classes) for t, typ in rb.typologies.items()}

    def blockers(cond: Condition) -> list[ConclusionTest]:
        out = []
        for atom, positive in atoms_with_polarity(cond):
            if isinstance(atom, ConclusionTest) and positive and atom.op in ("is", "in"):
                classes = [atom.operand] if atom.op == "is" else list(atom.operand)
                if not any(c in reach[atom.typology] for c in classes):
                    out.append(atom)
        return out

    def report(item: Rule | Strategy, check: str) -> Iterator[Problem]:
        bl = [b for b in blockers(item.when)
              if not any(ctx.maybe_reached_by_broken_rule(b.typology, c)
                         for c in ([b.operand] if b.op == "is" else b.operand))]
        if not bl and ctx.broken_files:
            return
        rule = isinstance(item, Rule)
        if bl:
            b = bl[0]
            classes = [b.operand] if b.op == "is" else list(b.operand)
            names = " / ".join(classes)
            for c in classes:
                explained.add((b.typology, c))
            msg = (_("rule {id} can never fire: no rule can conclude {typology} = {classes}; add a rule with "
                     "evidence for it", id=item.id, typology=b.typology, classes=names) if rule else
                   _("strategy {id} can never apply: no rule can conclude {typology} = {classes}; add a rule with "
                     "evidence for it or remove the strategy", id=item.id, typology=b.typology, classes=names))
            yield problem(b.pos, msg, check)
        else:
            yield problem(item.pos, _("rule {id} can never fire: the conclusions it needs cannot all be reached",
                                      id=item.id) if rule else
                          _("strategy {id} can never apply: the conclusions it needs cannot all be reached",
                            id=item.id), check)

    for r in (r for r in rb.rules if not r.generated):  # a twin is reported through its original
        if r.id not in live and r.id not in never and ctx.logic.sat(r.when, full):
            yield from report(r, "unreachable-rule")
    for s in rb.strategies:
        if s.id not in never and ctx.logic.sat(s.when, full) and not ctx.logic.sat(s.when, reach):
            yield from report(s, "unreachable-strategy")
    for t, typ in rb.typologies.items():
        for c, cdef in typ.classes.items():
            if c in reach[t] or (t, c) in explained or ctx.maybe_reached_by_broken_rule(t, c):
                continue
            ws = _weights(rb, t, c, live)
            if not ws:
                msg = _("no rule can conclude class {cls} of {typology}: no rule that can fire gives evidence for "
                        "it; add a rule with `{{class: {cls}, weight: ...}}` or remove the class", cls=c, typology=t)
            else:
                msg = _("class {cls} of {typology} can never be concluded: even if every rule for it fired, its "
                        "confidence would be {confidence}, below the threshold {threshold}", cls=c, typology=t,
                        confidence=format(combine(ws), ".2f"), threshold=format(typ.threshold, "g"))
            yield problem(cdef.pos, msg, "unreachable-class")


FAMILY = Family("reachability", ("unreachable-class", "unreachable-strategy", "unreachable-rule"), run)
