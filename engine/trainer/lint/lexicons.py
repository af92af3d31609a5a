"""Lexicons: concepts (lexicons/*.yaml) that repeat each other, that no rule uses, or whose
phrases no test sentence ever says.

lexicon-duplicate-entry: the same phrase (after normalising: width, case, traditional →
  simplified) in two concepts — one utterance would count for both; keep it in one of them.
lexicon-unmatchable-entry: a phrase holding a clause break (, ; ! ? 。) can never match, since what a
  customer says is cut into clauses there and a phrase must stand inside one clause.
lexicon-unused-concept: a concept no `said:` / `noted:` test of a rule or strategy names.
lexicon-unused-entry (note): a phrase or pattern that occurs in no test sentence — the golden
  cases' utterances (tests/*.yaml), the classes' example sentences and the TRAIN corpus
  (corpus/train/*.yaml; never the held-out split) — so nothing shows it matches what customers
  say. A note rather than a warning: a lexicon is written for customers nobody has heard yet, so
  most phrases are untested by design; the note lists which, for a trainer writing test sentences.

Test sentences are read from the YAML itself, leniently: a file that does not load adds no
sentences and is reported by its own check, not here.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...errors import Problem
from ...i18n import _
from ...rules.loader import display_path
from ...rules.model import Concept, PhraseTest, Rulebase, walk
from ...rules.patterns import REGEX_TIMEOUT, compile_pattern
from ...rules.yamlpos import Located, Pos, YamlError, load_file
from ...words.clauses import Clause, split_clauses
from ...words.lexicon import GAP, Phrase, find
from ...words.normalise import normalise
from .context import Context, Family, iter_maps, problem

NOTE = "note"
TRAIN_SPLIT = "train"  # the held-out split is never read: looking at it would void its measure
MAX_SENTENCES = 20_000  # bound the work on a huge corpus; beyond this, sentences are not read


def run_duplicates(ctx: Context) -> Iterator[Problem]:
    """A phrase listed in two concepts."""
    first: dict[str, tuple[Concept, Pos]] = {}
    for concept in _concepts(ctx.rb):
        for entry, where in _entries(concept):
            key = normalise(entry)
            if key not in first:
                first[key] = (concept, where)
                continue
            other, other_pos = first[key]
            if other.id == concept.id:
                continue  # the loader reports a phrase written twice in one concept
            yield problem(where, _("phrase “{phrase}” is also in concept {other} ({where}); one utterance would count "
                                   "for both concepts, so keep it in one of them", phrase=entry, other=other.id,
                                   where=other_pos), "lexicon-duplicate-entry")


def run_unmatchable(ctx: Context) -> Iterator[Problem]:
    """A phrase that spans two clauses, so it can never be found inside one."""
    for concept in _concepts(ctx.rb):
        for entry, where in _entries(concept):
            parts = [c.text for c in split_clauses(entry.replace(GAP, " "))]
            if len(parts) > 1:
                yield problem(where, _("phrase “{phrase}” of concept {id} holds a clause break, and a phrase must stand "
                                       "inside one clause of what the customer says, so it can never match; split it "
                                       "into “{first}” and “{second}” or drop the punctuation", phrase=entry,
                                       id=concept.id, first=parts[0], second=parts[1]),
                              "lexicon-unmatchable-entry")


def run_unused_concepts(ctx: Context) -> Iterator[Problem]:
    """A concept that no rule or strategy names in `said:` / `noted:`."""
    used = _used_concepts(ctx)
    for concept in _concepts(ctx.rb):
        if concept.id not in used:
            yield problem(concept.pos, _("concept {id} is used by no rule: name it in a rule's `said: {{concept: "
                                         "{id}}}`, or delete it", id=concept.id), "lexicon-unused-concept")


def run_unused_entries(ctx: Context) -> Iterator[Problem]:
    """A phrase or pattern of a used concept that no test sentence says."""
    concepts = _concepts(ctx.rb)
    if not concepts:
        return
    clauses = [c for s in test_sentences(ctx.rb) for c in split_clauses(s)]
    texts = [c.text for c in clauses]
    everything = "\0".join(texts)  # one fast substring test before looking clause by clause
    for concept in concepts:
        for entry, where in _entries(concept):
            if not _phrase_said(Phrase.of(entry), clauses, everything):
                yield problem(where, _("phrase “{phrase}” of concept {id} occurs in no test sentence (golden cases, "
                                       "class examples, train corpus); add a sentence a customer would say with it",
                                       phrase=entry, id=concept.id), "lexicon-unused-entry", NOTE)
        for pattern in concept.regexes:
            if not _pattern_said(pattern, texts):
                yield problem(concept.pos, _("pattern {pattern!r} of concept {id} matches no test sentence (golden "
                                             "cases, class examples, train corpus); add a sentence a customer would "
                                             "say with it", pattern=pattern, id=concept.id),
                              "lexicon-unused-entry", NOTE)


def test_sentences(rb: Rulebase) -> list[str]:
    """What customers say in the rulebase's own test material: golden cases, class examples, train corpus."""
    root = Path(rb.root)
    out: list[str] = []
    for typ in rb.typologies.values():
        for cls in typ.classes.values():
            out.extend(cls.examples)
    for path in sorted((root / "tests").glob("*.yaml")):
        for m in iter_maps(_load(path)):
            given = m.get("given")
            if given is not None and isinstance(given.value, dict):
                out.extend(_strings(given.value.get("utterances")))
    for path in sorted((root / "corpus" / TRAIN_SPLIT).glob("*.yaml")):
        for m in iter_maps(_load(path)):
            said = m.get("said")
            if said is not None and isinstance(said.value, str):
                out.append(said.value)
    return out[:MAX_SENTENCES]


