"""Property-based fuzzing of the two loaders users feed: profiles and rule files (issue 9).

Over 10,000 generated documents in all: nested mappings and lists of scalars with keys drawn from
the real fact and rule vocabulary, conditions and `said:` patterns, random text and bytes, anchors,
aliases and alias bombs, deep nesting, huge numbers. The property: loading gives a result, or
raises the project's user error (InputError / RulebaseError / YamlError) whose problems all point
at a file:line:col, never any other exception, and every document is done within a time guard.
Runs in-process; marked slow (CI runs it too).
"""
from __future__ import annotations

import json
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, MINI

pytestmark = pytest.mark.slow

GUARD = 20  # seconds per document: far above any real load, far below "hangs"
PROFILE_EXAMPLES = 1100  # per profile test below (5 tests)
RULE_EXAMPLES = 1000  # per rule-file test below (5 tests)
SETTINGS = dict(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.large_base_example])


class Hung(Exception):
    pass


@contextmanager
def bounded(seconds: int = GUARD):
    """Fail the example (instead of hanging the suite) if one load takes longer than `seconds`."""
    def alarm(signum, frame):
        raise Hung(f"one document took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def assert_user_error(e: BaseException) -> None:
    """The exception is one a user gets as `file:line:col: ...` lines, exit 2."""
    from engine.errors import InputError, RulebaseError, ZhikeError
    from engine.rules.yamlpos import YamlError

    assert isinstance(e, (ZhikeError, YamlError)), f"{type(e).__name__}: {e}"
    problems = getattr(e, "problems", None)
    if isinstance(e, (RulebaseError, YamlError)) or (isinstance(e, InputError) and problems):
        assert problems, e
        for p in problems:
            assert p.pos.file and p.pos.line >= 1 and p.pos.col >= 1, p
            assert "\n" not in str(p), p
    else:
        assert str(e) and "\n" not in str(e), e


# --- what documents are made of ---------------------------------------------------------------

FACT_KEYS = ["pace", "guard", "budget", "rich", "utterances", "facts", "name", "notes"]
RULE_KEYS = ["id", "type", "label", "question", "values", "min", "max", "unit", "help", "zh", "en",
             "typology", "classes", "rules", "strategies", "when", "then", "rationale", "source", "seed",
             "section", "all", "any", "not", "fact", "said", "regex", "is", "is_not", "in", "not_in", ">=",
             "<", "between", "known", "answered", "class", "against", "weight", "set", "value", "warn",
             "for", "advice", "summary", "priority", "min_confidence", "threshold", "stages", "order",
             "name", "version", "title", "seeds", "file", "sections", "anchor", "cases", "given", "expect",
             "expect_fired", "expect_strategy", "social_style", "tiger", "owl", "opening", "<<"]
NUMBERS = st.one_of(
    st.integers(-10**6, 10**6), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(1, 5000).map(lambda n: "9" * n),  # emitted as an unquoted number below
    st.sampled_from(["0.0003万", "1.5万", "1e999", "-.inf", ".nan", "0x" + "f" * 300, "1_000", "３", "12,000",
                     "190:20:30", "0b101", "1e-999999999k", "Infinity", "9" * 30 + "亿"]),
)
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["fast", "slow", "是", "否", "yes", "unknown", "预算",
                                                         "tiger", "owl", "s.fast", "001", "topk", "TOPK"]))
PATTERNS = st.text(alphabet="ab()|+*?{}[]^$\\.,0123dws-降预算", max_size=16)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, PATTERNS)


def nested(keys: list[str], max_leaves: int = 40):
    return st.recursive(SCALARS, lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=8)), children, max_size=5)),
        max_leaves=max_leaves)


def dump(data) -> str:
    """YAML or JSON text for generated data (huge digit strings are written as bare numbers)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=True) if isinstance(data, list) else \
        yaml.safe_dump(data, allow_unicode=True, default_flow_style=None)
    return text.replace("'9999", "9999").replace("9999'", "9999")


@st.composite
def mutated(draw, base):
    """A document, then maybe cut, spliced or salted with odd characters."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        choice = draw(st.integers(0, 3))
        if choice == 0:
            text = text[:i] + draw(st.sampled_from(["\0", "\x07", "\ufffe", "&a ", "*a ", "[", "{", "- ", ":",
                                                    "\t", "\ufeff", "!!python/object:os.system ", "<<: ",
                                                    "---\n", "!!int ", "!!bool ", "? "])) + text[i:]
        elif choice == 1:
            text = text[:i]
        elif choice == 2:
            j = draw(st.integers(i, len(text)))
            text = text[:i] + text[j:]
        else:
            text = text[:i] + "\n" + " " * draw(st.integers(0, 6)) + text[i:]
    return text


