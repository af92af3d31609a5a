"""Customer profiles: facts and what the customer said, checked against the catalogue.

The same coercion serves YAML/JSON profiles, questionnaire answers and batch
rows, so "是", "yes", "true" and `true` mean the same everywhere.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, did_you_mean
from .loader import RESERVED_UTTERANCES
from .model import UNKNOWN_WORDS, FactDef, Rulebase
from .yamlpos import Located, Pos, YamlError, load_text

TRUE_WORDS = {"true", "yes", "y", "1", "是", "对", "有", "是的", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "否", "不", "无", "没有", "不是", "f"}
LIST_SPLIT = re.compile(r"[,;|、，；]\s*")


@dataclass
class Profile:
    facts: dict[str, Any] = field(default_factory=dict)  # fact id -> value (a list for list facts)
    utterances: list[str] = field(default_factory=list)
    name: str = ""

    def known(self, fact_id: str) -> bool:
        if fact_id == RESERVED_UTTERANCES:
            return bool(self.utterances)
        return fact_id in self.facts


class ValueProblem(ValueError):
    """A value that does not fit its fact; the message says what would."""


def _number(raw: Any, f: FactDef) -> float:
    if isinstance(raw, bool):
        raise ValueProblem(f"{f.id} is a number, got a yes/no value")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        s = str(raw).strip().replace(",", "").replace("，", "").replace(" ", "")
        scale = 1.0
        for suffix, mult in (("亿", 1e8), ("万", 1e4), ("k", 1e3), ("K", 1e3), ("m", 1e6), ("M", 1e6)):
            if s.endswith(suffix):
                s, scale = s[: -len(suffix)], mult
                break
        try:
            value = float(s) * scale
        except ValueError:
            raise ValueProblem(f"{f.id} must be a number, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueProblem(f"{f.id} must be a finite number, got {raw!r}")
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        lo = "-∞" if f.min is None else f"{f.min:g}"
        hi = "∞" if f.max is None else f"{f.max:g}"
        raise ValueProblem(f"{f.id} = {value:g} is outside its range {lo}..{hi}")
    return value


def _choice(raw: Any, f: FactDef) -> str:
    s = str(raw).strip()
    if s in f.values:
        return s
    low = s.casefold()
    for v in f.values.values():
        if low in (v.id.casefold(), v.label.zh.casefold(), v.label.en.casefold()):
            return v.id
    raise ValueProblem(f"{f.id} has no value {s!r}{did_you_mean(s, f.values)}; allowed: {', '.join(f.values)}")


def coerce_value(f: FactDef, raw: Any) -> Any:
    """The catalogue value for a raw answer, None for "unknown"; raises ValueProblem."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().casefold() in UNKNOWN_WORDS:
        return None
    if f.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        s = str(raw).strip().casefold()
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
        raise ValueProblem(f"{f.id} is yes/no: write true/false, yes/no or 是/否, not {raw!r}")
    if f.type == "number":
        return _number(raw, f)
    if f.type == "enum":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(f"{f.id} takes one value, got {'a list' if isinstance(raw, list) else 'a mapping'}")
        return _choice(raw, f)
    if f.type == "text":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(f"{f.id} is free text, got {'a list' if isinstance(raw, list) else 'a mapping'}")
        return str(raw).strip()
    # list
    items = raw if isinstance(raw, list) else ([raw] if f.free_list else LIST_SPLIT.split(str(raw)))
    out: list[str] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        if isinstance(item, (list, dict)):
            raise ValueProblem(f"{f.id} is a list of values, not a nested list or mapping")
        v = _choice(item, f) if f.values else str(item).strip()
        if v not in out:
            out.append(v)
    return out or None


def profile_from_located(loc: Located | None, rb: Rulebase, file: str) -> Profile:
    """Check a parsed profile document; raise InputError with every problem."""
    problems: list[Problem] = []
    profile = Profile(name=file)
    if loc is None:
        return profile
    if not isinstance(loc.value, dict):
        raise InputError("", [Problem(loc.pos, "a profile is a mapping with `facts:` and/or `utterances:`",
                                      "profile")])
    allowed = ("facts", "utterances", "name", "notes")
    for key, val in loc.value.items():
        if key not in allowed:
            problems.append(Problem(val.key_pos or val.pos, f"unknown key {key!r}{did_you_mean(key, allowed)}; "
                                    f"a profile has {', '.join(allowed)}", "profile"))
    name = loc.value.get("name")
    if name is not None and name.value is not None:
        profile.name = str(name.value)
    facts = loc.value.get("facts")
    if facts is not None and facts.value is not None:
        if not isinstance(facts.value, dict):
            problems.append(Problem(facts.pos, "`facts` maps fact ids to values, e.g. `pace: fast`", "profile"))
        else:
            for fid, val in facts.value.items():
                f = rb.facts.get(fid)
                if f is None:
                    problems.append(Problem(val.key_pos or val.pos, f"unknown fact {fid!r}"
                                            f"{did_you_mean(fid, rb.facts)}; see `zhike facts`", "unknown-fact"))
                    continue
                try:
                    v = coerce_value(f, val.plain())
                except ValueProblem as e:
                    problems.append(Problem(val.pos, str(e), "bad-value"))
                    continue
                if v is None:
                    continue
                if fid == RESERVED_UTTERANCES:
                    profile.utterances.extend(v)
                else:
                    profile.facts[fid] = v
    utt = loc.value.get("utterances")
    if utt is not None and utt.value is not None:
        items = utt.value if isinstance(utt.value, list) else [utt]
        for item in items:
            if isinstance(item.value, (dict, list)) or item.value is None:
                problems.append(Problem(item.pos, "each utterance is a piece of text", "profile"))
            elif str(item.value).strip():
                profile.utterances.append(str(item.value).strip())
    if problems:
        raise InputError("", problems)
    return profile


def read_yaml_input(path: str | Path) -> Located | None:
    """A user's YAML or JSON file (profile, answers, session), or stdin for '-'; InputError if unusable."""
    if str(path) == "-":
        name, text = "<stdin>", sys.stdin.read()
    else:
        name = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text; save it as UTF-8") from None
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return load_text(text, name)
    except YamlError as e:
        raise InputError("", e.problems) from None


def load_profile(path: str, rb: Rulebase) -> Profile:
    """Read a YAML or JSON profile from a file, or from stdin when path is '-'."""
    return profile_from_located(read_yaml_input(path), rb, "<stdin>" if path == "-" else path)


def profile_from_dict(data: dict[str, Any], rb: Rulebase, where: str = "<profile>") -> Profile:
    """A profile from plain Python data (library use); same checks as files."""
    def wrap(v: Any) -> Located:
        pos = Pos(where, 1, 1)
        if isinstance(v, dict):
            return Located({str(k): wrap(x) for k, x in v.items()}, pos)
        if isinstance(v, list):
            return Located([wrap(x) for x in v], pos)
        return Located(v, pos)
    return profile_from_located(wrap(data), rb, where)
