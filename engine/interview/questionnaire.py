"""The questionnaire: the state of one interview, and the next question worth asking.

No terminal I/O here (engine/commands/ask.py does that); everything the
terminal shows is built from this package's data and text helpers.

The work is split along its seams:
- `graph`: the relevance graph — which rules, typologies and derived facts a goal
  still depends on;
- `ranking`: candidate ranking — which relevant question to ask, by running the
  real engine on every hypothetical answer (look-ahead), what comes first (the
  context question, then the customer's words) and keeping to one topic;
- `applicability`: which questions still apply (the catalogue's `applies_when:`);
- this module: the interview state — answers, their record, back/skip — and when to stop;
- `progress`: the question number and the "about N left" estimate;
- `goals`: what the interview aims at; `answers`: what the rep types, matched to a value;
- `texts`: why a question is asked, how conclusions were reached, what changed.

The interview ends when every goal is settled or no relevant question is left.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InputError, did_you_mean
from ..i18n import _
from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result
from ..reasoning.profile import Profile, coerce_value
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import FactDef
from .agenda import action_question
from .applicability import gates_of, not_applying
from .candidates import Outcome, Question, Status
from .goals import resolve_goals
from .progress import ProgressTracker, Step
from .ranking import DEFAULT_CONFIDENT, SIMULATION_BUDGET, Ranker
from .texts import conclusion_line, how_text, status_line, why_text

__all__ = ["DEFAULT_CONFIDENT", "SIMULATION_BUDGET", "SKIP", "Entry", "Outcome", "Question", "Questionnaire",
           "Status", "Step", "conclusion_line", "how_text", "resolve_goals", "status_line", "why_text"]


class _Skip:
    """An explicit "don't know": recorded, never asked again, never asserted."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()

# How an answer came into the interview (Entry.how)
REP = "rep"  # asked, and answered or skipped by the rep (in this run, or before --resume)
FILE = "file"  # taken from a file of answers (--answers) when its question came up; not asked
TOPIC = "topic"  # left out with its whole topic ("skip topic"); not asked


