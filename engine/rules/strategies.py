"""Strategies: the advice of typology files and the plans and general guidance of guidance/*.yaml."""
from __future__ import annotations

from ..i18n import _
from .checker import describe, suggest
from .conditions import ConditionReader
from .manifest import ManifestReader
from .model import All, ConclusionTest, Condition, Strategy, Text, Typology
from .yamlpos import Located, Pos


class StrategyReader(ConditionReader, ManifestReader):
    """Reads strategies (with their `supersedes:`) and their advice per stage."""

    def __init__(self) -> None:
        super().__init__()
        self.strategies: list[Strategy] = []
        self.supersedes: dict[str, list[tuple[str, Pos]]] = {}  # checked once every strategy is known

    def strategy(self, item: Located, typ: Typology | None, seen: dict[str, Pos]) -> None:
        sm = self.mapping(item, _("strategy"), required=("id", "advice", "source"),
                          optional=("for", "when", "summary", "priority", "supersedes", "note"))
        if sm is None:
            return
        sid = self.ident(sm.get("id"), _("strategy id"))
        if sid is not None:
            if sid in seen:
                self.err(sm["id"].pos, _("duplicate strategy id {id!r} (first at {first}); rename one of them",
                                         id=sid, first=seen[sid]), "duplicate-id")
                sid = None
            else:
                seen[sid] = sm["id"].pos
        if "for" not in sm and "when" not in sm:
            self.err(item.pos, _("a strategy needs `for:` (the class or classes it is for) or `when:`"),
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
        source = self.source(sm.get("source"), _("strategy source"))
        summary = self.text(sm.get("summary"), "summary")
        priority = 0
        if "priority" in sm:
            pv = sm["priority"].value
            if isinstance(pv, bool) or not isinstance(pv, int) or not 0 <= pv <= 100:
                self.err(sm["priority"].pos, _("priority is a whole number from 0 to 100 (higher wins the next best "
                                               "action), not {kind}", kind=describe(pv)), "bad-value")
            else:
                priority = pv
        replaced = [(r, x.pos) for x in self.items(sm.get("supersedes"), "supersedes")
                    if (r := self.string(x, _("supersedes item"))) is not None]
        note = self.note(sm.get("note"), "note")
        if not ok or sid is None or advice is None or source is None or not conds:
            return
        when = conds[0] if len(conds) == 1 else All(tuple(conds), item.pos)
        self.strategies.append(Strategy(sid, typ.id if typ else None, tuple(pairs), when, advice, source, item.pos,
                                        summary=summary, priority=priority, note=note))
        if replaced:
            self.supersedes[sid] = replaced

    def check_supersedes(self, strategy_ids: dict[str, Pos]) -> None:
        """Every `supersedes:` names another existing strategy, and no chain of them comes back to its start."""
        by_id = {s.id: s for s in self.strategies}
        graph: dict[str, list[str]] = {}
        for sid, refs in self.supersedes.items():
            kept: list[str] = []
            for ref, pos in refs:
                if ref == sid:
                    self.err(pos, _("strategy {id} supersedes itself; name the other strategy whose advice this "
                                    "one replaces", id=sid), "bad-supersedes")
                elif ref not in strategy_ids:
                    self.err(pos, _("unknown strategy {ref!r} in supersedes{hint}; name a strategy id from "
                                    "typologies/*.yaml or guidance/*.yaml", ref=ref,
                                    hint=suggest(ref, strategy_ids)), "unknown-strategy")
                elif ref not in kept:
                    kept.append(ref)
            graph[sid] = kept
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(sid: str, path: list[str]) -> None:
            state[sid] = 1
            for ref in graph.get(sid, []):
                if state.get(ref) == 1:
                    cycle = path[path.index(ref):] + [sid, ref] if ref in path else [sid, ref]
                    pos = next(p for r, p in self.supersedes[sid] if r == ref)
                    self.err(pos, _("strategies supersede each other in a cycle: {cycle}; remove `supersedes` "
                                    "from one of them", cycle=" → ".join(cycle)), "cycle")
                elif state.get(ref) is None:
                    visit(ref, path + [sid])
            state[sid] = 2

        for sid in graph:
            if state.get(sid) is None:
                visit(sid, [])
        for sid, kept in graph.items():
            if sid in by_id:
                by_id[sid].supersedes = tuple(kept)

    def advice(self, loc: Located | None) -> dict[str, Text] | None:
        if loc is None:
            return None
        if not isinstance(loc.value, dict):
            self.err(loc.pos, _("advice must be {example} or one such text per stage, got {kind}",
                                example="{zh: ..., en: ...}", kind=describe(loc.value)), "type")
            return None
        keys = set(loc.value)
        if keys & {"zh", "en"}:
            t = self.text(loc, "advice")
            return {"": t} if t else None
        out: dict[str, Text] = {}
        for stage, val in loc.value.items():
            if stage not in self.stages:
                self.err(val.key_pos or val.pos, _("unknown stage {stage!r}{hint}; stages are {stages} (rulebase.yaml)",
                                                   stage=stage, hint=suggest(stage, self.stages),
                                                   stages=", ".join(self.stages)), "unknown-stage")
                continue
            t = self.text(val, f"advice.{stage}")
            if t:
                out[stage] = t
        return out or None


