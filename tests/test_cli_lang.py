"""The language of a run: --lang, else ZHIKE_LANG, else the locale, else zh; and everything the command line
says, click's own words included, in that language.

The bad inputs below are the ones users hit most: a profile answer that is
not an option, an option that does not exist, a file that is not there, a
column mapping with mistakes, a missing argument, a choice that is not one.
In Chinese their messages have no English word (proper names, file names,
options and the user's own quoted input aside); in English no Chinese.
"""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from conftest import MINI, ROOT, zhike

BUNDLED = ("--rulebase", str(ROOT / "rulebase"))
LANG_VARIABLES = ("ZHIKE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# names that stay as they are in Chinese text: formats, encodings, acronyms, products
PROPER = {"zhike", "YAML", "JSON", "JSONL", "CSV", "XLSX", "UTF", "GBK", "GB", "BOM", "MAN", "TOPK", "CRM", "MiB",
          "MB", "Excel", "Jinja", "HubSpot", "Salesforce", "BANT", "DTD", "XML", "NUL", "ZHIKE", "LANG", "DEBUG",
          "RULEBASE", "Schema"}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@pytest.fixture(autouse=True)
def _no_language_in_the_environment(monkeypatch):
    for var in LANG_VARIABLES:
        monkeypatch.delenv(var, raising=False)


def english_words(text: str, *user_words: str) -> list[str]:
    """The English words of a message, leaving out what is not prose: file names, options, quoted literal
    values and commands, the user's own words, and proper names."""
    for w in user_words:
        text = text.replace(w, " ")
    text = re.sub(r"\[[a-z][a-z0-9-]*\]$", " ", text, flags=re.M)  # a problem's check id, for tools (actionlint style)
    text = re.sub(r"\S*/\S*", " ", text)  # paths
    text = re.sub(r"`[^`]*`", " ", text)  # commands to type
    text = re.sub(r"'[^']*'", " ", text)  # literal values, quoted
    text = re.sub(r"--?[a-z][a-z-]*", " ", text)  # options
    text = re.sub(r"\bzhike [a-z]+", " ", text)  # command names
    text = re.sub(r"\$[A-Z_]+", " ", text)  # environment variables
    proper = {p.upper() for p in PROPER}
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.upper() not in proper]


