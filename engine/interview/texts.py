"""Text for the rep about the interview: why a question is asked, how conclusions were reached,
what an answer changed.

No I/O: engine/commands/ask.py prints what these return. Sales language: conclusions,
answers and the rulebase's own rationale; rule ids only with `debug` (for trainers).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..i18n import _, use
from ..reasoning.inference import Matched, Result
from ..report.describe import class_label, describe, value_label
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import Evidence, Rule, SetFact

if TYPE_CHECKING:
    from .candidates import Question
    from .questionnaire import Questionnaire

SETTLED_MARK = "✓"
OUTCOMES_SHOWN = 8


def _sep() -> str:
    return _(", ")


def conclusion_line(q: Questionnaire, result: Result, goal: str, lang: str) -> str:
    """`Social style (TOPK): Tiger 93% ✓` or `… : undecided (Tiger 30% / Peacock 30%)`."""
    rb = q.rb
    with use(lang):
        c = result.conclusions[goal]
        label = rb.typologies[goal].label.get(lang)
        if c.value is not None:
            mark = f" {SETTLED_MARK}" if q.settled(result, goal) else ""
            conclusion = f"{class_label(rb, goal, c.value, lang)} {c.confidence:.0%}{mark}"
            return _("{typology}: {conclusion}", typology=label, conclusion=conclusion)
        lead = " / ".join(f"{class_label(rb, goal, k, lang)} {s:.0%}" for k, s in c.scores[:3] if s > 0)
        undecided = _("undecided ({leading})", leading=lead) if lead else _("undecided")
        return _("{typology}: {conclusion}", typology=label, conclusion=undecided)


def _key(result: Result, goal: str) -> tuple:
    c = result.conclusions[goal]
    return (c.value, round(c.confidence, 4))


def changed_conclusions(q: Questionnaire, before: Result, after: Result) -> list[str]:
    """Typologies whose leading conclusion or its confidence an answer changed: goals first."""
    order = list(q.goals) + [t for t in q.rb.typologies if t not in q.goals]
    return [t for t in order if _key(before, t) != _key(after, t)
            and (after.conclusions[t].value is not None or before.conclusions[t].value is not None)]


def status_line(q: Questionnaire, before: Result, after: Result, lang: str, limit: int = 3) -> str:
    """One line after an answer: the leading conclusions it changed (at most `limit`), or that none did."""
    with use(lang):
        changed = changed_conclusions(q, before, after)
        if not changed:
            return _("→ no conclusion changed")
        parts = [conclusion_line(q, after, t, lang) for t in changed[:limit]]
        more = len(changed) - limit
        line = _("→ {changes}", changes=" · ".join(parts))
        if more > 0:
            line += " · " + _("{n} more changed", n=more)
        return line


def _answer_text(q: Questionnaire, fact_id: str, value: Any, lang: str) -> str:
    if fact_id == RESERVED_UTTERANCES and isinstance(value, list):
        return _sep().join(value)
    return value_label(q.rb, fact_id, value, lang)


def why_text(q: Questionnaire, question: Question, lang: str, limit: int = 6, *, debug: bool = False) -> str:
    """Why this question is asked: what it helps decide, and what each answer would conclude.

    With `debug`, also the rules it feeds (ids, conditions, rationale), for trainers.
    """
    rb = q.rb
    with use(lang):
        goals = _sep().join(rb.typologies[g].label.get(lang) for g in question.goals)
        lines: list[str] = []
        if question.opens:
            lines.append(_("Asked first: the answer decides which questions apply "
                           "(it can leave out up to {n} questions).", n=len(question.opens)))
        if question.for_action:
            lines.append(_("Asked because nothing gives a next best action yet: this answer can give one."))
        if goals:
            lines.append(_("It helps decide: {goals}", goals=goals))
        if question.outcomes:
            base = q.result()
            lines.append(_("What each answer would conclude:"))
            for o in question.outcomes[:OUTCOMES_SHOWN]:
                shown = [conclusion_line(q, o.result, g, lang) for g in question.goals
                         if _concl_key(o.result, g) != _concl_key(base, g)]
                effect = _("; ").join(shown) if shown else _("no change so far")
                lines.append(_("  · “{answer}” → {effect}", answer=_answer_text(q, question.fact.id, o.value, lang),
                               effect=effect))
        elif question.fact.free_list:
            lines.append(_("The customer's words are matched against what customers typically say; "
                           "they can settle several conclusions at once."))
        if debug:
            lines += _rules_text(q, question, lang, limit)
        return "\n".join(lines)


def _rules_text(q: Questionnaire, question: Question, lang: str, limit: int) -> list[str]:
    rb = q.rb
    lines = [_("It feeds these rules:")]
    for rule in question.rules[:limit]:
        path = question.paths.get(rule.id, [])
        via = ""
        if len(path) > 1 or (path and path[0][0] == "f"):
            via = "  " + _("(via {path})", path=" → ".join(_node_label(rb, n, lang) for n in path))
        lines.append(f"  · {rule.id}: {describe(rule.when, rb, lang)}")
        lines.append(f"      → {_effects(rb, rule, lang)}{via}")
        lines.append(f"      {rule.rationale.get(lang)}")
    if len(question.rules) > limit:
        lines.append("  · " + _("{n} more rules", n=len(question.rules) - limit))
    return lines


def _node_label(rb, node: tuple[str, str], lang: str) -> str:
    kind, name = node
    if kind == "t":
        return rb.typologies[name].label.get(lang)
    return rb.facts[name].label.get(lang) if name in rb.facts else name


def _effects(rb, rule: Rule, lang: str) -> str:
    parts = []
    for e in rule.then:
        if isinstance(e, Evidence):
            parts.append(_weighed(class_label(rb, e.typology, e.cls, lang), e.weight))
        elif isinstance(e, SetFact):
            parts.append(_("sets {fact} = {value}", fact=rb.facts[e.fact].label.get(lang),
                           value=value_label(rb, e.fact, e.value, lang)))
    return _sep().join(parts)


def _weighed(cls: str, weight: float) -> str:
    """`for Tiger 0.60` / `against Tiger 0.30`."""
    size = f"{abs(weight):.2f}"
    if weight > 0:
        return _("for {cls} {weight}", cls=cls, weight=size)
    return _("against {cls} {weight}", cls=cls, weight=size)


def _concl_key(result: Result, goal: str) -> tuple:
    c = result.conclusions[goal]
    return (c.value, c.confidence, tuple(c.scores))


def _matched_text(q: Questionnaire, m: Matched, lang: str) -> str:
    rb = q.rb
    if m.kind == "fact":
        name = rb.facts[m.id].label.get(lang) if m.id in rb.facts else m.id
        return f"{name} = {value_label(rb, m.id, m.value, lang)}"
    if m.kind == "said":
        return _("the customer said “{words}”", words=m.utterance)
    if m.id in rb.typologies:
        text = f"{rb.typologies[m.id].label.get(lang)} = {class_label(rb, m.id, m.value, lang)}"
        return text + (f" ({m.confidence:.0%})" if m.confidence is not None else "")
    return str(m.value)


def how_text(q: Questionnaire, result: Result, lang: str, *, debug: bool = False) -> str:
    """How the current conclusions were reached: for each, the answers and words behind it, with the
    reason the rulebase gives; rule ids only with `debug`."""
    rb = q.rb
    with use(lang):
        lines: list[str] = []
        order = list(q.goals) + [t for t in rb.typologies if t not in q.goals]
        for tid in order:
            c = result.conclusions[tid]
            if not c.because and tid not in q.goals:
                continue
            lines.append(conclusion_line(q, result, tid, lang))
            for b in c.because:
                label = class_label(rb, tid, b.cls, lang)
                head = _weighed(label, b.weight)
                facts = _sep().join(_matched_text(q, m, lang) for m in b.facts)
                rule = f"  [{b.rule.id}]" if debug else ""
                lines.append(f"    {head}: {facts}{rule}" if facts else f"    {head}{rule}")
                lines.append(f"        {b.rule.rationale.get(lang)}")
        if result.derived:
            lines.append(_("Worked out from your answers:"))
            for d in result.derived:
                text = f"{rb.facts[d.fact].label.get(lang)} = {value_label(rb, d.fact, d.value, lang)}"
                rule = f"  [{d.rule.id}]" if debug else ""
                lines.append(f"    {text} — {d.rule.rationale.get(lang)}{rule}")
        if not any(c.because for c in result.conclusions.values()):
            lines.insert(0, _("No conclusions yet: nothing you said so far points anywhere."))
        return "\n".join(lines)
