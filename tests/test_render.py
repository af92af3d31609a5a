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
    assert {"id", "typology", "class", "advice", "because", "superseded_by"} <= set(s)
    assert s["advice"] == {"opening": "direct"} and s["class"] == "tiger" and s["superseded_by"] is None
    assert isinstance(data["missing"], list) and isinstance(data["warnings"], list)
    assert data["conclusions"]["social_style2"]["because"][0]["facts"][0]["kind"] == "conclusion"


def test_null_conclusion_has_reason(mini_compiled):
    data = to_json(classify(mini_compiled, {"facts": {"guard": True}}), "zh")
    c = data["conclusions"]["social_style"]
    assert c["value"] is None and c["reason"] == "insufficient evidence" and c["reason_text"] == "证据不足"
    assert to_json(classify(mini_compiled, {"facts": {"guard": True}}), "en")["conclusions"]["social_style"][
        "reason_text"] == "insufficient evidence"


def test_html_is_autoescaped_and_self_contained(mini_compiled):
    r = classify(mini_compiled, {"utterances": ["<script>alert(1)</script> 降30%"]})
    html = render(r, "html", "zh")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert html.startswith("<!doctype html>") and "<style>" in html
    assert "src=" not in html and "<link" not in html


def test_markdown_and_text_in_both_languages(mini_compiled):
    r = classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}})
    md_en = render(r, "md", "en")
    assert "| style | **tiger** | probably 60% |" in md_en and "## Plan for the next contact" in md_en
    assert "- **Opening**: direct" in md_en and "`tiger`" not in md_en
    text_zh = render(r, "text", "zh")
    assert "== 结论 ==" in text_zh and "虎" in text_zh and "可能 60%" in text_zh and "开场" in text_zh
    assert "出处" not in text_zh  # sources are part of the detail
    assert "出处:《一》TOPK" in render(r, "text", "zh", detail=True)
    text_en = render(r, "text", "en", detail=True)
    assert "== What we can tell ==" in text_en and "Source: “one”" in text_en


def test_debug_shows_ids_only_when_asked(mini_compiled):
    r = classify(mini_compiled, {"facts": {"pace": "fast"}})
    for fmt in ("text", "md", "html"):
        plain = render(r, fmt, "en", detail=True)
        debug = render(r, fmt, "en", detail=True, debug=True)
        for rule_id in ("s.fast", "s.tiger.play"):
            assert rule_id not in plain and rule_id in debug, (fmt, rule_id)
        assert r.rulebase.sha256[:12] in debug and r.rulebase.sha256[:12] not in plain


def test_text_columns_align_with_chinese():
    assert dwidth("节奏") == 4 and dwidth("ab") == 2
    assert dwidth(pad("节奏", 10)) == 10 and dwidth(pad("pace", 10)) == 10
    lines = wrap("一二三四五六七八九十" * 10, width=40, indent=0).splitlines()
    assert all(dwidth(x) <= 40 for x in lines) and len(lines) == 5


def test_wrap_never_starts_a_line_with_closing_punctuation_and_never_overflows():
    text = "一二三四五六七八九十。" * 6
    for width in (20, 21, 22, 23, 31):
        lines = wrap(text, width=width).splitlines()
        assert "".join(lines) == text
        assert all(dwidth(x) <= width for x in lines), (width, lines)
        assert not any(x[:1] in "。,," for x in lines), (width, lines)


def test_trainer_template(mini_compiled, tmp_path):
    t = tmp_path / "mine.html"
    t.write_text("<p>{{ r.conclusions.social_style.label }} {{ r.profile.utterances[0] }}</p>", encoding="utf-8")
    r = classify(mini_compiled, {"facts": {"pace": "fast"}, "utterances": ["<b>x</b>"]})
    assert render(r, "text", "en", template=t) == "<p>tiger &lt;b&gt;x&lt;/b&gt;</p>"


def test_trainer_template_gets_the_view_and_the_catalogue(mini_compiled, tmp_path):
    t = tmp_path / "mine.txt"
    t.write_text("{{ _('Next best action') }}|{{ view.conclusions[0].word }}|{{ view.conclusions[0].label }}",
                 encoding="utf-8")
    r = classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}})
    assert render(r, "text", "zh", template=t) == "下一步最佳行动|可能|虎"
    assert render(r, "text", "en", template=t) == "Next best action|probably|tiger"
