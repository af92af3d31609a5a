"""`zhike ask`: the questionnaire in a terminal, or scripted from a file of answers.

The questions, their order and when to stop come from engine/interview/; this
module only talks to the rep. The prompt is line based (type a number or the
answer), which works the same in every terminal, over ssh and in tests.
"""
from __future__ import annotations

import json
import os
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, InputError
from ..i18n import N_, _, current_lang, ngettext, set_lang
from ..interview.answers import choices_of, parse_answer
from ..reasoning.profile import ValueProblem
from ..report.output import OutputError, check_output_path, write_text

# What the rep may type instead of an answer, in either language (full-width ？ counts; case does not).
COMMANDS = {
    "why": {"?", "why", "为什么", "为啥", "为何"},
    "how": {"how", "怎么", "怎么来的", "如何"},
    "report": {"report", "报告", "看报告"},
    "back": {"back", "返回", "上一题"},
    "skip": {"skip", "unknown", "跳过", "不知道", "不清楚"},
    "skip_topic": {"skip topic", "skiptopic", "skip all", "跳过这类", "这类不知道", "这类都不知道", "都不知道"},
    "quit": {"quit", "exit", "退出"},
    "help": {"help", "帮助"},
}
COMMANDS_HELP = N_("type a number or the answer (a part of it is enough); ? why this question · "
                   "how how the conclusions were reached · why not owl? what would make it owl · report the report so far · "
                   "back previous question · "
                   "skip don't know · skip topic don't know anything on this topic · quit save, show the report "
                   "and leave")


_WHY_NOT = ("why not ", "why isn't it ", "why not a ", "why not an ", "为什么不是", "为啥不是", "为何不是", "怎么不是")


def why_not_of(text: str) -> str | None:
    """The class a line asks about, if it is "why not owl?" / "为什么不是猫头鹰" (else None)."""
    s = " ".join(unicodedata.normalize("NFKC", text).strip().split())
    low = s.casefold()
    for lead in sorted(_WHY_NOT, key=len, reverse=True):
        if low.startswith(lead) and len(s) > len(lead):
            rest = s[len(lead):].strip().rstrip("?？!！。. ").strip()
            return rest or None
    return None


def command_of(text: str) -> str | None:
    """The command a line is, if any."""
    s = " ".join(unicodedata.normalize("NFKC", text).strip().casefold().split())
    for name, words in COMMANDS.items():
        if s in words:
            return name
    return None


class _Terminal:
    def __init__(self, lang: str):
        self.lang = lang
        # Prompts follow the report: on stdout in a terminal, on stderr when the report is redirected.
        self.out = sys.stdout if sys.stdout.isatty() else sys.stderr
        if self.out is sys.stdout:
            try:
                import readline  # noqa: F401 - line editing and history for input()
            except ImportError:  # pragma: no cover - not on every platform
                pass

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def read(self, prompt: str) -> str | None:
        """One line, or None at end of input (Ctrl-D), which counts as quit."""
        if self.out is sys.stdout:
            try:
                return input(prompt)
            except EOFError:
                return None
        self.out.write(prompt)
        self.out.flush()
        line = sys.stdin.readline()
        return None if not line else line.rstrip("\r\n")


