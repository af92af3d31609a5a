"""Interviews on the web: the `zhike ask` questionnaire, one request at a time.

Nothing here decides what to ask: a request loads the interview's saved session
from the store, puts it into a `Questionnaire` exactly as `zhike ask --resume`
does (`session.load_data` + `session.resume`: the record as it was, or, when the
rulebase changed, the answers replayed with what no longer applies dropped and
said), acts (answer, skip, back), and saves the session again in one transaction.

Between requests an interview is its row: any server process with the same
--data can go on with it, and a server killed mid-interview loses at most the
answer being submitted. Requests on one interview are serialised by a lock striped
by id, so a double tap cannot lose an answer.

The questionnaires of the last LIVE_KEPT interviews are also kept in memory, each
with the version of the row it was saved as: the look-ahead ranking memoises its
simulated answers across questions (engine/interview/ranking.py), and building the
questionnaire anew for every request would simulate everything again (several times
slower per answer). A kept questionnaire is used only while its row still has that
version (another process, a restart or a failed request make it stale: it is then
rebuilt from the row), and it is given the compiled rulebase this request checked out.
The look-ahead's memo is also saved with the row (Ranker.memo_dump), so that the process
rebuilding it (`zhike serve --workers N` sends a rep's next request to any of them) goes
on from it instead of simulating everything again (measured: p95 per answer 123 ms when
rebuilt without it).
"""
from __future__ import annotations

import json
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..i18n import _, resolve_lang, use
from ..interview import session as sess
from ..interview.answers import choices_of, parse_answer
from ..interview.candidates import Question
from ..interview.questionnaire import SKIP, Questionnaire, conclusion_line, resolve_goals, why_text
from ..reasoning.compiler import CompiledRulebase
from ..reasoning.inference import Result
from ..reasoning.profile import ValueProblem
from ..report.describe import value_label
from ..rules.loader import RESERVED_UTTERANCES
from .pool import RulebasePool
from .store import Store

NOTICES = "web_notices"  # extra key of the stored session: what changed with the rulebase, shown until the next answer
LEADING_SHOWN = 3
# questionnaires kept between requests: about 2 MB each (their look-ahead memo), bounded so memory
# stays flat however many interviews the server sees; more than the reps answering at the same time
LIVE_KEPT = 64
_STRIPES = 64


class NotFound(LookupError):
    """No interview has this id."""


@dataclass
class Live:
    """One interview, put back in a questionnaire for the time of one request."""

    id: str
    q: Questionnaire
    lang: str
    goals: list[str]  # as the rep asked ([] = the default goals, ["all"])
    pending: str | None  # the question shown and not answered yet, or taken back: asked until answered
    notices: list[str] = field(default_factory=list)
    stale: dict[str, Any] = field(default_factory=dict)
    stale_skipped: list[str] = field(default_factory=list)

    def current(self) -> Question | None:
        """The question to ask now: the one already shown and not yet answered (a reload, another device and
        the API see the same question), or the one taken back; else the next that matters, which is then kept."""
        q = self.q
        if self.pending and self.pending in q.rb.facts and self.pending not in q.history:
            return q.question(self.pending)
        question = q.next_question()
        self.pending = question.fact.id if question is not None else None
        return question

    def document(self) -> dict[str, Any]:
        """The saved-session document (`zhike ask --save`'s), plus what to tell the rep about a rulebase change."""
        doc = json.loads(sess.dumps(self.q, lang=self.lang, goals=self.goals, json_format=True, stale=self.stale,
                                    stale_skipped=self.stale_skipped))
        if self.notices:
            doc[NOTICES] = list(self.notices)
        return doc


