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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import InputError

FORMATS = ("csv", "xlsx", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
               ".jsonl": "jsonl", ".ndjson": "jsonl"}
SAMPLE_BYTES = 1 << 20
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


def detect_encoding(sample: bytes, complete: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM) or GB18030, from a sample of the file.

    A line that does not decode counts against an encoding; the one with fewer
    bad lines wins and UTF-8 wins ties, so a UTF-8 file with a few bad lines
    stays UTF-8 (those lines are rejected) and a GBK file with Chinese in it is
    read as GB18030 (a superset of GBK, which Chinese Excel writes).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not complete and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # never judge a character cut in half at the end
    lines = [ln for ln in sample.split(b"\n") if any(b > 0x7F for b in ln)]
    if not lines:
        return "utf-8"

    def bad(enc: str) -> int:
        n = 0
        for ln in lines:
            try:
                ln.decode(enc)
            except UnicodeDecodeError:
                n += 1
        return n

    return "utf-8" if bad("utf-8") <= bad("gb18030") else "gb18030"


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
        self.encoding = encoding or detect_encoding(sample, complete)
        if self.encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        self._raw = _Counting(sample, fh)
        self._text = io.TextIOWrapper(io.BufferedReader(self._raw, 1 << 16), encoding=self.encoding,
                                      errors="surrogateescape", newline="")
        self.line = 0
        self._buf: list[str] = []
        self._pushback: list[str] = []
        first = self._first_line()
        if first is None:
            raise InputError(f"{name}: empty file; a prospect list starts with a header row")
        self.delimiter = delimiter or _sniff_delimiter(first, name)
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
        self.header_row = rec.row
        self.columns = [c.strip() if i else c.lstrip("\ufeff").strip() for i, c in enumerate(header)]

    def _first_line(self) -> str | None:
        for line in self._text:
            self.line += 1
            if line.strip():
                return line
        return None

    def _lines(self) -> Iterator[str]:
        while self._pushback:
            line = self._pushback.pop()
            self.line += 1
            self._buf.append(line)
            yield line
        for line in self._text:
            self.line += 1
            self._buf.append(line)
            yield line

    def _next(self) -> Record | None:
        """The next non-blank record, or None at the end."""
        while True:
            self._buf.clear()
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
            if not fields:
                continue
            start = self.line - len(self._buf) + 1
            if any(_SURROGATE.search(ln) for ln in self._buf):
                raw = "".join(self._buf)
                bad = b"".join(bytes([ord(c) - 0xDC00]) for c in _SURROGATE.findall(raw))
                return Record(start, fields, "encoding",
                              f"line {start} has bytes that are not {self.encoding} text: {bad[:16]!r}")
            return Record(start, fields)

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


def _spool(fh: IO[bytes], head: bytes) -> IO[bytes]:
    """stdin copied to a temporary file, for formats that need to seek (XLSX) or two passes (JSONL)."""
    tmp = tempfile.TemporaryFile()
    tmp.write(head)
    while True:
        data = fh.read(1 << 20)
        if not data:
            break
        tmp.write(data)
    tmp.seek(0)
    return tmp


class XlsxReader(TableReader):
    format = "xlsx"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b""):
        import zipfile

        import openpyxl

        self.name = name
        if head or not fh.seekable():
            fh = _spool(fh, head)
        self._fh = fh
        try:
            self._wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
            raise InputError(f"{name}: not a readable XLSX workbook ({e})") from None
        ws = self._wb.worksheets[0]
        self.detail = f"sheet {ws.title!r}"
        self._rows = ws.iter_rows(values_only=True)
        self._row = 0
        self._count = ws.max_row or 0
        header = None
        for values in self._rows:
            self._row += 1
            if any(v is not None and str(v).strip() for v in values):
                header = list(values)
                break
        if header is None:
            raise InputError(f"{name}: the first sheet is empty; a prospect list starts with a header row")
        while header and (header[-1] is None or not str(header[-1]).strip()):
            header.pop()
        self.header_row = self._row
        self.columns = ["" if v is None else str(v).strip() for v in header]

    def __iter__(self) -> Iterator[Record]:
        width = len(self.columns)
        for values in self._rows:
            self._row += 1
            vals = list(values)
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
        return min(1.0, self._row / self._count) if self._count else None

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
        for line in fh:
            obj = _json_object(line)
            if isinstance(obj, dict):
                keys.update(dict.fromkeys(obj))
        fh.seek(0)
        self.columns = list(keys)
        self.header_row = 0
        self._pos = 0

    def __iter__(self) -> Iterator[Record]:
        for n, line in enumerate(self._fh, 1):
            self._pos += len(line)
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
            if n == 1:
                text = text.lstrip("\ufeff")
            if _SURROGATE.search(text):
                yield Record(n, [], "encoding", f"line {n} is not UTF-8 text", raw=text)
                continue
            try:
                obj = json.loads(text)
            except ValueError as e:
                yield Record(n, [], "json", f"line {n} is not JSON: {e}", raw=text)
                continue
            if not isinstance(obj, dict):
                yield Record(n, [], "json", f"line {n} is JSON but not an object {{...}}", raw=text)
                continue
            yield Record(n, [obj.get(c, ABSENT) for c in self.columns])

    def progress(self) -> float | None:
        return min(1.0, self._pos / self.size) if self.size else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def _json_object(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8-sig"))
    except ValueError:
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
