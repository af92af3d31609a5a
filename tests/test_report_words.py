"""Issue 11: what a rep reads shows no internals and speaks one language.

Every golden case of the bundled rulebase is rendered as text (one screen and
--detail), Markdown and HTML, in zh and en, and checked:
- no rule, strategy, typology, class, fact or value id appears (ids that are
  ordinary words of the rulebase's own text in that language are allowed,
  e.g. the class `MaN` is also its label); with --debug the ids do appear;
- Chinese output has no English word but proper names (ALLOWED_EN) and the
  customer's own words; English output has no Chinese but the customer's words.
"""
from __future__ import annotations

import html
import re

import pytest

from conftest import BUNDLED
from engine.report.clauses import split_clauses
from engine.words.clauses import split_clauses as word_clauses

# Proper names and model names a Chinese report may carry: TOPK and its animals as the seeds name them,
# the MAN classes, the FAB family and the 4C/4P model's own terms, trade abbreviations.
ALLOWED_EN = frozenset("""
    TOPK Tiger Owl Peacock Koala
    MAN MAn MaN Man mAN mAn maN man M A N B
    FAB FABE FABD FABC FEBA Feature Advantage Benefit Evidence Difference
    C P Customer solution cost Convenience Communication Product Price Place Promotion
    B2B MOQ UL CRM
""".split())
FORMATS = (("text", False), ("text", True), ("md", False), ("html", False))
_ID_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _rulebase_ids(rb) -> set[str]:
    ids = {r.id for r in rb.rules} | {s.id for s in rb.strategies} | set(rb.typologies) | set(rb.facts)
    ids |= {c for t in rb.typologies.values() for c in t.classes}
    ids |= {f"{t.id}.{c}" for t in rb.typologies.values() for c in t.classes}
    ids |= {v for f in rb.facts.values() for v in f.values}
    return ids


def _rep_words(rb, lang: str) -> set[str]:
    """Every token of the text the rulebase itself shows a rep in `lang`."""
    texts = [rb.title.get(lang)]
    texts += [s.label.get(lang) for s in rb.stages.values()]
    for f in rb.facts.values():
        texts += [f.label.get(lang), f.question.get(lang)] + [v.label.get(lang) for v in f.values.values()]
    for t in rb.typologies.values():
        texts += [t.label.get(lang)] + [c.label.get(lang) for c in t.classes.values()]
    texts += [r.rationale.get(lang) for r in rb.rules]
    for s in rb.strategies:
        texts += [a.get(lang) for a in s.advice.values()] + ([s.summary.get(lang)] if s.summary else [])
    for seed in rb.seeds.values():
        texts += [seed.title.get(lang)] + [sec.title for sec in seed.sections.values()]
    return {tok for text in texts for tok in _ID_TOKEN.findall(text)}


def _visible(out: str, fmt: str) -> str:
    """The text a person sees: HTML without tags and entities, Markdown without escapes and tags."""
    if fmt == "html":
        out = out.split("<body>", 1)[1]
        out = html.unescape(re.sub(r"<[^>]*>", " ", out))
    elif fmt == "md":
        out = html.unescape(re.sub(r"<[^>]*>", " ", re.sub(r"\\(.)", r"\1", out)))
    return out


def _without_customer(out: str, profile) -> str:
    """`out` with the customer's words (whole utterances and their clauses, also where a line wraps
    inside them) and the profile's name blanked."""
    words = [profile.name] + [x for u in profile.utterances
                              for x in [u, *split_clauses(u), *(c.shown for c in word_clauses(u))]]
    # what the rep typed into free-text facts (a job title, what they noticed) is theirs, as typed
    words += [str(v) for v in profile.facts.values() if isinstance(v, str) and not (v.isascii() and v.isidentifier())]
    words += [str(x) for v in profile.facts.values() if isinstance(v, list) for x in v
              if isinstance(x, str) and not (x.isascii() and x.isidentifier())]
    for w in sorted(set(filter(None, words)), key=len, reverse=True):
        out = re.sub(r"\n?\s*".join(re.escape(ch) for ch in w if not ch.isspace()), " ", out)
    return out


@pytest.fixture(scope="module")
def outputs():
    """Every golden case, each language, each format: (case name, lang, format, visible text)."""
    from engine.reasoning.compiler import compile_rulebase
    from engine.reasoning.inference import infer
    from engine.report.render import render
    from engine.rules.loader import load_rulebase
    from engine.trainer.casetest import check_cases

    rb = load_rulebase(BUNDLED)
    cases, problems = check_cases(rb)
    assert cases and not problems
    out = []
    with compile_rulebase(rb) as compiled:
        for case in cases:
            result = infer(compiled, case.profile)
            for lang in ("zh", "en"):
                for fmt, detail in FORMATS:
                    text = _visible(render(result, fmt, lang, detail=detail), fmt)
                    out.append((case.name, lang, f"{fmt}{' --detail' if detail else ''}",
                                _without_customer(text, case.profile)))
    return rb, out


def test_no_rule_class_or_fact_id_in_any_report(outputs):
    rb, rendered = outputs
    ids = _rulebase_ids(rb)
    ordinary = {lang: _rep_words(rb, lang) for lang in ("zh", "en")}
    found = []
    for name, lang, fmt, text in rendered:
        bad = {t for t in _ID_TOKEN.findall(text) if t in ids and t not in ordinary[lang]}
        if bad:
            found.append((name, lang, fmt, sorted(bad)[:5]))
    assert not found, f"{len(found)} reports show ids, e.g. {found[:5]}"


def test_no_english_in_chinese_reports(outputs):
    _, rendered = outputs
    found = []
    for name, lang, fmt, text in rendered:
        if lang == "zh":
            bad = {w for w in _EN_WORD.findall(text) if w not in ALLOWED_EN}
            if bad:
                found.append((name, fmt, sorted(bad)[:8]))
    assert not found, f"{len(found)} Chinese reports contain English, e.g. {found[:5]}"


def test_no_chinese_in_english_reports(outputs):
    _, rendered = outputs
    found = [(name, fmt, _CJK.findall(text)[:5]) for name, lang, fmt, text in rendered
             if lang == "en" and _CJK.search(text)]
    assert not found, f"{len(found)} English reports contain Chinese, e.g. {found[:5]}"


def test_debug_shows_the_ids(bundled):
    from conftest import ROOT
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import load_profile
    from engine.report.render import render

    rb = bundled.rulebase
    result = infer(bundled, load_profile(str(ROOT / "examples" / "tiger-price.yaml"), rb))
    for fmt in ("text", "md", "html"):
        out = render(result, fmt, "zh", detail=True, debug=True)
        assert "social_style.axes_tiger" in out and "plan.tiger.MaN.too_expensive" in out, fmt
        assert rb.sha256[:12] in out
        plain = render(result, fmt, "zh", detail=True)
        assert "social_style.axes_tiger" not in plain and rb.sha256[:12] not in plain
