"""The utterance corpus (`rulebase/corpus/<split>/<typology>.yaml`): read it, check it, run it.

A corpus item is one thing a customer said with the class a trainer gives it
without hesitation (or null: "this remark carries no class of this typology"),
and optionally expectations for other typologies (`also:`). The `train` split
is what lexicons and examples are tuned on; the `heldout` split measures how
well that generalises, so its failures are never shown item by item (see
corpus_report), only counted.

Every mistake in a corpus file is a `file:line:col` problem, all of them at once,
before anything runs (exit 2), so "the corpus file is wrong" and "the rulebase
misreads a sentence" stay apart. Each item is classified as a profile that holds
only `utterances: [said]`, on a rulebase compiled once.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Pos, Problem, did_you_mean
from ..i18n import _
from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Conclusion, infer
from ..reasoning.profile import Profile
from ..rules.loader import display_path
from ..rules.model import Rulebase
from ..rules.yamlpos import Located, YamlError, load_file

SPLITS = ("train", "heldout")
FILE_KEYS = ("typology", "split", "items")
ITEM_KEYS = ("said", "expect", "also", "note")
MAX_ITEMS_PER_FILE = 10_000  # a corpus file is read whole; bound the work one file can ask for
MAX_FILES = 200
MAX_SAID_CHARS = 1_000  # one utterance is what a customer said in one go (~120 characters)


@dataclass
class CorpusItem:
    said: str
    typology: str  # the file's typology: the item's main label
    split: str
    pos: Pos  # where the item starts
    expect: dict[str, str | None] = field(default_factory=dict)  # typology id -> class id or None; main first


@dataclass
class Evidence:
    """One fired rule behind a class: what in the sentence carried it."""

    rule: str
    cls: str
    weight: float
    clause: str
    matched: str
    concept: str | None = None
    similarity: float | None = None


@dataclass
class Outcome:
    """One item's expectation for one typology, and what the rulebase concluded."""

    item: CorpusItem
    typology: str
    expected: str | None
    got: str | None
    confidence: float
    evidence: list[Evidence]  # for the class got, else for the best-scoring class (below the threshold)

    @property
    def ok(self) -> bool:
        return self.expected == self.got


def corpus_dir(rb: Rulebase) -> Path:
    """The rulebase's own corpus folder: `<rulebase>/corpus`."""
    return Path(rb.root) / "corpus"


def corpus_files(root: Path, splits: tuple[str, ...] = SPLITS) -> tuple[list[tuple[str, Path]], list[Problem]]:
    """(split, path) of every corpus file under `root`, and problems with folders that are no split."""
    files: list[tuple[str, Path]] = []
    problems: list[Problem] = []
    if not root.is_dir():
        raise InputError(_("no corpus folder at {path}: it holds train/ and heldout/ with one YAML file per "
                           "typology", path=display_path(root)))
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name not in SPLITS and any(sub.glob("*.yaml")):
            problems.append(Problem(Pos(display_path(sub), 1, 1),
                                    _("unknown split folder {name}{hint}; the corpus has {splits}", name=repr(sub.name),
                                      hint=did_you_mean(sub.name, SPLITS), splits=", ".join(SPLITS)),
                                    "corpus-format"))
    for split in splits:
        files += [(split, p) for p in sorted((root / split).glob("*.yaml"))]
    if len(files) > MAX_FILES:
        raise InputError(_("the corpus has {n} files; at most {limit} are read", n=len(files), limit=MAX_FILES))
    return files, problems


def check_corpus(rb: Rulebase, root: Path, splits: tuple[str, ...] = SPLITS) -> tuple[list[CorpusItem], list[Problem]]:
    """Every item of the corpus files of `splits`, and every problem in them, without running anything."""
    files, problems = corpus_files(root, splits)
    items: list[CorpusItem] = []
    for split, path in files:
        items += _read_file(rb, split, path, problems)
    return items, sorted(problems, key=Problem.sort_key)


def load_corpus(rb: Rulebase, root: Path, splits: tuple[str, ...] = SPLITS) -> list[CorpusItem]:
    """Read and check the corpus; raise InputError (exit 2) with all problems."""
    items, problems = check_corpus(rb, root, splits)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(_("the corpus has errors"), problems)
    return items


