"""`zhike rules check` on the texts reps read: seed-mention (error) and example-in-rationale (warning).

The texts are rewritten in a copy of tests/fixtures/mini; every finding must point at the
offending words (file:line:col), and `note:` (trainers only) and `examples:` are left alone.
"""
from pathlib import Path

import pytest

from conftest import FIXTURES, zhike
from engine.i18n import use
from engine.rules.loader import check_rulebase
from engine.trainer.lint import FAMILIES, lint

SEEDS = FIXTURES / "seeds"
FAST = "    rationale: {zh: 快, en: fast}\n"


@pytest.fixture(autouse=True)
def english():
    with use("en"):
        yield


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _found(root: Path, check: str) -> list:
    rb, problems = check_rulebase(root)
    assert [p for p in problems if p.severity == "error"] == [], problems
    return [p for p in lint(rb, problems, seeds=SEEDS) if p.check == check]


def _line_col(path: Path, needle: str) -> tuple[int, int]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)


@pytest.mark.parametrize(("zh", "en", "needle"), [
    ("002说老虎很急", "fast", "002说"),
    ("这就是种子文档描绘的理智型", "fast", "种子"),
    ("贿赂的做法本知识库不采纳", "fast", "本知识库"),
    ("按001“以价格为突破口”来做", "fast", "001"),
    ("000 ❽ 说他们很急", "fast", "000"),
    ("资料说他们很急", "fast", "资料说"),
    ("这条建议不采纳", "fast", "不采纳"),
    ("快", "the seed says the owl is slow", "seed"),
    ("快", "Seed 002 says greedy customers ask for bribes", "Seed"),
    ("快", "that advice is not adopted here", "not adopted"),
    ("快", "as the document says, be quick", "the document says"),
    ("快", "this rulebase keeps it simple", "this rulebase"),
    ("快", "001's version has no such advice", "001"),
    ("快", "tigers are fast — as the seed says", "seed"),
])
def test_mentions_in_a_rationale_point_at_the_words(mini_copy, zh, en, needle):
    s = mini_copy / "typologies" / "s.yaml"
    _rewrite(s, FAST, f"    rationale: {{zh: \"{zh}\", en: \"{en}\"}}\n")
    found = _found(mini_copy, "seed-mention")
    assert len(found) == 1, found
    p = found[0]
    assert p.severity == "error" and "`rationale` of s.fast" in p.message and "`note:`" in p.message
    assert (p.pos.line, p.pos.col) == _line_col(s, needle)


@pytest.mark.parametrize("text", [
    "客户自己准备资料,要求出示文件",  # 资料 as an ordinary word
    "wants documents and the signed contract",
    "offers 1,000 when you ask 800; worth 10 000",
    "种子客户值得重点培养",  # a sales term, not the seed documents
    "Seeding the market takes time",
])
def test_ordinary_words_are_not_mentions(mini_copy, text):
    _rewrite(mini_copy / "typologies" / "s.yaml", FAST, f"    rationale: {{zh: '{text}', en: '{text}'}}\n")
    assert _found(mini_copy, "seed-mention") == []


def test_every_text_a_rep_reads_is_checked_and_notes_are_not(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _rewrite(s, "    - {id: tiger, label: {zh: 虎, en: tiger}}",
             "    - {id: tiger, label: {zh: 虎, en: tiger}, description: {zh: 种子里的老虎, en: tiger},"
             " note: 种子 002 说老虎很急}")
    _rewrite(s, "      opening: {zh: 直接, en: direct}",
             "      opening: {zh: 直接, en: \"direct, as seed 001 says\"}")
    _rewrite(s, FAST, FAST + "    examples: [我们的资料说的价格不对]\n"
                             "    note: {zh: 002说老虎很急，本知识库采纳, en: seed 002 says so}\n")
    f = mini_copy / "facts" / "f.yaml"
    _rewrite(f, "    question: {zh: 戒备?, en: guarded?}",
             "    question: {zh: 戒备?, en: guarded?}\n    help:\n      zh: |-\n        看他是否提防你。\n"
             "        003里销售员B就是这样判断的。\n      en: Watch whether they keep you at arm's length.")
    found = sorted((p.pos.file.rsplit("/", 1)[-1], p.pos.line, p.pos.col, p.message.split(" mentions")[0])
                   for p in _found(mini_copy, "seed-mention"))
    assert found == [
        ("f.yaml", (_line_col(f, "003里")[0]), 9, "`help` of guard"),  # inside a block scalar
        ("s.yaml", *_line_col(s, "种子里"), "`class description` of tiger"),
        ("s.yaml", *_line_col(s, "seed 001"), "`advice` of s.tiger.play"),
    ]


def test_bundled_style_block_and_quoted_scalars(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _rewrite(s, FAST, "    rationale:\n      zh: >-\n        节奏快的客户\n        按002“先报价”处理\n"
                      "      en: \"tigers are \\\"fast\\\" — the seed says so\"\n")
    found = sorted((p.pos.line, p.pos.col) for p in _found(mini_copy, "seed-mention"))
    assert found == sorted([_line_col(s, "002“"), _line_col(s, "seed says")])


def test_a_rationale_quoting_its_own_keyword_should_use_examples(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _rewrite(s, "  - id: s.rich_tiger\n", "  - id: s.pricey\n    when: {said: {zh: [太贵], en: [too dear]}}\n"
                                          "    then: [{class: owl, weight: 0.4}]\n"
                                          "    rationale: {zh: 客户说“这也太贵了”就是信号, en: 'they say \"far too dear\"'}\n"
                                          "    source: {seed: \"001\", section: topk}\n  - id: s.rich_tiger\n")
    found = [(p.pos.line, p.pos.col, p.severity) for p in _found(mini_copy, "example-in-rationale")]
    line, col = _line_col(s, "“这也")
    assert found == [(line, col, "warning"), (line, _line_col(s, '"far')[1], "warning")]


def test_a_quote_without_the_rules_keyword_is_not_an_example(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    _rewrite(s, "  - id: s.rich_tiger\n", "  - id: s.pricey\n    when: {said: {zh: [太贵]}}\n"
                                          "    then: [{class: owl, weight: 0.4}]\n"
                                          "    rationale: {zh: 嫌贵的客户在意“性价比”这件事, en: price}\n"
                                          "    source: {seed: \"001\", section: topk}\n  - id: s.rich_tiger\n")
    assert _found(mini_copy, "example-in-rationale") == []


def test_every_check_id_belongs_to_exactly_one_family():
    import engine.trainer.lint as package

    ids = [c for f in FAMILIES for c in f.checks]
    assert len(ids) == len(set(ids))
    for check in ("contradiction", "impossible-value", "conflict", "redundant", "unreachable-class",
                  "unreachable-strategy", "unreachable-rule", "unused-fact", "anchor-not-found", "seed-missing",
                  "anchor-check-skipped", "duplicate-keyword", "seed-mention", "example-in-rationale"):
        assert check in ids and check in package.__doc__, check


def test_the_command_reports_it_in_chinese_too(mini_copy):
    _rewrite(mini_copy / "typologies" / "s.yaml", FAST, "    rationale: {zh: 002说快, en: fast}\n")
    r = zhike("rules", "check", str(mini_copy), "--lang", "zh", env={"ZHIKE_SEEDS": str(SEEDS)})
    line = next(x for x in r.stdout.splitlines() if x.endswith("[seed-mention]"))
    assert r.returncode == 2 and "s.fast 的 `rationale` 提到了出处" in line and "“002说”" in line
