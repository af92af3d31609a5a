"""Classify on a Dask cluster: the same rows, the same results, more machines.

Two ways in:

- `zhike batch INPUT -o OUT --dask tcp://host:8786` (or `--dask local:N`, a LocalCluster of N
  worker processes): the command reads and writes exactly as a local run does (same readers,
  rejects, checkpoints, writers), and only the classification of each chunk of rows runs on the
  cluster (`classify_values_dask`, a drop-in for `classify.classify_values`). The output bytes are
  the local run's by construction.
- `classify_dask(ddf, ...)`: a dask DataFrame in, a lazy dask DataFrame out, each partition
  mapped through the same row classifier (`classify_dataframe`, partition by partition).

On a worker, the rulebase is loaded and compiled once per process (a per-process cache keyed by
its sha256; durable_rules is neither thread safe nor shareable, so one lock serialises the rows of
a process). A task carries only the settings, never the rulebase: each worker loads its own — the
client's rulebase folder when the worker sees it, else its $ZHIKE_RULEBASE or the bundled one —
and refuses to classify when its sha256 or zhike version differs from the client's, so a cluster
with a stale rulebase somewhere fails loudly instead of mixing answers.

A worker that dies mid-run loses nothing: Dask runs its chunks again elsewhere (its Nanny
restarts it), and results are taken in input order.
"""
from __future__ import annotations

import gc
import logging
import os
import pickle
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InferenceError, InputError, ZhikeError
from ..i18n import LANGS, _, use
from ..rules.model import Rulebase
from .classify import (
    BAD_VALUE_CHOICES,
    DEFAULT_CACHE,
    Outcome,
    RowClassifier,
    RowError,
    Settings,
    Stats,
    _load_rulebase,
    _load_spec,
    _rows_apart,
    _why,
    select_columns,
)

DASK_CHUNK = 256  # rows per task: a task costs the client ~5 ms of CPU (shared with the reading and
# writing, on the same machine as the workers with local:N), a chunk 0.25-0.5 s of work
IN_FLIGHT = 4  # chunks per worker submitted ahead: bounded memory, workers never idle
WAIT_WORKERS = 60.0  # seconds to wait for a cluster's first worker
CONNECT_SECONDS = 30  # a scheduler that refuses connections is retried until then
MAX_LOCAL = 64
WORKERS_RECOUNT = 1.0  # seconds between counts of the cluster's workers (how many chunks to keep in flight)
KEEP_CLASSIFIERS = 8  # settings (runs) whose classifiers a worker keeps


@dataclass(frozen=True)
class Job:
    """What a task needs: the settings without the rulebase (each worker loads its own, checked by
    sha256), small enough to travel with every chunk."""

    settings: Settings
    sha256: str
    root: str
    version: str
    lang: str
    token: str


def make_job(settings: Settings) -> Job:
    rb = settings.rulebase
    return Job(replace(settings, rulebase=None), rb.sha256, str(Path(rb.root).resolve()), __version__,
               settings.lang, uuid.uuid4().hex)


# --- on a worker --------------------------------------------------------------------------------

_LOCK = threading.Lock()  # one compiled engine per process, used by one thread at a time
_RULEBASES: dict[str, Rulebase] = {}
_COMPILED: dict[str, Any] = {}
_CLASSIFIERS: OrderedDict[str, RowClassifier] = OrderedDict()


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except Exception:  # not on a Dask worker (the threaded scheduler, a test)
        return f"pid {os.getpid()}"


def _worker_rulebase(sha256: str, root: str) -> tuple[Rulebase | None, str, str]:
    """This process's rulebase for a run whose client has `sha256` from `root`: (rulebase, where, why not)."""
    from ..paths import default_rulebase
    from ..rules.loader import load_rulebase

    where = root if root and os.path.isdir(root) else str(default_rulebase())
    rb = _RULEBASES.get(where)
    if rb is None or rb.sha256 != sha256:  # loaded afresh: it may have been updated since
        try:
            rb = load_rulebase(where)
        except ZhikeError as e:
            return None, where, " ".join(str(e).split())[:300]
        except OSError as e:
            return None, where, _why(e)
        _RULEBASES[where] = rb
    return rb, where, ""


