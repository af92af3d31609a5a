"""Issue 9, item 14 (every command but batch): a failed write is one line and exit 2, never a traceback.

Standard output to /dev/full (a real full device), a file write on a full disk
or a read-only file system (simulated in the zhike process: the OS error is
raised where the OS would raise it, so the test runs without root or mount),
`-o` naming a directory or an input; plus cli's last-resort guard for
unexpected errors, a quiet closed pipe, and the umask on `-o` files (issue 11).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from conftest import MINI, zhike

PROFILE = "facts: {pace: fast}\n"


def _run_patched(patch: str, *args: str, cwd, env=None, stdout=subprocess.PIPE, umask=None):
    """Run the zhike CLI in a fresh interpreter after `patch` (Python code) has run in it."""
    code = f"import sys\n{patch}\nimport cli\nsys.argv[0] = 'zhike'\ncli.main()\n"
    e = {k: v for k, v in os.environ.items() if k != "ZHIKE_DEBUG"}
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          cwd=cwd, env=e, timeout=60, preexec_fn=(lambda: os.umask(umask)) if umask else None)


def _one_line(r, *words: str, code: int = 2) -> str:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip() and not x.startswith("zhike ask: ")]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(PROFILE, encoding="utf-8")
    a = tmp_path / "answers.yaml"
    a.write_text("pace: fast\n", encoding="utf-8")
    return {"profile": str(p), "answers": str(a), "mini": str(MINI)}


# each command that writes, with {out} where its -o / --save path goes
COMMANDS = {
    "classify": ["classify", "{profile}", "--rulebase", "{mini}", "-o", "{out}"],
    "classify-md": ["classify", "{profile}", "--rulebase", "{mini}", "--format", "md", "-o", "{out}"],
    "facts": ["facts", "--rulebase", "{mini}", "-o", "{out}"],
    "facts-json": ["facts", "--json", "--rulebase", "{mini}", "-o", "{out}"],
    "rules-doc": ["rules", "doc", "{mini}", "-o", "{out}"],
    "rules-doc-md": ["rules", "doc", "{mini}", "--format", "md", "-o", "{out}"],
    "rules-schema": ["rules", "schema", "-o", "{out}"],
    "ask-report": ["ask", "--rulebase", "{mini}", "--answers", "{answers}", "-o", "{out}"],
    "ask-save": ["ask", "--rulebase", "{mini}", "--answers", "{answers}", "--save", "{out}"],
}

STDOUT_COMMANDS = {
    "classify": ["classify", "{profile}", "--rulebase", "{mini}"],
    "facts": ["facts", "--rulebase", "{mini}"],
    "rules-doc": ["rules", "doc", "{mini}", "--format", "md"],
    "rules-schema": ["rules", "schema"],
    "rules-check": ["rules", "check", "{mini}"],
    "rules-test": ["rules", "test", "{mini}"],
    "ask": ["ask", "--rulebase", "{mini}", "--answers", "{answers}"],
    "help": ["--help"],
    "version": ["--version"],
}


def _args(template: list[str], files: dict, out: str = "") -> list[str]:
    return [a.format(out=out, **files) for a in template]


@pytest.mark.parametrize("name", STDOUT_COMMANDS)
def test_stdout_to_dev_full_is_one_line(files, tmp_path, name):
    with open("/dev/full", "w") as full:
        exe = os.path.join(os.path.dirname(sys.executable), "zhike")
        r = subprocess.run([exe, *_args(STDOUT_COMMANDS[name], files)], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60, cwd=tmp_path)
    _one_line(r, "cannot write standard output: the disk is full")


# the OS error where the OS raises it: every write to a new output file fails (ENOSPC),
# or creating a file in the directory fails (EROFS)
FULL_DISK = """
import errno, os
_fdopen = os.fdopen
class _Full:
    def __init__(self, fh): self._fh = fh
    def write(self, data): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    def __getattr__(self, name): return getattr(self._fh, name)
    def __enter__(self): return self
    def __exit__(self, *exc): self._fh.close()
def fdopen(fd, *a, **k):
    fh = _fdopen(fd, *a, **k)
    return _Full(fh) if 'w' in (a[0] if a else k.get('mode', 'r')) else fh
