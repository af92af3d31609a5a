"""Column mapping: fact ids, labels, built-in aliases, --map files with value tables and ranges."""
from __future__ import annotations

import pytest

from engine.batch.mapping import build_plan, header_key, load_map, map_from_dict
from engine.errors import InputError


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read zhike's messages in English (tests/test_cli_lang.py covers Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")

CRM_FACTS = """
facts:
  - id: decision_role
    type: enum
    label: {zh: 对方在决策中的角色, en: Their role in the decision}
    question: {zh: 角色?, en: role?}
    values:
      - {id: decision_maker, label: {zh: 决策人, en: decision maker}}
      - {id: influencer, label: {zh: 影响者, en: influencer}}
      - {id: user, label: {zh: 使用者, en: user}}
      - {id: gatekeeper, label: {zh: 把关者, en: gatekeeper}}
  - id: has_money
    type: bool
    label: {zh: 有购买能力(M), en: Has money (M)}
    question: {zh: 钱?, en: money?}
  - id: size
    type: enum
    label: {zh: 规模, en: size}
    question: {zh: 规模?, en: size?}
    values:
      - {id: small, label: {zh: 小, en: small}}
      - {id: large, label: {zh: 大, en: large}}
"""


@pytest.fixture
def crm_rb(mini_copy):
    from engine.rules.loader import load_rulebase

    (mini_copy / "facts" / "crm.yaml").write_text(CRM_FACTS, encoding="utf-8")
    return load_rulebase(mini_copy)


def _how(plan):
    return {p.name: (p.fact.id if p.fact else None, p.how) for p in plan.plans}


def test_header_key_is_loose():
    assert header_key("Buying Role") == header_key("buying_role") == header_key(" BUYING-ROLE ")
    assert header_key("节奏") == "节奏"
    assert header_key("-") == "-"


def test_fact_ids_and_labels_map(mini_rb):
    plan = build_plan(["pace", "戒备", "Budget", "guarded", "Email"], mini_rb)
    how = _how(plan)
    assert how["pace"] == ("pace", "fact id")
    assert how["戒备"] == ("guard", "label (zh)")
    assert how["Budget"] == ("budget", "fact id")  # loose: case does not matter
    assert how["guarded"] == (None, "ignored")  # guard already comes from 戒备
    assert how["Email"] == (None, "ignored")
    assert "already comes from" in plan.plans[3].note


def test_notes_are_the_reps_and_quotes_the_customers(mini_rb):
    # who said it: a rep's note (Notes, 备注) is never read as the customer's own words
    plan = build_plan(["Notes", "备注", "客户原话", "客户说的话"], mini_rb)
    assert [p.fact.id for p in plan.mapped] == ["rep_notes", "rep_notes", "utterances", "utterances"]
    prof, problems = plan.profile(["rep: too expensive", "客户嫌贵\n下周再约", "预算不够\n再说吧", ""])
    assert not problems
    assert prof.utterances == ["预算不够", "再说吧"]
    assert prof.rep_notes == ["rep: too expensive", "客户嫌贵", "下周再约"]


def test_aliases_whose_fact_is_missing_are_skipped_with_a_reason(mini_rb):
    plan = build_plan(["Number of Employees", "Lifecycle Stage", "Job Title"], mini_rb)
    assert not plan.mapped
    notes = [p.note for p in plan.plans]
    assert "Number of Employees" in notes[0] and "no fact with that meaning" in notes[0]
    assert "Lifecycle Stage" in notes[1] and "no fact with that meaning" in notes[1]


