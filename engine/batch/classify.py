"""Classify many prospects: rows in, rows with results out, in order, in constant memory.

Library use (no pandas needed)::

    from engine.batch.classify import classify_records
    for out in classify_records([{"节奏": "快", "Notes": "太贵了"}], lang="en"):
        print(out["social_style"], out["next_best_action"])

`classify_dataframe(df)` does the same for a pandas DataFrame (pandas is
imported only then). `zhike batch` (engine/commands/batch.py) drives
`classify_values` with file readers and writers.

Each worker process compiles its own rulebase: durable_rules is not thread
safe and keeps its sessions per process. Work goes out in chunks with a
bounded number in flight, so memory does not grow with the number of rows,
and comes back in input order. Identical fact sets reuse the result of the
first (a bounded LRU per worker): inference depends on nothing else.
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ..errors import InferenceError, InputError, ZhikeError
from ..i18n import LANGS, _, current_lang, set_lang
from ..reasoning.profile import did_you_mean_labels
from ..rules.model import Rulebase
from ..words.labels import suggest
from .mapping import MapSpec, Plan, build_plan, load_map, map_from_dict
from .results import (  # noqa: F401
    RESULT_TAIL,
    WARNINGS,
    Composer,
    ResultColumn,
    compose,
    label_header,
    layout,
    logical_columns,
)

DEFAULT_CACHE = 4096
CACHE_TRIAL = 2048  # rows after which a result cache that (almost) never hits is given up
CHUNK = 64
Outcome = tuple[list[Any] | None, str | None, str | None]  # results, or (None, error code, message)
BAD_VALUE_CHOICES = ("blank", "reject")  # a cell that fits nothing: left blank with a warning, or the row rejected


class RowError(InputError):
    """A row that cannot be classified (library use with errors="raise")."""

    def __init__(self, row: int, code: str, message: str):
        self.row, self.code, self.message = row, code, message
        super().__init__(_("row {row}: {message} [{code}]", row=row, message=message, code=code))

    def __reduce__(self):
        return (RowError, (self.row, self.code, self.message))


def result_columns(rb: Rulebase, warnings: bool = False) -> list[str]:
    """All (logical) result columns, in order: per typology its value and confidence, then the tail
    (and `_warnings` when bad cells are left blank)."""
    return logical_columns(rb, warnings)


def select_columns(rb: Rulebase, wanted: str | Sequence[str] | None, warnings: bool = False) -> list[str]:
    """The result columns to write: all, or those named (comma-separated text or a list), checked.
    A column may be named by its id (`social_style`) or its header in either language (社交风格)."""
    every = result_columns(rb, warnings)
    if wanted is None:
        return every
    names = [w.strip() for w in (wanted.split(",") if isinstance(wanted, str) else wanted) if w.strip()]
    if not names:
        raise InputError(_("--columns names no column; leave it out to get every result column"))
    by_header = {label_header(rb, k, lang): k for k in every for lang in LANGS}
    names = [by_header.get(n, n) for n in names]
    bad = [n for n in names if n not in every]
    if bad:
        close = suggest(bad[0], [(c, (c,)) for c in every], limit=1)
        raise InputError(_("--columns: there is no result column {name}", name=repr(bad[0]))
                         + did_you_mean_labels(close)
                         + _("; the result columns are: {columns}", columns=", ".join(every)))
    return list(dict.fromkeys(names))


@dataclass
class Settings:
    """Everything a worker needs; picklable."""

    rulebase: Rulebase
    spec: MapSpec
    columns: list[str]  # result columns
    lang: str = "zh"
    cache_size: int = DEFAULT_CACHE
    reserved: frozenset[str] = frozenset()
    labels: bool = False  # the columns a person reads (headers, class labels, percentages, questions)
    ids: bool = True  # the machine's columns (class ids, confidences as numbers, fact ids, rulebase)
    on_bad_value: str = "reject"  # "blank": a cell that fits nothing is left out, with a warning

    def layout(self) -> list[ResultColumn]:
        """The output's result columns for `columns` in the forms asked for."""
        return layout(self.rulebase, list(self.columns), self.lang, self.labels, self.ids)


