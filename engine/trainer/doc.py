"""The sales playbook (`zhike rules doc`): the rulebase in sales language, for new reps.

`playbook(rb, lang)` gathers everything a template needs as plain data: each
typology with its classes, the signals that recognise each class (rules in
sales language, with their weights), the advice per sale stage, the sources,
and the graph of how typologies feed each other. `render_doc` fills
templates/doc.html (one self-contained page: inline CSS and SVG, no scripts,
autoescaped) or templates/doc.md.

The dependency graph is drawn here as SVG, laid out in columns by how many
steps of inference a node is from the rep's answers, so the page needs no
JavaScript and no network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..report.describe import class_label, describe, value_label
from ..report.render import bundled_environment, dwidth
from ..rules.model import (
    All,
    ConclusionTest,
    Condition,
    Evidence,
    FactTest,
    Rule,
    Rulebase,
    SetFact,
    Strategy,
    Warn,
    walk,
)

UI = {
    "zh": {
        "title": "销售作战手册", "subtitle": "客户研判与应对", "contents": "目录",
        "intro": "本手册由知识库自动生成。每一种客户分类都说明:有哪些类型、靠哪些信号识别(权重越高,信号越强;"
                 "负数表示反证)、在销售的每个阶段该怎么做,以及出处。",
        "graph": "分类之间的关系", "graph_intro": "箭头表示一个分类(或推出的事实)的结论被另一个分类的规则用到。"
                                                "从左往右,就是系统推理的先后次序。",
        "graph_empty": "各分类相互独立:没有规则用到其他分类的结论。",
        "typology": "分类", "classes": "类型", "class": "类型", "recognise": "如何识别", "advice": "应对策略",
        "signals": "条信号", "strategies_n": "条策略", "weight": "权重", "against": "反证", "against_title": "反证:出现这些信号时,不太像这一类型", "source": "出处",
        "threshold": "结论门槛", "no_signals": "暂无规则能识别这一类型。", "no_advice": "暂无针对这一类型的策略。",
        "derived": "推出的事实", "derived_intro": "这些规则不直接给出分类,而是推出事实,供其他规则使用。",
        "warnings": "提醒", "plans": "组合策略与通用指导",
        "plans_intro": "当几个分类的结论同时成立,或满足某些条件时适用的策略。", "when": "适用条件",
        "general": "通用", "summary": "一句话行动", "priority": "优先级", "questions": "附录一 · 需要了解的信息",
        "questions_intro": "系统会按需提出这些问题;销售员也可以事先了解。", "fact": "信息", "question": "问题",
        "choices": "可选值", "help": "提示", "used_by": "用于", "sources": "附录二 · 出处",
        "cited": "处引用", "rule": "规则", "glance": "一览", "description": "特征", "legend_typology": "分类",
        "legend_fact": "推出的事实", "generated": "生成自知识库", "none": "无",
        "range": "范围", "unit": "单位", "derived_fact": "由规则推出",
    },
    "en": {
        "title": "Sales playbook", "subtitle": "Reading customers and what to do", "contents": "Contents",
        "intro": "Generated from the rulebase. For each way of classifying customers: the types, the signals "
                 "that recognise each (the higher the weight, the stronger the signal; negative = counts "
                 "against), what to do at each stage of the sale, and where it comes from.",
        "graph": "How the classifications connect",
        "graph_intro": "An arrow means a conclusion (or derived fact) is used by the rules of another "
                       "classification. Left to right is the order in which zhike reasons.",
        "graph_empty": "The classifications are independent: no rule uses another one's conclusion.",
        "typology": "Classification", "classes": "Types", "class": "Type", "recognise": "How to recognise it",
        "advice": "What to do", "signals": "signals", "strategies_n": "strategies", "weight": "weight",
        "against": "against", "against_title": "Counter-signals: these make this type less likely", "source": "source", "threshold": "threshold",
        "no_signals": "No rule recognises this type yet.", "no_advice": "No strategy for this type yet.",
        "derived": "Derived facts", "derived_intro": "These rules do not classify; they derive facts that "
                                                    "other rules use.",
        "warnings": "Warnings", "plans": "Combined plans and general guidance",
        "plans_intro": "Advice that applies when several conclusions hold together, or when a condition holds.",
        "when": "applies when", "general": "General", "summary": "the action in one line", "priority": "priority",
        "questions": "Appendix A · What to find out", "questions_intro": "zhike asks these when they matter; "
                                                                        "a rep can also find them out beforehand.",
        "fact": "fact", "question": "question", "choices": "values", "help": "hint", "used_by": "used by",
        "sources": "Appendix B · Sources", "cited": "citations", "rule": "rule", "glance": "At a glance",
        "description": "traits", "legend_typology": "classification", "legend_fact": "derived fact", "generated": "generated from rulebase", "none": "none",
        "range": "range", "unit": "unit", "derived_fact": "derived by rules",
    },
}

# One hue per typology, for section accents and diagram nodes (readable on white, distinct in print).
PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626",
           "#4f46e5", "#ca8a04", "#0d9488", "#9333ea", "#e11d48", "#0284c7", "#16a34a"]


def anchor(kind: str, ident: str) -> str:
    return f"{kind}-{ident}".replace(".", "-")


def _stage_rows(rb: Rulebase, s: Strategy, lang: str) -> list[dict]:
    rows = []
    if "" in s.advice:
        rows.append({"stage": UI[lang]["general"], "text": s.advice[""].get(lang)})
    for sid, stage in rb.stages.items():
        if sid in s.advice:
            rows.append({"stage": stage.label.get(lang), "text": s.advice[sid].get(lang)})
    return rows


def _source(src: Any, lang: str) -> dict:
    return {"seed": src.seed, "section": src.section, "title": src.title, "file": src.file,
            "anchor": anchor("seed", f"{src.seed}-{src.section}")}


def _extra_condition(s: Strategy) -> Condition | None:
    """The strategy's `when:` beyond its `for:` classes (the loader puts the `for:` tests first)."""
    n = len(s.classes)
    if n == 0:
        return s.when
    if isinstance(s.when, All) and len(s.when.items) > n:
        rest = s.when.items[n:]
        return rest[0] if len(rest) == 1 else All(rest, s.when.pos)
    return None


