"""Prospect lists in and out: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX and JSONL.

Readers stream one record at a time and never stop at a bad row: a row that
cannot be read (bytes that are not text in the file's encoding, the wrong
number of cells, a line that is not JSON) comes out as a `Record` with an
error code, so the caller can reject it and still account for every row.
Undecodable bytes are kept as surrogate escapes and written back as the same
bytes, so a rejects file holds the row exactly as it came.

Writers neutralise spreadsheet formulas in every CSV cell they write (a cell
starting with = + - @ tab or CR gets a leading apostrophe), and XLSX strings
are always stored as text, never as formulas.
"""
from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import json
import os
import re
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from .textlines import FIRST_PIECE, LF, LINE_SAFE, PIECE, WHOLE, ByteLines, LineDecoder, check_bom, detect_encoding

FORMATS = ("csv", "xlsx", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
               ".jsonl": "jsonl", ".ndjson": "jsonl"}
SAMPLE_BYTES = 1 << 20

# Limits on what one input may hold (docs/limits.md). They bound the memory a
# hostile or broken file can take; what goes over them is a rejected row (or,
# for a whole file, one clear error), never a crash.
CELL_LIMIT = 131_072  # characters in one cell, every format (the csv module's own default field limit)
ROW_LIMIT = 1_048_576  # characters in one CSV row (all its lines) or one JSONL line
PIECE_BYTES = 4 * ROW_LIMIT  # bytes of one physical line held at once; a longer line is kept in pieces
MAX_COLUMNS = 16_384  # columns in a header (Excel's own limit)
JSONL_DEPTH_LIMIT = 64  # nesting of [ ] and { } in one JSONL line
_SURROGATE = re.compile("[\udc80-\udcff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ABSENT = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__reduce__": lambda self: "ABSENT"})()
"""A JSONL key that a record does not have (as opposed to one that is null)."""


def _keep_or_replace(err: UnicodeError) -> tuple[str | bytes, int]:
    """Write undecodable input bytes back as they were; replace what the encoding cannot hold."""
    if isinstance(err, UnicodeEncodeError):
        chunk = err.object[err.start:err.end]
        if all("\udc80" <= ch <= "\udcff" for ch in chunk):
            return bytes(ord(ch) - 0xDC00 for ch in chunk), err.end
        return "?" * len(chunk), err.end
    raise err


codecs.register_error("zhike-keep", _keep_or_replace)


def neutralise(text: str) -> str:
    """A cell a spreadsheet would run as a formula, made inert by a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def format_for(path: str | None, explicit: str | None, what: str) -> str | None:
    """The table format of a path: the explicit choice, else by extension; None for stdin/stdout."""
    if explicit:
        return explicit
    if path in (None, "-"):
        return None
    ext = Path(path).suffix.lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    raise InputError(f"{path}: cannot tell the {what} format from the extension {ext or '(none)'}; "
                     f"use --{what}-format csv, xlsx or jsonl")


def sniff_format(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "csv"


@dataclass
class Record:
    row: int  # where to find it: line number (CSV, JSONL) or sheet row (XLSX), the header being row 1
    values: list[Any]  # one per column; more or fewer for a row with the wrong number of cells
    error_code: str | None = None
    error: str | None = None
    raw: str | None = None  # the text of a row that could not be split into cells at all


# --- input streams ------------------------------------------------------------------

class _Counting(io.RawIOBase):
    """A readable raw stream: first the bytes already sniffed, then the rest; counts bytes read."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = head
        self._rest = rest
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            data = self._rest.read(len(b))
            n = len(data)
            b[:n] = data
        self.count += n
        return n


