"""The home page, the error pages and the health check."""

import pytest
from django.db import connection
from django.template import loader
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from listings.models import ListingStatus
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory

pytestmark = pytest.mark.django_db


def test_home_shows_counts_and_the_latest_published_listings_but_not_drafts(client):
    # given: published technologies from Tibet and Beijing, a draft, a published and a pending need,
    # three verified organisations and a pending one
    tibet = OrganisationFactory(name="西藏农牧科学院测试", region="tibet")
    beijing = OrganisationFactory(name="北京援藏单位测试", kind="aid_partner", region="beijing")
    firm = OrganisationFactory(name="拉萨食品企业测试", kind="enterprise")
    OrganisationFactory(name="待认证企业测试", verification="pending")
    TechnologyFactory(organisation=tibet, title="青稞全谷物加工")
    TechnologyFactory(organisation=beijing, title="高原光伏运维")
    TechnologyFactory(organisation=tibet, title="草稿中的成果", status=ListingStatus.DRAFT, published_at=None)
    NeedFactory(organisation=firm, title="牦牛肉冷链保鲜")
    NeedFactory(organisation=firm, title="待审核的需求", status=ListingStatus.PENDING, published_at=None)

    # when
    response = client.get(reverse("home"))

    # then
    assert response.status_code == 200
    counts = response.context["counts"]
    assert counts == {"technologies": 2, "aid_technologies": 1, "needs": 1, "organisations": 3}
    html = response.content.decode()
    assert "青稞全谷物加工" in html and "高原光伏运维" in html and "牦牛肉冷链保鲜" in html
    assert "草稿中的成果" not in html and "待审核的需求" not in html
    assert "北京援藏" in html  # the aid-region badge
    assert "主办:拉萨市科学技术局" in html


def test_the_home_page_costs_the_same_queries_for_few_or_many_listings(client):
    def queries_for_home() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home")).status_code == 200
        return len(captured.captured_queries)

    TechnologyFactory()
    NeedFactory()
    with_one = queries_for_home()
    TechnologyFactory.create_batch(5, organisation=OrganisationFactory(region="beijing"))
    NeedFactory.create_batch(5)
    assert queries_for_home() == with_one


def test_the_shell_shows_login_for_visitors_and_a_logout_form_for_users(client, seller):
    html = client.get(reverse("home")).content.decode()
    assert reverse("accounts:login") in html and reverse("accounts:signup") in html
    assert reverse("listings:technology_list") in html and reverse("listings:need_list") in html
    assert reverse("accounts:organisations") not in html

    client.force_login(seller)
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("accounts:logout")}" method="post"' in html
    assert reverse("accounts:organisations") in html
    assert reverse("review:queue") not in html  # not a bureau user


def test_the_bureau_sees_its_review_link(client, officer):
    client.force_login(officer)
    assert reverse("review:queue") in client.get(reverse("home")).content.decode()


def test_the_language_switch_sets_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in html


def test_healthz_checks_the_database_and_the_cache(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "checks": {"database": "ok", "cache": "ok"}, "failed": []}


def test_healthz_answers_503_naming_the_cache_when_it_is_unreachable(client, settings):
    # given: a Redis cache on a loopback port nobody listens on
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["failed"] == ["cache"]
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"].startswith("failed")


def test_an_unknown_page_gives_the_chinese_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_the_500_page_renders_without_any_context():
    html = loader.get_template("500.html").render()
    assert "服务暂时出现问题" in html and "主办:拉萨市科学技术局" in html
