"""The names people give to facts and values: ids, zh and en labels, compared loosely.

A profile key, a batch header or an answer may name a fact or a value by its
id or by its label in either language, written in any case, with or without
spaces and punctuation ("Buying Role", "buying_role", "购买角色"). When a name
matches nothing, `suggest` finds what was probably meant, to show in the
user's language: a label that contains the word ("嫌贵" → "永远嫌贵型") or
one spelled nearly the same ("guardd" → "guard").
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

_PUNCT = re.compile(r"[\W_]+")


def loose_key(s: Any) -> str:
    """How names are compared: NFKC, case-folded, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(s)).casefold().strip()
    key = _PUNCT.sub("", text)
    return key or text  # a name made only of punctuation ("-", "?") keeps it


def suggest(word: Any, candidates: Iterable[tuple[str, Sequence[str]]], limit: int = 3) -> list[str]:
    """What `word` probably meant: the shown names of the closest candidates, best first.

    `candidates` are (the name to show, every name it answers to: id, zh and en
    labels). A candidate one of whose names contains the word, or is contained
    in it, comes first; then names spelled nearly the same.
    """
    key = loose_key(word)
    pool = [(shown, [loose_key(n) for n in names if str(n).strip()]) for shown, names in candidates]
    if not key:
        return []
    out: list[str] = []
    for shown, keys in pool:
        if any(key in k or (len(k) >= 2 and k in key) for k in keys) and shown not in out:
            out.append(shown)
    if out:
        return out[:limit]
    owner = {}
    for shown, keys in pool:
        for k in keys:
            owner.setdefault(k, shown)
    for k in difflib.get_close_matches(key, list(owner), n=limit * 2, cutoff=0.6):
        if owner[k] not in out:
            out.append(owner[k])
    return out[:limit]
