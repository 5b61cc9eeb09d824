"""The messaging API under /api/messaging/: same rules as pages and socket; bad input gives 4xx with a message."""

import pytest
from rest_framework.test import APIClient

from marketplace.messaging import services
from marketplace.messaging.models import Conversation, Message

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db

BASE = "/api/messaging"


@pytest.fixture
def api():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


def test_anonymous_users_get_nothing(api, conversation):
    for path in (f"{BASE}/conversations/", f"{BASE}/notifications/", f"{BASE}/unread/"):
        assert api().get(path).status_code in (401, 403)


def test_participants_list_their_conversations_with_unread_counts(api, conversation, buyer, seller, send):
    send(conversation, buyer, "您好,想了解这项成果")

    body = api(seller).get(f"{BASE}/conversations/").json()

    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == conversation.pk and row["unread"] == 1 and row["last_text"] == "您好,想了解这项成果"
    assert row["technology"]["name"] == "高原光伏组件防积雪涂层" and row["need"] is None
    assert {p["role"] for p in row["participants"]} == {"buyer", "seller"}
    assert api(buyer).get(f"{BASE}/conversations/").json()["results"][0]["unread"] == 0


def test_others_get_404_for_everything_about_a_conversation(api, conversation, outsider):
    client = api(outsider)
    assert client.get(f"{BASE}/conversations/").json()["count"] == 0
    for method, path in [
        ("get", f"{BASE}/conversations/{conversation.pk}/"),
        ("get", f"{BASE}/conversations/{conversation.pk}/messages/"),
        ("post", f"{BASE}/conversations/{conversation.pk}/messages/"),
        ("post", f"{BASE}/conversations/{conversation.pk}/read/"),
        ("post", f"{BASE}/conversations/{conversation.pk}/invite/"),
        ("get", f"{BASE}/conversations/999999/"),
    ]:
        response = getattr(client, method)(path, {"client_msg_id": "x", "text": "hi"}, format="json")
        assert response.status_code == 404, (method, path)
    assert not Message.objects.exists()


def test_history_pages_by_id_forwards_and_backwards(api, conversation, buyer, seller, send):
    ids = [send(conversation, buyer if n % 2 else seller, f"第{n}条").pk for n in range(7)]
    client = api(buyer)
    url = f"{BASE}/conversations/{conversation.pk}/messages/"

    latest = client.get(url, {"limit": 3}).json()
    assert [m["id"] for m in latest["results"]] == ids[-3:] and latest["more"] is True
    earlier = client.get(url, {"limit": 3, "before": ids[-3]}).json()
    assert [m["id"] for m in earlier["results"]] == ids[1:4]
    after = client.get(url, {"after": ids[2]}).json()
    assert [m["id"] for m in after["results"]] == ids[3:] and after["more"] is False
    assert after["results"][0]["seq"] == 4 and after["results"][0]["sender"]["id"] in (buyer.pk, seller.pk)


@pytest.mark.parametrize(
    "params", [{"after": "abc"}, {"limit": 0}, {"limit": 1000}, {"before": -1}, {"after": 1, "before": 5}]
)
def test_bad_history_parameters_are_a_400_naming_them(api, conversation, buyer, params):
    response = api(buyer).get(f"{BASE}/conversations/{conversation.pk}/messages/", params)
    assert response.status_code == 400
    assert response.json()


def test_send_is_idempotent_by_client_id(api, conversation, buyer):
    url = f"{BASE}/conversations/{conversation.pk}/messages/"
    first = api(buyer).post(url, {"client_msg_id": "api-1", "text": "<script>alert(1)</script>"}, format="json")
    again = api(buyer).post(url, {"client_msg_id": "api-1", "text": "<script>alert(1)</script>"}, format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["text"] == "<script>alert(1)</script>"  # stored raw, escaped where shown
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"client_msg_id": "a", "text": "长" * 4001}, "4000"),
        ({"client_msg_id": "b", "text": "  "}, "不能为空"),
        ({"text": "缺编号"}, "client_msg_id"),
        ({"client_msg_id": "空 格", "text": "x"}, "client_msg_id"),
    ],
)
def test_bad_sends_are_a_400_with_a_reason(api, conversation, buyer, payload, fragment):
    response = api(buyer).post(f"{BASE}/conversations/{conversation.pk}/messages/", payload, format="json")

    assert response.status_code == 400
    assert fragment in str(response.json())
    assert not Message.objects.exists()