def run(*, lang: str, goals: list[str], answers: Path | None, save: Path | None, resume: Path | None, fmt: str,
        output: str | None, rulebase: Path, debug: bool = False, detail: bool = False) -> int:
    """Interview the rep (or run a file of answers), then write the report. `debug` shows rule ids in
    `why` / `how` and in the report; `detail` gives the report's full explanation."""
    from ..interview import session as sess
    from ..interview.questionnaire import Questionnaire, resolve_goals
    from ..reasoning.compiler import compile_rulebase
    from ..rules.loader import load_rulebase

    interactive = answers is None
    # before any question: a rep must not answer twenty questions to learn the file cannot be written
    if save is not None:
        where = check_output_path(save, [answers], what=_("session file")).parent
        if not os.access(where, os.W_OK):
            raise OutputError(_("cannot write {path}: folder {folder} is not writable", path=save, folder=where))
    if output not in (None, "-"):
        check_output_path(output, [answers, resume, save], what=_("report"))
        if save is not None and os.path.realpath(output) == os.path.realpath(save):
            raise InputError(_("{path}: the report and the session file (--save) are the same file; "
                               "choose another name for one of them", path=output))
    rb = load_rulebase(rulebase)
    resolve_goals(rb, list(goals))  # an unknown goal is the more useful message, so it goes first
    if interactive and not sys.stdin.isatty():
        raise InputError(_("zhike ask: no terminal to ask in (stdin is not a terminal); "
                           "give --answers FILE to run from a file of answers"))
    loaded = sess.load(resume, rb) if resume else None
    if loaded is not None and loaded.lang and loaded.lang != lang and _lang_is_default():
        lang = loaded.lang  # the session goes on in its own language; its notes are read again in it
        set_lang(lang)
        loaded = sess.load(resume, rb)
    wanted = list(goals) or (loaded.goals if loaded else [])
    save_path = save or resume
    scripted: dict[str, Any] = {}
    name = ""
    warnings: list = []
    if answers is not None:
        scripted, name = sess.load_answers(answers, rb, warnings)
    with compile_rulebase(rb) as compiled:
        q = Questionnaire(compiled, wanted or None, scripted=not interactive, name=name)
        saved_goals = q.goals if wanted else []
        if loaded is not None:
            sess.resume(q, loaded)
        q.preload(scripted)
        stale = loaded.stale if loaded else {}
        stale_skipped = loaded.stale_skipped if loaded else []

        def persist(path: Path | None) -> None:
            if path is not None:
                sess.save(path, q, lang=lang, goals=saved_goals, stale=stale, stale_skipped=stale_skipped)

        if interactive:
            term = _Terminal(lang)
            if loaded is not None:
                term.say(_("Continuing the session in {path}", path=resume))
                for note in loaded.notes:
                    term.say(f"  ! {note}")
            if _Interview(q, term, persist, save_path, debug=debug).run():
                _finish_message(q, term.say, lang)
        else:
            q.next_question()  # scripted: uses the file's answers as questions come up; asks nothing
            persist(save_path)
            for w in warnings:
                print(f"zhike ask: {w}", file=sys.stderr)
            if loaded is not None:
                for note in loaded.notes:
                    print(f"zhike ask: {note}", file=sys.stderr)
            _script_summary(q, scripted, lang)
        text = _report(q, fmt, lang, detail=detail, debug=debug)
    write_text(text, output, inputs=[answers, resume, save, *rb.files])
    return EXIT_OK


def _report(q, fmt: str, lang: str, *, detail: bool = False, debug: bool = False) -> str:
    """The final report; in JSON it also records the interview (each question, its answer and time)."""
    from ..interview.session import record
    from ..report.render import render, to_json

    result = q.result()
    if fmt != "json":
        return render(result, fmt, lang, detail=detail, debug=debug)
    data = to_json(result, lang)
    data["interview"] = {"goals": list(q.goals), "status": q.status().reason, "questions": record(q, lang)}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _lang_is_default() -> bool:
    """Whether --lang was left at its default (then a resumed session keeps its own language)."""
    try:
        import click

        ctx = click.get_current_context(silent=True)
        return ctx is not None and ctx.get_parameter_source("lang") == click.core.ParameterSource.DEFAULT
    except Exception:
        return False


def _labels(q, facts) -> str:
    """Facts by the names the rep knows, in the language of the run."""
    lang = current_lang()
    return _(", ").join(q.rb.facts[f].label.get(lang) for f in facts if f in q.rb.facts)


def _finish_message(q, say, lang: str) -> None:
    from ..interview.questionnaire import conclusion_line

    st = q.status()
    say("")
    if st.reason == "confident":
        say(_("Every goal is concluded with enough confidence."))
    else:
        say(_("Nothing left to ask could change the conclusions."))
        if st.unsettled:
            names = _(", ").join(q.rb.typologies[g].label.get(lang) for g in st.unsettled)
            say(_("Still undecided or not confident: {goals}", goals=names))
    r = q.result()
    for g in q.goals:
        say(f"  {conclusion_line(q, r, g, lang)}")
    say("")


