"""`zhike ask`: the questionnaire in a terminal, or scripted from a file of answers.

The questions, their order and when to stop come from engine/questionnaire.py;
this module only talks to the rep. The prompt is line based (type a number or
the answer), which works the same in every terminal, over ssh and in tests.
"""
from __future__ import annotations

import os
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, InputError
from ..reasoning.profile import ValueProblem
from ..report.output import OutputError, check_output_path, write_text
from ..rules.model import FactDef

UI = {
    "zh": {
        "title": "知客 · 问答", "goals": "目标", "all": "全部", "commands":
            "输入编号或答案;? 为什么问 · how 结论怎么来的 · back 返回上一题 · skip 不知道 · quit 保存退出",
        "progress": "第 {n} 题 · 还剩约 {left} 题", "for": "为了", "help": "提示", "prompt": "> ",
        "more": "… ", "utter_hint": "每行一句客户原话,空行结束。",
        "number_hint": "请输入数字", "range": "范围", "choose": "请输入 1–{k} 的编号,或选项名称",
        "choose_many": "可多选:输入编号,用逗号或空格分开(如 1,3)", "empty": "请回答,或输入 skip 跳过、? 查看为什么问",
        "previous": "之前的回答", "no_back": "已经是第一题,没有可返回的回答。", "skipped": "已记为不知道。",
        "confident": "每个目标都已得出有足够把握的结论。", "exhausted": "没有还能改变结论的问题了。",
        "below": "仍未定或把握不足", "saved": "已保存到 {path};继续请运行: zhike ask --resume {path}",
        "resumed": "继续之前的问答: {path}", "unused": "未用到的已有回答", "report": "== 报告 ==",
        "bad": "无法使用这个回答", "now": "当前结论", "going_back": "返回修改: {q}",
    },
    "en": {
        "title": "zhike · questionnaire", "goals": "Goals", "all": "all", "commands":
            "type a number or the answer; ? why this question · how how conclusions were reached · "
            "back previous question · skip don't know · quit save and leave",
        "progress": "Question {n} · about {left} left", "for": "for", "help": "Hint", "prompt": "> ",
        "more": "… ", "utter_hint": "One remark per line, in the customer's words; an empty line ends.",
        "number_hint": "type a number", "range": "range", "choose": "type a number from 1 to {k}, or the answer",
        "choose_many": "several allowed: numbers separated by commas or spaces (e.g. 1,3)",
        "empty": "please answer, or type skip, or ? to see why this is asked",
        "previous": "previous answer", "no_back": "This is the first question; there is nothing to go back to.",
        "skipped": "Recorded as don't know.",
        "confident": "Every goal is concluded with enough confidence.",
        "exhausted": "Nothing left to ask could change the conclusions.",
        "below": "still undecided or not confident", "saved": "Saved to {path}; continue with: zhike ask --resume {path}",
        "resumed": "Continuing the session in {path}", "unused": "answers not needed", "report": "== Report ==",
        "bad": "cannot use this answer", "now": "Now", "going_back": "Back to: {q}",
    },
}

COMMANDS = {
    "why": {"?", "why", "为什么", "为啥", "为何"},
    "how": {"how", "怎么", "怎么来的", "如何"},
    "back": {"back", "返回", "上一题"},
    "skip": {"skip", "unknown", "跳过", "不知道", "不清楚"},
    "quit": {"quit", "exit", "退出"},
    "help": {"help", "帮助"},
}


def command_of(text: str) -> str | None:
    """The command a line is, if any (full-width ？ counts; case does not)."""
    s = unicodedata.normalize("NFKC", text).strip().casefold()
    for name, words in COMMANDS.items():
        if s in words:
            return name
    return None


def choices_of(fact: FactDef) -> list[Any]:
    """What the numbers 1..k stand for: enum/list values, or yes/no."""
    if fact.type == "bool":
        return [True, False]
    if fact.type in ("enum", "list") and fact.values:
        return list(fact.values)
    return []


def parse_answer(fact: FactDef, text: str) -> Any:
    """A raw answer for coerce_value: numbers pick choices; anything else is passed on as typed."""
    s = text.strip()
    choices = choices_of(fact)
    if choices:
        parts = [p for p in re.split(r"[\s,，、;；]+", s) if p]
        if parts and all(p.isdigit() for p in parts):
            idx = [int(p) for p in parts]
            if all(1 <= i <= len(choices) for i in idx) and (fact.type == "list" or len(idx) == 1):
                picked = [choices[i - 1] for i in idx]
                return picked if fact.type == "list" else picked[0]
            if fact.type != "bool":  # yes/no also takes 0/1 as typed
                raise ValueProblem(f"choose 1..{len(choices)}")
    return s


