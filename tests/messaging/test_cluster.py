"""Real servers: two daphne worker processes on the Redis channel layer (a throw-away redis-server), a scratch
database (PostgreSQL in the cluster profile, SQLite otherwise), WebSocket clients over loopback.

- cluster: a message sent through worker A reaches a client on worker B, and back;
- fault: Redis stops mid-conversation — sends still store and ack; Redis comes back — delivery resumes and
  reconnecting clients catch up from the database, in order, nothing lost, nothing twice.
"""

import asyncio
import json
import os
import shutil

import pytest

from .servers import RedisServer, connect, start_workers

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")

TIMEOUT = 10


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def cluster(scratch, redis_server):
    """Two workers on one Redis layer; the scratch database seeded with buyer/seller pairs (one per test)."""
    data = scratch.seed({"pairs": 4})
    env = scratch.env(REDIS_URL=redis_server.url, CHANNEL_LAYER_PREFIX=f"t{os.getpid()}", MESSAGING_RATE_LIMIT="1000")
    workers = start_workers(env, 2)
    yield workers, data
    for worker in workers:
        worker.cleanup()


async def frames_until(ws, predicate, timeout=TIMEOUT) -> list[dict]:
    """Frames received until one satisfies ``predicate`` (included); TimeoutError otherwise."""
    got = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            got.append(frame)
            if predicate(frame):
                return got


async def hello(ws) -> dict:
    frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert frame["type"] == "hello"
    return frame


async def send(ws, conversation, client_msg_id, text) -> dict:
    await ws.send(
        json.dumps({"type": "send", "conversation": conversation, "client_msg_id": client_msg_id, "text": text})
    )
    frames = await frames_until(ws, lambda f: f.get("client_msg_id") == client_msg_id and f["type"] in ("ack", "error"))
    return frames[-1]


def messages_of(frames, conversation) -> list[dict]:
    return [f["message"] for f in frames if f["type"] == "message" and f["message"]["conversation"] == conversation]


def test_a_message_sent_through_worker_a_reaches_a_client_on_worker_b(cluster):
    (a, b), data = cluster
    pair = data["pairs"][0]
    conversation = pair["conversation"]

    async def scenario():
        buyer = await connect(a, pair["buyer"]["session"])
        seller = await connect(b, pair["seller"]["session"])
        seller_on_a = await connect(a, pair["seller"]["session"])  # the seller's second tab, on the other worker
        for ws in (buyer, seller, seller_on_a):
            await hello(ws)

        ack = await send(buyer, conversation, "c-1", "扎西德勒,想了解运维方案")
        assert ack["type"] == "ack" and ack["seq"] == 1
        on_b = messages_of(await frames_until(seller, lambda f: f["type"] == "message"), conversation)
        on_a = messages_of(await frames_until(seller_on_a, lambda f: f["type"] == "message"), conversation)
        assert [m["id"] for m in on_b] == [m["id"] for m in on_a] == [ack["id"]]
        assert on_b[0]["text"] == "扎西德勒,想了解运维方案" and on_b[0]["sender"]["id"] == pair["buyer"]["id"]

        reply = await send(seller, conversation, "c-2", "可以,下周来拉萨现场演示")
        back = messages_of(await frames_until(buyer, lambda f: f["type"] == "message"), conversation)
        assert [m["id"] for m in back] == [reply["id"]]

        # Another pair's conversation stays private to it.
        other = data["pairs"][3]
        outsider = await connect(b, other["seller"]["session"])
        await hello(outsider)
        refused = await send(outsider, conversation, "x-1", "我能看到吗")
        assert refused["type"] == "error" and refused["code"] == "not_participant"
        for ws in (buyer, seller, seller_on_a, outsider):
            await ws.close()

    asyncio.run(scenario())


def test_sockets_without_a_session_or_from_another_origin_are_refused(cluster):
    (a, _b), data = cluster
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidStatus

    async def scenario():
        with pytest.raises(InvalidStatus):
            await ws_connect(a.ws, origin=a.http, open_timeout=10)
        with pytest.raises(InvalidStatus):
            await ws_connect(
                a.ws,
                origin="http://evil.example",
                additional_headers={"Cookie": f"sessionid={data['pairs'][0]['buyer']['session']}"},
                open_timeout=10,
            )

    asyncio.run(scenario())


def test_redis_going_away_loses_nothing(cluster, redis_server):
    """Last in this module: it stops and restarts the module's Redis."""
    (a, b), data = cluster
    pair = data["pairs"][2]
    conversation = pair["conversation"]

    async def scenario():
        buyer = await connect(a, pair["buyer"]["session"])
        seller = await connect(b, pair["seller"]["session"])
        await hello(buyer)
        await hello(seller)
        first = await send(buyer, conversation, "f-0", "Redis 停机前")
        seen = messages_of(await frames_until(seller, lambda f: f["type"] == "message"), conversation)
        assert [m["id"] for m in seen] == [first["id"]]

        redis_server.stop()
        # Sends still store and are acknowledged by their worker.
        acks = [await send(buyer, conversation, f"f-{n}", f"停机中第{n}条") for n in range(1, 4)]
        assert [ack["type"] for ack in acks] == ["ack"] * 3
        assert [ack["seq"] for ack in acks] == [2, 3, 4]
        # A client reconnecting while Redis is down catches up from the database.
        late = await connect(b, pair["seller"]["session"])
        await hello(late)
        await late.send(json.dumps({"type": "resume", "conversation": conversation, "last_id": first["id"]}))
        caught = await frames_until(late, lambda f: f["type"] == "resumed")
        assert [m["seq"] for m in messages_of(caught, conversation)] == [2, 3, 4]

        redis_server.start()
        # The open socket on worker B gets what it missed (its heartbeat catches up from the database) …
        await seller.send(json.dumps({"type": "ping"}))
        got = await frames_until(seller, lambda f: f["type"] == "pong", timeout=30)
        # … and live delivery across workers works again.
        after = await send(buyer, conversation, "f-9", "Redis 恢复后")
        got += await frames_until(seller, lambda f: f["type"] == "message" and f["message"]["id"] == after["id"], 30)
        received = [m["seq"] for m in messages_of(got, conversation)]
        assert received == [2, 3, 4, 5], got  # in order, nothing lost, nothing twice

        # The reconnected client, resuming from what it had, gets only the new one.
        await late.send(json.dumps({"type": "resume", "conversation": conversation, "last_id": acks[-1]["id"]}))
        caught = await frames_until(late, lambda f: f["type"] == "resumed", 30)
        assert [m["seq"] for m in messages_of(caught, conversation) if m["seq"] > 4] == [5]
        assert len({m["id"] for m in messages_of(caught, conversation)}) == len(messages_of(caught, conversation))
        for ws in (buyer, seller, late):
            await ws.close()

    asyncio.run(scenario())
