import json

from conftest import classify
from engine.report.render import dwidth, pad, render, to_json, wrap


def test_json_contract(mini_compiled):
    r = classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}})
    data = json.loads(render(r, "json", "en"))
    assert set(data["rulebase"]) >= {"name", "version", "sha256"}
    assert set(data["conclusions"]) == {"social_style", "social_style2"}
    c = data["conclusions"]["social_style"]
    assert {"value", "label", "confidence", "alternatives", "because"} <= set(c)
    assert (c["value"], c["label"], c["confidence"]) == ("tiger", "tiger", 0.6)
    b = c["because"][0]
    assert {"rule", "facts", "weight", "rationale", "source"} <= set(b)
    assert b["source"] == {"seed": "001", "section": "topk", "title": "TOPK", "file": "x.txt"}
    assert b["facts"][0]["fact"] == "pace" and b["facts"][0]["value"] == "fast"
    s = data["strategies"][0]
    assert {"id", "typology", "class", "advice", "because"} <= set(s)
    assert s["advice"] == {"opening": "direct"} and s["class"] == "tiger"
    assert isinstance(data["missing"], list) and isinstance(data["warnings"], list)
    assert data["conclusions"]["social_style2"]["because"][0]["facts"][0]["kind"] == "conclusion"


def test_null_conclusion_has_reason(mini_compiled):
    data = to_json(classify(mini_compiled, {"facts": {"guard": True}}), "zh")
    c = data["conclusions"]["social_style"]
    assert c["value"] is None and c["reason"] == "insufficient evidence" and c["reason_text"] == "证据不足"


def test_html_is_autoescaped_and_self_contained(mini_compiled):
    r = classify(mini_compiled, {"utterances": ["<script>alert(1)</script> 降30%"]})
    html = render(r, "html", "zh")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert "src=" not in html and "<link" not in html


def test_markdown_and_text_in_both_languages(mini_compiled):
    r = classify(mini_compiled, {"facts": {"pace": "fast"}})
    md_en = render(r, "md", "en")
    assert "| style | **tiger** (`tiger`)" in md_en and "## Strategy" in md_en
    text_zh = render(r, "text", "zh")
    assert "结论" in text_zh and "虎" in text_zh and "[出处: 001 TOPK]" in text_zh
    text_en = render(r, "text", "en")
    assert "Conclusions" in text_en and "[source: 001 TOPK]" in text_en


def test_text_columns_align_with_chinese():
    assert dwidth("节奏") == 4 and dwidth("ab") == 2
    assert dwidth(pad("节奏", 10)) == 10 and dwidth(pad("pace", 10)) == 10
    lines = wrap("一二三四五六七八九十" * 10, width=40, indent=0).splitlines()
    assert all(dwidth(x) <= 40 for x in lines) and len(lines) == 5


def test_trainer_template(mini_compiled, tmp_path):
    t = tmp_path / "mine.html"
    t.write_text("<p>{{ r.conclusions.social_style.label }} {{ r.profile.utterances[0] }}</p>", encoding="utf-8")
    r = classify(mini_compiled, {"facts": {"pace": "fast"}, "utterances": ["<b>x</b>"]})
    assert render(r, "text", "en", template=t) == "<p>tiger &lt;b&gt;x&lt;/b&gt;</p>"
