"""`zhike ask`: questions asked per goal set, and answer-to-next-question latency.

Run: .venv/bin/python bench/bench_ask.py [--rulebase DIR] [--goal-sets default,case,all] [--every-all 4]
                                         [--sessions 40] [--seed 1]

1. Clear-cut reps, one per golden case of the rulebase (rulebase/tests): the rep
   answers every question consistently with the case — the case's facts and
   words; for the context question the first answer under which every fact of the
   case applies — and says "don't know" to anything else. Two kinds of rep:
   - "topic-aware": at a question whose topic the case says nothing about, the rep
     skips the whole topic at once (`skip topic`: a rep who has not watched the
     customer's manner says so once, not ten times);
   - "one by one": the rep says "don't know" to each such question.
   For each goal set — "default" (the rulebase's `default_goals`, i.e. `zhike ask`
   without --goal), "case" (the typologies the case expects), "all" (--goal all) —
   it prints the median and p90 of the questions asked until the interview ends,
   when the rep has the report and its next best action. It also counts the
   interviews that end with a next best action at all, and with the same one as
   `zhike classify` gives on the whole case (a default-goal interview does not ask
   about, say, an inquiry case's inquiry, so its action can differ).
2. Latency: the time from an answer to the next question (Questionnaire.answer +
   next_question, hypothetical inferences included), over every step of those
   interviews, wall clock and CPU time of this thread (the CPU figure does not
   grow when other processes share the machine). Target: p95 < 100 ms.
3. Random reps (a stress case): random answers (15% "don't know") with the
   default goals, so goals rarely settle and the interview runs long.
4. Clear-cut styles: for the social_style goal alone, a rep whose customer is a
   clear case of one style (answers read off the rulebase by the real engine).
A figure, not a test: timing never decides a test's outcome (the clear-cut counts
are checked in tests/test_questionnaire.py and tests/test_interview_flow.py).
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

from engine.interview.applicability import holds  # noqa: E402 - after the path set-up above
from engine.interview.questionnaire import Questionnaire  # noqa: E402
from engine.reasoning.compiler import compile_rulebase  # noqa: E402
from engine.reasoning.inference import infer  # noqa: E402
from engine.reasoning.profile import Profile  # noqa: E402
from engine.rules.loader import RESERVED_UTTERANCES, load_rulebase  # noqa: E402

UTTERANCES = ["太贵了", "留个电话,有需要再联系", "我们再考虑考虑", "预算没这么高", "我很忙", "XX家便宜不少,再降30%",
              "It's good but we have no budget", "we already have one", "just send me the brochure", "嗯,好的"]
TARGET_MEDIAN = 12  # questions to a next best action, default goals (issue 11)


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


def context_answers(rb, answers: dict) -> dict:
    """Answers to the context questions (facts other facts' `applies_when` test) consistent with a case:
    the first value under which every fact of the case applies; none when no value does."""
    gates = {c.fact for f in rb.facts.values() if f.applies_when is not None for c in _tests(f.applies_when)}
    out = dict(answers)
    for gate in sorted(g for g in gates if g in rb.facts and g not in answers):
        for v in choices(rb.facts[gate]):
            trial = {**out, gate: v}
            if all(rb.facts[f].applies_when is None or holds(rb.facts[f].applies_when, trial) is not False
                   for f in answers if f in rb.facts):
                out[gate] = v
                break
    return out


def _tests(cond):
    from engine.rules.model import FactTest, walk

    return [c for c in walk(cond) if isinstance(c, FactTest)]


def choices(fd) -> list:
    return [True, False] if fd.type == "bool" else list(fd.values) if fd.type == "enum" else []


def golden_reps(compiled) -> list[tuple[str, list[str], dict, Profile]]:
    """(name, goals, answers, profile) per golden case: the typologies it expects, its facts and words."""
    from engine.trainer.casetest import load_cases

    out = []
    for case in load_cases(compiled.rulebase):
        if case.profile is None or not case.expect:
            continue
        answers = dict(case.profile.facts)
        if case.profile.utterances:
            answers[RESERVED_UTTERANCES] = case.profile.utterances
        out.append((case.name, list(dict.fromkeys(e.typology for e in case.expect)),
                    context_answers(compiled.rulebase, answers), case.profile))
    return out


class Timer:
    """Wall-clock and CPU time of each answer -> next question step."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self):
        self._w, self._c = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.thread_time() - self._c)