def _strategy(rb: Rulebase, s: Strategy, lang: str) -> dict:
    own = list(s.classes)
    extra = _extra_condition(s)
    return {
        "id": s.id,
        "label": " + ".join(class_label(rb, t, c, lang) for t, c in own) or s.id,
        "classes": [{"typology": t, "class": c, "label": class_label(rb, t, c, lang),
                     "anchor": anchor("class", f"{t}.{c}")} for t, c in own],
        "when": describe(extra, rb, lang) if extra is not None else None,
        "summary": s.summary.get(lang) if s.summary else None,
        "priority": s.priority,
        "advice": _stage_rows(rb, s, lang),
        "source": _source(s.source, lang),
        "anchor": anchor("strategy", s.id),
    }


def _signal(rb: Rulebase, r: Rule, weight: float, lang: str) -> dict:
    return {"id": r.id, "when": describe(r.when, rb, lang), "weight": weight,
            "weight_text": f"{weight:+.2f}", "rationale": r.rationale.get(lang), "source": _source(r.source, lang),
            "width": max(4, round(abs(weight) * 60))}


def playbook(rb: Rulebase, lang: str = "zh") -> dict[str, Any]:
    """Everything the doc templates show, as plain data (strings, numbers, lists, dicts)."""
    ui = UI[lang]
    colour = {tid: PALETTE[i % len(PALETTE)] for i, tid in enumerate(rb.typologies)}
    typologies = []
    placed: set[str] = set()
    for tid, t in rb.typologies.items():
        classes = []
        for cid, c in t.classes.items():
            signals = [_signal(rb, r, e.weight, lang) for r in rb.rules for e in r.then
                       if isinstance(e, Evidence) and e.typology == tid and e.cls == cid]
            signals.sort(key=lambda s: (s["weight"] < 0, -abs(s["weight"])))
            strategies = [_strategy(rb, s, lang) for s in rb.strategies if s.classes == ((tid, cid),)]
            placed.update(s["id"] for s in strategies)
            classes.append({
                "id": cid, "label": c.label.get(lang), "description": c.description.get(lang) if c.description else "",
                "anchor": anchor("class", f"{tid}.{cid}"), "signals": signals,
                "n_for": sum(1 for s in signals if s["weight"] > 0), "strategies": strategies,
            })
        derived = []
        for r in rb.rules:
            if r.typology != tid or any(isinstance(e, Evidence) for e in r.then):
                continue
            effects = []
            for e in r.then:
                if isinstance(e, SetFact):
                    f = rb.facts[e.fact]
                    effects.append(f"{f.label.get(lang)} = {value_label(rb, e.fact, e.value, lang)}")
                elif isinstance(e, Warn):
                    effects.append(f"⚠ {e.text.get(lang)}")
            derived.append({"id": r.id, "when": describe(r.when, rb, lang), "effects": effects,
                            "rationale": r.rationale.get(lang), "source": _source(r.source, lang)})
        typologies.append({
            "id": tid, "label": t.label.get(lang), "description": t.description.get(lang) if t.description else "",
            "anchor": anchor("typology", tid), "colour": colour[tid], "threshold": t.threshold,
            "source": _source(t.source, lang) if t.source else None, "classes": classes, "derived": derived,
        })
    plans = [_strategy(rb, s, lang) for s in rb.strategies if s.id not in placed]
    plans.sort(key=lambda p: (-p["priority"], p["id"]))
    used_by: dict[str, list[str]] = {}
    for r in rb.rules:
        for c in walk(r.when):
            if isinstance(c, FactTest) and r.typology not in used_by.setdefault(c.fact, []):
                used_by[c.fact].append(r.typology)
    setters = {e.fact for r in rb.rules for e in r.then if isinstance(e, SetFact)}
    facts = []
    for fid, f in rb.facts.items():
        rng = None
        if f.type == "number" and (f.min is not None or f.max is not None):
            lo = f"{f.min:g}" if f.min is not None else "…"
            hi = f"{f.max:g}" if f.max is not None else "…"
            rng = f"{lo} – {hi}" + (f" {f.unit.get(lang)}" if f.unit else "")
        facts.append({
            "id": fid, "label": f.label.get(lang), "question": f.question.get(lang),
            "help": f.help.get(lang) if f.help else "", "type": f.type,
            "choices": ([f.label_of(True, lang), f.label_of(False, lang)] if f.type == "bool"
                        else [v.label.get(lang) for v in f.values.values()]), "range": rng,
            "used_by": [{"id": t, "label": rb.typologies[t].label.get(lang), "anchor": anchor("typology", t)}
                        for t in used_by.get(fid, []) if t in rb.typologies],
            "derived": fid in setters,
        })
    cites: dict[tuple[str, str], int] = {}
    for item in [*rb.rules, *rb.strategies]:
        key = (item.source.seed, item.source.section)
        cites[key] = cites.get(key, 0) + 1
    for t in rb.typologies.values():
        if t.source:
            key = (t.source.seed, t.source.section)
            cites[key] = cites.get(key, 0) + 1
    seeds = [{"id": s.id, "file": s.file, "title": s.title.get(lang),
              "sections": [{"id": x.id, "title": x.title, "anchor_text": x.anchor,
                            "anchor": anchor("seed", f"{s.id}-{x.id}"), "cited": cites.get((s.id, x.id), 0)}
                           for x in s.sections.values()]}
             for s in rb.seeds.values()]
    graph = dependency_graph(rb, lang, colour)
    return {
        "lang": lang, "ui": ui,
        "rulebase": {"name": rb.name, "version": rb.version, "title": rb.title.get(lang), "sha256": rb.sha256},
        "typologies": typologies, "plans": plans, "facts": facts, "seeds": seeds,
        "graph": graph, "counts": {"typologies": len(rb.typologies), "rules": len(rb.rules),
                                   "strategies": len(rb.strategies), "facts": len(rb.facts)},
    }


