"""Results as JSON (the public contract) and as text, Markdown or HTML via Jinja.

`to_json` builds the contract: every id, every strategy, every fired rule.
The text, Markdown and HTML reports are what a rep reads: one screen
(`screen.summary`) and, with `detail`, the full explanation; they show no
rule, class or fact id unless `debug`. A trainer's own `--template` gets the
JSON under `r` and the rep's view under `view`; the bundled templates read only
`view`. Fixed words of the reports come from the message catalogue (`_()` in the
templates, bound to the report's language).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .. import __version__
from ..i18n import tr, use
from ..paths import TEMPLATES, cache_dir
from ..reasoning.inference import Matched, Result
from .describe import class_label, describe, value_label
from .heard import said_json
from .markdown import md_anchor, md_code, md_escape, md_finalize, md_text
from .sandbox import TEMPLATE_MAX_BYTES, TEMPLATE_MAX_OUTPUT, TEMPLATE_MAX_SECONDS, render_user_template
from .screen import also_said, summary, superseded_by
from .textwidth import dwidth, pad, terminal_width, wrap

TEMPLATES_DIR = TEMPLATES
FORMATS = ("text", "md", "html", "json")
_TEMPLATE_FOR = {"text": "report.txt", "md": "report.md", "html": "report.html"}


def _matched_json(m: Matched, result: Result, lang: str) -> dict:
    rb = result.rulebase
    if m.kind == "fact":
        f = rb.facts.get(m.id)
        name = f.label.get(lang) if f else m.id
        out = {"kind": "fact", "fact": m.id, "value": m.value,
               "text": f"{name} = {value_label(rb, m.id, m.value, lang)}"}
        if m.derived_by:
            out["derived_by"] = m.derived_by
            derived_by = tr(lang, "derived by")
            out["text"] += f" ({derived_by} {m.derived_by})"
        return out
    if m.kind in ("said", "noted"):
        return said_json(m, rb, lang)
    t = rb.typologies.get(m.id)
    text = f"{t.label.get(lang) if t else m.id} = {class_label(rb, m.id, m.value, lang)}"
    if m.confidence is not None:
        text += f" ({m.confidence:.0%})"
    return {"kind": "conclusion", "typology": m.id, "value": m.value, "confidence": m.confidence, "text": text}


def _reason_text(reason: str | None, lang: str) -> str | None:
    if not reason:
        return None
    if reason.startswith("ambiguous"):
        return tr(lang, "ambiguous")
    if reason == "insufficient evidence":
        return tr(lang, "insufficient evidence")
    return reason


def to_json(result: Result, lang: str = "zh") -> dict[str, Any]:
    """The JSON contract of `zhike classify --format json`."""
    rb = result.rulebase
    conclusions: dict[str, Any] = {}
    for tid, c in result.conclusions.items():
        t = c.typology
        conclusions[tid] = {
            "value": c.value,
            "label": class_label(rb, tid, c.value, lang) if c.value else None,
            "typology_label": t.label.get(lang),
            "confidence": c.confidence,
            "alternatives": [{"value": cls, "label": class_label(rb, tid, cls, lang), "confidence": s,
                              **({"said": also[cls]} if cls in also else {})}
                             for cls, s in c.scores if cls != c.value and s > 0
                             for also in [{a: clauses for a, _s, clauses in also_said(c)}]],
            "reason": c.reason,
            "reason_text": _reason_text(c.reason, lang),
            "because": [{
                "rule": b.rule.id,
                "class": b.cls,
                "class_label": class_label(rb, tid, b.cls, lang),
                "weight": round(b.weight, 4),
                "when": describe(b.rule.when, rb, lang),
                "facts": [_matched_json(m, result, lang) for m in b.facts],
                "rationale": b.rule.rationale.get(lang),
                "source": b.rule.source.to_json(),
            } for b in c.because],
            "missing": c.missing,
        }
    hidden_by = superseded_by(result)
    strategies = []
    for s in result.strategies:
        st = s.strategy
        own = next((c for t, c in st.classes if t == st.typology), None)
        strategies.append({
            "id": st.id,
            "typology": st.typology,
            "class": own,
            "classes": [f"{t}.{c}" for t, c in st.classes],
            "label": " + ".join(class_label(rb, t, c, lang) for t, c in st.classes)
                     or (st.summary.get(lang) if st.summary else st.id),
            "confidence": round(s.confidence, 4),
            "advice": {(k or "general"): v.get(lang) for k, v in st.advice.items()},
            "because": [_matched_json(m, result, lang) for m in s.facts],
            "source": st.source.to_json(),
            "summary": st.summary.get(lang) if st.summary else None,
            "priority": st.priority,
            # the fired strategy whose `supersedes:` names this one: the reports show its advice instead
            "superseded_by": hidden_by.get(st.id),
        })
    nba = result.next_best_action
    return {
        "zhike": __version__,
        "lang": lang,
        "rulebase": {"name": rb.name, "version": rb.version, "sha256": rb.sha256},
        "profile": {"name": result.profile.name, "facts": result.profile.facts,
                    "utterances": result.profile.utterances},
        "conclusions": conclusions,
        "strategies": strategies,
        "next_best_action": {"strategy": nba.strategy.id, "text": nba.strategy.summary.get(lang),
                             "confidence": round(nba.confidence, 4)} if nba else None,
        "derived": [{"fact": d.fact, "value": d.value, "rule": d.rule.id,
                     "text": f"{rb.facts[d.fact].label.get(lang)} = {value_label(rb, d.fact, d.value, lang)}",
                     "rationale": d.rule.rationale.get(lang), "source": d.rule.source.to_json()}
                    for d in result.derived],
        "missing": result.missing,
        "warnings": [{"rule": w.rule.id, "text": w.text.get(lang), "source": w.rule.source.to_json()}
                     for w in result.warnings],
        "fired": result.fired,
    }


# --- Jinja environments ---------------------------------------------------------------

def _add_filters(env) -> None:
    env.filters.update(pad=pad, wrap=wrap, dwidth=dwidth,
                       pct=lambda x: "–" if x is None else f"{float(x):.0%}",
                       md=md_text, code=md_code, anchor=md_anchor)


def install_catalogue(env, lang: str | None = None) -> None:
    """`_()` and `ngettext()` in templates: the message catalogue, in `lang` (else the current language).

    Placeholders are `{name}` like everywhere in zhike: `{{ _("{n} rows", n=3) }}`.
    """
    from ..i18n import _ as current
    from ..i18n import ngettext as current_n

    if lang is None:
        env.install_gettext_callables(current, current_n, newstyle=False)
        return

    def gettext(message: str, **params: Any) -> str:
        return tr(lang, message, **params)

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
        with use(lang):
            return current_n(singular, plural, n, **params)

    env.install_gettext_callables(gettext, ngettext, newstyle=False)


def _setup(env, fmt: str, lang: str | None = None) -> None:
    if fmt == "md":
        env.finalize = md_finalize
    _add_filters(env)
    install_catalogue(env, lang)


@functools.lru_cache(maxsize=16)
def bundled_environment(fmt: str, lang: str | None = None):
    """The environment of zhike's own templates: autoescaped HTML, escaped Markdown, plain text;
    `_()` speaks `lang` (default: the current language). One per format and language, kept:
    compiling a template costs far more than rendering it."""
    import jinja2

    cached = cache_dir("templates", fmt)  # compiled templates: keyed by the template's source
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(cached)) if cached else None,
        autoescape=(fmt == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    _setup(env, fmt, lang)
    return env


def context(result: Result, lang: str, *, detail: bool = False, debug: bool = False,
            with_json: bool = True, inapplicable: Collection[str] = ()) -> dict[str, Any]:
    """What a template gets: the rep's `view` (engine/report/screen.py) and layout helpers, and
    (`with_json`, always for a trainer's template) the JSON contract `r` with the lists it names."""
    rb = result.rulebase
    width = terminal_width()
    out: dict[str, Any] = {
        "view": summary(result, lang, debug=debug, width=width, inapplicable=inapplicable),
        "detail": detail,
        "debug": debug,
        "lang": lang,
        "stages": [{"id": s.id, "label": s.label.get(lang)} for s in rb.stages.values()]
        + [{"id": "general", "label": tr(lang, "Overall")}],
        "rulebase_title": rb.title.get(lang),
        "width": width,
    }
    if with_json:
        data = to_json(result, lang)
        out["r"] = data
        out["questions"] = [{"id": f, "label": rb.facts[f].label.get(lang),
                             "question": rb.facts[f].question.get(lang)} for f in data["missing"] if f in rb.facts]
        out["facts_shown"] = [{"id": fid, "label": rb.facts[fid].label.get(lang),
                               "value": value_label(rb, fid, v, lang)}
                              for fid, v in result.profile.facts.items() if fid in rb.facts]
    return out


def render(result: Result, fmt: str = "text", lang: str = "zh", template: str | Path | None = None, *,
           detail: bool = False, debug: bool = False, inapplicable: Collection[str] = ()) -> str:
    """The report as text. `fmt` is text, md, html or json; `template` a trainer's own Jinja file.

    text/md/html: one screen; `detail` adds the full explanation (HTML always has it, folded);
    `debug` shows rule, class and fact ids and the rulebase version; `inapplicable`: facts whose
    question does not apply to this customer (`applies_when:`), never suggested. A trainer's template runs
    sandboxed (no Python internals, includes only from its own directory, bounded size and
    time); a problem in it raises InputError with `file:line: message`, in `lang`.
    """
    with use(lang):
        if fmt == "json" and template is None:
            return json.dumps(to_json(result, lang), ensure_ascii=False, indent=2) + "\n"
        if template is not None:
            data = context(result, lang, detail=detail, debug=debug, inapplicable=inapplicable)
            return render_user_template(Path(template), data, lambda env, kind: _setup(env, kind, lang),
                                        max_seconds=TEMPLATE_MAX_SECONDS)
        data = context(result, lang, detail=detail, debug=debug, with_json=False,  # ours read only `view`
                       inapplicable=inapplicable)
        return bundled_environment(fmt, lang).get_template(_TEMPLATE_FOR[fmt]).render(**data)


__all__ = ["FORMATS", "TEMPLATES_DIR", "TEMPLATE_MAX_BYTES", "TEMPLATE_MAX_OUTPUT", "TEMPLATE_MAX_SECONDS",
           "bundled_environment", "context", "dwidth", "install_catalogue", "md_code", "md_escape", "pad",
           "render", "to_json", "wrap"]
