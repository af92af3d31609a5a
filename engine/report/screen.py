"""What a rep reads: the one-screen summary of a result, and the full explanation behind it.

`summary(result, lang)` turns an inference result into plain data (dicts and
lists, no ids unless `debug`) that the text, Markdown and HTML templates lay
out: the conclusions that have evidence with a confidence word, the next best
action, the plan for the next contact (one piece of advice per stage, most
specific strategy first), the three questions worth asking next and the
typologies that are not yet clear. `summary(...)["detail"]` is the `--detail`
explanation: each conclusion once, its evidence grouped, counter-evidence in
one line, the customer's words as whole clauses, the sources by title.

Advice that the rulebase declares superseded (`supersedes:` on the strategy
that replaces it) is left out here; the JSON keeps every strategy and names
the one that superseded it.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from ..i18n import tr
from ..reasoning.inference import Because, Conclusion, Matched, Result, StrategyResult
from ..rules.model import PhraseTest, Rule, Rulebase, Source, Strategy, normalise_text, walk
from .clauses import clause_of
from .confidence import confidence_word, percent
from .describe import class_label, value_label
from .heard import said_and_why
from .textwidth import dwidth

QUESTIONS_SHOWN = 3  # on the one screen
QUESTIONS_IN_DETAIL = 8
UNCLEAR_WIDTH = 100  # display columns of the screen the "not yet clear" line is laid out for
UNCLEAR_LINES = 2  # it names as many typologies as fit this many lines, then "and N more"
_TRAILING_NOTE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


# --- advice shown once ------------------------------------------------------------

def superseded_by(result: Result) -> dict[str, str | None]:
    """For each fired strategy, the id of a fired strategy that declares it `supersedes:` (or None).

    Declared in the rulebase, never guessed from the text. Two strategies that
    supersede each other (a rulebase mistake) both stay shown.
    """
    fired = [s.strategy for s in result.strategies]
    out: dict[str, str | None] = {}
    for s in fired:
        by = next((t.id for t in fired if t.id != s.id and s.id in _supersedes(t)
                   and t.id not in _supersedes(s)), None)
        out.setdefault(s.id, by)
    return out


def _supersedes(s: Strategy) -> tuple[str, ...]:
    return tuple(s.supersedes or ())


def shown_strategies(result: Result) -> list[StrategyResult]:
    """The fired strategies a rep reads, most specific first: none that another one supersedes."""
    hidden = superseded_by(result)
    return [s for s in result.strategies if hidden.get(s.strategy.id) is None]


# --- small texts --------------------------------------------------------------------

def short_label(label: str) -> str:
    """A typology's label without its trailing explanation in brackets ("社交风格(TOPK)" -> "社交风格")."""
    shorter = _TRAILING_NOTE.sub("", label)
    return shorter or label


def source_title(rb: Rulebase, source: Source | None, lang: str) -> str:
    """Where advice comes from, as a rep can look it up: the document's title in the output language,
    and in Chinese the section heading too (the headings exist only in Chinese)."""
    if source is None:
        return ""
    seed = rb.seeds.get(source.seed)
    title = seed.title.get(lang) if seed else ""
    if lang == "zh":
        return tr(lang, "“{document}” — {section}", document=title, section=source.title) if title else source.title
    return tr(lang, "“{document}”", document=title) if title else ""


def _fact_text(rb: Rulebase, m: Matched, lang: str) -> str | None:
    if m.kind == "fact":
        f = rb.facts.get(m.id)
        if f is None:
            return None
        return tr(lang, "{name}: {value}", name=f.label.get(lang), value=value_label(rb, m.id, m.value, lang))
    if m.kind == "conclusion":
        t = rb.typologies.get(m.id)
        if t is None:
            return None
        return tr(lang, "{name}: {value}", name=short_label(t.label.get(lang)),
                  value=class_label(rb, m.id, m.value, lang))
    return None


def said_clause(m: Matched) -> str:
    """The customer's clause a phrase rule matched, as they said it."""
    if m.hit is not None and m.hit.clause:
        return m.hit.clause
    return clause_of(m.utterance or "", m.value or "")




# A quoted passage of four characters or more: what a rationale would quote a customer with.
_QUOTED = re.compile(r"「([^」]{4,})」|“([^”]{4,})”|\"([^\"]{4,})\"")


