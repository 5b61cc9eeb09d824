"""Messaging services: starting conversations, sending (idempotent, limited), receipts, notifications, e-mail."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from listings import services as listing_services
from listings.models import ListingStatus
from marketplace.accounts import services as account_services
from marketplace.messaging import selectors, services
from marketplace.messaging.models import Conversation, Message, Notification, Participant, Presence, ReadState
from tests.factories import OrganisationFactory, TechnologyFactory, member_of

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- starting


def test_a_buyer_starts_a_conversation_about_a_technology_and_reopening_finds_it(technology, buyer, enterprise):
    conversation, created = services.conversation_start(by=buyer, technology=technology)

    assert created
    assert conversation.buyer == enterprise and conversation.seller == technology.organisation
    assert conversation.title == "科技成果:高原光伏组件防积雪涂层"
    roles = {p.organisation_id: p.role for p in conversation.participants.all()}
    assert roles == {enterprise.pk: Participant.Role.BUYER, technology.organisation_id: Participant.Role.SELLER}

    again, created_again = services.conversation_start(by=buyer, technology=technology)
    assert (again.pk, created_again) == (conversation.pk, False)
    assert Conversation.objects.count() == 1


def test_a_seller_answers_a_need_and_the_needs_owner_is_the_buyer(need, seller, university, enterprise):
    conversation, _ = services.conversation_start(by=seller, need=need)

    assert conversation.buyer == enterprise and conversation.seller == university


def test_a_match_conversation_joins_the_need_owner_and_the_technology_owner(technology, need, seller, buyer):
    conversation, created = services.conversation_start(by=seller, technology=technology, need=need)

    assert created and conversation.buyer == need.organisation and conversation.seller == technology.organisation
    assert conversation.title.startswith("匹配洽谈")
    with pytest.raises(PermissionDenied):
        services.conversation_start(by=member_of(OrganisationFactory()), technology=technology, need=need)


def test_nobody_talks_to_their_own_organisation(technology, seller):
    with pytest.raises(ValidationError, match="请先加入或创建"):
        services.conversation_start(by=seller, technology=technology)


def test_a_member_of_several_organisations_must_choose(technology, buyer, enterprise):
    second = OrganisationFactory(name="第二家企业", kind="enterprise")
    member_of(second, username="ignored")
    from marketplace.accounts.models import Membership

    Membership.objects.create(user=buyer, organisation=second)

    with pytest.raises(ValidationError) as exc:
        services.conversation_start(by=buyer, technology=technology)
    assert exc.value.code == "choose_organisation"

    conversation, _ = services.conversation_start(by=buyer, technology=technology, organisation=second)
    assert conversation.buyer == second
    with pytest.raises(PermissionDenied):
        services.conversation_start(by=buyer, technology=technology, organisation=OrganisationFactory())


def test_an_unpublished_listing_cannot_be_discussed(university, buyer):
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, published_at=None)
    with pytest.raises(ValidationError, match="尚未公开发布"):
        services.conversation_start(by=buyer, technology=draft)
    assert not Conversation.objects.exists()


# ---------------------------------------------------------------- sending


def test_messages_are_stored_in_order_with_seq_and_sender_organisation(conversation, buyer, seller, send, enterprise):
    first = send(conversation, buyer, "请问价格可以商量吗?")
    second = send(conversation, seller, "可以面谈。")

    assert (first.seq, second.seq) == (1, 2) and first.id < second.id
    assert first.sender_organisation == enterprise
    conversation.refresh_from_db()
    assert conversation.last_seq == 2 and conversation.last_message_id == second.id


def test_a_resend_with_the_same_client_id_is_the_same_message(conversation, buyer):
    first = services.message_send(conversation=conversation, by=buyer, client_msg_id="c-1", text="你好")
    again = services.message_send(conversation=conversation, by=buyer, client_msg_id="c-1", text="你好")

    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


def test_a_client_id_reused_in_another_conversation_is_refused(conversation, buyer, university):
    other_tech = TechnologyFactory(organisation=university)
    other, _ = services.conversation_start(by=buyer, technology=other_tech)
    services.message_send(conversation=conversation, by=buyer, client_msg_id="c-1", text="你好")

    with pytest.raises(ValidationError, match="另一个洽谈"):
        services.message_send(conversation=other, by=buyer, client_msg_id="c-1", text="你好")


@pytest.mark.parametrize(
    ("text", "client_msg_id", "code"),
    [
        ("字" * 4001, "ok-1", "too_long"),
        ("   \n ", "ok-2", "empty"),
        ("好", "", "invalid"),
        ("好", "有空格 的id", "invalid"),
        ("好", "x" * 65, "invalid"),
    ],
)
def test_bad_messages_are_refused_with_a_code_and_nothing_is_stored(conversation, buyer, text, client_msg_id, code):
    with pytest.raises(ValidationError) as exc:
        services.message_send(conversation=conversation, by=buyer, client_msg_id=client_msg_id, text=text)

    assert exc.value.code == code
    assert not Message.objects.exists()


def test_exactly_4000_characters_is_fine(conversation, buyer, send):
    assert len(send(conversation, buyer, "字" * 4000).text) == 4000


def test_only_participants_may_send(conversation, outsider):
    with pytest.raises(PermissionDenied):
        services.message_send(conversation=conversation, by=outsider, client_msg_id="x-1", text="我也来聊聊")
    assert not Message.objects.exists()


def test_the_rate_limit_stops_the_21st_message_in_the_window(conversation, buyer, send, settings):
    settings.MESSAGING_RATE_WINDOW = 3600  # one window for the whole test
    for n in range(20):
        send(conversation, buyer, f"第{n}条")

    with pytest.raises(services.RateLimited) as exc:
        send(conversation, buyer, "第21条")

    assert exc.value.code == "rate_limited" and exc.value.retry_after >= 1
    assert "每 3600 秒最多 20 条" in exc.value.messages[0]
    assert Message.objects.count() == 20
    # A resend of a stored message is not a new message and is not limited.
    stored = Message.objects.first()
    assert not services.message_send(
        conversation=conversation, by=buyer, client_msg_id=stored.client_msg_id, text=stored.text
    ).created


def test_a_rate_limited_attachment_leaves_no_file(conversation, buyer, send, settings, tmp_path):
    settings.MESSAGING_RATE_LIMIT = 1
    settings.MESSAGING_RATE_WINDOW = 3600
    send(conversation, buyer, "第一条")

    with pytest.raises(services.RateLimited):
        send(conversation, buyer, "", upload=png_upload())

    assert Message.objects.count() == 1
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_an_image_attachment_is_validated_like_listing_images(conversation, buyer, send):
    message = send(conversation, buyer, "", upload=png_upload())

    assert message.attachment_kind == "image" and message.width == 64 and message.height == 48
    assert message.attachment.name.endswith(".png") and message.attachment_thumb.name.endswith(".webp")


def test_a_pdf_attachment_is_stored_with_its_name(conversation, seller, send):
    message = send(conversation, seller, "技术方案见附件", upload=pdf_upload())

    assert message.attachment_kind == "pdf" and message.attachment_name == "方案.pdf"
    assert message.attachment.read().startswith(b"%PDF-")


def test_a_bad_attachment_is_refused_and_leaves_nothing(conversation, buyer, send, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(ValidationError, match="无法识别"):
        send(conversation, buyer, "", upload=SimpleUploadedFile("x.png", b"not an image at all"))
    with pytest.raises(ValidationError, match="PDF 文件不完整"):
        send(conversation, buyer, "", upload=SimpleUploadedFile("x.pdf", b"%PDF-1.4 truncated"))

    assert not Message.objects.exists()
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


# ---------------------------------------------------------------- reading


def test_read_receipts_and_unread_counts(conversation, buyer, seller, send):
    m1 = send(conversation, buyer, "一")
    m2 = send(conversation, buyer, "二")
    assert selectors.unread_counts(user=seller)["conversations"] == {str(conversation.pk): 2}
    assert selectors.unread_counts(user=buyer)["messages"] == 0  # one's own messages are never unread

    services.conversation_mark_read(conversation=conversation, by=seller, last_read_id=m1.pk)
    assert selectors.unread_counts(user=seller)["messages"] == 1

    services.conversation_mark_read(conversation=conversation, by=seller)
    state = ReadState.objects.get(conversation=conversation, user=seller)
    assert state.last_read_id == m2.pk
    assert selectors.unread_counts(user=seller)["messages"] == 0

    # Never backwards, never beyond the last message.
    services.conversation_mark_read(conversation=conversation, by=seller, last_read_id=m1.pk)
    services.conversation_mark_read(conversation=conversation, by=seller, last_read_id=m2.pk + 1000)
    state.refresh_from_db()
    assert state.last_read_id == m2.pk


def test_reading_everything_clears_the_new_message_notification(conversation, buyer, seller, send):
    send(conversation, buyer, "一")
    send(conversation, buyer, "二")
    notes = Notification.objects.filter(user=seller, kind="new_message")
    assert notes.count() == 1  # one per conversation until read, not one per message
    assert notes.get().body == "一"

    services.conversation_mark_read(conversation=conversation, by=seller)

    assert notes.get().read_at is not None
    send(conversation, buyer, "三")
    assert notes.filter(read_at__isnull=True).count() == 1


def test_outsiders_cannot_mark_read(conversation, outsider):
    with pytest.raises(PermissionDenied):
        services.conversation_mark_read(conversation=conversation, by=outsider)


# ---------------------------------------------------------------- agencies


def test_a_participant_invites_a_verified_agency_whose_members_then_take_part(conversation, buyer, agency, agent, send):
    services.conversation_invite(conversation=conversation, organisation=agency, by=buyer)

    assert selectors.is_participant(conversation_id=conversation.pk, user=agent)
    assert Notification.objects.filter(user=agent, title__contains="邀请").exists()
    assert send(conversation, agent, "我们可以协助评估专利价值").sender_organisation == agency
    with pytest.raises(ValidationError, match="已在洽谈中"):
        services.conversation_invite(conversation=conversation, organisation=agency, by=buyer)


def test_only_verified_agencies_can_be_invited_by_participants(conversation, buyer, outsider, agency):
    with pytest.raises(ValidationError, match="只能邀请服务机构"):
        services.conversation_invite(conversation=conversation, organisation=OrganisationFactory(), by=buyer)
    pending = OrganisationFactory(kind="agency", verification="pending")
    with pytest.raises(ValidationError, match="已认证"):
        services.conversation_invite(conversation=conversation, organisation=pending, by=buyer)
    with pytest.raises(PermissionDenied):
        services.conversation_invite(conversation=conversation, organisation=agency, by=outsider)


# ---------------------------------------------------------------- notifications


def test_notify_reaches_users_or_every_member_of_an_organisation(university, seller, buyer):
    colleague = member_of(university, username="colleague", role="member")

    made = services.notify(organisation=university, kind="new_match", title="新的匹配", url="/needs/1/")
    services.notify(users=[buyer], kind="contract_status", title="合同已登记")

    assert {n.user for n in made} == {seller, colleague}
    assert Notification.objects.get(user=buyer).kind == "contract_status"
    with pytest.raises(ValueError):
        services.notify(users=[buyer], kind="gossip", title="?")


def test_marking_notifications_read_touches_only_ones_own(buyer, seller):
    mine = services.notify(users=[buyer], kind="new_match", title="a")[0]
    theirs = services.notify(users=[seller], kind="new_match", title="b")[0]

    assert services.notifications_mark_read(user=buyer, ids=[mine.pk, theirs.pk]) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert services.notifications_mark_read(user=buyer) == 0


def test_the_review_of_a_listing_notifies_its_organisation(university, seller, officer):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)

    listing_services.listing_review(listing=tech, by=officer, approve=False, note="请补充专利号")

    note = Notification.objects.get(user=seller)
    assert note.kind == "review_result" and "退回" in note.title and note.body == "请补充专利号"
    assert note.url == f"/technologies/{tech.pk}/"


def test_the_verification_of_an_organisation_notifies_its_members(officer):
    org = OrganisationFactory(verification="pending", verified_at=None)
    owner = member_of(org)

    account_services.organisation_verify(organisation=org, by=officer, approve=True)

    note = Notification.objects.get(user=owner)
    assert note.kind == "review_result" and "已通过" in note.title


def test_a_refused_review_sends_no_notification(university, seller, officer):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING, published_at=None)
    with pytest.raises(ValidationError):
        listing_services.listing_review(listing=tech, by=officer, approve=False, note="")
    assert not Notification.objects.exists()


# ---------------------------------------------------------------- offline e-mail


def test_offline_users_get_one_email_listing_their_unread_notifications_once(buyer, seller, settings):
    settings.MESSAGING_OFFLINE_EMAIL_AFTER = 15 * 60
    now = timezone.now()
    Presence.objects.create(user=buyer, last_seen=now - datetime.timedelta(minutes=20))
    Presence.objects.create(user=seller, last_seen=now - datetime.timedelta(minutes=2))
    services.notify(users=[buyer, seller], kind="new_match", title="新的匹配:牦牛肉冷链", url="/needs/3/")
    services.notify(users=[buyer], kind="contract_status", title="合同已登记")

    assert services.send_offline_notifications(now=now) == 1
    assert services.send_offline_notifications(now=now) == 0  # idempotent

    (email,) = mail.outbox
    assert email.to == [buyer.email]
    assert "2 条未读通知" in email.subject
    assert "新的匹配:牦牛肉冷链" in email.body and "http://127.0.0.1:8000/needs/3/" in email.body
    # The seller was online; once offline long enough, the same run sends theirs.
    later = now + datetime.timedelta(minutes=20)
    assert services.send_offline_notifications(now=later) == 1
    assert mail.outbox[-1].to == [seller.email]


def test_read_notifications_and_users_without_email_are_not_mailed(buyer, seller):
    seller.email = ""
    seller.save()
    made = services.notify(users=[buyer, seller], kind="new_match", title="x")
    services.notifications_mark_read(user=buyer, ids=[made[0].pk])

    assert services.send_offline_notifications() == 0
    assert mail.outbox == []


def test_a_failing_mail_server_leaves_the_notifications_for_the_next_run(buyer, settings):
    services.notify(users=[buyer], kind="new_match", title="x")
    settings.EMAIL_BACKEND = "tests.messaging.test_services.BrokenBackend"

    with pytest.raises(ConnectionError):
        services.send_offline_notifications()

    assert Notification.objects.get().emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.send_offline_notifications() == 1


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("smtp down")


def test_the_command_reports_what_it_sent(buyer, capsys):
    services.notify(users=[buyer], kind="review_result", title="成果已通过审核")

    call_command("send_offline_notifications")
    call_command("send_offline_notifications")

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "sent 1 e-mail(s) to users offline for more than 15 min",
        "sent 0 e-mail(s) to users offline for more than 15 min",
    ]
    assert len(mail.outbox) == 1


def test_presence_is_recorded_and_updated(buyer):
    services.presence_touch(user=buyer)
    first = Presence.objects.get(user=buyer).last_seen
    services.presence_touch(user=buyer, at=first + datetime.timedelta(minutes=1))
    assert Presence.objects.get(user=buyer).last_seen == first + datetime.timedelta(minutes=1)


def test_a_conversation_goes_on_after_its_listing_is_withdrawn(conversation, technology, buyer, send):
    send(conversation, buyer, "还在吗")
    technology.status = ListingStatus.WITHDRAWN
    technology.save()

    assert send(conversation, buyer, "成果撤回后仍可继续沟通").seq == 2
