"""The files of one `zhike batch` run: part files that can be resumed, and signals that stop it cleanly.

`Table` is the output or the rejects: rows go to `NAME.part` (an XLSX
output to a JSON-lines spool `NAME.part.jsonl`, since a zip cannot be
appended to), renamed into place when the run completes. `offset()` gives
the bytes on disk and a SHA-256 of them for the checkpoint; `verify()`
refuses to resume from a part file that no longer holds exactly those bytes.
Every OS error while writing becomes one line (`OutputError`).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..i18n import N_, _
from ..report.output import OutputError, atomic_write_text, os_reason, write_failure

_BLOCK = 1 << 20
CHECKPOINT_VERSION = 2  # 2: hashes of the part files' bytes
CHECKPOINT_MAX_BYTES = 1 << 20  # a checkpoint is a few hundred bytes; anything bigger is not one
# what each setting in a checkpoint's key is, for "the interrupted run used a different …"
CHECKPOINT_SETTINGS = {
    "zhike": N_("zhike version"), "input": N_("input file"), "input_sha256": N_("input content"),
    "rulebase_sha256": N_("rulebase"), "map_sha256": N_("mapping file"), "lang": N_("language"),
    "columns": N_("result columns"), "output_format": N_("output format"), "input_format": N_("input format"),
    "encoding": N_("encoding"), "rejects": N_("rejects file"), "header_row": N_("header row"),
    "sheet": N_("sheet"), "on_bad_value": N_("handling of unreadable cells"), "ids": N_("id columns"),
}
_COUNTS = ("rows_done", "rows_out", "rejected", "last_row", "output_bytes", "rejects_bytes")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                h.update(block)
    except OSError as e:
        raise InputError(_("{path}: cannot read it: {reason}", path=path, reason=os_reason(e))) from None
    return h.hexdigest()


def _hash_range(fd: int, h: Any, start: int, end: int) -> None:
    """Add bytes start..end of an open file to the hash `h` (pread: the file position stays)."""
    while start < end:
        data = os.pread(fd, min(_BLOCK, end - start), start)
        if not data:
            raise OSError(5, _("the file is shorter than expected"))
        h.update(data)
        start += len(data)


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Interrupts:
    """SIGINT and SIGTERM end the run the same way: resumable, with a message.

    A signal that arrives while a row or a checkpoint is half written is held
    until that is done, so the checkpoint saved on the way out never counts a
    row it lacks nor lacks a row it counts. In a forked worker the handler
    restores the default and dies of the signal as if it had never been set.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.depth = 0  # >0: inside a write that must not be cut in half
        self.pending = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                old = signal.getsignal(sig)
                if old is not signal.SIG_IGN:  # nohup and `cmd &` ignore them on purpose
                    self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum: int, frame: object) -> None:
        if os.getpid() != self.pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.depth:
            self.pending = True
            return
        raise KeyboardInterrupt

    def hold(self) -> None:
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if not self.depth and self.pending:
            self.pending = False
            raise KeyboardInterrupt


# --- one table being written, resumable when it is a file ----------------------------------

