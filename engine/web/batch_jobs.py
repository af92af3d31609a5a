"""Batch runs from the web page: the very `zhike batch` command, run beside the server.

An upload is streamed to a folder of its own under --data/batch/ (never whole in
memory). The mapping shown is what `zhike batch --explain-map` prints for that file,
and the run is `zhike batch INPUT -o RESULT --rejects REJECTS` in a child process,
watched by a background thread: the same reading, mapping, classification,
checkpoints and no-row-lost accounting as on the command line (rows in = classified
+ rejected), its workers out of the server's memory, and its own copy of the
rulebase (durable_rules is never shared with the server's threads). Progress comes
from the run's checkpoint file (rows done), its summary from its last line. Each job
keeps a record (job.json) in its folder, so that with `zhike serve --workers N` the
process that did not take the upload still shows the job, its progress and its files.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import tr

FORMATS = ("csv", "xlsx", "jsonl")
_RECORD = "job.json"  # what a job's page shows, in its folder: any server process can show it
_RECORDED = ("fmt", "lang", "state", "mapping", "mapping_ok", "rows_done", "summary", "messages", "started")
EXPLAIN_SECONDS = 60
RUN_SECONDS = 3600
_JOB = re.compile(r"^[A-Za-z0-9_-]{32}$")
# the command line, started the way the `zhike` script starts it (cli.main), with this interpreter
_ZHIKE = [sys.executable, "-c", "import sys, cli; sys.argv[0] = 'zhike'; cli.main()"]


def extension(filename: str) -> str | None:
    ext = Path(filename or "").suffix.lower().lstrip(".")
    return ext if ext in FORMATS else None


@dataclass
class Job:
    id: str
    folder: Path
    fmt: str
    lang: str
    state: str = "uploaded"  # uploaded | running | done | failed
    mapping: str = ""  # what --explain-map printed
    mapping_ok: bool = True
    rows_done: int = 0
    summary: str = ""  # the run's last line (rows in = classified + rejected)
    messages: list[str] = field(default_factory=list)
    started: float = 0.0  # time.time() at the start: another process tells a run abandoned by a restart

    @property
    def input(self) -> Path:
        return self.folder / f"input.{self.fmt}"

    @property
    def result(self) -> Path:
        return self.folder / f"result.{self.fmt}"

    @property
    def rejects(self) -> Path:
        return self.folder / f"rejects.{self.fmt}"

    @property
    def has_rejects(self) -> bool:
        """Whether the rejects file holds a row (a CSV's header alone is not one)."""
        try:
            with open(self.rejects, "rb") as fh:
                head = fh.read(1 << 16)
        except OSError:
            return False
        if self.fmt == "csv":
            return len([ln for ln in head.splitlines() if ln.strip()]) > 1
        return bool(head.strip())

    @property
    def checkpoint(self) -> Path:
        return Path(str(self.result) + ".zhike-checkpoint.json")


class BatchJobs:
    def __init__(self, data_dir: Path, rulebase: Path) -> None:
        self.root = Path(data_dir) / "batch"
        self.rulebase = Path(rulebase)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def new(self, fmt: str, lang: str) -> Job:
        job_id = secrets.token_urlsafe(24)
        folder = self.root / job_id
        folder.mkdir(parents=True, mode=0o700)
        job = Job(job_id, folder, fmt, lang)
        with self._lock:
            self._jobs[job_id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, from this process or, when another server process (`--workers`) took the upload,
        from its folder's record."""
        if not _JOB.match(job_id or ""):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            job = self._read(job_id)
        if job is not None:
            self._progress(job)
        return job

    def save(self, job: Job) -> None:
        """Write the job's record (atomically) so that every server process sees the same job."""
        record = {k: getattr(job, k) for k in _RECORDED}
        tmp = job.folder / f"{_RECORD}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            tmp.replace(job.folder / _RECORD)
        except OSError:
            tmp.unlink(missing_ok=True)  # the folder went away (discarded): nothing to record

    def _read(self, job_id: str) -> Job | None:
        folder = self.root / job_id
        try:
            data = json.loads((folder / _RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("fmt") not in FORMATS:
            return None
        job = Job(job_id, folder, data["fmt"], str(data.get("lang") or "zh"))
        for k in _RECORDED:
            if k in data and k not in ("fmt", "lang"):
                setattr(job, k, data[k])
        if job.state == "running" and time.time() - float(job.started or 0) > RUN_SECONDS + 60:
            job.state, job.messages = "failed", [tr(job.lang, "The run stopped without a result.")]
        return job

    def forget(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)

    def _env(self, job: Job) -> dict[str, str]:
        env = dict(os.environ)
        env.update(ZHIKE_LANG=job.lang, ZHIKE_BATCH_CHECKPOINT_ROWS="100", PYTHONIOENCODING="utf-8")
        return env

    def explain(self, job: Job) -> None:
        """`zhike batch INPUT --explain-map`, kept to show on the job's page."""
        cmd = [*_ZHIKE, "batch", str(job.input), "--explain-map", "--rulebase", str(self.rulebase),
               "--lang", job.lang]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace",
                                  timeout=EXPLAIN_SECONDS, env=self._env(job), cwd=job.folder)
        except subprocess.TimeoutExpired:
            job.mapping, job.mapping_ok = tr(job.lang, "Reading the file took too long."), False
            self.save(job)
            return
        job.mapping = _named(done.stdout, job).rstrip()
        job.mapping_ok = done.returncode in (0, 1) and bool(job.mapping)
        if not job.mapping_ok:
            job.messages = [_named(line, job) for line in done.stderr.splitlines() if line.strip()][-5:]
        self.save(job)

    def start(self, job: Job) -> None:
        if job.state in ("running", "done"):
            return
        job.state, job.started = "running", time.time()
        self.save(job)
        threading.Thread(target=self._run, args=(job,), name=f"zhike-batch-{job.id[:6]}", daemon=True).start()

    def _run(self, job: Job) -> None:
        cmd = [*_ZHIKE, "batch", str(job.input), "-o", str(job.result), "--rejects", str(job.rejects),
               "--rulebase", str(self.rulebase), "--lang", job.lang]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace",
                                  timeout=RUN_SECONDS, env=self._env(job), cwd=job.folder,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            job.state, job.messages = "failed", [tr(job.lang, "The run took too long and was stopped.")]
            self.save(job)
            return
        lines = [_named(line, job) for line in done.stderr.splitlines() if line.strip()]
        summary = next((ln for ln in reversed(lines) if ln.startswith("zhike batch:")), "")
        job.summary = summary.removeprefix("zhike batch:").strip()
        job.messages = [ln for ln in lines if ln != summary][-8:]
        job.state = "done" if done.returncode in (0, 1) and job.result.exists() else "failed"
        if job.state == "failed" and not job.messages:
            job.messages = [tr(job.lang, "The run stopped without a result.")]
        self.save(job)

    def _progress(self, job: Job) -> None:
        if job.state != "running":
            return
        try:
            data = json.loads(job.checkpoint.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        rows = data.get("rows_done") if isinstance(data, dict) else None
        if isinstance(rows, int):
            job.rows_done = rows


def _named(text: str, job: Job) -> str:
    """The run's words with the server's folders taken out: the user knows the file by what they uploaded."""
    for path, name in ((job.result, f"result.{job.fmt}"), (job.rejects, f"rejects.{job.fmt}"),
                       (job.input, f"input.{job.fmt}"), (job.folder, ".")):
        text = text.replace(str(path), name)
    return text
