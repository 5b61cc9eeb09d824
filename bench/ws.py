"""WebSocket chat benchmark: send → delivery latency across ASGI workers on the Redis channel layer.

    .venv/bin/python bench/ws.py [--quick] [--clients N] [--seconds S] [--interval I]

Starts its own servers on free loopback ports — a throw-away redis-server and two daphne workers — on a
temporary database (a new PostgreSQL database when DATABASE_URL is set or scripts/services.sh has PostgreSQL
up, else SQLite; never the site's data), seeds N/2 buyer/seller pairs, each pair in its own conversation,
and connects N clients; each resumes its conversation (as the live page does on load) and the clock starts
once all are connected and caught up. Workers run with production settings (DEBUG off). Every client sends
a message every I seconds (jittered; default 20 s, a busy human chat, so 1,000 clients offer 50 messages/s;
quick: 200 clients every 5 s, 40/s) for S seconds; latency is measured from the send to the delivery at the
other member of the pair (one clock: one process). Clients send live.js's heartbeat (a ping every 25 s),
which also catches a socket up from the database. "lost" counts messages acknowledged (stored) but not
delivered once deliveries stop making progress for 15 s.

Two runs side by side: all clients on one worker, then buyers on worker A and sellers on worker B (every
message crosses workers through Redis). Before the JSON, a comparison line; the last line is JSON for the
two-worker run: clients, messages, p50_ms, p95_ms, lost (acknowledged but never delivered: must be 0),
duplicates (delivered twice: must be 0). --quick: 200 clients, whole run ≤ 60 s. Full: 1,000 clients.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.messaging.servers import AsgiWorker, RedisServer, ScratchDatabase, connect  # noqa: E402


def postgres_url() -> str:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return os.environ["DATABASE_URL"]
    status = subprocess.run(
        ["bash", "scripts/services.sh", "status", "postgres"], cwd=ROOT, capture_output=True, text=True
    )
    if status.returncode != 0:
        return ""
    env = subprocess.run(["bash", "scripts/services.sh", "env", "postgres"], cwd=ROOT, capture_output=True, text=True)
    for line in env.stdout.splitlines():
        if line.startswith("export DATABASE_URL="):
            return line.split("=", 1)[1]
    return ""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


HEARTBEAT_S = 25  # live.js HEARTBEAT_MS


class Run:
    """One measured run: clients, what they sent, what was acknowledged and what arrived where."""

    def __init__(self, pairs: list[dict], placement: list, seconds: float, interval: float):
        self.pairs, self.placement, self.seconds, self.interval = pairs, placement, seconds, interval
        self.sent_at: dict[str, float] = {}
        self.acked: set[str] = set()
        self.delivered: dict[str, int] = {}
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.stop_sending = asyncio.Event()

    async def client(self, ws, me: dict, pair: dict, prefix: str, ready: asyncio.Barrier):
        conversation = pair["conversation"]
        receiver = asyncio.create_task(self.receive(ws, me))
        await ready.wait()
        heartbeat = asyncio.create_task(self.heartbeat(ws))
        await asyncio.sleep(random.uniform(0, self.interval))
        n = 0
        while not self.stop_sending.is_set():
            n += 1
            client_msg_id = f"{prefix}-{me['id']}-{n}"
            self.sent_at[client_msg_id] = time.perf_counter()
            await ws.send(
                json.dumps({"type": "send", "conversation": conversation, "client_msg_id": client_msg_id, "text": "测"})
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_sending.wait(), self.interval * random.uniform(0.8, 1.2))
        return receiver, heartbeat

    async def heartbeat(self, ws):
        """live.js's heartbeat: a ping every 25 s (tabs opened at different times, so phases differ)."""
        await asyncio.sleep(random.uniform(0, HEARTBEAT_S))
        while True:
            await ws.send(json.dumps({"type": "ping"}))
            await asyncio.sleep(HEARTBEAT_S)

    async def receive(self, ws, me: dict):
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "ack":
                self.acked.add(frame["client_msg_id"])
            elif kind == "message":
                message = frame["message"]
                if message["sender"]["id"] == me["id"]:
                    continue  # another tab of the sender (none here)
                client_msg_id = message["client_msg_id"]
                count = self.delivered.get(client_msg_id, 0) + 1
                self.delivered[client_msg_id] = count
                sent = self.sent_at.get(client_msg_id)
                if count == 1 and sent is not None:
                    self.latencies.append((time.perf_counter() - sent) * 1000)
            elif kind == "error":
                self.errors[frame["code"]] = self.errors.get(frame["code"], 0) + 1

    async def execute(self, prefix: str) -> dict:
        sockets = []
        semaphore = asyncio.Semaphore(50)  # connect in waves, as a real crowd would

        async def open_one(worker, member, conversation, last_id):
            async with semaphore:
                ws = await connect(worker, member["session"], ping_interval=None)
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello", hello
                # Catch up first, as the live page does; the clock starts once every client is in step.
                await ws.send(json.dumps({"type": "resume", "conversation": conversation, "last_id": last_id}))
                while json.loads(await ws.recv())["type"] != "resumed":
                    pass
                return ws

        jobs = []
        for pair, (buyer_worker, seller_worker) in zip(self.pairs, self.placement, strict=True):
            jobs.append(open_one(buyer_worker, pair["buyer"], pair["conversation"], pair["last_id"]))
            jobs.append(open_one(seller_worker, pair["seller"], pair["conversation"], pair["last_id"]))
        started = time.perf_counter()
        sockets = await asyncio.gather(*jobs)
        connect_s = time.perf_counter() - started
        ready = asyncio.Barrier(len(sockets) + 1)
        senders = []
        for index, pair in enumerate(self.pairs):
            senders.append(asyncio.create_task(self.client(sockets[2 * index], pair["buyer"], pair, prefix, ready)))
            senders.append(
                asyncio.create_task(self.client(sockets[2 * index + 1], pair["seller"], pair, prefix, ready))
            )
        await ready.wait()
        await asyncio.sleep(self.seconds)
        self.stop_sending.set()
        receivers = await asyncio.gather(*senders)
        # Drain: wait while deliveries still make progress (an overloaded run is late, not lossy), at most 120 s.
        deadline, last_progress, seen = time.perf_counter() + 120, time.perf_counter(), len(self.delivered)
        while time.perf_counter() < deadline and not self.acked <= set(self.delivered):
            await asyncio.sleep(0.2)
            if len(self.delivered) != seen:
                seen, last_progress = len(self.delivered), time.perf_counter()
            elif time.perf_counter() - last_progress > 15:
                break
        await asyncio.sleep(0.5)  # let late duplicates show themselves
        for tasks in receivers:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        lost = len(self.acked - set(self.delivered))
        return {
            "clients": len(sockets),
            "messages": len(self.acked),
            "p50_ms": round(percentile(self.latencies, 0.50), 1),
            "p95_ms": round(percentile(self.latencies, 0.95), 1),
            "p99_ms": round(percentile(self.latencies, 0.99), 1),
            "lost": lost,
            "duplicates": sum(1 for c in self.delivered.values() if c > 1),
            "unacked": len(set(self.sent_at) - self.acked),
            "errors": self.errors,
            "connect_s": round(connect_s, 1),
            "msgs_per_s": round(len(self.acked) / self.seconds, 1),
        }


