"""Writing results safely: the one place that touches output paths.

Every command that writes goes through here, so the data-safety rules hold
everywhere at once:

- an output path is checked before any work starts (`check_output_path`):
  never an input of the run, never a device, FIFO or directory, never a
  symlink that leads out of its directory;
- files are written atomically (temporary file in the same directory, fsync,
  rename), with the permissions the user's umask gives a new file;
- one run owns an output path (`OutputLock`, an exclusive `flock` on a lock
  file beside it), so two runs never interleave;
- an OS error while writing becomes one clear line (`OutputError`), never a
  traceback.
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import EXIT_USAGE, InputError, ZhikeError


class OutputError(ZhikeError):
    """An output could not be written; the message is one line that says why."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENOENT: "the directory does not exist",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EFBIG: "the file is too large",
    errno.EIO: "input/output error",
}


def os_reason(e: OSError) -> str:
    """A short human reason for an OS error ('the disk is full')."""
    return _REASONS.get(e.errno or 0, e.strerror or str(e))


def write_failure(path: str | os.PathLike | None, e: OSError, exit_code: int | None = None) -> OutputError:
    """The one-line error for a failed write to `path` (None: standard output)."""
    where = "standard output" if path in (None, "-") else str(path)
    return OutputError(f"cannot write {where}: {os_reason(e)}", exit_code)


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output_path(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                      what: str = "output") -> Path:
    """Refuse an output path that would destroy something; return the path to write to.

    Raises InputError (exit 2) when `output` is one of `inputs`, an existing
    device, FIFO, socket or directory, a symlink leading out of its own
    directory, or in a directory that does not exist. A symlink to a regular
    file in the same directory is followed (its target is written), so the
    link survives.
    """
    path = Path(output)
    name = str(output)
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target.parent != Path(os.path.realpath(path.parent)):
            raise InputError(f"{name}: the {what} is a symbolic link to {target}, outside its directory; "
                             "name a plain file instead")
        path = target
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise InputError(f"{name}: cannot use this {what} path: {os_reason(e)}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{name}: the {what} is a directory; name a file inside it")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{name}: the {what} is a device or special file, not a regular file; "
                             "name a plain file instead")
    for src in inputs:
        if src in (None, "-"):
            continue
        if os.path.exists(src) and st is not None and _same_file(src, path):
            raise InputError(f"{name}: the {what} is the same file as the input {src}; "
                             "choose another name so the input is not overwritten")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"{name}: directory {parent} does not exist")
    return path


def _mode_for(path: Path) -> int:
    try:  # keep the mode of a file we replace
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically: the old file or the new one, never half of it.

    Raises OutputError (one line) when the OS refuses.
    """
    path = Path(path)
    mode = _mode_for(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise write_failure(path, e) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_stdout(text: str) -> None:
    """Write to standard output; a closed pipe is fine, any other failure is one line."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as e:  # ValueError: stdout closed
        silence_stdout()
        if isinstance(e, OSError):
            raise write_failure(None, e) from None
        raise OutputError("cannot write standard output: it is closed") from None


def silence_stdout() -> None:
    # the interpreter flushes stdout at exit; a full /dev/full would fail again there
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def write_text(text: str, output: str | None, inputs: Iterable[str | None] = ()) -> None:
    """Write to stdout (None or '-') or atomically to a file, refusing unsafe paths."""
    if output in (None, "-"):
        write_stdout(text)
        return
    path = check_output_path(output, inputs)
    atomic_write_text(path, text)


class OutputLock:
    """An exclusive lock that makes one run the owner of an output path.

    The lock is an `flock` on `.NAME.zhike-lock` beside the output; the
    kernel releases it when the process dies, so a killed run never leaves
    a stale lock. The owner removes the file on release; `acquire` checks it
    locked the file that is still there, so two runs never hold two locks.
    """

    def __init__(self, output: str | os.PathLike, what: str = "output"):
        p = Path(output)
        self.path = p.parent / f".{p.name}.zhike-lock"
        self.output = str(output)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            except OSError as e:
                raise OutputError(f"cannot lock {self.output}: {os_reason(e)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OutputError(f"{self.output}: another zhike run is writing this {self.what}; "
                                  "wait for it to finish or choose another name") from None
            # the previous owner may have removed the file between our open and flock:
            # then we hold a lock on an orphan inode and must try again
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.unlink(self.path)  # while still holding the lock: see acquire()
            except OSError:
                pass
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
