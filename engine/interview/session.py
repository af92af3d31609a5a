"""Saving and resuming an interview, reading scripted answers (`zhike ask`), and a saved
session as a profile (`zhike classify SESSION.yaml`).

A session file is YAML (or JSON when its name ends in .json): the answers keyed
by fact id, the skipped facts, the order in which answers were used, the record
of the interview (each question's number, answer and time), the estimates shown,
the goals, the language and the rulebase it was made with (name, version,
sha256). It is rewritten atomically after every answer.

Resuming with the same rulebase puts the record back as it was (numbers go on
where they stopped). After a rulebase update the answers are replayed through
the questionnaire, so only what still matters is used. Answers whose fact or
value no longer exists are reported and left out of inference, but kept in the
file: the rep's words are never thrown away by a rulebase update.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Pos, Problem
from ..i18n import _, current_lang
from ..reasoning.profile import (
    Profile,
    ValueProblem,
    coerce_value,
    did_you_mean_labels,
    fact_named,
    profile_from_located,
    read_yaml_input,
)
from ..report.describe import value_label
from ..report.output import write_text
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import Rulebase
from ..rules.yamlpos import Located
from ..words.labels import suggest
from .progress import ProgressTracker
from .questionnaire import REP, SKIP, TOPIC, Entry, Questionnaire

MARKER = "zhike_session"
VERSION = 1
_PROFILE_KEYS = ("facts", "utterances", "name", "notes")
_HOWS = (REP, "file", TOPIC)


@dataclass
class Loaded:
    """A session file read against the current rulebase."""

    given: dict[str, Any]  # answers that still apply: catalogue values, or SKIP
    stale: dict[str, Any] = field(default_factory=dict)  # answers that no longer apply, as written
    stale_skipped: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)  # [] = the default goals
    lang: str | None = None
    asked: list[str] = field(default_factory=list)
    changed: bool = False  # made with another rulebase
    notes: list[str] = field(default_factory=list)  # what changed, for the rep
    log: list[Entry] = field(default_factory=list)  # the record, when it can be put back as it was
    progress: ProgressTracker = field(default_factory=ProgressTracker)


def dumps(q: Questionnaire, *, lang: str, goals: list[str], json_format: bool = False,
          stale: dict[str, Any] | None = None, stale_skipped: list[str] | None = None) -> str:
    """The session as text. `goals` is what the rep asked for ([] = the default goals)."""
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
        "interview": record(q),
        "progress": q.progress.to_json(),
    }
    if json_format:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def record(q: Questionnaire, lang: str | None = None) -> list[dict[str, Any]]:
    """The interview in the order it went, one entry per answer in effect: the question's number
    (none for answers not asked), the fact, the answer (or `skipped`), how it came, and when.
    With `lang`, also the question and the answer in words (for the JSON result of `zhike ask`)."""
    out = []
    for e in q.log:
        item: dict[str, Any] = {"n": e.number, "fact": e.fact}
        if lang is not None and e.fact in q.rb.facts:
            item["question"] = q.rb.facts[e.fact].question.get(lang)
        if e.value is SKIP:
            item["skipped"] = True
        else:
            item["answer"] = _plain(e.value)
            if lang is not None and e.fact != RESERVED_UTTERANCES:
                item["answer_label"] = value_label(q.rb, e.fact, e.value, lang)
        item["how"] = e.how
        item["time"] = e.time
        out.append(item)
    return out


def save(path: Path, q: Questionnaire, *, lang: str, goals: list[str], stale: dict[str, Any] | None = None,
         stale_skipped: list[str] | None = None) -> None:
    """Write the session atomically (a crash never leaves half a file); never over a rule file."""
    text = dumps(q, lang=lang, goals=goals, json_format=Path(path).suffix.lower() == ".json", stale=stale,
                 stale_skipped=stale_skipped)
    write_text(text, str(path), inputs=q.rb.files)


def _plain(v: Any) -> Any:
    """A value as written to a file: whole numbers without `.0`, lists copied (no YAML aliases)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return list(v)
    return v


