"""Load a rulebase directory into a validated `Rulebase`, or fail with every problem.

Validation is all-or-nothing: any error raises `RulebaseError` carrying every
problem found, sorted, each with `file:line:col` and the fix. Nothing is ever
half-loaded. Like pre-commit's clientlib, the YAML shape is checked field by
field, so a misspelt key gets a did-you-mean rather than being ignored.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from pathlib import Path

from ..errors import Problem, RulebaseError
from ..i18n import _
from ..paths import cache_dir
from .checker import ID_RE, display_path
from .conditions import FACT_OPS, RESERVED_UTTERANCES, TYPOLOGY_OPS
from .facts import FactReader
from .generated import denial_twins, example_rules
from .lexicons import LexiconReader
from .model import Rulebase, Typology, normalise_text
from .strategies import StrategyReader
from .stratify import fact_refs, stratify
from .typologies import TypologyReader
from .yamlpos import MAX_BYTES, Located, Pos, YamlError, load_file

__all__ = ["FACT_OPS", "ID_RE", "RESERVED_UTTERANCES", "TYPOLOGY_OPS", "check_rulebase", "display_path",
           "fact_refs", "load_rulebase", "normalise_text"]


class _Loader(FactReader, TypologyReader, StrategyReader, LexiconReader):
    """One reader per file kind, sharing what has been declared so far and the problems found."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root
        self.hash = hashlib.sha256()
        self.files: list[str] = []

    def read(self, path: Path) -> Located | None:
        rel = path.relative_to(self.root).as_posix()
        try:
            with open(path, "rb") as fh:  # bounded: load_file refuses anything bigger anyway
                data = fh.read(MAX_BYTES + 1)
        except OSError:
            data = b""
        self.hash.update(rel.encode() + b"\0" + data + b"\0")
        self.files.append(display_path(path))
        try:
            return load_file(path, display_path(path))
        except YamlError as e:
            self.problems.extend(e.problems)
            return None

    def typology_files(self, root: Path, threshold: float) -> list[tuple[Typology | None, dict | None]]:
        """Every typology file's header, with its source resolved and its threshold defaulted."""
        typ_files = []
        for p in sorted((root / "typologies").glob("*.yaml")):
            loc = self.read(p)
            typ, body = self.typology_header(loc, p)
            typ_files.append((typ, body))
        for typ, _body in typ_files:  # sources are known now
            if typ is not None:
                typ.source = self.source(getattr(typ, "_source_loc", None), _("typology source"))
                if typ.threshold < 0:
                    typ.threshold = threshold
        return typ_files

    def guidance_files(self, root: Path, strat_ids: dict[str, Pos]) -> None:
        for p in sorted((root / "guidance").glob("*.yaml")):
            # strategies that rest on several typologies or give general advice: no typology of their own
            loc = self.read(p)
            if loc is None:
                continue
            gm = self.mapping(loc, _("guidance file"), required=("strategies",))
            for item in self.items(gm.get("strategies") if gm else None, "strategies"):
                self.strategy(item, None, strat_ids)


def load_rulebase(root: str | Path) -> Rulebase:
    """Load and validate the rulebase in directory `root`; raise RulebaseError on any problem.

    A rulebase that loaded without a problem is kept in zhike's cache (engine.paths.cache_dir),
    keyed by the bytes of every file in it and by the loader's own code, so the next run of an
    unchanged rulebase skips parsing and validation (most of a cold start); `zhike rules check`
    never uses the cache."""
    root = Path(root)
    cached, key = _cached(root)
    if cached is not None:
        return cached
    rb, problems = check_rulebase(root)
    if problems or rb is None:
        raise RulebaseError(problems)
    _keep(key, rb)
    return rb


_CACHE_KEEP = 16


def _cache_key(root: Path) -> str | None:
    """Content hash of the rulebase's files and of the rule-language code, or None if unreadable."""
    h = hashlib.sha256()
    try:
        engine = Path(__file__).parent.parent  # the rule language, and the catalogue generated rules speak with
        for p in [*sorted((engine / "rules").glob("*.py")), *sorted((engine / "i18n").rglob("*.mo"))]:
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        for p in sorted(root.rglob("*.yaml")):
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    except OSError:
        return None
    h.update(str(root.resolve()).encode())
    return h.hexdigest()