# --- the dependency graph --------------------------------------------------------------------

@dataclass
class Node:
    key: str  # "t:social_style", "f:has_money"
    kind: str  # typology | fact
    label: str
    sub: str  # the id, shown small
    colour: str
    href: str
    layer: int = 0
    order: float = 0.0
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (from, to) -> rule / strategy ids

    def edge(self, a: str, b: str, via: str) -> None:
        if a != b and a in self.nodes and b in self.nodes:
            ids = self.edges.setdefault((a, b), [])
            if via not in ids:
                ids.append(via)


def build_graph(rb: Rulebase, lang: str, colour: dict[str, str] | None = None) -> Graph:
    """Typologies and the derived facts between them.

    Plans that combine typologies are left out: a real rulebase has dozens,
    and they would drown the few edges that show how reasoning flows.
    """
    colour = colour or {}
    g = Graph()
    for tid, t in rb.typologies.items():
        g.nodes[f"t:{tid}"] = Node(f"t:{tid}", "typology", t.label.get(lang), tid, colour.get(tid, PALETTE[0]),
                                   f"#{anchor('typology', tid)}")
    setters: dict[str, list[Rule]] = {}
    for r in rb.rules:
        for e in r.then:
            if isinstance(e, SetFact):
                setters.setdefault(e.fact, []).append(r)
    for fid in setters:
        g.nodes[f"f:{fid}"] = Node(f"f:{fid}", "fact", rb.facts[fid].label.get(lang), fid, "#64748b",
                                   f"#{anchor('fact', fid)}")

    def inputs(cond) -> set[str]:
        out = set()
        for c in walk(cond):
            if isinstance(c, ConclusionTest):
                out.add(f"t:{c.typology}")
            elif isinstance(c, FactTest) and c.fact in setters and c.op != "answered":
                out.add(f"f:{c.fact}")
        return out

    for r in rb.rules:
        targets = {f"t:{e.typology}" for e in r.then if isinstance(e, Evidence)}
        targets |= {f"f:{e.fact}" for e in r.then if isinstance(e, SetFact)}
        for a in sorted(inputs(r.when)):  # sorted: the same page for the same rulebase, every run
            for b in sorted(targets):
                g.edge(a, b, r.id)
    # derived facts no typology uses are noise in this picture
    for k in [k for k in g.nodes if k.startswith("f:")]:
        if not any(k in e for e in g.edges):
            del g.nodes[k]
    return g


