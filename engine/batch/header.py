"""Which row of a sheet is its header: sheets as offices keep them have a title, notes and blank rows above it.

"2024年5月客户跟进表" in a merged cell, a line of instructions ("A=高意向 …"), an empty row,
and only then 序号, 客户名称, 职位 …: the header is the first row whose cells look like headers —
several of them, mostly short text rather than numbers or dates, as wide as the table — preferring
the row whose cells name facts or usual headers (`known`). `--header-row N` overrides it.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Sequence
from typing import Any

HEADER_SCAN = 30  # rows looked at for the header; a header further down must be named (--header-row)
_NUMBERISH = re.compile(r"^[\s¥￥$%+\-.,:/0-9年月日万元]*$")


def _filled(cells: Sequence[Any]) -> list[Any]:
    return [c for c in cells if c is not None and (not isinstance(c, str) or c.strip())]


def _texty(c: Any) -> bool:
    """A cell a header could hold: short text that is not a number or a date."""
    if not isinstance(c, str):
        return False
    s = c.strip()
    return 0 < len(s) <= 40 and not _NUMBERISH.match(s)


def header_score(cells: Sequence[Any], known: Callable[[str], bool] | None) -> tuple[int, int] | None:
    """(cells naming something known, text cells) for a row that could be a header, else None."""
    filled = _filled(cells)
    if len(filled) < 2:
        return None  # a title or a note: one cell (merged or not)
    if any(isinstance(c, (int, float, _dt.date, _dt.time)) and not isinstance(c, bool) for c in filled):
        return None  # numbers and dates are data, not headers
    text = [c for c in filled if _texty(c)]
    if len(text) < 0.8 * len(filled):
        return None
    if len({str(c).strip() for c in filled}) < 0.8 * len(filled):
        return None  # a header names each column once
    hits = sum(1 for c in text if known is not None and known(str(c)))
    return hits, len(text)


def pick_header(rows: Sequence[Sequence[Any]], known: Callable[[str], bool] | None = None) -> int | None:
    """The index in `rows` (the first non-blank rows of a sheet) of its header row; None when no row looks
    like one (then the first row is the header, as before)."""
    scored = [(i, header_score(r, known)) for i, r in enumerate(rows[:HEADER_SCAN])]
    candidates = [(i, s) for i, s in scored if s is not None]
    if not candidates:
        return None
    widest = max(len(_filled(r)) for r in rows[:HEADER_SCAN])
    wide = [(i, s) for i, s in candidates if len(_filled(rows[i])) >= max(2, widest // 2)]
    if not wide:
        return None
    best_hits = max(s[0] for _i, s in wide)
    if best_hits >= 2:
        # the first row naming about as many known headers as any (a header repeated further down is data)
        return next(i for i, s in wide if s[0] >= max(2, best_hits - 1))
    # nothing known: skip only rows that are sparser than the table (titles, notes), never a full row
    first = wide[0][0]
    if all(len(_filled(r)) < max(2, widest // 2) for r in rows[:first]):
        return first
    return None
