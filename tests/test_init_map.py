"""`zhike batch INPUT --init-map FILE`: a commented mapping for this sheet; edit it, pass it to --map."""
from __future__ import annotations

import csv
import io

from conftest import FIXTURES, ROOT, zhike

SHEET = FIXTURES / "sheets" / "office_follow_up_gbk.csv"
RB = ("--rulebase", str(ROOT / "rulebase"))


def _table(path) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_init_map_describes_every_header_and_the_values_seen(tmp_path):
    m = tmp_path / "map.yaml"
    r = zhike("batch", str(SHEET), "--init-map", str(m), *RB, "--lang", "zh")
    assert r.returncode == 0, r.stderr
    assert "--map" in r.stderr
    text = m.read_text(encoding="utf-8")
    for header in ("序号", "客户名称", "职位", "预算", "决策人?", "客户说的话", "阶段", "客户性格", "意向程度", "备注"):
        assert f'"{header}"' in text, header
    assert '"序号": ignore' in text and "不用" in text  # not mapped, and why
    assert "fact: has_authority" in text and '"不确定": null' in text
    assert '"Y": true' in text and '"N": false' in text
    assert "fact: rep_notes" in text  # 备注 is the rep's, never the customer's words
    assert '"已回款": {contact_status: "active", contract_status: "returned", payment_status: "paid"}' in text
    assert "常见表头" in text  # why: a usual header


def test_unknown_values_are_marked_and_closest_facts_named(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("客户,阶段,客户态度,节奏快慢\n甲,已回款,戒备心强,快\n乙,喝茶中,坦率开放,慢\n丙,方案演示,戒备心强,快\n",
                   encoding="utf-8")
    m = tmp_path / "map.yaml"
    assert zhike("batch", str(src), "--init-map", str(m), *RB, "--lang", "en").returncode == 0
    text = m.read_text(encoding="utf-8")
    assert '"喝茶中": null  # ?? not understood' in text
    assert "fact: guardedness" in text and "by its values" in text  # 客户态度: its values are guardedness answers
    assert "closest facts:" in text and "Pace" in text  # 节奏快慢 is not a name; the closest fact is named


def test_init_map_edit_map_round_trip(tmp_path):
    m = tmp_path / "map.yaml"
    assert zhike("batch", str(SHEET), "--init-map", str(m), *RB).returncode == 0
    # the manager edits it: 不确定 in the 决策人 column means "no" here, and personality is not to be used
    text = m.read_text(encoding="utf-8")
    assert '      "不确定": null' in text
    text = text.replace('      "不确定": null', '      "不确定": false')
    start = text.index('  "客户性格":')
    end = text.index("\n  #", start)
    text = text[:start] + '  "客户性格": ignore' + text[end:]
    m.write_text(text, encoding="utf-8")
    plain, mapped = tmp_path / "plain.csv", tmp_path / "mapped.csv"
    assert zhike("batch", str(SHEET), "-o", str(plain), *RB, "--ids").returncode == 0
    r = zhike("batch", str(SHEET), "-o", str(mapped), "--map", str(m), *RB, "--ids")
    assert r.returncode == 0, r.stderr
    a, b = _table(plain), _table(mapped)
    assert len(a) == len(b) == 30
    unsure = [i for i, row in enumerate(a) if row["决策人?"] == "不确定"]
    assert unsure
    for i in unsure:
        assert "有决策权(A)=否" in b[i]["reason"] or b[i]["qualification"] != a[i]["qualification"] or \
            b[i]["missing"] != a[i]["missing"]
        assert "has_authority" not in b[i]["missing"].split(", ")  # now known
    # personality ignored: styles only from what else the sheet says
    assert any(x["social_style"] for x in a) and not any(x["social_style"] for x in b)
    # an unedited run with the generated map gives the same results as no map at all
    m2 = tmp_path / "m2.yaml"
    assert zhike("batch", str(SHEET), "--init-map", str(m2), *RB).returncode == 0
    same = tmp_path / "same.csv"
    assert zhike("batch", str(SHEET), "-o", str(same), "--map", str(m2), *RB, "--ids").returncode == 0
    assert [r["qualification"] for r in _table(same)] == [r["qualification"] for r in a]
    assert [r["pipeline_stage"] for r in _table(same)] == [r["pipeline_stage"] for r in a]


def test_init_map_never_writes_over_a_file(tmp_path):
    m = tmp_path / "map.yaml"
    m.write_text("# my edits\n", encoding="utf-8")
    r = zhike("batch", str(SHEET), "--init-map", str(m), *RB, "--lang", "en")
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr
    assert m.read_text(encoding="utf-8") == "# my edits\n"
    r = zhike("batch", str(SHEET), "--init-map", str(SHEET), *RB, "--lang", "en")
    assert r.returncode == 2  # never the input
