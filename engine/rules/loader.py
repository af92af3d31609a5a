"""Load a rulebase directory into a validated `Rulebase`, or fail with every problem.

Validation is all-or-nothing: any error raises `RulebaseError` carrying every
problem found, sorted, each with `file:line:col` and the fix. Nothing is ever
half-loaded. Like pre-commit's clientlib, the YAML shape is checked field by
field, so a misspelt key gets a did-you-mean rather than being ignored.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import regex

from ..errors import Problem, RulebaseError, did_you_mean
from .model import (
    FACT_TYPES,
    UNKNOWN_WORDS,
    All,
    Any_,
    ClassDef,
    ConclusionTest,
    Condition,
    Evidence,
    FactDef,
    FactTest,
    Not,
    PhraseTest,
    Rule,
    Rulebase,
    Seed,
    SeedSection,
    SetFact,
    Source,
    Stage,
    Strategy,
    Text,
    Typology,
    Value,
    Warn,
    normalise_text,
    number_problem,
    walk,
)
from .patterns import MAX_REGEX_CHARS, REGEX_TIMEOUT, compile_pattern, pattern_hazard
from .yamlpos import MAX_BYTES, Located, Pos, YamlError, load_file

ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
FACT_OPS = {
    "is": "is", "is_not": "is_not", "in": "in", "not_in": "not_in",
    ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte",
    "between": "between", "known": "known", "answered": "answered",
}
TYPOLOGY_OPS = ("is", "is_not", "in", "not_in", "known")
RESERVED_UTTERANCES = "utterances"


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # other drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


class _Checker:
    """Collects problems while turning `Located` YAML into model objects."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, pos: Pos, message: str, check: str) -> None:
        self.problems.append(Problem(pos, message, check))

    # -- shapes ------------------------------------------------------------------
    def mapping(self, loc: Located, what: str, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, Located] | None:
        if not isinstance(loc.value, dict):
            self.err(loc.pos, f"{what} must be a mapping (key: value), got {_kind(loc.value)}", "type")
            return None
        known = required + optional
        for key, val in loc.value.items():
            if key not in known:
                self.err(val.key_pos or val.pos,
                         f"unknown key {key!r} in {what}{did_you_mean(key, known)}; "
                         f"allowed keys: {', '.join(known)}", "unknown-key")
        for key in required:
            if key not in loc.value:
                self.err(loc.pos, f"{what} is missing {key!r}", "missing-key")
        return loc.value

    def string(self, loc: Located | None, what: str) -> str | None:
        if loc is None:
            return None
        v = loc.value
        if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
            self.err(loc.pos, f"{what} must be text, got {_kind(v)}", "type")
            return None
        s = str(v).strip()
        if not s:
            self.err(loc.pos, f"{what} is empty", "empty")
            return None
        return s

    def ident(self, loc: Located | None, what: str) -> str | None:
        s = self.string(loc, what)
        if s is not None and not ID_RE.match(s):
            self.err(loc.pos, f"{what} {s!r} is not a valid id: use letters, digits and _, "
                              "segments separated by dots, starting with a letter", "bad-id")
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

    def number(self, loc: Located | None, what: str) -> float | None:
        if loc is None:
            return None
        v = loc.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(loc.pos, f"{what} must be a number, got {_kind(v)}", "type")
            return None
        problem = number_problem(v)
        if problem:
            self.err(loc.pos, f"{what} {problem}", "bad-value")
            return None
        return float(v)

    def weight(self, loc: Located | None, what: str) -> float | None:
        w = self.number(loc, what)
        if w is not None and not (0 < w <= 1):
            self.err(loc.pos, f"{what} must be in (0, 1], got {_fmt(w)}; "
                              "use `against:` for counter-evidence", "bad-weight")
            return None
        return w

    def items(self, loc: Located | None, what: str) -> list[Located]:
        if loc is None:
            return []
        if not isinstance(loc.value, list):
            self.err(loc.pos, f"{what} must be a list (lines starting with '- '), got {_kind(loc.value)}", "type")
            return []
        return loc.value


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return f"yes/no value {str(v).lower()}"
    if v is None:
        return "nothing"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, (int, float)):
        shown = _fmt(v)
        return f"the number {shown if len(shown) <= 40 else shown[:37] + '…'}"
    shown = repr(str(v))
    return f"text {shown if len(shown) <= 60 else shown[:57] + '…'}"


def _fmt(v: float) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


