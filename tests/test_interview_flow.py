"""An interview that flows: the context question first, only questions that apply, the customer's words
early, one topic at a time, goals by name, answers by part of a label, a steady estimate, a replayable record."""
import itertools
import json

import pytest

from conftest import BUNDLED
from engine.errors import InputError, Pos
from engine.i18n import use
from engine.interview import session
from engine.interview.answers import parse_answer
from engine.interview.applicability import holds
from engine.interview.progress import ProgressTracker
from engine.interview.questionnaire import SKIP, Questionnaire, resolve_goals, why_text
from engine.reasoning.inference import infer
from engine.reasoning.profile import ValueProblem
from engine.report.render import to_json
from engine.rules.model import All, Any_, FactTest, Not

P = Pos("t", 1, 1)


@pytest.fixture(autouse=True)
def english():
    with use("en"):
        yield


@pytest.fixture(scope="module")
def core():
    from engine.reasoning.compiler import compile_rulebase
    from engine.rules.loader import load_rulebase

    c = compile_rulebase(load_rulebase(BUNDLED))
    yield c
    c.close()


def run(q, answers, *, skip_topics=()):
    """Answer from `answers`, skip the rest (a whole topic at once for `skip_topics`); the facts asked."""
    asked = []
    while (question := q.next_question()) is not None:
        f = question.fact
        asked.append(f.id)
        if f.id in answers:
            q.answer(f.id, answers[f.id])
        elif f.topic in skip_topics:
            q.skip_topic(f.id)
        else:
            q.skip(f.id)
    return asked


def topic_of(rb, facts):
    return [rb.facts[f].topic for f in facts]


# --- applies_when, judged in three values -------------------------------------------------

def test_a_condition_fails_only_on_answers_never_on_what_is_unknown():
    online = FactTest("contact_channel", "is", "online_inquiry", P)
    assert holds(online, {}) is None  # not answered yet: the question still applies
    assert holds(online, {}, {"contact_channel"}) is None  # the rep does not know: still applies
    assert holds(online, {"contact_channel": "online_inquiry"}) is True
    assert holds(online, {"contact_channel": "visit"}) is False
    assert holds(Not(online, P), {"contact_channel": "visit"}) is True
    paid = FactTest("payment_status", "in", ["paid"], P)
    assert holds(Any_((online, paid), P), {"contact_channel": "visit"}) is None  # payment still open
    assert holds(Any_((online, paid), P), {"contact_channel": "visit", "payment_status": "started"}) is False
    assert holds(All((online, paid), P), {"contact_channel": "visit"}) is False  # one failing part decides
    assert holds(FactTest("contact_channel", "known", False, P), {}, {"contact_channel"}) is True
    assert holds(FactTest("contacts_so_far", "gte", 3, P), {"contacts_so_far": 5.0}) is True
    assert holds(FactTest("contacts_so_far", "between", [6, 9], P), {"contacts_so_far": 5.0}) is False
    assert holds(FactTest("needs", "is", "real", P), {"needs": ["stated", "real"]}) is True  # a list contains


def test_context_question_first_and_inquiry_questions_only_for_an_online_inquiry(core):
    rb = core.rulebase
    inquiry = {f.id for f in rb.facts.values() if f.topic == "inquiry"}
    q = Questionnaire(core, ["inquiry", "social_style"])
    first = q.next_question()
    assert first.fact.id == "contact_channel" and first.opens  # it decides which questions apply
    assert "Asked first" in why_text(q, first, "en")
    asked = run(q, {"contact_channel": "visit"})
    assert not inquiry & set(asked)  # met in person: no question about an inquiry
    assert {"pace", "small_talk"} & set(asked)  # their manner in person is asked

    q = Questionnaire(core, ["inquiry", "social_style"])
    asked = run(q, {"contact_channel": "online_inquiry"})
    assert inquiry & set(asked)
    assert not {"pace", "small_talk", "emotional_expressiveness"} & set(asked)  # never met them


def test_account_questions_only_for_a_paying_customer(core):
    rb = core.rulebase
    account = {f.id for f in rb.facts.values() if f.topic == "account"}
    assert not account & set(run(Questionnaire(core, ["account_standing"]), {"contact_channel": "phone"}))
    assert account & set(run(Questionnaire(core, ["account_standing"]), {"contact_channel": "existing_customer"}))


def test_the_customers_words_come_right_after_the_context(core):
    q = Questionnaire(core)  # the default goals
    assert q.goals == ["social_style", "customer_type", "objection", "qualification"]
    asked = run(q, {"contact_channel": "visit", "utterances": ["太贵了,别家便宜不少"]})
    assert asked[:2] == ["contact_channel", "utterances"]
    assert q.result().conclusions["objection"].value == "always_too_expensive"  # fed through the phrases at once


