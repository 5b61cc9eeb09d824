"""Messaging pages: contact button → conversation, chat page (with a no-JavaScript fallback), attachments,
notifications, the header badge. Bad input gives a form error, never a 500; outsiders get 404."""

import pytest
from django.urls import reverse

from marketplace.accounts.models import Membership
from marketplace.messaging import services
from marketplace.messaging.models import Conversation, Message, Notification
from tests.factories import OrganisationFactory, TechnologyFactory

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def test_the_contact_button_starts_a_conversation_and_opens_it(client, technology, buyer):
    client.force_login(buyer)
    detail = client.get(reverse("listings:technology_detail", args=[technology.pk])).content.decode()
    assert f'name="technology" value="{technology.pk}"' in detail

    response = client.post(reverse("messaging:start"), {"technology": technology.pk})

    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{conversation.pk}/"
    again = client.post(reverse("messaging:start"), {"technology": technology.pk})
    assert again["Location"] == response["Location"] and Conversation.objects.count() == 1


def test_the_contact_button_on_a_need_starts_a_conversation_for_the_seller(client, need, seller, university):
    client.force_login(seller)
    assert 'name="need"' in client.get(reverse("listings:need_detail", args=[need.pk])).content.decode()

    client.post(reverse("messaging:start"), {"need": need.pk})

    assert Conversation.objects.get().seller == university


def test_members_of_several_organisations_pick_one_first(client, technology, buyer):
    second = OrganisationFactory(name="第二家企业", kind="enterprise")
    Membership.objects.create(user=buyer, organisation=second)
    client.force_login(buyer)

    picker = client.post(reverse("messaging:start"), {"technology": technology.pk})
    assert picker.status_code == 400 and "第二家企业" in picker.content.decode()
    assert "请选择以哪个机构的身份" in picker.content.decode()
    assert not Conversation.objects.exists()

    client.post(reverse("messaging:start"), {"technology": technology.pk, "organisation": second.pk})
    assert Conversation.objects.get().buyer == second


