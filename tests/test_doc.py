"""`zhike rules doc`: the sales playbook (engine/trainer/doc.py, templates/doc.html, templates/doc.md)."""
import re

import pytest
from markupsafe import escape

from conftest import zhike
from engine.trainer.doc import build_graph, render_doc

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bundled_playbook_is_complete_and_self_contained(bundled_rb, lang):
    html = render_doc(bundled_rb, "html", lang)
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html.lower() and not EXTERNAL.search(html)
    assert 'href="#graph"' in html and 'id="questions"' in html and 'id="sources"' in html  # table of contents
    for tid, t in bundled_rb.typologies.items():
        assert f'id="typology-{tid}"' in html and f'href="#typology-{tid}"' in html
        assert str(escape(t.label.get(lang))) in html
        for cid, c in t.classes.items():
            assert f'id="class-{tid}-{cid}"' in html, (tid, cid)
            assert str(escape(c.label.get(lang))) in html
    for s in bundled_rb.strategies:
        assert f"<code>{s.id}</code>" in html
    for r in bundled_rb.rules:
        assert f"<code>{r.id}</code>" in html
    svg = html[html.index('id="graph"'):]
    svg = svg[svg.index("<svg"):svg.index("</svg>")]
    assert "<path" in svg and 'marker-end="url(#arrow)"' in svg and "<rect" in svg


def test_markdown_has_every_typology_and_a_mermaid_graph(bundled_rb):
    md = render_doc(bundled_rb, "md", "en")
    for tid, t in bundled_rb.typologies.items():
        assert f"## {t.label.en} (`{tid}`)" in md
        for cid in t.classes:
            assert f'<a id="class-{tid}-{cid}"></a>' in md
    assert "```mermaid\nflowchart LR" in md


def test_dependency_graph_of_the_mini_rulebase(mini_rb):
    g = build_graph(mini_rb, "en")
    assert {(a, b): v for (a, b), v in g.edges.items()} == {
        ("t:social_style", "t:social_style2"): ["s.rich_tiger", "t.big"],
        ("f:rich", "t:social_style2"): ["s.rich_tiger"],
    }
    assert g.nodes["f:rich"].kind == "fact"