def quotes_an_example(rule: Rule, text: str) -> bool:
    """Whether `text` (a rule's rationale) quotes what a customer might say: a quoted passage holding
    one of the rule's phrases or one of its `examples:`. Such text must never stand next to a
    customer's record as if they had said it."""
    phrases = {_squeeze(k) for c in walk(rule.when) if isinstance(c, PhraseTest) for k in c.keywords}
    examples = [_squeeze(e) for e in rule.examples]
    for q in _QUOTED.finditer(text):
        quoted = _squeeze(next(g for g in q.groups() if g is not None))
        if any(k and k in quoted for k in phrases) or any(e and (e in quoted or quoted in e) for e in examples):
            return True
    return False


def _squeeze(s: str) -> str:
    """Normalised, without punctuation and spaces: how a quote and an example are compared."""
    return re.sub(r"[\W_]+", "", normalise_text(s))


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if x and not (x in seen or seen.add(x))]


# --- the one screen ------------------------------------------------------------------

def also_said(c: Conclusion) -> list[tuple[str, float, list[str]]]:
    """Other classes the customer's words make likely on their own, from clauses the conclusion
    does not rest on ("太贵了,而且我最近也没空": no time, and too expensive): (class, score, clauses)."""
    if c.value is None:
        return []
    own = {said_clause(m) for b in c.because if b.cls == c.value and b.weight > 0 for m in b.facts
           if m.kind == "said"}
    out = []
    for cls, score in c.scores:
        if cls == c.value or score < c.typology.threshold:
            continue
        clauses = _unique([said_clause(m) for b in c.because if b.cls == cls and b.weight > 0 for m in b.facts
                           if m.kind == "said" and not m.id.endswith("!denied")])
        clauses = [x for x in clauses if x not in own]
        if clauses:
            out.append((cls, score, clauses))
    return out


def _finding(result: Result, c: Conclusion, lang: str, debug: bool) -> dict[str, Any]:
    rb = result.rulebase
    t = c.typology
    also = [{"label": class_label(rb, t.id, cls, lang), "percent": percent(score),
             "said": tr(lang, ", ").join(tr(lang, "“{words}”", words=x) for x in clauses)}
            for cls, score, clauses in also_said(c)]
    return {
        "also": also,
        "typology": t.id if debug else None,
        "typology_label": t.label.get(lang),
        "value": c.value if debug else None,
        "label": class_label(rb, t.id, c.value, lang),
        "confidence": c.confidence,
        "word": confidence_word(c.confidence, lang),
        "percent": percent(c.confidence),
    }


def _unsettled(result: Result) -> list[Conclusion]:
    """Typologies without a conclusion, the rulebase's default goals first."""
    goals = list(getattr(result.rulebase, "default_goals", []) or [])
    open_ = [c for c in result.conclusions.values() if c.value is None]
    return sorted(open_, key=lambda c: (c.typology.id not in goals,
                                        goals.index(c.typology.id) if c.typology.id in goals else 0))


def ranked_questions(result: Result, lang: str, limit: int, debug: bool = False,
                     inapplicable: Collection[str] = ()) -> list[dict[str, Any]]:
    """The missing facts worth asking about, by how many unsettled typologies each would help decide
    (then the engine's own order: most rules first), as questions in words. `inapplicable`: facts
    whose question does not apply to this customer (the catalogue's `applies_when:`, judged by the
    caller), never asked."""
    rb = result.rulebase
    unsettled = [(c, set(c.missing)) for c in _unsettled(result)]
    serves = {f: [c for c, missing in unsettled if f in missing] for f in result.missing
              if f in rb.facts and f not in inapplicable}
    position = {f: i for i, f in enumerate(result.missing)}
    ranked = sorted(serves, key=lambda f: (-len(serves[f]), position[f]))
    out = []
    for f in ranked[:limit]:
        fd = rb.facts[f]
        out.append({
            "fact": f if debug else None,
            "label": fd.label.get(lang),
            "question": fd.question.get(lang),
            "serves": [short_label(c.typology.label.get(lang)) for c in serves[f]],
        })
    return out


def _plan(result: Result, shown: list[StrategyResult], lang: str, debug: bool) -> list[dict[str, Any]]:
    """One piece of advice per stage of a contact, from the most specific strategy that has one.
    Advice "for every stage" is used only when no strategy speaks to a single stage."""
    rb = result.rulebase
    plan = []
    for stage in rb.stages.values():
        s = next((s for s in shown if stage.id in s.strategy.advice), None)
        if s is not None:
            plan.append({"stage": stage.id if debug else None, "stage_label": stage.label.get(lang),
                         "advice": _flat(s.strategy.advice[stage.id].get(lang)),
                         "strategy": s.strategy.id if debug else None})
    if not plan:
        s = next((s for s in shown if "" in s.strategy.advice), None)
        if s is not None:
            plan.append({"stage": None, "stage_label": tr(lang, "Overall"),
                         "advice": _flat(s.strategy.advice[""].get(lang)),
                         "strategy": s.strategy.id if debug else None})
    return plan


