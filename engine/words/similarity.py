"""How close a clause is to the example sentences trainers wrote for each class.

TF-IDF cosine over character 1–3-grams of Chinese and words and word pairs of Latin script,
with scikit-learn's formulas (smooth idf = ln((1+n)/(1+df)) + 1, sublinear tf = 1 + ln(tf),
l2 norm) — tests/test_words.py checks the vectors against scikit-learn's TfidfVectorizer. It is
written out here (≈60 lines) because importing scikit-learn takes ~3.5 s and zhike classify has
a budget of 1 s cold; nothing is downloaded, no model, no hub.

One deliberate difference from `TfidfVectorizer.transform`: n-grams of the clause that no
example has are not dropped but weighed at the highest idf, so a long clause sharing three
characters with an example is not "close" to it.
"""
from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from .normalise import normalise

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9']+")
# Shared n-grams of two or more characters (or words) a clause needs with an example before
# the two count as close: one shared word is a coincidence, not a likeness.
MIN_SHARED = 2


def features(text: str) -> list[str]:
    """The n-grams of an (already normalised) text."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        for n in (1, 2, 3):
            out.extend(run[i:i + n] for i in range(len(run) - n + 1))
    words = _LATIN_WORD.findall(text)
    out.extend(words)
    out.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    return out


def _long(feature: str) -> bool:
    return len(feature) >= 2


@dataclass
class ExampleIndex:
    """The example sentences of one typology's classes, as TF-IDF vectors with an inverted index."""

    examples: list[tuple[str, str]]  # (class id, the sentence as written)
    idf: dict[str, float] = field(default_factory=dict)
    max_idf: float = 1.0
    postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        docs = [Counter(features(normalise(text))) for _cls, text in self.examples]
        n = len(docs)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.idf = {f: math.log((1 + n) / (1 + c)) + 1 for f, c in df.items()}
        self.max_idf = math.log(1 + n) + 1
        for i, d in enumerate(docs):
            vec = {f: (1 + math.log(tf)) * self.idf[f] for f, tf in d.items()}
            norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
            for f, w in vec.items():
                self.postings.setdefault(f, []).append((i, w / norm))

    def vector(self, text: str) -> dict[str, float]:
        """scikit-learn's `transform` of one text: in-vocabulary n-grams only, l2-normalised."""
        counts = Counter(f for f in features(text) if f in self.idf)
        vec = {f: (1 + math.log(tf)) * self.idf[f] for f, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {f: w / norm for f, w in vec.items()}

    def nearest(self, text: str) -> dict[str, tuple[float, int]]:
        """class id -> (cosine similarity, index of its nearest example) for a normalised clause."""
        return self.nearest_counts(Counter(features(text)))

    def nearest_counts(self, counts: Counter[str]) -> dict[str, tuple[float, int]]:
        """`nearest` of a clause given as its n-gram counts (one count serves every typology's index)."""
        postings = self.postings
        # an example needs MIN_SHARED long n-grams in common: without that many in the index at all,
        # no example can be close (most clauses, and most typologies' examples)
        if sum(1 for f in counts if len(f) >= 2 and f in postings) < MIN_SHARED:
            return {}
        weights = {f: (1 + math.log(tf)) * self.idf.get(f, self.max_idf) for f, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        dots: dict[int, float] = {}
        shared: dict[int, int] = {}
        for f, w in weights.items():
            found = postings.get(f)
            if not found:
                continue
            scaled = w / norm  # as `w / norm * dw` groups it
            long = _long(f)
            for i, dw in found:
                dots[i] = dots.get(i, 0.0) + scaled * dw
                if long:
                    shared[i] = shared.get(i, 0) + 1
        best: dict[str, tuple[float, int]] = {}
        for i, s in dots.items():
            if shared.get(i, 0) < MIN_SHARED:
                continue
            cls = self.examples[i][0]
            if s > best.get(cls, (0.0, -1))[0]:
                best[cls] = (round(s, 4), i)
        return best
