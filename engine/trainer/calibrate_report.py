"""The calibration report: text, Markdown, JSON, and a self-contained HTML page with inline SVG charts
(templates/calibrate.html, autoescaped). Counts and rates only: no row, name or word of a deal unless
the trainer asks with --show-rows. Rule ids are shown: trainers look them up in the YAML."""
from __future__ import annotations

import json
from typing import Any

from ..i18n import N_, tr, use
from ..report.markdown import md_escape
from .calibrate import Calibration, Tally, wilson

CHART_ROWS = 25  # rules per chart, the largest differences first
VERDICTS = {
    "not_enough": N_("not enough data"),
    "more_wins": N_("wins more when it fires"),
    "fewer_wins": N_("wins less when it fires"),
    "no_clear_difference": N_("no clear difference"),
}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _interval(lo: float, hi: float) -> str:
    return f"{lo:.0%}–{hi:.0%}"


def _rule_text(cal: Calibration, t: Tally, lang: str) -> str:
    rb = cal.rulebase
    if rb is not None:
        for r in rb.rules:
            if r.id == t.id:
                return r.rationale.get(lang)
        for s in rb.strategies:
            if s.id == t.id and s.summary is not None:
                return s.summary.get(lang)
    return ""


def _row(cal: Calibration, t: Tally, lang: str) -> dict[str, Any]:
    lo, hi = wilson(t.won_fired, t.fired)
    diff = t.difference()
    return {"id": t.id, "kind": t.kind, "text": _rule_text(cal, t, lang), "fired": t.fired,
            "rate": _pct(t.rate()), "interval": _interval(lo, hi), "rate_without": _pct(t.rate_without()),
            "lift": "–" if t.lift() is None else f"{t.lift():.2f}", "verdict": tr(lang, VERDICTS[t.verdict(cal.min_n)]),
            "verdict_id": t.verdict(cal.min_n), "p": t.rate() or 0.0, "lo": lo, "hi": hi,
            "p0": t.rate_without() if t.rate_without() is not None else 0.0,
            "d": (diff[0] + diff[1]) / 2 if diff else 0.0}


def _action_label(cal: Calibration, sid: str | None, lang: str) -> str:
    if sid is None:
        return tr(lang, "no next best action")
    rb = cal.rulebase
    s = next((s for s in rb.strategies if s.id == sid), None) if rb else None
    return s.summary.get(lang) if s is not None and s.summary is not None else sid


def _chart(rows: list[dict[str, Any]], overall: float, label_key: str) -> dict[str, Any]:
    """Geometry of one interval chart: a row per item, x from 0 to 100% over 400 px."""
    left, width, step = 10, 400, 26
    items = []
    for i, r in enumerate(rows):
        y = 20 + i * step
        items.append({"label": r[label_key], "y": y, "x": left + r["p"] * width, "x_lo": left + r["lo"] * width,
                      "x_hi": left + r["hi"] * width, "x0": left + r.get("p0", r["p"]) * width,
                      "has0": "p0" in r, "rate": r["rate"], "verdict": r.get("verdict_id", "")})
    return {"items": items, "height": 40 + len(rows) * step, "x_overall": left + overall * width,
            "ticks": [{"x": left + t / 4 * width, "label": f"{t * 25}%"} for t in range(5)], "left": left,
            "width": width}


