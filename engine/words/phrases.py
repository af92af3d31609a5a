"""Matching the customer's own words against the rules' `said:` tests.

Keywords are compared after normalising (`engine.rules.model.normalise_text`);
regular expressions run in the `regex` package with a time limit per match
(`engine.rules.patterns.REGEX_TIMEOUT`): a pattern that runs out of time counts
as "not said" and is reported, so one pathological pattern cannot stall a batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..rules.model import PhraseTest, normalise_text
from ..rules.patterns import MAX_TIMEOUTS, REGEX_TIMEOUT, compile_pattern


@dataclass
class PhraseTimeout:
    """A pattern that ran out of time on an utterance: that test counts as not said."""

    test: PhraseTest
    pattern: str
    utterance: int  # index into the profile's utterances; -1 = not tried (the profile's time was spent)


@dataclass
class PhraseMatcher:
    """Finds which `said:` tests the customer's words satisfy, with the evidence."""

    tests: list[PhraseTest]
    _compiled: list[tuple[PhraseTest, list[tuple[str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = [(t, [(r, compile_pattern(r)) for r in t.regexes]) for t in self.tests]
        # every keyword once, with the tests that use it: one substring check per keyword
        by_keyword: dict[str, list[str]] = {}
        for t in self.tests:
            for k in t.keywords:
                by_keyword.setdefault(k, []).append(t.id)
        self._keywords = list(by_keyword.items())
        # (pattern, text) pairs that ran out of time: the questionnaire re-runs the same utterances
        # many times, and each would cost REGEX_TIMEOUT again
        self._slow: set[tuple[str, str]] = set()

    def match(self, utterances: list[str]) -> dict[str, tuple[int, str]]:
        """phrase id -> (index of the utterance, the text that matched)."""
        return self.match_checked(utterances)[0]

    def match_checked(self, utterances: list[str]) -> tuple[dict[str, tuple[int, str]], list[PhraseTimeout]]:
        """Like match, and the patterns that ran out of time (each such test counts as not said)."""
        found: dict[str, tuple[int, str]] = {}
        timeouts: list[PhraseTimeout] = []
        normed = [normalise_text(u) for u in utterances]
        for i, text in enumerate(normed):
            for kw, ids in self._keywords:
                if kw in text:
                    for pid in ids:
                        if pid not in found:
                            found[pid] = (i, kw)
        spent = 0
        for test, regexes in self._compiled:
            if test.id in found or not regexes:
                continue
            if spent >= MAX_TIMEOUTS:
                timeouts.append(PhraseTimeout(test, regexes[0][0], -1))
                continue
            for i, text in enumerate(normed):
                m = None
                for pattern, rx in regexes:
                    if (pattern, text) in self._slow:
                        timeouts.append(PhraseTimeout(test, pattern, i))
                        continue
                    try:
                        m = rx.search(text, timeout=REGEX_TIMEOUT)
                    except TimeoutError:
                        spent += 1
                        if len(self._slow) > 10_000:
                            self._slow.clear()
                        self._slow.add((pattern, text))
                        timeouts.append(PhraseTimeout(test, pattern, i))
                        continue
                    if m:
                        break
                if m:
                    found[test.id] = (i, m.group(0))
                    break
                if spent >= MAX_TIMEOUTS:
                    break
        return found, [t for t in timeouts if t.test.id not in found]
