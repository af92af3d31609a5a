"""The batch summary a manager looks at (`--summary`, engine.batch.summary): counts, actions, rows first, data quality."""
from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

from conftest import FIXTURES, ROOT, zhike

SHEETS = FIXTURES / "sheets"
RB = ("--rulebase", str(ROOT / "rulebase"))


def _records(bundled_rb, rows, columns):
    from engine.batch.classify import classify_records

    return list(classify_records([dict(zip(columns, r, strict=True)) for r in rows], bundled_rb,
                                 on_bad_value="blank", errors="mark"))


COLUMNS = ["客户名称", "决策人?", "预算", "意向程度", "阶段", "客户说的话"]
ROWS = [["甲公司", "是", "约20万", "A", "意向确认", "价格可以,我们定了"],
        ["乙公司", "否", "30-50", "B", "方案演示", "我得跟老板商量一下"],
        ["丙<b>公司</b>", "也许", "", "C", "新线索", ""],
        ["丁公司", "是", "无", "A", "已回款", "太贵了"]]


def test_build_summary_counts_ranks_and_measures_quality(bundled_rb):
    from engine.batch.mapping import build_plan
    from engine.batch.summary import build_summary

    plan = build_plan(COLUMNS, bundled_rb)
    s = build_summary(_records(bundled_rb, ROWS, COLUMNS), bundled_rb, lang="zh", plan=plan, name="四家.csv")
    assert s.rows_in == 4 and s.classified == 4 and s.rejected == 0
    stage = next(t for t in s.typologies if t.id == "pipeline_stage")
    assert sum(c.count for c in stage.classes) + stage.undecided == 4
    assert all(not c.label.isascii() for c in stage.classes)  # labels in the language of the run
    counts = [n for _text, n in s.actions]
    assert counts == sorted(counts, reverse=True) and sum(counts) == s.with_action
    assert s.top_rows and s.top_rows[0].name == "甲公司"  # MAN and intent: the first to act on
    assert dict(s.blank_cells) == {"决策人?": 1}  # "也许" was left blank
    assert ("阶段", next(g for c, g in s.columns_used if c == "阶段")) in s.columns_used
    assert "客户名称" in s.columns_unused


def test_rejected_rows_are_counted_by_reason(bundled_rb):
    from engine.batch.summary import build_summary

    recs = [{"_error_code": "bad-value"}, {"_error_code": "columns"}, {"_error_code": "columns"}]
    s = build_summary(recs, bundled_rb, lang="en")
    assert s.rejected == 3 and s.rejected_by[0] == ("the wrong number of cells", 2)


def test_html_is_self_contained_escaped_and_has_svg_bars(bundled_rb):
    from engine.batch.mapping import build_plan
    from engine.batch.summary import build_summary, render_summary

    plan = build_plan(COLUMNS, bundled_rb)
    rows = [["甲<b>公司</b>", *ROWS[0][1:]], *ROWS[1:]]
    s = build_summary(_records(bundled_rb, rows, COLUMNS), bundled_rb, lang="zh", plan=plan,
                      name="<script>alert(1)</script>.csv")
    html = render_summary(s, "html", "zh")
    assert "<script" not in html and "&lt;script&gt;" in html  # autoescaped
    assert "甲&lt;b&gt;公司" in html and "<b>公司" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # no CDN, no external asset
    assert "知客 · 批量判断汇总" in html and "数据质量" in html
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert svgs
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed SVG
        rects = root.findall("{http://www.w3.org/2000/svg}rect")
        texts = root.findall("{http://www.w3.org/2000/svg}text")
        assert rects and len(texts) == 2 * len(rects)  # a label and a count per bar
        assert all(int(r.get("width")) >= 0 for r in rects)
    en = render_summary(s, "html", "en")
    assert "Data quality" in en and "数据质量" not in en


def test_markdown_is_escaped(bundled_rb):
    from engine.batch.summary import Summary, TopRow, render_summary

    s = Summary("en", "a|b*c*.csv", "kb", rows_in=1, classified=1, with_action=1,
                actions=[("call *now* | today", 1)], top_rows=[TopRow(2, "[x](http://evil)", "MAN", "", "go", 3)])
    md = render_summary(s, "md", "en")
    assert "call \\*now\\* \\| today" in md
    assert "\\[x\\](http://evil)" in md or "\\[x\\]\\(http://evil\\)" in md


def test_summary_option_writes_the_page_and_chromium_renders_it(tmp_path):
    page = tmp_path / "summary.html"
    r = zhike("batch", str(SHEETS / "crm_export.xlsx"), "-o", str(tmp_path / "o.csv"), "--summary", str(page), *RB,
              "--lang", "zh")
    assert r.returncode == 0, r.stderr
    html = page.read_text(encoding="utf-8")
    assert "先跟进这些客户" in html and "<svg" in html
    png = tmp_path / "shot.png"
    subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", f"--screenshot={png}", "--window-size=390,1400", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert png.exists() and png.stat().st_size > 20_000  # a rendered page, not a blank one
    md = tmp_path / "summary.md"
    assert zhike("batch", str(SHEETS / "crm_export.xlsx"), "-o", str(tmp_path / "o2.csv"), "--summary", str(md),
                 *RB).returncode == 0
    assert md.read_text(encoding="utf-8").startswith("# ")


def test_summary_needs_a_page_name(tmp_path):
    r = zhike("batch", str(SHEETS / "crm_export.xlsx"), "--summary", str(tmp_path / "s.pdf"), *RB, "--lang", "en")
    assert r.returncode == 2 and ".html or .md" in r.stderr