def test_crm_aliases_translate_values(crm_rb):
    plan = build_plan(["Buying Role", "Has Budget"], crm_rb)
    assert _how(plan) == {"Buying Role": ("decision_role", "alias"), "Has Budget": ("has_money", "alias")}
    prof, _ = plan.profile(["DECISION_MAKER", "Yes"])
    assert prof.facts == {"decision_role": "decision_maker", "has_money": True}
    prof, _ = plan.profile(["INFLUENCER;DECISION_MAKER", "否"])  # HubSpot multi-checkbox: the strongest role
    assert prof.facts == {"decision_role": "decision_maker", "has_money": False}
    prof, problems = plan.profile(["BLOCKER", ""])  # a CRM value with no meaning here is unknown, not an error
    assert prof.facts == {} and not problems
    prof, problems = plan.profile(["Economic Buyer", None])  # Salesforce contact role
    assert prof.facts == {"decision_role": "decision_maker"}
    prof, problems = plan.profile(["janitor", None])
    label = crm_rb.facts["decision_role"].label.en
    assert problems == [f'column "Buying Role": \'janitor\' is not a choice of "{label}"; the choices are: '
                        "decision maker, influencer, user, gatekeeper"]


def test_invalid_values_are_reported_per_column(mini_rb):
    plan = build_plan(["pace", "guard", "budget"], mini_rb)
    prof, problems = plan.profile(["fast", "maybe", "-5"])
    assert len(problems) == 2
    assert problems[0].startswith('column "guard": "guarded" is yes or no')
    assert "range" in problems[1]
    prof, problems = plan.profile(["快", "是", "1.5万"])
    assert prof.facts == {"pace": "fast", "guard": True, "budget": 15000.0} and not problems


def test_map_file_with_values_and_ranges(mini_rb, tmp_path):
    m = tmp_path / "map.yaml"
    m.write_text("""
columns:
  客户速度: pace
  戒心:
    fact: guard
    values: {有: true, 没有: false, 说不清: null}
  Revenue:
    fact: pace
    ranges: []
  Email: ignore
""", encoding="utf-8")
    with pytest.raises(InputError, match='"pace" already comes from column "客户速度" \\(line 3\\)'):
        load_map(m, mini_rb)
    m.write_text("""
columns:
  客户速度: pace
  戒心:
    fact: guard
    values: {有: true, 没有: false, 说不清: null}
  Spend:
    fact: budget
  Pace score:
    fact: rich
    ranges:
      - {below: 50, value: false}
      - {from: 50, value: true}
  Email: ignore
""", encoding="utf-8")
    spec = load_map(m, mini_rb)
    plan = build_plan(["客户速度", "戒心", "Spend", "Pace score", "Email", "pace"], mini_rb, spec)
    how = _how(plan)
    assert how["客户速度"] == ("pace", "map file")
    assert how["pace"] == (None, "ignored")  # the map file wins over the header that is the fact id
    assert how["Email"] == (None, "ignored")
    prof, problems = plan.profile(["fast", "没有", "3k", "72", "a@b.c", "slow"])
    assert not problems
    assert prof.facts == {"pace": "fast", "guard": False, "budget": 3000.0, "rich": True}
    prof, problems = plan.profile(["fast", "说不清", "", "49.5", "", ""])
    assert prof.facts == {"pace": "fast", "rich": False}


