"""Payments tests run against a real localstripe (scripts/services.sh up starts it on 127.0.0.1:58420;
`make test` does so before both profiles) and sign webhook payloads with the stripe library's own helper."""

import os
from decimal import Decimal

import pytest
import requests
import stripe

from marketplace.payments import services
from tests.factories import UserFactory

from .helpers import WEBHOOK_SECRET

LOCALSTRIPE = "http://127.0.0.1:58420"


def localstripe_base() -> str:
    # The cluster profile gets STRIPE_API_BASE from services.sh env; the embedded one uses the default port.
    return os.environ.get("STRIPE_API_BASE") or LOCALSTRIPE


@pytest.fixture(scope="session")
def localstripe_url():
    base = localstripe_base()
    try:
        body = requests.get(f"{base}/js.stripe.com/v3/", timeout=3).text
    except requests.RequestException as exc:
        pytest.fail(f"localstripe is not reachable at {base} ({exc}); start it with: bash scripts/services.sh up")
    if "localstripe" not in body:
        pytest.fail(f"{base} answers, but is not localstripe")
    return base


@pytest.fixture
def stripe_on(settings, localstripe_url):
    """Payments switched on, the stripe library pointed at localstripe."""
    settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_marketplace"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    return settings


@pytest.fixture
def stripe_off(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    return settings


@pytest.fixture
def stripe_client(stripe_on):
    return stripe.StripeClient("sk_test_marketplace", base_addresses={"api": stripe_on.STRIPE_API_BASE})


@pytest.fixture
def staff(db):
    return UserFactory(username="payments-staff", is_staff=True)


@pytest.fixture
def fee(buyer, enterprise, staff):
    """A ¥1,234.56 matching fee the buyer's enterprise owes the platform."""
    return services.service_fee_issue(
        payer=enterprise, fee_kind="matching", amount=Decimal("1234.56"), title="对接撮合服务费", by=staff
    )
