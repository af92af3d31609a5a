"""What batch classification works out once and reuses — cells read per column (Plan.read), labels and
templates of the result columns (Composer) — must give what working it out every row gives."""
from __future__ import annotations

import engine.batch.mapping as mapping
from engine.batch.mapping import build_plan
from engine.batch.results import Composer, layout, logical_columns
from engine.i18n import use
from engine.reasoning.inference import infer


def test_a_cell_read_again_gives_the_same_value_and_problem(mini_rb):
    plan = build_plan(["pace", "Budget", "Notes"], mini_rb)
    row = ["fast", "lots", "太贵了\n再想想"]
    first = plan.read(row)
    again = plan.read(list(row))
    assert repr(again) == repr(first) == repr(build_plan(["pace", "Budget", "Notes"], mini_rb).read(row))
    assert again[1] and again[1][0].column == "Budget"  # a cell that fits nothing is reported every time


def test_a_kept_list_value_is_each_rows_own(mini_rb):
    plan = build_plan(["Notes"], mini_rb)
    one, _ = plan.read(["太贵了\n再想想"])
    one.rep_notes.append("changed by the caller")
    one.facts.clear()
    two, _ = plan.read(["太贵了\n再想想"])
    assert two.rep_notes == ["太贵了", "再想想"]


def test_a_kept_problem_speaks_the_language_of_the_run(mini_rb):
    plan = build_plan(["Budget"], mini_rb)
    with use("zh"):
        zh = str(plan.read(["lots"])[1][0])
    with use("en"):
        en = str(plan.read(["lots"])[1][0])
        assert en == str(build_plan(["Budget"], mini_rb).read(["lots"])[1][0])
    assert zh != en


def test_the_cells_read_are_bounded(mini_rb, monkeypatch):
    monkeypatch.setattr(mapping, "KEPT_CELLS", 4)
    plan = build_plan(["Budget"], mini_rb)
    for i in range(30):
        prof, _ = plan.read([str(i * 1000)])
        assert prof.facts["budget"] == i * 1000
    assert len(plan._read) == 4


def test_one_composer_for_many_rows_gives_what_a_fresh_one_gives(bundled_rb, bundled):
    from engine.reasoning.profile import profile_from_dict

    enums = [f for f in bundled_rb.facts.values() if f.type == "enum" and f.values][:12]
    rows = [{"utterances": ["太贵了", "我们再比较一下"]}, {"utterances": ["预算今年已经用完了"]}, {}]
    rows += [{"facts": {f.id: v for f in enums[i::3] for v in list(f.values)[i % 2:][:1]}} for i in range(3)]
    for lang in ("zh", "en"):
        cols = layout(bundled_rb, logical_columns(bundled_rb, warnings=True), lang, labels=True, ids=True)
        kept = Composer(bundled_rb, lang, cols)
        for data in rows * 2:
            result = infer(bundled, profile_from_dict(data, bundled_rb))
            assert kept(result, "a warning") == Composer(bundled_rb, lang, cols)(result, "a warning")
