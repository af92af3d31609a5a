"""Attacks with `said:` regular expressions (issue 9: item 9).

A pattern like `(a+)+$` used to pass `rules check --strict`, and one 30-character utterance then
took over a minute, in batch too. Now (a) the loader, so `rules check` and every command, refuses
patterns with nested or ambiguous repetition at their file:line:col; (b) every match runs in the
`regex` package with a time limit, and a pattern that runs out counts as not said, with a warning
in the result naming the rule: never a hang, never a crash. Utterances and patterns have a
length limit too.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, MINI, zhike

SEEDS = {"ZHIKE_SEEDS": str(FIXTURES / "seeds")}


def _rb_with_pattern(tmp_path: Path, pattern: str) -> Path:
    dst = tmp_path / "rb"
    shutil.copytree(MINI, dst)
    s = dst / "typologies" / "s.yaml"
    text = s.read_text("utf-8")
    assert "regex: ['降\\s*\\d+%']" in text
    s.write_text(text.replace("regex: ['降\\s*\\d+%']", f"regex: ['{pattern}']"), encoding="utf-8")
    return dst


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|a)+$", r"(a|aa)+$", r"(\w+\s?)+$", r"(.*a){20}",
                                     r"(x|[a-z])+$", r"(\s|[ \t])+$", r"(ab|\w)*c"])
def test_rules_check_refuses_exponential_patterns(tmp_path, pattern):
    rb = _rb_with_pattern(tmp_path, pattern)
    proc = zhike("rules", "check", "--strict", str(rb), env=SEEDS)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert re.search(r"typologies/s\.yaml:19:\d+: error: regular expression .+ is unsafe: .+ \[slow-regex\]", out), out


@pytest.mark.parametrize("pattern", [r"降\s*\d+%", r"(好不好看|外观).{0,3}(无所谓|不重要)", r"(?i)we.?re (a|the) (b|c)",
                                     r"(\d{3}-)+\d{4}", r"(ab?)+c", r"(?:[a-c]|[d-f])+", r"(哈|呵)+", r"(a++)+b",
                                     r"(?>a+)+b", r"[|]+x"])
def test_ordinary_patterns_pass(pattern):
    from engine.rules.patterns import pattern_hazard

    assert pattern_hazard(pattern) is None


def test_the_bundled_rulebase_has_no_unsafe_pattern(bundled_rb):
    from engine.rules.model import PhraseTest, walk
    from engine.rules.patterns import pattern_hazard

    patterns = {r for p in [*bundled_rb.rules, *bundled_rb.strategies] for c in walk(p.when)
                if isinstance(c, PhraseTest) for r in c.regexes}
    assert patterns and not [p for p in patterns if pattern_hazard(p)]


def test_a_pattern_that_runs_out_of_time_is_not_said_and_warned(mini_rb):
    """Bypass the static check (as a pattern it misses would) and run the engine on it."""
    from engine.reasoning.compiler import compile_rulebase
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import profile_from_dict
    from engine.rules.model import Any_, PhraseTest, walk
    from engine.rules.patterns import REGEX_TIMEOUT

    assert REGEX_TIMEOUT <= 0.5
    rb = dataclasses.replace(mini_rb, rules=list(mini_rb.rules))
    i, rule = next((i, r) for i, r in enumerate(rb.rules) if r.id == "s.budget")
    phrase = next(c for c in walk(rule.when) if isinstance(c, PhraseTest))
    slow = dataclasses.replace(phrase, keywords=(), regexes=(r"(a|a)+$",))  # fast in `re`, not in `regex`
    rb.rules[i] = dataclasses.replace(rule, when=Any_((rule.when.items[0], slow), rule.when.pos))
    with compile_rulebase(rb) as compiled:
        words = ["a" * 40 + "b", "hello"]  # one clause on which the pattern fails slowly
        result = infer(compiled, profile_from_dict({"utterances": words}, rb))
        assert "s.budget" not in result.fired
        (w,) = [w for w in result.warnings if w.rule.id == "s.budget"]
        assert "(a|a)+$" in w.text.en and "utterance 1" in w.text.en
        # the same words again (the questionnaire re-runs them): warned again, no more time spent
        again = infer(compiled, profile_from_dict({"utterances": words}, rb))
        assert [x.rule.id for x in again.warnings] == ["s.budget"]
        # words on which it finishes: it matches as before, and no warning
        ok = infer(compiled, profile_from_dict({"utterances": ["aaaa"]}, rb))
        assert "s.budget" in ok.fired and not ok.warnings


def test_too_many_timeouts_stop_trying(mini_rb):
    from engine.rules.model import PhraseTest
    from engine.rules.patterns import MAX_TIMEOUTS
    from engine.rules.yamlpos import Pos
    from engine.words.phrases import PhraseMatcher

    tests = [PhraseTest(f"r{i}#0", (), (rf"(a|a)+${i}",), Pos("f", 1, 1)) for i in range(MAX_TIMEOUTS + 3)]
    found, slow = PhraseMatcher(tests).match_checked(["a" * 40 + "!"])
    assert not found
    assert len({t.test.id for t in slow}) == len(tests)
    assert sum(t.utterance < 0 for t in slow) == 3  # not tried: the profile's time was spent


def test_long_utterances_are_refused(mini_rb):
    from engine.errors import InputError
    from engine.reasoning.profile import MAX_UTTERANCE_CHARS, profile_from_dict

    profile_from_dict({"utterances": ["x" * MAX_UTTERANCE_CHARS]}, mini_rb)
    for data in ({"utterances": ["x" * (MAX_UTTERANCE_CHARS + 1)]},
                 {"facts": {"utterances": ["y" * (MAX_UTTERANCE_CHARS + 1)]}}):
        with pytest.raises(InputError) as e:
            profile_from_dict(data, mini_rb)
        assert f"{MAX_UTTERANCE_CHARS:,}" in str(e.value)


@pytest.mark.parametrize("pattern, words", [("(" * 499 + "a" + ")" * 499, "nested too deeply"),
                                            ("a" * 1001, "at most 1,000"),
                                            ("a{99999999999}", "too large")])
def test_patterns_too_big_are_problems(tmp_path, pattern, words):
    rb = _rb_with_pattern(tmp_path, pattern)
    proc = zhike("rules", "check", str(rb), env=SEEDS)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in out and "internal error" not in out, out
    assert re.search(r"typologies/s\.yaml:19:\d+: error: .*" + re.escape(words), out), out
