"""A payer pays through the real page in headless Chromium: Stripe.js is localstripe's stand-in, the
PaymentIntent is localstripe's, and the ledger is booked by the webhook localstripe itself delivers
(signed with the endpoint secret) to the live server."""

import shutil
import time
from decimal import Decimal

import pytest
import requests
from django.db import connections
from django.urls import reverse

from marketplace.payments import services
from marketplace.payments.models import LedgerEntry, Payment

from .helpers import WEBHOOK_SECRET

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"chromium not found at {CHROMIUM}"),
]


@pytest.fixture
def delivered_webhooks(live_server, stripe_on, localstripe_url):
    """localstripe posts its events to this test's live server; afterwards to a closed port."""
    hook = f"{localstripe_url}/_config/webhooks/marketplace-tests"
    url = live_server.url + reverse("stripe_webhook")
    requests.post(hook, data={"url": url, "secret": WEBHOOK_SECRET}, timeout=5).raise_for_status()
    yield url
    requests.post(hook, data={"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET}, timeout=5)


@pytest.fixture
def page(live_server, buyer, client, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls are
    # synchronous all the same (Playwright's documented recipe for Django).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    buyer.set_password("pass-Lhasa-2026")
    buyer.save()
    client.force_login(buyer)
    session = client.cookies["sessionid"].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(locale="zh-CN")
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        context.set_default_timeout(20_000)
        yield context.new_page()
        browser.close()
        # Connections the test opened while Playwright's loop ran belong to that context: close them here,
        # or PostgreSQL keeps a session and the test database cannot be dropped at the end of the run.
        connections.close_all()


def fill_card(page, number: str) -> None:
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
        page.fill(f"#payment-element input[placeholder={placeholder}]", value)
    page.fill("#payment-element input[placeholder=postal_code]", "850000")


def open_checkout(page, live_server, payment):
    page.goto(live_server.url + reverse("payments:detail", args=[payment.pk]))
    page.click("#pay-button")
    page.wait_for_selector("#payment-element input[placeholder=number]")


def wait_booked(page):
    page.wait_for_selector('#booking-status[data-booked="true"]', timeout=30_000)


@pytest.fixture
def browser_fee(enterprise, staff):
    return services.service_fee_issue(payer=enterprise, fee_kind="matching", amount=Decimal("88.80"), by=staff)


def test_paying_by_card_through_the_page_ends_booked(browser_fee, delivered_webhooks, page, live_server):
    open_checkout(page, live_server, browser_fee)

    fill_card(page, "4242424242424242")
    page.click("#submit-payment")
    page.wait_for_url("**/return/?payment_intent=pi_*")
    assert page.get_attribute("#live-status", "data-status") == "succeeded"
    wait_booked(page)

    browser_fee.refresh_from_db()
    assert browser_fee.status == Payment.Status.PAID
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount) == ("charge", Decimal("88.80"))


def test_three_d_secure_through_the_page(browser_fee, delivered_webhooks, page, live_server):
    open_checkout(page, live_server, browser_fee)

    fill_card(page, "4000002500003155")
    page.click("#submit-payment")
    page.click("text=Complete authentication")  # the stand-in's 3-D Secure dialog
    page.wait_for_url("**/return/?payment_intent=pi_*")
    wait_booked(page)

    browser_fee.refresh_from_db()
    assert browser_fee.status == Payment.Status.PAID


def test_a_failed_three_d_secure_is_shown_and_nothing_is_booked(browser_fee, delivered_webhooks, page, live_server):
    open_checkout(page, live_server, browser_fee)

    fill_card(page, "4000002500003155")
    page.click("#submit-payment")
    page.click("text=Fail authentication")
    page.wait_for_url("**/return/?payment_intent=pi_*")

    assert page.get_attribute("#live-status", "data-status") == "requires_payment_method"
    assert "重新支付" in page.content()
    assert not LedgerEntry.objects.exists()


def test_a_declined_card_is_shown_on_the_page(browser_fee, delivered_webhooks, page, live_server):
    open_checkout(page, live_server, browser_fee)

    fill_card(page, "4000000000000341")
    page.click("#submit-payment")

    message = page.wait_for_selector("#payment-message:not([hidden])")
    assert "银行卡被拒绝" in message.inner_text()
    # localstripe's payment_intent.payment_failed event arrives a second later and marks the failure.
    deadline = time.monotonic() + 15
    while browser_fee.status != Payment.Status.FAILED and time.monotonic() < deadline:
        time.sleep(0.2)
        browser_fee.refresh_from_db()
    assert browser_fee.status == Payment.Status.FAILED
    assert not LedgerEntry.objects.exists()
