"""Phrase matching keeps what each utterance holds (engine/words/phrases.py: _Heard, _Kept) and skips
patterns that cannot start anywhere in it or whose required text it lacks (engine/rules/patterns.py:
first_chars, required_text). None of these may change a hit: these tests compare with the path that
matches every row from scratch, and with running every pattern."""
from __future__ import annotations

import random

import pytest

from engine.rules.model import PhraseTest, walk
from engine.rules.patterns import compile_pattern, first_chars, required_text
from engine.words.normalise import normalise
from engine.words.phrases import PhraseMatcher


def _matcher(rb) -> PhraseMatcher:
    tests = [c for p in list(rb.rules) + list(rb.strategies) for c in walk(p.when) if isinstance(c, PhraseTest)]
    return PhraseMatcher(tests, rb)


def _afresh(m: PhraseMatcher, utterances: list[str], notes: list[str] | None = None):
    """What matching from scratch gives (no utterance kept, no recent result)."""
    heard = m._kept.heard
    try:
        m._kept.heard = lambda *_a: None  # type: ignore[method-assign]
        return m._match(utterances, notes)
    finally:
        m._kept.heard = heard  # type: ignore[method-assign]


def test_a_kept_utterance_gives_the_same_hits_at_its_own_index(bundled_rb):
    m = _matcher(bundled_rb)
    first, _ = m.match_checked(["太贵了"])
    assert first and all(h.utterance == 0 for h in first.values())
    again, _ = m.match_checked(["你好", "太贵了"])  # the same words, now the second utterance
    assert ("said", "太贵了") in m._kept._kept
    assert {k: h.utterance for k, h in again.items() if k in first} == dict.fromkeys(first, 1)
    assert list(again.items()) == list(_afresh(m, ["你好", "太贵了"])[0].items())  # same hits, same order


def test_kept_utterances_agree_with_matching_afresh(bundled_rb):
    m = _matcher(bundled_rb)
    words = sorted({k for t in m.tests for k in t.keywords})
    rnd = random.Random(3)
    shapes = ["{}", "不是{}", "{}吗?", "好是好,但是{}", "虽然{},不过还行", "我觉得{}", "{} but fine"]
    for _ in range(300):
        said = [rnd.choice(shapes).format(rnd.choice(words)) for _ in range(rnd.randint(1, 3))]
        noted = [rnd.choice(words) for _ in range(rnd.randint(0, 2))]
        got = m._match(said, noted)
        want = _afresh(m, said, noted)
        assert repr(got) == repr(want), said


def test_the_kept_utterances_are_bounded(bundled_rb):
    m = _matcher(bundled_rb)
    m._kept.size = 5
    for i in range(40):
        m.match_checked([f"第{i}次说太贵了"])
    assert len(m._kept) == 5


class _Slow:
    """A pattern that always runs out of time."""

    def search(self, text: str, timeout: float | None = None):
        raise TimeoutError


def test_an_utterance_whose_pattern_ran_out_of_time_is_not_kept(bundled_rb):
    m = _matcher(bundled_rb)
    test, cid, regexes = next(e for e in m._regexes if e[0].heard == "said")
    i = m._regexes.index((test, cid, regexes))
    m._regexes[i] = (test, cid, [(regexes[0][0], _Slow())])
    m._starts.open.setdefault("said", []).append((i, 0))  # always tried
    hits, slow = m.match_checked(["预算用完了"])
    assert m._kept._kept.get(("said", "预算用完了")) is None  # what it holds depends on the row's time
    assert [t.test.id for t in slow] == [test.id] or test.id in hits
    assert repr(m.match_checked(["预算用完了", "嗯"])) == repr(_afresh(m, ["预算用完了", "嗯"]))


@pytest.mark.parametrize("pattern, starts", [
    ("(换|试)(个)?牌子", {"换", "试"}),
    ("(?<!价)(钱|资金)", {"钱", "资"}),
    ("^太贵", {"太"}),
    ("compar(e|ing)", {"c", "C"}),
    ("a?b", {"a", "A", "b", "B"}),
])
def test_first_chars_are_what_a_match_can_start_with(pattern, starts):
    assert first_chars(pattern) == frozenset(starts)


