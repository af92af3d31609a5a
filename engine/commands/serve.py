"""`zhike serve`: the web app (pages for reps, the batch page, the API), nothing else to start.

One process by default; `--workers N` runs N server processes on the same port
(engine/web/supervisor.py: durable_rules holds the GIL, so N cores need N processes).
Binds 127.0.0.1 unless told otherwise; any other address needs --token-file (the
pages then ask for the token once, the API takes it as a bearer token). Prints one
line with the URL when it accepts connections; SIGTERM or Ctrl-C stops it cleanly.
"""
from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import EXIT_OK, InputError
from ..i18n import _

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("zhike", appauthor=False))


def run(*, host: str, port: int, rulebase: Path, data: Path | None, token_file: Path | None, workers_pool: int,
        lang: str, workers: int = 1) -> int:
    if not is_local(host) and token_file is None:
        raise InputError(_("zhike serve: --host {host} would let other computers in; give --token-file FILE "
                           "(a long random token) to require it, or leave --host at 127.0.0.1", host=host))
    from ..web import supervisor
    from ..web.security import read_token

    if workers > 1 and not supervisor.supported():
        raise InputError(_("zhike serve: --workers above 1 needs Linux or macOS; leave it at 1 here"))
    token = read_token(token_file) if token_file is not None else None  # a bad token file: one line, before any work
    sock = _listen(host, port)  # a port in use: one line, before any work
    import uvicorn  # noqa: F401 - imported before forking, so workers start from a warm interpreter

    from ..web import Config, create_app
    from ..web.app import warm_up

    folder = Path(data) if data is not None else default_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(_("{path}: cannot create the data folder: {reason}", path=folder, reason=e.strerror)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    # Built and warmed once, here; with --workers the processes are forked from it, each then with its
    # own copy (compiled rulebases, kept questionnaires), sharing the data folder.
    app = create_app(Config(rulebase=rulebase, data=folder, token=token, pool=workers_pool, playbook=_playbook))
    warm_up(app)

    def serve(ready) -> int:
        _Server(_uvicorn_config(app, host, port), lang, ready).run(sockets=[sock])
        return EXIT_OK

    if workers <= 1:
        return serve(lambda: _say_ready(sock))
    try:
        return supervisor.run_workers(workers, serve, lambda: _say_ready(sock))
    except supervisor.WorkersFailed:
        raise InputError(_("zhike serve: the server processes could not start (see the messages above)")) from None


def _uvicorn_config(app, host: str, port: int):
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning", lifespan="off",
                          server_header=False, proxy_headers=False)


def _say_ready(sock: socket.socket) -> None:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(_("zhike: serving on {url}", url=f"http://{shown}:{port}/"), flush=True)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a port in use is one clear line (uvicorn would log and exit 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(_("zhike serve: cannot listen on {host}:{port}: {reason}", host=host, port=port,
                           reason=e.strerror or e)) from None
    return sock


def _playbook(rb, lang: str) -> dict:
    """The playbook's data (engine/trainer, a sibling of engine/web), imported when first asked for."""
    from ..trainer.doc import playbook

    return playbook(rb, lang)


class _Server:
    """uvicorn's server, calling `ready()` once it listens (the URL is printed then: `--port 0` picks a free port)."""

    def __new__(cls, config, lang: str, ready):
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                """uvicorn's signal handling without raising the signal again once stopped: SIGTERM and
                Ctrl-C are the way to stop a server, so they end it cleanly, with exit code 0."""
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return
                original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
                try:
                    yield
                finally:
                    for sig, handler in original.items():
                        signal.signal(sig, handler)

            async def startup(self, sockets=None) -> None:
                await super().startup(sockets=sockets)
                if not self.should_exit:
                    ready()

        return Server(config)
