"""Issue 11: conditions read naturally (negations, `known`), the customer's words are quoted as whole
clauses, and a batch `reason` quotes the row's own words, never a rule's example sentence."""
from __future__ import annotations

import yaml

from conftest import MINI
from engine.report.clauses import clause_of, split_clauses
from engine.report.describe import describe
from engine.rules.model import ConclusionTest, FactTest, Not, PhraseTest, Pos

P = Pos("t", 1, 1)


def test_negated_known_and_comparisons_read_naturally(bundled_rb):
    rb = bundled_rb
    unknown = Not(FactTest("decision_circle", "known", True, P), P)
    assert describe(unknown, rb, "zh") == "还不知道谁参与决定"
    assert describe(unknown, rb, "en") == "Who takes part in the decision is not known"
    assert describe(FactTest("decision_circle", "known", True, P), rb, "zh") == "已知谁参与决定"
    not_fast = Not(FactTest("pace", "is", "fast", P), P)
    assert describe(not_fast, rb, "zh") == "节奏 ≠ 快" and describe(not_fast, rb, "en") == "Pace ≠ fast"
    said = Not(PhraseTest("x#0", ("太贵",), (), P), P)
    assert describe(said, rb, "zh") == "客户没说过 「太贵」"
    assert describe(said, rb, "en") == "the customer did not say 「太贵」"
    undecided = Not(ConclusionTest("social_style", "known", True, None, P), P)
    assert describe(undecided, rb, "zh") == "还没判断出社交风格(TOPK)"
    assert describe(undecided, rb, "en") == "Social style (TOPK) is not determined yet"
    for lang in ("zh", "en"):
        for cond in (unknown, not_fast, said, undecided):
            text = describe(cond, rb, lang)
            assert not text.startswith(("并非", "not ")), text


def test_clause_is_the_whole_clause_holding_the_match():
    said = "XX家同类产品便宜不少,再降30%我们考虑"
    assert split_clauses(said) == ["XX家同类产品便宜不少", "再降30%我们考虑"]
    assert clause_of(said, "降30%") == "再降30%我们考虑"
    assert clause_of("预算3.5万,太贵了!真的", "太贵") == "太贵了"  # a decimal point ends no clause
    assert clause_of("It costs 1,000 dollars. Too expensive, really.", "too expensive") == "Too expensive"
    assert clause_of("太贵了,再降", "贵,再降") == "太贵了,再降"  # a match across punctuation keeps both clauses
    assert clause_of("“太贵了”", "") == "“太贵了”"
    long = "很" * 300 + "贵" + "的" * 300
    assert "贵" in clause_of(long, "贵") and len(clause_of(long, "贵")) <= 122


def test_batch_reason_quotes_the_customers_clause_not_the_rules_example(mini_copy):
    from engine.batch.classify import classify_records

    s = mini_copy / "typologies" / "s.yaml"
    doc = yaml.safe_load(s.read_text(encoding="utf-8"))
    example = "你们比别家贵多了,再便宜点吧"
    doc["rules"].append({
        "id": "s.said_cheaper", "when": {"said": {"zh": ["便宜点"], "en": ["cheaper"]}},
        "then": [{"class": "tiger", "weight": 0.7}],
        "rationale": {"zh": f"客户说“{example}”,就是在压价。", "en": f'Saying "{example}" is bargaining.'},
        "examples": [example],
        "source": {"seed": "001", "section": "topk"},
    })
    s.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    words = "东西不错。能不能再便宜点?我们量大"
    for lang, quoted in (("zh", "客户原话「能不能再便宜点」"), ("en", "said “能不能再便宜点”")):
        out = next(iter(classify_records([{"utterances": words}], mini_copy, lang=lang, columns="reason")))
        assert quoted in out["reason"], out["reason"]
        assert example not in out["reason"] and "再便宜点吧" not in out["reason"]


def test_batch_reason_keeps_a_rationale_without_quoted_examples():
    from engine.batch.classify import classify_records

    row = {"pace": "fast", "guard": True}
    out = next(iter(classify_records([row], MINI, lang="en", columns="reason")))
    assert out["reason"] == "style = tiger (60%): pace=fast [fast] | style2 = big (54%): style=tiger [big]"
    out = next(iter(classify_records([row], MINI, lang="zh", columns="reason")))
    assert out["reason"] == "风格=虎(60%):节奏=快〔快〕 | 风格2=大(54%):风格=虎〔大〕"
