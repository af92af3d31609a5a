"""Matching what was said against the rules' `said:` / `noted:` tests, clause by clause.

Each utterance is cut into clauses (clauses.py) and normalised (normalise.py); a test holds
when one clause holds one of its keywords, its concepts' phrases (lexicon.py) or its patterns,
not under a denial cue, in the form the test asks for (question / statement). A phrase found
only under a denial cue satisfies the test's denial twin instead (`<id>!denied`). Example
sentences (similarity.py) give a hit to their class's examples rule. Every hit says which
clause it came from and how strong it is: a conceded clause ("好是好") counts less than the one
after 但是/but, a distant likeness less than a close one.

Regular expressions run in the `regex` package with a time limit per match
(`engine.rules.patterns.REGEX_TIMEOUT`): a pattern that runs out of time counts as not said
and is reported, so one pathological pattern cannot stall a batch.
"""
from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from ..rules.model import Concept, PhraseTest, Rulebase
from ..rules.patterns import (
    MAX_TIMEOUTS,
    REGEX_TIMEOUT,
    case_variants,
    compile_pattern,
    first_chars,
    required_text,
)
from .clauses import Clause, split_clauses
from .lexicon import Phrase, Segmenter, find
from .similarity import ExampleIndex, features

# A clause shorter than this (in characters) is not compared with example sentences: short
# courtesies share a few characters with any sentence that opens the same way.
MIN_SIMILAR_CHARS = 5
RECENT_MATCHES = 256  # results kept per compiled rulebase (a compiled rulebase serves one thread at a time)
# What one utterance holds (see _Heard) is kept for this many distinct utterances: prospect sheets and
# questionnaires repeat the same remarks across rows, and matching them is most of a phrase test's cost.
KEPT_UTTERANCES = 4096
# A pattern whose match can depend on what surrounds a clause (anchors, word boundaries, lookaround):
# the " | "-joined text of all clauses is searched first (see _occurrences) and for such a pattern that
# search is not implied by a clause's own match, so it must still be run on the row's text.
_CONTEXTUAL = re.compile(r"[\^$]|\\[bBAZzGmMK<>]|\(\?<?[=!]|\(\*|\\[^dDwWsSu]")


@dataclass
class PhraseTimeout:
    """A pattern that ran out of time on an utterance: that test counts as not said."""

    test: PhraseTest
    pattern: str
    utterance: int  # index into the profile's utterances; -1 = not tried (the profile's time was spent)


@dataclass(frozen=True)
class Hit:
    """Why a phrase test holds: where, what, how strongly."""

    test: str  # the phrase test's id (a denial twin's id ends in "!denied")
    utterance: int  # index into the utterances (or the rep's notes, for `noted:` tests)
    clause: str  # the clause as it was written
    matched: str  # the phrase or pattern match found (normalised), or the example sentence
    strength: float  # 0..1: scales the rule's weight
    concept: str | None = None  # the lexicon concept whose phrase matched
    question: bool = False
    similarity: float | None = None  # for example sentences: the cosine similarity
    heard: str = "said"  # "noted": from the rep's notes


@dataclass
class _Occurrence:
    strength: float
    clause: Clause
    matched: str
    concept: str | None
    denied: bool


@dataclass
class _Heard:
    """What one utterance (or one of the rep's notes) holds for the phrase tests, whatever the row:
    the same text gives the same finds in any row but for the index of the utterance, which the row
    supplies (`_combine`). Clauses are split as utterance 0."""

    clauses: list[Clause]
    words: list[tuple[PhraseTest, _Occurrence]]  # keyword and concept finds, clause by clause
    patterns: dict[int, list[_Occurrence]]  # position in PhraseMatcher._regexes -> its finds, clause by clause
    similar: dict[str, list[tuple[Clause, str, float, str, float]]]  # typology -> (clause, test, strength,
    #                                                                   example, similarity), clause by clause