def calibrate_view(cal: Calibration, lang: str) -> dict[str, Any]:
    overall = cal.won / cal.known if cal.known else 0.0
    rows = [_row(cal, t, lang) for t in cal.tallies.values()]
    enough = sorted((r for r in rows if r["verdict_id"] != "not_enough"), key=lambda r: -abs(r["d"]))
    thin = [r for r in rows if r["verdict_id"] == "not_enough"]
    actions = []
    for sid, (w, n) in sorted(cal.actions.items(), key=lambda kv: -kv[1][1]):
        lo, hi = wilson(w, n)
        actions.append({"label": _action_label(cal, sid, lang), "deals": n, "rate": _pct(w / n if n else None),
                        "interval": _interval(lo, hi), "p": w / n if n else 0.0, "lo": lo, "hi": hi,
                        "enough": n >= cal.min_n,
                        "verdict": "" if n >= cal.min_n else tr(lang, "not enough data")})
    flags = [{"rule": rid, "text": tr(lang, "argues {direction} “{cls}”, but deals where it fires {what}, and "
                                            "“{cls}” deals {class_what}",
                                      direction=tr(lang, "for") if d == "for" else tr(lang, "against"),
                                      cls=_class_label(cal, tid, cls, lang),
                                      what=tr(lang, VERDICTS[cal.tallies[rid].verdict(cal.min_n)]),
                                      class_what=tr(lang, VERDICTS[cal.classes[(tid, cls)].verdict(cal.min_n)]))}
             for rid, tid, cls, d in cal.disagreements]
    tested = len(enough)
    chance = format(tested * 0.05, ".0f")  # the expected false positives at the 5% level
    return {
        "title": tr(lang, "Rules against won and lost deals"),
        "deals": tr(lang, "{known} closed deals: {won} won, {lost} lost (win rate {rate})", known=cal.known,
                    won=cal.won, lost=cal.lost, rate=_pct(overall)),
        "left_out": [x for x in (
            tr(lang, "{n} rows with an outcome that is neither won nor lost were left out", n=len(cal.unknown_outcome))
            if cal.unknown_outcome else "",
            tr(lang, "{n} rows that could not be read were left out", n=len(cal.unreadable)) if cal.unreadable else "",
        ) if x],
        "method": tr(lang, "Win rates with 95% intervals (Wilson). A verdict needs at least {n} deals where the rule "
                           "fired and {n} where it did not; the difference counts only when its 95% interval "
                           "(Newcombe) leaves out zero. Of {tested} rules with enough data, about {chance} may show a "
                           "difference by chance alone.", n=cal.min_n, tested=tested, chance=chance),
        "h_rules": tr(lang, "Rules and strategies with enough data"),
        "rules": enough,
        "h_thin": tr(lang, "Not enough data yet"),
        "thin": tr(lang, "{n} rules and strategies fired on too few deals (or on almost all) to say anything.",
                   n=len(thin)),
        "thin_ids": [r["id"] for r in thin],
        "h_actions": tr(lang, "Win rate by next best action"),
        "actions": actions,
        "h_flags": tr(lang, "Weights the outcomes disagree with (suggestions for review; nothing was changed)"),
        "flags": flags,
        "no_flags": tr(lang, "No rule's weight disagrees with the outcomes."),
        "col": {"rule": tr(lang, "rule"), "fired": tr(lang, "fired"), "rate": tr(lang, "win rate when it fires"),
                "interval": tr(lang, "95% interval"), "without": tr(lang, "when it does not"),
                "lift": tr(lang, "lift"), "verdict": tr(lang, "verdict"), "action": tr(lang, "next best action"),
                "deals": tr(lang, "deals"), "action_rate": tr(lang, "win rate")},
        "chart_rules": _chart(enough[:CHART_ROWS], overall, "id"),
        "chart_actions": _chart([a for a in actions if a["enough"]][:CHART_ROWS], overall, "label"),
        "legend": tr(lang, "dot: win rate when it fires, with its 95% interval; ring: when it does not; "
                           "dashed line: all deals"),
        "rows_shown": [{"row": r["row"], "outcome": tr(lang, "won") if r["won"] else tr(lang, "lost"),
                        "action": _action_label(cal, r["next_best_action"], lang)} for r in cal.rows_shown],
        "h_rows": tr(lang, "Deals (shown because of --show-rows)"),
        "lang": lang,
    }


def _class_label(cal: Calibration, tid: str, cls: str, lang: str) -> str:
    rb = cal.rulebase
    if rb is not None and tid in rb.typologies and cls in rb.typologies[tid].classes:
        return rb.typologies[tid].classes[cls].label.get(lang)
    return cls


