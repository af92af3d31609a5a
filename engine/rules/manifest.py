"""rulebase.yaml (name, version, stages, order, topics, default goals) and sources.yaml (the seeds).

`ManifestReader` reads both and resolves a `source:` citation against the seeds;
every other reader cites sources through it.
"""
from __future__ import annotations

from pathlib import Path

from ..i18n import _
from .checker import Checker, display_path, suggest
from .model import Seed, SeedSection, Source, Stage, Text, Topic, Typology
from .yamlpos import Located, Pos


class ManifestReader(Checker):
    """Reads rulebase.yaml and sources.yaml; resolves `source:` citations."""

    def __init__(self) -> None:
        super().__init__()
        self.seeds: dict[str, Seed] = {}
        self.stages: dict[str, Stage] = {}
        self.order: list[tuple[str, Pos]] = []
        self.topics: dict[str, Topic] = {}
        self.default_goals: list[tuple[str, Pos]] = []
        self.words_loc: Located | None = None  # rulebase.yaml `words:`, read by LexiconReader

    # -- rulebase.yaml ------------------------------------------------------------
    def manifest(self, loc: Located | None, path: Path) -> tuple[str, str, Text, float]:
        name, version, title, threshold = "?", "?", Text("?", "?"), 0.3
        if loc is None:
            if path.exists():
                self.err(Pos(display_path(path), 1, 1), _("rulebase.yaml is empty: give at least name, version, title "
                                                          "and stages"), "empty")
            return name, version, title, threshold
        m = self.mapping(loc, "rulebase.yaml", required=("name", "version", "title", "stages"),
                         optional=("threshold", "description", "order", "topics", "default_goals", "words"))
        if m is None:
            return name, version, title, threshold
        self.words_loc = m.get("words")
        name = self.string(m.get("name"), "name") or name
        version = self.string(m.get("version"), "version") or version
        title = self.text(m.get("title"), "title") or title
        if "threshold" in m:
            threshold = self.weight(m["threshold"], "threshold") or threshold
        self.order = [(tid, x.pos) for x in self.items(m.get("order"), "order")
                      if (tid := self.string(x, _("order item"))) is not None]
        for item in self.items(m.get("stages"), "stages"):
            sm = self.mapping(item, _("stage"), required=("id", "label"))
            if sm is None:
                continue
            sid, label = self.ident(sm.get("id"), _("stage id")), self.text(sm.get("label"), _("stage label"))
            if sid in self.stages:
                self.err(sm["id"].pos, _("duplicate stage id {id!r}: give each stage its own id", id=sid),
                         "duplicate-id")
            elif sid and label:
                self.stages[sid] = Stage(sid, label)
        for item in self.items(m.get("topics"), "topics"):
            tm = self.mapping(item, _("topic"), required=("id", "label"))
            if tm is None:
                continue
            tid, label = self.ident(tm.get("id"), _("topic id")), self.text(tm.get("label"), _("topic label"))
            if tid in self.topics:
                self.err(tm["id"].pos, _("duplicate topic id {id!r}: give each topic its own id", id=tid),
                         "duplicate-id")
            elif tid and label:
                self.topics[tid] = Topic(tid, label, item.pos)
        self.default_goals = [(gid, x.pos) for x in self.items(m.get("default_goals"), "default_goals")
                              if (gid := self.string(x, _("default_goals item"))) is not None]
        return name, version, title, threshold

    # -- sources.yaml ---------------------------------------------------------------
    def sources(self, loc: Located | None) -> None:
        if loc is None:
            return
        m = self.mapping(loc, "sources.yaml", required=("seeds",))
        if m is None:
            return
        for item in self.items(m.get("seeds"), "seeds"):
            sm = self.mapping(item, _("seed"), required=("id", "file", "title", "sections"))
            if sm is None:
                continue
            sid = self.string(sm.get("id"), _("seed id"))
            file = self.string(sm.get("file"), _("seed file"))
            title = self.text(sm.get("title"), _("seed title"))
            sections: dict[str, SeedSection] = {}
            for sec in self.items(sm.get("sections"), "sections"):
                xm = self.mapping(sec, _("section"), required=("id", "title", "anchor"))
                if xm is None:
                    continue
                xid = self.string(xm.get("id"), _("section id"))
                xt = self.string(xm.get("title"), _("section title"))
                xa = self.string(xm.get("anchor"), _("section anchor"))
                if xid in sections:
                    self.err(xm["id"].pos, _("duplicate section id {id!r} in seed {seed!r}: give each section its "
                                             "own id", id=xid, seed=sid), "duplicate-id")
                elif xid and xt and xa:
                    sections[xid] = SeedSection(xid, xt, xa, sec.pos)
            if sid in self.seeds:
                self.err(sm["id"].pos, _("duplicate seed id {id!r}: give each seed its own id", id=sid),
                         "duplicate-id")
            elif sid and file and title:
                self.seeds[sid] = Seed(sid, file, title, sections, item.pos)

    def source(self, loc: Located | None, what: str) -> Source | None:
        if loc is None:
            return None
        m = self.mapping(loc, what, required=("seed", "section"))
        if m is None:
            return None
        seed_id = self.string(m.get("seed"), _("source seed"))
        sec_id = self.string(m.get("section"), _("source section"))
        if seed_id is None or sec_id is None:
            return None
        seed = self.seeds.get(seed_id)
        if seed is None:
            self.err(m["seed"].pos, _("unknown seed {seed!r}{hint}; seeds are listed in sources.yaml (write the id "
                                      "quoted, e.g. \"000\")", seed=seed_id, hint=suggest(seed_id, self.seeds)),
                     "unknown-source")
            return None
        sec = seed.sections.get(sec_id)
        if sec is None:
            self.err(m["section"].pos, _("seed {seed} has no section {section!r}{hint}; add it to sources.yaml or "
                                         "cite an existing one", seed=seed_id, section=sec_id,
                                         hint=suggest(sec_id, seed.sections)), "unknown-source")
            return None
        return Source(seed_id, sec_id, sec.title, seed.file, loc.pos)

    def typology_order(self, typologies: dict[str, Typology]) -> dict[str, Typology]:
        """The typologies in the manifest's `order:` (the others follow in file order)."""
        ordered: dict[str, Typology] = {}
        for tid, pos in self.order:
            if tid not in typologies:
                self.err(pos, _("unknown typology {id!r} in order{hint}; name a typology id from typologies/*.yaml",
                                id=tid, hint=suggest(tid, typologies)), "unknown-typology")
            elif tid not in ordered:
                ordered[tid] = typologies[tid]
        ordered.update({k: v for k, v in typologies.items() if k not in ordered})
        return ordered

    def goal_ids(self, typologies: dict[str, Typology]) -> list[str]:
        """The manifest's `default_goals:`, each an existing typology, once."""
        default_goals: list[str] = []
        for tid, pos in self.default_goals:
            if tid not in typologies:
                self.err(pos, _("unknown typology {id!r} in default_goals{hint}; name a typology id from "
                                "typologies/*.yaml", id=tid, hint=suggest(tid, typologies)), "unknown-typology")
            elif tid in default_goals:
                self.err(pos, _("typology {id} is listed twice in default_goals; keep one", id=tid), "duplicate-id")
            else:
                default_goals.append(tid)
        return default_goals
