"""The questionnaire library: relevance, ranking, stopping, answers, back/skip, sessions."""
import pytest

from conftest import BUNDLED
from engine.errors import InputError
from engine.i18n import use
from engine.interview.questionnaire import SKIP, Questionnaire, how_text, resolve_goals, why_text
from engine.reasoning.inference import infer
from engine.reasoning.profile import Profile, ValueProblem, profile_from_dict
from engine.report.render import to_json


def interview(compiled, goals, answers, **kw):
    """A rep who knows `answers` and says "don't know" to everything else; returns (questions asked, q)."""
    q = Questionnaire(compiled, goals, **kw)
    asked = []
    while (question := q.next_question()) is not None:
        asked.append(question.fact.id)
        if question.fact.id in answers:
            q.answer(question.fact.id, answers[question.fact.id])
        else:
            q.skip(question.fact.id)
    return asked, q


@pytest.fixture(autouse=True)
def english():
    """The messages these tests read are the English ones."""
    with use("en"):
        yield


@pytest.fixture(scope="module")
def bundled_now():
    """The bundled rulebase, compiled once for the module."""
    from engine.reasoning.compiler import compile_rulebase
    from engine.rules.loader import load_rulebase

    c = compile_rulebase(load_rulebase(BUNDLED))
    yield c
    c.close()


# --- relevance and ranking -------------------------------------------------------------

def test_only_questions_that_can_change_the_goal(mini_compiled):
    asked, q = interview(mini_compiled, ["social_style"], {"pace": "fast", "guard": False})
    # budget, rich and utterances only feed social_style2: never asked for social_style
    assert asked == ["pace", "guard"]
    # guard is asked although s.notguard already fired: guard=true would defeat its `not:`
    assert q.status().reason == "exhausted"
    assert q.result().conclusions["social_style"].value == "tiger"


