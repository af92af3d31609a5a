"""`zhike batch INPUT`: classify every row of a prospect list; no row is ever lost.

Every row read ends up either in the output (input cells unchanged, result
columns after them) or in the rejects file (input cells plus `_row`,
`_error_code`, `_error`), and the summary on stderr adds them up.

A file output is written to `OUTPUT.part` and renamed when the run is
complete; a checkpoint beside it (`OUTPUT.zhike-checkpoint.json`, replaced
atomically every few seconds after the data it counts is on disk) records
the input's hash, the settings and how many rows and bytes are done. `--resume`
truncates the part files to those byte counts and carries on from that row,
so the result is byte-identical to an uninterrupted run.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..errors import EXIT_FAILED, EXIT_OK, InputError

CHECKPOINT_SECONDS = 2.0
CHECKPOINT_VERSION = 1
EXPLAIN_SAMPLE = 1000
_EXT = {"csv": ".csv", "xlsx": ".xlsx", "jsonl": ".jsonl"}
REJECT_COLUMNS = ["_row", "_error_code", "_error"]


def _checkpoint_rows() -> int:
    # tests make checkpoints frequent to kill a run between two of them
    try:
        return max(1, int(os.environ.get("ZHIKE_BATCH_CHECKPOINT_ROWS", "2000")))
    except ValueError:
        return 2000


def _cache_size() -> int:
    # the benchmark measures with and without the result cache
    from ..batch import DEFAULT_CACHE

    try:
        return max(0, int(os.environ.get("ZHIKE_BATCH_CACHE", str(DEFAULT_CACHE))))
    except ValueError:
        return DEFAULT_CACHE


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --- one table being written, resumable when it is a file ----------------------------------

@dataclass
class _Table:
    """The output or the rejects: a part file (or stdout), its writer, and where it ends up."""

    fmt: str
    final: str | None  # None = stdout
    header: list[str]
    csv_encoding: str = "utf-8"
    bom: bool = False
    delimiter: str = ","
    jsonl_columns: list[str] = field(default_factory=list)
    fh: IO[bytes] | None = None
    writer: Any = None
    rows: int = 0

    @property
    def part(self) -> Path:
        assert self.final is not None
        return Path(self.final + (".part.jsonl" if self.fmt == "xlsx" else ".part"))

    def open(self, offset: int | None = None) -> None:
        """Start the part file, or continue it from `offset` bytes (a checkpoint)."""
        from ..tabular import CsvWriter, JsonlWriter, SpoolWriter, XlsxWriter

        fresh = offset is None
        if self.final is None:
            self.fh = sys.stdout.buffer
        elif fresh:
            self.fh = open(self.part, "wb")  # kept open for the whole run
        else:
            self.fh = open(self.part, "r+b")
            self.fh.truncate(offset)
            self.fh.seek(offset)
        header = self.header if fresh else None
        if self.fmt == "csv":
            self.writer = CsvWriter(self.fh, header, self.csv_encoding, bom=self.bom and fresh,
                                    delimiter=self.delimiter)
        elif self.fmt == "jsonl":
            self.writer = JsonlWriter(self.fh, self.jsonl_columns or self.header)
        elif self.final is None:
            self.writer = XlsxWriter(self.fh, header)
        else:
            self.writer = SpoolWriter(self.fh)
            if header is not None:
                self.writer.write(header)

    def offset(self) -> int:
        """Bytes on disk so far (after flushing), for the checkpoint."""
        assert self.fh is not None
        self.writer.flush()
        _fsync(self.fh)
        return self.fh.tell()

    def finish(self) -> None:
        from ..tabular import spool_to_xlsx

        if self.writer is None:
            return
        self.writer.close()
        if self.final is None:
            sys.stdout.buffer.flush()
            return
        assert self.fh is not None
        self.fh.close()
        if self.fmt == "xlsx":
            tmp = Path(self.final).with_name(f".{Path(self.final).name}.tmp")
            spool_to_xlsx(self.part, str(tmp))
            os.replace(tmp, self.final)
            self.part.unlink()
        else:
            os.replace(self.part, self.final)

    def abandon(self) -> None:
        """Flush what there is and leave the part file for --resume."""
        if self.writer is not None and self.final is not None and self.fh is not None and not self.fh.closed:
            try:
                self.writer.flush()
                self.fh.close()
            except OSError:
                pass


# --- the command --------------------------------------------------------------------------

def run(*, input_path: str, output: str | None, mapping: Path | None, rejects: str | None,
        max_errors: int | None, workers: int, resume: bool, lang: str, columns: str | None,
        input_format: str | None, output_format: str | None, encoding: str | None, explain_map: bool,
        rulebase: Path) -> int:
    from ..batch import Settings, result_columns, select_columns
    from ..loader import load_rulebase
    from ..mapping import MapSpec, build_plan, load_map
    from ..tabular import format_for, open_table

    in_fmt = format_for(input_path, input_format, "input")
    out_path = None if output in (None, "-") else output
    if out_path is not None and input_path != "-" and Path(out_path).resolve() == Path(input_path).resolve():
        raise InputError(f"{output}: the output would overwrite the input; write it to a new file")
    if resume and out_path is None:
        raise InputError("--resume needs an output file (-o FILE): a run to stdout cannot be continued")
    if resume and input_path == "-":
        raise InputError("--resume needs an input file: stdin cannot be read again")
    rb = load_rulebase(rulebase)
    spec = load_map(mapping, rb) if mapping is not None else MapSpec([])
    wanted = select_columns(rb, columns)
    reader = open_table(input_path, in_fmt, encoding)
    try:
        plan = build_plan(reader.columns, rb, spec, frozenset(result_columns(rb)))
        if explain_map:
            _explain(reader, plan, rb, wanted, lang, input_path, spec)
            return EXIT_OK
        if not plan.mapped:
            raise InputError(f"{reader.name}: none of the {len(reader.columns)} columns maps to a fact, so every "
                             "row would be undecided; see `zhike batch --explain-map` and use --map")
        for col in plan.missing_columns:
            _say(f"note: the mapping names column {col!r}, which {reader.name} does not have")
        out_fmt = format_for(out_path, output_format, "output") or (
            "csv" if reader.format == "xlsx" else reader.format)
        settings = Settings(rb, spec, wanted, lang, _cache_size(), frozenset(result_columns(rb)))
        job = _Job(reader, plan, settings, input_path, out_path, out_fmt, rejects, max_errors, workers,
                   resume, spec.sha256)
        return job.run()
    finally:
        reader.close()


class _Job:
    def __init__(self, reader, plan, settings, input_path: str, out_path: str | None, out_fmt: str,
                 rejects: str | None, max_errors: int | None, workers: int, resume: bool, map_sha: str):
        self.reader, self.plan, self.settings = reader, plan, settings
        self.input_path, self.out_path, self.workers, self.resume = input_path, out_path, workers, resume
        self.max_errors = max_errors
        cols = list(reader.columns)
        result_names = list(settings.columns)
        prefix = ""
        while any(prefix + c in cols for c in result_names):
            prefix += "zhike_"  # an earlier run's output as input: keep both, never overwrite a column
        if prefix:
            _say(f"note: the input already has result columns; the new ones are prefixed {prefix!r}")
        self.out_columns = cols + [prefix + c for c in result_names]
        self.output = _Table(out_fmt, out_path, self.out_columns, bom=out_path is not None,
                             jsonl_columns=self.out_columns)
        self.rejects_explicit = rejects is not None
        rej_path = rejects if rejects not in (None, "-") else None
        if rejects == "-" and out_path is None:
            raise InputError("--rejects -: stdout already carries the output; give the rejects a file name")
        if rejects is None:
            rej_path = self._default_rejects(reader.format)
        if rej_path is not None and out_path is not None and Path(rej_path).resolve() == Path(out_path).resolve():
            raise InputError(f"--rejects {rejects}: that is the output file; give the rejects their own file")
        self.rejects = _Table(reader.format, rej_path, cols + REJECT_COLUMNS,
                              csv_encoding=reader.encoding or "utf-8", bom=(reader.encoding == "utf-8-sig"),
                              delimiter=reader.delimiter, jsonl_columns=cols)
        self.checkpoint = Path(out_path + ".zhike-checkpoint.json") if out_path else None
        self.key: dict[str, Any] = {}
        if self.checkpoint is not None:
            self.key = {
                "zhike": __version__, "input": os.path.abspath(input_path), "input_sha256": _sha256_file(input_path),
                "rulebase_sha256": settings.rulebase.sha256, "map_sha256": map_sha, "lang": settings.lang,
                "columns": settings.columns, "output_format": out_fmt, "input_format": reader.format,
                "encoding": reader.encoding, "rejects": os.path.abspath(rej_path) if rej_path else None,
            }
        self.rows_in = self.rows_out = self.rejected = 0
        self.last_row = 0
        self.stopped = False

    def _default_rejects(self, fmt: str) -> str:
        ext = _EXT[fmt]
        if self.out_path is not None:
            base = Path(self.out_path)
        elif self.input_path != "-":
            base = Path(self.input_path)
        else:
            return "zhike-rejects" + ext
        return str(base.with_name(base.stem + ".rejects" + ext))

    # -- checkpoints --

    def _load_checkpoint(self) -> dict | None:
        assert self.checkpoint is not None
        if not self.checkpoint.exists():
            _say(f"note: no checkpoint at {self.checkpoint}; starting from the first row")
            return None
        try:
            data = json.loads(self.checkpoint.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{self.checkpoint}: cannot read the checkpoint ({e}); run without --resume "
                             "to start over") from None
        if data.get("version") != CHECKPOINT_VERSION or data.get("key") != self.key:
            changed = [k for k in self.key if (data.get("key") or {}).get(k) != self.key[k]]
            raise InputError(f"{self.checkpoint}: the interrupted run used a different "
                             f"{', '.join(changed) or 'zhike version'}; run without --resume to start over")
        if not self.output.part.exists() or (data["rejects_bytes"] and not self.rejects.part.exists()):
            raise InputError(f"{self.checkpoint}: the partial output is gone; run without --resume to start over")
        return data

    def _save_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        data = {
            "version": CHECKPOINT_VERSION, "key": self.key, "rows_done": self.rows_in,
            "rows_out": self.rows_out, "rejected": self.rejected, "last_row": self.last_row,
            "output_bytes": self.output.offset(),
            "rejects_bytes": self.rejects.offset() if self.rejects.writer is not None else 0,
        }
        _atomic_json(self.checkpoint, data)

    # -- rows --

    def _reject(self, rec, code: str, message: str) -> None:
        if self.rejects.writer is None:
            self.rejects.open()
        width = len(self.reader.columns)
        meta = [rec.row, code, message]
        if self.rejects.fmt == "jsonl":
            values = list(rec.values) + [None] * (width - len(rec.values))
            self.rejects.writer.write(values, raw=rec.raw, extra=dict(zip(REJECT_COLUMNS, meta, strict=True)))
        else:
            values = list(rec.values)
            if len(values) < width:
                values += [None] * (width - len(values))
            # cells beyond the header go after the three _ columns, so those still line up
            self.rejects.writer.write(values[:width] + meta + values[width:])
        self.rejects.rows += 1
        self.rejected += 1

    def _records(self, skip: int) -> Iterator:
        it = iter(self.reader)
        if skip:
            done = sum(1 for _ in islice(it, skip))
            if done < skip:
                raise InputError(f"{self.checkpoint}: the input has fewer rows than the checkpoint counts; "
                                 "run without --resume to start over")
        cols = tuple(self.reader.columns)
        for rec in it:
            yield rec, (None if rec.error_code else (cols, rec.values))

    def run(self) -> int:
        from ..batch import Stats, classify_values

        state = self._load_checkpoint() if self.resume and self.checkpoint is not None else None
        if state is None and self.checkpoint is not None and self.checkpoint.exists():
            _say(f"note: discarding the checkpoint of an earlier interrupted run ({self.checkpoint}); "
                 "use --resume to continue it instead")
            self.checkpoint.unlink()
        if state is not None:
            self.rows_in, self.rows_out, self.rejected = state["rows_done"], state["rows_out"], state["rejected"]
            self.last_row = state["last_row"]
            self.output.open(state["output_bytes"])
            if state["rejects_bytes"]:
                self.rejects.open(state["rejects_bytes"])
            _say(f"resuming after {self.rows_in:,} rows ({self.rows_out:,} classified, {self.rejected:,} rejected)")
        else:
            self.output.open()
        skip = self.rows_in
        every = _checkpoint_rows()
        progress = _Progress(self.reader) if sys.stderr.isatty() else None
        stats = Stats()
        last_ckpt = time.monotonic()
        since = 0
        try:
            self._save_checkpoint()
            for rec, outcome in classify_values(self._records(skip), self.settings, self.workers, stats=stats):
                if rec.error_code:
                    self._reject(rec, rec.error_code, rec.error or "")
                elif outcome is None or outcome[0] is None:
                    self._reject(rec, outcome[1] if outcome else "error", outcome[2] if outcome else "")
                else:
                    self.output.writer.write(list(rec.values) + outcome[0])
                    self.output.rows += 1
                    self.rows_out += 1
                self.rows_in += 1  # counted once written: a checkpoint never counts a row it lacks
                self.last_row = rec.row
                if progress is not None:
                    progress.update(self.rows_in, self.rejected)
                if self.max_errors is not None and self.rejected >= max(1, self.max_errors):
                    self.stopped = True
                    break
                since += 1
                if since >= every or (since and time.monotonic() - last_ckpt >= CHECKPOINT_SECONDS):
                    self._save_checkpoint()
                    since, last_ckpt = 0, time.monotonic()
        except BaseException:
            if progress is not None:
                progress.clear()
            if self.checkpoint is not None:
                try:
                    self._save_checkpoint()
                except Exception:  # the original error matters more
                    pass
                self.output.abandon()
                self.rejects.abandon()
                _say(f"stopped after {self.rows_in:,} rows; run the same command with --resume to continue")
            raise
        if progress is not None:
            progress.clear()
        if self.rejects.writer is None and self.rejects_explicit and self.rejects.final is not None:
            self.rejects.open()  # asked for: an empty rejects file rather than a stale one
        self.rejects.finish()
        self.output.finish()
        if self.checkpoint is not None and self.checkpoint.exists():
            self.checkpoint.unlink()
        self._summary(stats)
        return EXIT_FAILED if self.rejected or self.stopped else EXIT_OK

    def _summary(self, stats) -> None:
        dest = self.out_path or "stdout"
        line = (f"zhike batch: {self.rows_in:,} {'row' if self.rows_in == 1 else 'rows'} in = {self.rows_out:,} "
                f"classified + {self.rejected:,} rejected; output: {dest}")
        if self.rejected or (self.rejects_explicit and self.rejects.final):
            line += f"; rejects: {self.rejects.final or 'stdout'}"
        _say(line)
        if self.stopped:
            _say(f"stopped after {self.rejected:,} rejected rows (--max-errors {self.max_errors}); "
                 f"rows after row {self.last_row:,} of {self.reader.name} were not read")
        if os.environ.get("ZHIKE_BATCH_STATS"):
            _say(f"cache: {stats.cache_hits:,} hits, {stats.cache_misses:,} inferences")


class _Progress:
    """One line on stderr, redrawn at most five times a second (only on a terminal)."""

    def __init__(self, reader):
        self.reader = reader
        self.t0 = self.last = time.monotonic()

    def update(self, rows: int, rejected: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        frac = self.reader.progress()
        pct = f"{frac:6.1%}  " if frac is not None else ""
        rate = rows / max(now - self.t0, 1e-6)
        bar = ""
        if frac is not None:
            n = int(frac * 24)
            bar = "[" + "#" * n + "." * (24 - n) + "] "
        sys.stderr.write(f"\r{bar}{pct}{rows:,} rows  {rate:,.0f}/s  {rejected:,} rejected ")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


# --- --explain-map --------------------------------------------------------------------------

def _explain(reader, plan, rb, wanted: list[str], lang: str, input_path: str, spec) -> None:
    from ..render import dwidth, pad

    out: list[str] = []
    where = f"{reader.format.upper()}"
    if reader.format == "csv":
        where += f", encoding {reader.encoding}, delimiter {reader.delimiter!r}"
    if reader.detail:
        where += f", {reader.detail}"
    out.append(f"{reader.name}: {where}, {len(reader.columns)} columns")
    out.append(f"rulebase: {rb.name} {rb.version} (sha256 {rb.sha256[:12]})"
               + (f"; mapping: {spec.name}" if spec.entries else ""))
    out.append("")
    width = min(36, max([dwidth(c or "(blank)") for c in reader.columns] + [6]))
    fwidth = max([dwidth(p.fact.id) for p in plan.mapped] + [4])
    out.append(f"{pad('column', width)}    {pad('fact', fwidth)}  how")
    for p in plan.plans:
        name = p.name or "(blank)"
        if p.fact is not None:
            how = p.how + (f": {p.note}" if p.note else "")
            if p.translation is not None:
                tr = p.translation
                shown = [f"{k}→{v}" for k, v in list(tr.values.items())[:4]] + [r.text() for r in tr.ranges[:4]]
                more = len(tr.values) + len(tr.ranges) - len(shown)
                if shown:
                    how += f"; values {', '.join(shown)}" + (f" (+{more})" if more > 0 else "")
            label = p.fact.label.get(lang)
            out.append(f"{pad(name, width)}  → {pad(p.fact.id, fwidth)}  {how} [{label}]")
        else:
            out.append(f"{pad(name, width)}    {pad('-', fwidth)}  ignored: {p.note}")
    facts = {p.fact.id for p in plan.mapped}
    out.append("")
    out.append(f"{len(plan.mapped)} of {len(plan.columns)} columns map to {len(facts)} facts; "
               f"{len(plan.ignored)} ignored (kept unchanged in the output)")
    unmapped = [f for f in rb.facts if f not in facts]
    if unmapped:
        out.append(f"facts no column gives: {', '.join(unmapped)}")
    for col in plan.missing_columns:
        out.append(f"the mapping names column {col!r}, which the input does not have")
    out.append(f"result columns: {', '.join(wanted)}")
    # A dry run of the first rows: what would be rejected, before a long run.
    codes: dict[str, int] = {}
    examples: dict[str, str] = {}
    n = 0
    for rec in islice(iter(reader), EXPLAIN_SAMPLE):
        n += 1
        if rec.error_code:
            codes[rec.error_code] = codes.get(rec.error_code, 0) + 1
            examples.setdefault(rec.error_code, f"row {rec.row}: {rec.error}")
            continue
        _, problems = plan.profile(list(rec.values))
        if problems:
            codes["bad-value"] = codes.get("bad-value", 0) + 1
            examples.setdefault("bad-value", f"row {rec.row}: {problems[0]}")
    bad = sum(codes.values())
    out.append("")
    out.append(f"checked the first {n:,} rows: {bad:,} would be rejected"
               + (":" if bad else ""))
    for code, count in sorted(codes.items()):
        out.append(f"  {code}: {count:,}, e.g. {examples[code]}")
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
