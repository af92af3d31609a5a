"""An utterance as clauses: where a thought starts and ends, what weighs more, what is denied.

Customers pack several thoughts into one breath — "好是好,不过今年预算确实紧" — and the one
after 不过/但是/but is the one they mean; the one before is a courtesy. A `Clause` is one such
thought, normalised for matching, with:

- `weight`: 1.0, or less for a conceded clause (before 但是/but, or opened by 虽然/although,
  or the "好是好" pattern), so a courtesy cannot outvote what follows it;
- `question`: asked back ("能不能便宜点?", "could you do a better price?") rather than stated;
- `negations`: where a denial cue (不是, 并不是, 倒不是, it's not …) ends, so a phrase that
  follows one within a few characters is a denial ("不是钱的问题"), not a statement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .normalise import normalise

# What a conceded clause weighs against a plain one.
CONCEDED_WEIGHT = 0.5
# How far (in characters of the normalised clause) a denial cue reaches forward.
NEGATION_REACH_CJK = 6
NEGATION_REACH_LATIN = 24

_PIECE_END = re.compile(r"[,;!?\n]+|(?<!\d)\.(?!\d)|\.{2,}|~+")
# 不过 inside a verb phrase is no "but": 忙不过来, 信不过, 比不过, 周转不过来
_CONTRAST = re.compile(r"但是|(?<![信比打说斗赢拗躲逃熬撑拼敌忙供排转看受想睡气挺])不过(?![来去瘾意])|可是|然而|只不过|"
                       r"只是|(?<![不非])但(?!愿)|\b(?:but|however|though)\b")
_CONCESSIVE = re.compile(r"^(?:虽然|虽说|尽管|固然|although|even though|while)\b|^(?:虽然|虽说|尽管|固然)")
_X_IS_X = re.compile(r"(.{1,2})是\1")  # 好是好, 便宜是便宜: granted, but …
_QUESTION_END = re.compile(r"(?:吗|么|嘛|呢|不|没|没有)$")
_QUESTION_ANY = re.compile(
    r"能不能|可不可以|能否|可否|行不行|有没有|是不是|要不要|会不会|可以不|怎么样|为什么|为啥|多少|"
    r"^(?:can|could|would|will|is|are|do|does|did|any|what|how|why|is there|isn't|aren't|won't|can't)\b"
    r"|\b(?:can you|could you|would you|will you|any chance|how about|what about)\b")
_NEGATION = re.compile(
    r"(?<!是)(?:并不是|倒不是|也不是|并非|不是|不在于|谈不上|算不上|不算是|没说)"
    r"|\b(?:not|isn't|isnt|aren't|wasn't|it's not|its not|it is not|no longer)\b")


@dataclass(frozen=True)
class Clause:
    text: str  # normalised (see normalise.py)
    shown: str  # as the customer wrote it, for explanations
    utterance: int  # index of the utterance it came from
    index: int  # its place in the utterance
    weight: float
    question: bool
    negations: tuple[int, ...]  # end offsets in `text` of denial cues

    def denied_at(self, start: int) -> bool:
        """Whether a phrase starting at `start` in `text` falls in the reach of a denial cue."""
        for end in self.negations:
            if end <= start:
                gap = self.text[end:start]
                reach = NEGATION_REACH_LATIN if gap.isascii() else NEGATION_REACH_CJK
                if len(gap) <= reach:
                    return True
        return False


def _pieces(utterance: str) -> list[tuple[str, bool]]:
    """The utterance cut at sentence marks, each piece with whether a '?' closed it."""
    out: list[tuple[str, bool]] = []
    pos = 0
    text = utterance.replace("？", "?").replace("，", ",").replace("。", ".").replace("；", ";").replace("！", "!")
    for m in _PIECE_END.finditer(text):
        out.append((utterance[pos:m.start()], "?" in m.group(0)))
        pos = m.end()
    out.append((utterance[pos:], False))
    return [(p, q) for p, q in out if p.strip()]


def split_clauses(utterance: str, index: int = 0) -> list[Clause]:
    """The clauses of one utterance, in order."""
    raw: list[tuple[str, str, bool, bool, bool]] = []  # text, shown, question, opened by a contrast, conceded
    for piece, asked in _pieces(utterance):
        shown_piece = piece.strip()
        norm = normalise(shown_piece)
        aligned = len(norm) == len(shown_piece)
        cuts = [m.start() for m in _CONTRAST.finditer(norm) if m.start() > 0] + [len(norm)]
        start, opened = 0, bool(_CONTRAST.match(norm))
        for cut in cuts:
            part = norm[start:cut].strip(" ,")
            if part:
                shown = shown_piece[start:cut].strip(" ,，") if aligned else shown_piece
                raw.append((part, shown, asked and cut == len(norm), opened, False))
            start, opened = cut, True
    clauses: list[Clause] = []
    for i, (text, shown, asked, _opened, _c) in enumerate(raw):
        follows_contrast = i + 1 < len(raw) and raw[i + 1][3]
        conceded = follows_contrast or bool(_CONCESSIVE.match(text)) or bool(_X_IS_X.search(text))
        question = asked or bool(_QUESTION_END.search(text)) or bool(_QUESTION_ANY.search(text))
        negations = tuple(m.end() for m in _NEGATION.finditer(text))
        clauses.append(Clause(text, shown, index, i, CONCEDED_WEIGHT if conceded else 1.0, question, negations))
    return clauses
