"""`zhike rules calibrate`: the statistics against published figures, and a planted truth found."""
from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import pytest

from conftest import BUNDLED, zhike

RB = Path(os.environ.get("ZHIKE_TEST_RULEBASE", BUNDLED))  # see tests/test_whynot.py
PLANTED, PLANTED_VALUE = "pace", "fast"  # fast-paced customers' deals win far more often; nothing else matters
FACTS = ("has_money", "has_authority", "has_need", "dominance", "self_control", "pace", "directness", "focus",
         "formality", "decision_style", "budget_status", "decision_role", "need_status")


# --- the statistics -------------------------------------------------------------------------------

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med 17:857-872,
# Table I, method 3 (Wilson score interval without continuity correction).
NEWCOMBE_TABLE = [((81, 263), (0.2553, 0.3662)), ((15, 148), (0.0624, 0.1605)), ((0, 20), (0.0, 0.1611)),
                  ((1, 29), (0.0061, 0.1718))]


@pytest.mark.parametrize(("kn", "published"), NEWCOMBE_TABLE)
def test_wilson_matches_the_published_table(kn, published):
    from engine.trainer.calibrate import wilson

    lo, hi = wilson(*kn)
    assert (round(lo, 4), round(hi, 4)) == published


def test_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from engine.trainer.calibrate import wilson

    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 5000)
        k = rng.randint(0, n)
        assert wilson(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


def test_newcombe_difference_matches_the_published_example():
    from engine.trainer.calibrate import newcombe_difference

    # Newcombe (1998), "Interval estimation for the difference between independent proportions",
    # Stat Med 17:873-890, Table II example (a) 56/70 - 48/80: method 10 gives 0.0524 to 0.3339.
    lo, hi = newcombe_difference(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_not_enough_data_below_the_documented_size():
    from engine.trainer.calibrate import MIN_N, Tally

    t = Tally("r", "rule", fired=MIN_N - 1, won_fired=MIN_N - 1, total=200, won_total=MIN_N - 1)
    assert t.verdict() == "not_enough"  # every firing a win, but too few firings to say so
    t = Tally("r", "rule", fired=MIN_N, won_fired=MIN_N, total=200, won_total=MIN_N)
    assert t.verdict() == "more_wins"
    t = Tally("r", "rule", fired=190, won_fired=10, total=200, won_total=10)
    assert t.verdict() == "not_enough"  # fired on almost every deal: nothing to compare with


# --- a planted truth ------------------------------------------------------------------------------

def make_deals(path: Path, rb, n: int, seed: int = 16) -> None:
    """Closed deals with random facts; a deal wins with 55% when the customer is fast-paced, else 20%."""
    rng = random.Random(seed)
    facts = [rb.facts[f] for f in FACTS if f in rb.facts]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["客户", *[f.id for f in facts], "结果"])
        for i in range(n):
            row, planted = [f"客户{i}"], False
            for f in facts:
                if rng.random() < 0.35:
                    row.append("")
                    continue
                v = rng.choice([True, False]) if f.type == "bool" else rng.choice(list(f.values))
                planted = planted or (f.id == PLANTED and v == PLANTED_VALUE)
                row.append(("是" if v else "否") if f.type == "bool" else v)
            row.append("赢单" if rng.random() < (0.55 if planted else 0.2) else "输单")
            w.writerow(row)


def _closure(rb, item) -> set[str]:
    """Every fact a rule or strategy's firing can depend on (through derived facts and conclusions)."""
    from engine.reasoning.whynot import _premise_rules
    from engine.rules.model import ConclusionTest, Evidence, FactTest, walk

    deciders = [r for r in rb.rules if any(isinstance(e, Evidence) for e in r.then)]
    start = [r for r in rb.rules if r.id == item.id]
    extra = []
    if not start:  # a strategy: its condition and the rules deciding its classes
        tids = {t for t, _c in item.classes} | {c.typology for c in walk(item.when) if isinstance(c, ConclusionTest)}
        extra = [c.fact for c in walk(item.when) if isinstance(c, FactTest)]
        start = [r for r in deciders if any(isinstance(e, Evidence) and e.typology in tids for e in r.then)]
    rules = _premise_rules(rb, start)
    return set(extra) | {c.fact for r in rules for c in walk(r.when) if isinstance(c, FactTest)} | \
        ({"utterances"} if any(not isinstance(c, FactTest) and type(c).__name__ == "PhraseTest"
                               for r in rules for c in walk(r.when)) else set())


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from engine.rules.loader import load_rulebase
    from engine.trainer.calibrate import calibrate

    rb = load_rulebase(RB)
    path = tmp_path_factory.mktemp("cal") / "deals.csv"
    make_deals(path, rb, 3000)
    return rb, path, calibrate(str(path), rb)


def test_the_planted_rules_are_found_and_the_neutral_ones_are_not(planted):
    from scipy.stats import binom

    from engine.rules.model import FactTest, walk

    rb, _path, cal = planted
    assert cal.known == 3000 and cal.won + cal.lost == 3000 and not cal.unreadable
    items = {x.id: x for x in [*rb.rules, *rb.strategies]}
    found = neutral = false_alarms = 0
    patterns: set[tuple[int, int]] = set()
    for tid, t in cal.tallies.items():
        deps = _closure(rb, items[tid])
        verdict = t.verdict()
        if deps == {PLANTED} and t.enough():
            # a rule on the planted fact alone: it fires exactly when the customer is fast (or is not)
            assert verdict in ("more_wins", "fewer_wins"), (tid, verdict)
            says_fast = any(isinstance(c, FactTest) and c.fact == PLANTED and PLANTED_VALUE in repr(c.operand)
                            for c in walk(items[tid].when))
            assert (verdict == "more_wins") == says_fast, (tid, verdict)
            found += 1
        elif PLANTED not in deps and t.enough() and (t.fired, t.won_fired) not in patterns:
            # a strategy that fires exactly with its rule is the same finding: counted once
            patterns.add((t.fired, t.won_fired))
            neutral += 1
            false_alarms += verdict in ("more_wins", "fewer_wins")
    # with no effect, each neutral rule is called different with probability 5%: more false alarms than the
    # 99th percentile of Binomial(neutral, 0.05) would mean the report overclaims
    bound = int(binom.ppf(0.99, neutral, 0.05))
    print(f"planted rules found: {found}; neutral rules with enough data: {neutral}, called different: "
          f"{false_alarms} ({false_alarms / max(neutral, 1):.1%}; 5% expected by chance, at most {bound} allowed)")
    assert found >= 1 and neutral >= 20
    assert false_alarms <= bound
    # the next best actions and classes are counted on the same deals
    assert sum(n for _w, n in cal.actions.values()) == 3000


def test_small_samples_say_not_enough_data(planted, tmp_path):
    from engine.trainer.calibrate import MIN_N, calibrate

    rb = planted[0]
    path = tmp_path / "few.csv"
    make_deals(path, rb, 2 * MIN_N - 1)
    cal = calibrate(str(path), rb)
    assert cal.tallies and all(t.verdict() == "not_enough" for t in cal.tallies.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_reports_in_both_languages(planted, lang, fmt):
    from engine.trainer.calibrate_report import render_calibration

    out = render_calibration(planted[2], fmt, lang)
    assert "客户1" not in out  # counts and rates only: no deal's name
    if fmt == "json":
        doc = json.loads(out)
        assert doc["deals"] == 3000 and "deal_rows" not in doc
        assert any(x["verdict"] == "more_wins" for x in doc["rules"])
        return
    assert ("胜率" in out and "win rate" not in out and "not enough" not in out) if lang == "zh" else \
        ("win rate" in out and "胜率" not in out)
    if fmt == "html":
        assert out.startswith("<!doctype html>") and out.count("<svg") == 2 and "<script" not in out
        assert "http" not in out.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


def test_the_command_and_show_rows(planted, tmp_path):
    path = tmp_path / "deals.csv"
    make_deals(path, planted[0], 300)
    r = zhike("rules", "calibrate", "--outcomes", str(path), "--format", "json", "--rulebase", str(RB))
    assert r.returncode == 0, r.stderr
    assert "deal_rows" not in json.loads(r.stdout) and "客户" not in r.stdout
    r = zhike("rules", "calibrate", "--outcomes", str(path), "--format", "json", "--show-rows", "--rulebase", str(RB))
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["deal_rows"]) == 300


def test_unknown_outcomes_are_counted_not_used(planted, tmp_path):
    from engine.trainer.calibrate import calibrate

    rb = planted[0]
    path = tmp_path / "d.csv"
    path.write_text("has_money,结果\n是,赢单\n否,输单\n是,进行中\n否,\n", encoding="utf-8")
    cal = calibrate(str(path), rb)
    assert (cal.won, cal.lost, len(cal.unknown_outcome)) == (1, 1, 2)
    r = zhike("rules", "calibrate", "--outcomes", str(path), "--outcome-column", "nosuch", "--rulebase", str(RB))
    assert r.returncode == 2 and "nosuch" in r.stderr