class RowClassifier:
    """Classifies the cells of one row into result values. One per process (it owns a compiled rulebase)."""

    def __init__(self, settings: Settings, compiled: Any = None):
        from ..reasoning.compiler import compile_rulebase

        self.settings = settings
        self.rb = settings.rulebase
        self._own = compiled is None
        self.compiled = compiled if compiled is not None else compile_rulebase(self.rb)
        self._plans: dict[tuple[str, ...], Plan] = {}
        self._cache: OrderedDict[Any, list[Any]] = OrderedDict()
        self.hits = self.misses = 0
        self._cache_size = settings.cache_size
        self._wanted = set(settings.columns)
        self._layout = settings.layout()
        self._warnings_at = [i for i, c in enumerate(self._layout) if c.key == WARNINGS]
        self._composer = Composer(self.rb, settings.lang, self._layout)

    def plan(self, columns: tuple[str, ...]) -> Plan:
        p = self._plans.get(columns)
        if p is None:
            p = self._plans[columns] = build_plan(list(columns), self.rb, self.settings.spec, self.settings.reserved)
        return p

    def __call__(self, columns: tuple[str, ...], values: Sequence[Any]) -> Outcome:
        """The outcome of one row. Never raises for a row (MemoryError aside): whatever goes
        wrong with its cells or its inference becomes that row's error, so one odd value
        (a 400-digit number, a list nested 10,000 deep) cannot abort a whole run."""
        stage = "bad-value"
        try:
            profile, problems = self.plan(columns).read(list(values))
            if problems and self.settings.on_bad_value != "blank":
                return None, "bad-value", "; ".join(str(p) for p in problems)
            stage = "inference"
            outcome = self._classify(profile)
            if problems and outcome[0] is not None and self._warnings_at:
                cells = list(outcome[0])  # a copy: the cached list is shared by rows with the same facts
                text = blank_warnings(problems)
                for i in self._warnings_at:
                    cells[i] = text
                outcome = (cells, None, None)
            return outcome
        except MemoryError:
            raise  # not the row's fault; the run cannot go on
        except Exception as e:
            if stage == "bad-value":
                return None, stage, self._which_cell(columns, values, e)
            return None, stage, _("this row cannot be classified: {why}", why=_why(e))

    def _classify(self, profile: Any) -> Outcome:
        from ..reasoning.inference import infer

        size = self._cache_size
        key = None
        if size:
            if self.misses == CACHE_TRIAL and self.hits * 50 < CACHE_TRIAL:
                # under 2% of the first rows repeat an earlier row's facts: a list of distinct rows, where
                # keying and keeping every result costs more than the rare hit saves
                self._cache_size = size = 0
                self._cache.clear()
        if size:
            key = (tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in profile.facts.items())),
                   tuple(profile.utterances), tuple(profile.rep_notes))
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return hit, None, None
        self.misses += 1
        try:
            result = infer(self.compiled, profile, missing_per_typology=False)  # a row shows the overall list
        except InferenceError as e:
            return None, "inference", str(e)
        out = self.results(result)
        if key is not None:
            self._cache[key] = out
            if len(self._cache) > size:
                self._cache.popitem(last=False)
        return out, None, None

    def _which_cell(self, columns: tuple[str, ...], values: Sequence[Any], error: Exception) -> str:
        """Name the cell that raised `error` (only on this rare path: each cell alone is tried again)."""
        try:
            plan, n = self.plan(columns), len(values)
            for i in range(n):
                alone: list[Any] = [None] * n
                alone[i] = values[i]
                try:
                    plan.profile(alone)
                except MemoryError:
                    raise
                except Exception as e:
                    name = columns[i] if i < len(columns) else f"#{i + 1}"
                    return _('column "{column}": cannot use {value}: {why}', column=name, value=_preview(values[i]),
                             why=_why(e))
        except MemoryError:
            raise
        except Exception:  # the general message below is all that is left to say
            pass
        return _("a cell of this row cannot be used: {why}", why=_why(error))

    def results(self, result: Any) -> list[Any]:
        """The result columns of one inference result (composed in `results`)."""
        return self._composer(result)

    def close(self) -> None:
        if self._own:
            self.compiled.close()


def _one_line(s: str) -> str:
    return " ".join(s.split())


def _why(e: BaseException) -> str:
    """An unexpected error in plain words, one line, bounded."""
    if isinstance(e, OverflowError):
        return _("the number is too large")
    if isinstance(e, RecursionError):
        return _("the value is nested too deeply")
    try:
        text = _one_line(str(e))
    except Exception:
        text = ""
    if len(text) > 200:
        text = text[:200] + "…"
    return f"{text} ({type(e).__name__})" if text else type(e).__name__


