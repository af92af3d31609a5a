import itertools
import random

import pytest

from conftest import classify
from engine.errors import InferenceError
from engine.reasoning.compiler import compile_rulebase
from engine.reasoning.inference import combine, infer
from engine.reasoning.profile import profile_from_dict
from engine.rules.loader import load_rulebase


def test_cf_combination_mycin():
    assert combine([0.6]) == pytest.approx(0.6)
    assert combine([0.6, 0.5]) == pytest.approx(0.6 + 0.5 * 0.4)
    assert combine([0.6, -0.2]) == pytest.approx((0.6 - 0.2) / (1 - 0.2))
    assert combine([-0.5, -0.5]) == pytest.approx(-0.75)
    assert combine([1.0, -1.0]) == 0.0
    assert combine([]) == 0.0


def test_cf_combination_is_order_independent_and_bounded():
    rng = random.Random(7)
    for _ in range(200):
        ws = [rng.choice([-1, 1]) * rng.uniform(0.01, 1) for _ in range(rng.randint(1, 6))]
        values = {round(combine(list(p)), 12) for p in itertools.permutations(ws)}
        assert len(values) == 1
        assert -1 <= values.pop() <= 1


def test_empty_profile_lists_every_typology(mini_compiled):
    r = classify(mini_compiled, {})
    assert set(r.conclusions) == {"social_style", "social_style2"}
    c = r.conclusions["social_style2"]
    assert c.value is None and c.reason == "insufficient evidence"
    assert "pace" in r.missing


def test_chaining_evidence_to_class_to_rule_to_strategy(mini_compiled):
    # layer 0: pace=fast -> tiger; layer 1: tiger -> big (weight scaled by tiger's confidence);
    # strategy for tiger fires only after tiger is concluded.
    r = classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}})
    tiger = r.conclusions["social_style"]
    assert (tiger.value, tiger.confidence) == ("tiger", 0.6)
    big = r.conclusions["social_style2"]
    assert big.value == "big" and big.confidence == pytest.approx(0.9 * 0.6)
    (b,) = big.because
    assert b.rule.id == "t.big"
    assert [(m.kind, m.id, m.value, m.confidence) for m in b.facts] == [("conclusion", "social_style", "tiger", 0.6)]
    assert [s.strategy.id for s in r.strategies] == ["s.tiger.play"]
    assert r.fired.index("s.fast") < r.fired.index("t.big")


def test_derived_fact_chains_and_is_explained(mini_compiled):
    r = classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}, "utterances": ["最多再降 30% 吧"]})
    assert [(d.fact, d.value, d.rule.id) for d in r.derived] == [("rich", True, "s.budget")]
    said = r.derived[0].facts[0]
    assert said.kind == "said" and said.value == "降 30%" and said.utterance == "最多再降 30% 吧"
    assert "s.rich_tiger" in r.fired
    big = r.conclusions["social_style2"]
    assert big.confidence == pytest.approx(combine([0.9 * 0.6, 0.5 * 0.6]))


def test_negation_waits_for_complete_information(mini_compiled):
    # s.notguard holds when guard is not known to be true; asserting guard=true must block it
    assert "s.notguard" in classify(mini_compiled, {"facts": {"pace": "fast"}}).fired
    assert "s.notguard" not in classify(mini_compiled, {"facts": {"pace": "fast", "guard": True}}).fired


def test_rule_counts_once_however_many_ways_it_matches(mini_compiled):
    # s.budget is an `any`: both the number and the phrase match, evidence must not double
    r = classify(mini_compiled, {"facts": {"budget": 500}, "utterances": ["降30%"]})
    assert r.fired.count("s.budget") == 1 and len(r.derived) == 1


def test_counter_evidence_and_threshold(mini_compiled):
    r = classify(mini_compiled, {})
    c = r.conclusions["social_style"]
    assert c.scores == [("tiger", 0.3), ("owl", -0.2)]
    assert c.value == "tiger"  # 0.3 reaches the default threshold 0.3


