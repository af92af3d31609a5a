"""`zhike classify PROFILE`: one profile (or a saved `zhike ask` session) in, an explained strategy out."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, InputError
from ..i18n import _, resolve_lang, set_lang
from ..report.output import check_output_path, write_text


def run(profile: str, fmt: str, lang: str | None, rulebase: Path, template: Path | None, output: str | None, *,
        detail: bool = False, debug: bool = False, why_not: str | None = None) -> int:
    """Classify PROFILE and write the report.

    PROFILE is a profile file (facts + utterances), a session saved by `zhike
    ask --save`, or `-` for stdin. `detail` adds the full explanation to the
    text/md/html report; `debug` shows rule, class and fact ids. `why_not`
    (`social_style=owl`, `社交风格=猫头鹰`) answers why the customer is not that
    class instead, and what would make them so (JSON: the report with `why_not`).
    """
    from ..interview.applicability import not_applying
    from ..reasoning.compiler import compile_rulebase
    from ..reasoning.inference import infer
    from ..report.render import render
    from ..rules.loader import RESERVED_UTTERANCES, load_rulebase

    lang = resolve_lang(lang)
    set_lang(lang)
    if template is not None and fmt == "json":
        raise InputError(_("--template renders text; it cannot be combined with --format json"))
    if template is not None and why_not is not None:
        raise InputError(_("--why-not has its own report; it cannot be combined with --template"))
    inputs = [profile, template]
    if output not in (None, "-"):
        check_output_path(output, inputs)  # before any work: never overwrite the profile or template
    rb = load_rulebase(rulebase)
    prof = read_profile_or_session(profile, rb)
    for warning in getattr(prof, "warnings", None) or []:  # e.g. a key that names no fact: left out, said
        print(str(warning), file=sys.stderr)
    with compile_rulebase(rb) as compiled:
        result = infer(compiled, prof)
        if why_not is not None:
            from ..reasoning.whynot import parse_target
            from ..reasoning.whynot import why_not as search
            from ..report.render import to_json
            from ..report.whynot import render_whynot

            tid, cls = parse_target(rb, why_not)
            answer = search(compiled, prof, tid, cls, result=result)
            base = to_json(result, lang) if fmt == "json" else None
            write_text(render_whynot(answer, result, fmt, lang, base), output, inputs=inputs + list(rb.files))
            return EXIT_OK
    # questions that do not fit this customer (e.g. about an online inquiry for a customer met in person)
    answers = {**prof.facts, **({RESERVED_UTTERANCES: prof.utterances} if prof.utterances else {})}
    skip = not_applying(rb, answers, set())
    write_text(render(result, fmt, lang, template, detail=detail, debug=debug, inapplicable=skip), output,
               inputs=inputs + list(rb.files))
    return EXIT_OK


def read_profile_or_session(path: str, rb: Any) -> Any:
    """The profile in `path`: a profile file as such; a saved interview as the answers it holds.

    Answers in a session that no longer fit the rulebase are left out, each
    with one line on stderr, never an error: the rep's work is not lost.
    """
    from ..interview import session
    from ..reasoning.profile import profile_from_located, read_yaml_input

    loc = read_yaml_input(path)
    name = "<stdin>" if path == "-" else path
    if loc is None or not isinstance(loc.value, dict) or session.MARKER not in loc.value:
        return profile_from_located(loc, rb, name)
    prof, notes = _session_profile(path, rb, name)
    for note in notes:
        print(_("{path}: {note}", path=name, note=note), file=sys.stderr)
    return prof


def _session_profile(path: str, rb: Any, name: str) -> tuple[Any, list[str]]:
    from ..interview import session
    from ..interview.questionnaire import SKIP
    from ..reasoning.profile import Profile
    from ..rules.loader import RESERVED_UTTERANCES

    if path == "-":
        raise InputError(_("{path}: give a saved session as a file, not on stdin", path=name))
    loaded = session.load(Path(path), rb)
    facts: dict[str, Any] = {}
    utterances: list[str] = []
    for fact, value in loaded.given.items():
        if value is SKIP:
            continue
        if fact == RESERVED_UTTERANCES:
            utterances = [str(u) for u in (value if isinstance(value, list) else [value])]
        else:
            facts[fact] = value
    return Profile(facts, utterances, name), list(loaded.notes)
