"""Markdown that renders as exactly the text it was given: every interpolated value is escaped.

Customers' words and rule text end up in Markdown that a CRM or wiki renders.
A newline in a value would end a table row or start a heading; `[x](…)`
would be a live link, `<script>` raw HTML. The md environments escape each
`{{ value }}` in their `finalize` hook, so no template line can forget it;
`code`, `anchor` and `safe` mark the few values that are already safe.
"""
from __future__ import annotations

import re
from typing import Any

_MD_NEWLINES = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# inline syntax anywhere in a line. `(`, `)` and `!` only mean something next to a `[` or `]`
# (links, images), and those are always escaped, so prose keeps its parentheses; `{ }` mean
# nothing in CommonMark or GFM. An `_` between two letters or digits cannot start or end
# emphasis (CommonMark's intraword rule), so ids like `no_budget` stay as they are.
_MD_INLINE = re.compile(r"[\\`*\[\]|~$]|(?<![^\W_])_|_(?![^\W_])")
# block syntax, only at the start of a line: headings, bullets (`- `, `+ `), rules and setext
# underlines (`---`, `===`), ordered lists (`1. `, `1) `); `-0.20` or `+5` start no block
_MD_BLOCK_START = re.compile(r"^(\s*)(?:([#.)]|[-+=](?=\s|$)|--|==)|(\d{1,9})[.)](?=\s|$))")


def md_escape(value: Any) -> str:
    """Plain text as Markdown that renders as that same text, on one line, with no HTML.

    Newlines become spaces (a value never ends a table row or starts a block);
    Markdown punctuation gets a backslash; `& < >` become HTML entities. Block
    markers (`# - + = 1.`) are escaped where a value starts, the only place a
    one-line value can start a block, so ordinary prose keeps its periods and
    hyphens and a weight keeps its sign.
    """
    s = _MD_NEWLINES.sub(" ", str(value))
    s = _MD_INLINE.sub(lambda m: "\\" + m.group(0), s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    m = _MD_BLOCK_START.match(s)
    if m:
        if m.group(2):
            s = f"{m.group(1)}\\{s[m.end(1):]}"
        else:
            s = f"{m.group(1)}{m.group(3)}\\{s[m.end(3):]}"
    return s


def md_finalize(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, Markup) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    return md_escape(value)


def md_text(value: Any):
    """The `md` filter: escape explicitly (in a template that is not Markdown by suffix)."""
    from markupsafe import Markup

    return Markup(md_escape(value))


def md_code(value: Any):
    """The `code` filter: a Markdown code span of `value` (ids, versions), safe in a table cell."""
    from markupsafe import Markup

    s = _MD_NEWLINES.sub(" ", str(value)).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s[:1] == "`" or s[-1:] == "`" else ""
    return Markup(f"{fence}{pad}{s}{pad}{fence}")


def md_anchor(value: Any):
    """The `anchor` filter: an HTML id / link fragment made only of letters, digits, _ and -."""
    from markupsafe import Markup

    return Markup(re.sub(r"[^A-Za-z0-9_-]", "-", str(value)))


__all__ = ["md_anchor", "md_code", "md_escape", "md_finalize", "md_text"]
