"""The organisations API: public list, registration with a checked credit code, owner edits, bureau verification."""

import pytest

from listings.models import ReviewEvent
from marketplace.accounts.creditcode import ALPHABET, make_credit_code
from marketplace.accounts.models import Membership, Organisation
from tests.factories import OrganisationFactory, UserFactory, member_of

pytestmark = pytest.mark.django_db

URL = "/api/organisations/"
GOOD_CODE = make_credit_code("12540000MB0P12345")

NEW = {
    "name": "北京理工大学拉萨研究院",
    "kind": "aid_partner",
    "region": "beijing",
    "credit_code": GOOD_CODE,
    "description": "对口援藏科研机构",
    "website": "https://example.cn",
}


def wrong_check(code: str) -> str:
    return code[:17] + next(ch for ch in ALPHABET if ch != code[17])


def ids(response):
    return {row["id"] for row in response.json()["results"]}


def test_anonymous_users_see_verified_organisations_only(anon, university):
    pending = OrganisationFactory(verification="pending")

    response = anon.get(URL)

    assert response.status_code == 200
    assert ids(response) == {university.pk}
    assert anon.get(f"{URL}{pending.pk}/").status_code == 404
    body = anon.get(f"{URL}{university.pk}/").json()
    assert body["name"] == university.name and body["kind_label"] == "高等院校"
    assert body["region_label"] == "西藏" and body["verification"] == "verified"


def test_members_see_their_own_pending_organisation_and_the_bureau_sees_all(client_for, university, officer):
    pending = OrganisationFactory(verification="pending")
    rejected = OrganisationFactory(verification="rejected", verification_note="营业执照不清晰")
    owner = member_of(pending)

    assert ids(client_for(owner).get(URL)) >= {pending.pk, university.pk}
    assert rejected.pk not in ids(client_for(owner).get(URL))
    everything = ids(client_for(officer).get(URL))
    assert {pending.pk, rejected.pk, university.pk} <= everything
    assert ids(client_for(officer).get(URL, {"verification": "pending"})) == {pending.pk}


def test_the_verification_note_is_for_members_and_the_bureau(client_for, anon, officer):
    org = OrganisationFactory(verification_note="已核验营业执照")
    owner = member_of(org)

    assert anon.get(f"{URL}{org.pk}/").json()["verification_note"] is None
    assert client_for(owner).get(f"{URL}{org.pk}/").json()["verification_note"] == "已核验营业执照"
    assert client_for(officer).get(f"{URL}{org.pk}/").json()["verification_note"] == "已核验营业执照"


def test_filters_by_kind_and_region_and_refuses_unknown_codes(anon, university):
    firm = OrganisationFactory(kind="enterprise", region="jiangsu")

    assert ids(anon.get(URL, {"kind": "enterprise"})) == {firm.pk}
    assert ids(anon.get(URL, {"region": "tibet"})) == {university.pk}
    response = anon.get(URL, {"kind": "church"})
    assert response.status_code == 400
    assert "church" in str(response.json()["kind"])


def test_a_logged_in_user_registers_an_organisation_and_becomes_its_owner(client_for):
    user = UserFactory()

    response = client_for(user).post(URL, {**NEW, "credit_code": GOOD_CODE.lower()}, format="json")

    assert response.status_code == 201, response.json()
    org = Organisation.objects.get(pk=response.json()["id"])
    assert org.credit_code == GOOD_CODE
    assert org.verification == "pending" and response.json()["verification"] == "pending"
    assert Membership.objects.get(organisation=org).user == user
    assert Membership.objects.get(organisation=org).role == "owner"