class InterviewService:
    def __init__(self, pool: RulebasePool, store: Store) -> None:
        self.pool = pool
        self.store = store
        self.rb = pool.rulebase
        self._locks = [threading.Lock() for _ in range(_STRIPES)]
        self._kept: OrderedDict[str, tuple[int, Live]] = OrderedDict()
        self._kept_lock = threading.Lock()

    def _lock(self, interview_id: str) -> threading.Lock:
        return self._locks[zlib.crc32(interview_id.encode()) % _STRIPES]

    def start(self, goals: list[str] | None, lang: str) -> str:
        """A new interview; raises InputError for a goal that names no typology."""
        wanted = [g for g in (goals or []) if g and g != "default"]
        resolve_goals(self.rb, wanted or None)
        with self.pool.checkout() as compiled:
            q = Questionnaire(compiled, wanted or None)
            saved_goals = list(q.goals) if wanted else []
            live = Live("", q, lang, saved_goals, None)
            return self.store.create(live.document(), self.rb.sha256)

    def kept(self) -> list[str]:
        """The interviews whose questionnaire is kept in memory, least recently used first."""
        with self._kept_lock:
            return list(self._kept)

    def forget_kept(self) -> None:
        """Drop every kept questionnaire: the next request on each interview rebuilds it from its row."""
        with self._kept_lock:
            self._kept.clear()

    def exists(self, interview_id: str) -> bool:
        return self.store.get(interview_id) is not None

    @contextmanager
    def open(self, interview_id: str, lang: str | None = None) -> Iterator[Live]:
        """The interview as a live questionnaire (a compiled rulebase checked out for this thread);
        saved when the block ends without an error. Raises NotFound."""
        with self._lock(interview_id):
            with self._kept_lock:
                kept = self._kept.pop(interview_id, None)
            version = self.store.version(interview_id)
            if version is None:
                raise NotFound(interview_id)
            with self.pool.checkout() as compiled:
                if kept is not None and kept[0] == version:
                    live = kept[1]
                    _rebind(live.q, compiled)
                    live.lang = resolve_lang(lang or live.lang)
                else:
                    live = self._load(interview_id, compiled, lang)
                with use(live.lang):
                    yield live
                    version = self.store.save(interview_id, live.document(), self.rb.sha256, live.pending,
                                              live.q.ranker.memo_dump())
            _park(live.q)
            with self._kept_lock:
                self._kept[interview_id] = (version, live)
                while len(self._kept) > LIVE_KEPT:
                    self._kept.popitem(last=False)

    def _load(self, interview_id: str, compiled: CompiledRulebase, lang: str | None) -> Live:
        """The interview rebuilt from its row, as `zhike ask --resume` rebuilds a saved session."""
        row = self.store.get(interview_id)
        if row is None:
            raise NotFound(interview_id)
        with use(lang or row.session.get("lang") or "zh") as speaking:
            loaded = sess.load_data(row.session, self.rb, "<interview>")
            q = Questionnaire(compiled, loaded.goals or None)
            sess.resume(q, loaded)
            if not loaded.changed and row.rulebase_sha256 == self.rb.sha256:
                q.ranker.memo_load(self.store.lookahead(interview_id))
            notices = list(loaded.notes) or [str(n) for n in row.session.get(NOTICES) or []]
            pending = None if loaded.changed else row.pending  # a new rulebase chooses its own next question
            return Live(interview_id, q, speaking, loaded.goals, pending, notices, dict(loaded.stale),
                        list(loaded.stale_skipped))

    # -- acting ----------------------------------------------------------------------------

    @staticmethod
    def answer_form(live: Live, fact_id: str, choices: list[str], text: str) -> Any:
        """An answer from the page: the numbers of the chosen choices, or what was typed. Raises
        ValueProblem (in the rep's language) or InputError (unknown question)."""
        f = live.q.rb.facts.get(fact_id)
        if f is None:
            raise InputError(_("unknown question {fact!r}", fact=fact_id))
        if f.free_list:  # the box shows what was recorded before: what is sent is the whole answer
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            if not lines:
                return _record_skip(live, fact_id)
            return _record(live, fact_id, lines)
        raw = ",".join(c for c in choices if c.strip()) if choices else text
        if not raw.strip():
            raise ValueProblem(_("please answer, or tap “don't know”"))
        return _record(live, fact_id, parse_answer(f, raw))

    @staticmethod
    def answer_value(live: Live, fact_id: str, value: Any) -> Any:
        """An answer from the API: a value as a profile gives it (id, label, number, list; null = don't know)."""
        if fact_id == RESERVED_UTTERANCES and isinstance(value, str):
            value = _with_earlier(live.q, fact_id, [value])
        return _record(live, fact_id, value)

    @staticmethod
    def utterance(live: Live, words: str) -> Any:
        return _record(live, RESERVED_UTTERANCES, _with_earlier(live.q, RESERVED_UTTERANCES, [words]))

    @staticmethod
    def skip(live: Live, fact_id: str | None = None) -> str | None:
        """Don't know: the question asked now (or `fact_id`). Returns the fact skipped, None if nothing to skip."""
        if fact_id is None:
            current = live.current()
            if current is None:
                return None
            fact_id = current.fact.id
        _record_skip(live, fact_id)
        return fact_id

    @staticmethod
    def back(live: Live) -> str | None:
        """Take back the last answer; that question is asked again next. None if there is none."""
        fact = live.q.back()
        live.pending = fact
        return fact



def _rebind(q: Questionnaire, compiled: CompiledRulebase) -> None:
    """Give a kept questionnaire the compiled rulebase checked out for this request. Only the engine
    session differs between compiled copies of one rulebase: the memoised results stay valid."""
    assert compiled.rulebase is q.rb
    q.compiled = compiled
    q.ranker.compiled = compiled


def _park(q: Questionnaire) -> None:
    """Keep what makes the next answer cheap, not everything: the ranker's memo of simulated answers stays
    (its size is bounded by the questions), its cache of whole inferences (up to a thousand results, more
    than half of a questionnaire's memory) is emptied. Measured: about 2 MB kept per interview instead of
    5-6 MB, for a few ms more per answer."""
    cache = getattr(q.ranker, "_cache", None)
    if cache is not None:
        cache.clear()


