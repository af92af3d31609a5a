"""The result columns of a classified row: what a manager reads, and the ids machines read.

Two forms of the same results (`Layout`):

- **labels** (a sheet for people, the default of `zhike batch`): column headers in the language of
  the run (社交风格, 社交风格置信度, 下一步最佳行动, 理由, 下一步要问, 提示), class labels,
  confidence as a percentage, and the three most useful questions in words;
- **ids** (`--ids`, JSONL, the library's default): class ids, confidence as a number, the fact ids
  still missing and the rulebase's SHA-256 — the stable machine contract.

The logical columns (`social_style`, `social_style_confidence`, `next_best_action`, `reason`,
`missing`, `rulebase_sha256`, `_warnings`) are what `--columns` names; each has one cell per form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..i18n import N_, tr
from ..rules.model import Rulebase, Strategy

RESULT_TAIL = ("next_best_action", "reason", "missing", "rulebase_sha256")
WARNINGS = "_warnings"  # the cells left blank in a row, and why (on-bad-value blank)
LEADING = 3  # conclusions named in `reason`, most confident first
QUESTIONS = 3  # questions in `missing` (labels form)
_HEADERS = {"next_best_action": N_("next best action"), "reason": N_("reason"),
            "missing": N_("questions to ask next"), WARNINGS: N_("warnings")}
_ID_ONLY = ("rulebase_sha256",)  # a machine's column: not in the labels form


@dataclass(frozen=True)
class ResultColumn:
    key: str  # the logical column
    form: str  # "label" | "id"
    header: str  # the column's name in the output


def logical_columns(rb: Rulebase, warnings: bool = False) -> list[str]:
    """Every logical result column, in order: per typology its class and confidence, then the tail."""
    cols: list[str] = []
    for tid in rb.typologies:
        cols += [tid, f"{tid}_confidence"]
    return cols + list(RESULT_TAIL) + ([WARNINGS] if warnings else [])


def label_header(rb: Rulebase, key: str, lang: str) -> str:
    """The header a person reads for a logical column."""
    if key in rb.typologies:
        return rb.typologies[key].label.get(lang)
    if key.endswith("_confidence") and key[: -len("_confidence")] in rb.typologies:
        return tr(lang, "{typology} confidence", typology=rb.typologies[key[: -len("_confidence")]].label.get(lang))
    return tr(lang, _HEADERS[key]) if key in _HEADERS else key


def every_header(rb: Rulebase) -> frozenset[str]:
    """Every name a result column can have (ids and headers in both languages): an earlier run's output
    read again keeps these columns as they are, never mapping them to facts."""
    keys = logical_columns(rb, warnings=True)
    return frozenset(keys) | frozenset(label_header(rb, k, lang) for k in keys for lang in ("zh", "en"))


def layout(rb: Rulebase, keys: list[str], lang: str, labels: bool, ids: bool) -> list[ResultColumn]:
    """The output columns for the logical `keys`: labels first, then (with `ids`) the id columns."""
    out: list[ResultColumn] = []
    if labels:
        out += [ResultColumn(k, "label", label_header(rb, k, lang)) for k in keys if k not in _ID_ONLY]
    if ids:
        # text columns (next best action, reason, warnings) are the same in both forms: once is enough
        same = {"next_best_action", "reason", WARNINGS} if labels else set()
        out += [ResultColumn(k, "id", k) for k in keys if k not in same]
    return out


def compose(result: Any, rb: Rulebase, lang: str, columns: list[ResultColumn], warnings: str = "") -> list[Any]:
    """The cells of `columns` for one inference result."""
    keys = {c.key for c in columns}
    cells: dict[tuple[str, str], Any] = {}
    for tid, c in result.conclusions.items():
        conf = c.confidence if c.value is not None else None
        cells[(tid, "id")] = c.value
        cells[(f"{tid}_confidence", "id")] = conf
        if tid in keys:
            cells[(tid, "label")] = class_text(rb, tid, c.value, lang)
        cells[(f"{tid}_confidence", "label")] = percent(conf)
    if "next_best_action" in keys:
        cells[("next_best_action", "id")] = cells[("next_best_action", "label")] = next_best_action(result, lang)
    if "reason" in keys:
        cells[("reason", "id")] = cells[("reason", "label")] = reason(result, rb, lang)
    if "missing" in keys:
        cells[("missing", "id")] = ", ".join(result.missing)
        cells[("missing", "label")] = questions(result.missing, rb, lang)
    cells[("rulebase_sha256", "id")] = rb.sha256
    cells[(WARNINGS, "id")] = cells[(WARNINGS, "label")] = warnings or None
    return [cells.get((c.key, c.form)) for c in columns]


def class_text(rb: Rulebase, tid: str, cls: str | None, lang: str) -> str | None:
    if cls is None:
        return None
    t = rb.typologies[tid]
    return t.classes[cls].label.get(lang) if cls in t.classes else cls


def percent(confidence: float | None) -> str | None:
    """0.9025 → "90%": how a manager reads a certainty."""
    return None if confidence is None else f"{confidence:.0%}"


def questions(missing: list[str], rb: Rulebase, lang: str, n: int = QUESTIONS) -> str | None:
    """The `n` most useful questions still open, in words (numbered, in one cell)."""
    asked: list[str] = []
    for fid in missing:  # most useful first: stop at the n-th (a row may miss ~100 facts)
        f = rb.facts.get(fid)
        if f is not None and f.question:
            asked.append(f.question.get(lang))
            if len(asked) == n:
                break
    if not asked:
        return None
    return " ".join(tr(lang, "{n}. {question}", n=i, question=_one_line(q)) for i, q in enumerate(asked, 1))


def _one_line(s: str) -> str:
    return " ".join(s.split())


def next_best_action(result: Any, lang: str) -> str | None:
    nba = result.next_best_action
    if nba is not None:
        return _one_line(nba.strategy.summary.get(lang))
    if not result.strategies:
        return None
    top: Strategy = max(result.strategies, key=lambda s: (s.strategy.priority, s.strategy.level, s.confidence)).strategy
    if top.summary is not None:
        return _one_line(top.summary.get(lang))
    advice = top.advice.get("") or next(iter(top.advice.values()), None)
    return _one_line(advice.get(lang)) if advice else None


def reason(result: Any, rb: Rulebase, lang: str) -> str:
    """Why, in one line: the leading conclusions, each with the evidence that carried it.

    What the customer said (or the rep noted) is quoted as the clause of the row's own words that
    matched, never as a rule's example sentence; a rationale that quotes such an example is left
    out, so no example can pass for this row's words.
    """
    from ..report.describe import class_label, value_label
    from ..report.screen import quotes_an_example, said_clause

    leading = sorted((c for c in result.conclusions.values() if c.value is not None),
                     key=lambda c: -c.confidence)[:LEADING]
    if not leading:
        return tr(lang, "insufficient evidence for any conclusion")
    parts = []
    for c in leading:
        text = tr(lang, "{typology} = {label} ({percent})", typology=c.typology.label.get(lang),
                  label=class_label(rb, c.typology.id, c.value, lang), percent=f"{c.confidence:.0%}")
        b = next((b for b in c.because if b.cls == c.value and b.weight > 0), None)
        if b is None:
            parts.append(text)
            continue
        evidence = []
        for m in b.facts:
            if m.kind == "said":
                evidence.append(tr(lang, "said “{words}”", words=_one_line(said_clause(m))))
            elif m.kind == "noted":
                evidence.append(tr(lang, "noted “{words}”", words=_one_line(said_clause(m))))
            elif m.kind == "fact":
                f = rb.facts.get(m.id)
                if f is not None:
                    evidence.append(f"{f.label.get(lang)}={value_label(rb, m.id, m.value, lang)}")
            else:
                t = rb.typologies.get(m.id)
                if t is not None:
                    evidence.append(f"{t.label.get(lang)}={class_label(rb, m.id, m.value, lang)}")
        if evidence:
            text = tr(lang, "{conclusion}: {evidence}", conclusion=text, evidence=tr(lang, "; ").join(evidence))
        rationale = _one_line(b.rule.rationale.get(lang))
        if rationale and not quotes_an_example(b.rule, rationale):
            text = tr(lang, "{text} [{why}]", text=text, why=rationale)
        parts.append(text)
    return " | ".join(parts)
