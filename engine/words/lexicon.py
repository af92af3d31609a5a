"""Finding a phrase in a clause: literal words, `...` gaps, word boundaries.

A phrase (a lexicon entry or a rule's keyword) is normalised like the customer's words and
found inside one clause:
- Latin-script phrases match whole words only ("no budget" not in "no budgets"? — yes it is
  not: the phrase must end at a word boundary);
- a Chinese phrase of one or two characters matches only where the clause, segmented into
  words (jieba, with jieba's 60,000 most frequent words plus every lexicon phrase), has a word
  boundary at both its ends — 没钱 is in 今年没钱了 but not in 没钱包; longer phrases are
  specific enough to match anywhere;
- `...` between two parts allows a short gap (8 characters, or 3 words in Latin script).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from .normalise import has_cjk, normalise

GAP = "..."
GAP_CJK = 8
GAP_LATIN_WORDS = 3
SHORT_CJK = 2  # phrases this short (in characters) must sit on word boundaries
_WORD_CHAR = re.compile(r"[a-z0-9']")
_DICT = Path(__file__).parent / "data" / "common_words.txt"


@dataclass(frozen=True)
class Phrase:
    """One normalised phrase, ready to search for."""

    text: str
    parts: tuple[str, ...]
    latin: bool  # no Chinese in it: whole words only
    short: bool  # Chinese and at most SHORT_CJK characters: word boundaries from segmentation

    @classmethod
    def of(cls, written: str) -> Phrase:
        text = normalise(written.replace(GAP, "\0")).replace("\0", GAP)
        parts = tuple(p.strip() for p in text.split(GAP) if p.strip())
        latin = not has_cjk(text)
        return cls(text, parts, latin, not latin and len(parts) == 1 and len(parts[0]) <= SHORT_CJK)


class Segmenter:
    """jieba on a compact dictionary, loaded on first need (≈0.2 s), shared by the process."""

    _lock = threading.Lock()
    _tokenizer = None
    _extra: ClassVar[set[str]] = set()

    @classmethod
    def add_words(cls, words: set[str]) -> None:
        with cls._lock:
            new = words - cls._extra
            cls._extra |= new
            if cls._tokenizer is not None:
                for w in sorted(new):
                    cls._tokenizer.add_word(w)

    @classmethod
    def tokenizer(cls):
        with cls._lock:
            if cls._tokenizer is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer(dictionary=str(_DICT))
                tk.initialize()
                for w in sorted(cls._extra):
                    tk.add_word(w)
                cls._tokenizer = tk
            return cls._tokenizer

    @classmethod
    @lru_cache(maxsize=4096)
    def boundaries(cls, text: str) -> frozenset[int]:
        """Offsets in `text` where one word ends and the next begins (0 and len included)."""
        out, pos = {0}, 0
        for word in cls.tokenizer().cut(text, HMM=True):
            pos += len(word)
            out.add(pos)
        return frozenset(out)


def find(phrase: Phrase, text: str) -> int:
    """The offset of the first acceptable occurrence of `phrase` in the clause `text`, or -1."""
    first = phrase.parts[0]
    start = text.find(first)
    while start >= 0:
        end = start + len(first)
        if _edges_ok(phrase, text, start, end) and _rest_follows(phrase, text, end):
            return start
        start = text.find(first, start + 1)
    return -1


def _edges_ok(phrase: Phrase, text: str, start: int, end: int) -> bool:
    if phrase.latin:
        return not (start > 0 and _WORD_CHAR.match(text[start - 1])) and not (
            len(phrase.parts) == 1 and end < len(text) and _WORD_CHAR.match(text[end]))
    if phrase.short:
        if not _straddled(text, start, end):
            return True  # no known word crosses either edge: every segmentation has a boundary there
        bounds = Segmenter.boundaries(text)
        return start in bounds and end in bounds
    return True


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    with open(_DICT, encoding="utf-8") as fh:
        return frozenset(line.split(" ", 1)[0] for line in fh)


def _straddled(text: str, start: int, end: int) -> bool:
    """Whether a common word of 2–4 characters crosses `start` or `end` (so segmentation must decide)."""
    words = _common_words()
    for edge in (start, end):
        for i in range(max(0, edge - 3), edge):
            for j in range(edge + 1, min(len(text), i + 4) + 1):
                if text[i:j] in words and text[i:j] != text[start:end]:
                    return True
    return False


def _rest_follows(phrase: Phrase, text: str, pos: int) -> bool:
    """Whether the later parts of a gapped phrase follow, each within the gap allowed."""
    for part in phrase.parts[1:]:
        nxt = text.find(part, pos)
        if nxt < 0:
            return False
        gap = text[pos:nxt]
        if phrase.latin:
            if len(gap.split()) > GAP_LATIN_WORDS or (nxt + len(part) < len(text)
                                                     and _WORD_CHAR.match(text[nxt + len(part)])):
                return False
        elif len(gap) > GAP_CJK:
            return False
        pos = nxt + len(part)
    return True
