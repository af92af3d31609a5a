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

from ..i18n import N_, resolve_lang, tr, translations
from ..rules.model import Rulebase, Strategy

RESULT_TAIL = ("next_best_action", "reason", "missing", "rulebase_sha256")
WARNINGS = "_warnings"  # the cells left blank in a row, and why (on-bad-value blank)
LEADING = 3  # conclusions named in `reason`, most confident first
QUESTIONS = 3  # questions in `missing` (labels form)
KEPT_EVIDENCE = 4096  # (rule, matched facts) whose evidence text a Composer keeps
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
    """The cells of `columns` for one inference result (for many results, keep one `Composer`)."""
    return Composer(rb, lang, columns)(result, warnings)


class Composer:
    """The cells of `columns` for inference results of one rulebase in one language: what does not
    change from row to row (labels, translated templates, rules' rationales) is worked out once,
    the rest as `compose` always did."""

    def __init__(self, rb: Rulebase, lang: str, columns: list[ResultColumn]):
        self.rb, self.lang, self.columns = rb, lang, list(columns)
        gettext = translations(resolve_lang(lang)).gettext
        # translated templates, filled in per row as tr() fills them
        self._said, self._noted = gettext("said “{words}”"), gettext("noted “{words}”")
        self._leading, self._with = gettext("{typology} = {label} ({percent})"), gettext("{conclusion}: {evidence}")
        self._semicolon, self._why = gettext("; "), gettext("{text} [{why}]")
        self._numbered = gettext("{n}. {question}")
        self._none = gettext("insufficient evidence for any conclusion")
        # typology -> (its label, class -> the class's label); class_label's answer for a class it lacks
        self._typologies = {tid: (t.label.get(lang), {c: k.label.get(lang) for c, k in t.classes.items()})
                            for tid, t in rb.typologies.items()}
        self._rationales: dict[str, str | None] = {}  # rule id -> its rationale as `reason` shows it, or None
        self._facts: dict[tuple[str, type, Any], str] = {}  # (fact, type, value) -> "label=value"
        self._questions: dict[str, str | None] = {}  # fact id -> its question on one line, or None
        # (rule id, what it matched) -> the evidence `reason` names: rows share most of these
        self._evidence_of: dict[tuple[str, str], list[str]] = {}
        # what each column holds: (what, typology or None)
        self._plan: list[tuple[str, str | None]] = []
        for c in self.columns:
            if c.key in rb.typologies:
                self._plan.append(("class" if c.form == "id" else "class label", c.key))
            elif c.key.endswith("_confidence") and c.key[: -len("_confidence")] in rb.typologies:
                self._plan.append(("confidence" if c.form == "id" else "percent", c.key[: -len("_confidence")]))
            elif c.key in ("next_best_action", "reason", WARNINGS):
                self._plan.append((c.key, None))
            elif c.key in ("missing", "rulebase_sha256"):
                self._plan.append((f"{c.key} {c.form}", None))
            else:
                self._plan.append(("none", None))

    def __call__(self, result: Any, warnings: str = "") -> list[Any]:
        """The cells of the columns for one result, as `compose` gives them."""
        out: list[Any] = []
        conclusions = result.conclusions
        said: dict[str, Any] = {}  # next best action and reason: the same cell in both forms, made once
        for what, tid in self._plan:
            if tid is not None:
                c = conclusions.get(tid)
                if c is None:
                    out.append(None)
                elif what == "class":
                    out.append(c.value)
                elif what == "class label":
                    out.append(None if c.value is None else self._typologies[tid][1].get(c.value, c.value))
                elif what == "confidence":
                    out.append(c.confidence if c.value is not None else None)
                else:
                    out.append(percent(c.confidence if c.value is not None else None))
            elif what == "next_best_action":
                if what not in said:
                    said[what] = next_best_action(result, self.lang)
                out.append(said[what])
            elif what == "reason":
                if what not in said:
                    said[what] = self.reason(result)
                out.append(said[what])
            elif what == "missing id":
                out.append(", ".join(result.missing))
            elif what == "missing label":
                out.append(self.questions(result.missing))
            elif what == "rulebase_sha256 id":
                out.append(self.rb.sha256)
            elif what == WARNINGS:
                out.append(warnings or None)
            else:
                out.append(None)
        return out

    def questions(self, missing: list[str], n: int = QUESTIONS) -> str | None:
        """The `n` most useful questions still open, in words (numbered, in one cell)."""
        asked: list[str] = []
        for fid in missing:  # most useful first: stop at the n-th (a row may miss ~100 facts)
            q = self._questions.get(fid, "")
            if q == "":
                f = self.rb.facts.get(fid)
                q = self._questions[fid] = _one_line(f.question.get(self.lang)) if f is not None and f.question \
                    else None
            if q is not None:
                asked.append(q)
                if len(asked) == n:
                    break
        if not asked:
            return None
        return " ".join(self._numbered.format(n=i, question=q) for i, q in enumerate(asked, 1))

    def reason(self, result: Any) -> str:
        """Why, in one line (see `reason`)."""
        lang = self.lang
        leading = sorted((c for c in result.conclusions.values() if c.value is not None),
                         key=lambda c: -c.confidence)[:LEADING]
        if not leading:
            return self._none
        parts = []
        for c in leading:
            known = self._typologies.get(c.typology.id)
            label = known[1].get(c.value, str(c.value)) if known is not None else str(c.value)  # class_label
            text = self._leading.format(typology=c.typology.label.get(lang), label=label,
                                        percent=f"{c.confidence:.0%}")
            strongest = getattr(c.because, "strongest", None)  # inference's lazy trace finds it unbuilt
            b = strongest() if strongest is not None else \
                next((b for b in c.because if b.cls == c.value and b.weight > 0), None)
            if b is None:
                parts.append(text)
                continue
            evidence = self._evidence_for(b)
            if evidence:
                text = self._with.format(conclusion=text, evidence=self._semicolon.join(evidence))
            why = self._rationale(b.rule)
            if why is not None:
                text = self._why.format(text=text, why=why)
            parts.append(text)
        return " | ".join(parts)

    def _evidence_for(self, b: Any) -> list[str]:
        """What one piece of evidence matched, as `reason` names it (kept for firings on the same facts)."""
        key = getattr(b.facts, "key", None)
        if key is None:
            return [e for e in (self._evidence(m) for m in b.facts) if e is not None]
        kept = self._evidence_of.get((b.rule.id, key))
        if kept is None:
            kept = [e for e in (self._evidence(m) for m in b.facts) if e is not None]
            if len(self._evidence_of) >= KEPT_EVIDENCE:
                del self._evidence_of[next(iter(self._evidence_of))]
            self._evidence_of[(b.rule.id, key)] = kept
        return kept

    def _evidence(self, m: Any) -> str | None:
        """One matched fact as `reason` names it, or None (a fact or typology the rulebase lacks)."""
        from ..report.describe import value_label
        from ..report.screen import said_clause

        if m.kind == "said":
            return self._said.format(words=_one_line(said_clause(m)))
        if m.kind == "noted":
            return self._noted.format(words=_one_line(said_clause(m)))
        if m.kind == "fact":
            value = m.value
            key = (m.id, type(value), value) if isinstance(value, (str, bool, int, float)) else None
            text = self._facts.get(key) if key is not None else None
            if text is None:
                f = self.rb.facts.get(m.id)
                if f is None:
                    return None
                text = f"{f.label.get(self.lang)}={value_label(self.rb, m.id, value, self.lang)}"
                if key is not None:
                    self._facts[key] = text
            return text
        t = self._typologies.get(m.id)
        if t is None:
            return None
        return f"{t[0]}={t[1].get(m.value, str(m.value))}"

    def _rationale(self, rule: Any) -> str | None:
        """A rule's rationale on one line, unless it is empty or quotes an example (see `reason`)."""
        if rule.id not in self._rationales:
            from ..report.screen import quotes_an_example

            text = _one_line(rule.rationale.get(self.lang))
            self._rationales[rule.id] = text if text and not quotes_an_example(rule, text) else None
        return self._rationales[rule.id]


def percent(confidence: float | None) -> str | None:
    """0.9025 → "90%": how a manager reads a certainty."""
    return None if confidence is None else f"{confidence:.0%}"


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
    return Composer(rb, lang, []).reason(result)