def test_a_wrong_check_character_is_refused_with_the_chinese_reason(client_for):
    user = UserFactory()
    bad = wrong_check(GOOD_CODE)

    response = client_for(user).post(URL, {**NEW, "credit_code": bad}, format="json")

    assert response.status_code == 400
    assert response.json()["credit_code"] == [f"统一社会信用代码校验位错误:应为 {GOOD_CODE[17]},实际为 {bad[17]}"]
    assert not Organisation.objects.filter(name=NEW["name"]).exists()
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"credit_code": "12345"}, "credit_code", "18位"),
        ({"credit_code": "91540100MA6T0000I1"}, "credit_code", "非法字符"),
        ({"kind": "church"}, "kind", "church"),
        ({"region": "mars"}, "region", "mars"),
        ({"name": ""}, "name", ""),
        ({"website": "not a url"}, "website", ""),
    ],
)
def test_bad_registrations_are_refused_and_nothing_is_saved(client_for, changes, key, fragment):
    before = Organisation.objects.count()

    response = client_for(UserFactory()).post(URL, {**NEW, **changes}, format="json")

    assert response.status_code == 400
    assert key in response.json() and fragment in str(response.json()[key])
    assert Organisation.objects.count() == before


def test_a_duplicate_name_or_credit_code_is_a_400(client_for, university):
    same_code = client_for(UserFactory()).post(URL, {**NEW, "credit_code": university.credit_code}, format="json")
    same_name = client_for(UserFactory()).post(URL, {**NEW, "name": university.name}, format="json")

    assert same_code.status_code == 400 and "credit_code" in same_code.json()
    assert same_name.status_code == 400 and "name" in same_name.json()
    assert Organisation.objects.count() == 1


def test_anonymous_users_cannot_register(anon):
    assert anon.post(URL, NEW, format="json").status_code == 403
    assert not Organisation.objects.filter(name=NEW["name"]).exists()


def test_owners_update_their_organisation(client_for, university, seller):
    response = client_for(seller).patch(
        f"{URL}{university.pk}/", {"description": "西藏自治区重点高校", "kind": "bureau"}, format="json"
    )

    assert response.status_code == 200, response.json()
    university.refresh_from_db()
    assert university.description == "西藏自治区重点高校"
    assert university.kind == "university"  # kind is fixed once registered


def test_non_owners_cannot_update(client_for, university, buyer):
    plain_member = member_of(university, role="member")

    for user in (buyer, plain_member):
        response = client_for(user).patch(f"{URL}{university.pk}/", {"name": "篡改"}, format="json")
        assert response.status_code == 403
    university.refresh_from_db()
    assert university.name == "西藏大学测试"


def test_a_bad_update_is_a_400_and_changes_nothing(client_for, university, seller):
    response = client_for(seller).patch(f"{URL}{university.pk}/", {"region": "mars", "name": "新名"}, format="json")

    assert response.status_code == 400 and "mars" in str(response.json()["region"])
    university.refresh_from_db()
    assert university.name == "西藏大学测试"


def test_only_the_bureau_verifies(client_for, officer):
    pending = OrganisationFactory(verification="pending")
    owner = member_of(pending)
    other = member_of(OrganisationFactory())

    for user in (owner, other):
        response = client_for(user).post(f"{URL}{pending.pk}/verify/", {"approve": True}, format="json")
        assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.verification == "pending"

    response = client_for(officer).post(f"{URL}{pending.pk}/verify/", {"approve": True}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["verification"] == "verified"
    pending.refresh_from_db()
    assert pending.verification == "verified" and pending.verified_by == officer
    assert ReviewEvent.objects.filter(organisation=pending, action="verified").exists()


def test_rejecting_needs_a_reason(client_for, officer):
    pending = OrganisationFactory(verification="pending")
    url = f"{URL}{pending.pk}/verify/"

    refused = client_for(officer).post(url, {"approve": False}, format="json")
    assert refused.status_code == 400 and "note" in refused.json()
    pending.refresh_from_db()
    assert pending.verification == "pending"

    rejected = client_for(officer).post(url, {"approve": False, "note": "信用代码与名称不符"}, format="json")
    assert rejected.status_code == 200
    pending.refresh_from_db()
    assert pending.verification == "rejected" and pending.verification_note == "信用代码与名称不符"
