"""Every live event, through the real consumer (WebsocketCommunicator) and the profile's channel layer.

Like Zulip's test_events (verify_action): for each action, every frame that reaches each socket must match
its schema (events.EVENT_SCHEMAS), and applying the frames to the state the client had gives exactly what
a fresh fetch gives afterwards. ``apply_event`` below is the client model (live.js and chat.js do the same).
"""

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import jsonschema
import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer

from marketplace.asgi import application
from marketplace.messaging import events, selectors, services
from marketplace.messaging.events import EVENT_SCHEMAS
from marketplace.messaging.models import Conversation, Message

from .conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 0.3  # seconds without frames that count as "nothing more is coming"


# ---------------------------------------------------------------- the client model


def fresh_state(user) -> dict:
    """What a client fetching everything now would have (pages and API read the same selectors)."""
    conversations = list(Conversation.objects.for_user(user).order_by("id"))
    messages, receipts = {}, {}
    for conversation in conversations:
        rows, _more = selectors.messages_page(conversation=conversation, after=0, limit=200)
        messages[conversation.pk] = [_projection(m.pk, m.seq, m.sender_id, m.text, m.client_msg_id) for m in rows]
        receipts[conversation.pk] = {
            r.user_id: r.last_read_id for r in selectors.read_receipts(conversation=conversation)
        }
    notifications = {
        n.pk: {"title": n.title, "kind": n.kind, "read": n.read_at is not None}
        for n in selectors.notification_list(user=user)
    }
    return {
        "conversations": sorted(c.pk for c in conversations),
        "messages": messages,
        "receipts": receipts,
        "notifications": notifications,
        "unread": selectors.unread_counts(user=user),
    }


def _projection(id_, seq, sender_id, text, client_msg_id) -> tuple:
    return (id_, seq, sender_id, text, client_msg_id)


def apply_event(state: dict, event: dict, me, sent: dict) -> None:
    kind = event["type"]
    if kind == "message":
        m = event["message"]
        rows = state["messages"].setdefault(m["conversation"], [])
        row = _projection(m["id"], m["seq"], m["sender"]["id"], m["text"], m["client_msg_id"])
        if row not in rows:
            rows.append(row)
            rows.sort()
            if m["sender"]["id"] != me.pk:
                key = str(m["conversation"])
                state["unread"]["conversations"][key] = state["unread"]["conversations"].get(key, 0) + 1
                state["unread"]["messages"] += 1
    elif kind == "ack":
        text = sent[event["client_msg_id"]]
        rows = state["messages"].setdefault(event["conversation"], [])
        row = _projection(event["id"], event["seq"], me.pk, text, event["client_msg_id"])
        if row not in rows:
            rows.append(row)
            rows.sort()
    elif kind == "read":
        state["receipts"].setdefault(event["conversation"], {})[event["user"]["id"]] = event["last_read_id"]
    elif kind == "unread":
        state["unread"] = {k: event[k] for k in ("conversations", "messages", "notifications")}
    elif kind == "notification":
        n = event["notification"]
        state["notifications"][n["id"]] = {"title": n["title"], "kind": n["kind"], "read": n["read"]}
        if not n["read"]:
            state["unread"]["notifications"] += 1
    elif kind == "notifications_read":
        for notification_id in event["ids"]:
            state["notifications"][notification_id]["read"] = True
    elif kind == "conversation":
        state["conversations"] = sorted({*state["conversations"], event["conversation"]["id"]})
    elif kind in ("pong", "resumed", "hello", "error"):
        pass
    else:  # pragma: no cover - a new event type must be modelled here first
        raise AssertionError(f"unmodelled event {kind}")


# ---------------------------------------------------------------- sockets


async def open_socket(user, *, origin=b"http://testserver"):
    cookie = await database_sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/live/", headers=[(b"origin", origin), (b"cookie", f"sessionid={cookie}".encode())]
    )
    connected, _code = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    check_schema(hello)
    assert hello["type"] == "hello" and hello["user"]["id"] == user.pk
    return communicator


async def drain(communicator, quiet=QUIET) -> list[dict]:
    """Every frame until the socket is quiet (receive_nothing: a timed-out receive would kill the app)."""
    frames = []
    while not await communicator.receive_nothing(timeout=quiet):
        frames.append(await communicator.receive_json_from(timeout=5))
    return frames