@dataclass
class Table:
    """The output or the rejects: a part file (or stdout), its writer, and where it ends up."""

    fmt: str
    final: Path | None  # None = stdout
    header: list[str]
    csv_encoding: str = "utf-8"
    bom: bool = False
    delimiter: str = ","
    jsonl_columns: list[str] = field(default_factory=list)
    fh: IO[bytes] | None = None
    writer: Any = None
    rows: int = 0
    hashed: tuple[Any, int] | None = None  # sha256 of the part's first n bytes, and n
    _xlsx_tmp: Path | None = None

    @property
    def part(self) -> Path:
        assert self.final is not None
        return Path(str(self.final) + (".part.jsonl" if self.fmt in ("xlsx", "parquet") else ".part"))

    def _fail(self, e: OSError, where: Path | None = None) -> OutputError:
        return write_failure(where or (self.part if self.final is not None else None), e)

    def verify(self, offset: int, digest: Any) -> None:
        """Refuse to resume unless the part file still starts with the bytes the checkpoint hashed."""
        part = self.part
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise InputError(_("{path}: the partial output is gone; run without --resume to start over",
                               path=part)) from None
        except OSError as e:
            raise InputError(_("{path}: cannot read the partial output: {reason}", path=part,
                               reason=os_reason(e))) from None
        try:
            st = os.fstat(fd)
            h = hashlib.sha256()
            ok = stat.S_ISREG(st.st_mode) and st.st_size >= offset and isinstance(digest, str)
            if ok:
                _hash_range(fd, h, 0, offset)
                ok = h.hexdigest() == digest
        except OSError:
            ok = False
        finally:
            os.close(fd)
        if not ok:
            raise InputError(_("{path}: the partial output was changed since the run stopped; run without --resume "
                               "to start over", path=part))
        self.hashed = (h, offset)

    def open(self, offset: int | None = None) -> None:
        """Start the part file, or continue it from `offset` bytes (after verify())."""
        from ..batch.tabular import CsvWriter, JsonlWriter, SpoolWriter, XlsxWriter

        fresh = offset is None
        try:
            if self.final is None:
                self.fh = sys.stdout.buffer
            elif fresh:
                # a new file, never through a link: whatever was at this name is ours (we hold the lock)
                remove(self.part)
                fd = os.open(self.part, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
                self.fh = os.fdopen(fd, "w+b")  # kept open for the whole run
                self.hashed = (hashlib.sha256(), 0)
            else:
                fd = os.open(self.part, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
                self.fh = os.fdopen(fd, "r+b")
                self.fh.truncate(offset)
                self.fh.seek(offset)
            header = self.header if fresh else None
            if self.fmt == "csv":
                self.writer = CsvWriter(self.fh, header, self.csv_encoding, bom=self.bom and fresh,
                                        delimiter=self.delimiter)
            elif self.fmt == "jsonl":
                self.writer = JsonlWriter(self.fh, self.jsonl_columns or self.header)
            elif self.final is None and self.fmt == "parquet":
                from ..batch.parquet import ParquetStreamWriter

                self.writer = ParquetStreamWriter(self.fh, header)
            elif self.final is None:
                self.writer = XlsxWriter(self.fh, header)
            else:
                self.writer = SpoolWriter(self.fh)
                if header is not None:
                    self.writer.write(header)
        except OSError as e:
            raise self._fail(e) from None

    def write(self, values: list[Any], **kw: Any) -> None:
        try:
            self.writer.write(values, **kw)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise self._fail(e) from None
        self.rows += 1

    def offset(self) -> tuple[int, str | None]:
        """Bytes on disk so far (flushed and synced) and their hash, for the checkpoint."""
        assert self.fh is not None
        if self.final is None:
            return 0, None  # stdout: nothing to resume
        try:
            self.writer.flush()
            self.fh.flush()
            os.fsync(self.fh.fileno())
            end = self.fh.tell()
            assert self.hashed is not None
            h, start = self.hashed
            h = h.copy()
            _hash_range(self.fh.fileno(), h, start, end)  # read back: the hash is of what is on disk
        except OSError as e:
            raise self._fail(e) from None
        self.hashed = (h, end)
        return end, h.hexdigest()

    def close(self) -> None:
        """Finish writing; an XLSX output is built from its spool into a temporary file."""
        from ..batch.tabular import spool_to_xlsx

        if self.writer is None:
            return
        try:
            self.writer.close()
            if self.final is None:
                sys.stdout.buffer.flush()
                return
            assert self.fh is not None
            self.fh.close()
            if self.fmt in ("xlsx", "parquet"):  # a zip or a Parquet file: built from the spool at the end
                self._xlsx_tmp = self.final.with_name(f".{self.final.name}.zhike-tmp")
                remove(self._xlsx_tmp)
                if self.fmt == "parquet":
                    from ..batch.parquet import spool_to_parquet

                    spool_to_parquet(self.part, str(self._xlsx_tmp))
                else:
                    spool_to_xlsx(self.part, str(self._xlsx_tmp))
        except BrokenPipeError:
            raise
        except OSError as e:
            if self._xlsx_tmp is not None:
                remove(self._xlsx_tmp)
            raise self._fail(e, self.final) from None

    def commit(self) -> None:
        """Put the finished file in place (a rename: the old file or the new, never half of one)."""
        if self.writer is None or self.final is None:
            return
        try:
            if self._xlsx_tmp is not None:
                os.replace(self._xlsx_tmp, self.final)
                remove(self.part)
            else:
                os.replace(self.part, self.final)
        except OSError as e:
            raise self._fail(e, self.final) from None

    def abandon(self, keep: bool) -> None:
        """Stop writing; leave the part file for --resume (keep) or remove it."""
        if self.final is None or self.fh is None:
            return
        try:
            if keep and not self.fh.closed:
                self.writer.flush()
        except (OSError, ValueError):
            pass
        try:
            self.fh.close()
        except OSError:
            pass
        if not keep:
            for p in (self.part, self._xlsx_tmp):
                if p is not None:
                    try:
                        remove(p)
                    except OSError:
                        pass


# --- the checkpoint: how far a run got, so --resume can continue it ------------------------

def load_checkpoint(path: Path, key: dict[str, Any], output: Table, rejects: Table) -> dict | None:
    """The counts an interrupted run saved, checked against this run's settings (`key`) and
    against the bytes of its part files; None when there is no checkpoint."""
    if not path.exists():
        print(_("note: no checkpoint at {path}; starting from the first row", path=path), file=sys.stderr, flush=True)
        return None
    bad = _("{path}: this is not a zhike checkpoint (damaged?); run without --resume to start over", path=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(CHECKPOINT_MAX_BYTES + 1)
        data = json.loads(raw.decode("utf-8")) if len(raw) <= CHECKPOINT_MAX_BYTES else None
    except OSError as e:
        raise InputError(_("{path}: cannot read the checkpoint ({reason}); run without --resume to start over",
                           path=path, reason=os_reason(e))) from None
    except (ValueError, RecursionError):
        raise InputError(bad) from None
    if not isinstance(data, dict) or not isinstance(data.get("key"), dict):
        raise InputError(bad)
    if data.get("version") != CHECKPOINT_VERSION or data.get("key") != key:
        changed = [_(CHECKPOINT_SETTINGS.get(k, k)) for k in key if data["key"].get(k) != key[k]]
        raise InputError(_("{path}: the interrupted run used a different {settings}; run without --resume to start "
                           "over", path=path, settings=_(", ").join(changed) or _("zhike version")))
    if not all(type(data.get(k)) is int and data[k] >= 0 for k in _COUNTS) or \
            data["rows_done"] != data["rows_out"] + data["rejected"]:
        raise InputError(bad)
    # both checked before either is touched
    output.verify(data["output_bytes"], data.get("output_sha256"))
    if data["rejects_bytes"] and rejects.final is not None:
        rejects.verify(data["rejects_bytes"], data.get("rejects_sha256"))
    return data


def save_checkpoint(path: Path, key: dict[str, Any], counts: dict[str, int], output: Table, rejects: Table) -> None:
    """Record `counts` (rows_done, rows_out, rejected, last_row) and the part files' bytes, atomically."""
    out_bytes, out_sha = output.offset()
    rej_bytes, rej_sha = rejects.offset() if rejects.writer is not None else (0, None)
    data = {
        "version": CHECKPOINT_VERSION, "key": key, **counts,
        "output_bytes": out_bytes, "output_sha256": out_sha,
        "rejects_bytes": rej_bytes, "rejects_sha256": rej_sha,
    }
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1))
