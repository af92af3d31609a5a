"""`zhike batch INPUT`: classify every row of a prospect list; no row is ever lost.

Every row read ends up either in the output (input cells unchanged, result
columns after them) or in the rejects file (input cells plus `_row`,
`_error_code`, `_error`), and the summary on stderr adds them up.

A file output is written to `OUTPUT.part` and renamed when the run is
complete; a checkpoint beside it (`OUTPUT.zhike-checkpoint.json`, replaced
atomically every few seconds after the data it counts is on disk) records
the input's hash, the settings, how many rows and bytes are done and a hash
of those bytes. `--resume` checks the part files still hold exactly those
bytes, truncates them there and carries on from that row, so the result is
byte-identical to an uninterrupted run.

The run owns its output: the paths are checked before anything is opened
(never an input, a device or a symlink out of the directory) and an
exclusive lock on the output (and the rejects file) is held for the whole
run, so a second run on the same output stops before touching anything.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, InputError
from ..i18n import N_, _, ngettext
from ..report.output import OutputError, OutputLock, check_output_path, silence_stdout
from .batch_explain import Progress
from .batch_io import Interrupts, Table, load_checkpoint, remove, save_checkpoint, sha256_file

CHECKPOINT_SECONDS = 2.0
EXPLAIN_SAMPLE = 1000
EXPLAIN_UNMAPPED = 12  # facts no column gives, named in --explain-map (`zhike facts` lists them all)
_EXT = {"csv": ".csv", "xlsx": ".xlsx", "jsonl": ".jsonl", "parquet": ".parquet"}
REJECT_COLUMNS = ["_row", "_error_code", "_error"]
REJECTS_FILE = N_("rejects file")


def _checkpoint_rows() -> int:
    # tests make checkpoints frequent to kill a run between two of them
    try:
        return max(1, int(os.environ.get("ZHIKE_BATCH_CHECKPOINT_ROWS", "2000")))
    except ValueError:
        return 2000


def _cache_size() -> int:
    # the benchmark measures with and without the result cache
    from ..batch.classify import DEFAULT_CACHE

    try:
        return max(0, int(os.environ.get("ZHIKE_BATCH_CACHE", str(DEFAULT_CACHE))))
    except ValueError:
        return DEFAULT_CACHE


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the command --------------------------------------------------------------------------

def run(*, input_path: str, output: str | None, mapping: Path | None, rejects: str | None,
        max_errors: int | None, workers: int, resume: bool, lang: str, columns: str | None,
        input_format: str | None, output_format: str | None, encoding: str | None, explain_map: bool,
        rulebase: Path, header_row: int | None = None, sheet: str | None = None, on_bad_value: str = "blank",
        ids: bool = False, init_map: str | None = None, summary: str | None = None, dask: str | None = None) -> int:
    from ..batch.classify import Settings, select_columns
    from ..batch.mapping import MapSpec, build_plan, header_known, load_map
    from ..batch.results import every_header, layout
    from ..batch.tabular import format_for, open_table
    from ..rules.loader import load_rulebase

    in_fmt = format_for(input_path, input_format, "input")
    out_name = None if output in (None, "-") else output
    inputs = [] if input_path == "-" else [input_path]
    out_path = None
    if init_map is not None and explain_map:
        raise InputError(_("--init-map and --explain-map: choose one"))
    if out_name is not None and not (explain_map or init_map):
        # before anything is opened: a device, a FIFO or a symlink out of the directory is never written
        out_path = check_output_path(out_name, inputs)
    summary_path, summary_fmt = _summary_target(summary, inputs) if summary and not (explain_map or init_map) \
        else (None, None)
    if resume and out_name is None:
        raise InputError(_("--resume needs an output file (-o FILE): a run to stdout cannot be continued"))
    if resume and input_path == "-":
        raise InputError(_("--resume needs an input file: stdin cannot be read again, so a run from stdin cannot be "
                           "continued; run it again without --resume"))
    if dask is not None and workers > 1:
        raise InputError(_("--dask and --workers: choose one (with --dask, the Dask workers do the work)"))
    init_path = None
    if init_map is not None:
        init_path = check_output_path(init_map, inputs, _("mapping file"))
        if init_path.exists():
            raise InputError(_("{path}: already exists; --init-map never writes over a mapping file (you may have "
                               "edited it): remove it or choose another name", path=init_map))
    rb = load_rulebase(rulebase)
    spec = load_map(mapping, rb) if mapping is not None else MapSpec([])
    logical = select_columns(rb, columns, warnings=on_bad_value == "blank")
    out_fmt = format_for(out_name, output_format, "output") or ("csv" if in_fmt in ("xlsx", "parquet", None)
                                                                else in_fmt)
    labels = out_fmt not in ("jsonl", "parquet")  # JSONL and Parquet are for machines: ids only
    want_ids = ids or not labels
    reader = open_table(input_path, in_fmt, encoding, sheet=sheet, header_row=header_row, known=header_known(rb))
    try:
        if not format_for(out_name, output_format, "output"):
            out_fmt = "csv" if reader.format in ("xlsx", "parquet") else reader.format
            labels, want_ids = out_fmt not in ("jsonl", "parquet"), ids or out_fmt in ("jsonl", "parquet")
        reserved = every_header(rb)
        plan = build_plan(reader.columns, rb, spec, reserved)
        if init_path is not None:
            from ..batch.initmap import init_map_text
            from ..report.output import atomic_write_text

            atomic_write_text(init_path, init_map_text(reader, plan, rb, input_path))
            _say(_("wrote {path}: edit it, then run zhike batch {input} --map {path}", path=init_map,
                   input=input_path))
            return EXIT_OK
        if explain_map:
            from .batch_explain import explain

            headers = [c.header for c in layout(rb, logical, lang, labels, want_ids)]
            return EXIT_FAILED if explain(reader, plan, rb, headers, lang, spec, on_bad_value) else EXIT_OK
        if not plan.mapped:
            raise InputError(ngettext("{name}: its one column names no fact, so every row would be undecided; see "
                                      "`zhike batch --explain-map` and use --map",
                                      "{name}: none of the {count} columns names a fact, so every row would be "
                                      "undecided; see `zhike batch --explain-map` and use --map",
                                      len(reader.columns), name=reader.name, count=format(len(reader.columns), ",")))
        settings = Settings(rb, spec, logical, lang, _cache_size(), reserved, labels=labels,
                            ids=want_ids or summary_path is not None, on_bad_value=on_bad_value)
        job = _Job(reader, plan, settings, input_path, out_name, out_path, out_fmt, rejects, max_errors, workers,
                   resume, spec.sha256)
        job.set_view(want_ids, summary_path, summary_fmt, {"header_row": header_row, "sheet": sheet,
                                                           "on_bad_value": on_bad_value, "ids": want_ids})
        job.notes[:0] = [_('note: the mapping names column "{column}", which {name} does not have', column=col,
                           name=reader.name) for col in plan.missing_columns]
        from .batch_explain import above_header

        job.notes[:0] = reader.notes + above_header(reader)
        if dask is not None:  # the rows are classified on a Dask cluster; reading and writing stay here
            from ..batch.dask_run import check_workers, open_client

            with open_client(dask) as client:
                check_workers(client, rb)  # a worker with another rulebase: refused before anything is written
                job.client = client
                return job.run()
        return job.run()
    finally:
        reader.close()


def _summary_target(summary: str, inputs: list[str]) -> tuple[Path, str]:
    ext = Path(summary).suffix.lower()
    fmt = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}.get(ext)
    if fmt is None:
        raise InputError(_("--summary {path}: name it .html or .md", path=summary))
    return check_output_path(summary, inputs, _("summary")), fmt


def _same(a: Path | str, b: Path | str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


class _View:
    """What a run shows: which result columns are written, and the summary page it builds on the way."""

    def __init__(self, job: _Job, kept: list[str]):
        self.job, self.kept = job, kept
        self.layout = job.settings.layout()
        self.keep: list[int] | None = None  # the result cells written (None: all); the others feed the summary
        self.summary_path: Path | None = None
        self.summary_fmt = ""
        self.builder: Any = None
        self.key: dict[str, Any] = {}  # the run's view settings, for the checkpoint
        self.at: dict[str, int] = {}

    def columns(self, keep: list[int] | None) -> list[str]:
        """The output's columns: the input's, then the result columns (prefixed when the input has them)."""
        names = [c.header for i, c in enumerate(self.layout) if keep is None or i in keep]
        prefix = ""
        while any(prefix + c in self.job.reader.columns for c in names):
            prefix += "zhike_"  # an earlier run's output as input: keep both, never overwrite a column
        note = _('note: the input already has result columns; the new ones are prefixed "{prefix}"', prefix=prefix)
        if prefix and note not in self.job.notes:
            self.job.notes.append(note)
        return self.kept + [prefix + c for c in names]

    def configure(self, ids: bool, summary_path: Path | None, summary_fmt: str | None, key: dict[str, Any]) -> None:
        from ..batch.summary import SummaryBuilder

        keep = [i for i, c in enumerate(self.layout) if c.form == "label" or ids]
        self.keep = None if len(keep) == len(self.layout) else keep
        self.key = key
        if summary_path is not None:
            self.summary_path, self.summary_fmt = summary_path, summary_fmt or "html"
            self.builder = SummaryBuilder(self.job.settings.rulebase, self.job.settings.lang, self.job.plan)
        # the summary reads the id form; the text columns (next best action ...) are written once, as labels
        self.at = {c.key: i for i, c in enumerate(self.layout) if c.form == "label"}
        self.at.update({c.key: i for i, c in enumerate(self.layout) if c.form == "id"})

    def cells(self, cells: list[Any]) -> list[Any]:
        """The result cells written."""
        return cells if self.keep is None else [cells[i] for i in self.keep]

    def summarise(self, rec: Any, cells: list[Any]) -> None:
        if self.builder is None:
            return
        values = list(rec.values)
        results = {k: cells[i] for k, i in self.at.items()}
        problems = self.job.plan.read(values)[1] if self.job.settings.on_bad_value == "blank" else ()
        self.builder.add(rec.row, values, results, problems)

    def reject(self, code: str) -> None:
        if self.builder is not None:
            self.builder.reject(code)

    def write_summary(self, resumed: bool) -> None:
        from ..batch.summary import render_summary
        from ..report.output import atomic_write_text

        if self.builder is None:
            return
        job = self.job
        s = self.builder.build(name=Path(job.reader.name).name, rows_in=job.rows_in,
                               above_header=len(job.reader.above), partial=resumed)
        if resumed:  # the rows before the interruption: counted as rows, not in the class counts
            s.rows_in, s.classified, s.rejected = job.rows_in, job.rows_out, job.rejected
        atomic_write_text(self.summary_path, render_summary(s, self.summary_fmt, job.settings.lang))


class _Job:
    def __init__(self, reader, plan, settings, input_path: str, out_name: str | None, out_path: Path | None,
                 out_fmt: str, rejects: str | None, max_errors: int | None, workers: int, resume: bool,
                 map_sha: str):
        from ..batch.tabular import format_for

        self.reader, self.plan, self.settings = reader, plan, settings
        self.input_path, self.out_name, self.out_path = input_path, out_name, out_path
        self.workers, self.resume, self.max_errors = workers, resume, max_errors
        inputs = [] if input_path == "-" else [input_path]
        self.notes: list[str] = []  # said once the run owns its output: a refused run says one line
        cols = list(reader.columns)
        # A rejects file run again: its _row/_error_code/_error are replaced, never piled up.
        self.drop = {i for i, c in enumerate(cols) if c in REJECT_COLUMNS}
        kept = [c for i, c in enumerate(cols) if i not in self.drop]
        self.view = _View(self, kept)
        self.out_columns = self.view.columns(None)
        self.output = Table(out_fmt, out_path, self.out_columns, bom=out_path is not None,
                             jsonl_columns=self.out_columns)
        self.rejects_explicit = rejects is not None
        if rejects == "-" and out_path is None:
            raise InputError(_("--rejects -: stdout already carries the output; give the rejects a file name"))
        rej_path: Path | None = None
        if rejects is None:
            rej_path = _default_rejects(self, reader.format, inputs)
        elif rejects != "-":
            try:
                named = format_for(rejects, None, "rejects")
            except InputError:
                named = None  # an extension that names no format: written in the input's format
            if named is not None and named != reader.format:
                raise InputError(_("--rejects {path}: rejected rows are written in the input's format ({format}) so "
                                   "they can be fixed and run again exactly as read; name the file {name}",
                                   path=rejects, format=reader.format.upper(),
                                   name=Path(rejects).stem + _EXT[reader.format]))
            if out_path is not None and _same(rejects, out_path):
                raise InputError(_("--rejects {path}: that is the output file; give the rejects their own file",
                                   path=rejects))
            rej_path = check_output_path(rejects, inputs, _(REJECTS_FILE))
        self.rejects = Table(reader.format, rej_path, kept + REJECT_COLUMNS,
                              csv_encoding=reader.encoding or "utf-8", bom=(reader.encoding == "utf-8-sig"),
                              delimiter=reader.delimiter, jsonl_columns=kept)
        # a stdin run has no checkpoint: stdin cannot be read again, so it could never be resumed
        self.checkpoint = Path(str(out_path) + ".zhike-checkpoint.json") if out_path and inputs else None
        for t in (self.output, self.rejects):
            if t.final is not None:
                check_output_path(t.part, inputs, _("partial output"))
        if self.checkpoint is not None:
            check_output_path(self.checkpoint, inputs, _("checkpoint"))
        self.locks = [OutputLock(t.final, _(w)) for t, w in ((self.output, N_("output")), (self.rejects, REJECTS_FILE))
                      if t.final is not None]
        self.key: dict[str, Any] = {}
        self.rows_in = self.rows_out = self.rejected = 0
        self.saved_rows = 0  # rows counted by the last checkpoint on disk
        self.last_row = 0
        self.stopped = False
        self.sig = Interrupts()
        self.spec_sha = map_sha
        self.client: Any = None  # a Dask client (--dask): chunks of rows are classified on its workers

    def set_view(self, ids: bool, summary_path: Path | None, summary_fmt: str | None, key: dict[str, Any]) -> None:
        """Which result columns are written (the id columns only with `ids`), and the summary page to build."""
        self.view.configure(ids, summary_path, summary_fmt, key)
        self.out_columns = self.output.header = self.output.jsonl_columns = self.view.columns(self.view.keep)

    # -- checkpoints --

    def _held(self, rows: Iterator) -> Iterator:
        """The classified rows, with signals held while the next one is being classified.

        durable_rules calls our actions from C: a KeyboardInterrupt raised inside one is printed
        by durable as a traceback and may leave the engine half-updated, so a signal that arrives
        during inference waits until the row is classified (a fraction of a millisecond).
        """
        while True:
            self.sig.hold()
            try:
                item = next(rows)
            except StopIteration:
                self.sig.release()
                return
            except BaseException:
                self.sig.depth -= 1
                raise
            self.sig.release()
            yield item

    def _save_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        self.sig.hold()
        try:
            counts = {"rows_done": self.rows_in, "rows_out": self.rows_out, "rejected": self.rejected,
                      "last_row": self.last_row}
            save_checkpoint(self.checkpoint, self.key, counts, self.output, self.rejects)
            self.saved_rows = self.rows_in
        finally:
            self.sig.release()

    # -- rows --

    def _reject(self, rec, code: str, message: str) -> None:
        self.view.reject(code)
        if self.rejects.writer is None:
            self.rejects.open()
        width = len(self.reader.columns)
        meta = [rec.row, code, message]
        drop = self.drop
        if self.rejects.fmt == "jsonl":
            values = list(rec.values) + [None] * (width - len(rec.values))
            if drop:
                values = [v for i, v in enumerate(values) if i not in drop]
            self.rejects.write(values, raw=rec.raw, extra=dict(zip(REJECT_COLUMNS, meta, strict=True)))
        else:
            values = list(rec.values)
            if len(values) < width:
                values += [None] * (width - len(values))
            head = [v for i, v in enumerate(values[:width]) if i not in drop] if drop else values[:width]
            # cells beyond the header go after the three _ columns, so those still line up
            self.rejects.write(head + meta + values[width:])
        self.rejected += 1

    def _records(self, skip: int) -> Iterator:
        it = iter(self.reader)
        if skip:
            done = sum(1 for _ in islice(it, skip))
            if done < skip:
                raise InputError(_("{path}: the input has fewer rows than the checkpoint counts; run without --resume "
                                   "to start over", path=self.checkpoint))
        cols = tuple(self.reader.columns)
        for rec in it:
            yield rec, (None if rec.error_code else (cols, rec.values))

    def run(self) -> int:
        with ExitStack() as stack:
            for lock in self.locks:  # a second run on the same output stops here, having touched nothing
                stack.enter_context(lock)
            stack.enter_context(self.sig)
            for note in self.notes:
                _say(note)
            if self.checkpoint is not None:
                self.key = {
                    "zhike": __version__, "input": os.path.abspath(self.input_path),
                    "input_sha256": sha256_file(self.input_path),
                    "rulebase_sha256": self.settings.rulebase.sha256, "map_sha256": self.spec_sha,
                    "lang": self.settings.lang, "columns": self.settings.columns,
                    "output_format": self.output.fmt, "input_format": self.reader.format,
                    "encoding": self.reader.encoding, **self.view.key,
                    "rejects": os.path.abspath(self.rejects.final) if self.rejects.final else None,
                }
            return self._run()

    def _run(self) -> int:
        from ..batch.classify import Stats, classify_values

        state = None
        if self.resume and self.checkpoint is not None:
            state = load_checkpoint(self.checkpoint, self.key, self.output, self.rejects)
        if state is None and self.checkpoint is not None and self.checkpoint.exists():
            _say(_("note: discarding the checkpoint of an earlier interrupted run ({path}); use --resume to continue "
                   "it instead", path=self.checkpoint))
            self.checkpoint.unlink()
        skip = 0
        progress = Progress(self.reader) if sys.stderr.isatty() else None
        stats = Stats()
        rows = None
        try:
            self.sig.hold()  # both part files open before a checkpoint may be saved
            if state is not None:
                self.rows_in, self.rows_out, self.rejected = state["rows_done"], state["rows_out"], state["rejected"]
                self.saved_rows, self.last_row = self.rows_in, state["last_row"]
                self.output.open(state["output_bytes"])
                if state["rejects_bytes"] and self.rejects.final is not None:
                    self.rejects.open(state["rejects_bytes"])
                skip = self.rows_in
                _say(ngettext("resuming after {count} row ({classified} classified, {rejected} rejected)",
                              "resuming after {count} rows ({classified} classified, {rejected} rejected)",
                              self.rows_in, count=format(self.rows_in, ","), classified=format(self.rows_out, ","),
                              rejected=format(self.rejected, ",")))
            else:
                self.output.open()
            self._save_checkpoint()
            self.sig.release()
            every = _checkpoint_rows()
            last_ckpt = time.monotonic()
            since = 0
            if self.client is not None:
                from ..batch.dask_run import classify_values_dask

                rows = classify_values_dask(self._records(skip), self.settings, self.client, stats=stats)
            else:
                rows = classify_values(self._records(skip), self.settings, self.workers, stats=stats)
            for rec, outcome in self._held(rows):
                self.sig.hold()  # a row is written and counted whole, or not at all
                if rec.error_code:
                    self._reject(rec, rec.error_code, rec.error or "")
                elif outcome is None or outcome[0] is None:
                    self._reject(rec, outcome[1] if outcome else "error", outcome[2] if outcome else "")
                else:
                    values = list(rec.values)
                    if self.drop:
                        values = [v for i, v in enumerate(values) if i not in self.drop]
                    self.output.write(values + self.view.cells(outcome[0]))
                    self.rows_out += 1
                    self.view.summarise(rec, outcome[0])
                self.rows_in += 1  # counted once written: a checkpoint never counts a row it lacks
                self.last_row = rec.row
                self.sig.release()
                if progress is not None:
                    progress.update(self.rows_in, self.rejected)
                if self.max_errors is not None and self.rejected >= max(1, self.max_errors):
                    self.stopped = True
                    break
                since += 1
                if since >= every or (since and time.monotonic() - last_ckpt >= CHECKPOINT_SECONDS):
                    self._save_checkpoint()
                    since, last_ckpt = 0, time.monotonic()
            rows.close()  # the workers end now, not when the generator is collected
            if self.rejects.writer is None and self.rejects_explicit and self.rejects.final is not None:
                self.rejects.open()  # asked for: an empty rejects file rather than a stale one
            self._save_checkpoint()  # every row is on disk: a failure below can still be resumed
            self.rejects.close()
            self.output.close()
            self.sig.hold()
            self.rejects.commit()
            self.output.commit()
        except BaseException as e:
            if rows is not None:
                try:
                    rows.close()
                except Exception:  # the original error matters more
                    pass
            if progress is not None:
                progress.clear()
            raise self._stop(e) from None
        finally:
            self.sig.depth = 1  # no signal cuts the cleanup short
        if progress is not None:
            progress.clear()
        if self.checkpoint is not None:
            try:
                self.checkpoint.unlink()
            except OSError:
                pass
        self.view.write_summary(state is not None)
        _summary(self, stats)
        return EXIT_FAILED if self.rejected or self.stopped else EXIT_OK

    def _stop(self, e: BaseException) -> BaseException:
        """Leave the run resumable (or leave nothing) after `e`; the exception to raise."""
        whole = self.sig.depth == 0  # not cut off inside a write: the state in memory is consistent
        self.sig.depth = 1
        resumable = self.checkpoint is not None
        if resumable and whole and not isinstance(e, OutputError):
            try:
                self._save_checkpoint()
            except Exception:  # the original error matters more
                pass
            self.sig.depth = 1
        if isinstance(e, OutputError) and None in (self.output.final, self.rejects.final):
            silence_stdout()  # the interpreter would try to flush it again at exit
        keep = resumable and (self.saved_rows > 0 or not isinstance(e, OutputError))
        for t in (self.output, self.rejects):
            t.abandon(keep)
        if not keep and self.checkpoint is not None:
            try:
                remove(self.checkpoint)
            except OSError:
                pass
        if isinstance(e, OutputError):
            if keep:
                return OutputError(ngettext("{error}; {count} row is saved: fix that and run the same command with "
                                            "--resume to continue",
                                            "{error}; {count} rows are saved: fix that and run the same command with "
                                            "--resume to continue", self.saved_rows, error=e,
                                            count=format(self.saved_rows, ",")), EXIT_FAILED)
            return OutputError(str(e), EXIT_USAGE)
        if resumable:
            _say(ngettext("stopped after {count} row; run the same command with --resume to continue",
                          "stopped after {count} rows; run the same command with --resume to continue",
                          self.saved_rows, count=format(self.saved_rows, ",")))
        elif self.out_path is not None:
            _say(ngettext("stopped after {count} row; the input was stdin, which cannot be read again, so run the "
                          "whole command again",
                          "stopped after {count} rows; the input was stdin, which cannot be read again, so run the "
                          "whole command again", self.rows_in, count=format(self.rows_in, ",")))
        return e


def _default_rejects(self: _Job, fmt: str, inputs: list[str]) -> Path:
    """The rejects file beside the output (or the input), never the input itself."""
    ext = _EXT[fmt]
    if self.out_path is not None:
        base = Path(self.out_name or self.out_path)
    elif self.input_path != "-":
        base = Path(self.input_path)
    else:
        return check_output_path("zhike-rejects" + ext, (), _(REJECTS_FILE))
    path = base.with_name(base.stem + ".rejects" + ext)
    if any(os.path.exists(path) and _same(src, path) for src in inputs):
        # `zhike batch X.rejects.csv -o X.csv`, a rejects file run again: never write over the input
        alt = base.with_name(base.stem + ".rejects-2" + ext)
        self.notes.append(_("note: the rejects go to {path}, because {input} is the input", path=alt, input=path))
        path = alt
    return check_output_path(path, inputs, _(REJECTS_FILE))


def _summary(job: _Job, stats: Any) -> None:
    """The end of a run on stderr: the counts, a column that was not used, where --max-errors stopped."""
    for note in job.reader.notes:  # learnt while reading (rows under the table): said before the counts
        if note not in job.notes:
            _say(note)
    _say(summary_line(job.rows_in, job.rows_out, job.rejected, job.out_name,
                      job.rejects.final if job.rejected or (job.rejects_explicit and job.rejects.final) else False))
    rb = job.settings.rulebase
    for col, fact, first in job.plan.duplicates:
        _say(_('warning: column {column} was not used: "{fact}" takes one column and comes from column {first}; '
               "name the one you want in a --map file (see --explain-map)", column=repr(col),
               fact=rb.facts[fact].label.get(job.settings.lang), first=repr(first)))
    if job.stopped:
        _say(ngettext("stopped after {count} rejected row (--max-errors {max}); the rows after row {row} of "
                      "{name} were not read",
                      "stopped after {count} rejected rows (--max-errors {max}); the rows after row {row} of "
                      "{name} were not read", job.rejected, count=format(job.rejected, ","), max=job.max_errors,
                      row=format(job.last_row, ","), name=job.reader.name))
    if os.environ.get("ZHIKE_BATCH_STATS"):
        _say(_("cache: {hits} hits, {misses} inferences", hits=format(stats.cache_hits, ","),
               misses=format(stats.cache_misses, ",")))


def summary_line(rows_in: int, rows_out: int, rejected: int, output: str | None, rejects: Path | bool | None) -> str:
    """The run in one line: rows in = classified + rejected, and where they went (`rejects`: False = not said)."""
    line = ngettext("zhike batch: {count} row in = {classified} classified + {rejected} rejected; output: {output}",
                    "zhike batch: {count} rows in = {classified} classified + {rejected} rejected; output: {output}",
                    rows_in, count=format(rows_in, ","), classified=format(rows_out, ","), rejected=format(rejected, ","),
                    output=output or _("stdout"))
    if rejects is not False:
        line += _("; rejects: {path}", path=rejects or _("stdout"))
    return line
