"""Attacks on the YAML every user hands us (issue 9: items 8, 11, 16, 17).

Profiles, answers files, sessions, rule files and --map files all go through engine/yamlpos.py.
A hostile document must end in one `file:line:col: error: ... [check]` line and exit 2, never a
hang, a memory blow-up or a traceback: alias bombs, aliases that contain themselves, nesting
deeper than the limit (flow and block, with libyaml and with the pure-Python parser), NUL bytes,
non-UTF-8 bytes and a closed stdin on `classify -`. Inputs are generated; the mini rulebase keeps
the runs short.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MINI, ROOT

LINE = re.compile(r"^\S+:\d+:\d+: error: [^\n]+ \[[\w-]+\]$")
HANG_GUARD = 60  # seconds; the old code ran until killed on the alias bomb


MEMORY_GUARD = 1 << 30  # bytes of address space; the old code grew ~50 MB/s on the alias bomb


def _zhike(*args: str, input: bytes | None = None, close_stdin: bool = False) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "zhike"
    cmd = [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]
    env = dict(os.environ)
    env.pop("ZHIKE_RULEBASE", None)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_GUARD, MEMORY_GUARD))
        if close_stdin:
            os.close(0)

    return subprocess.run(cmd + list(args), input=input, capture_output=True, cwd=ROOT, env=env,
                          timeout=HANG_GUARD, preexec_fn=limits,
                          stdin=subprocess.DEVNULL if close_stdin else None)


def _one_error_line(proc: subprocess.CompletedProcess, *words: str) -> str:
    err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "Error:" not in err.replace("error:", ""), err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ": error: " in ln]
    assert errors and all(LINE.match(ln) for ln in errors), err
    for w in words:
        assert w in errors[0], err
    return errors[0]


def bomb(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: `width` aliases of the level below, `levels` deep (342 bytes at 9 x 9)."""
    out = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        out.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(out) + "\n"


def _rb(tmp_path: Path) -> Path:
    dst = tmp_path / "rb"
    shutil.copytree(MINI, dst)
    return dst


# --- alias bombs -----------------------------------------------------------------------------

