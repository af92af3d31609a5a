"""Customer profiles: facts and what the customer said, checked against the catalogue.

The same coercion serves YAML/JSON profiles, questionnaire answers and batch
rows, so "是", "yes", "true" and `true` mean the same everywhere.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..i18n import _, current_lang, ngettext
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import MAX_NUMBER, UNKNOWN_WORDS, FactDef, Rulebase
from ..rules.yamlpos import MAX_BYTES, MAX_NODES, Located, Pos, YamlError, load_text
from ..words.labels import loose_key, suggest

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
    # The rep's own notes (a `备注` column, `rep_notes:` in a profile): only `noted:` tests read
    # them, never `said:` ones, which hear the customer's own words alone.
    rep_notes: list[str] = field(default_factory=list)
    # what was left out and why (a key that names no fact): for the user, never for the rules
    warnings: list[Problem] = field(default_factory=list, compare=False)

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


def fact_label(f: FactDef) -> str:
    """The fact as the user knows it: its label in the language of the run."""
    return f.label.get(current_lang()) or f.id


def _too_large(f: FactDef, raw: Any) -> ValueProblem:
    return ValueProblem(_('"{fact}" = {value} is too large: a number has at most 15 digits before the decimal point',
                          fact=fact_label(f), value=_shown(raw)))


def _number(raw: Any, f: FactDef) -> int | float:
    if isinstance(raw, bool):
        raise ValueProblem(_('"{fact}" takes a number, not yes or no', fact=fact_label(f)))
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and (raw != raw or raw in (float("inf"), float("-inf"))):
            raise ValueProblem(_('"{fact}" takes a finite number, not {value}', fact=fact_label(f), value=_shown(raw)))
        if not -MAX_NUMBER < raw < MAX_NUMBER:
            raise _too_large(f, raw)
        value = _exact(raw)
    else:
        s = _text(raw, f).replace(",", "").replace("，", "").replace(" ", "")
        if len(s) > _MAX_NUMBER_TEXT:
            raise ValueProblem(_('"{fact}" takes a number, not {n} characters of text', fact=fact_label(f),
                                 n=format(len(s), ",")))
        scale = None
        for suffix, mult in _MULTIPLIERS:
            if s.endswith(suffix):
                s, scale = s[: -len(suffix)], mult
                break
        try:
            d = Decimal(s)
        except (InvalidOperation, ValueError):
            raise ValueProblem(_('"{fact}" takes a number, not {value}', fact=fact_label(f), value=_shown(raw))) from None
        if not d.is_finite():
            raise ValueProblem(_('"{fact}" takes a finite number, not {value}', fact=fact_label(f), value=_shown(raw)))
        if -MAX_NUMBER < d < MAX_NUMBER and scale is not None:
            with localcontext() as ctx:
                ctx.prec = 60  # exact for every number small enough to pass the check below
                d = d * scale
        if not -MAX_NUMBER < d < MAX_NUMBER:
            raise _too_large(f, raw)
        value = _exact(d)
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        lo = "-∞" if f.min is None else format(f.min, "g")
        hi = "∞" if f.max is None else format(f.max, "g")
        raise ValueProblem(_('"{fact}" = {value} is outside its range {low} to {high}', fact=fact_label(f),
                             value=format(value, "g"), low=lo, high=hi))
    return value


def _text(raw: Any, f: FactDef) -> str:
    """str(raw), stripped; a huge integer from library callers cannot even be printed."""
    try:
        return str(raw).strip()
    except ValueError:  # Python refuses to print integers of more than 4,300 digits
        raise _too_large(f, raw) from None


def _shown(raw: Any) -> str:
    """A raw value for a message: quoted, and cut short when long."""
    try:
        text = repr(raw)
    except ValueError:
        return _("a number too large to print")
    return text if len(text) <= 60 else text[:57] + "…"


def _check_utterance(text: str) -> None:
    if len(text) > MAX_UTTERANCE_CHARS:
        raise ValueProblem(_("what the customer said is {n} characters long; at most {limit} are read: split a long "
                             "transcript into several remarks", n=format(len(text), ","), limit=format(MAX_UTTERANCE_CHARS, ",")))


def _choice(raw: Any, f: FactDef) -> str:
    s = _text(raw, f)
    if s in f.values:
        return s
    low = s.casefold()
    for v in f.values.values():
        if low in (v.id.casefold(), v.label.zh.casefold(), v.label.en.casefold()):
            return v.id
    lang = current_lang()
    labels = [v.label.get(lang) for v in f.values.values()]
    close = suggest(s, [(v.label.get(lang), (v.id, v.label.zh, v.label.en)) for v in f.values.values()])
    head = _('{value} is not a choice of "{fact}"', value=_shown(s), fact=fact_label(f))
    if close:
        raise ValueProblem(head + did_you_mean_labels(close))
    raise ValueProblem(head + _("; the choices are: {choices}", choices=_(", ").join(labels)))


def did_you_mean_key(word: Any, keys: Sequence[str]) -> str:
    """'; did you mean `x`?' for a key of a file's structure (written as it is to be typed), or ''."""
    close = suggest(word, [(k, (k,)) for k in keys], limit=1)
    return _("; did you mean `{key}`?", key=close[0]) if close else ""


