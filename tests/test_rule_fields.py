"""The rule-language fields for trainers and the interview: note, examples, supersedes, topics,
default_goals, a fact's topic and applies_when. Each loads into the model; each mistake is one
problem at the place to change, saying what to write instead."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BUNDLED, MINI
from engine.errors import RulebaseError
from engine.rules.loader import load_rulebase
from engine.rules.model import All, FactTest, Not, Text, Topic


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read the messages in English (the end of this file checks them in Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")

TOPICS = """\
topics:
  - {id: context, label: {zh: 来访方式, en: How you met}}
  - {id: money, label: {zh: 预算, en: Budget}}
default_goals: [social_style]
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _one_problem(root: Path):
    with pytest.raises(RulebaseError) as e:
        load_rulebase(root)
    assert len(e.value.problems) == 1, [str(p) for p in e.value.problems]
    return e.value.problems[0]


def _at(problem, path: Path, needle: str, check: str) -> None:
    """The problem is reported on the line of `needle` in `path`, with that check id."""
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if needle in text)
    assert (Path(problem.pos.file).name, problem.pos.line, problem.check) == (path.name, line, check), str(problem)


# --- the bundled rulebase and fixtures load unchanged -----------------------------------------

def test_fields_default_to_empty():
    rb = load_rulebase(MINI)
    assert rb.topics == [] and rb.default_goals == []
    assert all(f.topic is None and f.applies_when is None and f.note is None for f in rb.facts.values())
    assert all(r.examples == () and r.note is None for r in rb.rules)
    assert all(s.supersedes == () and s.note is None for s in rb.strategies)
    assert all(t.note is None and all(c.note is None for c in t.classes.values()) for t in rb.typologies.values())


def test_bundled_rulebase_still_loads():
    rb = load_rulebase(BUNDLED)
    assert len(rb.rules) > 50 and len(rb.strategies) > 10


# --- each field loads ---------------------------------------------------------------------------

@pytest.fixture
def rich(mini_copy):
    """The mini rulebase with every new field used once."""
    _append(mini_copy / "rulebase.yaml", TOPICS)
    facts = mini_copy / "facts" / "f.yaml"
    _edit(facts, "    question: {zh: 戒备?, en: guarded?}\n",
          "    question: {zh: 戒备?, en: guarded?}\n"
          "    topic: context\n"
          "    applies_when: {all: [{fact: pace, is: fast}, {not: {fact: budget, '>=': 100}}]}\n"
          "    note: 种子001只在面谈时提到戒备\n")
    # applies_when may name a fact declared after it
    _edit(facts, "    question: {zh: 节奏?, en: pace?}\n",
          "    question: {zh: 节奏?, en: pace?}\n    topic: money\n    applies_when: {fact: rich, known: false}\n")
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    - {id: tiger, label: {zh: 虎, en: tiger}}\n",
          "    - {id: tiger, label: {zh: 虎, en: tiger}, note: {zh: 001 与 002 说法不同, en: seeds 001 and 002 differ}}\n")
    _edit(s, "  label: {zh: 风格, en: style}\n", "  label: {zh: 风格, en: style}\n  note: follows seed 001\n")
    _edit(s, "    rationale: {zh: 快, en: fast}\n",
          "    rationale: {zh: 快, en: fast}\n    examples: ['我赶时间,说重点', \"Get to the point.\"]\n"
          "    note: {zh: 种子说老虎型说话快, en: the seed says tigers talk fast}\n")
    _append(s, "  - id: s.tiger.short\n"
               "    for: tiger\n"
               "    supersedes: [s.tiger.play]\n"
               "    note: shorter than the playbook\n"
               "    advice: {zh: 直说, en: be brief}\n"
               "    source: {seed: \"001\", section: topk}\n")
    (mini_copy / "guidance").mkdir()
    (mini_copy / "guidance" / "g.yaml").write_text(
        "strategies:\n"
        "  - id: plan.tiger_big\n"
        "    for: [social_style.tiger, social_style2.big]\n"
        "    supersedes: [s.tiger.short, s.tiger.play]\n"
        "    note: {zh: 计划, en: a plan}\n"
        "    advice: {zh: 大单, en: big deal}\n"
        "    source: {seed: \"001\", section: topk}\n", encoding="utf-8")
    return mini_copy


