"""Every message the code can say has its Chinese (and English) in the catalogue, with the same placeholders.

The messages are found the way a translator's tools find them: Babel's
extractor over the files and methods `babel.cfg` names, with the keywords of
the catalogue (`_`, `N_`, `ngettext`, `tr`). A message id with no Chinese in
engine/i18n/locale/zh/LC_MESSAGES/zhike.po would be printed in English to a
Chinese user; a translation with a placeholder its message does not fill
would raise at the moment it is shown.
"""
from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from conftest import ROOT

KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "tr": (2,)}
LOCALE = ROOT / "engine" / "i18n" / "locale"


@cache
def code_messages() -> dict[str | tuple[str, ...], str]:
    """message id (a tuple for singular/plural) -> where it is first used."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        methods, options = parse_mapping_cfg(fh)
    out: dict[str | tuple[str, ...], str] = {}
    for path, lineno, message, _comments, _context in extract_from_dir(str(ROOT), methods, options, KEYWORDS):
        if not message or path.startswith(("tests", ".venv", "scripts", "bench")):
            continue
        key = tuple(message) if isinstance(message, (tuple, list)) else message
        out.setdefault(key, f"{path}:{lineno}")
    return out


@cache
def catalogue(lang: str) -> dict[str, tuple[str, ...]]:
    """singular message id -> its translations (one per plural form)."""
    with open(LOCALE / lang / "LC_MESSAGES" / "zhike.po", "rb") as fh:
        cat = read_po(fh, locale=lang)
    out = {}
    for m in cat:
        if not m.id:
            continue
        single = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
        strings = tuple(m.string) if isinstance(m.string, (tuple, list)) else (m.string,)
        out[single] = strings
    return out


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _lit, name, _spec, _conv in string.Formatter().parse(text)
            if name}


def test_the_extractor_finds_the_messages():
    found = code_messages()
    # one message of each kind and place: click's own (cli.py), a plural, a module constant, a template
    assert "Show this message and exit." in found
    assert ("{n} problem", "{n} problems") in found
    assert any(isinstance(k, str) and k.startswith("{name}: {part} unpacks to {size}") for k in found)
    assert any(v.startswith("templates") for v in found.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_message_has_a_translation(lang):
    have = catalogue(lang)
    missing = [f"{where}: {key!r}" for key, where in code_messages().items()
               if not all(have.get(key[0] if isinstance(key, tuple) else key, ("",)))]
    assert not missing, f"{len(missing)} messages without a {lang} translation:\n" + "\n".join(sorted(missing))


def test_translations_fill_only_placeholders_their_message_has():
    wrong = []
    for key, where in code_messages().items():
        ids = key if isinstance(key, tuple) else (key,)
        allowed = set().union(*(_fields(i) for i in ids))
        if isinstance(key, tuple):
            allowed.add("n")  # ngettext fills {n} too
        for text in catalogue("zh").get(ids[0], ()):
            try:
                extra = _fields(text) - allowed
            except ValueError as e:  # an unbalanced { } in the translation
                extra = {str(e)}
            if extra:
                wrong.append(f"{where}: {ids[0]!r} -> {text!r}: {sorted(extra)}")
    assert not wrong, "\n".join(wrong)


def test_chinese_translations_are_chinese():
    """A zh translation that is still the English text is a gap, not a translation."""
    same = [f"{where}: {key!r}" for key, where in code_messages().items()
            if isinstance(key, str) and any(c.isalpha() and c.isascii() for c in _bare(key))
            and catalogue("zh").get(key, ("",))[0] == key]
    assert not same, "\n".join(same)


def _bare(text: str) -> str:
    """The words of a message without its placeholders."""
    return "".join(lit for lit, _name, _spec, _conv in string.Formatter().parse(text.replace("{{", "").replace("}}", "")))


def test_the_catalogue_the_program_reads_is_compiled_from_the_po():
    import gettext

    for lang in ("zh", "en"):
        mo = LOCALE / lang / "LC_MESSAGES" / "zhike.mo"
        assert mo.exists() and Path(mo).stat().st_size > 0
        t = gettext.GNUTranslations(open(mo, "rb"))
        for key in list(code_messages())[:50]:
            single = key[0] if isinstance(key, tuple) else key
            want = catalogue(lang).get(single, ("",))[0]
            got = t.ngettext(key[0], key[1], 1) if isinstance(key, tuple) else t.gettext(key)
            assert got == (want or single), f"{lang}: {single!r}: the .mo says {got!r}, the .po {want!r}"