def did_you_mean_labels(labels: list[str]) -> str:
    """'; did you mean "x"?' for one or more names the user knows ('' for none)."""
    if not labels:
        return ""
    quoted = _(", ").join(f'"{x}"' for x in labels)
    return ngettext("; did you mean {names}?", "; did you mean one of {names}?", len(labels), names=quoted)


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
        raise ValueProblem(_('"{fact}" is yes or no (是/否, yes/no, true/false), not {value}', fact=fact_label(f),
                             value=_shown(raw)))
    if f.type == "number":
        return _number(raw, f)
    if f.type == "enum":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(_('"{fact}" takes one answer, not a list', fact=fact_label(f)) if isinstance(raw, list)
                               else _('"{fact}" takes one answer, not a mapping', fact=fact_label(f)))
        return _choice(raw, f)
    if f.type == "text":
        if isinstance(raw, (list, dict)):
            raise ValueProblem(_('"{fact}" is free text, not a list', fact=fact_label(f)) if isinstance(raw, list)
                               else _('"{fact}" is free text, not a mapping', fact=fact_label(f)))
        return _text(raw, f)
    # list
    items = raw if isinstance(raw, list) else ([raw] if f.free_list else LIST_SPLIT.split(_text(raw, f)))
    out: list[str] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        if isinstance(item, (list, dict)):
            raise ValueProblem(_('"{fact}" is a list of answers; an answer cannot itself be a list or a mapping',
                                 fact=fact_label(f)))
        v = _choice(item, f) if f.values else _text(item, f)
        if f.id == RESERVED_UTTERANCES:
            _check_utterance(v)
        if v not in out:
            out.append(v)
    return out or None


def fact_named(rb: Rulebase, name: Any) -> FactDef | None:
    """The fact a profile key or a column header names: its id, or its zh or en label, compared loosely."""
    f = rb.facts.get(name) if isinstance(name, str) else None
    if f is not None:
        return f
    key = loose_key(name)
    hits = {f.id: f for f in rb.facts.values() if key in (loose_key(f.id), loose_key(f.label.zh), loose_key(f.label.en))}
    return next(iter(hits.values())) if len(hits) == 1 else None


def _unknown_fact(rb: Rulebase, name: Any) -> str:
    """Why a key names no fact, with the labels it probably meant."""
    lang = current_lang()
    close = suggest(name, [(f.label.get(lang), (f.id, f.label.zh, f.label.en)) for f in rb.facts.values()])
    return (_("{name} names no fact, so it was left out", name=_shown(str(name))) + did_you_mean_labels(close)
            + _("; `zhike facts` lists the names a profile may use"))


def _texts(loc: Located | None, into: list[str], problems: list[Problem], not_text: str) -> None:
    """Append the texts of `utterances:` / `rep_notes:` (one text or a list) to `into`."""
    if loc is None or loc.value is None:
        return
    for item in (loc.value if isinstance(loc.value, list) else [loc]):
        if isinstance(item.value, (dict, list)) or item.value is None:
            problems.append(Problem(item.pos, not_text, "profile"))
        elif str(item.value).strip():
            text = str(item.value).strip()
            try:
                _check_utterance(text)
            except ValueProblem as e:
                problems.append(Problem(item.pos, str(e), "bad-value"))
                continue
            into.append(text)


