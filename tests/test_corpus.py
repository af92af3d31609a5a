"""The utterance corpus and `zhike rules test --corpus` (engine/trainer/corpus*.py).

Runner tests use the mini rulebase with a small `mood` typology of `said:` rules and corpora written
here; the last tests check the bundled corpus itself (split sizes, no sentence in both splits, and
traditional characters classifying as simplified ones). Held-out sentences are never printed here
either: a failure names train sentences and held-out counts only.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from conftest import zhike
from engine.trainer.corpus import check_corpus, classify_items, corpus_dir, sentence_key
from engine.trainer.corpus_metrics import round_down, score

MOOD = """\
typology:
  id: mood
  label: {zh: 心情, en: Mood}
  classes:
    - {id: happy, label: {zh: 开心, en: Happy}}
    - {id: sad, label: {zh: 难过, en: Sad}}
    - {id: angry, label: {zh: 生气, en: Angry}}
rules:
  - id: m.happy
    when: {said: {zh: [开心, 高兴], en: [happy, glad]}}
    then: [{class: happy, weight: 0.8}]
    rationale: {zh: 开心, en: happy}
    source: {seed: "001", section: topk}
  - id: m.sad
    when: {said: {zh: [难过, 伤心], en: [sad]}}
    then: [{class: sad, weight: 0.8}]
    rationale: {zh: 难过, en: sad}
    source: {seed: "001", section: topk}
  - id: m.angry
    when: {said: {zh: [生气], en: [angry]}}
    then: [{class: angry, weight: 0.8}]
    rationale: {zh: 生气, en: angry}
    source: {seed: "001", section: topk}
"""

TRAIN = """\
typology: mood
split: train
items:
  - said: "今天真开心"
    expect: happy
  - said: "I'm so glad"
    expect: happy
  - said: "有点难过"
    expect: sad
  - said: "TRAIN-MISS 我很伤心"
    expect: happy
  - said: "你好"
    expect: null
"""

HELDOUT = """\
typology: mood
split: heldout
items:
  - said: "好高兴啊"
    expect: happy
  - said: "I'm sad"
    expect: sad
  - said: "HELDOUT-SECRET 我很难过"
    expect: happy
  - said: "真生气"
    expect: angry
  - said: "再见"
    expect: null
"""


def _mood_rb(root: Path, train: str = TRAIN, heldout: str | None = HELDOUT, floor: str | None = None) -> Path:
    (root / "typologies" / "mood.yaml").write_text(MOOD, encoding="utf-8")
    corpus = root / "corpus"
    (corpus / "train").mkdir(parents=True)
    (corpus / "train" / "mood.yaml").write_text(train, encoding="utf-8")
    if heldout is not None:
        (corpus / "heldout").mkdir()
        (corpus / "heldout" / "mood.yaml").write_text(heldout, encoding="utf-8")
    if floor is not None:
        (corpus / "floor.yaml").write_text(floor, encoding="utf-8")
    return root


def _json(root: Path, *args: str) -> tuple[int, dict]:
    r = zhike("rules", "test", "--lang", "en", str(root), "--corpus", "--format", "json", *args)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r.returncode, json.loads(r.stdout)


# --- loading ---------------------------------------------------------------------------------

def test_every_mistake_in_a_corpus_file_is_reported_with_its_position(mini_copy):
    _mood_rb(mini_copy, train="""\
typology: mood
split: train
items:
  - said: "我很开心"
    expect: hapy
  - expect: sad
  - said: "sad"
    expect: sad
    also: {social_styl: tiger}
  - said: "ok"
    expcet: null
  - said: "生气"
    expect: angry
    also: {social_style: tigr}
