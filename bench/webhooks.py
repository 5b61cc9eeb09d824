"""Stripe webhooks under load: signed events posted to the running ASGI server, then the ledger audited.

    .venv/bin/python bench/webhooks.py [--quick] [--events N] [--workers N]

Starts daphne on a free loopback port with a throw-away SQLite database (migrated, with payments and
PaymentIntent ids made for the run), and posts events signed with stripe.WebhookSignature's helper
to /webhooks/stripe/: 10% are duplicates (the same event again, half of them at the same moment),
5% carry a bad signature (forged amounts or successes, wrong secret), and some payments get their
events in the wrong order (succeeded before processing, an old failure after the success). Events of
one payment go out in waves (first events, then second …); inside a wave everything is concurrent.

The same run is made twice on separate payments, once with one connection and once with --workers
connections, and the ratio is printed side by side. Then the database is audited: a payment booked
twice, a forged or mismatched event accepted, or a payment not in the state its events lead to is
counted. The last line is JSON: events, seconds, double_booked, wrongly_accepted, p95_ms (concurrent run).
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
SECRET = "whsec_bench_webhooks"
PATH = "/webhooks/stripe/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not answer at {url}")


# ---------------------------------------------------------------- scenarios

# name: (share, expected final status, events as (type, created offset, changes to the intent))
SCENARIOS = {
    "in_order": (0.55, "paid", [("payment_intent.processing", 0, {}), ("payment_intent.succeeded", 1, {})]),
    "success_first": (0.15, "paid", [("payment_intent.succeeded", 1, {}), ("payment_intent.processing", 0, {})]),
    "late_failure": (
        0.08,
        "paid",
        [("payment_intent.succeeded", 5, {}), ("payment_intent.payment_failed", 1, {"failed": True})],
    ),
    "retry": (
        0.07,
        "paid",
        [("payment_intent.payment_failed", 0, {"failed": True}), ("payment_intent.succeeded", 3, {})],
    ),
    "failed": (
        0.05,
        "failed",
        [("payment_intent.requires_action", 0, {}), ("payment_intent.payment_failed", 1, {"failed": True})],
    ),
    "mismatch": (
        0.05,
        "pending",
        [("payment_intent.processing", 0, {}), ("payment_intent.succeeded", 1, {"amount_delta": 1})],
    ),
    "refund": (
        0.05,
        "partially_refunded",
        [("payment_intent.succeeded", 0, {}), ("refund.created", 2, {"refund": True})],
    ),
}


def intent(pi_id: str, amount: int, status: str, *, failed: bool = False, amount_delta: int = 0) -> dict:
    obj = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount + amount_delta,
        "currency": "cny",
        "status": status,
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "latest_charge": f"ch_{pi_id[3:]}",
    }
    if status == "succeeded":
        obj["amount_received"] = amount + amount_delta
    if failed:
        obj["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    return obj


STATUS_OF = {
    "payment_intent.processing": "processing",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.requires_action": "requires_action",
}


def build_events(payments: list[tuple[int, str, int]], rng: random.Random, base_time: int) -> list[list[dict]]:
    """Per payment (id, PaymentIntent id, amount in fen) its scenario's events; returns waves of events."""
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][0] for n in names]
    waves: list[list[dict]] = [[], []]
    expected = {}
    for pk, pi_id, amount in payments:
        name = rng.choices(names, weights)[0]
        _share, final, steps = SCENARIOS[name]
        expected[pk] = final
        for wave, (event_type, offset, change) in enumerate(steps):
            if change.get("refund"):
                obj = {
                    "id": f"re_{pi_id[3:]}",
                    "object": "refund",
                    "amount": amount // 2,
                    "currency": "cny",
                    "status": "succeeded",
                    "payment_intent": pi_id,
                    "charge": f"ch_{pi_id[3:]}",
                }
            else:
                obj = intent(
                    pi_id,
                    amount,
                    STATUS_OF[event_type],
                    failed=bool(change.get("failed")),
                    amount_delta=change.get("amount_delta", 0),
                )
            waves[wave].append(
                {
                    "id": f"evt_{pi_id[3:]}_{wave}",
                    "object": "event",
                    "api_version": "2024-06-20",
                    "created": base_time + offset,
                    "livemode": False,
                    "type": event_type,
                    "data": {"object": obj},
                    "_payment": pk,
                }
            )
    return waves, expected


