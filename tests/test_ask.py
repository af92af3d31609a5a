"""`zhike ask` end to end: the real program in a pseudo-terminal (pexpect), and scripted."""
import json
import os
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from conftest import MINI, zhike

EXE = Path(sys.executable).parent / "zhike"


def spawn(*args: str, cwd: Path | None = None) -> pexpect.spawn:
    env = dict(os.environ, TERM="dumb", COLUMNS="120")
    env.pop("ZHIKE_RULEBASE", None)
    child = pexpect.spawn(str(EXE), list(args), encoding="utf-8", timeout=30, env=env, cwd=str(cwd) if cwd else None,
                          dimensions=(60, 120))
    child.transcript = []
    child.logfile_read = _Log(child.transcript)
    return child


class _Log:
    def __init__(self, sink):
        self.sink = sink

    def write(self, s):
        self.sink.append(s)

    def flush(self):
        pass


def finish(child) -> str:
    child.expect(pexpect.EOF)
    child.close()
    out = "".join(child.transcript)
    assert "Traceback" not in out, out
    return out


def test_answer_why_how_back_skip_in_english():
    c = spawn("ask", "--rulebase", str(MINI), "--lang", "en", "--goal", "social_style")
    c.expect(r"Question 1 · about \d+ left")
    c.expect_exact("pace?")
    c.expect_exact("1) fast")
    c.expect_exact("> ")
    c.sendline("?")
    c.expect_exact("It helps decide: style")
    c.expect_exact("“fast” → style: tiger 72%")  # what each answer would conclude
    c.expect_exact("> ")
    c.sendline("9")
    c.expect_exact("choose one number from 1 to 2")  # re-asked with a hint
    c.expect_exact("> ")
    c.sendline("1")
    c.expect_exact("→ style: tiger 72%")  # one status line: what the answer changed
    c.expect_exact("guarded?")
    c.expect_exact("> ")
    c.sendline("how")
    c.expect_exact("for tiger 0.60: pace = fast")
    c.expect_exact("> ")
    c.sendline("back")
    c.expect_exact("Back to: pace?")
    c.expect_exact("Question 1 · about")  # the same number again
    c.expect_exact("previous answer: fast")
    c.expect_exact("> ")
    c.sendline("slow")
    c.expect_exact("→ no conclusion changed")  # the old answer's evidence is gone, nothing new
    c.expect_exact("guarded?")
    c.expect_exact("> ")
    c.sendline("maybe")
    c.expect_exact("yes or no")
    c.expect_exact("> ")
    c.sendline("skip")
    c.expect_exact("Recorded as don't know.")
    c.expect_exact("Nothing left to ask could change the conclusions.")
    c.expect_exact("zhike · customer read-out")  # the classify report
    out = finish(c)
    assert c.exitstatus == 0, out
    interview = out.split("zhike · customer read-out")[0]
    assert "budget?" not in interview and "rich?" not in interview  # never relevant to social_style
    assert "s.fast" not in interview and "s.notguard" not in interview  # no rule ids without --debug


def test_chinese_commands_text_and_numbers():
    c = spawn("ask", "--rulebase", str(MINI), "--lang", "zh", "--goal", "social_style2")
    c.expect_exact("说了什么?")  # what the customer said comes first: the cheapest rich evidence
    c.expect_exact("每行一句客户原话")
    c.expect_exact("> ")
    c.sendline("不知道")
    c.expect_exact("已记为不知道")
    c.expect_exact("节奏?")
    c.expect_exact("> ")
    c.sendline("为什么")
    c.expect_exact("它有助于判断:风格")
    c.expect_exact("> ")
    c.sendline("慢")
    c.expect_exact("戒备?")
    c.expect_exact("> ")
    c.sendline("怎么来的")
    c.expect_exact("支持虎 0.30")
    c.expect_exact("> ")
    c.sendline("返回")
    c.expect_exact("之前的回答:慢")
    c.expect_exact("> ")
    c.sendline("2")
    c.expect_exact("戒备?")
    c.expect_exact("> ")
    c.sendline("跳过")
    c.expect_exact("预算?")
    c.expect_exact("> ")
    c.sendline("-5")
    c.expect_exact("超出了范围")
    c.expect_exact("> ")
    c.sendline("200")
    c.expect_exact("没有还能改变结论的问题了")
    c.expect_exact("知客 · 客户研判")
    out = finish(c)
    assert c.exitstatus == 0
    assert "s.budget" not in out and "s.fast" not in out  # no rule ids in Chinese either


def test_save_quit_resume(tmp_path):
    s = tmp_path / "s.yaml"
    c = spawn("ask", "--rulebase", str(MINI), "--lang", "en", "--goal", "social_style", "--save", str(s))
    c.expect_exact("pace?")
    c.expect_exact("> ")
    c.sendline("1")
    c.expect_exact("guarded?")
    c.expect_exact("> ")
    c.sendline("quit")
    c.expect_exact(f"Saved to {s}")
    c.expect_exact("zhike · customer read-out")  # quit shows the report so far
    finish(c)
    assert c.exitstatus == 0
    saved = yaml.safe_load(s.read_text(encoding="utf-8"))
    assert saved["answers"] == {"pace": "fast"} and saved["goals"] == ["social_style"] and saved["lang"] == "en"
    assert [(e["n"], e["fact"], e["answer"], e["how"]) for e in saved["interview"]] == [(1, "pace", "fast", "rep")]
    assert len(saved["rulebase"]["sha256"]) == 64

    c = spawn("ask", "--rulebase", str(MINI), "--resume", str(s))  # language and goals come from the session
    c.expect_exact(f"Continuing the session in {s}")
    c.expect_exact("Question 2")  # numbering goes on where it stopped
    c.expect_exact("guarded?")  # pace is not asked again
    c.expect_exact("> ")
    c.sendline("no")
    c.expect_exact("zhike · customer read-out")
    out = finish(c)
    assert c.exitstatus == 0 and "pace?" not in out
    saved = yaml.safe_load(s.read_text(encoding="utf-8"))
    assert saved["answers"] == {"pace": "fast", "guard": False} and saved["asked"] == ["pace", "guard"]


