"""Issue 14's acceptance criterion on sheets nobody tuned on: other trades, other header styles, no --map.

"I will run sheets you have not seen, from other trades and with other header styles (title and note rows
above the header, blank rows, trailing empty columns, Y/N and ranges like "30-50" in cells): each must come
out with no row rejected and at least 80% of rows with a next best action."

tests/fixtures/sheets_heldout/ holds such sheets (make_heldout.py, frozen: generated once and committed;
see its docstring). They are HELD OUT: do not tune aliases or cell readers to one of their cells — a
failure here is a general gap, to be fixed in a general way and then checked on a sheet the fix never saw.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, zhike

HELDOUT = FIXTURES / "sheets_heldout"
RB = ("--rulebase", str(ROOT / "rulebase"))

# sheet -> prospects in it (title, note and blank rows are not prospects)
SHEETS = {
    # batch 1: measured before any fix
    "machinery_gbk.csv": 34,  # GBK, title + fill-in note + blank row, trailing empty columns, KP Y/N, 万 ranges
    "saas_xiaoshouyi.xlsx": 32,  # 销售易 export: merged title, export note, √/✓/×, "1,000,000", date cells
    "insurance_utf8bom.csv": 36,  # UTF-8 BOM, 纷享销客 style, A类/B类, 是/否/待定, yearly premium ranges
    "training_wukong.xlsx": 30,  # 悟空CRM: three rows above the header, "A(重点客户)", Y/N/-/?, blank rows
    "realestate_gbk.csv": 38,  # GBK, "300-400万", "总价200左右", viewing progress as the stage
    "medical_fenxiang.xlsx": 28,  # 纷享销客 two-level header (merged groups above), 职称/职务, 关键人 √
    # batch 2: written after the first fixes
    "car_dealer_dms.xlsx": 33,  # dealer DMS: H/A/B/C levels, "落地30以内", showroom visits, test drives
    "food_wholesale_wps.txt": 30,  # WPS tab-separated GBK text: 身份, 是否当家人, 合作情况, shop kinds
    "logistics_bilingual.csv": 27,  # bilingual headers ("阶段 Stage"), "$1500/柜", High/Medium/Low
    # batch 3: written after the second fixes
    "home_renovation.xlsx": 26,  # decor style (not personality), "15万全包", 意向星级 ★★★, site stages
    "printing_gbk.csv": 28,  # GBK, three rows above the header, 是否有采购权 有/无, 怎么认识的
    # batch 4: written after the third fixes, measured once as written (rows in / rejected / with an action):
    # 1 of 6 passed. chemical 32/0/31 (the 合计 row read as a prospect); hotel 35/0/19 = 54% (numbered
    # question headers unread, 三十万左右); beauty 5 rows (the hidden dropdown sheet read instead of the data);
    # fertiliser 35/0/34 (the 备注说明 row read as a prospect); security 29/0/29 = 100% (passed); pharma 34/0/32
    # (合计 and 备注说明 rows read as prospects)
    "chemical_dingtalk.xlsx": 31,  # 钉钉 CRM: *starred headers, line breaks and （万元） in headers, 意向度 as 0%
    #                                cells, ✔/✘, Excel serial dates, a 合计 row under the table
    "hotel_wecom_form.csv": 35,  # 企业微信 收集表: "1.客户单位:", "7.对接人能否拍板" 对/不对, "三十万左右", "30~50桌"
    "beauty_feishu.xlsx": 37,  # 飞书多维表格: a hidden first sheet of dropdown lists, TRUE/FALSE cells, S/A/B/C
    "fertiliser_kingdee.xlsx": 34,  # 金蝶 引出: field keys (FNumber …) above the captions, 能否做主 有/无, a 备注说明 row
    "security_english.csv": 29,  # English headers, Y/N/TBD, "30-50k", Probability (%) (the rep's, unmapped)
    "pharma_yongyou_gbk.csv": 32,  # 用友 GBK: line breaks in headers, 是的/不是/说不准, 意向 "60%", 合计 + 备注说明 rows
}


def _table(path: Path) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_heldout_sheets_are_all_here():
    on_disk = {p.name for p in HELDOUT.iterdir() if p.suffix in (".csv", ".xlsx", ".txt")}
    assert on_disk == set(SHEETS)


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_a_heldout_sheet_classifies_without_a_map(tmp_path, name):
    out, summary = tmp_path / "out.csv", tmp_path / "summary.html"
    r = zhike("batch", str(HELDOUT / name), "-o", str(out), "--summary", str(summary), "--lang", "zh", *RB)
    n = SHEETS[name]
    assert r.returncode == 0, r.stderr
    assert f"读入 {n} 行 = 已判断 {n} 行 + 退回 0 行" in r.stderr, r.stderr  # every prospect, none rejected
    rows = _table(out)
    assert len(rows) == n
    with_action = sum(1 for row in rows if row["下一步最佳行动"])
    assert with_action >= 0.8 * n, f"{name}: {with_action}/{n} rows with a next best action"
    # Chinese result columns a manager reads, no machine ids
    for header in ("社交风格(TOPK)", "客户发展阶段", "下一步最佳行动", "理由", "下一步要问", "提示"):
        assert header in rows[0], header
    assert "next_best_action" not in rows[0] and "social_style" not in rows[0] and "rulebase_sha256" not in rows[0]
    stages = {row["客户发展阶段"] for row in rows} - {""}
    assert stages and all(not s.isascii() for s in stages)
    assert summary.exists() and "<svg" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "header_row", "mapped"), [
    ("machinery_gbk.csv", 4, {"是否KP", "跟进状态", "沟通风格", "渠道", "客户类型"}),
    ("medical_fenxiang.xlsx", 2, {"职称/职务", "关键人", "项目阶段", "客户原话(摘录)", "信息来源"}),
    ("realestate_gbk.csv", 3, {"购房预算", "带看进度", "客户说法", "经纪人备注"}),
    ("logistics_bilingual.csv", 3, {"职位 Title", "KP (Y/N)", "阶段 Stage", "运费预算 Budget", "意向 Intent"}),
    ("home_renovation.xlsx", 2, {"装修预算", "客户阶段", "意向星级", "客户原话", "来源"}),
    ("chemical_dingtalk.xlsx", 1, {"是否关键人", "客户阶段", "意向度", "跟进记录", "客户来源", "联系人职务"}),
    ("hotel_wecom_form.csv", 1, {"6.预算（元）", "7.对接人能否拍板", "8.目前进展", "10.沟通记录", "11.客户从哪里来"}),
    ("beauty_feishu.xlsx", 1, {"投资预算", "意向等级", "跟进阶段", "客户反馈", "线索来源"}),
    ("fertiliser_kingdee.xlsx", 2, {"身份", "能否做主", "采购资金（万元）", "客户分类", "合作进度", "拜访小结"}),
    ("security_english.csv", 3, {"Job Title", "Decision Maker (Y/N)", "Budget (RMB)", "Stage", "Customer Feedback"}),
    ("pharma_yongyou_gbk.csv", 3, {"是否\n决策人", "意向", "客户状态", "拜访小结", "客户反馈"}),
])
def test_heldout_headers_are_found_and_mapped(bundled_rb, name, header_row, mapped):
    from engine.batch.mapping import build_plan, header_known
    from engine.batch.tabular import open_table

    with open_table(str(HELDOUT / name), None, known=header_known(bundled_rb)) as t:  # as `zhike batch` opens it
        assert t.header_row == header_row
        plan = build_plan(t.columns, bundled_rb)
    got = {p.name for p in plan.mapped}
    assert mapped <= got, mapped - got
    # a column that only looks like a known one is left alone: a deal amount is not the customer's budget,
    # a decor style is not the customer's personality
    assert not {"预计金额(万)", "商机金额(元)", "赢率", "装修风格", "医院等级", "Probability (%)", "年采购额\n（万元）",
                "月采购额\n(元)", "年用肥量（吨）"} & got


def test_rows_under_the_table_are_named_by_the_run_and_the_dry_run(tmp_path):
    """A 合计 row and a note under the table are not prospects: said, never silently dropped."""
    sheet = str(HELDOUT / "pharma_yongyou_gbk.csv")
    r = zhike("batch", sheet, "-o", str(tmp_path / "out.csv"), "--lang", "zh", *RB)
    assert r.returncode == 0, r.stderr
    assert "表格下面的 2 行不是客户" in r.stderr and "合计" in r.stderr, r.stderr
    r = zhike("batch", sheet, "--explain-map", "--lang", "zh", *RB)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "表格下面的 2 行不是客户" in r.stdout, r.stdout
