"""Concurrent deliveries of the same events, each request on its own thread and database connection."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from marketplace.payments import services
from marketplace.payments.models import LedgerEntry, Payment, StripeEvent

from .helpers import event_payload, intent_dict, signed

pytestmark = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="the in-memory SQLite test database is not shared by threads"
)


@pytest.mark.django_db(transaction=True)
def test_the_same_and_different_success_events_at_once_book_one_charge(stripe_client, fee, buyer):
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)
    intent = intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))
    same = event_payload("payment_intent.succeeded", intent)
    posts = [signed(same) for _ in range(8)] + [signed(event_payload("payment_intent.succeeded", intent))] * 4
    posts += [signed(event_payload("payment_intent.processing", {**intent, "status": "processing"}))] * 4

    def deliver(post):
        body, header = post
        try:
            return (
                Client()
                .post("/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
                .status_code
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(deliver, posts))

    assert codes == [200] * len(posts)
    assert LedgerEntry.objects.count() == 1
    assert StripeEvent.objects.count() == 3  # three distinct event ids
    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID
