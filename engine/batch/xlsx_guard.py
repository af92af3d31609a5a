"""Opening an XLSX prospect list with openpyxl within bounds: no zip bomb, no giant cell, no crash.

A 1 MB XLSX can unpack to gigabytes, and openpyxl, even in read-only mode,
loads the shared strings whole and builds whatever element tree a part's XML
asks for. So before openpyxl sees anything:

- the zip's directory is checked: at most XLSX_MAX_PARTS parts, and for every
  part openpyxl reads, the declared unpacked size and the compression ratio
  (`check_zip`) — a bomb is refused before a byte of it is unpacked; Python's
  zipfile never unpacks more than the declared size;
- the shared strings are read by `_read_shared_strings` (streaming, no tree),
  each string cut at CELL_LIMIT characters and remembered as too long;
- every worksheet reaches openpyxl through `_SheetFilter`: a streaming expat
  pass that keeps only the cells (rows of `sheetData`), each cell's text cut
  at CELL_LIMIT, types and references checked, so openpyxl can neither build
  a huge tree nor fail half way on a bad value. What it cuts or finds wrong is
  recorded per row (`problems`), and that row becomes a rejected row;
- any other part openpyxl parses (workbook, styles, relationships ...) is at
  most XLSX_PART_LIMIT unpacked; a DTD anywhere is refused (no entity bombs).

Anything else openpyxl raises on a malformed workbook becomes one InputError.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.parsers import expat
from xml.sax.saxutils import escape

from ..errors import InputError
from ..i18n import N_, _
from .cells import CELL_LIMIT, MAX_COLUMNS

XLSX_FILE_LIMIT = 1 << 30  # bytes of an XLSX read from stdin (spooled to a temporary file first)
XLSX_SHEET_LIMIT = 1 << 30  # unpacked bytes of one worksheet's XML (streamed; this bounds the time)
XLSX_STRINGS_LIMIT = 128 << 20  # unpacked bytes of the shared strings (held in memory while reading)
XLSX_PART_LIMIT = 16 << 20  # unpacked bytes of any other part openpyxl parses whole
XLSX_RATIO_LIMIT = 100  # unpacked / packed, for a part of more than XLSX_RATIO_FROM bytes (real sheets: 5-20)
XLSX_RATIO_FROM = 1 << 20
XLSX_MAX_PARTS = 10_000  # files in the zip (a real workbook has tens)
XLSX_DIRECTORY_LIMIT = 16 << 20  # bytes of the zip's central directory
XLSX_MAX_ROWS = 1_048_576  # Excel's own limit

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else _("{n} bytes", n=format(n, ","))


def _xml_problem(e: expat.ExpatError) -> str:  # where, by position: expat's own words are English
    return _("the XML breaks at line {line}, character {col}", line=e.lineno, col=e.offset + 1)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0][:200] if text else type(e).__name__)


def _no_dtd(name: str, part: str):
    def refuse(*_args: Any) -> None:
        raise InputError(_("{name}: {part} declares a DTD, which no XLSX part has; the workbook is not read (it "
                           "could be an XML entity bomb)", name=name, part=part))
    return refuse


# --- the zip's directory ----------------------------------------------------------------------

def check_zip(fh: IO[bytes], name: str) -> set[str]:
    """Refuse a zip bomb before unpacking anything; the names of the worksheet parts.

    Checked here: the directory, and the shared strings (openpyxl loads them
    while opening). The sheet to be read is checked by `_SafeZip.check_sheet` once
    the workbook says which it is; any other part openpyxl opens is refused by
    `_SafeZip.open` when it would unpack to more than XLSX_PART_LIMIT. Parts
    nothing reads (images, pivot caches, other sheets' cells) are not limited.
    """
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    tail = min(size, 22 + 65_535)
    fh.seek(size - tail)
    data = fh.read(tail)
    i = data.rfind(b"PK\x05\x06")
    if i >= 0 and len(data) - i >= 22:
        parts, directory = struct.unpack("<HI", data[i + 10:i + 16])
        if parts > XLSX_MAX_PARTS or directory > XLSX_DIRECTORY_LIMIT:
            raise InputError(_("{name}: the workbook's zip holds {n} files in a {size} directory; an XLSX may hold "
                               "at most {limit} (docs/limits.md)", name=name, n=format(parts, ","), size=_mib(directory),
                               limit=format(XLSX_MAX_PARTS, ",")))
    fh.seek(0)
    sheets: set[str] = set()
    with zipfile.ZipFile(fh) as zf:
        types = _content_types(zf, name)
        for info in zf.infolist():
            part = info.filename
            ctype = types.get(part) or types.get("." + part.rpartition(".")[2].lower())
            if ctype == _SHEET_TYPE or "/worksheets/" in part:
                sheets.add(part)
            elif ctype == _STRINGS_TYPE:
                _check_part(info, name, XLSX_STRINGS_LIMIT, _SHARED_STRINGS)
    fh.seek(0)
    return sheets


_SHARED_STRINGS = N_("{name}: {part} unpacks to {size}; the shared strings may be at most {limit} (docs/limits.md); "
                     "save the list as CSV")
_OTHER_PART = N_("{name}: {part} unpacks to {size}; a part of this kind may be at most {limit} (docs/limits.md)")
_WORKSHEET = N_("{name}: {part} unpacks to {size}; a worksheet may be at most {limit} (docs/limits.md); save the list "
                "as CSV")


def _check_part(info: zipfile.ZipInfo, name: str, limit: int, too_large: str) -> None:
    if info.file_size > limit:
        raise InputError(_(too_large, name=name, part=info.filename, size=_mib(info.file_size), limit=_mib(limit)))
    if info.file_size > XLSX_RATIO_FROM and info.file_size > XLSX_RATIO_LIMIT * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        raise InputError(_("{name}: {part} unpacks {ratio} times larger than it is packed; more than {limit} times "
                           "is refused as a zip bomb (docs/limits.md)", name=name, part=info.filename,
                           ratio=format(ratio, ","), limit=XLSX_RATIO_LIMIT))


def _content_types(zf: zipfile.ZipFile, name: str) -> dict[str, str]:
    """[Content_Types].xml: part name (no leading /) or .extension -> content type."""
    try:
        info = zf.getinfo("[Content_Types].xml")
    except KeyError:
        return {}
    if info.file_size > XLSX_PART_LIMIT:
        raise InputError(_(_OTHER_PART, name=name, part=info.filename, size=_mib(info.file_size),
                           limit=_mib(XLSX_PART_LIMIT)))
    types: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(" ")[2]
        if local == "Override" and "PartName" in attrs:
            types[attrs["PartName"].lstrip("/")] = attrs.get("ContentType", "")
        elif local == "Default" and "Extension" in attrs:
            types["." + attrs["Extension"].lower()] = attrs.get("ContentType", "")

    p = expat.ParserCreate(namespace_separator=" ")
    p.StartElementHandler = start
    p.StartDoctypeDeclHandler = _no_dtd(name, "[Content_Types].xml")
    try:
        p.Parse(zf.read(info), True)
    except expat.ExpatError:
        return {}  # openpyxl will say what is wrong with it
    return types


# --- shared strings -----------------------------------------------------------------------------

class _Strings:
    """The workbook's shared strings, each at most CELL_LIMIT characters, and which ones were longer."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.too_long: set[int] = set()


def _read_shared_strings(src: IO[bytes], name: str, part: str) -> _Strings:
    """openpyxl's read_string_table, streaming: the text of each <si> (plain and rich-text runs, not phonetic)."""
    out = _Strings()
    stack: list[str] = []
    drop = 0
    parts: list[str] = []
    length = 0
    collecting = False

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal drop, length, collecting
        if drop:
            drop += 1
            return
        uri, _, local = tag.rpartition(" ")
        parent = stack[-1] if stack else None
        keep = parent is None or (uri == MAIN and ((parent == "sst" and local == "si")
                                                   or (parent == "si" and local in ("t", "r"))
                                                   or (parent == "r" and local == "t")))
        if not keep:
            drop = 1
            return
        stack.append(local if parent is not None else "sst")
        if local == "si" and parent == "sst":
            parts.clear()
            length = 0
        collecting = local == "t" and parent in ("si", "r")

    def end(_tag: str) -> None:
        nonlocal drop, collecting
        if drop:
            drop -= 1
            return
        local = stack.pop()
        collecting = False
        if local == "si":
            if length > CELL_LIMIT:
                out.too_long.add(len(out.strings))
            out.strings.append("".join(parts).replace("x005F_", ""))  # as openpyxl does

    def chars(data: str) -> None:
        nonlocal length
        if collecting:
            room = CELL_LIMIT - length
            if room > 0:
                parts.append(data[:room])
            length += len(data)

    p = expat.ParserCreate(namespace_separator=" ")
    p.buffer_text = True
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartDoctypeDeclHandler = _no_dtd(name, part)
    read = 0
    while True:
        data = src.read(1 << 16)
        read += len(data)
        if read > XLSX_STRINGS_LIMIT:
            raise InputError(_("{name}: {part} is larger than {size} unpacked", name=name, part=part,
                               size=_mib(XLSX_STRINGS_LIMIT)))
        try:
            p.Parse(data, not data)
        except expat.ExpatError as e:
            raise InputError(_("{name}: {part} is damaged: {why}", name=name, part=part, why=_xml_problem(e))) \
                from None
        if not data:
            return out


# --- worksheets -------------------------------------------------------------------------------

def _column(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _letters(col: int) -> str:
    s = ""
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def _int(text: str | None) -> int | None:
    """An integer attribute as openpyxl reads it ("5" or "5.0"), or None."""
    if text is None or len(text) > 20:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            v = float(text)
        except ValueError:
            return None
        return int(v) if v.is_integer() else None


class _Cell:
    __slots__ = ("col", "length", "style", "t", "type", "v")

    def __init__(self, col: int, style: str | None, type_: str):
        self.col, self.style, self.type = col, style, type_
        self.v: list[str] = []
        self.t: list[str] = []
        self.length = 0


def _text(s: str) -> str:
    return escape(s, {"\r": "&#13;"})  # a raw CR would come back as LF


class _SheetFilter(io.RawIOBase):
    """A worksheet's XML as openpyxl gets it: the cells only, each checked and at most CELL_LIMIT characters."""

    def __init__(self, src: IO[bytes], size: int, name: str, part: str, strings: _Strings):
        super().__init__()
        self._src, self._size, self._name, self._part, self._strings = src, size, name, part, strings
        self.problems: dict[int, str] = {}  # row number -> why that row cannot be used
        self.read_bytes = 0
        self._out = bytearray()
        self._done = False
        self._stack: list[str] = []
        self._drop = 0
        self._row = 0
        self._col = 0
        self._cell: _Cell | None = None
        self._into: list[str] | None = None  # where character data goes
        p = expat.ParserCreate(namespace_separator=" ")
        p.buffer_text = True
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._chars
        p.StartDoctypeDeclHandler = _no_dtd(name, part)
        self._p = p

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._out and not self._done:  # a short read is fine, and cheap for openpyxl's size probe
            data = self._src.read(1 << 16)
            self.read_bytes += len(data)
            if self.read_bytes > XLSX_SHEET_LIMIT:
                raise InputError(_("{name}: {part} is larger than {size} unpacked", name=self._name, part=self._part,
                                   size=_mib(XLSX_SHEET_LIMIT)))
            try:
                self._p.Parse(data, not data)
            except expat.ExpatError as e:
                raise self._damaged(_xml_problem(e)) from None
            self._done = not data
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        del self._out[:n]
        return n

    def close(self) -> None:
        self._src.close()
        super().close()

    def _emit(self, s: str) -> None:
        self._out += s.encode("utf-8")

    def _problem(self, message: str) -> None:
        self.problems.setdefault(self._row, message)

    def _too_long(self, ref: str) -> None:
        self._problem(_("cell {ref} has more than {limit} characters, the limit for a cell; only its first {limit} are "
                        "kept", ref=ref, limit=format(CELL_LIMIT, ",")))

    def _damaged(self, what: str) -> InputError:
        return InputError(_("{name}: the sheet {part} is damaged: {what}; open it in Excel and save it again, or "
                            "save it as CSV", name=self._name, part=self._part, what=what))

    # -- expat handlers --

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if self._drop:
            self._drop += 1
            return
        uri, _, local = tag.rpartition(" ")
        parent = self._stack[-1] if self._stack else None
        if parent is None:
            # A dimension of one cell: openpyxl's size probe stops here instead of
            # reading the whole sheet; the reader resets the dimensions anyway.
            self._emit(f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/>')
            self._stack.append("worksheet")
            return
        if uri != MAIN or (parent, local) not in _KEEP:
            self._drop = 1
            return
        self._stack.append(local)
        if local == "sheetData":
            self._emit("<sheetData>")
        elif local == "row":
            self._start_row(attrs)
        elif local == "c":
            self._start_cell(attrs)
        elif local == "v":
            self._into = self._cell.v if self._cell is not None else None
        elif local == "t":
            self._into = self._cell.t if self._cell is not None else None

    def _end(self, _tag: str) -> None:
        if self._drop:
            self._drop -= 1
            return
        local = self._stack.pop()
        if local in ("v", "t"):
            self._into = None
        elif local == "c":
            self._end_cell()
        elif local == "row":
            self._emit("</row>")
        elif local == "sheetData":
            self._emit("</sheetData>")
        elif local == "worksheet":
            self._emit("</worksheet>")

    def _chars(self, data: str) -> None:
        if self._into is None or self._cell is None or self._drop:
            return
        cell = self._cell
        room = CELL_LIMIT - cell.length
        if room > 0:
            self._into.append(data[:room])
        cell.length += len(data)

    def _start_row(self, attrs: dict[str, str]) -> None:
        if "r" in attrs:
            n = _int(attrs["r"])
            if n is None or n < 1:
                raise self._damaged(_("a row is numbered {number}", number=repr(attrs["r"][:20])))
        else:
            n = self._row + 1
        if n <= self._row:
            raise self._damaged(_("row {row} comes after row {previous}", row=format(n, ","), previous=format(self._row, ",")))
        if n > XLSX_MAX_ROWS:
            raise InputError(_("{name}: the sheet has a row {row}; a sheet has at most {limit} rows", name=self._name,
                               row=format(n, ","), limit=format(XLSX_MAX_ROWS, ",")))
        self._row, self._col = n, 0
        self._emit(f'<row r="{n}">')

    def _start_cell(self, attrs: dict[str, str]) -> None:
        col = self._col + 1
        ref = attrs.get("r")
        if ref is not None:
            m = _REF.fullmatch(ref)
            if m is None:
                self._problem(_("a cell of row {row} has the reference {ref}", row=format(self._row, ","),
                                ref=repr(ref[:20])))
            elif _column(m.group(1)) <= self._col:
                self._problem(_("cell {ref} comes after column {column}; its cells are shown in file order", ref=ref,
                                column=_letters(self._col)))
            else:
                col = _column(m.group(1))
        if col > MAX_COLUMNS:
            raise InputError(_("{name}: row {row} has a cell beyond column {column}, the last column a sheet has",
                               name=self._name, row=format(self._row, ","), column=_letters(MAX_COLUMNS)))
        self._col = col
        self._cell = _Cell(col, attrs.get("s"), attrs.get("t", "n"))

    def _end_cell(self) -> None:
        cell, self._cell = self._cell, None
        assert cell is not None
        ref = f"{_letters(cell.col)}{self._row}"
        v = "".join(cell.v)
        if cell.length > CELL_LIMIT:
            self._too_long(ref)
            self._inline(ref, "".join(cell.t) if cell.type == "inlineStr" else v)
            return
        kind = cell.type
        if kind == "inlineStr":
            self._inline(ref, "".join(cell.t))
        elif not cell.v:
            self._emit(f'<c r="{ref}"/>')
        elif kind == "s":
            i = _int(v)
            if i is None or not 0 <= i < len(self._strings.strings):
                self._problem(_("cell {ref} refers to shared string {value}, which the workbook does not have",
                                ref=ref, value=repr(v[:20])))
                self._inline(ref, v)
            else:
                if i in self._strings.too_long:
                    self._too_long(ref)
                self._emit(f'<c r="{ref}" t="s"><v>{i}</v></c>')
        elif kind == "n":
            style = cell.style
            if style is not None and not (style.isascii() and style.isdigit() and len(style) < 10):
                self._problem(_("cell {ref} has the style {style}", ref=ref, style=repr(style[:20])))
                style = None
            if len(v) <= 64 and _NUMBER.fullmatch(v):
                s = f' s="{style}"' if style else ""
                self._emit(f'<c r="{ref}"{s}><v>{v}</v></c>')
            else:
                self._problem(_("cell {ref} is marked as a number but holds {value}", ref=ref, value=repr(v[:20])))
                self._inline(ref, v)
        elif kind == "b" and v not in ("0", "1"):
            self._problem(_("cell {ref} is marked as true/false but holds {value}", ref=ref, value=repr(v[:20])))
            self._inline(ref, v)
        elif kind == "d" and not self._iso_date(v):
            self._problem(_("cell {ref} is marked as a date but holds {value}", ref=ref, value=repr(v[:20])))
            self._inline(ref, v)
        elif kind in ("b", "d", "str", "e"):
            self._emit(f'<c r="{ref}" t="{kind}"><v>{_text(v)}</v></c>')
        else:
            self._problem(_("cell {ref} has the unknown type {kind}", ref=ref, kind=repr(kind[:20])))
            self._inline(ref, v)

    def _inline(self, ref: str, text: str) -> None:
        self._emit(f'<c r="{ref}" t="inlineStr"><is><t>{_text(text)}</t></is></c>')

    @staticmethod
    def _iso_date(v: str) -> bool:
        from openpyxl.utils.datetime import from_ISO8601

        try:
            from_ISO8601(v)
        except (ValueError, TypeError, OverflowError):
            return False
        return True


# (parent, element) pairs of a worksheet that openpyxl needs for the cell values; the rest is left out
_KEEP = frozenset({("worksheet", "sheetData"), ("sheetData", "row"), ("row", "c"), ("c", "v"), ("c", "is"),
                   ("is", "t"), ("is", "r"), ("r", "t")})


class _SafeZip(zipfile.ZipFile):
    """The archive openpyxl reads from: worksheets through _SheetFilter, other XML parts bounded."""

    def __init__(self, fh: IO[bytes], name: str, sheets: set[str]):
        super().__init__(fh)
        self.name = name
        self.sheets = sheets
        self.strings = _Strings()
        self.current: _SheetFilter | None = None  # the worksheet being read

    def open(self, name: Any, mode: str = "r", pwd: bytes | None = None, **kw: Any) -> Any:  # type: ignore[override]
        if mode != "r":
            return super().open(name, mode, pwd, **kw)
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        if info.filename in self.sheets:
            self.current = _SheetFilter(super().open(info, mode, pwd, **kw), info.file_size, self.name,
                                        info.filename, self.strings)
            return self.current
        if info.file_size > XLSX_PART_LIMIT:
            raise InputError(_(_OTHER_PART, name=self.name, part=info.filename, size=_mib(info.file_size),
                               limit=_mib(XLSX_PART_LIMIT)))
        return super().open(info, mode, pwd, **kw)

    def read_strings(self, reader: Any) -> None:
        """In place of openpyxl's ExcelReader.read_strings (which builds a tree of the whole part)."""
        from openpyxl.xml.constants import SHARED_STRINGS

        ct = reader.package.find(SHARED_STRINGS)
        if ct is None:
            return
        part = ct.PartName[1:]
        info = self.getinfo(part)
        if info.file_size > XLSX_STRINGS_LIMIT:
            raise InputError(_(_SHARED_STRINGS, name=self.name, part=part, size=_mib(info.file_size),
                               limit=_mib(XLSX_STRINGS_LIMIT)))
        with zipfile.ZipFile.open(self, info) as src:
            self.strings = _read_shared_strings(src, self.name, part)
        reader.shared_strings = self.strings.strings

    def check_sheet(self, ws: Any) -> None:
        """Before reading `ws`: refuse it if it would unpack to too much or is packed like a bomb."""
        part = getattr(ws, "_worksheet_path", None)  # openpyxl's; without it, every sheet is checked
        if part in self.NameToInfo:
            self.sheets.add(part)  # read through _SheetFilter, whatever its content type says
            parts = [part]
        else:
            parts = sorted(self.sheets)
        for p in parts:
            _check_part(self.getinfo(p), self.name, XLSX_SHEET_LIMIT, _WORKSHEET)

    def fraction(self) -> float | None:
        cur = self.current
        return min(1.0, cur.read_bytes / cur._size) if cur is not None and cur._size else None

    def rows(self, ws: Any) -> Iterator[tuple[tuple[Any, ...], str | None]]:
        """The sheet's rows, numbered from 1 with gaps filled, each with why it cannot be used (or None)."""
        it = ws.iter_rows(values_only=True)
        row = 0
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about odd styles and dates on stderr
                try:
                    values = next(it)
                except StopIteration:
                    return
                except InputError:
                    raise
                except Exception as e:  # openpyxl on a damaged sheet: any exception type
                    raise InputError(_("{name}: the first sheet cannot be read after row {row} ({detail})",
                                       name=self.name, row=format(row, ","), detail=_one_line(e))) from None
            row += 1
            problem = self.current.problems.pop(row, None) if self.current is not None else None
            yield values, problem


def open_workbook(fh: IO[bytes], name: str) -> tuple[Any, _SafeZip]:
    """openpyxl's read-only workbook over a checked archive; InputError for anything unreadable."""
    from openpyxl.reader.excel import ExcelReader

    sheets = check_zip(fh, name)
    zf = None
    try:
        reader = ExcelReader(fh, read_only=True, data_only=True, keep_links=False)
        reader.archive.close()  # its own ZipFile; the file stays open (it was passed in)
        zf = _SafeZip(fh, name, sheets)
        reader.archive = zf
        reader.valid_files = zf.namelist()
        reader.read_strings = lambda: zf.read_strings(reader)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader.read()
        return reader.wb, zf
    except InputError:
        if zf is not None:
            zf.close()
        raise
    except Exception as e:  # openpyxl on a damaged workbook: any exception type
        if zf is not None:
            zf.close()
        raise InputError(_("{name}: not a readable XLSX workbook ({detail})", name=name, detail=_one_line(e))) \
            from None
