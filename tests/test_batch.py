"""`zhike batch` and the engine.batch.classify library: every row classified or rejected, none lost."""
from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MINI, ROOT, zhike

MINI_ARGS = ("--rulebase", str(MINI))
# the machine contract of earlier tests: id columns, and a cell that fits nothing rejects its row
IDS_REJECT = ("--ids", "--on-bad-value", "reject")
HEADER = ["id", "pace", "guard", "budget", "Notes", "Email"]


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read zhike's messages in English (tests/test_cli_lang.py covers Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")


def _rows(n: int, seed: int = 7) -> list[list[str]]:
    rnd = random.Random(seed)
    return [[str(i), rnd.choice(["fast", "slow", "快", ""]), rnd.choice(["yes", "no", "是", ""]),
             rnd.choice(["", "50", "150", "1.5万"]), rnd.choice(["", "预算不够", "降 10%", "hello"]),
             f"p{i}@example.com"] for i in range(n)]


def _write_csv(path: Path, rows, header=HEADER, encoding="utf-8") -> None:
    s = io.StringIO()
    w = csv.writer(s, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(s.getvalue().encode(encoding))


def _read_csv(path: Path, encoding="utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding, errors="surrogateescape"))))


# --- bad rows: rejected, counted, never dropped ---------------------------------------------

def _planted(tmp_path: Path) -> tuple[Path, set[str]]:
    """A CSV of 40 rows with a bad-encoding row, two invalid values and two wrong column counts."""
    good = _rows(40)
    lines = [",".join(HEADER).encode()]
    bad_ids = {"5", "11", "17", "23", "31"}
    for r in good:
        line = ",".join(r).encode()
        if r[0] == "5":
            line = b"5,f\xff\xfest,yes,,,x@y.z"  # bytes that are not UTF-8
        elif r[0] == "11":
            line = b"11,fast,perhaps,,,x@y.z"  # guard is yes/no
        elif r[0] == "17":
            line = b"17,fast,yes,-3,,x@y.z"  # budget below its minimum
        elif r[0] == "23":
            line = b"23,fast,yes"  # too few cells
        elif r[0] == "31":
            line = b"31,fast,yes,1,hi,x@y.z,surplus"  # too many cells
        lines.append(line)
    p = tmp_path / "planted.csv"
    p.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return p, bad_ids


def test_planted_bad_rows_go_to_rejects_and_counts_add_up(tmp_path):
    src, bad_ids = _planted(tmp_path)
    out, rej = tmp_path / "out.csv", tmp_path / "rej.csv"
    r = zhike("batch", str(src), "-o", str(out), "--rejects", str(rej), *MINI_ARGS, *IDS_REJECT)
    assert r.returncode == 1, r.stderr
    assert "40 rows in = 35 classified + 5 rejected" in r.stderr
    rows = _read_csv(out)
    assert rows[0][:len(HEADER)] == HEADER and "social_style" in rows[0]
    assert {x[0] for x in rows[1:]} == {str(i) for i in range(40)} - bad_ids
    rejected = _read_csv(rej, "utf-8")
    assert rejected[0] == [*HEADER, "_row", "_error_code", "_error"]
    by_id = {x[0]: x for x in rejected[1:]}
    assert set(by_id) == bad_ids
    code = {k: v[len(HEADER) + 1] for k, v in by_id.items()}
    assert code == {"5": "encoding", "11": "bad-value", "17": "bad-value", "23": "columns", "31": "columns"}
    assert by_id["5"][len(HEADER)] == "7"  # _row: the line in the file (header = 1)
    assert by_id["31"][len(HEADER) + 3:] == ["surplus"]  # cells past the header follow the _ columns
    assert b"f\xff\xfest" in rej.read_bytes()  # the bad bytes come back exactly as they were


def test_rejects_default_beside_the_output(tmp_path):
    src, _ = _planted(tmp_path)
    out = tmp_path / "result.csv"
    r = zhike("batch", str(src), "-o", str(out), *MINI_ARGS)
    assert r.returncode == 1
    assert (tmp_path / "result.rejects.csv").exists()
    assert "result.rejects.csv" in r.stderr


def test_max_errors_stops_and_says_where(tmp_path):
    src, _ = _planted(tmp_path)
    out, rej = tmp_path / "out.csv", tmp_path / "rej.csv"
    r = zhike("batch", str(src), "-o", str(out), "--rejects", str(rej), "--max-errors", "2", *MINI_ARGS, *IDS_REJECT)
    assert r.returncode == 1
    assert "12 rows in = 10 classified + 2 rejected" in r.stderr
    assert "--max-errors 2" in r.stderr and "not read" in r.stderr
    assert len(_read_csv(out)) == 11 and len(_read_csv(rej, "utf-8")) == 3


def test_all_good_rows_exit_0(tmp_path):
    src = tmp_path / "ok.csv"
    _write_csv(src, _rows(30))
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), *MINI_ARGS)
    assert r.returncode == 0, r.stderr
    assert "30 rows in = 30 classified + 0 rejected" in r.stderr
    assert not (tmp_path / "o.rejects.csv").exists()


