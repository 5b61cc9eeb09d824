"""The matching code path end to end: candidates from the search index, re-ranked, only public technologies."""

import pytest

from listings import services as listing_services
from listings.models import ListingStatus
from matching import selectors
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db


def test_a_need_gets_ranked_explained_technologies(market, matching_index):
    # given the market indexed
    matching_index.refresh()
    # when the need's technologies are ranked
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=market["need"].pk))
    titles = [item.technology.title for item in result.items]
    # then the fitting technology leads, with its reasons, and breaks nothing
    assert result.engine and not result.too_short
    assert titles[0] == market["fits"].title
    first = result.items[0]
    assert first.broken == []
    assert any(r.startswith("共同关键词:") and "牦牛肉" in r for r in first.reasons)
    assert "报价 ¥30 万,在预算 ¥50 万以内" in first.reasons
    assert "北京援藏单位成果" in first.reasons
    # and the one over budget is shown with what it breaks, after it
    dear = next(item for item in result.items if item.technology.pk == market["too_dear"].pk)
    assert dear.broken == ["报价 ¥200 万,超出预算 ¥50 万"]
    assert titles.index(market["too_dear"].title) > titles.index(market["fits"].title)
    # and the solar robot is no match for yak meat
    assert market["unrelated"].title not in titles


def test_constraint_breakers_come_after_everything_that_breaks_nothing(market, matching_index):
    matching_index.refresh()
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=market["need"].pk))
    flags = [bool(item.scored.broken) for item in result.items]
    assert flags == sorted(flags)  # all False first, then all True
    assert True in flags


def test_a_withdrawn_technology_disappears_at_once(market, matching_index, seller_b):
    # given the fitting technology indexed, then withdrawn (the index still has it: no task has run)
    matching_index.refresh()
    listing_services.listing_withdraw(listing=market["fits"], by=seller_b)
    # when the need is ranked
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=market["need"].pk))
    # then it is gone
    assert market["fits"].pk not in [item.technology.pk for item in result.items]


def test_own_organisation_technologies_are_not_matched(market, matching_index, enterprise):
    market["fits"].organisation = enterprise
    market["fits"].save()
    matching_index.refresh()
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=market["need"].pk))
    assert market["fits"].pk not in [item.technology.pk for item in result.items]


def test_a_need_too_short_to_match_says_so(enterprise, matching_index):
    need = NeedFactory(organisation=enterprise, title="冷链", description="保鲜")
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=need.pk))
    assert result.too_short and result.items == []
    assert "至少 10 个字" in result.suggestions[0]


def test_no_candidates_gives_an_honest_empty_state_with_suggestions(market, matching_index, enterprise):
    matching_index.refresh()
    need = NeedFactory(
        organisation=enterprise,
        title="寺院酥油灯烟熏壁画的清洗",
        description="大殿里的壁画被酥油灯熏黑了,想找安全的清洗办法,不能伤到颜料。",
        field="urban",
        min_maturity="industrial",
        desired_modes=["service"],
        tags=["tourism"],
    )
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=need.pk))
    assert result.items == []
    tips = " ".join(result.suggestions)
    assert "降低最低成熟度要求(当前:产业化)" in tips
    assert "放宽技术领域" in tips
    assert "放宽可接受的转化方式" in tips


def test_when_the_engine_is_down_candidates_come_from_the_database(market, engine_down):
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=market["need"].pk))
    assert result.engine is False
    assert result.items and result.items[0].technology.pk == market["fits"].pk


def test_a_draft_need_can_be_previewed(market, matching_index):
    matching_index.refresh()
    need = market["need"]
    need.status = ListingStatus.DRAFT
    need.save()
    result = selectors.technology_ranking(need=selectors.need_for_matching(pk=need.pk))
    assert result.items[0].technology.pk == market["fits"].pk