@st.composite
def aliased(draw, keys):
    """Anchors and aliases, including billion-laugh bombs and aliases of unknown or enclosing anchors."""
    levels, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = [f"{draw(st.sampled_from(keys))}0: &a0 [{json.dumps(draw(TEXT), ensure_ascii=False)}]"]
    for i in range(1, levels):
        refs = [f"*a{draw(st.integers(0, i))}" for _ in range(width)]  # *a{i} is inside itself
        lines.append(f"k{i}: &a{i} [" + ", ".join(refs) + "]")
    lines.append(f"{draw(st.sampled_from(keys))}: *a{draw(st.integers(0, levels))}")
    return "\n".join(lines) + "\n"


@st.composite
def deep(draw, keys):
    depth = draw(st.integers(50, 1500))
    kind = draw(st.integers(0, 2))
    key = draw(st.sampled_from(keys))
    if kind == 0:
        return f"{key}: " + "[" * depth + "]" * depth + "\n"
    if kind == 1:
        return f"{key}: " + "{a: " * depth + "1" + "}" * depth + "\n"
    return f"{key}:\n" + "".join("  " * i + "- \n" for i in range(1, min(depth, 400))) + "\n"


def documents(keys: list[str]):
    return st.one_of(
        nested(keys).map(dump),
        mutated(nested(keys).map(dump)),
        aliased(keys),
        deep(keys),
        st.text(max_size=200),
    )


# --- the profile loader ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mini():
    from engine.reasoning.compiler import compile_rulebase
    from engine.rules.loader import load_rulebase

    rb = load_rulebase(MINI)
    with compile_rulebase(rb) as compiled:
        yield rb, compiled


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _load_profile(path: Path, mini) -> None:
    from engine.interview.session import load_answers
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import load_profile

    rb, compiled = mini
    with bounded():
        for load in (load_profile, load_answers):
            try:
                prof = load(str(path), rb) if load is load_profile else load(path, rb)
            except Exception as e:  # the property is about which exceptions get here
                assert_user_error(e)
                continue
            if load is load_profile:
                infer(compiled, prof)


PROFILE_KEYS = FACT_KEYS


@settings(max_examples=PROFILE_EXAMPLES, **SETTINGS)
@given(data=st.fixed_dictionaries({}, optional={"facts": st.dictionaries(
    st.sampled_from(FACT_KEYS), st.one_of(SCALARS, st.lists(SCALARS, max_size=4)), max_size=6),
    "utterances": st.lists(TEXT, max_size=4), "name": TEXT}))
def test_profiles_shaped_like_profiles(mini, workdir, data):
    path = workdir / "shaped.yaml"
    path.write_text(dump(data), encoding="utf-8")
    _load_profile(path, mini)


@settings(max_examples=PROFILE_EXAMPLES, **SETTINGS)
@given(text=documents(PROFILE_KEYS))
def test_profile_documents(mini, workdir, text):
    path = workdir / "doc.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load_profile(path, mini)


@settings(max_examples=PROFILE_EXAMPLES, **SETTINGS)
@given(raw=st.one_of(st.binary(max_size=300),
                     st.text(max_size=100).map(lambda t: b"\xef\xbb\xbffacts:\n  pace: " + t.encode("utf-8", "surrogatepass"))))
def test_profile_bytes(mini, workdir, raw):
    path = workdir / "bytes.yaml"
    path.write_bytes(raw)
    _load_profile(path, mini)


@settings(max_examples=PROFILE_EXAMPLES, **SETTINGS)
@given(text=mutated(st.sampled_from([p.read_text("utf-8") for p in sorted((MINI.parent.parent.parent /
                                                                            "examples").glob("*.yaml"))])))
def test_example_profiles_mutated(mini, workdir, text):
    path = workdir / "example.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load_profile(path, mini)


@settings(max_examples=PROFILE_EXAMPLES, **SETTINGS)
@given(text=mutated(nested(FACT_KEYS, 12).map(lambda d: dump({"facts": d}))))
def test_fact_values(mini, workdir, text):
    path = workdir / "facts.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load_profile(path, mini)


# --- the rule-file loader --------------------------------------------------------------------------

TARGETS = ["typologies/s.yaml", "typologies/t.yaml", "typologies/new.yaml", "facts/f.yaml", "rulebase.yaml",
           "sources.yaml", "guidance/g.yaml", "tests/t.yaml"]