def test_output_keeps_input_columns_and_adds_results(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, [["1", "fast", "no", "150", "预算不够", "=HYPERLINK(\"http://x\")"]])
    r = zhike("batch", str(src), "--lang", "en", *MINI_ARGS, *IDS_REJECT)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == HEADER + ["style", "style confidence", "style2", "style2 confidence",
                                "next best action", "reason", "questions to ask next",
                                "social_style", "social_style_confidence", "social_style2",
                                "social_style2_confidence", "missing", "rulebase_sha256"]
    out = dict(zip(rows[0], rows[1], strict=True))
    assert out["Email"] == "'=HYPERLINK(\"http://x\")"  # neutralised, input cells included
    assert out["social_style"] == "tiger" and float(out["social_style_confidence"]) > 0.5
    assert out["social_style2"] == "big"
    assert out["next best action"] == "direct"
    assert "pace=fast" in out["reason"] and "\n" not in out["reason"]
    assert len(out["rulebase_sha256"]) == 64
    # what a manager reads: class labels, confidence as a percentage, questions in words
    assert out["style"] == "tiger" and out["style confidence"].endswith("%")
    assert out["style confidence"] == f"{float(out['social_style_confidence']):.0%}"
    r = zhike("batch", str(src), "--lang", "zh", *MINI_ARGS)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][len(HEADER):] == ["风格", "风格置信度", "风格2", "风格2置信度", "下一步最佳行动", "理由", "下一步要问",
                                     "提示"]
    assert rows[1][len(HEADER):len(HEADER) + 2] == ["虎", out["style confidence"]]


def test_columns_option(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(3))
    r = zhike("batch", str(src), "--columns", "social_style,missing", "--ids", *MINI_ARGS)
    assert r.returncode == 0
    assert r.stdout.splitlines()[0] == ",".join(HEADER + ["style", "questions to ask next", "social_style",
                                                          "missing"])
    r = zhike("batch", str(src), "--columns", "social_styel", *MINI_ARGS)
    assert r.returncode == 2 and 'did you mean "social_style"' in r.stderr and "Traceback" not in r.stderr


def test_no_mapped_column_is_a_usage_error(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, [["a", "b"]], header=["Email", "Phone"])
    r = zhike("batch", str(src), *MINI_ARGS)
    assert r.returncode == 2 and "--explain-map" in r.stderr and "Traceback" not in r.stderr


def test_missing_input_is_a_usage_error(tmp_path):
    r = zhike("batch", str(tmp_path / "nope.csv"), *MINI_ARGS)
    assert r.returncode == 2 and "no such file" in r.stderr


# --- formats and streams --------------------------------------------------------------------

def test_stdin_to_stdout(tmp_path):
    s = io.StringIO()
    csv.writer(s).writerows([HEADER] + _rows(5))
    r = zhike("batch", "-", "-o", "-", *MINI_ARGS, input=s.getvalue())
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert len(rows) == 6 and rows[0][0] == "id"
    assert "output: stdout" in r.stderr


