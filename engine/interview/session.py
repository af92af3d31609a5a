"""Saving and resuming an interview, and reading scripted answers (`zhike ask`).

A session file is YAML (or JSON when its name ends in .json): the answers
keyed by fact id, the skipped facts, the order in which answers were used,
the goals, the language and the rulebase it was made with (name, version,
sha256). It is rewritten atomically after every answer.

Resuming replays the answers through the questionnaire, so only what still
matters under the current rulebase is used. Answers whose fact or value no
longer exists are reported and left out of inference, but kept in the file:
the rep's words are never thrown away by a rulebase update.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem, did_you_mean
from ..reasoning.profile import ValueProblem, coerce_value, profile_from_located, read_yaml_input
from ..report.output import write_text
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import Rulebase
from ..rules.yamlpos import Located
from .questionnaire import SKIP, Questionnaire

MARKER = "zhike_session"
VERSION = 1
_PROFILE_KEYS = ("facts", "utterances", "name", "notes")


@dataclass
class Loaded:
    """A session file read against the current rulebase."""

    given: dict[str, Any]  # answers that still apply: catalogue values, or SKIP
    stale: dict[str, Any] = field(default_factory=dict)  # answers that no longer apply, as written
    stale_skipped: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)  # [] = every typology
    lang: str | None = None
    asked: list[str] = field(default_factory=list)
    changed: bool = False  # made with another rulebase
    notes: list[str] = field(default_factory=list)  # what changed, for the rep


def dumps(q: Questionnaire, *, lang: str, goals: list[str], json_format: bool = False,
          stale: dict[str, Any] | None = None, stale_skipped: list[str] | None = None) -> str:
    """The session as text. `goals` is what the rep asked for ([] = all typologies)."""
    answers: dict[str, Any] = {f: v for f, v in q.given.items() if v is not SKIP}
    for f, v in (stale or {}).items():
        answers.setdefault(f, v)
    skipped = q.skipped + [f for f in (stale_skipped or []) if f not in q.given]
    rb = q.rb
    data = {
        MARKER: VERSION,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "rulebase": {"name": rb.name, "version": rb.version, "sha256": rb.sha256},
        "lang": lang,
        "goals": list(goals),
        "answers": {f: _plain(v) for f, v in answers.items()},
        "skipped": skipped,
        "asked": list(q.history),
    }
    if json_format:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def save(path: Path, q: Questionnaire, *, lang: str, goals: list[str], stale: dict[str, Any] | None = None,
         stale_skipped: list[str] | None = None) -> None:
    """Write the session atomically (a crash never leaves half a file); never over a rule file."""
    text = dumps(q, lang=lang, goals=goals, json_format=Path(path).suffix.lower() == ".json", stale=stale,
                 stale_skipped=stale_skipped)
    write_text(text, str(path), inputs=q.rb.files)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _read(path: Path) -> Located | None:
    return read_yaml_input(path)


def load(path: Path, rb: Rulebase) -> Loaded:
    """Read a saved session; what no longer fits the rulebase is reported in `notes`, never an error."""
    loc = _read(path)
    data = loc.plain() if loc is not None else None
    if not isinstance(data, dict) or MARKER not in data:
        raise InputError(f"{path}: not a zhike session file (no `{MARKER}:`); "
                         "use --answers for a file of answers")
    answers = data.get("answers") or {}
    skipped = data.get("skipped") or []
    if not isinstance(answers, dict) or not isinstance(skipped, list):
        raise InputError(f"{path}: `answers` must map fact ids to answers and `skipped` be a list")
    out = Loaded(given={})
    saved_rb = data.get("rulebase") or {}
    if isinstance(saved_rb, dict) and saved_rb.get("sha256") not in (None, rb.sha256):
        out.changed = True
        old = f"{saved_rb.get('name', '?')} {saved_rb.get('version', '?')}"
        out.notes.append(f"the rulebase has changed since this session was saved ({old} → {rb.name} {rb.version}); "
                         "answers are replayed and only what still matters is used")
    for f, raw in answers.items():
        f = str(f)
        fd = rb.facts.get(f)
        if fd is None:
            out.stale[f] = raw
            out.notes.append(f"answer to {f!r} is not used: the rulebase has no such fact any more")
            continue
        try:
            v = coerce_value(fd, raw)
        except ValueProblem as e:
            out.stale[f] = raw
            out.notes.append(f"answer {f} = {raw!r} is not used: {e}")
            continue
        out.given[f] = SKIP if v is None else v
    for f in skipped:
        f = str(f)
        if f not in rb.facts:
            out.stale_skipped.append(f)
            out.notes.append(f"skipped fact {f!r} no longer exists")
        elif f not in out.given:
            out.given[f] = SKIP
    goals = data.get("goals") or []
    for g in goals if isinstance(goals, list) else [goals]:
        if isinstance(g, str) and g in rb.typologies:
            out.goals.append(g)
        else:
            out.notes.append(f"goal {g!r} is not a typology any more{did_you_mean(str(g), rb.typologies)}; dropped")
    if data.get("goals") and not out.goals:
        out.notes.append("none of the saved goals exists: settling every typology")
    lang = data.get("lang")
    out.lang = lang if lang in ("zh", "en") else None
    asked = data.get("asked") or []
    out.asked = [f for f in asked if isinstance(f, str)] if isinstance(asked, list) else []
    return out


def load_answers(path: Path, rb: Rulebase) -> tuple[dict[str, Any], str]:
    """Scripted answers: fact id -> answer (`utterances:` a list), or a profile, or a saved session.

    Returns (answers as catalogue values or SKIP, profile name). Raises InputError
    with every problem, each at its line and column.
    """
    loc = _read(path)
    name = str(path)
    if loc is None or loc.value is None:
        return {}, name
    if not isinstance(loc.value, dict):
        raise InputError("", [Problem(loc.pos, "an answers file maps fact ids to answers, e.g. `pace: fast`",
                                      "answers")])
    keys = set(loc.value)
    if MARKER in keys:
        return load(path, rb).given, name
    if "facts" in keys and keys <= set(_PROFILE_KEYS) and "facts" not in rb.facts:
        prof = profile_from_located(loc, rb, name)
        given: dict[str, Any] = dict(prof.facts)
        if prof.utterances:
            given[RESERVED_UTTERANCES] = prof.utterances
        return given, prof.name
    problems: list[Problem] = []
    given = {}
    for key, val in loc.value.items():
        if key in ("name", "notes") and key not in rb.facts:
            if key == "name" and val.value is not None:
                name = str(val.value)
            continue
        fd = rb.facts.get(key)
        if fd is None:
            problems.append(Problem(val.key_pos or val.pos, f"unknown fact {key!r}{did_you_mean(key, rb.facts)}; "
                                    "see `zhike facts`", "unknown-fact"))
            continue
        try:
            v = coerce_value(fd, val.plain())
        except ValueProblem as e:
            problems.append(Problem(val.pos, str(e), "bad-value"))
            continue
        given[key] = SKIP if v is None else v
    if problems:
        raise InputError("", problems)
    return given, name