def posts_for(waves: list[list[dict]], total: int, rng: random.Random, secret: str) -> list[list[tuple]]:
    """The requests to make, wave by wave: (body, header, kind) with kind good / duplicate / forged."""
    import stripe

    def sign(event: dict, key: str = secret) -> tuple[str, str]:
        body = json.dumps({k: v for k, v in event.items() if not k.startswith("_")})
        return body, stripe.WebhookSignature.generate_signature_header(body, key)

    unique = sum(len(w) for w in waves)
    n_dupes = round(total * 0.10)
    n_forged = total - unique - n_dupes
    out = [[(*sign(e), "good") for e in wave] for wave in waves]
    for _ in range(n_dupes):
        wave = rng.randrange(len(waves))
        original = rng.choice(waves[wave])
        # Half at the same moment as the original (same wave), half later (Stripe's retries).
        target = wave if rng.random() < 0.5 else min(wave + 1, len(waves) - 1)
        out[target].append((*sign(original), "duplicate"))
    for i in range(n_forged):
        wave = rng.randrange(len(waves))
        victim = rng.choice(waves[wave])
        forged = json.loads(json.dumps(victim))
        forged["id"] = f"evt_forged_{i}"
        forged["type"] = "payment_intent.succeeded"
        forged["data"]["object"]["status"] = "succeeded"
        forged["data"]["object"]["amount"] = 1
        if i % 2:
            body, header = sign(forged, "whsec_attacker")  # signed with the wrong secret
        else:
            body, header = sign(victim)
            body = json.dumps(forged)  # a real signature over a different body
        out[wave].append((body, header, "forged"))
    for wave in out:
        rng.shuffle(wave)
    return out


# ---------------------------------------------------------------- setup and run


def make_payments(n: int, label: str, rng: random.Random) -> list[tuple[int, str, int]]:
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.accounts.models import Organisation
    from marketplace.payments.models import Payment, PaymentAttempt

    org, _ = Organisation.objects.get_or_create(
        name=f"基准测试付款企业{label}",
        defaults={
            "kind": "enterprise",
            "region": "tibet",
            "credit_code": make_credit_code(f"91540100MA6B{len(label) + rng.randrange(10000):05d}"),
        },
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(kind="service_fee", fee_kind="matching", title=f"服务费 {label}-{i}", payer=org,
                    amount=Decimal(rng.randrange(100, 5_000_000)) / 100)
            for i in range(n)
        ]
    )  # fmt: skip
    attempts = PaymentAttempt.objects.bulk_create(
        [
            PaymentAttempt(
                payment=p,
                idempotency_key=f"bench-{label}-{p.pk}",
                payment_intent_id=f"pi_{label}{p.pk:07d}",
                amount_minor=int(p.amount * 100),
                status="requires_payment_method",
            )
            for p in payments
        ]
    )
    return [(a.payment_id, a.payment_intent_id, a.amount_minor) for a in attempts]


def run(url: str, waves: list[list[tuple]], workers: int) -> dict:
    local = threading.local()
    timings: list[float] = []
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def post(item):
        body, header, kind = item
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        start = time.perf_counter()
        response = session.post(
            url, data=body.encode(), headers={"Content-Type": "application/json", "Stripe-Signature": header}
        )
        elapsed = time.perf_counter() - start
        with lock:
            timings.append(elapsed)
            results.append((kind, response.status_code))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for wave in waves:
            list(pool.map(post, wave))
    seconds = time.perf_counter() - started
    timings.sort()
    return {
        "seconds": seconds,
        "events": len(results),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))] * 1000,
        "results": results,
    }


