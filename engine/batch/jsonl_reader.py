"""Prospect lists in, JSONL: one JSON object per line, its keys the columns (in order of first appearance).

A line that is not a JSON object, nests too deeply or is too long comes out as a `Record` with
an error code (never a stop), its text kept for the rejects file.
"""
from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

from ..errors import InputError
from ..i18n import _
from .cells import (
    ABSENT,
    CELL_LIMIT,
    JSONL_DEPTH_LIMIT,
    MAX_COLUMNS,
    PIECE_BYTES,
    ROW_LIMIT,
    SURROGATE,
    cell_text,
    spool,
)
from .readers import Record, TableReader
from .textlines import LF, PIECE, WHOLE, ByteLines


class JsonlReader(TableReader):
    format = "jsonl"
    encoding = "utf-8"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b""):
        self.name = name
        self.above, self.notes = [], []
        if head or not fh.seekable():
            fh = spool(fh, head)
            size = None
        self._fh = fh
        self.size = size or os.fstat(fh.fileno()).st_size
        # One pass for the union of keys (the columns of a CSV/XLSX output), then the real one.
        keys: dict[str, None] = {}
        for line, kind in ByteLines(fh, PIECE_BYTES, LF):
            obj = _json_object(line) if kind == WHOLE else None
            if isinstance(obj, dict):
                keys.update(dict.fromkeys(obj))
                if len(keys) > MAX_COLUMNS:
                    raise InputError(_("{name}: the records have more than {limit} different keys, the limit "
                                       "for columns", name=name, limit=format(MAX_COLUMNS, ",")))
        fh.seek(0)
        self.columns = list(keys)
        self.header_row = 0
        self._pos = 0

    def __iter__(self) -> Iterator[Record]:
        n = 0
        for line, kind in ByteLines(self._fh, PIECE_BYTES, LF):
            self._pos += len(line)
            if kind != PIECE:
                n += 1
            if kind != WHOLE:
                yield Record(n, [], "json", _("line {line} is longer than {limit} bytes; it is kept here in "
                                              "pieces of {limit} bytes", line=n, limit=format(PIECE_BYTES, ",")),
                             raw=line.decode("utf-8", "surrogateescape"))
                continue
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
            if n == 1:
                text = text.lstrip("\ufeff")
            if SURROGATE.search(text):
                yield Record(n, [], "encoding", _("line {line} is not UTF-8 text", line=n), raw=text)
                continue
            if len(text) > ROW_LIMIT:
                yield Record(n, [], "json", _("line {line} has {n} characters; the limit for a line is {limit}",
                                              line=n, n=format(len(text), ","), limit=format(ROW_LIMIT, ",")), raw=text)
                continue
            if _too_deep(line):
                yield Record(n, [], "json", _("line {line} nests [ ] and {{ }} more than {limit} deep, the limit",
                                              line=n, limit=JSONL_DEPTH_LIMIT), raw=text)
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError) as e:
                yield Record(n, [], "json", _json_problem(n, e), raw=text)
                continue
            if not isinstance(obj, dict):
                yield Record(n, [], "json", _("line {line} is JSON but not an object {{...}}", line=n), raw=text)
                continue
            values = [obj.get(c, ABSENT) for c in self.columns]
            if len(text) > CELL_LIMIT:
                big = next((c for c, v in zip(self.columns, values, strict=True)
                            if v is not ABSENT and len(cell_text(v)) > CELL_LIMIT), None)
                if big is not None:
                    yield Record(n, [], "json", _('line {line}: the value of "{key}" is longer than {limit} characters, '
                                                  "the limit for a cell", line=n, key=big, limit=format(CELL_LIMIT, ",")),
                                 raw=text)
                    continue
            yield Record(n, values)

    def progress(self) -> float | None:
        return min(1.0, self._pos / self.size) if self.size else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def _json_problem(n: int, e: Exception) -> str:
    """Why a line is not JSON, by position (the parser's own words are English)."""
    if isinstance(e, RecursionError):
        return _("line {line} nests [ ] and {{ }} too deeply", line=n)
    col = getattr(e, "colno", None)
    if col is None:
        return _("line {line} is not JSON", line=n)
    return _("line {line} is not JSON: the error is at character {col}", line=n, col=col)


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def _too_deep(line: bytes) -> bool:
    """Whether a JSON line nests deeper than JSONL_DEPTH_LIMIT (json would recurse on it, and so would
    anything that turns a nested value into text)."""
    if line.count(b"[") + line.count(b"{") <= JSONL_DEPTH_LIMIT:
        return False
    depth = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub(b"", line)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > JSONL_DEPTH_LIMIT:
                return True
        else:
            depth -= 1
    return False


def _json_object(line: bytes) -> Any:
    if _too_deep(line):
        return None
    try:
        return json.loads(line.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None