def test_jsonl_in_and_out(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": 1, "pace": "fast", "utterances": ["预算不够"]},
        {"id": 2, "guard": True, "extra": {"k": 1}},
    ]) + "\nnot json\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = zhike("batch", str(src), "-o", str(out), *MINI_ARGS)
    assert r.returncode == 1
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["id"] == 1 and lines[0]["social_style"] == "tiger" and "guard" not in lines[0]
    assert lines[1]["extra"] == {"k": 1} and lines[1]["social_style"] is None
    rej = [json.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rej == [{"_raw": "not json", "_row": 3, "_error_code": "json",
                    "_error": rej[0]["_error"]}]


def test_xlsx_in_and_out(tmp_path):
    import openpyxl

    src = tmp_path / "in.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["客户", "节奏", "预算", "备注"])
    ws.append(["张总", "快", 200, "预算不够"])
    ws.append(["李", "慢", "lots", None])
    ws.append(["=1+1", None, None, "hi"])
    ws["A4"].data_type = "s"  # text that looks like a formula, as a CRM might export it
    wb.save(src)
    out = tmp_path / "out.xlsx"
    r = zhike("batch", str(src), "-o", str(out), *MINI_ARGS, "--on-bad-value", "reject")
    assert r.returncode == 1, r.stderr
    rows = list(openpyxl.load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("客户", "节奏", "预算", "备注")
    assert rows[1][:4] == ("张总", "快", 200, "预算不够") and rows[1][4] == "tiger"
    assert rows[2][0] == "=1+1"  # stored as text: it did not become a formula
    rej = list(openpyxl.load_workbook(tmp_path / "out.rejects.xlsx").worksheets[0].iter_rows(values_only=True))
    assert rej[0][-3:] == ("_row", "_error_code", "_error") and rej[1][:2] == ("李", "慢")
    assert rej[1][4:6] == (3, "bad-value")
    # XLSX in, CSV out
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), *MINI_ARGS)
    assert _read_csv(tmp_path / "o.csv")[1][:3] == ["张总", "快", "200"]


def test_gbk_rejects_keep_the_input_encoding(tmp_path):
    src = tmp_path / "gbk.csv"
    _write_csv(src, [["1", "快", "是", "", "太贵", "x"], ["2", "快", "也许", "", "", "y"]],
               header=["编号", "节奏", "戒备", "预算", "备注", "邮箱"], encoding="gbk")
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), *MINI_ARGS, *IDS_REJECT)
    assert r.returncode == 1
    rej = (tmp_path / "o.rejects.csv").read_bytes()
    assert "也许".encode("gbk") in rej
    out = _read_csv(tmp_path / "o.csv")
    assert out[0][:2] == ["编号", "节奏"] and out[1][out[0].index("social_style")] == "tiger"


# --- --explain-map ---------------------------------------------------------------------------

def test_explain_map(tmp_path):
    src, _ = _planted(tmp_path)
    r = zhike("batch", "--explain-map", str(src), *MINI_ARGS, "--on-bad-value", "reject")
    assert r.returncode == 1, r.stderr  # rows would be rejected
    text = r.stdout
    assert "CSV, encoding utf-8, delimiter ','" in text
    assert "→ pace" in text and "fact id" in text  # the mini rulebase's English label of pace is "pace"
    assert "→ Rep's notes" in text and "usual header: the rep's own notes" in text  # Notes: the rep's words
    assert "Email" in text and "ignored: contact details" in text
    assert "4 of 6 columns give 4 facts; 2 ignored" in text and "facts no column gives: rich" in text
    assert "checked the first 40 rows: 5 would be rejected" in text
    assert "encoding (text in an unexpected encoding): 1, e.g. row 7: line 7" in text
    assert "bad-value (an answer that does not fit its fact): 2, e.g. row 13:" in text
    assert not (tmp_path / "planted.rejects.csv").exists()
    # by default a cell that fits nothing is left blank: only the unreadable rows would be rejected
    r = zhike("batch", "--explain-map", str(src), *MINI_ARGS)
    assert r.returncode == 1 and "checked the first 40 rows: 3 would be rejected" in r.stdout
    assert 'column "guard": 1 cell would be left blank, e.g. row 13:' in r.stdout
    clean = tmp_path / "clean.csv"
    _write_csv(clean, _rows(5))
    assert zhike("batch", "--explain-map", str(clean), *MINI_ARGS).returncode == 0


