"""typologies/*.yaml: a typology with its classes, and its rules with their effects."""
from __future__ import annotations

from pathlib import Path

from ..i18n import _
from .checker import describe, display_path, suggest
from .conditions import BAD, RESERVED_UTTERANCES, ConditionReader
from .manifest import ManifestReader
from .model import ClassDef, Evidence, Rule, SetFact, Typology, Warn
from .yamlpos import Located, Pos

MAX_EXAMPLE_CHARS = 200


class TypologyReader(ConditionReader, ManifestReader):
    """Reads a typology file's header (typology and classes) and its rules."""

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[Rule] = []

    # -- typologies -------------------------------------------------------------------
    def typology_header(self, loc: Located | None, path: Path) -> tuple[Typology | None, dict | None]:
        if loc is None:
            return None, None
        m = self.mapping(loc, _("typology file"), required=("typology",), optional=("rules", "strategies"))
        if m is None or "typology" not in m:
            return None, None
        tm = self.mapping(m["typology"], _("typology"), required=("id", "label", "classes"),
                          optional=("description", "threshold", "source", "note"))
        if tm is None:
            return None, None
        tid = self.ident(tm.get("id"), _("typology id"))
        label = self.text(tm.get("label"), _("typology label"))
        desc = self.text(tm.get("description"), "description")
        note = self.note(tm.get("note"), "note")
        threshold = self.weight(tm["threshold"], "threshold") if "threshold" in tm else None
        classes: dict[str, ClassDef] = {}
        for c in self.items(tm.get("classes"), "classes"):
            cm = self.mapping(c, _("class"), required=("id", "label"), optional=("description", "note", "examples"))
            if cm is None:
                continue
            cid = self.ident(cm.get("id"), _("class id"))
            cl = self.text(cm.get("label"), _("class label"))
            cd = self.text(cm.get("description"), _("class description"))
            cnote = self.note(cm.get("note"), _("class note"))
            examples = self.class_examples(cm.get("examples"))
            if cid in classes:
                self.err(cm["id"].pos, _("duplicate class id {id!r} in typology {typology}; rename one of them",
                                         id=cid, typology=tid), "duplicate-id")
            elif cid and cl:
                classes[cid] = ClassDef(cid, cl, cd, c.pos, note=cnote, examples=examples)
        if tid is None or label is None:
            return None, m
        if tid in self.typologies:
            self.err(tm["id"].pos, _("duplicate typology id {id!r} (first in {file}); rename one of them", id=tid,
                                     file=self.typologies[tid].file), "duplicate-id")
            return None, None
        t = Typology(tid, label, desc, classes, threshold if threshold is not None else -1.0,
                     None, display_path(path), m["typology"].pos, note=note)
        t._source_loc = tm.get("source")  # resolved once sources are known
        self.typologies[tid] = t
        return t, m

    def class_examples(self, loc: Located | None) -> tuple[str, ...]:
        """A class's `examples: {zh: [...], en: [...]}`: sentences its customers say."""
        if loc is None:
            return ()
        em = self.mapping(loc, "examples", optional=("zh", "en"))
        if em is None:
            return ()
        out: list[str] = []
        for key in ("zh", "en"):
            for x in self.items(em.get(key), f"examples.{key}"):
                s = self.string(x, _("example sentence"))
                if s is None or not s.strip():
                    continue
                if len(s) > MAX_EXAMPLE_CHARS:
                    self.err(x.pos, _("an example of {n} characters is too long (at most {limit}): give one thing a "
                                      "customer says", n=len(s), limit=MAX_EXAMPLE_CHARS), "long-example")
                elif s.strip() in out:
                    self.err(x.pos, _("this example is listed twice; keep one"), "duplicate-example")
                else:
                    out.append(s.strip())
        return tuple(out)

    def rule(self, item: Located, typ: Typology, seen: dict[str, Pos]) -> None:
        rm = self.mapping(item, _("rule"), required=("id", "when", "then", "rationale", "source"),
                          optional=("examples", "note"))
        if rm is None:
            return
        rid = self.ident(rm.get("id"), _("rule id"))
        if rid is not None:
            if rid in seen:
                self.err(rm["id"].pos, _("duplicate rule id {id!r} (first at {first}); rename one of them", id=rid,
                                         first=seen[rid]), "duplicate-id")
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
            self.err(rm["then"].pos, _("`then` is empty: give at least one effect"), "empty")
        rationale = self.text(rm.get("rationale"), "rationale")
        source = self.source(rm.get("source"), _("rule source"))
        examples = self.strings(rm.get("examples"), "examples")
        note = self.note(rm.get("note"), "note")
        if rid and when is not None and effects and rationale and source:
            self.rules.append(Rule(rid, when, tuple(effects), rationale, source, typ.id, item.pos,
                                   examples=examples, note=note))

    def effect(self, loc: Located, home: str):
        m = loc.value
        if not isinstance(m, dict):
            self.err(loc.pos, _("an effect must be a mapping such as {example}, got {kind}",
                                example="{class: C, weight: 0.5}", kind=describe(m)), "type")
            return None
        if "class" in m or "against" in m:
            key = "class" if "class" in m else "against"
            em = self.mapping(loc, _("evidence"), required=(key, "weight"))
            if em is None or key not in em:
                return None
            ref = self.class_ref(em[key], home, _("class"))
            w = self.weight(em.get("weight"), "weight")
            if ref is None or w is None:
                return None
            return Evidence(ref[0], ref[1], w if key == "class" else -w, loc.pos)
        if "set" in m:
            em = self.mapping(loc, _("set effect"), required=("set", "value"))
            if em is None or "set" not in em:
                return None
            fid = self.string(em["set"], _("fact"))
            f = self.known_fact(em["set"], fid)
            if f is None or "value" not in em:
                return None
            if f.id == RESERVED_UTTERANCES:
                self.err(em["set"].pos, _("rules cannot set `utterances`: it holds only what the customer said"),
                         "bad-effect")
                return None
            value = self.fact_value(em["value"], f, allow_list=False)
            if value is BAD:
                return None
            return SetFact(f.id, value, loc.pos)
        if "warn" in m:
            em = self.mapping(loc, _("warning"), required=("warn",))
            t = self.text(em.get("warn"), "warn") if em else None
            return Warn(t, loc.pos) if t else None
        keys = list(m)
        self.err(loc.pos, _("unknown effect {key!r}{hint}; an effect is one of class / against / set / warn",
                            key=keys[0], hint=suggest(keys[0], ("class", "against", "set", "warn"))), "unknown-key")
        return None

