"""/api/matching/: the same ranking, actions and leads as the pages; bad input is a 4xx with a message."""

import pytest
from django.urls import reverse

from matching.models import Match
from matching.services import need_matches_refresh
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(market, matching_index):
    matching_index.refresh()
    need_matches_refresh(need_id=market["need"].pk)
    return market


def matches_url(need_pk):
    return reverse("matching_api:need_matches", args=[need_pk])


def test_the_owner_gets_the_ranking_as_json(client, buyer, stored):
    client.force_login(buyer)
    data = client.get(matches_url(stored["need"].pk), {"limit": 5}).json()
    first = data["results"][0]
    assert first["technology"]["id"] == stored["fits"].pk
    assert first["broken"] == [] and 0 < first["score"] <= 100
    codes = {r["code"] for r in first["reasons"]}
    assert {"terms", "field", "maturity", "modes", "price", "aid"} <= codes
    assert any(r["text"] == "北京援藏单位成果" for r in first["reasons"])
    dear = next(r for r in data["results"] if r["technology"]["id"] == stored["too_dear"].pk)
    assert dear["broken"][0]["code"] == "price" and dear["broken"][0]["text"] == "报价 ¥200 万,超出预算 ¥50 万"
    assert data["engine_available"] is True and len(data["results"]) <= 5


@pytest.mark.parametrize("limit", ["0", "101", "abc"])
def test_a_bad_limit_is_a_400_naming_it(client, buyer, stored, limit):
    client.force_login(buyer)
    response = client.get(matches_url(stored["need"].pk), {"limit": limit})
    assert response.status_code == 400 and "limit" in response.json()


def test_a_too_short_need_is_a_400_that_says_so(client, buyer, enterprise, matching_index):
    need = NeedFactory(organisation=enterprise, title="冷链", description="保鲜")
    client.force_login(buyer)
    response = client.get(matches_url(need.pk))
    assert response.status_code == 400 and response.json()["too_short"] is True
    assert "至少 10 个字" in response.json()["detail"]


def test_permissions(client, seller, stored):
    assert client.get(matches_url(stored["need"].pk)).status_code in (401, 403)
    client.force_login(seller)
    assert client.get(matches_url(stored["need"].pk)).status_code == 403
    assert client.get(matches_url(999999)).status_code == 404


def test_dismiss_validates_the_reason(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching_api:dismiss", args=[stored["need"].pk, stored["too_dear"].pk])
    response = client.post(url, {"reason": "boring"}, content_type="application/json")
    assert response.status_code == 400 and "too_early" in str(response.json()["reason"])
    response = client.post(url, {"reason": "other"}, content_type="application/json")
    assert response.status_code == 400 and "note" in response.json()
    assert Match.objects.get(technology=stored["too_dear"]).status == "new"
    response = client.post(url, {"reason": "price", "note": "太贵"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    restore = reverse("matching_api:restore", args=[stored["need"].pk, stored["too_dear"].pk])
    assert client.post(restore).json()["status"] == "viewed"
    assert client.post(restore).status_code == 400  # nothing to restore any more


def test_dismiss_of_an_unknown_technology_is_404(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching_api:dismiss", args=[stored["need"].pk, 999999])
    assert client.post(url, {"reason": "price"}, content_type="application/json").status_code == 404


def test_contact_returns_the_conversation(client, buyer, stored):
    client.force_login(buyer)
    url = reverse("matching_api:contact", args=[stored["need"].pk, stored["fits"].pk])
    data = client.post(url).json()
    assert data["status"] == "contacted" and data["conversation"]
    assert data["conversation_url"] == reverse("messaging:conversation", kwargs={"pk": data["conversation"]})


def test_leads_and_dismissal_reasons(client, buyer, seller_b, stored):
    client.force_login(seller_b)
    data = client.get(reverse("matching_api:technology_leads", args=[stored["fits"].pk])).json()
    assert data["results"][0]["need"]["id"] == stored["need"].pk
    assert data["dismissals"] == {"total": 0, "reasons": []}
    client.force_login(buyer)
    assert client.get(reverse("matching_api:technology_leads", args=[stored["fits"].pk])).status_code == 403
    client.post(
        reverse("matching_api:dismiss", args=[stored["need"].pk, stored["fits"].pk]),
        {"reason": "too_early"},
        content_type="application/json",
    )
    client.force_login(seller_b)
    data = client.get(reverse("matching_api:technology_leads", args=[stored["fits"].pk])).json()
    assert data["results"] == []
    assert data["dismissals"] == {"total": 1, "reasons": [{"code": "too_early", "label": "太早期", "count": 1}]}


def test_the_schema_documents_the_endpoints(client, db):
    schema = client.get(reverse("api:schema")).content.decode()
    assert "/api/matching/needs/{id}/matches/" in schema or "/api/matching/needs/{pk}/matches/" in schema