@pytest.fixture(scope="module")
def rulebase_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("rb") / "rb"
    shutil.copytree(MINI, root)
    for d in ("guidance", "tests"):
        (root / d).mkdir(exist_ok=True)
    return root


def _check_rules(root: Path, target: str, text: str | bytes) -> None:
    from engine.rules.loader import check_rulebase
    from engine.trainer.casetest import check_cases
    from engine.trainer.lint import lint

    path = root / target
    before = path.read_bytes() if path.exists() else None
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        with bounded():
            try:
                rb, problems = check_rulebase(root)
                for p in problems:
                    assert p.pos.file and p.pos.line >= 1 and p.pos.col >= 1 and "\n" not in str(p), p
                findings = lint(rb, problems, FIXTURES / "seeds")
                assert all(p.pos.line >= 1 and "\n" not in str(p) for p in findings)
                if rb is not None and not problems:
                    check_cases(rb)
            except Exception as e:  # the property is about which exceptions get here
                assert_user_error(e)
    finally:
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)


def one_of_keys(keys: list[str], values, **fixed):
    """A mapping with the `fixed` entries and one entry whose key is drawn from `keys`."""
    return st.tuples(st.sampled_from(keys), values, st.fixed_dictionaries(fixed)).map(
        lambda t: {**t[2], t[0]: t[1]})


def _condition():
    leaf = st.one_of(
        one_of_keys(["is", "in", ">=", "<", "between", "known", "answered", "is_not", "not_in", "gt", "bogus"],
                    SCALARS | st.lists(SCALARS, max_size=3), fact=st.sampled_from(FACT_KEYS + ["nope"])),
        st.fixed_dictionaries({"said": st.fixed_dictionaries({}, optional={
            "zh": st.lists(TEXT, max_size=3), "en": st.lists(TEXT, max_size=3),
            "regex": st.lists(PATTERNS, max_size=3)})}),
        one_of_keys(["is", "in", "known", "min_confidence"], SCALARS | NUMBERS,
                    typology=st.sampled_from(["social_style", "social_style2", "nope"])),
        SCALARS,
    )
    return st.recursive(leaf, lambda c: st.one_of(
        one_of_keys(["all", "any"], st.lists(c, max_size=3)),
        st.fixed_dictionaries({"not": c}),
        st.lists(c, max_size=3)), max_leaves=12)


RULE = st.fixed_dictionaries(
    {"id": st.sampled_from(["r.one", "r.two", "s.fast", "bad id"]), "when": _condition(),
     "then": st.lists(st.one_of(
         one_of_keys(["class", "against"], st.sampled_from(["tiger", "owl", "x.y"]), weight=NUMBERS),
         st.fixed_dictionaries({"set": st.sampled_from(FACT_KEYS), "value": SCALARS}),
         st.fixed_dictionaries({"warn": st.fixed_dictionaries({"zh": TEXT, "en": TEXT})}), SCALARS), max_size=3),
     "rationale": st.fixed_dictionaries({"zh": TEXT, "en": TEXT}),
     "source": st.fixed_dictionaries({"seed": st.sampled_from(["001", "002"]), "section": TEXT})},
)
LABEL = st.fixed_dictionaries({"zh": TEXT, "en": TEXT}) | SCALARS
MANIFEST = st.fixed_dictionaries(
    {"name": TEXT, "version": SCALARS, "title": LABEL,
     "stages": st.lists(st.fixed_dictionaries({"id": SCALARS, "label": LABEL}), max_size=3)},
    optional={"threshold": NUMBERS, "order": st.lists(SCALARS | st.lists(SCALARS, max_size=2), max_size=3)})
SOURCES = st.fixed_dictionaries({"seeds": st.lists(st.fixed_dictionaries(
    {"id": SCALARS | st.just("001"), "file": TEXT, "title": LABEL,
     "sections": st.lists(st.fixed_dictionaries({"id": SCALARS, "title": TEXT, "anchor": TEXT}), max_size=3)}),
    max_size=2)})
STRATEGY = st.fixed_dictionaries(
    {"id": st.sampled_from(["g.one", "s.tiger.play", "bad id"]) | SCALARS,
     "advice": st.fixed_dictionaries({}, optional={"zh": TEXT, "en": TEXT, "opening": LABEL, "nope": LABEL}),
     "source": st.fixed_dictionaries({"seed": st.sampled_from(["001", "002"]), "section": TEXT})},
    optional={"for": st.sampled_from(["social_style.tiger", "tiger", "x.y"]) | st.lists(SCALARS, max_size=2),
              "when": _condition(), "summary": LABEL, "priority": NUMBERS})
