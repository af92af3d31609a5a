"""Conflicts and redundancy between pairs of rules that can both fire.

conflict: two overlapping rules push one typology to different classes with equal weight and specificity.
redundant: a rule with the same effects as another that applies whenever it does.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

from ...errors import Problem
from ...i18n import _
from ...rules.model import All, Evidence
from .context import Context, Family, problem
from .logic import effects_key, size, subjects
from .reachability import reach_and_live


def run(ctx: Context) -> Iterator[Problem]:
    live = reach_and_live(ctx)[1]
    logic = ctx.logic
    rules = [r for r in ctx.rb.rules if r.id in live and not r.generated]  # twins repeat their originals
    effects = {r.id: effects_key(r) for r in rules}
    sizes = {r.id: size(r.when) for r in rules}
    subject = {r.id: subjects(r.when) for r in rules}
    redundant: set[str] = set()
    for a, b in itertools.combinations(rules, 2):
        if effects[a.id] == effects[b.id]:
            b_in_a = logic.implies(b.when, a.when)
            a_in_b = logic.implies(a.when, b.when)
            if b_in_a or a_in_b:
                narrow, wide = (b, a) if b_in_a else (a, b)
                if narrow.id in redundant:
                    continue
                redundant.add(narrow.id)
                if b_in_a and a_in_b:
                    msg = _("rule {id} is redundant: rule {other} ({where}) has the same effects and the same "
                            "conditions, so the evidence is counted twice; remove one or give them different effects",
                            id=narrow.id, other=wide.id, where=wide.pos)
                else:
                    msg = _("rule {id} is redundant: rule {other} ({where}) has the same effects and applies "
                            "whenever this one does, so the evidence is counted twice; remove one or give them "
                            "different effects", id=narrow.id, other=wide.id, where=wide.pos)
                yield problem(narrow.pos, msg, "redundant")
            continue
        if sizes[a.id] != sizes[b.id] or subject[a.id] != subject[b.id]:
            continue
        for t in ctx.rb.typologies:
            pa = {e.cls: e.weight for e in a.then if isinstance(e, Evidence) and e.typology == t and e.weight > 0}
            pb = {e.cls: e.weight for e in b.then if isinstance(e, Evidence) and e.typology == t and e.weight > 0}
            if not pa or not pb or set(pa) & set(pb) or abs(max(pa.values()) - max(pb.values())) > 1e-9:
                continue
            if not logic.sat(All((a.when, b.when), a.when.pos)):
                continue
            yield problem(b.pos, _("rule {id} conflicts with rule {other} ({where}): both can fire together and push "
                                   "{typology} to {classes} vs {other_classes} with the same weight {weight} and the "
                                   "same specificity, so the result is a tie; make one condition more specific or "
                                   "change a weight", id=b.id, other=a.id, where=a.pos, typology=t,
                                   classes=" / ".join(pb), other_classes=" / ".join(pa),
                                   weight=format(max(pb.values()), "g")), "conflict")
            break


FAMILY = Family("redundancy", ("conflict", "redundant"), run)
