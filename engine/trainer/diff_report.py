"""The report of `zhike rules diff`: counts, transition tables and the changed rows, as text, Markdown,
HTML (templates/diff.html, autoescaped) or JSON. Trainers read it, so rule ids are shown (they are
what a trainer searches the YAML for); classes and actions are shown by their labels."""
from __future__ import annotations

import json
from typing import Any

from ..i18n import tr, use
from ..report.describe import class_label
from ..report.markdown import md_escape
from ..rules.model import Rulebase
from .diff import NBA, DiffReport


def _key_label(rb: Rulebase, key: str, lang: str) -> str:
    if key == NBA:
        return tr(lang, "next best action")
    t = rb.typologies.get(key)
    return t.label.get(lang) if t else key


def _value_label(report: DiffReport, key: str, value: str | None, lang: str) -> str:
    if value is None:
        return tr(lang, "none") if key == NBA else tr(lang, "undecided")
    for rb in (report.rb_new, report.rb_old):
        if rb is None:
            continue
        if key == NBA:
            s = next((s for s in rb.strategies if s.id == value), None)
            if s is not None and s.summary is not None:
                return s.summary.get(lang)
        elif key in rb.typologies and value in rb.typologies[key].classes:
            return class_label(rb, key, value, lang)
    return value


def _how(e: Any, lang: str) -> str:
    if e.how == "old_only":
        return tr(lang, "{rule} fired only with the old rulebase", rule=e.rule)
    if e.how == "new_only":
        return tr(lang, "{rule} fired only with the new rulebase", rule=e.rule)
    before, after = format(e.old_weight, "+.2f"), format(e.new_weight, "+.2f")
    return tr(lang, "{rule} weight {old} → {new}", rule=e.rule, old=before, new=after)


def diff_view(report: DiffReport, lang: str) -> dict[str, Any]:
    rb = report.rb_new or report.rb_old
    assert rb is not None
    keys = sorted(report.per_key, key=lambda k: (k == NBA, -report.per_key[k], k))
    tables = []
    for k in keys:
        rows = sorted(report.transitions[k].items(), key=lambda kv: -kv[1])
        tables.append({"label": _key_label(rb, k, lang), "count": report.per_key[k],
                       "rows": [{"old": _value_label(report, k, a, lang), "new": _value_label(report, k, b, lang),
                                 "n": n} for (a, b), n in rows]})
    changed = [{"where": row.where,
                "changes": [{"label": _key_label(rb, c.key, lang), "old": _value_label(report, c.key, c.old, lang),
                             "new": _value_label(report, c.key, c.new, lang),
                             "why": [_how(e, lang) for e in c.rules]} for c in row.changes]}
               for row in report.details]
    return {
        "title": tr(lang, "Rulebase diff: {old} → {new}", old=report.old_label, new=report.new_label),
        "summary": tr(lang, "{changed} of {rows} rows change ({source})", changed=report.changed, rows=report.rows,
                      source=report.source),
        "unreadable": [{"where": w, "why": why} for w, why in report.unreadable],
        "h_unreadable": tr(lang, "Rows that could not be read (not compared)"),
        "tables": tables,
        "changed": changed,
        "more": (tr(lang, "… and {n} more changed rows (counted above)", n=report.changed - len(report.details))
                 if report.changed > len(report.details) else ""),
        "h_tables": tr(lang, "What changed, per typology and next best action"),
        "h_changed": tr(lang, "Changed rows and the rules behind them"),
        "col_old": tr(lang, "old"), "col_new": tr(lang, "new"), "col_rows": tr(lang, "rows"),
        "none": tr(lang, "No row changes."),
        "lang": lang,
    }


def diff_json(report: DiffReport) -> dict[str, Any]:
    return {
        "old": report.old_label, "new": report.new_label, "on": report.source,
        "rows": report.rows, "changed": report.changed, "unreadable": len(report.unreadable),
        "per_typology": {k: n for k, n in report.per_key.items() if k != NBA},
        "next_best_action": report.per_key.get(NBA, 0),
        "transitions": {k: [{"old": a, "new": b, "rows": n} for (a, b), n in c.most_common()]
                        for k, c in report.transitions.items()},
        "changed_rows": [{"where": row.where, "changes": [
            {"what": c.key, "old": c.old, "new": c.new,
             "rules": [{"rule": e.rule, "how": e.how, "old_weight": e.old_weight, "new_weight": e.new_weight}
                       for e in c.rules]} for c in row.changes]} for row in report.details],
        "unreadable_rows": [{"where": w, "error": why} for w, why in report.unreadable],
    }


def _text(v: dict[str, Any]) -> str:
    lines = [v["title"], v["summary"]]
    if not v["tables"]:
        lines.append(v["none"])
    for t in v["tables"]:
        lines += ["", f"{t['label']}: {t['count']}"]
        lines += [f"  {r['old']} → {r['new']}: {r['n']}" for r in t["rows"]]
    if v["changed"]:
        lines += ["", v["h_changed"]]
        for row in v["changed"]:
            lines.append(f"  {row['where']}")
            for c in row["changes"]:
                lines.append(f"    {c['label']}: {c['old']} → {c['new']}")
                lines += [f"      · {w}" for w in c["why"]]
        if v["more"]:
            lines.append(f"  {v['more']}")
    if v["unreadable"]:
        lines += ["", v["h_unreadable"]] + [f"  {u['where']}: {u['why']}" for u in v["unreadable"]]
    return "\n".join(lines) + "\n"


def _md(v: dict[str, Any]) -> str:
    e = md_escape
    lines = [f"# {e(v['title'])}", "", e(v["summary"])]
    if not v["tables"]:
        lines += ["", e(v["none"])]
    for t in v["tables"]:
        lines += ["", f"## {e(t['label'])} ({t['count']})", "",
                  f"| {e(v['col_old'])} | {e(v['col_new'])} | {e(v['col_rows'])} |", "|---|---|---:|"]
        lines += [f"| {e(r['old'])} | {e(r['new'])} | {r['n']} |" for r in t["rows"]]
    if v["changed"]:
        lines += ["", f"## {e(v['h_changed'])}", ""]
        for row in v["changed"]:
            lines.append(f"- **{e(row['where'])}**")
            for c in row["changes"]:
                lines.append(f"  - {e(c['label'])}: {e(c['old'])} → {e(c['new'])}")
                lines += [f"    - {e(w)}" for w in c["why"]]
        if v["more"]:
            lines.append(f"- {e(v['more'])}")
    if v["unreadable"]:
        lines += ["", f"## {e(v['h_unreadable'])}", ""] + [f"- {e(u['where'])}: {e(u['why'])}"
                                                           for u in v["unreadable"]]
    return "\n".join(lines) + "\n"


def render_diff(report: DiffReport, fmt: str, lang: str) -> str:
    with use(lang):
        if fmt == "json":
            return json.dumps(diff_json(report), ensure_ascii=False, indent=2) + "\n"
        v = diff_view(report, lang)
        if fmt == "md":
            return _md(v)
        if fmt == "html":
            from ..report.render import bundled_environment

            return bundled_environment("html", lang).get_template("diff.html").render(v=v, lang=lang)
        return _text(v)


__all__ = ["diff_json", "diff_view", "render_diff"]
