"""Golden cases for a rulebase (`rulebase/tests/*.yaml`), run through the real engine.

A case gives facts and/or utterances and expects classes, fired rules and
strategies. Failures name the case's file:line, expected vs got, and what
fired, so a trainer can see which rule to change. Rule coverage tells which
rules no case exercises.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .compiler import CompiledRulebase
from .errors import Problem, RulebaseError, did_you_mean
from .inference import Result, infer
from .loader import display_path
from .model import Rulebase
from .profile import profile_from_located
from .yamlpos import Located, Pos, YamlError, load_file


@dataclass
class Expectation:
    typology: str
    value: str | None
    min_confidence: float | None
    pos: Pos


@dataclass
class Case:
    name: str
    pos: Pos
    given: Located | None
    expect: list[Expectation] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    not_fired: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    case: Case
    failures: list[str]
    result: Result | None

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Report:
    results: list[CaseResult]
    rules: list[str]  # every rule and strategy id
    covered: set[str]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def uncovered(self) -> list[str]:
        return [r for r in self.rules if r not in self.covered]

    @property
    def coverage(self) -> float:
        return len(self.covered & set(self.rules)) / len(self.rules) if self.rules else 1.0


def load_cases(rb: Rulebase, paths: list[Path] | None = None) -> list[Case]:
    """Read and check every case file; raise RulebaseError with all problems."""
    if paths is None:
        paths = sorted((Path(rb.root) / "tests").glob("*.yaml"))
    problems: list[Problem] = []
    cases: list[Case] = []
    rule_ids = [r.id for r in rb.rules]
    strat_ids = [s.id for s in rb.strategies]
    for path in paths:
        try:
            doc = load_file(path, display_path(path))
        except YamlError as e:
            problems += e.problems
            continue
        if doc is None:
            continue
        if not isinstance(doc.value, dict) or "cases" not in doc.value or not isinstance(doc.value["cases"].value, list):
            problems.append(Problem(doc.pos, "a test file holds `cases:`, a list of cases", "test-format"))
            continue
        for item in doc.value["cases"].value:
            if not isinstance(item.value, dict):
                problems.append(Problem(item.pos, "a case is a mapping with name, given, expect", "test-format"))
                continue
            m = item.value
            allowed = ("name", "given", "expect", "expect_fired", "expect_not_fired", "expect_strategy", "notes")
            for k, v in m.items():
                if k not in allowed:
                    problems.append(Problem(v.key_pos or v.pos, f"unknown key {k!r}{did_you_mean(k, allowed)}",
                                            "test-format"))
            name = str(m["name"].value) if "name" in m else f"case at line {item.pos.line}"
            case = Case(name, item.pos, m.get("given"))
            exp = m.get("expect")
            if exp is not None and exp.value is not None:
                if not isinstance(exp.value, dict):
                    problems.append(Problem(exp.pos, "`expect` maps typology ids to class ids", "test-format"))
                else:
                    for tid, v in exp.value.items():
                        typ = rb.typologies.get(tid)
                        if typ is None:
                            problems.append(Problem(v.key_pos or v.pos, f"unknown typology {tid!r}"
                                                    f"{did_you_mean(tid, rb.typologies)}", "unknown-typology"))
                            continue
                        value, minc = v.value, None
                        if isinstance(value, dict):
                            minc = value["min_confidence"].value if "min_confidence" in value else None
                            value = value["value"].value if "value" in value else None
                        if value is not None and value not in typ.classes:
                            problems.append(Problem(v.pos, f"typology {tid} has no class {value!r}"
                                                    f"{did_you_mean(str(value), typ.classes)}", "unknown-class"))
                            continue
                        case.expect.append(Expectation(tid, value, minc, v.pos))
            for key, target, known in (("expect_fired", case.fired, rule_ids + strat_ids),
                                       ("expect_not_fired", case.not_fired, rule_ids + strat_ids),
                                       ("expect_strategy", case.strategies, strat_ids)):
                loc = m.get(key)
                if loc is None:
                    continue
                for x in (loc.value if isinstance(loc.value, list) else [loc]):
                    if x.value not in known:
                        problems.append(Problem(x.pos, f"unknown {'strategy' if key == 'expect_strategy' else 'rule'} "
                                                f"{x.value!r}{did_you_mean(str(x.value), known)}", "unknown-rule"))
                    else:
                        target.append(x.value)
            cases.append(case)
    if problems:
        raise RulebaseError(problems)
    return cases


def run_case(compiled: CompiledRulebase, case: Case) -> CaseResult:
    rb = compiled.rulebase
    try:
        prof = profile_from_located(case.given, rb, case.pos.file)
    except Exception as e:  # an invalid `given` is a failure of this case, reported with its position
        return CaseResult(case, [f"invalid `given`: {e}"], None)
    result = infer(compiled, prof)
    failures: list[str] = []
    for e in case.expect:
        c = result.conclusions[e.typology]
        got = f"{c.value} ({c.confidence:.2f})" if c.value else f"null ({c.reason})"
        if c.value != e.value:
            alts = ", ".join(f"{k} {v:.2f}" for k, v in c.scores[:4])
            failures.append(f"{e.typology}: expected {e.value}, got {got}" + (f"; scores: {alts}" if alts else ""))
        elif e.min_confidence is not None and c.confidence < e.min_confidence:
            failures.append(f"{e.typology}: expected confidence ≥ {e.min_confidence}, got {c.confidence:.2f}")
    for rid in case.fired:
        if rid not in result.fired:
            failures.append(f"expected rule {rid} to fire, it did not")
    for rid in case.not_fired:
        if rid in result.fired:
            failures.append(f"expected rule {rid} not to fire, it fired")
    got_strats = [s.strategy.id for s in result.strategies]
    for sid in case.strategies:
        if sid not in got_strats:
            failures.append(f"expected strategy {sid}, got {', '.join(got_strats) or 'none'}")
    return CaseResult(case, failures, result)


def run_cases(compiled: CompiledRulebase, cases: list[Case]) -> Report:
    rb = compiled.rulebase
    results = [run_case(compiled, c) for c in cases]
    covered: set[str] = set()
    for r in results:
        if r.result is not None:
            covered.update(r.result.fired)
    return Report(results, [r.id for r in rb.rules] + [s.id for s in rb.strategies], covered)
