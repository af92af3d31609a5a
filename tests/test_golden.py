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
