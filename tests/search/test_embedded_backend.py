"""The embedded engine through haystack's SearchQuerySet: round trips, facets, filters, sorts,
highlights, autocomplete, more-like-this and suggestions."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from haystack.inputs import AutoQuery, Exact
from haystack.query import SearchQuerySet

from listings.models import ListingStatus, Need, Technology
from listings.patents import make_patent_number
from search.search_indexes import NeedIndex, TechnologyIndex
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.search_index]


def index_all(backend):
    backend.update(TechnologyIndex(), TechnologyIndex().index_queryset())
    backend.update(NeedIndex(), NeedIndex().index_queryset())


def ids(sqs):
    return [int(r.pk) for r in sqs]


@pytest.fixture
def catalogue(db):
    """A small catalogue: four technologies from three regions, one need, one draft."""
    tibet = OrganisationFactory(name="西藏农牧科学院测试", region="tibet")
    beijing = OrganisationFactory(name="北京援藏能源研究院", region="beijing")
    jiangsu = OrganisationFactory(name="江苏高原冷链有限公司", region="jiangsu")
    now = timezone.now()
    highland_barley = TechnologyFactory(
        organisation=tibet,
        title="青稞酒低温酿造工艺",
        summary="以高原青稞为原料,低温发酵酿造青稞酒,出酒率提高。",
        description="青稞酒酿造过程控温,适合拉萨本地酒厂。",
        field="agriculture",
        tags=["agri_pastoral", "health"],
        price_cny=Decimal("80000"),
        published_at=now - datetime.timedelta(days=3),
    )
    solar = TechnologyFactory(
        organisation=beijing,
        title="高原光伏电站智能运维系统",
        summary="光伏组件积雪和灰尘识别,自动清洗调度,提高发电量。",
        description="适用于当雄县等高海拔光伏电站的运维平台。",
        field="energy",
        tags=["clean_energy"],
        maturity="industrial",
        trl=8,
        transfer_modes=["license"],
        price_cny=Decimal("2000000"),
        published_at=now - datetime.timedelta(days=1),
    )
    heating = TechnologyFactory(
        organisation=beijing,
        title="太阳能发电与储能供暖一体化装置",
        summary="白天太阳能发电并蓄热,夜间为牧民定居点供暖。",
        description="太阳能发电加储能,解决冬季供暖难题。",
        field="energy",
        tags=["clean_energy", "livelihood"],
        price_kind="negotiable",
        price_cny=None,
        published_at=now - datetime.timedelta(days=2),
    )
    cold_chain = TechnologyFactory(
        organisation=jiangsu,
        title="牦牛肉冷藏运输保鲜技术",
        summary="冷藏运输全程温控,牦牛肉保质期延长到二十天。",
        description="从拉萨到内地的冷藏运输方案,含气调包装。",
        field="agriculture",
        tags=["agri_pastoral"],
        price_cny=Decimal("300000"),
        published_at=now,
    )
    TechnologyFactory(organisation=tibet, title="青稞草稿成果", status=ListingStatus.DRAFT, published_at=None)
    need = NeedFactory(
        organisation=OrganisationFactory(name="拉萨牦牛乳业有限公司", kind="enterprise", region="tibet"),
        title="牦牛奶冷链配送需求",
        description="需要把牦牛奶冷链配送到拉萨各超市。",
        budget_cny=None,
    )
    return {
        "barley": highland_barley,
        "solar": solar,
        "heating": heating,
        "cold_chain": cold_chain,
        "need": need,
    }


def test_only_published_listings_are_indexed(embedded_index, catalogue):
    # given the catalogue with a draft
    # when everything is indexed
    index_all(embedded_index)
    # then the draft is not searchable, the four technologies and the need are
    assert SearchQuerySet().count() == 5
    assert SearchQuerySet().models(Technology).count() == 4
    assert SearchQuerySet().auto_query("草稿").count() == 0


def test_dictionary_words_and_synonyms_find_listings(embedded_index, catalogue):
    index_all(embedded_index)
    # a dictionary word finds the listing that contains it whole
    assert ids(SearchQuerySet().auto_query("青稞")) == [catalogue["barley"].pk]
    # 光伏 ~ 太阳能发电: both energy listings
    assert set(ids(SearchQuerySet().auto_query("光伏"))) == {catalogue["solar"].pk, catalogue["heating"].pk}
    # 冷链 ~ 冷藏运输, across kinds: the technology and the need
    found = {(r.model_name, int(r.pk)) for r in SearchQuerySet().auto_query("冷链")}
    assert found == {("technology", catalogue["cold_chain"].pk), ("need", catalogue["need"].pk)}
    # 牦牛乳 ~ 牦牛奶
    assert ids(SearchQuerySet().models(Need).auto_query("牦牛乳")) == [catalogue["need"].pk]


def test_two_word_query_requires_both_words(embedded_index, catalogue):
    index_all(embedded_index)
    assert ids(SearchQuerySet().models(Technology).auto_query("牦牛 保鲜")) == [catalogue["cold_chain"].pk]
    assert SearchQuerySet().auto_query("青稞 光伏").count() == 0


def test_related_terms_find_more_but_rank_after_the_typed_word(embedded_index, catalogue):
    index_all(embedded_index)
    # 保鲜 → 冷链 (search/data/related.txt): the need holds 冷链 only, the technology holds 保鲜 itself.
    results = list(SearchQuerySet().auto_query("保鲜"))
    assert [(r.model_name, int(r.pk)) for r in results] == [
        ("technology", catalogue["cold_chain"].pk),
        ("need", catalogue["need"].pk),
    ]
    assert results[0].score > 2 * results[1].score
    # Only the technology when the typed word itself is asked for.
    assert ids(SearchQuerySet().filter(content=Exact("保鲜"))) == [catalogue["cold_chain"].pk]


def test_organisation_name_and_patent_numbers_are_searchable(embedded_index, catalogue):
    number = make_patent_number("201710601862")
    catalogue["solar"].ip_records.create(kind="invention", number=number, title="积雪识别方法")
    index_all(embedded_index)
    assert set(ids(SearchQuerySet().auto_query("北京援藏能源研究院"))) == {
        catalogue["solar"].pk,
        catalogue["heating"].pk,
    }
    for written in (number, number.removeprefix("ZL"), "201710601862"):
        assert ids(SearchQuerySet().auto_query(written)) == [catalogue["solar"].pk], written


def test_facet_counts_are_exact_and_follow_the_query(embedded_index, catalogue):
    index_all(embedded_index)
    sqs = SearchQuerySet().models(Technology).facet("field").facet("tags").facet("region").facet("price_band")
    counts = sqs.facet_counts()["fields"]
    assert dict(counts["field"]) == {"agriculture": 2, "energy": 2}
    assert dict(counts["tags"]) == {"agri_pastoral": 2, "clean_energy": 2, "health": 1, "livelihood": 1}
    assert dict(counts["region"]) == {"beijing": 2, "tibet": 1, "jiangsu": 1}
    assert dict(counts["price_band"]) == {"lt_100k": 1, "1m_5m": 1, "negotiable": 1, "100k_500k": 1}
    # with a query, the counts are those of the matches
    energy = SearchQuerySet().auto_query("光伏").facet("field").facet("aid").facet_counts()["fields"]
    assert dict(energy["field"]) == {"energy": 2}
    assert dict(energy["aid"]) == {"true": 2}


def test_filters_and_narrowing_combine_with_the_query(embedded_index, catalogue):
    index_all(embedded_index)
    base = SearchQuerySet().models(Technology)
    assert set(ids(base.filter(field="energy"))) == {catalogue["solar"].pk, catalogue["heating"].pk}
    assert ids(base.filter(field="energy").auto_query("运维")) == [catalogue["solar"].pk]
    assert ids(base.narrow('tags_exact:"livelihood"')) == [catalogue["heating"].pk]
    assert set(ids(base.narrow('region_exact:("beijing" OR "jiangsu")').narrow('field_exact:"agriculture"'))) == {
        catalogue["cold_chain"].pk
    }
    aid = {catalogue["solar"].pk, catalogue["heating"].pk, catalogue["cold_chain"].pk}
    assert set(ids(base.filter(aid=True))) == aid
    assert set(ids(base.filter(tags__in=["health", "livelihood"]))) == {catalogue["barley"].pk, catalogue["heating"].pk}
    # price ranges leave out the negotiable listing
    assert set(ids(base.filter(price__gte=100000, price__lte=2000000))) == {
        catalogue["solar"].pk,
        catalogue["cold_chain"].pk,
    }
    assert ids(base.filter(price__lt=100000)) == [catalogue["barley"].pk]
    assert ids(base.filter(trl__gte=8)) == [catalogue["solar"].pk]
    assert catalogue["heating"].pk not in ids(base.exclude(tags="livelihood"))


def test_sorting_by_newest_and_price(embedded_index, catalogue):
    index_all(embedded_index)
    base = SearchQuerySet().models(Technology)
    c = catalogue
    assert ids(base.order_by("-published_at")) == [c["cold_chain"].pk, c["solar"].pk, c["heating"].pk, c["barley"].pk]
    # negotiable prices come last in both directions
    assert ids(base.order_by("price")) == [c["barley"].pk, c["cold_chain"].pk, c["solar"].pk, c["heating"].pk]
    assert ids(base.order_by("-price")) == [c["solar"].pk, c["cold_chain"].pk, c["barley"].pk, c["heating"].pk]


def test_relevance_puts_the_title_match_first(embedded_index, catalogue):
    index_all(embedded_index)
    results = list(SearchQuerySet().auto_query("太阳能发电"))
    assert int(results[0].pk) == catalogue["heating"].pk
    assert results[0].score >= results[-1].score


def test_paging_and_counts(embedded_index, catalogue):
    index_all(embedded_index)
    sqs = SearchQuerySet().models(Technology).order_by("-published_at")
    assert sqs.count() == 4
    page = sqs[1:3]
    assert [int(r.pk) for r in page] == [catalogue["solar"].pk, catalogue["heating"].pk]


def test_stored_fields_come_back_typed(embedded_index, catalogue):
    index_all(embedded_index)
    result = SearchQuerySet().auto_query("运维")[0]
    solar = catalogue["solar"]
    assert result.title == solar.title
    assert result.summary == solar.summary
    assert result.kind == "technology"
    assert result.tags == ["clean_energy"]
    assert result.modes == ["license"]
    assert result.aid is True
    assert result.price == 2000000.0
    assert result.trl == 8
    assert result.org_id == solar.organisation_id
    assert result.organisation == "北京援藏能源研究院"
    assert abs(result.published_at - solar.published_at) < datetime.timedelta(seconds=1)


def test_highlight_marks_the_words_in_the_summary(embedded_index, catalogue):
    index_all(embedded_index)
    result = SearchQuerySet().auto_query("光伏").highlight()[0]
    snippet = result.highlighted["text"][0]
    assert "<em>光伏</em>" in snippet or "<em>太阳能发电</em>" in snippet
    # text is escaped: no markup from the listing leaks into the snippet
    assert "<script" not in snippet


def test_autocomplete_on_title_prefixes_and_domain_words(embedded_index, catalogue):
    index_all(embedded_index)
    assert ids(SearchQuerySet().autocomplete(title_auto="青稞酒")) == [catalogue["barley"].pk]
    assert ids(SearchQuerySet().autocomplete(title_auto="高原光")) == [catalogue["solar"].pk]
    # a word inside the title, not only at its start
    assert catalogue["cold_chain"].pk in ids(SearchQuerySet().autocomplete(title_auto="冷藏"))


def test_more_like_this_finds_the_related_listing(embedded_index, catalogue):
    index_all(embedded_index)
    similar = ids(SearchQuerySet().models(Technology).more_like_this(catalogue["solar"]))
    assert catalogue["solar"].pk not in similar
    assert similar[0] == catalogue["heating"].pk


def test_spelling_suggestion_for_near_misses(embedded_index, catalogue):
    index_all(embedded_index)
    sqs = SearchQuerySet().auto_query("青棵酒")
    assert sqs.count() == 0
    assert sqs.spelling_suggestion() == "青稞酒"
    # a character of similar shape in a two-character word of the dictionary
    assert SearchQuerySet().auto_query("耗牛").spelling_suggestion() == "牦牛"
    assert SearchQuerySet().auto_query("高原冷连").spelling_suggestion() == "高原冷链"
    assert SearchQuerySet().auto_query("光伏").spelling_suggestion() is None


def test_stopwords_and_punctuation_only_query_matches_nothing(embedded_index, catalogue):
    index_all(embedded_index)
    assert SearchQuerySet().filter(content=AutoQuery("的,。")).count() == 0


def test_update_replaces_and_remove_deletes(embedded_index, catalogue):
    index_all(embedded_index)
    barley = catalogue["barley"]
    Technology.objects.filter(pk=barley.pk).update(title="沙棘果汁加工工艺")
    barley.refresh_from_db()
    embedded_index.update(TechnologyIndex(), [barley])
    assert SearchQuerySet().count() == 5
    assert ids(SearchQuerySet().auto_query("沙棘")) == [barley.pk]
    embedded_index.remove(barley)
    assert SearchQuerySet().auto_query("沙棘").count() == 0
    embedded_index.clear(models=[Need])
    assert SearchQuerySet().count() == 3
    embedded_index.clear()
    assert SearchQuerySet().count() == 0


@pytest.mark.parametrize(
    "typed",
    [
        *['"', '"青稞', "-", "--青稞", "field:energy", "(光伏", "光伏 OR 青稞"],
        *["*", "AND", "\\", "青稞" * 200, "🐂 牦牛", " "],
    ],
)
def test_odd_user_input_never_fails(embedded_index, catalogue, typed):
    index_all(embedded_index)
    sqs = SearchQuerySet().auto_query(typed).facet("field").highlight()
    assert sqs.count() >= 0
    list(sqs[:20])
    sqs.facet_counts()
    sqs.spelling_suggestion()


def test_excluded_words(embedded_index, catalogue):
    index_all(embedded_index)
    assert set(ids(SearchQuerySet().models(Technology).auto_query("太阳能发电 -供暖"))) == {catalogue["solar"].pk}


def test_unknown_fields_are_a_clear_error(embedded_index, catalogue):
    from haystack.exceptions import SearchBackendError

    index_all(embedded_index)
    with pytest.raises(SearchBackendError, match="colour"):
        SearchQuerySet().filter(colour="red").count()
    with pytest.raises(SearchBackendError, match="title"):
        SearchQuerySet().order_by("title").count()
