"""The bureau's review queue."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from listings.models import IPRecord, ListingStatus, ReviewEvent
from marketplace.accounts.models import Organisation
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_technology(university):
    tech = TechnologyFactory(
        organisation=university, title="藏药材组培快繁技术", status=ListingStatus.PENDING, published_at=None
    )
    IPRecord.objects.create(technology=tech, kind="invention", number="ZL201710601862.3")
    IPRecord.objects.create(technology=tech, kind="know_how", title="培养基配方")
    return tech


@pytest.fixture
def pending_need(enterprise):
    return NeedFactory(
        organisation=enterprise, title="青稞酒糟综合利用", status=ListingStatus.PENDING, published_at=None
    )


@pytest.fixture
def pending_organisation(db):
    organisation = OrganisationFactory(
        name="江苏援藏农业科技公司", region="jiangsu", verification="pending", verified_at=None
    )
    member_of(organisation, username="applicant")
    return organisation


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("review:queue"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_non_bureau_users_get_a_chinese_403(client, seller, pending_technology):
    client.force_login(seller)
    response = client.get(reverse("review:queue"))
    assert response.status_code == 403 and "只有科技局审核人员可以操作" in response.content.decode()

    approve = client.post(reverse("review:technology_decide", args=[pending_technology.pk]), {"action": "approve"})
    assert approve.status_code == 403
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PENDING


def test_the_queue_shows_the_three_sections_with_the_facts_for_a_decision(
    client, officer, pending_technology, pending_need, pending_organisation
):
    TechnologyFactory(title="已发布的成果")  # not waiting: must not appear
    client.force_login(officer)

    response = client.get(reverse("review:queue"))

    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("待审核科技成果", "待审核技术需求", "待认证机构"):
        assert heading in html
    assert "藏药材组培快繁技术" in html and "青稞酒糟综合利用" in html and "江苏援藏农业科技公司" in html
    assert "已发布的成果" not in html
    tech = response.context["queue"]["technologies"][0]
    assert (tech.patent_count, tech.ip_count) == (1, 2)
    assert "专利 1 项" in html and "TRL 6" in html and "¥50 万" in html


def test_approving_publishes_the_technology(client, officer, pending_technology):
    client.force_login(officer)
    response = client.post(reverse("review:technology_decide", args=[pending_technology.pk]), {"action": "approve"})
    assert response.status_code == 302 and response.url.startswith(reverse("review:queue"))
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PUBLISHED and pending_technology.published_at
    page = client.get(response.url).content.decode()
    assert "已审核通过并发布" in page
    assert ReviewEvent.objects.filter(technology=pending_technology, action="approved", by=officer).exists()


def test_returning_without_a_reason_shows_the_error_and_leaves_the_status(client, officer, pending_need):
    client.force_login(officer)
    response = client.post(reverse("review:need_decide", args=[pending_need.pk]), {"action": "return", "note": "  "})
    assert response.status_code == 400
    assert "退回时请填写原因" in response.content.decode()
    pending_need.refresh_from_db()
    assert pending_need.status == ListingStatus.PENDING
    assert not ReviewEvent.objects.filter(need=pending_need).exists()


def test_returning_with_a_reason_keeps_the_note_for_the_owner(client, officer, pending_technology, seller):
    client.force_login(officer)
    client.post(
        reverse("review:technology_decide", args=[pending_technology.pk]),
        {"action": "return", "note": "请补充中试数据"},
    )
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.RETURNED and pending_technology.review_note == "请补充中试数据"

    client.force_login(seller)
    page = client.get(reverse("accounts:organisation_detail", args=[pending_technology.organisation_id]))
    assert "请补充中试数据" in page.content.decode()


def test_a_second_decision_on_the_same_listing_is_refused_with_a_message(client, officer, pending_technology):
    client.force_login(officer)
    url = reverse("review:technology_decide", args=[pending_technology.pk])
    client.post(url, {"action": "approve"})
    response = client.post(url, {"action": "return", "note": "晚到的退回"}, follow=True)
    assert "只能审核待审核状态的条目" in response.content.decode()
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PUBLISHED and pending_technology.review_note == ""


def test_a_garbled_action_is_a_400_not_a_500(client, officer, pending_technology):
    client.force_login(officer)
    response = client.post(reverse("review:technology_decide", args=[pending_technology.pk]), {"action": "delete"})
    assert response.status_code == 400
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PENDING
    assert client.post(reverse("review:need_decide", args=[999999]), {"action": "approve"}).status_code == 404


def test_verifying_an_organisation(client, officer, pending_organisation):
    client.force_login(officer)
    response = client.post(
        reverse("review:organisation_decide", args=[pending_organisation.pk]), {"action": "verify"}, follow=True
    )
    assert "已通过认证" in response.content.decode()
    pending_organisation.refresh_from_db()
    assert pending_organisation.verification == Organisation.Verification.VERIFIED
    assert pending_organisation.verified_by == officer
    # the history section shows the decision
    assert "机构认证通过" in response.content.decode()


def test_rejecting_an_organisation_needs_a_reason(client, officer, pending_organisation):
    client.force_login(officer)
    url = reverse("review:organisation_decide", args=[pending_organisation.pk])

    empty = client.post(url, {"action": "reject", "note": ""})
    assert empty.status_code == 400 and "未通过认证时请填写原因" in empty.content.decode()
    pending_organisation.refresh_from_db()
    assert pending_organisation.verification == Organisation.Verification.PENDING

    client.post(url, {"action": "reject", "note": "营业执照名称与登记名称不一致"})
    pending_organisation.refresh_from_db()
    assert pending_organisation.verification == Organisation.Verification.REJECTED
    assert pending_organisation.verification_note == "营业执照名称与登记名称不一致"

    # a late second decision does not overwrite the first
    client.post(url, {"action": "verify"})
    pending_organisation.refresh_from_db()
    assert pending_organisation.verification == Organisation.Verification.REJECTED


def test_the_queue_costs_the_same_queries_for_one_item_or_many(client, officer, university):
    def add_one_of_each():
        TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)
        NeedFactory(status=ListingStatus.PENDING, published_at=None)
        OrganisationFactory(verification="pending", verified_at=None)

    def queries_for_the_queue() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("review:queue")).status_code == 200
        return len(captured.captured_queries)

    client.force_login(officer)
    add_one_of_each()
    with_one = queries_for_the_queue()
    for _ in range(5):
        add_one_of_each()
    assert queries_for_the_queue() == with_one