def test_action_errors_reach_the_caller_and_no_facts_are_left_behind(mini_rb, monkeypatch):
    import engine.reasoning.inference as inf

    real_fire = inf._Run.on_fire
    compiled = compile_rulebase(mini_rb)
    try:
        def boom(self, index, message):
            raise ValueError("boom")

        def facts_left() -> int:
            return sum(len(compiled.host.get_ruleset(n).get_facts(compiled.cache["sid"]))
                       for n in compiled.ruleset_names)

        # raising inside the durable_rules action: the engine swallows it into the
        # state, and infer() must raise it anyway
        monkeypatch.setattr(inf._Run, "on_fire", boom)
        with pytest.raises(InferenceError, match="boom"):
            infer(compiled, profile_from_dict({"facts": {"pace": "fast"}}, mini_rb))
        monkeypatch.setattr(inf._Run, "on_fire", real_fire)
        r = infer(compiled, profile_from_dict({"facts": {"pace": "fast", "guard": True}}, mini_rb))
        assert r.conclusions["social_style"].value == "tiger"
        assert facts_left() == 0
        # the same facts again: nothing of the previous run may linger (it would raise "already observed")
        r2 = infer(compiled, profile_from_dict({"facts": {"pace": "fast", "guard": True}}, mini_rb))
        assert r2.fired == r.fired and facts_left() == 0
    finally:
        compiled.close()


def test_many_profiles_do_not_exhaust_sids(mini_compiled):
    # durable_rules allows 1024 live sids per ruleset; each run deletes its own
    for i in range(1100):
        r = classify(mini_compiled, {"facts": {"pace": "fast" if i % 2 else "slow"}})
    assert r.conclusions["social_style"].value in ("tiger", None)


def test_several_rulebases_and_reloads_in_one_process(mini_rb):
    a = compile_rulebase(mini_rb)
    b = compile_rulebase(load_rulebase(mini_rb.root))
    try:
        for c in (a, b):
            assert classify(c, {"facts": {"pace": "fast"}}).conclusions["social_style"].value == "tiger"
    finally:
        a.close()
        b.close()
    with pytest.raises(InferenceError):
        classify(a, {})


def test_more_rules_on_one_fact_than_one_ruleset_may_hold(mini_copy):
    rules = "\n".join(f"""  - id: s.many{i}
    when: {{fact: pace, is: fast}}
    then: [{{class: owl, weight: 0.01}}]
    rationale: {{zh: 多, en: many}}
    source: {{seed: "001", section: topk}}""" for i in range(150))
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("rules:\n", "rules:\n" + rules + "\n", 1), encoding="utf-8")
    rb = load_rulebase(mini_copy)
    with compile_rulebase(rb) as c:
        assert len(c.ruleset_names) > 1
        for name in c.ruleset_names:  # durable_rules corrupts its heap past 64 rules on one fact
            assert len(c.host.get_ruleset(name).get_definition()) <= 64
        for _ in range(50):  # many runs: delete_state is where a heap corruption would show
            r = classify(c, {"facts": {"pace": "fast"}})
            assert sum(1 for f in r.fired if f.startswith("s.many")) == 150
        assert dict(r.conclusions["social_style"].scores)["owl"] == pytest.approx(combine([0.01] * 150 + [-0.2]), abs=1e-4)


def test_answered_guard_derives_only_when_the_rep_did_not_answer(mini_copy):
    rule = """  - id: s.slow_means_not_rich
    when: [{fact: rich, answered: false}, {fact: pace, is: slow}]
    then: [{set: rich, value: false}]
    rationale: {zh: 慢, en: slow}
    source: {seed: "001", section: topk}
"""
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("rules:\n", "rules:\n" + rule, 1), encoding="utf-8")
    rb = load_rulebase(mini_copy)  # `known` here would be a cycle; `answered` is not
    assert {r.id: r.level for r in rb.rules}["s.slow_means_not_rich"] == 0
    with compile_rulebase(rb) as c:
        r = classify(c, {"facts": {"pace": "slow"}})
        assert [(d.fact, d.value) for d in r.derived] == [("rich", False)]
        r = classify(c, {"facts": {"pace": "slow", "rich": True}})
        assert "s.slow_means_not_rich" not in r.fired and r.derived == []


