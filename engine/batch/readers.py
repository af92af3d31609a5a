"""Prospect lists in: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX and JSONL, streamed.

Readers stream one record at a time and never stop at a bad row: a row that
cannot be read (bytes that are not text in the file's encoding, the wrong
number of cells, a line that is not JSON) comes out as a `Record` with an
error code, so the caller can reject it and still account for every row.
Undecodable bytes are kept as surrogate escapes, so the writers can put them
back as the same bytes and a rejects file holds the row exactly as it came.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..errors import InputError
from ..i18n import _, ngettext
from .cells import (
    CELL_LIMIT,
    MAX_COLUMNS,
    PIECE_BYTES,
    ROW_LIMIT,
    SAMPLE_BYTES,
    SURROGATE,
    open_binary,
    read_head,
    sniff_format,
    spool,
)
from .header import HEADER_SCAN, pick_header, trailing_footers
from .textlines import FIRST_PIECE, LINE_SAFE, PIECE, WHOLE, ByteLines, LineDecoder, check_bom, detect_encoding

Known = Callable[[str], bool] | None  # whether a header cell names a fact or a usual header (header detection)


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


def rows_named(rows: Sequence[tuple[int, str]], n: int = 3) -> str:
    """Rows that are not prospects (a title above the header, a 合计 under the table), named in a note."""
    shown = _(", ").join(_("row {row} {text}", row=row, text=repr(text[:30])) for row, text in rows[:n])
    return shown + " …" if len(rows) > n else shown


class TableReader:
    """Base of the readers: `columns`, iteration over `Record`s, `progress()`, `close()`."""

    format = ""
    columns: list[str]
    encoding: str | None = None
    delimiter: str = ","
    detail = ""  # e.g. the sheet name, for --explain-map
    above: list[tuple[int, str]]  # rows above the header (title, notes): (row, their text), never prospects
    notes: list[str]  # what the user should know about how the table was read
    below: tuple[tuple[int, str], ...] | list[tuple[int, str]] = ()  # rows under the table (合计, notes), once read

    def __iter__(self) -> Iterator[Record]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _without_footers(self, records: Iterator[Record]) -> Iterator[Record]:
        """The records, but a 合计 row or a note under the last prospect (`below`, with a note)."""
        held: list[Record] = []
        yield from trailing_footers(records, lambda r: None if r.error_code else r.values, held)
        self.below = [(r.row, " ".join(str(v).strip() for v in r.values if v is not None and str(v).strip()))
                      for r in held]
        if self.below:
            self.notes.append(ngettext("note: {count} row under the table is not a prospect ({rows})",
                                       "note: {count} rows under the table are not prospects ({rows})",
                                       len(self.below), count=len(self.below), rows=rows_named(self.below)))

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
                 head: bytes = b"", delimiter: str | None = None, header_row: int | None = None,
                 known: Known = None):
        self._fh = fh
        self.name = name
        self.size = size
        self.above, self.notes = [], []
        sample = head + read_head(fh, SAMPLE_BYTES - len(head))
        complete = len(sample) < SAMPLE_BYTES
        if encoding:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise InputError(_("--encoding {encoding}: unknown encoding; try utf-8, gbk or gb18030",
                                   encoding=encoding)) from None
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
            raise InputError(_("{name}: the file is empty; a prospect list starts with a header row", name=name))
        self.delimiter = delimiter or _sniff_delimiter(first[0], name)
        self._pushback.append(first)
        self.line -= 1
        self._source = self._lines()
        self._reader = csv.reader(self._source, delimiter=self.delimiter)
        rec = self._find_header(header_row, known)
        header = rec.values
        if len(header) > MAX_COLUMNS:
            raise InputError(_("{name}:{row}: the header has {n} columns; the limit is {limit}", name=name,
                               row=rec.row, n=format(len(header), ","), limit=format(MAX_COLUMNS, ",")))
        self.header_row = rec.row
        self.columns = [c.strip() if i else c.lstrip("\ufeff").strip() for i, c in enumerate(header)]

    def _find_header(self, header_row: int | None, known: Known) -> Record:
        """The header record (title, note and blank rows above it are set aside in `above`)."""
        seen: list[Record] = []
        while header_row is not None or len(seen) < HEADER_SCAN:
            rec = self._next()
            if rec is None:
                break
            if rec.error_code is None and not any(v.strip() for v in rec.values):
                continue
            if header_row is not None and rec.row < header_row and rec.error_code is None:
                self.above.append((rec.row, " ".join(v.strip() for v in rec.values if v.strip())))
                continue
            seen.append(rec)
            if rec.error_code or header_row is not None:
                break
        if not seen:
            raise InputError(_("{name}: there is no header row", name=self.name) if header_row is None else
                             _("{name}: there is no row {row} or below it to be the header", name=self.name,
                               row=header_row))
        good = [r for r in seen if r.error_code is None]
        at = 0 if header_row is not None else (pick_header([r.values for r in good], known) or 0)
        if seen[0].error_code or not good:
            rec = seen[0]
            raise InputError(_("{name}:{row}: the header row cannot be read: {problem}", name=self.name, row=rec.row,
                               problem=rec.error))
        self.above += [(r.row, " ".join(v.strip() for v in r.values if v.strip())) for r in good[:at]]
        self._pending.extendleft(reversed(seen[seen.index(good[at]) + 1:]))
        return good[at]

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
                raise InputError(_("{name}:{line}: the first line is longer than {limit} bytes; this is not a "
                                   "prospect list", name=self.name, line=self.line, limit=format(PIECE_BYTES, ",")))
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
                return Record(start, [raw.rstrip("\r\n")], "csv", _("line {line} cannot be split into cells: {why}",
                                                                        line=start, why=_csv_problem(e)), raw=raw)
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
            return Record(start, [raw], "csv", _("the row starting at line {line} is longer than {limit} characters, "
                                                 "the limit for a row (is a quote never closed?)", line=start,
                                                 limit=format(ROW_LIMIT, ",")), raw=raw)
        piece = Record(self.line, [e.text], "csv", _("line {line} is longer than {limit} bytes; it is kept here in "
                                                     "pieces of {limit} bytes", line=self.line,
                                                     limit=format(PIECE_BYTES, ",")), raw=e.text)
        if not raw:
            return piece
        self._pending.append(piece)
        return Record(start, [raw], "csv", _("the row starting at line {line} runs into line {long}, which is too "
                                             "long to read", line=start, long=self.line), raw=raw)

    def _checked(self, start: int, fields: list[str]) -> Record:
        """The row, or why it cannot be used: encoding, length of the row or of a cell."""
        if any(self._notes):
            i, note = next((i, n) for i, n in enumerate(self._notes) if n)
            return Record(start, fields, "encoding", _("line {line}: {problem}", line=start + i, problem=note))
        if any(SURROGATE.search(ln) for ln in self._buf):
            raw = "".join(self._buf)
            bad = b"".join(bytes([ord(c) - 0xDC00]) for c in SURROGATE.findall(raw))
            return Record(start, fields, "encoding", _("line {line} has bytes that are not {encoding} text: {bytes}",
                                                       line=start, encoding=self.encoding, bytes=repr(bad[:16]))
                          + self._gb_hint(raw))
        if self._chars > ROW_LIMIT:
            return Record(start, fields, "csv", _("row {line} has {n} characters; the limit for a row is {limit}",
                                                  line=start, n=format(self._chars, ","), limit=format(ROW_LIMIT, ",")),
                          raw="".join(self._buf))
        for i, cell in enumerate(fields if self._chars > CELL_LIMIT else ()):
            if len(cell) > CELL_LIMIT:
                col = self.columns[i] if i < len(self.columns) else f"#{i + 1}"
                return Record(start, fields, "csv", _('the cell of column "{column}" in the row at line {line} has {n} '
                                                      "characters; the limit for a cell is {limit}", column=col,
                                                      line=start, n=format(len(cell), ","), limit=format(CELL_LIMIT, ",")),
                              raw="".join(self._buf))
        return Record(start, fields)

    def _gb_hint(self, raw: str) -> str:
        if self._decoder.codec != "utf-8":
            return ""
        try:
            raw.encode("utf-8", "surrogateescape").decode("gb18030")
        except UnicodeDecodeError:
            return ""
        return _("; it reads as GBK/GB18030, so the file mixes encodings: save it in one (a GBK line is not "
                 "guessed inside a UTF-8 file)")

    def __iter__(self) -> Iterator[Record]:
        return self._without_footers(self._records())

    def _records(self) -> Iterator[Record]:
        width = len(self.columns)
        while True:
            rec = self._next()
            if rec is None:
                return
            if rec.error_code is None and not any(v.strip() for v in rec.values):
                continue  # ",,,," is a blank line Excel left behind, not a prospect
            if rec.error_code is None and len(rec.values) != width:
                rec.values = _fit(rec.values, self.columns)
            if rec.error_code is None and len(rec.values) != width:
                rec.error_code = "columns"
                rec.error = _("the row has {n} cells, the header has {width}", n=len(rec.values), width=width)
            yield rec

    def progress(self) -> float | None:
        return min(1.0, self._raw.count / self.size) if self.size else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def _fit(values: list[Any], columns: list[str]) -> list[Any]:
    """A row to the header's width when what differs is only blank: trailing empty cells
    beyond the header, or missing cells under trailing headerless columns (Excel leaves both)."""
    width = len(columns)
    if len(values) > width and not any(str(v).strip() for v in values[width:]):
        return values[:width]
    if len(values) < width and not any(c for c in columns[len(values):]):
        return values + [""] * (width - len(values))
    return values


def _sniff_delimiter(line: str, name: str) -> str:
    if name.lower().endswith(".tsv"):
        return "\t"
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class XlsxReader(TableReader):
    """The first sheet, streaming, through xlsx_guard (zip bombs, giant cells, damaged sheets)."""

    format = "xlsx"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b"", sheet: str | None = None,
                 header_row: int | None = None, known: Known = None):
        from .xlsx_guard import XLSX_FILE_LIMIT, open_workbook

        self.name = name
        self.above, self.notes = [], []
        if head or not fh.seekable():
            fh = spool(fh, head, XLSX_FILE_LIMIT, name)
        self._fh = fh
        self._wb, self._zip = open_workbook(fh, name)
        try:
            self._start(sheet, header_row, known)
        except BaseException:
            self._wb.close()
            raise

    def _sheet(self, sheet: str | None) -> Any:
        sheets = self._wb.worksheets
        if not sheets:
            raise InputError(_("{name}: the workbook has no worksheet", name=self.name))
        names = _(", ").join(f'"{ws.title}"' for ws in sheets)
        if sheet is None:
            # the first sheet a person sees: a hidden one holds a template's dropdown lists or lookups
            shown = next((ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"), sheets[0])
            if shown is not sheets[0]:
                self.notes.append(_('note: {name} has {count} sheets ({sheets}); reading "{sheet}", the first that '
                                    "is not hidden (choose another with --sheet NAME or --sheet N)", name=self.name,
                                    count=len(sheets), sheets=names, sheet=shown.title))
            elif len(sheets) > 1:
                self.notes.append(_('note: {name} has {count} sheets ({sheets}); reading the first, "{sheet}" '
                                    "(choose another with --sheet NAME or --sheet N)", name=self.name,
                                    count=len(sheets), sheets=names, sheet=sheets[0].title))
            return shown
        if sheet.strip().isdigit():
            n = int(sheet)
            if 1 <= n <= len(sheets):
                return sheets[n - 1]
            raise InputError(_("--sheet {n}: {name} has {count} sheets: {sheets}", n=n, name=self.name,
                               count=len(sheets), sheets=names))
        for ws in sheets:
            if ws.title == sheet or ws.title.strip().casefold() == sheet.strip().casefold():
                return ws
        raise InputError(_('--sheet "{sheet}": {name} has no such sheet; its sheets are {sheets}', sheet=sheet,
                           name=self.name, sheets=names))

    def _start(self, sheet: str | None, header_row: int | None, known: Known) -> None:
        ws = self._sheet(sheet)
        self._zip.check_sheet(ws)
        ws.reset_dimensions()  # read what the sheet holds, not what its header claims
        self.detail = _('sheet "{sheet}"', sheet=ws.title)
        self._rows = self._zip.rows(ws)
        self._row = 0
        seen: list[tuple[int, list[Any], str | None]] = []  # the first non-empty rows, to find the header in
        for values, problem in self._rows:
            self._row += 1
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if header_row is not None and self._row < header_row and not problem:
                self.above.append((self._row, " ".join(str(v).strip() for v in values if v is not None)))
                continue
            seen.append((self._row, list(values), problem))
            if problem or header_row is not None or len(seen) >= HEADER_SCAN:
                break
        if not seen:
            raise InputError(_("{name}: the first sheet is empty; a prospect list starts with a header row",
                               name=self.name) if header_row is None else
                             _("{name}: there is no row {row} or below it to be the header", name=self.name,
                               row=header_row))
        good = [r for r in seen if r[2] is None]
        if seen[0][2] or not good:
            raise InputError(_("{name}: the header row (row {row}) cannot be read: {problem}",
                               name=self.name, row=seen[0][0], problem=seen[0][2]))
        at = 0 if header_row is not None else (pick_header([r[1] for r in good], known) or 0)
        self.above += [(r[0], " ".join(str(v).strip() for v in r[1] if v is not None)) for r in good[:at]]
        self._buffered = seen[seen.index(good[at]) + 1:]
        header = good[at][1]
        while header and (header[-1] is None or not str(header[-1]).strip()):
            header.pop()
        self.header_row = good[at][0]
        self.columns = ["" if v is None else str(v).strip() for v in header]

    def _all_rows(self) -> Iterator[tuple[int, list[Any], str | None]]:
        yield from self._buffered
        for values, problem in self._rows:
            self._row += 1
            yield self._row, list(values), problem

    def __iter__(self) -> Iterator[Record]:
        return self._without_footers(self._records())

    def _records(self) -> Iterator[Record]:
        width = len(self.columns)
        for row, vals, problem in self._all_rows():
            if problem:
                yield Record(row, vals, "xlsx", problem)
                continue
            if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in vals):
                continue  # formatted but empty rows at the end of a sheet
            if len(vals) > width:
                extra = vals[width:]
                if any(v is not None and (not isinstance(v, str) or v.strip()) for v in extra):
                    yield Record(row, vals, "columns",
                                 _("the row has cells beyond the header's {width} columns", width=width))
                    continue
                vals = vals[:width]
            elif len(vals) < width:
                vals += [None] * (width - len(vals))
            yield Record(row, vals)

    def progress(self) -> float | None:
        return self._zip.fraction()

    def close(self) -> None:
        self._wb.close()
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def __getattr__(name: str) -> Any:
    if name == "JsonlReader":  # in its own module; importable from here as before
        from .jsonl_reader import JsonlReader

        return JsonlReader
    raise AttributeError(name)


def _csv_problem(e: csv.Error) -> str:
    """Why the csv module could not split a row, in words (its own are English)."""
    text = str(e)
    if "field larger than field limit" in text:
        return _("a cell is too long")
    if "NUL" in text:
        return _("the line contains a NUL byte")
    return _("a quote is not closed, or stands where it cannot")


def open_table(path: str, fmt: str | None, encoding: str | None = None, *, sheet: str | None = None,
               header_row: int | None = None, known: Known = None) -> TableReader:
    """Open a prospect list for streaming; `path` may be '-' for stdin. The header row is found by
    itself (below titles and notes; `known` tells header cells that name facts), or is `header_row`."""
    fh, size = open_binary(path)
    name = "<stdin>" if path == "-" else path
    head = b""
    try:
        if fmt is None:
            head = read_head(fh, 4096)
            fmt = sniff_format(head)
        if sheet is not None and fmt != "xlsx":
            raise InputError(_("--sheet is for XLSX workbooks; {name} is {format}", name=name, format=fmt.upper()))
        if fmt == "csv":
            return CsvReader(fh, name, size, encoding, head, header_row=header_row, known=known)
        if fmt == "xlsx":
            return XlsxReader(fh, name, size, head, sheet=sheet, header_row=header_row, known=known)
        if fmt == "parquet":  # pyarrow, imported only for a Parquet file
            from .parquet import ParquetReader

            return ParquetReader(fh, name, size, head)
        if header_row is not None:
            raise InputError(_("--header-row is for CSV and XLSX; a JSONL file has no header row"))
        from .jsonl_reader import JsonlReader

        return JsonlReader(fh, name, size, head)
    except BaseException:
        if fh is not sys.stdin.buffer:
            fh.close()
        raise
