"""The review workflow of technologies and needs, through the services."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from listings import selectors, services
from listings.models import ListingStatus, Need, ReviewEvent, Technology
from listings.patents import make_patent_number, parse_patent_number
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, member_of

pytestmark = pytest.mark.django_db

TECH = {
    "title": "高原光伏组件防积雪涂层",
    "summary": "降低积雪遮挡损失的疏水涂层",
    "description": "适用于海拔4000米以上光伏电站。",
    "field": "energy",
    "maturity": "pilot",
    "trl": 6,
    "price_kind": "range",
    "price_cny": Decimal("300000"),
    "price_max_cny": Decimal("500000"),
}


def test_a_technology_goes_from_draft_through_review_to_published(seller, university, officer):
    tech = services.technology_create(
        organisation=university,
        by=seller,
        tags=["clean_energy"],
        transfer_modes=["license"],
        ip_records=[{"kind": "invention", "number": "201710601862.3"}],
        **TECH,
    )
    assert tech.status == ListingStatus.DRAFT
    assert tech.region == "tibet"
    assert [ip.number for ip in tech.ip_records.all()] == ["ZL201710601862.3"]
    assert not selectors.technology_list().filter(pk=tech.pk).exists()

    services.listing_submit(listing=tech, by=seller)
    services.listing_review(listing=tech, by=officer, approve=True)

    tech.refresh_from_db()
    assert tech.status == ListingStatus.PUBLISHED and tech.published_at is not None
    assert selectors.technology_list().filter(pk=tech.pk).exists()
    assert [e.action for e in tech.review_events.order_by("at", "id")] == ["submitted", "approved"]


def test_returning_needs_a_reason_and_keeps_it_for_the_owner(seller, university, officer):
    tech = services.technology_create(
        organisation=university, by=seller, transfer_modes=["license"], submit=True, **TECH
    )
    with pytest.raises(ValidationError):
        services.listing_review(listing=tech, by=officer, approve=False, note=" ")
    services.listing_review(listing=tech, by=officer, approve=False, note="请补充专利号和应用案例")
    tech.refresh_from_db()
    assert tech.status == ListingStatus.RETURNED
    assert tech.review_note == "请补充专利号和应用案例"


def test_an_unverified_organisation_cannot_submit(db):
    org = OrganisationFactory(verification="pending")
    owner = member_of(org)
    tech = services.technology_create(organisation=org, by=owner, transfer_modes=["transfer"], **TECH)
    with pytest.raises(ValidationError, match="认证"):
        services.listing_submit(listing=tech, by=owner)
    tech.refresh_from_db()
    assert tech.status == ListingStatus.DRAFT


def test_only_members_edit_and_only_the_bureau_reviews(seller, buyer, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING)
    with pytest.raises(PermissionDenied):
        services.technology_update(technology=tech, by=buyer, title="篡改")
    with pytest.raises(PermissionDenied):
        services.listing_review(listing=tech, by=seller, approve=True)
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING and tech.title != "篡改"


def test_editing_a_published_technology_sends_it_back_to_review(seller, university):
    tech = TechnologyFactory(organisation=university)
    services.technology_update(technology=tech, by=seller, title="改进版青稞加工技术")
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trl": 2}, "trl"),  # 中试 is TRL 6-7
        ({"price_kind": "fixed", "price_cny": None}, "price_cny"),
        ({"price_kind": "range", "price_cny": Decimal("9"), "price_max_cny": Decimal("5")}, "price_max_cny"),
    ],
)
def test_inconsistent_technology_data_is_refused_and_nothing_is_saved(seller, university, changes, field):
    with pytest.raises(ValidationError) as err:
        services.technology_create(
            organisation=university, by=seller, transfer_modes=["license"], **{**TECH, **changes}
        )
    assert field in err.value.message_dict
    assert not Technology.objects.exists()


def test_a_bad_patent_number_is_refused_with_the_reason(seller, university):
    with pytest.raises(ValidationError, match="校验位"):
        services.technology_create(
            organisation=university,
            by=seller,
            transfer_modes=["license"],
            ip_records=[{"kind": "invention", "number": "ZL201710601862.4"}],
            **TECH,
        )
    assert not Technology.objects.exists()


def test_patent_numbers_normalise_and_give_their_kind():
    assert parse_patent_number("CN 2017 1060 1862.3") == ("ZL201710601862.3", "invention")
    assert parse_patent_number(make_patent_number("201920123456"))[1] == "utility"
    assert parse_patent_number("ZL95115608.X") == ("ZL95115608.X", "invention")


def test_needs_expire_after_their_deadline(buyer, enterprise):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    old = NeedFactory(organisation=enterprise, deadline=yesterday)
    fresh = NeedFactory(organisation=enterprise)
    assert list(selectors.need_list()) == [fresh]  # hidden at once, before the sweep
    assert services.needs_expire() == 1
    old.refresh_from_db()
    assert old.status == ListingStatus.EXPIRED
    assert ReviewEvent.objects.filter(need=old, action="expired").exists()


def test_a_need_with_a_past_deadline_cannot_be_created(buyer, enterprise):
    with pytest.raises(ValidationError):
        services.need_create(
            organisation=enterprise,
            by=buyer,
            title="需求",
            description="描述足够长的一段文字",
            field="agriculture",
            county="dazi",
            deadline=timezone.localdate() - datetime.timedelta(days=3),
        )
    assert not Need.objects.exists()


def test_withdrawn_listings_disappear_from_the_public_list(seller, university):
    tech = TechnologyFactory(organisation=university)
    services.listing_withdraw(listing=tech, by=seller)
    assert not selectors.technology_list().filter(pk=tech.pk).exists()


def test_the_expire_needs_command_sweeps_past_deadlines(enterprise):
    from io import StringIO

    from django.core.management import call_command

    NeedFactory(organisation=enterprise, deadline=timezone.localdate() - datetime.timedelta(days=2))
    out = StringIO()
    call_command("expire_needs", stdout=out)
    assert "1 条" in out.getvalue()
    assert Need.objects.filter(status=ListingStatus.EXPIRED).count() == 1


def test_duplicate_ip_numbers_are_a_validation_error_not_a_crash(seller, university):
    with pytest.raises(ValidationError, match="重复"):
        services.technology_create(
            organisation=university,
            by=seller,
            transfer_modes=["license"],
            ip_records=[
                {"kind": "software", "number": "2023SR0123456"},
                {"kind": "software", "number": "2023SR0123456"},
            ],
            **TECH,
        )
    assert not Technology.objects.exists()


def test_a_returned_technology_can_be_edited_and_resubmitted_in_one_step(seller, university, officer):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.RETURNED)
    services.technology_update(technology=tech, by=seller, summary="补充了应用案例", submit=True)
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING


def test_an_overlong_caption_is_refused_before_any_file_is_written(seller, university, settings):
    import io
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buf, "PNG")
    tech = TechnologyFactory(organisation=university)
    upload = SimpleUploadedFile("a.png", buf.getvalue(), content_type="image/png")
    with pytest.raises(ValidationError):
        services.technology_add_image(technology=tech, upload=upload, by=seller, caption="长" * 200)
    assert not tech.images.exists()
    media = settings.MEDIA_ROOT
    assert not os.path.exists(media) or not any(files for _, _, files in os.walk(media))
