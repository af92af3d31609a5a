"""The sales playbook (`zhike rules doc`): the rulebase in sales language, the trainers' document.

`playbook(rb, lang)` gathers everything a template needs as plain data: each
typology with its classes, the signals that recognise each class (rules in
sales language, with their weights and example sentences), the advice per sale
stage, the trainers' notes (marked as such), the sources, and the graph of how
typologies feed each other. Rule and strategy ids stay out of the main text:
a trainer appendix indexes each id to where it appears and to its YAML file.

`render_doc` fills templates/doc.html (one self-contained page: inline CSS and
SVG, no scripts, autoescaped) or templates/doc.md, in an environment with the
message catalogue installed (Jinja's i18n extension), in the language asked for.

The dependency graph is drawn here as SVG, laid out in columns by how many
steps of inference a node is from the rep's answers, so the page needs no
JavaScript and no network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from ..i18n import _, ngettext, use
from ..report.describe import class_label, describe, value_label
from ..report.render import bundled_environment, dwidth
from ..rules.model import (
    All,
    ClassDef,
    ConclusionTest,
    Condition,
    Evidence,
    FactDef,
    FactTest,
    Rule,
    Rulebase,
    SetFact,
    Strategy,
    Typology,
    Warn,
    walk,
)

# One hue per typology, for section accents and diagram nodes (readable on white, distinct in print).
PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626",
           "#4f46e5", "#ca8a04", "#0d9488", "#9333ea", "#e11d48", "#0284c7", "#16a34a"]


def anchor(kind: str, ident: str) -> str:
    return f"{kind}-{ident}".replace(".", "-")


def _note(item: Rule | Strategy | ClassDef | Typology | FactDef, lang: str) -> str | None:
    """The trainer's note of a rule, strategy, class, typology or fact, if it has one."""
    return item.note.get(lang) if item.note is not None else None


def _stage_rows(rb: Rulebase, s: Strategy, lang: str) -> list[dict]:
    rows = []
    if "" in s.advice:
        rows.append({"stage": _("General"), "text": s.advice[""].get(lang)})
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
        "label": " + ".join(class_label(rb, t, c, lang) for t, c in own)
                 or (s.summary.get(lang) if s.summary else _("General")),
        "classes": [{"typology": t, "class": c, "label": class_label(rb, t, c, lang),
                     "anchor": anchor("class", f"{t}.{c}")} for t, c in own],
        "when": describe(extra, rb, lang) if extra is not None else None,
        "summary": s.summary.get(lang) if s.summary else None,
        "priority": s.priority,
        "advice": _stage_rows(rb, s, lang),
        "source": _source(s.source, lang),
        "anchor": anchor("strategy", s.id),
        "note": _note(s, lang),
        # what a rep no longer sees when this one fires too (report.screen drops superseded advice)
        "replaces": [{"text": _strategy_name(rb, t, lang), "anchor": anchor("strategy", t.id)}
                     for sid in s.supersedes or () for t in rb.strategies if t.id == sid],
    }


def _strategy_name(rb: Rulebase, s: Strategy, lang: str) -> str:
    """A strategy as the playbook names it: its one-line action, else the classes it is for."""
    if s.summary:
        return s.summary.get(lang)
    return " + ".join(class_label(rb, t, c, lang) for t, c in s.classes) or _("General")


def _signal(rb: Rulebase, r: Rule, tid: str, cid: str, weight: float, lang: str) -> dict:
    return {"id": r.id, "when": describe(r.when, rb, lang), "weight": weight,
            "weight_text": f"{weight:+.2f}", "rationale": r.rationale.get(lang), "source": _source(r.source, lang),
            "width": max(4, round(abs(weight) * 60)), "examples": list(r.examples),
            "note": _note(r, lang), "anchor": anchor("rule", f"{r.id}--{tid}.{cid}")}


def _yaml_place(rb: Rulebase, item: Rule | Strategy) -> str:
    """`typologies/x.yaml:12`: where a trainer edits it, the same wherever the command runs."""
    path = Path(item.pos.file)
    try:
        path = path.resolve().relative_to(Path(rb.root).resolve())
    except (OSError, ValueError):
        path = Path(path.name)
    return f"{path.as_posix()}:{item.pos.line}"


def trainer_index(rb: Rulebase, typologies: list[dict], plans: list[dict]) -> list[dict]:
    """Every rule and strategy id with where it appears in the playbook and where it is written."""
    places: dict[str, list[dict]] = {}
    for t in typologies:
        for c in t["classes"]:
            here = f"{c['label']} · {t['label']}"
            for s in c["signals"]:
                places.setdefault(s["id"], []).append({"label": here, "anchor": s["anchor"]})
            for s in c["strategies"]:
                places.setdefault(s["id"], []).append({"label": here, "anchor": s["anchor"]})
        for d in t["derived"]:
            places.setdefault(d["id"], []).append({"label": _("Derived facts · {typology}", typology=t["label"]),
                                                   "anchor": d["anchor"]})
    for p in plans:
        places.setdefault(p["id"], []).append({"label": p["label"], "anchor": p["anchor"]})
    out = [{"id": r.id, "kind": _("rule"), "file": _yaml_place(rb, r), "places": places.get(r.id, [])}
           for r in rb.rules]
    out += [{"id": s.id, "kind": _("strategy"), "file": _yaml_place(rb, s), "places": places.get(s.id, [])}
            for s in rb.strategies]
    return sorted(out, key=lambda x: x["id"])


