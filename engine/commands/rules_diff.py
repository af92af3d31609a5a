"""`zhike rules diff OLD NEW`: what a rulebase change does to a list of prospects.

Exit 0; with --fail-on-change, 1 when any row's classification or next best action changes (for CI);
2 for a usage or input problem.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK
from ..i18n import resolve_lang, set_lang
from ..report.output import check_output_path, write_text


def run(old: str, new: Path, on: str | None, mapping: Path | None, fmt: str, lang: str | None, output: str | None,
        fail_on_change: bool = False, input_format: str | None = None, encoding: str | None = None) -> int:
    from ..trainer.diff import run_diff
    from ..trainer.diff_report import render_diff

    lang = resolve_lang(lang)
    set_lang(lang)
    inputs = [on, mapping]
    if output not in (None, "-"):
        check_output_path(output, inputs)
    report = run_diff(old, new, on, mapping, input_format=input_format, encoding=encoding)
    write_text(render_diff(report, fmt, lang), output, inputs=inputs)
    return EXIT_FAILED if fail_on_change and report.changed else EXIT_OK
