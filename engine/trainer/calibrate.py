"""`zhike rules calibrate`: the rulebase against the team's won and lost deals (seed 004's 成交/未成交分析).

Every closed deal of a CRM export (read through the batch readers and column mapping) is classified;
for each rule and strategy that fired on some deal the report gives how often it fired, the win rate
when it fired and when it did not, the lift, and 95% Wilson intervals; per next best action, the win
rate of the deals it was the recommendation for. Nothing is fitted and the rulebase is never changed.

The statistics are the textbook ones, written out so they can be checked against published tables:
- the Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3);
- for the difference of two win rates, Newcombe's hybrid score interval built from the two Wilson
  intervals (Newcombe 1998, method 10). "Wins more when it fires" is said only when that interval
  lies wholly above zero, "fewer" only when wholly below: about 5% of rules with no effect at all
  will still be called one or the other by chance, which the report says.
- "Not enough data" below MIN_N deals on either side (fired / not fired): with fewer, a 95% interval
  on a win rate is wider than ±18 points and nothing useful can be said.

A rule's weight direction "disagrees with the outcomes" when its class clearly wins more (or less)
than the other deals and the rule, which argues for (or against) that class, clearly goes with the
opposite. Those are flagged for a trainer to review; suggestions only.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..i18n import _
from ..reasoning.compiler import compile_rulebase
from ..reasoning.inference import infer
from ..rules.model import Evidence, Rulebase

Z95 = 1.959963984540054  # the 97.5% point of the standard normal
MIN_N = 30  # deals on each side (fired / not fired) before a verdict is given
OUTCOME_COLUMNS = ("结果", "outcome", "result", "成交结果", "赢输", "stage", "status")
WON = ("赢单", "成交", "已成交", "won", "win", "closed won", "赢")
LOST = ("输单", "未成交", "丢单", "lost", "lose", "closed lost", "输")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials: (p + z²/2n ± z·√(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k0: int, n0: int, z: float = Z95) -> tuple[float, float]:
    """95% interval for p1 - p0 from the two Wilson intervals (Newcombe 1998, method 10)."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


@dataclass
class Tally:
    """Won and total deals on each side of one rule (or strategy): when it fired, when it did not."""

    id: str
    kind: str  # rule | strategy
    fired: int = 0
    won_fired: int = 0
    total: int = 0  # deals with a known outcome
    won_total: int = 0

    @property
    def not_fired(self) -> int:
        return self.total - self.fired

    @property
    def won_not_fired(self) -> int:
        return self.won_total - self.won_fired

    def rate(self) -> float | None:
        return self.won_fired / self.fired if self.fired else None

    def rate_without(self) -> float | None:
        return self.won_not_fired / self.not_fired if self.not_fired else None

    def lift(self) -> float | None:
        r1, r0 = self.rate(), self.rate_without()
        return r1 / r0 if r1 is not None and r0 else None

    def enough(self, min_n: int = MIN_N) -> bool:
        return self.fired >= min_n and self.not_fired >= min_n

    def difference(self) -> tuple[float, float] | None:
        if not self.fired or not self.not_fired:
            return None
        return newcombe_difference(self.won_fired, self.fired, self.won_not_fired, self.not_fired)

    def verdict(self, min_n: int = MIN_N) -> str:
        """not_enough | more_wins | fewer_wins | no_clear_difference"""
        if not self.enough(min_n):
            return "not_enough"
        lo, hi = self.difference() or (-1.0, 1.0)
        return "more_wins" if lo > 0 else "fewer_wins" if hi < 0 else "no_clear_difference"


@dataclass
class Calibration:
    rows: int = 0
    won: int = 0
    lost: int = 0
    unknown_outcome: list[tuple[int, str]] = field(default_factory=list)  # (row, the cell), not used
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (row, why), not used
    tallies: dict[str, Tally] = field(default_factory=dict)
    actions: dict[str | None, list[int]] = field(default_factory=dict)  # NBA id -> [won, deals]
    classes: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (typology, class) -> tally
    disagreements: list[tuple[str, str, str, str]] = field(default_factory=list)  # rule, typology, class, why
    min_n: int = MIN_N
    rows_shown: list[dict[str, Any]] = field(default_factory=list)  # only with --show-rows
    outcome_column: str = ""
    rulebase: Rulebase | None = None

    @property
    def known(self) -> int:
        return self.won + self.lost


def _words(items: Iterable[str]) -> set[str]:
    return {str(x).strip().casefold() for x in items if str(x).strip()}