os.fdopen = fdopen
"""

READ_ONLY = """
import errno, os, tempfile
def mkstemp(*a, **k): raise OSError(errno.EROFS, os.strerror(errno.EROFS))
tempfile.mkstemp = mkstemp
"""


WRITE_FAILURES = [pytest.param(name, FULL_DISK, "the disk is full", id=f"{name}-full-disk") for name in COMMANDS] + [
    pytest.param(name, READ_ONLY, "read-only", id=f"{name}-read-only") for name in ("classify", "rules-doc", "ask-save")]


@pytest.mark.parametrize("name,patch,reason", WRITE_FAILURES)
def test_file_write_failure_is_one_line_and_keeps_the_old_file(files, tmp_path, name, patch, reason):
    out = tmp_path / "out.txt"
    out.write_text("OLD CONTENT", encoding="utf-8")
    r = _run_patched(patch, *_args(COMMANDS[name], files, str(out)), cwd=tmp_path)
    _one_line(r, f"cannot write {out}", reason)
    assert out.read_text(encoding="utf-8") == "OLD CONTENT"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out.txt", "p.yaml"]  # no temp left


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "ask-save"])  # --save: click refuses a directory
def test_output_that_is_a_directory_is_one_line(files, tmp_path, name):
    d = tmp_path / "adir"
    d.mkdir()
    r = zhike(*_args(COMMANDS[name], files, str(d)), cwd=tmp_path)
    _one_line(r, str(d), "directory")
    assert d.is_dir() and list(d.iterdir()) == []


def test_output_that_is_the_input_is_refused(files, tmp_path, mini_copy):
    p, a = files["profile"], files["answers"]
    cases = [
        (["classify", p, "--rulebase", str(MINI), "-o", p], p),
        (["classify", p, "--rulebase", str(MINI), "--format", "md", "-o", "./" + os.path.basename(p)], p),
        (["ask", "--rulebase", str(MINI), "--answers", a, "-o", a], a),
        (["ask", "--rulebase", str(MINI), "--answers", a, "--save", a], a),
        (["rules", "doc", str(mini_copy), "-o", str(mini_copy / "typologies" / "s.yaml")],
         str(mini_copy / "typologies" / "s.yaml")),
        (["facts", "--rulebase", str(mini_copy), "-o", str(mini_copy / "facts" / "f.yaml")],
         str(mini_copy / "facts" / "f.yaml")),
    ]
    for args, victim in cases:
        before = open(victim, "rb").read()
        r = zhike(*args, cwd=tmp_path)
        _one_line(r, "same file as the input")
        assert open(victim, "rb").read() == before, args


def test_ask_report_same_as_session_is_refused_before_any_question(files, tmp_path):
    s = tmp_path / "s.yaml"
    r = zhike("ask", "--rulebase", str(MINI), "--answers", files["answers"], "--save", str(s), "-o", str(s),
              cwd=tmp_path)
    _one_line(r, "the report and the session file (--save) are the same file")
    assert not s.exists()


BOOM = "import engine.rules.schema\ndef boom(): raise RuntimeError('boom\\nsecond line')\nengine.rules.schema.schema = boom\n"


def test_unexpected_error_is_one_line_and_exit_1(tmp_path):
    r = _run_patched(BOOM, "rules", "schema", cwd=tmp_path)
    line = _one_line(r, code=1)
    assert line == ("zhike: internal error: RuntimeError: boom second line — please report it; "
                    "set ZHIKE_DEBUG=1 to see the traceback")


def test_zhike_debug_shows_the_traceback(tmp_path):
    r = _run_patched(BOOM, "rules", "schema", cwd=tmp_path, env={"ZHIKE_DEBUG": "1"})
    assert r.returncode == 1 and "Traceback" in r.stderr and "RuntimeError: boom" in r.stderr


def test_stray_os_error_is_one_line_and_exit_2(tmp_path):
    patch = ("import engine.rules.schema\ndef denied(): raise PermissionError(13, 'Permission denied', '/x/y')\n"
             "engine.rules.schema.schema = denied\n")
    r = _run_patched(patch, "rules", "schema", cwd=tmp_path)
    assert _one_line(r) == "zhike: /x/y: permission denied"


def test_closed_pipe_is_quiet(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "zhike")
    p = subprocess.Popen([exe, "rules", "doc", str(MINI)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=tmp_path)
    p.stdout.close()  # the reader is gone before zhike writes a byte
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and err == ""


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_file_mode_follows_umask(files, tmp_path, umask, mode):
    out = tmp_path / "report.txt"
    r = _run_patched("", *_args(COMMANDS["classify"], files, str(out)), cwd=tmp_path, umask=umask)
    assert r.returncode == 0, r.stderr
    assert os.stat(out).st_mode & 0o777 == mode


def test_session_file_write_failure_is_one_line(files, tmp_path):
    """The session is checked before the first question and a save that fails later is one line."""
    s = tmp_path / "session.yaml"
    r = _run_patched(FULL_DISK, "ask", "--rulebase", str(MINI), "--answers", files["answers"], "--save", str(s),
                     cwd=tmp_path)
    _one_line(r, f"cannot write {s}", "the disk is full")
    assert not s.exists()
    ok = zhike("ask", "--rulebase", str(MINI), "--answers", files["answers"], "--save", str(s), cwd=tmp_path)
    assert ok.returncode == 0 and yaml.safe_load(s.read_text(encoding="utf-8"))["answers"] == {"pace": "fast"}
