"""“Why not owl?” in words a rep reads: what is missing, what speaks against, what would change it.

The answer (engine.reasoning.whynot) is turned into a view of plain strings — class and fact labels,
conditions in sales language, the rules' own rationales, never an id — and rendered as text,
Markdown, HTML (autoescaped, self-contained) or JSON (ids kept, under `why_not`).
"""
from __future__ import annotations

import json
from typing import Any

from ..i18n import tr, use
from ..reasoning.inference import Result
from ..reasoning.whynot import WhyNot
from ..rules.model import Condition, FactTest
from .confidence import percent
from .describe import class_label, describe, value_label
from .markdown import md_escape

SHOWN = 5  # rules listed under "not met" and "against" before "… and N more"


def _failed_text(c: Condition, w: WhyNot, result: Result, lang: str) -> str:
    text = describe(c, result.rulebase, lang)
    if isinstance(c, FactTest) and c.fact not in result.profile.facts and c.op not in ("known", "answered"):
        return tr(lang, "{condition} (not known yet)", condition=text)
    return text


def _more(n: int, lang: str) -> str:
    return tr(lang, "… and {n} more", n=n - SHOWN) if n > SHOWN else ""


def whynot_view(w: WhyNot, result: Result, lang: str) -> dict[str, Any]:
    """Everything the report says, as plain strings in `lang`."""
    rb = result.rulebase
    tid, c = w.typology.id, w.conclusion
    target = class_label(rb, tid, w.cls, lang)
    typ = w.typology.label.get(lang)
    if c.value is not None:
        now = tr(lang, "{typology}: {value} ({confidence})", typology=typ,
                 value=class_label(rb, tid, c.value, lang), confidence=percent(c.confidence))
    else:
        now = tr(lang, "{typology}: not decided yet", typology=typ)
    changes = [{"fact": rb.facts[ch.fact].label.get(lang),
                "from": tr(lang, "not known") if ch.old is None else value_label(rb, ch.fact, ch.old, lang),
                "to": value_label(rb, ch.fact, ch.new, lang)} for ch in (w.changes or [])]
    if w.already:
        verdict = tr(lang, "The customer is already {target}.", target=target)
    elif w.changes:
        verdict = tr(lang, "This would make it {target}:", target=target)
    elif w.complete:
        verdict = tr(lang, "No change of up to {n} of the facts the rules for {target} look at would make it "
                           "{target}.", n=w.max_changes, target=target)
    else:
        verdict = tr(lang, "No change found among the {n} combinations tried; the search stopped at its limit, "
                           "so a larger change set may still exist.", n=w.tried)
    unmet = [{"why": u.rule.rationale.get(lang),
              "missing": [_failed_text(f, w, result, lang) for f in u.failed]} for u in w.unmet[:SHOWN]]
    against = [{"why": b.rule.rationale.get(lang),
                "effect": (tr(lang, "against {target}", target=target) if b.cls == w.cls else
                           tr(lang, "for {other}", other=class_label(rb, tid, b.cls, lang)))}
               for b in w.against[:SHOWN]]
    return {
        "title": tr(lang, "Why not {target}?", target=target),
        "now": now,
        "verdict": verdict,
        "changes": changes,
        "unmet": unmet,
        "unmet_more": _more(len(w.unmet), lang),
        "against": against,
        "against_more": _more(len(w.against), lang),
        "h_changes": tr(lang, "What would change it"),
        "h_unmet": tr(lang, "Rules for {target} that did not apply", target=target),
        "h_against": tr(lang, "What speaks against it"),
        "missing_word": tr(lang, "missing:"),
        "lang": lang,
    }


def whynot_json(w: WhyNot, result: Result, lang: str) -> dict[str, Any]:
    """The `why_not` object of the JSON contract: ids kept, and the texts a page shows."""
    c = w.conclusion
    return {
        "typology": w.typology.id,
        "class": w.cls,
        "already": w.already,
        "current": {"value": c.value, "confidence": c.confidence},
        "found": bool(w.changes) or w.already,
        "complete": w.complete,
        "max_changes": w.max_changes,
        "tried": w.tried,
        "changes": [{"fact": ch.fact, "from": ch.old, "to": ch.new} for ch in (w.changes or [])],
        "unmet": [{"rule": u.rule.id, "weight": u.weight,
                   "failed": [describe(f, result.rulebase, lang) for f in u.failed]} for u in w.unmet],
        "against": [{"rule": b.rule.id, "class": b.cls, "weight": round(b.weight, 4)} for b in w.against],
        "view": whynot_view(w, result, lang),
    }


def _text(v: dict[str, Any]) -> str:
    lines = [v["title"], v["now"], "", v["verdict"]]
    lines += [f"  · {ch['fact']}: {ch['from']} → {ch['to']}" for ch in v["changes"]]
    for head, items, more, key in ((v["h_unmet"], v["unmet"], v["unmet_more"], "missing"),
                                   (v["h_against"], v["against"], v["against_more"], "effect")):
        if not items:
            continue
        lines += ["", head]
        for it in items:
            lines.append(f"  · {it['why']}")
            extra = it[key]
            if isinstance(extra, list):
                if extra:
                    lines.append(f"    {v['missing_word']} " + tr(v["lang"], "; ").join(extra))
            else:
                lines.append(f"    ({extra})")
        if more:
            lines.append(f"  {more}")
    return "\n".join(lines) + "\n"


def _md(v: dict[str, Any]) -> str:
    e = md_escape
    lines = [f"## {e(v['title'])}", "", e(v["now"]), "", f"**{e(v['verdict'])}**", ""]
    lines += [f"- {e(ch['fact'])}: {e(ch['from'])} → {e(ch['to'])}" for ch in v["changes"]]
    for head, items, more, key in ((v["h_unmet"], v["unmet"], v["unmet_more"], "missing"),
                                   (v["h_against"], v["against"], v["against_more"], "effect")):
        if not items:
            continue
        lines += ["", f"### {e(head)}", ""]
        for it in items:
            extra = it[key]
            tail = (f" — {e(v['missing_word'])} " + e(tr(v["lang"], "; ").join(extra)) if isinstance(extra, list)
                    and extra else f" ({e(extra)})" if isinstance(extra, str) else "")
            lines.append(f"- {e(it['why'])}{tail}")
        if more:
            lines.append(f"- {e(more)}")
    return "\n".join(lines) + "\n"


def render_whynot(w: WhyNot, result: Result, fmt: str, lang: str, base_json: dict[str, Any] | None = None) -> str:
    """The answer in `fmt`; JSON is the classify contract (`base_json`) with `why_not` added."""
    with use(lang):
        if fmt == "json":
            doc = dict(base_json or {})
            doc["why_not"] = whynot_json(w, result, lang)
            return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"
        v = whynot_view(w, result, lang)
        if fmt == "md":
            return _md(v)
        if fmt == "html":
            from .render import bundled_environment

            return bundled_environment("html", lang).get_template("whynot.html").render(v=v, lang=lang)
        return _text(v)


__all__ = ["render_whynot", "whynot_json", "whynot_view"]