def test_a_bad_cell_is_left_blank_and_the_row_classified(tmp_path):
    src, _ = _planted(tmp_path)
    out, rej = tmp_path / "out.csv", tmp_path / "rej.csv"
    r = zhike("batch", str(src), "-o", str(out), "--rejects", str(rej), *MINI_ARGS)
    assert r.returncode == 1, r.stderr
    assert "40 rows in = 37 classified + 3 rejected" in r.stderr  # in = classified + rejected, always
    rows = _read_csv(out)
    by_id = {x[0]: dict(zip(rows[0], x, strict=True)) for x in rows[1:]}
    assert "perhaps" in by_id["11"]["warnings"] and "left blank" in by_id["11"]["warnings"]
    assert 'column "guard"' in by_id["11"]["warnings"]
    assert by_id["11"]["style"] == "tiger"  # pace=fast still counts
    assert by_id["17"]["warnings"] and not by_id["12"]["warnings"]
    assert {x[len(HEADER) + 1] for x in _read_csv(rej, "utf-8")[1:]} == {"encoding", "columns"}


# --- workers and resume --------------------------------------------------------------------

def test_two_workers_give_the_same_output(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(600))
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert zhike("batch", str(src), "-o", str(one), *MINI_ARGS).returncode == 0
    r = zhike("batch", str(src), "-o", str(two), "--workers", "2", *MINI_ARGS, env={"ZHIKE_BATCH_CACHE": "0"})
    assert r.returncode == 0, r.stderr
    assert one.read_bytes() == two.read_bytes()


def _zhike_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "zhike"
    return [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]


def _cells(path: Path) -> list[tuple]:
    import openpyxl

    return list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))