def calibrate_json(cal: Calibration) -> dict[str, Any]:
    def tally(t: Tally) -> dict[str, Any]:
        lo, hi = wilson(t.won_fired, t.fired)
        diff = t.difference()
        return {"id": t.id, "kind": t.kind, "fired": t.fired, "won_when_fired": t.won_fired,
                "not_fired": t.not_fired, "won_when_not_fired": t.won_not_fired, "win_rate": t.rate(),
                "win_rate_interval": [lo, hi], "win_rate_without": t.rate_without(), "lift": t.lift(),
                "difference_interval": list(diff) if diff else None, "verdict": t.verdict(cal.min_n)}

    doc = {
        "deals": cal.known, "won": cal.won, "lost": cal.lost, "rows": cal.rows,
        "outcome_column": cal.outcome_column, "min_n": cal.min_n,
        "unknown_outcome_rows": len(cal.unknown_outcome), "unreadable_rows": len(cal.unreadable),
        "rules": [tally(t) for t in cal.tallies.values()],
        "next_best_actions": [{"strategy": sid, "deals": n, "won": w, "win_rate": w / n if n else None,
                               "interval": list(wilson(w, n)), "enough": n >= cal.min_n}
                              for sid, (w, n) in cal.actions.items()],
        "disagreements": [{"rule": r, "typology": t, "class": c, "direction": d} for r, t, c, d in cal.disagreements],
    }
    if cal.rows_shown:
        doc["deal_rows"] = cal.rows_shown
    return doc


def _text(v: dict[str, Any]) -> str:
    c = v["col"]
    lines = [v["title"], v["deals"], *v["left_out"], "", v["method"], "", v["h_rules"]]
    for r in v["rules"]:
        lines.append(f"  {r['id']}: {c['fired']} {r['fired']}, {c['rate']} {r['rate']} ({r['interval']}), "
                     f"{c['without']} {r['rate_without']}, {c['lift']} {r['lift']} — {r['verdict']}")
    lines += ["", v["h_thin"], "  " + v["thin"], "", v["h_actions"]]
    for a in v["actions"]:
        tail = f" — {a['verdict']}" if a["verdict"] else ""
        lines.append(f"  {a['label']}: {c['deals']} {a['deals']}, {c['action_rate']} {a['rate']} ({a['interval']}){tail}")
    lines += ["", v["h_flags"]]
    lines += [f"  {f['rule']}: {f['text']}" for f in v["flags"]] or ["  " + v["no_flags"]]
    if v["rows_shown"]:
        lines += ["", v["h_rows"]] + [f"  {r['row']}: {r['outcome']} · {r['action']}" for r in v["rows_shown"]]
    return "\n".join(lines) + "\n"


def _md(v: dict[str, Any]) -> str:
    e, c = md_escape, v["col"]
    lines = [f"# {e(v['title'])}", "", e(v["deals"]), *[f"\n{e(x)}" for x in v["left_out"]], "", e(v["method"]),
             "", f"## {e(v['h_rules'])}", "",
             f"| {e(c['rule'])} | {e(c['fired'])} | {e(c['rate'])} | {e(c['interval'])} | {e(c['without'])} | "
             f"{e(c['lift'])} | {e(c['verdict'])} |", "|---|---:|---:|---|---:|---:|---|"]
    lines += [f"| {e(r['id'])} | {r['fired']} | {r['rate']} | {r['interval']} | {r['rate_without']} | {r['lift']} | "
              f"{e(r['verdict'])} |" for r in v["rules"]]
    lines += ["", f"## {e(v['h_thin'])}", "", e(v["thin"]), "", f"## {e(v['h_actions'])}", "",
              f"| {e(c['action'])} | {e(c['deals'])} | {e(c['action_rate'])} | {e(c['interval'])} |",
              "|---|---:|---:|---|"]
    lines += [f"| {e(a['label'])} | {a['deals']} | {a['rate']} | {a['interval']} {e(a['verdict'])} |"
              for a in v["actions"]]
    lines += ["", f"## {e(v['h_flags'])}", ""]
    lines += [f"- {e(f['rule'])}: {e(f['text'])}" for f in v["flags"]] or [e(v["no_flags"])]
    return "\n".join(lines) + "\n"


def render_calibration(cal: Calibration, fmt: str, lang: str) -> str:
    with use(lang):
        if fmt == "json":
            return json.dumps(calibrate_json(cal), ensure_ascii=False, indent=2) + "\n"
        v = calibrate_view(cal, lang)
        if fmt == "md":
            return _md(v)
        if fmt == "html":
            from ..report.render import bundled_environment

            return bundled_environment("html", lang).get_template("calibrate.html").render(v=v, lang=lang)
        return _text(v)


__all__ = ["calibrate_json", "calibrate_view", "render_calibration"]
