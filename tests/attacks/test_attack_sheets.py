"""Attacks on the sheet readers, engine/tabular.py (issue 9: items 3, 4, 10, 11 and the limits of 20).

Every run goes through the real `zhike batch` (conftest's `zhike()`), with the mini
rulebase to stay fast, and checks: no traceback, the input byte-identical, and
either a refusal in one line with exit 2, or output rows + rejected rows = input
rows. Inputs are generated; the zip bombs are assembled from one compressed
megabyte repeated, so they cost milliseconds and a megabyte or two. A run that
could unpack a bomb is given a 3 GiB address-space limit, so a regression fails
the test (MemoryError) instead of taking the machine down.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import random
import resource
import string
import struct
import zlib
from pathlib import Path

import pytest

from conftest import MINI, zhike

ARGS = ("--rulebase", str(MINI))
MEMORY_CAP = 3 << 30
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


# --- running ----------------------------------------------------------------------------------

@contextlib.contextmanager
def _address_space(limit: int):
    """Children started inside get at most `limit` bytes of address space (inherited rlimit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _batch(src: Path, *extra: str, out: Path | None = None, cap: bool = False):
    """Run `zhike batch src -o out`; check no traceback and the input unchanged."""
    out = out or src.with_name("out.csv")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    with _address_space(MEMORY_CAP) if cap else contextlib.nullcontext():
        r = zhike("batch", str(src), "-o", str(out), *extra, *ARGS)
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    return r


def _refused(r, *words: str) -> str:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def _csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    csv.field_size_limit(1 << 30)
    text = path.read_bytes().decode(encoding, "surrogateescape")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def _xlsx_rows(path: Path) -> list[tuple]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))[1:]
    wb.close()
    return rows


# --- item 3: a UTF-8 line in a GBK file ------------------------------------------------------------

def _gbk_list(tmp_path: Path, utf8_line: str) -> Path:
    gbk = "编号,节奏,原话\r\n1,快,太贵了\r\n2,慢,再考虑一下\r\n".encode("gbk")
    src = tmp_path / "mixed.csv"
    src.write_bytes(gbk + utf8_line.encode("utf-8") + "4,快,好的\r\n".encode("gbk"))
    return src


def test_a_utf8_line_in_a_gbk_file_keeps_its_text(tmp_path):
    # Read as GB18030, these UTF-8 bytes are valid too: 留个电话 -> 鐣欎釜鐢佃瘽, classified on garbage.
    src = _gbk_list(tmp_path, "3,fast,留个电话\r\n")
    r = _batch(src)
    assert r.returncode == 0, r.stderr
    rows = _csv_rows(tmp_path / "out.csv")
    assert [row[:3] for row in rows] == [["1", "快", "太贵了"], ["2", "慢", "再考虑一下"], ["3", "fast", "留个电话"],
                                        ["4", "快", "好的"]]


def test_a_line_that_reads_both_ways_is_rejected_with_its_bytes_kept(tmp_path):
    # "Café" in UTF-8 is also GBK "Caf茅": both plausible, so it must not be guessed.
    src = _gbk_list(tmp_path, "3,fast,Café\r\n")
    r = _batch(src)
    assert r.returncode == 1, r.stderr
    assert len(_csv_rows(tmp_path / "out.csv")) == 3
    rejects = (tmp_path / "out.rejects.csv").read_bytes()
    assert "Café".encode() in rejects  # the line's bytes, exactly
    rej = _csv_rows(tmp_path / "out.rejects.csv", "gb18030")
    assert [(x[3], x[4]) for x in rej] == [("4", "encoding")]
    assert "UTF-8" in rej[0][5] and "GB18030" in rej[0][5]

    # A GBK line whose bytes happen to be valid UTF-8 (通 = CD A8 = U+0368) stays GBK.
    src = tmp_path / "tong.csv"
    src.write_bytes("编号,节奏,原话\r\n1,快,通\r\n2,慢,太贵了\r\n".encode("gbk"))
    r = _batch(src, out=tmp_path / "tong.out.csv")
    assert r.returncode == 0, r.stderr
    assert [x[2] for x in _csv_rows(tmp_path / "tong.out.csv")] == ["通", "太贵了"]

    # Inside a UTF-8 file a GBK line is not guessed: rejected, bytes kept, and the message says why.
    src = tmp_path / "utf8.csv"
    src.write_bytes("编号,节奏,原话\r\n1,快,太贵了\r\n2,慢,好的\r\n".encode() + "3,快,再考虑一下\r\n".encode("gbk"))
    r = _batch(src, out=tmp_path / "u.out.csv")
    assert r.returncode == 1, r.stderr
    assert len(_csv_rows(tmp_path / "u.out.csv")) == 2
    assert "再考虑一下".encode("gbk") in (tmp_path / "u.out.rejects.csv").read_bytes()
    (rej,) = _csv_rows(tmp_path / "u.out.rejects.csv")
    assert rej[4] == "encoding" and "GBK" in rej[5]