def _read_file(rb: Rulebase, split: str, path: Path, problems: list[Problem]) -> list[CorpusItem]:
    def bad(pos: Pos, message: str, check: str = "corpus-format") -> None:
        problems.append(Problem(pos, message, check))

    try:
        doc = load_file(path, display_path(path))
    except YamlError as e:
        problems.extend(e.problems)
        return []
    if doc is None:
        return []
    if not isinstance(doc.value, dict):
        bad(doc.pos, _("a corpus file is a mapping with typology, split and items"))
        return []
    m = doc.value
    for k, v in m.items():
        if k not in FILE_KEYS:
            bad(v.key_pos or v.pos, _("unknown key {key}{hint}; a corpus file has {keys}", key=repr(k),
                                      hint=did_you_mean(k, FILE_KEYS), keys=", ".join(FILE_KEYS)))
    typology = _file_typology(rb, m, doc.pos, path, bad)
    split_loc = m.get("split")
    if split_loc is None:
        bad(doc.pos, _("a corpus file needs `split: {split}` (the folder it is in)", split=split), "missing-key")
    elif split_loc.value != split:
        hint = did_you_mean(str(split_loc.value), SPLITS) if split_loc.value not in SPLITS else ""
        bad(split_loc.pos, _("`split: {value}`{hint} does not match the folder {folder}/ the file is in; write "
                             "`split: {folder}`", value=split_loc.value, hint=hint, folder=split))
    items_loc = m.get("items")
    if items_loc is None or not isinstance(items_loc.value, list):
        bad(items_loc.pos if items_loc else doc.pos, _("a corpus file needs `items:`, a list of `- said: …` entries"),
            "missing-key" if items_loc is None else "corpus-format")
        return []
    if len(items_loc.value) > MAX_ITEMS_PER_FILE:
        bad(items_loc.pos, _("{n} items in one file; at most {limit}", n=len(items_loc.value), limit=MAX_ITEMS_PER_FILE))
        return []
    out: list[CorpusItem] = []
    seen: dict[str, Pos] = {}
    for loc in items_loc.value:
        item = _read_item(rb, loc, typology, split, bad)
        if item is None:
            continue
        key = sentence_key(item.said)
        if key in seen:
            bad(item.pos, _("the same sentence is already at line {line}; each sentence once", line=seen[key].line))
            continue
        seen[key] = item.pos
        out.append(item)
    return out if typology is not None else []


def _file_typology(rb: Rulebase, m: dict[str, Located], pos: Pos, path: Path, bad) -> str | None:
    loc = m.get("typology")
    if loc is None:
        bad(pos, _("a corpus file needs `typology:`, the typology its items are about (e.g. `typology: {id}`)",
                   id=path.stem if path.stem in rb.typologies else "objection"), "missing-key")
        return None
    tid = str(loc.value)
    if tid not in rb.typologies:
        bad(loc.pos, _("unknown typology {id}{hint}", id=repr(tid), hint=did_you_mean(tid, rb.typologies)),
            "unknown-typology")
        return None
    if path.stem != tid:
        bad(loc.pos, _("this file is named {file} but is about {id}; name it {id}.yaml", file=path.name, id=tid))
    return tid


