"""Keywords: one word in `said:` of rules that push a typology to different classes.

duplicate-keyword: the same keyword, or one inside the other, in rules for different classes.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...errors import Problem
from ...i18n import _
from ...rules.loader import normalise_text
from ...rules.model import Evidence, PhraseTest, Rule
from ...rules.yamlpos import Pos
from .context import Context, Family, problem
from .logic import atoms_with_polarity


def run(ctx: Context) -> Iterator[Problem]:
    """A keyword that pulls toward two different classes: the same word, or one inside the other.

    Keywords match as substrings, so an utterance with "太贵了" also
    matches a rule listening for "太贵".
    """
    occurrences: list[tuple[str, Pos, Rule, dict[str, set]]] = []
    for r in (r for r in ctx.rb.rules if not r.generated):
        classes: dict[str, set] = {}
        for e in r.then:
            if isinstance(e, Evidence) and e.weight > 0:
                classes.setdefault(e.typology, set()).add(e.cls)
        if not classes:
            continue
        for atom, positive in atoms_with_polarity(r.when):
            if isinstance(atom, PhraseTest) and positive:
                occurrences += [(kw, where, r, classes) for kw, where in _keywords(ctx, atom)]
    reported: set[tuple[str, Pos]] = set()
    for i, (kw, where, r, classes) in enumerate(occurrences):
        for kw0, _where0, r0, classes0 in occurrences[:i]:
            if r0.id == r.id or (kw, where) in reported or not (kw0 in kw or kw in kw0):
                continue
            clash = [t for t in classes if t in classes0 and not classes[t] & classes0[t]]
            if not clash:
                continue
            t = clash[0]
            reported.add((kw, where))
            args = dict(keyword=kw, other_keyword=kw0, other=r0.id, where=r0.pos, typology=t,
                        other_classes=" / ".join(sorted(classes0[t])), classes=" / ".join(sorted(classes[t])))
            if kw == kw0:
                msg = _("keyword “{keyword}” is also in rule {other} ({where}), which points {typology} to "
                        "{other_classes}, while this rule points it to {classes}; one utterance would count for "
                        "both, so keep the keyword in one of them", **args)
            elif kw0 in kw:
                msg = _("keyword “{keyword}” contains keyword “{other_keyword}” of rule {other} ({where}), which "
                        "points {typology} to {other_classes}, while this rule points it to {classes}; one "
                        "utterance would count for both, so keep the keyword in one of them", **args)
            else:
                msg = _("keyword “{keyword}” is part of keyword “{other_keyword}” of rule {other} ({where}), which "
                        "points {typology} to {other_classes}, while this rule points it to {classes}; one "
                        "utterance would count for both, so keep the keyword in one of them", **args)
            yield problem(where, msg, "duplicate-keyword")


def _keywords(ctx: Context, atom: PhraseTest) -> Iterable[tuple[str, Pos]]:
    """Each keyword of a `said:` test with where it is written (the test's position when not found)."""
    said = ctx.nodes.child(atom.pos, "said")
    if said is None or not isinstance(said.value, dict):
        return [(k, atom.pos) for k in atom.keywords]
    out = []
    for lang in ("zh", "en"):
        items = said.value.get(lang)
        for x in items.value if items is not None and isinstance(items.value, list) else []:
            if isinstance(x.value, str) and x.value.strip():
                out.append((normalise_text(x.value.strip()), x.pos))
    return out


FAMILY = Family("keywords", ("duplicate-keyword",), run)
