"""Seed a scratch database for the real-server tests and the WebSocket benchmark.

    echo '{"pairs": 500}' | DATABASE_URL=... python -m tests.messaging.seed

Creates, per pair, an enterprise with a buyer, a university with a seller, a published technology and the
buyer's conversation about it; every user gets a logged-in session. Bulk inserts, so 1,000 users take a
second or two. Prints one JSON line: {"pairs": [{"conversation", "technology", "buyer": {"id", "session"},
"seller": {...}}], "agency": {...} or null}.
"""

import json
import sys

import django


def seed(spec: dict) -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from listings.models import ListingStatus, Technology
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.accounts.models import Membership, Organisation, User
    from marketplace.messaging.models import Conversation, Participant

    pairs = int(spec.get("pairs", 1))
    base = Organisation.objects.count()  # a second seeding of the same database continues the numbering
    now = timezone.now()

    def org(n: int, kind: str, name: str) -> Organisation:
        return Organisation(
            name=name,
            kind=kind,
            region=Organisation.Region.TIBET,
            credit_code=make_credit_code(f"91540100MA7{kind[0].upper()}{n:05d}"),
            verification=Organisation.Verification.VERIFIED,
            verified_at=now,
        )

    numbers = range(base, base + pairs)
    buyers_orgs = Organisation.objects.bulk_create([org(n, "enterprise", f"企业{n}") for n in numbers])
    sellers_orgs = Organisation.objects.bulk_create([org(n, "university", f"高校{n}") for n in numbers])
    users = User.objects.bulk_create(
        [User(username=f"buyer{n}", display_name=f"买方{n}", password="!") for n in numbers]
        + [User(username=f"seller{n}", display_name=f"卖方{n}", password="!") for n in numbers]
    )
    buyers, sellers = users[:pairs], users[pairs:]
    Membership.objects.bulk_create(
        [Membership(user=u, organisation=o, role="owner") for u, o in zip(buyers, buyers_orgs, strict=True)]
        + [Membership(user=u, organisation=o, role="owner") for u, o in zip(sellers, sellers_orgs, strict=True)]
    )
    technologies = Technology.objects.bulk_create(
        [
            Technology(
                organisation=o,
                region=o.region,
                title=f"高原光伏运维技术{n}",
                summary="高海拔光伏电站智能运维",
                description="适用于海拔4000米以上光伏电站的巡检与清洗。",
                field="energy",
                maturity="pilot",
                trl=6,
                status=ListingStatus.PUBLISHED,
                published_at=now,
            )
            for n, o in enumerate(sellers_orgs)
        ]
    )
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                technology=t,
                buyer=b,
                seller=s,
                title=f"科技成果:{t.title}",
                topic_key=Conversation.make_topic_key(technology_id=t.pk, need_id=None, buyer_id=b.pk, seller_id=s.pk),
            )
            for t, b, s in zip(technologies, buyers_orgs, sellers_orgs, strict=True)
        ]
    )
    Participant.objects.bulk_create(
        [Participant(conversation=c, organisation=c.buyer, role="buyer") for c in conversations]
        + [Participant(conversation=c, organisation=c.seller, role="seller") for c in conversations]
    )

    def session(user) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    return {
        "pairs": [
            {
                "conversation": c.pk,
                "technology": c.technology_id,
                "buyer": {"id": b.pk, "session": session(b), "name": b.display_name},
                "seller": {"id": s.pk, "session": session(s), "name": s.display_name},
            }
            for c, b, s in zip(conversations, buyers, sellers, strict=True)
        ]
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(seed(json.loads(sys.stdin.read() or "{}"))))
