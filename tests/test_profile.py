import pytest

from engine.errors import InputError
from engine.reasoning.profile import coerce_value, load_profile, profile_from_dict


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """These tests read zhike's messages in English (tests/test_cli_lang.py covers Chinese)."""
    monkeypatch.setenv("ZHIKE_LANG", "en")


def test_coercion_accepts_labels_and_chinese_words(mini_rb):
    f = mini_rb.facts
    assert coerce_value(f["pace"], "快") == "fast"
    assert coerce_value(f["pace"], "FAST") == "fast"
    assert coerce_value(f["guard"], "是") is True and coerce_value(f["guard"], "no") is False
    assert coerce_value(f["budget"], "1.5万") == 15000.0
    assert coerce_value(f["budget"], "12,000") == 12000.0
    assert coerce_value(f["pace"], "不知道") is None


@pytest.mark.parametrize("fact,raw,needle", [("pace", "quick", 'not a choice of "pace"; the choices are: fast, slow'),
                                             ("guard", "maybe", '"guarded" is yes or no'),
                                             ("budget", "-5", '"budget" = -5 is outside its range 0 to ∞'),
                                             ("budget", "lots", "\"budget\" takes a number, not 'lots'"),
                                             ("pace", "fas", 'did you mean "fast"')])
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
    assert len(lines) == 2  # the unknown fact `guardd` is a warning, not an error
    assert lines[0].startswith(f"{p}:2:9: error: 'quick' is not a choice of \"pace\"")
    assert "5:1" in lines[1] and "unknown key 'extra'" in lines[1]


def test_facts_may_be_named_by_label_in_either_language(mini_rb):
    prof = profile_from_dict({"facts": {"节奏": "快", "Guarded": "yes", "预算": "2万"}}, mini_rb)
    assert prof.facts == {"pace": "fast", "guard": True, "budget": 20000} and not prof.warnings


def test_an_unknown_fact_is_left_out_with_a_warning_and_did_you_mean(mini_rb, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("facts:\n  pace: fast\n  guardd: true\n  colour: red\n", encoding="utf-8")
    prof = load_profile(str(p), mini_rb)
    assert prof.facts == {"pace": "fast"}
    warnings = [str(w) for w in prof.warnings]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{p}:3:3: warning: 'guardd' names no fact, so it was left out; did you mean "
                                  '"guarded"?')
    assert "4:3" in warnings[1] and "did you mean" not in warnings[1] and "zhike facts" in warnings[1]


def test_bad_choice_in_chinese_names_labels_and_suggests(bundled_rb, monkeypatch):
    from engine.reasoning.profile import ValueProblem

    monkeypatch.setenv("ZHIKE_LANG", "zh")
    with pytest.raises(ValueProblem) as e:
        coerce_value(bundled_rb.facts["objection_type"], "嫌贵")
    label = bundled_rb.facts["objection_type"].label.zh
    assert str(e.value) == f"'嫌贵' 不是\"{label}\"的选项;你是不是指\"永远嫌贵型\"?"
    with pytest.raises(ValueProblem) as e:
        coerce_value(bundled_rb.facts["pace"], "quick")
    assert str(e.value) == "'quick' 不是\"节奏\"的选项;可选: 快、从容、慢"


def test_utterances_from_both_places(mini_rb):
    prof = profile_from_dict({"facts": {"utterances": ["a"]}, "utterances": ["b"]}, mini_rb)
    assert prof.utterances == ["a", "b"] and prof.known("utterances")


def test_json_profile(mini_rb, tmp_path):
    p = tmp_path / "p.json"
    p.write_text('{"facts": {"pace": "fast", "budget": 200}}', encoding="utf-8")
    prof = load_profile(str(p), mini_rb)
    assert prof.facts == {"pace": "fast", "budget": 200.0}
