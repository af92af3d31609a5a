"""Parquet lists in and out (data-lake exports), streamed through pyarrow.

pyarrow is imported only when a Parquet file is read or written (`pip install 'zhike[dask]'`
brings it). Reading goes row group by row group in batches, so memory does not grow with
the file. A Parquet file cannot be appended to, so `zhike batch` writes a resumable JSON-lines
spool (writers.SpoolWriter) and converts it here when the run completes, like XLSX; the
column types are chosen from the whole spool in a first pass (a column of whole numbers
stays int64, one of mixed kinds becomes text), so a run and its resumed twin write the
same file.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, ZhikeError
from ..i18n import _
from .cells import CELL_LIMIT, MAX_COLUMNS, cell_text, spool
from .readers import Record, TableReader

BATCH_ROWS = 1024  # rows decoded at once, reading and writing
PARQUET_MAGIC = b"PAR1"
_INT64 = (-(2**63), 2**63 - 1)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ZhikeError(_("Parquet needs pyarrow: pip install 'zhike[dask]'")) from None
    return pa, pq


class ParquetReader(TableReader):
    """The rows of a Parquet file as `Record`s; row 1 is the header (the schema), so data starts at row 2."""

    format = "parquet"

    def __init__(self, fh: IO[bytes], name: str, size: int | None, head: bytes = b""):
        pa, pq = _pyarrow()
        self.name = name
        self.above, self.notes = [], []
        self.header_row = 1
        if head or not fh.seekable():
            fh = spool(fh, head, None, name)
        self._fh = fh
        try:
            self._file = pq.ParquetFile(fh)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise InputError(_("{name}: this is not a Parquet file that can be read: {why}", name=name,
                               why=" ".join(str(e).split())[:200])) from None
        names = [str(n) for n in self._file.schema_arrow.names]
        if len(names) > MAX_COLUMNS:
            raise InputError(_("{name}:{row}: the header has {n} columns; the limit is {limit}", name=name, row=1,
                               n=format(len(names), ","), limit=format(MAX_COLUMNS, ",")))
        self.columns = names
        self.rows_total = self._file.metadata.num_rows
        self._read = 0

    def __iter__(self) -> Iterator[Record]:
        pa, _pq = _pyarrow()
        row = 1
        width = len(self.columns)
        try:
            for batch in self._file.iter_batches(batch_size=BATCH_ROWS):
                columns = [batch.column(i).to_pylist() for i in range(width)]
                for values in zip(*columns, strict=True) if columns else ():
                    row += 1
                    self._read += 1
                    yield self._record(row, [_cell(v) for v in values])
        except pa.ArrowException as e:
            yield Record(row + 1, [], "parquet", _("the rest of the file cannot be read from row {row}: {why}",
                                                   row=row + 1, why=" ".join(str(e).split())[:200]))

    def _record(self, row: int, values: list[Any]) -> Record:
        for i, v in enumerate(values):
            if isinstance(v, str) and len(v) > CELL_LIMIT:
                return Record(row, values, "parquet", _('the cell of column "{column}" in the row at line {line} has '
                                                        "{n} characters; the limit for a cell is {limit}",
                                                        column=self.columns[i], line=row, n=format(len(v), ","),
                                                        limit=format(CELL_LIMIT, ",")))
        return Record(row, values)

    def progress(self) -> float | None:
        return self._read / self.rows_total if self.rows_total else None

    def close(self) -> None:
        if self._fh is not sys.stdin.buffer:
            self._fh.close()


def _cell(v: Any) -> Any:
    """A Parquet value as a cell the mapping reads: text, numbers, booleans, dates, lists."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


# --- writing ------------------------------------------------------------------------------------

def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int" if _INT64[0] <= v <= _INT64[1] else "text"
    if isinstance(v, float):
        return "float"
    if isinstance(v, _dt.datetime):
        return "datetime" if v.tzinfo is None else "text"
    if isinstance(v, _dt.date):
        return "date"
    return "text"


