"""Contradictions and impossible values: rules and strategies whose conditions can never all hold.

contradiction (error): the tests of a rule or strategy cannot hold at the same time.
impossible-value (error): a number test the fact's min/max rules out.
"""
from __future__ import annotations

from collections.abc import Iterator

from ...errors import Problem
from ...i18n import _, current_lang
from ...report.describe import describe
from ...rules.model import FactTest, Not, Rule, Strategy
from .context import ERROR, Context, Family, and_list, problem
from .logic import Lit, Verdict, atoms_with_polarity


def _verdicts(ctx: Context) -> dict[int, tuple[bool, list[Verdict]]]:
    """Whether each rule's and strategy's condition can hold, by the item's identity (computed once)."""
    return ctx.cached("verdicts", lambda c: {id(item): c.logic.check(item.when)
                                             for item in [*c.rb.rules, *c.rb.strategies]})


def dead(ctx: Context) -> set[str]:
    """The ids of rules and strategies whose conditions can never hold (shared with other families)."""
    verdicts = _verdicts(ctx)
    return ctx.cached("dead", lambda c: {item.id for item in [*c.rb.rules, *c.rb.strategies]
                                         if not verdicts[id(item)][0]})


def run(ctx: Context) -> Iterator[Problem]:
    items: list[Rule | Strategy] = [*(r for r in ctx.rb.rules if not r.generated), *ctx.rb.strategies]
    for item in items:
        impossible = False
        for atom, positive in atoms_with_polarity(item.when):
            if isinstance(atom, FactTest) and positive and atom.op not in ("known", "answered") \
                    and not ctx.logic.subject_ok(("f", atom.fact), [(atom, True)], None):
                impossible = True
                yield _impossible(ctx, atom)
        ok, verdicts = _verdicts(ctx)[id(item)]
        if ok or impossible:
            continue  # when a test is impossible, that is the reason; one finding is enough
        culprits = verdicts[0].culprits
        last = max((a.pos for a, _ in culprits), key=lambda p: (p.line, p.col), default=item.when.pos)
        text = and_list(list(dict.fromkeys(_lit_text(ctx, lit) for lit in culprits)))
        if len(verdicts) == 1:
            msg = (_("rule {id} can never fire: {tests} cannot all hold at once", id=item.id, tests=text)
                   if isinstance(item, Rule) else
                   _("strategy {id} can never apply: {tests} cannot all hold at once", id=item.id, tests=text))
        else:  # two alternatives or more
            msg = (_("rule {id} can never fire: its conditions contradict each other (none of its {n} alternatives "
                     "can hold; the first needs {tests})", id=item.id, n=len(verdicts), tests=text)
                   if isinstance(item, Rule) else
                   _("strategy {id} can never apply: its conditions contradict each other (none of its {n} "
                     "alternatives can hold; the first needs {tests})", id=item.id, n=len(verdicts), tests=text))
        yield problem(last, msg, "contradiction", ERROR)


def _lit_text(ctx: Context, lit: Lit) -> str:
    atom, pos = lit
    cond = atom if pos else Not(atom, atom.pos)
    return f"“{describe(cond, ctx.rb, current_lang())}”"


def _impossible(ctx: Context, atom: FactTest) -> Problem:
    f = ctx.rb.facts[atom.fact]
    node = ctx.nodes.at(atom.pos)
    where = atom.pos
    if node is not None and isinstance(node.value, dict):
        op_node = next((v for k, v in node.value.items() if k != "fact"), None)
        if op_node is not None:
            where = op_node.pos
    lo = f"{f.min:g}" if f.min is not None else "-∞"
    hi = f"{f.max:g}" if f.max is not None else "∞"
    return problem(where, _("“{test}” can never hold: fact {fact} ranges over {lo}..{hi}",
                            test=describe(atom, ctx.rb, current_lang()), fact=f.id, lo=lo, hi=hi),
                   "impossible-value", ERROR)


FAMILY = Family("contradictions", ("contradiction", "impossible-value"), run)
