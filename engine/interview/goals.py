"""What the interview aims at: goals named by id, by label in either language, or `all`."""
from __future__ import annotations

from ..errors import InputError
from ..i18n import _, current_lang
from ..reasoning.profile import did_you_mean_labels
from ..rules.model import Rulebase
from ..words.labels import loose_key, suggest

ALL_WORDS = frozenset({"all", "全部", "所有", "everything"})


def resolve_goals(rb: Rulebase, goals: list[str] | None) -> list[str]:
    """Typology ids to settle, in rulebase order.

    None or empty: the rulebase's `default_goals` (every typology when it declares none).
    Each goal may be an id, a zh or en label, a part of a label that names one typology,
    or `all`/`全部`; several may be given comma-separated. Raises InputError for one that
    names no typology, with what it probably meant.
    """
    if not goals:
        return [t for t in rb.typologies if t in rb.default_goals] or list(rb.typologies)
    wanted: list[str] = []
    for g in goals:
        for part in str(g).replace("，", ",").replace("、", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if loose_key(part) in ALL_WORDS:
                return list(rb.typologies)
            tid = goal_named(rb, part)
            if tid not in wanted:
                wanted.append(tid)
    return [t for t in rb.typologies if t in wanted] or list(rb.typologies)


def goal_named(rb: Rulebase, name: str) -> str:
    """The typology a goal names: its id, a label, or an unambiguous part of a label."""
    if name in rb.typologies:
        return name
    key = loose_key(name)
    names = {tid: [loose_key(n) for n in (tid, t.label.zh, t.label.en)] for tid, t in rb.typologies.items()}
    exact = [tid for tid, keys in names.items() if key in keys]
    if len(exact) == 1:
        return exact[0]
    # a part names a label only: ids are typed whole (a cut id is a typo, answered with did-you-mean)
    partial = [tid for tid, keys in names.items() if any(key in k for k in keys[1:])] if key else []
    if len(partial) == 1:
        return partial[0]
    lang = current_lang()
    label = {tid: rb.typologies[tid].label.get(lang) for tid in rb.typologies}
    if len(partial) > 1:
        raise InputError(_('"{goal}" fits several goals: {goals}; give one of them',
                           goal=name, goals=_(", ").join(label[t] for t in partial)))
    close = suggest(name, [(label[tid], (tid, t.label.zh, t.label.en)) for tid, t in rb.typologies.items()])
    if close:
        raise InputError(_('unknown goal "{goal}"{hint}', goal=name, hint=did_you_mean_labels(close)))
    raise InputError(_('unknown goal "{goal}"; goals are: {goals}, or all', goal=name,
                       goals=_(", ").join(label.values())))
