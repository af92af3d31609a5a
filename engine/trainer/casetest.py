"""Golden cases for a rulebase (`rulebase/tests/*.yaml`), run through the real engine.

A case gives facts and/or utterances and expects classes, fired rules and
strategies. Failures name the case's file:line, expected vs got, and what
fired with its weight, so a trainer can see which rule to change. Rule
coverage tells which rules and strategies no case exercises.

Case files are checked completely before anything runs (`check_cases`): a
malformed case is a problem with a position (exit 2), never a failing case
(exit 1), so "the rulebase is wrong" and "the test is wrong" stay apart.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem, RulebaseError, did_you_mean
from ..i18n import _
from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result, infer
from ..reasoning.profile import Profile, profile_from_located
from ..rules.loader import display_path
from ..rules.model import Rule, Rulebase, SetFact, Strategy, Warn
from ..rules.yamlpos import Located, Pos, YamlError, load_file

CASE_KEYS = ("name", "given", "expect", "expect_fired", "expect_not_fired", "expect_strategy", "notes")


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
    profile: Profile | None = None


@dataclass
class CaseResult:
    case: Case
    failures: list[str]
    result: Result | None

    @property
    def ok(self) -> bool:
        return not self.failures

    def trace(self) -> list[str]:
        """What fired, in order: each rule with the classes it pushed and the weight it added."""
        if self.result is None:
            return []
        weights: dict[str, list[str]] = {}
        for c in self.result.conclusions.values():
            for b in c.because:
                weights.setdefault(b.rule.id, []).append(f"{b.cls} {b.weight:+.2f}")
        prods = {p.id: p for p in [*self.result.rulebase.rules, *self.result.rulebase.strategies]}
        out = []
        for fid in self.result.fired:
            p = prods.get(fid)
            parts = list(weights.get(fid, []))
            if isinstance(p, Rule):
                parts += [_("sets {fact} = {value}", fact=e.fact, value=_show(e.value))
                          for e in p.then if isinstance(e, SetFact)]
                parts += [_("warns") for e in p.then if isinstance(e, Warn)]
            elif isinstance(p, Strategy):
                parts.append(_("strategy"))
            out.append(f"{fid} ({', '.join(parts)})" if parts else fid)
        return out


def _show(v: object) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass
class Report:
    results: list[CaseResult]
    rules: list[str]  # every rule and strategy id
    covered: set[str]
    strategies: set[str] = field(default_factory=set)  # which of `rules` are strategies

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def uncovered(self) -> list[str]:
        return [r for r in self.rules if r not in self.covered]

    @property
    def coverage(self) -> float:
        return len(self.covered & set(self.rules)) / len(self.rules) if self.rules else 1.0


def case_files(rb: Rulebase) -> list[Path]:
    return sorted((Path(rb.root) / "tests").glob("*.yaml"))


def check_cases(rb: Rulebase, paths: list[Path] | None = None,
                declared: Iterable[str] = ()) -> tuple[list[Case], list[Problem]]:
    """Every case and every problem in the case files, without running anything.

    `declared` are ids of rules that exist in the YAML but failed to load:
    a case naming one is not reported again as an unknown rule.
    """
    if paths is None:
        paths = case_files(rb)
    problems: list[Problem] = []
    cases: list[Case] = []
    rule_ids = [r.id for r in rb.rules]
    strat_ids = [s.id for s in rb.strategies]
    declared = set(declared)
    names: dict[str, Pos] = {}

    def bad(pos: Pos, message: str, check: str = "test-format") -> None:
        problems.append(Problem(pos, message, check))

    for path in paths:
        try:
            doc = load_file(path, display_path(path))
        except YamlError as e:
            problems += e.problems
            continue
        if doc is None:
            continue
        if not isinstance(doc.value, dict) or "cases" not in doc.value or not isinstance(doc.value["cases"].value, list):
            bad(doc.pos, _("a test file holds `cases:`, a list of cases"))
            continue
        for k, v in doc.value.items():
            if k != "cases":
                bad(v.key_pos or v.pos, _("unknown key {key} in a test file; it holds only `cases:`", key=repr(k)))
        for item in doc.value["cases"].value:
            case = _case(item, rb, rule_ids, strat_ids, declared, bad, problems)
            if case is None:
                continue
            if case.name in names:
                bad(item.value["name"].pos, _("duplicate case name {name} (first at {where}); names identify cases "
                                              "in reports and -k", name=repr(case.name), where=names[case.name]))
            else:
                names[case.name] = case.pos
            cases.append(case)
    return cases, sorted(problems, key=Problem.sort_key)


def _case(item: Located, rb: Rulebase, rule_ids: list[str], strat_ids: list[str], declared: set[str],
          bad, problems: list[Problem]) -> Case | None:
    if not isinstance(item.value, dict):
        bad(item.pos, _("a case is a mapping with name, given, expect"))
        return None
    m = item.value
    for k, v in m.items():
        if k not in CASE_KEYS:
            bad(v.key_pos or v.pos, _("unknown key {key}{hint}; a case has {keys}", key=repr(k),
                                      hint=did_you_mean(k, CASE_KEYS), keys=", ".join(CASE_KEYS)))
    name_loc = m.get("name")
    if name_loc is None or not isinstance(name_loc.value, str) or not name_loc.value.strip():
        bad(name_loc.pos if name_loc else item.pos, _("a case needs a `name:` (text) that says what it checks"),
            "missing-key" if name_loc is None else "test-format")
        return None
    case = Case(name_loc.value.strip(), item.pos, m.get("given"))
    try:
        case.profile = profile_from_located(case.given, rb, item.pos.file)
        # a profile leaves an unknown fact out with a warning; in a golden case it is a typo, so an error
        problems.extend(Problem(w.pos, w.message, w.check) for w in case.profile.warnings)
    except InputError as e:
        problems.extend(e.problems or [Problem(item.pos, str(e), "test-format")])
    exp = m.get("expect")
    if exp is not None and exp.value is not None:
        if not isinstance(exp.value, dict):
            bad(exp.pos, _("`expect` maps typology ids to class ids, e.g. `objection: no_money`"))
        else:
            for tid, v in exp.value.items():
                e = _expectation(tid, v, rb, bad)
                if e is not None:
                    case.expect.append(e)
    for key in ("expect_fired", "expect_not_fired", "expect_strategy"):
        loc = m.get(key)
        if loc is None:
            continue
        known = strat_ids if key == "expect_strategy" else rule_ids + strat_ids
        target = {"expect_fired": case.fired, "expect_not_fired": case.not_fired,
                  "expect_strategy": case.strategies}[key]
        for x in (loc.value if isinstance(loc.value, list) else [loc]):
            if not isinstance(x.value, str):
                bad(x.pos, _("`{key}` lists strategy ids", key=key) if key == "expect_strategy" else
                    _("`{key}` lists rule ids", key=key))
            elif x.value in known:
                target.append(x.value)
            elif x.value in declared:
                # written in the YAML but not loaded: say so, rather than "unknown rule, did you mean…"
                problems.append(Problem(x.pos, _("{id} has load errors (shown with its file), so this case cannot "
                                                 "check it until they are fixed", id=repr(x.value)),
                                        "rule-load-error", "note"))
            else:
                hint = did_you_mean(x.value, known)
                problems.append(Problem(x.pos, _("unknown strategy {id}{hint}", id=repr(x.value), hint=hint)
                                        if key == "expect_strategy" else
                                        _("unknown rule {id}{hint}", id=repr(x.value), hint=hint), "unknown-rule"))
    if not (case.expect or case.fired or case.not_fired or case.strategies) and not any(
            k in m for k in ("expect", "expect_fired", "expect_not_fired", "expect_strategy")):
        bad(item.pos, _("case {name} expects nothing: add `expect:`, `expect_fired:`, `expect_not_fired:` or "
                        "`expect_strategy:`", name=repr(case.name)))
    return case


def _expectation(tid: str, v: Located, rb: Rulebase, bad) -> Expectation | None:
    typ = rb.typologies.get(tid)
    if typ is None:
        bad(v.key_pos or v.pos, _("unknown typology {id}{hint}", id=repr(tid), hint=did_you_mean(tid, rb.typologies)),
            "unknown-typology")
        return None
    value, minc = v.value, None
    if isinstance(value, dict):
        for k, x in value.items():
            if k not in ("value", "min_confidence"):
                bad(x.key_pos or x.pos, _("unknown key {key}{hint}; write {{value: CLASS, min_confidence: 0.5}}",
                                          key=repr(k), hint=did_you_mean(k, ("value", "min_confidence"))))
        if "min_confidence" in value:
            mc = value["min_confidence"].value
            if isinstance(mc, bool) or not isinstance(mc, (int, float)) or not 0 <= mc <= 1:
                bad(value["min_confidence"].pos, _("min_confidence is a number from 0 to 1"))
                return None
            minc = float(mc)
        value = value["value"].value if "value" in value else None
    if isinstance(value, (list, dict, bool)):
        bad(v.pos, _("expected one class id of {typology} (or null), e.g. `{typology}: {example}`", typology=tid,
                     example=next(iter(typ.classes), "x")))
        return None
    if value is not None and str(value) not in typ.classes and (real := same_but_case(str(value), typ.classes)):
        bad(v.pos, _("typology {typology} has no class {cls}: class ids are case-sensitive, and it differs from "
                     "{real} only in capitals", typology=tid, cls=repr(value), real=repr(real)), "unknown-class")
        return None
    if value is not None and str(value) not in typ.classes:
        bad(v.pos, _("typology {typology} has no class {cls}{hint}; classes are {classes}", typology=tid,
                     cls=repr(value), hint=did_you_mean(str(value), typ.classes), classes=", ".join(typ.classes)),
            "unknown-class")
        return None
    return Expectation(tid, None if value is None else str(value), minc, v.pos)


def declared_ids(root: str | Path) -> set[str]:
    """Ids of the rules and strategies written in the rule files, whether or not they loaded."""
    out: set[str] = set()
    root = Path(root)
    for path in sorted((root / "typologies").glob("*.yaml")) + sorted((root / "guidance").glob("*.yaml")):
        try:
            doc = load_file(path, display_path(path))
        except YamlError:
            continue
        if doc is None or not isinstance(doc.value, dict):
            continue
        for key in ("rules", "strategies"):
            items = doc.value.get(key)
            for item in items.value if items is not None and isinstance(items.value, list) else []:
                if isinstance(item.value, dict) and "id" in item.value:
                    out.add(str(item.value["id"].value))
    return out


def load_rulebase_for_cases(root: str | Path) -> Rulebase:
    """The rulebase the golden cases run on; on load errors, RulebaseError with the errors and, for every
    case that names a rule or strategy that failed to load, a note saying so (not "unknown rule")."""
    from ..rules.loader import check_rulebase

    rb, problems = check_rulebase(root)
    if not problems and rb is not None:
        return rb
    if rb is not None:
        _cases, case_problems = check_cases(rb, declared=declared_ids(root))
        problems = problems + [p for p in case_problems if p.check == "rule-load-error"]
    raise RulebaseError(problems)


def same_but_case(word: str, choices: Iterable[str]) -> str | None:
    """The one choice that differs from `word` only in capitals (MAN classes: MaN, Man, mAN…), or None."""
    folded = [c for c in choices if c != word and c.casefold() == word.casefold()]
    return folded[0] if len(folded) == 1 else None


def load_cases(rb: Rulebase, paths: list[Path] | None = None) -> list[Case]:
    """Read and check every case file; raise RulebaseError with all problems."""
    cases, problems = check_cases(rb, paths)
    if problems:
        raise RulebaseError(problems)
    return cases


def run_case(compiled: CompiledRulebase, case: Case) -> CaseResult:
    rb = compiled.rulebase
    prof = case.profile
    if prof is None:  # a case built by hand rather than by check_cases
        try:
            prof = profile_from_located(case.given, rb, case.pos.file)
        except InputError as e:
            return CaseResult(case, [_("invalid `given`: {error}", error=e)], None)
    result = infer(compiled, prof)
    failures: list[str] = []
    for e in case.expect:
        c = result.conclusions[e.typology]
        got = f"{c.value} ({c.confidence:.2f})" if c.value else f"null ({c.reason})"
        if c.value != e.value:
            alts = ", ".join(f"{k} {v:.2f}" for k, v in c.scores[:4])
            args = dict(typology=e.typology, expected=e.value or "null", got=got, scores=alts)
            failures.append(_("{typology}: expected {expected}, got {got}; scores: {scores}", **args) if alts else
                            _("{typology}: expected {expected}, got {got}", **args))
            if c.value and e.value and c.value.casefold() == e.value.casefold():
                failures.append(_("{expected} and {got} differ only in capitals: they are different classes",
                                  expected=e.value, got=c.value))
        elif e.min_confidence is not None and c.confidence < e.min_confidence:
            failures.append(_("{typology}: expected {expected} with confidence ≥ {min}, got {got}",
                              typology=e.typology, expected=e.value, min=format(e.min_confidence, "g"),
                              got=format(c.confidence, ".2f")))
    for rid in case.fired:
        if rid not in result.fired:
            failures.append(_("expected {id} to fire, it did not", id=rid))
    for rid in case.not_fired:
        if rid in result.fired:
            failures.append(_("expected {id} not to fire, it fired", id=rid))
    got_strats = [s.strategy.id for s in result.strategies]
    for sid in case.strategies:
        if sid not in got_strats:
            failures.append(_("expected strategy {id}, got {got}", id=sid, got=", ".join(got_strats) or _("none")))
    return CaseResult(case, failures, result)


def run_cases(compiled: CompiledRulebase, cases: list[Case]) -> Report:
    rb = compiled.rulebase
    results = [run_case(compiled, c) for c in cases]
    covered: set[str] = set()
    for r in results:
        if r.result is not None:
            covered.update(r.result.fired)
    # generated rules (a class's example sentences, a word rule's denial twin) are not written by a
    # trainer and need no case of their own: tests/test_words.py exercises how they are made
    return Report(results, [r.id for r in rb.rules if not r.generated] + [s.id for s in rb.strategies], covered,
                  {s.id for s in rb.strategies})
