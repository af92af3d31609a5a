"""What was said (or noted) as evidence: the clause, and what in it counted.

A rep reads "客户原话:「好是好,就是预算紧」(说的是「预算紧张」)" or "… (像这句:「今年预算确实紧」,
相似度 0.72)"; JSON keeps the ids (phrase test, concept), the keyword matched and the figures.
A keyword or an example sentence in the other language than the report is not quoted — it is
the rulebase's wording, not the customer's, and a Chinese report carries no English.
"""
from __future__ import annotations

from ..i18n import tr
from ..reasoning.inference import Matched
from ..rules.model import Rulebase
from ..words.normalise import has_cjk


def clause_said(m: Matched) -> str:
    """The clause that counted, as it was written (the whole utterance when unknown)."""
    if m.hit is not None and m.hit.clause:
        return m.hit.clause
    return m.utterance or ""


def what_counted(m: Matched, rb: Rulebase, lang: str) -> str:
    """The concept or the nearest example sentence, in the report's words; "" for a plain keyword."""
    hit = m.hit
    if hit is None:
        return ""
    if hit.similarity is not None:
        similarity = f"{hit.similarity:.2f}"
        if has_cjk(hit.matched) == (lang == "zh"):
            return tr(lang, "like “{example}”, similarity {similarity}", example=hit.matched, similarity=similarity)
        label = _example_class_label(m, rb, lang)
        return tr(lang, "like what {label} customers say, similarity {similarity}", label=label,
                  similarity=similarity) if label else ""
    concept = rb.concepts.get(hit.concept) if hit.concept else None
    if concept is not None:
        return tr(lang, "about “{concept}”", concept=concept.label.get(lang))
    return ""


def said_and_why(m: Matched, rb: Rulebase, lang: str, clause: str | None = None) -> str:
    """“the clause” (what counted in it), or just “the clause”."""
    counted = what_counted(m, rb, lang)
    clause = clause_said(m) if clause is None else clause
    if counted:
        return tr(lang, "“{clause}” ({counted})", clause=clause, counted=counted)
    return tr(lang, "“{words}”", words=clause)


def said_text(m: Matched, rb: Rulebase, lang: str) -> str:
    """One line: who said what, and what counted."""
    if m.kind == "noted":
        head = tr(lang, "Your notes")
    elif m.id.endswith("!denied"):
        head = tr(lang, "The customer denied it")
    else:
        head = tr(lang, "What the customer said")
    return tr(lang, "{name}: {value}", name=head, value=said_and_why(m, rb, lang))


def said_json(m: Matched, rb: Rulebase, lang: str) -> dict:
    out = {"kind": m.kind, "utterance": m.utterance, "matched": m.value, "text": said_text(m, rb, lang)}
    hit = m.hit
    if hit is not None:
        out.update({"clause": hit.clause, "strength": hit.strength, "denied": m.id.endswith("!denied"),
                    "question": hit.question})
        if hit.concept:
            out["concept"] = hit.concept
        if hit.similarity is not None:
            out["example"] = hit.matched
            out["similarity"] = hit.similarity
    return out


def _example_class_label(m: Matched, rb: Rulebase, lang: str) -> str:
    rule_id = m.id.split("#", 1)[0]  # "<typology>.<class>.examples"
    parts = rule_id.split(".")
    typ = rb.typologies.get(parts[0]) if len(parts) == 3 else None
    cls = typ.classes.get(parts[1]) if typ else None
    return f"“{cls.label.get(lang)}”" if cls else ""