def check_worker(sha256: str, root: str, version: str) -> tuple[str, str, str, str, str]:
    """(worker, rulebase folder, its sha256, zhike version, error): run on every worker before a run."""
    with _LOCK:
        rb, where, error = _worker_rulebase(sha256, root)
    return _worker_name(), where, rb.sha256 if rb is not None else "", __version__, error


class RulebaseMismatch(Exception):
    """A worker whose rulebase or zhike version is not the client's."""

    def __init__(self, worker: str, where: str, sha256: str, version: str, error: str = ""):
        self.worker, self.where, self.sha256, self.version, self.error = worker, where, sha256, version, error
        super().__init__(worker, where, sha256, version, error)

    def __reduce__(self):
        return (RulebaseMismatch, (self.worker, self.where, self.sha256, self.version, self.error))


def _classifier(job: Job) -> RowClassifier:
    """This process's classifier for `job` (call with _LOCK held): compiled once per rulebase sha256."""
    rc = _CLASSIFIERS.get(job.token)
    if rc is not None:
        _CLASSIFIERS.move_to_end(job.token)
        return rc
    rb, where, error = _worker_rulebase(job.sha256, job.root)
    if rb is None or rb.sha256 != job.sha256 or __version__ != job.version:
        raise RulebaseMismatch(_worker_name(), where, rb.sha256 if rb is not None else "", __version__, error)
    compiled = _COMPILED.get(rb.sha256)
    if compiled is None:
        from ..reasoning.compiler import compile_rulebase

        compiled = _COMPILED[rb.sha256] = compile_rulebase(rb)
        # kept for the life of the process: out of the cyclic GC's full collections, which otherwise
        # walk the whole rulebase (see classify.frozen_heap; freezing per chunk cost more than it saved)
        gc.freeze()
    rc = _CLASSIFIERS[job.token] = RowClassifier(replace(job.settings, rulebase=rb), compiled)
    while len(_CLASSIFIERS) > KEEP_CLASSIFIERS:
        _CLASSIFIERS.popitem(last=False)
    return rc


def classify_chunk(job: Job, chunk: Sequence[tuple[tuple[str, ...], Sequence[Any]] | None] | bytes
                   ) -> tuple[list[Outcome | None], int, int] | bytes:
    """A task: the outcomes of a chunk of rows (None passes through), and the result cache's hits and
    misses. A chunk sent pickled (bytes, as classify_values_dask sends it) is answered pickled."""
    packed = isinstance(chunk, bytes)
    rows = pickle.loads(chunk) if packed else chunk
    with _LOCK, use(job.lang):  # a task may run in the caller's own process: never leave its language changed
        rc = _classifier(job)
        h, m = rc.hits, rc.misses
        out = [None if item is None else rc(*item) for item in rows]
        result = out, rc.hits - h, rc.misses - m
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL) if packed else result


# --- on the client: zhike batch --dask ------------------------------------------------------------

def parse_address(address: str) -> tuple[str, int | None]:
    """('local', N) for local:N (a LocalCluster of N processes), else (address, None)."""
    text = address.strip()
    if text.lower() == "local" or text.lower().startswith("local:"):
        n = text.partition(":")[2].strip()
        if not n:
            return "local", max(1, os.cpu_count() or 1)
        if not n.isdigit() or not 1 <= int(n) <= MAX_LOCAL:
            raise InputError(_("--dask {address}: local:N needs a number of worker processes from 1 to {max}",
                               address=address, max=MAX_LOCAL))
        return "local", int(n)
    if not text:
        raise InputError(_("--dask needs a scheduler address (tcp://host:8786) or local:N"))
    return text, None


