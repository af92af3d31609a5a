"""Results as JSON (the public contract) and as text, Markdown or HTML via Jinja.

`to_json` builds the contract; every template renders that same dict, so a
trainer's own `--template` sees exactly what the JSON shows.
"""
from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path
from typing import Any

from . import __version__
from .describe import class_label, describe, value_label
from .inference import Matched, Result

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FORMATS = ("text", "md", "html", "json")
_TEMPLATE_FOR = {"text": "report.txt", "md": "report.md", "html": "report.html"}

UI = {
    "zh": {
        "title": "知客 · 客户研判与销售策略", "conclusions": "结论", "because": "依据", "strategies": "策略",
        "missing": "还需了解(按价值排序)", "warnings": "警告", "confidence": "置信度", "alternatives": "备选",
        "insufficient evidence": "证据不足", "ambiguous": "难以区分", "no_conclusion": "未定",
        "derived": "推出的事实", "rule": "规则", "source": "出处", "general": "通用", "for": "适用",
        "profile": "客户资料", "said": "客户原话", "none": "无", "rulebase": "知识库", "against": "反证",
        "weight": "权重", "when": "条件", "question": "问题", "next_best_action": "下一步最佳行动", "derived_by": "由规则推出:",
    },
    "en": {
        "title": "zhike · customer read-out and sales strategy", "conclusions": "Conclusions", "because": "Why",
        "strategies": "Strategy", "missing": "Ask next (most useful first)", "warnings": "Warnings",
        "confidence": "confidence", "alternatives": "alternatives", "insufficient evidence": "insufficient evidence",
        "ambiguous": "ambiguous", "no_conclusion": "undecided", "derived": "Derived facts", "rule": "rule",
        "source": "source", "general": "general", "for": "for", "profile": "Profile", "said": "What the customer said",
        "none": "none", "rulebase": "rulebase", "against": "against", "weight": "weight", "when": "when",
        "question": "question", "next_best_action": "Next best action", "derived_by": "derived by",
    },
}


def _matched_json(m: Matched, result: Result, lang: str) -> dict:
    rb = result.rulebase
    if m.kind == "fact":
        f = rb.facts.get(m.id)
        name = f.label.get(lang) if f else m.id
        out = {"kind": "fact", "fact": m.id, "value": m.value,
               "text": f"{name} = {value_label(rb, m.id, m.value, lang)}"}
        if m.derived_by:
            out["derived_by"] = m.derived_by
            out["text"] += f" ({UI[lang]['derived_by']} {m.derived_by})"
        return out
    if m.kind == "said":
        quote = "“" if lang == "en" else "「"
        end = "”" if lang == "en" else "」"
        label = UI[lang]["said"]
        return {"kind": "said", "utterance": m.utterance, "matched": m.value,
                "text": f"{label}: {quote}{m.utterance}{end} ({m.value})"}
    t = rb.typologies.get(m.id)
    text = f"{t.label.get(lang) if t else m.id} = {class_label(rb, m.id, m.value, lang)}"
    if m.confidence is not None:
        text += f" ({m.confidence:.0%})"
    return {"kind": "conclusion", "typology": m.id, "value": m.value, "confidence": m.confidence, "text": text}


def to_json(result: Result, lang: str = "zh") -> dict[str, Any]:
    """The JSON contract of `zhike classify --format json`."""
    rb = result.rulebase
    conclusions: dict[str, Any] = {}
    for tid, c in result.conclusions.items():
        t = c.typology
        reason_key = "ambiguous" if c.reason and c.reason.startswith("ambiguous") else c.reason
        conclusions[tid] = {
            "value": c.value,
            "label": class_label(rb, tid, c.value, lang) if c.value else None,
            "typology_label": t.label.get(lang),
            "confidence": c.confidence,
            "alternatives": [{"value": cls, "label": class_label(rb, tid, cls, lang), "confidence": s}
                             for cls, s in c.scores if cls != c.value and s > 0],
            "reason": c.reason,
            "reason_text": UI[lang].get(reason_key, c.reason) if c.reason else None,
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


# --- terminal text helpers (CJK characters take two columns) -------------------

def dwidth(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in str(s))


def pad(s: Any, width: int) -> str:
    s = str(s)
    return s + " " * max(0, width - dwidth(s))


def wrap(s: Any, width: int = 0, indent: int = 0) -> str:
    """Wrap text to the terminal by display width, breaking between CJK characters or at spaces."""
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 110)
    avail = max(20, width - indent)
    lines: list[str] = []
    for para in str(s).splitlines() or [""]:
        line, w = "", 0
        for token in _tokens(para):
            tw = dwidth(token)
            # Chinese typesetting never starts a line with closing punctuation: let it overhang
            if w + tw > avail and line.strip() and token[:1] not in _NO_LINE_START:
                lines.append(line.rstrip())
                token = token.lstrip()
                line, w = "", 0
                tw = dwidth(token)
            line += token
            w += tw
        lines.append(line.rstrip())
    return ("\n" + " " * indent).join(lines)


_NO_LINE_START = set("。，、；：？！」』）》〉”’,.;:?!)]}%")


def _tokens(text: str):
    word = ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + " "
            word = ""
        else:
            word += ch
    if word:
        yield word


def _environment(template_dir: Path, autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(template_dir), str(TEMPLATES_DIR)]),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pad=pad, wrap=wrap, dwidth=dwidth,
                       pct=lambda x: "–" if x is None else f"{float(x):.0%}")
    return env


def context(result: Result, lang: str) -> dict[str, Any]:
    rb = result.rulebase
    data = to_json(result, lang)
    return {
        "r": data,
        "lang": lang,
        "ui": UI[lang],
        "stages": [{"id": s.id, "label": s.label.get(lang)} for s in rb.stages.values()]
        + [{"id": "general", "label": UI[lang]["general"]}],
        "rulebase_title": rb.title.get(lang),
        "questions": [{"id": f, "label": rb.facts[f].label.get(lang), "question": rb.facts[f].question.get(lang)}
                      for f in data["missing"] if f in rb.facts],
        "facts_shown": [{"id": fid, "label": rb.facts[fid].label.get(lang),
                         "value": value_label(rb, fid, v, lang)} for fid, v in result.profile.facts.items()],
        "width": min(shutil.get_terminal_size((100, 24)).columns, 110),
    }


def render(result: Result, fmt: str = "text", lang: str = "zh", template: str | Path | None = None) -> str:
    """The report as text. `fmt` is text, md, html or json; `template` a trainer's own Jinja file."""
    if fmt == "json" and template is None:
        import json

        return json.dumps(to_json(result, lang), ensure_ascii=False, indent=2) + "\n"
    if template is not None:
        path = Path(template)
        env = _environment(path.parent, autoescape=path.suffix.lower() in (".html", ".htm", ".xml"))
        tpl = env.get_template(path.name)
    else:
        env = _environment(TEMPLATES_DIR, autoescape=(fmt == "html"))
        tpl = env.get_template(_TEMPLATE_FOR[fmt])
    return tpl.render(**context(result, lang))