""", heldout=None)
    (mini_copy / "corpus" / "train" / "other.yaml").write_text("typology: mod\nsplit: held-out\nitems: []\n",
                                                               encoding="utf-8")
    (mini_copy / "corpus" / "held-out").mkdir()
    (mini_copy / "corpus" / "held-out" / "mood.yaml").write_text("typology: mood\n", encoding="utf-8")
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus")
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr
    f = "corpus/train/mood.yaml"
    expected = [
        (rf"{f}:5:13: error: typology mood has no class 'hapy' \(did you mean \"happy\"\?\).*\[unknown-class\]"),
        (rf"{f}:6:5: error: an item needs `said:`.*\[missing-key\]"),
        (rf"{f}:9:12: error: unknown typology 'social_styl' \(did you mean \"social_style\"\?\).*\[unknown-typology\]"),
        (rf"{f}:11:5: error: unknown key 'expcet' \(did you mean \"expect\"\?\).*"),
        (rf"{f}:10:5: error: an item needs `expect:`.*\[missing-key\]"),
        (rf"{f}:14:26: error: typology social_style has no class 'tigr' \(did you mean \"tiger\"\?\)"),
        (r"corpus/train/other.yaml:1:11: error: unknown typology 'mod' \(did you mean \"mood\"\?\)"),
        (r"corpus/train/other.yaml:2:8: error: `split: held-out` \(did you mean \"heldout\"\?\) does not match the "
         r"folder train/"),
        (r"corpus/held-out:1:1: error: unknown split folder 'held-out' \(did you mean \"heldout\"\?\)"),
    ]
    for pattern in expected:
        assert re.search(pattern, err), f"{pattern!r} not in:\n{err}"
    assert "9 problems" in err


def test_the_same_sentence_twice_in_a_file_is_a_problem(mini_copy, mini_rb):
    _mood_rb(mini_copy, train=TRAIN + '  - said: "今天真开心!"\n    expect: happy\n', heldout=None)
    from engine.rules.loader import load_rulebase

    items, problems = check_corpus(load_rulebase(mini_copy), mini_copy / "corpus")
    assert len(items) == 5
    assert [(p.pos.line, p.check) for p in problems] == [(14, "corpus-format")]
    assert "already at line 4" in problems[0].message


# --- metrics ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_metrics_match_scikit_learn(seed):
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = random.Random(seed)
    classes = ["a", "b", "c", "d", "e"][: rng.randint(2, 5)]
    pool = [*classes, None]
    n = rng.randint(5, 80)
    expected = [rng.choice(pool) for _ in range(n)]
    got = [e if rng.random() < 0.5 else rng.choice(pool) for e in expected]
    s = score("t", "train", zip(expected, got, strict=True), classes)
    real = [c.cls for c in s.classes]
    assert real == [c for c in classes if c in set(expected) | set(got)]
    none = "__none__"
    y_true = [none if x is None else x for x in expected]
    y_pred = [none if x is None else x for x in got]
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=real, zero_division=0)
    for i, c in enumerate(s.classes):
        assert c.precision == pytest.approx(p[i]) and c.recall == pytest.approx(r[i])
        assert c.f1 == pytest.approx(f[i]) and c.support == support[i]
    macro = precision_recall_fscore_support(y_true, y_pred, labels=real, average="macro", zero_division=0)[2]
    assert s.macro_f1 == pytest.approx(macro)
    assert s.matrix == confusion_matrix(y_true, y_pred, labels=[*real, none]).tolist()
    assert s.plain_total == expected.count(None)
    assert s.plain_hit == sum(1 for e, g in zip(expected, got, strict=True) if e is None and g is not None)


def test_null_is_in_the_matrix_but_not_in_macro_f1():
    s = score("t", "train", [("a", "a"), ("a", None), (None, None), (None, "a")], ["a"])
    assert s.labels == ["a", None]
    assert s.matrix == [[1, 1], [1, 1]]
    assert s.macro_f1 == pytest.approx(0.5)  # only class a: precision 1/2, recall 1/2
    assert s.plain_hit_rate == pytest.approx(0.5)


def test_round_down_never_rounds_up():
    assert round_down(0.919) == 0.91 and round_down(0.9) == 0.9 and round_down(1.0) == 1.0


# --- the command -----------------------------------------------------------------------------

def test_json_has_scores_matrix_and_ids_per_typology_and_split(mini_copy):
    _mood_rb(mini_copy)
    code, data = _json(mini_copy)
    assert code == 0 and data["ok"] is True and data["splits"] == ["train", "heldout"]
    by = {(x["typology"], x["split"]): x for x in data["results"]}
    assert set(by) == {("mood", "train"), ("mood", "heldout")}
    train = by[("mood", "train")]
    assert train["items"] == 5 and train["correct"] == 4
    assert [c["class"] for c in train["classes"]] == ["happy", "sad"]
    happy = train["classes"][0]
    assert (happy["precision"], happy["recall"], happy["support"]) == (1.0, round(2 / 3, 4), 3)
    assert train["confusion"] == {"labels": ["happy", "sad", None], "matrix": [[2, 1, 0], [0, 1, 0], [0, 0, 1]]}
    assert train["plain_remarks"] == 1 and train["plain_remarks_given_a_class"] == 0
    assert train["macro_f1"] == round((0.8 + 2 / 3) / 2, 4)
    [miss] = train["misses"]
    assert miss["said"] == "TRAIN-MISS 我很伤心" and miss["expected"] == "happy" and miss["got"] == "sad"
    assert miss["evidence"][0]["rule"] == "m.sad" and miss["evidence"][0]["clause"]


def test_corpus_dir_can_be_given_and_a_missing_one_is_a_usage_error(mini_copy, tmp_path):
    _mood_rb(mini_copy)
    elsewhere = tmp_path / "elsewhere"
    (mini_copy / "corpus").rename(elsewhere)
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus")
    assert r.returncode == 2 and "no corpus folder at" in r.stderr and "Traceback" not in r.stderr
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus", str(elsewhere), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["results"]) == 2


def test_held_out_misses_are_counted_never_shown(mini_copy):
    _mood_rb(mini_copy)
    for fmt in ("text", "json"):
        r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus", "--show-misses", "--format", fmt)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "TRAIN-MISS" in r.stdout
        assert "HELDOUT-SECRET" not in r.stdout + r.stderr
    assert "1 sentence misread (held-out sentences are not listed" in zhike(
        "rules", "test", "--lang", "en", str(mini_copy), "--corpus", "--show-misses").stdout
    _code, data = _json(mini_copy, "--split", "heldout")
    [held] = data["results"]
    assert held["misread"] == 1 and "misses" not in held


def test_text_shows_labels_not_ids_in_the_users_language(mini_copy):
    _mood_rb(mini_copy)
    r = zhike("rules", "test", "--lang", "zh", str(mini_copy), "--corpus", "--show-misses")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "== 心情 · 训练集 · 5 句 ==" in out and "== 心情 · 留出集 · 5 句 ==" in out
    assert "开心" in out and "精确率" in out and "混淆矩阵" in out
    assert not re.search(r"\b(happy|sad|angry|m\.sad)\b", out)
    assert "应为 开心,得到 难过(0.80)" in out


def test_floor_above_the_figure_fails_and_says_by_how_much(mini_copy):
    _mood_rb(mini_copy, floor="heldout:\n  mood: 0.0\n")
    code, data = _json(mini_copy)
    held = next(x for x in data["results"] if x["split"] == "heldout")
    figure = held["macro_f1"]
    assert code == 0 and 0 < figure < 0.95
    floor = round(figure + 0.05, 2)
    (mini_copy / "corpus" / "floor.yaml").write_text(f"heldout:\n  mood: {floor}\n", encoding="utf-8")
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus")
    assert r.returncode == 1, r.stdout + r.stderr
    gap = format(floor - figure, ".2f")
    assert f"FAILED Mood: held-out macro-F1 {figure:.2f} is below its floor {floor:.2f} by {gap}" in r.stdout
    zh = zhike("rules", "test", "--lang", "zh", str(mini_copy), "--corpus")
    assert zh.returncode == 1 and f"未通过 心情:留出集宏平均 F1 为 {figure:.2f},比下限 {floor:.2f} 低 {gap}" in zh.stdout
    code, data = _json(mini_copy)
    assert code == 1 and data["floor_misses"] == [{"typology": "mood", "floor": floor, "macro_f1": figure}]
    # the train split alone checks no floor
    assert zhike("rules", "test", str(mini_copy), "--corpus", "--split", "train").returncode == 0


def test_write_floor_writes_the_figures_rounded_down(mini_copy):
    _mood_rb(mini_copy, floor="heldout:\n  mood: 0.99\n")
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus", "--write-floor")
    assert r.returncode == 0, r.stdout + r.stderr
    text = (mini_copy / "corpus" / "floor.yaml").read_text(encoding="utf-8")
    code, data = _json(mini_copy)
    figure = next(x for x in data["results"] if x["split"] == "heldout")["macro_f1"]
    assert code == 0 and f"  mood: {round_down(figure):.2f}\n" in text
    assert zhike("rules", "test", str(mini_copy), "--corpus", "--split", "train", "--write-floor").returncode == 2


def test_a_bad_floor_file_is_a_usage_error_with_a_position(mini_copy):
    _mood_rb(mini_copy, floor="heldout:\n  mod: 2\n  mood: 1.5\n")
    r = zhike("rules", "test", "--lang", "en", str(mini_copy), "--corpus")
    assert r.returncode == 2
    assert re.search(r"corpus/floor.yaml:2:3: error: unknown typology 'mod' \(did you mean \"mood\"\?\)", r.stderr)
    assert "corpus/floor.yaml:3:9: error: a floor is a macro-F1 from 0 to 1" in r.stderr


# --- the bundled corpus ----------------------------------------------------------------------

# corpus-format.md (issue 12): the classes customers' words can show, and how many items each needs per split
CLASSES = {
    "objection": ["brush_off", "no_need", "no_money", "no_time", "generalizes_bad_experience", "keeps_considering",
                  "always_too_expensive", None],
    "decision_mode": ["decides_alone", "consults_family", "consults_colleagues", "needs_gentle_persuasion",
                      "needs_deadline", "needs_senior_contact"],
    "buying_behavior": ["complex", "dissonance_reducing", "variety_seeking", "habitual"],
    "customer_role": ["end_user", "wholesaler", "retailer", "purchasing_agent", "importer", "internal"],
    "engagement_reason": ["new_product", "unhappy_with_supplier", "volume_exceeds_supplier", "import_substitution"],
    "need_type": ["stated", "real", "secret", "delight"],
    "purchase_motive": ["practical", "aesthetic", "novelty"],
    "customer_type": ["relationship"],
    "inquiry": ["genuine_buyer", "price_comparison", "info_gathering", "competitor_fishing"],
}


class _Items(list):
    """Corpus items (or what comes of them), shown in a failure report as a count only: pytest prints
    a failing test's arguments (and its locals with -l), and held-out sentences must never be printed."""

    def __repr__(self) -> str:
        return f"<{len(self)} corpus items>"