def playbook(rb: Rulebase, lang: str = "zh") -> dict[str, Any]:
    """Everything the doc templates show, as plain data (strings, numbers, lists, dicts)."""
    colour = {tid: PALETTE[i % len(PALETTE)] for i, tid in enumerate(rb.typologies)}
    typologies = []
    placed: set[str] = set()
    for tid, t in rb.typologies.items():
        classes = []
        for cid, c in t.classes.items():
            signals = [_signal(rb, r, tid, cid, e.weight, lang) for r in rb.rules for e in r.then
                       if isinstance(e, Evidence) and e.typology == tid and e.cls == cid]
            signals.sort(key=lambda s: (s["weight"] < 0, -abs(s["weight"])))
            strategies = [_strategy(rb, s, lang) for s in rb.strategies if s.classes == ((tid, cid),)]
            placed.update(s["id"] for s in strategies)
            classes.append({
                "id": cid, "label": c.label.get(lang), "description": c.description.get(lang) if c.description else "",
                "anchor": anchor("class", f"{tid}.{cid}"), "signals": signals,
                "n_for": sum(1 for s in signals if s["weight"] > 0), "strategies": strategies,
                "note": _note(c, lang),
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
                            "rationale": r.rationale.get(lang), "source": _source(r.source, lang),
                            "examples": list(r.examples), "note": _note(r, lang),
                            "anchor": anchor("rule", r.id)})
        typologies.append({
            "id": tid, "label": t.label.get(lang), "description": t.description.get(lang) if t.description else "",
            "anchor": anchor("typology", tid), "colour": colour[tid], "threshold": t.threshold,
            "source": _source(t.source, lang) if t.source else None, "classes": classes, "derived": derived,
            "note": _note(t, lang),
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
            "derived": fid in setters, "note": _note(f, lang),
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
        "lang": lang,
        "rulebase": {"name": rb.name, "version": rb.version, "title": rb.title.get(lang), "sha256": rb.sha256},
        "typologies": typologies, "plans": plans, "facts": facts, "seeds": seeds,
        "graph": graph, "counts": {"typologies": len(rb.typologies), "rules": len(rb.rules),
                                   "strategies": len(rb.strategies), "facts": len(rb.facts)},
        "index": trainer_index(rb, typologies, plans),
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
    for _sweep in range(2):  # barycentre ordering: fewer crossings
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


def graph_svg(g: Graph) -> str:
    """The graph as an inline SVG element; every text is escaped here, since the template cannot."""
    if not g.nodes:
        return ""
    width, height = _layout(g)
    legend_h = 30
    zoom = min(1.3, 860 / width) if width < 860 else 1.0  # small graphs read better a little larger
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {width:.0f} {height + legend_h:.0f}" '
           f'width="{width * zoom:.0f}" height="{(height + legend_h) * zoom:.0f}" role="img" '
           f'aria-label="{escape(_("How the classifications connect"))}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>']
    for a, b in g.edges:
        na, nb = g.nodes[a], g.nodes[b]
        x1, y1 = na.x + na.w, na.y + na.h / 2
        x2, y2 = nb.x - 2, nb.y + nb.h / 2
        dx = max(30.0, (x2 - x1) / 2)
        out.append(f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} '
                   f'{x2:.1f},{y2:.1f}" fill="none" stroke="#94a3b8" stroke-width="1.6" marker-end="url(#arrow)">'
                   f'<title>{escape(na.label)} → {escape(nb.label)}</title></path>')
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
    for kind, text, rx in (("typology", _("classification"), 5), ("fact", _("derived fact"), 9)):
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
    return {"svg": graph_svg(g) if g.edges else "", "edges": edges,
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

    with use(lang):  # headings from the catalogue and the rulebase's texts in the same language
        data = playbook(rb, lang)
        env = doc_environment(fmt)
        if fmt == "html":
            data["graph"]["svg"] = Markup(data["graph"]["svg"])  # built and escaped by graph_svg
        else:
            data["graph"]["mermaid"] = Markup(data["graph"]["mermaid"])  # built safe by _mermaid
        tpl = env.get_template("doc.html" if fmt == "html" else "doc.md")
        return tpl.render(**data)


def doc_environment(fmt: str):
    """zhike's template environment for `fmt`, with the message catalogue: `_()` and `ngettext()` in templates.

    The callables are the catalogue's own (`{name}` placeholders, the language of `use()`), installed
    old-style so Jinja passes their result through unchanged: autoescaping (HTML) or the Markdown
    finalizer escapes it like any other text.
    """
    env = bundled_environment(fmt)
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=False)
    return env
