"""Session files and --map files with odd shapes or huge numbers: a result or one clear problem."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BUNDLED
from engine.errors import ZhikeError


@pytest.fixture(scope="module")
def rb():
    from engine.rules.loader import load_rulebase

    return load_rulebase(BUNDLED)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**500), max_value=10**500),
                     st.floats(allow_nan=True), st.text(max_size=8))
_values = st.recursive(_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(goals=_values, asked=_values, skipped=_values, answers=st.dictionaries(
    st.sampled_from(["pace", "budget", "has_money", "guardedness", "utterances", "nope"]), _values, max_size=4),
    lang=_values)
def test_any_session_shape_loads_or_is_one_problem(tmp_path_factory, rb, goals, asked, skipped, answers, lang):
    import json

    from engine.interview import session

    p = tmp_path_factory.mktemp("s") / "s.json"
    doc = {session.MARKER: 1, "goals": goals, "asked": asked, "skipped": skipped, "answers": answers, "lang": lang}
    p.write_text(json.dumps(doc, default=str), encoding="utf-8")
    try:
        session.load(p, rb)
    except ZhikeError as e:
        assert "\n" not in str(e).strip() or getattr(e, "problems", None)


def test_huge_numbers_in_a_map_and_in_cells_are_problems_not_overflow(tmp_path, rb):
    from engine.batch.mapping import load_map, value_key

    assert value_key(10**400) == str(10**400)
    assert value_key("9" * 400) == "9" * 400
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  预算:\n    fact: contacts_so_far\n    ranges:\n      - {from: " + "9" * 400
                 + ", value: 5}\n", encoding="utf-8")
    with pytest.raises(ZhikeError) as e:
        load_map(m, rb)
    assert "m.yaml:5:" in str(e.value) and "too large" in str(e.value), str(e.value)
