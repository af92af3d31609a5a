"""`said:` and `noted:` conditions: what the customer said, or the rep noted — keywords, concepts
(lexicons/*.yaml), patterns, and the form of the clause (question / statement)."""
from __future__ import annotations

from ..i18n import _
from .checker import Checker, suggest
from .model import Concept, PhraseTest, normalise_text
from .patterns import pattern_problem
from .yamlpos import Located

PHRASE_FORMS = ("question", "statement")


class PhraseReader(Checker):
    """Reads a phrase test against the concepts declared so far."""

    def __init__(self) -> None:
        super().__init__()
        self.concepts: dict[str, Concept] = {}

    def phrase(self, loc: Located, rid: str, counter: list[int], head: str = "said") -> PhraseTest | None:
        """`said:` (the customer's words) or `noted:` (the rep's notes): keywords, concepts, patterns."""
        self.mapping(loc, head, required=(head,))
        sm = self.mapping(loc.value[head], head, optional=("zh", "en", "regex", "concept", "form"))
        if sm is None:
            return None
        keywords: list[str] = []
        regexes: list[str] = []
        concepts: list[str] = []
        for key in ("zh", "en"):
            for x in self.items(sm.get(key), f"{head}.{key}"):
                s = self.string(x, _("{head}.{key} keyword", head=head, key=key))
                if s:
                    keywords.append(normalise_text(s))
        for x in self.items(sm.get("regex"), f"{head}.regex"):
            s = self.string(x, _("{head}.regex pattern", head=head))
            problem = pattern_problem(s) if s is not None else None
            if problem is not None:
                self.err(x.pos, *problem)
            elif s is not None:
                regexes.append(s)
        named = sm.get("concept")
        for x in ([named] if named is not None and isinstance(named.value, str) else
                  self.items(named, f"{head}.concept")):
            cid = self.string(x, _("concept"))
            if cid is None:
                continue
            if cid not in self.concepts:
                self.err(x.pos, _("unknown concept {id!r}{hint}; concepts are declared in lexicons/*.yaml", id=cid,
                                  hint=suggest(cid, self.concepts)), "unknown-concept")
            else:
                concepts.append(cid)
        form = None
        if "form" in sm:
            form = self.string(sm["form"], "form")
            if form is not None and form not in PHRASE_FORMS:
                self.err(sm["form"].pos, _("`form` is question or statement, not {value!r}{hint}", value=form,
                                           hint=suggest(form, PHRASE_FORMS)), "bad-value")
                form = None
        if not keywords and not regexes and not concepts and not any(
                p.pos.file == loc.pos.file and p.pos.line >= loc.pos.line for p in self.problems[-3:]):
            self.err(loc.pos, _("`{head}` needs at least one keyword (zh / en), concept or regex", head=head), "empty")
        if not keywords and not regexes and not concepts:
            return None
        pid = f"{rid}#{counter[0]}"
        counter[0] += 1
        return PhraseTest(pid, tuple(keywords), tuple(regexes), loc.pos, concepts=tuple(concepts), form=form,
                          heard=head)
