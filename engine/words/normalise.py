"""One normal form for what customers say and for what trainers write in lexicons.

Both sides go through `normalise`, so a lexicon entry written once in simplified Chinese
matches the same words typed in traditional characters, in full-width letters, in capitals
or with stray spaces: NFKC (full-width → half-width), case-folding, traditional → simplified
(OpenCC's t2s data), one form for quotes and dashes, and no spaces between Chinese characters
("预算 不够" is "预算不够"; "budget  is" keeps one space).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
# Quotes carry no meaning for matching; Chinese sentence marks become their ASCII kin so the
# clause splitter has one set to look for. NFKC already folds full-width ，？！；： to ASCII.
_MARKS = str.maketrans({
    "“": "", "”": "", "‘": "'", "’": "'", "「": "", "」": "", "『": "", "』": "", '"': "", "`": "",
    "。": ".", "、": ",", "～": "~", "—": "-", "–": "-", "·": " ", "…": "...",
})


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # OpenCC's own conversion tables (the `opencc` package); loaded once, on first need

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones; text without Chinese passes untouched."""
    if not _HAS_CJK.search(text):
        return text
    return _t2s().convert(text)


def has_cjk(text: str) -> bool:
    return _HAS_CJK.search(text) is not None


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """The form matching compares (see the module doc). Idempotent."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = to_simplified(s).translate(_MARKS)
    s = _SPACE_BETWEEN_CJK.sub("", s)
    return _SPACES.sub(" ", s).strip()