def _arrow_type(kinds: set[str]) -> tuple[Any, str]:
    """The Parquet type of a column whose values are of `kinds`, and how to convert them."""
    pa, _pq = _pyarrow()
    if kinds <= {"int"} and kinds:
        return pa.int64(), "int"
    if kinds <= {"int", "float"} and kinds:
        return pa.float64(), "float"
    if kinds == {"bool"}:
        return pa.bool_(), "bool"
    if kinds == {"datetime"}:
        return pa.timestamp("us"), "datetime"
    if kinds == {"date"}:
        return pa.date32(), "date"
    return pa.string(), "text"


def _convert(v: Any, how: str) -> Any:
    if v is None:
        return None
    if how == "text":
        return v if isinstance(v, str) else cell_text(v)
    if v == "":
        return None
    if how == "float":
        return float(v)
    return v


def write_parquet(rows: Callable[[], Iterator[list[Any]]], dest: str | IO[bytes]) -> None:
    """Rows (the first one the header) to a Parquet file. `rows()` is called twice: the column
    types come from the first pass, the row groups from the second."""
    pa, pq = _pyarrow()
    it = rows()
    header = next(it, None)
    if header is None:
        return
    header = [str(h) for h in header]
    kinds: list[set[str]] = [set() for _ in header]
    for values in it:
        for i, v in enumerate(values[:len(header)]):
            if v is not None and v != "":  # an empty cell is null in a typed column
                kinds[i].add(_kind(v))
    types = [_arrow_type(k) for k in kinds]
    schema = pa.schema([pa.field(_unique(h, header[:i]), t) for i, (h, (t, _how)) in enumerate(zip(header, types,
                                                                                                     strict=True))])
    it = rows()
    next(it, None)
    with pq.ParquetWriter(dest, schema, compression="zstd") as w:
        while True:
            block = [next(it, None) for _ in range(BATCH_ROWS)]
            block = [b for b in block if b is not None]
            if not block:
                break
            arrays = []
            for i, (t, how) in enumerate(types):
                arrays.append(pa.array([_convert(r[i] if i < len(r) else None, how) for r in block], type=t))
            w.write_table(pa.Table.from_arrays(arrays, schema=schema))
            if len(block) < BATCH_ROWS:
                break


def _unique(name: str, before: list[str]) -> str:
    """Parquet readers want distinct column names: a repeated header gets a suffix."""
    out, n = name, 1
    while out in before:
        n += 1
        out = f"{name}.{n}"
    return out


def spool_to_parquet(spool_path: Path, dest: str | IO[bytes]) -> None:
    """Convert a finished spool (first line: the header) to a Parquet file, streaming, in two passes."""
    from .writers import _unspool_value

    def rows() -> Iterator[list[Any]]:
        with open(spool_path, encoding="utf-8", errors="surrogatepass") as fh:
            for line in fh:
                yield [_unspool_value(v) for v in json.loads(line)]

    if not isinstance(dest, str):
        # through a temporary file: a pipe that closes half way must not get half a file
        import shutil

        with tempfile.TemporaryFile() as tmp:
            write_parquet(rows, tmp)
            tmp.seek(0)
            shutil.copyfileobj(tmp, dest)
        dest.flush()
        return
    write_parquet(rows, dest)


class ParquetStreamWriter:
    """Parquet to a stream (stdout): the rows go to a spool in a temporary file, converted on close."""

    def __init__(self, out: IO[bytes], columns: list[str] | None):
        from .writers import SpoolWriter

        self._out = out
        self._tmp = tempfile.NamedTemporaryFile(prefix="zhike-", suffix=".spool.jsonl", delete=False)
        self._spool = SpoolWriter(self._tmp)
        if columns is not None:
            self._spool.write(list(columns))

    def write(self, values: list[Any]) -> None:
        self._spool.write(values)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        import os

        try:
            self._spool.close()
            self._tmp.close()
            spool_to_parquet(Path(self._tmp.name), self._out)
        finally:
            os.unlink(self._tmp.name)