def _preview(value: Any) -> str:
    """A value as a short quote: enough to find it, never 400 digits."""
    try:
        text = repr(value)
    except Exception:  # e.g. an int past Python's 4300-digit conversion limit
        return _("a value of type {type}", type=type(value).__name__)
    return text if len(text) <= 40 else _("{start}… ({n} characters)", start=text[:24], n=format(len(text), ","))


def blank_warnings(problems: list[Any]) -> str:
    """The `_warnings` cell of a row whose unreadable cells were left blank (in the language of the run)."""
    return _("; ").join(_("{problem}; left blank", problem=str(p)) for p in problems)


# --- in order, in parallel, in bounded memory -------------------------------------------

_worker: RowClassifier | None = None
_worker_error: str | None = None
_parent = 0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 0.5  # how often a worker without prctl checks that its parent is alive


def _init_worker(settings: Settings, parent: int, lang: str) -> None:
    global _worker, _worker_error, _parent
    _parent = parent
    set_lang(lang)  # a row's reject reason speaks the caller's language, even in a spawned worker
    _die_with_parent(parent)
    # Ctrl-C and SIGTERM are the parent's to handle: it stops the run, saves the
    # checkpoint and shuts the pool down, letting the chunks in flight finish. Sent
    # to the whole process group (a terminal's Ctrl-C, `timeout`, a service
    # manager), they reach the workers too, which must neither die mid-chunk nor
    # run the parent's handler, inherited through the fork. If the parent dies
    # instead, _die_with_parent ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _detach_std_streams()
    try:
        _worker = RowClassifier(settings)
        gc.freeze()  # this process only classifies rows: see frozen_heap
    except Exception as e:  # a failing initializer would make the pool respawn it forever
        _worker_error = f"{type(e).__name__}: {e}"


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the parent process does, however it ends (kill -9 included).

    Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG).
    Strictly, when the parent *thread* that forked us ends: the pool forks from the
    thread that first submits work, the one that drives the batch. Elsewhere (or
    if prctl fails) a daemon thread polls the parent pid. Either way, re-check
    now: the parent may have died between the fork and this call.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except Exception:  # no ctypes, no prctl: the watcher below does the job
            armed = False
    if os.getppid() != parent:
        os._exit(0)
    if not armed:
        import threading

        threading.Thread(target=_watch_parent, args=(parent,), name="zhike-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    import time

    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(0)


def _detach_std_streams() -> None:
    """Point the worker's fds 1 and 2 at /dev/null.

    Results go back through the pool, never through stdout; and a worker must not
    keep the caller's stdout or stderr pipe open (a caller reading it would wait
    for the worker, not for zhike). What a worker could write to stderr is the
    pool's noise when the parent was killed.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)
    # anything the parent had buffered but not flushed at the fork is not ours to print
    sys.stdout = open(os.devnull, "w")  # for the life of the worker
    sys.stderr = open(os.devnull, "w")


def _work(chunk: list[tuple[tuple[str, ...], Sequence[Any]] | None]) -> tuple[list[Outcome | None], int, int]:
    if os.getppid() != _parent:
        os._exit(0)  # orphaned: the parent was killed
    if _worker is None:
        raise InferenceError(_("a batch worker could not start: {error}", error=_worker_error))
    h, m = _worker.hits, _worker.misses
    out = [None if item is None else _worker(*item) for item in chunk]
    return out, _worker.hits - h, _worker.misses - m


@dataclass
class Stats:
    cache_hits: int = 0
    cache_misses: int = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Leave the objects that exist now (the compiled rulebase among them) out of the cyclic GC's
    full collections while rows are classified: each one walked them all, ~75 ms for the bundled
    rulebase two or three times per 2,000 rows (bench/bench_batch.py: 5-15% of a run). They are
    put back afterwards, unless something had frozen objects before (a server about to fork)."""
    thawed = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if thawed:
            gc.unfreeze()


def classify_values(items: Iterable[tuple[Any, tuple[tuple[str, ...], Sequence[Any]] | None]], settings: Settings,
                    workers: int = 1, compiled: Any = None, stats: Stats | None = None,
                    chunk: int = CHUNK) -> Iterator[tuple[Any, Outcome | None]]:
    """(tag, (columns, values) or None) in, (tag, outcome or None) out, in the same order.

    A None item (a row already rejected while reading) passes through. With
    workers > 1, chunks go to worker processes, at most 4 per worker in flight.
    """
    stats = stats if stats is not None else Stats()
    if workers <= 1:
        rc = RowClassifier(settings, compiled)
        try:
            with frozen_heap():
                for tag, item in items:
                    yield tag, (None if item is None else rc(*item))
        finally:
            stats.cache_hits += rc.hits
            stats.cache_misses += rc.misses
            rc.close()
        return
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    it = iter(items)
    pending: deque = deque()  # (tags, work, future), oldest first
    pool = _Pool(ctx, workers, settings)
    try:
        while True:
            block = list(islice(it, chunk))
            if block:
                work = [x for _, x in block]
                pending.append(([t for t, _ in block], work, pool.submit(work)))
            while pending and (len(pending) >= 4 * workers or not block):
                tags, work, fut = pending[0]
                try:
                    try:
                        outcomes, h, m = fut.result()
                    except (BrokenProcessPool, InferenceError, MemoryError):
                        raise
                    except Exception:
                        # The chunk could not travel to or from a worker (say a value nested
                        # too deeply to pickle): send its rows one by one, so only the
                        # culprit is rejected.
                        outcomes, h, m = _rows_apart(pool.submit, work)
                except BrokenProcessPool:
                    # A worker died (a crash inside the C engine): every chunk in
                    # flight is lost. Run them again in new workers.
                    pool.restart()
                    pending = deque((t, w, pool.submit(w)) for t, w, _ in pending)
                    continue
                pending.popleft()
                stats.cache_hits += h
                stats.cache_misses += m
                yield from zip(tags, outcomes, strict=True)
            if not block and not pending:
                break
    finally:
        pool.shutdown()


def _rows_apart(submit: Any, work: list, fatal: tuple[type[BaseException], ...] = (BrokenProcessPool,)
                ) -> tuple[list[Outcome | None], int, int]:
    """The outcomes of a chunk whose transport failed, row by row (`submit` sends a list of rows and
    returns a future); a row that cannot travel is rejected. `fatal`: errors that stop the run."""
    outcomes: list[Outcome | None] = []
    hits = misses = 0
    for item in work:
        if item is None:
            outcomes.append(None)
            continue
        try:
            (outcome,), h, m = submit([item]).result()
        except (*fatal, InferenceError, MemoryError):
            raise
        except Exception as e:
            outcome, h, m = (None, "bad-value", _("this row cannot be sent to a worker process: {why}",
                                                  why=_why(e))), 0, 0
        outcomes.append(outcome)
        hits, misses = hits + h, misses + m
    return outcomes, hits, misses


class _Pool:
    """Worker processes that report a dead worker (BrokenProcessPool) instead of hanging."""

    def __init__(self, ctx: Any, workers: int, settings: Settings):
        self.ctx, self.workers, self.settings = ctx, workers, settings
        self.restarts = 0
        self._ex = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.ctx, initializer=_init_worker,
                                   initargs=(self.settings, os.getpid(), current_lang()))

    def submit(self, work: list) -> Any:
        return self._ex.submit(_work, work)

    def restart(self) -> None:
        self.restarts += 1
        if self.restarts > 3:
            raise InferenceError(_("batch workers keep dying inside the rule engine; run with --workers 1 "
                                   "to find the row, or --resume to retry"))
        # wait: forking the new workers while the old pool's threads still run risks a deadlock
        self._ex.shutdown(wait=True, cancel_futures=True)
        self._ex = self._new()

    def shutdown(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)