def _read_head(fh: IO[bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        data = fh.read(n - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def open_binary(path: str) -> tuple[IO[bytes], int | None]:
    """The input as a binary stream and its size (None for stdin)."""
    if path == "-":
        return sys.stdin.buffer, None
    try:
        fh = open(path, "rb")  # the reader owns and closes it
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    return fh, os.fstat(fh.fileno()).st_size


class TableReader:
    """Base of the readers: `columns`, iteration over `Record`s, `progress()`, `close()`."""

    format = ""
    columns: list[str]
    encoding: str | None = None
    delimiter: str = ","
    detail = ""  # e.g. the sheet name, for --explain-map

    def __iter__(self) -> Iterator[Record]:  # pragma: no cover - abstract
        raise NotImplementedError

    def progress(self) -> float | None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _TooLong(Exception):
    """Raised by the line source when the row being read cannot take the next line."""

    def __init__(self, text: str = "", piece: bool = False):
        self.text, self.piece = text, piece


class CsvReader(TableReader):
    format = "csv"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, encoding: str | None = None,
                 head: bytes = b"", delimiter: str | None = None):
        self._fh = fh
        self.name = name
        self.size = size
        sample = head + _read_head(fh, SAMPLE_BYTES - len(head))
        complete = len(sample) < SAMPLE_BYTES
        if encoding:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise InputError(f"--encoding {encoding}: unknown encoding; try utf-8, gbk or gb18030") from None
            check_bom(sample, encoding, name)
        self.encoding = encoding or detect_encoding(sample, complete)
        if self.encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        self._raw = _Counting(sample, fh)
        stream = io.BufferedReader(self._raw, 1 << 16)
        self._decoder = LineDecoder(self.encoding)
        if self.encoding in LINE_SAFE:
            if self.encoding == "utf-8-sig" and sample.startswith(codecs.BOM_UTF8):
                stream.read(len(codecs.BOM_UTF8))
            self._physical: Iterator[tuple[str, int, str | None]] = self._decoded(ByteLines(stream, PIECE_BYTES))
        else:
            text = io.TextIOWrapper(stream, encoding=self.encoding, errors="surrogateescape", newline="")
            self._physical = self._text_lines(text)
        # The limits below decide (and name the cell); csv's own field limit, which
        # is process-wide, must never fire first. It is only ever raised here.
        if csv.field_size_limit() < PIECE_BYTES:
            csv.field_size_limit(PIECE_BYTES)
        self.line = 0
        self._buf: list[str] = []  # the lines of the row being read
        self._notes: list[str | None] = []  # why each of them cannot be trusted, if so
        self._chars = 0
        self._pushback: list[tuple[str, int, str | None]] = []
        self._pending: deque[Record] = deque()
        self.columns = []
        first = self._first_line()
        if first is None:
            raise InputError(f"{name}: empty file; a prospect list starts with a header row")
        self.delimiter = delimiter or _sniff_delimiter(first[0], name)
        self._pushback.append(first)
        self.line -= 1
        self._source = self._lines()
        self._reader = csv.reader(self._source, delimiter=self.delimiter)
        header = None
        while header is None:
            rec = self._next()
            if rec is None:
                raise InputError(f"{name}: no header row")
            if rec.error_code:
                raise InputError(f"{name}:{rec.row}: the header row cannot be read: {rec.error}")
            header = rec.values
        if len(header) > MAX_COLUMNS:
            raise InputError(f"{name}:{rec.row}: the header has {len(header):,} columns; the limit is {MAX_COLUMNS:,}")
        self.header_row = rec.row
        self.columns = [c.strip() if i else c.lstrip("\ufeff").strip() for i, c in enumerate(header)]

    @property
    def utf8_lines(self) -> int:
        """How many lines of a GBK/GB18030 file were UTF-8 (and read as such)."""
        return self._decoder.utf8_lines

    def _decoded(self, lines: ByteLines) -> Iterator[tuple[str, int, str | None]]:
        decode = self._decoder.decode
        for data, kind in lines:
            if kind == WHOLE:
                text, note = decode(data)
                yield text, kind, note
            else:  # a piece of a line over the limit: rejected anyway, its bytes kept
                yield data.decode(self._decoder.codec, "surrogateescape"), kind, None

    @staticmethod
    def _text_lines(text: io.TextIOWrapper) -> Iterator[tuple[str, int, str | None]]:
        long = False
        while True:
            line = text.readline(PIECE_BYTES)
            if not line:
                return
            whole = line.endswith(("\n", "\r")) or len(line) < PIECE_BYTES
            yield line, (PIECE if long else (WHOLE if whole else FIRST_PIECE)), None
            long = not whole

    def _first_line(self) -> tuple[str, int, str | None] | None:
        for item in self._physical:
            if item[1] == PIECE:
                continue
            self.line += 1
            if item[1] != WHOLE:
                raise InputError(f"{self.name}:{self.line}: the first line is longer than {PIECE_BYTES:,} bytes; "
                                 "this is not a prospect list")
            if item[0].strip():
                return item
        return None

    def _lines(self) -> Iterator[str]:
        while True:
            if self._pushback:
                item = self._pushback.pop()
            else:
                item = next(self._physical, None)
                if item is None:
                    return
            text, kind, note = item
            if kind != PIECE:
                self.line += 1
            if kind != WHOLE:
                raise _TooLong(text, piece=True)
            if self._buf and self._chars + len(text) > ROW_LIMIT:
                self._pushback.append(item)  # it starts the next row
                self.line -= 1
                raise _TooLong()
            self._buf.append(text)
            self._notes.append(note)
            self._chars += len(text)
            yield text

    def _restart(self) -> None:
        """A fresh parser on the lines after the current ones: the rows after a bad one are still read."""
        self._source = self._lines()
        self._reader = csv.reader(self._source, delimiter=self.delimiter)

    def _next(self) -> Record | None:
        """The next non-blank record, or None at the end."""
        if self._pending:
            return self._pending.popleft()
        while True:
            self._buf.clear()
            self._notes.clear()
            self._chars = 0
            start = self.line + 1
            try:
                fields = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as e:
                raw = "".join(self._buf)
                # a fresh parser on the same lines: the rows after this one are still read
                self._reader = csv.reader(self._source, delimiter=self.delimiter)
                return Record(start, [raw.rstrip("\r\n")], "csv", f"cannot split line {start} into cells: {e}",
                              raw=raw)
            except _TooLong as e:
                self._restart()
                return self._too_long(start, e)
            if not fields:
                continue
            start = self.line - len(self._buf) + 1
            return self._checked(start, fields)

    def _too_long(self, start: int, e: _TooLong) -> Record:
        raw = "".join(self._buf)
        if not e.piece:
            return Record(start, [raw], "csv", f"the row starting at line {start} is longer than {ROW_LIMIT:,} "
                          "characters, the limit for a row (is a quote never closed?)", raw=raw)
        piece = Record(self.line, [e.text], "csv", f"line {self.line} is longer than {PIECE_BYTES:,} bytes; it is "
                       f"kept here in pieces of {PIECE_BYTES:,} bytes", raw=e.text)
        if not raw:
            return piece
        self._pending.append(piece)
        return Record(start, [raw], "csv", f"the row starting at line {start} runs into line {self.line}, which "
                      "is too long to read", raw=raw)

    def _checked(self, start: int, fields: list[str]) -> Record:
        """The row, or why it cannot be used: encoding, length of the row or of a cell."""
        if any(self._notes):
            i, note = next((i, n) for i, n in enumerate(self._notes) if n)
            return Record(start, fields, "encoding", f"line {start + i} {note}")
        if any(_SURROGATE.search(ln) for ln in self._buf):
            raw = "".join(self._buf)
            bad = b"".join(bytes([ord(c) - 0xDC00]) for c in _SURROGATE.findall(raw))
            return Record(start, fields, "encoding", f"line {start} has bytes that are not {self.encoding} text: "
                          f"{bad[:16]!r}{self._gb_hint(raw)}")
        if self._chars > ROW_LIMIT:
            return Record(start, fields, "csv", f"row {start} has {self._chars:,} characters; the limit for a row "
                          f"is {ROW_LIMIT:,}", raw="".join(self._buf))
        for i, cell in enumerate(fields if self._chars > CELL_LIMIT else ()):
            if len(cell) > CELL_LIMIT:
                col = f" ({self.columns[i]!r})" if i < len(self.columns) else ""
                return Record(start, fields, "csv", f"cell {i + 1}{col} of the row at line {start} has "
                              f"{len(cell):,} characters; the limit for a cell is {CELL_LIMIT:,}",
                              raw="".join(self._buf))
        return Record(start, fields)

    def _gb_hint(self, raw: str) -> str:
        if self._decoder.codec != "utf-8":
            return ""
        try:
            raw.encode("utf-8", "surrogateescape").decode("gb18030")
        except UnicodeDecodeError:
            return ""
        return ("; it reads as GBK/GB18030, so the file mixes encodings: save it in one (a GBK line is not "
                "guessed inside a UTF-8 file)")

    def __iter__(self) -> Iterator[Record]:
        width = len(self.columns)
        while True:
            rec = self._next()
            if rec is None:
                return
            if rec.error_code is None and not any(v.strip() for v in rec.values):
                continue  # ",,,," is a blank line Excel left behind, not a prospect
            if rec.error_code is None and len(rec.values) != width:
                rec.error_code = "columns"
                rec.error = f"row has {len(rec.values)} cells, the header has {width}"
            yield rec

    def progress(self) -> float | None:
        return min(1.0, self._raw.count / self.size) if self.size else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def _sniff_delimiter(line: str, name: str) -> str:
    if name.lower().endswith(".tsv"):
        return "\t"
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _spool(fh: IO[bytes], head: bytes, limit: int | None = None, name: str = "<stdin>") -> IO[bytes]:
    """stdin copied to a temporary file, for formats that need to seek (XLSX) or two passes (JSONL)."""
    tmp = tempfile.TemporaryFile()
    tmp.write(head)
    total = len(head)
    while True:
        data = fh.read(1 << 20)
        if not data:
            break
        total += len(data)
        if limit is not None and total > limit:
            tmp.close()
            raise InputError(f"{name}: more than {limit >> 20:,} MiB of XLSX; save the list as CSV")
        tmp.write(data)
    tmp.seek(0)
    return tmp


class XlsxReader(TableReader):
    """The first sheet, streaming, through engine/xlsx_guard.py (zip bombs, giant cells, damaged sheets)."""

    format = "xlsx"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b""):
        from .xlsx_guard import XLSX_FILE_LIMIT, open_workbook

        self.name = name
        if head or not fh.seekable():
            fh = _spool(fh, head, XLSX_FILE_LIMIT, name)
        self._fh = fh
        self._wb, self._zip = open_workbook(fh, name)
        try:
            self._start()
        except BaseException:
            self._wb.close()
            raise

    def _start(self) -> None:
        if not self._wb.worksheets:
            raise InputError(f"{self.name}: the workbook has no worksheet")
        ws = self._wb.worksheets[0]
        self._zip.check_sheet(ws)
        ws.reset_dimensions()  # read what the sheet holds, not what its header claims
        self.detail = f"sheet {ws.title!r}"
        self._rows = self._zip.rows(ws)
        self._row = 0
        header = None
        for values, problem in self._rows:
            self._row += 1
            if any(v is not None and str(v).strip() for v in values):
                if problem:
                    raise InputError(f"{self.name}: the header row (row {self._row}) cannot be read: {problem}")
                header = list(values)
                break
        if header is None:
            raise InputError(f"{self.name}: the first sheet is empty; a prospect list starts with a header row")
        while header and (header[-1] is None or not str(header[-1]).strip()):
            header.pop()
        self.header_row = self._row
        self.columns = ["" if v is None else str(v).strip() for v in header]

    def __iter__(self) -> Iterator[Record]:
        width = len(self.columns)
        for values, problem in self._rows:
            self._row += 1
            vals = list(values)
            if problem:
                yield Record(self._row, vals, "xlsx", problem)
                continue
            if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in vals):
                continue  # formatted but empty rows at the end of a sheet
            if len(vals) > width:
                extra = vals[width:]
                if any(v is not None and (not isinstance(v, str) or v.strip()) for v in extra):
                    yield Record(self._row, vals, "columns",
                                 f"row has cells beyond the header's {width} columns")
                    continue
                vals = vals[:width]
            elif len(vals) < width:
                vals += [None] * (width - len(vals))
            yield Record(self._row, vals)

    def progress(self) -> float | None:
        return self._zip.fraction()

    def close(self) -> None:
        self._wb.close()
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


