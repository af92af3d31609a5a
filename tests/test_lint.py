"""`zhike rules check`: loader problems plus whole-rulebase analysis (engine/trainer/lint/)."""
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, MINI, zhike
from engine.i18n import use
from engine.rules.loader import check_rulebase
from engine.trainer.lint import lint

BROKEN = FIXTURES / "broken"
SEEDS = FIXTURES / "seeds"

# Every problem planted in tests/fixtures/broken (each line there is marked `# planted: ...`):
# (file under broken/, line, column, check id). One run must report exactly these.
PLANTED = [
    ("facts/f.yaml", 23, 5, "unused-fact"),
    ("sources.yaml", 10, 41, "anchor-not-found"),
    ("sources.yaml", 12, 11, "seed-missing"),
    ("tests/t.yaml", 5, 20, "unknown-rule"),
    ("typologies/s.yaml", 5, 59, "missing-key"),  # class description without en
    ("typologies/s.yaml", 8, 7, "unreachable-class"),
    ("typologies/s.yaml", 34, 18, "unknown-fact"),
    ("typologies/s.yaml", 39, 28, "unknown-value"),
    ("typologies/s.yaml", 45, 20, "unknown-class"),
    ("typologies/s.yaml", 49, 22, "unknown-typology"),
    ("typologies/s.yaml", 53, 5, "missing-key"),  # rule without source
    ("typologies/s.yaml", 61, 36, "unknown-source"),
    ("typologies/s.yaml", 63, 37, "bad-regex"),  # invalid
    ("typologies/s.yaml", 68, 37, "bad-regex"),  # matches empty text
    ("typologies/s.yaml", 75, 43, "contradiction"),
    ("typologies/s.yaml", 80, 31, "impossible-value"),
    ("typologies/s.yaml", 89, 5, "conflict"),
    ("typologies/s.yaml", 94, 5, "redundant"),
    ("typologies/s.yaml", 102, 24, "example-in-rationale"),  # the opening quote of “太贵了吧”
    ("typologies/s.yaml", 105, 24, "duplicate-keyword"),
    ("typologies/s.yaml", 116, 10, "unreachable-strategy"),
    ("typologies/t.yaml", 10, 32, "seed-mention"),  # the word "seed" inside the rationale
    ("typologies/t.yaml", 13, 11, "unreachable-rule"),
]


@pytest.fixture(autouse=True)
def english():
    """Messages in English, whatever the locale of the machine running the tests."""
    with use("en"):
        yield


def _findings(root: Path, seeds: Path | None = SEEDS):
    rb, problems = check_rulebase(root)
    return sorted(problems + lint(rb, problems, seeds=seeds), key=lambda p: p.sort_key())


def _rel(p, root: Path) -> str:
    return Path(p.pos.file).resolve().relative_to(root.resolve()).as_posix()


def test_broken_fixture_one_finding_per_planted_problem():
    got = [(_rel(p, BROKEN), p.pos.line, p.pos.col, p.check) for p in _findings(BROKEN)]
    assert got == PLANTED


