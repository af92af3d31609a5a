"""Whole-rulebase analysis for `zhike rules check`, beyond what the loader validates.

The loader checks each file on its own terms (shapes, ids, values, sources).
This package looks at the rulebase as a whole, statically, on the model's
condition trees: rules that can never fire, rules that fight or repeat each
other, classes, strategies and facts that are dead weight, citations whose
anchor text is not in the seed, keywords claimed by rules of different
classes, and golden cases that name rules that do not exist.

Nothing here runs the rule engine (`logic` decides satisfiability statically,
and soundly: every "never" is a real problem, never a guess). Like
pre-commit's one module per language, there is one module per family of
checks, each a `Family` (context.py) whose `run(ctx)` yields `Problem`s:

| module | check id (all warnings unless noted) | finding |
|---|---|---|
| contradictions | contradiction (error) | a rule's or strategy's conditions can never all hold |
| | impossible-value (error) | a number test the fact's min/max makes impossible |
| redundancy | conflict | two overlapping rules push one typology to different classes with equal weight and specificity |
| | redundant | a rule with the same effects as another that applies whenever it does |
| reachability | unreachable-class | no rule can conclude a class (no evidence, or too little for the threshold) |
| | unreachable-strategy | a strategy for a class no rule can conclude |
| | unreachable-rule | a rule that needs a conclusion no rule can reach |
| references | unused-fact | a fact (and its question) no rule, strategy or `applies_when:` tests |
| | unknown-rule, unknown-typology, unknown-class, unknown-fact, test-format (errors) | golden case files (tests/*.yaml) |
| sources | anchor-not-found (error) | a source section's anchor text is not in its seed file |
| | seed-missing (error) | a seed file listed in sources.yaml is not in the seeds directory |
| | anchor-check-skipped (note; error with --require-seeds) | the seeds directory was not found, so anchors were not checked |
| keywords | duplicate-keyword | one keyword in `said:` of rules for different classes |
| lexicons | lexicon-duplicate-entry | one phrase in two concepts of lexicons/*.yaml |
| | lexicon-unmatchable-entry | a phrase with a clause break (, ; ! ?) inside, which can never match |
| | lexicon-unused-concept | a concept no `said:` / `noted:` test names |
| | lexicon-unused-entry (note) | a concept's phrase or pattern that no test sentence (golden cases, class examples, train corpus) says |
| text | seed-mention (error) | a text reps read mentions the seeds, the rulebase or an author's stance |
| | example-in-rationale | a rationale quotes a customer sentence with its rule's keyword (use `examples:`) |
"""
from __future__ import annotations

from pathlib import Path

from ...errors import Problem
from ...rules.model import Rulebase
from . import contradictions, keywords, lexicons, reachability, redundancy, references, sources, text
from .context import ERROR, WARNING, Context, Family
from .sources import seeds_dir

FAMILIES: tuple[Family, ...] = (
    contradictions.FAMILY,
    reachability.FAMILY,
    redundancy.FAMILY,
    references.UNUSED,
    keywords.FAMILY,
    lexicons.DUPLICATES,
    lexicons.UNMATCHABLE,
    lexicons.UNUSED_CONCEPTS,
    lexicons.UNUSED_ENTRIES,
    sources.FAMILY,
    references.CASES,
    text.SEED_MENTION,
    text.EXAMPLES,
)


def lint(rb: Rulebase | None, loader_problems: list[Problem], seeds: Path | None = None,
         require_seeds: bool = False) -> list[Problem]:
    """The analysis findings for a (possibly partial) rulebase, sorted; loader problems are not repeated.

    `loader_problems` (from `check_rulebase`) tell which parts failed to load,
    so nothing is reported as unused or unreachable merely because the rule
    that uses it is broken. `seeds` defaults to `seeds_dir()`; without it the anchors are not
    checked, which is one note, or an error when `require_seeds`.
    """
    if rb is None:
        return []
    ctx = Context(rb, loader_problems, seeds if seeds is not None else seeds_dir(), require_seeds)
    out: list[Problem] = []
    for family in FAMILIES:
        out.extend(family.run(ctx))
    return sorted(out, key=Problem.sort_key)


__all__ = ["ERROR", "FAMILIES", "WARNING", "Context", "Family", "lint", "seeds_dir"]