MALICIOUS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_rulebase_text_is_escaped_everywhere(mini_copy, tmp_path):
    s = mini_copy / "typologies" / "s.yaml"
    text = s.read_text(encoding="utf-8").replace("rationale: {zh: 快, en: fast}",
                                                 f"rationale: {{zh: '{MALICIOUS}', en: '{MALICIOUS}'}}")
    s.write_text(text.replace("{zh: 虎, en: tiger}", "{zh: '<b>虎</b>&', en: '<b>tiger</b>&'}"), encoding="utf-8")
    t = mini_copy / "typologies" / "t.yaml"
    t.write_text(t.read_text(encoding="utf-8").replace("{zh: 风格2, en: style2}", "{zh: '</text><svg onload=x>', "
                                                       "en: '</text><svg onload=x>'}"), encoding="utf-8")
    out = tmp_path / "doc.html"
    r = zhike("rules", "doc", str(mini_copy), "--lang", "zh", "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;虎&lt;/b&gt;&amp;" in html
    assert "&lt;/text&gt;&lt;svg onload=x&gt;" in html  # the typology label inside the SVG graph
    assert html.count("<svg") == 1


def test_cli_markdown_in_english_to_stdout(mini_copy):
    r = zhike("rules", "doc", str(mini_copy), "--format", "md", "--lang", "en")
    assert r.returncode == 0 and r.stdout.startswith("# Sales playbook · mini")
    assert "### tiger (`tiger`)" in r.stdout and "```mermaid" in r.stdout


def test_broken_rulebase_is_a_usage_error(tmp_path):
    r = zhike("rules", "doc", str(tmp_path / "nope"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


# --- trainer notes, example sentences and the trainer index (issue 11) -----------------------------

def _ids(rb) -> list[str]:
    return [r.id for r in rb.rules] + [s.id for s in rb.strategies]


def _mentions(text: str, ident: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(ident)}(?![\w.])", text) is not None


def _without_notes(text: str) -> str:
    """The text without trainer notes (a note may name a rule: it is written for trainers)."""
    text = re.sub(r'<div class="note">.*?</div>', "", text)
    return "\n".join(x for x in text.splitlines() if "*Trainer note:*" not in x and "*培训师备注：*" not in x)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rule_and_strategy_ids_only_in_the_trainer_index(bundled_rb, lang):
    html = render_doc(bundled_rb, "html", lang)
    main, index = html.split('id="trainer-index"')
    main = _without_notes(main)
    assert [i for i in _ids(bundled_rb) if _mentions(main, i)] == []
    assert all(f"<code>{i}</code>" in index for i in _ids(bundled_rb))
    md = render_doc(bundled_rb, "md", lang)
    main, index = md.split('<a id="trainer-index"></a>')
    main = _without_notes(main)
    assert [i for i in _ids(bundled_rb) if _mentions(main, i)] == []
    assert all(f"`{i}`" in index for i in _ids(bundled_rb))


NOTED = """\
    rationale: {zh: 快, en: fast}
    examples: [我赶时间, "be quick <i>*now*</i>"]
    note: {zh: 种子 001 说老虎快 <b>注</b>, en: seed 001 says tigers are fast <b>n</b>}
"""


def _noted(mini_copy):
    s = mini_copy / "typologies" / "s.yaml"
    text = s.read_text(encoding="utf-8").replace("    rationale: {zh: 快, en: fast}\n", NOTED, 1)
    text = text.replace("    - {id: owl, label: {zh: 鹰, en: owl}}",
                        "    - {id: owl, label: {zh: 鹰, en: owl}, note: 这个类型还缺识别规则}")
    text = text.replace("      opening: {zh: 直接, en: direct}\n",
                        "      opening: {zh: 直接, en: direct}\n    note: {zh: 按 001 的说法, en: after seed 001}\n")
    s.write_text(text, encoding="utf-8")
    from engine.rules.loader import load_rulebase

    return load_rulebase(mini_copy)


def test_notes_are_marked_for_trainers_and_examples_shown_html(mini_copy):
    rb = _noted(mini_copy)
    zh = render_doc(rb, "html", "zh")
    assert '<div class="note"><span class="tag">培训师备注</span>种子 001 说老虎快 &lt;b&gt;注&lt;/b&gt;</div>' in zh
    assert '<span class="tag">培训师备注</span>这个类型还缺识别规则</div>' in zh  # a class's note
    assert '<span class="tag">培训师备注</span>按 001 的说法</div>' in zh  # a strategy's note
    assert '<li>我赶时间</li><li>be quick &lt;i&gt;*now*&lt;/i&gt;</li>' in zh
    en = render_doc(rb, "html", "en")
    assert '<span class="tag">Trainer note</span>seed 001 says tigers are fast &lt;b&gt;n&lt;/b&gt;</div>' in en
    assert "<b>" not in zh + en and "<i>" not in zh + en


def test_notes_and_examples_in_markdown(mini_copy):
    rb = _noted(mini_copy)
    en = render_doc(rb, "md", "en")
    signal = en[en.index("**+0.60**"):]
    assert signal.splitlines()[1:4] == ["  - *Example:* “我赶时间”", "  - *Example:* “be quick &lt;i&gt;\\*now\\*&lt;/i&gt;”",
                                        "  - *Trainer note:* seed 001 says tigers are fast &lt;b&gt;n&lt;/b&gt;"]
    assert "> *Trainer note:* 这个类型还缺识别规则" in en and "- *Trainer note:* after seed 001" in en
    zh = render_doc(rb, "md", "zh")
    assert "  - *例句：* “我赶时间”" in zh and "*培训师备注：* 这个类型还缺识别规则" in zh


def test_trainer_index_says_where_each_id_appears_and_is_written(mini_rb):
    md = render_doc(mini_rb, "md", "en")
    index = md[md.index('<a id="trainer-index"></a>'):]
    assert ("| `s.notguard` | rule | [tiger · style](#rule-s-notguard--social_style-tiger), "
            "[owl · style](#rule-s-notguard--social_style-owl) | `typologies/s.yaml:13` |") in index
    assert "| `s.tiger.play` | strategy | [tiger · style](#strategy-s-tiger-play) | `typologies/s.yaml:" in index
    assert "- style → style2: `s.rich_tiger`, `t.big`" in index  # the rules behind the graph's arrows
    assert '<a id="rule-s-notguard--social_style-owl"></a>' in md  # the links land somewhere


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_headings_come_from_the_catalogue_in_each_language(mini_rb, fmt):
    zh, en = render_doc(mini_rb, fmt, "zh"), render_doc(mini_rb, fmt, "en")
    for zh_text, en_text in (("销售作战手册", "Sales playbook"), ("如何识别", "How to recognise it"),
                             ("附录三 · 培训师索引", "Appendix C · Trainer index"), ("6 处引用", "6 citations")):
        assert zh_text in zh and en_text not in zh, en_text
        assert en_text in en and zh_text not in en, zh_text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_advice_that_takes_the_place_of_other_advice_says_so(bundled_rb, fmt):
    """A strategy that supersedes another names it: reading the playbook, a trainer sees why a class
    has two objection-handling blocks and which one a rep is shown."""
    from engine.trainer.doc import playbook

    book = playbook(bundled_rb, "zh")
    entries = [s for t in book["typologies"] for c in t["classes"] for s in c["strategies"]] + book["plans"]
    superseding = [s for s in bundled_rb.strategies if s.supersedes]
    assert superseding, "the bundled rulebase declares no `supersedes:`"
    by_id = {e["id"]: e for e in entries}
    for s in superseding:
        replaces = by_id[s.id]["replaces"]
        assert len(replaces) == len(s.supersedes) and all(r["text"] and r["anchor"] for r in replaces)
    text = render_doc(bundled_rb, fmt, "zh")
    assert text.count("适用时，销售看到的是这一条，而不是") == len(superseding)
