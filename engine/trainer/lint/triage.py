"""What `zhike rules check` shows first, and what it leaves out.

Root cause first: a file that cannot be read at all (a YAML syntax slip, not UTF-8, too large)
hides everything it declares, so the rest of the rulebase fills with knock-on findings — "unknown
typology" wherever its typology is named, "unused fact" for every fact only its rules test. Those
say nothing new: the file's own problem is printed first and the findings that name something the
unreadable file mentions are held back, counted in one note.

Suppression comments: `# zhike: ignore[check-id] reason` on a line silences that check's warnings
and notes at that line (several ids: `ignore[a, b]`). Errors cannot be silenced: the rulebase does
not load, or a rep would read something wrong, while they stand. Silenced findings stay in the
JSON output under `suppressed`, with the reason written beside them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import Pos, Problem
from ...i18n import ngettext
from ...rules.yamlpos import MAX_BYTES

# The problems that mean a whole file could not be read, so none of its declarations exist.
UNREADABLE = frozenset({"yaml-syntax", "yaml-limit", "encoding", "io"})
# Findings that can follow from a declaration that went missing with an unreadable file.
KNOCK_ON = frozenset({"unknown-typology", "unknown-class", "unknown-fact", "unknown-rule", "unknown-strategy",
                      "unknown-topic", "unknown-goal", "unused-fact", "unreachable-class", "unreachable-strategy",
                      "unreachable-rule", "missing-file", "rule-load-error"})
_ID_KEYS = re.compile(r"(?:^|[\s{,\-])(?:id|fact|set|class|against|typology|not_class|goal|topic)\s*:\s*"
                      r"[\"']?([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_IGNORE = re.compile(r"#\s*zhike:\s*ignore\[([^\]]*)\]\s*(.*)$")


@dataclass
class Triage:
    shown: list[Problem]  # root causes first, then the rest in file order
    knock_on: list[Problem] = field(default_factory=list)  # held back: they follow from an unreadable file
    suppressed: list[tuple[Problem, str]] = field(default_factory=list)  # (finding, the reason written)

    def note(self) -> Problem | None:
        """The one line that says how many knock-on findings were held back, or None."""
        if not self.knock_on:
            return None
        first = next(p for p in self.shown if p.check in UNREADABLE)
        n = len(self.knock_on)
        return Problem(first.pos, ngettext(
            "{n} further finding probably follows from this file not being readable; fix it and run again",
            "{n} further findings probably follow from this file not being readable; fix it and run again", n),
            "knock-on", "note")


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _locate(file: str, root: Path | None) -> Path:
    p = Path(file)
    if not p.is_absolute() and not p.exists() and root is not None:
        p = root / file
    return p


def mentioned_ids(text: str, stem: str) -> set[str]:
    """The ids an unreadable file declares or names (what its `id:`, `fact:`, `class:`… keys hold)."""
    ids = {m.group(1) for m in _ID_KEYS.finditer(text)}
    ids |= {i.rsplit(".", 1)[-1] for i in ids} | {i.split(".", 1)[0] for i in ids}
    ids.add(stem)
    return ids


def root_cause_first(problems: list[Problem], root: Path | None = None) -> Triage:
    """Unreadable files' problems first; knock-on findings that name what those files mention held back."""
    unreadable = [p for p in problems if p.check in UNREADABLE]
    if not unreadable:
        return Triage(sorted(problems, key=Problem.sort_key))
    broken = {p.pos.file for p in unreadable}
    mentioned: set[str] = set()
    for file in broken:
        path = _locate(file, root)
        mentioned |= mentioned_ids(_read(path), path.stem)
    shown, held = [], []
    for p in problems:
        if p.check in UNREADABLE or p.pos.file in broken or p.check not in KNOCK_ON:
            shown.append(p)
        elif p.check == "rule-load-error":  # any rule may have failed for want of what the file declares
            held.append(p)
        elif any(t in mentioned or any(seg in mentioned for seg in t.split("."))
                 for t in _TOKEN.findall(p.message)):
            held.append(p)
        else:
            shown.append(p)
    shown.sort(key=lambda p: (p.check not in UNREADABLE, *Problem.sort_key(p)))
    return Triage(shown, held)


def ignore_comments(text: str) -> dict[int, tuple[set[str], str]]:
    """Line number -> (check ids, reason) for every `# zhike: ignore[...]` comment in a file's text."""
    out: dict[int, tuple[set[str], str]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if "zhike:" not in line:
            continue
        m = _IGNORE.search(line)
        if m:
            ids = {x.strip() for x in m.group(1).split(",") if x.strip()}
            out[n] = (ids, m.group(2).strip())
    return out


def apply_ignores(triage: Triage, root: Path | None = None) -> Triage:
    """Move the warnings and notes a `# zhike: ignore[check]` comment on their line names to `suppressed`."""
    cache: dict[str, dict[int, tuple[set[str], str]]] = {}
    kept: list[Problem] = []
    for p in triage.shown:
        if p.severity == "error" or p.pos.file.startswith("<"):
            kept.append(p)
            continue
        if p.pos.file not in cache:
            cache[p.pos.file] = ignore_comments(_read(_locate(p.pos.file, root)))
        ids, reason = cache[p.pos.file].get(p.pos.line, (set(), ""))
        if p.check in ids:
            triage.suppressed.append((p, reason))
        else:
            kept.append(p)
    triage.shown = kept
    return triage


def suppressed_json(triage: Triage) -> list[dict]:
    return [{**p.to_json(), "reason": reason} for p, reason in triage.suppressed]


__all__ = ["KNOCK_ON", "UNREADABLE", "Pos", "Triage", "apply_ignores", "ignore_comments", "mentioned_ids",
           "root_cause_first", "suppressed_json"]
