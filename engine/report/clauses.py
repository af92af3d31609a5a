"""The customer's own words around a phrase match: the whole clause, never a cut fragment.

Phrase rules match a keyword or a pattern somewhere in an utterance. A rep
reading an explanation (or a batch `reason`) wants the customer's sentence
part that held it — "再降30%我们考虑", not "降30%" and not the whole speech. A
clause ends at sentence or clause punctuation in either script.
"""
from __future__ import annotations

import re

from ..rules.model import normalise_text

# Where a clause ends: sentence and clause punctuation, full- and half-width, and line breaks.
# The enumeration comma 、 and the colon do not end a clause ("价格、交期都要谈"); a half-width
# period or comma between two digits is part of a number ("3.5万", "1,000").
_CLAUSE_END = re.compile(r"(?:[。．!！?？;；，…~～\n\r\u2028\u2029]|(?<!\d)[.,]|[.,](?!\d))+")
# Quotes and brackets that would be left dangling at a clause's edge.
_EDGE = " \t\"'“”‘’「」『』()（）[]【】《》<>"
MAX_CLAUSE_CHARS = 120  # a run-on utterance without punctuation is cut around the match


def split_clauses(utterance: str) -> list[str]:
    """The clauses of an utterance, in order, without their end punctuation; empty ones dropped."""
    parts = (p.strip(_EDGE) for p in _CLAUSE_END.split(utterance))
    return [p for p in parts if p]


def clause_of(utterance: str, hit: str) -> str:
    """The clause (or the fewest consecutive clauses) of `utterance` that contains `hit`.

    `hit` is what phrase matching found, in normalised form (NFKC, case-folded);
    the clause is returned as the customer wrote it. Without a hit, or when the
    hit cannot be placed, the whole utterance is the evidence.
    """
    utterance = utterance.strip()
    needle = normalise_text(hit or "").strip()
    clauses = split_clauses(utterance)
    if not needle or not clauses:
        return _bounded(utterance, needle)
    normed = [normalise_text(c) for c in clauses]
    for i, text in enumerate(normed):
        if needle in text:
            return _bounded(clauses[i], needle)
    # the match spans punctuation ("贵,再降"): the shortest run of clauses holding it
    squeezed = needle.replace(" ", "")
    for length in range(2, len(clauses) + 1):
        for start in range(len(clauses) - length + 1):
            run = "".join(normed[start:start + length]).replace(" ", "")
            if squeezed and _strip_punct(squeezed) in run:
                return _bounded(_join_original(utterance, clauses[start], clauses[start + length - 1]), needle)
    return _bounded(utterance, needle)


def _strip_punct(s: str) -> str:
    return _CLAUSE_END.sub("", s)


def _join_original(utterance: str, first: str, last: str) -> str:
    """The stretch of the original utterance from clause `first` to clause `last`, punctuation kept."""
    start = utterance.find(first)
    end = utterance.find(last, max(start, 0))
    if start < 0 or end < 0:
        return utterance
    return utterance[start:end + len(last)]


def _bounded(text: str, needle: str) -> str:
    """`text`, or a window of it around `needle` when a clause is implausibly long (no punctuation)."""
    if len(text) <= MAX_CLAUSE_CHARS:
        return text
    at = normalise_text(text).find(needle) if needle else -1
    if at < 0:
        return text[:MAX_CLAUSE_CHARS - 1] + "…"
    half = (MAX_CLAUSE_CHARS - len(needle)) // 2
    start = max(0, at - half)
    end = min(len(text), start + MAX_CLAUSE_CHARS)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


__all__ = ["MAX_CLAUSE_CHARS", "clause_of", "split_clauses"]
