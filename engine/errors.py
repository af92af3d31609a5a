"""Problems a user can fix, and the exceptions that carry them.

Every user mistake becomes a `Problem` with a position, printed the
actionlint way (`file:line:col: severity: message [check]`), never a
traceback. Exit codes: 0 ok, 1 some work failed, 2 usage/input error.
"""
from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_, _

SEVERITY_WORDS = {"error": N_("error"), "warning": N_("warning"), "note": N_("note")}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Pos:
    """Where something is in a user's file; lines and columns count from 1.

    It lives here, with the problems that carry it, so the error types need
    nothing from the YAML reader (which re-exports it).
    """

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    pos: Pos
    message: str
    check: str
    severity: str = "error"  # error | warning

    def sort_key(self) -> tuple:
        return (self.pos.file, self.pos.line, self.pos.col, self.check, self.message)

    def __str__(self) -> str:
        # the severity word in the user's language; the check id stays as it is (tools and
        # `# zhike: ignore[...]` use it), and JSON keeps the English severity
        return f"{self.pos}: {_(SEVERITY_WORDS.get(self.severity, self.severity))}: {self.message} [{self.check}]"

    def to_json(self) -> dict:
        return {"file": self.pos.file, "line": self.pos.line, "col": self.pos.col,
                "severity": self.severity, "message": self.message, "check": self.check}


class ZhikeError(Exception):
    """Base class: an error meant for the user, with an exit code."""

    exit_code = EXIT_USAGE


class RulebaseError(ZhikeError):
    """The rulebase has errors; nothing of it was loaded."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(ZhikeError):
    """A profile, answer file or batch input cannot be used as given."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = sorted(problems or [], key=Problem.sort_key)
        text = "\n".join(str(p) for p in self.problems) if self.problems else message
        super().__init__(text)


class InferenceError(ZhikeError):
    """Something failed inside the rule engine; a bug, never silently ignored."""

    exit_code = EXIT_FAILED


def did_you_mean(word: str, choices) -> str:
    """' (did you mean "x"?)' or '' — the nearest known id for a typo."""
    import difflib

    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in choices}
        if str(word).lower() in lower:
            close = [lower[str(word).lower()]]
    return _(' (did you mean "{suggestion}"?)', suggestion=close[0]) if close else ""
