"""Customer profiles: facts and what the customer said, checked against the catalogue.

The same coercion serves YAML/JSON profiles, questionnaire answers and batch
rows, so "是", "yes", "true" and `true` mean the same everywhere.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem, did_you_mean
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import MAX_NUMBER, NUMBER_LIMIT_TEXT, UNKNOWN_WORDS, FactDef, Rulebase, number_problem
from ..rules.yamlpos import MAX_BYTES, MAX_NODES, Located, Pos, YamlError, load_text

TRUE_WORDS = {"true", "yes", "y", "1", "是", "对", "有", "是的", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "否", "不", "无", "没有", "不是", "f"}
LIST_SPLIT = re.compile(r"[,;|、，；]\s*")
# One utterance is what a customer said in one go; a longer text is a transcript to split. Bounds the
# work of matching `said:` patterns (each pattern also runs with a time limit: see compiler.py).
MAX_UTTERANCE_CHARS = 20_000


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


# Suffixes a number may carry ("1.5万", "3k"), as exact decimal multipliers: "0.0003万" is 3, not
# 2.9999999999999996, so a rule `contacts_so_far == 3` matches it.
_MULTIPLIERS = (("亿", Decimal(10**8)), ("万", Decimal(10**4)), ("k", Decimal(10**3)), ("K", Decimal(10**3)),
                ("m", Decimal(10**6)), ("M", Decimal(10**6)))
_MAX_NUMBER_TEXT = 100  # characters of a number written as text; longer is not a number anyone means


def _exact(value: Decimal | int | float) -> int | float:
    """An int when the number is whole (3, not 3.0 or 2.9999999999999996), else a float."""
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return int(value) if value == value.to_integral_value() else float(value)


def _number(raw: Any, f: FactDef) -> int | float:
    if isinstance(raw, bool):
        raise ValueProblem(f"{f.id} is a number, got a yes/no value")
    if isinstance(raw, (int, float)):
        problem = number_problem(raw)
        if problem:
            raise ValueProblem(f"{f.id} {problem}")
        value = _exact(raw)
    else:
        s = _text(raw, f).replace(",", "").replace("，", "").replace(" ", "")
        if len(s) > _MAX_NUMBER_TEXT:
            raise ValueProblem(f"{f.id} must be a number, got {len(s):,} characters of text")
        scale = None
        for suffix, mult in _MULTIPLIERS:
            if s.endswith(suffix):
                s, scale = s[: -len(suffix)], mult
                break
        try:
            d = Decimal(s)
        except (InvalidOperation, ValueError):
            raise ValueProblem(f"{f.id} must be a number, got {_shown(raw)}") from None
        if not d.is_finite():
            raise ValueProblem(f"{f.id} must be a finite number, got {_shown(raw)}")
        if -MAX_NUMBER < d < MAX_NUMBER and scale is not None:
            with localcontext() as ctx:
                ctx.prec = 60  # exact for every number small enough to pass the check below
                d = d * scale
        if not -MAX_NUMBER < d < MAX_NUMBER:
            raise ValueProblem(f"{f.id} = {_shown(raw)} is too large: {NUMBER_LIMIT_TEXT}")
        value = _exact(d)
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        lo = "-∞" if f.min is None else f"{f.min:g}"
        hi = "∞" if f.max is None else f"{f.max:g}"
        raise ValueProblem(f"{f.id} = {value:g} is outside its range {lo}..{hi}")
    return value


def _text(raw: Any, f: FactDef) -> str:
    """str(raw), stripped; a huge integer from library callers cannot even be printed."""
    try:
        return str(raw).strip()
    except ValueError:  # Python refuses to print integers of more than 4,300 digits
        raise ValueProblem(f"{f.id}: {NUMBER_LIMIT_TEXT}") from None


def _shown(raw: Any) -> str:
    """A raw value for a message: quoted, and cut short when long."""
    try:
        text = repr(raw)
    except ValueError:
        return "a number too large to print"
    return text if len(text) <= 60 else text[:57] + "…"


def _check_utterance(text: str) -> None:
    if len(text) > MAX_UTTERANCE_CHARS:
        raise ValueProblem(f"an utterance is {len(text):,} characters long; at most {MAX_UTTERANCE_CHARS:,} "
                           "are read: split a long transcript into several utterances")


def _choice(raw: Any, f: FactDef) -> str:
    s = _text(raw, f)
    if s in f.values:
        return s
    low = s.casefold()
    for v in f.values.values():
        if low in (v.id.casefold(), v.label.zh.casefold(), v.label.en.casefold()):
            return v.id
    raise ValueProblem(f"{f.id} has no value {_shown(s)}{did_you_mean(s, f.values)}; "
                       f"allowed: {', '.join(f.values)}")


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
        s = _text(raw, f).casefold()
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
        raise ValueProblem(f"{f.id} is yes/no: write true/false, yes/no or 是/否, not {_shown(raw)}")
    if f.type == "number":
        return _number(raw, f)
    if f.type == "enum":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(f"{f.id} takes one value, got {'a list' if isinstance(raw, list) else 'a mapping'}")
        return _choice(raw, f)
    if f.type == "text":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(f"{f.id} is free text, got {'a list' if isinstance(raw, list) else 'a mapping'}")
        return _text(raw, f)
    # list
    items = raw if isinstance(raw, list) else ([raw] if f.free_list else LIST_SPLIT.split(_text(raw, f)))
    out: list[str] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        if isinstance(item, (list, dict)):
            raise ValueProblem(f"{f.id} is a list of values, not a nested list or mapping")
        v = _choice(item, f) if f.values else _text(item, f)
        if f.id == RESERVED_UTTERANCES:
            _check_utterance(v)
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
                text = str(item.value).strip()
                try:
                    _check_utterance(text)
                except ValueProblem as e:
                    problems.append(Problem(item.pos, str(e), "bad-value"))
                    continue
                profile.utterances.append(text)
    if problems:
        raise InputError("", problems)
    return profile


def _read_stdin() -> str:
    """All of stdin as text: bytes decoded as UTF-8 (a BOM is fine), whatever the locale says."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise InputError("-: standard input is closed; pipe a file in (zhike classify - < profile.yaml) "
                         "or give a file name")
    try:
        binary = getattr(stream, "buffer", None)
        data = binary.read(MAX_BYTES + 1) if binary is not None else stream.read(MAX_BYTES + 1)
    except (OSError, ValueError) as e:  # ValueError: read of a closed file
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "it cannot be read"
        raise InputError(f"-: cannot read standard input: {reason}") from None
    if isinstance(data, str):  # a text stream without bytes underneath (e.g. replaced by a caller)
        return data
    return _decode(data, "<stdin>")


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise InputError("", [Problem(Pos(name, 1, 1), f"the input is larger than {MAX_BYTES // 2**20} MB; "
                                      "a profile or answers file is far smaller", "yaml-limit")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError("", [Problem(Pos(name, line, col), "not UTF-8 text; save it as UTF-8", "encoding")]) from None


def read_yaml_input(path: str | Path) -> Located | None:
    """A user's YAML or JSON file (profile, answers, session), or stdin for '-'; InputError if unusable."""
    if str(path) == "-":
        name, text = "<stdin>", _read_stdin()
    else:
        name = str(path)
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
        text = _decode(data, name)
    try:
        return load_text(text, name)
    except YamlError as e:
        raise InputError("", e.problems) from None


def load_profile(path: str, rb: Rulebase) -> Profile:
    """Read a YAML or JSON profile from a file, or from stdin when path is '-'."""
    return profile_from_located(read_yaml_input(path), rb, "<stdin>" if path == "-" else path)


def profile_from_dict(data: dict[str, Any], rb: Rulebase, where: str = "<profile>") -> Profile:
    """A profile from plain Python data (library use); same checks as files."""
    # built without recursion: the data may nest deeply (it is checked value by value afterwards),
    # and within the same bound on values as a YAML document (data may even contain itself)
    pos = Pos(where, 1, 1)
    root = Located(None, pos)
    stack: list[tuple[Any, Located]] = [(data, root)]
    count = 0
    while stack:
        v, loc = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(f"{where}: the profile holds more than {MAX_NODES:,} values (or contains itself)")
        if isinstance(v, dict):
            loc.value = {str(k): Located(None, pos) for k in v}
            stack.extend((x, loc.value[str(k)]) for k, x in v.items())
        elif isinstance(v, list):
            loc.value = [Located(None, pos) for _ in v]
            stack.extend(zip(v, loc.value, strict=True))
        else:
            loc.value = v
    return profile_from_located(root, rb, where)