class JsonlReader(TableReader):
    format = "jsonl"
    encoding = "utf-8"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b""):
        self.name = name
        if head or not fh.seekable():
            fh = _spool(fh, head)
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
                    raise InputError(f"{name}: the records have more than {MAX_COLUMNS:,} different keys, the "
                                     "limit for columns")
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
                yield Record(n, [], "json", f"line {n} is longer than {PIECE_BYTES:,} bytes; it is kept here in "
                             f"pieces of {PIECE_BYTES:,} bytes", raw=line.decode("utf-8", "surrogateescape"))
                continue
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
            if n == 1:
                text = text.lstrip("\ufeff")
            if _SURROGATE.search(text):
                yield Record(n, [], "encoding", f"line {n} is not UTF-8 text", raw=text)
                continue
            if len(text) > ROW_LIMIT:
                yield Record(n, [], "json", f"line {n} has {len(text):,} characters; the limit for a line is "
                             f"{ROW_LIMIT:,}", raw=text)
                continue
            if _too_deep(line):
                yield Record(n, [], "json", f"line {n} nests [ ] and {{ }} more than {JSONL_DEPTH_LIMIT} deep, "
                             "the limit", raw=text)
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError) as e:
                yield Record(n, [], "json", f"line {n} is not JSON: {e}", raw=text)
                continue
            if not isinstance(obj, dict):
                yield Record(n, [], "json", f"line {n} is JSON but not an object {{...}}", raw=text)
                continue
            values = [obj.get(c, ABSENT) for c in self.columns]
            if len(text) > CELL_LIMIT:
                big = next((c for c, v in zip(self.columns, values, strict=True)
                            if v is not ABSENT and len(cell_text(v)) > CELL_LIMIT), None)
                if big is not None:
                    yield Record(n, [], "json", f"line {n}: the value of {big!r} is longer than {CELL_LIMIT:,} "
                                 "characters, the limit for a cell", raw=text)
                    continue
            yield Record(n, values)

    def progress(self) -> float | None:
        return min(1.0, self._pos / self.size) if self.size else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


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


