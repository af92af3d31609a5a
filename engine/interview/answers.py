"""What the rep types at a question, matched to a catalogue value.

A choice may be given by its number, its id, its label in either language, or any
part of a label that fits one choice only ("嫌贵" → 永远嫌贵型, "best mix" → the best
mix of price, quality and service). Input that fits several choices lists them;
input that fits none says what it probably meant. Numbers, free text and yes/no
are left to the profile's coercion (`coerce_value`), so an answer means the same as
the same value in a profile.
"""
from __future__ import annotations

import re
from typing import Any

from ..i18n import _, current_lang
from ..reasoning.profile import ValueProblem, did_you_mean_labels
from ..rules.model import UNKNOWN_WORDS, FactDef
from ..words.labels import loose_key, suggest

# Between the choices of a several-answers question; a label may contain a comma, so the
# whole input is tried as one choice first.
_SEPARATORS = re.compile(r"[\s,，、;；/]+")
_NUMBERS = re.compile(r"[\s,，、;；]+")


def choices_of(fact: FactDef) -> list[Any]:
    """What the numbers 1..k stand for: enum/list values, or yes/no."""
    if fact.type == "bool":
        return [True, False]
    if fact.type in ("enum", "list") and fact.values:
        return list(fact.values)
    return []


def parse_answer(fact: FactDef, text: str) -> Any:
    """The answer to pass to `Questionnaire.answer`: a value id (or a list of them) for a choice,
    the text as typed otherwise. Raises ValueProblem, in the rep's language, naming the choices."""
    s = text.strip()
    choices = choices_of(fact)
    if not choices or s.casefold() in UNKNOWN_WORDS:
        return s
    parts = [p for p in _NUMBERS.split(s) if p]
    if parts and all(p.isdigit() for p in parts):
        idx = [int(p) for p in parts]
        if all(1 <= i <= len(choices) for i in idx) and (fact.type == "list" or len(idx) == 1):
            picked = [choices[i - 1] for i in idx]
            return picked if fact.type == "list" else picked[0]
        if fact.type != "bool":  # yes/no also takes 0/1 as typed
            if fact.type == "list":
                raise ValueProblem(_("choose numbers from 1 to {k}", k=len(choices)))
            raise ValueProblem(_("choose one number from 1 to {k}", k=len(choices)))
    if fact.type == "bool":
        return s
    if fact.type == "enum":
        return match_value(fact, s)
    try:
        return [match_value(fact, s)]
    except ValueProblem:
        if not _SEPARATORS.search(s):
            raise
    return list(dict.fromkeys(match_value(fact, p) for p in _SEPARATORS.split(s) if p))


def match_value(fact: FactDef, text: str) -> str:
    """The value of a choice question that `text` names: id, label, or a part of one label."""
    key = loose_key(text)
    names = {v.id: [loose_key(v.id), loose_key(v.label.zh), loose_key(v.label.en)] for v in fact.values.values()}
    exact = [vid for vid, keys in names.items() if key in keys]
    if exact:
        return exact[0]
    # a part names a label, or an id typed with spaces ("too expensive" for always_too_expensive)
    partial = [vid for vid, keys in names.items() if key and any(key in k for k in keys)]
    if len(partial) == 1:
        return partial[0]
    lang = current_lang()
    label = {vid: v.label.get(lang) for vid, v in fact.values.items()}
    number = {vid: i for i, vid in enumerate(fact.values, 1)}
    question = fact.label.get(lang)
    if partial:
        listed = _(", ").join(f"{number[v]}) {label[v]}" for v in partial)
        raise ValueProblem(_("“{answer}” fits several choices: {choices}; type the number of the one you mean",
                             answer=text, choices=listed))
    close = suggest(text, [(label[vid], (vid, v.label.zh, v.label.en)) for vid, v in fact.values.items()])
    head = _("“{answer}” is not a choice of “{question}”", answer=text, question=question)
    if close:
        return _raise(head + did_you_mean_labels(close))
    return _raise(head + _("; type a number from 1 to {k}", k=len(fact.values)))


def _raise(message: str) -> str:
    raise ValueProblem(message)
