"""`zhike rules calibrate --outcomes deals.csv`: the rulebase against the team's won and lost deals.

Reports only; the rulebase is never changed. Exit 0, or 2 for a usage or input problem.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_OK
from ..i18n import resolve_lang, set_lang
from ..report.output import check_output_path, write_text


def _words(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not text:
        return default
    return tuple(w.strip() for w in text.replace("，", ",").split(",") if w.strip())


def run(outcomes: str, rulebase: Path, mapping: Path | None, column: str | None, won: str | None, lost: str | None,
        fmt: str, lang: str | None, output: str | None, show_rows: bool = False, min_n: int | None = None) -> int:
    from ..rules.loader import load_rulebase
    from ..trainer.calibrate import LOST, MIN_N, WON, calibrate
    from ..trainer.calibrate_report import render_calibration

    lang = resolve_lang(lang)
    set_lang(lang)
    inputs = [outcomes, mapping]
    if output not in (None, "-"):
        check_output_path(output, inputs)
    rb = load_rulebase(rulebase)
    cal = calibrate(outcomes, rb, mapping=mapping, column=column, won=_words(won, WON), lost=_words(lost, LOST),
                    min_n=min_n or MIN_N, show_rows=show_rows)
    write_text(render_calibration(cal, fmt, lang), output, inputs=inputs + list(rb.files))
    return EXIT_OK