class _Terminal:
    def __init__(self, lang: str):
        self.lang = lang
        self.t = UI[lang]
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
        output: str | None, rulebase: Path) -> int:
    from ..interview import session as sess
    from ..interview.questionnaire import Questionnaire, resolve_goals
    from ..reasoning.compiler import compile_rulebase
    from ..report.render import render
    from ..rules.loader import load_rulebase

    interactive = answers is None
    # before any question: a rep must not answer twenty questions to learn the file cannot be written
    if save is not None:
        where = check_output_path(save, [answers], what="session file").parent
        if not os.access(where, os.W_OK):
            raise OutputError(f"cannot write {save}: directory {where} is not writable")
    if output not in (None, "-"):
        check_output_path(output, [answers, resume, save], what="report")
        if save is not None and os.path.realpath(output) == os.path.realpath(save):
            raise InputError(f"{output}: the report and the session file (--save) are the same file; "
                             "choose another name for one of them")
    rb = load_rulebase(rulebase)
    resolve_goals(rb, list(goals))  # an unknown goal is the more useful message, so it goes first
    if interactive and not sys.stdin.isatty():
        raise InputError("zhike ask: no terminal to ask in (stdin is not a terminal); "
                         "give --answers FILE to run from a file of answers")
    loaded = sess.load(resume, rb) if resume else None
    if loaded is not None and loaded.lang and _lang_is_default():
        lang = loaded.lang
    wanted = list(goals) or (loaded.goals if loaded else [])
    save_path = save or resume
    scripted: dict[str, Any] = {}
    name = ""
    if answers is not None:
        scripted, name = sess.load_answers(answers, rb)
    with compile_rulebase(rb) as compiled:
        q = Questionnaire(compiled, wanted or None, scripted=not interactive, name=name)
        if loaded is not None:
            q.preload(loaded.given)
        q.preload(scripted)
        stale = loaded.stale if loaded else {}
        stale_skipped = loaded.stale_skipped if loaded else []

        def persist(path: Path | None) -> None:
            if path is not None:
                sess.save(path, q, lang=lang, goals=wanted, stale=stale, stale_skipped=stale_skipped)

        if interactive:
            term = _Terminal(lang)
            if loaded is not None:
                term.say(UI[lang]["resumed"].format(path=resume))
                for note in loaded.notes:
                    term.say(f"  ! {note}")
            done = _interview(q, term, lambda: persist(save_path), lambda p: persist(p), save_path)
            if not done:
                return EXIT_OK
            _finish_message(q, term.say, lang)
        else:
            q.next_question()  # scripted: uses the file's answers as questions come up; asks nothing
            persist(save_path)
            if loaded is not None:
                for note in loaded.notes:
                    print(f"zhike ask: {note}", file=sys.stderr)
            _script_summary(q, scripted, lang)
        text = render(q.result(), fmt, lang)
    write_text(text, output, inputs=[answers, resume, save, *rb.files])
    return EXIT_OK


def _lang_is_default() -> bool:
    """Whether --lang was left at its default (then a resumed session keeps its own language)."""
    try:
        import click

        ctx = click.get_current_context(silent=True)
        return ctx is not None and ctx.get_parameter_source("lang") == click.core.ParameterSource.DEFAULT
    except Exception:
        return False


def _finish_message(q, say, lang: str) -> None:
    from ..interview.questionnaire import conclusion_line

    t = UI[lang]
    st = q.status()
    say("")
    if st.reason == "confident":
        say(t["confident"])
    else:
        say(t["exhausted"])
        if st.unsettled:
            names = ", ".join(q.rb.typologies[g].label.get(lang) for g in st.unsettled)
            say(f"{t['below']}: {names}")
    r = q.result()
    for g in q.goals:
        say(f"  {conclusion_line(q, r, g, lang)}")
    say("")