def _shown_name(name: str) -> str:
    """The profile's name or file; placeholders such as "<stdin>" or "<profile>" name nothing."""
    return "" if not name or (name.startswith("<") and name.endswith(">")) else name


def _flat(text: str) -> str:
    return " ".join(text.split())


def _unclear_line(labels: list[str], lang: str, width: int) -> tuple[list[str], int]:
    """As many labels as fit one line of `width` columns (with the line's own words), and how many
    are left over."""
    frame = dwidth(tr(lang, "Not yet clear: {typologies} — answer the questions above to find out",
                      typologies="")) + dwidth(tr(lang, "{shown} and {n} more", shown="", n=99))
    sep = dwidth(tr(lang, ", "))
    shown: list[str] = []
    used = frame
    for i, label in enumerate(labels):
        need = dwidth(label) + (sep if shown else 0)
        if used + need > width and i < len(labels):
            return shown, len(labels) - len(shown)
        shown.append(label)
        used += need
    return shown, 0


def summary(result: Result, lang: str = "zh", *, debug: bool = False, width: int = UNCLEAR_WIDTH,
            inapplicable: Collection[str] = ()) -> dict[str, Any]:
    """The one-screen report and its detail, as plain data for the templates (`inapplicable`: see
    `ranked_questions`)."""
    rb = result.rulebase
    shown = shown_strategies(result)
    findings = [_finding(result, c, lang, debug)
                for c in sorted((c for c in result.conclusions.values() if c.value is not None),
                                key=lambda c: list(result.conclusions).index(c.typology.id))]
    unsettled = _unsettled(result)
    unclear = [short_label(c.typology.label.get(lang)) for c in unsettled]
    # each wrapped line loses its indent and, at worst, a word's width at the break
    unclear_shown, unclear_more = _unclear_line(unclear, lang, UNCLEAR_LINES * (width - 14))
    nba = result.next_best_action
    questions = ranked_questions(result, lang, max(QUESTIONS_SHOWN, QUESTIONS_IN_DETAIL), debug, inapplicable)
    return {
        "lang": lang,
        "debug": debug,
        "name": _shown_name(result.profile.name),
        "rulebase": {"name": rb.name, "version": rb.version, "sha256": rb.sha256} if debug else None,
        "conclusions": findings,
        "unclear": unclear,
        "unclear_shown": unclear_shown,
        "unclear_more": unclear_more,
        "next_best_action": {"text": _flat(nba.strategy.summary.get(lang)), "confidence": nba.confidence,
                             "word": confidence_word(nba.confidence, lang), "percent": percent(nba.confidence),
                             "strategy": nba.strategy.id if debug else None} if nba else None,
        "plan": _plan(result, shown, lang, debug),
        "questions": questions[:QUESTIONS_SHOWN],
        "warnings": _unique([_flat(w.text.get(lang)) for w in result.warnings]),
        "detail": _detail(result, shown, questions[:QUESTIONS_IN_DETAIL], lang, debug),
    }


# --- the full explanation (--detail) --------------------------------------------------

def _explain(result: Result, c: Conclusion, lang: str, debug: bool) -> dict[str, Any]:
    rb = result.rulebase
    tid = c.typology.id
    support = [b for b in c.because if b.cls == c.value and b.weight > 0]
    against_own = [b for b in c.because if b.cls == c.value and b.weight < 0]
    for_others = [b for b in c.because if b.cls != c.value and b.weight > 0]
    evidence = _unique([t for b in support for m in b.facts for t in [_fact_text(rb, m, lang)] if t])
    said = _unique([said_and_why(m, rb, lang) for b in support for m in b.facts if m.kind == "said"])
    reasons = []
    seen: set[str] = set()
    for b in support:
        text = _flat(b.rule.rationale.get(lang))
        if text in seen:
            continue
        seen.add(text)
        reasons.append({"text": text, "rule": b.rule.id if debug else None})
    return {
        **_finding(result, c, lang, debug),
        "evidence": evidence,
        "said": said,
        "reasons": reasons,
        "against": _against_line(result, tid, c, against_own, for_others, lang),
        "sources": _unique([source_title(rb, b.rule.source, lang) for b in support]),
    }


