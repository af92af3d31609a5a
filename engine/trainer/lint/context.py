"""What every family of checks shares: the rulebase, the YAML behind it, and the one small protocol.

A check family is a `Family`: a name, the check ids it reports, and a `run`
that takes the `Context` and yields `Problem`s. Families do not talk to each
other except through results the context caches (which rules can never fire,
which classes can be reached), so they can run in any order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import Problem
from ...i18n import _
from ...rules.loader import RESERVED_UTTERANCES, display_path
from ...rules.model import Rulebase
from ...rules.yamlpos import Located, Pos, YamlError, load_file
from .logic import Logic

WARNING = "warning"
ERROR = "error"
NOTE = "note"


@dataclass(frozen=True)
class Family:
    """One family of checks: `run(ctx)` yields its findings; `checks` are the ids it may report."""

    name: str
    checks: tuple[str, ...]
    run: Callable[[Context], Iterable[Problem]]


def and_list(items: list[str]) -> str:
    """“a” and “b” and “c”, in the current language."""
    out = items[0] if items else ""
    for item in items[1:]:
        out = _("{first} and {second}", first=out, second=item)
    return out


def problem(pos: Pos, message: str, check: str, severity: str = WARNING) -> Problem:
    return Problem(pos, message, check, severity)


class Nodes:
    """The YAML nodes behind model positions, for pointing at a keyword or operand."""

    def __init__(self, rb: Rulebase):
        self.rb = rb
        self.by_file: dict[str, dict[tuple[int, int], Located]] = {}
        self.trees: dict[str, Located | None] = {}

    def tree(self, file: str) -> Located | None:
        if file not in self.trees:
            path = Path(file)
            if not path.is_absolute() and not path.exists():
                path = Path(self.rb.root) / file
            try:
                self.trees[file] = load_file(path, file)
            except YamlError:
                self.trees[file] = None
            index: dict[tuple[int, int], Located] = {}
            if self.trees[file] is not None:
                stack = [self.trees[file]]
                while stack:
                    n = stack.pop()
                    index.setdefault((n.pos.line, n.pos.col), n)
                    if isinstance(n.value, dict):
                        stack.extend(n.value.values())
                    elif isinstance(n.value, list):
                        stack.extend(n.value)
            self.by_file[file] = index
        return self.trees[file]

    def at(self, pos: Pos | None) -> Located | None:
        if pos is None:
            return None
        self.tree(pos.file)
        return self.by_file.get(pos.file, {}).get((pos.line, pos.col))

    def child(self, pos: Pos | None, *keys: str) -> Located | None:
        n = self.at(pos)
        for k in keys:
            if n is None or not isinstance(n.value, dict):
                return None
            n = n.value.get(k)
        return n


def iter_maps(loc: Located | None) -> Iterator[dict[str, Located]]:
    """Every mapping inside a YAML tree."""
    if loc is None:
        return
    stack = [loc]
    while stack:
        n = stack.pop()
        if isinstance(n.value, dict):
            yield n.value
            stack.extend(n.value.values())
        elif isinstance(n.value, list):
            stack.extend(n.value)


@dataclass
class Context:
    """The rulebase under analysis, what failed to load, and results shared between families."""

    rb: Rulebase
    loader_problems: list[Problem]
    seeds: Path | None
    require_seeds: bool = False  # a missing seeds directory is an error rather than a note
    logic: Logic = field(init=False)
    nodes: Nodes = field(init=False)
    broken_files: set[str] = field(init=False)
    # rules that failed to load still tell us which classes and facts the trainer meant to use
    raw_classes: set[tuple[str, str]] = field(init=False, default_factory=set)
    raw_facts: set[str] = field(init=False, default_factory=set)
    raw_rule_ids: set[str] = field(init=False, default_factory=set)
    memo: dict[str, Any] = field(init=False, default_factory=dict)  # results one family computes for others

    def __post_init__(self) -> None:
        self.logic = Logic(self.rb)
        self.nodes = Nodes(self.rb)
        self.broken_files = {p.pos.file for p in self.loader_problems if p.severity == ERROR}
        self._scan_raw()

    def cached(self, key: str, compute: Callable[[Context], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute(self)
        return self.memo[key]

    def rule_files(self) -> list[Path]:
        root = Path(self.rb.root)
        return sorted((root / "typologies").glob("*.yaml")) + sorted((root / "guidance").glob("*.yaml"))

    def _scan_raw(self) -> None:
        for p in self.rule_files():
            tree = self.nodes.tree(display_path(p))
            if tree is None or not isinstance(tree.value, dict):
                continue
            home = None
            typ = tree.value.get("typology")
            if typ is not None and isinstance(typ.value, dict) and "id" in typ.value:
                home = str(typ.value["id"].value)
            for m in iter_maps(tree):
                if "said" in m:
                    self.raw_facts.add(RESERVED_UTTERANCES)
                for key in ("fact", "set"):
                    if key in m and isinstance(m[key].value, str):
                        self.raw_facts.add(m[key].value)
                if "class" in m and isinstance(m["class"].value, str):
                    ref = m["class"].value
                    t, _dot, c = ref.partition(".") if "." in ref else (home, "", ref)
                    self.raw_classes.add((str(t), c))
            for key in ("rules", "strategies"):  # a test may name either; both are dropped when they fail to load
                items = tree.value.get(key)
                for item in items.value if items is not None and isinstance(items.value, list) else []:
                    if isinstance(item.value, dict) and "id" in item.value:
                        self.raw_rule_ids.add(str(item.value["id"].value))

    def maybe_reached_by_broken_rule(self, tid: str, cid: str) -> bool:
        return bool(self.broken_files) and (tid, cid) in self.raw_classes
