"""Rules the loader makes from what trainers wrote, so they chain like any other rule.

- One "examples" rule per class with example sentences: it fires when a clause of what the
  customer said is close enough to one of them (engine.words.similarity), with the weight of
  rulebase.yaml `words: {examples: {weight}}` scaled by how close.
- One "denial" twin per word rule that is evidence for a class: it fires when the rule's phrase
  was said only under a denial cue ("不是钱的问题", "it's not about the money") and is the same
  evidence, against. A customer who denies a thing has told us something too.

Generated rules carry `generated=` and are not counted by golden-case coverage.
"""
from __future__ import annotations

from dataclasses import replace

from ..i18n import N_, tr
from .model import All, Any_, Condition, Evidence, PhraseTest, Rule, Source, Text, Typology, WordsSettings

_EXAMPLES_RATIONALE = N_("What the customer said is close to what {label} customers say (an example sentence the "
                         "trainers wrote for this type).")
_DENIAL_RATIONALE = N_("The customer denied this outright, so it speaks against it rather than for it: {rationale}")


def example_rules(typologies: dict[str, Typology], rules: list[Rule], settings: WordsSettings) -> list[Rule]:
    """An "examples" rule for every class that has example sentences."""
    out: list[Rule] = []
    for typ in typologies.values():
        for cls in typ.classes.values():
            if not cls.examples:
                continue
            source = typ.source or _source_of(rules, typ.id, cls.id)
            if source is None:
                continue
            rid = f"{typ.id}.{cls.id}.examples"
            test = PhraseTest(f"{rid}#0", (), (), cls.pos, examples_of=(typ.id, cls.id))
            label = cls.label
            rationale = Text(tr("zh", _EXAMPLES_RATIONALE, label=f"“{label.zh}”"),
                             tr("en", _EXAMPLES_RATIONALE, label=f"“{label.en}”"))
            out.append(Rule(rid, test, (Evidence(typ.id, cls.id, settings.examples_weight, cls.pos),), rationale,
                            source, typ.id, cls.pos, generated="examples"))
    return out


def denial_twins(rules: list[Rule]) -> list[Rule]:
    """The denial twin of every rule whose customer's words are evidence for a class."""
    out: list[Rule] = []
    for r in rules:
        if r.generated:
            continue
        against = tuple(Evidence(e.typology, e.cls, -e.weight, e.pos)
                        for e in r.then if isinstance(e, Evidence) and e.weight > 0)
        if not against:
            continue
        when = _denied(r.when)
        if when is None:
            continue
        rationale = Text(tr("zh", _DENIAL_RATIONALE, rationale=r.rationale.zh),
                         tr("en", _DENIAL_RATIONALE, rationale=r.rationale.en))
        out.append(Rule(f"{r.id}.denied", when, against, rationale, r.source, r.typology, r.pos,
                        generated="denial"))
    return out


def _denied(cond: Condition) -> Condition | None:
    """The condition with its customer's-words tests turned into their denial twins, or None when
    the words are not necessary to it (it could then hold on facts alone)."""
    if isinstance(cond, PhraseTest):
        if cond.heard != "said" or cond.denied or cond.examples_of:
            return None
        return replace(cond, id=f"{cond.id}!denied", denied=True)
    if isinstance(cond, All):
        items = [(_denied(c) if isinstance(c, (PhraseTest, All, Any_)) else None) for c in cond.items]
        if all(i is None for i in items):
            return None
        return All(tuple(i if i is not None else c for i, c in zip(items, cond.items, strict=True)), cond.pos)
    if isinstance(cond, Any_):
        items = [_denied(c) for c in cond.items]
        if any(i is None for i in items):
            return None
        return Any_(tuple(items), cond.pos)
    return None


def _source_of(rules: list[Rule], typology: str, cls: str) -> Source | None:
    for r in rules:
        if any(isinstance(e, Evidence) and e.typology == typology and e.cls == cls for e in r.then):
            return r.source
    return None
