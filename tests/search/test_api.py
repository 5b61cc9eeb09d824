"""The search API: /api/search/ and /api/search/autocomplete/ — same parameters and selector as the page."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory
from tests.search.ui_support import engine_down_fixture, search_index_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.search_index]

URL = "/api/search/"
AUTOCOMPLETE_URL = "/api/search/autocomplete/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def listings(university, search_index):
    beijing = OrganisationFactory(name="北京理工测试", region="beijing")
    items = {
        "battery": TechnologyFactory(
            title="高原低温自加热磷酸铁锂储能系统",
            summary="-30 ℃ 下 15 分钟加热到可充电温度的储能系统。",
            description="电芯内嵌自加热片,液冷板热管理。",
            organisation=beijing,
            field="energy",
            tags=["clean_energy"],
            maturity="pilot",
            trl=6,
            price_kind="negotiable",
            price_cny=None,
        ),
        "flow": TechnologyFactory(
            title="全钒液流电池长时储能系统",
            summary="循环寿命 15000 次的液流电池储能。",
            description="适合电网侧长时储能。",
            organisation=university,
            field="energy",
            tags=["clean_energy"],
            maturity="small_pilot",
            trl=5,
            price_kind="range",
            price_cny=Decimal("1000000"),
            price_max_cny=Decimal("2000000"),
        ),
        "xss": TechnologyFactory(
            title='<script>alert("储能")</script>储能柜',
            summary="储能柜 <b>加粗</b>",
            description="储能",
            organisation=university,
            field="energy",
            maturity="industrial",
            trl=9,
        ),
        "need": NeedFactory(
            title="牧区储能供电需求",
            description="夏季牧场需要小型储能供电设备。",
            field="energy",
            tags=["clean_energy"],
            min_maturity="",
        ),
    }
    search_index.refresh()
    return items


def test_the_api_returns_hits_facets_and_paging(api, listings):
    response = api.get(URL, {"q": "储能", "kind": "technology"})

    assert response.status_code == 200
    data = response.json()
    assert data["q"] == "储能"
    assert data["total"] == 3
    assert data["page"] == 1 and data["pages"] == 1 and data["page_size"] == 20
    assert data["degraded"] is False and data["message"] == ""
    titles = {hit["title"] for hit in data["results"]}
    xss = '<script>alert("储能")</script>储能柜'
    assert titles == {"高原低温自加热磷酸铁锂储能系统", "全钒液流电池长时储能系统", xss}
    flow = next(hit for hit in data["results"] if hit["title"].startswith("全钒"))
    assert flow["kind"] == "technology"
    assert flow["url"] == reverse("listings:technology_detail", kwargs={"pk": listings["flow"].pk})
    assert flow["organisation"] == {"id": listings["flow"].organisation_id, "name": "西藏大学测试"}
    assert flow["price"] == "1000000.00" and flow["price_band"] == "1m_5m"
    assert flow["maturity"] == "small_pilot" and flow["trl"] == 5
    assert flow["tags"] == ["clean_energy"]
    facets = {facet["name"]: {v["value"]: v["count"] for v in facet["values"]} for facet in data["facets"]}
    assert facets["field"] == {"energy": 3}
    assert facets["region"]["aid"] == 1 and facets["region"]["beijing"] == 1


def test_highlights_in_the_api_are_escaped_html(api, listings):
    data = api.get(URL, {"q": "储能"}).json()

    xss = next(hit for hit in data["results"] if "script" in hit["title"])
    assert xss["title_html"] == "&lt;script&gt;alert(&quot;<em>储能</em>&quot;)&lt;/script&gt;<em>储能</em>柜"
    assert xss["snippet_html"] == "<em>储能</em>柜 &lt;b&gt;加粗&lt;/b&gt;"


def test_filters_accept_commas_or_repeated_parameters(api, listings):
    by_comma = api.get(URL, {"q": "储能", "maturity": "pilot,small_pilot"}).json()
    repeated = api.get(f"{URL}?q=%E5%82%A8%E8%83%BD&maturity=pilot&maturity=small_pilot").json()

    assert {h["title"] for h in by_comma["results"]} == {"高原低温自加热磷酸铁锂储能系统", "全钒液流电池长时储能系统"}
    assert by_comma["results"] == repeated["results"]
    assert by_comma["filters"] == {"maturity": ["pilot", "small_pilot"]}


def test_kind_sort_and_page_size(api, listings):
    needs = api.get(URL, {"q": "储能", "kind": "need"}).json()
    cheapest = api.get(URL, {"kind": "technology", "sort": "price_asc", "page_size": 1}).json()

    assert [h["title"] for h in needs["results"]] == ["牧区储能供电需求"]
    assert needs["results"][0]["kind"] == "need"
    assert cheapest["pages"] == 3 and len(cheapest["results"]) == 1
    assert cheapest["results"][0]["price"] == "500000.00"  # the factory's ¥50 万, then ¥100 万, 面议 last


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"field": "astrology"}, "field", "astrology"),
        ({"tags": "health,nonsense"}, "tags", "nonsense"),
        ({"kind": "patent"}, "kind", "patent"),
        ({"sort": "random"}, "sort", "random"),
        ({"page": "0"}, "page", ""),
        ({"page_size": "500"}, "page_size", ""),
        ({"q": "青" * 101}, "q", ""),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, listings, params, field, text):
    response = api.get(URL, params)

    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert text in str(errors[field])


def test_when_the_engine_is_down_the_api_answers_from_the_database(api, listings, engine_down):
    response = api.get(URL, {"q": "储能", "region": "aid"})

    assert response.status_code == 200
    data = response.json()
    assert data["degraded"] is True
    assert "检索服务暂时不可用" in data["message"]
    assert [h["title"] for h in data["results"]] == ["高原低温自加热磷酸铁锂储能系统"]
    assert data["results"][0]["score"] is None


def test_autocomplete_api(api, listings):
    data = api.get(AUTOCOMPLETE_URL, {"q": "全钒"}).json()

    assert data["q"] == "全钒"
    url = f"/technologies/{listings['flow'].pk}/"
    assert {"text": "全钒液流电池长时储能系统", "kind": "technology", "url": url} in data["suggestions"]


def test_autocomplete_api_refuses_an_overlong_prefix(api, db):
    response = api.get(AUTOCOMPLETE_URL, {"q": "藏" * 101})

    assert response.status_code == 400
    assert "q" in response.json()


def test_autocomplete_api_when_the_engine_is_down(api, listings, engine_down):
    data = api.get(AUTOCOMPLETE_URL, {"q": "全钒"}).json()

    assert data["degraded"] is True
    assert data["suggestions"][0]["text"] == "全钒液流电池长时储能系统"


def test_the_search_api_is_documented_in_the_schema(tmp_path):
    # (Warnings anywhere in the schema fail tests/api/test_schema.py; this test is about the search part.)
    out = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--file", str(out))

    text = out.read_text()
    assert "/api/search/:" in text and "/api/search/autocomplete/:" in text
    for name in ("price_band", "page_size", "degraded", "corrected_from", "snippet_html", "SuggestionKindEnum"):
        assert name in text
