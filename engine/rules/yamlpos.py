"""Safe YAML loading that remembers where every value came from.

Trainers get `file:line:col` for every mistake, so the loader keeps the
position of each mapping key and value. We read the YAML event stream with the
safe parser (libyaml when available) and build plain Python values wrapped in
`Located`, never constructing arbitrary objects: `!!python/...` tags are
rejected like any other unknown tag.

Every file a user hands us goes through here (profiles, answers, sessions,
rule files, --map files), so this is where hostile documents are bounded. The
document is built from events without recursion, and building stops with a
problem at the offending position when a document goes past:

- MAX_DEPTH levels of nesting (flow `[[[...]]]` or indented blocks),
- MAX_NODES values in all, counting every copy an alias makes (an alias bomb
  of 342 bytes would otherwise expand to hundreds of millions of values),
- MAX_ALIASES aliases (`*name`),
- MAX_NUMBER_CHARS characters in one unquoted number,
- MAX_BYTES bytes of text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

try:  # libyaml is much faster; fall back to pure Python where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from ..errors import Pos, Problem  # Pos is re-exported: rule code imports it from here
from ..i18n import _

MAX_DEPTH = 100  # nesting levels of lists and mappings
MAX_NODES = 100_000  # values in one document, aliases expanded
MAX_ALIASES = 1_000  # `*name` references in one document
MAX_NUMBER_CHARS = 1_000  # characters of one unquoted number (int/float)
MAX_BYTES = 16 * 1024 * 1024  # size of one YAML/JSON document


@dataclass
class Located:
    """A value from a YAML file and where it starts."""

    value: Any  # str | int | float | bool | None | list[Located] | dict[str, Located]
    pos: Pos
    key_pos: Pos | None = None  # for mapping values: where their key is

    def plain(self) -> Any:
        """The value with positions stripped (built without recursion: documents may nest deeply)."""
        root: list[Any] = [None]
        stack: list[tuple[Located, Any, Any]] = [(self, root, 0)]
        while stack:
            loc, parent, slot = stack.pop()
            v = loc.value
            if isinstance(v, dict):
                out: Any = {}
                for k, x in v.items():
                    out[k] = None
                    stack.append((x, out, k))
            elif isinstance(v, list):
                out = [None] * len(v)
                stack.extend((x, out, i) for i, x in enumerate(v))
            else:
                out = v
            parent[slot] = out
        return root[0]


class YamlError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_SEQ, _MAP, _STR = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "tag:yaml.org,2002:str"
# What YAML allows in a document (the same set as PyYAML's reader); anything else is refused up front,
# so the message can name the character and point at it.
_NOT_ALLOWED = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _one_line(s: str) -> str:
    return " ".join(str(s).split())


def _at(file: str, text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return Pos(file, line, index - (text.rfind("\n", 0, index) + 1) + 1)


class _Stop(Exception):
    """A limit was hit: building stops at once (going on would only cost time and memory)."""


class _Frame:
    """A list or mapping being built."""

    __slots__ = ("anchor", "height", "key", "kpos", "loc", "size", "skip")

    def __init__(self, loc: Located, anchor: str | None):
        self.loc = loc
        self.anchor = anchor
        self.size = 1  # values in this subtree, itself included
        self.height = 1  # nesting levels below and including it
        self.key: str | None = None  # mapping: the key waiting for its value
        self.skip = False  # mapping: the pending value belongs to a refused key
        self.kpos: Pos | None = None


class _Builder:
    """Turns the parser's events into `Located` values, iteratively and within the limits."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self._loader = yaml.SafeLoader("")  # resolves implicit tags and constructs scalars
        self.nodes = 0
        self.aliases = 0
        # anchor -> (value, size, height); None while the anchored value is still being built
        self.anchors: dict[str, tuple[Located, int, int] | None] = {}
        self.anchor_pos: dict[str, Pos] = {}

    def pos(self, mark: Any) -> Pos:
        return Pos(self.file, mark.line + 1, mark.column + 1)

    def stop(self, pos: Pos, message: str, check: str = "yaml-limit") -> None:
        self.problems.append(Problem(pos, message, check))
        raise _Stop

    def count(self, n: int, pos: Pos) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            self.stop(pos, _("this document holds more than {limit} values (counting each copy an alias makes); "
                             "split it into smaller files or use fewer aliases (*name)", limit=_thousands(MAX_NODES)))

    # -- scalars --------------------------------------------------------------------
    def scalar(self, ev: yaml.ScalarEvent, pos: Pos) -> tuple[Located, bool, str]:
        """The value, whether it is a merge key (<<) and its text as written."""
        tag = ev.tag
        if tag is None or tag == "!":
            if not ev.implicit[0]:  # quoted: always text (the resolver would say so too, only slower)
                return Located(ev.value, pos), False, ev.value
            tag = self._loader.resolve(yaml.ScalarNode, ev.value, ev.implicit)
        if tag == _STR:
            return Located(ev.value, pos), False, ev.value
        if tag == "tag:yaml.org,2002:merge":
            return Located(ev.value, pos), True, ev.value
        if tag not in _SCALAR_TAGS:
            self.problems.append(Problem(pos, _("tag {tag!r} is not allowed here; remove it", tag=tag), "yaml-tag"))
            return Located(ev.value, pos), False, ev.value
        if tag in _NUMBER_TAGS and len(ev.value) > MAX_NUMBER_CHARS:
            self.problems.append(Problem(pos, _("this number is {length} characters long; numbers are at most "
                                                "{limit} (put it in quotes if it is text)",
                                                length=_thousands(len(ev.value)),
                                                limit=_thousands(MAX_NUMBER_CHARS)),
                                         "yaml-limit"))
            return Located(ev.value, pos), False, ev.value
        node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, style=ev.style)
        try:
            value = SafeConstructor.yaml_constructors[tag](self._loader, node)
        except Exception as e:  # e.g. `!!int x`, `!!bool maybe`, an invalid timestamp
            detail = _one_line(e) if isinstance(e, yaml.YAMLError) else _("it does not fit its tag")
            self.problems.append(Problem(pos, _("cannot read the value {value}: {detail}", value=_short(ev.value),
                                                detail=detail), "yaml-syntax"))
            value = ev.value
        if tag == "tag:yaml.org,2002:timestamp":
            value = ev.value  # dates stay text: facts never hold datetime objects
        return Located(value, pos), False, ev.value

    # -- aliases ----------------------------------------------------------------------
    def alias(self, ev: yaml.AliasEvent, depth: int) -> tuple[Located, int, int]:
        pos = self.pos(ev.start_mark)
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            self.stop(pos, _("more than {limit} aliases (*name) in one document; write the values out",
                             limit=_thousands(MAX_ALIASES)))
        name = ev.anchor
        if name not in self.anchors:
            self.stop(pos, _("alias *{name} refers to no anchor &{name} above it; define the anchor first",
                             name=name), "yaml-syntax")
        entry = self.anchors[name]
        if entry is None:
            self.stop(pos, _("alias *{name} is inside the value it refers to, which would repeat it without end; "
                             "remove the alias", name=name), "yaml-syntax")
        template, size, height = entry
        self.count(size, pos)
        if depth + height > MAX_DEPTH:
            self.stop(pos, _("alias *{name} nests values more than {limit} levels deep; flatten the document",
                             name=name, limit=MAX_DEPTH))
        return _copy(template), size, height

    def anchor(self, name: str | None, pos: Pos) -> None:
        if name is None:
            return
        if name in self.anchors:
            first = self.anchor_pos[name]
            self.stop(pos, _("anchor &{name} is defined twice (first at line {line}); rename one of them",
                             name=name, line=first.line), "yaml-syntax")
        self.anchors[name] = None
        self.anchor_pos[name] = pos

    # -- collections -----------------------------------------------------------------------
    def add(self, frame: _Frame, child: Located, size: int, height: int, scalar: tuple[bool, str] | None) -> None:
        """Put a finished value into the list or mapping being built."""
        frame.size += size
        frame.height = max(frame.height, height + 1)
        container = frame.loc.value
        if isinstance(container, list):
            container.append(child)
            return
        if frame.key is None and not frame.skip:  # this is a key
            if scalar is None:
                self.problems.append(Problem(child.pos, _("a key must be a plain word, not a list or mapping"),
                                             "yaml-key"))
                frame.skip = True
                return
            merge, raw = scalar
            if merge:
                self.problems.append(Problem(child.pos, _("merge keys (<<) are not supported; write the keys out"),
                                             "yaml-key"))
                frame.skip = True
                return
            key = raw if isinstance(child.value, bool) else _key_text(child.value, raw)
            if key in container:
                first = container[key].key_pos
                self.problems.append(Problem(
                    child.pos, _("duplicate key {key!r} (first at line {line}); remove one of them", key=key,
                                 line=first.line if first else "?"), "duplicate-key"))
                frame.skip = True
                return
            frame.key, frame.kpos = key, child.pos
            return
        if frame.skip:  # the value of a refused key
            frame.skip = False
            return
        child.key_pos = frame.kpos
        container[frame.key] = child
        frame.key = None

    def build(self, events) -> Located | None:
        stack: list[_Frame] = []
        result: Located | None = None
        documents = 0
        for ev in events:
            kind = type(ev)
            scalar: tuple[bool, str] | None = None
            if kind is yaml.ScalarEvent:
                pos = self.pos(ev.start_mark)
                self.count(1, pos)
                if ev.anchor is not None:
                    self.anchor(ev.anchor, pos)
                child, merge, raw = self.scalar(ev, pos)
                size, height, scalar = 1, 0, (merge, raw)
                if ev.anchor is not None:
                    self.anchors[ev.anchor] = (child, 1, 0)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                pos = self.pos(ev.start_mark)
                if len(stack) >= MAX_DEPTH:
                    self.stop(pos, _("lists and mappings are nested more than {limit} levels deep here; flatten "
                                     "the document", limit=MAX_DEPTH))
                self.count(1, pos)
                seq = kind is yaml.SequenceStartEvent
                tag = ev.tag
                if tag is None or tag == "!":
                    tag = _SEQ if seq else _MAP
                if tag != (_SEQ if seq else _MAP):
                    self.problems.append(Problem(pos, _("tag {tag!r} is not allowed here; remove it", tag=tag),
                                                 "yaml-tag"))
                if ev.anchor is not None:
                    self.anchor(ev.anchor, pos)
                stack.append(_Frame(Located([] if seq else {}, pos), ev.anchor))
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                frame = stack.pop()
                child, size, height = frame.loc, frame.size, frame.height
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (child, size, height)
            elif kind is yaml.AliasEvent:
                child, size, height = self.alias(ev, len(stack))
                if not isinstance(child.value, (list, dict)):
                    scalar = (False, child.value if isinstance(child.value, str) else str(child.value))
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.stop(self.pos(ev.start_mark), _("YAML syntax error: a file holds one document, but a "
                                                         "second one starts here (`---`); remove it"), "yaml-syntax")
                continue
            else:  # stream start/end, document end
                continue
            if stack:
                self.add(stack[-1], child, size, height, scalar)
            else:
                result = child
        return result