@pytest.mark.parametrize(("workers", "ext"), [("1", "csv"), ("2", "csv"), ("1", "xlsx")])
def test_sigkill_then_resume_is_byte_identical(tmp_path, workers, ext):
    src = tmp_path / "in.csv"
    rows = _rows(12000, seed=11)
    for i in range(0, len(rows), 997):
        rows[i][2] = "perhaps"  # some rejects, so the rejects file is resumed too
    _write_csv(src, rows)
    env = dict(os.environ, ZHIKE_BATCH_CACHE="0", ZHIKE_BATCH_CHECKPOINT_ROWS="200")
    env.pop("ZHIKE_RULEBASE", None)
    base = [*_zhike_cmd(), "batch", str(src), *MINI_ARGS, "--workers", workers, "--on-bad-value", "reject"]

    full = tmp_path / f"full.{ext}"
    subprocess.run([*base, "-o", str(full)], env=env, capture_output=True, check=False, timeout=300)

    out = tmp_path / f"out.{ext}"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    proc = subprocess.Popen([*base, "-o", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = json.loads(ckpt.read_text())["rows_done"]
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= 2000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make the input larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    part = Path(str(out) + (".part.jsonl" if ext == "xlsx" else ".part"))
    assert not out.exists() and part.exists()
    assert 2000 <= json.loads(ckpt.read_text())["rows_done"] < len(rows)

    r = subprocess.run([*base, "-o", str(out), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr  # some rows were rejected
    assert "resuming after" in r.stderr
    assert f"{len(rows):,} rows in" in r.stderr
    if ext == "xlsx":  # a zip carries timestamps: the same cells is what identical means here
        assert _cells(out) == _cells(full)
    else:
        assert out.read_bytes() == full.read_bytes()
    assert (tmp_path / "out.rejects.csv").read_bytes() == (tmp_path / "full.rejects.csv").read_bytes()
    assert not ckpt.exists() and not part.exists()


def test_resume_refuses_a_changed_input(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(50))
    out = tmp_path / "out.csv"
    ckpt = Path(str(out) + ".zhike-checkpoint.json")
    ckpt.write_text(json.dumps({"version": 1, "key": {"input_sha256": "0" * 64}}))
    r = zhike("batch", str(src), "-o", str(out), "--resume", *MINI_ARGS)
    assert r.returncode == 2 and "used a different" in r.stderr and "input content" in r.stderr
    assert "without --resume" in r.stderr
    r = zhike("batch", str(src), "--resume", *MINI_ARGS)
    assert r.returncode == 2 and "-o FILE" in r.stderr


def test_resume_without_checkpoint_starts_over(tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(20))
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), "--resume", *MINI_ARGS)
    assert r.returncode == 0 and "no checkpoint" in r.stderr


# --- the library -------------------------------------------------------------------------------

def test_classify_records(mini_compiled):
    from engine.batch.classify import RowError, classify_records

    recs = [{"pace": "fast", "Notes": "预算不够", "crm_id": 7}, {"guard": "是"}]
    out = list(classify_records(recs, compiled=mini_compiled, lang="en"))
    assert out[0]["crm_id"] == 7 and out[0]["social_style"] == "tiger" and out[0]["social_style2"] == "big"
    assert out[1]["social_style"] is None and "pace" in out[1]["missing"]
    assert list(out[0])[:3] == ["pace", "Notes", "crm_id"]
    with pytest.raises(RowError, match="row 2"):
        list(classify_records([{"pace": "fast"}, {"pace": "sideways"}], compiled=mini_compiled))
    marked = list(classify_records([{"pace": "sideways"}], compiled=mini_compiled, errors="mark"))
    assert marked[0]["_error_code"] == "bad-value" and marked[0]["social_style"] is None


def test_classify_records_with_workers_and_mapping(mini_rb):
    from engine.batch.classify import classify_records

    recs = [{"Speed": "fast" if i % 2 else "slow", "n": i} for i in range(200)]
    out = list(classify_records(recs, mini_rb, mapping={"columns": {"Speed": "pace"}}, workers=2,
                                columns=["social_style"]))
    assert [o["n"] for o in out] == list(range(200))
    assert {o["social_style"] for o in out if o["n"] % 2} == {"tiger"}
    assert set(out[0]) == {"Speed", "n", "social_style"}


def test_cache_gives_the_same_results(mini_rb, mini_compiled):
    from engine.batch.classify import classify_records

    recs = [{"pace": "fast", "Notes": "降 10%"}] * 5 + [{"pace": "slow"}] * 3
    cached = list(classify_records(recs, compiled=mini_compiled))
    plain = list(classify_records(recs, compiled=mini_compiled, cache_size=0))
    assert cached == plain


def test_a_cache_that_never_hits_is_given_up_and_one_that_hits_is_kept(mini_rb, mini_compiled, monkeypatch):
    import sys

    from engine.batch.classify import RowClassifier, Settings, select_columns

    classify = sys.modules["engine.batch.classify"]  # (engine.batch.classify is also a function's name)
    monkeypatch.setattr(classify, "CACHE_TRIAL", 8)
    settings = Settings(mini_rb, classify._load_spec(None, mini_rb), select_columns(mini_rb, None), "zh", 100)
    distinct = RowClassifier(settings, mini_compiled)
    for n in range(20):  # every row a new budget: nothing repeats
        distinct(("budget",), [float(100 + n)])
    assert (distinct.hits, distinct.misses, distinct._cache_size, len(distinct._cache)) == (0, 20, 0, 0)
    repeating = RowClassifier(settings, mini_compiled)
    for n in range(20):  # two kinds of row
        repeating(("budget",), [float(100 + n % 2)])
    assert repeating.hits == 18 and repeating._cache_size == 100
    assert distinct(("budget",), [101.0]) == repeating(("budget",), [101.0])  # the same answers either way


def test_classify_dataframe(mini_compiled):
    pd = pytest.importorskip("pandas")
    from engine.batch.classify import classify_dataframe

    df = pd.DataFrame({"pace": ["fast", None], "budget": [150.0, float("nan")]}, index=[10, 20])
    out = classify_dataframe(df, compiled=mini_compiled)
    assert list(out.index) == [10, 20]
    assert out.loc[10, "social_style"] == "tiger"


# --- with the bundled rulebase ---------------------------------------------------------------------

def test_gbk_chinese_headers_classify_without_a_map(tmp_path, bundled_rb):
    src = tmp_path / "客户.csv"
    _write_csv(src, [["张总", "快", "直来直去", "结果和效益", "是", "否", "是", "太贵了,再降30%我们考虑"],
                     ["李经理", "从容、慢", "委婉、不直接表态", "过程和细节", "", "", "", "我们再考虑考虑"]],
               header=["客户", "节奏", "直接程度", "关注重点", "有购买能力", "有决策权", "有需求", "客户原话"],
               encoding="gbk")
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), "--rulebase", str(ROOT / "rulebase"), "--ids")
    assert r.returncode == 0, r.stderr
    rows = [dict(zip(*(_read_csv(tmp_path / "o.csv")[0], row), strict=True))
            for row in _read_csv(tmp_path / "o.csv")[1:]]
    assert rows[0]["social_style"] == "tiger" and rows[0]["objection"] and rows[0]["qualification"] == "MaN"
    assert rows[1]["social_style"] == "owl" and rows[1]["objection"] == "keeps_considering"
    assert rows[0]["next best action"]


