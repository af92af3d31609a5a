"""Which questions apply: a fact's `applies_when:` judged against the answers so far.

The fact catalogue says when a question makes sense (inquiry questions only for an
online inquiry, account questions only for a paying customer). A question is left
out only when its condition can no longer hold: it is judged in three values —
holds, fails, not yet known — and a fact nobody has answered (or that the rep said
they don't know) leaves its tests open, so it never excludes a question by itself.

The facts a condition tests are the question's *gates*: the interview asks a gate
before the questions it decides (the context question comes first).
"""
from __future__ import annotations

from typing import Any

from ..rules.model import All, Any_, Condition, FactTest, Not, Rulebase, walk

_NUMERIC = {"gt": lambda v, a: v > a, "gte": lambda v, a: v >= a, "lt": lambda v, a: v < a,
            "lte": lambda v, a: v <= a}
_NUMERIC.update({">": _NUMERIC["gt"], ">=": _NUMERIC["gte"], "<": _NUMERIC["lt"], "<=": _NUMERIC["lte"]})


def holds(cond: Condition, answers: dict[str, Any], skipped: set[str] = frozenset()) -> bool | None:
    """True, False, or None while it depends on a fact not answered yet.

    `answers`: fact id -> catalogue value; `skipped`: facts the rep does not know
    (for them `known:` / `answered:` are settled as false, every comparison stays open).
    """
    if isinstance(cond, Not):
        inner = holds(cond.item, answers, skipped)
        return None if inner is None else not inner
    if isinstance(cond, (All, Any_)):
        results = [holds(c, answers, skipped) for c in cond.items]
        decisive = isinstance(cond, Any_)  # one True decides `any`, one False decides `all`
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if isinstance(cond, FactTest):
        return _fact_test(cond, answers, skipped)
    return None  # the loader allows only fact tests here; anything else never excludes


def _fact_test(t: FactTest, answers: dict[str, Any], skipped: set[str]) -> bool | None:
    if t.op in ("known", "answered"):
        if t.fact in answers:
            return bool(t.operand)
        return (not t.operand) if t.fact in skipped else None
    if t.fact not in answers:
        return None
    value = answers[t.fact]
    operand = t.operand
    if isinstance(value, list):  # a list fact: `is` / `in` mean "contains"
        if t.op == "is":
            return operand in value
        if t.op == "in":
            return any(o in value for o in operand)
        if t.op == "is_not":
            return operand not in value
        if t.op == "not_in":
            return not any(o in value for o in operand)
        return None
    if t.op == "is":
        return _same(value, operand)
    if t.op == "in":
        return any(_same(value, o) for o in operand)
    if t.op == "is_not":
        return not _same(value, operand)
    if t.op == "not_in":
        return not any(_same(value, o) for o in operand)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if t.op == "between":
        lo, hi = operand
        return float(lo) <= value <= float(hi)
    compare = _NUMERIC.get(t.op)
    return None if compare is None else compare(float(value), float(operand))


def _same(value: Any, operand: Any) -> bool:
    if isinstance(value, bool) or isinstance(operand, bool):
        return value is operand
    if isinstance(value, (int, float)) and isinstance(operand, (int, float)):
        return float(value) == float(operand)
    return value == operand


def gates_of(rb: Rulebase) -> dict[str, list[str]]:
    """fact -> the facts its `applies_when` tests (only facts that have one)."""
    out: dict[str, list[str]] = {}
    for f in rb.facts.values():
        if f.applies_when is not None:
            out[f.id] = list(dict.fromkeys(c.fact for c in walk(f.applies_when)
                                           if isinstance(c, FactTest) and c.fact != f.id))
    return out


def not_applying(rb: Rulebase, answers: dict[str, Any], skipped: set[str]) -> set[str]:
    """Facts whose question no longer applies, given the answers so far."""
    return {f.id for f in rb.facts.values()
            if f.applies_when is not None and f.id not in answers
            and holds(f.applies_when, answers, skipped) is False}