def audit(expected: dict[int, str], results: list[tuple[str, int]]) -> dict:
    from django.db.models import Count, F, Q, Sum

    from marketplace.payments.models import LedgerEntry, Payment, StripeEvent

    ids = list(expected)
    charges = LedgerEntry.objects.filter(payment_id__in=ids, kind="charge")
    doubled = charges.values("payment_id").annotate(n=Count("id")).filter(n__gt=1).count()
    refunds_doubled = (
        LedgerEntry.objects.filter(payment_id__in=ids, kind="refund")
        .values("stripe_object_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    charged = Sum("ledger_entries__amount", filter=Q(ledger_entries__kind="charge"))
    over = Payment.objects.filter(pk__in=ids).annotate(charged=charged).filter(charged__gt=F("amount")).count()
    forged_accepted = sum(1 for kind, code in results if kind == "forged" and 200 <= code < 300)
    forged_stored = StripeEvent.objects.filter(event_id__startswith="evt_forged_").count()
    mismatch_booked = charges.filter(payment__events__outcome="flagged").distinct().count()
    statuses = dict(Payment.objects.filter(pk__in=ids).values_list("pk", "status"))
    wrong_state = sum(1 for pk, want in expected.items() if statuses.get(pk) != want)
    codes: dict[str, dict[int, int]] = {}
    for kind, code in results:
        codes.setdefault(kind, {}).setdefault(code, 0)
        codes[kind][code] += 1
    return {
        "double_booked": doubled + refunds_doubled + over,
        "wrongly_accepted": forged_accepted + forged_stored + mismatch_booked,
        "wrong_state": wrong_state,
        "codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 events per run (else 20,000)")
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.events or (2_000 if args.quick else 20_000)
    rng = random.Random(args.seed)

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    cluster = ("DATABASE_URL", "REDIS_URL", "SEARCH_URL", "MARKETPLACE_PROFILE")
    env = {k: v for k, v in os.environ.items() if k not in cluster}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "VAR_DIR": str(tmp),
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + os.urandom(16).hex(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": "http://127.0.0.1:9",  # the webhook path never calls Stripe
        }
    )
    os.environ.update(env)
    for key in cluster:
        os.environ.pop(key, None)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()

    # Two equal, separate sets of payments: one for the serial run, one for the concurrent run. Every
    # scenario has two events, so 85% of the posts are first deliveries, 10% duplicates, 5% forged.
    n_payments = int(total * 0.85 / 2)
    base_time = int(time.time()) - 60
    plans = {}
    for label in ("s", "c"):
        payments = make_payments(n_payments, label, rng)
        waves, expected = build_events(payments, rng, base_time)
        plans[label] = (posts_for(waves, total, rng, SECRET), expected)

    port = free_port()
    log = open(tmp / "daphne.log", "w")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port), "marketplace.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz", server)
        serial = run(base + PATH, plans["s"][0], workers=1)
        concurrent = run(base + PATH, plans["c"][0], workers=args.workers)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    checks = {label: audit(plans[label][1], run_["results"]) for label, run_ in (("s", serial), ("c", concurrent))}
    s_rate = serial["events"] / serial["seconds"]
    c_rate = concurrent["events"] / concurrent["seconds"]
    print(f"database: SQLite (temporary, {tmp}); server: daphne on 127.0.0.1:{port}; payments per run: {n_payments}")
    runs = (("s", "serial (1 connection)", serial), ("c", f"concurrent ({args.workers})", concurrent))
    for label, name, run_ in runs:
        audit_ = checks[label]
        rate = run_["events"] / run_["seconds"]
        print(
            f"{name:>22}: {run_['events']} events in {run_['seconds']:.2f} s, {rate:.0f} ev/s,"
            f" p95 {run_['p95_ms']:.1f} ms; double booked {audit_['double_booked']}, wrongly accepted"
            f" {audit_['wrongly_accepted']}, wrong final state {audit_['wrong_state']}; answers {audit_['codes']}"
        )
    print(
        f"ratio concurrent/serial: throughput {c_rate / s_rate:.2f}x ({c_rate:.0f} vs {s_rate:.0f} ev/s),"
        f" p95 latency {concurrent['p95_ms'] / serial['p95_ms']:.2f}x ({concurrent['p95_ms']:.1f} vs"
        f" {serial['p95_ms']:.1f} ms)"
    )
    result = {
        "events": concurrent["events"],
        "seconds": round(concurrent["seconds"], 2),
        "double_booked": checks["c"]["double_booked"] + checks["s"]["double_booked"],
        "wrongly_accepted": checks["c"]["wrongly_accepted"] + checks["s"]["wrongly_accepted"],
        "p95_ms": round(concurrent["p95_ms"], 1),
        "wrong_state": checks["c"]["wrong_state"] + checks["s"]["wrong_state"],
        "workers": args.workers,
        "db": "sqlite",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
