"""The trainer papercuts of issue 16, each as a new user would meet it, on a copy of the bundled rulebase."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import BUNDLED, zhike

SEEDS = BUNDLED.parent.parent / "shared" / "seeds"


@pytest.fixture
def rb_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "rulebase"
    shutil.copytree(BUNDLED, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check_json(*args: str) -> tuple[int, dict]:
    r = zhike("rules", "check", *args, "--format", "json")
    return r.returncode, json.loads(r.stdout)


def test_one_indentation_slip_reports_the_root_cause_first_and_holds_back_the_knock_on(rb_copy):
    _code, before = _check_json(str(rb_copy), "--seeds", str(SEEDS))
    already = {(p["file"], p["line"], p["check"]) for p in before["problems"]}  # whatever the rulebase has today
    style = rb_copy / "typologies" / "social_style.yaml"
    _edit(style, "    then:\n      - {class: owl, weight: 0.85}", "    then:\n     - {class: owl, weight: 0.85}")
    r = zhike("rules", "check", str(rb_copy), "--seeds", str(SEEDS))
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert "[yaml-syntax]" in lines[0] and "social_style.yaml:84:" in lines[0]
    # no knock-on "unknown typology" errors or bogus unused-fact warnings: the slip is the only new finding
    _code, after = _check_json(str(rb_copy), "--seeds", str(SEEDS))
    new = [p for p in after["problems"] if (p["file"], p["line"], p["check"]) not in already]
    assert [p["check"] for p in new] == ["yaml-syntax", "knock-on"]
    note = next(x for x in lines if "[knock-on]" in x)
    held = int(note.split("note: ")[1].split()[0])
    assert held > 100  # what used to be printed, now counted in one line
    _code, doc = _check_json(str(rb_copy), "--seeds", str(SEEDS))
    assert doc["problems"][0]["check"] == "yaml-syntax" and len(doc["knock_on"]) == held
    # an independent mistake elsewhere is still reported
    _edit(rb_copy / "tests" / "objection.yaml", "cases:\n", "cases:\n  - name: x\n    expect: {nosuch_typology: a}\n")
    r = zhike("rules", "check", str(rb_copy), "--seeds", str(SEEDS))
    assert "unknown typology 'nosuch_typology'" in r.stdout


def test_a_rule_that_fails_to_load_is_still_known_to_the_test_runner(rb_copy):
    from engine.errors import RulebaseError
    from engine.trainer.casetest import load_rulebase_for_cases

    style = rb_copy / "typologies" / "social_style.yaml"
    text = style.read_text(encoding="utf-8")
    start = text.index("  - id: social_style.axes_owl")
    at = text.index('section: topk}', start)
    style.write_text(text[:at] + 'section: nosuch}' + text[at + len('section: topk}'):], encoding="utf-8")
    with pytest.raises(RulebaseError) as e:
        load_rulebase_for_cases(rb_copy)
    checks = [p.check for p in e.value.problems]
    assert "unknown-source" in checks and "unknown-rule" not in checks
    notes = [p for p in e.value.problems if p.check == "rule-load-error"]
    assert notes and all("social_style.axes_owl" in p.message and "has load errors" in p.message for p in notes)
    r = zhike("rules", "check", str(rb_copy), "--seeds", str(SEEDS))
    assert "has load errors" in r.stdout and "unknown rule 'social_style.axes_owl'" not in r.stdout


def test_a_missing_seeds_folder_is_one_note_not_a_strict_failure(tmp_path):
    clean = tmp_path / "rb"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", clean)
    code, doc = _check_json(str(clean), "--strict", "--seeds", str(tmp_path / "nowhere"))
    skipped = [p for p in doc["problems"] if p["check"] == "anchor-check-skipped"]
    assert [p["severity"] for p in skipped] == ["note"] and "--seeds" in skipped[0]["message"]
    with_seeds, doc2 = _check_json(str(clean), "--strict", "--seeds", str(Path(__file__).parent / "fixtures" / "seeds"))
    assert not [p for p in doc2["problems"] if p["check"] in ("anchor-check-skipped", "seed-missing")]
    # the missing folder changes nothing for --strict: the same exit code and warnings as with the seeds
    assert code == with_seeds and doc["summary"]["warnings"] == doc2["summary"]["warnings"]
    # mute the fixture's own warning: then --strict passes although the seeds are missing
    s = clean / "typologies" / "s.yaml"
    lines = s.read_text(encoding="utf-8").splitlines()
    warned = [p["line"] for p in doc["problems"] if p["severity"] == "warning"]
    for n in warned:
        lines[n - 1] += "  # zhike: ignore[unreachable-class] fixture"
    s.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, doc = _check_json(str(clean), "--strict", "--seeds", str(tmp_path / "nowhere"))
    assert code == 0 and doc["summary"]["warnings"] == 0
    code, doc = _check_json(str(clean), "--strict", "--seeds", str(tmp_path / "nowhere"), "--require-seeds")
    assert code == 2 and [p["severity"] for p in doc["problems"] if p["check"] == "anchor-check-skipped"] == ["error"]


def test_an_ignore_comment_silences_one_finding_on_its_line(tmp_path):
    rb = tmp_path / "rb"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", rb)
    facts = rb / "facts" / "f.yaml"
    facts.write_text(facts.read_text(encoding="utf-8") + (
        "  - id: spare\n    type: bool\n    label: {zh: 备用, en: Spare}\n"
        "    question: {zh: 备用吗?, en: Spare?}\n"), encoding="utf-8")
    seeds = ["--seeds", str(Path(__file__).parent / "fixtures" / "seeds")]
    _code, doc = _check_json(str(rb), *seeds)
    unused = [p for p in doc["problems"] if p["check"] == "unused-fact" and "spare" in p["message"]]
    assert len(unused) == 1
    line = unused[0]["line"]
    lines = facts.read_text(encoding="utf-8").splitlines()
    # an ignore for another check on that line does nothing
    lines[line - 1] += "  # zhike: ignore[duplicate-keyword] wrong id"
    facts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _code, doc = _check_json(str(rb), *seeds)
    assert any(p["check"] == "unused-fact" and "spare" in p["message"] for p in doc["problems"])
    lines[line - 1] = lines[line - 1].split("  #")[0] + "  # zhike: ignore[unused-fact] asked in the next release"
    facts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _code, doc = _check_json(str(rb), *seeds)
    assert not any(p["check"] == "unused-fact" and "spare" in p["message"] for p in doc["problems"])
    assert [(s["check"], s["line"], s["reason"]) for s in doc["suppressed"]] == [
        ("unused-fact", line, "asked in the next release")]
    assert doc["summary"]["suppressed"] == 1
    text = zhike("rules", "check", str(rb), *seeds).stdout
    assert "spare" not in text


def test_errors_cannot_be_silenced(tmp_path):
    from engine.errors import Pos, Problem
    from engine.trainer.lint.triage import Triage, apply_ignores

    f = tmp_path / "x.yaml"
    f.write_text("a: 1  # zhike: ignore[contradiction] no\nb: 2  # zhike: ignore[conflict]\n", encoding="utf-8")
    err = Problem(Pos(str(f), 1, 1), "m", "contradiction", "error")
    warn = Problem(Pos(str(f), 2, 1), "m", "conflict", "warning")
    t = apply_ignores(Triage([err, warn]))
    assert t.shown == [err] and t.suppressed == [(warn, "")]


def test_a_class_that_differs_only_in_capitals_is_named_so(bundled_rb, bundled, tmp_path):
    from engine.trainer.casetest import check_cases, run_case

    case_file = tmp_path / "t.yaml"
    case_file.write_text("cases:\n  - name: capital owl\n    given: {facts: {dominance: low, self_control: high}}\n"
                         "    expect: {social_style: Owl}\n", encoding="utf-8")
    _cases, problems = check_cases(bundled_rb, [case_file])
    assert [p.check for p in problems] == ["unknown-class"]
    assert "differs from 'owl' only in capitals" in problems[0].message
    # MAN classes: a case expecting MAN that gets MaN says the two differ only in capitals
    case_file.write_text("cases:\n  - name: man\n    given: {facts: {has_money: true, has_authority: false, "
                         "has_need: true}}\n    expect: {qualification: MAN}\n", encoding="utf-8")
    cases, problems = check_cases(bundled_rb, [case_file])
    assert problems == []
    res = run_case(bundled, cases[0])
    got = res.result.conclusions["qualification"].value
    assert got == "MaN"
    assert any("MAN and MaN differ only in capitals" in f for f in res.failures)
