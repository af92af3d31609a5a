"""`zhike rules diff`: what a rulebase change does to a list of prospects.

Both rulebases are loaded and compiled once; every row (of a prospect list read through the batch
readers and column mapping, of a folder of profiles, or the golden cases by default) is classified
with both, streamed, and compared: each typology's class and the next best action. For a changed
row the rules that explain the change are named — fired only with the old rulebase, only with the
new, or fired with both at a different weight. A row that cannot be read is counted and listed,
never dropped.

`OLD` may be `git:REV`: the committed version of the NEW rulebase's directory at REV, taken with
`git archive` into a temporary folder (no checkout; the working tree is not touched).
"""
from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..i18n import _
from ..reasoning.compiler import CompiledRulebase, compile_rulebase
from ..reasoning.inference import Result, infer
from ..reasoning.profile import Profile, profile_from_located
from ..rules.loader import load_rulebase
from ..rules.model import Rulebase
from ..rules.yamlpos import YamlError, load_file

MAX_DETAILED = 2000  # changed rows explained one by one; beyond that only counted
MAX_ARCHIVE = 64 * 2**20  # bytes of `git archive` output accepted
NBA = "next_best_action"


@dataclass
class RowSource:
    """One row to compare: where it is, and its profile for each rulebase (or why it cannot be read)."""

    where: str  # "row 12", a file name, a case name
    old: Profile | None
    new: Profile | None
    error: str | None = None


@dataclass
class Explanation:
    rule: str
    how: str  # old_only | new_only | weight
    old_weight: float | None = None
    new_weight: float | None = None


@dataclass
class Change:
    key: str  # a typology id, or NBA
    old: str | None
    new: str | None
    rules: list[Explanation] = field(default_factory=list)


@dataclass
class ChangedRow:
    where: str
    changes: list[Change]


@dataclass
class DiffReport:
    old_label: str
    new_label: str
    source: str
    rows: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    changed: int = 0
    per_key: Counter = field(default_factory=Counter)  # typology id / NBA -> rows changed
    transitions: dict[str, Counter] = field(default_factory=dict)  # key -> (old, new) -> rows
    details: list[ChangedRow] = field(default_factory=list)
    rb_old: Rulebase | None = None
    rb_new: Rulebase | None = None


# --- OLD as git:REV ---------------------------------------------------------------------------

def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError(_("git could not be run: {reason}", reason=e)) from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(_("git {command} failed: {reason}", command=args[0], reason=reason[-1] if reason else "?"))
    return done.stdout


@contextmanager
def git_rulebase(rev: str, new_dir: Path) -> Iterator[Path]:
    """The rulebase directory `new_dir` as committed at `rev`, in a temporary folder removed afterwards."""
    if not rev or rev.startswith("-"):
        raise InputError(_("git:REV needs a revision, e.g. git:HEAD or git:main~3"))
    new_dir = new_dir.resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], new_dir).decode().strip())
    prefix = new_dir.relative_to(top.resolve()).as_posix() if new_dir != top.resolve() else "."
    data = _git(["archive", "--format=tar", rev, "--", prefix], top)
    if len(data) > MAX_ARCHIVE:
        raise InputError(_("the rulebase at {rev} is larger than {size} MB", rev=rev, size=MAX_ARCHIVE // 2**20))
    with tempfile.TemporaryDirectory(prefix="zhike-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")  # no links out, no absolute paths
        yield Path(tmp) / prefix


# --- rows ---------------------------------------------------------------------------------------

def golden_rows(rb_old: Rulebase, rb_new: Rulebase) -> Iterator[RowSource]:
    from .casetest import check_cases

    cases, _problems = check_cases(rb_new)
    for case in cases:
        yield _both(case.name, case.given, rb_old, rb_new, case.pos.file)


def _both(where: str, given: Any, rb_old: Rulebase, rb_new: Rulebase, file: str) -> RowSource:
    profiles: list[Profile | None] = []
    errors = []
    for rb in (rb_old, rb_new):
        try:
            profiles.append(profile_from_located(given, rb, file))
        except InputError as e:
            profiles.append(None)
            errors.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
    return RowSource(where, profiles[0], profiles[1], errors[0] if errors else None)


def profile_rows(folder: Path, rb_old: Rulebase, rb_new: Rulebase) -> Iterator[RowSource]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".json") and p.is_file())
    for p in files:
        try:
            loc = load_file(p, p.name)
        except YamlError as e:
            yield RowSource(p.name, None, None, str(e.problems[0]) if e.problems else p.name)
            continue
        yield _both(p.name, loc, rb_old, rb_new, p.name)


