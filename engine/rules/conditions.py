"""The condition language: `when:` of rules and strategies, `applies_when:` of facts.

`ConditionReader` reads conditions (all / any / not, fact comparisons, typology
conclusions, the customer's words) and the references they make (facts and their
values, typologies and their classes) against what is declared so far. The readers
of facts, typologies and strategies build on it.
"""
from __future__ import annotations

from typing import Any

from ..i18n import N_, _
from .checker import describe, fmt_number, shown_text, suggest
from .model import (
    All,
    Any_,
    ConclusionTest,
    Condition,
    FactDef,
    FactTest,
    Not,
    Typology,
    number_problem,
)
from .said import PhraseReader
from .yamlpos import Located

FACT_OPS = {
    "is": "is", "is_not": "is_not", "in": "in", "not_in": "not_in",
    ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte",
    "between": "between", "known": "known", "answered": "answered",
}
TYPOLOGY_OPS = ("is", "is_not", "in", "not_in", "known")
CONDITION_HEADS = ("all", "any", "not", "fact", "typology", "said", "noted")
COMPARISONS = N_("is, is_not, in, not_in, >, >=, <, <=, between, known or answered")
RESERVED_UTTERANCES = "utterances"

BAD = object()  # a value that failed its check (None is a valid value)


class ConditionReader(PhraseReader):
    """Reads conditions and the facts, values, typologies and classes they name."""

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, FactDef] = {}
        self.typologies: dict[str, Typology] = {}

    def class_ref(self, loc: Located, home: str | None, what: str) -> tuple[str, str] | None:
        ref = self.string(loc, what)
        if ref is None:
            return None
        if "." in ref:
            tid, _dot, cid = ref.partition(".")
        elif home is None:
            homes = [f"{t.id}.{ref}" for t in self.typologies.values() if ref in t.classes]
            example = " / ".join(homes[:3]) if homes else "social_style.tiger"
            self.err(loc.pos, _("{ref}: outside a typology file write the class as typology.class, e.g. {example}",
                                ref=shown_text(ref), example=example), "unknown-class")
            return None
        else:
            tid, cid = home, ref
        typ = self.typologies.get(tid)
        if typ is None:
            self.err(loc.pos, _("unknown typology {typology!r}{hint} in {ref!r}", typology=tid,
                                hint=suggest(tid, self.typologies), ref=ref), "unknown-typology")
            return None
        if cid not in typ.classes:
            self.unknown_class(loc, cid, typ)
            return None
        return tid, cid

    def unknown_class(self, loc: Located, cid: str, typ: Typology) -> None:
        self.err(loc.pos, _("unknown class {cls!r} of typology {typology}{hint}; classes are {classes}", cls=cid,
                            typology=typ.id, hint=suggest(cid, typ.classes), classes=", ".join(typ.classes)),
                 "unknown-class")

    def known_fact(self, loc: Located, fid: str | None) -> FactDef | None:
        if fid is None:
            return None
        f = self.facts.get(fid)
        if f is None:
            self.err(loc.pos, _("unknown fact {fact!r}{hint}; facts are declared in facts/*.yaml", fact=fid,
                                hint=suggest(fid, self.facts)), "unknown-fact")
        return f

    def fact_value(self, loc: Located, f: FactDef, allow_list: bool) -> Any:
        v = loc.value
        if isinstance(v, list):
            self.err(loc.pos, _("expected one value for fact {fact}, got a list", fact=f.id), "type")
            return BAD
        if f.type == "bool":
            if not isinstance(v, bool):
                self.err(loc.pos, _("fact {fact} is yes/no: write true or false, not {kind}", fact=f.id,
                                    kind=describe(v)), "bad-value")
                return BAD
            return v
        if f.type == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.err(loc.pos, _("fact {fact} is a number, got {kind}", fact=f.id, kind=describe(v)), "bad-value")
                return BAD
            problem = number_problem(v)
            if problem:
                self.err(loc.pos, _("the value for fact {fact} {problem}", fact=f.id, problem=problem), "bad-value")
                return BAD
            return float(v)
        if isinstance(v, (dict, bool)) or v is None:
            self.err(loc.pos, _("expected a value of fact {fact}, got {kind}", fact=f.id, kind=describe(v)),
                     "bad-value")
            return BAD
        s = str(v)
        if f.values and s not in f.values:
            self.err(loc.pos, _("fact {fact} has no value {value!r}{hint}; allowed: {values}", fact=f.id, value=s,
                                hint=suggest(s, f.values), values=", ".join(v if v.isprintable() else shown_text(v) for v in f.values)), "unknown-value")
            return BAD
        return s

    def condition(self, loc: Located, home: str, rid: str, counter: list[int],
                  facts_only: bool = False) -> Condition | None:
        """A `when:` condition; with `facts_only` (a fact's `applies_when:`) only fact tests and all/any/not."""
        v = loc.value
        if isinstance(v, list):
            items = [self.condition(x, home, rid, counter, facts_only) for x in v]
            if not v:
                self.err(loc.pos, _("empty condition list: give at least one condition"), "empty")
                return None
            return All(tuple(items), loc.pos) if all(i is not None for i in items) else None
        if not isinstance(v, dict):
            self.err(loc.pos, _("a condition must be a mapping such as {example}, got {kind}",
                                example="{fact: pace, is: fast}", kind=describe(v)), "type")
            return None
        heads = [k for k in CONDITION_HEADS if k in v]
        if len(heads) != 1:
            if not heads:
                first = next(iter(v), "?")
                self.err(loc.pos, _("unknown condition {key!r}{hint}; a condition starts with one of {heads}",
                                    key=first, hint=suggest(first, CONDITION_HEADS),
                                    heads=" / ".join(CONDITION_HEADS)), "unknown-key")
            else:
                self.err(loc.pos, _("one condition per mapping: found {keys}; put them in a list under `all:` or "
                                    "`any:`", keys=", ".join(heads)), "ambiguous-condition")
            return None
        head = heads[0]
        if facts_only and head in ("said", "noted"):
            self.err(loc.pos, _("`applies_when` tests facts only, not what the customer said; remove this `{key}:` "
                                "or test a fact that a rule sets from the customer's words", key=head),
                     "bad-condition")
            return None
        if facts_only and head == "typology":
            self.err(loc.pos, _("`applies_when` tests facts only, not conclusions like typology {typology}; "
                                "test the facts that lead to that conclusion instead",
                                typology=shown_text(v["typology"].value)), "bad-condition")
            return None
        if head in ("all", "any"):
            self.mapping(loc, head, required=(head,))
            sub = self.items(v[head], head)
            if not sub:
                if isinstance(v[head].value, list):
                    self.err(v[head].pos, _("`{key}` needs at least one condition", key=head), "empty")
                return None
            items = [self.condition(x, home, rid, counter, facts_only) for x in sub]
            if any(i is None for i in items):
                return None
            return (All if head == "all" else Any_)(tuple(items), loc.pos)
        if head == "not":
            self.mapping(loc, "not", required=("not",))
            inner = self.condition(v["not"], home, rid, counter, facts_only)
            return Not(inner, loc.pos) if inner is not None else None
        if head in ("said", "noted"):
            return self.phrase(loc, rid, counter, head)
        if head == "typology":
            return self.conclusion_test(loc)
        return self.fact_test(loc)

    def fact_test(self, loc: Located) -> FactTest | None:
        v: dict[str, Located] = loc.value
        ops = [k for k in v if k != "fact"]
        for k in ops:
            if k not in FACT_OPS:
                self.err(v[k].key_pos or v[k].pos, _("unknown comparison {key!r}{hint}; use {ops}", key=k,
                                                     hint=suggest(k, FACT_OPS), ops=_(COMPARISONS)), "unknown-key")
                return None
        if len(ops) != 1:
            if ops:
                self.err(loc.pos, _("a fact condition needs exactly one comparison (is, in, >=, between, known, ...), "
                                    "found {keys}; keep one, or put several conditions under `all:`",
                                    keys=", ".join(ops)), "bad-condition")
            else:
                self.err(loc.pos, _("a fact condition needs exactly one comparison (is, in, >=, between, known, ...)"),
                         "bad-condition")
            return None
        fid = self.string(v["fact"], _("fact"))
        f = self.known_fact(v["fact"], fid)
        op = FACT_OPS[ops[0]]
        arg = v[ops[0]]
        if f is None:
            return None
        if op in ("known", "answered"):
            if not isinstance(arg.value, bool):
                self.err(arg.pos, _("`{key}` takes true or false", key=op), "bad-value")
                return None
            return FactTest(f.id, op, arg.value, loc.pos)
        if op in ("gt", "gte", "lt", "lte", "between") and f.type != "number":
            self.err(arg.key_pos or arg.pos, _("`{key}` compares numbers, but fact {fact} is {type}; use is or in",
                                               key=ops[0], fact=f.id, type=f.type), "bad-condition")
            return None
        if op in ("is_not", "not_in") and f.type == "list":
            fix = f"not: {{fact: {f.id}, {'is' if op == 'is_not' else 'in'}: ...}}"
            self.err(arg.key_pos or arg.pos, _("fact {fact} is a list: `{key}` is ambiguous there; write `{fix}`",
                                               fact=f.id, key=ops[0], fix=fix), "bad-condition")
            return None
        if f.id == RESERVED_UTTERANCES and op not in ("known", "answered"):
            self.err(loc.pos, _("test what the customer said with `said:`, not with a fact comparison"),
                     "bad-condition")
            return None
        if op in ("in", "not_in", "between"):
            items = self.items(arg, ops[0])
            if not items:
                if isinstance(arg.value, list):
                    self.err(arg.pos, _("`{key}` needs at least one value", key=ops[0]), "empty")
                return None
            vals = [self.fact_value(x, f, allow_list=False) for x in items]
            if any(x is BAD for x in vals):
                return None
            if op == "between":
                if len(vals) != 2:
                    self.err(arg.pos, _("`between` takes two numbers: [low, high]"), "bad-condition")
                    return None
                if vals[0] > vals[1]:
                    self.err(arg.pos, _("`between` low {low} is above high {high}; swap them",
                                        low=fmt_number(vals[0]), high=fmt_number(vals[1])), "bad-range")
                    return None
                self.in_range(items[0], f, vals[0])
                self.in_range(items[1], f, vals[1])
            return FactTest(f.id, op, tuple(vals), loc.pos)
        val = self.fact_value(arg, f, allow_list=False)
        if val is BAD:
            return None
        if f.type == "number":
            self.in_range(arg, f, val)
        return FactTest(f.id, op, val, loc.pos)

    def in_range(self, loc: Located, f: FactDef, val: float) -> None:
        if (f.min is not None and val < f.min) or (f.max is not None and val > f.max):
            low = fmt_number(f.min) if f.min is not None else "-∞"
            high = fmt_number(f.max) if f.max is not None else "∞"
            self.err(loc.pos, _("{value} is outside the range of fact {fact} ({low}..{high})", value=fmt_number(val),
                                fact=f.id, low=low, high=high), "bad-range")

    def conclusion_test(self, loc: Located) -> ConclusionTest | None:
        v: dict[str, Located] = loc.value
        for k in v:
            if k not in ("typology", "min_confidence") + TYPOLOGY_OPS:
                self.err(v[k].key_pos or v[k].pos, _("unknown key {key!r} in a typology condition{hint}; use {keys}",
                                                     key=k, hint=suggest(k, TYPOLOGY_OPS + ("min_confidence",)),
                                                     keys=", ".join(TYPOLOGY_OPS + ("min_confidence",))),
                         "unknown-key")
                return None
        ops = [k for k in v if k in TYPOLOGY_OPS]
        if len(ops) != 1:
            self.err(loc.pos, _("a typology condition needs exactly one of is, is_not, in, not_in, known"),
                     "bad-condition")
            return None
        tid = self.string(v["typology"], _("typology"))
        typ = self.typologies.get(tid) if tid else None
        if typ is None:
            if tid:
                self.err(v["typology"].pos, _("unknown typology {typology!r}{hint}; typologies are declared in "
                                              "typologies/*.yaml", typology=tid, hint=suggest(tid, self.typologies)),
                         "unknown-typology")
            return None
        op, arg = ops[0], v[ops[0]]
        minc = self.weight(v["min_confidence"], "min_confidence") if "min_confidence" in v else None
        if op == "known":
            if not isinstance(arg.value, bool):
                self.err(arg.pos, _("`{key}` takes true or false", key="known"), "bad-value")
                return None
            return ConclusionTest(typ.id, "known", arg.value, minc, loc.pos)
        raw = self.items(arg, op) if op in ("in", "not_in") else [arg]
        classes = []
        for x in raw:
            c = self.string(x, _("class"))
            if c is None:
                return None
            if c not in typ.classes:
                self.unknown_class(x, c, typ)
                return None
            classes.append(c)
        if not classes:
            return None
        operand = tuple(classes) if op in ("in", "not_in") else classes[0]
        return ConclusionTest(typ.id, op, operand, minc, loc.pos)
