"""Compile a validated `Rulebase` into durable_rules rulesets.

Every YAML rule and strategy becomes one durable_rules rule; inference runs
inside the engine's C matcher (see inference.py for the driver). What this
module takes care of, because durable_rules will not (see
docs/durable-rules-notes.md):

- One private `Host` per compiled rulebase, with the host's background timer
  threads *not* started: they would dispatch actions concurrently with our
  calls (durable_rules is not thread safe) and they never stop.
- Ruleset names get a per-compilation prefix, since a name can never be
  registered twice in a process; `close()` frees the C rulesets.
- Facts are small dicts `{t, k, v}`; a sink rule in every ruleset accepts any
  fact so an unmatched fact never raises `MessageNotHandledException`.
- Rules are stratified into passes (see loader._stratify) and each ruleset
  holds the rules of one pass. A pass asserts every fact known so far into
  its rulesets, followed by a pass marker `{t: "L", n: level}` that every
  rule is gated by: negation-as-failure is then evaluated against complete
  information, and rules that test conclusions see them final.
- Rules are split over several rulesets of at most PRODUCTIONS_PER_RULESET,
  since durable_rules breaks when more than 64 rules match one fact.
- `$in` does not exist (we emit `$or`), unknown operators would be silently
  accepted (we only ever emit the ones below), and regular expressions are
  evaluated in Python before assertion, never by the engine's Lua dialect.
"""
from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..rules.model import (
    All,
    Any_,
    ConclusionTest,
    Condition,
    FactTest,
    Not,
    PhraseTest,
    Rule,
    Rulebase,
    Strategy,
    walk,
)
from ..words.phrases import PhraseMatcher
from .driver import Driver

