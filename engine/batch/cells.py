"""What every table format shares: the formats, the limits on one input, opening an input, cells as text.

The readers (`readers`) and writers (`writers`) both use these; `engine.batch.tabular`
re-exports all three modules as one API.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..i18n import N_, _
from ..report.output import os_reason

FORMATS = ("csv", "xlsx", "jsonl", "parquet")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
               ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
SAMPLE_BYTES = 1 << 20

# Limits on what one input may hold (docs/limits.md). They bound the memory a
# hostile or broken file can take; what goes over them is a rejected row (or,
# for a whole file, one clear error), never a crash.
CELL_LIMIT = 131_072  # characters in one cell, every format (the csv module's own default field limit)
ROW_LIMIT = 1_048_576  # characters in one CSV row (all its lines) or one JSONL line
PIECE_BYTES = 4 * ROW_LIMIT  # bytes of one physical line held at once; a longer line is kept in pieces
MAX_COLUMNS = 16_384  # columns in a header (Excel's own limit)
JSONL_DEPTH_LIMIT = 64  # nesting of [ ] and { } in one JSONL line
SURROGATE = re.compile("[\udc80-\udcff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ABSENT = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__reduce__": lambda self: "ABSENT"})()
"""A JSONL key that a record does not have (as opposed to one that is null)."""


def neutralise(text: str) -> str:
    """A cell a spreadsheet would run as a formula, made inert by a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


_UNKNOWN_EXTENSION = {
    "input": N_("{path}: cannot tell the format of the input from the extension {ext}; use --input-format csv, "
                "xlsx or jsonl"),
    "output": N_("{path}: cannot tell the format of the output from the extension {ext}; use --output-format csv, "
                 "xlsx or jsonl"),
    "rejects": N_("{path}: cannot tell the format of the rejects file from the extension {ext}; name it .csv, "
                  ".xlsx or .jsonl"),
}


def format_for(path: str | None, explicit: str | None, what: str) -> str | None:
    """The table format of a path: the explicit choice, else by extension; None for stdin/stdout."""
    if explicit:
        return explicit
    if path in (None, "-"):
        return None
    ext = Path(path).suffix.lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    raise InputError(_(_UNKNOWN_EXTENSION.get(what, _UNKNOWN_EXTENSION["input"]), path=path,
                       ext=ext or _("(none)")))


def sniff_format(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "csv"



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
        # openpyxl gives every date cell as a datetime: a day without a time reads as the day, as Excel shows it
        if v.time() == _dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


# --- opening an input -----------------------------------------------------------------

def read_head(fh: IO[bytes], n: int) -> bytes:
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
        raise InputError(_("{path}: no such file", path=path)) from None
    except IsADirectoryError:
        raise InputError(_("{path}: is a folder, not a file", path=path)) from None
    except OSError as e:
        raise InputError(_("{path}: cannot read it: {reason}", path=path, reason=os_reason(e))) from None
    return fh, os.fstat(fh.fileno()).st_size


def spool(fh: IO[bytes], head: bytes, limit: int | None = None, name: str = "<stdin>") -> IO[bytes]:
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
            raise InputError(_("{name}: more than {size} MiB of XLSX; save the list as CSV", name=name,
                               size=format(limit >> 20, ",")))
        tmp.write(data)
    tmp.seek(0)
    return tmp