def now() -> str:
    """The time of an answer, as recorded: local time with its offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Entry:
    """One answer in effect, in the order the interview took them: the replayable record."""

    fact: str
    value: Any  # catalogue value, or SKIP
    how: str  # REP, FILE or TOPIC
    time: str
    number: int | None = None  # the question's number as the rep saw it (None when it was not asked)


class Questionnaire:
    """One interview: answers so far, and the next question worth asking.

    `given` holds every answer known (the rep's, a resumed session's, a script's),
    fact id -> catalogue value or SKIP, in the order they came. Only those in the
    record (`log`, `history`) are in effect: an answer from a file is used when its
    question becomes relevant, so answers to questions that never matter stay unused.
    """

    def __init__(self, compiled: CompiledRulebase, goals: list[str] | None = None, *,
                 confident: float = DEFAULT_CONFIDENT, budget: float = SIMULATION_BUDGET,
                 scripted: bool = False, name: str = "") -> None:
        self.compiled = compiled
        self.rb = compiled.rulebase
        self.goals = resolve_goals(self.rb, goals)
        self.confident = confident
        self.budget = budget
        self.scripted = scripted
        self.name = name
        self.ranker = Ranker(compiled, self.goals, confident=confident, budget=budget)
        self.graph = self.ranker.graph
        self.gates: dict[str, list[str]] = compiled.cache.get("questionnaire_gates")
        if self.gates is None:
            self.gates = compiled.cache["questionnaire_gates"] = gates_of(self.rb)
        self.given: dict[str, Any] = {}
        self.log: list[Entry] = []
        self.unavailable: set[str] = set()  # scripted: relevant, but the script has no answer
        self.previous: dict[str, Any] = {}  # answers taken back
        self.progress = ProgressTracker()
        self._how: dict[str, str] = {}  # preloaded fact -> how it counts once used (FILE, or REP for a session)
        self._since: set[str] = set()  # facts recorded since the last question was shown
        self._for_action: set[str] = set()  # facts asked because no next best action had come out
        self._status = Status([], list(self.goals), "asking")

    @property
    def simulations(self) -> int:
        """Hypothetical inferences run so far (for benchmarks)."""
        return self.ranker.simulations

    # -- state ----------------------------------------------------------------------------
    @property
    def history(self) -> list[str]:
        """The facts in effect, in the order they were answered or skipped."""
        return [e.fact for e in self.log]

    @property
    def auto(self) -> list[str]:
        """Answers taken from a file without asking."""
        return [e.fact for e in self.log if e.how == FILE]

    @property
    def number(self) -> int:
        """The number of the next question: questions the rep was asked and answered, plus one."""
        return 1 + sum(1 for e in self.log if e.number is not None)

    def profile(self) -> Profile:
        """The answers in effect, as a profile (the same thing `zhike classify` reads)."""
        used = set(self.history)
        facts: dict[str, Any] = {}
        utterances: list[str] = []
        for f, v in self.given.items():
            if f not in used or v is SKIP:
                continue
            if f == RESERVED_UTTERANCES:
                utterances = list(v)
            else:
                facts[f] = v
        return Profile(facts, utterances, self.name)

    def result(self) -> Result:
        return self.ranker.infer(self.profile())

    @property
    def answered(self) -> list[str]:
        return [f for f in self.history if self.given.get(f) is not SKIP]

    @property
    def skipped(self) -> list[str]:
        return [f for f, v in self.given.items() if v is SKIP]

    def preload(self, answers: dict[str, Any], *, asked: bool = False) -> None:
        """Answers to use when their question comes up: a script's, or (`asked`) a resumed session's,
        which count as questions the rep answered."""
        for f, v in answers.items():
            if f not in self.history:
                self.given[f] = v
                self._how[f] = REP if asked else FILE

    def restore(self, entries: list[Entry]) -> None:
        """Put a saved record back in effect as it was (a resumed session, same rulebase)."""
        for e in entries:
            if e.fact in self.rb.facts and e.fact not in self.history:
                self.given.pop(e.fact, None)
                self.given[e.fact] = e.value
                self.log.append(e)

    def answer(self, fact_id: str, raw: Any) -> Any:
        """Record an answer (coerced like a profile value); None or "unknown" is a skip. Raises ValueProblem."""
        f = self._fact(fact_id)
        value = coerce_value(f, raw)
        if value is None:
            self.skip(fact_id)
            return None
        self._record(fact_id, value, REP)
        return value

    def skip(self, fact_id: str) -> None:
        """A real "don't know": not asked again, not asserted."""
        self._fact(fact_id)
        self._record(fact_id, SKIP, REP)

    def skip_topic(self, fact_id: str) -> list[str]:
        """"Don't know anything on this topic": skip this question and every other open one of its topic.
        Returns the others, which are left out without being asked."""
        topic = self._fact(fact_id).topic
        self.skip(fact_id)
        if topic is None:
            return []
        done = set(self.history) | self.unavailable
        others = [f.id for f in self.rb.facts.values()
                  if f.topic == topic and f.id not in done and f.id not in self.given]
        for f in others:
            self._record(f, SKIP, TOPIC)
        return others

    def back(self) -> str | None:
        """Take back the last answer or skip (with the topic it skipped); the caller asks that fact
        again. None if there is none."""
        while self.log and self.log[-1].how == TOPIC:
            self.given.pop(self.log.pop().fact, None)
        if not self.log:
            return None
        f = self.log.pop().fact
        old = self.given.pop(f, None)
        if old is not None:
            self.previous[f] = old
        return f

    def status(self) -> Status:
        return self._status

    def step(self, question: Question) -> Step:
        """The number and the "about N left" estimate to show with `question`."""
        since, self._since = self._since, set()
        return self.progress.step(self.number, question.remaining, question.relevant, since)

    # -- the next question ------------------------------------------------------------------
    def next_question(self) -> Question | None:
        """The most useful relevant question, or None when done (see status()).

        Answers already given (a script, a resumed session) are used as their
        questions come up; in scripted mode a relevant question without an
        answer is passed over.
        """
        while True:
            base, done = self.result(), self._done()
            q, self._status = self.ranker.choose(base, done, self.previous, topic=self._topic(), gates=self.gates)
            if q is None and not any(e.value is SKIP for e in self.log if e.fact in self._for_action):
                q = action_question(self.ranker, base, done, self.previous, self.gates)  # until the rep doesn't know
                if q is not None:
                    self._for_action.add(q.fact.id)
            if q is None:
                return None
            f = q.fact.id
            if f in self.given:
                how = self._how.get(f, FILE)
                self.log.append(Entry(f, self.given[f], how, now(), self.number if how == REP else None))
                self._since.add(f)
                continue
            if self.scripted:
                self.unavailable.add(f)
                continue
            return q

    def question(self, fact_id: str) -> Question:
        """The question for one fact, e.g. to ask it again after `back`."""
        f = self._fact(fact_id)
        return self.ranker.question_for(f, self.result(), self._done(), self.previous)

    def settled(self, result: Result, goal: str) -> bool:
        """Whether a goal is concluded with enough confidence."""
        return self.ranker.settled(result, goal)

    def settledness(self, result: Result, goal: str) -> float:
        """0 (no conclusion) .. 1 (concluded with enough confidence)."""
        return self.ranker.settledness(result, goal)

    def not_applying(self) -> set[str]:
        """Facts whose question no longer applies, given the answers so far (`applies_when:`)."""
        answers = {e.fact: e.value for e in self.log if e.value is not SKIP}
        return not_applying(self.rb, answers, {e.fact for e in self.log if e.value is SKIP})

    # -- internals --------------------------------------------------------------------------------
    def _done(self) -> set[str]:
        """Facts never to propose: answered, skipped, passed over, or no longer applying."""
        return set(self.history) | self.unavailable | self.not_applying()

    def _topic(self) -> str | None:
        """The topic of the last question the rep answered."""
        last = next((e for e in reversed(self.log) if e.how == REP), None)
        return self.rb.facts[last.fact].topic if last is not None and last.fact in self.rb.facts else None

    def _fact(self, fact_id: str) -> FactDef:
        f = self.rb.facts.get(fact_id)
        if f is None:
            raise InputError(_("unknown question {fact!r}{hint}", fact=fact_id, hint=did_you_mean(fact_id, self.rb.facts)))
        return f

    def _record(self, fact_id: str, value: Any, how: str) -> None:
        self.given.pop(fact_id, None)  # an answer moves to the end: the profile keeps answer order
        self.given[fact_id] = value
        self.log = [e for e in self.log if e.fact != fact_id]
        number = self.number if how == REP else None
        if number is not None:
            self.progress.forget_after(number)  # a changed answer: estimates shown after it no longer hold
        self.log.append(Entry(fact_id, value, how, now(), number))
        self._since.add(fact_id)
        self.unavailable.discard(fact_id)
        self.previous.pop(fact_id, None)
