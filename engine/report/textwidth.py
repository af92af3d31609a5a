"""Text laid out for a terminal: Chinese characters take two columns, lines wrap by display width."""
from __future__ import annotations

import functools
import shutil
import unicodedata
from typing import Any


@functools.lru_cache(maxsize=8192)
def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1


def dwidth(s: str) -> int:
    """Columns `s` takes in a terminal: two for wide (CJK) characters, none for combining marks."""
    s = str(s)
    return len(s) if s.isascii() else sum(map(_char_width, s))


def pad(s: Any, width: int) -> str:
    s = str(s)
    return s + " " * max(0, width - dwidth(s))


def terminal_width() -> int:
    """The width reports are laid out for: the terminal's, 100 when it is unknown, at most 110."""
    return min(shutil.get_terminal_size((100, 24)).columns, 110)


def wrap(s: Any, width: int = 0, indent: int = 0) -> str:
    """Wrap text to the terminal by display width, breaking between CJK characters or at spaces.

    Every line fits `width - indent` columns. Closing punctuation never starts a line (Chinese
    typesetting): the character before it moves down with it.
    """
    width = width or terminal_width()
    avail = max(20, width - indent)
    lines: list[str] = []
    for para in str(s).splitlines() or [""]:
        if dwidth(para) <= avail:
            lines.append(para.rstrip())
            continue
        line: list[str] = []
        w = 0
        for token in _tokens(para):
            tw = dwidth(token)
            if w + tw > avail and "".join(line).strip():
                carry: list[str] = []
                if token[:1] in _NO_LINE_START and len(line) > 1 and line[-1].strip():
                    carry = [line.pop()]
                lines.append("".join(line).rstrip())
                line = carry
                if not carry:
                    token = token.lstrip()
                    tw = dwidth(token)
                w = sum(dwidth(t) for t in line)
            line.append(token)
            w += tw
        lines.append("".join(line).rstrip())
    return ("\n" + " " * indent).join(lines)


_NO_LINE_START = set("。，、；：？！」』）》〉”’,.;:?!)]}%")


def _tokens(text: str):
    word = ""
    for ch in text:
        if _char_width(ch) == 2:
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + " "
            word = ""
        else:
            word += ch
    if word:
        yield word


__all__ = ["dwidth", "pad", "terminal_width", "wrap"]