def test_known_guard_on_a_derived_fact_is_a_cycle(mini_copy):
    rule = """  - id: s.loop
    when: {not: {fact: rich, known: true}}
    then: [{set: rich, value: false}]
    rationale: {zh: 环, en: loop}
    source: {seed: "001", section: topk}
"""
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("rules:\n", "rules:\n" + rule, 1), encoding="utf-8")
    with pytest.raises(Exception) as e:
        load_rulebase(mini_copy)
    assert [p.check for p in e.value.problems] == ["cycle"]
    assert "answered: false" in e.value.problems[0].message  # the message names the fix


def test_two_tests_on_one_fact_in_one_rule(mini_copy):
    # durable_rules never binds one fact to two aliases: the compiler must fold such tests
    rules = """  - id: s.budget_band
    when: [{fact: budget, ">=": 100}, {fact: budget, "<": 200}, {fact: budget, known: true}]
    then: [{class: owl, weight: 0.4}]
    rationale: {zh: 区间, en: band}
    source: {seed: "001", section: topk}
  - id: s.tiger_sure
    when: {all: [{typology: social_style, is: tiger}, {typology: social_style, min_confidence: 0.5, known: true}]}
    then: [{class: social_style2.big, weight: 0.2}]
    rationale: {zh: 确定, en: sure}
    source: {seed: "001", section: topk}
"""
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("rules:\n", "rules:\n" + rules, 1), encoding="utf-8")
    with compile_rulebase(load_rulebase(mini_copy)) as c:
        assert "s.budget_band" in classify(c, {"facts": {"budget": 150}}).fired
        assert "s.budget_band" not in classify(c, {"facts": {"budget": 250}}).fired
        assert "s.tiger_sure" in classify(c, {"facts": {"pace": "fast"}}).fired
        weak = classify(c, {"facts": {"guard": False}})  # tiger at 0.3 only
        assert weak.conclusions["social_style"].value == "tiger" and "s.tiger_sure" not in weak.fired


def test_in_lists_under_any(mini_copy):
    # durable_rules drops an `$or` test that is not the first member of an `$any`
    rules = """  - id: s.any_in
    when: {any: [{typology: social_style, in: [tiger, owl]}, {fact: guard, in: [true, false]}]}
    then: [{class: social_style2.big, weight: 0.2}]
    rationale: {zh: x, en: x}
    source: {seed: "001", section: topk}
  - id: s.any_in2
    when: {any: [{fact: budget, ">": 5}, {fact: pace, in: [slow, fast]}]}
    then: [{set: rich, value: false}]
    rationale: {zh: x, en: x}
    source: {seed: "001", section: topk}
"""
    p = mini_copy / "typologies" / "s.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("rules:\n", "rules:\n" + rules, 1), encoding="utf-8")
    with compile_rulebase(load_rulebase(mini_copy)) as c:
        r = classify(c, {"facts": {"guard": True}})
        assert r.conclusions["social_style"].value is None and "s.any_in" in r.fired
        assert "s.any_in2" in classify(c, {"facts": {"pace": "fast"}}).fired
        assert "s.any_in2" not in classify(c, {"facts": {"budget": 1}}).fired


def test_a_result_is_freed_without_the_garbage_collector(mini_compiled):
    # A batch classifies millions of rows: if a result (its conclusions, their lazy traces, the
    # firings) formed a reference cycle, every row's objects would wait for the cyclic garbage
    # collector, which then runs hundreds of times per thousand rows. Reading the traces too.
    import gc

    profile = {"facts": {"pace": "fast", "guard": True}, "utterances": ["最多再降 30% 吧"]}
    assert classify(mini_compiled, profile).conclusions["social_style2"].because[0].facts  # first use sets up caches
    gc.collect()
    gc.disable()
    try:
        r = classify(mini_compiled, profile)
        assert r.conclusions["social_style2"].because[0].facts  # the lazy trace, built
        assert r.derived[0].facts[0].kind == "said"
        del r
        assert gc.collect() == 0
    finally:
        gc.enable()
