"""The re-ranker on its own: key terms, features, hard constraints, order and the words people read."""

from decimal import Decimal

import pytest
from django.utils import translation

from matching import ranking


def need(**overrides) -> ranking.NeedProfile:
    title = overrides.pop("title", "牦牛肉运到内地老是变质")
    body = overrides.pop("body", "冷鲜牦牛肉发往成都,路上温度控制不好,想要保鲜的办法")
    values = {
        "pk": 1,
        "title": title,
        "text_length": len(title + body),
        "field": "agriculture",
        "tags": frozenset({"agri_pastoral"}),
        "modes": frozenset({"license"}),
        "min_maturity": "small_pilot",
        "budget": Decimal("500000"),
        "terms": ranking.key_terms(title, body),
    }
    values.update(overrides)
    return ranking.NeedProfile(**values)


def tech(**overrides) -> ranking.TechProfile:
    text = overrides.pop("text", "牦牛肉冷链保鲜技术 冷鲜牦牛肉气调包装,温度监控,货架期21天")
    values = {
        "pk": 7,
        "title": "牦牛肉冷链保鲜技术",
        "field": "agriculture",
        "tags": frozenset({"agri_pastoral"}),
        "modes": frozenset({"license", "transfer"}),
        "maturity": "pilot",
        "price": Decimal("300000"),
        "price_max": None,
        "region": "beijing",
        "text": ranking.listing_text(text),
    }
    values.update(overrides)
    return ranking.TechProfile(**values)


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_key_terms_weigh_the_problem_not_the_filler():
    # given a need written as people talk
    terms = ranking.key_terms("青稞粉放两个月就有哈喇味", "我们想找个办法,让粉能放半年")
    weights = {t.word: t.weight for t in terms}
    # then the problem words lead and the filler weighs (next to) nothing
    assert terms[0].word in {"青稞粉", "哈喇"}
    assert "我们" not in weights and "想" not in weights
    assert weights.get("办法", 0) < terms[0].weight / 10


def test_a_word_the_segmenter_made_up_counts_by_its_parts():
    terms = {t.word: t for t in ranking.key_terms("骨头和血都贱卖了", "剩下的皮和胆也扔了")}
    # 皮和胆 is no dictionary word: its characters carry the weight instead
    assert "皮" in terms and "胆" in terms
    assert terms.get("皮和胆") is None or terms["皮和胆"].weight < terms["胆"].weight


def test_concept_words_bridge_buyer_and_seller_wording():
    terms = {t.word: t for t in ranking.key_terms("收药材怕收到假货", "想现场验真假")}
    assert "真伪" in terms["真假"].related


def test_shared_terms_field_tags_constraints_and_aid_become_reasons():
    scored = ranking.score_pair(need(), tech(), text=1.0)
    texts = [ranking.reason_text(r) for r in scored.reasons]
    assert texts[0].startswith("共同关键词:") and "牦牛肉" in texts[0]
    assert "同属农业领域" in texts
    assert "同属特色产业:农牧业" in texts
    assert "成熟度中试,满足最低要求(小试)" in texts
    assert "接受许可方式" in texts
    assert "报价 ¥30 万,在预算 ¥50 万以内" in texts
    assert "北京援藏单位成果" in texts
    assert scored.broken == []
    assert 0 < scored.score <= 100


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"maturity": "lab"}, "成熟度实验室,低于最低要求(小试)"),
        ({"modes": frozenset({"equity"})}, "不提供可接受的转化方式(需要:许可;提供:作价入股)"),
        ({"price": Decimal("800000"), "price_max": Decimal("1200000")}, "报价 ¥80 万–120 万,超出预算 ¥50 万"),
    ],
)
def test_each_hard_constraint_broken_is_said_in_words(change, expected):
    scored = ranking.score_pair(need(), tech(**change), text=1.0)
    assert [ranking.broken_text(b) for b in scored.broken] == [expected]


def test_constraints_the_need_does_not_set_are_silent():
    open_need = need(modes=frozenset(), min_maturity="", budget=None)
    scored = ranking.score_pair(open_need, tech(maturity="lab", price=Decimal("9000000")), text=1.0)
    assert scored.broken == []
    assert not any(r["code"] in ("maturity", "modes", "price") for r in scored.reasons)