class _Loader(_Checker):
    def __init__(self, root: Path):
        super().__init__()
        self.root = root
        self.seeds: dict[str, Seed] = {}
        self.stages: dict[str, Stage] = {}
        self.facts: dict[str, FactDef] = {}
        self.typologies: dict[str, Typology] = {}
        self.rules: list[Rule] = []
        self.strategies: list[Strategy] = []
        self.hash = hashlib.sha256()
        self.files: list[str] = []

    def read(self, path: Path) -> Located | None:
        rel = path.relative_to(self.root).as_posix()
        try:
            with open(path, "rb") as fh:  # bounded: load_file refuses anything bigger anyway
                data = fh.read(MAX_BYTES + 1)
        except OSError:
            data = b""
        self.hash.update(rel.encode() + b"\0" + data + b"\0")
        self.files.append(display_path(path))
        try:
            return load_file(path, display_path(path))
        except YamlError as e:
            self.problems.extend(e.problems)
            return None

    # -- rulebase.yaml ------------------------------------------------------------
    def manifest(self, loc: Located | None, path: Path) -> tuple[str, str, Text, float]:
        name, version, title, threshold = "?", "?", Text("?", "?"), 0.3
        if loc is None:
            if path.exists():
                self.err(Pos(display_path(path), 1, 1), "rulebase.yaml is empty", "empty")
            return name, version, title, threshold
        m = self.mapping(loc, "rulebase.yaml", required=("name", "version", "title", "stages"),
                         optional=("threshold", "description", "order"))
        if m is None:
            return name, version, title, threshold
        name = self.string(m.get("name"), "name") or name
        version = self.string(m.get("version"), "version") or version
        title = self.text(m.get("title"), "title") or title
        if "threshold" in m:
            threshold = self.weight(m["threshold"], "threshold") or threshold
        self.order = [(tid, x.pos) for x in self.items(m.get("order"), "order")
                      if (tid := self.string(x, "order item")) is not None]
        for item in self.items(m.get("stages"), "stages"):
            sm = self.mapping(item, "stage", required=("id", "label"))
            if sm is None:
                continue
            sid, label = self.ident(sm.get("id"), "stage id"), self.text(sm.get("label"), "stage label")
            if sid in self.stages:
                self.err(sm["id"].pos, f"duplicate stage id {sid!r}", "duplicate-id")
            elif sid and label:
                self.stages[sid] = Stage(sid, label)
        return name, version, title, threshold

    # -- sources.yaml ---------------------------------------------------------------
    def sources(self, loc: Located | None) -> None:
        if loc is None:
            return
        m = self.mapping(loc, "sources.yaml", required=("seeds",))
        if m is None:
            return
        for item in self.items(m.get("seeds"), "seeds"):
            sm = self.mapping(item, "seed", required=("id", "file", "title", "sections"))
            if sm is None:
                continue
            sid = self.string(sm.get("id"), "seed id")
            file = self.string(sm.get("file"), "seed file")
            title = self.text(sm.get("title"), "seed title")
            sections: dict[str, SeedSection] = {}
            for sec in self.items(sm.get("sections"), "sections"):
                xm = self.mapping(sec, "section", required=("id", "title", "anchor"))
                if xm is None:
                    continue
                xid = self.string(xm.get("id"), "section id")
                xt = self.string(xm.get("title"), "section title")
                xa = self.string(xm.get("anchor"), "section anchor")
                if xid in sections:
                    self.err(xm["id"].pos, f"duplicate section id {xid!r} in seed {sid}", "duplicate-id")
                elif xid and xt and xa:
                    sections[xid] = SeedSection(xid, xt, xa, sec.pos)
            if sid in self.seeds:
                self.err(sm["id"].pos, f"duplicate seed id {sid!r}", "duplicate-id")
            elif sid and file and title:
                self.seeds[sid] = Seed(sid, file, title, sections, item.pos)

    def source(self, loc: Located | None, what: str) -> Source | None:
        if loc is None:
            return None
        m = self.mapping(loc, f"{what} source", required=("seed", "section"))
        if m is None:
            return None
        seed_id = self.string(m.get("seed"), "source seed")
        sec_id = self.string(m.get("section"), "source section")
        if seed_id is None or sec_id is None:
            return None
        seed = self.seeds.get(seed_id)
        if seed is None:
            self.err(m["seed"].pos, f"unknown seed {seed_id!r}{did_you_mean(seed_id, self.seeds)}; "
                                    "seeds are listed in sources.yaml (write the id quoted, e.g. \"000\")",
                     "unknown-source")
            return None
        sec = seed.sections.get(sec_id)
        if sec is None:
            self.err(m["section"].pos, f"seed {seed_id} has no section {sec_id!r}"
                                       f"{did_you_mean(sec_id, seed.sections)}; add it to sources.yaml "
                                       "or cite an existing one", "unknown-source")
            return None
        return Source(seed_id, sec_id, sec.title, seed.file, loc.pos)

    # -- facts ---------------------------------------------------------------------
    def fact_file(self, loc: Located | None) -> None:
        if loc is None:
            return
        m = self.mapping(loc, "fact file", required=("facts",))
        if m is None:
            return
        for item in self.items(m.get("facts"), "facts"):
            self.fact(item)

    def fact(self, item: Located) -> None:
        fm = self.mapping(item, "fact", required=("id", "type", "label", "question"),
                          optional=("values", "min", "max", "unit", "help"))
        if fm is None:
            return
        fid = self.ident(fm.get("id"), "fact id")
        ftype = self.string(fm.get("type"), "fact type")
        if ftype is not None and ftype not in FACT_TYPES:
            self.err(fm["type"].pos, f"unknown fact type {ftype!r}{did_you_mean(ftype, FACT_TYPES)}; "
                                     f"use one of {', '.join(FACT_TYPES)}", "bad-type")
            ftype = None
        label = self.text(fm.get("label"), "label")
        question = self.text(fm.get("question"), "question")
        help_ = self.text(fm.get("help"), "help")
        values: dict[str, Value] = {}
        if "values" in fm:
            if ftype not in ("enum", "list"):
                self.err(fm["values"].key_pos or fm["values"].pos,
                         f"`values` only applies to enum and list facts, not {ftype}", "bad-field")
            for v in self.items(fm["values"], "values"):
                vm = self.mapping(v, "value", required=("id", "label"))
                if vm is None:
                    continue
                vid = self.string(vm.get("id"), "value id")
                vl = self.text(vm.get("label"), "value label")
                if vid is not None and vid.casefold() in UNKNOWN_WORDS:
                    self.err(vm["id"].pos, f"value id {vid!r} reads as \"unknown\" in profiles and batch files; "
                             "rename it (e.g. no_budget)", "bad-id")
                elif vid in values:
                    self.err(vm["id"].pos, f"duplicate value {vid!r} in fact {fid}", "duplicate-id")
                elif vid and vl:
                    values[vid] = Value(vid, vl)
        elif ftype == "enum":
            self.err(item.pos, f"enum fact {fid!r} needs `values`", "missing-key")
        lo = self.number(fm.get("min"), "min")
        hi = self.number(fm.get("max"), "max")
        for key in ("min", "max", "unit"):
            if key in fm and ftype != "number":
                self.err(fm[key].key_pos or fm[key].pos, f"`{key}` only applies to number facts", "bad-field")
        if lo is not None and hi is not None and lo > hi:
            self.err(fm["min"].pos, f"min {_fmt(lo)} is greater than max {_fmt(hi)}", "bad-range")
        unit = self.text(fm.get("unit"), "unit")
        if fid == RESERVED_UTTERANCES and ftype is not None and (ftype != "list" or values):
            self.err(fm["type"].pos, "the fact `utterances` must be a list of free text (type: list, no values)",
                     "bad-type")
        if fid is None or ftype is None or label is None or question is None:
            return
        if fid in self.facts:
            first = self.facts[fid].pos
            self.err(fm["id"].pos, f"duplicate fact id {fid!r} (first defined at {first})", "duplicate-id")
            return
        self.facts[fid] = FactDef(fid, ftype, label, question, help_, values, lo, hi, unit, item.pos)

    # -- typologies -------------------------------------------------------------------
    def typology_header(self, loc: Located | None, path: Path) -> tuple[Typology | None, dict | None]:
        if loc is None:
            return None, None
        m = self.mapping(loc, "typology file", required=("typology",), optional=("rules", "strategies"))
        if m is None or "typology" not in m:
            return None, None
        tm = self.mapping(m["typology"], "typology", required=("id", "label", "classes"),
                          optional=("description", "threshold", "source"))
        if tm is None:
            return None, None
        tid = self.ident(tm.get("id"), "typology id")
        label = self.text(tm.get("label"), "typology label")
        desc = self.text(tm.get("description"), "description")
        threshold = self.weight(tm["threshold"], "threshold") if "threshold" in tm else None
        classes: dict[str, ClassDef] = {}
        for c in self.items(tm.get("classes"), "classes"):
            cm = self.mapping(c, "class", required=("id", "label"), optional=("description",))
            if cm is None:
                continue
            cid = self.ident(cm.get("id"), "class id")
            cl = self.text(cm.get("label"), "class label")
            cd = self.text(cm.get("description"), "class description")
            if cid in classes:
                self.err(cm["id"].pos, f"duplicate class id {cid!r} in typology {tid}", "duplicate-id")
            elif cid and cl:
                classes[cid] = ClassDef(cid, cl, cd, c.pos)
        if tid is None or label is None:
            return None, m
        if tid in self.typologies:
            self.err(tm["id"].pos, f"duplicate typology id {tid!r} (first in {self.typologies[tid].file})",
                     "duplicate-id")
            return None, None
        t = Typology(tid, label, desc, classes, threshold if threshold is not None else -1.0,
                     None, display_path(path), m["typology"].pos)
        t._source_loc = tm.get("source")  # resolved once sources are known
        self.typologies[tid] = t
        return t, m

    def class_ref(self, loc: Located, home: str | None, what: str) -> tuple[str, str] | None:
        ref = self.string(loc, what)
        if ref is None:
            return None
        if "." in ref:
            tid, _, cid = ref.partition(".")
        elif home is None:
            self.err(loc.pos, f"{ref!r}: outside a typology file write the class as typology.class, "
                              f"e.g. social_style.{ref}", "unknown-class")
            return None
        else:
            tid, cid = home, ref
        typ = self.typologies.get(tid)
        if typ is None:
            self.err(loc.pos, f"unknown typology {tid!r}{did_you_mean(tid, self.typologies)} in {ref!r}",
                     "unknown-typology")
            return None
        if cid not in typ.classes:
            self.err(loc.pos, f"unknown class {cid!r} of typology {tid}{did_you_mean(cid, typ.classes)}; "
                              f"classes are {', '.join(typ.classes)}", "unknown-class")
            return None
        return tid, cid

    def rule(self, item: Located, typ: Typology, seen: dict[str, Pos]) -> None:
        rm = self.mapping(item, "rule", required=("id", "when", "then", "rationale", "source"))
        if rm is None:
            return
        rid = self.ident(rm.get("id"), "rule id")
        if rid is not None:
            if rid in seen:
                self.err(rm["id"].pos, f"duplicate rule id {rid!r} (first at {seen[rid]})", "duplicate-id")
                rid = None
            else:
                seen[rid] = rm["id"].pos
        counter = [0]
        when = self.condition(rm["when"], typ.id, rid or "?", counter) if "when" in rm else None
        effects: list = []
        for e in self.items(rm.get("then"), "then"):
            eff = self.effect(e, typ.id)
            if eff is not None:
                effects.append(eff)
        if "then" in rm and isinstance(rm["then"].value, list) and not rm["then"].value:
            self.err(rm["then"].pos, "`then` is empty: give at least one effect", "empty")
        rationale = self.text(rm.get("rationale"), "rationale")
        source = self.source(rm.get("source"), "rule")
        if rid and when is not None and effects and rationale and source:
            self.rules.append(Rule(rid, when, tuple(effects), rationale, source, typ.id, item.pos))

    def effect(self, loc: Located, home: str):
        m = loc.value
        if not isinstance(m, dict):
            self.err(loc.pos, f"an effect must be a mapping such as {{class: C, weight: 0.5}}, got {_kind(m)}",
                     "type")
            return None
        if "class" in m or "against" in m:
            key = "class" if "class" in m else "against"
            em = self.mapping(loc, "evidence", required=(key, "weight"))
            if em is None or key not in em:
                return None
            ref = self.class_ref(em[key], home, "class")
            w = self.weight(em.get("weight"), "weight")
            if ref is None or w is None:
                return None
            return Evidence(ref[0], ref[1], w if key == "class" else -w, loc.pos)
        if "set" in m:
            em = self.mapping(loc, "set effect", required=("set", "value"))
            if em is None or "set" not in em:
                return None
            fid = self.string(em["set"], "fact")
            f = self.known_fact(em["set"], fid)
            if f is None or "value" not in em:
                return None
            if f.id == RESERVED_UTTERANCES:
                self.err(em["set"].pos, "rules cannot set `utterances`", "bad-effect")
                return None
            value = self.fact_value(em["value"], f, allow_list=False)
            if value is _BAD:
                return None
            return SetFact(f.id, value, loc.pos)
        if "warn" in m:
            em = self.mapping(loc, "warning", required=("warn",))
            t = self.text(em.get("warn"), "warn") if em else None
            return Warn(t, loc.pos) if t else None
        keys = list(m)
        self.err(loc.pos, f"unknown effect {keys[0]!r}{did_you_mean(keys[0], ('class', 'against', 'set', 'warn'))}; "
                          "an effect is one of class / against / set / warn", "unknown-key")
        return None

    def known_fact(self, loc: Located, fid: str | None) -> FactDef | None:
        if fid is None:
            return None
        f = self.facts.get(fid)
        if f is None:
            self.err(loc.pos, f"unknown fact {fid!r}{did_you_mean(fid, self.facts)}; "
                              "facts are declared in facts/*.yaml", "unknown-fact")
        return f

    def fact_value(self, loc: Located, f: FactDef, allow_list: bool) -> Any:
        v = loc.value
        if isinstance(v, list):
            self.err(loc.pos, f"expected one value for fact {f.id}, got a list", "type")
            return _BAD
        if f.type == "bool":
            if not isinstance(v, bool):
                self.err(loc.pos, f"fact {f.id} is yes/no: write true or false, not {_kind(v)}", "bad-value")
                return _BAD
            return v
        if f.type == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.err(loc.pos, f"fact {f.id} is a number, got {_kind(v)}", "bad-value")
                return _BAD
            problem = number_problem(v)
            if problem:
                self.err(loc.pos, f"the value for fact {f.id} {problem}", "bad-value")
                return _BAD
            return float(v)
        if isinstance(v, (dict, bool)) or v is None:
            self.err(loc.pos, f"expected a value of fact {f.id}, got {_kind(v)}", "bad-value")
            return _BAD
        s = str(v)
        if f.values and s not in f.values:
            self.err(loc.pos, f"fact {f.id} has no value {s!r}{did_you_mean(s, f.values)}; "
                              f"allowed: {', '.join(f.values)}", "unknown-value")
            return _BAD
        return s

    def condition(self, loc: Located, home: str, rid: str, counter: list[int]) -> Condition | None:
        v = loc.value
        if isinstance(v, list):
            items = [self.condition(x, home, rid, counter) for x in v]
            if not v:
                self.err(loc.pos, "empty condition list", "empty")
                return None
            return All(tuple(items), loc.pos) if all(i is not None for i in items) else None
        if not isinstance(v, dict):
            self.err(loc.pos, f"a condition must be a mapping such as {{fact: pace, is: fast}}, got {_kind(v)}",
                     "type")
            return None
        heads = [k for k in ("all", "any", "not", "fact", "typology", "said") if k in v]
        if len(heads) != 1:
            if not heads:
                first = next(iter(v), "?")
                self.err(loc.pos, f"unknown condition {first!r}"
                                  f"{did_you_mean(first, ('all', 'any', 'not', 'fact', 'typology', 'said'))}; "
                                  "a condition starts with one of all / any / not / fact / typology / said",
                         "unknown-key")
            else:
                self.err(loc.pos, f"one condition per mapping: found {', '.join(heads)}; "
                                  "put them in a list under `all:` or `any:`", "ambiguous-condition")
            return None
        head = heads[0]
        if head in ("all", "any"):
            self.mapping(loc, head, required=(head,))
            sub = self.items(v[head], head)
            if not sub:
                if isinstance(v[head].value, list):
                    self.err(v[head].pos, f"`{head}` needs at least one condition", "empty")
                return None
            items = [self.condition(x, home, rid, counter) for x in sub]
            if any(i is None for i in items):
                return None
            return (All if head == "all" else Any_)(tuple(items), loc.pos)
        if head == "not":
            self.mapping(loc, "not", required=("not",))
            inner = self.condition(v["not"], home, rid, counter)
            return Not(inner, loc.pos) if inner is not None else None
        if head == "said":
            return self.phrase(loc, rid, counter)
        if head == "typology":
            return self.conclusion_test(loc)
        return self.fact_test(loc)

    def fact_test(self, loc: Located) -> FactTest | None:
        v: dict[str, Located] = loc.value
        ops = [k for k in v if k != "fact"]
        for k in ops:
            if k not in FACT_OPS:
                self.err(v[k].key_pos or v[k].pos, f"unknown comparison {k!r}{did_you_mean(k, FACT_OPS)}; "
                         "use is, is_not, in, not_in, >, >=, <, <=, between, known or answered", "unknown-key")
                return None
        if len(ops) != 1:
            self.err(loc.pos, "a fact condition needs exactly one comparison (is, in, >=, between, known, ...)"
                     + (f", found {', '.join(ops)}" if ops else ""), "bad-condition")
            return None
        fid = self.string(v["fact"], "fact")
        f = self.known_fact(v["fact"], fid)
        op = FACT_OPS[ops[0]]
        arg = v[ops[0]]
        if f is None:
            return None
        if op in ("known", "answered"):
            if not isinstance(arg.value, bool):
                self.err(arg.pos, f"`{op}` takes true or false", "bad-value")
                return None
            return FactTest(f.id, op, arg.value, loc.pos)
        if op in ("gt", "gte", "lt", "lte", "between") and f.type != "number":
            self.err(arg.key_pos or arg.pos, f"`{ops[0]}` compares numbers, but fact {f.id} is {f.type}; "
                     "use is or in", "bad-condition")
            return None
        if op in ("is_not", "not_in") and f.type == "list":
            self.err(arg.key_pos or arg.pos, f"fact {f.id} is a list: `{ops[0]}` is ambiguous there; "
                     f"write `not: {{fact: {f.id}, {'is' if op == 'is_not' else 'in'}: ...}}`", "bad-condition")
            return None
        if f.id == RESERVED_UTTERANCES and op not in ("known", "answered"):
            self.err(loc.pos, "test what the customer said with `said:`, not with a fact comparison",
                     "bad-condition")
            return None
        if op in ("in", "not_in", "between"):
            items = self.items(arg, ops[0])
            if not items:
                if isinstance(arg.value, list):
                    self.err(arg.pos, f"`{ops[0]}` needs at least one value", "empty")
                return None
            vals = [self.fact_value(x, f, allow_list=False) for x in items]
            if any(x is _BAD for x in vals):
                return None
            if op == "between":
                if len(vals) != 2:
                    self.err(arg.pos, "`between` takes two numbers: [low, high]", "bad-condition")
                    return None
                if vals[0] > vals[1]:
                    self.err(arg.pos, f"`between` low {_fmt(vals[0])} is above high {_fmt(vals[1])}; swap them",
                             "bad-range")
                    return None
                self.in_range(items[0], f, vals[0])
                self.in_range(items[1], f, vals[1])
            return FactTest(f.id, op, tuple(vals), loc.pos)
        val = self.fact_value(arg, f, allow_list=False)
        if val is _BAD:
            return None
        if f.type == "number":
            self.in_range(arg, f, val)
        return FactTest(f.id, op, val, loc.pos)

    def in_range(self, loc: Located, f: FactDef, val: float) -> None:
        if (f.min is not None and val < f.min) or (f.max is not None and val > f.max):
            self.err(loc.pos, f"{_fmt(val)} is outside the range of fact {f.id} "
                              f"({_fmt(f.min) if f.min is not None else '-∞'}..{_fmt(f.max) if f.max is not None else '∞'})",
                     "bad-range")

    def conclusion_test(self, loc: Located) -> ConclusionTest | None:
        v: dict[str, Located] = loc.value
        for k in v:
            if k not in ("typology", "min_confidence") + TYPOLOGY_OPS:
                self.err(v[k].key_pos or v[k].pos, f"unknown key {k!r} in a typology condition"
                         f"{did_you_mean(k, TYPOLOGY_OPS + ('min_confidence',))}", "unknown-key")
                return None
        ops = [k for k in v if k in TYPOLOGY_OPS]
        if len(ops) != 1:
            self.err(loc.pos, "a typology condition needs exactly one of is, is_not, in, not_in, known",
                     "bad-condition")
            return None
        tid = self.string(v["typology"], "typology")
        typ = self.typologies.get(tid) if tid else None
        if typ is None:
            if tid:
                self.err(v["typology"].pos, f"unknown typology {tid!r}{did_you_mean(tid, self.typologies)}",
                         "unknown-typology")
            return None
        op, arg = ops[0], v[ops[0]]
        minc = self.weight(v["min_confidence"], "min_confidence") if "min_confidence" in v else None
        if op == "known":
            if not isinstance(arg.value, bool):
                self.err(arg.pos, "`known` takes true or false", "bad-value")
                return None
            return ConclusionTest(typ.id, "known", arg.value, minc, loc.pos)
        raw = self.items(arg, op) if op in ("in", "not_in") else [arg]
        classes = []
        for x in raw:
            c = self.string(x, "class")
            if c is None:
                return None
            if c not in typ.classes:
                self.err(x.pos, f"unknown class {c!r} of typology {typ.id}{did_you_mean(c, typ.classes)}; "
                                f"classes are {', '.join(typ.classes)}", "unknown-class")
                return None
            classes.append(c)
        if not classes:
            return None
        operand = tuple(classes) if op in ("in", "not_in") else classes[0]
        return ConclusionTest(typ.id, op, operand, minc, loc.pos)

    def phrase(self, loc: Located, rid: str, counter: list[int]) -> PhraseTest | None:
        self.mapping(loc, "said", required=("said",))
        sm = self.mapping(loc.value["said"], "said", optional=("zh", "en", "regex"))
        if sm is None:
            return None
        keywords: list[str] = []
        regexes: list[str] = []
        for key in ("zh", "en"):
            for x in self.items(sm.get(key), f"said.{key}"):
                s = self.string(x, f"said.{key} keyword")
                if s:
                    keywords.append(normalise_text(s))
        for x in self.items(sm.get("regex"), "said.regex"):
            s = self.string(x, "said.regex pattern")
            if s is not None and self.pattern_ok(s, x.pos):
                regexes.append(s)
        if not keywords and not regexes and not any(
                p.pos.file == loc.pos.file and p.pos.line >= loc.pos.line for p in self.problems[-3:]):
            self.err(loc.pos, "`said` needs at least one keyword (zh / en) or regex", "empty")
        if not keywords and not regexes:
            return None
        pid = f"{rid}#{counter[0]}"
        counter[0] += 1
        return PhraseTest(pid, tuple(keywords), tuple(regexes), loc.pos)

    def pattern_ok(self, s: str, pos: Pos) -> bool:
        """A `said:` regex compiles in both dialects, cannot match empty text and cannot backtrack
        exponentially (see patterns.pattern_hazard); otherwise a problem at its position."""
        shown = repr(s) if len(s) <= 80 else repr(s[:77]) + "…"
        if len(s) > MAX_REGEX_CHARS:
            self.err(pos, f"regular expression {shown} is {len(s):,} characters long; at most "
                          f"{MAX_REGEX_CHARS:,}: split it into several patterns", "bad-regex")
            return False
        try:
            re.compile(s)  # the documented dialect (Python's re) ...
            rx = compile_pattern(s)  # ... and the engine that runs it
        except (re.error, regex.error) as e:
            self.err(pos, f"invalid regular expression {shown}: {e.msg}"
                          + (f" at position {e.pos}" if e.pos is not None else ""), "bad-regex")
            return False
        except (RecursionError, OverflowError, ValueError, MemoryError):
            self.err(pos, f"regular expression {shown} is nested too deeply or too large; simplify it", "bad-regex")
            return False
        hazard = pattern_hazard(s)
        if hazard:
            self.err(pos, f"regular expression {shown} is unsafe: {hazard}", "slow-regex")
            return False
        try:
            empty = rx.search("", timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:  # pragma: no cover - no pattern takes that long on empty text
            empty = False
        if empty:
            self.err(pos, f"regular expression {shown} matches empty text, so it would match anything; "
                          "make it require at least one character", "bad-regex")
            return False
        return True

    def strategy(self, item: Located, typ: Typology | None, seen: dict[str, Pos]) -> None:
        sm = self.mapping(item, "strategy", required=("id", "advice", "source"),
                          optional=("for", "when", "summary", "priority"))
        if sm is None:
            return
        sid = self.ident(sm.get("id"), "strategy id")
        if sid is not None:
            if sid in seen:
                self.err(sm["id"].pos, f"duplicate strategy id {sid!r} (first at {seen[sid]})", "duplicate-id")
                sid = None
            else:
                seen[sid] = sm["id"].pos
        if "for" not in sm and "when" not in sm:
            self.err(item.pos, "a strategy needs `for:` (the class or classes it is for) or `when:`",
                     "missing-key")
            return
        pairs: list[tuple[str, str]] = []
        ok = True
        if "for" in sm:
            refs = sm["for"].value if isinstance(sm["for"].value, list) else [sm["for"]]
            for r in refs:
                pair = self.class_ref(r, typ.id if typ else None, "for")
                if pair is None:
                    ok = False
                else:
                    pairs.append(pair)
        conds: list[Condition] = [ConclusionTest(t, "is", c, None, sm["for"].pos) for t, c in pairs]
        if "when" in sm:
            w = self.condition(sm["when"], typ.id if typ else "", sid or "?", [0])
            if w is None:
                ok = False
            else:
                conds.append(w)
        advice = self.advice(sm.get("advice"))
        source = self.source(sm.get("source"), "strategy")
        summary = self.text(sm.get("summary"), "summary")
        priority = 0
        if "priority" in sm:
            pv = sm["priority"].value
            if isinstance(pv, bool) or not isinstance(pv, int) or not 0 <= pv <= 100:
                self.err(sm["priority"].pos, "priority is a whole number from 0 to 100 (higher wins the next "
                                             "best action)", "bad-value")
            else:
                priority = pv
        if not ok or sid is None or advice is None or source is None or not conds:
            return
        when = conds[0] if len(conds) == 1 else All(tuple(conds), item.pos)
        self.strategies.append(Strategy(sid, typ.id if typ else None, tuple(pairs), when, advice, source, item.pos,
                                        summary=summary, priority=priority))

    def advice(self, loc: Located | None) -> dict[str, Text] | None:
        if loc is None:
            return None
        if not isinstance(loc.value, dict):
            self.err(loc.pos, f"advice must be {{zh: ..., en: ...}} or one such text per stage, got {_kind(loc.value)}",
                     "type")
            return None
        keys = set(loc.value)
        if keys & {"zh", "en"}:
            t = self.text(loc, "advice")
            return {"": t} if t else None
        out: dict[str, Text] = {}
        for stage, val in loc.value.items():
            if stage not in self.stages:
                self.err(val.key_pos or val.pos, f"unknown stage {stage!r}{did_you_mean(stage, self.stages)}; "
                         f"stages are {', '.join(self.stages)} (rulebase.yaml)", "unknown-stage")
                continue
            t = self.text(val, f"advice.{stage}")
            if t:
                out[stage] = t
        return out or None


_BAD = object()


def _fact_tests(cond: Condition):
    return [c for c in walk(cond) if isinstance(c, FactTest)]


def _stratify(rb_rules: list[Rule], strategies: list[Strategy], typologies: dict[str, Typology],
              checker: _Checker) -> int:
    """Give each rule, strategy and typology the pass in which it can be decided.

    A rule that tests a conclusion (or a derived fact) runs only after every
    rule that could change that conclusion (or fact) has run: this is what
    makes negation and counting evidence sound in a forward-chaining engine
    that never retracts an action. Returns the highest pass number.
    """
    setters: dict[str, list[Rule]] = {}
    evidencers: dict[str, list[Rule]] = {}
    for r in rb_rules:
        for e in r.then:
            if isinstance(e, SetFact):
                setters.setdefault(e.fact, []).append(r)
            elif isinstance(e, Evidence):
                evidencers.setdefault(e.typology, []).append(r)

    memo: dict[tuple, int] = {}
    on_stack: list[tuple] = []
    reported: set = set()

    def node_level(node: tuple) -> int:
        if node in memo:
            return memo[node]
        if node in on_stack:
            cycle = on_stack[on_stack.index(node):] + [node]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                names = " → ".join(f"{k} {n}" for k, n in cycle)
                rule_nodes = [n for k, n in cycle if k == "rule"]
                pos = next((r.pos for r in rb_rules if r.id in rule_nodes), Pos("?", 1, 1))
                hint = "break the cycle"
                facts = [n for k, n in cycle if k == "fact"]
                if facts:
                    hint += (f"; if a rule should set {facts[0]} only when the rep has not given it, "
                             f"test `{{fact: {facts[0]}, answered: false}}` instead of `known`")
                checker.err(pos, f"rules depend on each other in a cycle: {names}; {hint}", "cycle")
            return 0
        on_stack.append(node)
        kind, name = node
        if kind == "rule":
            rule = rule_by_id[name]
            level = _cond_level(rule.when)
        elif kind == "typology":
            rules = evidencers.get(name, [])
            level = 1 + max((node_level(("rule", r.id)) for r in rules), default=-1)
        else:  # derived fact
            level = 1 + max((node_level(("rule", r.id)) for r in setters.get(name, [])), default=-1)
        on_stack.pop()
        memo[node] = level
        return level

    def _cond_level(cond: Condition) -> int:
        level = 0
        for c in walk(cond):
            if isinstance(c, ConclusionTest):
                level = max(level, node_level(("typology", c.typology)))
            elif isinstance(c, FactTest) and c.fact in setters and c.op != "answered":
                # `answered` looks only at the rep's input, so it need not wait for derivations
                level = max(level, node_level(("fact", c.fact)))
        return level

    rule_by_id = {r.id: r for r in rb_rules}
    top = 0
    for r in rb_rules:
        r.level = node_level(("rule", r.id))
        top = max(top, r.level)
    for s in strategies:
        s.level = _cond_level(s.when)
        top = max(top, s.level)
    for t in typologies.values():
        t.level = node_level(("typology", t.id))
    return top


def load_rulebase(root: str | Path) -> Rulebase:
    """Load and validate the rulebase in directory `root`; raise RulebaseError on any problem."""
    rb, problems = check_rulebase(root)
    if problems or rb is None:
        raise RulebaseError(problems)
    return rb


def check_rulebase(root: str | Path) -> tuple[Rulebase | None, list[Problem]]:
    """Every problem of the rulebase, and the model of whatever parts are valid.

    For analysis tools (`zhike rules check`) that want to report further
    findings even when some rules are broken. Never use the returned model
    for inference when problems is non-empty: that is what load_rulebase is for.
    """
    root = Path(root)
    ld = _Loader(root)
    if not root.is_dir():
        return None, [Problem(Pos(display_path(root), 1, 1), "rulebase directory not found; pass --rulebase DIR",
                              "io")]
    manifest_path = root / "rulebase.yaml"
    if not manifest_path.exists():
        ld.err(Pos(display_path(manifest_path), 1, 1), "rulebase.yaml is missing: every rulebase needs one",
               "missing-file")
    name, version, title, threshold = ld.manifest(ld.read(manifest_path) if manifest_path.exists() else None,
                                                  manifest_path)
    sources_path = root / "sources.yaml"
    if sources_path.exists():
        ld.sources(ld.read(sources_path))
    else:
        ld.err(Pos(display_path(sources_path), 1, 1), "sources.yaml is missing: rules must cite their sources",
               "missing-file")
    for p in sorted((root / "facts").glob("*.yaml")):
        ld.fact_file(ld.read(p))
    typ_files = []
    for p in sorted((root / "typologies").glob("*.yaml")):
        loc = ld.read(p)
        typ, body = ld.typology_header(loc, p)
        typ_files.append((typ, body))
    for typ, _ in typ_files:  # sources are known now
        if typ is not None:
            typ.source = ld.source(getattr(typ, "_source_loc", None), "typology")
            if typ.threshold < 0:
                typ.threshold = threshold
    rule_ids: dict[str, Pos] = {}
    strat_ids: dict[str, Pos] = {}
    for typ, body in typ_files:
        if typ is None or body is None:
            continue
        for item in ld.items(body.get("rules"), "rules"):
            ld.rule(item, typ, rule_ids)
        for item in ld.items(body.get("strategies"), "strategies"):
            ld.strategy(item, typ, strat_ids)
    for p in sorted((root / "guidance").glob("*.yaml")):
        # strategies that rest on several typologies or give general advice: no typology of their own
        loc = ld.read(p)
        if loc is None:
            continue
        gm = ld.mapping(loc, "guidance file", required=("strategies",))
        for item in ld.items(gm.get("strategies") if gm else None, "strategies"):
            ld.strategy(item, None, strat_ids)
    if not ld.typologies and not ld.problems:
        ld.err(Pos(display_path(root / "typologies"), 1, 1), "no typologies found in typologies/*.yaml",
               "missing-file")
    _stratify(ld.rules, ld.strategies, ld.typologies, ld)
    ordered: dict[str, Typology] = {}
    for tid, pos in getattr(ld, "order", []):
        if tid not in ld.typologies:
            ld.err(pos, f"unknown typology {tid!r} in order{did_you_mean(str(tid), ld.typologies)}",
                   "unknown-typology")
        elif tid not in ordered:
            ordered[tid] = ld.typologies[tid]
    ordered.update({k: v for k, v in ld.typologies.items() if k not in ordered})
    ld.typologies = ordered
    return Rulebase(name=name, version=version, title=title, threshold=threshold, stages=ld.stages,
                    seeds=ld.seeds, facts=ld.facts, typologies=ld.typologies, rules=ld.rules,
                    strategies=ld.strategies, root=str(root), sha256=ld.hash.hexdigest(),
                    files=ld.files), sorted(ld.problems, key=Problem.sort_key)


def fact_refs(cond: Condition) -> list[str]:
    """Fact ids a condition tests, in order, without repeats (phrases count as `utterances`)."""
    out: list[str] = []
    for c in walk(cond):
        fid = c.fact if isinstance(c, FactTest) else RESERVED_UTTERANCES if isinstance(c, PhraseTest) else None
        if fid and fid not in out:
            out.append(fid)
    return out