def test_map_file_problems_are_positioned(mini_rb, tmp_path):
    m = tmp_path / "bad.yaml"
    m.write_text("columns:\n  A: paec\n  B: {fact: guard, values: {x: perhaps}}\nextra: 1\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_map(m, mini_rb)
    text = str(e.value)
    assert f"{m}:2:" in text and 'did you mean "pace"' in text
    assert 'names no fact; did you mean "pace"?' in text and '"guarded" is yes or no' in text
    assert "unknown key 'extra'" in text


def test_auto_false_maps_only_the_file(mini_rb):
    spec = map_from_dict({"auto": False, "columns": {"Speed": "pace"}}, mini_rb)
    plan = build_plan(["Speed", "guard"], mini_rb, spec)
    assert _how(plan) == {"Speed": ("pace", "map file"), "guard": (None, "ignored")}


def test_result_and_reject_columns_of_earlier_runs_are_ignored(mini_rb):
    plan = build_plan(["pace", "_row", "_error", "social_style"], mini_rb, reserved=frozenset({"social_style"}))
    assert [p.name for p in plan.mapped] == ["pace"]


def test_missing_map_columns_are_listed(mini_rb):
    spec = map_from_dict({"columns": {"Speed": "pace", "Gone": "guard"}}, mini_rb)
    assert build_plan(["Speed"], mini_rb, spec).missing_columns == ["Gone"]


def test_alias_table_is_valid_yaml_keyed_by_fact_id():
    from engine.batch.aliases import _load_alias_data

    data = _load_alias_data()
    assert "utterances" in data["aliases"]
    for fid, entry in data["aliases"].items():
        assert fid.islower() and entry["headers"], fid


def test_bundled_rulebase_aliases_map(bundled_rb):
    plan = build_plan(["Buying Role", "Notes", "Lifecycle Stage", "Job Title", "has_money", "节奏"], bundled_rb)
    how = _how(plan)
    assert how["Buying Role"] == ("decision_role", "alias")
    assert how["Notes"] == ("rep_notes", "alias")
    assert how["Lifecycle Stage"][0] is None
    # a title column: the rulebase's job title fact where it has one, else the rank read from the title
    assert how["Job Title"][0] == ("job_title" if "job_title" in bundled_rb.facts else "position_level")
    assert how["has_money"] == ("has_money", "fact id")
    assert how["节奏"] == ("pace", "label (zh)")
    plan = build_plan(["Seniority", "Lead Status", "Deal Stage", "Number of Employees", "Timeframe"], bundled_rb)
    prof, problems = plan.profile(["VP", "CONNECTED", "contractsent", "525", "3-6 months"])
    assert not problems
    assert prof.facts == {"position_level": "senior_executive", "contact_status": "active",
                          "contract_status": "sent", "buyer_size": "large", "buying_horizon": "later"}
    prof, _ = plan.profile(["owner", "Open - Not Contacted", "Closed Won", "5-25", "0-3 months"])
    assert prof.facts == {"position_level": "business_owner", "contact_status": "not_contacted",
                          "contract_status": "returned", "buyer_size": "small", "buying_horizon": "within_3_months"}


def _gives(plan):
    return {p.name: (p.fact.id if p.fact else sorted(p.multi.facts) if p.multi else None) for p in plan.plans}


def test_a_header_is_read_by_its_head_word_or_as_two_headers_run_together(bundled_rb):
    """购房预算 is a 预算 and 经纪人备注 a 备注 (a Chinese compound names its kind last); 职称/职务 and a bilingual
    阶段 Stage are two headers of one column. Known unmapped headers, and heads whose qualifier changes the
    meaning (销售渠道 is the customer's own channels, 资金来源 is not how we met), are not read this way."""
    title = "job_title" if "job_title" in bundled_rb.facts else "position_level"
    headers = ["购房预算", "经纪人备注", "带看进度", "店主原话", "职称/职务", "阶段 Stage", "运费预算 Budget", "KP (Y/N)",
               "生命周期阶段", "销售渠道", "资金来源", "装修风格", "医院等级", "商机金额(元)", "下次拜访日期"]
    gives = {h: _gives(build_plan([h], bundled_rb))[h] for h in headers}  # one at a time: one column per fact
    plan = build_plan(["商机金额"], bundled_rb)
    assert gives["购房预算"] == "has_money" and gives["运费预算 Budget"] == "has_money"
    assert gives["经纪人备注"] == "rep_notes" and gives["店主原话"] == "utterances"
    assert {"contact_status", "contract_status", "payment_status"} <= set(gives["带看进度"])
    assert gives["阶段 Stage"] == gives["带看进度"]
    assert gives["职称/职务"] == title and gives["KP (Y/N)"] == "has_authority"
    for name in ("生命周期阶段", "销售渠道", "资金来源", "装修风格", "医院等级", "商机金额(元)", "下次拜访日期"):
        assert gives[name] is None, name
    assert "deal amount" in plan.plans[0].note  # said why, for --explain-map


def test_a_known_unmapped_header_with_a_unit_in_brackets_says_why_it_is_not_used(bundled_rb):
    """商机金额(元) is 商机金额 with its unit: --explain-map gives the same reason (a deal amount, not the
    customer's budget), not "no fact has this name"."""
    notes = {p.name: p.note for p in build_plan(["商机金额(元)", "赢率(%)", "商机金额", "甲乙丙(元)"], bundled_rb).plans}
    assert notes["商机金额(元)"] == notes["商机金额"] and "deal amount" in notes["商机金额(元)"]
    assert notes["赢率(%)"] == notes["商机金额"]
    assert notes["甲乙丙(元)"] == "no fact has this name"


def test_status_columns_of_chinese_sheets_are_stages(bundled_rb):
    """跟进状态 / 客户状态 hold stage words in Chinese sheets (样机试用, 成交客户); the contact status words still work."""
    plan = build_plan(["跟进状态"], bundled_rb)
    assert plan.read(["样机试用"])[0].facts == {"contact_status": "active", "on_trial": True}
    assert plan.read(["成交客户"])[0].facts["contract_status"] == "returned"
    assert plan.read(["未联系"])[0].facts == {"contact_status": "not_contacted"}
    assert plan.read(["已失联"])[0].facts == {"contact_status": "lapsed"}
    prof, problems = plan.read(["暂不考虑"])  # not 考虑 (considering): says nothing, and no warning
    assert not prof.facts and not problems


@pytest.mark.parametrize(("header", "cell", "fact", "value"), [
    ("客户级别", "A(重点客户)", "has_need", True),  # 悟空CRM's levels: the letter before the bracket
    ("客户级别", "C(非优先客户)", "has_need", None),
    ("意向 Intent", "High", "has_need", True),
    ("意向星级", "★★★★", "has_need", True),
    ("职务", "厂长助理", "job_title", "staff_member"),  # the word that ends the title names it
    ("职务", "主任医师", "job_title", "staff_member"),
    ("职务", "总工程师", "job_title", "director"),
    ("渠道", "老客户介绍", "contact_channel", None),  # referred by an existing customer: not one itself
    ("预算", "$1500/柜", "has_money", True),
    ("预算", "1200-1500美金", "has_money", True),
    ("预算", "落地30以内", "has_money", True),
    ("预算", "15万全包", "has_money", True),
    ("预算", "10万+", "has_money", True),
    ("预算", "2千左右", "has_money", True),
    ("预算", "面议", "has_money", None),
    ("是否KP", "-", "has_authority", None),
    ("预算", "三十万左右", "has_money", True),  # Chinese numerals
    ("预算", "十到二十万", "has_money", True),
    ("意向", "60%", "has_need", True),  # a percentage: 50% and above says the need
    ("意向", "30%", "has_need", None),  # below says nothing (and is no problem)
    ("意向度", 0.8, "has_need", True),  # a percent cell as Excel keeps it
    ("意向度", 0.2, "has_need", None),
    ("意向度", 3, "has_need", None),  # a score on a scale the sheet does not say
    ("意向", "一般", "has_need", True),  # words are still words
    ("是否决策人", "要报领导", "has_authority", False),  # someone above decides
    ("是否决策人", "需请示老板", "has_authority", False),
    ("目前进展", "已看场", "contact_status", "active"),
    ("Stage", "Site Survey", "contact_status", "active"),
    ("预算", "看房子", "has_money", None),  # "it depends" says nothing, and is no problem
    ("购车预算(万)", "看车定", "has_money", None),
    ("预算", "视情况而定", "has_money", None),
    ("年度印刷预算", "按单算", "has_money", None),
    ("Budget (RMB)", "depends on project", "has_money", None),
    ("投资预算", "不方便说", "has_money", None),
    ("能否拍板", "不对", "has_authority", False),
    ("能否做主", "需跟老板商量", "has_authority", False),  # decides with someone else
    ("是否当家人", "老板娘说了算", "has_authority", False),  # someone else decides
    ("是否当家人", "我说了算", "has_authority", True),
    ("职务", "质量负责人", "job_title", "manager"),  # heads a function
    ("客户状态", "停止合作", "contact_status", "lapsed"),
])
def test_more_cells_as_sheets_write_them(bundled_rb, header, cell, fact, value):
    if fact == "job_title" and fact not in bundled_rb.facts:
        pytest.skip("this rulebase reads the rank from the title")
    plan = build_plan([header], bundled_rb)
    prof, problems = plan.read([cell])
    assert not problems, problems
    assert prof.facts.get(fact) == value


def test_a_date_is_not_read_as_an_amount(bundled_rb):
    plan = build_plan(["预算"], bundled_rb)
    prof, problems = plan.read(["2024年"])
    assert "has_money" not in prof.facts and len(problems) == 1


def test_numbered_starred_and_broken_headers_are_read_as_the_header_they_number(bundled_rb):
    """Forms and templates number their questions (1.客户单位:, 10、沟通记录, ①意向), star the required ones
    (*客户名称) and break long headers over two lines (是否\\n决策人): the header is what is left."""
    gives = {h: _gives(build_plan([h], bundled_rb))[h]
             for h in ["10.沟通记录", "6.预算（元）", "三、意向", "①客户来源", "Q2. Budget", "是否\n决策人", "*跟进记录",
                       "2024年预算", "1.5万"]}
    assert gives["10.沟通记录"] == "rep_notes" and gives["*跟进记录"] == "rep_notes"
    assert gives["6.预算（元）"] == "has_money" and gives["Q2. Budget"] == "has_money"
    assert gives["三、意向"] == "has_need" and gives["①客户来源"] == "contact_channel"
    assert gives["是否\n决策人"] == "has_authority"
    assert gives["1.5万"] is None  # a number is not a question's number
    notes = {p.name: p.note for p in build_plan(["1.客户单位:", "3.商机金额(元)"], bundled_rb).plans}
    assert "contact details" in notes["1.客户单位:"] and "deal amount" in notes["3.商机金额(元)"]


def test_a_header_that_starts_with_whom_it_is_about_is_the_header_after_it(bundled_rb):
    """对接人能否拍板 is 能否拍板 and 客户从哪里来 is 从哪里来: saying whose answer it is keeps the meaning. A
    look-alike stays what it is (客户预计金额 is the rep's deal amount, 联系人电话 contact details), and a subject
    before a word that is no header (客户经理, 客户数量) maps nothing."""
    gives = {h: _gives(build_plan([h], bundled_rb))[h]
             for h in ["对接人能否拍板", "客户从哪里来", "Client Budget", "业主预算", "客户预计金额", "联系人电话", "客户数量"]}
    assert gives["对接人能否拍板"] == "has_authority" and gives["客户从哪里来"] == "contact_channel"
    assert gives["Client Budget"] == "has_money" and gives["业主预算"] == "has_money"
    assert gives["客户预计金额"] is None and gives["联系人电话"] is None and gives["客户数量"] is None
    notes = {p.name: p.note for p in build_plan(["客户预计金额", "联系人电话"], bundled_rb).plans}
    assert "deal amount" in notes["客户预计金额"] and "contact details" in notes["联系人电话"]


def test_progress_and_funds_are_head_words_but_registered_capital_is_not_a_budget(bundled_rb):
    gives = {h: _gives(build_plan([h], bundled_rb))[h] for h in ["目前进展", "采购资金（万元）", "启动资金", "注册资金",
                                                                 "注册资本(万元)", "资金来源"]}
    assert {"contact_status", "contract_status"} <= set(gives["目前进展"])
    assert gives["采购资金（万元）"] == "has_money" and gives["启动资金"] == "has_money"
    assert gives["注册资金"] is None and gives["注册资本(万元)"] is None and gives["资金来源"] is None
    assert "registered capital" in build_plan(["注册资金"], bundled_rb).plans[0].note
    assert _gives(build_plan(["Customer Feedback"], bundled_rb))["Customer Feedback"] == "rep_notes"


def test_a_header_broken_over_lines_is_named_on_one_line(bundled_rb):
    plan = build_plan(["是否\n决策人"], bundled_rb)
    _prof, problems = plan.read(["大概吧也许"])
    assert problems and problems[0].column == "是否 决策人"
