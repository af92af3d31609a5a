import pytest

from engine.rules.yamlpos import YamlError, load_text


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read the messages in English (tests/test_rule_fields.py checks them in Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")


def test_positions_of_keys_and_values():
    doc = load_text("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert doc.value["a"].pos.line == 1 and doc.value["a"].pos.col == 4
    assert doc.value["b"].key_pos.line == 2
    second = doc.value["b"].value[1]
    assert (second.pos.line, second.pos.col) == (4, 5)
    assert doc.plain() == {"a": 1, "b": ["x", {"c": 2}]}


def test_duplicate_keys_are_errors_with_both_lines():
    with pytest.raises(YamlError) as e:
        load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    (p,) = e.value.problems
    assert (p.pos.line, p.pos.col, p.check) == (3, 1, "duplicate-key")
    assert "first at line 1" in p.message


@pytest.mark.parametrize("doc", ["x: !!python/object:os.system ls\n", "!!python/name:os.system\n",
                                 "x: !custom 1\n", "a: !!set {x, y}\n"])
def test_tags_that_construct_objects_are_refused(doc):
    with pytest.raises(YamlError) as e:
        load_text(doc, "evil.yaml")
    assert all(p.check == "yaml-tag" for p in e.value.problems)


def test_syntax_error_has_position():
    with pytest.raises(YamlError) as e:
        load_text("a: [1, 2\nb: 3\n", "bad.yaml")
    (p,) = e.value.problems
    assert p.pos.file == "bad.yaml" and p.pos.line >= 1 and "syntax" in p.message


def test_yes_no_keys_stay_words_and_dates_stay_text():
    doc = load_text("yes: 1\nwhen: 2024-01-01\n", "f.yaml").plain()
    assert doc == {"yes": 1, "when": "2024-01-01"}
