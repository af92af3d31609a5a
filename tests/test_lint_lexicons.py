"""Lint of concept lexicons (engine/trainer/lint/lexicons.py): duplicate phrases across concepts,
concepts no rule uses, and phrases no test sentence says — golden cases, class examples and the
train corpus, never the held-out split."""
import re
from pathlib import Path

import pytest

from conftest import zhike
from engine.i18n import use
from engine.rules.loader import check_rulebase
from engine.trainer.lint import FAMILIES, lint

LEXICON = """\
concepts:
  - id: budget_gone
    label: {zh: 预算用完, en: budget gone}
    zh:
      - 预算花光了
      - 钱不凑手
      - 超出预算
    en:
      - over budget
      - "no budget, sorry"
    regex:
      - '经费.{0,3}(用|花)完'
      - '资金.{0,2}冻结'
  - id: cash_short
    label: {zh: 手头紧, en: cash short}
    zh:
      - 手头紧
      - 超出预算
  - id: nobody_uses_me
    label: {zh: 没人用, en: unused}
    zh: [没人用的词]
"""

RULE = """\
  - id: s.money_words
    when: {said: {concept: [budget_gone, cash_short]}}
    then: [{class: owl, weight: 0.4}]
    rationale: {zh: 钱, en: money}
    source: {seed: "001", section: topk}
"""

CASES = """\
cases:
  - name: budget spent, in traditional characters
    given: {utterances: ["今年預算花光了"]}
    expect: {social_style: owl}
"""

TRAIN = """\
typology: social_style
split: train
items:
  - said: "经费早就用完了"
    expect: owl
"""

HELDOUT = """\
typology: social_style
split: heldout
items:
  - said: "手头紧,over budget,资金被冻结了"
    expect: owl
"""


@pytest.fixture
def lexicon_rb(mini_copy: Path) -> Path:
    (mini_copy / "lexicons").mkdir()
    (mini_copy / "lexicons" / "money.yaml").write_text(LEXICON, encoding="utf-8")
    s = mini_copy / "typologies" / "s.yaml"
    text = s.read_text(encoding="utf-8")
    text = text.replace("    - {id: owl, label: {zh: 鹰, en: owl}}",
                        "    - id: owl\n      label: {zh: 鹰, en: owl}\n      examples: {zh: [\"最近手头紧\"]}")
    s.write_text(text.replace("rules:\n", "rules:\n" + RULE, 1), encoding="utf-8")
    (mini_copy / "tests").mkdir()
    (mini_copy / "tests" / "cases.yaml").write_text(CASES, encoding="utf-8")
    for split, body in (("train", TRAIN), ("heldout", HELDOUT)):
        (mini_copy / "corpus" / split).mkdir(parents=True)
        (mini_copy / "corpus" / split / "social_style.yaml").write_text(body, encoding="utf-8")
    return mini_copy


def _findings(root: Path, check: str) -> list:
    rb, problems = check_rulebase(root)
    assert not [p for p in problems if p.severity == "error"], problems
    return [p for p in lint(rb, problems) if p.check == check]


def _line_of(root: Path, text: str) -> int:
    lines = (root / "lexicons" / "money.yaml").read_text(encoding="utf-8").splitlines()
    return [i for i, ln in enumerate(lines, 1) if text in ln][-1]


def test_families_are_registered():
    names = {f.name for f in FAMILIES}
    assert {"lexicon-duplicates", "lexicon-unmatchable", "lexicon-unused-concepts", "lexicon-unused-entries"} <= names


def test_a_phrase_across_a_clause_break_can_never_match_and_is_reported(lexicon_rb):
    found = _findings(lexicon_rb, "lexicon-unmatchable-entry")
    assert [(p.pos.line, p.severity) for p in found] == [(_line_of(lexicon_rb, "no budget, sorry"), "warning")]
    assert "“no budget”" in found[0].message and "“sorry”" in found[0].message


def test_a_phrase_in_two_concepts_is_reported_at_the_second_naming_the_first(lexicon_rb):
    with use("en"):
        found = _findings(lexicon_rb, "lexicon-duplicate-entry")
    assert len(found) == 1
    p = found[0]
    assert p.severity == "warning"
    assert (p.pos.line, p.pos.col) == (_line_of(lexicon_rb, "超出预算"), 9)
    first_line = next(i for i, ln in enumerate((lexicon_rb / "lexicons" / "money.yaml").read_text(
        encoding="utf-8").splitlines(), 1) if "超出预算" in ln)
    assert "budget_gone" in p.message and f":{first_line}:" in p.message


def test_a_duplicate_is_found_across_traditional_and_simplified_spelling(lexicon_rb):
    path = lexicon_rb / "lexicons" / "money.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - 手头紧\n", "      - 錢不湊手\n"),
                    encoding="utf-8")
    found = _findings(lexicon_rb, "lexicon-duplicate-entry")
    assert {p.pos.line for p in found} == {_line_of(lexicon_rb, "錢不湊手"), _line_of(lexicon_rb, "超出预算")}


def test_a_concept_no_rule_names_is_reported(lexicon_rb):
    found = _findings(lexicon_rb, "lexicon-unused-concept")
    assert [p.message.count("nobody_uses_me") > 0 for p in found] == [True]
    assert found[0].pos.line == _line_of(lexicon_rb, "id: nobody_uses_me")


def test_untested_phrases_are_notes_and_the_heldout_split_is_never_read(lexicon_rb):
    found = _findings(lexicon_rb, "lexicon-unused-entry")
    assert all(p.severity == "note" for p in found)
    untested_lines = {p.pos.line for p in found}
    # said in a golden case (in traditional characters), in a class example, in the train corpus:
    assert _line_of(lexicon_rb, "预算花光了") not in untested_lines
    assert _line_of(lexicon_rb, "手头紧") not in untested_lines
    # only the held-out split says these, and it does not count:
    assert _line_of(lexicon_rb, "over budget") in untested_lines
    assert _line_of(lexicon_rb, "钱不凑手") in untested_lines
    concept_line = _line_of(lexicon_rb, "id: budget_gone")
    patterns = [p.message for p in found if p.pos.line == concept_line]  # patterns are reported at their concept
    assert any("资金" in m for m in patterns)  # its only sentence is held out
    assert not any("经费" in m for m in patterns)  # the train corpus says it


def test_a_rule_that_fails_to_load_still_counts_as_using_its_concept(lexicon_rb):
    s = lexicon_rb / "typologies" / "s.yaml"
    s.write_text(s.read_text(encoding="utf-8").replace(
        "    when: {said: {concept: [budget_gone, cash_short]}}",
        "    when: {said: {concept: [budget_gone, cash_short, nobody_uses_me]}, fact: nope}"), encoding="utf-8")
    rb, problems = check_rulebase(lexicon_rb)
    assert any(p.severity == "error" for p in problems)
    found = [p for p in lint(rb, problems) if p.check == "lexicon-unused-concept"]
    assert found == []


def test_rules_check_prints_file_line_col_and_the_check_id(lexicon_rb):
    r = zhike("rules", "check", str(lexicon_rb), "--lang", "en")
    lines = [ln for ln in r.stdout.splitlines() if "[lexicon-duplicate-entry]" in ln]
    assert len(lines) == 1
    assert re.match(r"^.*lexicons/money\.yaml:\d+:9: warning: .*\[lexicon-duplicate-entry\]$", lines[0])
    assert any("[lexicon-unused-entry]" in ln and ": note: " in ln for ln in r.stdout.splitlines())
