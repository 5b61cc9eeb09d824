"""The search page /search/: query, facets, filters, sorting, highlights, pagination, empty state, fallback."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from listings.models import IPRecord, ListingStatus
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory
from tests.search.ui_support import engine_down_fixture, search_index_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.search_index]

URL = reverse("search:search")


def tech(title, *, organisation, summary, days_ago=1, **kwargs):
    return TechnologyFactory(
        title=title,
        organisation=organisation,
        summary=summary,
        description=kwargs.pop("description", summary),
        published_at=timezone.now() - timezone.timedelta(days=days_ago),
        **kwargs,
    )


@pytest.fixture
def catalogue(university, search_index):
    beijing = OrganisationFactory(name="北京农学院测试", region="beijing")
    jiangsu = OrganisationFactory(name="苏州绿能测试公司", region="jiangsu", kind="aid_partner")
    items = {
        "milling": tech(
            "青稞全谷物低温研磨加工技术",
            organisation=university,
            summary="低温研磨与灭酶,青稞全粉保质期延长到一年。",
            field="agriculture",
            tags=["agri_pastoral"],
            maturity="industrial",
            trl=8,
            price_kind="fixed",
            price_cny=Decimal("200000"),
            days_ago=3,
        ),
        "noodles": tech(
            "青稞挂面耐煮配方",
            organisation=beijing,
            summary="青稞粉含量 40% 的挂面配方,耐煮不浑汤。",
            field="agriculture",
            tags=["health"],
            maturity="pilot",
            trl=6,
            price_kind="fixed",
            price_cny=Decimal("800000"),
            days_ago=1,
        ),
        "robot": tech(
            "高海拔光伏组件清洁机器人",
            organisation=jiangsu,
            summary="无水清扫光伏板,积雪后也能作业。",
            field="energy",
            tags=["clean_energy"],
            maturity="pilot",
            trl=7,
            price_kind="negotiable",
            price_cny=None,
            days_ago=2,
        ),
        "household": tech(
            "牧区户用光伏供电系统",
            organisation=university,
            summary="折叠便携的户用光伏系统,满足游牧点用电。",
            field="energy",
            tags=["clean_energy", "livelihood"],
            maturity="industrial",
            trl=9,
            price_kind="fixed",
            price_cny=Decimal("50000"),
            days_ago=5,
        ),
        "withdrawn": tech(
            "青稞酒酿造工艺(已撤回)",
            organisation=university,
            summary="青稞酒低温发酵。",
            status=ListingStatus.WITHDRAWN,
        ),
        "need": NeedFactory(
            title="青稞秸秆综合利用技术需求",
            description="合作社每年有大量青稞秸秆,希望找到做饲料或生物炭的技术。",
            field="agriculture",
            budget_cny=Decimal("300000"),
        ),
    }
    search_index.refresh()
    return items


def page(client, **params):
    return client.get(URL, params)


def hit_titles(response) -> list[str]:
    return [hit.title for hit in response.context["result"].hits]


# ------------------------------------------------------------------ query and results


def test_a_query_finds_public_listings_of_both_kinds_and_nothing_withdrawn(client, catalogue):
    response = page(client, q="青稞")

    assert response.status_code == 200
    titles = hit_titles(response)
    assert set(titles) == {"青稞全谷物低温研磨加工技术", "青稞挂面耐煮配方", "青稞秸秆综合利用技术需求"}
    html = response.content.decode()
    assert "青稞酒酿造工艺" not in html
    assert f'href="{reverse("listings:need_detail", kwargs={"pk": catalogue["need"].pk})}"' in html


def test_matches_are_highlighted_in_titles_and_snippets(client, catalogue):
    html = page(client, q="光伏").content.decode()

    assert "<em>光伏</em>" in html
    assert "高海拔<em>光伏</em>组件清洁机器人" in html


@pytest.fixture
def patented(university, search_index):
    technology = tech("高原牦牛乳干酪工艺", organisation=university, summary="牦牛乳干酪低温成熟。")
    IPRecord.objects.create(technology=technology, kind="invention", number="ZL201710601862.3")
    search_index.refresh()
    return technology


@pytest.mark.parametrize("q", ["ZL201710601862.3", "201710601862.3", "201710601862"])
def test_a_patent_number_finds_its_technology(client, patented, q):
    assert hit_titles(page(client, q=q)) == ["高原牦牛乳干酪工艺"]


def test_a_patent_number_finds_its_technology_in_the_database_fallback_too(client, patented, engine_down):
    assert hit_titles(page(client, q="ZL201710601862.3")) == ["高原牦牛乳干酪工艺"]


def test_an_organisation_name_finds_its_listings(client, catalogue):
    titles = hit_titles(page(client, q="苏州绿能测试公司"))

    assert titles == ["高海拔光伏组件清洁机器人"]


def test_a_title_with_markup_is_escaped_and_only_our_highlight_tags_are_html(client, university, search_index):
    tech(
        "<script>alert('x')</script>青稞饼干工艺",
        organisation=university,
        summary='青稞饼干 <img src=x onerror="alert(1)"> & 配方',
    )
    search_index.refresh()

    response = page(client, q="青稞")

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;<em>青稞</em>饼干工艺" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; 配方" in html


def test_the_kind_tabs_restrict_results(client, catalogue):
    response = page(client, q="青稞", kind="need")

    assert hit_titles(response) == ["青稞秸秆综合利用技术需求"]


def test_the_page_without_a_query_lists_everything_newest_first(client, catalogue):
    response = page(client, kind="technology")

    assert hit_titles(response) == [
        "青稞挂面耐煮配方",
        "高海拔光伏组件清洁机器人",
        "青稞全谷物低温研磨加工技术",
        "牧区户用光伏供电系统",
    ]


# ------------------------------------------------------------------ facets and filters


def facet(response, name) -> dict[str, tuple[int, bool]]:
    (found,) = [f for f in response.context["result"].facets if f.name == name]
    return {v.value: (v.count, v.selected) for v in found.values}


def test_facets_count_the_results_of_the_query(client, catalogue):
    response = page(client, q="青稞")

    assert facet(response, "field") == {"agriculture": (3, False)}
    assert facet(response, "price_band") == {"100k_500k": (2, False), "500k_1m": (1, False)}
    assert facet(response, "region")["aid"] == (1, False)
    html = response.content.decode()
    assert 'name="field" value="agriculture"' in html


def test_a_ticked_facet_filters_and_its_siblings_keep_their_counts(client, catalogue):
    response = page(client, field="energy")

    assert set(hit_titles(response)) == {"高海拔光伏组件清洁机器人", "牧区户用光伏供电系统"}
    # Disjunctive: the other field stays selectable with its own count.
    assert facet(response, "field") == {"agriculture": (3, False), "energy": (2, True)}
    assert facet(response, "maturity") == {"pilot": (1, False), "industrial": (1, False)}
    assert 'value="energy" checked' in response.content.decode()


def test_values_of_one_facet_combine_with_or_and_facets_with_and(client, catalogue):
    either = page(client, tags=["health", "livelihood"])
    both = page(client, tags=["health", "livelihood"], field="energy")

    assert set(hit_titles(either)) == {"青稞挂面耐煮配方", "牧区户用光伏供电系统"}
    assert hit_titles(both) == ["牧区户用光伏供电系统"]


def test_filters_combine_with_the_query(client, catalogue):
    response = page(client, q="青稞", price_band="500k_1m")

    assert hit_titles(response) == ["青稞挂面耐煮配方"]


def test_the_aid_region_means_beijing_and_jiangsu(client, catalogue):
    response = page(client, region="aid")

    assert set(hit_titles(response)) == {"青稞挂面耐煮配方", "高海拔光伏组件清洁机器人"}
    assert "北京援藏" in response.content.decode()


def test_an_unknown_facet_value_is_a_clear_400(client, catalogue):
    response = page(client, q="青稞", field="astrology")

    assert response.status_code == 400
    html = response.content.decode()
    assert "「astrology」不是可选的值" in html
    assert "检索条件有误" in html


# ------------------------------------------------------------------ sorting and paging


def test_sorting_by_price_puts_negotiable_last_either_way(client, catalogue):
    cheap_first = hit_titles(page(client, kind="technology", sort="price_asc"))
    dear_first = hit_titles(page(client, kind="technology", sort="price_desc"))

    household, milling = "牧区户用光伏供电系统", "青稞全谷物低温研磨加工技术"
    noodles, robot = "青稞挂面耐煮配方", "高海拔光伏组件清洁机器人"
    assert cheap_first == [household, milling, noodles, robot]
    assert dear_first == [noodles, milling, household, robot]


def test_sorting_by_newest(client, catalogue):
    titles = hit_titles(page(client, q="光伏", sort="newest"))

    assert titles == ["高海拔光伏组件清洁机器人", "牧区户用光伏供电系统"]


@pytest.fixture
def many(university, search_index):
    for n in range(23):
        tech(f"藏药丸剂工艺{n:02d}", organisation=university, summary="藏药丸剂生产工艺。", days_ago=n + 1)
    search_index.refresh()


def test_results_are_paginated_and_links_keep_the_query(client, many):
    first = page(client, q="藏药")
    second = page(client, q="藏药", page=2)

    assert first.context["result"].total == 23
    assert len(hit_titles(first)) == 20
    assert hit_titles(second) == ["藏药丸剂工艺20", "藏药丸剂工艺21", "藏药丸剂工艺22"]
    assert "q=%E8%97%8F%E8%8D%AF&amp;page=2" in first.content.decode()
    assert "第 2 / 2 页" in second.content.decode()


def test_a_page_past_the_end_shows_the_last_page(client, many):
    response = page(client, q="藏药", sort="newest", page=9)

    assert response.status_code == 200
    assert response.context["result"].page == 2
    assert hit_titles(response) == ["藏药丸剂工艺20", "藏药丸剂工艺21", "藏药丸剂工艺22"]


def test_a_page_that_is_not_a_number_is_a_clear_400(client, many):
    response = page(client, q="藏药", page="abc")

    assert response.status_code == 400
    assert "页码应为正整数" in response.content.decode()


# ------------------------------------------------------------------ suggestions and the empty state


def test_a_misspelt_query_shows_the_results_of_the_correction(client, catalogue):
    response = page(client, q="青棵")

    result = response.context["result"]
    assert result.corrected_from == "青棵"
    assert result.q == "青稞"
    assert "青稞全谷物低温研磨加工技术" in hit_titles(response)
    html = response.content.decode()
    assert "已为您显示「青稞」的结果" in html
    assert "仍然搜索「青棵」" in html


def test_the_empty_state_is_honest_and_offers_ways_on(client, catalogue):
    response = page(client, q="量子计算机", field="energy")

    assert response.status_code == 200
    html = response.content.decode()
    assert "没有找到与「量子计算机」相关的科技成果或技术需求(在当前筛选条件下)" in html
    assert "去掉筛选条件再试" in html
    assert "热门检索" in html
    assert reverse("listings:technology_list") in html


def test_partial_matches_follow_when_few_listings_match_every_word(client, catalogue):
    response = page(client, q="光伏挂面")

    result = response.context["result"]
    assert result.hits == []
    assert {hit.title for hit in result.related} >= {"青稞挂面耐煮配方", "高海拔光伏组件清洁机器人"}
    assert "部分匹配" in response.content.decode()


def test_on_the_cluster_a_page_is_one_engine_round_trip(client, catalogue, search_index, monkeypatch):
    if search_index.profile != "cluster":
        pytest.skip("the embedded engine answers in-process")
    sent = []
    transport = search_index.backend.transport
    original = transport.request
    monkeypatch.setattr(
        transport, "request", lambda method, path, **kw: sent.append(path) or original(method, path, **kw)
    )

    # Partial matches (光伏 + 青稞 in no listing) and a ticked facet (its disjunctive counts): three searches…
    response = page(client, q="光伏 青稞", field="energy")

    result = response.context["result"]
    assert result.hits == [] and result.related
    assert {v.value: v.count for v in next(f for f in result.facets if f.name == "field").values} == {"energy": 0}
    # … sent together; then, as nothing matched every word, the "did you mean" (asked below three hits only).
    assert [path.rsplit("/", 1)[-1] for path in sent] == ["_msearch", "_search"]

    sent.clear()
    response = page(client, q="青稞", field="agriculture")  # three hits: no "did you mean"
    assert len(response.context["result"].hits) == 3
    assert [path.rsplit("/", 1)[-1] for path in sent] == ["_msearch"]


# ------------------------------------------------------------------ the engine is down


def test_when_the_engine_is_down_the_page_answers_from_the_database_and_says_so(client, catalogue, engine_down):
    response = page(client, q="青稞", field="agriculture", kind="technology")

    assert response.status_code == 200
    result = response.context["result"]
    assert result.degraded
    assert {hit.title for hit in result.hits} == {"青稞全谷物低温研磨加工技术", "青稞挂面耐煮配方"}
    assert facet(response, "field") == {"agriculture": (2, True)}
    html = response.content.decode()
    assert "检索服务暂时不可用" in html
    assert "<em>青稞</em>" in html


def test_the_database_fallback_sorts_filters_and_pages(client, catalogue, engine_down):
    response = page(client, kind="technology", region="aid", sort="price_desc")

    assert hit_titles(response) == ["青稞挂面耐煮配方", "高海拔光伏组件清洁机器人"]
    assert facet(response, "region")["aid"] == (2, True)


def test_synonyms_work_in_the_database_fallback_too(client, catalogue, engine_down):
    response = page(client, q="太阳能发电")

    assert set(hit_titles(response)) == {"高海拔光伏组件清洁机器人", "牧区户用光伏供电系统"}


# ------------------------------------------------------------------ autocomplete and the header box


def test_autocomplete_offers_domain_terms_then_titles(client, catalogue):
    data = client.get(reverse("search:autocomplete"), {"q": "青稞"}).json()

    kinds = [s["kind"] for s in data["suggestions"]]
    texts = [s["text"] for s in data["suggestions"]]
    assert kinds[0] == "term" and texts[0].startswith("青稞")
    assert "青稞全谷物低温研磨加工技术" in texts
    url = next(s["url"] for s in data["suggestions"] if s["text"] == "青稞全谷物低温研磨加工技术")
    assert url == reverse("listings:technology_detail", kwargs={"pk": catalogue["milling"].pk})
    assert data["degraded"] is False


def test_autocomplete_with_nothing_typed_suggests_nothing(client, catalogue):
    assert client.get(reverse("search:autocomplete"), {"q": "  "}).json()["suggestions"] == []


def test_autocomplete_falls_back_to_the_database(client, catalogue, engine_down):
    data = client.get(reverse("search:autocomplete"), {"q": "牧区"}).json()

    assert data["degraded"] is True
    assert "牧区户用光伏供电系统" in [s["text"] for s in data["suggestions"]]


def test_every_page_has_a_search_box_in_the_header(client, db):
    html = client.get(reverse("home")).content.decode()

    assert f'action="{URL}"' in html
    assert 'role="search"' in html


def test_the_page_loads_its_script_locally_and_nothing_from_a_cdn(client, catalogue):
    html = page(client, q="青稞").content.decode()

    assert '<script src="/static/search/search.js" defer></script>' in html
    # Every script and stylesheet comes from this site (the CSRF token may spell "cdn" by chance).
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    assert 'data-autocomplete-url="/search/autocomplete/"' in html
