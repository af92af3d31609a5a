"""Lines of a text file, read within bounds, with the encoding decided line by line where a file mixes them.

`ByteLines` splits a byte stream into physical lines the way Python's
newline="" text mode does (at \\n, \\r\\n or \\r, the ends kept), but never holds
more than `limit` bytes of one line: a longer line comes out in pieces, so a
file without line breaks cannot fill the memory.

`LineDecoder` turns each line into text. Which encodings are mixed-up-safe:

- UTF-8 can be recognised line by line. Its multi-byte sequences follow strict
  rules, so Chinese text in GBK/GB18030 is almost never valid UTF-8, while
  Chinese text in UTF-8 is. In a file that is GBK/GB18030 (detected or given
  with --encoding), a line that is valid UTF-8 and not valid GB18030 is read as
  UTF-8; so is one valid both ways when the UTF-8 reading is plausible text and
  the GB reading contains characters outside GB2312 (what UTF-8 bytes misread
  as GBK look like: 留个电话 -> 鐣欎釜鐢佃瘽). A line valid both ways whose two
  readings both look like text is ambiguous: it is not guessed, the row is
  rejected (code `encoding`) and kept byte for byte in the rejects file.
- GBK/GB18030 cannot be recognised inside a UTF-8 file: GB18030 decodes almost
  any pair of bytes, so a Latin-1 or Big5 line would silently become wrong
  Chinese. In a UTF-8 file a line that is not UTF-8 is rejected (code
  `encoding`, its bytes kept), and the message says when it reads as GB18030.
- UTF-16/UTF-32 (with a BOM) and any other encoding given with --encoding are
  read as one encoding for the whole file; they cannot be mixed.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from typing import IO

from ..errors import InputError
from ..i18n import _

GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312"})
# Encodings in which the bytes \r and \n only ever mean a line end (never part of
# a multi-byte character), so a file can be split into lines before decoding.
LINE_SAFE = frozenset({"utf-8", "utf-8-sig"}) | GB_FAMILY

WHOLE, FIRST_PIECE, PIECE = 0, 1, 2  # a whole line; the first / a later piece of a line over the limit
ANY_EOL = re.compile(rb"\r\n?|\n")
LF = re.compile(rb"\n")
_READ = 1 << 16


class ByteLines:
    """Physical lines of a byte stream, each at most `limit` bytes: (bytes, WHOLE | FIRST_PIECE | PIECE)."""

    def __init__(self, raw: IO[bytes], limit: int, eol: re.Pattern[bytes] = ANY_EOL):
        self._raw = raw
        self._limit = limit
        self._eol = eol
        self._buf = b""
        self._pos = 0  # where the next line starts in _buf
        self._scan = 0  # where to look for the next line end (before it there is none)
        self._eof = False
        self._long = False  # inside a line that is coming out in pieces

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        return self

    def __next__(self) -> tuple[bytes, int]:
        while True:
            buf, pos = self._buf, self._pos
            m = self._eol.search(buf, self._scan)
            if m is not None and m.end() - pos <= self._limit:
                if m.group() == b"\r" and m.end() == len(buf) and not self._eof:
                    self._scan = m.start()  # maybe the first half of \r\n: read on
                else:
                    self._pos = self._scan = m.end()
                    return self._line(buf[pos:m.end()])
            elif len(buf) - pos >= self._limit:
                end = pos + self._limit
                self._pos = self._scan = end
                kind = PIECE if self._long else FIRST_PIECE
                self._long = True
                return buf[pos:end], kind
            elif m is None:
                self._scan = len(buf)
            if self._eof:
                if pos < len(buf):
                    self._pos = self._scan = len(buf)
                    return self._line(buf[pos:])
                raise StopIteration
            data = self._raw.read(_READ)
            if not data:
                self._eof = True
            self._buf = buf[pos:] + data
            self._scan -= pos
            self._pos = 0

    def _line(self, data: bytes) -> tuple[bytes, int]:
        kind = PIECE if self._long else WHOLE
        self._long = False
        return data, kind


# --- the file's encoding --------------------------------------------------------------

def detect_encoding(sample: bytes, complete: bool) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM) or GB18030, from a sample of the file.

    Each line with non-ASCII bytes votes: for UTF-8 when it is valid UTF-8,
    for GB18030 when it is not but is valid GB18030 (a superset of GBK, which
    Chinese Excel writes). GB18030 wins only with more votes, so a UTF-8 file
    with a few bad lines stays UTF-8 (those lines are rejected). A GB file with
    some UTF-8 lines in it is GB18030, and the UTF-8 lines are still read as
    UTF-8, line by line (LineDecoder).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not complete and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # never judge a character cut in half at the end
    utf8 = gb = 0
    for ln in sample.split(b"\n"):
        if ln.isascii():
            continue
        try:
            ln.decode("utf-8")
            utf8 += 1
            continue
        except UnicodeDecodeError:
            pass
        try:
            ln.decode("gb18030")
            gb += 1
        except UnicodeDecodeError:
            pass
    return "gb18030" if gb > utf8 else "utf-8"


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def check_bom(sample: bytes, encoding: str, name: str) -> None:
    """Refuse an --encoding that the file's byte order mark contradicts.

    A BOM is conclusive (no GBK file starts with 锘), but so is an explicit
    option: rather than silently overriding either, the run stops before
    anything is read and the user drops or corrects --encoding. Reading on
    would make the BOM part of the first header (锘縫ace) and lose that column.
    """
    family = next((fam for bom, fam in _BOMS if sample.startswith(bom)), None)
    if family is not None and not encoding.replace("_", "-").startswith(family):
        raise InputError(_("{name}: starts with a {family} byte order mark, so it is {family} text, not {encoding}; "
                           "leave out --encoding (or give --encoding {option})", name=name, family=family.upper(),
                           encoding=encoding, option=family))


# --- one line's encoding ---------------------------------------------------------------

_CJK = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH",
                  "KANGXI", "YI"})


def _script(ch: str) -> str:
    word = unicodedata.name(ch, "?").split(" ", 1)[0]
    return "CJK" if word in _CJK else word


def plausible_utf8(text: str) -> bool:
    """Whether the UTF-8 reading of a line looks like text a person wrote.

    GBK bytes that happen to be valid UTF-8 read as C1 control characters,
    unassigned or private-use code points, combining marks with nothing to
    combine with, or letters of two alphabets run together (Cyrillic next to
    Hebrew); text people write has none of these.
    """
    prev = ""
    run = ""  # the alphabet of the current run of non-ASCII letters (Chinese, Japanese, Korean excepted)
    for ch in text:
        if ch < "\x80":
            prev, run = ch, ""
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co") or (cat == "Cn" and ch <= "\uffff"):
            return False
        if cat[0] == "M":
            if not prev or (prev < "\x80" and not prev.isalpha()):
                return False
        elif cat[0] == "L":
            script = _script(ch)
            if script == "CJK":
                run = ""
            elif not run:
                run = script
            elif script != run:
                return False
        else:
            run = ""
        prev = ch
    return True


def common_gb(text: str) -> bool:
    """Whether every non-ASCII character of a GB reading is in GB2312, the characters ordinary Chinese text uses."""
    for ch in text:
        if ch >= "\x80":
            if "\ue000" <= ch <= "\uf8ff":
                return False
            b = ch.encode("gb18030")
            if len(b) != 2 or not (0xA1 <= b[0] <= 0xF7 and 0xA1 <= b[1] <= 0xFE):
                return False
    return True


def _clip(text: str, n: int = 24) -> str:
    text = text.rstrip("\r\n")
    return repr(text if len(text) <= n else text[:n] + "…")


class LineDecoder:
    """The text of one line (bytes, line end included) and, when it cannot be read with confidence, why not."""

    def __init__(self, encoding: str):
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.gb = encoding in GB_FAMILY
        self.utf8_lines = 0  # lines of a GB file read as UTF-8

    def decode(self, data: bytes) -> tuple[str, str | None]:
        if data.isascii():
            return data.decode("ascii"), None
        if not self.gb:
            return data.decode(self.codec, "surrogateescape"), None
        try:
            g: str | None = data.decode(self.codec)
        except UnicodeDecodeError:
            g = None
        try:
            u: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            u = None
        if u is None:  # not UTF-8: the file's encoding, undecodable bytes kept as surrogates
            return (g if g is not None else data.decode(self.codec, "surrogateescape")), None
        plausible = g is None or plausible_utf8(u)
        if g is None or (plausible and not common_gb(g)):
            self.utf8_lines += 1
            return u, None
        if not plausible:
            return g, None
        return g, _("it reads both as UTF-8 ({utf8}) and as {codec} ({other}), and the file mixes the two, so which "
                    "one it is cannot be told; save the file in one encoding", utf8=_clip(u), codec=self.codec.upper(),
                    other=_clip(g))
