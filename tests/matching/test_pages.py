"""The pages: 匹配结果 for the need's owner, 潜在需求 for the technology's owner, dismiss, restore, 联系对方."""

import pytest
from django.urls import reverse

from matching.models import Match
from matching.services import need_matches_refresh
from tests.factories import NeedFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(market, matching_index):
    matching_index.refresh()
    need_matches_refresh(need_id=market["need"].pk)
    return market


def test_the_need_owner_sees_ranked_explained_matches(client, buyer, stored):
    client.force_login(buyer)
    response = client.get(reverse("matching:need_matches", args=[stored["need"].pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index(stored["fits"].title) < page.index(stored["too_dear"].title)
    assert "共同关键词" in page and "同属农业领域" in page and "北京援藏单位成果" in page
    assert "报价 ¥200 万,超出预算 ¥50 万" in page
    assert "联系对方" in page and "太早期" in page and "价格不合适" in page and "方向不符" in page
    # opening the page is what "viewed" means
    assert not Match.objects.filter(need=stored["need"], status="new").exists()


def test_others_cannot_see_a_needs_matches(client, seller, stored):
    client.force_login(seller)
    assert client.get(reverse("matching:need_matches", args=[stored["need"].pk])).status_code == 403
    client.logout()
    response = client.get(reverse("matching:need_matches", args=[stored["need"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_an_unknown_need_is_404(client, buyer, db):
    client.force_login(buyer)
    assert client.get(reverse("matching:need_matches", args=[999999])).status_code == 404


def test_a_too_short_need_says_so_on_its_page(client, buyer, enterprise, matching_index):
    need = NeedFactory(organisation=enterprise, title="冷链", description="保鲜")
    client.force_login(buyer)
    page = client.get(reverse("matching:need_matches", args=[need.pk])).content.decode()
    assert "需求描述太短,无法匹配" in page and "至少 10 个字" in page


def test_no_match_shows_suggestions(client, buyer, enterprise, matching_index):
    need = NeedFactory(
        organisation=enterprise,
        title="寺院酥油灯烟熏壁画的清洗",
        description="大殿里的壁画被酥油灯熏黑了,想找安全的清洗办法,不能伤到颜料。",
        min_maturity="industrial",
    )
    client.force_login(buyer)
    page = client.get(reverse("matching:need_matches", args=[need.pk])).content.decode()
    assert "暂时没有找到匹配的科技成果" in page
    assert "降低最低成熟度要求" in page and "放宽技术领域" in page


def test_dismissing_with_a_reason_moves_it_aside(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching:match_dismiss", args=[stored["need"].pk, stored["too_dear"].pk])
    response = client.post(url, {"reason": "price", "note": "超预算太多"}, follow=True)
    match = Match.objects.get(technology=stored["too_dear"])
    assert match.status == "dismissed" and match.dismiss_reason == "price"
    page = response.content.decode()
    assert "已忽略该成果" in page and "已忽略 1 项" in page


def test_dismissing_without_a_reason_is_refused_and_saves_nothing(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching:match_dismiss", args=[stored["need"].pk, stored["too_dear"].pk])
    page = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "请选择忽略原因" in page
    assert Match.objects.get(technology=stored["too_dear"]).status != "dismissed"
    page = client.post(url, {"reason": "other", "note": ""}, follow=True).content.decode()
    assert "选择「其他」时请简单说明原因" in page
    assert Match.objects.get(technology=stored["too_dear"]).status != "dismissed"


def test_dismiss_needs_post(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching:match_dismiss", args=[stored["need"].pk, stored["too_dear"].pk])
    assert client.get(url).status_code == 405


def test_restore_brings_it_back(client, buyer, stored):
    client.force_login(buyer)
    args = [stored["need"].pk, stored["too_dear"].pk]
    client.post(reverse("matching:match_dismiss", args=args), {"reason": "direction"})
    client.post(reverse("matching:match_restore", args=args))
    assert Match.objects.get(technology=stored["too_dear"]).status == "viewed"


def test_contact_opens_the_conversation(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching:match_contact", args=[stored["need"].pk, stored["fits"].pk])
    response = client.post(url)
    match = Match.objects.get(technology=stored["fits"])
    assert match.status == "contacted"
    assert response.status_code == 302
    assert response.url == reverse("messaging:conversation", kwargs={"pk": match.conversation_id})


def test_contact_by_an_outsider_is_forbidden(client, stored):
    client.force_login(UserFactory(username="outsider"))
    url = reverse("matching:match_contact", args=[stored["need"].pk, stored["fits"].pk])
    assert client.post(url).status_code == 403
    assert Match.objects.get(technology=stored["fits"]).status == "new"


def test_the_technology_owner_sees_leads_and_why_buyers_passed(client, buyer, seller, stored):
    client.force_login(buyer)
    client.post(reverse("matching:match_dismiss", args=[stored["need"].pk, stored["too_dear"].pk]), {"reason": "price"})
    client.force_login(seller)
    page = client.get(reverse("matching:technology_leads", args=[stored["too_dear"].pk])).content.decode()
    assert "需求方忽略的原因" in page and "价格不合适" in page
    assert "暂时没有匹配的技术需求" in page  # the only lead was dismissed
    # and on the technology page itself, for its owner only
    detail = client.get(reverse("listings:technology_detail", args=[stored["too_dear"].pk])).content.decode()
    assert "潜在需求" in detail and "价格不合适" in detail
    client.force_login(buyer)
    detail = client.get(reverse("listings:technology_detail", args=[stored["too_dear"].pk])).content.decode()
    assert "需求方忽略了这项成果" not in detail


def test_leads_list_the_needs_that_fit(client, seller_b, stored):
    client.force_login(seller_b)
    page = client.get(reverse("matching:technology_leads", args=[stored["fits"].pk])).content.decode()
    assert stored["need"].title in page and "共同关键词" in page


def test_leads_are_for_the_owner_only(client, buyer, stored):
    client.force_login(buyer)
    assert client.get(reverse("matching:technology_leads", args=[stored["fits"].pk])).status_code == 403


def test_the_need_page_links_to_its_matches_for_the_owner(client, buyer, seller, stored):
    url = reverse("listings:need_detail", args=[stored["need"].pk])
    matches_url = reverse("matching:need_matches", args=[stored["need"].pk])
    client.force_login(buyer)
    assert matches_url in client.get(url).content.decode()
    client.force_login(seller)
    assert matches_url not in client.get(url).content.decode()


def test_the_overview_lists_my_listings_with_counts(client, buyer, seller_b, stored):
    client.force_login(buyer)
    page = client.get(reverse("matching:overview")).content.decode()
    assert stored["need"].title in page and "项匹配成果" in page
    client.force_login(seller_b)
    page = client.get(reverse("matching:overview")).content.decode()
    assert stored["fits"].title in page and "1 项潜在需求" in page


def test_the_main_navigation_links_to_matching_for_signed_in_users(client, buyer):
    assert reverse("matching:overview") not in client.get(reverse("home")).content.decode()
    client.force_login(buyer)
    assert reverse("matching:overview") in client.get(reverse("home")).content.decode()