def _script_summary(q, scripted: dict[str, Any], lang: str) -> None:
    used = [f for f in q.history if f in scripted]
    unused = [f for f in scripted if f not in q.history]
    msg = ngettext("{n} answer used", "{n} answers used", len(used))
    if unused:
        msg += _("; not needed: {facts}", facts=_labels(q, unused))
    if q.unavailable:
        msg += _("; no answer for: {facts}", facts=_labels(q, sorted(q.unavailable, key=list(q.rb.facts).index)))
    print(f"zhike ask: {msg}", file=sys.stderr)
    st = q.status()
    if st.reason == "confident":
        reason = _("Every goal is concluded with enough confidence.")
    else:
        reason = _("Nothing left to ask could change the conclusions.")
        if st.unsettled:
            names = _(", ").join(q.rb.typologies[g].label.get(lang) for g in st.unsettled)
            reason += " " + _("(still undecided or not confident: {goals})", goals=names)
    print(f"zhike ask: {reason}", file=sys.stderr)


class _Interview:
    """The terminal conversation: one question at a time, commands at any prompt."""

    def __init__(self, q, term: _Terminal, persist, save_path: Path | None, *, debug: bool = False) -> None:
        self.q, self.term, self.persist, self.save_path, self.debug = q, term, persist, save_path, debug
        self.lang = term.lang

    def run(self) -> bool:
        """Ask until done (True) or the rep quits (False; the session is saved)."""
        q, say = self.q, self.term.say
        rb = q.rb
        say(_("zhike · interview"))
        say(_("Goals: {goals}", goals=_(", ").join(rb.typologies[g].label.get(self.lang) for g in q.goals)))
        say(f"({_(COMMANDS_HELP)})")
        forced: str | None = None
        try:
            while True:
                question = q.question(forced) if forced else q.next_question()
                forced = None
                if question is None:
                    return True
                self._show(question)
                outcome = self._answer(question)
                if outcome == "quit":
                    return False
                if outcome not in (None, "answered"):
                    forced = outcome  # back: ask that fact again
        except (KeyboardInterrupt, OSError):  # Ctrl-C, or the terminal went away: keep the answers
            self.persist(self.save_path)
            raise

    def _show(self, question) -> None:
        q, say, lang = self.q, self.term.say, self.lang
        f = question.fact
        step = q.step(question)
        self.persist(self.save_path)  # the estimate shown is saved too: --resume shows it again
        say("")
        topic = next((t.label.get(lang) for t in q.rb.topics if t.id == f.topic), None)
        head = _("Question {n} · about {left} left", n=step.number, left=step.left)
        say(f"[{head}" + (f" · {topic}]" if topic else "]"))
        if step.change < 0:
            say("  " + ngettext("(your last answer took {n} question off the estimate)",
                                "(your last answer took {n} questions off the estimate)", -step.change))
        elif step.change > 0:
            say("  " + ngettext("(your last answer added {n} question to the estimate)",
                                "(your last answer added {n} questions to the estimate)", step.change))
        say(f.question.get(lang))
        if f.help:
            say("  " + _("Hint: {text}", text=f.help.get(lang)))
        for i, c in enumerate(choices_of(f), 1):
            say(f"  {i}) {f.label_of(c, lang)}")
        if f.type == "list" and f.values:
            say("  (" + _("several allowed: numbers or names separated by commas (e.g. 1,3)") + ")")
        elif f.type == "number":
            unit = f" {f.unit.get(lang)}" if f.unit else ""
            if f.min is not None or f.max is not None:
                lo = "" if f.min is None else f"{f.min:g}"
                hi = "" if f.max is None else f"{f.max:g}"
                say("  (" + _("type a number; range {low}–{high}{unit}", low=lo, high=hi, unit=unit) + ")")
            else:
                say("  (" + _("type a number{unit}", unit=unit) + ")")
        elif f.free_list:
            say("  (" + _("One remark per line, in the customer's words; an empty line ends.") + ")")
        if question.previous is not None:
            from ..interview.questionnaire import SKIP
            from ..report.describe import value_label

            prev = _("don't know") if question.previous is SKIP else value_label(q.rb, f.id, question.previous, lang)
            say("  (" + _("previous answer: {answer}", answer=prev) + ")")

    def _why_not(self, target: str) -> str:
        """The answer to "why not owl?" on the answers so far, or what to type instead."""
        from ..reasoning.whynot import parse_target, why_not
        from ..report.whynot import render_whynot

        q = self.q
        try:
            tid, cls = parse_target(q.rb, target)
        except InputError as e:
            return str(e)
        result = q.result()
        answer = why_not(q.compiled, result.profile, tid, cls, result=result)
        return render_whynot(answer, result, "text", self.lang)

    def _answer(self, question) -> str | None:
        """Read until the question is dealt with: "answered", "quit", or the fact to ask again (back)."""
        from ..interview.questionnaire import how_text, status_line, why_text
        from ..report.render import render

        q, say, lang, f = self.q, self.term.say, self.lang, question.fact
        before = q.result()
        while True:
            line = self.term.read("> ")
            if line is None:
                line = "quit"
            cmd = command_of(line)
            target = None if cmd else why_not_of(line)
            if target is not None:
                say(self._why_not(target).rstrip("\n"))
                continue
            if cmd == "why":
                say(why_text(q, question, lang, debug=self.debug))
                continue
            if cmd == "how":
                say(how_text(q, q.result(), lang, debug=self.debug))
                continue
            if cmd == "report":
                say(render(q.result(), "text", lang, debug=self.debug).rstrip("\n"))
                continue
            if cmd == "help":
                say(f"({_(COMMANDS_HELP)})")
                continue
            if cmd == "quit":
                path = self.save_path or Path.cwd() / f"zhike-session-{time.strftime('%Y%m%d-%H%M%S')}.yaml"
                self.persist(path)
                say(_("Saved to {path}; continue with: zhike ask --resume {path}", path=path))
                return "quit"
            if cmd == "back":
                back = q.back()
                if back is None:
                    say(_("This is the first question; there is nothing to go back to."))
                    continue
                self.persist(self.save_path)
                say(_("Back to: {question}", question=q.rb.facts[back].question.get(lang)))
                return back
            if cmd in ("skip", "skip_topic"):
                others = q.skip_topic(f.id) if cmd == "skip_topic" else (q.skip(f.id) or [])
                self.persist(self.save_path)
                say(_("Recorded as don't know.") if not others else
                    ngettext("Recorded as don't know, with {n} other question on this topic.",
                             "Recorded as don't know, with {n} other questions on this topic.", len(others)))
                say("  " + status_line(q, before, q.result(), lang))
                self._suggest_topic_skip(f)
                return "answered"
            if not line.strip():
                say("  " + _("please answer, or type skip, or ? to see why this is asked"))
                continue
            raw: Any = line
            if f.free_list:
                lines = [line]
                while True:
                    more = self.term.read("… ")
                    if more is None or not more.strip():
                        break
                    lines.append(more)
                raw = lines
            try:
                value = q.answer(f.id, raw if f.free_list else parse_answer(f, line))
            except ValueProblem as e:
                say("  " + _("cannot use this answer: {reason}", reason=e))
                continue
            self.persist(self.save_path)
            if value is None:
                say(_("Recorded as don't know."))
            say("  " + status_line(q, before, q.result(), lang))
            if value is None:
                self._suggest_topic_skip(f)
            return "answered"

    def _suggest_topic_skip(self, fact) -> None:
        """After two "don't know" in a row on one topic, show the shortcut that leaves out the rest of it."""
        from ..interview.questionnaire import REP, SKIP

        asked = [e for e in self.q.log if e.how == REP][-2:]
        if (fact.topic and len(asked) == 2 and all(e.value is SKIP for e in asked)
                and all(self.q.rb.facts[e.fact].topic == fact.topic for e in asked)):
            self.term.say("  " + _("Don't know this topic at all? Type “skip topic” next time to leave out "
                                   "its other questions."))