def open_table(path: str, fmt: str | None, encoding: str | None = None) -> TableReader:
    """Open a prospect list for streaming; `path` may be '-' for stdin."""
    fh, size = open_binary(path)
    name = "<stdin>" if path == "-" else path
    head = b""
    try:
        if fmt is None:
            head = _read_head(fh, 4096)
            fmt = sniff_format(head)
        if fmt == "csv":
            return CsvReader(fh, name, size, encoding, head)
        if fmt == "xlsx":
            return XlsxReader(fh, name, size, head)
        return JsonlReader(fh, name, size, head)
    except BaseException:
        if fh is not sys.stdin.buffer:
            fh.close()
        raise


# --- writers ------------------------------------------------------------------------

def cell_text(v: Any) -> str:
    """A cell as CSV text: what a spreadsheet user would expect to see."""
    if v is None or v is ABSENT:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, _dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


class _TextOut:
    """A writer over a text wrapper of a binary stream it does not own: close detaches, never closes."""

    _out: IO[bytes]
    _text: io.TextIOWrapper

    def flush(self) -> None:
        self._text.flush()
        self._out.flush()

    def close(self) -> None:
        self.flush()
        self._text.detach()


class CsvWriter(_TextOut):
    """CSV rows to a binary stream; every cell (header too) neutralised against formula injection."""

    def __init__(self, out: IO[bytes], columns: Sequence[str] | None, encoding: str = "utf-8", bom: bool = False,
                 delimiter: str = ","):
        self._out = out
        if bom:
            out.write(codecs.BOM_UTF8)
        enc = "utf-8" if encoding in ("utf-8-sig", "utf_8_sig") else encoding
        self._text = io.TextIOWrapper(out, encoding=enc, errors="zhike-keep", newline="", write_through=False)
        self._csv = csv.writer(self._text, delimiter=delimiter, lineterminator="\r\n")
        if columns is not None:
            self.write(list(columns))

    def write(self, values: Sequence[Any]) -> None:
        self._csv.writerow([neutralise(cell_text(v)) for v in values])


