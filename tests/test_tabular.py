"""Readers and writers of prospect lists: encodings, bad rows, formula injection, XLSX and JSONL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from engine.batch.tabular import (
    ABSENT,
    CsvWriter,
    JsonlWriter,
    XlsxWriter,
    cell_text,
    detect_encoding,
    format_for,
    neutralise,
    open_table,
    sniff_format,
    spool_to_xlsx,
)
from engine.errors import InputError


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read zhike's messages in English (tests/test_cli_lang.py covers Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")


def _csv_bytes(rows, encoding="utf-8", bom=False) -> bytes:
    s = io.StringIO()
    csv.writer(s, lineterminator="\r\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + s.getvalue().encode(encoding)


def _read(path, fmt=None, encoding=None):
    with open_table(str(path), fmt, encoding) as r:
        return r, list(r)


# --- encodings -------------------------------------------------------------------------

def test_detects_utf8_bom_and_gbk():
    assert detect_encoding("节奏,pace\n快,fast\n".encode(), True) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + "节奏\n".encode(), True) == "utf-8-sig"
    assert detect_encoding("节奏,客户原话\n快,太贵了\n".encode("gbk"), True) == "gb18030"
    assert detect_encoding(b"a,b\n1,2\n", True) == "utf-8"


def test_utf8_with_a_few_bad_lines_stays_utf8():
    good = "客户,节奏\n张,快\n李,慢\n王,快\n".encode()
    assert detect_encoding(good + b"bad,\xff\xfe\n", True) == "utf-8"


def test_gbk_file_reads_as_chinese(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes(_csv_bytes([["客户", "节奏"], ["张总", "快"]], "gbk"))
    r, recs = _read(p)
    assert r.encoding == "gb18030"
    assert r.columns == ["客户", "节奏"]
    assert recs[0].values == ["张总", "快"] and recs[0].error_code is None


def test_bom_is_not_part_of_the_first_header(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(_csv_bytes([["pace", "guard"], ["fast", "yes"]], bom=True))
    r, recs = _read(p)
    assert r.columns == ["pace", "guard"] and r.encoding == "utf-8-sig"
    assert recs[0].values == ["fast", "yes"]


def test_explicit_encoding_and_unknown_encoding(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(_csv_bytes([["节奏"], ["快"]], "gbk"))
    _r, recs = _read(p, encoding="gbk")
    assert recs[0].values == ["快"]
    with pytest.raises(InputError, match="unknown encoding"):
        _read(p, encoding="klingon")


# --- bad rows are records, not failures ------------------------------------------------------

def test_bad_bytes_and_wrong_column_count_become_error_records(tmp_path):
    p = tmp_path / "bad.csv"
    data = _csv_bytes([["id", "pace"], ["1", "fast"]]) + b"2,f\xffst\r\n" + b"3,fast,extra\r\n4\r\n" + \
        _csv_bytes([["5", "slow"]])
    p.write_bytes(data)
    _r, recs = _read(p)
    assert [(x.row, x.error_code) for x in recs] == [(2, None), (3, "encoding"), (4, "columns"), (5, "columns"),
                                                    (6, None)]
    assert "\\xff" in recs[1].error
    assert recs[2].values == ["3", "fast", "extra"]


def test_blank_lines_are_not_rows_and_multiline_cells_keep_their_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b'id,notes\r\n\r\n1,"two\r\nlines"\r\n,\r\n2,x\r\n')
    _r, recs = _read(p)
    assert [(x.row, x.values) for x in recs] == [(3, ["1", "two\r\nlines"]), (6, ["2", "x"])]


def test_unterminated_quote_is_one_rejected_record_and_reading_goes_on(tmp_path):
    import csv as _csv

    p = tmp_path / "q.csv"
    huge = "x" * (_csv.field_size_limit() + 10)
    p.write_text(f'id,notes\n1,ok\n2,"{huge}\n3,ok\n', encoding="utf-8")
    _r, recs = _read(p)
    codes = [x.error_code for x in recs]
    assert codes[0] is None and "csv" in codes
    assert sum(len(x.raw or "") for x in recs) >= len(huge)  # nothing of the bad row is lost


def test_semicolon_and_tab_delimiters(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("pace;guard\nfast;yes\n", encoding="utf-8")
    r, recs = _read(p)
    assert r.delimiter == ";" and recs[0].values == ["fast", "yes"]
    t = tmp_path / "t.tsv"
    t.write_text("pace\tguard\nfast\tyes\n", encoding="utf-8")
    r, recs = _read(t)
    assert r.delimiter == "\t" and recs[0].values == ["fast", "yes"]


def test_empty_input_is_an_input_error(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"\r\n\r\n")
    with pytest.raises(InputError, match="empty"):
        _read(p)


def test_formats_by_extension_and_sniffing():
    assert format_for("a.CSV", None, "input") == "csv"
    assert format_for("a.xlsx", None, "input") == "xlsx"
    assert format_for("a.jsonl", None, "input") == "jsonl"
    assert format_for("-", None, "input") is None
    assert format_for("a.dat", "csv", "input") == "csv"
    with pytest.raises(InputError, match="--input-format"):
        format_for("a.dat", None, "input")
    assert sniff_format(b"PK\x03\x04...") == "xlsx"
    assert sniff_format(b'{"a": 1}\n') == "jsonl"
    assert sniff_format(b"a,b\n") == "csv"


# --- formula injection and escaping --------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://evil","click")'])
def test_formula_cells_get_an_apostrophe(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["normal", "a=b", "", "'already", "客户=老虎"])
def test_other_cells_are_unchanged(cell):
    assert neutralise(cell) == cell


def test_csv_writer_neutralises_every_cell_and_escapes():
    buf = io.BytesIO()
    w = CsvWriter(buf, ["=name", "notes"])
    w.write(['=cmd|"/c calc"!A1', 'say "hi", then\nleave'])
    w.write([None, 1.0])
    w.close()
    rows = list(csv.reader(io.StringIO(buf.getvalue().decode())))
    assert rows[0] == ["'=name", "notes"]
    assert rows[1] == ['\'=cmd|"/c calc"!A1', 'say "hi", then\nleave']
    assert rows[2] == ["", "1"]


def test_cell_text():
    assert cell_text(True) == "TRUE"
    assert cell_text(2.5) == "2.5"
    assert cell_text(3.0) == "3"
    assert cell_text(dt.datetime(2024, 5, 1, 9, 30)) == "2024-05-01 09:30:00"
    assert cell_text(dt.datetime(2024, 5, 1)) == "2024-05-01"  # an XLSX date cell: the day, as Excel shows it
    assert cell_text(["a", "b"]) == '["a", "b"]'
    assert cell_text(ABSENT) == ""


# --- XLSX --------------------------------------------------------------------------------

def test_xlsx_round_trip(tmp_path):
    p = tmp_path / "a.xlsx"
    w = XlsxWriter(str(p), ["客户", "budget", "when", "formula"])
    w.write(["张总", 1500, dt.datetime(2024, 1, 2, 3, 4), "=1+1"])
    w.write([None, 2.5, None, "text"])
    w.close()
    r, recs = _read(p)
    assert r.columns == ["客户", "budget", "when", "formula"]
    assert recs[0].values == ["张总", 1500, dt.datetime(2024, 1, 2, 3, 4), "=1+1"]  # text, not a formula
    assert recs[1].values == [None, 2.5, None, "text"]
    import openpyxl

    ws = openpyxl.load_workbook(p).worksheets[0]
    assert ws["D2"].data_type == "s"


def test_xlsx_extra_cells_are_a_bad_row_and_empty_rows_are_skipped(tmp_path):
    import openpyxl

    p = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["pace", "guard"])
    ws.append(["fast", "yes"])
    ws.append([None, None])
    ws.append(["slow", "no", "surprise"])
    wb.save(p)
    _r, recs = _read(p)
    assert [(x.row, x.error_code) for x in recs] == [(2, None), (4, "columns")]


def test_spool_to_xlsx(tmp_path):
    from engine.batch.tabular import SpoolWriter

    spool = tmp_path / "s.jsonl"
    with open(spool, "wb") as fh:
        w = SpoolWriter(fh)
        w.write(["a", "b"])
        w.write([dt.date(2024, 2, 3), 7])
        w.close()
    out = tmp_path / "s.xlsx"
    spool_to_xlsx(spool, str(out))
    r, recs = _read(out)
    assert r.columns == ["a", "b"] and recs[0].values[1] == 7


# --- JSONL -------------------------------------------------------------------------------

def test_jsonl_reads_objects_and_rejects_the_rest(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"pace": "fast", "utterances": ["too expensive"]}\n\n[1, 2]\nnot json\n'
                  b'{"guard": true}\n{"pace": "f\xffst"}\n')
    r, recs = _read(p)
    assert r.columns == ["pace", "utterances", "guard"]
    assert recs[0].values == ["fast", ["too expensive"], ABSENT]
    assert [x.error_code for x in recs] == [None, "json", "json", None, "encoding"]
    assert recs[2].raw == "not json"
    assert recs[3].values == [ABSENT, ABSENT, True]


def test_jsonl_writer_keeps_absent_keys_absent():
    buf = io.BytesIO()
    w = JsonlWriter(buf, ["a", "b", "c"])
    w.write(["x", ABSENT, 0.5])
    w.write([], raw="not json", extra={"_row": 3})
    w.close()
    lines = [json.loads(x) for x in buf.getvalue().decode().splitlines()]
    assert lines == [{"a": "x", "c": 0.5}, {"_raw": "not json", "_row": 3}]


# --- the edges of a table: rows under it, hidden sheets ------------------------------------

def test_a_total_row_and_a_note_under_the_table_are_not_prospects(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(_csv_bytes([["客户", "预算", "备注"], ["甲", "5", "x"], ["合计", "5", ""], ["乙", "7", ""],
                              ["Total Solutions", "", "a prospect whose name starts like a total"],
                              ["合计", "12", ""], [], ["备注说明:预算单位万元", "", ""]], "gbk"))
    r, rows = _read(p)
    assert [x.values[0] for x in rows] == ["甲", "合计", "乙", "Total Solutions"]  # a 合计 row mid-table stays
    assert [row for row, _text in r.below] == [6, 8]
    assert any("under the table" in n for n in r.notes)


def test_a_one_cell_row_that_is_no_note_stays_a_prospect(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(_csv_bytes([["客户", "预算"], ["甲", "5"], ["说明书印刷厂", ""], ["合计家居城", "8"]]))
    r, rows = _read(p)
    assert [x.values[0] for x in rows] == ["甲", "说明书印刷厂", "合计家居城"] and not r.below


def test_xlsx_footer_rows_and_a_hidden_first_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    lists = wb.active
    lists.title = "下拉选项"
    lists.append(["意向", "阶段"])
    lists.sheet_state = "hidden"
    ws = wb.create_sheet("客户")
    ws.append(["客户", "意向度", "阶段"])
    ws.append(["甲", 0.6, "报价"])
    ws.append(["合计", 0.6, None])
    p = tmp_path / "t.xlsx"
    wb.save(p)
    r, rows = _read(p)
    assert r.columns == ["客户", "意向度", "阶段"] and [x.values[0] for x in rows] == ["甲"]
    assert r.below == [(3, "合计 0.6")]
    assert any("not hidden" in n for n in r.notes)
    with open_table(str(p), None, sheet="1") as chosen:  # --sheet still reaches the hidden one
        assert chosen.columns == ["意向", "阶段"]