def check_schema(frame: dict) -> None:
    jsonschema.validate(frame, EVENT_SCHEMAS[frame["type"]])


@dataclass
class SocketFrame:
    """An action that is a frame sent by a client socket."""

    communicator: WebsocketCommunicator
    frame: dict


async def verify_action(action, sockets: dict, *, expect: dict, sent=None, compare=None):
    """Run ``action`` (sync, in a DB thread), collect every socket's frames, check schemas and the model.

    sockets: {name: (user, communicator)}; expect: {name: [event types in order]}.
    """
    sent = sent or {}
    before = {name: await database_sync_to_async(fresh_state)(user) for name, (user, _c) in sockets.items()}
    if isinstance(action, SocketFrame):
        result = await action.communicator.send_json_to(action.frame)
    else:
        result = await database_sync_to_async(action)()
    frames = {name: await drain(communicator) for name, (_u, communicator) in sockets.items()}
    for name, (user, _c) in sockets.items():
        got = frames[name]
        for frame in got:
            check_schema(frame)
        assert [f["type"] for f in got] == expect.get(name, []), f"{name}: {got}"
        state = copy.deepcopy(before[name])
        for frame in got:
            apply_event(state, frame, user, sent)
        after = await database_sync_to_async(fresh_state)(user)
        for key in compare or after:
            assert state[key] == after[key], f"{name}: {key} differs after applying {got}"
    return result, frames


def run(scenario):
    async_to_sync(scenario)()


@contextmanager
def layer_down():
    """Publishing goes to a Redis layer where nothing listens (a real failure, connection refused);
    the sockets keep the layer they joined."""
    original = channel_layers.backends.get(DEFAULT_CHANNEL_LAYER) or channel_layers[DEFAULT_CHANNEL_LAYER]
    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = RedisChannelLayer(hosts=["redis://127.0.0.1:9"])
    try:
        yield
    finally:
        channel_layers.backends[DEFAULT_CHANNEL_LAYER] = original


# ---------------------------------------------------------------- connecting


def test_anonymous_sockets_are_refused():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://testserver")])
        connected, code = await communicator.connect(timeout=5)
        assert not connected and code == 4401

    run(scenario)


def test_sockets_from_another_origin_are_refused(buyer):
    async def scenario():
        cookie = await database_sync_to_async(session_cookie)(buyer)
        communicator = WebsocketCommunicator(
            application,
            "/ws/live/",
            headers=[(b"origin", b"http://evil.example"), (b"cookie", f"sessionid={cookie}".encode())],
        )
        connected, _code = await communicator.connect(timeout=5)
        assert not connected

    run(scenario)


def test_hello_carries_the_unread_counts(conversation, buyer, seller, send):
    send(conversation, buyer, "一")
    send(conversation, buyer, "二")
    services.notify(users=[seller], kind="new_match", title="新的匹配")

    async def scenario():
        cookie = await database_sync_to_async(session_cookie)(seller)
        communicator = WebsocketCommunicator(
            application,
            "/ws/live/",
            headers=[(b"origin", b"http://testserver"), (b"cookie", f"sessionid={cookie}".encode())],
        )
        await communicator.connect(timeout=5)
        hello = await communicator.receive_json_from(timeout=5)
        check_schema(hello)
        assert hello["conversations"] == {str(conversation.pk): 2}
        assert hello["messages"] == 2 and hello["notifications"] == 2  # new message + new match
        await communicator.disconnect()

    run(scenario)


# ---------------------------------------------------------------- each event type


def test_send_acks_the_sender_and_delivers_to_everyone_elses_sockets(conversation, buyer, seller):
    """message (to the seller, and to the buyer's other tab), ack (to the sending socket only),
    notification (the seller's first unread message in this conversation)."""

    async def scenario():
        buyer_tab = await open_socket(buyer)
        buyer_other_tab = await open_socket(buyer)
        seller_tab = await open_socket(seller)
        sockets = {"sender": (buyer, buyer_tab), "other_tab": (buyer, buyer_other_tab), "seller": (seller, seller_tab)}

        frame = {
            "type": "send",
            "conversation": conversation.pk,
            "client_msg_id": "web-1",
            "text": "<b>价格</b>可议吗?",
        }
        _r, frames = await verify_action(
            SocketFrame(buyer_tab, frame),
            sockets,
            expect={"sender": ["ack"], "other_tab": ["message"], "seller": ["message", "notification"]},
            sent={"web-1": "<b>价格</b>可议吗?"},
        )
        ack = frames["sender"][0]
        stored = await database_sync_to_async(Message.objects.get)()
        assert (ack["id"], ack["seq"], ack["duplicate"]) == (stored.pk, 1, False)
        assert frames["seller"][0]["message"]["text"] == "<b>价格</b>可议吗?"  # raw; escaped on display

        # A resend (the ack was lost) is answered with the same id and reaches nobody again.
        _r, frames = await verify_action(
            SocketFrame(buyer_tab, frame), sockets, expect={"sender": ["ack"]}, sent={"web-1": "<b>价格</b>可议吗?"}
        )
        assert frames["sender"][0]["id"] == stored.pk and frames["sender"][0]["duplicate"] is True
        for communicator in (buyer_tab, buyer_other_tab, seller_tab):
            await communicator.disconnect()

    run(scenario)


