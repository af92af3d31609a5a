"""Real Chinese prospect sheets in, a manager's answer out (issue 14): no --map, no row rejected for a value.

The sheets in tests/fixtures/sheets/ (make_sheets.py) are kept the way offices keep them: GBK CSV and
XLSX with a title row, notes and blank rows above and between the rows, trailing empty columns, Y/N,
ranges ("30-50"), "约20万", CRM stage words, personality words, a rep's notes column; one is from
another trade with other header styles, one in traditional characters.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, zhike

SHEETS = FIXTURES / "sheets"
ACCEPTANCE = ["office_follow_up_gbk.csv", "crm_export.xlsx", "building_materials.csv", "traditional.csv"]
RB = ("--rulebase", str(ROOT / "rulebase"))


def _table(path: Path) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_a_sheet_as_offices_keep_it_classifies_without_a_map(tmp_path, name):
    out, summary = tmp_path / "out.csv", tmp_path / "summary.html"
    r = zhike("batch", str(SHEETS / name), "-o", str(out), "--summary", str(summary), "--lang", "zh", *RB)
    assert r.returncode == 0, r.stderr
    assert "读入 30 行 = 已判断 30 行 + 退回 0 行" in r.stderr  # every prospect, none rejected for a value
    rows = _table(out)
    assert len(rows) == 30
    with_action = sum(1 for row in rows if row["下一步最佳行动"])
    assert with_action >= 0.8 * len(rows), with_action
    # Chinese output a manager reads: headers, class labels, percentages, questions in words
    assert "社交风格(TOPK)" in rows[0] and "社交风格(TOPK)置信度" in rows[0] and "下一步要问" in rows[0]
    assert "social_style" not in rows[0] and "rulebase_sha256" not in rows[0]  # ids only with --ids
    stages = {row["客户发展阶段"] for row in rows} - {""}
    assert stages and all(not s.isascii() for s in stages)
    assert all(row["客户发展阶段置信度"].endswith("%") for row in rows if row["客户发展阶段"])
    asked = [row["下一步要问"] for row in rows if row["下一步要问"]]
    assert asked and all(q.startswith("1. ") and "?" in q for q in asked)
    assert summary.exists() and "<svg" in summary.read_text(encoding="utf-8")


def test_headers_of_chinese_crms_map_with_what_they_mean(bundled_rb):
    from engine.batch.mapping import build_plan

    title = "job_title" if "job_title" in bundled_rb.facts else "position_level"
    plan = build_plan(["决策人?", "决策人(是/否)", "KP", "预算(万元)", "预算金额", "跟进阶段", "商机阶段", "意向等级(A/B/C)",
                       "性格类型", "线索来源", "头衔", "客户反馈原话", "跟进情况"], bundled_rb)
    gives = {p.name: (p.fact.id if p.fact else sorted(p.multi.facts) if p.multi else None) for p in plan.plans}
    assert gives["决策人?"] == "has_authority"
    assert gives["预算(万元)"] == "has_money"
    assert {"contract_status", "payment_status"} <= set(gives["跟进阶段"])
    assert {"dominance", "self_control"} <= set(gives["性格类型"])
    assert gives["意向等级(A/B/C)"] == "has_need"
    assert gives["线索来源"] == "contact_channel"
    assert gives["头衔"] == title
    assert gives["客户反馈原话"] == "utterances" and gives["跟进情况"] == "rep_notes"
    # a one-value fact takes one column: the second 决策人 column and the second stage column are named, not used
    assert gives["决策人(是/否)"] is None and gives["KP"] is None


def test_one_stage_cell_sets_payment_and_contract(bundled_rb):
    from engine.batch.mapping import build_plan

    plan = build_plan(["阶段", "合同状况"], bundled_rb)
    prof, problems = plan.read(["已回款", ""])
    assert not problems
    assert prof.facts["payment_status"] == "paid" and prof.facts["contract_status"] == "returned"
    # a column of the fact itself wins over the stage column, row by row
    prof, _ = plan.read(["已回款", "合同已发出(传真/邮寄/电子)"])
    assert prof.facts["contract_status"] == "sent" and prof.facts["payment_status"] == "paid"
    prof, problems = plan.read(["正在喝茶", ""])  # not a stage: unknown, and said
    assert not prof.facts and len(problems) == 1 and problems[0].column == "阶段"


@pytest.mark.parametrize(("cell", "fact", "value"), [
    ("Y", "has_authority", True), ("n", "has_authority", False), ("不确定", "has_authority", None),
    ("约20万", "has_money", True), ("30-50", "has_money", True), ("无", "has_money", False),
    ("0", "has_money", False), ("A", "has_need", True), ("C级", "has_need", None),
    ("採購部經理", "title", "manager"), ("总经理助理", "title", "staff"), ("展会", "contact_channel", "visit"),
    ("ｙ", "has_authority", True),
])
def test_cells_are_read_leniently(bundled_rb, cell, fact, value):
    from engine.batch.mapping import build_plan

    header = {"has_authority": "决策人?", "has_money": "预算", "has_need": "意向程度", "title": "职位",
              "contact_channel": "客户来源"}[fact]
    plan = build_plan([header], bundled_rb)
    prof, problems = plan.read([cell])
    assert not problems
    got = next(iter(prof.facts.values()), None)
    if fact == "title":
        got = {"middle_manager": "manager", "manager": "manager", "staff": "staff", "staff_member": "staff"}.get(got, got)
    assert got == value


def test_a_reps_note_never_feeds_said_rules(tmp_path):
    """Who said it: "客户说太贵了" in 备注 is the rep's summary; in 客户原话 it is the customer's words."""
    src = tmp_path / "notes.csv"
    src.write_text("客户名称,备注,客户原话\n甲,客户说太贵了别家便宜多了,\n乙,,太贵了别家便宜多了\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = zhike("batch", str(src), "-o", str(out), *RB, "--lang", "zh")
    assert r.returncode == 0, r.stderr
    import json

    a, b = (json.loads(x) for x in out.read_text(encoding="utf-8").splitlines())
    assert b["objection"] == "always_too_expensive" and "太贵了" in b["reason"]
    said_objection = a["objection"] == "always_too_expensive" and "客户原话" in (a["reason"] or "")
    assert not said_objection  # the note did not become the customer's words
    assert "客户原话" not in (a["reason"] or "")


def test_header_row_is_found_below_title_and_notes_or_named(tmp_path):
    from engine.batch.tabular import open_table

    with open_table(str(SHEETS / "office_follow_up_gbk.csv"), None) as t:
        assert t.header_row == 4 and t.columns[:3] == ["序号", "客户名称", "联系人"]
        assert [row for row, _ in t.above] == [1, 2]
        assert sum(1 for _ in t) == 30  # blank rows between blocks are not prospects
    with open_table(str(SHEETS / "crm_export.xlsx"), None) as t:
        assert t.header_row == 3 and t.columns[-1] == "跟进记录"  # trailing empty columns dropped
        records = list(t)
        assert len(records) == 30 and not any(r.error_code for r in records)
    src = tmp_path / "two.csv"
    src.write_text("a,b\nx,y\n名称,阶段\n甲,已回款\n", encoding="utf-8")
    with open_table(str(src), None, header_row=3) as t:
        assert t.columns == ["名称", "阶段"] and [r.values for r in t] == [["甲", "已回款"]]


def test_sheet_by_name_or_number(tmp_path):
    r = zhike("batch", str(SHEETS / "crm_export.xlsx"), "--sheet", "填写说明", "--explain-map", *RB, "--lang", "en")
    assert 'sheet "填写说明"' in r.stdout
    r = zhike("batch", str(SHEETS / "crm_export.xlsx"), "--sheet", "3", *RB, "--lang", "en")
    assert r.returncode == 2 and "2 sheets" in r.stderr and "Traceback" not in r.stderr
    r = zhike("batch", str(SHEETS / "crm_export.xlsx"), "--sheet", "客户跟进", "-o", str(tmp_path / "o.csv"), *RB)
    assert r.returncode == 0, r.stderr


def test_explain_map_says_what_was_matched_and_exits_1_on_rejects(tmp_path):
    r = zhike("batch", str(SHEETS / "office_follow_up_gbk.csv"), "--explain-map", *RB, "--lang", "zh")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "表头在第 4 行" in r.stdout and "表头上面的 2 行不是客户" in r.stdout
    assert "阶段        → 接触状况 + " in r.stdout and "会退回 0 行" in r.stdout
    assert "不用: 没有表头" in r.stdout  # the trailing empty columns
    bad = tmp_path / "bad.csv"
    bad.write_text("节奏,决策人?\n快,是\n快,也许吧\n", encoding="utf-8")
    r = zhike("batch", str(bad), "--explain-map", *RB, "--on-bad-value", "reject", "--lang", "en")
    assert r.returncode == 1 and "1 would be rejected" in r.stdout


def test_in_equals_classified_plus_rejected_with_blank_cells(tmp_path):
    src = tmp_path / "mixed.csv"
    src.write_bytes("客户,决策人?,阶段,预算\n甲,也许,方案演示,约20万\n乙,是,喝茶中,很多\n丙,是,已回款\n".encode())
    out = tmp_path / "o.csv"
    r = zhike("batch", str(src), "-o", str(out), *RB, "--lang", "zh")
    assert r.returncode == 1  # 丙 has one cell too few: unreadable as a row
    assert "读入 3 行 = 已判断 2 行 + 退回 1 行" in r.stderr
    rows = _table(out)
    assert "决策人?" in rows[0]["提示"] and "当作空白" in rows[0]["提示"]
    assert "阶段" in rows[1]["提示"] and "预算" in rows[1]["提示"]
    assert rows[0]["客户发展阶段"]  # the row is still classified from what could be read
