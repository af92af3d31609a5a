"""Safe YAML loading that remembers where every value came from.

Trainers get `file:line:col` for every mistake, so the loader keeps the
position of each mapping key and value. We compose the YAML node graph with
the safe loader (libyaml when available) and build plain Python values wrapped
in `Located`, never constructing arbitrary objects: `!!python/...` tags are
rejected like any other unknown tag.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is much faster; fall back to pure Python where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from .errors import Problem


@dataclass(frozen=True)
class Pos:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Located:
    """A value from a YAML file and where it starts."""

    value: Any  # str | int | float | bool | None | list[Located] | dict[str, Located]
    pos: Pos
    key_pos: Pos | None = None  # for mapping values: where their key is

    def plain(self) -> Any:
        """The value with positions stripped, recursively."""
        v = self.value
        if isinstance(v, dict):
            return {k: x.plain() for k, x in v.items()}
        if isinstance(v, list):
            return [x.plain() for x in v]
        return v


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


def _pos(file: str, node: yaml.Node) -> Pos:
    m = node.start_mark
    return Pos(file, m.line + 1, m.column + 1)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self._scalar = yaml.SafeLoader("")  # only for construct_scalar-style resolution

    def build(self, node: yaml.Node) -> Located:
        pos = _pos(self.file, node)
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                self.problems.append(Problem(pos, f"tag {node.tag!r} is not allowed here; remove it", "yaml-tag"))
                return Located(node.value, pos)
            try:
                value = self._scalar.construct_object(node, deep=True)
            except yaml.YAMLError as e:  # e.g. an invalid timestamp
                self.problems.append(Problem(pos, f"cannot read this value: {e}", "yaml-syntax"))
                value = node.value
            if node.tag == "tag:yaml.org,2002:timestamp":
                value = node.value  # dates stay text: facts never hold datetime objects
            return Located(value, pos)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.problems.append(Problem(pos, f"tag {node.tag!r} is not allowed here; remove it", "yaml-tag"))
            return Located([self.build(n) for n in node.value], pos)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self.problems.append(Problem(pos, f"tag {node.tag!r} is not allowed here; remove it", "yaml-tag"))
            out: dict[str, Located] = {}
            for knode, vnode in node.value:
                kpos = _pos(self.file, knode)
                if not isinstance(knode, yaml.ScalarNode):
                    self.problems.append(Problem(kpos, "a key must be a plain word, not a list or mapping", "yaml-key"))
                    continue
                if knode.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(Problem(kpos, "merge keys (<<) are not supported; write the keys out", "yaml-key"))
                    continue
                key = str(self._scalar.construct_object(knode)) if knode.tag in _SCALAR_TAGS else knode.value
                if knode.tag == "tag:yaml.org,2002:bool":
                    # `yes:`/`no:`/`on:` as keys are YAML 1.1 booleans; keep the word as written
                    key = knode.value
                if key in out:
                    first = out[key].key_pos
                    self.problems.append(Problem(
                        kpos, f"duplicate key {key!r} (first at line {first.line if first else '?'}); "
                        "remove one of them", "duplicate-key"))
                    continue
                child = self.build(vnode)
                child.key_pos = kpos
                out[key] = child
            return Located(out, pos)
        raise AssertionError(f"unexpected node {node!r}")  # pragma: no cover


def load_text(text: str, file: str) -> Located | None:
    """Parse YAML (or JSON) text. Raises YamlError with every problem found."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        pos = Pos(file, mark.line + 1, mark.column + 1) if mark else Pos(file, 1, 1)
        msg = e.problem or str(e)
        if e.context:
            msg = f"{e.context}: {msg}"
        raise YamlError([Problem(pos, f"YAML syntax error: {msg}", "yaml-syntax")]) from None
    except yaml.YAMLError as e:
        raise YamlError([Problem(Pos(file, 1, 1), f"YAML error: {e}", "yaml-syntax")]) from None
    if node is None:
        return None
    builder = _Builder(file)
    result = builder.build(node)
    if builder.problems:
        raise YamlError(builder.problems)
    return result


def load_file(path: Path, display: str | None = None) -> Located | None:
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise YamlError([Problem(Pos(name, 1, 1), f"cannot read file: {e.strerror}", "io")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise YamlError([Problem(Pos(name, line, 1), "file is not UTF-8; save it as UTF-8", "encoding")]) from None
    return load_text(text, name)
