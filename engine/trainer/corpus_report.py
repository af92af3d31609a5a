"""Run the utterance corpus and lay out its figures: text for trainers, JSON with ids for tools.

Text shows class labels (never ids) in the user's language: per typology and
split a table of precision, recall, F1 and support, macro-F1, how often a
plain remark was given a class, and the confusion matrix. Misclassified items
are listed for the TRAIN split only: held-out failures are counted, never
shown, so nobody tunes to them (in JSON as well).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import _, current_lang, ngettext
from ..reasoning.compiler import CompiledRulebase
from ..report.textwidth import dwidth, pad
from ..rules.loader import display_path
from ..rules.model import Rulebase
from .corpus import SPLITS, CorpusItem, Outcome, classify_items
from .corpus_metrics import FLOOR_SPLIT, FloorMiss, Scores, check_floor, score

TRAIN = "train"
FIRST_TYPOLOGY = "objection"
MAX_CLAUSE_SHOWN = 60  # characters of a clause quoted in a miss line


@dataclass
class CorpusRun:
    rb: Rulebase
    root: Path
    splits: tuple[str, ...]
    outcomes: list[Outcome]
    scores: list[Scores]  # typology order, then split order
    floors: dict[str, float]
    floor_misses: list[FloorMiss] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.floor_misses

    def misses(self, split: str, typology: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.item.split == split and o.typology == typology and not o.ok]


def run_corpus(rb: Rulebase, compiled: CompiledRulebase, root: Path, items: list[CorpusItem],
               splits: tuple[str, ...], floors: dict[str, float]) -> CorpusRun:
    """Classify every item and score each (typology, split); check held-out floors when held-out ran."""
    started = time.perf_counter()
    outcomes = classify_items(compiled, items)
    pairs: dict[tuple[str, str], list[tuple[str | None, str | None]]] = {}
    for o in outcomes:
        pairs.setdefault((o.typology, o.item.split), []).append((o.expected, o.got))
    # objections first: the typology customers' words show most often and the corpus measures most
    order = sorted(rb.typologies, key=lambda t: t != FIRST_TYPOLOGY)
    scores = [score(tid, split, pairs[(tid, split)], list(rb.typologies[tid].classes))
              for tid in order for split in SPLITS if (tid, split) in pairs]
    run = CorpusRun(rb, root, splits, outcomes, scores, floors)
    if FLOOR_SPLIT in splits:
        run.floor_misses = check_floor(floors, {s.typology: s for s in scores if s.split == FLOOR_SPLIT})
    run.seconds = time.perf_counter() - started
    return run


# --- text ------------------------------------------------------------------------------------

def _split_name(split: str) -> str:
    return _("train") if split == TRAIN else _("held-out")


def _fig(x: float | None) -> str:
    return "—" if x is None else format(x, ".2f")


def _class_label(rb: Rulebase, tid: str, cls: str | None, lang: str) -> str:
    if cls is None:
        return _("(no class)")
    c = rb.typologies[tid].classes.get(cls)
    return c.label.get(lang) if c is not None else cls


def _clip(s: str, n: int = MAX_CLAUSE_SHOWN) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _table(run: CorpusRun, s: Scores, lang: str) -> list[str]:
    labels = [_class_label(run.rb, s.typology, c.cls, lang) for c in s.classes]
    w = max([dwidth(x) for x in labels] + [dwidth(_("class")), 12]) + 2
    heads = [_("precision"), _("recall"), "F1", _("support")]
    cw = max(8, *(dwidth(h) + 2 for h in heads))
    out = ["  " + pad(_("class"), w) + "".join(pad(h, cw) for h in heads).rstrip()]
    for label, c in zip(labels, s.classes, strict=True):
        out.append("  " + pad(label, w) + "".join(pad(x, cw) for x in (_fig(c.precision), _fig(c.recall),
                                                                       _fig(c.f1), str(c.support))).rstrip())
    return out


def _matrix(run: CorpusRun, s: Scores, lang: str) -> list[str]:
    names = [f"{i} {_class_label(run.rb, s.typology, c, lang)}" for i, c in enumerate(s.labels[:-1], 1)]
    names.append(_("— {label}", label=_class_label(run.rb, s.typology, None, lang)))
    heads = [str(i) for i in range(1, len(s.labels))] + ["—"]
    w = max(dwidth(n) for n in names) + 2
    cw = max(4, max(len(str(x)) for row in s.matrix for x in row) + 2)
    out = ["  " + _("confusion matrix (rows: expected, columns: got; numbers are the classes above):"),
           "    " + " " * w + "".join(h.rjust(cw) for h in heads)]
    for name, row in zip(names, s.matrix, strict=True):
        out.append("    " + pad(name, w) + "".join((str(x) if x else ".").rjust(cw) for x in row))
    return out


def _miss_line(run: CorpusRun, o: Outcome, lang: str) -> list[str]:
    tid = o.typology
    got = _class_label(run.rb, tid, o.got, lang)
    if o.got is not None:
        got = _("{label} ({confidence})", label=got, confidence=format(o.confidence, ".2f"))
    out = [f"    {o.item.pos.file}:{o.item.pos.line}  “{_clip(o.item.said, 100)}”",
           "      " + _("expected {expected}, got {got}", expected=_class_label(run.rb, tid, o.expected, lang),
                        got=got)]
    shown = 0
    if o.got is None and any(e.clause for e in o.evidence):
        out.append("      " + _("the strongest evidence was not enough for a class:"))
    for e in o.evidence:
        if shown == 3:
            break
        if not e.clause:
            continue
        shown += 1
        who = _class_label(run.rb, tid, e.cls, lang)
        if e.similarity is not None:
            out.append("      " + _("{label}: clause “{clause}” is like “{example}” (similarity {similarity})",
                                    label=who, clause=_clip(e.clause), example=_clip(e.matched),
                                    similarity=format(e.similarity, ".2f")))
        else:
            out.append("      " + _("{label}: clause “{clause}” matched “{phrase}”", label=who,
                                    clause=_clip(e.clause), phrase=_clip(e.matched)))
    if o.got is None and not shown:
        out.append("      " + _("nothing in the sentence was recognised"))
    return out


def render_text(run: CorpusRun, show_misses: bool) -> str:
    lang = current_lang()
    lines: list[str] = [_("corpus: {path}", path=display_path(run.root)), ""]
    floors_checked = FLOOR_SPLIT in run.splits
    for s in run.scores:
        typ = run.rb.typologies[s.typology]
        lines.append(_("== {typology} · {split} · {n} ==", typology=typ.label.get(lang), split=_split_name(s.split),
                       n=ngettext("{n} sentence", "{n} sentences", s.total)))
        lines += _table(run, s, lang)
        summary = [_("macro-F1 {value}", value=_fig(s.macro_f1)), _("accuracy {value}", value=_fig(s.accuracy))]
        if s.plain_total:
            summary.append(_("plain remarks given a class: {hit}/{total} ({rate})", hit=s.plain_hit,
                             total=s.plain_total, rate=format(s.plain_hit_rate, ".0%")))
        lines.append("  " + " · ".join(summary))
        floor = run.floors.get(s.typology)
        if floors_checked and s.split == FLOOR_SPLIT and floor is not None:
            below = any(m.typology == s.typology for m in run.floor_misses)
            lines.append("  " + (_("below the floor {floor}", floor=format(floor, ".2f")) if below else
                                 _("floor {floor}: met", floor=format(floor, ".2f"))))
        lines += _matrix(run, s, lang)
        misses = run.misses(s.split, s.typology)
        if show_misses and misses:
            if s.split == TRAIN:
                lines.append("  " + ngettext("{n} sentence misread:", "{n} sentences misread:", len(misses)))
                for o in misses:
                    lines += _miss_line(run, o, lang)
            else:
                lines.append("  " + ngettext("{n} sentence misread (held-out sentences are not listed: tune on the "
                                             "train split)", "{n} sentences misread (held-out sentences are not "
                                             "listed: tune on the train split)", len(misses)))
        lines.append("")
    for m in run.floor_misses:
        label = run.rb.typologies[m.typology].label.get(lang)
        if m.got is None:
            lines.append(_("FAILED {typology}: the held-out split has no sentence with a class of it, so its floor "
                           "{floor} cannot be met", typology=label, floor=format(m.floor, ".2f")))
        else:
            lines.append(_("FAILED {typology}: held-out macro-F1 {got} is below its floor {floor} by {gap}",
                           typology=label, got=format(m.got, ".2f"), floor=format(m.floor, ".2f"),
                           gap=format(m.floor - m.got, ".2f")))
    n_items = len({id(o.item) for o in run.outcomes})
    lines.append(_(" {n} in {seconds}s ", n=ngettext("{n} sentence", "{n} sentences", n_items),
                   seconds=format(run.seconds, ".1f")).center(80, "="))
    return "\n".join(lines) + "\n"


# --- JSON ----------------------------------------------------------------------------------

def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _miss_json(o: Outcome) -> dict:
    return {"file": o.item.pos.file, "line": o.item.pos.line, "said": o.item.said, "expected": o.expected,
            "got": o.got, "confidence": o.confidence,
            "evidence": [{"rule": e.rule, "class": e.cls, "weight": e.weight, "clause": e.clause,
                          "matched": e.matched, "concept": e.concept, "similarity": e.similarity}
                         for e in o.evidence]}


def render_json(run: CorpusRun) -> dict:
    """Everything, with ids. Held-out results carry counts only, never the misread sentences."""
    results = []
    for s in run.scores:
        misses = run.misses(s.split, s.typology)
        floor = run.floors.get(s.typology) if s.split == FLOOR_SPLIT else None
        entry = {
            "typology": s.typology, "split": s.split, "items": s.total, "correct": s.correct,
            "macro_f1": _r(s.macro_f1), "accuracy": _r(s.accuracy),
            "plain_remarks": s.plain_total, "plain_remarks_given_a_class": s.plain_hit,
            "plain_hit_rate": _r(s.plain_hit_rate),
            "classes": [{"class": c.cls, "precision": _r(c.precision), "recall": _r(c.recall), "f1": _r(c.f1),
                         "support": c.support, "predicted": c.predicted} for c in s.classes],
            "confusion": {"labels": s.labels, "matrix": s.matrix},
            "floor": floor,
            "below_floor": any(m.typology == s.typology for m in run.floor_misses) if s.split == FLOOR_SPLIT else False,
            "misread": len(misses),
        }
        if s.split == TRAIN:
            entry["misses"] = [_miss_json(o) for o in misses]
        results.append(entry)
    return {"corpus": display_path(run.root), "splits": list(run.splits), "ok": run.ok, "results": results,
            "floor_misses": [{"typology": m.typology, "floor": m.floor, "macro_f1": _r(m.got)}
                             for m in run.floor_misses],
            "seconds": round(run.seconds, 2)}


__all__ = ["CorpusRun", "render_json", "render_text", "run_corpus"]