def _against_line(result: Result, tid: str, c: Conclusion, against_own: list[Because],
                  for_others: list[Because], lang: str) -> str | None:
    """Counter-evidence in one line: what speaks against the conclusion, and for which other class."""
    rb = result.rulebase
    parts = []
    own = _unique([t for b in against_own for m in b.facts for t in [_fact_text(rb, m, lang)] if t]
                  + [said_and_why(m, rb, lang) for b in against_own for m in b.facts if m.kind == "said"])
    if own:
        parts.append(tr(lang, "against {label}: {evidence}", label=class_label(rb, tid, c.value, lang),
                        evidence=tr(lang, ", ").join(own)))
    scores = dict(c.scores)
    by_class: dict[str, list[str]] = {}
    for b in for_others:
        texts = [t for m in b.facts for t in [_fact_text(rb, m, lang)] if t]
        texts += [said_and_why(m, rb, lang) for m in b.facts if m.kind == "said"]
        by_class.setdefault(b.cls, []).extend(texts)
    for cls, texts in by_class.items():
        score = scores.get(cls)
        parts.append(tr(lang, "{label} ({percent}): {evidence}", label=class_label(rb, tid, cls, lang),
                        percent=percent(score if score is not None and score > 0 else 0.0),
                        evidence=tr(lang, ", ").join(_unique(texts))))
    return tr(lang, "; ").join(parts) if parts else None


def _undecided(result: Result, c: Conclusion, lang: str) -> dict[str, Any]:
    rb = result.rulebase
    tid = c.typology.id
    if c.reason and c.reason.startswith("ambiguous") and len(c.scores) > 1:
        why = tr(lang, "{first} and {second} are equally likely",
                 first=class_label(rb, tid, c.scores[0][0], lang), second=class_label(rb, tid, c.scores[1][0], lang))
    elif c.scores:
        best, score = c.scores[0]
        why = tr(lang, "too little evidence: at most {label} ({percent})", label=class_label(rb, tid, best, lang),
                 percent=percent(max(score, 0.0)))
    else:
        why = tr(lang, "no evidence yet")
    return {"typology_label": c.typology.label.get(lang), "why": why}


def _strategy(result: Result, s: StrategyResult, lang: str, debug: bool) -> dict[str, Any]:
    rb = result.rulebase
    st = s.strategy
    label = " + ".join(class_label(rb, t, c, lang) for t, c in st.classes) or (
        st.summary.get(lang) if st.summary else "")
    advice = [{"stage_label": stage.label.get(lang), "text": _flat(st.advice[stage.id].get(lang))}
              for stage in rb.stages.values() if stage.id in st.advice]
    if "" in st.advice:
        advice.insert(0, {"stage_label": tr(lang, "Overall"), "text": _flat(st.advice[""].get(lang))})
    return {"label": _flat(label), "confidence": s.confidence, "word": confidence_word(s.confidence, lang),
            "percent": percent(s.confidence), "advice": advice, "source": source_title(rb, st.source, lang),
            "id": st.id if debug else None}


def _detail(result: Result, shown: list[StrategyResult], questions: list[dict[str, Any]], lang: str,
            debug: bool) -> dict[str, Any]:
    rb = result.rulebase
    profile = result.profile
    facts = []
    for fid, v in profile.facts.items():
        f = rb.facts.get(fid)
        if f is not None:
            facts.append({"label": f.label.get(lang), "value": value_label(rb, fid, v, lang),
                          "fact": fid if debug else None})
    return {
        "conclusions": [_explain(result, c, lang, debug) for c in result.conclusions.values() if c.value is not None],
        "undecided": [_undecided(result, c, lang) for c in _unsettled(result)],
        "strategies": [_strategy(result, s, lang, debug) for s in shown],
        "derived": [{"text": tr(lang, "{name}: {value}", name=rb.facts[d.fact].label.get(lang),
                                value=value_label(rb, d.fact, d.value, lang)),
                     "why": _flat(d.rule.rationale.get(lang)), "rule": d.rule.id if debug else None}
                    for d in result.derived if d.fact in rb.facts],
        "facts": facts,
        "utterances": list(profile.utterances),
        "questions": questions,
    }


__all__ = ["QUESTIONS_SHOWN", "also_said", "quotes_an_example", "ranked_questions", "said_clause", "short_label", "shown_strategies",
           "source_title", "summary", "superseded_by"]
