"""`zhike rules doc`: the sales playbook (engine/doc.py, templates/doc.html, templates/doc.md)."""
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
    r = zhike("rules", "doc", str(mini_copy), "-o", str(out))
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