def outcome_column(columns: list[str], wanted: str | None) -> int:
    from ..batch.mapping import header_key

    keys = [header_key(c) for c in columns]
    for name in ([wanted] if wanted else list(OUTCOME_COLUMNS)):
        k = header_key(name)
        if k in keys:
            return keys.index(k)
    raise InputError(_("no outcome column: name it with --outcome-column (the columns are: {columns})",
                       columns=", ".join(columns)) if not wanted else
                     _("no column {name}; the columns are: {columns}", name=repr(wanted), columns=", ".join(columns)))


def calibrate(path: str, rb: Rulebase, *, mapping: Path | None = None, column: str | None = None,
              won: Iterable[str] = WON, lost: Iterable[str] = LOST, min_n: int = MIN_N, show_rows: bool = False,
              input_format: str | None = None, encoding: str | None = None) -> Calibration:
    """Classify every closed deal of `path` and count wins per rule, strategy, class and next best action."""
    from ..batch.cells import cell_text
    from ..batch.mapfile import load_map
    from ..batch.mapping import build_plan, header_known
    from ..batch.readers import open_table

    won_words, lost_words = _words(won), _words(lost)
    if won_words & lost_words:
        raise InputError(_("{words} cannot mean both won and lost", words=", ".join(sorted(won_words & lost_words))))
    spec = load_map(mapping, rb) if mapping else None
    cal = Calibration(min_n=min_n, rulebase=rb)
    strategies = {st.id for st in rb.strategies}
    with open_table(path, input_format, encoding, known=header_known(rb)) as reader:
        columns = list(reader.columns)
        at = outcome_column(columns, column)
        cal.outcome_column = columns[at]
        plan = build_plan(columns, rb, spec, reserved=frozenset({columns[at]}))
        with compile_rulebase(rb) as compiled:
            for rec in reader:  # streamed: per deal only counters are kept
                cal.rows += 1
                if rec.error:
                    cal.unreadable.append((rec.row, rec.error))
                    continue
                cell = cell_text(rec.values[at]) if at < len(rec.values) else ""
                word = cell.strip().casefold()
                if word not in won_words and word not in lost_words:
                    cal.unknown_outcome.append((rec.row, cell))
                    continue
                values = list(rec.values)
                values[at] = None  # the outcome is what is predicted, never an input
                profile, problems = plan.read(values, f"row {rec.row}")
                if problems:
                    cal.unreadable.append((rec.row, str(problems[0])))
                    continue
                result = infer(compiled, profile, missing=False)
                is_won = word in won_words
                nba = result.next_best_action
                _count(cal, result, nba.strategy.id if nba else None, is_won, strategies)
                if show_rows:
                    cal.rows_shown.append({"row": rec.row, "won": is_won, "next_best_action": nba.strategy.id
                                           if nba else None, "fired": len(result.fired)})
    for t in [*cal.tallies.values(), *cal.classes.values()]:  # every deal is on one side or the other
        t.total, t.won_total = cal.known, cal.won
    _disagreements(cal, rb)
    return cal


def _count(cal: Calibration, result: Any, nba: str | None, is_won: bool, strategies: set[str]) -> None:
    cal.won += is_won
    cal.lost += not is_won
    for rid in set(result.fired):
        t = cal.tallies.get(rid)
        if t is None:
            t = cal.tallies[rid] = Tally(rid, "strategy" if rid in strategies else "rule")
        t.fired += 1
        t.won_fired += is_won
    a = cal.actions.setdefault(nba, [0, 0])
    a[0] += is_won
    a[1] += 1
    for tid, c in result.conclusions.items():
        for cls in c.typology.classes:
            key = (tid, cls)
            if key not in cal.classes:
                cal.classes[key] = Tally(f"{tid}.{cls}", "class")
        if c.value is not None:
            ct = cal.classes[(tid, c.value)]
            ct.fired += 1
            ct.won_fired += is_won


def _disagreements(cal: Calibration, rb: Rulebase) -> None:
    for r in rb.rules:
        t = cal.tallies.get(r.id)
        if t is None or t.verdict(cal.min_n) not in ("more_wins", "fewer_wins"):
            continue
        rule_sign = 1 if t.verdict(cal.min_n) == "more_wins" else -1
        for e in r.then:
            if not isinstance(e, Evidence):
                continue
            ct = cal.classes.get((e.typology, e.cls))
            if ct is None or ct.verdict(cal.min_n) not in ("more_wins", "fewer_wins"):
                continue  # the class itself says nothing about winning: no expectation
            class_sign = 1 if ct.verdict(cal.min_n) == "more_wins" else -1
            expected = class_sign * (1 if e.weight > 0 else -1)
            if expected != rule_sign:
                cal.disagreements.append((r.id, e.typology, e.cls, "for" if e.weight > 0 else "against"))


__all__ = ["LOST", "MIN_N", "WON", "Calibration", "Tally", "calibrate", "newcombe_difference", "outcome_column",
           "wilson"]