def profile_from_located(loc: Located | None, rb: Rulebase, file: str) -> Profile:
    """Check a parsed profile document; raise InputError with every problem.

    Facts are named by id or by label (zh or en). A key that names no fact is
    left out with a warning (`Profile.warnings`), as a batch column that names
    none is ignored: one stray key does not cost the rest of the profile.
    """
    problems: list[Problem] = []
    profile = Profile(name=file)
    if loc is None:
        return profile
    if not isinstance(loc.value, dict):
        raise InputError("", [Problem(loc.pos, _("a profile is a mapping with `facts:` and/or `utterances:`"),
                                      "profile")])
    allowed = ("facts", "utterances", "rep_notes", "name", "notes")
    for key, val in loc.value.items():
        if key not in allowed:
            problems.append(Problem(val.key_pos or val.pos, _("unknown key {key}", key=_shown(key))
                                    + did_you_mean_key(key, allowed)
                                    + _("; a profile has {keys}", keys=_(", ").join(f"`{a}`" for a in allowed)),
                                    "profile"))
    name = loc.value.get("name")
    if name is not None and name.value is not None:
        profile.name = str(name.value)
    facts = loc.value.get("facts")
    if facts is not None and facts.value is not None:
        if not isinstance(facts.value, dict):
            problems.append(Problem(facts.pos, _("`facts` maps facts to answers, e.g. `pace: fast` or `节奏: 快`"),
                                    "profile"))
        else:
            for key, val in facts.value.items():
                f = fact_named(rb, key)
                if f is None:
                    profile.warnings.append(Problem(val.key_pos or val.pos, _unknown_fact(rb, key), "unknown-fact",
                                                    "warning"))
                    continue
                try:
                    v = coerce_value(f, val.plain())
                except ValueProblem as e:
                    problems.append(Problem(val.pos, str(e), "bad-value"))
                    continue
                if v is None:
                    continue
                if f.id == RESERVED_UTTERANCES:
                    profile.utterances.extend(v)
                elif f.type == "list" and f.id in profile.facts:  # the same list fact by id and by label
                    profile.facts[f.id] = profile.facts[f.id] + [x for x in v if x not in profile.facts[f.id]]
                else:
                    profile.facts[f.id] = v
    _texts(loc.value.get("utterances"), profile.utterances, problems,
           _("each remark of the customer is a piece of text"))
    _texts(loc.value.get("rep_notes"), profile.rep_notes, problems, _("each note of the rep is a piece of text"))
    if problems:
        raise InputError("", problems)
    return profile


def _read_stdin() -> str:
    """All of stdin as text: bytes decoded as UTF-8 (a BOM is fine), whatever the locale says."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise InputError(_("-: standard input is closed; pipe a file in (zhike classify - < profile.yaml) "
                           "or give a file name"))
    try:
        binary = getattr(stream, "buffer", None)
        data = binary.read(MAX_BYTES + 1) if binary is not None else stream.read(MAX_BYTES + 1)
    except (OSError, ValueError) as e:  # ValueError: read of a closed file
        reason = e.strerror if isinstance(e, OSError) and e.strerror else _("it cannot be read")
        raise InputError(_("-: cannot read standard input: {reason}", reason=reason)) from None
    if isinstance(data, str):  # a text stream without bytes underneath (e.g. replaced by a caller)
        return data
    return _decode(data, "<stdin>")


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise InputError("", [Problem(Pos(name, 1, 1), _("the input is larger than {size} MB; a profile or answers "
                                                         "file is far smaller", size=MAX_BYTES // 2**20), "yaml-limit")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError("", [Problem(Pos(name, line, col), _("not UTF-8 text; save it as UTF-8"), "encoding")]) \
            from None


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
            raise InputError(_("{path}: no such file", path=path)) from None
        except IsADirectoryError:
            raise InputError(_("{path}: is a folder, not a file", path=path)) from None
        except PermissionError:
            raise InputError(_("{path}: no permission to read it", path=path)) from None
        except OSError as e:
            raise InputError(_("{path}: cannot read it: {reason}", path=path, reason=e.strerror)) from None
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
            raise InputError(_("{where}: the profile holds more than {limit} values (or contains itself)",
                               where=where, limit=format(MAX_NODES, ",")))
        if isinstance(v, dict):
            loc.value = {str(k): Located(None, pos) for k in v}
            stack.extend((x, loc.value[str(k)]) for k, x in v.items())
        elif isinstance(v, list):
            loc.value = [Located(None, pos) for _ in v]
            stack.extend(zip(v, loc.value, strict=True))
        else:
            loc.value = v
    return profile_from_located(root, rb, where)