def test_every_planted_marker_is_in_the_table():
    marked = set()
    for path in BROKEN.rglob("*.yaml"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = re.search(r"# planted: ([a-z-]+)", line)
            if m:
                marked.add((path.relative_to(BROKEN).as_posix(), n, m.group(1)))
    assert marked == {(f, line, check) for f, line, _, check in PLANTED}


def test_severities_and_did_you_mean():
    by_check = {}
    for p in _findings(BROKEN):
        by_check.setdefault(p.check, []).append(p)
    for check in ("conflict", "redundant", "unreachable-class", "unreachable-strategy", "unreachable-rule",
                  "unused-fact", "duplicate-keyword", "example-in-rationale"):
        assert all(p.severity == "warning" for p in by_check[check]), check
    for check in ("contradiction", "impossible-value", "anchor-not-found", "seed-missing", "unknown-rule",
                  "seed-mention"):
        assert all(p.severity == "error" for p in by_check[check]), check
    assert 'did you mean "s.fast"' in by_check["unknown-rule"][0].message
    assert "pace = fast" in by_check["redundant"][0].message or "s.fast" in by_check["redundant"][0].message
    assert "太贵" in by_check["duplicate-keyword"][0].message
    assert "0..1000" in by_check["impossible-value"][0].message
    assert "`rationale` of t.big" in by_check["seed-mention"][0].message and "“seed”" in by_check["seed-mention"][0].message
    assert "“太贵了吧”" in by_check["example-in-rationale"][0].message


def test_anchor_check_skipped_is_reported_not_silent(tmp_path):
    found = [p for p in _findings(BROKEN, seeds=tmp_path / "nowhere") if p.check.startswith(("anchor", "seed-missing"))]
    # a note, so a copied rulebase passes --strict; --require-seeds makes it an error (tests/test_papercuts.py)
    assert [(p.check, p.severity) for p in found] == [("anchor-check-skipped", "note")]
    assert "ZHIKE_SEEDS" in found[0].message


# --- the analysis on small rulebases ----------------------------------------------------------

RULE = """  - id: {id}
    when: {when}
    then: {then}
    rationale: {{zh: 理由, en: why}}
    source: {{seed: "001", section: topk}}
"""


def _with_rules(mini_copy: Path, *rules: tuple[str, str, str]) -> list:
    p = mini_copy / "typologies" / "s.yaml"
    text = p.read_text(encoding="utf-8")
    extra = "".join(RULE.format(id=i, when=w, then=t) for i, w, t in rules)
    p.write_text(text.replace("strategies:\n", extra + "strategies:\n", 1), encoding="utf-8")
    rb, problems = check_rulebase(mini_copy)
    assert problems == []
    return [p for p in lint(rb, problems, seeds=SEEDS)]


def _checks(findings, rule_prefix="s.x"):
    return sorted((p.check, p.pos.line) for p in findings if p.check != "unreachable-class")


@pytest.mark.parametrize("when", [
    "[{fact: pace, is: fast}, {fact: pace, is: slow}]",
    "[{fact: budget, '>': 500}, {fact: budget, '<': 100}]",
    "[{fact: budget, between: [10, 20]}, {not: {fact: budget, '<': 30}}]",
    "[{fact: pace, known: false}, {fact: pace, in: [fast, slow]}]",
    "[{fact: guard, answered: false}, {fact: guard, is: true}]",  # guard is never derived
    "[{not: {fact: budget, known: false}}, {not: {fact: budget, '>=': 0}}]",  # known and below min 0
    "{all: [{said: {zh: [太贵了]}}, {not: {said: {zh: [贵]}}}]}",
    "{any: [[{fact: pace, is: fast}, {not: {fact: pace, is: fast}}], {fact: budget, '<': 0}]}",
])
def test_contradictions(mini_copy, when):
    findings = _with_rules(mini_copy, ("s.x", when, "[{class: owl, weight: 0.4}]"))
    assert [p.check for p in findings if p.severity == "error"] in (["contradiction"], ["impossible-value"])


@pytest.mark.parametrize("when", [
    "[{not: {fact: pace, is: fast}}, {fact: pace, is: slow}]",
    "{any: [[{fact: pace, is: fast}, {fact: pace, is: slow}], {fact: guard, is: true}]}",
    "[{fact: budget, '>=': 100}, {fact: budget, '<=': 100}]",
    "[{fact: rich, answered: false}, {fact: rich, is: true}]",  # rich is derived by s.budget
    "[{said: {zh: [贵]}}, {not: {said: {zh: [太贵了]}}}]",
    "[{typology: social_style, is: tiger, min_confidence: 0.5}, {not: {typology: social_style, is: tiger, min_confidence: 0.8}}]",
])
def test_satisfiable_conditions_are_not_flagged(mini_copy, when):
    then = "[{set: rich, value: true}]" if "typology" in when else "[{class: owl, weight: 0.4}]"  # no cycle
    findings = _with_rules(mini_copy, ("s.x", when, then))
    assert [p for p in findings if p.severity == "error"] == []


def test_number_test_the_range_makes_impossible(mini_copy):
    findings = _with_rules(mini_copy, ("s.x", "{fact: budget, '<': 0}", "[{class: owl, weight: 0.4}]"))
    assert [(p.check, p.pos.line, p.pos.col) for p in findings if p.severity == "error"] == \
        [("impossible-value", 29, 31)]  # the operand 0 of `<`


def test_redundant_by_implication_and_exact_copy(mini_copy):
    findings = _with_rules(
        mini_copy,
        ("s.x", "{fact: budget, '>=': 200}", "[{set: rich, value: true}]"),  # implies s.budget's first branch
        ("s.y", "{fact: pace, is: fast}", "[{class: tiger, weight: 0.6}]"),  # the same as s.fast
    )
    red = sorted((p.check, p.message.split(" is redundant")[0]) for p in findings if p.check == "redundant")
    assert red == [("redundant", "rule s.x"), ("redundant", "rule s.y")]


def test_independent_cues_are_not_conflicts(mini_copy):
    findings = _with_rules(
        mini_copy,
        ("s.x", "{fact: guard, is: true}", "[{class: owl, weight: 0.6}]"),  # other fact than s.fast: both may hold
        ("s.y", "{fact: pace, is: slow}", "[{class: owl, weight: 0.6}]"),  # same fact, cannot overlap s.fast
    )
    assert [p for p in findings if p.check == "conflict"] == []


def test_class_too_weak_for_the_threshold(mini_copy):
    findings = _with_rules(mini_copy, ("s.x", "{fact: guard, is: true}", "[{class: owl, weight: 0.1}]"))
    weak = [p for p in findings if p.check == "unreachable-class"]
    assert len(weak) == 1 and "0.10, below the threshold 0.3" in weak[0].message


def test_keyword_inside_another_rules_keyword(mini_copy):
    findings = _with_rules(
        mini_copy,
        ("s.x", "{said: {zh: [太贵]}}", "[{class: owl, weight: 0.4}]"),
        ("s.y", "{said: {zh: [实在太贵了]}}", "[{class: tiger, weight: 0.4}]"),
        ("s.z", "{said: {zh: [太贵]}}", "[{class: owl, weight: 0.5}]"),  # same class as s.x, not as s.y
    )
    dup = [(p.pos.line, p.message.split(" (")[0]) for p in findings if p.check == "duplicate-keyword"]
    assert dup == [(34, "keyword “实在太贵了” contains keyword “太贵” of rule s.x"),
                   (39, "keyword “太贵” is part of keyword “实在太贵了” of rule s.y")]


def test_broken_rules_do_not_make_their_classes_and_facts_look_unused(mini_copy):
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace(
        "strategies:\n", RULE.format(id="s.x", when="[{fact: guard, is: true}, {fact: rich, is: maybe}]",
                                     then="[{class: owl, weight: 0.6}]") + "strategies:\n", 1), encoding="utf-8")
    rb, problems = check_rulebase(mini_copy)
    assert [x.check for x in problems] == ["bad-value"]
    assert [x.check for x in lint(rb, problems, seeds=SEEDS)] == []