def test_a_message_sent_through_a_service_reaches_all_participants(conversation, buyer, seller, send):
    async def scenario():
        sockets = {"buyer": (buyer, await open_socket(buyer)), "seller": (seller, await open_socket(seller))}
        await verify_action(
            lambda: send(conversation, seller, "可以面谈"),
            sockets,
            expect={"buyer": ["message", "notification"], "seller": ["message"]},
        )
        # The second unread message does not repeat the notification.
        await verify_action(
            lambda: send(conversation, seller, "下周三如何"),
            sockets,
            expect={"buyer": ["message"], "seller": ["message"]},
        )
        for _user, communicator in sockets.values():
            await communicator.disconnect()

    run(scenario)


def test_read_sends_receipts_to_everyone_and_counts_to_the_reader(conversation, buyer, seller, send):
    send(conversation, buyer, "一")
    last = send(conversation, buyer, "二")

    async def scenario():
        seller_tab = await open_socket(seller)
        sockets = {"buyer": (buyer, await open_socket(buyer)), "seller": (seller, seller_tab)}
        _r, frames = await verify_action(
            SocketFrame(seller_tab, {"type": "read", "conversation": conversation.pk, "last_read_id": last.pk}),
            sockets,
            expect={"buyer": ["read"], "seller": ["read", "notifications_read", "unread"]},
        )
        assert frames["buyer"][0]["user"]["id"] == seller.pk and frames["buyer"][0]["last_read_id"] == last.pk
        assert frames["seller"][-1]["messages"] == 0
        # Reading again changes nothing and says nothing.
        await verify_action(
            SocketFrame(seller_tab, {"type": "read", "conversation": conversation.pk}), sockets, expect={}
        )
        for _user, communicator in sockets.values():
            await communicator.disconnect()

    run(scenario)


def test_notifications_arrive_live_and_marking_them_read_updates_the_counts(buyer, seller):
    async def scenario():
        sockets = {"buyer": (buyer, await open_socket(buyer)), "seller": (seller, await open_socket(seller))}
        (made,), _frames = await verify_action(
            lambda: services.notify(users=[buyer], kind="contract_status", title="合同已登记", url="/contracts/1/"),
            sockets,
            expect={"buyer": ["notification"]},
        )
        await verify_action(
            lambda: services.notifications_mark_read(user=buyer, ids=[made.pk]),
            sockets,
            expect={"buyer": ["notifications_read", "unread"]},
        )
        for _user, communicator in sockets.values():
            await communicator.disconnect()

    run(scenario)


def test_review_results_reach_the_listing_organisation_live(university, seller, officer, buyer):
    from listings import services as listing_services
    from tests.factories import TechnologyFactory

    tech = TechnologyFactory(organisation=university, status="pending", published_at=None)

    async def scenario():
        sockets = {"seller": (seller, await open_socket(seller)), "buyer": (buyer, await open_socket(buyer))}
        _r, frames = await verify_action(
            lambda: listing_services.listing_review(listing=tech, by=officer, approve=True),
            sockets,
            expect={"seller": ["notification"]},
        )
        assert frames["seller"][0]["notification"]["kind"] == "review_result"
        for _user, communicator in sockets.values():
            await communicator.disconnect()

    run(scenario)


