"""`zhike rules diff`: the rows it reports are exactly the rows whose classification changes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUNDLED, MINI, zhike

RB = Path(os.environ.get("ZHIKE_TEST_RULEBASE", BUNDLED))  # see tests/test_whynot.py
RULE = "qualification.cell_man"


@pytest.fixture(scope="module")
def changed_copy(tmp_path_factory) -> Path:
    """A copy of the rulebase with one rule's weight changed (below the threshold)."""
    dst = tmp_path_factory.mktemp("diff") / "rulebase"
    shutil.copytree(RB, dst)
    f = dst / "typologies" / "qualification.yaml"
    text = f.read_text(encoding="utf-8")
    at = text.index(f"id: {RULE}\n")
    old = "{class: man, weight: 0.9}"
    assert old in text[at:at + 400]
    f.write_text(text[:at] + text[at:].replace(old, "{class: man, weight: 0.2}", 1), encoding="utf-8")
    return dst


def _outcome(result) -> dict:
    out = {tid: c.value for tid, c in result.conclusions.items()}
    nba = result.next_best_action
    out["next_best_action"] = nba.strategy.id if nba else None
    return out


def test_the_reported_rows_are_the_rows_that_change(changed_copy):
    from engine.reasoning.compiler import compile_rulebase
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import profile_from_located
    from engine.rules.loader import load_rulebase
    from engine.trainer.casetest import check_cases

    r = zhike("rules", "diff", str(RB), str(changed_copy), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    # independently: classify every golden case with both rulebases
    old_rb, new_rb = load_rulebase(RB), load_rulebase(changed_copy)
    expected = {}
    cases, _ = check_cases(new_rb)
    with compile_rulebase(old_rb) as c_old, compile_rulebase(new_rb) as c_new:
        for case in cases:
            a = _outcome(infer(c_old, profile_from_located(case.given, old_rb, "t")))
            b = _outcome(infer(c_new, profile_from_located(case.given, new_rb, "t")))
            diff = {k for k in a if a[k] != b[k]}
            if diff:
                expected[case.name] = diff
    assert expected  # the change matters to some golden cases
    got = {row["where"]: {c["what"] for c in row["changes"]} for row in doc["changed_rows"]}
    assert got == expected
    assert doc["rows"] == len(cases) and doc["changed"] == len(expected)
    for row in doc["changed_rows"]:
        qual = [c for c in row["changes"] if c["what"] == "qualification"]
        assert qual and qual[0]["old"] == "man"
        assert {"rule": RULE, "how": "weight", "old_weight": 0.9, "new_weight": 0.2} in qual[0]["rules"]
    assert doc["transitions"]["qualification"] == [{"old": "man", "new": None, "rows": len(expected)}]
    r = zhike("rules", "diff", str(RB), str(changed_copy), "--fail-on-change")
    assert r.returncode == 1 and RULE in r.stdout
    r = zhike("rules", "diff", str(RB), str(RB), "--fail-on-change")
    assert r.returncode == 0


def test_a_prospect_list_through_the_batch_mapping(changed_copy, tmp_path):
    csv = tmp_path / "prospects.csv"
    csv.write_text("客户,有购买能力,有决策权,有需求,支配力\n"
                   "甲,否,否,否,强\n乙,是,是,是,弱\n丙,否,否,否,\n丁,也许,否,否,\n", encoding="utf-8")
    for fmt in ("json", "text", "md", "html"):
        r = zhike("rules", "diff", str(RB), str(changed_copy), "--on", str(csv), "--format", fmt, "--lang", "zh")
        assert r.returncode == 0, r.stderr
        if fmt == "json":
            doc = json.loads(r.stdout)
            assert doc["rows"] == 4 and doc["changed"] == 2 and doc["unreadable"] == 1  # 也许 fits no yes/no
            assert [row["where"] for row in doc["changed_rows"]] == ["第 2 行", "第 4 行"]
        elif fmt == "html":
            assert r.stdout.startswith("<!doctype html>") and "<script" not in r.stdout
        else:
            assert "MAN客户资格" in r.stdout and RULE in r.stdout


def test_old_may_be_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo / "rulebase")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "mini"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env, capture_output=True)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    from engine.rules.loader import load_rulebase

    rb = load_rulebase(MINI)
    # one profile per value of every enum fact: whatever the mini rulebase's rules test, some profile hits it
    n = 0
    for f in rb.facts.values():
        for v in f.values:
            (profiles / f"p{n}.yaml").write_text(f"facts: {{{f.id}: {v}}}\n", encoding="utf-8")
            n += 1
    r = zhike("rules", "diff", "git:HEAD", str(repo / "rulebase"), "--on", str(profiles), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["changed"] == 0 and json.loads(r.stdout)["rows"] == n
    # turn one rule's evidence around in the working tree: the committed version is OLD
    s = repo / "rulebase" / "typologies" / "s.yaml"
    text = s.read_text(encoding="utf-8")
    assert "then: [{class: tiger, weight: 0.6}]" in text
    s.write_text(text.replace("then: [{class: tiger, weight: 0.6}]", "then: [{against: tiger, weight: 0.6}]"),
                 encoding="utf-8")
    r = zhike("rules", "diff", "git:HEAD", str(repo / "rulebase"), "--on", str(profiles), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["changed"] > 0 and doc["old"] == "git:HEAD"
    assert all(any(e["rule"] == "s.fast" for c in row["changes"] for e in c["rules"]) for row in doc["changed_rows"])
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout.strip() \
        == "M rulebase/typologies/s.yaml"  # nothing else touched
    r = zhike("rules", "diff", "git:nosuchrev", str(repo / "rulebase"), "--on", str(profiles))
    assert r.returncode == 2 and "git" in r.stderr and "Traceback" not in r.stderr
