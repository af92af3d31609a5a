"""The validated rulebase: what the loader produces and everything else reads.

These are plain, immutable-by-convention data classes. Positions are kept so
later stages (lint, tests, docs) can point back into the YAML.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Union

from ..i18n import N_, _
from .yamlpos import Pos

LANGS = ("zh", "en")
# What a profile, answer or batch cell may say for "don't know"; so no value id may be one of these.
UNKNOWN_WORDS = frozenset({"", "unknown", "?", "n/a", "na", "不知道", "未知", "不清楚", "null", "none", "-"})


def normalise_text(s: str) -> str:
    """What phrase matching compares: NFKC (full-width -> half-width) and case-folded."""
    return unicodedata.normalize("NFKC", s).casefold()


# Every number a user gives (a fact's value, a rule's min/max/comparison) is finite and below this in
# size: 15 digits before the decimal point, so each one is exact as a float and the engine compares
# them exactly. A 400-digit integer or `.inf` is a value problem at its position, never an OverflowError.
MAX_NUMBER = 10**15
NUMBER_LIMIT_TEXT = N_("numbers have at most 15 digits before the decimal point (less than 1e15 in size)")


def number_problem(v: object) -> str | None:
    """Why an int or float cannot be used as a number (not finite, too large), or None if it can."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return _("is not a finite number")
    if isinstance(v, (int, float)) and not isinstance(v, bool) and not -MAX_NUMBER < v < MAX_NUMBER:
        return _("is too large: {limit}", limit=_(NUMBER_LIMIT_TEXT))
    return None


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_json(self) -> dict:
        return {"zh": self.zh, "en": self.en}


# How a yes/no fact's answer reads in a report: data like a rulebase label (JSON carries it), not a UI message.
BOOL_LABELS = {True: Text("是", "yes"), False: Text("否", "no")}


@dataclass(frozen=True)
class Source:
    seed: str
    section: str
    title: str  # the section heading as it stands in the seed
    file: str
    pos: Pos | None = None

    def to_json(self) -> dict:
        return {"seed": self.seed, "section": self.section, "title": self.title, "file": self.file}

    def __str__(self) -> str:
        return f"{self.seed} · {self.title}"


@dataclass(frozen=True)
class SeedSection:
    id: str
    title: str
    anchor: str
    pos: Pos


@dataclass(frozen=True)
class Seed:
    id: str
    file: str
    title: Text
    sections: dict[str, SeedSection]
    pos: Pos


@dataclass(frozen=True)
class Value:
    id: str
    label: Text


FACT_TYPES = ("enum", "bool", "number", "text", "list")


@dataclass
class FactDef:
    id: str
    type: str
    label: Text
    question: Text
    help: Text | None
    values: dict[str, Value]  # enum / list with values
    min: float | None
    max: float | None
    unit: Text | None
    pos: Pos
    # The interview's topic (an id of the manifest's `topics:`): questions of one topic are asked together.
    topic: str | None = None
    # Ask this fact only while this condition (fact tests only) can still hold given what is known.
    applies_when: Condition | None = None
    note: Text | None = None  # for trainers only, never shown to a rep

    @property
    def free_list(self) -> bool:
        return self.type == "list" and not self.values

    def label_of(self, value: Any, lang: str) -> str:
        if isinstance(value, bool):
            return BOOL_LABELS[value].get(lang)
        v = self.values.get(value) if isinstance(value, str) else None
        if v:
            return v.label.get(lang)
        if self.type == "number" and isinstance(value, float) and value.is_integer():
            value = int(value)
        unit = f" {self.unit.get(lang)}" if self.unit else ""
        return f"{value}{unit}"


# --- conditions ---------------------------------------------------------------

@dataclass(frozen=True)
class FactTest:
    """A comparison on one fact. op: is, in, is_not, not_in, gt, gte, lt, lte, between, known."""

    fact: str
    op: str
    operand: Any
    pos: Pos


@dataclass(frozen=True)
class ConclusionTest:
    """A test on a typology's conclusion. op: is, in, is_not, not_in, known."""

    typology: str
    op: str
    operand: Any
    min_confidence: float | None
    pos: Pos


@dataclass(frozen=True)
class PhraseTest:
    """What the customer said (or the rep noted) holds a keyword, a concept's phrase or a pattern.

    Matching is clause by clause (engine.words): a phrase under a denial cue ("不是钱的问题") does
    not satisfy the test; it satisfies the test's denial twin (`denied=True`), which the loader
    gives every rule whose words are evidence for a class, as evidence against it.
    """

    id: str  # unique per rulebase, e.g. "objection.budget_words#0"
    keywords: tuple[str, ...]  # normalised (NFKC, casefold)
    regexes: tuple[str, ...]
    pos: Pos
    concepts: tuple[str, ...] = ()  # ids of lexicon concepts: any of their phrases
    form: str | None = None  # "question" / "statement": only clauses asked back / stated
    heard: str = "said"  # "said": the customer's own words; "noted": the rep's notes
    denied: bool = False  # the denial twin: found only under a denial cue
    examples_of: tuple[str, str] | None = None  # (typology, class): close to that class's example sentences