def test_end_of_input_saves_to_a_new_file(tmp_path):
    c = spawn("ask", "--rulebase", str(MINI), "--lang", "en", cwd=tmp_path)
    c.expect_exact("said?")
    c.expect_exact("> ")
    c.sendline("skip")
    c.expect_exact("pace?")
    c.expect_exact("> ")
    c.sendline("2")
    c.expect_exact("> ")
    c.sendeof()
    c.expect_exact("Saved to")
    finish(c)
    assert c.exitstatus == 0
    files = list(tmp_path.glob("zhike-session-*.yaml"))
    assert len(files) == 1 and yaml.safe_load(files[0].read_text(encoding="utf-8"))["answers"] == {"pace": "slow"}


def test_resume_after_the_rulebase_changed(tmp_path, mini_copy):
    answers = tmp_path / "a.yaml"
    answers.write_text("pace: slow\nguard: false\nbudget: 150\n", encoding="utf-8")
    s = tmp_path / "s.json"
    r = zhike("ask", "--rulebase", str(mini_copy), "--answers", str(answers), "--save", str(s))
    assert r.returncode == 0, r.stderr
    assert json.loads(s.read_text(encoding="utf-8"))["answers"] == {"pace": "slow", "guard": False, "budget": 150}
    facts = mini_copy / "facts" / "f.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("{id: slow, label: {zh: 慢, en: slow}}",
                                                               "{id: measured, label: {zh: 从容, en: measured}}"),
                     encoding="utf-8")
    c = spawn("ask", "--rulebase", str(mini_copy), "--resume", str(s), "--lang", "en")
    c.expect_exact("the rulebase has changed since this session was saved")
    c.expect_exact("the answer pace = 'slow' is not used")
    c.expect_exact("said?")
    c.expect_exact("> ")
    c.sendline("skip")
    c.expect_exact("pace?")  # asked again: the old answer no longer fits
    c.expect_exact("> ")
    c.sendline("quit")
    finish(c)
    saved = json.loads(s.read_text(encoding="utf-8"))
    assert saved["answers"]["pace"] == "slow" and saved["answers"]["budget"] == 150  # kept in the file


def test_not_a_terminal_exit_2_one_line():
    r = zhike("ask", "--rulebase", str(MINI), input="")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--answers" in r.stderr and "Traceback" not in r.stderr


def test_unknown_goal_exit_2():
    r = zhike("ask", "--rulebase", str(MINI), "--lang", "en", "--goal", "social_styl", input="")
    assert r.returncode == 2 and 'did you mean one of "style", "style2"' in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_scripted_same_output_as_classify(tmp_path, fmt):
    p = tmp_path / "p.yaml"
    p.write_text("facts:\n  pace: slow\n  guard: false\n  budget: 1.5万\n", encoding="utf-8")
    a = zhike("ask", "--rulebase", str(MINI), "--answers", str(p), "--format", fmt, "--lang", "en")
    b = zhike("classify", str(p), "--rulebase", str(MINI), "--format", fmt, "--lang", "en")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    if fmt == "json":
        asked, classified = json.loads(a.stdout), json.loads(b.stdout)
        interview = asked.pop("interview")  # ask only adds the record of the interview
        assert asked == classified
        record = {e["fact"]: e for e in interview["questions"]}
        assert sorted(record) == ["budget", "guard", "pace"]  # answers taken from the file, in the order used
        assert all(e["how"] == "file" and e["n"] is None for e in record.values())  # not asked: no number
        assert record["pace"]["answer"] == "slow" and record["pace"]["question"] == "pace?"
        assert all(e["time"][:2] == "20" for e in interview["questions"])
    else:
        assert a.stdout == b.stdout
    assert "3 answers used" in a.stderr


def test_scripted_unused_answers_and_output_file(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("pace: fast\nguard: false\nbudget: 150\nutterances: [预算]\n", encoding="utf-8")
    out = tmp_path / "r.json"
    s = tmp_path / "s.yaml"
    r = zhike("ask", "--rulebase", str(MINI), "--lang", "en", "--goal", "social_style", "--answers", str(p),
              "--format", "json", "-o", str(out), "--save", str(s))
    assert r.returncode == 0 and r.stdout == ""
    assert "not needed: budget, words" in r.stderr  # by the names the rep knows
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["profile"]["facts"] == {"pace": "fast", "guard": False} and data["profile"]["utterances"] == []
    saved = yaml.safe_load(s.read_text(encoding="utf-8"))
    assert saved["answers"]["budget"] == 150 and saved["asked"] == ["pace", "guard"]  # kept, not used


def test_scripted_bad_answers_exit_2_with_positions(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("pace: quick\nguardd: true\n", encoding="utf-8")
    r = zhike("ask", "--rulebase", str(MINI), "--lang", "en", "--answers", str(p))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{p}:1:7: error: 'quick' is not a choice of \"pace\"" in r.stderr
    assert f"{p}:2:1: error: unknown question 'guardd'" in r.stderr and 'did you mean "guarded"' in r.stderr
