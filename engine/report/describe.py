"""Conditions and matched facts in sales language, zh or en, for explanations and docs."""
from __future__ import annotations

from typing import Any

from ..rules.model import All, Any_, ConclusionTest, Condition, FactTest, Not, PhraseTest, Rulebase

_WORDS = {
    "zh": {"and": " 且 ", "or": " 或 ", "not": "并非", "known": "已知", "unknown": "未知", "answered": "已回答",
           "unanswered": "未回答", "said": "客户说过",
           "or_words": "或", "at_least": "置信度≥", "is_not": "≠", "in": "属于", "not_in": "不属于", "between": "介于"},
    "en": {"and": " and ", "or": " or ", "not": "not ", "known": "is known", "unknown": "is unknown",
           "answered": "was answered", "unanswered": "was not answered",
           "said": "the customer said", "or_words": "or", "at_least": "confidence ≥", "is_not": "≠", "in": "is one of",
           "not_in": "is none of", "between": "between"},
}
_SYM = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _num(v: float) -> str:
    return f"{v:g}"


def value_label(rb: Rulebase, fact_id: str, value: Any, lang: str) -> str:
    f = rb.facts.get(fact_id)
    if f is None:
        return str(value)
    if isinstance(value, list):
        return "、".join(f.label_of(v, lang) for v in value) if lang == "zh" else ", ".join(
            f.label_of(v, lang) for v in value)
    return f.label_of(value, lang)


def class_label(rb: Rulebase, typology: str, cls: str | None, lang: str) -> str:
    t = rb.typologies.get(typology)
    if t is None or cls is None or cls not in t.classes:
        return str(cls)
    return t.classes[cls].label.get(lang)


def describe(cond: Condition, rb: Rulebase, lang: str, top: bool = True) -> str:
    w = _WORDS[lang]
    if isinstance(cond, (All, Any_)):
        joiner = w["and"] if isinstance(cond, All) else w["or"]
        inner = joiner.join(describe(c, rb, lang, top=False) for c in cond.items)
        return inner if top or len(cond.items) == 1 else f"({inner})"
    if isinstance(cond, Not):
        return f"{w['not']}{describe(cond.item, rb, lang, top=False)}"
    if isinstance(cond, PhraseTest):
        words = list(cond.keywords) + [f"/{r}/" for r in cond.regexes]
        shown = f" {w['or_words']} ".join(f"「{x}」" for x in words[:6]) + (" …" if len(words) > 6 else "")
        return f"{w['said']} {shown}"
    if isinstance(cond, FactTest):
        f = rb.facts[cond.fact]
        name = f.label.get(lang)
        op, arg = cond.op, cond.operand
        if op == "known":
            return f"{name} {w['known'] if arg else w['unknown']}"
        if op == "answered":
            return f"{name} {w['answered'] if arg else w['unanswered']}"
        if op == "is":
            return f"{name} = {f.label_of(arg, lang)}"
        if op == "is_not":
            return f"{name} {w['is_not']} {f.label_of(arg, lang)}"
        if op in ("in", "not_in"):
            vals = " / ".join(f.label_of(a, lang) for a in arg)
            return f"{name} {w[op]} {{{vals}}}"
        if op == "between":
            return f"{name} {w['between']} {_num(arg[0])}–{_num(arg[1])}"
        return f"{name} {_SYM[op]} {_num(arg)}"
    if isinstance(cond, ConclusionTest):
        t = rb.typologies[cond.typology]
        name = t.label.get(lang)
        op, arg = cond.op, cond.operand
        conf = f" ({w['at_least']}{cond.min_confidence:.0%})" if cond.min_confidence else ""
        if op == "known":
            return f"{name} {w['known'] if arg else w['unknown']}{conf}"
        if op in ("in", "not_in"):
            vals = " / ".join(class_label(rb, t.id, a, lang) for a in arg)
            return f"{name} {w[op]} {{{vals}}}{conf}"
        sym = "=" if op == "is" else w["is_not"]
        return f"{name} {sym} {class_label(rb, t.id, arg, lang)}{conf}"
    return str(cond)  # pragma: no cover