def interview(compiled, goals, answers: dict, *, topic_aware: bool, timer: Timer | None = None) -> tuple[int, Questionnaire]:
    """A rep who knows `answers` and says "don't know" to anything else. Returns questions asked."""
    rb = compiled.rulebase
    topics = {rb.facts[f].topic for f in answers if f in rb.facts}
    q = Questionnaire(compiled, goals)
    asked = 0
    q.first_action = None  # questions asked when a next best action first appeared (None: never)
    question = q.next_question()
    while question is not None:
        asked += 1
        f = question.fact
        with timer or Timer():
            if f.id in answers and answers[f.id] is not None:
                q.answer(f.id, answers[f.id])
            elif topic_aware and f.topic is not None and f.topic not in topics:
                q.skip_topic(f.id)
            else:
                q.skip(f.id)
            question = q.next_question()
        if q.first_action is None and q.result().next_best_action is not None:
            q.first_action = asked
    return asked, q


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def golden(compiled, goal_set: str, reps, *, topic_aware: bool, timer: Timer) -> float:
    asked: list[int] = []
    to_action: list[int] = []
    with_action = same_action = 0
    for _name, case_goals, answers, profile in reps:
        goals = {"default": None, "case": case_goals, "all": ["all"]}[goal_set]
        n, q = interview(compiled, goals, answers, topic_aware=topic_aware, timer=timer)
        asked.append(n)
        if q.first_action is not None:
            to_action.append(q.first_action)
        got = q.result().next_best_action
        want = infer(compiled, profile).next_best_action
        with_action += got is not None
        same_action += got is not None and want is not None and got.strategy.id == want.strategy.id
    median = statistics.median(asked)
    rep = "topic-aware" if topic_aware else "one by one"
    print(f"  goals {goal_set:7} rep {rep:11}: {len(reps)} cases; questions asked median {median:g}, "
          f"p90 {pct(asked, 0.9):g}, max {max(asked)}; ended with a next best action {with_action}, "
          f"the same as classify on the whole case {same_action}")
    if to_action:
        # over all cases, one that never reaches an action counts as worse than any that does
        everyone = sorted(to_action) + [float("inf")] * (len(reps) - len(to_action))
        print(f"    questions until a next best action first appears: {len(to_action)} of {len(reps)} cases reach "
              f"one, median {statistics.median(to_action):g}, p90 {pct(to_action, 0.9):g}; over all cases "
              f"(never = worst) median {statistics.median(everyone):g}")
    return median


def latency_line(label: str, timer: Timer) -> None:
    wall = [x * 1000 for x in timer.wall]
    cpu = [x * 1000 for x in timer.cpu]
    print(f"  answer -> next question, {label} ({len(wall)} steps): wall median {statistics.median(wall):.1f} ms, "
          f"p95 {pct(wall, 0.95):.1f} ms; CPU median {statistics.median(cpu):.1f} ms, p95 {pct(cpu, 0.95):.1f} ms "
          f"(target p95 < 100 ms)")


def random_reps(compiled, sessions: int, seed: int) -> None:
    rng = random.Random(seed)
    timer = Timer()
    asked = []
    for _ in range(sessions):
        q = Questionnaire(compiled)
        question = q.next_question()
        n = 0
        while question is not None:
            n += 1
            f = question.fact
            with timer:
                if rng.random() < 0.15:
                    q.skip(f.id)
                elif f.id == RESERVED_UTTERANCES:
                    q.answer(f.id, rng.sample(UTTERANCES, rng.randint(1, 3)))
                elif f.type == "bool":
                    q.answer(f.id, rng.random() < 0.5)
                elif f.values:
                    v = rng.choice(list(f.values))
                    q.answer(f.id, [v] if f.type == "list" else v)
                elif f.type == "number":
                    q.answer(f.id, rng.uniform(f.min or 0, f.max or 1000))
                else:
                    q.answer(f.id, "x")
                question = q.next_question()
        asked.append(n)
    print(f"\nrandom reps, default goals, {sessions} sessions: questions median {statistics.median(asked):g}, "
          f"p90 {pct(asked, 0.9):g}")
    latency_line("random reps", timer)


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
        table = context_answers(rb, clear_cut_answers(compiled, typology, cls))
        n, q = interview(compiled, [typology], table, topic_aware=False)
        c = q.result().conclusions[typology]
        ok = "ok" if c.value == cls else "WRONG"
        print(f"{cls:10} {n:5}  {str(c.value) + f' {c.confidence:.0%} ' + ok:22} {', '.join(q.history)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rulebase", default=str(ROOT / "rulebase"))
    ap.add_argument("--goal-sets", default="default,case,all")
    ap.add_argument("--every-all", type=int, default=4, help="with --goal all, every Nth golden case (it is slow)")
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rb = load_rulebase(args.rulebase)
    with compile_rulebase(rb) as compiled:
        Questionnaire(compiled)  # the dependency graph, built once per compiled rulebase as in `zhike ask`
        default = rb.default_goals or list(rb.typologies)
        print(f"rulebase {rb.name} {rb.version}: {len(rb.facts)} facts, {len(rb.rules)} rules, "
              f"{len(rb.typologies)} typologies; default goals: {', '.join(default)}")
        reps = golden_reps(compiled)
        print(f"\nclear-cut reps, one per golden case ({len(reps)}): questions asked until the interview ends")
        default_median = None
        for goal_set in args.goal_sets.split(","):
            timer = Timer()
            sample = reps[::args.every_all] if goal_set == "all" else reps
            if goal_set == "all" and args.every_all > 1:
                print(f"  (goals all: every {args.every_all}th case)")
            for topic_aware in (True, False):
                median = golden(compiled, goal_set, sample, topic_aware=topic_aware, timer=timer)
                if goal_set == "default" and topic_aware:
                    default_median = median
            latency_line(f"goals {goal_set}", timer)
        if default_median is not None:
            verdict = "met" if default_median <= TARGET_MEDIAN else "NOT met"
            print(f"\ntarget: median questions to a next best action with the default goals <= {TARGET_MEDIAN}: "
                  f"{default_median:g} ({verdict})")
        random_reps(compiled, args.sessions, args.seed)
        clear_cut(compiled)


if __name__ == "__main__":
    main()