def test_an_invited_agency_learns_of_the_conversation_and_its_unread_history(conversation, buyer, agency, agent, send):
    send(conversation, buyer, "请中介帮忙评估")

    async def scenario():
        sockets = {"agent": (agent, await open_socket(agent)), "buyer": (buyer, await open_socket(buyer))}
        await verify_action(
            lambda: services.conversation_invite(conversation=conversation, organisation=agency, by=buyer),
            sockets,
            expect={"agent": ["conversation", "notification", "unread"]},
            compare=["conversations", "unread", "notifications"],
        )
        # From now on the agency's sockets get the conversation's messages.
        await verify_action(
            lambda: send(conversation, buyer, "欢迎加入"),
            sockets,
            expect={"agent": ["message", "notification"], "buyer": ["message"]},
            compare=["unread", "notifications"],
        )
        for _user, communicator in sockets.values():
            await communicator.disconnect()

    run(scenario)


def test_resume_replays_what_was_missed_in_order_without_duplicates(conversation, buyer, seller, send):
    first = send(conversation, buyer, "一")

    async def scenario():
        seller_tab = await open_socket(seller)
        for n in range(5):
            await database_sync_to_async(send)(conversation, buyer, f"第{n}条")
        live_frames = await drain(seller_tab)
        assert [f["message"]["seq"] for f in live_frames if f["type"] == "message"] == [2, 3, 4, 5, 6]
        await seller_tab.disconnect()

        # Reconnected, the page had seen message one only.
        again = await open_socket(seller)
        await again.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": first.pk})
        frames = await drain(again)
        for frame in frames:
            check_schema(frame)
        assert [f["message"]["seq"] for f in frames if f["type"] == "message"] == [2, 3, 4, 5, 6]
        assert frames[-1]["type"] == "resumed" and frames[-1]["more"] is False

        # A message stored meanwhile and announced afterwards is not delivered twice.
        await again.send_json_to(
            {"type": "resume", "conversation": conversation.pk, "last_id": frames[-2]["message"]["id"]}
        )
        assert [f["type"] for f in await drain(again)] == ["resumed"]
        await again.disconnect()

    run(scenario)


def test_an_event_already_replayed_is_not_delivered_again(conversation, buyer, seller, send):
    one = send(conversation, buyer, "一")
    two = send(conversation, buyer, "二")

    async def scenario():
        tab = await open_socket(seller)
        await tab.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": one.pk})
        assert [f["type"] for f in await drain(tab)] == ["message", "resumed"]
        # The live event of message two arrives late (after the replay): it is dropped.
        event = await database_sync_to_async(
            lambda: events.message_event(Message.objects.select_related("sender", "sender_organisation").get(pk=two.pk))
        )()
        await tab.send_input({"type": "live.event", "event": event, "skip": ""})
        assert await drain(tab) == []
        three = await database_sync_to_async(send)(conversation, buyer, "三")
        assert [f["message"]["id"] for f in await drain(tab)] == [three.pk]
        await tab.disconnect()

    run(scenario)


def test_a_gap_in_seq_is_read_from_the_database(conversation, buyer, seller, send):
    async def scenario():
        tab = await open_socket(seller)
        await tab.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": 0})
        await drain(tab)
        # Two messages stored while publishing fails (Redis gone), then a third announced normally.
        with layer_down():
            await database_sync_to_async(send)(conversation, buyer, "静默一")
            await database_sync_to_async(send)(conversation, buyer, "静默二")
        assert await drain(tab) == []
        three = await database_sync_to_async(send)(conversation, buyer, "三")
        frames = [f for f in await drain(tab) if f["type"] == "message"]
        assert [f["message"]["text"] for f in frames] == ["静默一", "静默二", "三"]
        assert [f["message"]["seq"] for f in frames] == [1, 2, 3] and frames[-1]["message"]["id"] == three.pk
        await tab.disconnect()

    run(scenario)


