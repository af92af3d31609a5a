"""`zhike classify PROFILE`: one profile in, an explained strategy out."""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_OK, InputError
from ..output import write_text


def run(profile: str, fmt: str, lang: str, rulebase: Path, template: Path | None, output: str | None) -> int:
    from ..compiler import compile_rulebase
    from ..inference import infer
    from ..loader import load_rulebase
    from ..profile import load_profile
    from ..render import render

    if template is not None and fmt == "json":
        raise InputError("--template renders text; it cannot be combined with --format json")
    rb = load_rulebase(rulebase)
    prof = load_profile(profile, rb)
    with compile_rulebase(rb) as compiled:
        result = infer(compiled, prof)
    write_text(render(result, fmt, lang, template), output)
    return EXIT_OK
