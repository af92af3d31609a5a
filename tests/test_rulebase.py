"""The bundled rulebase: the issue's acceptance examples, sources and ethics."""
import os
import re
from pathlib import Path

import pytest
import yaml

from conftest import BUNDLED, ROOT, classify

KNOWLEDGE_MAP_CLASSES = {
    "social_style": ["tiger", "owl", "peacock", "koala"],
    "objection": ["brush_off", "no_need", "no_money", "no_time", "generalizes_bad_experience",
                  "keeps_considering", "always_too_expensive"],
    "qualification": ["MAN", "MAn", "MaN", "mAN", "Man", "mAn", "maN", "man"],
}

# 000 ❽ opens with the customers' own words for each kind of rejection. The seed lost the
# no-time example (its "7、" line is the rep speaking), so that one is written from the
# section's description of the type.
SEED_UTTERANCES = [
    ("哦,你们公司啊,我知道,我知道,东西很不错,价格也很好,但我们目前没有这方面的需要。"
     "这样吧,留个地址和电话,我们下次需要了再和你联系吧。", "brush_off"),
    ("哦,我们已经有了VCD,凑合着还能用,DVD目前我不需要。", "no_need"),
    ("好是好,就是太贵了。我是自己买车,预算可没有这么高啊。", "no_money"),
    ("同类的产品我用过不少,没有一个我们满意的,我不相信你们能做得比他们好。", "generalizes_bad_experience"),
    ("材料我们是看过了。但是这件事情关系重大,我们还得再考虑考虑。", "keeps_considering"),
    ("产品你们做得是不错,就是太贵了,要知道XX公司的同类产品就比你们的便宜不少嘛。"
     "这样吧,把价格再降30%,我们可以考虑。", "always_too_expensive"),
    ("我现在很忙,没时间听你介绍。", "no_time"),
    # the issue's own two examples
    ("好是好,就是太贵了,我自己买,预算没这么高", "no_money"),
    ("XX家同类产品便宜不少,再降30%我们考虑", "always_too_expensive"),
]


def test_knowledge_map_ids(bundled_rb):
    for tid, classes in KNOWLEDGE_MAP_CLASSES.items():
        assert list(bundled_rb.typologies[tid].classes) == classes


@pytest.mark.parametrize("utterance,expected", SEED_UTTERANCES, ids=[e for _, e in SEED_UTTERANCES])
def test_objection_from_the_customers_words_alone(bundled, utterance, expected):
    r = classify(bundled, {"utterances": [utterance]})
    c = r.conclusions["objection"]
    assert c.value == expected, c.scores
    assert any(m.kind == "said" for b in c.because for m in b.facts)


def test_words_chain_into_qualification_and_strategy(bundled):
    # words -> objection -> derived facts -> MAN cell -> its action: at least two layers of chaining
    r = classify(bundled, {"utterances": ["好是好,就是太贵了,我自己买,预算没这么高"]})
    assert r.conclusions["objection"].value == "no_money"
    q = r.conclusions["qualification"]
    assert q.value is not None
    assert {d.fact for d in r.derived} & {"has_money", "has_authority", "has_need"}
    strategy_ids = [s.strategy.id for s in r.strategies]
    assert any(s.startswith("objection.no_money") for s in strategy_ids)
    assert any(s.startswith(f"qualification.{q.value}") for s in strategy_ids)


def test_empty_profile_lists_every_typology_as_insufficient(bundled, bundled_rb):
    r = classify(bundled, {})
    assert set(r.conclusions) == set(bundled_rb.typologies)
    assert all(c.value is None and c.reason == "insufficient evidence" for c in r.conclusions.values())
    assert r.missing and set(r.missing) <= set(bundled_rb.facts)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_examples_classify(bundled, bundled_rb, example):
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import load_profile

    r = infer(bundled, load_profile(str(ROOT / "examples" / example), bundled_rb))
    assert any(c.value for c in r.conclusions.values())
    assert r.strategies


def test_every_rule_and_strategy_cites_an_existing_section(bundled_rb):
    for item in list(bundled_rb.rules) + list(bundled_rb.strategies):
        seed = bundled_rb.seeds[item.source.seed]
        assert item.source.section in seed.sections, item.id


