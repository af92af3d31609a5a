from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The suite speaks English unless a test asks for another language: tests that check Chinese pass
# `--lang zh` or set ZHIKE_LANG themselves, so the result never depends on the machine's locale.
os.environ.setdefault("ZHIKE_LANG", "en")
# zhike's cache (compiled templates, validated rulebases) goes to a folder of this test run, never
# the user's ~/.cache; subprocesses inherit it.
if "ZHIKE_TEST_CACHE" not in os.environ:
    import tempfile

    os.environ["ZHIKE_TEST_CACHE"] = tempfile.mkdtemp(prefix="zhike-test-cache-")
    os.environ["XDG_CACHE_HOME"] = os.environ["ZHIKE_TEST_CACHE"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI = FIXTURES / "mini"
BUNDLED = ROOT / "rulebase"


@pytest.fixture(scope="session")
def mini_rb():
    from engine.rules.loader import load_rulebase

    return load_rulebase(MINI)


@pytest.fixture(scope="session")
def mini_compiled(mini_rb):
    from engine.reasoning.compiler import compile_rulebase

    c = compile_rulebase(mini_rb)
    yield c
    c.close()


@pytest.fixture(scope="session")
def bundled_rb():
    from engine.rules.loader import load_rulebase

    return load_rulebase(BUNDLED)


@pytest.fixture(scope="session")
def bundled(bundled_rb):
    from engine.reasoning.compiler import compile_rulebase

    c = compile_rulebase(bundled_rb)
    yield c
    c.close()


@pytest.fixture
def mini_copy(tmp_path):
    dst = tmp_path / "rb"
    shutil.copytree(MINI, dst)
    return dst


def zhike(*args: str, input: str | None = None, cwd: Path | None = None, env: dict | None = None):
    """Run the real `zhike` command in a subprocess."""
    exe = Path(sys.executable).parent / "zhike"
    cmd = [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]
    e = dict(os.environ, **(env or {}))
    e.pop("ZHIKE_RULEBASE", None) if env is None or "ZHIKE_RULEBASE" not in env else None
    return subprocess.run(cmd + list(args), input=input, capture_output=True, text=True, cwd=cwd or ROOT, env=e,
                          timeout=120)


def classify(compiled, data: dict):
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import profile_from_dict

    return infer(compiled, profile_from_dict(data, compiled.rulebase))


@pytest.fixture(autouse=True)
def _language_back_after_each_test():
    """A command run in-process (click's CliRunner) sets the UI language for the process, as the real
    command does once; put it back so the next test reads the language its own environment says."""
    from engine.i18n import _current

    token = _current.set(_current.get())
    yield
    _current.reset(token)