def test_ranked_by_expected_settling_not_catalogue_order(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style"])
    first = q.next_question()
    assert first.fact.id == "pace"  # pace=fast settles tiger; guard can only weaken it
    assert {o.value for o in first.outcomes} == {"fast", "slow"}
    assert first.goals == ["social_style"] and [r.id for r in first.rules] == ["s.fast"]


def test_stops_when_goal_confident_and_asks_nothing_more(mini_compiled):
    asked, q = interview(mini_compiled, ["social_style"], {"pace": "fast", "guard": False}, confident=0.7)
    assert asked == ["pace"]
    st = q.status()
    assert st.reason == "confident" and st.settled == ["social_style"] and st.unsettled == []


def test_relevance_follows_typologies_and_derived_facts(mini_compiled):
    # social_style2 depends on social_style (t.big, s.rich_tiger) and on the derived fact rich (s.budget)
    asked, q = interview(mini_compiled, ["social_style2"], {"pace": "slow", "guard": False, "budget": 150})
    assert asked == ["utterances", "pace", "guard", "budget"]  # what the customer said comes first
    assert "rich" not in asked  # derived from the budget by s.budget: known, not asked
    assert [d.fact for d in q.result().derived] == ["rich"]


def test_derived_fact_asked_only_if_an_answer_could_change_something(mini_compiled):
    # rich is derived from the budget, and s.rich_tiger only needs it true: answering it changes nothing
    q = Questionnaire(mini_compiled, ["social_style2"])
    q.answer("budget", "200")
    seen = []
    while (question := q.next_question()) is not None:
        seen.append(question.fact.id)
        q.skip(question.fact.id)
    assert "rich" not in seen and "budget" not in seen


def test_skip_is_recorded_not_asserted_not_asked_again(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style"])
    assert q.next_question().fact.id == "pace"
    q.skip("pace")
    assert q.skipped == ["pace"] and "pace" not in q.profile().facts
    assert q.next_question().fact.id == "guard"
    q.answer("guard", "不知道")  # an "unknown" word is a skip too
    assert q.next_question() is None and q.skipped == ["pace", "guard"]


def test_back_takes_the_answer_back_and_reinfers(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style"])
    q.next_question()
    q.answer("pace", "fast")
    assert q.result().conclusions["social_style"].confidence == pytest.approx(0.72)
    assert q.back() == "pace"
    assert "pace" not in q.profile().facts and q.previous["pace"] == "fast"
    assert q.result().conclusions["social_style"].confidence == pytest.approx(0.3)
    assert q.question("pace").previous == "fast"
    q.answer("pace", "slow")
    assert q.result().conclusions["social_style"].confidence == pytest.approx(0.3)
    assert q.back() == "pace" and q.back() is None


def test_answers_use_the_profile_coercion(mini_compiled):
    q = Questionnaire(mini_compiled)
    assert q.answer("budget", "1.5万") == 15000.0
    assert q.answer("guard", "是") is True
    assert q.answer("pace", "快") == "fast"
    with pytest.raises(ValueProblem, match="outside its range"):
        q.answer("budget", "-5")
    with pytest.raises(ValueProblem, match="'quick' is not a choice"):
        q.answer("pace", "quick")
    with pytest.raises(InputError, match='did you mean "pace"'):
        q.answer("pase", "fast")


def test_unknown_goal_did_you_mean(mini_rb):
    with pytest.raises(InputError, match='did you mean one of "style", "style2"'):  # labels, not ids
        resolve_goals(mini_rb, ["social_styl"])
    assert resolve_goals(mini_rb, ["social_style2,social_style"]) == ["social_style", "social_style2"]
    assert resolve_goals(mini_rb, []) == ["social_style", "social_style2"]


def test_scripted_uses_answers_as_they_become_relevant(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style"], scripted=True)
    q.preload({"budget": 150.0, "pace": "fast", "guard": False})
    assert q.next_question() is None
    assert q.history == ["pace", "guard"]  # budget never matters for social_style: kept, not used
    assert "budget" in q.given and "budget" not in q.profile().facts


def test_scripted_same_json_as_classify(mini_compiled):
    data = {"facts": {"pace": "slow", "guard": False, "budget": 150}}
    expected = to_json(infer(mini_compiled, profile_from_dict(data, mini_compiled.rulebase)), "en")
    q = Questionnaire(mini_compiled, scripted=True, name="<profile>")
    q.preload(profile_from_dict(data, mini_compiled.rulebase).facts)
    q.next_question()
    assert sorted(q.history) == ["budget", "guard", "pace"]  # every answer was relevant
    assert to_json(q.result(), "en") == expected


def test_why_and_how_text(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style"])
    question = q.next_question()
    why = why_text(q, question, "en")
    assert "“fast” → style: tiger 72%" in why and "s.fast" not in why  # sales language: no rule ids
    assert "s.fast" in why_text(q, question, "en", debug=True)  # for trainers
    q.answer("pace", "fast")
    how = how_text(q, q.result(), "zh")
    assert "节奏 = 快" in how and "虎" in how and "s.fast" not in how and "s.notguard" not in how
    assert "s.fast" in how_text(q, q.result(), "zh", debug=True)


def test_free_text_is_simulated_with_what_rules_look_for(mini_compiled):
    q = Questionnaire(mini_compiled, ["social_style2"])
    q.answer("pace", "slow")
    q.answer("guard", False)
    q.skip("budget")
    question = q.next_question()
    assert question.fact.id == "utterances"
    assert ["预算"] in [o.value for o in question.outcomes]
    q.answer("utterances", ["我们预算有限"])
    assert q.profile().utterances == ["我们预算有限"] and "rich" in {d.fact for d in q.result().derived}


def test_skip_sentinel_is_not_an_answer(mini_compiled):
    q = Questionnaire(mini_compiled)
    q.skip("pace")
    assert q.given["pace"] is SKIP and q.answered == []


# --- save and resume ---------------------------------------------------------------------

def test_session_round_trip_yaml_and_json(tmp_path, mini_compiled):
    from engine.interview import session

    q = Questionnaire(mini_compiled, ["social_style"])
    q.answer("pace", "fast")
    q.skip("guard")
    q.answer("utterances", ["预算有限", "再说吧"])
    for name in ("s.yaml", "s.json"):
        path = tmp_path / name
        session.save(path, q, lang="en", goals=["social_style"])
        loaded = session.load(path, mini_compiled.rulebase)
        assert loaded.given == {"pace": "fast", "guard": SKIP, "utterances": ["预算有限", "再说吧"]}
        assert loaded.goals == ["social_style"] and loaded.lang == "en" and not loaded.changed and not loaded.notes
    assert (tmp_path / "s.json").read_text(encoding="utf-8").lstrip().startswith("{")
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_session_from_a_changed_rulebase_keeps_what_no_longer_applies(tmp_path, mini_compiled, mini_copy):
    from engine.interview import session
    from engine.reasoning.compiler import compile_rulebase
    from engine.rules.loader import load_rulebase

    q = Questionnaire(mini_compiled)
    q.answer("pace", "slow")
    q.answer("guard", True)
    q.answer("budget", 150)
    path = tmp_path / "s.yaml"
    session.save(path, q, lang="zh", goals=[])
    facts = mini_copy / "facts" / "f.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("- id: guard", "- id: wary")
                     .replace("{id: slow, label: {zh: 慢, en: slow}}", "{id: measured, label: {zh: 从容, en: measured}}"),
                     encoding="utf-8")
    rules = mini_copy / "typologies" / "s.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("{fact: guard,", "{fact: wary,"), encoding="utf-8")
    rb2 = load_rulebase(mini_copy)
    loaded = session.load(path, rb2)
    assert loaded.changed and loaded.given == {"budget": 150.0}
    assert set(loaded.stale) == {"pace", "guard"}
    text = "\n".join(loaded.notes)
    assert "rulebase has changed" in text and "'guard'" in text and "slow" in text
    with compile_rulebase(rb2) as c2:
        q2 = Questionnaire(c2)
        q2.preload(loaded.given)
        q2.answer("wary", False)
        session.save(path, q2, lang="zh", goals=[], stale=loaded.stale)
        again = session.load(path, rb2)
        assert again.stale == {"pace": "slow", "guard": True}  # kept in the file, never used
        assert again.given == {"budget": 150.0, "wary": False}


def test_answers_file_flat_profile_and_errors(tmp_path, mini_rb):
    from engine.interview import session

    flat = tmp_path / "a.yaml"
    flat.write_text("pace: 快\nguard: 不知道\nutterances: [太贵了]\nname: 张总\n", encoding="utf-8")
    given, name = session.load_answers(flat, mini_rb)
    assert given == {"pace": "fast", "guard": SKIP, "utterances": ["太贵了"]} and name == "张总"
    prof = tmp_path / "p.yaml"
    prof.write_text("facts: {pace: slow}\nutterances: [预算]\n", encoding="utf-8")
    assert session.load_answers(prof, mini_rb) == ({"pace": "slow", "utterances": ["预算"]}, str(prof))
    bad = tmp_path / "b.yaml"
    bad.write_text("pase: fast\nbudget: -3\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        session.load_answers(bad, mini_rb)
    assert f"{bad}:1:1: error: unknown question 'pase'" in str(e.value) and 'did you mean "pace"' in str(e.value)
    assert f'{bad}:2:9: error: "budget" = -3 is outside' in str(e.value)


# --- the bundled rulebase ------------------------------------------------------------------

def test_clear_cut_styles_need_at_most_half_the_questions(bundled_now):
    """For social_style alone, a clear-cut customer of each TOPK style is found in <= half the catalogue."""
    rb = bundled_now.rulebase
    style_facts = {f for r in rb.rules_for("social_style") for f in _refs(r)}
    counts = {}
    for style in ("tiger", "owl", "peacock", "koala"):
        answers = clear_cut_answers(bundled_now, "social_style", style)
        asked, q = interview(bundled_now, ["social_style"], answers)
        assert q.result().conclusions["social_style"].value == style, (style, asked)
        counts[style] = len(asked)
    assert all(n <= len(style_facts) / 2 for n in counts.values()), (counts, len(style_facts))
    assert all(n <= len(rb.facts) / 2 for n in counts.values())


def test_a_direct_answer_makes_its_cue_questions_irrelevant(bundled_now):
    q = Questionnaire(bundled_now, ["qualification"])
    q.answer("has_money", True)
    q.answer("has_authority", False)
    seen = []
    while (question := q.next_question()) is not None:
        seen.append(question.fact.id)
        q.skip(question.fact.id)
    # budget_status and decision_role only fill in has_money / has_authority when the rep has not answered them
    assert "budget_status" not in seen and "decision_role" not in seen
    assert "has_need" in seen


def test_golden_cases_reach_the_same_conclusions_through_the_questionnaire(bundled_now):
    """A rep who knows a golden case's facts and words, with the typologies it expects as goals, ends
    where classify ends: relevance never drops an answer that matters. The one allowed exception is a
    goal the questionnaire stopped on because it was already concluded with enough confidence."""
    from engine.rules.loader import RESERVED_UTTERANCES
    from engine.trainer.casetest import load_cases

    rb = bundled_now.rulebase
    checked = 0
    for case in load_cases(rb)[::4]:  # a quarter keeps this under ~10 s; bench/bench_ask.py runs them all
        if case.profile is None or not case.expect:
            continue
        answers = dict(case.profile.facts)
        if case.profile.utterances:
            answers[RESERVED_UTTERANCES] = case.profile.utterances
        goals = list(dict.fromkeys(e.typology for e in case.expect))
        _, q = interview(bundled_now, goals, answers)
        full = infer(bundled_now, case.profile)
        got = q.result()
        for g in goals:
            if got.conclusions[g].value != full.conclusions[g].value:
                assert q.settled(got, g), (case.name, g, got.conclusions[g].value, full.conclusions[g].value)
            checked += 1
    assert checked > 20


def test_bundled_scripted_same_json_as_classify(bundled_now):
    data = {"facts": {"objection_type": "no_money", "has_authority": True, "has_need": True}}
    rb = bundled_now.rulebase
    expected = to_json(infer(bundled_now, profile_from_dict(data, rb)), "zh")
    q = Questionnaire(bundled_now, scripted=True, name="<profile>")
    q.preload(profile_from_dict(data, rb).facts)
    q.next_question()
    assert sorted(q.history) == sorted(data["facts"])
    assert to_json(q.result(), "zh") == expected


# --- helpers shared with bench/bench_ask.py (kept here so the test stands alone) -------------

def _refs(rule):
    from engine.rules.loader import fact_refs

    return fact_refs(rule.when)


def clear_cut_answers(compiled, typology, cls):
    """For every fact the typology's rules test: the answer whose evidence favours `cls` most over the rest,
    as the real engine scores that one answer alone."""
    rb = compiled.rulebase
    table = {}
    for fid in dict.fromkeys(f for r in rb.rules_for(typology) for f in _refs(r)):
        fd = rb.facts[fid]
        options = [True, False] if fd.type == "bool" else list(fd.values) if fd.type == "enum" else []
        best, key = None, None
        for v in options:
            scores = dict(infer(compiled, Profile({fid: v})).conclusions[typology].scores)
            mine = scores.get(cls, 0.0)
            k = (mine - max([s for c, s in scores.items() if c != cls] + [0.0]), mine)
            if key is None or k > key:
                best, key = v, k
        if best is not None:
            table[fid] = best
    return table
