"""Issue 9, item 18: customers' words and rule text must not inject Markdown or HTML.

`classify --format md` and `rules doc --format md` interpolate an utterance and a
rule's rationale that hold a newline, a heading, a javascript: link, a <script>
tag and table pipes. The Markdown must show them as text: no injected heading,
no raw <script>, no live link, and every table row keeps its column count.
"""
from __future__ import annotations

import re

import yaml

from conftest import zhike

EVIL = "foo\n# Injected\n[x](javascript:alert(1)) <script>alert(1)</script> | col |"


def _evil_rulebase(rb):
    """The mini rulebase plus a rule that quotes the customer and has EVIL as its rationale."""
    s = rb / "typologies" / "s.yaml"
    doc = yaml.safe_load(s.read_text(encoding="utf-8"))
    doc["rules"].append({
        "id": "s.said_foo",
        "when": {"said": {"zh": ["foo"], "en": ["foo"]}},
        "then": [{"class": "tiger", "weight": 0.4}],
        "rationale": {"zh": EVIL, "en": EVIL},
        "source": {"seed": "001", "section": "topk"},
    })
    doc["typology"]["classes"][0]["description"] = {"zh": EVIL, "en": EVIL}
    s.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return rb


def _unescaped_pipes(line: str) -> int:
    n, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        n += line[i] == "|"
        i += 1
    return n


def _tables(md: str) -> list[list[str]]:
    """Each GFM table as its lines (header, delimiter row, body rows)."""
    lines = md.splitlines()
    tables = []
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(?:-+\|)+", line.strip()) and i > 0:
            rows = [lines[i - 1], line]
            j = i + 1
            while j < len(lines) and lines[j].strip():
                rows.append(lines[j])
                j += 1
            tables.append(rows)
    return tables


def _assert_safe(md: str, what: str) -> None:
    assert "foo" in md, f"{what}: the evil text is not in the output at all, the test proves nothing"
    for line in md.splitlines():
        assert not line.lstrip().startswith("# Injected"), f"{what}: injected heading: {line!r}"
    assert "<script" not in md.lower(), f"{what}: raw <script>"
    assert not re.search(r"(?<!\\)\]\(javascript:", md), f"{what}: live javascript: link"
    assert "&lt;script&gt;" in md
    tables = _tables(md)
    assert tables, f"{what}: no table found"
    for rows in tables:
        want = _unescaped_pipes(rows[0])
        for row in rows[1:]:
            assert row.startswith("|"), f"{what}: a table row was broken by a newline: {row!r}"
            assert _unescaped_pipes(row) == want, f"{what}: column count changed: {row!r}"


def test_classify_markdown_escapes_customer_words_and_rule_text(mini_copy, tmp_path):
    rb = _evil_rulebase(mini_copy)
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"name": EVIL, "facts": {"pace": "fast"}, "utterances": [EVIL]},
                                      allow_unicode=True), encoding="utf-8")
    for lang in ("en", "zh"):
        r = zhike("classify", str(profile), "--rulebase", str(rb), "--format", "md", "--lang", lang, "--detail", "--debug")
        assert r.returncode == 0, r.stderr
        assert "s.said_foo" in r.stdout  # the rule quoting the customer fired and is shown
        _assert_safe(r.stdout, f"classify md {lang}")


def test_rules_doc_markdown_escapes_rule_text(mini_copy):
    rb = _evil_rulebase(mini_copy)
    r = zhike("rules", "doc", str(rb), "--format", "md", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "s.said_foo" in r.stdout
    _assert_safe(r.stdout, "rules doc md")


def test_markdown_escape_function():
    from engine.report.render import md_code, md_escape

    assert md_escape("a\nb\r\nc\u2028d") == "a b c d"
    assert md_escape("# h") == "\\# h" and md_escape("- x") == "\\- x" and md_escape("1. x") == "1\\. x"
    assert md_escape("[x](y)") == "\\[x\\](y)" and md_escape("a|b") == "a\\|b"
    assert md_escape("<b>&") == "&lt;b&gt;&amp;"
    assert md_escape("*_`~\\") == "\\*\\_\\`\\~\\\\"
    # prose and numbers stay readable: periods, hyphens and signs are only escaped where they start a block
    assert md_escape("-0.20 e.g. a-b (x) {y} no_budget") == "-0.20 e.g. a-b (x) {y} no_budget"
    assert md_escape("_em_ *b*") == "\\_em\\_ \\*b\\*"
    assert md_code("a`b|c") == "``a`b\\|c``" and md_code("x\ny") == "`x y`"
