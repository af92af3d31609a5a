"""The architecture holds: engine/ is layered (import-linter), and no module or class grows too big."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 300
# Justified exceptions: none today. Add "path" or "path:Class" with the reason beside it.
EXCEPTIONS: dict[str, str] = {}


def _lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(config)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_layers_contract_holds():
    r = _lint_imports(ROOT, ROOT / "setup.cfg")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 kept, 0 broken" in r.stdout


def test_an_import_that_climbs_up_fails_and_is_named(tmp_path):
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    model = tmp_path / "engine" / "rules" / "model.py"
    model.write_text(model.read_text(encoding="utf-8") + "\nfrom ..interview import session  # noqa\n",
                     encoding="utf-8")
    r = _lint_imports(tmp_path, tmp_path / "setup.cfg")
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "engine.rules.model -> engine.interview.session" in r.stdout, r.stdout


def test_the_top_level_holds_only_the_shared_ground_and_the_layers():
    top = sorted(p.name for p in (ROOT / "engine").iterdir() if p.name != "__pycache__")
    assert top == ["__init__.py", "batch", "commands", "errors.py", "i18n", "interview", "paths.py", "reasoning",
                   "report", "rules", "trainer", "web", "words"], top
    for pkg in (ROOT / "engine").iterdir():
        if pkg.is_dir() and pkg.name != "__pycache__":
            doc = ast.get_docstring(ast.parse((pkg / "__init__.py").read_text(encoding="utf-8")))
            assert doc and "import" in doc, f"{pkg.name}/__init__.py must say what it is for and what it may import"


def test_no_module_or_class_is_too_big():
    too_big = []
    for p in sorted([*(ROOT / "engine").rglob("*.py"), ROOT / "cli.py"]):
        rel = str(p.relative_to(ROOT))
        text = p.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES and rel not in EXCEPTIONS:
            too_big.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES and f"{rel}:{node.name}" not in EXCEPTIONS:
                    too_big.append(f"{rel}:{node.name}: {size} lines")
    assert not too_big, too_big