def test_negotiable_price_is_neither_within_nor_over_budget():
    scored = ranking.score_pair(need(), tech(price=None), text=1.0)
    assert not any(r["code"] == "price" for r in scored.reasons + scored.broken)


def test_breakers_rank_below_every_good_match_that_breaks_nothing():
    strong_but_dear = ranking.Scored(1, 10, score=95.0, features={}, broken=[{"code": "price"}])
    good = ranking.Scored(1, 11, score=ranking.GOOD_SCORE, features={})
    too_weak = ranking.Scored(1, 12, score=ranking.MIN_SCORE - 1, features={})
    ordered = ranking.order([strong_but_dear, good, too_weak])
    assert [s.technology_pk for s in ordered] == [11, 10]


def test_a_good_breaker_ranks_above_weak_matches_and_weak_breakers_come_last():
    # given good and weak matches, each with and without a broken constraint
    def scored(pk, score, broken=False):
        return ranking.Scored(1, pk, score=score, features={}, broken=[{"code": "modes"}] if broken else [])

    items = [
        scored(1, ranking.GOOD_SCORE - 1),  # weak, breaks nothing
        scored(2, 90.0, broken=True),  # good, breaks a constraint
        scored(3, ranking.GOOD_SCORE + 5),  # good, breaks nothing
        scored(4, ranking.GOOD_SCORE - 2, broken=True),  # weak and breaks one
        scored(5, ranking.MIN_SCORE + 1),  # weak, breaks nothing
    ]
    # then: good non-breakers, good breakers, weak non-breakers, weak breakers; by score inside a tier
    assert [s.technology_pk for s in ranking.order(items)] == [3, 2, 1, 5, 4]
    # and every breaker still sits below every non-breaker of its own tier
    assert [s.technology_pk for s in ranking.order(items, good_score=0)] == [3, 1, 5, 2, 4]


def test_colloquial_fillers_and_counted_amounts_are_not_key_terms():
    body = "路上四五天,想要一个办法,找个人从头到尾帮着弄"
    terms = {t.word for t in ranking.key_terms("牦牛肉发往内地路上老是坏", body)}
    assert {"牦牛肉"} <= terms
    assert not terms & {"老是", "四五天", "想要", "从头到尾", "帮着", "弄", "找个人"}
    assert ranking.is_filler("十几个") and ranking.is_filler("一个多月") and ranking.is_filler("两三年")
    assert not ranking.is_filler("五一") and not ranking.is_filler("二十五味") and not ranking.is_filler("一网统管")


def test_bare_quantities_are_not_key_terms_but_codes_with_letters_are():
    terms = {t.word for t in ranking.key_terms("糌粑生产线日产500公斤", "厂里想上5G监控,每袋3.5公斤")}
    assert "糌粑" in terms and "5g" in {w.lower() for w in terms}
    assert not terms & {"500", "3.5"}


def test_concept_vocabulary_words_are_known_words():
    # 冷鲜 is in no general dictionary, but the concept list makes it a word worth its full weight
    assert ranking.is_known("冷鲜")
    weights = {t.word: t.weight for t in ranking.key_terms("牦牛肉路上变质", "我们的冷鲜牦牛肉发往成都")}
    assert weights["冷鲜"] == pytest.approx(ranking.informativeness("冷鲜"))


def test_a_more_relevant_technology_scores_higher():
    relevant = ranking.score_pair(need(), tech(), text=1.0)
    off_topic_text = "光伏组件无水清洁机器人,积灰积雪清扫"
    off_topic = ranking.score_pair(
        need(), tech(text=off_topic_text, field="energy", tags=frozenset({"clean_energy"})), text=0.1
    )
    assert relevant.score > off_topic.score + 30


def test_engine_scores_are_made_relative_to_the_best():
    assert ranking.normalise_text_scores({1: 12.0, 2: 6.0, 3: 0.0}) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert ranking.normalise_text_scores({}) == {}


def test_too_short_needs_are_recognised():
    assert need(text_length=9).too_short
    assert not need(text_length=10).too_short