def test_hubspot_export_classifies_without_a_map(tmp_path, bundled_rb):
    header = ["Record ID", "First Name", "Last Name", "Email", "Lifecycle Stage", "Lead Status", "Job Title",
              "Seniority", "Buying Role", "Annual Revenue", "Number of Employees", "Customer Quote"]
    src = tmp_path / "hubspot-contacts.csv"
    _write_csv(src, [["101", "Wei", "Zhang", "wz@example.com", "salesqualifiedlead", "CONNECTED", "CEO", "cxo",
                      "DECISION_MAKER", "5000000", "120", "Too expensive, far too expensive"],
                     ["102", "Li", "Na", "ln@example.com", "lead", "NEW", "Buyer", "manager", "INFLUENCER;END_USER", "",
                      "25-50", "We need to think it over"]], header=header)
    explain = zhike("batch", "--explain-map", str(src), "--rulebase", str(ROOT / "rulebase"))
    assert explain.returncode == 0, explain.stderr
    for fact in ("decision_role", "utterances", "position_level", "contact_status", "buyer_size"):
        assert "→ " + bundled_rb.facts[fact].label.en in explain.stdout
    assert "Lifecycle Stage" in explain.stdout and "marketing funnel" in explain.stdout
    r = zhike("batch", str(src), "-o", str(tmp_path / "o.csv"), "--rulebase", str(ROOT / "rulebase"), "--lang", "en",
              "--ids")
    assert r.returncode == 0, r.stderr
    table = _read_csv(tmp_path / "o.csv")
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert table[0][:len(header)] == header
    assert rows[0]["objection"] == "always_too_expensive"
    assert rows[1]["objection"] == "keeps_considering"


_REAL_WORK = None


def _crash_once(chunk):
    flag = Path(os.environ["ZHIKE_TEST_CRASH_FLAG"])
    if not flag.exists():
        flag.write_text("x")
        os._exit(1)  # as a segfault in the C engine would
    return _REAL_WORK(chunk)


def test_a_worker_that_dies_is_replaced_and_its_rows_rerun(mini_rb, tmp_path, monkeypatch):
    global _REAL_WORK
    import engine.batch.classify as eb

    _REAL_WORK = eb._work
    flag = tmp_path / "crashed"
    monkeypatch.setenv("ZHIKE_TEST_CRASH_FLAG", str(flag))
    monkeypatch.setattr(eb, "_work", _crash_once)  # fork: the workers see the patched function
    recs = [{"pace": "fast", "n": i} if i % 3 else {"pace": "slow", "guard": "yes", "n": i} for i in range(500)]
    out = list(eb.classify_records(recs, mini_rb, workers=2, columns=["social_style"]))
    assert flag.exists()
    assert [o["n"] for o in out] == list(range(500))
    assert [o["social_style"] for o in out] == ["tiger" if i % 3 else None for i in range(500)]
