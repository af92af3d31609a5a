"""`zhike rules doc`: the sales playbook generated from the rulebase (HTML or Markdown)."""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_OK
from ..report.output import write_text


def run(rulebase: Path, output: str | None, lang: str, fmt: str) -> int:
    from ..rules.loader import load_rulebase
    from ..trainer.doc import render_doc

    rb = load_rulebase(rulebase)
    write_text(render_doc(rb, fmt, lang), output, inputs=rb.files)  # never over a rule file
    return EXIT_OK
