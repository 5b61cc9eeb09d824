"""The technologies API: visibility, create/update through the services, workflow actions, filters, pages."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from listings.models import IPRecord, ListingStatus, ReviewEvent, Technology
from marketplace.accounts.models import Membership
from tests.factories import OrganisationFactory, TechnologyFactory, member_of

pytestmark = pytest.mark.django_db

URL = "/api/technologies/"

NEW = {
    "title": "高原光伏组件防积雪涂层",
    "summary": "降低积雪遮挡损失的疏水涂层",
    "description": "适用于海拔4000米以上光伏电站,冬季发电量提高8%。",
    "field": "energy",
    "tags": ["clean_energy", "ecology"],
    "maturity": "pilot",
    "trl": 6,
    "transfer_modes": ["license", "transfer"],
    "price_kind": "range",
    "price_cny": "300000",
    "price_max_cny": "500000.50",
    "ip_records": [{"kind": "invention", "number": "CN 2017 1060 1862.3", "title": "一种疏水涂层"}],
}


def url(tech, suffix=""):
    return f"{URL}{tech.pk}/{suffix}"


def ids(response):
    return [row["id"] for row in response.json()["results"]]


# ---------------------------------------------------------------- visibility


def test_anonymous_users_see_published_technologies_only(anon, university):
    published = TechnologyFactory(organisation=university)
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, published_at=None)
    pending = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)

    response = anon.get(URL)

    assert response.status_code == 200
    assert ids(response) == [published.pk]
    assert anon.get(url(draft)).status_code == 404
    assert anon.get(url(pending)).status_code == 404
    assert anon.get(url(published)).json()["title"] == published.title


def test_a_draft_is_hidden_from_outsiders_but_visible_to_members_and_the_bureau(
    client_for, university, seller, buyer, officer
):
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, published_at=None)

    assert draft.pk not in ids(client_for(buyer).get(URL))
    assert client_for(buyer).get(url(draft)).status_code == 404

    assert draft.pk in ids(client_for(seller).get(URL))
    assert client_for(seller).get(url(draft)).json()["status"] == "draft"
    assert draft.pk in ids(client_for(officer).get(URL))
    assert client_for(officer).get(url(draft)).status_code == 200


def test_the_review_note_is_shown_to_members_and_the_bureau_only(client_for, anon, university, seller, buyer, officer):
    tech = TechnologyFactory(organisation=university, review_note="请补充中试数据")

    assert anon.get(url(tech)).json()["review_note"] is None
    assert client_for(buyer).get(url(tech)).json()["review_note"] is None
    assert client_for(seller).get(url(tech)).json()["review_note"] == "请补充中试数据"
    assert client_for(officer).get(url(tech)).json()["review_note"] == "请补充中试数据"
    listed = client_for(buyer).get(URL).json()["results"]
    assert [row["review_note"] for row in listed] == [None]


def test_a_missing_or_malformed_id_is_a_404(anon):
    assert anon.get(f"{URL}999999/").status_code == 404
    assert anon.get(f"{URL}abc/").status_code == 404
    assert anon.get(f"{URL}99999999999999999999999/").status_code == 404


# ---------------------------------------------------------------- create


def test_a_member_creates_a_draft_and_gets_it_back_in_full(client_for, university, seller):
    response = client_for(seller).post(URL, NEW, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    tech = Technology.objects.get(pk=body["id"])
    assert tech.status == ListingStatus.DRAFT and tech.organisation == university and tech.created_by == seller
    assert tech.price_max_cny == Decimal("500000.50")
    assert body["status"] == "draft" and body["status_label"] == "草稿"
    assert body["field"] == "energy" and body["field_label"] == "新能源与高效节能"
    assert sorted(body["tags"]) == ["clean_energy", "ecology"]
    assert sorted(body["transfer_modes"]) == ["license", "transfer"]
    assert body["price_cny"] == "300000.00" and body["price_max_cny"] == "500000.50"
    assert body["price_display"] == "¥30 万 – ¥500,000.50"
    assert body["ip_records"] == [{"kind": "invention", "number": "ZL201710601862.3", "title": "一种疏水涂层"}]
    assert body["organisation"] == {
        "id": university.pk,
        "name": university.name,
        "kind": "university",
        "region": "tibet",
    }
    assert body["region"] == "tibet"
    assert body["images"] == [] and body["attachments"] == []
    assert body["published_at"] is None and body["created_at"]


def test_the_maturity_is_derived_from_the_trl_when_left_out(client_for, seller):
    data = {key: value for key, value in NEW.items() if key != "maturity"} | {"trl": 8}

    response = client_for(seller).post(URL, data, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["maturity"] == "industrial"


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"field": "quantum"}, "field", "quantum"),
        ({"tags": ["clean_energy", "yak"]}, "tags", "yak"),
        ({"transfer_modes": ["lease"]}, "transfer_modes", "lease"),
        ({"transfer_modes": []}, "transfer_modes", "转化方式"),
        ({"maturity": "pilot", "trl": 2}, "trl", "不一致"),
        ({"ip_records": [{"kind": "invention", "number": "ZL201710601862.4"}]}, "ip_records", "校验位"),
        (
            {
                "ip_records": [
                    {"kind": "invention", "number": "201710601862.3"},
                    {"kind": "invention", "number": "ZL201710601862.3"},
                ]
            },
            "ip_records",
            "重复",
        ),
        ({"price_cny": "500000", "price_max_cny": "300000"}, "price_max_cny", "最高价格"),
        ({"price_kind": "fixed", "price_cny": None}, "price_cny", "价格"),
        ({"price_cny": "abc"}, "price_cny", ""),
        ({"trl": 12}, "trl", ""),
        ({"title": None}, "title", ""),
        ({"organisation_id": 2**70}, "organisation_id", ""),
        ({"organisation_id": "abc"}, "organisation_id", ""),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(client_for, seller, changes, key, fragment):
    before = (Technology.objects.count(), IPRecord.objects.count())

    response = client_for(seller).post(URL, {**NEW, **changes}, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert key in errors, errors
    assert fragment in str(errors[key])
    assert (Technology.objects.count(), IPRecord.objects.count()) == before


def test_a_missing_required_field_is_named(client_for, seller):
    data = {key: value for key, value in NEW.items() if key not in ("title", "summary")}

    response = client_for(seller).post(URL, data, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"title", "summary"}
    assert not Technology.objects.exists()


def test_malformed_json_is_a_400(client_for, seller):
    response = client_for(seller).post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert not Technology.objects.exists()


def test_anonymous_users_cannot_create(anon, university):
    response = anon.post(URL, {**NEW, "organisation_id": university.pk}, format="json")

    assert response.status_code == 403
    assert not Technology.objects.exists()


def test_creating_for_an_organisation_one_does_not_belong_to_is_forbidden(client_for, buyer, university):
    response = client_for(buyer).post(URL, {**NEW, "organisation_id": university.pk}, format="json")

    assert response.status_code == 403
    assert "成员" in response.json()["detail"]
    assert not Technology.objects.exists()


def test_a_member_of_several_organisations_must_name_one(client_for, seller, university):
    other = OrganisationFactory()
    Membership.objects.create(user=seller, organisation=other, role="member")

    response = client_for(seller).post(URL, NEW, format="json")
    assert response.status_code == 400
    assert "organisation_id" in response.json()
    assert not Technology.objects.exists()

    response = client_for(seller).post(URL, {**NEW, "organisation_id": other.pk}, format="json")
    assert response.status_code == 201
    assert Technology.objects.get().organisation == other


def test_creating_with_submit_by_an_unverified_organisation_saves_nothing(client_for):
    pending = OrganisationFactory(verification="pending")
    owner = member_of(pending)

    response = client_for(owner).post(URL, {**NEW, "submit": True}, format="json")

    assert response.status_code == 400
    assert "认证" in str(response.json())
    assert not Technology.objects.exists()


# ---------------------------------------------------------------- update


def test_an_outsider_cannot_update_and_nothing_changes(client_for, buyer, university):
    tech = TechnologyFactory(organisation=university, title="原标题")

    patch = client_for(buyer).patch(url(tech), {"title": "篡改"}, format="json")
    put = client_for(buyer).put(url(tech), {**NEW, "title": "篡改"}, format="json")
    bad = client_for(buyer).patch(url(tech), {"field": "nonsense"}, format="json")

    assert patch.status_code == put.status_code == bad.status_code == 403
    tech.refresh_from_db()
    assert tech.title == "原标题" and tech.status == ListingStatus.PUBLISHED


def test_editing_a_published_technology_sends_it_back_to_review(client_for, seller, university):
    tech = TechnologyFactory(organisation=university)

    response = client_for(seller).patch(url(tech), {"title": "改进版", "tags": ["health"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending"
    tech.refresh_from_db()
    assert tech.title == "改进版" and tech.status == ListingStatus.PENDING
    assert [t.code for t in tech.tags.all()] == ["health"]
    assert sorted(m.code for m in tech.transfer_modes.all()) == ["license", "transfer"]  # untouched


def test_a_bad_update_changes_nothing(client_for, seller, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, title="原标题")
    IPRecord.objects.create(technology=tech, kind="invention", number="ZL201710601862.3")

    response = client_for(seller).patch(
        url(tech),
        {"title": "新标题", "ip_records": [{"kind": "invention", "number": "ZL201710601862.4"}]},
        format="json",
    )

    assert response.status_code == 400
    tech.refresh_from_db()
    assert tech.title == "原标题"
    assert [ip.number for ip in tech.ip_records.all()] == ["ZL201710601862.3"]


def test_the_organisation_of_a_listing_cannot_be_changed(client_for, seller, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT)
    other = OrganisationFactory()

    response = client_for(seller).patch(url(tech), {"organisation_id": other.pk}, format="json")

    assert response.status_code == 400
    assert "organisation_id" in response.json()
    tech.refresh_from_db()
    assert tech.organisation == university


def test_a_listing_under_review_cannot_be_edited(client_for, seller, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, title="原标题")

    response = client_for(seller).patch(url(tech), {"title": "改"}, format="json")

    assert response.status_code == 400
    assert "待审核" in str(response.json())
    tech.refresh_from_db()
    assert tech.title == "原标题"


# ---------------------------------------------------------------- workflow


def test_an_unverified_organisation_cannot_submit(client_for):
    pending = OrganisationFactory(verification="pending")
    owner = member_of(pending)
    tech = TechnologyFactory(organisation=pending, status=ListingStatus.DRAFT, published_at=None)

    response = client_for(owner).post(url(tech, "submit/"))

    assert response.status_code == 400
    assert "认证" in str(response.json())
    tech.refresh_from_db()
    assert tech.status == ListingStatus.DRAFT


def test_only_the_bureau_reviews(client_for, seller, buyer, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)

    for user in (seller, buyer):
        response = client_for(user).post(url(tech, "review/"), {"approve": True}, format="json")
        assert response.status_code == 403
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING
    assert not ReviewEvent.objects.filter(technology=tech).exists()


def test_create_submit_and_bureau_approval_publish_a_technology(client_for, anon, seller, officer):
    created = client_for(seller).post(URL, NEW, format="json").json()
    tech_url = f"{URL}{created['id']}/"

    submitted = client_for(seller).post(tech_url + "submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
    assert created["id"] not in ids(anon.get(URL))

    approved = client_for(officer).post(tech_url + "review/", {"approve": True, "note": "资料齐全"}, format="json")

    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "published" and approved.json()["published_at"]
    assert created["id"] in ids(anon.get(URL))
    actions = list(ReviewEvent.objects.filter(technology_id=created["id"]).order_by("at", "id").values_list("action"))
    assert actions == [("submitted",), ("approved",)]


def test_returning_without_a_reason_is_refused(client_for, officer, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)

    refused = client_for(officer).post(url(tech, "review/"), {"approve": False, "note": " "}, format="json")
    missing = client_for(officer).post(url(tech, "review/"), {"note": "x"}, format="json")
    returned = client_for(officer).post(url(tech, "review/"), {"approve": False, "note": "请补充专利号"}, format="json")

    assert refused.status_code == 400 and "note" in refused.json()
    assert missing.status_code == 400 and "approve" in missing.json()
    assert returned.status_code == 200
    tech.refresh_from_db()
    assert tech.status == ListingStatus.RETURNED and tech.review_note == "请补充专利号"


def test_reviewing_a_listing_that_is_not_pending_is_a_400(client_for, officer, university):
    tech = TechnologyFactory(organisation=university)

    response = client_for(officer).post(url(tech, "review/"), {"approve": True}, format="json")

    assert response.status_code == 400
    assert "待审核" in str(response.json())


def test_members_withdraw_and_outsiders_cannot(client_for, seller, buyer, anon, university):
    tech = TechnologyFactory(organisation=university)

    assert client_for(buyer).post(url(tech, "withdraw/")).status_code == 403
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PUBLISHED

    response = client_for(seller).post(url(tech, "withdraw/"), {"note": "已与企业签约"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert tech.pk not in ids(anon.get(URL))
    assert client_for(seller).post(url(tech, "withdraw/")).status_code == 400  # already withdrawn


# ---------------------------------------------------------------- filters and pages


def test_filters_by_field_tags_region_maturity_organisation_and_text(anon, university):
    beijing = OrganisationFactory(region="beijing")
    jiangsu = OrganisationFactory(region="jiangsu")
    a = TechnologyFactory(organisation=university, field="agriculture", tags=["agri_pastoral"], title="青稞酿造")
    b = TechnologyFactory(organisation=beijing, field="energy", tags=["clean_energy"], maturity="lab", trl=2)
    c = TechnologyFactory(organisation=jiangsu, field="biomed", tags=["health", "ecology"], description="藏药提取")

    def found(query):
        response = anon.get(URL, query)
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert found({"field": "energy"}) == {b.pk}
    assert found({"tags": "clean_energy,health"}) == {b.pk, c.pk}  # any of
    assert found({"tags": ["agri_pastoral", "ecology"]}) == {a.pk, c.pk}
    assert found({"tags": "ecology,health"}) == {c.pk}  # no duplicate rows
    assert found({"region": "beijing"}) == {b.pk}
    assert found({"region": "aid"}) == {b.pk, c.pk}
    assert found({"maturity": "lab"}) == {b.pk}
    assert found({"organisation": university.pk}) == {a.pk}
    assert found({"q": "藏药"}) == {c.pk}
    assert found({"q": "青稞酿"}) == {a.pk}
    assert found({"field": "", "q": ""}) == {a.pk, b.pk, c.pk}


def test_the_status_filter_shows_members_their_own_drafts_only(client_for, anon, seller, buyer, university):
    published = TechnologyFactory(organisation=university)
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, published_at=None)
    foreign_draft = TechnologyFactory(status=ListingStatus.DRAFT, published_at=None)

    assert set(ids(client_for(seller).get(URL, {"status": "draft"}))) == {draft.pk}
    assert set(ids(client_for(seller).get(URL))) == {published.pk, draft.pk}
    assert ids(client_for(buyer).get(URL, {"status": "draft"})) == []
    assert ids(anon.get(URL, {"status": "draft"})) == []
    assert ids(anon.get(URL, {"status": "published"})) == [published.pk]
    assert foreign_draft.pk not in ids(client_for(seller).get(URL, {"status": "draft"}))


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ({"field": "quantum"}, "quantum"),
        ({"tags": "health,yak"}, "yak"),
        ({"status": "secret"}, "secret"),
        ({"region": "mars"}, "mars"),
        ({"maturity": "ripe"}, "ripe"),
        ({"organisation": "abc"}, ""),
        ({"organisation": str(2**70)}, ""),
        ({"q": "x" * 101}, ""),
        ({"q": "a\x00b"}, ""),
    ],
)
def test_bad_filter_values_are_a_400_naming_them(anon, query, bad):
    TechnologyFactory()

    response = anon.get(URL, query)

    assert response.status_code == 400
    assert set(response.json()) == set(query)
    assert bad in str(response.json())


def test_results_are_paginated_newest_first(anon, university):
    techs = TechnologyFactory.create_batch(25, organisation=university)

    first = anon.get(URL, {"page_size": 10}).json()
    last = anon.get(URL, {"page_size": 10, "page": 3}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25 and len(first["results"]) == 10
    assert "page=2" in first["next"] and first["previous"] is None
    assert len(last["results"]) == 5 and last["next"] is None
    newest_first = sorted(techs, key=lambda t: (t.published_at, t.pk), reverse=True)
    assert [row["id"] for row in first["results"]] == [t.pk for t in newest_first[:10]]
    assert len(anon.get(URL).json()["results"]) == 20  # default page size
    assert anon.get(URL, {"page": 99}).status_code == 404


def test_the_page_size_is_capped_at_100(anon, university):
    TechnologyFactory.create_batch(101, organisation=university)

    body = anon.get(URL, {"page_size": 1000}).json()

    assert body["count"] == 101 and len(body["results"]) == 100


def test_the_list_costs_the_same_number_of_queries_for_5_or_20_rows(client_for, seller, university):
    def queries_for_list():
        with CaptureQueriesContext(connection) as ctx:
            assert client_for(seller).get(URL).status_code == 200
        return len(ctx.captured_queries)

    for tech in TechnologyFactory.create_batch(5, organisation=university):
        IPRecord.objects.create(technology=tech, kind="know_how", title="配方")
    queries_for_list()  # warm-up: the user's bureau flag is looked up once and cached
    small = queries_for_list()
    TechnologyFactory.create_batch(15, organisation=university)
    assert queries_for_list() == small
