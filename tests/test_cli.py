import json

import pytest

from conftest import MINI, zhike


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read zhike's messages in English (tests/test_cli_lang.py covers Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")


def test_version_and_help():
    r = zhike("--version")
    assert r.returncode == 0 and r.stdout.strip() == "zhike 0.1.0"
    r = zhike("--help")
    assert r.returncode == 0 and "classify" in r.stdout


def test_classify_from_stdin_json(tmp_path):
    r = zhike("classify", "-", "--rulebase", str(MINI), "--format", "json", "--lang", "en",
              input='{"facts": {"pace": "fast"}}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conclusions"]["social_style"]["value"] == "tiger"


def test_output_file(tmp_path):
    out = tmp_path / "r.html"
    r = zhike("classify", "-", "--rulebase", str(MINI), "--format", "html", "-o", str(out), input="facts: {}")
    assert r.returncode == 0 and r.stdout == "" and out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_bad_profile_exit_2_with_position(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("facts:\n  pace: quick\n", encoding="utf-8")
    r = zhike("classify", str(p), "--rulebase", str(MINI))
    assert r.returncode == 2
    assert f"""{p}:2:9: error: 'quick' is not a choice of "pace"; the choices are: fast, slow""" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_profile_and_bad_option_exit_2(tmp_path):
    r = zhike("classify", str(tmp_path / "nope.yaml"), "--rulebase", str(MINI))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = zhike("classify", "-", "--format", "pdf", input="{}")
    assert r.returncode == 2 and "pdf" in r.stderr


def test_broken_rulebase_exit_2_all_problems(tmp_path, mini_copy):
    p = mini_copy / "typologies" / "s.yaml"
    text = p.read_text(encoding="utf-8").replace("{fact: pace, is: fast}", "{fact: pase, is: fast}")
    p.write_text(text.replace("weight: 0.3", "weight: 3"), encoding="utf-8")
    r = zhike("classify", "-", "--rulebase", str(mini_copy), input="{}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if ": error: " in x]
    assert len(lines) == 2 and "unknown-fact" in lines[0] and "bad-weight" in lines[1]
    assert r.stderr.strip().endswith("2 problems")


def test_facts_json():
    r = zhike("facts", "--json", "--rulebase", str(MINI))
    assert r.returncode == 0
    items = {f["id"]: f for f in json.loads(r.stdout)}
    assert items["pace"]["type"] == "enum" and items["pace"]["values"] == ["fast", "slow"]
    assert items["budget"]["min"] == 0 and items["budget"]["question"] == {"zh": "预算?", "en": "budget?"}
    assert items["utterances"]["type"] == "list"


def test_template_with_json_is_usage_error(tmp_path):
    t = tmp_path / "t.txt"
    t.write_text("x", encoding="utf-8")
    r = zhike("classify", "-", "--rulebase", str(MINI), "--format", "json", "--template", str(t), input="{}")
    assert r.returncode == 2 and "--template" in r.stderr