@dataclass(frozen=True)
class Concept:
    """A named set of phrases (a lexicon entry) that `said:` / `noted:` tests share."""

    id: str
    label: Text  # how an explanation names it: "客户说…(预算已经用完)"
    entries: tuple[str, ...]  # as written, NFKC + case-folded; `...` marks a short gap
    regexes: tuple[str, ...]
    pos: Pos
    entry_pos: tuple[Pos, ...] = ()  # where each entry is written, for lint
    note: Text | None = None  # for trainers only


@dataclass(frozen=True)
class WordsSettings:
    """How similar a clause must be to a class's example sentences, and what that is worth."""

    examples_threshold: float = 0.35
    examples_weight: float = 0.5


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]
    pos: Pos


@dataclass(frozen=True)
class Any_:
    items: tuple[Condition, ...]
    pos: Pos


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: Pos


Condition = Union[FactTest, ConclusionTest, PhraseTest, All, Any_, Not]


def walk(cond: Condition):
    """Every node of a condition tree, depth first."""
    yield cond
    if isinstance(cond, (All, Any_)):
        for c in cond.items:
            yield from walk(c)
    elif isinstance(cond, Not):
        yield from walk(cond.item)


# --- effects ------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    typology: str
    cls: str
    weight: float  # negative = counter-evidence
    pos: Pos


@dataclass(frozen=True)
class SetFact:
    fact: str
    value: Any
    pos: Pos


@dataclass(frozen=True)
class Warn:
    text: Text
    pos: Pos


Effect = Union[Evidence, SetFact, Warn]


@dataclass
class Rule:
    id: str
    when: Condition
    then: tuple[Effect, ...]
    rationale: Text
    source: Source
    typology: str  # the file's typology
    pos: Pos
    level: int = 0  # set by the loader's stratification
    # Customer sentences that illustrate the rule, for trainers and tests; never quoted as the customer's words.
    examples: tuple[str, ...] = ()
    note: Text | None = None  # for trainers only: why it departs from a seed, which seed it followed
    # Made by the loader, not written by a trainer: "examples" (a class's example sentences) or
    # "denial" (the twin of a word rule, evidence against its classes when the customer denies it).
    generated: str | None = None


@dataclass
class Strategy:
    id: str
    typology: str | None  # None for guidance/*.yaml (cross-typology plans and general advice)
    classes: tuple[tuple[str, str], ...]  # (typology, class) pairs that must all hold
    when: Condition
    advice: dict[str, Text]  # stage id -> text; "" = for every stage
    source: Source
    pos: Pos
    summary: Text | None = None  # one line: the action, for the next best action and batch output
    priority: int = 0  # higher = more specific; the highest fired strategy with a summary is the next best action
    level: int = 0
    # Ids of strategies this one replaces when both fire (their advice is not shown twice).
    supersedes: tuple[str, ...] = ()
    note: Text | None = None  # for trainers only


@dataclass
class ClassDef:
    id: str
    label: Text
    description: Text | None
    pos: Pos
    note: Text | None = None  # for trainers only
    # Sentences customers of this class say (zh and en), written by trainers: a clause close to one
    # of them is evidence for the class (engine.words.similarity); never quoted as the customer's words.
    examples: tuple[str, ...] = ()


@dataclass
class Typology:
    id: str
    label: Text
    description: Text | None
    classes: dict[str, ClassDef]
    threshold: float
    source: Source | None
    file: str
    pos: Pos
    level: int = 0  # its conclusion is final once passes < level are done
    note: Text | None = None  # for trainers only


@dataclass(frozen=True)
class Stage:
    id: str
    label: Text


@dataclass(frozen=True)
class Topic:
    """A subject the interview asks about; the manifest lists them in the order a rep's questions come in."""

    id: str
    label: Text
    pos: Pos | None = None


@dataclass
class Rulebase:
    name: str
    version: str
    title: Text
    threshold: float
    stages: dict[str, Stage]
    seeds: dict[str, Seed]
    facts: dict[str, FactDef]
    typologies: dict[str, Typology]
    rules: list[Rule]
    strategies: list[Strategy]
    root: str
    sha256: str
    files: list[str] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)  # in the order the interview takes them
    default_goals: list[str] = field(default_factory=list)  # typology ids `zhike ask` aims at; empty = all
    concepts: dict[str, Concept] = field(default_factory=dict)  # lexicons/*.yaml
    words: WordsSettings = field(default_factory=WordsSettings)

    def rules_for(self, typology: str) -> list[Rule]:
        return [r for r in self.rules
                if any(isinstance(e, Evidence) and e.typology == typology for e in r.then)]
