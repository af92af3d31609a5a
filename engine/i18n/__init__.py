"""Shared ground — the message catalogue: every sentence zhike says to a person, in zh and en.

Messages are written in the code in English (`_("...")`, `ngettext(...)`) and
translated in gettext catalogues (`engine/i18n/locale/<lang>/LC_MESSAGES/zhike.po`),
the ecosystem's convention: a translator edits the `.po` file, `pybabel compile`
turns it into the `.mo` that is read at run time (both are committed; a test
checks they agree and that every message has both languages). Templates use the
same catalogue through Jinja's i18n extension.

The language is chosen once per command (`resolve_lang`): `--lang`, else
`ZHIKE_LANG`, else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG` starting with
zh or en), else zh. Code that formats for an explicit language uses `use(lang)`.

This package is shared ground, beside `engine.errors`: every layer talks to
people, so any layer may import it; it imports nothing of zhike.
"""
from __future__ import annotations

import contextlib
import contextvars
import gettext as _gettext
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
DOMAIN = "zhike"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("zhike_lang", default="")


def lang_from_environment(environ: dict[str, str] | None = None) -> str:
    """ZHIKE_LANG, else the locale variables (zh… → zh, en… → en), else zh."""
    env = os.environ if environ is None else environ
    explicit = (env.get("ZHIKE_LANG") or "").strip().lower()
    if explicit[:2] in LANGS:
        return explicit[:2]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(var) or "").strip().lower()
        if value[:2] in LANGS:
            return value[:2]
        if value and value not in ("c", "posix", "c.utf-8", "c.utf8"):
            break  # a locale is set but is neither zh nor en: fall back to the default
    return DEFAULT_LANG


def resolve_lang(explicit: str | None = None) -> str:
    """The language of this command: `explicit` (--lang) if given, else from the environment."""
    if explicit:
        lang = explicit.strip().lower()[:2]
        if lang in LANGS:
            return lang
    return lang_from_environment()


def current_lang() -> str:
    return _current.get() or lang_from_environment()


def set_lang(lang: str) -> None:
    """Make `lang` the language of every message from now on (the command line calls this once)."""
    _current.set(resolve_lang(lang))


@contextlib.contextmanager
def use(lang: str) -> Iterator[str]:
    """Speak `lang` inside the block (e.g. a report rendered in another language than the UI)."""
    token = _current.set(resolve_lang(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of `lang`; English falls back to the message ids themselves."""
    return _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


def _format(text: str, params: dict) -> str:
    return text.format(**params) if params else text


def _(message: str, /, **params: object) -> str:
    """`message` in the current language, with `{name}` placeholders filled from `params`."""
    return _format(translations(current_lang()).gettext(message), params)


def ngettext(singular: str, plural: str, n: int, /, **params: object) -> str:
    """The singular or plural form for `n` in the current language; `{n}` is filled in too."""
    return _format(translations(current_lang()).ngettext(singular, plural, n), {"n": n, **params})


def tr(lang: str, message: str, /, **params: object) -> str:
    """`message` in an explicit language (reports in a language other than the UI's)."""
    return _format(translations(resolve_lang(lang)).gettext(message), params)


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it yet (module-level constants)."""
    return message


__all__ = ["DEFAULT_LANG", "LANGS", "N_", "_", "current_lang", "lang_from_environment", "ngettext", "resolve_lang",
           "set_lang", "tr", "translations", "use"]
