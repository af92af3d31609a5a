"""`zhike ask` on the bundled rulebase in a pseudo-terminal, in both languages: the context question,
answers by part of a label, `report` at a prompt, `quit` (saves and shows the report), `--resume` with
the numbering and the estimate going on where they stopped."""
import re

import yaml
from test_ask import finish, spawn


def left_of(child) -> int:
    """The "about N left" of the question just shown."""
    return int(child.match.group(1))


def test_chinese_interview_context_partial_labels_report_quit_resume(tmp_path):
    s = tmp_path / "s.yaml"
    c = spawn("ask", "--lang", "zh", "--save", str(s))
    c.expect_exact("目标:社交风格(TOPK)、客户类型(九型)、客户拒绝类型、MAN客户资格")  # the default goals
    c.expect(r"\[第 1 题 · 还剩约 (\d+) 题 · 怎么认识的客户\]")
    c.expect_exact("你是怎么接触到这位客户的?")
    c.expect_exact("> ")
    c.sendline("当面")  # part of 上门拜访或当面见过
    c.expect_exact("第 2 题")
    c.expect_exact("客户说了什么?")
    c.expect_exact("> ")
    c.sendline("太贵了")
    c.expect_exact("… ")
    c.sendline("")
    c.expect_exact("→ 客户拒绝类型:永远嫌贵型")  # the words went through the phrase rules at once
    c.expect_exact("第 3 题")
    c.expect_exact("客户是怎样推托或拒绝你的?")
    c.expect_exact("> ")
    c.sendline("嫌贵")  # part of 永远嫌贵型
    c.expect_exact("→ 客户拒绝类型:永远嫌贵型 9")
    c.expect(r"\[第 4 题 · 还剩约 (\d+) 题")
    fourth = left_of(c)
    c.expect_exact("> ")
    c.sendline("报告")
    c.expect_exact("不就价格论价格,把话题从价格转到他认同的价值")  # the next best action so far
    c.expect_exact("> ")
    c.sendline("退出")
    c.expect_exact(f"已保存到 {s}")
    c.expect_exact("不就价格论价格")  # quit shows the report
    out = finish(c)
    assert c.exitstatus == 0, out
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", out.replace(str(tmp_path), "")), out  # no rule, class or fact id
    saved = yaml.safe_load(s.read_text(encoding="utf-8"))
    assert [(e["n"], e["fact"]) for e in saved["interview"]] == \
        [(1, "contact_channel"), (2, "utterances"), (3, "objection_type")]
    assert saved["answers"]["contact_channel"] == "visit"

    c = spawn("ask", "--resume", str(s))  # the language comes from the session
    c.expect_exact(f"继续之前的问答:{s}")
    c.expect(r"\[第 4 题 · 还剩约 (\d+) 题")  # numbering goes on, with the estimate shown before
    assert left_of(c) == fourth
    c.expect_exact("> ")
    c.sendline("这类都不知道")  # don't know anything on this topic: its other questions are left out
    c.expect_exact("第 5 题")
    c.expect_exact("> ")
    c.sendline("退出")
    c.expect_exact("已保存到")
    finish(c)
    assert c.exitstatus == 0


def test_english_interview_goals_by_label_context_words_report_quit_resume(tmp_path):
    s = tmp_path / "s.json"
    c = spawn("ask", "--lang", "en", "--goal", "Type of objection", "--goal", "社交风格", "--save", str(s))
    c.expect_exact("Goals: Social style (TOPK), Type of objection")
    c.expect(r"\[Question 1 · about (\d+) left · How you met the customer\]")
    c.expect_exact("1) a visit or a meeting in person")
    c.expect_exact("> ")
    c.sendline("?")
    c.expect_exact("Asked first: the answer decides which questions apply")
    c.expect_exact("> ")
    c.sendline("phone")  # part of "by phone"
    c.expect_exact("Question 2")
    c.expect_exact("What did the customer say?")
    c.expect_exact("> ")
    c.sendline("It is too expensive, the other supplier is cheaper")
    c.expect_exact("… ")
    c.sendline("")
    c.expect_exact("→ Type of objection: Always too expensive")
    c.expect(r"\[Question 3 · about (\d+) left · Their manner\]")
    third = left_of(c)
    c.expect_exact("What does the customer care about most in the conversation?")
    c.expect_exact("> ")
    c.sendline("too expensive")  # not a choice here: says so, and what to type
    c.expect_exact("“too expensive” is not a choice of “Main focus”")
    c.expect_exact("> ")
    c.sendline("report")
    c.expect_exact("Move the talk from price to value")
    c.expect_exact("> ")
    c.sendline("result")  # part of "results and payoff"
    c.expect_exact("→ Social style (TOPK)")
    c.expect_exact("Question 4")
    c.expect_exact("> ")
    c.sendline("back")
    c.expect(r"\[Question 3 · about (\d+) left")  # the same number and estimate again
    assert left_of(c) == third
    c.expect_exact("previous answer: results and payoff")
    c.expect_exact("> ")
    c.sendline("quit")
    c.expect_exact(f"Saved to {s}")
    c.expect_exact("Don't argue price")  # the report
    finish(c)
    assert c.exitstatus == 0

    c = spawn("ask", "--resume", str(s))
    c.expect_exact(f"Continuing the session in {s}")
    c.expect(r"\[Question 3 · about (\d+) left")
    assert left_of(c) == third
    c.expect_exact("> ")
    c.sendline("1")
    c.expect_exact("Question 4")
    c.expect_exact("> ")
    c.sendeof()  # end of input counts as quit
    c.expect_exact(f"Saved to {s}")
    out = finish(c)
    assert c.exitstatus == 0 and "Traceback" not in out
