"""Results for the web: the same inference, JSON contract and reports as `zhike classify` / `zhike ask`.

A profile is read and checked as `zhike classify` reads one (engine/reasoning/profile.py),
inferred with a compiled rulebase checked out of the pool, and rendered by
engine/report: `render(..., "json")` is byte for byte the `zhike classify --format json`
document; the result page shows the one-screen report (`render.context`'s `view`).
"""
from __future__ import annotations

from typing import Any

from ..i18n import use
from ..interview.applicability import not_applying
from ..reasoning.inference import Result, infer
from ..reasoning.profile import Profile, profile_from_dict, profile_from_located
from ..report.render import context, render
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.yamlpos import load_text
from .pool import RulebasePool

API_PROFILE = "<api>"


def _inapplicable(result: Result) -> set[str]:
    prof = result.profile
    answers = {**prof.facts, **({RESERVED_UTTERANCES: prof.utterances} if prof.utterances else {})}
    return not_applying(result.rulebase, answers, set())


def infer_profile(pool: RulebasePool, profile: Profile) -> Result:
    with pool.checkout() as compiled:
        return infer(compiled, profile)


def view_of(result: Result, lang: str, inapplicable: set[str] | None = None) -> dict[str, Any]:
    """The one-screen report and its detail, as the report templates read it."""
    skip = _inapplicable(result) if inapplicable is None else inapplicable
    return context(result, lang, detail=True, with_json=False, inapplicable=skip)["view"]


def classify_text(pool: RulebasePool, text: str, lang: str) -> dict[str, Any]:
    """A pasted profile (YAML or JSON) to the result page's view; InputError with every problem."""
    from ..errors import InputError
    from ..rules.yamlpos import YamlError

    with use(lang):
        try:
            loc = load_text(text, "<profile>")
        except YamlError as e:
            raise InputError("", e.problems) from None
        profile = profile_from_located(loc, pool.rulebase, "")
        return view_of(infer_profile(pool, profile), lang)


def classify_json(pool: RulebasePool, data: dict[str, Any], lang: str) -> str:
    """`POST /api/v1/classify`: exactly the `zhike classify --format json` document."""
    with use(lang):
        profile = profile_from_dict(data, pool.rulebase, API_PROFILE)
        result = infer_profile(pool, profile)
        skip = _inapplicable(result)
        return render(result, "json", lang, inapplicable=skip)


def report_text(result: Result, fmt: str, lang: str, inapplicable: set[str]) -> str:
    """The Markdown or print-friendly HTML report, as `zhike ask` writes it (HTML: every detail, folded)."""
    return render(result, fmt, lang, inapplicable=inapplicable)