def _concepts(rb: Rulebase) -> list[Concept]:
    return sorted(rb.concepts.values(), key=lambda c: (c.pos.file, c.pos.line, c.pos.col))


def _entries(concept: Concept) -> list[tuple[str, Pos]]:
    """Each phrase with where it is written (the concept's position when the loader kept none)."""
    where = list(concept.entry_pos) + [concept.pos] * (len(concept.entries) - len(concept.entry_pos))
    return list(zip(concept.entries, where, strict=True))


def _used_concepts(ctx: Context) -> set[str]:
    used: set[str] = set()
    conditions = [r.when for r in ctx.rb.rules] + [s.when for s in ctx.rb.strategies if s.when is not None]
    for cond in conditions:
        for node in walk(cond):
            if isinstance(node, PhraseTest):
                used.update(node.concepts)
    if ctx.broken_files:  # a rule that failed to load may still name a concept: do not call it unused
        for path in ctx.rule_files():
            for m in iter_maps(ctx.nodes.tree(display_path(path))):
                for head in ("said", "noted"):
                    test = m.get(head)
                    if test is not None and isinstance(test.value, dict) and "concept" in test.value:
                        named = test.value["concept"].value
                        items = named if isinstance(named, list) else [test.value["concept"]]
                        used.update(str(x.value) for x in items if isinstance(x, Located))
    return used


def _phrase_said(phrase: Phrase, clauses: list[Clause], everything: str) -> bool:
    first = phrase.parts[0] if phrase.parts else ""
    if not first or first not in everything:
        return False
    return any(first in c.text and find(phrase, c.text) >= 0 for c in clauses)


def _pattern_said(pattern: str, texts: list[str]) -> bool:
    rx = compile_pattern(pattern)
    for text in texts:
        try:
            if rx.search(text, timeout=REGEX_TIMEOUT):
                return True
        except TimeoutError:
            continue  # a slow pattern is the loader's finding, not this one
    return False


def _load(path: Path) -> Located | None:
    try:
        return load_file(path, display_path(path))
    except (YamlError, OSError):
        return None


def _strings(loc: Located | None) -> list[str]:
    if loc is None or not isinstance(loc.value, list):
        return []
    return [x.value for x in loc.value if isinstance(x, Located) and isinstance(x.value, str)]


DUPLICATES = Family("lexicon-duplicates", ("lexicon-duplicate-entry",), run_duplicates)
UNMATCHABLE = Family("lexicon-unmatchable", ("lexicon-unmatchable-entry",), run_unmatchable)
UNUSED_CONCEPTS = Family("lexicon-unused-concepts", ("lexicon-unused-concept",), run_unused_concepts)
UNUSED_ENTRIES = Family("lexicon-unused-entries", ("lexicon-unused-entry",), run_unused_entries)
