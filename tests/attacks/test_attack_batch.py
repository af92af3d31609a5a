"""Attacks on `zhike batch`'s files: outputs that are inputs, devices or links, concurrent runs,
damaged partial files and checkpoints, write failures, stdin input, SIGTERM (issue 9: items 1, 2,
5, 6, 13, 14, 17, 19, 20).

Every test that runs rows through checks that the input files are byte-identical afterwards and
that output rows + rejected rows = input rows. Inputs are generated; the mini rulebase keeps runs
short. Where a run has to be caught in the middle, it is frozen with SIGSTOP once its checkpoint
shows progress, so the test does not depend on timing.
"""
from __future__ import annotations

import csv
import io
import json
import os
import random
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MINI, ROOT

# the machine contract these attacks check: id columns, and a cell that fits nothing rejects its row
MINI_ARGS = ("--rulebase", str(MINI), "--on-bad-value", "reject", "--ids")
HEADER = ["id", "pace", "guard", "budget", "Notes", "Email"]
TIMEOUT = 120  # a hang guard only


def _cmd() -> list[str]:
    exe = Path(sys.executable).parent / "zhike"
    return [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop("ZHIKE_RULEBASE", None)
    return env


def _run(*args: str, stdin: bytes | None = None, env: dict | None = None, cwd: Path | None = None,
         **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([*_cmd(), "batch", *args, *MINI_ARGS], input=stdin, capture_output=True, env=env or _env(),
                       cwd=cwd, timeout=TIMEOUT, **kw)
    r.stderr = r.stderr.decode("utf-8", "replace")
    return r


def _rows(n: int, seed: int = 3, bad_every: int = 37) -> list[list[str]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        guard = "perhaps" if (i + 5) % bad_every == 0 else rnd.choice(["yes", "no", "是", ""])  # perhaps: rejected
        rows.append([str(i), rnd.choice(["fast", "slow", "快", ""]), guard, rnd.choice(["", "50", "150", "1.5万"]),
                     rnd.choice(["", "预算不够", "hello"]), f"p{i}@example.com"])
    return rows


def _write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    s = io.StringIO()
    w = csv.writer(s, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(s.getvalue().encode("utf-8"))
    return path.read_bytes()


def _table(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def _count(path: Path) -> int:
    return len(_table(path)) - 1 if path.exists() else 0


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


def _solo(tmp_path: Path, src: Path, name: str = "solo.csv") -> tuple[bytes, bytes]:
    """Output and rejects of an uninterrupted run: what every other run must produce."""
    out = tmp_path / name
    r = _run(str(src), "-o", str(out))
    assert r.returncode in (0, 1), r.stderr
    rejects = out.with_name(out.stem + ".rejects.csv")
    return out.read_bytes(), rejects.read_bytes() if rejects.exists() else b""


def _progress(ckpt: Path) -> int:
    try:
        return json.loads(ckpt.read_text())["rows_done"]
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _start_and_freeze(args: list[str], ckpt: Path, rows: int, env: dict) -> subprocess.Popen:
    """Start a batch run and stop it (SIGSTOP) once its checkpoint counts `rows` rows."""
    proc = subprocess.Popen([*_cmd(), "batch", *args, *MINI_ARGS], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline and _progress(ckpt) < rows:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGSTOP)
    if proc.poll() is not None:
        pytest.fail(f"the run ended before it could be stopped: make the input larger\n{proc.stderr.read()}")
    return proc


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        os.kill(proc.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
    _, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, err.decode("utf-8", "replace")


# --- 1: the rejects file is never the input ---------------------------------------------------

def test_rejects_naming_the_input_is_refused(tmp_path):
    victim = tmp_path / "victim.csv"
    before = _write_csv(victim, _rows(300))
    out = tmp_path / "out.csv"
    r = _run(str(victim), "-o", str(out), "--rejects", str(victim))
    assert r.returncode == 2
    assert "input" in _one_line(r.stderr)
    assert victim.read_bytes() == before and not out.exists()
    # the same file under another name (a hard link) is the same input
    os.link(victim, tmp_path / "alias.csv")
    r = _run(str(victim), "-o", str(out), "--rejects", str(tmp_path / "alias.csv"))
    assert r.returncode == 2 and victim.read_bytes() == before
    r = _run(str(victim), "-o", str(out), "--rejects", str(out))
    assert r.returncode == 2 and "output" in _one_line(r.stderr) and not out.exists()


def test_running_a_rejects_file_again_keeps_it_and_does_not_pile_up_columns(tmp_path):
    src = tmp_path / "x-in.csv"
    src_bytes = _write_csv(src, _rows(300))
    out = tmp_path / "X.csv"
    assert _run(str(src), "-o", str(out)).returncode == 1
    rejects = tmp_path / "X.rejects.csv"
    first = rejects.read_bytes()
    assert _count(out) + _count(rejects) == 300 and _count(rejects) > 0

    # the documented re-run: the default rejects name beside X.csv is the input itself
    r = _run(str(rejects), "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert rejects.read_bytes() == first, "the input of the run was overwritten"
    again = tmp_path / "X.rejects-2.csv"
    assert _count(out) + _count(again) == _count(rejects)
    assert not any(c.startswith("_") for c in _table(out)[0]), "zhike's _ columns belong in no output"
    header = _table(again)[0]
    assert header.count("_row") == header.count("_error_code") == header.count("_error") == 1, header
    assert header[:len(HEADER)] == HEADER
    # and once more: still one set of _ columns
    r = _run(str(again), "-o", str(tmp_path / "Y.csv"))
    assert r.returncode == 1, r.stderr
    assert _table(tmp_path / "Y.rejects.csv")[0].count("_row") == 1
    assert src.read_bytes() == src_bytes


# --- 2: one run per output ----------------------------------------------------------------------

def test_a_second_run_on_the_same_output_stops_and_leaves_the_first_alone(tmp_path):
    a_in, b_in = tmp_path / "a.csv", tmp_path / "b.csv"
    a_bytes = _write_csv(a_in, _rows(2500, seed=1))
    b_bytes = _write_csv(b_in, _rows(500, seed=2))
    solo_out, solo_rej = _solo(tmp_path, a_in)
    out = tmp_path / "out.csv"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    env = _env(ZHIKE_BATCH_CACHE="0", ZHIKE_BATCH_CHECKPOINT_ROWS="100")
    first = _start_and_freeze([str(a_in), "-o", str(out)], ckpt, 200, env)
    try:
        ckpt_before = ckpt.read_bytes()
        part = Path(str(out) + ".part")
        part_before = part.read_bytes()
        second = _run(str(b_in), "-o", str(out), env=env)
        assert second.returncode == 2
        assert "another zhike run" in _one_line(second.stderr)
        assert ckpt.read_bytes() == ckpt_before and part.read_bytes() == part_before, "the second run touched them"
    finally:
        code, err = _finish(first)
    assert code == 1, err  # some rows are rejected, as in the solo run
    assert out.read_bytes() == solo_out
    assert (tmp_path / "out.rejects.csv").read_bytes() == solo_rej
    assert "2,500 rows in" in err
    assert a_in.read_bytes() == a_bytes and b_in.read_bytes() == b_bytes


# --- 5: devices, FIFOs, symlinks -------------------------------------------------------------

def test_a_fifo_output_is_refused_without_blocking(tmp_path):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(40))
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    r = _run(str(src), "-o", str(fifo))
    assert r.returncode == 2 and "device or special file" in _one_line(r.stderr)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    r = _run(str(src), "-o", str(tmp_path / "o.csv"), "--rejects", str(fifo))
    assert r.returncode == 2 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert src.read_bytes() == before and not (tmp_path / "o.csv").exists()


def test_a_symlink_output_leading_elsewhere_is_refused(tmp_path):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(40))
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    target = elsewhere / "keep.csv"
    target.write_bytes(b"precious\n")
    work = tmp_path / "work"
    work.mkdir()
    link = work / "out.csv"
    link.symlink_to(target)
    r = _run(str(src), "-o", str(link))
    assert r.returncode == 2 and "symbolic link" in _one_line(r.stderr)
    assert link.is_symlink() and target.read_bytes() == b"precious\n"
    # a link to a device: refused before anything is opened, the device stays a device
    null_link = work / "null.csv"
    null_link.symlink_to(os.devnull)
    r = _run(str(src), "-o", str(null_link))
    assert r.returncode == 2
    assert null_link.is_symlink() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted(p.name for p in work.iterdir()) == ["null.csv", "out.csv"], "nothing else was written"
    assert src.read_bytes() == before


# --- 6: a damaged partial output is refused, never padded ---------------------------------------

@pytest.mark.parametrize("damage", ["shorter", "changed"])
def test_resume_refuses_a_damaged_part_file(tmp_path, damage):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(2500, seed=5))
    solo_out, solo_rej = _solo(tmp_path, src)
    out = tmp_path / "out.csv"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    env = _env(ZHIKE_BATCH_CACHE="0", ZHIKE_BATCH_CHECKPOINT_ROWS="100")
    proc = _start_and_freeze([str(src), "-o", str(out)], ckpt, 300, env)
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    part = Path(str(out) + ".part")
    offset = json.loads(ckpt.read_text())["output_bytes"]
    assert part.stat().st_size >= offset > 1000
    data = bytearray(part.read_bytes())
    if damage == "shorter":  # rows' worth of bytes gone from outside
        del data[offset // 2:]
    else:  # same length, one byte changed
        data[offset // 2] ^= 0x01
    part.write_bytes(bytes(data))
    r = _run(str(src), "-o", str(out), "--resume")
    assert r.returncode == 2
    assert "changed since the run stopped" in _one_line(r.stderr)
    assert part.read_bytes() == bytes(data), "the refused resume altered the partial output"
    assert not out.exists()
    # starting over gives the right result
    r = _run(str(src), "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert out.read_bytes() == solo_out and (tmp_path / "out.rejects.csv").read_bytes() == solo_rej
    assert src.read_bytes() == before


# --- 13: stdin, every format ------------------------------------------------------------------

def _as_format(rows: list[list[str]], fmt: str, tmp_path: Path) -> bytes:
    if fmt == "csv":
        return _write_csv(tmp_path / "in.csv", rows)
    if fmt == "jsonl":
        return "".join(json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False) + "\n" for r in rows).encode()
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_stdin_input_with_an_output_file(tmp_path, fmt):
    data = _as_format(_rows(120), fmt, tmp_path)
    out = tmp_path / "out.csv"
    r = _run("-", "-o", str(out), stdin=data)
    assert r.returncode == 1, r.stderr  # some rows are rejected
    assert "Traceback" not in r.stderr
    ext = {"csv": "csv", "jsonl": "jsonl", "xlsx": "xlsx"}[fmt]
    rejects = tmp_path / f"out.rejects.{ext}"
    if fmt == "csv":
        n_rej = _count(rejects)
    elif fmt == "jsonl":
        n_rej = len(rejects.read_bytes().splitlines())
    else:
        import openpyxl

        n_rej = sum(1 for _ in openpyxl.load_workbook(rejects, read_only=True).worksheets[0].iter_rows()) - 1
    assert _count(out) + n_rej == 120 and n_rej > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out.csv", rejects.name]
    r = _run("-", "-o", str(out), "--resume", stdin=data)
    assert r.returncode == 2 and "stdin" in _one_line(r.stderr)


# --- 14: write failures: one line, exit 2, or 1 and resumable ----------------------------------

def test_an_output_that_is_a_directory_is_refused(tmp_path):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(40))
    folder = tmp_path / "out.csv"
    folder.mkdir()
    r = _run(str(src), "-o", str(folder))
    assert r.returncode == 2 and "directory" in _one_line(r.stderr)
    r = _run(str(src), "-o", str(tmp_path / "o.csv"), "--rejects", str(folder))
    assert r.returncode == 2 and "directory" in _one_line(r.stderr)
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    assert src.read_bytes() == before


def test_stdout_to_a_full_device_is_one_line(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(2000))
    with open("/dev/full", "wb") as full:
        r = subprocess.run([*_cmd(), "batch", str(src), "--rejects", str(tmp_path / "r.csv"), *MINI_ARGS],
                           stdout=full, stderr=subprocess.PIPE, env=_env(), timeout=TIMEOUT)
    err = r.stderr.decode()
    assert r.returncode == 2
    assert "cannot write standard output" in _one_line(err)
    assert not (tmp_path / "r.csv").exists() and not (tmp_path / "r.csv.part").exists()


def _limited(max_bytes: int):
    """A child that may write files of at most max_bytes: a full disk, for any user, without mounting one."""
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return pre


@pytest.mark.parametrize("what", ["output", "rejects"])
def test_a_full_disk_midway_is_one_line_and_resumable(tmp_path, what):
    src = tmp_path / "in.csv"
    rows = _rows(3000, seed=9, bad_every=1 if what == "rejects" else 37)  # rejects: every row is rejected
    before = _write_csv(src, rows)
    solo_out, solo_rej = _solo(tmp_path, src)
    out = tmp_path / "out.csv"
    env = _env(ZHIKE_BATCH_CHECKPOINT_ROWS="50")
    r = _run(str(src), "-o", str(out), env=env, preexec_fn=_limited(60_000))
    assert r.returncode == 1
    line = _one_line(r.stderr)
    assert line.startswith("cannot write ") and "--resume" in line and "rows are saved" in line, line
    assert ("rejects" in line) == (what == "rejects"), line
    assert not out.exists()
    r = _run(str(src), "-o", str(out), "--resume", env=env)
    assert r.returncode == 1, r.stderr
    assert out.read_bytes() == solo_out and (tmp_path / "out.rejects.csv").read_bytes() == solo_rej
    assert _count(out) + _count(tmp_path / "out.rejects.csv") == len(rows)
    assert src.read_bytes() == before


def test_a_full_disk_before_any_row_is_saved_leaves_nothing(tmp_path):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(200))
    r = _run(str(src), "-o", str(tmp_path / "out.csv"), preexec_fn=_limited(100))
    assert r.returncode == 2
    assert _one_line(r.stderr).startswith("cannot write ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    assert src.read_bytes() == before


# --- 17: a checkpoint that is not one -------------------------------------------------------

@pytest.mark.parametrize("content", ["[]", '"a string"', "123", "[" * 100_000])
def test_a_malformed_checkpoint_is_one_line(tmp_path, content):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(40))
    out = tmp_path / "out.csv"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    ckpt.write_text(content)
    r = _run(str(src), "-o", str(out), "--resume")
    assert r.returncode == 2
    assert "checkpoint" in _one_line(r.stderr) and "without --resume" in r.stderr
    assert ckpt.read_text() == content and not out.exists()
    assert src.read_bytes() == before


# --- 19: SIGTERM ends a run as Ctrl-C does ----------------------------------------------------

@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_resumably_with_a_message(tmp_path, workers):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(2500, seed=13))
    solo_out, solo_rej = _solo(tmp_path, src)
    out = tmp_path / "out.csv"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    env = _env(ZHIKE_BATCH_CACHE="0", ZHIKE_BATCH_CHECKPOINT_ROWS="100")
    proc = _start_and_freeze([str(src), "-o", str(out), "--workers", workers], ckpt, 300, env)
    os.kill(proc.pid, signal.SIGTERM)  # delivered when it continues
    code, err = _finish(proc)
    assert code == 130, err  # as for Ctrl-C
    assert "stopped after" in err and "--resume" in err and "Traceback" not in err
    assert not out.exists() and Path(str(out) + ".part").exists()
    r = _run(str(src), "-o", str(out), "--workers", workers, "--resume")
    assert r.returncode == 1, r.stderr
    assert "resuming after" in r.stderr
    assert out.read_bytes() == solo_out and (tmp_path / "out.rejects.csv").read_bytes() == solo_rej
    assert src.read_bytes() == before


# --- 20: a second column for one fact; rejects in another format ---------------------------------

def test_a_second_column_for_the_same_fact_is_a_warning_in_the_summary(tmp_path):
    src = tmp_path / "in.csv"
    rows = [[r[0], r[1], "slow", r[2]] for r in _rows(30)]
    before = _write_csv(src, rows, ["id", "pace", "节奏", "guard"])
    out = tmp_path / "out.csv"
    r = _run(str(src), "-o", str(out))
    assert r.returncode in (0, 1), r.stderr
    warning = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warning) == 1 and "'节奏'" in warning[0] and "'pace'" in warning[0], r.stderr
    assert _count(out) + _count(tmp_path / "out.rejects.csv") == 30
    assert src.read_bytes() == before


def test_rejects_named_for_another_format_is_refused(tmp_path):
    src = tmp_path / "in.csv"
    before = _write_csv(src, _rows(60))
    out = tmp_path / "out.csv"
    r = _run(str(src), "-o", str(out), "--rejects", str(tmp_path / "bad.xlsx"))
    assert r.returncode == 2
    assert "bad.csv" in _one_line(r.stderr)
    assert not (tmp_path / "bad.xlsx").exists() and not out.exists()
    assert src.read_bytes() == before
