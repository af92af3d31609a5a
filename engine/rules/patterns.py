"""The trainers' regular expressions (`said:` patterns): which are safe, and how they compile.

Part of the rule language: the loader refuses a pattern that could run for
minutes (`pattern_hazard`), and every command compiles patterns the same way
(`compile_pattern`, the `regex` package, so matching can be time-bounded in
`engine.words`).
"""
from __future__ import annotations

import itertools
import re
import string
from functools import lru_cache

import regex

from ..i18n import _

try:  # the standard library's own regex parser: pattern_hazard reads its parse tree
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# --- the trainers' regular expressions ----------------------------------------------------
# A `said:` pattern runs on every utterance of every profile, so one pathological pattern could
# stall a whole batch (`(a|a)+$` takes minutes on 30 characters). Two guards:
# - `zhike rules check` and every load refuse patterns whose repetition is nested or ambiguous
#   (pattern_hazard: a static check, conservative: it may refuse a pattern that happens to be safe);
# - every match runs in the `regex` package with a time limit (REGEX_TIMEOUT); a match that runs
#   out counts as "not said" and the result carries a warning naming the rule.

REGEX_TIMEOUT = 0.1  # seconds per pattern per utterance
MAX_REGEX_CHARS = 1_000  # characters of one pattern
MAX_TIMEOUTS = 10  # per profile: after this many, the remaining patterns are not tried (and a warning says so)

_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}
_CATEGORY_RX = {name: re.compile(rx) for name, rx in (
    ("CATEGORY_DIGIT", r"\d"), ("CATEGORY_NOT_DIGIT", r"\D"), ("CATEGORY_SPACE", r"\s"),
    ("CATEGORY_NOT_SPACE", r"\S"), ("CATEGORY_WORD", r"\w"), ("CATEGORY_NOT_WORD", r"\W"))}
# Characters tried when asking "can these two alternatives start with the same character?",
# besides every character the pattern names itself.
_SAMPLE = string.printable + "\u00a0\u3000é中文的是不了我你他预算价钱好，。！？０１ａ"