def test_questions_of_one_topic_come_together(core, monkeypatch):
    import engine.interview.ranking as ranking

    def switches():
        asked = run(Questionnaire(core), {"contact_channel": "visit"})
        topics = topic_of(core.rulebase, asked)
        return sum(1 for a, b in itertools.pairwise(topics) if a != b), len(set(topics))

    grouped, distinct = switches()
    monkeypatch.setattr(ranking, "STAY_IN_TOPIC", float("inf"))  # the ranking alone, topics ignored
    ungrouped, _ = switches()
    assert grouped <= distinct + 3 and grouped * 2 <= ungrouped


def test_skip_topic_leaves_out_the_rest_of_the_topic_and_back_undoes_it(core):
    rb = core.rulebase
    q = Questionnaire(core, ["social_style"])
    q.answer("contact_channel", "visit")
    q.skip("utterances")
    question = q.next_question()
    assert question.fact.topic == "style"
    others = q.skip_topic(question.fact.id)
    style = {f.id for f in rb.facts.values() if f.topic == "style"}
    assert set(others) | {question.fact.id} <= style and len(others) >= 5
    assert q.number == 4  # three questions answered; the topic's others were not asked
    assert all(q.given[f] is SKIP for f in others)
    assert q.back() == question.fact.id and not set(others) & set(q.history)  # one step back undoes all of it


def test_when_the_goals_are_done_without_an_action_the_question_that_can_give_one(core):
    q = Questionnaire(core, ["objection"])
    asked = []
    while (question := q.next_question()) is not None:
        asked.append(question)
        f = question.fact
        if f.id == "contact_channel":
            q.answer(f.id, "visit")
        elif question.for_action:
            assert q.result().next_best_action is None
            q.answer(f.id, next(iter(f.values)))
        else:
            q.skip(f.id)
    assert [x.fact.id for x in asked[:2]] == ["utterances", "objection_type"]  # the goal's own questions first
    assert asked[2].fact.id == "contact_channel" and asked[2].for_action  # then the context, as always first
    assert asked[-1].for_action and q.result().next_best_action is not None


def test_a_rep_who_does_not_know_is_not_asked_for_an_action_again(core):
    q = Questionnaire(core, ["objection"])
    asked = run(q, {})
    assert asked == ["utterances", "objection_type", "contact_channel"]  # one try, then the report


# --- goals and answers by the names a rep knows --------------------------------------------

def test_goals_by_id_label_part_of_a_label_or_all(core):
    rb = core.rulebase
    assert resolve_goals(rb, None) == ["social_style", "customer_type", "objection", "qualification"]
    assert resolve_goals(rb, ["社交风格"]) == ["social_style"]  # part of 社交风格(TOPK)
    assert resolve_goals(rb, ["Type of objection, MAN qualification"]) == ["objection", "qualification"]
    assert resolve_goals(rb, ["inquiry"]) == ["inquiry"]
    assert resolve_goals(rb, ["all"]) == resolve_goals(rb, ["全部"]) == list(rb.typologies)
    with pytest.raises(InputError, match=r"fits several goals: .*Customer type"):
        resolve_goals(rb, ["customer"])
    assert resolve_goals(rb, ["social styl"]) == ["social_style"]  # a part of the label
    with pytest.raises(InputError, match='did you mean "Social style \\(TOPK\\)"'):
        resolve_goals(rb, ["socail style"])


def test_answers_by_number_id_label_or_an_unambiguous_part_of_a_label(core):
    facts = core.rulebase.facts
    objection, basis, focus = facts["objection_type"], facts["supplier_choice_basis"], facts["choice_focus"]
    assert parse_answer(objection, "嫌贵") == "always_too_expensive"
    assert parse_answer(objection, "too expensive") == "always_too_expensive"
    assert parse_answer(objection, "7") == "always_too_expensive"
    assert parse_answer(objection, "no_time") == "no_time"
    assert parse_answer(basis, "best mix") == "best_value"
    assert parse_answer(focus, "质量, 耐用") == ["quality", "durability"]
    assert parse_answer(focus, "1 3") == ["quality", "practical_value"]
    with pytest.raises(ValueProblem, match=r"“no” fits several choices: 2\) no need, 3\) no money"):
        parse_answer(objection, "no")
    with pytest.raises(ValueProblem, match=r"“cheap” is not a choice of “Type of objection”"):
        parse_answer(objection, "cheap")
    with pytest.raises(ValueProblem, match="choose one number from 1 to 7"):
        parse_answer(objection, "9")
    with use("zh"), pytest.raises(ValueProblem, match="“没钱型”不是“拒绝类型”的选项;你是不是指"):
        parse_answer(objection, "没钱型")


# --- the estimate, the record, the session --------------------------------------------------

