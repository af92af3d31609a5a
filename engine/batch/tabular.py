"""Prospect lists in and out: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX and JSONL.

One import for the table API, in three modules: `cells` (formats, limits, cells as
text), `readers` (streaming readers that turn a bad row into a `Record` with an
error code, never a stop) and `writers` (formula-safe CSV, JSONL, XLSX and the
resumable XLSX spool).
"""
from __future__ import annotations

from .cells import (
    ABSENT,
    CELL_LIMIT,
    FORMATS,
    JSONL_DEPTH_LIMIT,
    MAX_COLUMNS,
    PIECE_BYTES,
    ROW_LIMIT,
    SAMPLE_BYTES,
    cell_text,
    format_for,
    neutralise,
    open_binary,
    sniff_format,
)
from .jsonl_reader import JsonlReader
from .readers import (
    CsvReader,
    Record,
    TableReader,
    XlsxReader,
    open_table,
)
from .textlines import detect_encoding
from .writers import (
    CsvWriter,
    JsonlWriter,
    SpoolWriter,
    XlsxWriter,
    spool_to_xlsx,
)

__all__ = [
    "ABSENT", "CELL_LIMIT", "FORMATS", "JSONL_DEPTH_LIMIT", "MAX_COLUMNS", "PIECE_BYTES", "ROW_LIMIT",
    "SAMPLE_BYTES", "CsvReader", "CsvWriter", "JsonlReader", "JsonlWriter", "Record", "SpoolWriter",
    "TableReader", "XlsxReader", "XlsxWriter", "cell_text",
    "detect_encoding", "format_for", "neutralise", "open_binary", "open_table", "sniff_format", "spool_to_xlsx",
]