def _key_text(value: Any, raw: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (int, float)):
        return str(value) if value is not None else "None"
    return raw


def _thousands(n: int) -> str:
    return f"{n:,}"


def _short(s: str) -> str:
    return repr(s) if len(s) <= 40 else repr(s[:40]) + "…"


def _copy(loc: Located) -> Located:
    """A fresh copy of an anchored value for one alias (so each copy keeps its own key_pos)."""
    out = Located(None, loc.pos)  # its key_pos is where the alias is, set by the mapping that holds it
    stack = [(loc, out)]
    while stack:
        src, dst = stack.pop()
        v = src.value
        if isinstance(v, dict):
            d: dict[str, Located] = {}
            for k, x in v.items():
                d[k] = Located(None, x.pos, x.key_pos)
                stack.append((x, d[k]))
            dst.value = d
        elif isinstance(v, list):
            items = [Located(None, x.pos, x.key_pos) for x in v]
            stack.extend(zip(v, items, strict=True))
            dst.value = items
        else:
            dst.value = v
    return out


def load_text(text: str, file: str) -> Located | None:
    """Parse YAML (or JSON) text. Raises YamlError with every problem found."""
    if len(text) > MAX_BYTES:
        raise YamlError([Problem(Pos(file, 1, 1), _("the document is larger than {size} MB; split it into smaller "
                                                    "files", size=MAX_BYTES // 2**20), "yaml-limit")])
    bad = _NOT_ALLOWED.search(text)
    if bad:
        ch = bad.group()
        code = ord(ch)
        shown = f"U+{code:04X}"
        what = (_("a NUL byte") if code == 0 else _("the control character {code}", code=shown)
                if code < 0xA0 else _("the character {code}", code=shown))
        raise YamlError([Problem(_at(file, text, bad.start()), _("the file holds {what}, which YAML does not allow; "
                                                                 "remove it (or save the file as plain UTF-8 text)",
                                                                 what=what), "yaml-syntax")])
    builder = _Builder(file)
    try:
        result = builder.build(yaml.parse(text, Loader=_Loader))
    except _Stop:
        raise YamlError(builder.problems) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        pos = Pos(file, mark.line + 1, mark.column + 1) if mark else Pos(file, 1, 1)
        msg = e.problem or str(e)
        if e.context:
            msg = f"{e.context}: {msg}"
        raise YamlError([Problem(pos, _("YAML syntax error: {detail}", detail=_one_line(msg)), "yaml-syntax")]) \
            from None
    except yaml.YAMLError as e:
        raise YamlError([Problem(Pos(file, 1, 1), _("YAML error: {detail}", detail=_one_line(e)), "yaml-syntax")]) \
            from None
    if builder.problems:
        raise YamlError(builder.problems)
    return result


def load_file(path: Path, display: str | None = None) -> Located | None:
    name = display or str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise YamlError([Problem(Pos(name, 1, 1), _("cannot read file: {reason}", reason=e.strerror), "io")]) \
            from None
    if len(raw) > MAX_BYTES:
        raise YamlError([Problem(Pos(name, 1, 1), _("the file is larger than {size} MB; split it into smaller files",
                                                    size=MAX_BYTES // 2**20), "yaml-limit")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise YamlError([Problem(Pos(name, line, 1), _("file is not UTF-8; save it as UTF-8"), "encoding")]) \
            from None
    return load_text(text, name)