def _script_summary(q, scripted: dict[str, Any], lang: str) -> None:
    used = [f for f in q.history if f in scripted]
    unused = [f for f in scripted if f not in q.history]
    msg = f"zhike ask: {len(used)} answers used"
    if unused:
        msg += f"; not needed: {', '.join(unused)}"
    if q.unavailable:
        msg += f"; no answer for: {', '.join(sorted(q.unavailable, key=list(q.rb.facts).index))}"
    print(msg, file=sys.stderr)
    st = q.status()
    reason = UI["en"]["confident"] if st.reason == "confident" else UI["en"]["exhausted"]
    if st.unsettled and st.reason != "confident":
        reason += f" ({UI['en']['below']}: {', '.join(st.unsettled)})"
    print(f"zhike ask: {reason}", file=sys.stderr)


def _interview(q, term: _Terminal, persist, persist_to, save_path: Path | None) -> bool:
    """Ask until done. False when the rep quit (the session is saved)."""
    from ..interview.questionnaire import conclusion_line, how_text, why_text

    t = term.t
    lang = term.lang
    rb = q.rb
    term.say(t["title"])
    goal_names = ", ".join(rb.typologies[g].label.get(lang) for g in q.goals)
    term.say(f"{t['goals']}: {goal_names}")
    term.say(f"({t['commands']})")
    forced: str | None = None
    try:
        while True:
            question = q.question(forced) if forced else q.next_question()
            forced = None
            if question is None:
                return True
            number = len(q.history) + 1
            f = question.fact
            term.say("")
            for_goals = ", ".join(rb.typologies[g].label.get(lang) for g in question.goals)
            term.say(f"[{t['progress'].format(n=number, left=question.remaining)} · {t['for']} {for_goals}]")
            term.say(f.question.get(lang))
            if f.help:
                term.say(f"  {t['help']}: {f.help.get(lang)}")
            for i, c in enumerate(choices_of(f), 1):
                term.say(f"  {i}) {f.label_of(c, lang)}")
            if f.type == "list" and f.values:
                term.say(f"  ({t['choose_many']})")
            elif f.type == "number":
                lo = "" if f.min is None else f"{f.min:g}"
                hi = "" if f.max is None else f"{f.max:g}"
                unit = f" {f.unit.get(lang)}" if f.unit else ""
                term.say(f"  ({t['number_hint']}; {t['range']} {lo}–{hi}{unit})" if lo or hi
                         else f"  ({t['number_hint']}{unit})")
            elif f.free_list:
                term.say(f"  ({t['utter_hint']})")
            if question.previous is not None:
                from ..interview.questionnaire import SKIP
                from ..report.describe import value_label

                prev = t["skipped"] if question.previous is SKIP else value_label(rb, f.id, question.previous, lang)
                term.say(f"  ({t['previous']}: {prev})")
            while True:
                line = term.read(t["prompt"])
                if line is None:
                    line = "quit"
                cmd = command_of(line)
                if cmd == "why":
                    term.say(why_text(q, question, lang))
                    continue
                if cmd == "how":
                    term.say(how_text(q, q.result(), lang))
                    continue
                if cmd == "help":
                    term.say(f"({t['commands']})")
                    continue
                if cmd == "quit":
                    path = save_path or Path.cwd() / f"zhike-session-{time.strftime('%Y%m%d-%H%M%S')}.yaml"
                    persist_to(path)
                    term.say(t["saved"].format(path=path))
                    return False
                if cmd == "back":
                    back = q.back()
                    if back is None:
                        term.say(t["no_back"])
                        continue
                    persist()
                    forced = back
                    term.say(t["going_back"].format(q=rb.facts[back].question.get(lang)))
                    break
                if cmd == "skip":
                    q.skip(f.id)
                    persist()
                    term.say(t["skipped"])
                    break
                if not line.strip():
                    term.say(f"  {t['empty']}")
                    continue
                raw: Any = line
                if f.free_list:
                    lines = [line]
                    while True:
                        more = term.read(t["more"])
                        if more is None or not more.strip():
                            break
                        lines.append(more)
                    raw = lines
                try:
                    value = q.answer(f.id, raw if f.free_list else parse_answer(f, line))
                except ValueProblem as e:
                    hint = t["choose"].format(k=len(choices_of(f))) if choices_of(f) and f.type != "bool" else ""
                    term.say(f"  {t['bad']}: {e}" + (f" — {hint}" if hint else ""))
                    continue
                persist()
                if value is None:
                    term.say(t["skipped"])
                break
            if not forced:
                r = q.result()
                term.say(f"  {t['now']}: " + " | ".join(conclusion_line(q, r, g, lang) for g in q.goals))
    except (KeyboardInterrupt, OSError):  # Ctrl-C, or the terminal went away: keep the answers
        persist()
        raise
