"""How sure a conclusion is, in words a rep reads: the one place the thresholds live.

Every report (text, md, html, the interview's status line) says "很可能 老虎型 100%"
through `confidence_word`, so the words and their cut-offs cannot drift apart.
"""
from __future__ import annotations

from ..i18n import N_, tr

# (lowest confidence, word), highest first. The words are catalogue messages.
CONFIDENCE_WORDS: tuple[tuple[float, str], ...] = (
    (0.8, N_("likely")),
    (0.6, N_("probably")),
    (0.0, N_("leaning")),
)


def confidence_word(confidence: float, lang: str) -> str:
    """"likely" / "probably" / "leaning" (很可能 / 可能 / 倾向于) for a conclusion's confidence."""
    for floor, word in CONFIDENCE_WORDS:
        if confidence >= floor:
            return tr(lang, word)
    return tr(lang, CONFIDENCE_WORDS[-1][1])


def percent(confidence: float | None) -> str:
    """A confidence as a whole percentage ("91%"); a dash when there is none."""
    return "–" if confidence is None else f"{float(confidence):.0%}"


__all__ = ["CONFIDENCE_WORDS", "confidence_word", "percent"]
