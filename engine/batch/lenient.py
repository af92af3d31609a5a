"""Cells as people type them, read leniently: labels and parts of labels, synonyms, full-width and
traditional characters, "约20万" and "30-50" for numbers.

A sheet kept by hand says "Y", "方案演示", "約20萬" or "采购部经理" where the fact wants
`true`, a catalogue value or a number. `engine.reasoning.profile.coerce_value` stays strict
(a profile or a --map table says exactly what it means); this module is the batch's second
try, after the value table and before a cell is given up: every match says how it was made
(`Match.how`), so --explain-map and --init-map can show it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..i18n import N_
from ..reasoning.profile import ValueProblem, coerce_value
from ..rules.model import UNKNOWN_WORDS, FactDef, Text
from ..rules.yamlpos import Pos
from ..words.normalise import to_simplified

# How a cell became its value (Match.how), as the explanation says it.
HOW_VALUE = {
    "table": N_("usual value"),
    "exact": N_("the answer's name"),
    "simplified": N_("the answer's name (full-width or traditional characters)"),
    "part": N_("part of the answer's name"),
    "synonym": N_("a usual word for it"),
    "number": N_("a number"),
    "range": N_("a range, read as its middle"),
    "about": N_("an approximate number"),
    "percent": N_("a percentage"),
    "unknown": N_("says it is not known"),
}

# Cells that say "not known" in the words sheets use (beyond the catalogue's own UNKNOWN_WORDS).
UNKNOWN_CELLS = frozenset({"不确定", "待定", "未定", "待确认", "待了解", "不详", "暂无信息", "未知", "不知道", "不清楚",
                           "?", "？", "/", "-", "--", "—", "–", "tbd", "n/a", "na", "unknown", "unsure", "待跟进",
                           "待评估", "面议", "未透露", "不方便透露", "保密", "没想好", "还没想好", "说不清", "说不好",
                           "说不准", "不好说", "难说", "不一定", "看情况", "待核实", "不好讲", "还不确定", "尚未确定"})
# Yes and no as sheets write them (the catalogue's words are tried first).
YES_CELLS = frozenset({"y", "yes", "是", "是的", "对", "有", "√", "✓", "✔", "☑", "○", "o", "ok", "确定", "确认",
                       "肯定", "有的", "true", "t", "1", "是(决策人)", "kp"})
NO_CELLS = frozenset({"n", "no", "否", "不是", "不对", "不", "无", "没有", "没", "×", "✗", "✘", "x", "false", "f", "0", "非",
                      "暂无", "不是kp", "非kp"})

_HEDGE = re.compile(r"^(?:约|大约|大概|估计|预计|将近|接近|差不多|近|约合|总价|总计|合计|总共|共|~|≈|about|approx\.?|"
                    r"around|ca\.?|us\$|usd|rmb|cny|\$|¥|￥|€|£)\s*"
                    r"|\s*(?:左右|上下|以上|以内|以下|多|余|出头|起|元|块|rmb|cny|usd|¥|￥|\$|美金|美元|人民币|港币|欧元|"
                    r"\+|(?:/|每)[^\W\d_]{1,3})$", re.IGNORECASE)
# A few words before or after the number that only say what it is ("落地30以内", "首付100万", "15万全包"):
# read the number (not a date's 年, 月, 日)
_LEAD_WORDS = re.compile(r"^[\u4e00-\u9fff]{1,3}(?=[0-9])")
_TRAIL_WORDS = re.compile(r"(?<=[0-9万千亿])(?:(?![万千亿])[\u4e00-\u9fff]){1,2}$")
_DATE_WORDS = frozenset("年月日天号周时分秒")
_RANGE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(万|千|k|亿)?\s*(?:-|~|～|—|–|至|到|to)\s*"
                    r"([0-9]+(?:\.[0-9]+)?)\s*(万|千|k|亿)?\s*$", re.IGNORECASE)
_SCALE = {"万": 10_000, "千": 1_000, "k": 1_000, "亿": 100_000_000}
_SCALED = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(万|千|k|亿)$", re.IGNORECASE)
# Numbers in Chinese numerals ("三十万左右", "两千五", "十到二十万"): only a cell that is nothing else, so
# 一般, 三星 or 十分 are never numbers.
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1_000}
_CN_ONE = "[一二两三四五六七八九十][零〇一二两三四五六七八九十百千]*(?:[万亿][一二两三四五六七八九]?)?"
_CN_NUMBER = re.compile(rf"^{_CN_ONE}(?:(?:-|~|～|—|–|至|到){_CN_ONE})?$")
_CN_PART = re.compile("[零〇一二两三四五六七八九十百千]+")
_TEN_THOUSANDS_AND = re.compile(r"([0-9]+)([万亿])([1-9])(?=$|[^0-9])")  # 1万5 (一万五) is 1.5万
_PERCENT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*%$|^([0-9]+(?:\.[0-9]+)?)\s*%?\s*(?:-|~|～|至|到)\s*"
                      r"([0-9]+(?:\.[0-9]+)?)\s*%$")
_NUMBER_FACT = FactDef("number", "number", Text("数值", "number"), Text("", ""), None, {}, None, None, None,
                       Pos("<cell>", 1, 1))


@dataclass(frozen=True)
class Match:
    value: Any  # the catalogue value (None: the cell says "unknown")
    how: str  # a key of HOW_VALUE
    shown: str = ""  # what was matched, e.g. the label "方案演示" matched a part of


def normal(text: Any) -> str:
    """A cell's text as compared here: NFKC (full-width → half-width), simplified, case-folded, trimmed."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    return to_simplified(s).casefold()


