"""localstripe_webhook: registers the site with the real localstripe, and says clearly what is wrong."""

import time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from marketplace.payments import services
from marketplace.payments.models import LedgerEntry, Payment

from .helpers import WEBHOOK_SECRET


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_events_to_the_registered_url(live_server, stripe_on, fee, buyer, stripe_client):
    call_command("localstripe_webhook", live_server.url + "/webhooks/stripe/", "--name", "marketplace-tests")
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    try:
        services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)
        deadline = time.monotonic() + 15
        while not LedgerEntry.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        call_command("localstripe_webhook", "http://127.0.0.1:9/", "--name", "marketplace-tests")

    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID
    assert LedgerEntry.objects.get().amount == Decimal("1234.56")
    assert stripe_on.STRIPE_WEBHOOK_SECRET == WEBHOOK_SECRET


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET"),
        ({"STRIPE_API_BASE": "https://api.stripe.com"}, "dashboard"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:9"}, "not reachable"),
    ],
)
def test_the_command_says_what_is_wrong(stripe_on, changes, message):
    for name, value in changes.items():
        setattr(stripe_on, name, value)

    with pytest.raises(CommandError, match=message):
        call_command("localstripe_webhook", "http://127.0.0.1:8000/webhooks/stripe/")


def test_the_command_refuses_a_url_that_is_not_http(stripe_on):
    with pytest.raises(CommandError, match="not an http"):
        call_command("localstripe_webhook", "ftp://example/")