def last_ids(pairs: list[dict], db: ScratchDatabase) -> None:
    """Each pair resumes after what earlier runs left in its conversation (one query, in a helper process)."""
    code = (
        "import django, json, sys; django.setup();"
        "from marketplace.messaging.models import Conversation;"
        "print(json.dumps(dict(Conversation.objects.values_list('id', 'last_message_id'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=db.env(), capture_output=True, text=True)
    latest = {int(k): v or 0 for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    for pair in pairs:
        pair["last_id"] = latest.get(pair["conversation"], 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 clients, the whole run within 60 s")
    parser.add_argument("--clients", type=int, help="clients (an even number; default 1000, quick 200)")
    parser.add_argument("--seconds", type=float, help="sending time per run (default 30, quick 8)")
    parser.add_argument(
        "--interval", type=float, help="seconds between a client's messages (default 20, quick 5: 50 and 40 msg/s)"
    )
    args = parser.parse_args()
    clients = args.clients or (200 if args.quick else 1000)
    seconds = args.seconds or (8 if args.quick else 30)
    args.interval = args.interval or (5.0 if args.quick else 20.0)
    pairs_wanted = max(1, clients // 2)

    began = time.perf_counter()
    # Production settings for every process started here (workers, seeding): DEBUG off (no query log), one
    # throw-away secret key (sessions made by the seeding must verify in the workers).
    os.environ.update(DEBUG="false", SECRET_KEY=f"bench-{os.urandom(16).hex()}")
    pg = postgres_url()
    db = ScratchDatabase(pg)
    redis = RedisServer()
    workers = []
    try:
        redis.start()
        # Django imports take seconds: the workers start while the database is migrated.
        env = db.env(REDIS_URL=redis.url, CHANNEL_LAYER_PREFIX=f"bench{os.getpid()}")
        workers = [AsgiWorker(env, name) for name in ("worker-A", "worker-B")]
        db.migrate()
        pairs = db.seed({"pairs": pairs_wanted})["pairs"]
        for worker in workers:
            worker.wait()
        a, b = workers
        setup_s = time.perf_counter() - began
        print(
            f"setup {setup_s:.1f}s: {len(pairs) * 2} clients, {'PostgreSQL' if pg else 'SQLite'} scratch database, "
            f"redis-server :{redis.port}, daphne :{a.port} and :{b.port}; each client sends every "
            f"{args.interval:g}s for {seconds:g}s",
            flush=True,
        )

        last_ids(pairs, db)
        one = asyncio.run(Run(pairs, [(a, a)] * len(pairs), seconds, args.interval).execute("one"))
        print("1 worker :", json.dumps(one, ensure_ascii=False), flush=True)
        last_ids(pairs, db)
        two = asyncio.run(Run(pairs, [(a, b)] * len(pairs), seconds, args.interval).execute("two"))
        print("2 workers:", json.dumps(two, ensure_ascii=False), flush=True)
        print(
            f"side by side (1 worker → 2 workers over Redis): p50 {one['p50_ms']} → {two['p50_ms']} ms, "
            f"p95 {one['p95_ms']} → {two['p95_ms']} ms, messages {one['messages']} → {two['messages']}, "
            f"lost {one['lost']} → {two['lost']}, duplicates {one['duplicates']} → {two['duplicates']}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; total {time.perf_counter() - began:.0f}s"
        )
        keys = ("clients", "messages", "p50_ms", "p95_ms", "lost", "duplicates")
        print(json.dumps({k: two[k] for k in keys}))
    finally:
        for worker in workers:
            worker.cleanup()
        redis.cleanup()
        db.drop()


if __name__ == "__main__":
    main()