# "It depends" as a cell: 看房子, 看车定, 看设计再说, 视情况而定, 按单算, 不方便说, depends on project
_DEPENDS = re.compile(r"^(?:看|视|要看|得看|取决于)\S{1,6}?(?:定|而定|再定|再说|决定)?$|^按\S{1,4}算$|^不方便\S{0,3}$"
                      r"|^(?:it\s+)?depends(?:\s+on\b.*)?$")


def says_unknown(text: Any) -> bool:
    s = normal(text)
    return s in UNKNOWN_CELLS or s in UNKNOWN_WORDS or (len(s) <= 24 and _DEPENDS.match(s) is not None)


def _chinese_number(run: str) -> int | None:
    """一百二十 → 120, 两千五 → 2500 (the spoken 'and five hundred'), 三五 → None (two digits: not a number)."""
    total, digit, last_unit, zero = 0, None, 0, False
    for ch in run:
        if ch in "零〇":
            zero = True  # 一千零五: the next digit is a unit digit
        elif ch in _CN_DIGIT:
            if digit is not None:
                return None
            digit = _CN_DIGIT[ch]
        else:
            unit = _CN_UNIT[ch]
            if (last_unit and unit >= last_unit) or (digit is None and zero):
                return None  # 十百, 千千: not a number
            total += (digit if digit is not None else (1 if unit == 10 and total == 0 else 0)) * unit
            digit, last_unit, zero = None, unit, False
    if digit is not None:
        total += digit * (last_unit // 10 if last_unit >= 100 and not zero else 1)
    return total


def _arabic(s: str) -> str | None:
    """A cell in Chinese numerals in digits ("三十万" → "30万", "十到二十万" → "10到20万"), or None."""
    if not _CN_NUMBER.match(s):
        return None
    parts = _CN_PART.split(s)
    runs = [_chinese_number(r) for r in _CN_PART.findall(s)]
    if any(r is None for r in runs):
        return None
    out = parts[0]
    for r, rest in zip(runs, parts[1:], strict=True):
        out += str(r) + rest
    return _TEN_THOUSANDS_AND.sub(r"\1.\3\2", out)


def number_in(text: Any) -> Match | None:
    """The number a cell means: "约20万" → 200000 (about), "30-50" → 40 (a range's middle), "1.5万" → 15000,
    "三十万左右" → 300000, "60%" → 60 (a percentage)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return Match(text, "number")
    s = normal(text).replace(",", "").replace(" ", "")
    if not s or len(s) > 40:
        return None
    pct = _PERCENT.match(s)
    if pct:
        if pct.group(1):
            x = float(pct.group(1))
        else:
            lo, hi = float(pct.group(2)), float(pct.group(3))
            if lo > hi:
                return None
            x = (lo + hi) / 2
        return Match(int(x) if x.is_integer() else x, "percent")
    m = _RANGE.match(s)
    if m:
        lo_scale = _SCALE.get((m.group(2) or "").lower())
        hi_scale = _SCALE.get((m.group(4) or "").lower())
        lo_scale = lo_scale or hi_scale or 1  # "30-50万": both ends in 万
        hi_scale = hi_scale or lo_scale
        lo, hi = float(m.group(1)) * lo_scale, float(m.group(3)) * hi_scale
        if lo > hi:
            return None
        mid = (lo + hi) / 2
        return Match(int(mid) if mid.is_integer() else mid, "range")
    hedged = s
    for _i in range(4):  # "约20万元左右": at most a few hedges around one number
        stripped = _HEDGE.sub("", hedged)
        if stripped == hedged:
            break
        hedged = stripped
    digits = _arabic(hedged)
    if digits is not None:  # "三十万左右": the same number in digits
        got = number_in(digits)
        if got is None:
            return None
        return Match(got.value, "about" if hedged != s or got.how == "about" else got.how)
    if hedged != s:
        m = _RANGE.match(hedged)  # "1200-1500美金", "$1500-2000/柜"
        if m:
            got = number_in(hedged)
            return Match(got.value, "range") if got is not None else None
    m = _SCALED.match(hedged)  # "2千", "3k": the scales the strict coercion does not read
    if m and m.group(2).lower() != "万":
        x = float(m.group(1)) * _SCALE[m.group(2).lower()]
        return Match(int(x) if x.is_integer() else x, "about" if hedged != s else "number")
    try:
        x = coerce_value(_NUMBER_FACT, hedged)
    except (ValueProblem, TypeError, AttributeError):
        led = _LEAD_WORDS.sub("", hedged)
        trail = _TRAIL_WORDS.search(led)
        if trail and not _DATE_WORDS & set(trail.group()):
            led = led[:trail.start()]
        if led == hedged or not led:
            return None
        got = number_in(led)
        return Match(got.value, "about") if got is not None else None
    if x is None:
        return None
    return Match(x, "about" if hedged != s else "number")


def lenient_value(f: FactDef, raw: Any) -> Match | None:
    """A catalogue value for a cell the strict coercion refused, or None when nothing fits."""
    if says_unknown(raw):
        return Match(None, "unknown")
    s = normal(raw)
    if f.type == "bool":
        if s in YES_CELLS:
            return Match(True, "synonym")
        if s in NO_CELLS:
            return Match(False, "synonym")
        return None
    if f.type == "number":
        m = number_in(raw)
        if m is None:
            return None
        try:
            v = coerce_value(f, m.value)
        except ValueProblem:
            return None
        return Match(v, m.how)
    if f.type not in ("enum", "list") or not f.values:
        return None
    key = _loose(s)
    if not key:
        return None
    for v in f.values.values():
        names = (v.id, v.label.zh, v.label.en)
        if key in (_loose(normal(n)) for n in names):
            return Match([v.id] if f.type == "list" else v.id, "simplified", v.label.zh)
    # part of a label: the cell inside exactly one answer's name, or exactly one name inside the cell
    inside = [v for v in f.values.values() if len(key) >= 1 and key in _loose(normal(v.label.zh))
              and (len(key) >= 2 or len(_loose(normal(v.label.zh))) <= 3)]
    if len(inside) == 1:
        v = inside[0]
        return Match([v.id] if f.type == "list" else v.id, "part", v.label.zh)
    around = [v for v in f.values.values() if len(_loose(normal(v.label.zh))) >= 2
              and _loose(normal(v.label.zh)) in key]
    if len(around) == 1:
        v = around[0]
        return Match([v.id] if f.type == "list" else v.id, "part", v.label.zh)
    # a label that lists words ("经理、主管、组长"): the longest of its words the cell holds ("采购部经理")
    best: tuple[int, Any] | None = None
    tie = False
    for v in f.values.values():
        for part in _PARTS.split(normal(v.label.zh)) + _PARTS.split(normal(v.label.en)):
            part = _loose(part)
            if len(part) >= 2 and part in key:
                if best is None or len(part) > best[0]:
                    best, tie = (len(part), v), False
                elif len(part) == best[0] and best[1].id != v.id:
                    tie = True
    if best is not None and not tie:
        v = best[1]
        return Match([v.id] if f.type == "list" else v.id, "part", v.label.zh)
    return None


_PARTS = re.compile(r"[、,，/()（）;；]+")


_PUNCT = re.compile(r"[\W_]+")


def _loose(s: str) -> str:
    return _PUNCT.sub("", s)


_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")


def table_lookup(table: dict[str, Any], order: dict[str, int], raw: Any) -> tuple[str, Any] | None:
    """A value table entry for a cell: its own key, else the longest key the cell contains
    (ties: the one that ends the cell — a Chinese compound names its kind last, 厂长助理 is an
    assistant — then the key listed first), so "采购部经理" finds "经理" and "总经理助理" its own
    entry; else the same for the cell without what it adds in brackets ("A(重点客户)" is "A")."""
    text = normal(raw)
    hit = _table_hit(table, order, _loose(text))
    if hit is None and _BRACKETED.search(text):
        hit = _table_hit(table, order, _loose(_BRACKETED.sub("", text)))
    return hit


def _table_hit(table: dict[str, Any], order: dict[str, int], s: str) -> tuple[str, Any] | None:
    if not s:
        return None
    if s in table:
        return s, table[s]
    best: tuple[int, int, int, str] | None = None
    for k in table:
        if len(k) >= 2 and k in s and not k.isdigit():
            rank = (-len(k), 0 if s.endswith(k) else 1, order.get(k, 0), k)
            if best is None or rank < best:
                best = rank
    if best is None:
        return None
    return best[3], table[best[3]]


def table_key(raw: Any) -> str:
    """How a value table's keys are stored for `table_lookup`."""
    return _loose(normal(raw))
