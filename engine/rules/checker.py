"""The base of every rule-file reader: problems with positions, and the shapes of values.

A `Checker` turns `Located` YAML into plain values (text, ids, numbers, lists,
bilingual texts) and records a `Problem` for every mistake instead of stopping at
the first, so `zhike rules check` reports them all at once. The readers of each
file kind (manifest, facts, typologies, strategies) and of conditions build on it.
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..i18n import _
from .model import Text, number_problem
from .yamlpos import Located, Pos

ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # other drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


class Checker:
    """Collects problems while turning `Located` YAML into model objects.

    `what` arguments name the thing being read as the message shows it: a YAML key
    (`rationale`, `said.zh`) is passed as written, a description is passed translated
    (`_("fact id")`), so a key is never turned into a word of some other message.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, pos: Pos, message: str, check: str) -> None:
        self.problems.append(Problem(pos, message, check))

    # -- shapes ------------------------------------------------------------------
    def mapping(self, loc: Located, what: str, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, Located] | None:
        if not isinstance(loc.value, dict):
            self.err(loc.pos, _("{what} must be a mapping (key: value), got {kind}", what=what,
                                kind=describe(loc.value)), "type")
            return None
        known = required + optional
        missing = [key for key in required if key not in loc.value]
        for key, val in loc.value.items():
            if key not in known:
                self.err(val.key_pos or val.pos,
                         _("unknown key {key!r} in {what}{hint}; allowed keys: {keys}", key=key, what=what,
                           hint=suggest(key, known), keys=", ".join(known)), "unknown-key")
                meant = closest(key, known)
                if meant in missing:  # a misspelt required key is one mistake, reported once, where it is
                    missing.remove(meant)
        for key in missing:
            self.err(loc.pos, _("{what} is missing {key!r}", what=what, key=key), "missing-key")
        return loc.value

    def string(self, loc: Located | None, what: str) -> str | None:
        if loc is None:
            return None
        v = loc.value
        if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
            self.err(loc.pos, _("{what} must be text, got {kind}", what=what, kind=describe(v)), "type")
            return None
        s = str(v).strip()
        if not s:
            self.err(loc.pos, _("{what} is empty", what=what), "empty")
            return None
        return s

    def ident(self, loc: Located | None, what: str) -> str | None:
        s = self.string(loc, what)
        if s is not None and not ID_RE.match(s):
            self.err(loc.pos, _("{what} {id!r} is not a valid id: use letters, digits and _, segments separated "
                                "by dots, starting with a letter", what=what, id=s), "bad-id")
            return None
        return s

    def text(self, loc: Located | None, what: str) -> Text | None:
        if loc is None:
            return None
        m = self.mapping(loc, what, required=("zh", "en"))
        if m is None:
            return None
        zh = self.string(m.get("zh"), f"{what}.zh") if "zh" in m else None
        en = self.string(m.get("en"), f"{what}.en") if "en" in m else None
        if zh is None or en is None:
            return None
        return Text(zh, en)

    def note(self, loc: Located | None, what: str) -> Text | None:
        """A trainer's note: plain text (the same in both languages) or {zh: ..., en: ...}."""
        if loc is None:
            return None
        if isinstance(loc.value, dict):
            return self.text(loc, what)
        s = self.string(loc, what)
        return Text(s, s) if s is not None else None

    def strings(self, loc: Located | None, what: str) -> tuple[str, ...]:
        """A list of non-empty texts (e.g. a rule's example sentences)."""
        return tuple(s for x in self.items(loc, what) if (s := self.string(x, _("{what} item", what=what))))

    def number(self, loc: Located | None, what: str) -> float | None:
        if loc is None:
            return None
        v = loc.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(loc.pos, _("{what} must be a number, got {kind}", what=what, kind=describe(v)), "type")
            return None
        problem = number_problem(v)
        if problem:
            self.err(loc.pos, _("{what} {problem}", what=what, problem=problem), "bad-value")
            return None
        return float(v)

    def weight(self, loc: Located | None, what: str) -> float | None:
        w = self.number(loc, what)
        if w is not None and not (0 < w <= 1):
            self.err(loc.pos, _("{what} must be in (0, 1], got {value}; use `against:` for counter-evidence",
                                what=what, value=fmt_number(w)), "bad-weight")
            return None
        return w

    def items(self, loc: Located | None, what: str) -> list[Located]:
        if loc is None:
            return []
        if not isinstance(loc.value, list):
            self.err(loc.pos, _("{what} must be a list (lines starting with '- '), got {kind}", what=what,
                                kind=describe(loc.value)), "type")
            return []
        return loc.value


def closest(word: object, choices) -> str | None:
    """The known id nearest to a typo (the same choice as `engine.errors.did_you_mean`), or None."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return close[0]
    lower = {c.lower(): c for c in options}
    return lower.get(str(word).lower())


def suggest(word: object, choices) -> str:
    """' (did you mean "x"?)' in the current language, or '' when nothing known is close."""
    choice = closest(word, choices)
    return _(' (did you mean "{choice}"?)', choice=choice) if choice is not None else ""


def describe(v: Any) -> str:
    """A value as a problem message names it: its kind, and itself if short."""
    if isinstance(v, bool):
        return _("yes/no value {value}", value=str(v).lower())
    if v is None:
        return _("nothing")
    if isinstance(v, dict):
        return _("a mapping")
    if isinstance(v, list):
        return _("a list")
    if isinstance(v, (int, float)):
        shown = fmt_number(v)
        return _("the number {number}", number=shown if len(shown) <= 40 else shown[:37] + "…")
    return _("text {text}", text=shown_text(v))


def shown_text(v: object, limit: int = 60) -> str:
    """What a trainer wrote, quoted on one line and cut to `limit` characters (messages stay one line)."""
    shown = repr(str(v))
    return shown if len(shown) <= limit else shown[:limit - 3] + "…"


def fmt_number(v: float) -> str:
    """A number as the trainer would write it (2, not 2.0)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