def _help(*args: str, **env: str) -> str:
    r = zhike(*args, "--help", env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


# --- which language ---------------------------------------------------------------------

@pytest.mark.parametrize("env,args,lang", [
    ({}, (), "zh"),  # nothing set: Chinese
    ({"LANG": "C.UTF-8"}, (), "zh"),  # a locale that is neither: Chinese
    ({"LANG": "en_US.UTF-8"}, (), "en"),
    ({"LANG": "zh_CN.UTF-8"}, (), "zh"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, (), "en"),  # LC_ALL before LANG
    ({"LANG": "en_US.UTF-8", "ZHIKE_LANG": "zh"}, (), "zh"),  # ZHIKE_LANG before the locale
    ({"LANG": "zh_CN.UTF-8", "ZHIKE_LANG": "en"}, (), "en"),
    ({"ZHIKE_LANG": "zh"}, ("--lang", "en"), "en"),  # --lang before everything
    ({"ZHIKE_LANG": "en"}, ("--lang=zh",), "zh"),
    ({"ZHIKE_LANG": "fr", "LANG": "en_GB.UTF-8"}, (), "en"),  # an unknown ZHIKE_LANG is passed over
])
def test_the_language_of_a_run(env, args, lang):
    text = _help("batch", *args, **env)
    if lang == "zh":
        assert text.startswith("用法: zhike batch [选项] 输入文件") and "显示本说明后退出。" in text
    else:
        assert text.startswith("Usage: zhike batch [OPTIONS] INPUT") and "Show this message and exit." in text
        assert not CJK.search(text)


def test_lang_before_the_command_sets_it_too():
    r = zhike("--lang", "en", "facts", "--rulebase", str(MINI), env={"ZHIKE_LANG": "zh"})
    assert r.returncode == 0 and "yes/no" in r.stdout and "是/否" not in r.stdout
    r = zhike("--lang", "zh", "facts", "--rulebase", str(MINI), env={"ZHIKE_LANG": "en"})
    assert r.returncode == 0 and "是/否" in r.stdout


# --- help ------------------------------------------------------------------------------------

def test_top_help_in_chinese():
    text = _help(LANG="zh_CN.UTF-8")
    assert text.startswith("用法: zhike [选项] 命令 [参数]...")
    for heading in ("选项:", "命令:"):
        assert f"\n{heading}\n" in text
    assert "知客" in text and "显示版本号后退出。" in text
    for command in ("ask", "batch", "classify", "facts", "rules", "serve"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(command + " "))
        assert CJK.search(line), line  # its one-line summary is Chinese
    # beyond the command names and the language codes, no English
    assert set(english_words(text)) == {"ask", "batch", "classify", "facts", "rules", "serve", "zh", "en"}


def test_top_help_in_english():
    text = _help(LANG="en_US.UTF-8")
    assert text.startswith("Usage: zhike [OPTIONS] COMMAND [ARGS]...")
    assert "\nOptions:\n" in text and "\nCommands:\n" in text and "Show the version and exit." in text
    assert not CJK.search(text)


@pytest.mark.parametrize("command", [("classify",), ("facts",), ("ask",), ("batch",), ("rules",), ("rules", "check"),
                                     ("rules", "test"), ("rules", "doc"), ("rules", "schema")])
def test_every_commands_help_in_both_languages(command):
    zh = _help(*command, ZHIKE_LANG="zh")
    assert zh.startswith("用法: zhike " + " ".join(command))
    options: list[str] = []  # each option with its explanation (which may start on the next line)
    for ln in zh.splitlines():
        if ln.startswith("  -"):
            options.append(ln)
        elif options and ln.startswith("    "):
            options[-1] += ln
    assert options
    for opt in options:
        assert CJK.search(opt), opt  # every option is explained in Chinese
    en = _help(*command, ZHIKE_LANG="en")
    assert en.startswith("Usage: zhike " + " ".join(command)) and not CJK.search(en)


def test_chinese_help_wraps_by_display_width():
    from engine.report.textwidth import dwidth

    text = _help("batch", ZHIKE_LANG="zh", COLUMNS="80")
    assert max(dwidth(ln) for ln in text.splitlines()) <= 80


# --- bad inputs: the message in the user's language -----------------------------------------

def _bad_map(tmp_path):
    m = tmp_path / "map.yaml"
    m.write_text("columns:\n  A: paec\n  B: {fact: guard, values: {x: perhaps}}\n  C: {fact: pace, rangs: []}\n",
                 encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text("A,B,C\nfast,x,1\n", encoding="utf-8")
    return zhike("batch", str(src), "--map", str(m), "--rulebase", str(MINI))


def _bad_value(tmp_path, value: str):
    p = tmp_path / "p.yaml"
    p.write_text(f"facts:\n  objection_type: {value}\n", encoding="utf-8")
    return zhike("classify", str(p), *BUNDLED)


BAD_INPUTS = {
    "bad profile value": lambda tmp_path, lang: _bad_value(tmp_path, "嫌贵" if lang == "zh" else "too pricey"),
    "unknown option": lambda tmp_path, lang: zhike("batch", "in.csv", "--nope"),
    "missing profile": lambda tmp_path, lang: zhike("classify", str(tmp_path / "nope.yaml"), *BUNDLED),
    "missing batch input": lambda tmp_path, lang: zhike("batch", str(tmp_path / "nope.csv"), *BUNDLED),
    "missing --map file": lambda tmp_path, lang: zhike("batch", "in.csv", "--map", str(tmp_path / "nope.yaml")),
    "bad map": lambda tmp_path, lang: _bad_map(tmp_path),
    "missing argument": lambda tmp_path, lang: zhike("classify"),
    "bad choice": lambda tmp_path, lang: zhike("classify", "-", "--format", "pdf", input="{}"),
    "unknown result column": lambda tmp_path, lang: zhike("batch", "-", "--columns", "social_styel",
                                                          "--rulebase", str(MINI), input="pace\nfast\n"),
}
# the result columns are named by id in the output (a message lists them as they are to be typed)
RESULT_COLUMNS = ("social_style", "social_style_confidence", "social_style2", "social_style2_confidence",
                  "next_best_action", "reason", "missing", "rulebase_sha256", "_warnings")


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_in_chinese_has_no_english(tmp_path, monkeypatch, case):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    r = BAD_INPUTS[case](tmp_path, "zh")
    assert r.returncode == 2 and r.stderr.strip() and "Traceback" not in r.stderr
    assert CJK.search(r.stderr), r.stderr
    assert english_words(r.stderr, *sorted(RESULT_COLUMNS, key=len, reverse=True)) == [], r.stderr


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_in_english_has_no_chinese(tmp_path, monkeypatch, case):
    monkeypatch.setenv("ZHIKE_LANG", "en")
    r = BAD_INPUTS[case](tmp_path, "en")
    assert r.returncode == 2 and r.stderr.strip() and "Traceback" not in r.stderr
    assert not CJK.search(r.stderr.replace("是/否", "")), r.stderr  # 是/否: the Chinese answers that are accepted


def test_the_example_of_the_issue(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    r = _bad_value(tmp_path, "嫌贵")
    assert "'嫌贵' 不是\"拒绝类型\"的选项;你是不是指\"永远嫌贵型\"?" in r.stderr


def test_unknown_option_and_missing_argument_word_for_word(monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    r = zhike("batch", "in.csv", "--nope")
    assert r.stderr.splitlines() == ["用法: zhike batch [选项] 输入文件", "运行 'zhike batch --help' 查看用法。", "",
                                     "错误: 没有 '--nope' 这个选项。"]
    r = zhike("classify")
    assert r.stderr.splitlines()[-1].startswith("错误: 缺少参数 '客户资料'")
    monkeypatch.setenv("ZHIKE_LANG", "en")
    r = zhike("batch", "in.csv", "--nope")
    assert r.stderr.splitlines()[-1] == "Error: No such option '--nope'."


# --- what a run says -------------------------------------------------------------------------

def _prospects(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,pace,guard\n1,fast,yes\n2,slow,perhaps\n3,fast\n", encoding="utf-8")
    return src


def test_batch_summary_and_rejects_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    src = _prospects(tmp_path)
    out = tmp_path / "out.csv"
    r = zhike("batch", str(src), "-o", str(out), "--rulebase", str(MINI), "--on-bad-value", "reject")
    assert r.returncode == 1
    assert f"zhike batch: 读入 3 行 = 已判断 1 行 + 退回 2 行;结果: {out}" in r.stderr
    assert english_words(r.stderr) == [], r.stderr
    rejects = list(csv.reader(io.StringIO((tmp_path / "out.rejects.csv").read_text(encoding="utf-8-sig"))))
    assert rejects[0][-3:] == ["_row", "_error_code", "_error"]
    reasons = [row[-1] for row in rejects[1:]]
    assert reasons == ["\"guard\"列: \"戒备\"只能填 是 或 否,不能填 'perhaps'", "这一行有 2 个格子,表头有 3 列"]
    for reason in reasons:
        assert CJK.search(reason) and english_words(reason, '"guard"') == [], reason  # the header is the user's


def test_batch_summary_in_english_counts_rows_right(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "en")
    src = tmp_path / "one.csv"
    src.write_text("pace\nfast\n", encoding="utf-8")
    r = zhike("batch", str(src), "--rulebase", str(MINI))
    assert "zhike batch: 1 row in = 1 classified + 0 rejected; output: stdout" in r.stderr
    assert not CJK.search(r.stderr)


def test_explain_map_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    src = _prospects(tmp_path)
    r = zhike("batch", "--explain-map", str(src), "--rulebase", str(MINI), "--on-bad-value", "reject")
    assert r.returncode == 1, r.stderr  # rows would be rejected
    text = r.stdout
    assert "3 列中有 2 列对上了 2 项情况;1 列不用(原样保留在结果里)" in text
    assert "检查了前 3 行: 会退回 2 行" in text
    # the result columns are the output's column names (ids by design); the rest is Chinese
    prose = "\n".join(ln for ln in text.splitlines() if not ln.startswith("结果列:"))
    assert english_words(prose, "id", "pace", "guard", "bad-value", "columns") == [], prose


def test_facts_speaks_the_language_of_reps(monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    r = zhike("facts", "--rulebase", str(MINI))
    assert r.returncode == 0
    assert "选项: 快 / 慢" in r.stdout and "是/否" in r.stdout and "数字 ≥ 0" in r.stdout
    assert "可用名称: 节奏 · pace" in r.stdout
    for word in ("bool", "enum", "number"):
        assert word not in r.stdout
    monkeypatch.setenv("ZHIKE_LANG", "en")
    r = zhike("facts", "--rulebase", str(MINI))
    assert "choice: fast / slow" in r.stdout and "yes/no" in r.stdout and "names: 节奏 · pace" in r.stdout


def test_facts_are_grouped_by_topic_in_the_manifests_order(mini_copy, monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "zh")
    manifest = mini_copy / "rulebase.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "topics:\n"
                        "  - {id: words, label: {zh: 客户的话, en: Their words}}\n"
                        "  - {id: money, label: {zh: 钱, en: Money}}\n", encoding="utf-8")
    facts = mini_copy / "facts" / "f.yaml"
    text = facts.read_text(encoding="utf-8")
    text = text.replace("    label: {zh: 预算, en: budget}", "    topic: money\n    label: {zh: 预算, en: budget}")
    text = text.replace("    label: {zh: 有钱, en: rich}", "    topic: money\n    label: {zh: 有钱, en: rich}")
    text = text.replace("    label: {zh: 原话, en: words}", "    topic: words\n    label: {zh: 原话, en: words}")
    facts.write_text(text, encoding="utf-8")
    r = zhike("facts", "--rulebase", str(mini_copy))
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("\n\n", 1)[1]  # after the introduction
    order = [ln for ln in body.splitlines() if ln and not ln.startswith(" ")]  # headings and facts, in order
    assert [ln for ln in order if ln.startswith("==")] == ["== 客户的话 ==", "== 钱 ==", "== 其他情况 =="]
    labels = [ln.split()[0] for ln in order if not ln.startswith("==")]
    assert labels == ["原话", "预算", "有钱", "节奏", "戒备"]  # by topic, then the rest in catalogue order
    assert order.index("== 钱 ==") < order.index(next(ln for ln in order if ln.startswith("预算")))
    r = zhike("facts", "--rulebase", str(mini_copy), "--json")
    assert {f["id"]: f["topic"] for f in json.loads(r.stdout)}["budget"] == "money"
