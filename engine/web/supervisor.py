"""Several server processes on one listening socket (`zhike serve --workers N`).

Why processes: durable_rules runs in Python under the GIL, so one process answers one
question at a time however many threads it has; on a machine with N cores, N processes
answer N at once. Every process has its own compiled rulebases, its own kept
questionnaires and its own batch runs; they share the data folder (the interviews'
SQLite database in WAL mode, whose rows carry a version that tells a process its kept
questionnaire is stale; the cookie key; the batch folders), so any process can take any
request, as after a restart.

The parent binds the socket, loads what every worker needs (imports, the validated
rulebase), then forks the workers: each builds its app and serves the inherited socket.
The parent only supervises: it reports ready once every worker accepts requests, starts
a worker again if one dies, and on SIGTERM or Ctrl-C stops them all and exits 0. Forking
happens before any thread exists in the parent (nothing here starts one).
"""
from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Callable

from ..i18n import _

READY = b"r"
STARTUP_SECONDS = 60.0  # a worker that has not said it is ready by then is taken as failed
STOP_SECONDS = 15.0
RESTART_PAUSE = 1.0  # between restarts of a worker that keeps dying


class _Stop(Exception):
    """SIGTERM or SIGINT reached the supervisor."""


class WorkersFailed(RuntimeError):
    """A worker died before it was ready: the server cannot start."""


def supported() -> bool:
    return hasattr(os, "fork")


def run_workers(count: int, serve: Callable[[Callable[[], None]], int], on_ready: Callable[[], None]) -> int:
    """Run `count` worker processes, each calling `serve(ready)` (it calls `ready()` once it accepts
    requests and returns its exit code when it stops). `on_ready()` runs here once all are ready.
    Returns when told to stop (SIGTERM, SIGINT): 0. Raises WorkersFailed if one fails to start."""
    read_end, write_end = os.pipe()

    def stop(signum: int, frame: object) -> None:
        # raising is what ends a blocking wait: os.waitpid and select are retried after a handler that returns
        raise _Stop

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    workers: dict[int, int] = {}  # pid -> slot
    try:
        for slot in range(count):
            workers[_fork(slot, serve, write_end, read_end)] = slot
        _await_ready(count, read_end, workers)
        on_ready()
        last_restart = 0.0
        while True:
            try:
                pid, _status = os.waitpid(-1, 0)
            except ChildProcessError:
                return 0
            slot = workers.pop(pid, None)
            if slot is None:
                continue
            # a worker died (a crash, the OOM killer): start another in its place, as gunicorn does
            pause = RESTART_PAUSE - (time.monotonic() - last_restart)
            if pause > 0:
                time.sleep(pause)
            last_restart = time.monotonic()
            workers[_fork(slot, serve, write_end, read_end)] = slot
    except _Stop:
        return 0
    finally:
        for s in previous:  # a second Ctrl-C while stopping waits for the workers instead of leaving them
            signal.signal(s, signal.SIG_IGN)
        _stop_all(workers)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(read_end)
        os.close(write_end)


def _fork(slot: int, serve: Callable[[Callable[[], None]], int], write_end: int, read_end: int) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    # the worker: default signal handling (uvicorn installs its own), never back into the parent's code
    code = 1
    try:
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_DFL)
        os.close(read_end)

        def ready() -> None:
            os.write(write_end, READY)

        code = serve(ready)
    except KeyboardInterrupt:
        code = 0
    except BaseException as e:  # whatever it is, the worker ends here, never back in the parent's code
        print(_("zhike serve: server process {n} stopped: {reason}", n=slot + 1, reason=e or type(e).__name__),
              file=sys.stderr, flush=True)
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def _await_ready(count: int, read_end: int, workers: dict[int, int]) -> None:
    ready, deadline = 0, time.monotonic() + STARTUP_SECONDS
    while ready < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WorkersFailed("a worker did not start in time")
        readable, _w, _x = select.select([read_end], [], [], min(left, 0.2))
        if readable:
            ready += len(os.read(read_end, 64))
        pid, _status = os.waitpid(-1, os.WNOHANG)
        if pid and pid in workers:
            workers.pop(pid)
            raise WorkersFailed("a worker stopped while starting")


def _stop_all(workers: dict[int, int]) -> None:
    for pid in workers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_SECONDS
    for pid in list(workers):
        while True:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