class _Starts:
    """The patterns of `PhraseMatcher._regexes` that can match a text: an utterance tries only the
    patterns whose required text it holds (patterns.required_text) and that can start with one of its
    characters (patterns.first_chars); the others cannot match."""

    def __init__(self, regexes: list[tuple[PhraseTest, str | None, list[tuple[str, Any]]]]):
        self.regexes = regexes
        self.of_heard: dict[str, list[int]] = {}  # heard -> positions of its patterns
        self.open: dict[str, list[tuple[int, int]]] = {}  # heard -> (position, k) of patterns always tried
        self.by_char: dict[str, dict[str, list[tuple[int, int]]]] = {}  # heard -> first char -> (position, k)
        # heard -> first character of a required string -> (position, k, the string): patterns with
        # required text are found through it, then checked for their first characters
        self.by_needed: dict[str, dict[str, list[tuple[int, int, str]]]] = {}
        self.first: dict[tuple[int, int], frozenset[str]] = {}
        self._variants: dict[str, frozenset[str]] = {}
        for position, (test, _cid, patterns) in enumerate(regexes):
            self.of_heard.setdefault(test.heard, []).append(position)
            for k, (pattern, _rx) in enumerate(patterns):
                needed, chars = required_text(pattern), first_chars(pattern)
                if chars is not None:
                    self.first[(position, k)] = chars
                if needed is not None:
                    by_needed = self.by_needed.setdefault(test.heard, {})
                    for text in needed:
                        by_needed.setdefault(text[0], []).append((position, k, text))
                elif chars is not None:
                    by_char = self.by_char.setdefault(test.heard, {})
                    for ch in chars:
                        by_char.setdefault(ch, []).append((position, k))
                else:
                    self.open.setdefault(test.heard, []).append((position, k))

    def candidates(self, heard: str, text: str) -> dict[int, list[tuple[str, Any]]]:
        """position -> its patterns that can match `text` (normalised), in the order of `regexes` (as
        `_occurrences` tries them)."""
        found = set(self.open.get(heard, ()))
        present = None
        by_char = self.by_char.get(heard)
        if by_char:
            present = self.present(text)
            for ch in present:
                starting = by_char.get(ch)
                if starting:
                    found.update(starting)
        by_needed = self.by_needed.get(heard)
        if by_needed:
            first = self.first
            for ch in set(text):
                for position, k, needed in by_needed.get(ch, ()):
                    if (position, k) in found or needed not in text:
                        continue  # substring tests cost less than one timed search
                    chars = first.get((position, k))
                    if chars is not None:
                        if present is None:
                            present = self.present(text)
                        if chars.isdisjoint(present):
                            continue
                    found.add((position, k))
        chosen: dict[int, list[tuple[str, Any]]] = {}
        for position, k in sorted(found):
            chosen.setdefault(position, []).append(self.regexes[position][2][k])
        return chosen

    def present(self, text: str) -> set[str]:
        """The characters of a text in all their cases (see first_chars)."""
        out: set[str] = set()
        variants = self._variants
        for ch in set(text):
            v = variants.get(ch)
            if v is None:
                v = variants[ch] = frozenset(case_variants(ch))
            out |= v
        return out


