import re
from pathlib import Path

import pytest

from engine.errors import RulebaseError
from engine.rules.loader import load_rulebase


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read the messages in English (tests/test_rule_fields.py checks them in Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")

FIVE_MISTAKES = """\
typology:
  id: social_style
  label: {zh: 风格, en: style}
  classes:
    - {id: tiger, label: {zh: 虎, en: tiger}}
    - {id: owl, label: {zh: 鹰, en: owl}}
rules:
  - id: s.one
    when: {fact: pase, is: fast}
    then: [{class: tiger, weight: 0.6}]
    rationale: {zh: 快, en: fast}
    source: {seed: "001", section: topk}
  - id: s.two
    when: {fact: pace, is: fsat}
    then: [{class: tigre, weight: 0.6}]
    rationale: {zh: 快}
    source: {seed: "001", section: topk}
  - id: s.one
    when: {fact: pace, is: slow}
    then: [{class: owl, weight: 1.5}]
    rationale: {zh: 慢, en: slow}
    source: {seed: "001", section: topk}
"""


def _problems(root: Path):
    with pytest.raises(RulebaseError) as e:
        load_rulebase(root)
    return e.value.problems


def test_bundled_fixture_loads_and_stratifies(mini_rb):
    levels = {r.id: r.level for r in mini_rb.rules}
    assert levels == {"s.fast": 0, "s.notguard": 0, "s.budget": 0, "s.rich_tiger": 1, "t.big": 1}
    assert mini_rb.typologies["social_style"].level == 1
    assert mini_rb.typologies["social_style2"].level == 2
    assert len(mini_rb.sha256) == 64


def test_six_mistakes_reported_at_once_sorted_with_positions(mini_copy):
    (mini_copy / "typologies" / "s.yaml").write_text(FIVE_MISTAKES, encoding="utf-8")
    problems = _problems(mini_copy)
    s_yaml = [p for p in problems if p.pos.file.endswith("s.yaml")]
    got = [(p.pos.line, p.pos.col, p.check) for p in s_yaml]
    assert got == [
        (9, 18, "unknown-fact"),    # points at `pase`
        (14, 28, "unknown-value"),  # `fsat`
        (15, 20, "unknown-class"),  # `tigre`
        (16, 16, "missing-key"),    # the rationale mapping without en
        (18, 9, "duplicate-id"),    # the second `s.one`
        (20, 33, "bad-weight"),     # `1.5`
    ]
    text = [str(p) for p in s_yaml]
    assert 'did you mean "pace"' in text[0]
    assert 'did you mean "fast"' in text[1]
    assert 'did you mean "tiger"' in text[2]
    assert "'en'" in text[3]
    assert re.match(r".*s\.yaml:9:18: error: unknown fact 'pase'", text[0])
    assert problems == sorted(problems, key=lambda p: p.sort_key())


def test_nothing_half_loads(mini_copy):
    # one bad rule among good ones: the whole load fails
    p = mini_copy / "typologies" / "t.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("weight: 0.9", "weight: 0"), encoding="utf-8")
    problems = _problems(mini_copy)
    assert [x.check for x in problems] == ["bad-weight"]


def test_cycle_is_an_error(mini_copy):
    p = mini_copy / "typologies" / "s.yaml"
    text = p.read_text(encoding="utf-8").replace("{class: social_style2.big, weight: 0.5}", "{class: owl, weight: 0.5}")
    text = text.replace("{typology: social_style, is: tiger}]", "{typology: social_style2, is: big}]")
    p.write_text(text, encoding="utf-8")
    problems = _problems(mini_copy)
    assert [x.check for x in problems] == ["cycle"]
    assert "s.rich_tiger" in problems[0].message and "t.big" in problems[0].message


@pytest.mark.parametrize("pattern,needle", [("'(unclosed'", "invalid regular expression"),
                                            ("'x*'", "matches empty text")])
def test_bad_regexes(mini_copy, pattern, needle):
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("'降\\s*\\d+%'", pattern), encoding="utf-8")
    problems = _problems(mini_copy)
    assert [x.check for x in problems] == ["bad-regex"] and needle in problems[0].message


def test_unknown_keys_sources_and_stages(mini_copy):
    p = mini_copy / "typologies" / "s.yaml"
    text = p.read_text(encoding="utf-8")
    text = text.replace("rationale: {zh: 快, en: fast}", "rationle: {zh: 快, en: fast}")
    text = text.replace("opening: {zh: 直接, en: direct}", "openning: {zh: 直接, en: direct}")
    text = text.replace('source: {seed: "001", section: topk}\n  - id: s.notguard',
                        'source: {seed: "001", section: tpok}\n  - id: s.notguard')
    p.write_text(text, encoding="utf-8")
    problems = {x.check: str(x) for x in _problems(mini_copy)}
    assert "did you mean \"rationale\"" in problems["unknown-key"]
    assert "did you mean \"opening\"" in problems["unknown-stage"]
    assert "did you mean \"topk\"" in problems["unknown-source"]


def test_type_errors_in_conditions(mini_copy):
    p = mini_copy / "typologies" / "s.yaml"
    text = p.read_text(encoding="utf-8").replace("{fact: pace, is: fast}", "{fact: pace, '>': 3}")
    text = text.replace("{fact: guard, is: true}", "{fact: guard, is: maybe}")
    p.write_text(text, encoding="utf-8")
    problems = _problems(mini_copy)
    assert [x.check for x in problems] == ["bad-condition", "bad-value"]


def test_missing_directory_is_a_problem_not_a_traceback(tmp_path):
    problems = _problems(tmp_path / "nope")
    assert problems[0].check == "io"