def test_the_estimate_moves_by_one_plus_what_an_answer_removed_or_added():
    t = ProgressTracker()
    first = t.step(1, 30, frozenset("abcdef"), set())
    assert (first.number, first.left, first.change) == (1, 30, 0)
    jumpy = t.step(2, 8, frozenset("bcdef"), {"a"})  # the ranking's own estimate fell to 8; nothing removed
    assert jumpy.left == 29 and jumpy.change == 0
    fewer = t.step(3, 5, frozenset("b"), {"b"})  # c, d, e, f no longer apply: at most 4 off beyond the one
    assert fewer.left == 24 and fewer.change == -4
    assert t.step(3, 1, frozenset(), set()).left == 24  # shown again (back, resume): the same
    t.forget_after(2)  # question 2 answered differently
    assert t.step(3, 40, frozenset("bxyz"), {"b"}).left == 31  # three new questions: at most 3 more
    again = ProgressTracker.from_json(json.loads(json.dumps(t.to_json())))
    assert again.shown == t.shown and again.step(4, 1, frozenset("b"), set()).left == 27  # x, y, z gone


def test_numbering_and_estimate_survive_back_and_resume(core, tmp_path):
    q = Questionnaire(core)
    numbers = []
    for answer in ("online_inquiry", None, "always_too_expensive"):
        question = q.next_question()
        step = q.step(question)
        numbers.append((step.number, step.left))
        if answer is None:
            q.skip(question.fact.id)
        else:
            q.answer(question.fact.id, answer)
    assert [n for n, _ in numbers] == [1, 2, 3]
    assert numbers[1][1] < numbers[0][1] - 1  # the online inquiry took the in-person questions off
    pending = q.next_question()
    shown = q.step(pending)
    assert q.back() == "objection_type"
    assert q.step(q.question("objection_type")) == q.progress.step(3, 999, frozenset(), set())  # as shown before
    q.answer("objection_type", "always_too_expensive")
    assert q.step(q.next_question()) == shown
    path = tmp_path / "s.yaml"
    session.save(path, q, lang="en", goals=[])
    q2 = Questionnaire(core)
    session.resume(q2, session.load(path, core.rulebase))
    assert q2.history == q.history and q2.number == 4
    step = q2.step(q2.next_question())
    assert (step.number, step.left) == (shown.number, shown.left)


def test_the_record_is_replayable_and_classify_reads_the_session(core, tmp_path):
    q = Questionnaire(core)
    run(q, {"contact_channel": "visit", "utterances": ["太贵了"], "objection_type": "always_too_expensive"},
        skip_topics={"style", "person", "dealings", "agenda", "money_and_decision", "needs"})
    record = session.record(q, "en")
    assert [e["n"] for e in record if e["how"] == "rep"] == list(range(1, q.number))
    assert all(e["n"] is None for e in record if e["how"] == "topic")  # left out with their topic, not asked
    assert record[0] == {**record[0], "fact": "contact_channel", "answer": "visit",
                         "answer_label": "a visit or a meeting in person",
                         "question": "How did you come into contact with this customer?"}
    path = tmp_path / "s.yaml"
    session.save(path, q, lang="en", goals=[])
    profile = session.profile_from_session(path, core.rulebase)
    assert to_json(infer(core, profile), "en")["conclusions"] == to_json(q.result(), "en")["conclusions"]
    replay = tmp_path / "a.yaml"  # the record as a file of answers gives the same result
    replay.write_text(json.dumps({e["fact"]: e.get("answer", "unknown") for e in record}), encoding="utf-8")
    given, _ = session.load_answers(replay, core.rulebase)
    q2 = Questionnaire(core, scripted=True)
    q2.preload(given)
    q2.next_question()
    assert to_json(q2.result(), "en")["conclusions"] == to_json(q.result(), "en")["conclusions"]


def test_answers_file_in_the_profile_format_with_labels_as_keys(core, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("facts:\n  节奏: 快\n  拒绝类型: 永远嫌贵型\nutterances: [太贵了]\n", encoding="utf-8")
    given, _ = session.load_answers(p, core.rulebase)
    assert given == {"pace": "fast", "objection_type": "always_too_expensive", "utterances": ["太贵了"]}


@pytest.mark.slow
def test_median_questions_to_a_next_best_action_with_the_default_goals(core):
    """bench/bench_ask.py on a quarter of the golden cases: a clear-cut rep who answers from the case,
    and skips a topic the case says nothing about, ends the default interview in <= 12 questions (median)."""
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import bench_ask

    asked = [bench_ask.interview(core, None, answers, topic_aware=True)[0]
             for _name, _goals, answers, _profile in bench_ask.golden_reps(core)[::4]]
    assert len(asked) > 90 and statistics.median(asked) <= 12