def test_the_rate_limit_is_a_429_with_retry_after(api, conversation, buyer, settings):
    settings.MESSAGING_RATE_LIMIT = 2
    settings.MESSAGING_RATE_WINDOW = 3600
    url = f"{BASE}/conversations/{conversation.pk}/messages/"
    codes = [api(buyer).post(url, {"client_msg_id": f"r{n}", "text": "x"}, format="json").status_code for n in range(3)]
    response = api(buyer).post(url, {"client_msg_id": "r9", "text": "x"}, format="json")

    assert codes == [201, 201, 429]
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["code"] == "rate_limited" and "最多 2 条" in response.json()["detail"]


def test_attachments_go_through_multipart(api, conversation, seller):
    url = f"{BASE}/conversations/{conversation.pk}/messages/"
    image = api(seller).post(url, {"client_msg_id": "img-1", "file": png_upload()}, format="multipart")
    pdf = api(seller).post(url, {"client_msg_id": "pdf-1", "text": "报价单", "file": pdf_upload()}, format="multipart")
    bad = api(seller).post(
        url, {"client_msg_id": "bad-1", "file": pdf_upload().__class__("x.pdf", b"%PDF-1.4 no end")}, format="multipart"
    )

    assert image.status_code == 201 and image.json()["attachment"]["kind"] == "image"
    assert image.json()["attachment"]["thumb_url"].endswith("/thumb/")
    assert pdf.status_code == 201 and pdf.json()["attachment"]["name"] == "方案.pdf"
    assert bad.status_code == 400 and "PDF" in str(bad.json())
    assert Message.objects.count() == 2


def test_mark_read_returns_the_new_counts(api, conversation, buyer, seller, send):
    first = send(conversation, buyer, "一")
    send(conversation, buyer, "二")
    url = f"{BASE}/conversations/{conversation.pk}/read/"

    partly = api(seller).post(url, {"last_read_id": first.pk}, format="json").json()
    fully = api(seller).post(url, {}, format="json").json()

    assert partly["unread"]["messages"] == 1
    assert fully["unread"] == {"conversations": {}, "messages": 0, "notifications": 0}
    assert api(seller).post(url, {"last_read_id": -1}, format="json").status_code == 400


def test_start_a_conversation_through_the_api(api, technology, need, buyer, seller):
    created = api(buyer).post(f"{BASE}/conversations/", {"technology": technology.pk}, format="json")
    again = api(buyer).post(f"{BASE}/conversations/", {"technology": technology.pk}, format="json")
    match = api(seller).post(f"{BASE}/conversations/", {"technology": technology.pk, "need": need.pk}, format="json")

    assert created.status_code == 201 and again.status_code == 200 and created.json()["id"] == again.json()["id"]
    assert match.status_code == 201 and match.json()["need"]["id"] == need.pk
    own = api(seller).post(f"{BASE}/conversations/", {"technology": technology.pk}, format="json")
    assert own.status_code == 400
    assert api(buyer).post(f"{BASE}/conversations/", {}, format="json").status_code == 400
    assert api(buyer).post(f"{BASE}/conversations/", {"technology": 999999}, format="json").status_code == 400
    assert Conversation.objects.count() == 2


def test_invite_an_agency_through_the_api(api, conversation, buyer, agency, agent):
    response = api(buyer).post(
        f"{BASE}/conversations/{conversation.pk}/invite/", {"organisation": agency.pk}, format="json"
    )
    assert response.status_code == 200
    assert {p["role"] for p in response.json()["participants"]} == {"buyer", "seller", "agency"}
    assert api(agent).get(f"{BASE}/conversations/{conversation.pk}/").status_code == 200


def test_notifications_list_and_read(api, buyer, seller):
    services.notify(users=[buyer], kind="new_match", title="新的匹配:牦牛肉冷链", url="/needs/1/")
    second = services.notify(users=[buyer], kind="contract_status", title="合同已登记")[0]
    services.notify(users=[seller], kind="new_match", title="别人的")

    listed = api(buyer).get(f"{BASE}/notifications/").json()
    assert [n["title"] for n in listed["results"]] == ["合同已登记", "新的匹配:牦牛肉冷链"]
    marked = api(buyer).post(f"{BASE}/notifications/read/", {"ids": [second.pk]}, format="json").json()
    assert marked == {"marked": 1}
    assert [n["title"] for n in api(buyer).get(f"{BASE}/notifications/", {"unread": "1"}).json()["results"]] == [
        "新的匹配:牦牛肉冷链"
    ]
    assert api(buyer).get(f"{BASE}/unread/").json()["notifications"] == 1
    assert api(buyer).post(f"{BASE}/notifications/read/", {"ids": ["x"]}, format="json").status_code == 400