def test_a_user_without_an_organisation_is_told_to_join_one(client, technology, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.post(reverse("messaging:start"), {"technology": technology.pk})

    assert response.status_code == 400 and "请先" in response.content.decode()
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("data", [{}, {"technology": "abc"}, {"technology": 999999}, {"need": -3}])
def test_bad_start_requests_are_answered_not_crashed(client, buyer, data):
    client.force_login(buyer)
    response = client.post(reverse("messaging:start"), data)
    assert response.status_code in (400, 404)


def test_no_contact_button_on_unpublished_or_own_listings(client, seller, buyer, university):
    draft = TechnologyFactory(organisation=university, status="draft", published_at=None)
    own = TechnologyFactory(organisation=university)
    client.force_login(seller)
    assert "messaging:start" not in client.get(reverse("listings:technology_detail", args=[own.pk])).content.decode()
    assert (
        'action="/messages/start/"'
        not in client.get(reverse("listings:technology_detail", args=[own.pk])).content.decode()
    )
    assert (
        'action="/messages/start/"'
        not in client.get(reverse("listings:technology_detail", args=[draft.pk])).content.decode()
    )


def test_the_conversation_page_shows_history_escaped_and_marks_it_read(client, conversation, buyer, seller, send):
    send(conversation, buyer, '<script>alert("x")</script> 价格面议')
    client.force_login(seller)

    html = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()

    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 价格面议" in html
    assert '<script>alert("x")</script>' not in html
    assert "messaging/chat.js" in html and 'id="chat-config"' in html
    assert services.selectors.unread_counts(user=seller)["messages"] == 0


def test_outsiders_and_visitors_cannot_see_a_conversation(client, conversation, outsider):
    url = reverse("messaging:conversation", args=[conversation.pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "hi", "client_msg_id": "o-1"}).status_code == 404
    assert not Message.objects.exists()


def test_posting_the_form_sends_without_javascript_and_a_double_submit_is_harmless(client, conversation, buyer):
    client.force_login(buyer)
    url = reverse("messaging:conversation", args=[conversation.pk])
    data = {"text": "无脚本也能发送", "client_msg_id": "form-abc"}

    first = client.post(url, data)
    second = client.post(url, data)

    assert first.status_code == second.status_code == 302
    assert list(Message.objects.values_list("text", flat=True)) == ["无脚本也能发送"]


@pytest.mark.parametrize(
    ("text", "fragment"), [("长" * 4001, "最多 4000 字"), ("", "消息内容不能为空"), ("   ", "消息内容不能为空")]
)
def test_a_bad_message_is_a_form_error(client, conversation, buyer, text, fragment):
    client.force_login(buyer)
    response = client.post(
        reverse("messaging:conversation", args=[conversation.pk]), {"text": text, "client_msg_id": "f-1"}
    )

    assert response.status_code == 400 and fragment in response.content.decode()
    assert not Message.objects.exists()


def test_attachments_are_uploaded_and_served_to_participants_only(client, conversation, buyer, seller, outsider):
    client.force_login(seller)
    url = reverse("messaging:attach", args=[conversation.pk])
    assert client.post(url, {"file": png_upload(), "client_msg_id": "a-1"}).status_code == 302
    assert client.post(url, {"file": pdf_upload(), "client_msg_id": "a-2", "text": "报价"}).status_code == 302
    image, pdf = Message.objects.order_by("id")

    client.force_login(buyer)
    served = client.get(reverse("messaging:attachment", args=[pdf.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content).startswith(b"%PDF-")
    thumb = client.get(reverse("messaging:attachment_thumb", args=[image.pk]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert client.get(reverse("messaging:attachment_thumb", args=[pdf.pk])).status_code == 404
    page = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()
    assert "方案.pdf" in page and reverse("messaging:attachment_thumb", args=[image.pk]) in page

    client.force_login(outsider)
    assert client.get(reverse("messaging:attachment", args=[pdf.pk])).status_code == 404


def test_a_bad_attachment_is_a_form_error(client, conversation, buyer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(buyer)
    response = client.post(
        reverse("messaging:attach", args=[conversation.pk]),
        {"file": SimpleUploadedFile("病毒.exe", b"MZ\x90\x00"), "client_msg_id": "a-9"},
    )

    assert response.status_code == 400 and "无法识别的文件" in response.content.decode()
    assert not Message.objects.exists()


def test_inviting_an_agency_from_the_page(client, conversation, buyer, agency):
    client.force_login(buyer)
    page = client.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()
    assert "拉萨知识产权服务中心" in page

    response = client.post(reverse("messaging:invite", args=[conversation.pk]), {"organisation": agency.pk})
    assert response.status_code == 302
    assert conversation.participants.filter(organisation=agency, role="agency").exists()
    bad = client.post(reverse("messaging:invite", args=[conversation.pk]), {"organisation": agency.pk})
    assert bad.status_code == 400


def test_the_conversation_list_and_the_header_badge_show_unread_counts(client, conversation, buyer, seller, send):
    send(conversation, buyer, "一")
    send(conversation, buyer, "二")
    services.notify(users=[seller], kind="new_match", title="新的匹配")
    client.force_login(seller)

    html = client.get(reverse("messaging:list")).content.decode()

    assert "科技成果:高原光伏组件防积雪涂层" in html and f'data-unread-for="{conversation.pk}"' in html
    assert 'data-badge="messages" aria-label="未读消息">2<' in html
    assert 'data-badge="notifications" aria-label="未读通知">2<' in html  # new message + new match
    assert "messaging/live.js" in client.get(reverse("home")).content.decode()


def test_visitors_see_no_badge_and_no_live_script(client, db):
    html = client.get(reverse("home")).content.decode()
    assert "live.js" not in html and "data-badge" not in html


def test_notifications_page_lists_opens_and_marks_all_read(client, buyer):
    first = services.notify(users=[buyer], kind="new_match", title="新的匹配:牦牛肉冷链", url="/needs/1/")[0]
    services.notify(users=[buyer], kind="contract_status", title="合同已登记", url="https://evil.example/")
    client.force_login(buyer)

    html = client.get(reverse("messaging:notifications")).content.decode()
    assert "新的匹配:牦牛肉冷链" in html and "合同已登记" in html

    opened = client.post(reverse("messaging:notification_open", args=[first.pk]))
    assert opened["Location"] == "/needs/1/"
    evil = Notification.objects.get(title="合同已登记")
    assert client.post(reverse("messaging:notification_open", args=[evil.pk]))["Location"] == "/messages/notifications/"
    services.notify(users=[buyer], kind="review_result", title="x")
    client.post(reverse("messaging:notifications"))
    assert not Notification.objects.filter(user=buyer, read_at__isnull=True).exists()


def test_others_notifications_cannot_be_opened(client, buyer, seller):
    theirs = services.notify(users=[seller], kind="new_match", title="别人的")[0]
    client.force_login(buyer)
    assert client.post(reverse("messaging:notification_open", args=[theirs.pk])).status_code == 404