class PhraseMatcher:
    """Finds which phrase tests what was said satisfies, with the evidence."""

    def __init__(self, tests: list[PhraseTest], rulebase: Rulebase | None = None):
        concepts: dict[str, Concept] = rulebase.concepts if rulebase else {}
        self.tests = [t for t in tests if not t.denied and t.examples_of is None]
        self.threshold = rulebase.words.examples_threshold if rulebase else 1.0
        # every phrase once, with the (test, concept) pairs that use it: one search per phrase
        by_phrase: dict[str, list[tuple[PhraseTest, str | None]]] = {}
        self._regexes: list[tuple[PhraseTest, str | None, list[tuple[str, Any]]]] = []
        for t in self.tests:
            for k in t.keywords:
                by_phrase.setdefault(k, []).append((t, None))
            for cid in t.concepts:
                c = concepts[cid]
                for e in c.entries:
                    by_phrase.setdefault(e, []).append((t, cid))
                if c.regexes:
                    self._regexes.append((t, cid, [(r, compile_pattern(r)) for r in c.regexes]))
            if t.regexes:
                self._regexes.append((t, None, [(r, compile_pattern(r)) for r in t.regexes]))
        phrases = [(Phrase.of(k), users) for k, users in by_phrase.items()]
        Segmenter.add_words({p.parts[0] for p, _u in phrases if not p.latin and len(p.parts[0]) <= 4})
        # indexed by the first two characters of their first part: a clause is scanned once, position
        # by position, instead of searching it for every phrase of the rulebase
        self._by_start: dict[str, list[tuple[Phrase, list[tuple[PhraseTest, str | None]]]]] = {}
        for phrase, users in phrases:
            self._by_start.setdefault(phrase.parts[0][:2], []).append((phrase, users))
        self._twins = {t.id for t in tests if t.denied}
        self._examples: dict[str, ExampleIndex] = {}
        self._example_tests: dict[tuple[str, str], str] = {
            t.examples_of: t.id for t in tests if t.examples_of is not None}
        if rulebase is not None:
            for tid in {typ for typ, _c in self._example_tests}:
                typ = rulebase.typologies[tid]
                pairs = [(c.id, e) for c in typ.classes.values() if (tid, c.id) in self._example_tests
                         for e in c.examples]
                if pairs:
                    self._examples[tid] = ExampleIndex(pairs)
        # (pattern, text) pairs that ran out of time: the questionnaire re-runs the same utterances
        # many times, and each would cost REGEX_TIMEOUT again
        self._slow: set[tuple[str, str]] = set()
        self._recent: dict[tuple, tuple[dict[str, Hit], list[PhraseTimeout]]] = {}
        self._contextual = frozenset(i for i, (_t, _c, regexes) in enumerate(self._regexes)
                                     if any(_CONTEXTUAL.search(p) for p, _rx in regexes))
        self._kept = _Kept(self)
        self._starts = _Starts(self._regexes)

    def match(self, utterances: list[str], notes: list[str] | None = None) -> dict[str, Hit]:
        """phrase test id -> the hit that satisfies it."""
        return self.match_checked(utterances, notes)[0]

    def match_checked(self, utterances: list[str], notes: list[str] | None = None
                      ) -> tuple[dict[str, Hit], list[PhraseTimeout]]:
        """Like match, and the patterns that ran out of time (each such test counts as not said).

        The same words are matched again and again — the questionnaire's look-ahead classifies one
        profile per candidate answer — so recent results are kept (the caller never changes them)."""
        key = (tuple(utterances), tuple(notes or ()))
        kept = self._recent.get(key)
        if kept is not None:
            return kept
        result = self._match(utterances, notes)
        if len(self._recent) >= RECENT_MATCHES:
            self._recent.pop(next(iter(self._recent)))
        self._recent[key] = result
        return result

    def _match(self, utterances: list[str], notes: list[str] | None) -> tuple[dict[str, Hit], list[PhraseTimeout]]:
        found: dict[str, Hit] = {}
        timeouts: list[PhraseTimeout] = []
        for heard, texts in (("said", utterances), ("noted", notes or [])):
            if not texts:
                continue
            kept = self._kept.heard(heard, texts)
            if kept is not None:  # every utterance known or learnt without a pattern running out of time
                self._combine(heard, kept, found)
                continue
            clauses = [c for i, u in enumerate(texts) for c in split_clauses(u, i)]
            if not clauses:
                continue
            occ = self._occurrences(clauses, heard, timeouts)
            for test, (t, os) in occ.items():
                self._settle(test, t, [(o, o.clause.utterance) for o in os], found)
            if heard == "said":
                self._place_similar([(c, c.utterance, self._likeness(c)) for c in clauses], found)
        return found, [t for t in timeouts if t.test.id not in found]

    def _combine(self, heard: str, kept: list[_Heard], found: dict[str, Hit]) -> None:
        """What `_occurrences`, `_settle` and `_similar` find in these utterances, from what each holds
        (`_Heard`), in the same order: the first find of a test places it, and the first of the
        strongest finds wins."""
        occ: dict[str, tuple[PhraseTest, list[tuple[_Occurrence, int]]]] = {}
        for u, h in enumerate(kept):
            for test, o in h.words:
                occ.setdefault(test.id, (test, []))[1].append((o, u))
        whole = None
        # in the order of self._regexes, as _occurrences tries them; those that found nothing add nothing
        for position in sorted({p for h in kept for p in h.patterns}):
            test, _cid, regexes = self._regexes[position]
            if test.id in occ and any(not o.denied for o, _u in occ[test.id][1]):
                continue
            finds = [(o, u) for u, h in enumerate(kept) for o in h.patterns.get(position, ())]
            if position in self._contextual:
                # the row's joined text is searched first, as _occurrences does, and for this pattern
                # that search can miss what a clause holds
                if whole is None:
                    whole = " | ".join(c.text for h in kept for c in h.clauses)
                if not self._anywhere(regexes, whole):
                    continue
            occ.setdefault(test.id, (test, []))[1].extend(finds)
        for test_id, (test, finds) in occ.items():
            self._settle(test_id, test, finds, found)
        if heard == "said":
            self._place_similar([(c, u, like) for u, h in enumerate(kept) for c, like in h.similar], found)

    def learn(self, heard: str, utterance: str) -> _Heard | None:
        """What one utterance holds for the tests of `heard` (None: a pattern ran out of time on it, so
        what it holds depends on the row: `_occurrences` says)."""
        clauses = split_clauses(utterance, 0)
        words = [w for c in clauses for w in self._words(c, heard)]
        patterns: dict[int, list[_Occurrence]] = {}
        whole = " | ".join(c.text for c in clauses)
        if self._slow and any((p, c.text) in self._slow for position in self._starts.of_heard.get(heard, ())
                              for p, _rx in self._regexes[position][2] for c in clauses):
            return None
        for position, regexes in self._starts.candidates(heard, whole).items():
            test, cid, _every = self._regexes[position]
            if position not in self._contextual:
                # a pattern that matches a clause matches the joined text: one search rules most out
                try:
                    if not any(rx.search(whole, timeout=REGEX_TIMEOUT) for _p, rx in regexes):
                        continue
                except TimeoutError:
                    return None
            for clause in clauses:
                m = None
                for _pattern, rx in regexes:
                    try:
                        m = rx.search(clause.text, timeout=REGEX_TIMEOUT)
                    except TimeoutError:
                        return None
                    if m:
                        break
                if m and _fits(test, clause):
                    patterns.setdefault(position, []).append(
                        _Occurrence(clause.weight, clause, m.group(0), cid, clause.denied_at(m.start())))
        similar = [(c, self._likeness(c)) for c in clauses] if heard == "said" else []
        return _Heard(clauses, words, patterns, [(c, like) for c, like in similar if like])

    def _occurrences(self, clauses: list[Clause], heard: str, timeouts: list[PhraseTimeout]
                     ) -> dict[str, tuple[PhraseTest, list[_Occurrence]]]:
        occ: dict[str, tuple[PhraseTest, list[_Occurrence]]] = {}

        def add(test: PhraseTest, o: _Occurrence) -> None:
            if _fits(test, o.clause):
                occ.setdefault(test.id, (test, []))[1].append(o)

        for clause in clauses:
            for test, o in self._words(clause, heard):
                occ.setdefault(test.id, (test, []))[1].append(o)
        spent = 0
        whole = " | ".join(c.text for c in clauses)  # one search of everything first: most patterns miss
        for test, cid, regexes in self._regexes:
            if test.heard != heard or (test.id in occ and any(not o.denied for o in occ[test.id][1])):
                continue
            if spent < MAX_TIMEOUTS and not self._anywhere(regexes, whole):
                continue
            for clause in clauses:
                if spent >= MAX_TIMEOUTS:
                    timeouts.append(PhraseTimeout(test, regexes[0][0], -1))
                    break
                m = None
                for pattern, rx in regexes:
                    if (pattern, clause.text) in self._slow:
                        timeouts.append(PhraseTimeout(test, pattern, clause.utterance))
                        continue
                    try:
                        m = rx.search(clause.text, timeout=REGEX_TIMEOUT)
                    except TimeoutError:
                        spent += 1
                        if len(self._slow) > 10_000:
                            self._slow.clear()
                        self._slow.add((pattern, clause.text))
                        self._kept.clear()  # what was learnt of this clause assumed the pattern ran in time
                        timeouts.append(PhraseTimeout(test, pattern, clause.utterance))
                        continue
                    if m:
                        break
                if m:
                    add(test, _Occurrence(clause.weight, clause, m.group(0), cid, clause.denied_at(m.start())))
        return occ

    def _words(self, clause: Clause, heard: str) -> list[tuple[PhraseTest, _Occurrence]]:
        """The keywords and concept phrases in one clause, for the tests of `heard` it fits: the clause is
        scanned once, position by position, trying the phrases that start with the characters there."""
        out: list[tuple[PhraseTest, _Occurrence]] = []
        index = self._by_start
        text = clause.text
        seen: set[str] = set()
        for i in range(len(text)):
            for key in (text[i:i + 2], text[i]):
                for phrase, users in index.get(key, ()):
                    if phrase.text in seen or not text.startswith(phrase.parts[0], i):
                        continue
                    seen.add(phrase.text)
                    start = find(phrase, text)
                    if start < 0:
                        continue
                    denied = clause.denied_at(start)
                    for test, cid in users:
                        if test.heard == heard and _fits(test, clause):
                            out.append((test, _Occurrence(clause.weight, clause, phrase.text, cid, denied)))
        return out

    def _anywhere(self, regexes: list[tuple[str, Any]], text: str) -> bool:
        """Whether any of the patterns can match somewhere (a time-out counts as maybe)."""
        for pattern, rx in regexes:
            if (pattern, text) in self._slow:
                return True
            try:
                if rx.search(text, timeout=REGEX_TIMEOUT):
                    return True
            except TimeoutError:
                return True
        return False

    def _settle(self, test_id: str, test: PhraseTest, occurrences: list[tuple[_Occurrence, int]],
                found: dict[str, Hit]) -> None:
        """The strongest plain occurrence satisfies the test; only denied ones satisfy its twin.
        Each occurrence comes with the index of its utterance."""
        plain = [ou for ou in occurrences if not ou[0].denied]
        if plain:
            o, u = max(plain, key=lambda ou: ou[0].strength)
            key = test_id
        else:
            o, u = max(occurrences, key=lambda ou: ou[0].strength)
            key = f"{test_id}!denied"
            if key not in self._twins:
                return
        found[key] = Hit(key, u, o.clause.shown, o.matched, o.strength, o.concept, o.clause.question,
                         heard=test.heard)

    def _likeness(self, clause: Clause) -> dict[str, tuple[int, float]]:
        """Per typology, the nearest class's example to a clause if close enough: (its index, similarity)."""
        out: dict[str, tuple[int, float]] = {}
        if clause.negations or len(clause.text) < MIN_SIMILAR_CHARS:
            return out  # a denial is not the statement its example makes; "谢谢你们" is like nothing
        counts = Counter(features(clause.text))  # the same n-grams for every typology's index
        for tid, index in self._examples.items():
            near = index.nearest_counts(counts)
            if not near:
                continue
            _cls, (sim, i) = max(near.items(), key=lambda kv: kv[1][0])
            if sim >= self.threshold:
                out[tid] = (i, sim)
        return out

    def _place_similar(self, likes: list[tuple[Clause, int, dict[str, tuple[int, float]]]],
                       found: dict[str, Hit]) -> None:
        """Example-sentence hits: per typology, clause by clause (with its utterance's index and its
        `_likeness`), the nearest class if close enough and stronger than what holds the test already."""
        t = self.threshold
        for tid, index in self._examples.items():
            for clause, u, like in likes:
                near = like.get(tid)
                if near is None:
                    continue
                i, sim = near
                strength = clause.weight * (0.5 + 0.5 * (sim - t) / (1 - t)) if t < 1 else clause.weight
                key = self._example_tests[(tid, index.examples[i][0])]
                if key in found and found[key].strength >= strength:
                    continue
                found[key] = Hit(key, u, clause.shown, index.examples[i][1], round(strength, 4),
                                 None, clause.question, sim)


def _fits(test: PhraseTest, clause: Clause) -> bool:
    """Whether a clause has the form a test asks for (a question, a statement, or either)."""
    if test.form == "question":
        return clause.question
    return not (test.form == "statement" and clause.question)


class _Kept:
    """What recent utterances hold (`_Heard`), per (heard, text), least recently used dropped first:
    bounded, so memory stays flat however long the list."""

    def __init__(self, matcher: PhraseMatcher, size: int = KEPT_UTTERANCES):
        self.matcher, self.size = matcher, size
        self._kept: OrderedDict[tuple[str, str], _Heard | None] = OrderedDict()

    def heard(self, heard: str, texts: list[str]) -> list[_Heard] | None:
        """What each of these utterances holds, or None if a pattern ran out of time on one of them."""
        out: list[_Heard] = []
        for text in texts:
            key = (heard, text)
            if key in self._kept:
                self._kept.move_to_end(key)
                h = self._kept[key]
            else:
                h = self.matcher.learn(heard, text)
                self._kept[key] = h
                if len(self._kept) > self.size:
                    self._kept.popitem(last=False)
            if h is None:
                return None
            out.append(h)
        return out

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
