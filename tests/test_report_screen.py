"""Issue 11 part 1: the report a rep reads fits one screen; the detail explains each conclusion once;
advice the rulebase declares superseded is shown once; a saved interview classifies like a profile."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from conftest import ROOT, zhike
from engine.report.textwidth import dwidth

TIGER = str(ROOT / "examples" / "tiger-price.yaml")
SCREEN = {"COLUMNS": "100", "LINES": "40", "ZHIKE_LANG": "zh"}  # these tests read the default (Chinese) report


def _classify(*args: str) -> str:
    r = zhike("classify", *args, env=SCREEN)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tiger_price_fits_one_screen(lang):
    out = _classify(TIGER, "--lang", lang)
    lines = out.splitlines()
    assert len(lines) <= 40, out
    assert all(dwidth(x) <= 100 for x in lines), [x for x in lines if dwidth(x) > 100]
    likely, leaning = ("很可能", "倾向于") if lang == "zh" else ("likely", "leaning")
    tiger = "老虎型(威权者)" if lang == "zh" else "Tiger (controller)"
    assert re.search(rf"{re.escape(tiger)}\s+{likely} 100%", out), out
    assert re.search(rf"{leaning} 40%", out)  # decision mode: consults colleagues, weakly
    nba = "找到有决策权的人" if lang == "zh" else "Find the person with authority"
    assert "➜ " + nba in out
    stages = ("开场白", "缔结成交") if lang == "zh" else ("Opening", "Closing")
    assert all(re.search(rf"^  {s}\s", out, re.M) for s in stages)
    assert [x.split(".")[0].strip() for x in lines if re.match(r"^  \d\. ", x)] == ["1", "2", "3"]
    unclear = "还不清楚:" if lang == "zh" else "Not yet clear:"
    assert sum(unclear in x for x in lines) == 1
    assert "证据不足" not in out and "insufficient evidence" not in out  # no rows of typologies without evidence


def test_ask_next_ranks_questions_by_the_unsettled_typologies_they_serve(bundled, bundled_rb):
    from conftest import classify
    from engine.report.screen import ranked_questions

    r = classify(bundled, yaml.safe_load(open(TIGER, encoding="utf-8")))
    ranked = ranked_questions(r, "en", 8, debug=True)
    counts = [len(q["serves"]) for q in ranked]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2
    unsettled = {c.typology.id for c in r.conclusions.values() if c.value is None}
    first = ranked[0]["fact"]
    assert len([t for t in unsettled if first in r.conclusions[t].missing]) == counts[0]
    assert all(q["question"] == bundled_rb.facts[q["fact"]].question.en for q in ranked)


def test_confidence_words_have_one_set_of_thresholds():
    from engine.report.confidence import CONFIDENCE_WORDS, confidence_word

    assert [floor for floor, _ in CONFIDENCE_WORDS] == [0.8, 0.6, 0.0]
    got = {c: (confidence_word(c, "zh"), confidence_word(c, "en")) for c in (1.0, 0.8, 0.79, 0.6, 0.59, 0.3)}
    assert got == {1.0: ("很可能", "likely"), 0.8: ("很可能", "likely"), 0.79: ("可能", "probably"),
                   0.6: ("可能", "probably"), 0.59: ("倾向于", "leaning"), 0.3: ("倾向于", "leaning")}


def test_detail_explains_each_conclusion_once_with_the_customers_whole_clause():
    out = _classify(TIGER, "--detail")
    headers = [x for x in out.splitlines() if x.startswith("▸ ")]
    for label in ("社交风格(TOPK):老虎型(威权者)", "客户拒绝类型:永远嫌贵型", "MAN客户资格:MaN"):
        assert sum(h.startswith("▸ " + label) for h in headers) == 1, (label, headers)
    assert "客户原话:「再降30%我们考虑」" in out  # the clause, not the matched fragment "降30%"
    why = out.split("== 依据")[1].split("== 全部建议")[0]
    reasons = [x.strip() for x in why.splitlines() if x.strip().startswith("· ")]
    assert reasons and len(reasons) == len(set(reasons))  # each rationale once
    assert sum(x.strip().startswith("反证:") for x in why.splitlines()) <= 4  # one line (wrapped) per conclusion
    assert "出处:《各客户类型的营销策略》" in why
    assert "还不清楚:" in why and "客户类型(九型):还没有证据" in why
    en = _classify(TIGER, "--detail", "--lang", "en")
    assert "Source: “Marketing strategies for each type of customer”" in en


def test_superseded_advice_is_shown_once_and_json_names_who_superseded_it():
    data = json.loads(_classify(TIGER, "--format", "json"))
    by = {s["id"]: s["superseded_by"] for s in data["strategies"]}
    assert by["social_style.tiger_price_push"] == "plan.tiger.MaN.too_expensive"
    assert by["plan.tiger.MaN.too_expensive"] is None
    pushed = next(s for s in data["strategies"] if s["id"] == "social_style.tiger_price_push")
    detail = _classify(TIGER, "--detail")
    for text in pushed["advice"].values():
        assert " ".join(text.split())[:30] not in detail.replace("\n", "")


def test_supersedes_in_a_small_rulebase(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    doc = yaml.safe_load(s.read_text(encoding="utf-8"))
    doc["strategies"].append({"id": "s.tiger.better", "for": "tiger", "supersedes": ["s.tiger.play"],
                              "advice": {"opening": {"zh": "更好的开场", "en": "a better opening"}},
                              "source": {"seed": "001", "section": "topk"}})
    s.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    args = ("classify", "-", "--rulebase", str(mini_copy), "--lang", "en")
    profile = "facts: {pace: fast}"
    data = json.loads(zhike(*args, "--format", "json", input=profile).stdout)
    assert {s["id"]: s["superseded_by"] for s in data["strategies"]} == {"s.tiger.better": None,
                                                                        "s.tiger.play": "s.tiger.better"}
    for fmt in ("text", "md", "html"):
        out = zhike(*args, "--format", fmt, "--detail", input=profile).stdout
        assert "a better opening" in out and "direct" not in out, fmt


def test_html_folds_the_explanation_and_opens_it_with_detail():
    html = _classify(TIGER, "--format", "html")
    assert "<details>" in html and "<summary>完整解释</summary>" in html and "再降30%我们考虑" in html
    assert "<details open>" in _classify(TIGER, "--format", "html", "--detail")
    md = _classify(TIGER, "--format", "md")
    assert md.count("\n") <= 45 and "| 社交风格(TOPK) | **老虎型(威权者)** | 很可能 100% |" in md


def test_classify_reads_a_saved_session(tmp_path):
    session = tmp_path / "s.yaml"
    session.write_text(yaml.safe_dump({
        "zhike_session": 1, "saved": "2024-01-01T00:00:00", "lang": "zh", "goals": [],
        "rulebase": {"name": "zhike-core", "version": "0.1.0", "sha256": "0" * 64},
        "answers": {"dominance": "high", "self_control": "high", "gone_fact": 1,
                    "utterances": ["太贵了,再便宜点"]},
        "skipped": ["pace"], "asked": ["dominance", "self_control", "utterances", "pace"],
    }, allow_unicode=True), encoding="utf-8")
    r = zhike("classify", str(session), "--lang", "en", env=SCREEN)
    assert r.returncode == 0, r.stderr
    assert "Tiger (controller)" in r.stdout and "Always too expensive" in r.stdout
    assert "gone_fact" in r.stderr and "Traceback" not in r.stderr
    data = json.loads(zhike("classify", str(session), "--format", "json").stdout)
    assert data["profile"]["facts"] == {"dominance": "high", "self_control": "high"}
    assert data["profile"]["utterances"] == ["太贵了,再便宜点"]


def test_readme_shows_the_one_screen_report_as_it_really_is():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ zhike classify examples/tiger-price.yaml --lang en\n"
    assert command in readme
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    real = zhike("classify", "examples/tiger-price.yaml", "--lang", "en", env=SCREEN, cwd=ROOT).stdout
    assert shown.rstrip("\n") == real.rstrip("\n"), "regenerate README's 'What it does' (COLUMNS=100)"


def test_questions_that_do_not_apply_to_this_customer_are_not_suggested(bundled_rb):
    """Account questions are for paying customers only (`applies_when:` in the fact catalogue): a customer
    met on a visit is never asked about their payment record, though the rules would use it."""
    prof = yaml.safe_load((ROOT / "examples" / "paying-customer.yaml").read_text(encoding="utf-8"))
    gated = {f.id for f in bundled_rb.facts.values() if f.applies_when is not None}
    prof["facts"] = {k: v for k, v in prof["facts"].items() if k not in gated} | {"contact_channel": "visit"}
    text = json.dumps(prof, ensure_ascii=False)
    data = json.loads(zhike("classify", "-", "--format", "json", input=text).stdout)
    assert {"loyalty", "payment_record", "pace"} <= set(data["missing"])  # the engine could use all three
    out = zhike("classify", "-", "--detail", "--debug", "--lang", "en", input=text, env=SCREEN).stdout
    asked = set(re.findall(r"\[([a-z_]+)\]$", out, re.M))
    assert "pace" in asked and not asked & {"loyalty", "credit_standing", "payment_record"}, asked
