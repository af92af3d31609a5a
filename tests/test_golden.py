"""The bundled rulebase's golden cases (rulebase/tests/*.yaml), one pytest item per case,
and the bundled rulebase passes `zhike rules check` without errors."""
import pytest

from conftest import BUNDLED


def _cases():
    """Parameters for every bundled case; one failing parameter when the cases cannot be read."""
    from engine.errors import RulebaseError
    from engine.rules.loader import load_rulebase
    from engine.trainer.casetest import load_cases

    try:
        cases = load_cases(load_rulebase(BUNDLED))
    except RulebaseError as e:
        return [pytest.param(None, str(e), id="rulebase-and-cases-load")]
    return [pytest.param(c, None, id=c.name) for c in cases]


@pytest.mark.parametrize("case,problems", _cases())
def test_golden_case(bundled, case, problems):
    from engine.trainer.casetest import run_case

    assert case is not None, f"the bundled rulebase or its cases do not load:\n{problems}"
    r = run_case(bundled, case)
    where = f"{case.pos.file}:{case.pos.line}"
    assert r.ok, f"{where} {case.name}\n  " + "\n  ".join(r.failures) + "\n  fired: " + ", ".join(r.trace())


def test_bundled_rulebase_is_check_clean():
    from engine.rules.loader import check_rulebase
    from engine.trainer.lint import lint

    rb, problems = check_rulebase(BUNDLED)
    errors = [p for p in problems + lint(rb, problems) if p.severity == "error"]
    assert errors == [], "\n".join(str(p) for p in errors)


# --- the qualify-first fallback (guidance.qualify_first) --------------------------------------

def test_the_qualify_first_fallback_has_the_lowest_priority_of_all_one_line_actions(bundled_rb):
    """Any strategy with a summary outranks the fallback, so it is the next best action only when
    nothing specific applies."""
    [fallback] = [s for s in bundled_rb.strategies if s.id == "guidance.qualify_first"]
    others = [s.priority for s in bundled_rb.strategies if s.summary is not None and s is not fallback]
    assert fallback.summary is not None and fallback.priority < min(others)


@pytest.mark.parametrize(("facts", "said", "action"), [
    ({}, ["你们公司离地铁站远不远?"], "guidance.qualify_first"),
    ({"dominance": "high", "self_control": "high"}, ["太贵了,便宜点"], "plan.tiger.too_expensive"),
    ({}, ["你们有没有给同行做过的案例?"], "inquiry.genuine_buyer.references"),
    ({"payment_status": "paid"}, ["你们公司离地铁站远不远?"], "pipeline_stage.formal.next_step"),
])
def test_the_fallback_is_the_next_best_action_only_when_nothing_specific_applies(bundled, facts, said, action):
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import Profile

    result = infer(bundled, Profile(facts=facts, utterances=said))
    assert result.next_best_action is not None and result.next_best_action.strategy.id == action


# --- one objection-handling text for a no-need customer who keeps their supplier ---------------

@pytest.mark.parametrize(("said", "shown", "hidden"), [
    (["我们跟现在的供应商做了八年了,一直挺稳定"], "objection.no_need.present_supplier", "objection.no_need.answer"),
    (["我们用不着这个"], "objection.no_need.answer", None),
])
def test_the_present_supplier_answer_replaces_the_general_no_need_answer(bundled, said, shown, hidden):
    """A no-need customer who keeps their present supplier gets that answer alone (it says when it
    applies); any other no-need customer gets the general one."""
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import Profile
    from engine.report.screen import superseded_by

    result = infer(bundled, Profile(facts={}, utterances=said))
    by = superseded_by(result)
    fired = {s.strategy.id for s in result.strategies}
    assert shown in fired and by.get(shown) is None
    if hidden is not None:
        assert by.get(hidden) == shown
    else:
        assert "objection.no_need.present_supplier" not in fired