@contextmanager
def open_client(address: str) -> Iterator[Any]:
    """A Dask client for `--dask`: connected to the scheduler at `address`, or to a LocalCluster
    (`local:N`) started here and closed afterwards. One clear line when it cannot be reached."""
    where, n = parse_address(address)
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise ZhikeError(_("--dask needs Dask: pip install 'zhike[dask]'")) from None
    logging.getLogger("distributed").setLevel(logging.ERROR)  # a worker restart is not the user's business
    cluster = None
    try:
        if n is not None:
            import dask

            # No dashboard, so nobody reads the workers' statistical profiles, and a blocked event
            # loop is only logged: sampling every task's stack every 10 ms and ticking every 20 ms
            # only take the GIL from the rows (a worker's Nanny passes this configuration on)
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.tick.interval": "200ms"}):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
            # results come straight from the worker that has them, not through the scheduler, which
            # shares this process with the reading and writing
            client = Client(cluster, direct_to_workers=True)
        else:
            client = Client(where, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as e:
        if cluster is not None:
            cluster.close()
        raise InputError(_("--dask {address}: cannot reach the Dask scheduler: {why}", address=address,
                           why=_why(e))) from None
    try:
        try:
            client.wait_for_workers(1, timeout=WAIT_WORKERS)
        except (TimeoutError, OSError):
            raise InputError(_("--dask {address}: the scheduler has no worker; start some with `dask worker "
                               "{address}`", address=address)) from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_workers(client: Any, rb: Rulebase) -> None:
    """Refuse to start unless every worker has this rulebase (sha256) and this zhike version."""
    root = str(Path(rb.root).resolve())
    for worker, where, sha, version, error in client.run(check_worker, rb.sha256, root, __version__).values():
        if error or sha != rb.sha256 or version != __version__:
            raise InputError(mismatch_message(RulebaseMismatch(worker, where, sha, version, error), rb.sha256))


def mismatch_message(e: RulebaseMismatch, sha256: str) -> str:
    if e.error:
        return _("Dask worker {worker}: its rulebase ({path}) cannot be loaded: {error}; give every worker the "
                 "same rulebase as this run", worker=e.worker, path=e.where, error=e.error)
    if e.version != __version__:
        return _("Dask worker {worker} runs zhike {theirs}, this run zhike {ours}; install the same zhike version "
                 "on every worker", worker=e.worker, theirs=e.version, ours=__version__)
    return _("Dask worker {worker} has another rulebase ({path}, sha256 {theirs}…) than this run (sha256 {ours}…); "
             "give every worker the same rulebase (the same folder, or $ZHIKE_RULEBASE on the worker) and run "
             "again", worker=e.worker, path=e.where, theirs=e.sha256[:12], ours=sha256[:12])


def classify_values_dask(items: Iterable[tuple[Any, tuple[tuple[str, ...], Sequence[Any]] | None]],
                         settings: Settings, client: Any, stats: Stats | None = None,
                         chunk: int = DASK_CHUNK) -> Iterator[tuple[Any, Outcome | None]]:
    """classify.classify_values on a Dask cluster: (tag, item) in, (tag, outcome) out, in order,
    with at most IN_FLIGHT chunks per worker submitted ahead."""
    from distributed import KilledWorker

    stats = stats if stats is not None else Stats()
    job = make_job(settings)
    it = iter(items)
    pending: deque = deque()  # (tags, work, future), oldest first

    def submit(work: list) -> Any:
        return client.submit(classify_chunk, job, work, pure=False)

    def submit_packed(work: list) -> Any:
        # pickled here, once, and answered pickled: Dask passes bytes through as they are, where it walks a
        # list of rows value by value (looking for keys and futures in it), which cost the client ~6 ms a
        # chunk, more than the pickling. A chunk that cannot be pickled goes row by row (below)
        try:
            return client.submit(classify_chunk, job, pickle.dumps(work, protocol=pickle.HIGHEST_PROTOCOL), pure=False)
        except Exception:
            return None

    counted = [1, -WORKERS_RECOUNT]  # workers, when last counted

    def workers_now() -> int:
        # a round trip to the scheduler with every worker's metrics: once a second is enough to
        # follow workers joining and leaving, once a chunk cost a tenth of a run on a small cluster
        now = time.monotonic()
        if now - counted[1] >= WORKERS_RECOUNT:
            counted[:] = [max(1, len(client.scheduler_info().get("workers", ()))), now]
        return counted[0]

    try:
        while True:
            block = list(islice(it, chunk))
            if block:
                work = [x for _, x in block]
                pending.append(([t for t, _ in block], work, submit_packed(work)))
            workers = workers_now()
            while pending and (len(pending) >= IN_FLIGHT * workers or not block):
                tags, work, fut = pending.popleft()
                try:
                    if fut is None:
                        raise pickle.PicklingError("a chunk that cannot be pickled")
                    outcomes, h, m = pickle.loads(fut.result())
                except RulebaseMismatch as e:  # a worker that joined (or came back) with another rulebase
                    raise InputError(mismatch_message(e, settings.rulebase.sha256)) from None
                except KilledWorker:
                    raise InferenceError(_("Dask workers keep dying on the same rows; run without --dask to find "
                                           "the row, or --resume to retry")) from None
                except (InferenceError, MemoryError):
                    raise
                except Exception:
                    # the chunk could not travel (a value that cannot be pickled): row by row, only the culprit fails
                    outcomes, h, m = _rows_apart(submit, work, (RulebaseMismatch,))
                if fut is not None:
                    fut.release()
                stats.cache_hits += h
                stats.cache_misses += m
                yield from zip(tags, outcomes, strict=True)
            if not block and not pending:
                break
    finally:
        for _tags, _work, fut in pending:
            if fut is not None:
                fut.cancel()


# --- the library: dask DataFrames -----------------------------------------------------------------

def classify_partition(pdf: Any, job: Job, errors: str, wanted: list[str]) -> Any:
    """One pandas partition with the result columns added (`_error_code`/`_error` with errors="mark")."""
    import pandas as pd

    clean = pdf.astype(object).where(pdf.notna(), None)
    cols = tuple(str(c) for c in clean.columns)
    results: list[list[Any]] = [[] for _ in wanted]
    codes: list[str | None] = []
    messages: list[str | None] = []
    with _LOCK, use(job.lang):
        rc = _classifier(job)
        for index, row in zip(clean.index, clean.itertuples(index=False, name=None), strict=True):
            cells, code, message = rc(cols, list(row))
            if cells is None:
                if errors == "raise":
                    raise RowError(index, code or "error", message or "")
                cells = [None] * len(wanted)
            for column, value in zip(results, cells, strict=True):
                column.append(value)
            codes.append(code)
            messages.append(message)
    out = pdf.copy()
    for name, values in zip(wanted, results, strict=True):
        out[name] = pd.Series(values, index=pdf.index, dtype=object)
    if errors == "mark":
        out["_error_code"] = pd.Series(codes, index=pdf.index, dtype=object)
        out["_error"] = pd.Series(messages, index=pdf.index, dtype=object)
    return out


def classify_dask(ddf: Any, rulebase: Rulebase | str | Path | None = None, *,
                  mapping: str | Path | Mapping[str, Any] | None = None, lang: str = "zh",
                  columns: str | Sequence[str] | None = None, errors: str = "raise", cache_size: int = DEFAULT_CACHE,
                  labels: bool = False, ids: bool = True, on_bad_value: str = "reject") -> Any:
    """A dask DataFrame with the result columns added, lazily: each partition goes through the row
    classifier of the worker that runs it (options as classify_records). With errors="mark" the
    columns `_error_code` and `_error` are always there (empty for a classified row), so the
    rejects are `out[out._error_code.notna()]`; with "raise", computing raises RowError (its row is
    the DataFrame's index label)."""
    if errors not in ("raise", "mark"):
        raise ValueError('errors must be "raise" or "mark"')
    if lang not in LANGS:
        raise ValueError('lang must be "zh" or "en"')
    if on_bad_value not in BAD_VALUE_CHOICES:
        raise ValueError('on_bad_value must be "blank" or "reject"')
    if not (labels or ids):
        raise ValueError("labels, ids or both")
    import pandas as pd

    rb = _load_rulebase(rulebase)
    logical = select_columns(rb, columns, warnings=on_bad_value == "blank")
    settings = Settings(rb, _load_spec(mapping, rb), logical, lang, cache_size, labels=labels, ids=ids,
                        on_bad_value=on_bad_value)
    wanted = [c.header for c in settings.layout()]
    meta = ddf._meta.copy()
    for name in wanted + (["_error_code", "_error"] if errors == "mark" else []):
        meta[name] = pd.Series([], dtype=object)
    return ddf.map_partitions(classify_partition, make_job(settings), errors, wanted, meta=meta,
                              align_dataframes=False)