def _seeds_dir() -> Path | None:
    for cand in (os.environ.get("ZHIKE_SEEDS"), ROOT.parent / "shared" / "seeds", ROOT.parent.parent / "shared" / "seeds"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def test_source_anchors_occur_in_the_seed_documents(bundled_rb):
    seeds = _seeds_dir()
    if seeds is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the seed documents beside the repo (../shared/seeds) or in $ZHIKE_SEEDS")
        pytest.skip("seed documents not found (set ZHIKE_SEEDS)")
    for seed in bundled_rb.seeds.values():
        text = (seeds / seed.file).read_text(encoding="utf-8", errors="replace")
        for sec in seed.sections.values():
            assert sec.anchor in text, f"{seed.id} section {sec.id}: anchor {sec.anchor!r} not in {seed.file}"


# Unlawful or unethical advice from the source documents that must never be given.
FORBIDDEN = ["回扣", "返点", "送礼", "礼品", "红包", "酒后", "苦肉计", "好处费", "kickback", "bribe", "gift",
             "after drinking", "overcharg"]
NEGATION = re.compile(r"(不|别|勿|切忌|严禁|禁止|拒绝|never|don't|do not|no |not |avoid|refuse|decline)[^。.;；]{0,12}$",
                      re.IGNORECASE)


def _strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _strings(x)


def _advice_texts(root: Path):
    """Every piece of advice a rep can read: strategy summaries and advice, in every file."""
    for path in sorted(root.rglob("*.yaml")):
        if "tests" in path.relative_to(root).parts:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for s in doc.get("strategies", []) or []:
            for text in _strings({"summary": s.get("summary"), "advice": s.get("advice")}):
                yield path, s.get("id"), text


def test_no_unlawful_advice_in_the_rulebase():
    offences = []
    texts = list(_advice_texts(BUNDLED))
    assert len(texts) > 50
    for path, sid, text in texts:
        low = text.lower()
        for word in FORBIDDEN:
            for m in re.finditer(re.escape(word.lower()), low):
                if not NEGATION.search(low[max(0, m.start() - 40):m.start()]):
                    offences.append(f"{path.name} {sid}: …{text[max(0, m.start() - 20):m.end() + 20]}…")
    assert not offences, "\n".join(offences)


def test_advice_grep_catches_a_planted_offence(tmp_path):
    # the ethics test must be able to fail
    (tmp_path / "typologies").mkdir()
    (tmp_path / "typologies" / "x.yaml").write_text(
        "strategies:\n  - id: x\n    advice: {zh: 可以给他一点回扣, en: offer a small kickback}\n", encoding="utf-8")
    hits = [t for _, _, t in _advice_texts(tmp_path) for w in FORBIDDEN if w in t.lower()]
    assert hits
    assert not NEGATION.search("可以给他一点")


def test_a_profile_that_fills_every_fact_concludes_every_typology(bundled, bundled_rb):
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import load_profile
    from engine.report.render import render

    prof = load_profile(str(ROOT / "examples" / "paying-customer.yaml"), bundled_rb)
    assert set(prof.facts) | {"utterances"} == set(bundled_rb.facts)  # every fact of the catalogue
    r = infer(bundled, prof)
    # every typology concludes, except non_customer: a loyal customer we work with now is no non-customer
    assert {t: c.value is not None for t, c in r.conclusions.items()} == {
        t: t != "non_customer" for t in bundled_rb.typologies}
    assert len(bundled_rb.typologies) == 16
    nba = r.next_best_action
    assert nba is not None and nba.strategy.summary is not None
    assert len(nba.strategy.advice) >= 3  # a per-stage plan
    for c in r.conclusions.values():
        assert c.because and all(b.rule.source and b.rule.rationale for b in c.because)
    for lang in ("zh", "en"):
        text = render(r, "text", lang)
        assert nba.strategy.summary.get(lang) in text


def test_a_few_facts_give_what_they_support_and_name_what_to_ask(bundled):
    r = classify(bundled, {"facts": {"dominance": "high", "self_control": "high"}})
    assert r.conclusions["social_style"].value == "tiger"
    nulls = [t for t, c in r.conclusions.items() if c.value is None]
    assert len(nulls) >= 10
    assert all(r.conclusions[t].reason == "insufficient evidence" for t in nulls)
    assert r.missing and "dominance" not in r.missing
    assert all(r.conclusions[t].missing for t in nulls)