def _read_item(rb: Rulebase, loc: Located, typology: str | None, split: str, bad) -> CorpusItem | None:
    if not isinstance(loc.value, dict):
        bad(loc.pos, _("an item is a mapping: `- said: \"…\"` and `expect: CLASS` (or null)"))
        return None
    m = loc.value
    for k, v in m.items():
        if k not in ITEM_KEYS:
            bad(v.key_pos or v.pos, _("unknown key {key}{hint}; an item has {keys}", key=repr(k),
                                      hint=did_you_mean(k, ITEM_KEYS), keys=", ".join(ITEM_KEYS)))
    said_loc = m.get("said")
    said = said_loc.value if said_loc is not None else None
    ok = True
    if said_loc is None:
        bad(loc.pos, _("an item needs `said:`, what the customer said"), "missing-key")
        ok = False
    elif not isinstance(said, str) or not said.strip():
        bad(said_loc.pos, _("`said:` is the customer's words, as text"))
        ok = False
    elif len(said) > MAX_SAID_CHARS:
        bad(said_loc.pos, _("`said:` has {n} characters; one utterance has at most {limit}", n=len(said),
                            limit=MAX_SAID_CHARS))
        ok = False
    expect: dict[str, str | None] = {}
    exp_loc = m.get("expect")
    if exp_loc is None:
        bad(loc.pos, _("an item needs `expect:`, a class id of its typology, or null for a remark without one"),
            "missing-key")
        ok = False
    elif typology is not None:
        cls = _class(rb, typology, exp_loc, bad)
        ok = ok and cls is not False
        if cls is not False:
            expect[typology] = cls
    also = m.get("also")
    if also is not None:
        if not isinstance(also.value, dict):
            bad(also.pos, _("`also:` maps other typology ids to a class id or null, e.g. "
                            "`also: {{decision_mode: consults_colleagues}}`"))
            ok = False
        else:
            for tid, v in also.value.items():
                if tid not in rb.typologies:
                    bad(v.key_pos or v.pos, _("unknown typology {id}{hint}", id=repr(tid),
                                              hint=did_you_mean(tid, rb.typologies)), "unknown-typology")
                    ok = False
                elif tid == typology:
                    bad(v.key_pos or v.pos, _("{id} is this file's typology: its class goes in `expect:`", id=tid))
                    ok = False
                else:
                    cls = _class(rb, tid, v, bad)
                    ok = ok and cls is not False
                    if cls is not False:
                        expect[tid] = cls
    if not ok or typology is None:
        return None
    return CorpusItem(said.strip(), typology, split, loc.pos, expect)


def _class(rb: Rulebase, tid: str, loc: Located, bad) -> str | bool | None:
    """The class id `loc` names in typology `tid`, None for null, False when it is wrong (reported)."""
    value = loc.value
    if value is None:
        return None
    classes = rb.typologies[tid].classes
    if isinstance(value, (list, dict, bool)) or str(value) not in classes:
        hint = did_you_mean(str(value), classes) if not isinstance(value, (list, dict, bool)) else ""
        bad(loc.pos, _("typology {typology} has no class {cls}{hint}; classes are {classes} (or null)",
                       typology=tid, cls=repr(value), hint=hint, classes=", ".join(classes)), "unknown-class")
        return False
    return str(value)


_PUNCT_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)


def sentence_key(said: str) -> str:
    """A sentence with case, whitespace and punctuation left out: two items are the same sentence when equal."""
    return _PUNCT_SPACE.sub("", said.casefold())


def _evidence(c: Conclusion, cls: str | None) -> list[Evidence]:
    target = cls or (c.scores[0][0] if c.scores else None)
    out: list[Evidence] = []
    for b in c.because:
        if b.cls != target:
            continue
        hits = [m for m in b.facts if m.kind == "said" and m.hit is not None]
        for m in hits or [None]:
            hit = m.hit if m is not None else None
            out.append(Evidence(b.rule.id, b.cls, round(b.weight, 4), hit.clause if hit else "",
                                hit.matched if hit else "", hit.concept if hit else None,
                                hit.similarity if hit else None))
    return out


def classify_items(compiled: CompiledRulebase, items: list[CorpusItem],
                   progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """Run every item through the compiled rulebase: one Outcome per (item, expected typology)."""
    out: list[Outcome] = []
    for n, item in enumerate(items, 1):
        result = infer(compiled, Profile(utterances=[item.said], name=f"{item.pos.file}:{item.pos.line}"),
                       missing=False)
        for tid, expected in item.expect.items():
            c = result.conclusions[tid]
            out.append(Outcome(item, tid, expected, c.value, c.confidence if c.value else 0.0,
                               _evidence(c, c.value)))
        if progress is not None:
            progress(n, len(items))
    return out


__all__ = ["MAX_SAID_CHARS", "SPLITS", "CorpusItem", "Evidence", "Outcome", "check_corpus", "classify_items",
           "corpus_dir", "corpus_files", "load_corpus", "sentence_key"]