def test_golden_cases_are_checked(mini_copy):
    (mini_copy / "tests").mkdir()
    (mini_copy / "tests" / "a.yaml").write_text(
        "cases:\n"
        "  - name: one\n"
        "    given: {facts: {pase: fast}}\n"
        "    expect: {social_styel: tiger}\n"
        "    expect_not_fired: [t.bgi]\n", encoding="utf-8")
    rb, problems = check_rulebase(mini_copy)
    got = [(p.pos.line, p.check) for p in lint(rb, problems, seeds=SEEDS) if p.pos.file.endswith("a.yaml")]
    assert got == [(3, "unknown-fact"), (4, "unknown-typology"), (5, "unknown-rule")]


# --- the command ----------------------------------------------------------------------------------

def _clean_mini(tmp_path: Path) -> Path:
    dst = tmp_path / "clean"
    shutil.copytree(MINI, dst)
    p = dst / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("strategies:\n", RULE.format(
        id="s.guarded", when="{fact: guard, is: true}", then="[{class: owl, weight: 0.5}]") + "strategies:\n", 1),
        encoding="utf-8")
    return dst


def test_exit_codes_clean_warnings_strict_errors(tmp_path):
    env = {"ZHIKE_SEEDS": str(SEEDS), "ZHIKE_LANG": "en"}
    clean = _clean_mini(tmp_path)
    r = zhike("rules", "check", str(clean), "--strict", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("no problems in")

    r = zhike("rules", "check", str(MINI), env=env)  # owl has only counter-evidence: a warning
    assert r.returncode == 0 and ": warning: " in r.stdout and "[unreachable-class]" in r.stdout
    r = zhike("rules", "check", str(MINI), "--strict", env=env)
    assert r.returncode == 1

    r = zhike("rules", "check", str(BROKEN), env=env)
    assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr
    lines = [x for x in r.stdout.splitlines() if re.match(r".+:\d+:\d+: (error|warning): .+ \[[a-z-]+\]$", x)]
    assert len(lines) == len(PLANTED)
    assert lines == sorted(lines, key=lambda x: (x.split(":")[0], int(x.split(":")[1]), int(x.split(":")[2])))
    assert r.stdout.strip().splitlines()[-1].startswith("15 errors, 8 warnings")


def test_json_format(tmp_path):
    r = zhike("rules", "check", str(BROKEN), "--format", "json", env={"ZHIKE_SEEDS": str(SEEDS)})
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["summary"]["errors"] == 15 and doc["summary"]["warnings"] == 8 and doc["summary"]["exit_code"] == 2
    assert {p["check"] for p in doc["problems"]} == {c for *_, c in PLANTED}
    assert set(doc["problems"][0]) == {"file", "line", "col", "severity", "message", "check"}


def test_missing_directory_is_an_error_not_a_traceback(tmp_path):
    r = zhike("rules", "check", str(tmp_path / "nope"), "--lang", "en")
    assert r.returncode == 2 and "not found" in r.stdout and "Traceback" not in r.stderr


def test_a_fact_used_only_in_applies_when_is_used(mini_copy):
    f = mini_copy / "facts" / "f.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace(
        "    question: {zh: 戒备?, en: guarded?}\n",
        "    question: {zh: 戒备?, en: guarded?}\n    applies_when: {fact: met, is: visit}\n", 1)
        + "  - id: met\n    type: enum\n    label: {zh: 见面方式, en: how we met}\n"
          "    question: {zh: 怎么认识的?, en: how did you meet?}\n"
          "    values: [{id: visit, label: {zh: 拜访, en: visit}}, {id: call, label: {zh: 电话, en: call}}]\n"
          "  - id: mood\n    type: bool\n    label: {zh: 心情, en: mood}\n    question: {zh: 心情好?, en: good mood?}\n",
        encoding="utf-8")
    rb, problems = check_rulebase(mini_copy)
    assert problems == [] and rb.facts["guard"].applies_when is not None
    unused = [p.message for p in lint(rb, problems, seeds=SEEDS) if p.check == "unused-fact"]
    assert unused == ["no rule or strategy tests fact mood, so its question is never asked; use it or remove it"]
