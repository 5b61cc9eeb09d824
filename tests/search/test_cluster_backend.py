"""The cluster backend against the real OpenSearch node, through haystack's SearchQuerySet (what the site uses)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from haystack import connections
from haystack.query import SearchQuerySet

from listings.models import Need, Technology
from marketplace.accounts.models import Organisation
from search.backends import SearchError
from search.search_indexes import NeedIndex, TechnologyIndex
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory
from tests.search.cluster import needs_node

pytestmark = [*needs_node, pytest.mark.search_index, pytest.mark.django_db]


def days_ago(n):
    return timezone.now() - datetime.timedelta(days=n)


@pytest.fixture
def catalogue(cluster_index):
    """Four technologies and a need over fields, tags, regions and price bands, indexed."""
    beijing = OrganisationFactory(name="北京新能源研究院", region=Organisation.Region.BEIJING)
    jiangsu = OrganisationFactory(name="江苏光电有限公司", region=Organisation.Region.JIANGSU)
    tibet = OrganisationFactory(name="西藏农牧科学院", region=Organisation.Region.TIBET)
    items = {
        "pv": TechnologyFactory(
            organisation=beijing,
            title="高原光伏电站智能运维技术",
            summary="光伏电站的智能运维平台,适合高海拔地区,无人机巡检组件。",
            description="面向高海拔光伏电站,以无人机巡检和故障诊断降低运维成本。",
            keywords="光伏 运维 无人机",
            field="energy",
            maturity="industrial",
            trl=8,
            price_cny=Decimal("800000"),
            published_at=days_ago(5),
            tags=["clean_energy"],
            transfer_modes=["license"],
        ),
        "solar": TechnologyFactory(
            organisation=jiangsu,
            title="太阳能发电储能一体化系统",
            summary="分布式太阳能发电与储能电池一体化,用于牧区离网供电。",
            description="储能电池与逆变器一体化设计,适合牧区离网供电。",
            field="energy",
            maturity="pilot",
            trl=6,
            price_kind="negotiable",
            price_cny=None,
            published_at=days_ago(1),
            tags=["clean_energy", "livelihood"],
            transfer_modes=["transfer", "co_develop"],
        ),
        "yak": TechnologyFactory(
            organisation=tibet,
            title="牦牛肉冷链物流保鲜技术",
            summary="牦牛肉从屠宰到销售的冷链保鲜方案。",
            description="气调包装与冷链物流结合,延长牦牛肉货架期。",
            field="agriculture",
            maturity="pilot",
            trl=7,
            price_cny=Decimal("50000"),
            published_at=days_ago(3),
            tags=["agri_pastoral", "health"],
            transfer_modes=["transfer"],
        ),
        "herb": TechnologyFactory(
            organisation=tibet,
            title="藏药材红景天提取工艺",
            summary="红景天苷的高效提取与纯化。",
            description="超声辅助提取红景天有效成分,收率高。",
            field="biomed",
            maturity="industrial",
            trl=9,
            price_cny=Decimal("2000000"),
            published_at=days_ago(10),
            tags=["health"],
            transfer_modes=["license", "equity"],
        ),
        "need": NeedFactory(
            organisation=OrganisationFactory(name="达孜乳业有限公司", kind="enterprise"),
            title="牦牛乳冷藏运输需求",
            description="需要把牦牛乳从达孜运到拉萨市区,全程冷藏运输。",
            county="dazi",
            budget_cny=Decimal("300000"),
            published_at=days_ago(2),
        ),
        "draft": TechnologyFactory(title="未发布的光伏草稿", status="draft", published_at=None),
    }
    index_all(cluster_index)
    return items


def index_all(backend):
    for index in (TechnologyIndex(), NeedIndex()):
        backend.update(index, index.index_queryset())


def pks(sqs):
    return [(r.model_name, int(r.pk)) for r in sqs]


def titles(sqs):
    return [r.title for r in sqs]


def test_the_mapping_keeps_facets_whole_and_text_pre_analysed(catalogue, cluster_index):
    mapping = cluster_index.transport.request("GET", f"/{cluster_index.alias}/_mapping")
    (properties,) = [m["mappings"]["properties"] for m in mapping.values()]
    assert properties["text"]["analyzer"] == "zh_index"
    assert properties["text"]["search_analyzer"] == "zh_search"
    assert properties["title_auto"]["analyzer"] == "zh_autocomplete"
    for facet in ("field", "tags", "maturity", "modes", "region", "price_band", "organisation", "county", "kind"):
        assert properties[facet]["type"] == "keyword", facet
    assert properties["price"]["type"] == "double"
    assert properties["published_at"]["type"] == "date"
    assert properties["aid"]["type"] == "boolean"

    analysed = cluster_index.transport.request(
        "POST", f"/{cluster_index.alias}/_analyze", body={"analyzer": "zh_search", "text": "光伏 冷藏运输"}
    )
    words = {t["token"] for t in analysed["tokens"]}
    assert {"光伏", "太阳能发电", "冷藏运输", "冷链"} <= words


def test_only_public_listings_are_found_and_counted(catalogue):
    assert SearchQuerySet().count() == 5
    assert ("technology", catalogue["draft"].pk) not in pks(SearchQuerySet().all())
    assert SearchQuerySet().models(Need).count() == 1


def test_a_word_finds_its_synonyms_and_its_parts(catalogue):
    # 光伏 and 太阳能发电 are one synonym group; 冷藏运输 and 冷链 another.
    assert set(titles(SearchQuerySet().auto_query("光伏"))) == {"高原光伏电站智能运维技术", "太阳能发电储能一体化系统"}
    assert set(titles(SearchQuerySet().auto_query("太阳能发电"))) == {
        "高原光伏电站智能运维技术",
        "太阳能发电储能一体化系统",
    }
    assert set(titles(SearchQuerySet().auto_query("冷藏运输"))) == {"牦牛肉冷链物流保鲜技术", "牦牛乳冷藏运输需求"}
    # Two words: both required (or, far below, a related term of one: 保鲜 → 冷链, search/data/related.txt).
    assert titles(SearchQuerySet().models(Technology).auto_query("牦牛 保鲜")) == ["牦牛肉冷链物流保鲜技术"]
    both = list(SearchQuerySet().auto_query("牦牛 保鲜"))
    assert [r.title for r in both] == ["牦牛肉冷链物流保鲜技术", "牦牛乳冷藏运输需求"]
    assert both[0].score > 2 * both[1].score
    assert SearchQuerySet().auto_query("青稞 光伏").count() == 0
    # Organisation names and excluded words.
    assert titles(SearchQuerySet().auto_query("农牧科学院 -红景天")) == ["牦牛肉冷链物流保鲜技术"]
    assert SearchQuerySet().auto_query("量子计算机").count() == 0


def test_the_title_weighs_more_than_the_description(catalogue):
    TechnologyFactory(
        title="草场退化监测方法",
        summary="遥感监测草场。",
        description="顺带提到红景天的生长环境。",
        field="environment",
        tags=["ecology"],
    )
    index_all(connections["default"].get_backend())
    assert titles(SearchQuerySet().auto_query("红景天"))[0] == "藏药材红景天提取工艺"


def test_facet_counts_are_exact_and_follow_the_filters(catalogue):
    sqs = SearchQuerySet().models(Technology)
    for name in ("field", "tags", "region", "aid", "price_band", "modes", "maturity"):
        sqs = sqs.facet(name)
    fields = sqs.facet_counts()["fields"]
    assert dict(fields["field"]) == {"energy": 2, "agriculture": 1, "biomed": 1}
    assert dict(fields["tags"]) == {"clean_energy": 2, "health": 2, "agri_pastoral": 1, "livelihood": 1}
    assert dict(fields["region"]) == {"beijing": 1, "jiangsu": 1, "tibet": 2}
    assert dict(fields["aid"]) == {True: 2, False: 2}
    assert dict(fields["price_band"]) == {"500k_1m": 1, "negotiable": 1, "lt_100k": 1, "1m_5m": 1}
    assert dict(fields["modes"]) == {"license": 2, "transfer": 2, "co_develop": 1, "equity": 1}

    narrowed = sqs.auto_query("光伏").filter(aid=True).facet_counts()["fields"]
    assert dict(narrowed["region"]) == {"beijing": 1, "jiangsu": 1}
    assert dict(narrowed["tags"]) == {"clean_energy": 2, "livelihood": 1}


def test_filters_combine_with_the_query(catalogue):
    tech = SearchQuerySet().models(Technology)
    assert set(titles(tech.filter(tags__in=["health", "livelihood"]))) == {
        "太阳能发电储能一体化系统",
        "牦牛肉冷链物流保鲜技术",
        "藏药材红景天提取工艺",
    }
    assert titles(tech.filter(field="energy", region="jiangsu")) == ["太阳能发电储能一体化系统"]
    assert titles(tech.auto_query("光伏").filter(price_band="500k_1m")) == ["高原光伏电站智能运维技术"]
    assert set(titles(tech.filter(price__gte=50000, price__lte=900000))) == {
        "高原光伏电站智能运维技术",
        "牦牛肉冷链物流保鲜技术",
    }
    assert set(titles(tech.filter(trl__gte=8).exclude(field="biomed"))) == {"高原光伏电站智能运维技术"}
    assert titles(SearchQuerySet().filter(kind="need", county="dazi")) == ["牦牛乳冷藏运输需求"]
    assert titles(tech.narrow('field_exact:"biomed"')) == ["藏药材红景天提取工艺"]
    assert tech.filter(tags__in=[]).count() == 0


def test_sorting_newest_and_by_price_with_negotiable_last(catalogue):
    tech = SearchQuerySet().models(Technology)
    assert titles(tech.order_by("-published_at")) == [
        "太阳能发电储能一体化系统",
        "牦牛肉冷链物流保鲜技术",
        "高原光伏电站智能运维技术",
        "藏药材红景天提取工艺",
    ]
    assert titles(tech.order_by("price")) == [
        "牦牛肉冷链物流保鲜技术",
        "高原光伏电站智能运维技术",
        "藏药材红景天提取工艺",
        "太阳能发电储能一体化系统",
    ]
    assert titles(tech.order_by("-price"))[:3] == [
        "藏药材红景天提取工艺",
        "高原光伏电站智能运维技术",
        "牦牛肉冷链物流保鲜技术",
    ]
    newest = next(iter(tech.order_by("-published_at")))
    assert newest.published_at == catalogue["solar"].published_at
    assert timezone.is_aware(newest.published_at)


def test_pages_do_not_overlap_and_a_page_past_the_end_is_empty(catalogue):
    tech = SearchQuerySet().models(Technology).order_by("price")
    first, second = list(tech[0:2]), list(tech[2:4])
    assert {r.pk for r in first}.isdisjoint({r.pk for r in second})
    assert len(first) == len(second) == 2
    assert list(tech[20000:20010]) == []


def test_highlights_mark_the_matched_words_in_escaped_title_and_summary(catalogue, cluster_index):
    TechnologyFactory(
        title="<script>alert(1)</script>光伏清洗机器人",
        summary="自动清洗光伏板 & 节水",
        description="清洗机器人。",
        field="energy",
    )
    index_all(cluster_index)
    results = {r.pk: r for r in SearchQuerySet().auto_query("光伏").highlight()}
    pv = results[str(catalogue["pv"].pk)]
    assert pv.highlighted["title"] == ["高原<em>光伏</em>电站智能运维技术"]
    # Like the embedded engine: the content field holds one snippet, the summary's when it matched.
    assert pv.highlighted["text"] == ["<em>光伏</em>电站的智能运维平台,适合高海拔地区,无人机巡检组件。"]
    # The synonym that matched is marked; without a match in the summary the title is the snippet.
    solar = results[str(catalogue["solar"].pk)]
    assert "<em>太阳能发电</em>" in solar.highlighted["summary"][0]
    assert solar.highlighted["text"] == solar.highlighted["summary"]
    robot = next(r for r in results.values() if "清洗" in r.title)
    assert robot.highlighted["title"] == ["&lt;script&gt;alert(1)&lt;&#x2F;script&gt;<em>光伏</em>清洗机器人"]
    assert robot.highlighted["text"] == ["自动清洗<em>光伏</em>板 &amp; 节水"]
    assert next(iter(SearchQuerySet().auto_query("光伏"))).highlighted is None  # only when asked for


def test_autocomplete_on_title_starts_and_domain_words(catalogue):
    assert titles(SearchQuerySet().autocomplete(title_auto="藏药材")) == ["藏药材红景天提取工艺"]
    assert set(titles(SearchQuerySet().autocomplete(title_auto="牦牛"))) == {
        "牦牛肉冷链物流保鲜技术",
        "牦牛乳冷藏运输需求",
    }
    assert SearchQuerySet().autocomplete(title_auto="量子").count() == 0


def test_did_you_mean_offers_an_indexed_word_for_a_misspelt_one(catalogue):
    # Same sound first (冷琏/冷链 lěng liàn), then one character off in a longer word.
    assert SearchQuerySet().auto_query("牦牛 冷琏").spelling_suggestion() == "牦牛 冷链"
    assert SearchQuerySet().auto_query("红景添").spelling_suggestion() == "红景天"
    assert SearchQuerySet().auto_query("高原光扶").spelling_suggestion() == "高原光伏"
    # Nothing to correct: no suggestion, even when asked.
    assert SearchQuerySet().auto_query("光伏").spelling_suggestion() is None
    # Without asking, a search that finds (almost) nothing carries one.
    missed = SearchQuerySet().auto_query("红景添")
    assert missed.count() == 0
    assert missed.query._spelling_suggestion == "红景天"


def test_more_like_this_finds_the_nearest_listing_not_itself(catalogue):
    similar = SearchQuerySet().more_like_this(catalogue["pv"])
    found = titles(similar)
    assert found[0] == "太阳能发电储能一体化系统"
    assert "高原光伏电站智能运维技术" not in found
    assert titles(SearchQuerySet().models(Need).more_like_this(catalogue["yak"])) == ["牦牛乳冷藏运输需求"]


def test_remove_and_clear(catalogue, cluster_index):
    cluster_index.remove(catalogue["pv"])
    assert titles(SearchQuerySet().auto_query("光伏")) == ["太阳能发电储能一体化系统"]
    cluster_index.remove("listings.technology.999999")  # unknown: nothing to do, no error
    cluster_index.clear(models=[Need])
    assert SearchQuerySet().models(Need).count() == 0
    assert SearchQuerySet().count() == 3
    cluster_index.clear()
    assert SearchQuerySet().count() == 0


def test_an_edit_replaces_the_document(catalogue, cluster_index):
    yak = catalogue["yak"]
    Technology.objects.filter(pk=yak.pk).update(title="牦牛肉气调包装技术")
    cluster_index.update(TechnologyIndex(), [Technology.objects.get(pk=yak.pk)])
    assert SearchQuerySet().count() == 5
    assert titles(SearchQuerySet().auto_query("气调包装")) == ["牦牛肉气调包装技术"]


def test_a_refused_request_is_an_error_not_an_outage(catalogue):
    with pytest.raises(SearchError) as caught:
        list(SearchQuerySet().raw_search("field:(unbalanced"))
    assert "query" in str(caught.value).lower()


def test_update_index_removes_what_the_database_no_longer_publishes(catalogue):
    # a bulk change that bypassed the signals (as needs_expire or an import would)
    Technology.objects.filter(pk=catalogue["herb"].pk).update(status="withdrawn")
    call_command("update_index", "--remove", "--verbosity", "0", stdout=io.StringIO(), stderr=io.StringIO())
    assert SearchQuerySet().count() == 4
    assert "藏药材红景天提取工艺" not in titles(SearchQuerySet().all())
    assert sorted(SearchQuerySet().models(Need).values_list("pk", flat=True)) == [str(catalogue["need"].pk)]
