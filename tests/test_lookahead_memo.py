"""What makes the web's answers cheap, checked for sameness: a look-ahead without the strategies'
rulesets concludes exactly as a full run; the look-ahead memo carried to a fresh questionnaire (as
another server process would) asks the same next question; a saved record whose question numbers
skip (words added while another question was open) resumes as it was instead of being replayed."""
from __future__ import annotations

import json
import random

from engine.interview import session as sess
from engine.interview.questionnaire import Questionnaire
from engine.reasoning.inference import infer
from engine.trainer.casetest import load_cases


def _shape(result):
    return ({t: (c.value, c.confidence, tuple(c.scores)) for t, c in result.conclusions.items()},
            sorted((d.fact, repr(d.value)) for d in result.derived))


def test_lookahead_without_advice_concludes_as_a_full_run(bundled, bundled_rb):
    cases = load_cases(bundled_rb)
    assert len(cases) > 100
    fewer = 0
    for case in cases:
        full = infer(bundled, case.profile)
        lean = infer(bundled, case.profile, missing=False, advice=False)
        assert _shape(lean) == _shape(full), case.name
        # strategies sharing a ruleset with rules still fire; the others are left out
        assert {s.strategy.id for s in lean.strategies} <= {s.strategy.id for s in full.strategies}
        fewer += len(lean.strategies) < len(full.strategies)
    assert fewer > len(cases) // 2  # the strategies really were left out


def _answer(q: Questionnaire, rng: random.Random) -> bool:
    question = q.next_question()
    if question is None:
        return False
    f = question.fact
    if f.free_list:
        q.answer(f.id, ["太贵了,再便宜点"])
    elif f.type == "bool":
        q.answer(f.id, rng.choice([True, False]))
    elif f.values:
        q.answer(f.id, rng.choice(list(f.values)) if f.type == "enum" else [rng.choice(list(f.values))])
    else:
        q.answer(f.id, rng.randint(int(f.min or 0), int(f.min or 0) + 30))
    return True


def test_memo_carried_to_a_fresh_questionnaire_asks_the_same_question_for_less(bundled):
    for seed in range(4):
        rng = random.Random(seed)
        warm = Questionnaire(bundled)
        for _ in range(6):
            if not _answer(warm, rng):
                break
        blob = warm.ranker.memo_dump()
        doc = json.loads(sess.dumps(warm, lang="zh", goals=[], json_format=True))
        carried = Questionnaire(bundled)
        sess.resume(carried, sess.load_data(doc, bundled.rulebase))
        assert carried.ranker.memo_load(blob)
        cold = Questionnaire(bundled)
        sess.resume(cold, sess.load_data(doc, bundled.rulebase))
        expected = warm.next_question()
        before = carried.ranker.simulations
        got = carried.next_question()
        assert (got and got.fact.id) == (expected and expected.fact.id), seed
        cold_before = cold.ranker.simulations
        cold.next_question()
        assert carried.ranker.simulations - before <= cold.ranker.simulations - cold_before


def test_memo_that_cannot_be_read_is_ignored(bundled):
    q = Questionnaire(bundled)
    assert not q.ranker.memo_load(b"not zlib")
    assert not q.ranker.memo_load(None)
    assert q.next_question() is not None


def test_record_with_skipped_numbers_resumes_as_it_was(bundled):
    q = Questionnaire(bundled)
    rng = random.Random(3)
    for _ in range(3):
        _answer(q, rng)
    doc = json.loads(sess.dumps(q, lang="zh", goals=[], json_format=True))
    entries = doc["interview"]
    assert [e["n"] for e in entries] == [1, 2, 3]
    entries[1]["n"] = 3  # as when words were added while question 3 was open: 2 is gone, 3 twice
    loaded = sess.load_data(doc, bundled.rulebase)
    assert [e.fact for e in loaded.log] == [e["fact"] for e in entries]
    entries[2]["n"] = 0  # but never a number below 1
    assert sess.load_data(doc, bundled.rulebase).log == []