@pytest.mark.parametrize("pattern", [r"\d+件", ".{0,3}贵", "[^a]x", r"[\u4e00-\u9fff]+", "x?"])
def test_first_chars_give_up_on_what_they_cannot_spell_out(pattern):
    assert first_chars(pattern) is None


def test_text_without_a_first_char_does_not_match(bundled):
    rnd = random.Random(7)
    texts = ["太贵了", "预算今年已经用完了", "we need two units", "K", "ſs", "老板要审批一下", "比较了三家"]
    for _t, _c, regexes in bundled.phrases._regexes:
        for pattern, _rx in regexes:
            starts = first_chars(pattern)
            if starts is None:
                continue
            rx = compile_pattern(pattern)
            for text in texts + [rnd.choice(texts) + rnd.choice(texts)]:
                if rx.search(text):
                    assert not starts.isdisjoint(bundled.phrases._starts.present(text)), (pattern, text)


@pytest.mark.parametrize("pattern, needed", [
    ("太贵", {"太贵"}),
    ("(换|试)(个)?牌子", {"换个牌子", "换牌子", "试个牌子", "试牌子"}),
    ("(?<!价)(钱|资金)", {"钱", "资金"}),
    (r"\d+件", {"件"}),
    (".{0,3}贵", {"贵"}),
    (r"\b(no|not) budget\b", {"no budget", "not budget"}),
    ("(?i)It.?s GOOD", {"s good"}),  # ASCII letters folded, as utterances are
    ("Größe", {"gr"}),  # other cased letters are opaque: ö and ß could be written in another case
])
def test_required_text_is_what_every_match_holds(pattern, needed):
    assert required_text(pattern) == frozenset(needed)


@pytest.mark.parametrize("pattern", [
    r"[\u4e00-\u9fff]+", "x?", "(a|b?)c?", r"(\w+)\1",
    "(?:预算不够){e<=1}",  # fuzzy: `regex` matches 须算不够 too, which the standard library's parser cannot see
    "[[:alpha:]]+钱",  # a POSIX class: to the standard library, the characters [ : a l p h
])
def test_required_text_gives_up_on_what_it_cannot_tell(pattern):
    assert required_text(pattern) is None


@pytest.mark.parametrize("pattern, text", [("(?:预算不够){e<=1}", "须算不够"), ("[[:alpha:]]+钱", "x钱")])
def test_patterns_the_standard_parser_misreads_are_always_tried(pattern, text):
    assert compile_pattern(pattern).search(text)
    assert first_chars(pattern) is None and required_text(pattern) is None


def _corpus_texts(rb) -> list[str]:
    """What customers say in the rulebase's corpus (every split)."""
    from engine.trainer.corpus import corpus_dir, load_corpus

    return sorted({item.said for item in load_corpus(rb, corpus_dir(rb))})


def test_no_match_lacks_its_required_text(bundled):
    """Every pattern of the bundled rulebase, on the corpus's utterances and on the patterns' own
    text: wherever it matches, the normalised text holds one of its required strings."""
    texts = [normalise(t) for t in _corpus_texts(bundled.rulebase)]
    patterns = sorted({p for _t, _c, regexes in bundled.phrases._regexes for p, _rx in regexes})
    rnd = random.Random(11)
    checked = 0
    for pattern in patterns:
        needed = required_text(pattern)
        if needed is None:
            continue
        rx = compile_pattern(pattern)
        own = [normalise(s) for s in needed]
        for text in texts + own + [rnd.choice(texts) + s + rnd.choice(texts) for s in own]:
            if rx.search(text):
                checked += 1
                assert any(s in text for s in needed), (pattern, text)
    assert checked > 500  # the check saw matches, not only misses


def test_required_text_changes_no_hit(bundled_rb):
    """What each utterance holds, learnt with the filters (required text, first characters) and with
    every pattern tried."""
    m = _matcher(bundled_rb)
    texts = _corpus_texts(bundled_rb)
    with_filter = [repr(m.learn(heard, t)) for heard in ("said", "noted") for t in texts]
    starts = m._starts
    m._starts.candidates = lambda heard, _text: {  # type: ignore[method-assign]
        position: list(starts.regexes[position][2]) for position in starts.of_heard.get(heard, ())}
    assert [repr(m.learn(heard, t)) for heard in ("said", "noted") for t in texts] == with_filter
    assert sum("_Occurrence" in h for h in with_filter) > 100