def _layout(g: Graph) -> tuple[float, float]:
    preds: dict[str, list[str]] = {k: [] for k in g.nodes}
    for a, b in g.edges:
        preds[b].append(a)
    memo: dict[str, int] = {}

    def layer(k: str, stack: frozenset = frozenset()) -> int:
        if k in memo:
            return memo[k]
        if k in stack:  # a cycle in a broken rulebase: cut it here
            return 0
        lv = 1 + max((layer(p, stack | {k}) for p in preds[k]), default=-1)
        memo[k] = lv
        return lv

    for k, n in g.nodes.items():
        n.layer = layer(k)
        n.w = max(dwidth(n.label), dwidth(n.sub) * 0.85) * 7.4 + 28
        n.h = 46 if n.kind != "fact" else 38
    columns: dict[int, list[Node]] = {}
    for i, n in enumerate(g.nodes.values()):
        n.order = i
        columns.setdefault(n.layer, []).append(n)
    for _ in range(2):  # barycentre ordering: fewer crossings
        for lv in sorted(columns)[1:]:
            for n in columns[lv]:
                ps = [g.nodes[p].order for p in preds[n.key]]
                n.order = sum(ps) / len(ps) if ps else n.order
            columns[lv].sort(key=lambda n: n.order)
            for i, n in enumerate(columns[lv]):
                n.order = i
    gap_x, gap_y, pad = 70, 22, 16
    x = pad
    height = 0.0
    for lv in sorted(columns):
        col = columns[lv]
        width = max(n.w for n in col)
        total = sum(n.h for n in col) + gap_y * (len(col) - 1)
        height = max(height, total)
        for n in col:
            n.x, n.w = x, width
        x += width + gap_x
    for lv in sorted(columns):
        col = columns[lv]
        total = sum(n.h for n in col) + gap_y * (len(col) - 1)
        y = pad + (height - total) / 2
        for n in col:
            n.y = y
            y += n.h + gap_y
    return x - gap_x + pad, height + 2 * pad


