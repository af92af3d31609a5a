"""Attacks with numbers (issue 9: items 7 and 12).

"0.0003万" must be exactly 3, so a rule `budget == 3` fires; a 400-digit integer, `.inf` or `.nan`
anywhere a number is read (a profile, an answers file, a rule's min/max/weight/comparison, a golden
case) is a value problem at its position, exit 2, never an OverflowError.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, MINI, ROOT, zhike

HUGE = "9" * 400
LINE = re.compile(r"^\S+:\d+:\d+: error: [^\n]+ \[[\w-]+\]$")


def _rb(tmp_path: Path) -> Path:
    dst = tmp_path / "rb"
    shutil.copytree(MINI, dst)
    return dst


SEEDS = {"ZHIKE_SEEDS": str(FIXTURES / "seeds")}  # so the mini rulebase's citations check out


def _clean_failure(proc, where: str, check: str = "bad-value") -> list[str]:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "OverflowError" not in out and "internal error" not in out, out
    errors = [ln for ln in out.splitlines() if ": error: " in ln]
    assert errors and all(LINE.match(ln) for ln in errors), out
    assert all(f"[{check}]" in ln and where in ln for ln in errors), out
    return errors


# --- exact decimal quantities ----------------------------------------------------------------

@pytest.mark.parametrize("raw, want", [
    ("0.0003万", 3), ("1.5万", 15000), ("0.07亿", 7_000_000), ("1.1k", 1100), ("2.3M", 2_300_000),
    ("12,000", 12000), ("3.0", 3), (3.0, 3), ("1e3", 1000), ("0.1", 0.1), ("0.00015万", 1.5),
])
def test_decimal_quantities_are_exact(mini_rb, raw, want):
    from engine.reasoning.profile import coerce_value

    got = coerce_value(mini_rb.facts["budget"], raw)
    assert got == want and type(got) is type(want)


def test_a_rule_for_exactly_three_fires_on_0_0003_wan(tmp_path):
    rb = _rb(tmp_path)
    s = rb / "typologies" / "s.yaml"
    s.write_text(s.read_text("utf-8").replace("rules:\n", """rules:
  - id: s.three
    when: {fact: budget, is: 3}
    then: [{class: owl, weight: 0.9}]
    rationale: {zh: 三, en: three}
    source: {seed: "001", section: topk}
""", 1), encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text('facts:\n  budget: "0.0003万"\n  guard: true\n', encoding="utf-8")
    proc = zhike("classify", str(p), "--rulebase", str(rb), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["profile"]["facts"]["budget"] == 3
    assert doc["conclusions"]["social_style"]["value"] == "owl"


# --- numbers too large to be numbers -------------------------------------------------------------

@pytest.mark.parametrize("raw", [10**400, -10**20, 1e300, float("inf"), float("nan"), HUGE, f"{HUGE}万",
                                 "1e999999999", "-Infinity", 10**5000],
                         ids=["int400", "neg20", "1e300", "inf", "nan", "text400", "wan400", "exp", "-inf", "int5000"])
def test_coerce_refuses_numbers_out_of_range(mini_rb, raw):
    from engine.reasoning.profile import ValueProblem, coerce_value
    from engine.rules.model import MAX_NUMBER

    assert MAX_NUMBER == 10**15
    with pytest.raises(ValueProblem):
        coerce_value(mini_rb.facts["budget"], raw)


def test_the_number_limit_itself(mini_rb):
    from engine.reasoning.profile import ValueProblem, coerce_value

    assert coerce_value(mini_rb.facts["budget"], "999999999999999") == 999_999_999_999_999
    with pytest.raises(ValueProblem):
        coerce_value(mini_rb.facts["budget"], "1000000000000000")


def test_huge_integer_in_a_profile(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(f"facts:\n  budget: {HUGE}\n", encoding="utf-8")
    (line,) = _clean_failure(zhike("classify", str(p), "--rulebase", str(MINI)), f"{p}:2:11")
    assert "15 digits" in line


def test_huge_integer_in_a_library_profile(mini_rb):
    from engine.errors import InputError
    from engine.reasoning.profile import profile_from_dict

    with pytest.raises(InputError) as e:
        profile_from_dict({"facts": {"budget": 10**5000, "pace": 10**5000}}, mini_rb)
    assert len(e.value.problems) == 2


def test_huge_integer_in_an_answers_file(tmp_path):
    p = tmp_path / "answers.yaml"
    p.write_text(f"pace: fast\nbudget: {HUGE}\n", encoding="utf-8")
    _clean_failure(zhike("ask", "--answers", str(p), "--rulebase", str(MINI)), f"{p}:2:9")


@pytest.mark.parametrize("old, new", [
    ("    min: 0\n", f"    min: 0\n    max: {HUGE}\n"),
    ("    min: 0\n", "    min: .nan\n"),
    ("    min: 0\n", "    min: -.inf\n"),
])
def test_huge_bounds_of_a_fact(tmp_path, old, new):
    rb = _rb(tmp_path)
    f = rb / "facts" / "f.yaml"
    f.write_text(f.read_text("utf-8").replace(old, new, 1), encoding="utf-8")
    _clean_failure(zhike("rules", "check", str(rb), env=SEEDS), "facts/f.yaml:")
    _clean_failure(zhike("classify", str(ROOT / "examples" / "tiger-price.yaml"), "--rulebase", str(rb)),
                   "facts/f.yaml:")


@pytest.mark.parametrize("name, old, new", [
    ("s.yaml", 'weight: 0.6}', f'weight: {HUGE}}}'),
    ("s.yaml", 'weight: 0.6}', 'weight: .nan}'),
    ("s.yaml", '">=": 100', f'">=": {HUGE}'),
    ("s.yaml", '">=": 100', '">=": .inf'),
    ("s.yaml", '{fact: pace, is: fast}', f'{{fact: budget, between: [1, {HUGE}]}}'),
    ("t.yaml", 'min_confidence: 0.5', f'min_confidence: {HUGE}'),
])
def test_huge_numbers_in_rules(tmp_path, name, old, new):
    rb = _rb(tmp_path)
    p = rb / "typologies" / name
    p.write_text(p.read_text("utf-8").replace(old, new, 1), encoding="utf-8")
    (line,) = _clean_failure(zhike("rules", "check", str(rb), env=SEEDS), f"typologies/{name}:")
    assert "finite" in line or "15 digits" in line


def test_huge_numbers_in_golden_cases(tmp_path):
    rb = _rb(tmp_path)
    (rb / "tests").mkdir()
    (rb / "tests" / "t.yaml").write_text(f"""cases:
  - name: huge budget
    given: {{facts: {{budget: {HUGE}}}}}
    expect: {{social_style: tiger}}
""", encoding="utf-8")
    proc = zhike("rules", "test", str(rb), env=SEEDS)
    assert any("tests/t.yaml:3:29: error:" in ln for ln in _clean_failure(proc, "tests/t.yaml:3:29"))
    (rb / "tests" / "t.yaml").write_text(f"""cases:
  - name: huge confidence
    given: {{facts: {{pace: fast}}}}
    expect: {{social_style: {{value: tiger, min_confidence: {HUGE}}}}}
""", encoding="utf-8")
    _clean_failure(zhike("rules", "test", str(rb), env=SEEDS), "tests/t.yaml:4:", "test-format")
