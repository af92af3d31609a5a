"""Prospect lists out: CSV, JSONL, XLSX, and the resumable spool behind an XLSX output.

Writers neutralise spreadsheet formulas in every CSV cell they write (a cell
starting with = + - @ tab or CR gets a leading apostrophe), and XLSX strings
are always stored as text, never as formulas. Bytes a reader could not decode
(kept as surrogate escapes) are written back as the same bytes.
"""
from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .cells import ABSENT, SURROGATE, cell_text, neutralise


def _keep_or_replace(err: UnicodeError) -> tuple[str | bytes, int]:
    """Write undecodable input bytes back as they were; replace what the encoding cannot hold."""
    if isinstance(err, UnicodeEncodeError):
        chunk = err.object[err.start:err.end]
        if all("\udc80" <= ch <= "\udcff" for ch in chunk):
            return bytes(ord(ch) - 0xDC00 for ch in chunk), err.end
        return "?" * len(chunk), err.end
    raise err


codecs.register_error("zhike-keep", _keep_or_replace)


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
        return _ILLEGAL_XML.sub("", SURROGATE.sub("\ufffd", v))  # XML cannot hold control characters
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
