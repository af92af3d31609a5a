"""The "question N · about M left" line, kept steady across answers, `back` and `--resume`.

The ranking's own estimate of the questions left (`Question.remaining`) follows the
evidence and can swing from one answer to the next. What the rep sees moves by one
per answer, plus at most the questions that answer removed from or added to the
relevant set (a context answer that rules out the inquiry questions may take the
estimate down by that many, and says so). A number already shown is shown again
after `back` and after `--resume`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    number: int  # the question's number, as the rep sees it
    left: int  # about how many questions are left, this one included
    change: int  # how far the estimate moved beyond the one question just answered (<0: fewer)


@dataclass
class ProgressTracker:
    shown: dict[int, int] = field(default_factory=dict)  # question number -> estimate shown with it
    relevant: dict[int, frozenset[str]] = field(default_factory=dict)  # question number -> facts then relevant

    def step(self, number: int, remaining: int, relevant: frozenset[str], answered: set[str]) -> Step:
        """The estimate to show with question `number`. `remaining` is the ranking's raw estimate,
        `relevant` the facts relevant now, `answered` the facts answered since the last question."""
        if number in self.shown:  # shown before (back, --resume): the same estimate, its change already told
            return Step(number, self.shown[number], 0)
        left, change = max(1, remaining), 0
        before = self.relevant.get(number - 1)
        if number - 1 in self.shown:
            expected = max(1, self.shown[number - 1] - 1)
            if before is None:  # resumed without the earlier relevant set: keep the count going
                left = expected
            else:
                removed = len(before - relevant - answered)
                added = len(relevant - before)
                left = max(1, min(max(left, expected - removed), expected + added))
            change = left - expected
        self.shown[number] = left
        self.relevant[number] = relevant
        return Step(number, left, change)

    def forget_after(self, number: int) -> None:
        """An answer to question `number` changed: what was shown after it no longer holds."""
        for table in (self.shown, self.relevant):
            for n in [n for n in table if n > number]:
                del table[n]

    def to_json(self) -> dict[str, Any]:
        """What a session file keeps: every estimate shown, and the relevant facts at the last one."""
        last = max(self.shown, default=None)
        return {"shown": {str(n): v for n, v in sorted(self.shown.items())},
                "relevant": sorted(self.relevant.get(last, ())) if last is not None else []}

    @classmethod
    def from_json(cls, data: Any) -> ProgressTracker:
        """Read back `to_json`; anything malformed is dropped (the estimate is then recomputed)."""
        out = cls()
        if not isinstance(data, dict):
            return out
        shown = data.get("shown")
        if isinstance(shown, dict):
            for n, v in shown.items():
                if str(n).isdigit() and isinstance(v, int) and not isinstance(v, bool) and v > 0:
                    out.shown[int(n)] = v
        relevant = data.get("relevant")
        if out.shown and isinstance(relevant, list) and all(isinstance(f, str) for f in relevant):
            out.relevant[max(out.shown)] = frozenset(relevant)
        return out
