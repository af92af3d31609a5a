import pytest

from engine.errors import InputError
from engine.reasoning.profile import coerce_value, load_profile, profile_from_dict


def test_coercion_accepts_labels_and_chinese_words(mini_rb):
    f = mini_rb.facts
    assert coerce_value(f["pace"], "快") == "fast"
    assert coerce_value(f["pace"], "FAST") == "fast"
    assert coerce_value(f["guard"], "是") is True and coerce_value(f["guard"], "no") is False
    assert coerce_value(f["budget"], "1.5万") == 15000.0
    assert coerce_value(f["budget"], "12,000") == 12000.0
    assert coerce_value(f["pace"], "不知道") is None


@pytest.mark.parametrize("fact,raw,needle", [("pace", "quick", "allowed: fast, slow"),
                                             ("guard", "maybe", "yes/no"),
                                             ("budget", "-5", "outside its range"),
                                             ("budget", "lots", "must be a number")])
def test_bad_values_say_what_fits(mini_rb, fact, raw, needle):
    from engine.reasoning.profile import ValueProblem

    with pytest.raises(ValueProblem, match=needle):
        coerce_value(mini_rb.facts[fact], raw)


def test_profile_errors_have_positions(mini_rb, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("facts:\n  pace: quick\n  guardd: true\nutterances: [hello]\nextra: 1\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_profile(str(p), mini_rb)
    lines = [str(x) for x in e.value.problems]
    assert lines[0].startswith(f"{p}:2:9: error: pace has no value 'quick'")
    assert "3:3" in lines[1] and 'did you mean "guard"' in lines[1]
    assert "5:1" in lines[2]


def test_utterances_from_both_places(mini_rb):
    prof = profile_from_dict({"facts": {"utterances": ["a"]}, "utterances": ["b"]}, mini_rb)
    assert prof.utterances == ["a", "b"] and prof.known("utterances")


def test_json_profile(mini_rb, tmp_path):
    p = tmp_path / "p.json"
    p.write_text('{"facts": {"pace": "fast", "budget": 200}}', encoding="utf-8")
    prof = load_profile(str(p), mini_rb)
    assert prof.facts == {"pace": "fast", "budget": 200.0}
