"""The needs API: the same rules as technologies, with budget, county, deadline and desired modes."""

import datetime

import pytest
from django.utils import timezone

from listings.models import ListingStatus, Need
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db

URL = "/api/needs/"


def new_need(**changes) -> dict:
    return {
        "title": "牦牛肉冷链保鲜",
        "description": "夏季运往内地的牦牛肉易变质,需要低成本冷链保鲜方案。",
        "field": "agriculture",
        "tags": ["agri_pastoral"],
        "budget_cny": "300000",
        "county": "duilongdeqing",
        "desired_modes": ["transfer", "co_develop"],
        "min_maturity": "pilot",
        "deadline": (timezone.localdate() + datetime.timedelta(days=60)).isoformat(),
        **changes,
    }


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_a_member_posts_a_need_as_a_draft(client_for, buyer, enterprise):
    response = client_for(buyer).post(URL, new_need(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    need = Need.objects.get(pk=body["id"])
    assert need.status == ListingStatus.DRAFT and need.organisation == enterprise
    assert body["budget_cny"] == "300000.00" and body["budget_display"] == "¥30 万"
    assert body["county"] == "duilongdeqing" and body["county_label"] == "堆龙德庆区"
    assert sorted(body["desired_modes"]) == ["co_develop", "transfer"]
    assert body["min_maturity"] == "pilot" and body["tags"] == ["agri_pastoral"]


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"deadline": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()}, "deadline", "截止日期"),
        ({"deadline": "2026-02-30"}, "deadline", ""),
        ({"county": "shigatse"}, "county", "shigatse"),
        ({"desired_modes": ["barter"]}, "desired_modes", "barter"),
        ({"min_maturity": "ripe"}, "min_maturity", "ripe"),
        ({"budget_cny": "-5"}, "budget_cny", ""),
        ({"field": "magic"}, "field", "magic"),
        ({"description": ""}, "description", ""),
    ],
)
def test_bad_needs_are_refused_and_nothing_is_saved(client_for, buyer, changes, key, fragment):
    response = client_for(buyer).post(URL, new_need(**changes), format="json")

    assert response.status_code == 400
    assert key in response.json() and fragment in str(response.json()[key])
    assert not Need.objects.exists()


def test_drafts_are_for_members_and_the_bureau(client_for, anon, buyer, seller, officer, enterprise):
    published = NeedFactory(organisation=enterprise)
    draft = NeedFactory(organisation=enterprise, status=ListingStatus.DRAFT, published_at=None)

    assert ids(anon.get(URL)) == [published.pk]
    assert draft.pk not in ids(client_for(seller).get(URL))
    assert client_for(seller).get(f"{URL}{draft.pk}/").status_code == 404
    assert draft.pk in ids(client_for(buyer).get(URL))
    assert draft.pk in ids(client_for(officer).get(URL))


def test_outsiders_cannot_edit_a_need(client_for, seller, enterprise):
    need = NeedFactory(organisation=enterprise, title="原需求")

    response = client_for(seller).patch(f"{URL}{need.pk}/", {"title": "篡改"}, format="json")

    assert response.status_code == 403
    need.refresh_from_db()
    assert need.title == "原需求"


def test_moving_a_deadline_into_the_past_is_refused(client_for, buyer, enterprise):
    need = NeedFactory(organisation=enterprise, status=ListingStatus.DRAFT, published_at=None)
    before = need.deadline

    response = client_for(buyer).patch(f"{URL}{need.pk}/", {"deadline": "2020-01-01"}, format="json")

    assert response.status_code == 400 and "deadline" in response.json()
    need.refresh_from_db()
    assert need.deadline == before


def test_a_need_goes_through_review_to_publication(client_for, anon, buyer, officer):
    created = client_for(buyer).post(URL, new_need(submit=True), format="json")
    assert created.status_code == 201 and created.json()["status"] == "pending"
    url = f"{URL}{created.json()['id']}/"

    assert client_for(buyer).post(url + "review/", {"approve": True}, format="json").status_code == 403
    approved = client_for(officer).post(url + "review/", {"approve": True}, format="json")

    assert approved.json()["status"] == "published"
    assert created.json()["id"] in ids(anon.get(URL))


def test_needs_filter_by_county_and_tags(anon, enterprise):
    dazi = NeedFactory(organisation=enterprise, county="dazi", tags=["health"])
    chengguan = NeedFactory(organisation=enterprise, county="chengguan", tags=["tourism"])

    assert ids(anon.get(URL, {"county": "dazi"})) == [dazi.pk]
    assert set(ids(anon.get(URL, {"tags": "tourism,health"}))) == {dazi.pk, chengguan.pk}
    response = anon.get(URL, {"county": "shigatse"})
    assert response.status_code == 400 and "shigatse" in str(response.json()["county"])


def test_needs_past_their_deadline_leave_the_list_before_the_sweep_except_for_their_owners(
    client_for, anon, buyer, seller, officer, enterprise
):
    stale = NeedFactory(organisation=enterprise, deadline=timezone.localdate() - datetime.timedelta(days=1))
    fresh = NeedFactory(organisation=enterprise)

    assert ids(anon.get(URL)) == [fresh.pk]
    assert ids(client_for(seller).get(URL)) == [fresh.pk]
    assert stale.pk in ids(client_for(buyer).get(URL))
    assert stale.pk in ids(client_for(officer).get(URL))