def graph_svg(g: Graph, ui: dict[str, str]) -> str:
    """The graph as an inline SVG element; every text is escaped here, since the template cannot."""
    if not g.nodes:
        return ""
    width, height = _layout(g)
    legend_h = 30
    zoom = min(1.3, 860 / width) if width < 860 else 1.0  # small graphs read better a little larger
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {width:.0f} {height + legend_h:.0f}" '
           f'width="{width * zoom:.0f}" height="{(height + legend_h) * zoom:.0f}" role="img" '
           f'aria-label="{escape(ui["graph"])}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>']
    for (a, b), via in g.edges.items():
        na, nb = g.nodes[a], g.nodes[b]
        x1, y1 = na.x + na.w, na.y + na.h / 2
        x2, y2 = nb.x - 2, nb.y + nb.h / 2
        dx = max(30.0, (x2 - x1) / 2)
        out.append(f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} '
                   f'{x2:.1f},{y2:.1f}" fill="none" stroke="#94a3b8" stroke-width="1.6" marker-end="url(#arrow)">'
                   f'<title>{escape(", ".join(via))}</title></path>')
    for n in g.nodes.values():
        rx = 8 if n.kind == "typology" else 19
        fill = "#ffffff" if n.kind != "typology" else n.colour + "14"
        out.append(f'<a href="{escape(n.href)}" class="node {n.kind}"><title>{escape(n.sub)}</title>'
                   f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{n.h:.1f}" rx="{rx}" '
                   f'fill="{fill}" stroke="{n.colour}" stroke-width="{2 if n.kind == "typology" else 1.4}"/>'
                   f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + n.h / 2 - (3 if n.kind != "fact" else -4):.1f}" '
                   f'text-anchor="middle" class="label">{escape(n.label)}</text>')
        if n.kind != "fact":
            out.append(f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + n.h / 2 + 13:.1f}" text-anchor="middle" '
                       f'class="sub">{escape(n.sub)}</text>')
        out.append("</a>")
    ly = height + 8
    x = 16.0
    for kind, text, rx in (("typology", ui["legend_typology"], 5), ("fact", ui["legend_fact"], 9)):
        if not any(n.kind == kind for n in g.nodes.values()):
            continue
        out.append(f'<rect x="{x:.0f}" y="{ly:.0f}" width="26" height="16" rx="{rx}" fill="#fff" '
                   f'stroke="#64748b"/><text x="{x + 32:.0f}" y="{ly + 12:.0f}" class="legend">'
                   f'{escape(text)}</text>')
        x += 48 + dwidth(text) * 7
    out.append("</svg>")
    return "\n".join(out)


def dependency_graph(rb: Rulebase, lang: str, colour: dict[str, str] | None = None) -> dict[str, Any]:
    g = build_graph(rb, lang, colour)
    edges = [{"from": g.nodes[a].sub, "from_label": g.nodes[a].label, "to": g.nodes[b].sub,
              "to_label": g.nodes[b].label, "via": via} for (a, b), via in g.edges.items()]
    return {"svg": graph_svg(g, UI[lang]) if g.edges else "", "edges": edges,
            "mermaid": _mermaid(g) if g.edges else ""}


def _mermaid(g: Graph) -> str:
    ids = {k: f"n{i}" for i, k in enumerate(g.nodes)}
    lines = ["flowchart LR"]
    for k, n in g.nodes.items():
        text = _mermaid_text(n.label)
        shape = f'["{text}"]' if n.kind == "typology" else f'(["{text}"])'
        lines.append(f"  {ids[k]}{shape}")
    for a, b in g.edges:
        lines.append(f"  {ids[a]} --> {ids[b]}")
    return "\n".join(lines)


def _mermaid_text(label: str) -> str:
    """A node label safe inside `["…"]` of a fenced mermaid block: one line, no quote, no HTML,
    no backtick fence (Mermaid's #code; entities show the characters)."""
    out = " ".join(str(label).split())
    for ch, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;"),
                     ("&", "#amp;")):
        out = out.replace(ch, code)
    return out


def render_doc(rb: Rulebase, fmt: str = "html", lang: str = "zh") -> str:
    """The playbook as a self-contained HTML page or as Markdown (every value escaped for it)."""
    from markupsafe import Markup

    data = playbook(rb, lang)
    env = bundled_environment(fmt)
    if fmt == "html":
        data["graph"]["svg"] = Markup(data["graph"]["svg"])  # built and escaped by graph_svg
    else:
        data["graph"]["mermaid"] = Markup(data["graph"]["mermaid"])  # built safe by _mermaid
    tpl = env.get_template("doc.html" if fmt == "html" else "doc.md")
    return tpl.render(**data)