def test_alias_bomb_in_a_profile_is_refused_at_the_alias(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(bomb() + "facts: *a8\n", encoding="utf-8")
    line = _one_error_line(_zhike("classify", str(p), "--rulebase", str(MINI)), "100,000")
    assert line.startswith(f"{p}:")
    assert "[yaml-limit]" in line


def test_alias_bomb_on_stdin(tmp_path):
    proc = _zhike("classify", "-", "--rulebase", str(MINI), input=(bomb() + "facts: *a8\n").encode())
    assert _one_error_line(proc).startswith("<stdin>:")


def test_alias_bomb_in_an_answers_file(tmp_path):
    p = tmp_path / "answers.yaml"
    p.write_text(bomb() + "pace: fast\n", encoding="utf-8")
    _one_error_line(_zhike("ask", "--answers", str(p), "--rulebase", str(MINI)), "aliases")


def test_alias_bomb_in_a_rule_file(tmp_path):
    rb = _rb(tmp_path)
    (rb / "typologies" / "s.yaml").write_text(bomb() + (rb / "typologies" / "s.yaml").read_text("utf-8"),
                                              encoding="utf-8")
    proc = _zhike("rules", "check", str(rb))
    assert proc.returncode == 2
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "Traceback" not in out
    assert re.search(r"s\.yaml:\d+:\d+: error: this document holds more than 100,000 values", out), out
    proc = _zhike("classify", str(ROOT / "examples" / "tiger-price.yaml"), "--rulebase", str(rb))
    _one_error_line(proc, "s.yaml")


def test_alias_bomb_in_a_column_map(tmp_path, mini_rb):
    from engine.batch.mapping import load_map
    from engine.errors import InputError
    from engine.rules.yamlpos import MAX_NODES  # the documented limit (the old code had none, and hung here)

    p = tmp_path / "map.yaml"
    p.write_text(bomb() + "columns: *a8\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_map(p, mini_rb)
    (problem,) = e.value.problems
    assert problem.check == "yaml-limit" and 2 <= problem.pos.line <= 9  # at the alias that overflows
    assert f"{MAX_NODES:,}" in problem.message


def test_aliases_are_counted_even_when_small():
    from engine.rules.yamlpos import MAX_ALIASES, YamlError, load_text

    doc = "a: &x 1\nb: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlError) as e:
        load_text(doc, "many.yaml")
    assert "aliases" in e.value.problems[0].message
    fine = load_text("a: &x {k: 1}\nb: [*x, *x]\n", "ok.yaml")
    assert fine.plain() == {"a": {"k": 1}, "b": [{"k": 1}, {"k": 1}]}
    b = fine.value["b"].value
    assert b[0] is not b[1]  # each alias is its own copy


def test_an_alias_inside_its_own_anchor_is_refused():
    from engine.rules.yamlpos import YamlError, load_text

    with pytest.raises(YamlError) as e:
        load_text("a: &x [1, *x]\n", "loop.yaml")
    (p,) = e.value.problems
    assert (p.pos.line, p.pos.col) == (1, 11) and "inside the value it refers to" in p.message


# --- deep nesting ------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [500, 999])
def test_deep_flow_nesting_in_a_profile(tmp_path, depth):
    p = tmp_path / "deep.yaml"
    p.write_text("facts: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    line = _one_error_line(_zhike("classify", str(p), "--rulebase", str(MINI)), "nested more than 100")
    assert line.startswith(f"{p}:1:")


def test_deep_nesting_in_a_rule_file(tmp_path):
    rb = _rb(tmp_path)
    cond = "{not: " * 600 + "{fact: pace, is: fast}" + "}" * 600
    text = (rb / "typologies" / "s.yaml").read_text("utf-8").replace("{fact: pace, is: fast}", cond, 1)
    (rb / "typologies" / "s.yaml").write_text(text, encoding="utf-8")
    proc = _zhike("rules", "check", str(rb))
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in out and "RecursionError" not in out, out
    assert re.search(r"s\.yaml:\d+:\d+: error: lists and mappings are nested more than 100", out), out


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
@pytest.mark.parametrize("doc", ["[" * 3000 + "]" * 3000,
                                 "".join("  " * i + "- \n" for i in range(400)) + "  " * 400 + "x\n",
                                 "a: " + "{b: " * 400 + "1" + "}" * 400])
def test_nesting_is_bounded_with_either_parser(monkeypatch, loader, doc):
    import yaml

    from engine.rules import yamlpos

    if not hasattr(yaml, loader):  # pragma: no cover - libyaml missing
        pytest.skip("no libyaml")
    monkeypatch.setattr(yamlpos, "_Loader", getattr(yaml, loader))
    with pytest.raises(yamlpos.YamlError) as e:
        yamlpos.load_text(doc, "deep.yaml")
    assert len(e.value.problems) == 1 and e.value.problems[0].check in ("yaml-limit", "yaml-syntax")


def test_the_depth_limit_itself():
    from engine.rules.yamlpos import MAX_DEPTH, YamlError, load_text

    ok = load_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, "ok.yaml")
    depth, v = 0, ok.plain()
    while isinstance(v, list):
        depth, v = depth + 1, (v[0] if v else None)
    assert depth == MAX_DEPTH
    with pytest.raises(YamlError):
        load_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "deep.yaml")


# --- bytes that are not YAML text ------------------------------------------------------------------

def test_nul_byte_is_one_line_at_its_position(tmp_path):
    p = tmp_path / "nul.yaml"
    p.write_bytes("facts:\n  pace: 快快\x00fast\n".encode())
    proc = _zhike("classify", str(p), "--rulebase", str(MINI))
    line = _one_error_line(proc, "NUL")
    assert line.startswith(f"{p}:2:11: error:")
    assert len(proc.stderr.decode().strip().splitlines()) == 1


def test_non_utf8_bytes_on_stdin(tmp_path):
    proc = _zhike("classify", "-", "--rulebase", str(MINI), input=b"facts:\n  pace: \xff\xfe\n")
    line = _one_error_line(proc, "UTF-8")
    assert line.startswith("<stdin>:2:")


def test_utf8_bom_on_stdin_is_fine():
    proc = _zhike("classify", "-", "--rulebase", str(MINI), "--format", "json",
                  input="\ufefffacts:\n  pace: fast\n".encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert b'"pace": "fast"' in proc.stdout


def test_closed_stdin():
    proc = _zhike("classify", "-", "--rulebase", str(MINI), close_stdin=True)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "standard input is closed" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("doc, check", [
    ("a: !!bool maybe\n", "yaml-syntax"),
    ("a: !!timestamp someday\n", "yaml-syntax"),
    ("a: !!int many\n", "yaml-syntax"),
    ("a: &x 1\nb: &x 2\n", "yaml-syntax"),
    ("a: *nowhere\n", "yaml-syntax"),
    ("a: 1\n---\nb: 2\n", "yaml-syntax"),
    ("a: 0x" + "f" * 5000 + "\n", "yaml-limit"),
])
def test_malformed_documents_are_problems(doc, check):
    from engine.rules.yamlpos import YamlError, load_text

    with pytest.raises(YamlError) as e:
        load_text(doc, "f.yaml")
    assert [p.check for p in e.value.problems] == [check]
    assert all("\n" not in str(p) for p in e.value.problems)
