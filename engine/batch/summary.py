"""The summary a sales manager looks at after a batch run: one page, in the language of the run.

How many prospects fall in each class of each typology (with bars), the next best actions
ranked by how many prospects they concern, the rows worth the most with a clear action (the
MAN qualification and how far along the pipeline they are), and the quality of the data:
which columns were used, how many cells were left blank per column, how many rows were rejected.

    builder = SummaryBuilder(rb, lang, plan)          # zhike batch feeds it row by row
    builder.add(row, values, results, problems)      # results: logical column -> id-form value
    summary = builder.build(rows_in=..., name=...)
    html = render_summary(summary, "html", "zh")     # self-contained: inline SVG, no script

`build_summary(records, rb, ...)` does the same from the dicts `classify_records` yields
(the web app's batch page).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, tr
from ..rules.model import Rulebase
from .mapping import Plan, header_key

# what each reject code (the `_error_code` column) means, in words
REJECT_KINDS = {"bad-value": N_("an answer that does not fit its fact"), "csv": N_("a CSV row that cannot be read"),
                "encoding": N_("text in an unexpected encoding"), "columns": N_("the wrong number of cells"),
                "json": N_("a line that is not a JSON object"), "xlsx": N_("a damaged cell"),
                "inference": N_("the rules could not be run on it"), "bad-record": N_("not a record")}

TOP_ROWS = 10  # the highest-value rows listed
TOP_ACTIONS = 10
# How far along a prospect is, for ranking the rows worth acting on first (pipeline_stage classes).
_STAGE_WEIGHT = {"intent": 3, "quasi": 3, "trial": 2, "potential": 1, "formal": 1}
_TIER_WEIGHT = {"key_account": 2, "high_potential": 1}
_NAME_HEADERS = ("客户名称", "公司名称", "客户", "公司", "单位名称", "企业名称", "客户名", "姓名", "联系人", "company",
                 "companyname", "account", "accountname", "name", "customer")


@dataclass
class ClassCount:
    label: str
    count: int
    share: float  # of the rows classified


@dataclass
class TypologyCount:
    id: str
    label: str
    classes: list[ClassCount]
    undecided: int


@dataclass
class TopRow:
    row: int
    name: str
    qualification: str
    stage: str
    action: str
    score: int


@dataclass
class Summary:
    lang: str
    name: str  # the input's name
    rulebase: str
    rows_in: int = 0
    classified: int = 0
    rejected: int = 0
    rejected_by: list[tuple[str, int]] = field(default_factory=list)  # reason (in words), rows
    with_action: int = 0
    typologies: list[TypologyCount] = field(default_factory=list)
    undecided_typologies: list[str] = field(default_factory=list)  # no row decided: named in one line
    actions: list[tuple[str, int]] = field(default_factory=list)
    top_rows: list[TopRow] = field(default_factory=list)
    columns_used: list[tuple[str, str]] = field(default_factory=list)  # column, what it gives
    columns_unused: list[str] = field(default_factory=list)
    blank_cells: list[tuple[str, int]] = field(default_factory=list)  # column, cells left blank
    above_header: int = 0  # rows above the header (title, notes): not prospects
    partial: bool = False  # a resumed run: rows classified before the interruption are not counted


def _name_column(columns: list[str]) -> int | None:
    keys = [header_key(c) for c in columns]
    for want in _NAME_HEADERS:
        if want in keys:
            return keys.index(want)
    return None


class SummaryBuilder:
    """Counts rows as they are classified; memory bounded by the number of distinct classes and actions."""

    def __init__(self, rb: Rulebase, lang: str, plan: Plan | None = None):
        self.rb, self.lang, self.plan = rb, lang, plan
        self.counts: dict[str, Counter] = {tid: Counter() for tid in rb.typologies}
        self.actions: Counter = Counter()
        self.blank: Counter = Counter()
        self.rejected: Counter = Counter()
        self.classified = self.with_action = 0
        self.top: list[TopRow] = []
        self.name_at = _name_column(plan.columns) if plan is not None else None

    def add(self, row: int, values: list[Any], results: Mapping[str, Any], problems: Iterable[Any] = ()) -> None:
        """One classified row: its input cells, its results by logical column (id form), its blank cells."""
        self.classified += 1
        for p in problems:
            self.blank[p.column] += 1
        for tid, counter in self.counts.items():
            counter[results.get(tid)] += 1
        action = results.get("next_best_action")
        if not action:
            return
        self.with_action += 1
        self.actions[action] += 1
        score = self._score(results)
        if score <= 0:
            return
        name = ""
        if self.name_at is not None and self.name_at < len(values) and values[self.name_at] is not None:
            name = str(values[self.name_at]).strip()[:40]
        self.top.append(TopRow(row, name, self._label("qualification", results),
                               self._label("pipeline_stage", results), action, score))
        if len(self.top) > 4 * TOP_ROWS:  # keep it bounded: the best ones, first come first
            self.top.sort(key=lambda t: (-t.score, t.row))
            del self.top[TOP_ROWS:]

    def reject(self, code: str) -> None:
        self.rejected[code] += 1

    def _label(self, tid: str, results: Mapping[str, Any]) -> str:
        t = self.rb.typologies.get(tid)
        cls = results.get(tid)
        if t is None or cls is None or cls not in t.classes:
            return ""
        return t.classes[cls].label.get(self.lang)

    def _score(self, results: Mapping[str, Any]) -> int:
        man = results.get("qualification")
        score = sum(1 for ch in man if ch.isupper()) if isinstance(man, str) else 0
        score += _STAGE_WEIGHT.get(results.get("pipeline_stage") or "", 0)
        score += _TIER_WEIGHT.get(results.get("value_tier") or "", 0)
        return score

    def build(self, *, name: str = "", rows_in: int | None = None, above_header: int = 0,
              partial: bool = False) -> Summary:
        rb, lang = self.rb, self.lang
        rejected = sum(self.rejected.values())
        s = Summary(lang, name, rb.title.get(lang) or rb.name,
                    rows_in=rows_in if rows_in is not None else self.classified + rejected,
                    classified=self.classified, rejected=rejected, with_action=self.with_action,
                    above_header=above_header, partial=partial)
        s.rejected_by = [(tr(lang, REJECT_KINDS[code]) if code in REJECT_KINDS else code, n)
                         for code, n in self.rejected.most_common()]
        for tid, counter in self.counts.items():
            t = rb.typologies[tid]
            decided = [(cls, n) for cls, n in counter.most_common() if cls is not None]
            if not decided:
                s.undecided_typologies.append(t.label.get(lang))
                continue
            classes = [ClassCount(t.classes[c].label.get(lang) if c in t.classes else str(c), n,
                                  n / max(1, self.classified)) for c, n in decided]
            s.typologies.append(TypologyCount(tid, t.label.get(lang), classes, counter.get(None, 0)))
        s.actions = self.actions.most_common(TOP_ACTIONS)
        s.top_rows = sorted(self.top, key=lambda t: (-t.score, t.row))[:TOP_ROWS]
        if self.plan is not None:
            for p in self.plan.plans:
                if p.multi is not None:
                    s.columns_used.append((p.name, " + ".join(f.label.get(lang) for f in p.multi.facts.values())))
                elif p.fact is not None:
                    s.columns_used.append((p.name, p.fact.label.get(lang)))
                elif p.name:
                    s.columns_unused.append(p.name)
        s.blank_cells = self.blank.most_common()
        return s


def build_summary(records: Iterable[Mapping[str, Any]], rb: Rulebase, *, lang: str = "zh", plan: Plan | None = None,
                  name: str = "", rows_in: int | None = None) -> Summary:
    """A summary of rows as `classify_records(..., ids=True)` yields them (a row with `_error_code` counts as
    rejected); with `plan`, the cells left blank are counted per column."""
    b = SummaryBuilder(rb, lang, plan)
    for n, rec in enumerate(records, 1):
        if rec.get("_error_code"):
            b.reject(str(rec["_error_code"]))
            continue
        values = [rec.get(c) for c in plan.columns] if plan is not None else list(rec.values())
        problems = plan.read(values)[1] if plan is not None else ()
        b.add(n, values, rec, problems)
    return b.build(name=name, rows_in=rows_in)


def bar_width(share: float, full: int = 150) -> int:
    return max(1, round(share * full)) if share > 0 else 0


def render_summary(summary: Summary, fmt: str = "html", lang: str | None = None) -> str:
    """The summary as a self-contained HTML page (inline SVG bars, no script, autoescaped) or as Markdown."""
    from ..report.render import bundled_environment

    if fmt not in ("html", "md"):
        raise ValueError('fmt must be "html" or "md"')
    lang = lang or summary.lang
    env = bundled_environment(fmt, lang)
    template = env.get_template(f"summary.{fmt}")
    return template.render(s=summary, lang=lang, bar_width=bar_width, pct=lambda x: f"{x:.0%}",
                           title=tr(lang, "zhike · batch summary"))