def _read(path: Path) -> Located | None:
    return read_yaml_input(path)


def is_session(data: Any) -> bool:
    """Whether parsed YAML/JSON is a saved session (it carries the `zhike_session:` marker)."""
    return isinstance(data, dict) and MARKER in data


def load(path: Path, rb: Rulebase) -> Loaded:
    """Read a saved session; what no longer fits the rulebase is reported in `notes`, never an error."""
    loc = _read(path)
    return load_data(loc.plain() if loc is not None else None, rb, str(path))


def load_data(data: Any, rb: Rulebase, where: str = "<session>") -> Loaded:
    """A saved session already parsed (e.g. kept in a database by `zhike serve`), read as `load` reads a file."""
    if not is_session(data):
        raise InputError(_("{path}: not a zhike session file (no `{marker}:`); use --answers for a file of answers",
                           path=where, marker=MARKER))
    answers = data.get("answers") or {}
    skipped = data.get("skipped") or []
    if not isinstance(answers, dict) or not isinstance(skipped, list):
        raise InputError(_("{path}: `answers` must map facts to answers and `skipped` be a list", path=where))
    out = Loaded(given={})
    saved_rb = data.get("rulebase") or {}
    if isinstance(saved_rb, dict) and saved_rb.get("sha256") not in (None, rb.sha256):
        out.changed = True
        old = f"{saved_rb.get('name', '?')} {saved_rb.get('version', '?')}"
        new = f"{rb.name} {rb.version}"
        out.notes.append(_("the rulebase has changed since this session was saved ({old} → {new}); "
                           "answers are replayed and only what still matters is used", old=old, new=new))
    for f, raw in answers.items():
        f = str(f)
        fd = rb.facts.get(f)
        if fd is None:
            out.stale[f] = raw
            out.notes.append(_("the answer to {fact!r} is not used: the rulebase has no such question any more",
                               fact=f))
            continue
        try:
            v = coerce_value(fd, raw)
        except ValueProblem as e:
            out.stale[f] = raw
            out.notes.append(_("the answer {fact} = {value!r} is not used: {reason}", fact=fd.label.get(current_lang()),
                               value=raw, reason=e))
            continue
        out.given[f] = SKIP if v is None else v
    for f in skipped:
        f = str(f)
        if f not in rb.facts:
            out.stale_skipped.append(f)
            out.notes.append(_("the skipped question {fact!r} no longer exists", fact=f))
        elif f not in out.given:
            out.given[f] = SKIP
    _goals(data.get("goals"), rb, out)
    lang = data.get("lang")
    out.lang = lang if lang in ("zh", "en") else None
    asked = data.get("asked") or []
    out.asked = [f for f in asked if isinstance(f, str)] if isinstance(asked, list) else []
    if not out.changed:
        out.log = _log(data.get("interview"), out.given)
        out.progress = ProgressTracker.from_json(data.get("progress"))
    return out


def _goals(goals: Any, rb: Rulebase, out: Loaded) -> None:
    from .goals import goal_named

    for g in goals if isinstance(goals, list) else ([goals] if goals else []):
        try:
            out.goals.append(goal_named(rb, str(g)))
        except InputError:
            out.notes.append(_("the goal {goal!r} is no longer in the rulebase; dropped", goal=g))
    if goals and not out.goals:
        out.notes.append(_("none of the saved goals exists any more: using the default goals"))


