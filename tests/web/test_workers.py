"""`zhike serve --workers N`: several server processes on one port, any of them taking any request.

A real server with two worker processes runs an interview over fresh connections (so requests land
on either process), keeps every answer, asks the same questions as one process does, survives a
worker killed with SIGKILL (the supervisor starts another), and stops cleanly on SIGTERM with no
process left behind. A batch job uploaded to one process is seen by the other (its record on disk).
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from engine.web.batch_jobs import BatchJobs
from engine.web.supervisor import supported

from .test_kill import a_valid_answer

API = "/api/v1"

pytestmark = pytest.mark.skipif(not supported(), reason="--workers needs os.fork (Linux, macOS)")


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_interview(url: str, answers: int, seed: int) -> tuple[list[str], dict]:
    """The questions asked and the answers saved, every request on a new connection."""
    facts = {f["id"]: f for f in httpx.get(f"{url}{API}/facts", timeout=30).raise_for_status().json()}
    rng = random.Random(seed)
    doc = httpx.post(f"{url}{API}/interviews", json={"lang": "zh"}, timeout=30).raise_for_status().json()
    iid, asked = doc["id"], []
    for _ in range(answers):
        if not doc["question"]:
            break
        asked.append(doc["question"]["fact"])
        body = a_valid_answer(facts[doc["question"]["fact"]], rng)
        doc = httpx.post(f"{url}{API}/interviews/{iid}/answers", json=body, timeout=30).raise_for_status().json()
    return asked, httpx.get(f"{url}{API}/interviews/{iid}", timeout=30).raise_for_status().json()["answers"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_two_workers_answer_like_one_survive_a_killed_worker_and_stop_cleanly(start_server, tmp_path):
    one = start_server(tmp_path / "one")
    asked_one, saved_one = run_interview(one.url, 10, seed=5)
    assert one.stop() == 0

    two = start_server(tmp_path / "two", "--workers", "2")
    workers = children(two.proc.pid)
    assert len(workers) == 2, f"expected 2 worker processes, found {workers}"
    asked_two, saved_two = run_interview(two.url, 10, seed=5)
    # the same questions in the same order, whichever process answered each request
    assert asked_two == asked_one
    assert saved_two == saved_one

    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = children(two.proc.pid)
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.1)
    replaced = children(two.proc.pid)
    assert victim not in replaced and len(replaced) == 2, f"the killed worker was not replaced: {replaced}"
    for _ in range(6):  # every request answered, whichever process takes it
        assert httpx.get(f"{two.url}{API}/health", timeout=30).status_code == 200

    assert two.stop() == 0
    assert not any(alive(pid) for pid in replaced), "a worker outlived the server"


def test_workers_refuse_to_start_when_one_cannot(start_server, tmp_path):
    """A worker that fails while starting fails the whole start: one line, exit 2, nothing left running."""
    from engine.web import supervisor

    def serve(ready):
        raise RuntimeError("cannot bind")

    with pytest.raises(supervisor.WorkersFailed):
        supervisor.run_workers(2, serve, lambda: None)


def test_a_batch_job_is_seen_by_every_server_process(tmp_path):
    """Two processes' job tables over one data folder: the job one made, the other shows (progress and all)."""
    taker, other = BatchJobs(tmp_path, Path("rulebase")), BatchJobs(tmp_path, Path("rulebase"))
    job = taker.new("csv", "zh")
    job.mapping, job.mapping_ok = "客户名称 → 不映射", True
    taker.save(job)
    seen = other.get(job.id)
    assert seen is not None and seen.state == "uploaded" and seen.mapping == job.mapping and seen.fmt == "csv"
    job.state, job.summary = "done", "30 行:30 行已分类,0 行被拒"
    taker.save(job)
    seen = other.get(job.id)
    assert seen.state == "done" and seen.summary == job.summary
    assert other.get("x" * 32) is None  # no record, no job
    (job.folder / "job.json").write_text("{not json", encoding="utf-8")
    assert other.get(job.id) is None  # a damaged record is no job, never a crash