# --- item 4: a UTF-8 BOM with --encoding gbk ---------------------------------------------------------

def test_a_bom_that_contradicts_encoding_is_refused(tmp_path):
    src = tmp_path / "bom.csv"
    # Read as GBK, the BOM and "p" become 锘縫ace: the pace column was silently ignored.
    src.write_bytes(b"\xef\xbb\xbf" + b"pace,Notes\r\nfast,too expensive\r\nslow,ok\r\n")
    r = _batch(src, "--encoding", "gbk")
    _refused(r, "byte order mark", "gbk")
    assert not (tmp_path / "out.csv").exists()
    # the same file as UTF-8: the first column is pace
    r = _batch(src, "--encoding", "utf-8")
    assert r.returncode == 0, r.stderr
    out = _csv_rows(tmp_path / "out.csv")
    assert [x[:2] for x in out] == [["fast", "too expensive"], ["slow", "ok"]]
    head = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert head.startswith("pace,Notes,")


# --- item 10: XLSX bombs and giant cells -------------------------------------------------------------

_CT = ('<?xml version="1.0" encoding="UTF-8"?>'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '<Override PartName="/xl/sharedStrings.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RELS = ('<?xml version="1.0" encoding="UTF-8"?>'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         f'<Relationship Id="rId1" Type="{_R}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = (f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} xmlns:r="{_R}">'
       '<sheets><sheet name="list" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_R}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_R}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;")


def _sheet(rows: list[list[str]]) -> bytes:
    """A worksheet of inline strings; a cell given as ("xml",) is written as it is."""
    out = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>']
    for r, row in enumerate(rows, 1):
        out.append(f'<row r="{r}">')
        for c, v in enumerate(row):
            ref = f"{'ABCDEFGH'[c]}{r}"
            out.append(v[0] if isinstance(v, tuple) else
                       f'<c r="{ref}" t="inlineStr"><is><t>{_esc(v)}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


def _strings(items: list[str]) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><sst {NS}>'
            + "".join(f"<si><t>{_esc(s)}</t></si>" for s in items) + "</sst>").encode()


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _crc_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC of A+B from those of A and B (so a bomb's CRC costs no unpacking)."""
    def times(mat: list[int], vec: int) -> int:
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat: list[int]) -> list[int]:
        return [times(mat, m) for m in mat]

    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = square(odd)
    odd = square(even)
    while len2:
        even = square(odd)
        if len2 & 1:
            crc1 = times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = square(even)
        if len2 & 1:
            crc1 = times(odd, crc1)
        len2 >>= 1
    return crc1 ^ crc2


def _bomb(prefix: bytes, fill: bytes, mib: int, suffix: bytes) -> tuple[bytes, int, int]:
    """A deflate stream of prefix + fill * mib MiB + suffix: (packed, crc32, unpacked size).

    One MiB compressed after a full flush gives the same bytes every time, so the
    stream is that block repeated; its CRC is combined arithmetically.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = fill * (1 << 20)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(suffix) + c.flush()
    crc, run_crc, run_len, n = zlib.crc32(prefix), zlib.crc32(unit), len(unit), mib
    while n:  # crc of unit * mib by doubling
        if n & 1:
            crc = _crc_combine(crc, run_crc, run_len)
        n >>= 1
        if n:
            run_crc, run_len = _crc_combine(run_crc, run_crc, run_len), run_len * 2
    crc = _crc_combine(crc, zlib.crc32(suffix), len(suffix))
    return head + block * mib + tail, crc, len(prefix) + len(unit) * mib + len(suffix)


def _zip(parts: dict[str, bytes | tuple[bytes, int, int]]) -> bytes:
    """A zip written by hand: each part is its bytes, or an already deflated (packed, crc, size)."""
    out = io.BytesIO()
    central = []
    for name, part in parts.items():
        packed, crc, size = part if isinstance(part, tuple) else (_deflate(part), zlib.crc32(part), len(part))
        n = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(packed), size, len(n), 0))
        out.write(n + packed)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(packed), size,
                                   len(n), 0, 0, 0, 0, 0, offset) + n)
    directory = b"".join(central)
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory), start, 0))
    return out.getvalue()


def _xlsx(path: Path, sheet: bytes | tuple, strings: bytes | tuple | None = None) -> Path:
    parts: dict[str, bytes | tuple] = {"[Content_Types].xml": _CT.encode(), "_rels/.rels": _RELS.encode(),
                                       "xl/workbook.xml": _WB.encode(), "xl/_rels/workbook.xml.rels": _WB_RELS.encode(),
                                       "xl/worksheets/sheet1.xml": sheet,
                                       "xl/sharedStrings.xml": strings if strings is not None else _strings([])}
    path.write_bytes(_zip(parts))
    return path


_CELL_OPEN = f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'.encode()
_CELL_CLOSE = b"</t></is></c></row></sheetData></worksheet>"


@pytest.mark.parametrize(("what", "mib", "words"), [
    ("sheet", 1536, ("unpacks to 1,536 MiB", "1,024 MiB", "docs/limits.md")),   # one 1.5 GB cell
    ("sheet", 300, ("times larger than it is packed", "zip bomb")),            # under the size limit, but 1000:1
    ("strings", 200, ("unpacks to 200 MiB", "128 MiB")),                       # loaded whole by openpyxl
    ("strings", 64, ("times larger than it is packed", "zip bomb")),
])
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, what, mib, words):
    if what == "sheet":
        bomb = _xlsx(tmp_path / "bomb.xlsx", _bomb(_CELL_OPEN, b"A", mib, _CELL_CLOSE))
    else:
        sheet = _sheet([["pace"], [('<c r="A2" t="s"><v>0</v></c>',)]])
        bomb = _xlsx(tmp_path / "bomb.xlsx", sheet, _bomb(f"<sst {NS}><si><t>".encode(), b"A", mib,
                                                          b"</t></si></sst>"))
    assert bomb.stat().st_size < 2_000_000
    r = _batch(bomb, cap=True)
    _refused(r, *words)
    assert not (tmp_path / "out.csv").exists()


def _big_text(n: int) -> str:
    rnd = random.Random(7)  # letters that do not compress: a legitimate ratio, only the cell is too long
    return "".join(rnd.choice(string.ascii_letters) for _ in range(n))


def test_a_cell_over_the_limit_is_a_rejected_row(tmp_path):
    big = _big_text(200_000)
    sheet = _sheet([["编号", "节奏", "原话"], ["1", "快", "太贵了"], ["2", "快", big],
                    ["3", ("<c r=\"B4\" t=\"s\"><v>0</v></c>",), ("<c r=\"C4\" t=\"s\"><v>1</v></c>",)],
                    ["4", "慢", "好的"]])
    src = _xlsx(tmp_path / "big.xlsx", sheet, _strings(["快", "x" * 140_000]))
    r = _batch(src, cap=True)
    assert r.returncode == 1, r.stderr
    out = _csv_rows(tmp_path / "out.csv")
    assert [x[0] for x in out] == ["1", "4"]
    rej = _xlsx_rows(tmp_path / "out.rejects.xlsx")
    assert [(x[0], x[3], x[4]) for x in rej] == [("2", 3, "xlsx"), ("3", 4, "xlsx")]
    assert all("131,072" in x[5] for x in rej)
    assert rej[0][2].startswith(big[:1000])


def test_a_damaged_sheet_cell_is_a_rejected_row_not_a_crash(tmp_path):
    sheet = _sheet([["编号", "节奏"], ["1", "快"], ["2", ('<c r="B3"><v>12abc</v></c>',)],
                    ["3", ('<c r="B4" t="s"><v>99</v></c>',)], ["4", ('<c r="B5"><v>' + "9" * 5000 + "</v></c>",)],
                    ["5", "慢"]])
    src = _xlsx(tmp_path / "bad.xlsx", sheet)
    r = _batch(src)
    assert r.returncode == 1, r.stderr
    assert [x[0] for x in _csv_rows(tmp_path / "out.csv")] == ["1", "5"]
    rej = _xlsx_rows(tmp_path / "out.rejects.xlsx")
    assert [(x[0], x[2], x[3]) for x in rej] == [("2", 3, "xlsx"), ("3", 4, "xlsx"), ("4", 5, "xlsx")]
    assert "12abc" in rej[0][4] and "shared string" in rej[1][4]


def test_xml_bombs_and_impossible_rows_are_refused(tmp_path):
    # billion laughs: refused for its DTD, before any entity is expanded
    ents = '<!ENTITY a0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    lol = (f'<?xml version="1.0"?><!DOCTYPE w [{ents}]><worksheet {NS}><sheetData><row r="1">'
           '<c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>').encode()
    r = _batch(_xlsx(tmp_path / "lol.xlsx", lol), cap=True)
    _refused(r, "DTD")
    # a row a billion rows down: openpyxl would fill the gap with empty rows, for ever
    far = _sheet([["pace"], ["fast"]]).replace(
        b"</sheetData>", b'<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>slow</t></is></c></row>'
        b"</sheetData>")
    r = _batch(_xlsx(tmp_path / "far.xlsx", far))
    assert r.returncode == 2 and "1,048,576" in r.stderr, r.stderr
    # 200,000 elements nested outside the cells (random names, so no zip-bomb ratio): skipped in
    # constant memory, and the rows are still read
    rnd = random.Random(5)
    names = [f"x{rnd.getrandbits(32):08x}" for _ in range(200_000)]
    nest = "".join(f"<{n}>" for n in names) + "".join(f"</{n}>" for n in reversed(names))
    deep = _sheet([["pace"], ["fast"]]).replace(b"<sheetData>", nest.encode() + b"<sheetData>")
    r = _batch(_xlsx(tmp_path / "deep.xlsx", deep), cap=True)
    assert r.returncode == 0, r.stderr
    assert _csv_rows(tmp_path / "out.csv")[0][0] == "fast"


# --- item 11: JSONL nested 100,000 deep ----------------------------------------------------------

def test_a_deeply_nested_jsonl_line_is_that_rows_reject(tmp_path):
    lines = ['{"pace": "fast", "原话": "太贵了"}',
             '{"pace": "fast", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
             '{"pace": "slow", "x": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}",
             '{"pace": "slow", "x": ' + "[" * 60 + '"ok"' + "]" * 60 + "}"]
    src = tmp_path / "deep.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = _batch(src, out=tmp_path / "out.jsonl")
    assert r.returncode == 1, r.stderr
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["pace"] for o in out] == ["fast", "slow"]
    nested: object = "ok"
    for _ in range(60):
        nested = [nested]
    assert out[1]["x"] == nested  # under the limit: read and written back as it was
    rej = [json.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["_row"], x["_error_code"]) for x in rej] == [(2, "json"), (3, "json")]
    assert all("64" in x["_error"] for x in rej)
    assert [x["_raw"] for x in rej] == lines[1:3]  # kept as they were


# --- item 20: the CSV cell limit ---------------------------------------------------------------------

def test_a_csv_cell_over_the_limit_is_one_rejected_row(tmp_path):
    # A quoted cell of 140,000 characters over three lines. csv's own limit used to stop
    # in its middle and start over: "more" and 'stuff"' became rows of their own, one classified.
    big = "y" * 140_000
    src = tmp_path / "cell.csv"
    src.write_text(f'编号,节奏,原话\r\n1,快,太贵了\r\n2,快,"{big}\r\nmore\r\nstuff"\r\n3,慢,好的\r\n'
                   f'4,快,{"z" * 5_000_000}\r\n5,快,再考虑一下\r\n', encoding="utf-8")
    r = _batch(src)
    assert r.returncode == 1, r.stderr
    assert [x[0] for x in _csv_rows(tmp_path / "out.csv")] == ["1", "3", "5"]
    rej = _csv_rows(tmp_path / "out.rejects.csv")
    assert [(x[3], x[4]) for x in rej[:1]] == [("3", "csv")]
    assert rej[0][:3] == ["2", "快", f"{big}\r\nmore\r\nstuff"]  # the whole row, once
    assert "131,072" in rej[0][5]
    # a 5 MB line (over the 4 MiB a line may take at once) is kept, in pieces, all of it
    assert {x[3] for x in rej[1:]} == {"7"} and all(x[4] == "csv" for x in rej[1:])
    assert sum(len(x[0]) for x in rej[1:]) >= 5_000_000
