"""engine/output.py: the one place that checks output paths, writes atomically and locks outputs."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine.errors import InputError
from engine.report.output import (
    OutputError,
    OutputLock,
    atomic_write_text,
    check_output_path,
    os_reason,
    write_failure,
    write_text,
)


def test_output_that_is_an_input_is_refused(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n", encoding="utf-8")
    with pytest.raises(InputError, match="same file as the input"):
        check_output_path(src, [src])
    with pytest.raises(InputError, match="same file as the input"):  # another spelling of the same file
        check_output_path(str(tmp_path / "." / "in.csv"), [str(src)])
    os.link(src, tmp_path / "hard.csv")
    with pytest.raises(InputError, match="same file as the input"):  # a hard link is the same file
        check_output_path(tmp_path / "hard.csv", [src])
    assert check_output_path(tmp_path / "out.csv", [src, None, "-"]) == tmp_path / "out.csv"


def test_fifo_device_and_directory_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="device or special file"):
        check_output_path(tmp_path / "fifo")
    with pytest.raises(InputError, match="device or special file"):
        check_output_path("/dev/null")
    with pytest.raises(InputError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "out.csv")


def test_symlink_out_of_its_directory_is_refused_and_one_inside_is_followed(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "target.txt").write_text("precious", encoding="utf-8")
    d = tmp_path / "d"
    d.mkdir()
    (d / "away.txt").symlink_to(outside / "target.txt")
    with pytest.raises(InputError, match="symbolic link"):
        check_output_path(d / "away.txt")
    (d / "real.txt").write_text("old", encoding="utf-8")
    (d / "link.txt").symlink_to("real.txt")
    path = check_output_path(d / "link.txt")
    assert path == d / "real.txt"
    write_text("new", str(d / "link.txt"))
    assert (d / "link.txt").is_symlink() and (d / "real.txt").read_text(encoding="utf-8") == "new"
    assert (outside / "target.txt").read_text(encoding="utf-8") == "precious"


def test_atomic_write_keeps_the_old_file_when_the_disk_fills(tmp_path, monkeypatch):
    out = tmp_path / "out.txt"
    out.write_text("OLD", encoding="utf-8")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"cannot write .*out.txt: the disk is full") as e:
        atomic_write_text(out, "NEW" * 1000)
    assert e.value.exit_code == 2
    assert out.read_text(encoding="utf-8") == "OLD"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # the temporary file is gone


def test_atomic_write_to_a_read_only_directory(tmp_path, monkeypatch):
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputError, match="the file system is read-only"):
        atomic_write_text(tmp_path / "out.txt", "x")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_new_file_mode_follows_umask_and_replaced_file_keeps_its_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        kept = tmp_path / "kept.txt"
        kept.write_text("old", encoding="utf-8")
        os.chmod(kept, 0o640)
        atomic_write_text(kept, "new")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "new.txt").st_mode & 0o777 == mode
    assert os.stat(kept).st_mode & 0o777 == 0o640


def test_write_failure_messages():
    assert os_reason(OSError(errno.ENOSPC, "x")) == "the disk is full"
    assert str(write_failure(None, OSError(errno.EIO, "x"))) == "cannot write standard output: input/output error"
    assert write_failure("a.csv", OSError(errno.EACCES, "x"), exit_code=1).exit_code == 1


def _holder(tmp_path, output) -> subprocess.Popen:
    """Another process that takes the lock on `output`, says so, and waits."""
    code = textwrap.dedent(f"""
        import sys, time
        from engine.report.output import OutputLock
        lock = OutputLock({str(output)!r}).acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_output_lock_is_exclusive_across_processes_and_dies_with_its_owner(tmp_path):
    out = tmp_path / "out.csv"
    p = _holder(tmp_path, out)
    try:
        with pytest.raises(OutputError, match="another zhike run is writing this output"):
            OutputLock(out).acquire()
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    with OutputLock(out):  # the kernel released the dead owner's lock
        with pytest.raises(OutputError):
            OutputLock(out).acquire()
    assert not (tmp_path / ".out.csv.zhike-lock").exists()  # released: the lock file is removed
    with OutputLock(out):
        pass
