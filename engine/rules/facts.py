"""facts/*.yaml: the fact catalogue — every input a rule may test, and when its question applies."""
from __future__ import annotations

from ..i18n import _
from .checker import fmt_number, suggest
from .conditions import RESERVED_UTTERANCES, ConditionReader
from .manifest import ManifestReader
from .model import FACT_TYPES, UNKNOWN_WORDS, FactDef, Value
from .stratify import fact_refs
from .yamlpos import Located


class FactReader(ConditionReader, ManifestReader):
    """Reads the fact catalogue; each fact's `applies_when:` once every fact is known."""

    def __init__(self) -> None:
        super().__init__()
        self.applies_when: list[tuple[FactDef, Located]] = []  # read once every fact is known

    # -- facts ---------------------------------------------------------------------
    def fact_file(self, loc: Located | None) -> None:
        if loc is None:
            return
        m = self.mapping(loc, _("fact file"), required=("facts",))
        if m is None:
            return
        for item in self.items(m.get("facts"), "facts"):
            self.fact(item)

    def fact(self, item: Located) -> None:
        fm = self.mapping(item, _("fact"), required=("id", "type", "label", "question"),
                          optional=("values", "min", "max", "unit", "help", "topic", "applies_when", "note"))
        if fm is None:
            return
        fid = self.ident(fm.get("id"), _("fact id"))
        ftype = self.string(fm.get("type"), _("fact type"))
        if ftype is not None and ftype not in FACT_TYPES:
            self.err(fm["type"].pos, _("unknown fact type {type!r}{hint}; use one of {types}", type=ftype,
                                       hint=suggest(ftype, FACT_TYPES), types=", ".join(FACT_TYPES)), "bad-type")
            ftype = None
        label = self.text(fm.get("label"), "label")
        question = self.text(fm.get("question"), "question")
        help_ = self.text(fm.get("help"), "help")
        values: dict[str, Value] = {}
        if "values" in fm:
            if ftype not in ("enum", "list"):
                self.err(fm["values"].key_pos or fm["values"].pos,
                         _("`values` only applies to enum and list facts, not {type}; remove it or change the "
                           "type", type=ftype), "bad-field")
            for v in self.items(fm["values"], "values"):
                vm = self.mapping(v, _("value"), required=("id", "label"))
                if vm is None:
                    continue
                vid = self.string(vm.get("id"), _("value id"))
                vl = self.text(vm.get("label"), _("value label"))
                if vid is not None and vid.casefold() in UNKNOWN_WORDS:
                    self.err(vm["id"].pos, _("value id {id!r} reads as \"unknown\" in profiles and batch files; "
                                             "rename it (e.g. no_budget)", id=vid), "bad-id")
                elif vid in values:
                    self.err(vm["id"].pos, _("duplicate value {id!r} in fact {fact}; keep one", id=vid, fact=fid),
                             "duplicate-id")
                elif vid and vl:
                    values[vid] = Value(vid, vl)
        elif ftype == "enum":
            self.err(item.pos, _("enum fact {fact!r} needs `values`: list the answers it can take (id and label)",
                                 fact=fid), "missing-key")
        lo = self.number(fm.get("min"), "min")
        hi = self.number(fm.get("max"), "max")
        for key in ("min", "max", "unit"):
            if key in fm and ftype != "number":
                self.err(fm[key].key_pos or fm[key].pos, _("`{key}` only applies to number facts; remove it or "
                                                           "change the type to number", key=key), "bad-field")
        if lo is not None and hi is not None and lo > hi:
            self.err(fm["min"].pos, _("min {low} is greater than max {high}; swap them", low=fmt_number(lo),
                                      high=fmt_number(hi)), "bad-range")
        unit = self.text(fm.get("unit"), "unit")
        if fid == RESERVED_UTTERANCES and ftype is not None and (ftype != "list" or values):
            self.err(fm["type"].pos, _("the fact `utterances` must be a list of free text (type: list, no values)"),
                     "bad-type")
        topic = self.topic_ref(fm.get("topic"))
        note = self.note(fm.get("note"), "note")
        if fid is None or ftype is None or label is None or question is None:
            return
        if fid in self.facts:
            first = self.facts[fid].pos
            self.err(fm["id"].pos, _("duplicate fact id {id!r} (first defined at {first}); rename one of them",
                                     id=fid, first=first), "duplicate-id")
            return
        fact = FactDef(fid, ftype, label, question, help_, values, lo, hi, unit, item.pos, topic=topic, note=note)
        self.facts[fid] = fact
        if "applies_when" in fm:
            self.applies_when.append((fact, fm["applies_when"]))

    def topic_ref(self, loc: Located | None) -> str | None:
        tid = self.string(loc, _("topic"))
        if tid is None or tid in self.topics:
            return tid
        if not self.topics:
            self.err(loc.pos, _("unknown topic {topic!r}: no topics are declared; list them under `topics:` in "
                                "rulebase.yaml (id and label), in the order the interview should take them",
                                topic=tid), "unknown-topic")
        else:
            self.err(loc.pos, _("unknown topic {topic!r}{hint}; topics are {topics} (rulebase.yaml)",
                                topic=tid, hint=suggest(tid, self.topics), topics=", ".join(self.topics)),
                     "unknown-topic")
        return None

    def fact_conditions(self) -> None:
        """Read each fact's `applies_when:` once every fact is known: it may test facts declared later."""
        for fact, loc in self.applies_when:
            cond = self.condition(loc, "", f"{fact.id}.applies_when", [0], facts_only=True)
            if cond is None:
                continue
            if fact.id in fact_refs(cond):
                self.err(loc.pos, _("the `applies_when` of fact {fact} tests {fact} itself; test the facts that "
                                    "decide whether the question makes sense (e.g. how the rep met the customer)",
                                    fact=fact.id), "bad-condition")
                continue
            fact.applies_when = cond

