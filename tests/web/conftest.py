"""What the tests that drive `zhike serve` from outside share: a real server process and a real Chromium.

The server is the installed `zhike serve --port 0 --data DIR` in a subprocess, exactly as a user
starts it: its first stdout line carries the URL, and it is ready when that line is printed (the
fixture still waits for /api/v1/health before handing it over). Chromium is Debian's
(`shutil.which("chromium")`), driven by the `playwright` package without `playwright install`.
Without Chromium the browser tests are skipped and say why, unless ZHIKE_REQUIRE_BROWSER=1 (CI),
where a missing browser fails them instead.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"http://\S+")
START_TIMEOUT = 30.0  # seconds; the issue asks for ready in under 2 s, this only bounds a broken start
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def zhike_exe() -> list[str]:
    exe = Path(sys.executable).parent / "zhike"
    return [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]


class Server:
    """One `zhike serve` process on 127.0.0.1 with its own data directory; stdout and stderr go to files."""

    def __init__(self, data: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.env.pop("ZHIKE_RULEBASE", None)
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.out_path = self.data.parent / f"{self.data.name}.stdout"
        self.err_path = self.data.parent / f"{self.data.name}.stderr"
        self.started_in = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Server:
        cmd = [*zhike_exe(), "serve", "--port", "0", "--data", str(self.data), *self.args]
        t0 = time.monotonic()
        # A restart on the same data directory appends to the same files: read only what this start wrote.
        offset = self.out_path.stat().st_size if self.out_path.exists() else 0
        # Files, not pipes: the server logs a line per request, and a pipe nobody drains would block it.
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, env=self.env)
        deadline = t0 + START_TIMEOUT
        while not self.url:
            text = self.out_path.read_bytes()[offset:].decode("utf-8", "replace")
            found = URL.search(text)
            if found:
                self.url = found.group(0).rstrip("/")
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"zhike serve did not start: {cmd}\nstdout: {text[-2000:]}\n"
                                   f"stderr: {self.stderr()[-4000:]}")
            time.sleep(0.02)
        self.started_in = time.monotonic() - t0
        self.wait_ready(deadline)
        return self

    def wait_ready(self, deadline: float) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v1/health", timeout=5).status_code == 200:
                    return
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"zhike serve at {self.url} never answered /api/v1/health\n{self.stderr()[-4000:]}")
            time.sleep(0.05)

    def stderr(self) -> str:
        return self.err_path.read_bytes().decode("utf-8", "replace") if self.err_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush; what the store wrote before is all that survives."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM (the contract: a clean stop, exit 0), then SIGKILL if it hangs. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """A factory: start_server(data_dir=None, *args) -> a running Server, stopped at the end of the test."""
    started: list[Server] = []

    def start(data: Path | None = None, *args: str) -> Server:
        server = Server(data or tmp_path / "data", *args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[Server]:
    """One server shared by a test module (its own data directory)."""
    server = Server(tmp_path_factory.mktemp("serve") / "data").start()
    yield server
    server.stop()


def _no_browser(reason: str):
    if os.environ.get("ZHIKE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ZHIKE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"real-browser tests skipped: {reason} (install Debian's chromium: apt-get install chromium)")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Debian's Chromium, headless, launched once for the whole run (tests open their own contexts)."""
    executable = shutil.which("chromium")
    if executable is None:
        _no_browser("no `chromium` on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the python package `playwright` is not installed")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except Exception as e:  # a Chromium that cannot start is a missing browser, said as such
        pw.stop()
        _no_browser(f"chromium at {executable} did not start: {str(e).splitlines()[0]}")
    yield chromium
    chromium.close()
    pw.stop()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's Chromium; runs in plain `pytest` and in CI "
                                       "(skipped, saying why, where there is no Chromium)")