def test_every_field_loads(rich):
    rb = load_rulebase(rich)
    assert rb.topics == [Topic("context", Text("来访方式", "How you met"), rb.topics[0].pos),
                         Topic("money", Text("预算", "Budget"), rb.topics[1].pos)]
    assert rb.topics[0].pos.line == 8
    assert rb.default_goals == ["social_style"]
    guard, pace = rb.facts["guard"], rb.facts["pace"]
    assert guard.topic == "context" and pace.topic == "money"
    assert guard.note == Text("种子001只在面谈时提到戒备", "种子001只在面谈时提到戒备")  # plain text fills both
    when = guard.applies_when
    assert isinstance(when, All) and isinstance(when.items[0], FactTest) and isinstance(when.items[1], Not)
    assert (when.items[0].fact, when.items[0].op, when.items[0].operand) == ("pace", "is", "fast")
    assert (pace.applies_when.fact, pace.applies_when.op, pace.applies_when.operand) == ("rich", "known", False)
    fast = next(r for r in rb.rules if r.id == "s.fast")
    assert fast.examples == ("我赶时间,说重点", "Get to the point.")
    assert fast.note == Text("种子说老虎型说话快", "the seed says tigers talk fast")
    assert fast.rationale == Text("快", "fast")  # the rationale stays what a rep reads
    strategies = {s.id: s for s in rb.strategies}
    assert strategies["s.tiger.short"].supersedes == ("s.tiger.play",)
    assert strategies["s.tiger.short"].note == Text("shorter than the playbook", "shorter than the playbook")
    assert strategies["plan.tiger_big"].supersedes == ("s.tiger.short", "s.tiger.play")
    assert strategies["plan.tiger_big"].note == Text("计划", "a plan")
    assert strategies["s.tiger.play"].supersedes == ()
    typ = rb.typologies["social_style"]
    assert typ.note == Text("follows seed 001", "follows seed 001")
    assert typ.classes["tiger"].note == Text("001 与 002 说法不同", "seeds 001 and 002 differ")
    assert typ.classes["owl"].note is None


def test_new_fields_do_not_change_reasoning(rich):
    """Notes, examples and topics are for people: the compiled rulebase infers as before."""
    from conftest import classify
    from engine.reasoning.compiler import compile_rulebase

    with compile_rulebase(load_rulebase(rich)) as c, compile_rulebase(load_rulebase(MINI)) as plain:
        profile = {"facts": {"pace": "fast", "guard": False}}
        a, b = classify(c, profile), classify(plain, profile)
        assert b.fired == ["s.fast", "s.notguard", "t.big", "s.tiger.play"]
        assert a.fired == b.fired + ["s.tiger.short", "plan.tiger_big"]  # the strategies only the rich copy has
        for tid in ("social_style", "social_style2"):
            mine, theirs = a.conclusions[tid], b.conclusions[tid]
            assert (mine.value, mine.confidence, mine.scores) == (theirs.value, theirs.confidence, theirs.scores)


# --- each mistake is one precise problem ------------------------------------------------------------

