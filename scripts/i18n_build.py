"""Rebuild the message catalogues from the code: extract, merge, compile.

    python scripts/i18n_build.py          # update engine/i18n/zhike.pot, the zh/en .po files and compile .mo
    python scripts/i18n_build.py --check  # exit 1 if a message lacks a translation or a .mo is stale

What it does, the gettext way with Babel:
1. extract every message from cli.py, engine/ and templates/ (`_`, `N_`, `ngettext`, `tr`, and
   Jinja's `{% trans %}` / `_()`), into engine/i18n/zhike.pot;
2. update each language's .po from it, keeping every translation already there and taking new
   Chinese from engine/i18n/fragments/*.yaml (msgid: translation) when such files exist;
   English is the source language: an English msgstr that is empty is filled with the msgid, so a
   translator may reword English without touching code (a fragment, while one exists, wins over the .po);
3. compile each .po to the .mo read at run time.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "engine" / "i18n"
POT = I18N / "zhike.pot"
LANGS = {"zh": "nplurals=1; plural=0;", "en": "nplurals=2; plural=(n != 1);"}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "tr": (2,)}
METHODS = [
    ("cli.py", "python"),
    ("engine/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.md", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
JINJA = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}


def extract() -> Catalog:
    cat = Catalog(project="zhike", version="", charset="utf-8", fuzzy=False,
                  copyright_holder="the zhike developers", msgid_bugs_address="")
    options = {pattern: JINJA for pattern, method in METHODS if method == "jinja2"}
    for path, lineno, message, comments, context in extract_from_dir(
            str(ROOT), METHODS, options, KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        if path.startswith(("tests", ".venv", "scripts", "bench")):
            continue
        cat.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return cat


def fragments() -> dict[str, str]:
    import yaml

    out: dict[str, str] = {}
    folder = I18N / "fragments"
    for p in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            print(f"{p}: not a mapping; skipped", file=sys.stderr)
            continue
        for k, v in data.items():
            if isinstance(k, str) and isinstance(v, str) and v.strip():
                out[k] = v
    return out


def po_path(lang: str) -> Path:
    return I18N / "locale" / lang / "LC_MESSAGES" / "zhike.po"


def build(template: Catalog, lang: str, extra: dict[str, str]) -> Catalog:
    old: dict = {}
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                if m.id and all(strings):  # ('',) is an untranslated plural, not a translation
                    old[m.id] = m.string
    cat = Catalog(locale=lang, project="zhike", version="", charset="utf-8", fuzzy=False,
                  copyright_holder="the zhike developers", msgid_bugs_address="",
                  last_translator="the zhike developers", language_team="zhike")
    cat._num_plurals, cat._plural_expr = (1, "0") if lang == "zh" else (2, "(n != 1)")
    for m in template:
        if not m.id:
            continue
        key = m.id
        have = old.get(key)
        if lang == "en":
            string = have or m.id
        else:
            single = key[0] if isinstance(key, tuple) else key
            text = extra.get(single) or have  # a fragment being merged wins over the .po
            if isinstance(key, tuple):
                if isinstance(text, (list, tuple)):
                    text = text[0]
                string = (text,) if text else ("",)
            else:
                string = text or ""
        cat.add(key, string, m.locations, auto_comments=m.auto_comments, context=m.context)
    return cat


def serialise_po(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, cat, width=100, omit_header=False, sort_output=True)
    text = buf.getvalue().decode("utf-8")
    # dates in the header change on every run: keep the file stable
    lines = [ln for ln in text.splitlines(keepends=True)
             if not ln.startswith(('"POT-Creation-Date', '"PO-Revision-Date', '"Generated-By'))]
    return "".join(lines).encode("utf-8")


def serialise_mo(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def missing(cat: Catalog) -> list[str]:
    out = []
    for m in cat:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(s for s in strings):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is missing or stale")
    args = ap.parse_args(argv)
    template = extract()
    extra = fragments()
    problems = 0
    for lang in LANGS:
        cat = build(template, lang, extra)
        gaps = missing(cat)
        for g in gaps:
            print(f"{lang}: no translation for {g!r}", file=sys.stderr)
        problems += len(gaps)
        po, mo = serialise_po(cat), serialise_mo(cat)
        po_file = po_path(lang)
        mo_file = po_file.with_suffix(".mo")
        if args.check:
            if not po_file.exists() or po_file.read_bytes() != po:
                print(f"{po_file.relative_to(ROOT)} is not up to date: run scripts/i18n_build.py", file=sys.stderr)
                problems += 1
            if not mo_file.exists() or mo_file.read_bytes() != mo:
                print(f"{mo_file.relative_to(ROOT)} is not up to date: run scripts/i18n_build.py", file=sys.stderr)
                problems += 1
        else:
            po_file.parent.mkdir(parents=True, exist_ok=True)
            po_file.write_bytes(po)
            mo_file.write_bytes(mo)
    if not args.check:
        POT.write_bytes(serialise_po(template))
        print(f"{len(template)} messages; {problems} without a translation", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