def _cached(root: Path) -> tuple[Rulebase | None, str | None]:
    folder = cache_dir("rulebases") if root.is_dir() else None
    key = _cache_key(root) if folder else None
    if folder is None or key is None:
        return None, None
    try:
        with open(folder / f"{key}.pickle", "rb") as fh:
            rb = pickle.load(fh)  # our own file in a private folder, named by the hash of what made it
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None, key
    return (rb, key) if isinstance(rb, Rulebase) else (None, key)


def _keep(key: str | None, rb: Rulebase) -> None:
    folder = cache_dir("rulebases") if key else None
    if folder is None:
        return
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            pickle.dump(rb, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / f"{key}.pickle")
        kept = sorted(folder.glob("*.pickle"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in kept[_CACHE_KEEP:]:  # rulebases being edited leave a trail; the newest few are enough
            old.unlink()
    except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def check_rulebase(root: str | Path) -> tuple[Rulebase | None, list[Problem]]:
    """Every problem of the rulebase, and the model of whatever parts are valid.

    For analysis tools (`zhike rules check`) that want to report further
    findings even when some rules are broken. Never use the returned model
    for inference when problems is non-empty: that is what load_rulebase is for.
    """
    root = Path(root)
    ld = _Loader(root)
    if not root.is_dir():
        return None, [Problem(Pos(display_path(root), 1, 1),
                              _("rulebase directory not found; pass --rulebase DIR"), "io")]
    manifest_path = root / "rulebase.yaml"
    if not manifest_path.exists():
        ld.err(Pos(display_path(manifest_path), 1, 1), _("rulebase.yaml is missing: every rulebase needs one"),
               "missing-file")
    name, version, title, threshold = ld.manifest(ld.read(manifest_path) if manifest_path.exists() else None,
                                                  manifest_path)
    sources_path = root / "sources.yaml"
    if sources_path.exists():
        ld.sources(ld.read(sources_path))
    else:
        ld.err(Pos(display_path(sources_path), 1, 1), _("sources.yaml is missing: rules must cite their sources"),
               "missing-file")
    words = ld.words_settings(ld.words_loc)
    for p in sorted((root / "lexicons").glob("*.yaml")):
        ld.lexicon_file(ld.read(p))
    for p in sorted((root / "facts").glob("*.yaml")):
        ld.fact_file(ld.read(p))
    ld.fact_conditions()
    typ_files = ld.typology_files(root, threshold)
    rule_ids: dict[str, Pos] = {}
    strat_ids: dict[str, Pos] = {}
    for typ, body in typ_files:
        if typ is None or body is None:
            continue
        for item in ld.items(body.get("rules"), "rules"):
            ld.rule(item, typ, rule_ids)
        for item in ld.items(body.get("strategies"), "strategies"):
            ld.strategy(item, typ, strat_ids)
    ld.guidance_files(root, strat_ids)
    if not ld.typologies and not ld.problems:
        ld.err(Pos(display_path(root / "typologies"), 1, 1), _("no typologies found in typologies/*.yaml"),
               "missing-file")
    ld.check_supersedes(strat_ids)
    ld.rules.extend(example_rules(ld.typologies, ld.rules, words) + denial_twins(ld.rules))
    stratify(ld.rules, ld.strategies, ld.typologies, ld)
    ld.typologies = ld.typology_order(ld.typologies)
    default_goals = ld.goal_ids(ld.typologies)
    return Rulebase(name=name, version=version, title=title, threshold=threshold, stages=ld.stages,
                    seeds=ld.seeds, facts=ld.facts, typologies=ld.typologies, rules=ld.rules,
                    strategies=ld.strategies, root=str(root), sha256=ld.hash.hexdigest(),
                    files=ld.files, topics=list(ld.topics.values()), default_goals=default_goals,
                    concepts=ld.concepts, words=words), \
        sorted(ld.problems, key=Problem.sort_key)
