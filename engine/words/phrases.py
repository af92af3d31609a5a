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

from dataclasses import dataclass
from typing import Any

from ..rules.model import Concept, PhraseTest, Rulebase
from ..rules.patterns import MAX_TIMEOUTS, REGEX_TIMEOUT, compile_pattern
from .clauses import Clause, split_clauses
from .lexicon import Phrase, Segmenter, find
from .similarity import ExampleIndex

# A clause shorter than this (in characters) is not compared with example sentences: short
# courtesies share a few characters with any sentence that opens the same way.
MIN_SIMILAR_CHARS = 5
RECENT_MATCHES = 256  # results kept per compiled rulebase (a compiled rulebase serves one thread at a time)


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
            clauses = [c for i, u in enumerate(texts) for c in split_clauses(u, i)]
            if not clauses:
                continue
            occ = self._occurrences(clauses, heard, timeouts)
            for test, found_at in occ.items():
                self._settle(test, found_at, found)
            if heard == "said":
                self._similar(clauses, found)
        return found, [t for t in timeouts if t.test.id not in found]

    def _occurrences(self, clauses: list[Clause], heard: str, timeouts: list[PhraseTimeout]
                     ) -> dict[str, tuple[PhraseTest, list[_Occurrence]]]:
        occ: dict[str, tuple[PhraseTest, list[_Occurrence]]] = {}

        def add(test: PhraseTest, o: _Occurrence) -> None:
            if test.form == "question" and not o.clause.question:
                return
            if test.form == "statement" and o.clause.question:
                return
            occ.setdefault(test.id, (test, []))[1].append(o)

        index = self._by_start
        for clause in clauses:
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
                            if test.heard == heard:
                                add(test, _Occurrence(clause.weight, clause, phrase.text, cid, denied))
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
                        timeouts.append(PhraseTimeout(test, pattern, clause.utterance))
                        continue
                    if m:
                        break
                if m:
                    add(test, _Occurrence(clause.weight, clause, m.group(0), cid, clause.denied_at(m.start())))
        return occ

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

    def _settle(self, test_id: str, found_at: tuple[PhraseTest, list[_Occurrence]], found: dict[str, Hit]) -> None:
        """The strongest plain occurrence satisfies the test; only denied ones satisfy its twin."""
        test, occurrences = found_at
        plain = [o for o in occurrences if not o.denied]
        if plain:
            o = max(plain, key=lambda o: o.strength)
            key = test_id
        else:
            o = max(occurrences, key=lambda o: o.strength)
            key = f"{test_id}!denied"
            if key not in self._twins:
                return
        found[key] = Hit(key, o.clause.utterance, o.clause.shown, o.matched, o.strength, o.concept,
                         o.clause.question, heard=test.heard)

    def _similar(self, clauses: list[Clause], found: dict[str, Hit]) -> None:
        """Example-sentence hits: per clause, its nearest class within each typology, if close enough."""
        t = self.threshold
        for tid, index in self._examples.items():
            for clause in clauses:
                if clause.negations or len(clause.text) < MIN_SIMILAR_CHARS:
                    continue  # a denial is not the statement its example makes; "谢谢你们" is like nothing
                near = index.nearest(clause.text)
                if not near:
                    continue
                cls, (sim, i) = max(near.items(), key=lambda kv: kv[1][0])
                if sim < t:
                    continue
                strength = clause.weight * (0.5 + 0.5 * (sim - t) / (1 - t)) if t < 1 else clause.weight
                key = self._example_tests[(tid, cls)]
                if key in found and found[key].strength >= strength:
                    continue
                found[key] = Hit(key, clause.utterance, clause.shown, index.examples[i][1], round(strength, 4),
                                 None, clause.question, sim)
