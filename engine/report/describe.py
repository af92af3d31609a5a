"""Conditions and matched facts in sales language, zh or en, for explanations and docs.

A negation is said the way a person says it: `not {known: who decides}` is
"还不知道谁参与决定" / "Who takes part in the decision is not known", `not
{is: x}` is "≠ x", `not {said: …}` is "the customer did not say …"; only a
negated group falls back to "none of" / "not all of".
"""
from __future__ import annotations

from typing import Any

from ..i18n import tr
from ..rules.model import All, Any_, ConclusionTest, Condition, FactTest, Not, PhraseTest, Rulebase

_SYM = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_NEGATED_OP = {"is": "is_not", "is_not": "is", "in": "not_in", "not_in": "in",
               "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}
PHRASES_SHOWN = 6  # keywords of a `said:` test named before "…"


def _num(v: float) -> str:
    return f"{v:g}"


def value_label(rb: Rulebase, fact_id: str, value: Any, lang: str) -> str:
    f = rb.facts.get(fact_id)
    if f is None:
        return str(value)
    if isinstance(value, list):
        return tr(lang, ", ").join(f.label_of(v, lang) for v in value)
    return f.label_of(value, lang)


def class_label(rb: Rulebase, typology: str, cls: str | None, lang: str) -> str:
    t = rb.typologies.get(typology)
    if t is None or cls is None or cls not in t.classes:
        return str(cls)
    return t.classes[cls].label.get(lang)


def describe(cond: Condition, rb: Rulebase, lang: str, top: bool = True) -> str:
    """`cond` as a phrase a rep or trainer reads; nested groups in brackets."""
    if isinstance(cond, (All, Any_)):
        joiner = tr(lang, " and ") if isinstance(cond, All) else tr(lang, " or ")
        inner = joiner.join(describe(c, rb, lang, top=False) for c in cond.items)
        return inner if top or len(cond.items) == 1 else f"({inner})"
    if isinstance(cond, Not):
        return _negated(cond.item, rb, lang)
    if isinstance(cond, PhraseTest):
        return _phrase_test(cond, rb, lang)
    if isinstance(cond, FactTest):
        return _fact_test(cond, cond.op, cond.operand, rb, lang)
    if isinstance(cond, ConclusionTest):
        return _conclusion_test(cond, cond.op, cond.operand, rb, lang)
    return str(cond)  # pragma: no cover


def _negated(cond: Condition, rb: Rulebase, lang: str) -> str:
    if isinstance(cond, Not):
        return describe(cond.item, rb, lang, top=False)
    if isinstance(cond, PhraseTest):
        if cond.heard == "noted":
            return tr(lang, "your notes do not say {words}", words=_phrases(cond, rb, lang))
        return tr(lang, "the customer did not say {words}", words=_phrases(cond, rb, lang))
    if isinstance(cond, FactTest):
        if cond.op in ("known", "answered"):
            return _fact_test(cond, cond.op, not cond.operand, rb, lang)
        if cond.op in _NEGATED_OP:
            return _fact_test(cond, _NEGATED_OP[cond.op], cond.operand, rb, lang)
        if cond.op == "between":
            f = rb.facts[cond.fact]
            return tr(lang, "{name} is not between {low} and {high}", name=f.label.get(lang),
                      low=_num(cond.operand[0]), high=_num(cond.operand[1]))
    if isinstance(cond, ConclusionTest) and not cond.min_confidence:
        if cond.op == "known":
            return _conclusion_test(cond, "known", not cond.operand, rb, lang)
        if cond.op in ("is", "is_not", "in", "not_in"):
            return _conclusion_test(cond, _NEGATED_OP[cond.op], cond.operand, rb, lang)
    if isinstance(cond, Any_):
        items = tr(lang, "; ").join(describe(c, rb, lang, top=False) for c in cond.items)
        return tr(lang, "none of: {conditions}", conditions=items)
    if isinstance(cond, All):
        items = tr(lang, "; ").join(describe(c, rb, lang, top=False) for c in cond.items)
        return tr(lang, "not all of: {conditions}", conditions=items)
    return tr(lang, "it is not so that {condition}", condition=describe(cond, rb, lang, top=False))


def _phrase_test(cond: PhraseTest, rb: Rulebase, lang: str) -> str:
    if cond.examples_of is not None:
        typ = rb.typologies.get(cond.examples_of[0])
        cls = typ.classes.get(cond.examples_of[1]) if typ else None
        label = cls.label.get(lang) if cls else cond.examples_of[1]
        return tr(lang, "the customer said something like what {label} customers say", label=f"“{label}”")
    words = _phrases(cond, rb, lang)
    if cond.denied:
        return tr(lang, "the customer denied {words}", words=words)
    if cond.heard == "noted":
        return tr(lang, "your notes say {words}", words=words)
    if cond.form == "question":
        return tr(lang, "the customer asked {words}", words=words)
    return tr(lang, "the customer said {words}", words=words)


def _phrases(cond: PhraseTest, rb: Rulebase, lang: str) -> str:
    concepts = [rb.concepts[c].label.get(lang) for c in cond.concepts if c in rb.concepts]
    words = [f"「{c}」" for c in concepts] + [f"「{x}」" for x in cond.keywords] + [f"/{r}/" for r in cond.regexes]
    shown = tr(lang, " or ").join(words[:PHRASES_SHOWN])
    return shown + (" …" if len(words) > PHRASES_SHOWN else "")


def _fact_test(cond: FactTest, op: str, arg: Any, rb: Rulebase, lang: str) -> str:
    f = rb.facts[cond.fact]
    name = f.label.get(lang)
    if op == "known":
        return tr(lang, "{name} is known", name=name) if arg else tr(lang, "{name} is not known", name=name)
    if op == "answered":
        return (tr(lang, "{name} was answered", name=name) if arg
                else tr(lang, "{name} was not answered", name=name))
    if op == "is":
        return f"{name} = {f.label_of(arg, lang)}"
    if op == "is_not":
        return f"{name} ≠ {f.label_of(arg, lang)}"
    if op in ("in", "not_in"):
        return _one_of(op, name, [f.label_of(a, lang) for a in arg], lang)
    if op == "between":
        return tr(lang, "{name} between {low}–{high}", name=name, low=_num(arg[0]), high=_num(arg[1]))
    return f"{name} {_SYM[op]} {_num(arg)}"


def _one_of(op: str, name: str, labels: list[str], lang: str) -> str:
    values = "{" + " / ".join(labels) + "}"
    if op == "in":
        return tr(lang, "{name} is one of {values}", name=name, values=values)
    return tr(lang, "{name} is none of {values}", name=name, values=values)


def _conclusion_test(cond: ConclusionTest, op: str, arg: Any, rb: Rulebase, lang: str) -> str:
    t = rb.typologies[cond.typology]
    name = t.label.get(lang)
    least = f"{cond.min_confidence:.0%}" if cond.min_confidence else ""
    conf = " " + tr(lang, "(confidence ≥{percent})", percent=least) if least else ""
    if op == "known":
        text = (tr(lang, "{name} is determined", name=name) if arg
                else tr(lang, "{name} is not determined yet", name=name))
        return text + conf
    if op in ("in", "not_in"):
        return _one_of(op, name, [class_label(rb, t.id, a, lang) for a in arg], lang) + conf
    sym = "=" if op == "is" else "≠"
    return f"{name} {sym} {class_label(rb, t.id, arg, lang)}{conf}"


__all__ = ["class_label", "describe", "value_label"]