TYPOLOGY_FILE = st.fixed_dictionaries({
    "typology": st.fixed_dictionaries({"id": st.sampled_from(["social_style", "fuzzed", "x"]),
                                       "label": st.fixed_dictionaries({"zh": TEXT, "en": TEXT}),
                                       "classes": st.lists(st.fixed_dictionaries(
                                           {"id": st.sampled_from(["tiger", "owl", "a", "b"]),
                                            "label": st.fixed_dictionaries({"zh": TEXT, "en": TEXT})}),
                                           max_size=3)},
                                      optional={"threshold": NUMBERS}),
    "rules": st.lists(RULE, max_size=3), "strategies": st.lists(STRATEGY, max_size=2)})
FACT_FILE = st.fixed_dictionaries({"facts": st.lists(st.fixed_dictionaries(
    {"id": st.sampled_from(FACT_KEYS + ["extra"]), "type": st.sampled_from(["enum", "bool", "number", "text", "list",
                                                                         "odd"]),
     "label": st.fixed_dictionaries({"zh": TEXT, "en": TEXT}),
     "question": st.fixed_dictionaries({"zh": TEXT, "en": TEXT})},
    optional={"min": NUMBERS, "max": NUMBERS, "values": st.lists(st.fixed_dictionaries(
        {"id": TEXT, "label": st.fixed_dictionaries({"zh": TEXT, "en": TEXT})}), max_size=3)}), max_size=6)})
GUIDANCE = st.fixed_dictionaries({"strategies": st.lists(STRATEGY, max_size=3)})
OTHER_FILES = st.one_of(FACT_FILE.map(lambda d: ("facts/f.yaml", d)),
                        MANIFEST.map(lambda d: ("rulebase.yaml", d)),
                        SOURCES.map(lambda d: ("sources.yaml", d)),
                        GUIDANCE.map(lambda d: ("guidance/g.yaml", d)))
CASES_FILE = st.fixed_dictionaries({"cases": st.lists(st.fixed_dictionaries(
    {"name": TEXT, "given": st.fixed_dictionaries({}, optional={"facts": st.dictionaries(
        st.sampled_from(FACT_KEYS), SCALARS, max_size=4), "utterances": st.lists(TEXT, max_size=3)})},
    optional={"expect": st.dictionaries(st.sampled_from(["social_style", "nope"]),
                                        SCALARS | st.fixed_dictionaries({"value": TEXT, "min_confidence": NUMBERS}),
                                        max_size=2),
              "expect_fired": st.lists(TEXT, max_size=2)}), max_size=3)})


@settings(max_examples=RULE_EXAMPLES, **SETTINGS)
@given(target=st.sampled_from(["typologies/s.yaml", "typologies/new.yaml"]), data=TYPOLOGY_FILE)
def test_typology_files_shaped_like_typology_files(rulebase_copy, target, data):
    _check_rules(rulebase_copy, target, dump(data))


@settings(max_examples=RULE_EXAMPLES, **SETTINGS)
@given(target_data=OTHER_FILES)
def test_fact_manifest_source_and_guidance_files(rulebase_copy, target_data):
    target, data = target_data
    _check_rules(rulebase_copy, target, dump(data))


@settings(max_examples=RULE_EXAMPLES, **SETTINGS)
@given(data=CASES_FILE)
def test_case_files_shaped_like_case_files(rulebase_copy, data):
    _check_rules(rulebase_copy, "tests/t.yaml", dump(data))


@settings(max_examples=RULE_EXAMPLES, **SETTINGS)
@given(target=st.sampled_from(TARGETS), text=documents(RULE_KEYS))
def test_rule_file_documents(rulebase_copy, target, text):
    _check_rules(rulebase_copy, target, text)


@settings(max_examples=RULE_EXAMPLES, **SETTINGS)
@given(target=st.sampled_from(TARGETS[:5]),
       text=mutated(st.sampled_from([p.read_text("utf-8") for p in sorted(MINI.rglob("*.yaml"))])),
       raw=st.none() | st.binary(max_size=200))
def test_rule_files_mutated(rulebase_copy, target, text, raw):
    _check_rules(rulebase_copy, target, raw if raw is not None else text)


def test_enough_documents():
    """The issue asks for at least 10,000 generated documents across the two loaders."""
    assert 5 * PROFILE_EXAMPLES + 5 * RULE_EXAMPLES >= 10_000
