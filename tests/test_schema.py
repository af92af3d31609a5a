"""`zhike rules schema`: the JSON Schema of the rule files (engine/schema.py)."""
import json
from pathlib import Path

import pytest

from conftest import BUNDLED, FIXTURES, MINI, zhike
from engine.rules.schema import FILE_KINDS, kind_of, schema
from engine.rules.yamlpos import load_file


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read the messages in English (tests/test_rule_fields.py checks them in Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")

jsonschema = pytest.importorskip("jsonschema")


def _files(root: Path) -> list[Path]:
    """Rule files; corpus/floor.yaml holds the corpus runner's floors, not rules."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file() and p.parent.name != "corpus")


def _errors(path: Path, validator) -> list[str]:
    data = load_file(path).plain()
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(data)]


@pytest.fixture(scope="module")
def validator():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    jsonschema.Draft7Validator.check_schema(s)  # what VS Code's YAML extension really understands
    return jsonschema.Draft202012Validator(s)


def test_every_bundled_and_fixture_file_is_valid(validator):
    files = _files(BUNDLED) + _files(MINI)
    assert len(files) >= 10
    bad = {str(p): e for p in files if (e := _errors(p, validator))}
    assert bad == {}


def test_kinds_follow_the_folders():
    folder = {"rulebase.yaml": "rulebaseFile", "sources.yaml": "sourcesFile", "facts": "factFile",
              "typologies": "typologyFile", "tests": "testFile", "guidance": "guidanceFile",
              "lexicons": "lexiconFile", "train": "corpusFile", "heldout": "corpusFile"}
    for p in _files(BUNDLED) + _files(MINI):
        if p.parent.name == "corpus":  # corpus/floor.yaml: the corpus runner's settings, not a rule file
            continue
        key = p.name if p.parent in (BUNDLED, MINI) else p.parent.name
        assert kind_of(load_file(p).plain()) == folder[key], p
    assert set(folder.values()) == set(FILE_KINDS)


BROKEN_EDITS = {
    "rulebase.yaml": [("stages:", "stagez:")],
    "sources.yaml": [('id: "001"', "id: 1")],
    "facts/f.yaml": [("    type: enum\n", "    type: enumeration\n")],
    "typologies/s.yaml": [("weight: 0.6", "weight: 1.5"), ("{fact: pace, is: fast}", "{fact: pace, iss: fast}"),
                          ("rationale: {zh: 快, en: fast}", "rationale: {zh: 快}")],
    "typologies/t.yaml": [("then: [{class: big, weight: 0.9}]", "then: [{class: big, wieght: 0.9}]")],
}


def test_a_broken_copy_is_rejected_file_by_file(validator, mini_copy):
    for rel, edits in BROKEN_EDITS.items():
        p = mini_copy / rel
        text = p.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, (rel, old)
            text = text.replace(old, new, 1)
        p.write_text(text, encoding="utf-8")
    (mini_copy / "tests").mkdir()
    (mini_copy / "tests" / "t.yaml").write_text("cases:\n  - given: {facts: {pace: fast}}\n    expect: {}\n",
                                                encoding="utf-8")
    for p in _files(mini_copy):
        assert _errors(p, validator), f"{p} should not validate"
    errs = _errors(mini_copy / "typologies" / "s.yaml", validator)
    assert any(e.startswith("$.rules[0].then[0].weight: 1.5 is greater than") for e in errs), errs
    assert any(e.startswith("$.rules[0].when") for e in errs), errs
    assert any(e.startswith("$.rules[0].rationale: 'en' is a required property") for e in errs), errs


def test_fixture_broken_rule_without_source_is_caught(validator):
    errs = _errors(FIXTURES / "broken" / "typologies" / "s.yaml", validator)
    assert errs  # the class description without en, the rule without source


def test_cli_writes_the_schema(tmp_path):
    out = tmp_path / "zhike.schema.json"
    r = zhike("rules", "schema", "-o", str(out))
    assert r.returncode == 0 and r.stdout == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc == schema() and doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert sorted(x["then"]["$ref"] for x in doc["allOf"]) == sorted(f"#/$defs/{k}" for k in FILE_KINDS)
