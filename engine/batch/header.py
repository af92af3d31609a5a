"""Where the table of a sheet starts and ends: sheets as offices keep them have a title, notes and blank
rows above the header, and a total or a note under the last prospect.

"2024年5月客户跟进表" in a merged cell, a line of instructions ("A=高意向 …"), an empty row,
and only then 序号, 客户名称, 职位 …: the header is the first row whose cells look like headers —
several of them, mostly short text rather than numbers or dates, as wide as the table — preferring
the row whose cells name facts or usual headers (`known`). `--header-row N` overrides it.

Under the table, a 合计/总计/Total row (the word, then only numbers) or a single-cell note that says
what it is ("备注说明:…", "制表人:…") is not a prospect either (`footer_like`); `trailing_footers`
sets such rows aside only when nothing but such rows follows them, so a prospect is never lost.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

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


# the first cell of a totals row, and the start of a note under a table
_TOTAL = re.compile(r"^(?:合计|总计|小计|共计|累计|总和|汇总|总数|grand\s*total|sub\s*total|totals?|sum)(?=$|[\s:：0-9])",
                    re.IGNORECASE)
_NOTE = re.compile(r"^(?:备注说明|备注|说明|注意|注|填表说明|填写说明|制表人?|审核人?|数据来源|数据截止|导出时间|导出人|"
                   r"统计时间|统计口径|notes?|source)\s*[:：]", re.IGNORECASE)
_FIGURE = re.compile(r"^[^\d]{0,4}\d[\d\s.,%万元个家条人]*$")
R = TypeVar("R")


def footer_like(cells: Sequence[Any]) -> bool:
    """Whether a row reads as what sheets put under the table: a totals row (合计 and numbers) or a note in
    one cell that names itself (备注说明:…)."""
    filled = _filled(cells)
    if not filled or not isinstance(filled[0], str):
        return False
    first = filled[0].strip()
    if len(first) <= 20 and _TOTAL.match(first):
        return all(not isinstance(c, str) or _FIGURE.match(c.strip()) or _NUMBERISH.match(c.strip())
                   for c in filled[1:])
    return len(filled) == 1 and bool(_NOTE.match(first))


def trailing_footers(records: Iterable[R], cells: Callable[[R], Sequence[Any] | None],
                     below: list[R]) -> Iterator[R]:
    """`records` without the footer rows at their end (added to `below`): a footer-like row followed by
    any other row is a prospect after all and comes out in its place. `cells` gives a record's cells, or
    None for a record that is not a clean row (never a footer)."""
    held: list[R] = []
    for rec in records:
        values = cells(rec)
        if values is not None and footer_like(values):
            held.append(rec)
            continue
        yield from held
        held.clear()
        yield rec
    below.extend(held)
