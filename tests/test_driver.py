"""The direct driver (engine/reasoning/driver.py) runs the engine as durable_rules' own Host does.

Inference drives durable_rules' C engine without the Host's per-action Python layer. These tests
replay the exact asserts inference makes for every golden case of the bundled rulebase through
both — durable's `Host.assert_facts` with real actions, and the driver — and compare the
firings: the same rules, in the same order, on the same matched facts.
"""
from __future__ import annotations

import orjson
import pytest

from conftest import BUNDLED


@pytest.fixture(scope="module")
def recorded():
    """(ruleset position, facts) of every assert inference makes, per golden case."""
    import engine.reasoning.inference as inf
    from engine.reasoning.compiler import compile_rulebase
    from engine.rules.loader import load_rulebase
    from engine.trainer.casetest import load_cases

    rb = load_rulebase(BUNDLED)
    cases = [c for c in load_cases(rb) if c.profile is not None]
    assert len(cases) > 100
    compiled = compile_rulebase(rb)
    order = {name: i for i, name in enumerate(compiled.ruleset_names)}
    calls: list[tuple[int, list[dict]]] = []
    real = inf._assert

    def capture(compiled_, run, names, facts):
        calls.extend((order[n], [dict(f) for f in facts]) for n in names)
        return real(compiled_, run, names, facts)

    out = []
    inf._assert = capture
    try:
        for case in cases:
            calls.clear()
            inf.infer(compiled, case.profile)
            out.append(list(calls))
    finally:
        inf._assert = real
        compiled.close()
    return rb, out


def _firings(rb, recorded, through_host: bool) -> list[list[tuple[int, bytes]]]:
    from engine.reasoning.compiler import compile_rulebase

    compiled = compile_rulebase(rb)
    names = compiled.ruleset_names
    fired: list[tuple[int, bytes]] = []

    def keep(index: int, message) -> None:
        if isinstance(message, str):  # the driver passes the engine's text: {"<rule>": <match>}
            message = next(iter(orjson.loads(message).values()))
        fired.append((index, orjson.dumps(message, option=orjson.OPT_SORT_KEYS)))

    compiled.on_fire = keep
    per_case = []
    try:
        for asserts in recorded:
            fired.clear()
            for i, facts in asserts:
                if through_host:
                    compiled.host.assert_facts(names[i], facts)
                else:
                    compiled.driver.assert_facts(names[i], facts, keep)
            per_case.append(list(fired))
            for i, facts in asserts:
                retract = [facts[-1], *facts[:-1]]
                if through_host:
                    compiled.host.retract_facts(names[i], retract)
                else:
                    compiled.driver.retract_facts(names[i], retract, keep)
            assert fired == per_case[-1], "retracting fired a rule"
    finally:
        compiled.close()
    return per_case


def test_the_driver_fires_what_durable_rules_host_fires(recorded):
    rb, asserts = recorded
    host = _firings(rb, asserts, through_host=True)
    driver = _firings(rb, asserts, through_host=False)
    assert sum(len(f) for f in host) > 1000  # the cases make the engine work
    assert driver == host


def test_an_action_error_finishes_the_engine_queue_then_reaches_the_caller(recorded):
    from engine.reasoning.compiler import compile_rulebase

    rb, asserts = recorded
    busy = max(asserts, key=len)
    compiled = compile_rulebase(rb)
    names = compiled.ruleset_names

    def boom(index: int, message: str) -> None:
        raise ValueError("boom")

    try:
        with pytest.raises(ValueError, match="boom"):
            for i, facts in busy:
                compiled.driver.assert_facts(names[i], facts, boom)
        # the engine is usable afterwards: the same session retracts cleanly and a new one fires
        for i, facts in busy:
            try:
                compiled.driver.retract_facts(names[i], [facts[-1], *facts[:-1]], lambda *_: None)
            except Exception:
                pass  # facts of the rulesets never reached were never asserted
        fired: list[int] = []
        fresh = [(i, [dict(f, sid="fresh") for f in facts]) for i, facts in busy]
        for i, facts in fresh:
            compiled.driver.assert_facts(names[i], facts, lambda index, message: fired.append(index))
        assert fired
    finally:
        compiled.close()
