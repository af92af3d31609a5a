"""`zhike rules test`: pytest-like output, exit codes, coverage (engine/casetest.py)."""
import json
import re

from conftest import zhike

CASES = """\
cases:
  - name: fast is tiger
    given: {facts: {pace: fast}}
    expect: {social_style: tiger}
    expect_fired: [s.fast]
  - name: rich fast customer is owl
    given: {facts: {pace: fast, budget: 200}}
    expect:
      social_style: owl
      social_style2: {value: big, min_confidence: 0.99}
    expect_strategy: [s.tiger.play]
  - name: slow customer
    given: {facts: {pace: slow, budget: 50}}
    expect: {social_style: tiger}
    expect_not_fired: [s.fast]
"""


def _write(root, text):
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "cases.yaml").write_text(text, encoding="utf-8")
    return root / "tests" / "cases.yaml"


def test_failure_line_has_position_expected_got_and_trace(mini_copy):
    path = _write(mini_copy, CASES)
    r = zhike("rules", "test", "--lang", "en", str(mini_copy))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert re.search(r"cases\.yaml \.F\. +\[100%\]", out)
    failed = [x for x in out.splitlines() if x.startswith("FAILED ")]
    assert len(failed) == 1
    line = failed[0]
    assert line.startswith(f"FAILED {path}:6 rich fast customer is owl - ")
    assert "social_style: expected owl, got tiger (0.72)" in line
    assert "social_style2: expected big with confidence ≥ 0.99, got 0.77" in line
    assert "fired: s.fast (tiger +0.60), s.notguard (tiger +0.30, owl -0.20), s.budget (sets rich = true)" in line
    assert "t.big (big +0.65)" in line and "s.tiger.play (strategy)" in line
    assert out.rstrip().endswith("=") and "1 failed, 2 passed" in out.splitlines()[-1]
    assert "coverage: 5/5 rules, 1/1 strategy fired (100%)" in out  # one strategy: singular


def test_all_pass_coverage_keyword_and_verbose(mini_copy):
    _write(mini_copy, CASES.replace("social_style: owl", "social_style: tiger").replace("0.99", "0.7"))
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "-k", "SLOW", "--coverage", "-v")
    assert r.returncode == 0, r.stdout
    assert "PASSED" in r.stdout and "slow customer" in r.stdout
    assert "1 passed, 2 deselected" in r.stdout.splitlines()[-1]
    assert "rules no case exercises:" in r.stdout and re.search(r"s\.yaml:8:5: s\.fast", r.stdout)
    assert re.search(r"t\.yaml:7:5: t\.big", r.stdout) and "strategies no case exercises:" not in r.stdout
    assert "coverage: 1/5 rules, 1/1 strategy fired (33%)" in r.stdout


def test_json(mini_copy):
    _write(mini_copy, CASES)
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["passed"] == 2 and doc["failed"] == 1
    bad = next(c for c in doc["cases"] if not c["ok"])
    assert bad["line"] == 6 and "s.fast (tiger +0.60)" in bad["trace"]


def test_malformed_case_file_exit_2_with_every_problem(mini_copy):
    path = _write(mini_copy, """\
cases:
  - name: typos
    given: {facts: {pase: fast}}
    expect: {social_style: tigr, social_styel: owl}
    expect_fired: [s.fsat]
    expect_strategy: [s.tiger.pley]
    expectt: 1
  - name: typos
    expect: {social_style: {value: tiger, min_confidence: 2}}
  - given: {}
""")
    r = zhike("rules", "test", "--lang", "en", str(mini_copy))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    got = re.findall(rf"{re.escape(str(path))}:(\d+):\d+: error: .*\[([a-z-]+)\]", r.stderr)
    assert got == [("3", "unknown-fact"), ("4", "unknown-class"), ("4", "unknown-typology"),
                   ("5", "unknown-rule"), ("6", "unknown-rule"), ("7", "test-format"),
                   ("8", "test-format"), ("9", "test-format"), ("10", "missing-key")]
    assert 'did you mean "s.fast"' in r.stderr and 'did you mean "s.tiger.play"' in r.stderr


def test_no_cases(mini_copy):
    r = zhike("rules", "test", "--lang", "en", str(mini_copy))
    assert r.returncode == 0 and "no cases ran" in r.stdout