# Every rule of a ruleset matches its pass marker, so this bounds the rules matching any one
# fact. Past 64, durable_rules fails (error 303) or, as measured here with 98 rules and
# delete_state, corrupts its heap ("double free").
PRODUCTIONS_PER_RULESET = 48
_SINK = {"all": [{"m": {"$ex": {"t": 1}}}, {"z": {"t": "__never__"}}]}
_prefix_counter = itertools.count(1)
_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def _norm(v: Any) -> Any:
    """Numbers are compared as floats: the engine compares '99' > 100 as text."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    return float(v)


def _and(parts: list[dict]) -> dict:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _or_eq(attr: str, values) -> dict:
    eqs = [{attr: _norm(v)} for v in values]
    return eqs[0] if len(eqs) == 1 else {"$or": eqs}


def _leaf(cond: Condition) -> tuple[dict, bool]:
    """The alpha expression of a leaf test and whether it holds when a fact matches it
    (False = it holds when *no* fact matches: negation as failure)."""
    if isinstance(cond, PhraseTest):
        return _and([{"t": "p"}, {"k": cond.id}]), True
    if isinstance(cond, FactTest):
        base = [{"t": "f"}, {"k": cond.fact}]
        op, arg = cond.op, cond.operand
        if op == "known":
            return _and(base), bool(arg)
        if op == "answered":  # input facts carry a=1, derived ones do not
            return _and(base + [{"a": 1}]), bool(arg)
        if op == "is":
            return _and(base + [{"v": _norm(arg)}]), True
        if op == "in":
            return _and(base + [_or_eq("v", arg)]), True
        if op == "is_not":
            return _and(base + [{"$neq": {"v": _norm(arg)}}]), True
        if op == "not_in":
            return _and(base + [{"$neq": {"v": _norm(a)}} for a in arg]), True
        if op == "between":
            lo, hi = arg
            return _and(base + [{"$gte": {"v": _norm(lo)}}, {"$lte": {"v": _norm(hi)}}]), True
        return _and(base + [{_OPS[op]: {"v": _norm(arg)}}]), True
    if isinstance(cond, ConclusionTest):
        base = [{"t": "c"}, {"k": cond.typology}]
        if cond.min_confidence is not None:
            base.append({"$gte": {"cf": float(cond.min_confidence)}})
        op, arg = cond.op, cond.operand
        if op == "known":
            return _and(base), bool(arg)
        if op == "is":
            return _and(base + [{"v": arg}]), True
        if op == "in":
            return _and(base + [_or_eq("v", arg)]), True
        if op == "is_not":
            return _and(base + [{"$neq": {"v": arg}}]), True
        return _and(base + [{"$neq": {"v": a}} for a in arg]), True
    raise TypeError(cond)  # pragma: no cover


def _nnf(cond: Condition, multi: frozenset[str], negate: bool = False):
    """Push `not` down to the leaves (De Morgan); durable only negates single facts.

    A leaf carries the key of the one fact it must match when that fact is
    single-valued (a non-list fact, a typology's conclusion): see _merge.
    """
    if isinstance(cond, Not):
        return _nnf(cond.item, multi, not negate)
    if isinstance(cond, (All, Any_)):
        kind = "all" if isinstance(cond, All) else "any"
        if negate:
            kind = "any" if kind == "all" else "all"
        return (kind, [_nnf(c, multi, negate) for c in cond.items])
    expr, positive = _leaf(cond)
    key = None
    if isinstance(cond, FactTest) and cond.fact not in multi:
        key = ("f", cond.fact)
    elif isinstance(cond, ConclusionTest):
        key = ("c", cond.typology)
    return ("leaf", expr, positive != negate, key)


def _parts(expr: dict) -> list[dict]:
    return list(expr["$and"]) if set(expr) == {"$and"} else [expr]


def _merge(children: list) -> list:
    """Fold positive tests on the same single-valued fact into one test.

    In durable_rules two aliases of one rule never bind the same fact, so
    `contacts >= 1` and `contacts < 2` as two aliases could never both match
    the one `contacts` fact; as one alias with both tests they do.
    """
    out: list = []
    merged: dict[tuple, int] = {}
    for child in children:
        if child[0] == "leaf" and child[2] and child[3] is not None:
            if child[3] in merged:
                i = merged[child[3]]
                parts = _parts(out[i][1])
                parts += [p for p in _parts(child[1]) if p not in parts]
                out[i] = ("leaf", _and(parts), True, child[3])
                continue
            merged[child[3]] = len(out)
        out.append(child)
    return out


class _RuleBuilder:
    def __init__(self, gate: dict):
        self.n = 0
        self.gate = gate

    def alias(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def entries(self, node) -> list[dict]:
        """Entries for an all-context."""
        kind = node[0]
        if kind == "leaf":
            _, expr, positive, _key = node
            return [{self.alias("a") if positive else self.alias("n") + "$not": expr}]
        if kind == "all":
            return [e for child in _merge(_flatten_all(node)) for e in self.entries(child)]
        return [{self.alias("x") + "$any": [self.any_member(c) for c in node[1]]}]

    def any_member(self, node) -> dict:
        # An `$or` test directly under `$any` never matches unless it is the first
        # member (durable_rules 2.0.28); inside an `$all` it does.
        if node[0] == "leaf" and node[2] and "$or" not in json.dumps(node[1]):
            return {self.alias("a"): node[1]}
        # A negation directly under $any never fires in durable_rules, so every
        # compound member gets a positive partner: the pass marker.
        return {self.alias("y") + "$all": [{self.alias("g"): self.gate}] + self.entries(node)}


def _flatten_all(node) -> list:
    out = []
    for child in node[1]:
        out.extend(_flatten_all(child) if child[0] == "all" else [child])
    return out


MAX_DISJUNCTS = 32


def _needs_a_fact(rule: dict) -> bool:
    """Whether a compiled rule has a positive test besides its pass marker (else it can fire on
    negations alone). Rules that kept an `$any` are treated as not needing one, to be safe."""
    for entry in rule["all"][1:]:
        for alias in entry:
            if alias.endswith("$any"):
                return False
            if not alias.endswith("$not"):
                return True
    return False


def _fact_keys(cond: Condition):
    """(t, k) of every engine fact a condition can match: only those are sent to its ruleset."""
    for c in walk(cond):
        if isinstance(c, FactTest):
            yield ("f", c.fact)
        elif isinstance(c, PhraseTest):
            yield ("p", c.id)
        elif isinstance(c, ConclusionTest):
            yield ("c", c.typology)


def _dnf(node, limit: int = MAX_DISJUNCTS) -> list[list] | None:
    """The condition as alternatives of conjunctions of leaves, or None past `limit`."""
    if node[0] == "leaf":
        return [[node]]
    parts = [_dnf(child, limit) for child in node[1]]
    if any(p is None for p in parts):
        return None
    if node[0] == "any":
        out = [conj for p in parts for conj in p]
    else:
        out = [[]]
        for p in parts:
            out = [a + b for a in out for b in p]
            if len(out) > limit:
                return None
    return out if len(out) <= limit else None


def productions_for(cond: Condition, level: int, multi: frozenset[str] = frozenset()) -> list[dict]:
    """The durable_rules rules for one condition; `multi` names the list facts (several values at once).

    An `any` becomes one durable rule per alternative, all running the same
    action: durable_rules would otherwise fire an `$any` once for every
    combination of matching members (2^n - 1 firings for n known members).
    """
    gate = {"$and": [{"t": "L"}, {"n": level}]}
    node = _nnf(cond, multi)
    alternatives = _dnf(node)
    if alternatives is None:  # too many alternatives: let durable_rules' $any handle it
        nodes = [node if node[0] == "all" else ("all", [node])]
    else:
        nodes = [("all", conj) for conj in alternatives]
    return [{"all": [{"g0": gate}] + _RuleBuilder(gate).entries(n)} for n in nodes]


def production(cond: Condition, level: int, multi: frozenset[str] = frozenset()) -> dict:
    """A single durable_rules rule for a condition, `any` kept as `$any` (see productions_for)."""
    gate = {"$and": [{"t": "L"}, {"n": level}]}
    node = _nnf(cond, multi)
    if node[0] != "all":
        node = ("all", [node])
    return {"all": [{"g0": gate}] + _RuleBuilder(gate).entries(node)}


class _OrjsonCodec:
    """The `json` that durable_rules' Python layer sees: orjson where it can, the standard module otherwise.

    durable_rules serialises every assert, retract and action state with `json.dumps` and parses
    every result with `json.loads`: about a sixth of an inference (measured on the questionnaire's
    look-ahead). orjson gives the same text for what zhike asserts (str keys, finite floats — profiles
    refuse NaN and infinity — bools, short strings, ensure_ascii=False as durable asks) several times
    faster; anything it refuses (an int beyond 64 bits) goes to the standard module as before.
    """

    @staticmethod
    def dumps(obj: Any, ensure_ascii: bool = True, **kw: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return json.dumps(obj, ensure_ascii=ensure_ascii, **kw)

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)


class _QuietHost:
    """Factory for a durable_rules Host that never starts its timer threads."""

    _cls = None

    @classmethod
    def make(cls, definitions: dict):
        if cls._cls is None:
            from durable import engine as de

            de.json = _OrjsonCodec  # the module's only use of json is dumps/loads (see _OrjsonCodec)

            class Host(de.Host):
                def _run(self) -> None:  # no background dispatch: we drive every action ourselves
                    pass

            cls._cls = Host
        return cls._cls(definitions)


@dataclass
class CompiledRulebase:
    rulebase: Rulebase
    host: Any
    ruleset_names: list[str]
    productions: list[Rule | Strategy]
    phrases: PhraseMatcher
    max_level: int
    lock: threading.Lock
    driver: Driver  # how inference runs the rulesets (durable's Host API stays usable: on_fire below)
    passes: dict[int, list[str]] = field(default_factory=dict)  # level -> rulesets of that pass
    keys: dict[str, frozenset] = field(default_factory=dict)  # ruleset -> (t, k) of the facts its rules test
    blind: frozenset[str] = frozenset()  # rulesets one of whose rules can fire with no fact (only negations)
    # rulesets holding strategies only: they give advice, never evidence or facts, so a run that only
    # compares conclusions (the questionnaire's look-ahead) can leave them out
    advice_only: frozenset[str] = frozenset()
    on_fire: Callable[[int, dict], None] | None = None  # the actions' target when driven through `host`
    closed: bool = False
    cache: dict = field(default_factory=dict)  # per-rulebase data other stages precompute once

    def close(self) -> None:
        """Free the C rulesets (the Python layer of durable_rules never does)."""
        if self.closed:
            return
        self.closed = True
        try:
            import durable_rules_engine as dre
        except ImportError:  # pragma: no cover
            return
        for name in self.ruleset_names:
            try:
                dre.delete_ruleset(self.host.get_ruleset(name)._handle)
            except Exception:
                pass

    def __enter__(self) -> CompiledRulebase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def compile_rulebase(rb: Rulebase) -> CompiledRulebase:
    """Build durable_rules rulesets for `rb` on a private Host."""
    productions: list[Rule | Strategy] = list(rb.rules) + list(rb.strategies)
    prefix = f"zk{next(_prefix_counter)}_" + "".join(ch if ch.isalnum() else "_" for ch in rb.name)
    definitions: dict[str, dict] = {}
    names: list[str] = []
    compiled_holder: list[CompiledRulebase] = []

    def action_for(index: int):
        # One positional argument only: durable_rules treats a 2-argument
        # function as asynchronous. The index is bound by this closure.
        def act(c):
            compiled_holder[0].on_fire(index, c._m)
        return act

    # Rulesets hold the rules of one pass each: a pass then costs one assert per
    # ruleset of that pass, instead of one per ruleset of the rulebase.
    productions.sort(key=lambda p: p.level)
    multi = frozenset(f.id for f in rb.facts.values() if f.type == "list")
    by_level: dict[int, list[tuple[str, dict, int]]] = {}
    for i, p in enumerate(productions):
        for j, rule in enumerate(productions_for(p.when, p.level, multi)):
            rule["run"] = action_for(i)
            by_level.setdefault(p.level, []).append((f"p{i}_{j}", rule, i))
    passes: dict[int, list[str]] = {}
    keys: dict[str, frozenset] = {}
    blind: set[str] = set()  # rulesets with a rule that can fire on the pass marker alone
    actions: dict[str, dict[str, int]] = {}  # ruleset -> rule name -> production index (for the driver)
    advice_only: set[str] = set()
    for level in sorted(by_level):
        rules = by_level[level]
        for start in range(0, len(rules), PRODUCTIONS_PER_RULESET):
            name = f"{prefix}_{len(names)}"
            chunk = rules[start:start + PRODUCTIONS_PER_RULESET]
            rs = {rname: rule for rname, rule, _ in chunk}
            rs["sink"] = dict(copy.deepcopy(_SINK), run=action_for(-1))
            actions[name] = {rname: i for rname, _, i in chunk} | {"sink": -1}
            definitions[name] = rs
            names.append(name)
            passes.setdefault(level, []).append(name)
            keys[name] = frozenset(k for _, _, i in chunk for k in _fact_keys(productions[i].when))
            if any(not _needs_a_fact(rule) for _, rule, _ in chunk):
                blind.add(name)
            if all(isinstance(productions[i], Strategy) for _, _, i in chunk):
                advice_only.add(name)
    host = _QuietHost.make(definitions)
    phrases = [c for p in productions for c in walk(p.when) if isinstance(c, PhraseTest)]
    max_level = max([p.level for p in productions] + [t.level for t in rb.typologies.values()] + [0])
    compiled = CompiledRulebase(rb, host, names, productions, PhraseMatcher(phrases, rb), max_level,
                                threading.Lock(), Driver(host, actions), passes=passes, keys=keys, blind=frozenset(blind),
                                advice_only=frozenset(advice_only))
    compiled_holder.append(compiled)
    return compiled