class _Keys(set):
    def __repr__(self) -> str:
        return f"<{len(self)} sentences>"


@pytest.fixture(scope="module")
def bundled_items(bundled_rb):
    items, problems = check_corpus(bundled_rb, corpus_dir(bundled_rb))
    assert not problems, "\n".join(str(p) for p in problems if "/heldout/" not in p.pos.file) or \
        f"{len(problems)} problems in the held-out files"
    return _Items(items)


def test_bundled_corpus_has_enough_items_per_class_in_each_split(bundled_items):
    counts: dict[tuple[str, str, str | None], int] = {}
    for item in bundled_items:
        for tid, cls in item.expect.items():
            counts[(item.split, tid, cls)] = counts.get((item.split, tid, cls), 0) + 1
    short = []
    for tid, classes in CLASSES.items():
        need = 30 if tid == "objection" else 10
        for split in ("train", "heldout"):
            short += [f"{split} {tid}.{cls}: {counts.get((split, tid, cls), 0)} < {need}"
                      for cls in classes if counts.get((split, tid, cls), 0) < need]
    assert not short, "\n".join(short)


def test_no_sentence_is_in_both_splits(bundled_items):
    heldout = _Keys(sentence_key(h.said) for h in bundled_items if h.split == "heldout")
    train = _Items(i for i in bundled_items if i.split == "train")
    shared = "; ".join(f"{i.pos.file}:{i.pos.line}" for i in train if sentence_key(i.said) in heldout)
    assert len(train) > 100 and len(heldout) > 100
    assert shared == "", f"train sentences also in the held-out split: {shared}"


def test_traditional_characters_classify_as_the_simplified_originals(bundled, bundled_items):
    import opencc

    from engine.trainer.corpus import CorpusItem

    s2t = opencc.OpenCC("s2t")
    before = _Items(classify_items(bundled, bundled_items))
    converted = _Items(CorpusItem(s2t.convert(i.said), i.typology, i.split, i.pos, i.expect) for i in bundled_items)
    assert sum(a.said != b.said for a, b in zip(bundled_items, converted, strict=True)) > len(bundled_items) / 2
    after = _Items(classify_items(bundled, converted))
    differ = _Items((a, b) for a, b in zip(before, after, strict=True) if a.got != b.got)
    # held-out sentences stay unseen: their differences are counted, train ones are named
    shown = "\n".join(f"{a.item.pos.file}:{a.item.pos.line} {a.typology}: {a.got} -> {b.got} “{b.item.said}”"
                      for a, b in differ if a.item.split == "train")
    hidden = sum(1 for a, _b in differ if a.item.split != "train")
    assert (hidden, shown) == (0, ""), f"{hidden} held-out outcome(s) differ; train:\n{shown}"