def pattern_problem(s: str) -> tuple[str, str] | None:
    """Why a `said:` regex cannot be used, as (message, check), or None if it can.

    It must compile in both dialects (Python's `re`, which the docs describe, and the `regex`
    package that runs it), be short, not backtrack exponentially (`pattern_hazard`) and not
    match empty text.
    """
    shown = repr(s) if len(s) <= 80 else repr(s[:77]) + "…"
    if len(s) > MAX_REGEX_CHARS:
        length, limit = format(len(s), ","), format(MAX_REGEX_CHARS, ",")
        return (_("regular expression {pattern} is {length} characters long; at most {limit}: split it into "
                  "several patterns", pattern=shown, length=length, limit=limit), "bad-regex")
    try:
        re.compile(s)  # the documented dialect (Python's re) ...
        rx = compile_pattern(s)  # ... and the engine that runs it
    except (re.error, regex.error) as e:
        if e.pos is not None:
            return (_("invalid regular expression {pattern}: {error} at position {at}", pattern=shown, error=e.msg,
                      at=e.pos), "bad-regex")
        return _("invalid regular expression {pattern}: {error}", pattern=shown, error=e.msg), "bad-regex"
    except (RecursionError, OverflowError, ValueError, MemoryError):
        return _("regular expression {pattern} is nested too deeply or too large; simplify it",
                 pattern=shown), "bad-regex"
    hazard = pattern_hazard(s)
    if hazard:
        return _("regular expression {pattern} is unsafe: {reason}", pattern=shown, reason=hazard), "slow-regex"
    try:
        empty = rx.search("", timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:  # pragma: no cover - no pattern takes that long on empty text
        empty = False
    if empty:
        return (_("regular expression {pattern} matches empty text, so it would match anything; make it require "
                  "at least one character", pattern=shown), "bad-regex")
    return None


def compile_pattern(pattern: str) -> regex.Pattern:
    """A trainer's pattern as it is matched: the `regex` package, case-insensitive."""
    return regex.compile(pattern, regex.IGNORECASE)


def pattern_hazard(pattern: str) -> str | None:
    """Why a pattern may backtrack exponentially (nested or ambiguous repetition), or None.

    Refused: a repeated group that holds another variable repetition (`(a+)+`, `(\\w+\\s?)*`,
    `(.*a){20}`), and a repeated alternation whose alternatives can start with the same character
    or match nothing (`(a|ab)+`, `(ab|\\w)*`, `(a|)+`). Possessive and atomic groups are exempt.
    """
    try:
        tree = _sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None  # the loader reports patterns that do not compile
    try:  # the same pattern with its alternations kept apart (see _unmerged)
        tree = _sre_parse.parse(_unmerged(pattern), re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError):
        pass
    try:
        return _Hazards(tree).scan(tree, False)
    except RecursionError:
        return _("it is nested too deeply to check; simplify it")


def _unmerged(pattern: str) -> str:
    """The pattern with an empty lookahead `(?=)` after every `|`.

    Python's parser turns `(x|[a-z])` into the class `[xa-z]` and `(a|ab)` into `a(?:|b)`, but the
    `regex` engine that runs the pattern backtracks over the alternatives as written; an empty lookahead
    after each `|` keeps them as written in the parse tree and changes nothing they match.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
        elif c == "[":  # a character class: its `|` is a plain character
            j = i + 1
            j += j < n and pattern[j] == "^"
            j += j < n and pattern[j] == "]"
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i:j + 1])
            i = j + 1
        else:
            out.append("|(?=)" if c == "|" else c)
            i += 1
    return "".join(out)


class _Hazards:
    def __init__(self, tree) -> None:
        chars = set(_SAMPLE)
        stack = [tree]
        while stack:  # every character the pattern names, so overlaps between literals are exact
            for op, av in stack.pop():
                if op is _sre.LITERAL or op is _sre.NOT_LITERAL:
                    chars.add(chr(av))
                elif op is _sre.RANGE:
                    chars.update((chr(av[0]), chr(av[1])))
                elif op is _sre.IN or op is getattr(_sre, "ATOMIC_GROUP", None):
                    stack.append(av)
                elif op is _sre.SUBPATTERN:
                    stack.append(av[-1])
                elif op in _REPEATS:
                    stack.append(av[2])
                elif op is _sre.BRANCH:
                    stack.extend(av[1])
                elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                    stack.append(av[1])
                elif op is _sre.GROUPREF_EXISTS:
                    stack.extend(x for x in av[1:] if x)
        self.chars = sorted(chars)

    def scan(self, items, in_repeat: bool) -> str | None:
        for op, av in items:
            found = None
            if op in _REPEATS:
                lo, hi, body = av
                many = hi == _sre.MAXREPEAT or hi >= 2
                possessive = op is getattr(_sre, "POSSESSIVE_REPEAT", None)
                if in_repeat and many and lo != hi and not possessive:
                    return _("a repeated group holds another repetition (like `(a+)+`), which can take "
                             "exponential time on some text; repeat only once (e.g. `(a+)+` → `a+`)")
                if many and not possessive:
                    found = self.ambiguous(body)
                found = found or self.scan(body, (in_repeat or many) and not possessive)
            elif op is _sre.SUBPATTERN:
                found = self.scan(av[-1], in_repeat)
            elif op is _sre.BRANCH:
                found = next((h for alt in av[1] if (h := self.scan(alt, in_repeat))), None)
            elif op is _sre.GROUPREF_EXISTS:
                found = self.scan(av[1], in_repeat) or (self.scan(av[2], in_repeat) if av[2] else None)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                found = self.scan(av[1], False)
            elif op is getattr(_sre, "ATOMIC_GROUP", None):
                found = self.scan(av, False)
            if found:
                return found
        return None

    def ambiguous(self, items) -> str | None:
        """An alternation directly in a repeated body whose choices overlap."""
        for op, av in items:
            if op is _sre.SUBPATTERN:
                found = self.ambiguous(av[-1])
            elif op is _sre.BRANCH:
                alts = [self.first(alt) for alt in av[1]]
                found = None
                if any(nullable for _tests, nullable in alts) or any(
                        self.overlap(a, b) for (a, _na), (b, _nb) in itertools.combinations(alts, 2)):
                    found = _("a repeated group has alternatives that can match the same text, or nothing "
                              "(like `(a|ab)+` or `(x|[a-z])+`), which can take exponential time on some text; "
                              "make the alternatives start differently, or use one character class")
            else:
                found = None
            if found:
                return found
        return None

    def first(self, items) -> tuple[list, bool]:
        """What the first character of a match can be (as tests), and whether a match can be empty."""
        out: list = []
        for op, av in items:
            tests, nullable = self.first_of(op, av)
            out += tests
            if not nullable:
                return out, False
        return out, True

    def first_of(self, op, av) -> tuple[list, bool]:
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY):
            return [(op, av)], False
        if op is _sre.SUBPATTERN:
            return self.first(av[-1])
        if op is getattr(_sre, "ATOMIC_GROUP", None):
            return self.first(av)
        if op in _REPEATS:
            tests, nullable = self.first(av[2])
            return tests, nullable or av[0] == 0
        if op is _sre.BRANCH:
            parts = [self.first(alt) for alt in av[1]]
            return [t for p, _n in parts for t in p], any(n for _p, n in parts)
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            return [], True
        return [(_sre.ANY, None)], True  # back references and the rest: assume anything

    def overlap(self, a: list, b: list) -> bool:
        return any(any(_holds(t, c) for t in a) and any(_holds(t, c) for t in b) for c in self.chars)


def _holds(test, ch: str) -> bool:
    op, av = test
    variants = {ch, ch.lower(), ch.upper()}  # patterns run case-insensitively
    if op is _sre.ANY:
        return True
    if op is _sre.LITERAL:
        return chr(av) in variants or chr(av).lower() == ch.lower()
    if op is _sre.NOT_LITERAL:
        return chr(av).lower() != ch.lower()
    negate = bool(av) and av[0][0] is _sre.NEGATE
    hit = False
    for iop, iav in av:
        if iop is _sre.LITERAL:
            hit = chr(iav).lower() == ch.lower()
        elif iop is _sre.RANGE:
            hit = any(iav[0] <= ord(v) <= iav[1] for v in variants)
        elif iop is _sre.CATEGORY:
            rx = _CATEGORY_RX.get(str(iav).replace("UNI_", "").replace("LOC_", ""))
            hit = rx is None or bool(rx.match(ch))
        if hit:
            break
    return hit != negate


# --- what a match can start with ------------------------------------------------------------
# What the `regex` package reads differently from the standard library's parser (which the analyses
# below read): a fuzzy constraint such as `(?:预算){e<=1}` and a POSIX class such as `[[:alpha:]]` are
# literal text to the standard library, but let `regex` match other characters. A pattern holding one
# gets no first characters and no required text: it is always tried.
_REGEX_ONLY = re.compile(r"\{[^}]*[a-zA-Z<>=][^}]*\}|\[:\^?[a-zA-Z]+:\]")
_WIDEST_RANGE = 512  # a character range wider than this is not spelt out (the pattern is then always tried)


@lru_cache(maxsize=4096)  # every compilation of a rulebase asks again for the same patterns
def first_chars(pattern: str) -> frozenset[str] | None:
    """Every character a non-empty match of `pattern` can start with, in all its cases, or None when
    that cannot be told cheaply (a category like \\d, `.`, a negated set, a back reference, a match
    that may be empty). Text holding none of them cannot match: matching skips such patterns, which
    is most of them for most utterances."""
    if _REGEX_ONLY.search(pattern):
        return None
    try:
        tree = _sre_parse.parse(pattern, re.IGNORECASE)
        chars, nullable = _firsts(list(tree))
    except (re.error, RecursionError, OverflowError, ValueError, _Unknown):
        return None
    if nullable:
        return None
    return frozenset(v for c in chars for v in case_variants(c))


def case_variants(ch: str) -> set[str]:
    """A character and what it may equal case-insensitively (both sides of a comparison are expanded,
    so that e.g. the Kelvin sign meets k, and ς meets σ through Σ)."""
    return {ch, *ch.lower(), *ch.upper(), *ch.casefold()}


class _Unknown(Exception):
    pass


def _firsts(items: list) -> tuple[set[str], bool]:
    """The first characters of a sequence of parse-tree items, and whether it can match nothing."""
    out: set[str] = set()
    for op, av in items:
        chars, nullable = _first_of(op, av)
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _first_of(op, av) -> tuple[set[str], bool]:
    if op is _sre.LITERAL:
        return {chr(av)}, False
    if op is _sre.IN:
        out: set[str] = set()
        for iop, iav in av:
            if iop is _sre.LITERAL:
                out.add(chr(iav))
            elif iop is _sre.RANGE and iav[1] - iav[0] <= _WIDEST_RANGE:
                out.update(chr(c) for c in range(iav[0], iav[1] + 1))
            else:  # NEGATE, CATEGORY, a wide range
                raise _Unknown
        return out, False
    if op is _sre.SUBPATTERN:
        return _firsts(list(av[-1]))
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return _firsts(list(av))
    if op in _REPEATS:
        if av[1] == 0:
            return set(), True
        chars, nullable = _firsts(list(av[2]))
        return chars, nullable or av[0] == 0
    if op is _sre.BRANCH:
        parts = [_firsts(list(alt)) for alt in av[1]]
        return {c for p, _n in parts for c in p}, any(n for _p, n in parts)
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return set(), True  # zero width: the match's first character comes after
    raise _Unknown  # `.`, NOT_LITERAL, back references, conditionals


# --- what a match must hold ---------------------------------------------------------------------
_MAX_FACTORS = 24  # strings in one set of required text (a set that grows past this is not kept)
_MAX_CLASS = 8  # characters of a character class spelt out as text


@lru_cache(maxsize=4096)  # as first_chars
def required_text(pattern: str) -> frozenset[str] | None:
    """Strings one of which every match of `pattern` contains, as they appear in normalised text
    (casefolded: see engine/words/normalise.py), or None when no such set is told cheaply. Text
    holding none of them cannot match: matching skips the pattern without running it (a timed
    search costs more than a few substring tests).

    Only characters whose case cannot hide them count as text: characters without case (Chinese,
    digits, marks) and ASCII letters, folded to lower case (the only other characters `regex`
    matches with an ASCII letter, İ K ſ, normalise to text holding it). Anything else — `.`, classes
    such as \\d, other cased letters, back references, a part that may match nothing — is opaque:
    it separates pieces of text and holds none."""
    if _REGEX_ONLY.search(pattern):
        return None
    try:
        tree = _sre_parse.parse(pattern, re.IGNORECASE)
        _exact, found = _seq_text(list(tree))
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    return found


_Texts = frozenset[str] | None  # a set of strings, or None: unknown / not worth keeping


def _folded(code: int) -> str | None:
    ch = chr(code)
    if ch.isascii():
        return ch.lower()
    return ch if len(case_variants(ch)) == 1 else None


def _best(a: _Texts, b: _Texts) -> _Texts:
    """The more selective of two sets of required text (longest shortest string, then fewest strings)."""
    if not b or "" in b:
        return a
    if not a:  # (never holds "": only sets without it are kept)
        return b
    shortest_a, shortest_b = min(map(len, a)), min(map(len, b))
    return b if shortest_b > shortest_a or (shortest_b == shortest_a and len(b) < len(a)) else a


def _seq_text(items: list) -> tuple[_Texts, _Texts]:
    """(every string the sequence can match, if few and known; required text of its matches)."""
    run = frozenset({""})  # the exact strings of the items since the last opaque one
    found: _Texts = None
    whole = True  # every item so far exact
    for op, av in items:
        exact, required = _item_text(op, av)
        found = _best(found, required)
        if exact is not None and len(run) * len(exact) <= _MAX_FACTORS:
            run = frozenset(a + b for a in run for b in exact)
            continue
        found = _best(found, run)
        run = exact if exact is not None and len(exact) <= _MAX_FACTORS else frozenset({""})
        whole = False
    found = _best(found, run)
    return (run if whole else None), found


def _item_text(op, av) -> tuple[_Texts, _Texts]:
    if op is _sre.LITERAL:
        ch = _folded(av)
        return (None, None) if ch is None else (frozenset({ch}), frozenset({ch}))
    if op is _sre.IN:
        chars: set[str] = set()
        for iop, iav in av:
            codes = [iav] if iop is _sre.LITERAL else (
                range(iav[0], iav[1] + 1) if iop is _sre.RANGE and iav[1] - iav[0] < _MAX_CLASS else None)
            if codes is None:  # NEGATE, CATEGORY, a wide range
                return None, None
            for code in codes:
                ch = _folded(code)
                if ch is None:
                    return None, None
                chars.add(ch)
        if not chars or len(chars) > _MAX_CLASS:
            return None, None
        return frozenset(chars), frozenset(chars)
    if op is _sre.SUBPATTERN:
        return _seq_text(list(av[-1]))
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return _seq_text(list(av))
    if op in _REPEATS:
        low, high, body = av[0], av[1], list(av[2])
        if high == 0:
            return frozenset({""}), None
        exact, required = _seq_text(body)
        if low == 0:
            return (exact | {""} if exact is not None and high == 1 else None), None
        required = _best(required, exact)
        return (exact if low == high == 1 else None), required
    if op is _sre.BRANCH:
        alternatives = [_seq_text(list(alt)) for alt in av[1]]
        exacts = [e for e, _r in alternatives]
        exact = frozenset().union(*exacts) if all(e is not None for e in exacts) else None
        each = [_best(r, e) for e, r in alternatives]
        required = frozenset().union(*each) if all(each) else None
        if required is not None and len(required) > _MAX_FACTORS:
            required = None
        return (exact if exact is not None and len(exact) <= _MAX_FACTORS else None), required
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return frozenset({""}), None  # zero width: the text on either side is one piece
    return None, None  # `.`, NOT_LITERAL, back references, conditionals: opaque
