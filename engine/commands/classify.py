"""`zhike classify PROFILE`: one profile in, an explained strategy out."""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_OK, InputError
from ..report.output import check_output_path, write_text


def run(profile: str, fmt: str, lang: str, rulebase: Path, template: Path | None, output: str | None) -> int:
    from ..reasoning.compiler import compile_rulebase
    from ..reasoning.inference import infer
    from ..reasoning.profile import load_profile
    from ..report.render import render
    from ..rules.loader import load_rulebase

    if template is not None and fmt == "json":
        raise InputError("--template renders text; it cannot be combined with --format json")
    inputs = [profile, template]
    if output not in (None, "-"):
        check_output_path(output, inputs)  # before any work: never overwrite the profile or template
    rb = load_rulebase(rulebase)
    prof = load_profile(profile, rb)
    with compile_rulebase(rb) as compiled:
        result = infer(compiled, prof)
    write_text(render(result, fmt, lang, template), output, inputs=inputs + list(rb.files))
    return EXIT_OK