def _log(entries: Any, given: dict[str, Any]) -> list[Entry]:
    """The saved record, if every entry still fits: an answer the file still holds, in a known way."""
    if not isinstance(entries, list) or not entries:
        return []
    out: list[Entry] = []
    for item in entries:
        if not isinstance(item, dict):
            return []
        f, n, how = item.get("fact"), item.get("n"), item.get("how")
        if f not in given or how not in _HOWS or not (n is None or (isinstance(n, int) and not isinstance(n, bool))):
            return []
        out.append(Entry(f, given[f], how, str(item.get("time", "")), n))
    # Numbers may skip and repeat: customer's words added while another question was open take that
    # question's number, and their earlier entry (with its number) goes. Requiring 1..N made such a
    # record unusable, and resuming then replayed every answer through the look-ahead (~150 inferences).
    numbers = [e.number for e in out if e.number is not None]
    return out if all(n >= 1 for n in numbers) and len({e.fact for e in out}) == len(out) else []


def resume(q: Questionnaire, loaded: Loaded) -> None:
    """Put a loaded session into a new questionnaire: the record as it was when it still fits,
    else its answers replayed as their questions come up (each counted as a question asked)."""
    if loaded.log:
        q.restore(loaded.log)
        q.progress = loaded.progress
    q.preload({f: v for f, v in loaded.given.items() if f not in q.history}, asked=True)


def profile_from_session(path: Path, rb: Rulebase, notes: list[str] | None = None) -> Profile:
    """A saved session as the profile `zhike classify` reads: the answers in effect, in the order
    they were given (what `zhike ask` reasoned on). What no longer fits the rulebase is left out
    and said in `notes` (and in the profile's warnings)."""
    loaded = load(path, rb)
    order = [e.fact for e in loaded.log] or loaded.asked or list(loaded.given)
    facts: dict[str, Any] = {}
    utterances: list[str] = []
    for f in order:
        v = loaded.given.get(f)
        if v is None or v is SKIP:
            continue
        if f == RESERVED_UTTERANCES:
            utterances = list(v)
        else:
            facts[f] = v
    profile = Profile(facts, utterances, str(path))
    pos = Pos(str(path), 1, 1)
    profile.warnings.extend(Problem(pos, note, "session", "warning") for note in loaded.notes)
    if notes is not None:
        notes.extend(loaded.notes)
    return profile


def load_answers(path: Path, rb: Rulebase, warnings: list[Problem] | None = None) -> tuple[dict[str, Any], str]:
    """Scripted answers: fact -> answer (`utterances:` a list), or a profile, or a saved session.

    Facts are named by id or label, as in a profile. Returns (answers as catalogue values or
    SKIP, profile name). Raises InputError with every problem, each at its line and column. A
    profile's keys that name no fact are left out, as `zhike classify` does, and put in `warnings`.
    """
    loc = _read(path)
    name = str(path)
    if loc is None or loc.value is None:
        return {}, name
    if not isinstance(loc.value, dict):
        raise InputError("", [Problem(loc.pos, _("an answers file maps questions to answers, e.g. `pace: fast`"),
                                      "answers")])
    keys = set(loc.value)
    if MARKER in keys:
        return load(path, rb).given, name
    if "facts" in keys and keys <= set(_PROFILE_KEYS) and "facts" not in rb.facts:
        prof = profile_from_located(loc, rb, name)
        if warnings is not None:
            warnings.extend(prof.warnings)
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
        fd = fact_named(rb, key)
        if fd is None:
            lang = current_lang()
            close = suggest(key, [(f.label.get(lang), (f.id, f.label.zh, f.label.en)) for f in rb.facts.values()])
            message = (_("unknown question {key!r}{hint}", key=key, hint=did_you_mean_labels(close)) if close
                       else _("unknown question {key!r}; `zhike facts` lists the questions", key=key))
            problems.append(Problem(val.key_pos or val.pos, message, "unknown-fact"))
            continue
        try:
            v = coerce_value(fd, val.plain())
        except ValueProblem as e:
            problems.append(Problem(val.pos, str(e), "bad-value"))
            continue
        given[fd.id] = SKIP if v is None else v
    if problems:
        raise InputError("", problems)
    return given, name