# --- the library API ---------------------------------------------------------------------

def _load_rulebase(rulebase: Rulebase | str | Path | None) -> Rulebase:
    if isinstance(rulebase, Rulebase):
        return rulebase
    from ..paths import default_rulebase
    from ..rules.loader import load_rulebase

    return load_rulebase(rulebase or default_rulebase())


def _load_spec(mapping: MapSpec | str | Path | Mapping[str, Any] | None, rb: Rulebase) -> MapSpec:
    if mapping is None:
        return MapSpec([])
    if isinstance(mapping, MapSpec):
        return mapping
    if isinstance(mapping, Mapping):
        return map_from_dict(dict(mapping), rb)
    return load_map(mapping, rb)


def classify_records(records: Iterable[Mapping[str, Any]], rulebase: Rulebase | str | Path | None = None, *,
                     mapping: MapSpec | str | Path | Mapping[str, Any] | None = None, lang: str = "zh",
                     columns: str | Sequence[str] | None = None, workers: int = 1, errors: str = "raise",
                     cache_size: int = DEFAULT_CACHE, compiled: Any = None, labels: bool = False,
                     ids: bool = True, on_bad_value: str = "reject") -> Iterator[dict[str, Any]]:
    """Classify dicts (column -> cell); yield each dict with the result columns added, in order.

    `ids` (default) adds the machine's columns (class ids, confidences as numbers, fact ids);
    `labels` the ones a person reads (headers and classes in `lang`, percentages, questions).
    `on_bad_value="blank"` leaves a cell that fits nothing out of the profile and says so in
    `_warnings` (its header in `lang` with `labels`) instead of failing the row.

    Columns map to facts as in `zhike batch` (fact ids, labels, aliases, or
    `mapping`: a --map file path or the same structure as a dict). `errors`:
    "raise" raises RowError at the first row that cannot be classified;
    "mark" yields it with `_error_code` and `_error` set and empty results.
    Whatever goes wrong with one row (a bad value, a number too large, a value
    nested too deeply, a cell object whose conversion raises, a record that is
    not a mapping) is that row's error, never the run's: MemoryError aside.
    """
    if errors not in ("raise", "mark"):
        raise ValueError('errors must be "raise" or "mark"')
    if lang not in LANGS:
        raise ValueError('lang must be "zh" or "en"')
    if on_bad_value not in BAD_VALUE_CHOICES:
        raise ValueError('on_bad_value must be "blank" or "reject"')
    if not (labels or ids):
        raise ValueError("labels, ids or both")
    rb = compiled.rulebase if compiled is not None else _load_rulebase(rulebase)
    logical = select_columns(rb, columns, warnings=on_bad_value == "blank")
    settings = Settings(rb, _load_spec(mapping, rb), logical, lang, cache_size, labels=labels, ids=ids,
                        on_bad_value=on_bad_value)
    wanted = [c.header for c in settings.layout()]
    keys_seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    Tag = tuple[int, Any, str | None]  # row number, record, why it cannot be read

    def items() -> Iterator[tuple[Tag, tuple[tuple[str, ...], list[Any]] | None]]:
        for n, rec in enumerate(records, 1):
            try:
                cols = tuple(str(k) for k in rec)
                values = list(rec.values())
            except MemoryError:
                raise
            except Exception as e:  # not a mapping, or keys that cannot be names: this row's error
                yield (n, rec, _("the record is not a mapping of column names to cells: {why}", why=_why(e))), None
                continue
            cols = keys_seen.setdefault(cols, cols)  # one plan per distinct header
            yield (n, rec, None), (cols, values)

    for (n, rec, unreadable), outcome in classify_values(items(), settings, workers, compiled):
        results, code, message = outcome if outcome is not None else (None, "bad-record", unreadable)
        try:
            out = dict(rec)
        except Exception:  # the record could not be read (above); its error says so
            out = {}
        if results is None:
            if errors == "raise":
                raise RowError(n, code or "error", message or "")
            out.update(dict.fromkeys(wanted))
            out["_error_code"], out["_error"] = code, message
        else:
            out.update(zip(wanted, results, strict=True))
        yield out


def classify_dataframe(df: Any, rulebase: Rulebase | str | Path | None = None, **kwargs: Any) -> Any:
    """A pandas DataFrame with the result columns added (same options as classify_records)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ZhikeError(_("classify_dataframe needs pandas: pip install 'zhike[pandas]'")) from None
    clean = df.astype(object).where(df.notna(), None)
    names = [str(c) for c in clean.columns]
    records = (dict(zip(names, row, strict=True)) for row in clean.itertuples(index=False, name=None))
    out = list(classify_records(records, rulebase, **kwargs))
    if not out:
        rb = _load_rulebase(rulebase) if kwargs.get("compiled") is None else kwargs["compiled"].rulebase
        return pd.DataFrame(columns=names + select_columns(rb, kwargs.get("columns")))
    return pd.DataFrame(out, index=df.index)
