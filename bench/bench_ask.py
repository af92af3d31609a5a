"""`zhike ask`: answer-to-next-question latency, and questions needed for clear-cut customers.

Run: .venv/bin/python bench/bench_ask.py [--rulebase DIR] [--sessions 40] [--seed 1]

1. Latency: the time from an answer to the next question
   (Questionnaire.answer + next_question, hypothetical inferences included),
   over all steps of many simulated sessions. Target: p95 < 100 ms.
   "golden" reps: one per golden case of the rulebase (rulebase/tests), with
   the typologies that case expects as goals; the rep knows the case's facts
   and words and says "don't know" to anything else.
   "random" reps: every typology a goal, random answers (15% "don't know"),
   so goals rarely settle and the interview runs long: a stress case.
2. Clear-cut customers. For the social_style goal alone, a rep whose customer
   is a clear case of one style answers every question consistently with it;
   the consistent answer for each fact is read off the rulebase by the real
   engine (the value whose evidence favours that style most over the others).
   Prints the questions asked per style against the catalogue size.
A figure, not a test: timing never decides a test's outcome (the clear-cut
counts are also checked in tests/test_questionnaire.py).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.interview.questionnaire import Questionnaire  # noqa: E402
from engine.reasoning.compiler import compile_rulebase  # noqa: E402 - after the path set-up above
from engine.reasoning.inference import infer  # noqa: E402
from engine.reasoning.profile import Profile  # noqa: E402
from engine.rules.loader import RESERVED_UTTERANCES, load_rulebase  # noqa: E402

UTTERANCES = ["太贵了", "留个电话,有需要再联系", "我们再考虑考虑", "预算没这么高", "我很忙", "XX家便宜不少,再降30%",
              "It's good but we have no budget", "we already have one", "just send me the brochure", "嗯,好的"]


def clear_cut_answers(compiled, typology: str, cls: str) -> dict:
    """For every fact the typology's rules test: the answer whose evidence favours `cls` most over the rest."""
    rb = compiled.rulebase
    facts = [f for f in dict.fromkeys(f for r in rb.rules_for(typology) for f in _refs(r)) if f in rb.facts]
    table = {}
    for fid in facts:
        fd = rb.facts[fid]
        options = ([True, False] if fd.type == "bool" else list(fd.values) if fd.type == "enum"
                   else [[v] for v in fd.values] if fd.type == "list" and fd.values else [])
        best, key = None, None
        for v in options:
            scores = dict(infer(compiled, Profile({fid: v})).conclusions[typology].scores)
            mine = scores.get(cls, 0.0)
            margin = mine - max([s for c, s in scores.items() if c != cls] + [0.0])
            if key is None or (margin, mine) > key:
                best, key = v, (margin, mine)
        if best is not None:
            table[fid] = best
    return table


def _refs(rule):
    from engine.rules.loader import fact_refs

    return fact_refs(rule.when)


def interview(compiled, goals, answers: dict) -> tuple[int, Questionnaire]:
    """A rep who knows `answers` and says "don't know" to anything else. Returns questions asked."""
    q = Questionnaire(compiled, goals)
    asked = 0
    while (question := q.next_question()) is not None:
        asked += 1
        fid = question.fact.id
        if fid in answers:
            q.answer(fid, answers[fid])
        else:
            q.skip(fid)
    return asked, q


def golden_reps(compiled) -> list[tuple[list[str], dict, Profile]]:
    """(goals, answers, profile) per golden case: the typologies it expects, its facts and utterances."""
    from engine.trainer.casetest import load_cases

    out = []
    for case in load_cases(compiled.rulebase):
        if case.profile is None or not case.expect:
            continue
        answers = dict(case.profile.facts)
        if case.profile.utterances:
            answers[RESERVED_UTTERANCES] = case.profile.utterances
        out.append((list(dict.fromkeys(e.typology for e in case.expect)), answers, case.profile))
    return out


