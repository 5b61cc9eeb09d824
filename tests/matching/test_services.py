"""Stored matches: refreshed by tasks after commit when either side changes; what buyers and sellers do with them."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from listings import services as listing_services
from listings.models import ListingStatus
from marketplace.messaging.models import Conversation, Notification
from marketplace.messaging.services import send_offline_notifications
from matching import ranking, selectors, services
from matching.models import Match
from tests.factories import NeedFactory, TechnologyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _publish(listing, officer, capture):
    """Approve a listing submitted earlier (its own, committed transaction); tasks run after commit."""
    type(listing).objects.filter(pk=listing.pk).update(status=ListingStatus.PENDING)
    listing.refresh_from_db()
    with capture(execute=True):
        listing_services.listing_review(listing=listing, by=officer, approve=True)


@pytest.fixture
def published_need(market, matching_index, officer, django_capture_on_commit_callbacks):
    matching_index.refresh()
    _publish(market["need"], officer, django_capture_on_commit_callbacks)
    return market["need"]


def test_publishing_a_need_stores_its_ranking(published_need, market):
    matches = {m.technology_id: m for m in Match.objects.filter(need=published_need)}
    fits = matches[market["fits"].pk]
    assert fits.is_current and fits.status == Match.Status.NEW and fits.broken == []
    assert fits.score >= 60 and fits.rank == 1
    assert {"code": "aid", "region": "beijing"} in fits.reasons
    dear = matches[market["too_dear"].pk]
    assert dear.broken[0]["code"] == "price"
    assert market["unrelated"].pk not in matches


def test_new_strong_matches_are_announced_to_both_organisations(published_need, market, buyer, seller_b, seller):
    buyer_notes = Notification.objects.filter(user=buyer, kind="new_match")
    seller_notes = Notification.objects.filter(user=seller_b, kind="new_match")
    assert buyer_notes.count() == 1 and seller_notes.count() == 1
    assert market["fits"].title in buyer_notes.get().title
    assert published_need.title in seller_notes.get().title
    assert "/matching/needs/" in buyer_notes.get().url and "/leads/" in seller_notes.get().url
    # the constraint-breaker is stored but not announced
    assert not Notification.objects.filter(user=seller, kind="new_match").exists()
    assert Match.objects.get(technology=market["fits"]).notified_at is not None


def test_announcements_reach_offline_users_by_email(published_need, buyer):
    # nobody has been seen online: the offline sweep e-mails the notification (console backend by default)
    send_offline_notifications()
    assert any(buyer.email in m.to and "新的匹配成果" in m.body for m in mail.outbox)


def test_a_refresh_keeps_what_the_buyer_did_and_does_not_announce_twice(published_need, market, buyer):
    services.match_dismiss(need=published_need, technology=market["too_dear"], by=buyer, reason="price")
    before = Notification.objects.count()
    services.need_matches_refresh(need_id=published_need.pk)
    assert Match.objects.get(technology=market["too_dear"]).status == Match.Status.DISMISSED
    assert Notification.objects.count() == before


def test_publishing_a_technology_finds_the_needs_it_fits(
    published_need, market, beijing_institute, officer, seller_b, django_capture_on_commit_callbacks
):
    # given a new technology for the same problem, pending review
    newcomer = TechnologyFactory(
        organisation=beijing_institute,
        status=ListingStatus.DRAFT,
        title="冷鲜牦牛肉运输保鲜与冷藏车温度监控平台",
        summary="冷藏车温度实时监控,牦牛肉运输变质率降到1%。",
        description="面向牦牛肉冷链运输的温度监控与保鲜方案。",
        keywords="牦牛肉、冷链、温度监控、保鲜",
        transfer_modes=["license"],
    )
    # when the bureau publishes it (the search index and the matches follow after commit)
    _publish(newcomer, officer, django_capture_on_commit_callbacks)
    # then the need has a match with it, and both sides heard about it
    match = Match.objects.get(need=published_need, technology=newcomer)
    assert match.is_current
    assert Notification.objects.filter(kind="new_match", title__contains=newcomer.title).exists()  # to the buyer
    assert Notification.objects.filter(user=seller_b, kind="new_match", body__contains=newcomer.title).exists()


def test_a_withdrawn_technology_leaves_the_leads_at_once_and_is_retired_after_commit(
    published_need, market, seller_b, django_capture_on_commit_callbacks
):
    fits = market["fits"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        listing_services.listing_withdraw(listing=fits, by=seller_b)
        # before any task: the pages no longer show it
        assert selectors.technology_leads(technology=fits) == []
        assert Match.objects.visible().filter(technology=fits).count() == 0
    assert Match.objects.get(technology=fits).is_current  # the stored row waits for the task
    for callback in callbacks:
        callback()
    assert not Match.objects.get(technology=fits).is_current


def test_editing_a_published_need_retires_its_matches_until_it_is_approved_again(
    published_need, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.need_update(
            need=published_need, by=buyer, description=published_need.description + "最好能试用。"
        )
    assert not Match.objects.filter(need=published_need, is_current=True).exists()


def test_a_dismissal_needs_a_reason_from_the_list(published_need, market, buyer):
    with pytest.raises(ValidationError) as error:
        services.match_dismiss(need=published_need, technology=market["fits"], by=buyer, reason="boring")
    assert "太早期" in str(error.value) and "价格不合适" in str(error.value)
    with pytest.raises(ValidationError):
        services.match_dismiss(need=published_need, technology=market["fits"], by=buyer, reason="other", note="  ")
    with pytest.raises(ValidationError):
        services.match_dismiss(
            need=published_need, technology=market["fits"], by=buyer, reason="price", note="长" * 301
        )
    # nothing was saved by the refusals
    assert Match.objects.get(technology=market["fits"]).status == Match.Status.NEW


def test_only_the_buyer_dismisses(published_need, market, seller_b):
    with pytest.raises(PermissionDenied):
        services.match_dismiss(need=published_need, technology=market["fits"], by=seller_b, reason="price")


def test_sellers_see_why_buyers_passed(published_need, market, buyer):
    services.match_dismiss(need=published_need, technology=market["too_dear"], by=buyer, reason="price", note="太贵")
    summary = selectors.dismissal_summary(technology=market["too_dear"])
    assert summary.total == 1
    assert summary.reasons == [("price", "价格不合适", 1)]
    assert selectors.technology_leads(technology=market["too_dear"]) == []


def test_a_dismissal_can_be_undone(published_need, market, buyer):
    services.match_dismiss(need=published_need, technology=market["fits"], by=buyer, reason="too_early")
    match = services.match_restore(need=published_need, technology=market["fits"], by=buyer)
    assert match.status == Match.Status.VIEWED and match.dismiss_reason == ""


def test_dismissing_a_technology_that_is_no_match_is_refused(published_need, market, buyer):
    with pytest.raises(ValidationError, match="不在这条需求的匹配结果中"):
        services.match_dismiss(need=published_need, technology=market["unrelated"], by=buyer, reason="direction")
    assert not Match.objects.filter(technology=market["unrelated"]).exists()


def test_contacting_starts_the_conversation_and_marks_the_match(published_need, market, buyer, seller_b):
    match, conversation = services.match_contact(need=published_need, technology=market["fits"], by=buyer)
    assert match.status == Match.Status.CONTACTED and match.contacted_at is not None
    assert isinstance(conversation, Conversation)
    assert conversation.need_id == published_need.pk and conversation.technology_id == market["fits"].pk
    assert match.conversation_id == conversation.pk
    # the seller side may contact too, and gets the same conversation
    _again, same = services.match_contact(need=published_need, technology=market["fits"], by=seller_b)
    assert same.pk == conversation.pk


def test_outsiders_cannot_contact_on_a_match(published_need, market):
    stranger = UserFactory(username="stranger")
    with pytest.raises(PermissionDenied):
        services.match_contact(need=published_need, technology=market["fits"], by=stranger)


def test_opening_the_match_page_marks_matches_viewed(published_need, buyer, seller_b):
    assert services.matches_mark_viewed(need=published_need, by=seller_b) == 0
    assert services.matches_mark_viewed(need=published_need, by=buyer) >= 1
    assert not Match.objects.filter(need=published_need, status=Match.Status.NEW).exists()


def test_one_refresh_is_queued_per_block_however_many_saves(market, django_capture_on_commit_callbacks):
    need = market["need"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        for _ in range(3):
            need.save()
    keys = [getattr(cb, "matching_key", None) for cb in callbacks]
    assert keys.count(("refresh_need_matches", need.pk)) == 1


def test_a_need_that_is_not_public_gets_no_stored_matches(
    enterprise, buyer, market, matching_index, django_capture_on_commit_callbacks
):
    matching_index.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        need = listing_services.need_create(
            organisation=enterprise,
            by=buyer,
            title="牦牛肉运到内地老是变质,想要冷链保鲜",
            description="冷鲜牦牛肉发往成都,路上温度控制不好。",
            field="agriculture",
            county="dazi",
            deadline=published_deadline(),
        )
    assert need.status == ListingStatus.DRAFT
    assert not Match.objects.filter(need=need).exists()


def published_deadline():
    return timezone.localdate() + datetime.timedelta(days=60)


def test_leads_are_ordered_in_the_same_tiers_as_a_needs_ranking(market):
    # given one technology stored against four needs: good / weak, breaking a constraint or not
    tech = market["fits"]
    good, good_broken, weak, weak_broken = (NeedFactory(title=f"需求{i}") for i in range(4))
    price = [{"code": "price", "price": "600000", "price_max": None, "budget": "300000"}]
    for need, score, broken in (
        (weak, ranking.GOOD_SCORE - 5, []),
        (good_broken, 90.0, price),
        (weak_broken, ranking.GOOD_SCORE - 1, price),
        (good, ranking.GOOD_SCORE + 1, []),
    ):
        Match.objects.create(need=need, technology=tech, score=score, rank=1, broken=broken)
    # then the seller sees them ranked as the buyers' pages rank: a good match over budget before weak ones
    leads = [m.need_id for m in selectors.technology_leads(technology=tech)]
    assert leads == [good.pk, good_broken.pk, weak.pk, weak_broken.pk]
