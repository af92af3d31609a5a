"""References: facts nothing uses, and golden cases that name what does not exist.

unused-fact: a fact (and its question) no rule, strategy or other fact's `applies_when:` tests.
unknown-rule, unknown-typology, unknown-class, unknown-fact, test-format (errors): golden case files (tests/*.yaml).
"""
from __future__ import annotations

from collections.abc import Iterator

from ...errors import Problem
from ...i18n import _
from ...rules.loader import RESERVED_UTTERANCES
from ...rules.model import FactTest, PhraseTest, SetFact, walk
from .context import Context, Family, problem


def unused_facts(ctx: Context) -> Iterator[Problem]:
    rb = ctx.rb
    used: set[str] = set()
    # a fact that decides whether other questions apply (`applies_when:`) is used, even if no rule tests it
    conditions = [item.when for item in [*rb.rules, *rb.strategies]]
    conditions += [f.applies_when for f in rb.facts.values() if f.applies_when is not None]
    for cond in conditions:
        for c in walk(cond):
            if isinstance(c, FactTest):
                used.add(c.fact)
            elif isinstance(c, PhraseTest):
                used.add(RESERVED_UTTERANCES)
    setters = {e.fact: r.id for r in rb.rules for e in r.then if isinstance(e, SetFact)}
    for fid, f in rb.facts.items():
        if fid in used or (ctx.broken_files and fid in ctx.raw_facts):
            continue
        if fid == RESERVED_UTTERANCES:
            msg = _("no rule has a `said:` condition, so what the customer said is never used")
        elif fid in setters:
            msg = _("fact {fact} is derived by rule {rule} but no rule or strategy tests it; its question is never "
                    "asked", fact=fid, rule=setters[fid])
        else:
            msg = _("no rule or strategy tests fact {fact}, so its question is never asked; use it or remove it",
                    fact=fid)
        yield problem(f.pos, msg, "unused-fact")


def golden_cases(ctx: Context) -> list[Problem]:
    from ..casetest import check_cases

    _, problems = check_cases(ctx.rb, declared=ctx.raw_rule_ids if ctx.broken_files else ())
    return problems


UNUSED = Family("unused", ("unused-fact",), unused_facts)
CASES = Family("golden-cases", ("unknown-rule", "unknown-typology", "unknown-class", "unknown-fact",
                                "test-format", "missing-key"), golden_cases)
