"""Scores for the utterance corpus, and the held-out floor (`rulebase/corpus/floor.yaml`).

Plain Python on purpose (checked against scikit-learn in tests/test_corpus.py):
per class precision, recall, F1 and support; the confusion matrix, expected ×
got, with null ("no class") as a row and a column; macro-F1, the mean F1 over
the real classes only — null is a label of the matrix, not a class whose F1
counts; and the rate at which plain remarks (expect null) are given a class.

The real classes of a score are those the split expects or the rulebase
answers (a class answered but never expected counts, with F1 0: a false hit
must cost something), in the typology's order.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Pos, Problem, did_you_mean
from ..i18n import _
from ..rules.loader import display_path
from ..rules.model import Rulebase
from ..rules.yamlpos import YamlError, load_file

FLOOR_FILE = "floor.yaml"
FLOOR_SPLIT = "heldout"


@dataclass
class ClassScore:
    cls: str
    precision: float
    recall: float
    f1: float
    support: int  # items expected to be this class
    predicted: int  # items the rulebase gave this class


@dataclass
class Scores:
    typology: str
    split: str
    classes: list[ClassScore]
    macro_f1: float | None  # None when the split has no real class at all
    total: int
    correct: int
    plain_total: int  # items expected null
    plain_hit: int  # … of which the rulebase gave a class
    labels: list[str | None]  # rows and columns of the matrix: the real classes, then None
    matrix: list[list[int]]  # matrix[expected][got]

    @property
    def plain_hit_rate(self) -> float | None:
        return self.plain_hit / self.plain_total if self.plain_total else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def score(typology: str, split: str, pairs: Iterable[tuple[str | None, str | None]],
          order: Sequence[str] = ()) -> Scores:
    """Scores of (expected, got) pairs; `order` is the typology's class order (others sort after it)."""
    pairs = list(pairs)
    seen = {c for pair in pairs for c in pair if c is not None}
    rank = {c: i for i, c in enumerate(order)}
    real = sorted(seen, key=lambda c: (rank.get(c, len(rank)), c))
    labels: list[str | None] = [*real, None]
    index = {c: i for i, c in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for expected, got in pairs:
        matrix[index[expected]][index[got]] += 1
    classes: list[ClassScore] = []
    for c in real:
        i = index[c]
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        p, r = _ratio(tp, predicted), _ratio(tp, support)
        classes.append(ClassScore(c, p, r, _ratio(2 * p * r, p + r), support, predicted))
    macro = sum(s.f1 for s in classes) / len(classes) if classes else None
    plain = matrix[index[None]]
    return Scores(typology, split, classes, macro, len(pairs), sum(1 for e, g in pairs if e == g),
                  sum(plain), sum(plain) - plain[index[None]], labels, matrix)


# --- the floor -----------------------------------------------------------------------------

@dataclass
class FloorMiss:
    typology: str
    floor: float
    got: float | None  # None: the held-out split has no real class of this typology


def floor_path(corpus: Path) -> Path:
    return corpus / FLOOR_FILE


def load_floor(rb: Rulebase, path: Path) -> dict[str, float]:
    """The held-out macro-F1 floors per typology; {} when there is no floor file. InputError on mistakes."""
    if not path.is_file():
        return {}
    problems: list[Problem] = []
    try:
        doc = load_file(path, display_path(path))
    except YamlError as e:
        raise InputError(_("the floor file has errors"), e.problems) from None
    if doc is None:
        return {}
    floors: dict[str, float] = {}

    def bad(pos: Pos, message: str) -> None:
        problems.append(Problem(pos, message, "corpus-floor"))

    if not isinstance(doc.value, dict) or not isinstance(doc.value.get(FLOOR_SPLIT).value
                                                         if FLOOR_SPLIT in doc.value else None, dict):
        bad(doc.pos, _("the floor file holds `heldout:`, a mapping of typology ids to the lowest macro-F1 "
                       "allowed (0 to 1), e.g. `heldout: {{objection: 0.9}}`"))
        raise InputError(_("the floor file has errors"), problems)
    for k, v in doc.value.items():
        if k != FLOOR_SPLIT:
            bad(v.key_pos or v.pos, _("unknown key {key}; the floor file holds only `heldout:`", key=repr(k)))
    for tid, v in doc.value[FLOOR_SPLIT].value.items():
        if tid not in rb.typologies:
            bad(v.key_pos or v.pos, _("unknown typology {id}{hint}", id=repr(tid), hint=did_you_mean(tid, rb.typologies)))
        elif isinstance(v.value, bool) or not isinstance(v.value, (int, float)) or not 0 <= v.value <= 1:
            bad(v.pos, _("a floor is a macro-F1 from 0 to 1"))
        else:
            floors[tid] = float(v.value)
    if problems:
        raise InputError(_("the floor file has errors"), problems)
    return floors


def check_floor(floors: dict[str, float], heldout: dict[str, Scores]) -> list[FloorMiss]:
    """Each typology whose held-out macro-F1 is below its floor (or cannot be measured)."""
    misses: list[FloorMiss] = []
    for tid, floor in floors.items():
        s = heldout.get(tid)
        got = s.macro_f1 if s is not None else None
        if got is None:
            if floor > 0:
                misses.append(FloorMiss(tid, floor, None))
        elif got < floor - 1e-9:
            misses.append(FloorMiss(tid, floor, got))
    return misses


def round_down(x: float) -> float:
    """Rounded down to 0.01: a floor written from a figure never sits above it."""
    return math.floor(x * 100 + 1e-9) / 100


def floor_text(heldout: dict[str, Scores], keep: dict[str, float] | None = None) -> str:
    """The floor file for the current held-out figures (rounded down); typologies not measured keep theirs."""
    floors = dict(keep or {})
    floors.update({tid: round_down(s.macro_f1) for tid, s in heldout.items() if s.macro_f1 is not None})
    lines = ["# Held-out macro-F1 floors per typology: `zhike rules test --corpus` exits 1 when a",
             "# held-out figure drops below its floor. Written by `zhike rules test --corpus --write-floor`",
             "# (current figures rounded down to 0.01); raise a floor only with a better held-out figure.",
             f"{FLOOR_SPLIT}:"]
    lines += [f"  {tid}: {floors[tid]:.2f}" for tid in floors]
    return "\n".join(lines) + "\n"


__all__ = ["FLOOR_FILE", "ClassScore", "FloorMiss", "Scores", "check_floor", "floor_path", "floor_text",
           "load_floor", "round_down", "score"]