def table_rows(path: str, rb_old: Rulebase, rb_new: Rulebase, mapping: Path | None,
               input_format: str | None = None, encoding: str | None = None) -> Iterator[RowSource]:
    """Rows of a prospect list through the batch readers and column mapping, for each rulebase."""
    from ..batch.mapfile import load_map
    from ..batch.mapping import build_plan, header_known
    from ..batch.readers import open_table

    specs = [load_map(mapping, rb) if mapping else None for rb in (rb_old, rb_new)]
    with open_table(path, input_format, encoding, known=header_known(rb_new)) as reader:
        plans = [build_plan(list(reader.columns), rb, spec) for rb, spec in zip((rb_old, rb_new), specs, strict=True)]
        for rec in reader:
            where = _("row {n}", n=rec.row)
            if rec.error:
                yield RowSource(where, None, None, rec.error)
                continue
            read = [plan.read(list(rec.values), where) for plan in plans]
            problems = [str(p) for _prof, ps in read for p in ps]
            if problems:
                yield RowSource(where, None, None, problems[0])
                continue
            yield RowSource(where, read[0][0], read[1][0])


# --- comparing --------------------------------------------------------------------------------

def _outcome(result: Result) -> dict[str, str | None]:
    out: dict[str, str | None] = {tid: c.value for tid, c in result.conclusions.items()}
    nba = result.next_best_action
    out[NBA] = nba.strategy.id if nba else None
    return out


def _weights(result: Result, tid: str) -> dict[str, float]:
    c = result.conclusions.get(tid)
    out: dict[str, float] = {}
    for b in c.because if c else []:
        out[b.rule.id] = out.get(b.rule.id, 0.0) + b.weight
    return out


def explain(old: Result, new: Result, key: str) -> list[Explanation]:
    """The rules behind a changed conclusion: fired only in old, only in new, or with another weight."""
    if key == NBA:
        a = {s.strategy.id for s in old.strategies}
        b = {s.strategy.id for s in new.strategies}
        return ([Explanation(s, "old_only") for s in sorted(a - b)] +
                [Explanation(s, "new_only") for s in sorted(b - a)])
    wa, wb = _weights(old, key), _weights(new, key)
    out = [Explanation(r, "old_only", wa[r], None) for r in wa if r not in wb]
    out += [Explanation(r, "new_only", None, wb[r]) for r in wb if r not in wa]
    out += [Explanation(r, "weight", wa[r], wb[r]) for r in wa if r in wb and abs(wa[r] - wb[r]) > 1e-9]
    return out


def compare(rows: Iterator[RowSource], old: CompiledRulebase, new: CompiledRulebase, report: DiffReport) -> DiffReport:
    """Classify every row both ways (streamed) and fill `report`."""
    for row in rows:
        report.rows += 1
        if row.error is not None or row.old is None or row.new is None:
            report.unreadable.append((row.where, row.error or _("cannot be read")))
            continue
        ra, rb = infer(old, row.old, missing=False), infer(new, row.new, missing=False)
        oa, ob = _outcome(ra), _outcome(rb)
        keys = [k for k in dict.fromkeys([*oa, *ob]) if oa.get(k) != ob.get(k)]
        if not keys:
            continue
        report.changed += 1
        for k in keys:
            report.per_key[k] += 1
            report.transitions.setdefault(k, Counter())[(oa.get(k), ob.get(k))] += 1
        if len(report.details) < MAX_DETAILED:
            report.details.append(ChangedRow(row.where, [Change(k, oa.get(k), ob.get(k), explain(ra, rb, k))
                                                         for k in keys]))
    return report


def run_diff(old: str, new: Path, on: str | None = None, mapping: Path | None = None, *,
             input_format: str | None = None, encoding: str | None = None) -> DiffReport:
    """Compare two rulebases on `on` (a prospect list, a folder of profiles, or None: NEW's golden cases)."""
    with ExitStack() as stack:
        old_dir = stack.enter_context(git_rulebase(old[4:], new)) if old.startswith("git:") else Path(old)
        rb_old, rb_new = load_rulebase(old_dir), load_rulebase(new)
        report = DiffReport(old, str(new), on or _("the golden cases"), rb_old=rb_old, rb_new=rb_new)
        if on is None:
            rows = golden_rows(rb_old, rb_new)
        elif Path(on).is_dir():
            rows = profile_rows(Path(on), rb_old, rb_new)
        else:
            rows = table_rows(on, rb_old, rb_new, mapping, input_format, encoding)
        with compile_rulebase(rb_old) as c_old, compile_rulebase(rb_new) as c_new:
            return compare(rows, c_old, c_new, report)


__all__ = ["NBA", "ChangedRow", "DiffReport", "Explanation", "compare", "explain", "git_rulebase", "run_diff"]