def _with_earlier(q: Questionnaire, fact_id: str, lines: list[str]) -> list[str]:
    """More of what the customer said: added to what was recorded before, not replacing it."""
    earlier = q.given.get(fact_id)
    kept = list(earlier) if isinstance(earlier, list) and fact_id in q.history else []
    return kept + [w for w in lines if w not in kept]


def _record(live: Live, fact_id: str, raw: Any) -> Any:
    value = live.q.answer(fact_id, raw)
    live.pending = None
    live.notices = []
    return value


def _record_skip(live: Live, fact_id: str) -> None:
    live.q.skip(fact_id)
    live.pending = None
    live.notices = []


# -- what the pages and the API show -----------------------------------------------------------

def leading(q: Questionnaire, result: Result, lang: str) -> list[str]:
    """The leading conclusions of the goals, decided ones first (at most LEADING_SHOWN)."""
    decided = [g for g in q.goals if result.conclusions[g].value is not None]
    return [conclusion_line(q, result, g, lang) for g in decided[:LEADING_SHOWN]]


def answer_label(q: Questionnaire, fact_id: str, value: Any, lang: str) -> str:
    if value is SKIP:
        return _("don't know")
    if fact_id == RESERVED_UTTERANCES and isinstance(value, list):
        return " / ".join(str(v) for v in value)
    return value_label(q.rb, fact_id, value, lang)


def question_view(live: Live, question: Question, *, with_step: bool = True) -> dict[str, Any]:
    """A question as plain data for a page or the API."""
    q, lang = live.q, live.lang
    f = question.fact
    with use(lang):
        given = q.given.get(f.id) if f.id in q.history else None
        before = question.previous if question.previous is not None else given
        choices = [{"n": i, "value": c, "label": f.label_of(c, lang),
                    "checked": before == c or (isinstance(before, list) and c in before)}
                   for i, c in enumerate(choices_of(f), 1)]
        kind = "utterances" if f.free_list else ("multiple" if f.type == "list" else
                                                   ("choice" if choices else f.type))
        hint = None
        if f.type == "number":
            unit = f" {f.unit.get(lang)}" if f.unit else ""
            if f.min is not None or f.max is not None:
                lo = "" if f.min is None else f"{f.min:g}"
                hi = "" if f.max is None else f"{f.max:g}"
                hint = _("type a number; range {low}–{high}{unit}", low=lo, high=hi, unit=unit)
            else:
                hint = _("type a number{unit}", unit=unit)
        elif f.free_list:
            hint = _("One remark per line, in the customer's words; an empty line ends.")
        elif f.type == "list" and choices:
            hint = _("several allowed")
        topic = next((t.label.get(lang) for t in q.rb.topics if t.id == f.topic), None)
        view: dict[str, Any] = {
            "fact": f.id, "kind": kind, "text": f.question.get(lang), "label": f.label.get(lang),
            "help": f.help.get(lang) if f.help else None, "hint": hint, "topic": topic, "choices": choices,
            "previous": answer_label(q, f.id, before, lang) if before is not None else None,
            "previous_text": ("\n".join(str(v) for v in before) if f.free_list and isinstance(before, list)
                              else before if isinstance(before, (int, float, str)) and not isinstance(before, bool)
                              and not choices else ""),
            "why": why_text(q, question, lang),
            "min": f.min, "max": f.max,
        }
        if with_step:
            step = q.step(question)
            view["number"], view["left"], view["change"] = step.number, step.left, step.change
        return view


def answers_given(q: Questionnaire) -> dict[str, Any]:
    """The answers in effect, in the order given, as stored (value ids, yes/no, numbers, lists;
    the customer's words under `utterances`)."""
    return {e.fact: (list(e.value) if isinstance(e.value, list) else e.value) for e in q.log if e.value is not SKIP}


def answers_list(live: Live) -> list[dict[str, Any]]:
    """The answers in effect, in the order given, as the rep reads them (for "change an answer")."""
    q, lang = live.q, live.lang
    with use(lang):
        return [{"fact": e.fact, "n": e.number, "question": q.rb.facts[e.fact].question.get(lang),
                 "label": q.rb.facts[e.fact].label.get(lang), "answer": answer_label(q, e.fact, e.value, lang)}
                for e in q.log if e.fact in q.rb.facts]


def finish_text(q: Questionnaire, lang: str) -> str:
    with use(lang):
        if q.status().reason == "confident":
            return _("Every goal is concluded with enough confidence.")
        return _("Nothing left to ask could change the conclusions.")


def report_json(q: Questionnaire, result: Result, lang: str) -> dict[str, Any]:
    """The JSON report of an interview: `zhike classify --format json`'s contract plus the interview record,
    as `zhike ask --format json` writes it."""
    from ..report.render import to_json

    with use(lang):
        data = to_json(result, lang)
        data["interview"] = {"goals": list(q.goals), "status": q.status().reason,
                             "questions": sess.record(q, lang)}
        return data