def test_note_must_be_text(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    rationale: {zh: 快, en: fast}\n", "    rationale: {zh: 快, en: fast}\n    note: [a, b]\n")
    p = _one_problem(mini_copy)
    _at(p, s, "note: [a, b]", "type")
    assert "note must be text, got a list" in p.message


def test_note_in_both_languages_needs_both(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "      opening: {zh: 直接, en: direct}\n",
          "      opening: {zh: 直接, en: direct}\n    note: {zh: 只有中文}\n")
    p = _one_problem(mini_copy)
    _at(p, s, "note: {zh: 只有中文}", "missing-key")
    assert "'en'" in p.message


def test_misspelt_note_key_gets_did_you_mean(mini_copy):
    f = mini_copy / "facts" / "f.yaml"
    _edit(f, "    question: {zh: 有钱?, en: rich?}\n", "    question: {zh: 有钱?, en: rich?}\n    notes: x\n")
    p = _one_problem(mini_copy)
    _at(p, f, "notes: x", "unknown-key")
    assert 'did you mean "note"' in p.message


def test_examples_must_be_a_list_of_sentences(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    rationale: {zh: 快, en: fast}\n", "    rationale: {zh: 快, en: fast}\n    examples: 我赶时间\n")
    p = _one_problem(mini_copy)
    _at(p, s, "examples: 我赶时间", "type")
    assert "examples must be a list" in p.message


def test_empty_example_is_one_problem(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    rationale: {zh: 快, en: fast}\n", "    rationale: {zh: 快, en: fast}\n    examples: [好的, '  ']\n")
    p = _one_problem(mini_copy)
    _at(p, s, "examples: [好的", "empty")


def test_examples_only_on_rules(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    for: tiger\n", "    for: tiger\n    examples: [快点]\n")
    p = _one_problem(mini_copy)
    _at(p, s, "examples: [快点]", "unknown-key")


def _supersede(root: Path, strategies: str) -> Path:
    s = root / "typologies" / "s.yaml"
    _append(s, strategies)
    return s


TWO = """\
  - id: s.tiger.short
    for: tiger
    supersedes: [{ref}]
    advice: {{zh: 直说, en: be brief}}
    source: {{seed: "001", section: topk}}
"""


def test_supersedes_unknown_strategy_with_did_you_mean(mini_copy):
    s = _supersede(mini_copy, TWO.format(ref="s.tiger.paly"))
    p = _one_problem(mini_copy)
    _at(p, s, "supersedes: [s.tiger.paly]", "unknown-strategy")
    assert "'s.tiger.paly'" in p.message and 'did you mean "s.tiger.play"' in p.message


def test_supersedes_itself(mini_copy):
    s = _supersede(mini_copy, TWO.format(ref="s.tiger.short"))
    p = _one_problem(mini_copy)
    _at(p, s, "supersedes: [s.tiger.short]", "bad-supersedes")
    assert "supersedes itself" in p.message


def test_supersedes_cycle_is_one_problem(mini_copy):
    s = _supersede(mini_copy, TWO.format(ref="s.tiger.play"))
    _edit(s, "    for: tiger\n    advice:\n", "    for: tiger\n    supersedes: [s.tiger.short]\n    advice:\n")
    p = _one_problem(mini_copy)
    assert p.check == "cycle"
    assert "s.tiger.play → s.tiger.short → s.tiger.play" in p.message or \
           "s.tiger.short → s.tiger.play → s.tiger.short" in p.message


def test_supersedes_three_cycle_names_every_strategy(mini_copy):
    s = _supersede(mini_copy, TWO.format(ref="s.tiger.play") + TWO.format(ref="s.tiger.short")
                   .replace("s.tiger.short\n    for", "s.tiger.third\n    for"))
    _edit(s, "    for: tiger\n    advice:\n", "    for: tiger\n    supersedes: [s.tiger.third]\n    advice:\n")
    p = _one_problem(mini_copy)
    assert p.check == "cycle"
    assert all(x in p.message for x in ("s.tiger.play", "s.tiger.short", "s.tiger.third"))


def test_supersedes_must_be_a_list(mini_copy):
    s = _supersede(mini_copy, TWO.format(ref="x").replace("supersedes: [x]", "supersedes: s.tiger.play"))
    p = _one_problem(mini_copy)
    _at(p, s, "supersedes: s.tiger.play", "type")


def test_duplicate_topic(mini_copy):
    m = mini_copy / "rulebase.yaml"
    _append(m, TOPICS.replace("id: money", "id: context"))
    p = _one_problem(mini_copy)
    _at(p, m, "id: context, label: {zh: 预算", "duplicate-id")
    assert "'context'" in p.message


def test_topic_needs_a_label(mini_copy):
    m = mini_copy / "rulebase.yaml"
    _append(m, "topics:\n  - {id: context}\n")
    p = _one_problem(mini_copy)
    _at(p, m, "- {id: context}", "missing-key")
    assert "'label'" in p.message


def test_unknown_default_goal_with_did_you_mean(mini_copy):
    m = mini_copy / "rulebase.yaml"
    _append(m, "default_goals: [social_style, socail_style2]\n")
    p = _one_problem(mini_copy)
    _at(p, m, "default_goals:", "unknown-typology")
    assert p.pos.col == len("default_goals: [social_style, ") + 1
    assert 'did you mean "social_style2"' in p.message


def test_duplicate_default_goal(mini_copy):
    _append(mini_copy / "rulebase.yaml", "default_goals: [social_style, social_style]\n")
    p = _one_problem(mini_copy)
    assert p.check == "duplicate-id" and "social_style" in p.message


def test_unknown_fact_topic_with_did_you_mean(mini_copy):
    _append(mini_copy / "rulebase.yaml", TOPICS)
    f = mini_copy / "facts" / "f.yaml"
    _edit(f, "    question: {zh: 有钱?, en: rich?}\n", "    question: {zh: 有钱?, en: rich?}\n    topic: mony\n")
    p = _one_problem(mini_copy)
    _at(p, f, "topic: mony", "unknown-topic")
    assert 'did you mean "money"' in p.message and "context, money" in p.message


def test_fact_topic_without_declared_topics_says_where_to_declare(mini_copy):
    f = mini_copy / "facts" / "f.yaml"
    _edit(f, "    question: {zh: 有钱?, en: rich?}\n", "    question: {zh: 有钱?, en: rich?}\n    topic: money\n")
    p = _one_problem(mini_copy)
    _at(p, f, "topic: money", "unknown-topic")
    assert "rulebase.yaml" in p.message and "topics:" in p.message


def _applies(root: Path, cond: str) -> Path:
    f = root / "facts" / "f.yaml"
    _edit(f, "    question: {zh: 有钱?, en: rich?}\n", f"    question: {{zh: 有钱?, en: rich?}}\n    applies_when: {cond}\n")
    return f


def test_applies_when_refuses_said(mini_copy):
    f = _applies(mini_copy, "{any: [{fact: pace, is: fast}, {said: {zh: [贵]}}]}")
    p = _one_problem(mini_copy)
    _at(p, f, "applies_when:", "bad-condition")
    assert p.pos.col == f.read_text(encoding="utf-8").splitlines()[p.pos.line - 1].index("{said") + 1
    assert "`said:`" in p.message and "facts only" in p.message


def test_applies_when_refuses_conclusions(mini_copy):
    f = _applies(mini_copy, "{typology: social_style, is: tiger}")
    p = _one_problem(mini_copy)
    _at(p, f, "applies_when:", "bad-condition")
    assert "social_style" in p.message and "facts only" in p.message


def test_applies_when_unknown_fact_with_did_you_mean(mini_copy):
    f = _applies(mini_copy, "{fact: pase, is: fast}")
    p = _one_problem(mini_copy)
    _at(p, f, "applies_when:", "unknown-fact")
    assert 'did you mean "pace"' in p.message


def test_applies_when_unknown_value(mini_copy):
    f = _applies(mini_copy, "{fact: pace, is: quick}")
    p = _one_problem(mini_copy)
    _at(p, f, "applies_when:", "unknown-value")


def test_applies_when_on_itself(mini_copy):
    f = _applies(mini_copy, "{not: {fact: rich, known: true}}")
    p = _one_problem(mini_copy)
    _at(p, f, "applies_when:", "bad-condition")
    assert "rich itself" in p.message


def test_fact_with_every_problem_reports_them_all(mini_copy):
    """A fact broken in several ways gets every problem at once, not only the first."""
    _append(mini_copy / "rulebase.yaml", TOPICS)
    f = mini_copy / "facts" / "f.yaml"
    _edit(f, "  - id: rich\n    type: bool\n", "  - id: rich\n    type: boool\n    topic: mony\n    note: [x]\n")
    with pytest.raises(RulebaseError) as e:
        load_rulebase(mini_copy)
    checks = sorted(p.check for p in e.value.problems if p.pos.file.endswith("f.yaml"))
    assert checks == ["bad-type", "type", "unknown-topic"]


# --- the JSON Schema knows the fields ---------------------------------------------------------------

def test_schema_accepts_the_fields_and_refuses_said_in_applies_when(rich):
    jsonschema = pytest.importorskip("jsonschema")
    from engine.rules.schema import schema
    from engine.rules.yamlpos import load_file

    v = jsonschema.Draft202012Validator(schema())
    for p in sorted(rich.rglob("*.yaml")):
        assert list(v.iter_errors(load_file(p).plain())) == [], p
    f = rich / "facts" / "f.yaml"
    _edit(f, "applies_when: {fact: rich, known: false}", "applies_when: {said: {zh: [贵]}}")
    errors = list(v.iter_errors(load_file(f).plain()))
    assert errors, "said: inside applies_when must not validate"


# --- one mistake, one problem; messages in Chinese ----------------------------------------------------

def test_misspelt_required_key_is_one_problem_at_the_key(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    rationale: {zh: 快, en: fast}\n", "    rationael: {zh: 快, en: fast}\n")
    p = _one_problem(mini_copy)
    _at(p, s, "rationael:", "unknown-key")
    assert 'did you mean "rationale"' in p.message


def test_class_written_without_typology_in_guidance_names_the_typology(mini_copy):
    (mini_copy / "guidance").mkdir()
    g = mini_copy / "guidance" / "g.yaml"
    g.write_text("strategies:\n  - id: g.one\n    for: owl\n    advice: {zh: 慢, en: slow}\n"
                 "    source: {seed: \"001\", section: topk}\n", encoding="utf-8")
    p = _one_problem(mini_copy)
    _at(p, g, "for: owl", "unknown-class")
    assert "social_style.owl" in p.message


def test_odd_class_text_stays_on_one_line(mini_copy):
    (mini_copy / "guidance").mkdir()
    g = mini_copy / "guidance" / "g.yaml"
    g.write_text("strategies:\n  - id: g.one\n    for: \"a\\nb\"\n    advice: {zh: 慢, en: slow}\n"
                 "    source: {seed: \"001\", section: topk}\n", encoding="utf-8")
    p = _one_problem(mini_copy)
    assert p.check == "unknown-class" and "\n" not in str(p)


def _problems_in(root: Path, lang: str, monkeypatch) -> list[str]:
    monkeypatch.setenv("ZHIKE_LANG", lang)
    with pytest.raises(RulebaseError) as e:
        load_rulebase(root)
    return [p.message for p in e.value.problems]


def test_messages_in_chinese(mini_copy, monkeypatch):
    s = mini_copy / "typologies" / "s.yaml"
    _edit(s, "    when: {fact: pace, is: fast}\n", "    when: {fact: pase, is: fast}\n")
    _edit(s, "    then: [{class: tiger, weight: 0.6}]\n", "    then: [{class: tigre, weight: 1.6}]\n")
    _append(mini_copy / "rulebase.yaml", "default_goals: [socail_style]\n")
    zh = _problems_in(mini_copy, "zh", monkeypatch)
    en = _problems_in(mini_copy, "en", monkeypatch)
    assert len(zh) == len(en) == 4
    assert "default_goals 里的分类 'socail_style' 不存在（是不是要写“social_style”？）" in zh[0]
    assert zh[1].startswith("没有事实 'pase'（是不是要写“pace”？）")
    assert zh[2].startswith("分类 social_style 没有类型 'tigre'（是不是要写“tiger”？）")
    assert zh[3].startswith("weight 应当大于 0、不超过 1，这里写的是 1.6")
    assert en[1].startswith("unknown fact 'pase' (did you mean \"pace\"?)")
    for message in zh:  # what the trainer wrote and the keys to type are the only Latin letters left
        rest = message
        for written in ("socail_style", "social_style", "pase", "pace", "tigre", "tiger", "owl", "weight",
                        "typologies", "facts", "yaml", "default_goals", "against"):
            rest = rest.replace(written, "")
        assert not any("a" <= ch.lower() <= "z" for ch in rest), message


def test_yaml_problems_in_chinese(tmp_path, monkeypatch):
    from engine.rules.yamlpos import YamlError, load_text

    monkeypatch.setenv("ZHIKE_LANG", "zh")
    with pytest.raises(YamlError) as e:
        load_text("a: 1\na: 2\n", "f.yaml")
    assert str(e.value.problems[0]) == "f.yaml:2:1: 错误: 键 'a' 重复了（第一次在第 1 行）；请删掉一个 [duplicate-key]"