def latency(compiled, sessions: int, seed: int, mode: str) -> None:
    rng = random.Random(seed)
    rb = compiled.rulebase
    steps: list[float] = []
    starts: list[float] = []
    sims: list[int] = []
    asked: list[int] = []
    reps = golden_reps(compiled) if mode == "golden" else [(None, {}, None)] * sessions
    same = confident_elsewhere = other = 0
    for goals, table, profile in reps:
        t0 = time.perf_counter()
        q = Questionnaire(compiled, goals)
        question = q.next_question()
        starts.append(time.perf_counter() - t0)
        n = 0
        while question is not None:
            n += 1
            f = rb.facts[question.fact.id]
            before = q.simulations
            t0 = time.perf_counter()
            if mode == "golden":
                if f.id in table:
                    q.answer(f.id, table[f.id])
                else:
                    q.skip(f.id)
            elif rng.random() < 0.15:
                q.skip(f.id)
            elif f.id == RESERVED_UTTERANCES:
                q.answer(f.id, rng.sample(UTTERANCES, rng.randint(1, 3)))
            elif f.type == "bool":
                q.answer(f.id, rng.random() < 0.5)
            elif f.values:
                q.answer(f.id, rng.choice(list(f.values)))
            elif f.type == "number":
                q.answer(f.id, rng.uniform(f.min or 0, f.max or 1000))
            else:
                q.answer(f.id, "x")
            question = q.next_question()
            steps.append(time.perf_counter() - t0)
            sims.append(q.simulations - before)
        asked.append(n)
        if profile is not None:  # does the interview end where classify on the whole case ends?
            full, got = infer(compiled, profile), q.result()
            for g in goals:
                if got.conclusions[g].value == full.conclusions[g].value:
                    same += 1
                elif q.settled(got, g):
                    confident_elsewhere += 1
                else:
                    other += 1
    steps.sort()
    ms = [x * 1000 for x in steps]
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"\n{mode} reps, {len(reps)} sessions: questions per session: median {statistics.median(asked):g}, "
          f"min {min(asked)}, max {max(asked)}")
    print(f"first question (cold): median {statistics.median(starts) * 1000:.1f} ms, max {max(starts) * 1000:.1f} ms")
    print(f"answer -> next question ({len(ms)} steps): median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
          f"max {ms[-1]:.1f} ms   (target p95 < 100 ms)")
    print(f"hypothetical inferences per step: median {statistics.median(sims):g}, max {max(sims)}")
    if mode == "golden":
        print(f"goals concluded as classify concludes on the whole case: {same}/{same + confident_elsewhere + other}; "
              f"{confident_elsewhere} stopped earlier at enough confidence from other answers; {other} otherwise")


def clear_cut(compiled, typology: str = "social_style") -> None:
    rb = compiled.rulebase
    if typology not in rb.typologies:
        print(f"no typology {typology}; skipped the clear-cut figure")
        return
    facts_for_goal = {f for r in rb.rules_for(typology) for f in _refs(r) if f in rb.facts}
    print(f"\nclear-cut customers, goal {typology} only: catalogue {len(rb.facts)} facts, "
          f"{len(facts_for_goal)} of them used by {typology} rules")
    print(f"{'style':10} {'asked':>5}  {'result':22} questions")
    for cls in rb.typologies[typology].classes:
        table = clear_cut_answers(compiled, typology, cls)
        n, q = interview(compiled, [typology], table)
        c = q.result().conclusions[typology]
        ok = "ok" if c.value == cls else "WRONG"
        print(f"{cls:10} {n:5}  {str(c.value) + f' {c.confidence:.0%} ' + ok:22} {', '.join(q.history)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rulebase", default=str(ROOT / "rulebase"))
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rb = load_rulebase(args.rulebase)
    with compile_rulebase(rb) as compiled:
        Questionnaire(compiled)  # the dependency graph, built once per compiled rulebase as in `zhike ask`
        print(f"rulebase {rb.name} {rb.version}: {len(rb.facts)} facts, {len(rb.rules)} rules, "
              f"{len(rb.typologies)} typologies; goals: all")
        for mode in ("golden", "random"):
            latency(compiled, args.sessions, args.seed, mode)
        clear_cut(compiled)


if __name__ == "__main__":
    main()