def test_a_heartbeat_catches_up_what_the_layer_lost(conversation, buyer, seller, send):
    async def scenario():
        tab = await open_socket(seller)
        await tab.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": 0})
        await drain(tab)
        with layer_down():
            await database_sync_to_async(send)(conversation, buyer, "丢失的广播")
        assert await drain(tab) == []
        await tab.send_json_to({"type": "ping"})
        frames = await drain(tab)
        assert [f["type"] for f in frames] == ["message", "pong"]
        assert frames[0]["message"]["text"] == "丢失的广播"
        await tab.disconnect()

    run(scenario)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "send", "conversation": "x", "client_msg_id": "a", "text": "hi"}, "bad_frame"),
        ({"type": "send", "conversation": 1, "text": "hi"}, "bad_frame"),
        ({"type": "dance"}, "bad_frame"),
        (["not", "an", "object"], "bad_frame"),
        ({"type": "resume", "conversation": 1, "last_id": -5}, "bad_frame"),
        ({"type": "read", "conversation": 1, "last_read_id": "x"}, "bad_frame"),
    ],
)
def test_malformed_frames_get_an_error_frame_and_the_socket_stays_open(buyer, frame, code):
    async def scenario():
        tab = await open_socket(buyer)
        await tab.send_json_to(frame)
        (error,) = await drain(tab)
        check_schema(error)
        assert error["code"] == code and error["message"]
        await tab.send_json_to({"type": "ping"})
        assert [f["type"] for f in await drain(tab)] == ["pong"]
        await tab.disconnect()

    run(scenario)


def test_invalid_json_and_binary_frames_are_answered_not_fatal(buyer):
    async def scenario():
        tab = await open_socket(buyer)
        await tab.send_to(text_data="{not json")
        await tab.send_to(bytes_data=b"\x00\x01")
        await tab.send_to(text_data="x" * (65 * 1024))
        frames = await drain(tab)
        assert [f["code"] for f in frames] == ["bad_frame"] * 3
        await tab.disconnect()

    run(scenario)


def test_too_long_empty_and_foreign_sends_are_refused_with_codes(conversation, buyer, outsider):
    async def scenario():
        tab = await open_socket(buyer)
        stranger = await open_socket(outsider)
        base = {"type": "send", "conversation": conversation.pk}
        await tab.send_json_to({**base, "client_msg_id": "a-1", "text": "长" * 4001})
        await tab.send_json_to({**base, "client_msg_id": "a-2", "text": "   "})
        errors = await drain(tab)
        assert [(e["code"], e["client_msg_id"]) for e in errors] == [("too_long", "a-1"), ("empty", "a-2")]
        assert "4000" in errors[0]["message"]
        await stranger.send_json_to({**base, "client_msg_id": "o-1", "text": "你好"})
        await stranger.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": 0})
        await stranger.send_json_to({"type": "read", "conversation": conversation.pk})
        await stranger.send_json_to({**base, "conversation": 999999, "client_msg_id": "o-2", "text": "你好"})
        errors = await drain(stranger)
        for error in errors:
            check_schema(error)
        assert [e["code"] for e in errors] == ["not_participant"] * 4
        assert not await database_sync_to_async(Message.objects.exists)()
        await tab.disconnect()
        await stranger.disconnect()

    run(scenario)


def test_the_rate_limit_answers_with_an_error_frame(conversation, buyer, settings):
    settings.MESSAGING_RATE_LIMIT = 3
    settings.MESSAGING_RATE_WINDOW = 3600

    async def scenario():
        tab = await open_socket(buyer)
        for n in range(4):
            await tab.send_json_to(
                {"type": "send", "conversation": conversation.pk, "client_msg_id": f"r-{n}", "text": f"{n}"}
            )
        frames = await drain(tab)
        for frame in frames:
            check_schema(frame)
        assert [f["type"] for f in frames] == ["ack", "ack", "ack", "error"]
        assert frames[-1]["code"] == "rate_limited" and frames[-1]["retry_after"] >= 1
        assert frames[-1]["client_msg_id"] == "r-3"
        await tab.disconnect()

    run(scenario)


def test_sends_still_store_and_ack_when_the_channel_layer_is_down(conversation, buyer, seller):
    async def scenario():
        tab = await open_socket(buyer)
        with layer_down():
            await tab.send_json_to(
                {"type": "send", "conversation": conversation.pk, "client_msg_id": "d-1", "text": "Redis 不在也要存下"}
            )
            (ack,) = await drain(tab, quiet=1.0)
        assert ack["type"] == "ack"
        assert await database_sync_to_async(Message.objects.filter(pk=ack["id"]).exists)()
        # The seller, connecting later, finds it in the history.
        seller_tab = await open_socket(seller)
        await seller_tab.send_json_to({"type": "resume", "conversation": conversation.pk, "last_id": 0})
        frames = await drain(seller_tab)
        assert [f["message"]["text"] for f in frames if f["type"] == "message"] == ["Redis 不在也要存下"]
        await tab.disconnect()
        await seller_tab.disconnect()

    run(scenario)