def _json_value(v: Any) -> Any:
    if isinstance(v, (_dt.date, _dt.time, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    return v


class JsonlWriter(_TextOut):
    """One JSON object per line; keys a record lacked stay absent."""

    def __init__(self, out: IO[bytes], columns: Sequence[str]):
        self._out = out
        self.columns = list(columns)
        self._text = io.TextIOWrapper(out, encoding="utf-8", errors="zhike-keep", newline="", write_through=False)

    def write(self, values: Sequence[Any], raw: str | None = None, extra: dict[str, Any] | None = None) -> None:
        if raw is not None:  # a line that was not a JSON object: keep its text
            obj: dict[str, Any] = {"_raw": raw}
        else:
            obj = {c: _json_value(v) for c, v in zip(self.columns, values, strict=False) if v is not ABSENT}
        if extra:
            obj.update(extra)
        self._text.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_value(v: Any) -> Any:
    if v is ABSENT:
        return None
    if isinstance(v, str):
        return _ILLEGAL_XML.sub("", _SURROGATE.sub("\ufffd", v))  # XML cannot hold control characters
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    return v


class XlsxWriter:
    """XLSX with openpyxl's write_only mode (constant memory); strings are text, never formulas."""

    def __init__(self, dest: str | IO[bytes], columns: Sequence[str] | None, sheet: str = "zhike"):
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        self._cell = WriteOnlyCell
        self._dest = dest
        self._wb = openpyxl.Workbook(write_only=True)
        self._ws = self._wb.create_sheet(sheet)
        if columns is not None:
            self.write(list(columns))

    def write(self, values: Sequence[Any]) -> None:
        row = []
        for v in values:
            v = _xlsx_value(v)
            if isinstance(v, str) and v.startswith("="):
                c = self._cell(self._ws, value=v)
                c.data_type = "s"  # openpyxl would store it as a formula otherwise
                row.append(c)
            else:
                row.append(v)
        self._ws.append(row)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if isinstance(self._dest, str):
            self._wb.save(self._dest)
            return
        # Through a temporary file: a zip written straight into a pipe needs data
        # descriptors some readers reject, and a closed pipe would leave it half-built.
        import shutil

        with tempfile.TemporaryFile() as tmp:
            self._wb.save(tmp)
            tmp.seek(0)
            shutil.copyfileobj(tmp, self._dest)
        self._dest.flush()


class SpoolWriter(_TextOut):
    """Rows as JSON lines of typed cells, for an XLSX output that must survive an interruption.

    A zip cannot be appended to, so a resumable XLSX run writes this spool
    (truncatable at any checkpoint) and converts it when the run completes.
    """

    def __init__(self, out: IO[bytes]):
        self._out = out
        self._text = io.TextIOWrapper(out, encoding="utf-8", errors="surrogatepass", newline="",
                                      write_through=False)

    def write(self, values: Sequence[Any]) -> None:
        self._text.write(json.dumps([_spool_value(v) for v in values], ensure_ascii=False) + "\n")


def _spool_value(v: Any) -> Any:
    if v is ABSENT:
        return None
    if isinstance(v, _dt.datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, _dt.date):
        return {"d": v.isoformat()}
    if isinstance(v, _dt.time):
        return {"t": v.isoformat()}
    if isinstance(v, _dt.timedelta):
        return {"s": v.total_seconds()}
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return _json_value(v)


def _unspool_value(v: Any) -> Any:
    if isinstance(v, dict):
        if "dt" in v:
            return _dt.datetime.fromisoformat(v["dt"])
        if "d" in v:
            return _dt.date.fromisoformat(v["d"])
        if "t" in v:
            return _dt.time.fromisoformat(v["t"])
        if "s" in v:
            return _dt.timedelta(seconds=v["s"])
    return v


def spool_to_xlsx(spool: Path, dest: str | IO[bytes], sheet: str = "zhike") -> None:
    """Convert a finished spool (first line: the header) to an XLSX file, streaming."""
    w = XlsxWriter(dest, None, sheet)
    with open(spool, encoding="utf-8", errors="surrogatepass") as fh:
        for line in fh:
            w.write([_unspool_value(v) for v in json.loads(line)])
    w.close()
