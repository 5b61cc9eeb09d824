"""The webhook view: signatures, replays, order, mismatches — the only way into the ledger.

PaymentIntents are real (created in localstripe through our services and paid with test cards); the
events around them are signed with stripe.WebhookSignature.generate_signature_header.
"""

import contextlib
import json
import time
from decimal import Decimal

import pytest
import stripe

from marketplace.payments import services
from marketplace.payments.models import LedgerEntry, Payment, PaymentAttempt, Refund, StripeEvent

from .helpers import event_payload, intent_dict, post_event, signed

pytestmark = pytest.mark.django_db

CARD_OK = "4242424242424242"


def pay_with_card(stripe_client, attempt, number=CARD_OK):
    """What the payer's browser does: a card, set on the PaymentIntent, confirmed. Returns the PI as a dict."""
    pm = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    stripe_client.v1.payment_intents.update(attempt.payment_intent_id, params={"payment_method": pm.id})
    with contextlib.suppress(stripe.CardError):  # a decline: the PaymentIntent says requires_payment_method
        stripe_client.v1.payment_intents.confirm(attempt.payment_intent_id)
    return intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))


@pytest.fixture
def started(stripe_on, fee, buyer):
    return services.payment_start(payment=fee, by=buyer)


@pytest.fixture
def paid_intent(started, stripe_client):
    intent = pay_with_card(stripe_client, started)
    assert intent["status"] == "succeeded"
    return intent


def ledger_state():
    return sorted(LedgerEntry.objects.values_list("kind", "amount", "stripe_object_id"))


# ---------------------------------------------------------------- signatures


def test_succeeded_event_books_the_charge_once(client, fee, paid_intent):
    response = post_event(client, event_payload("payment_intent.succeeded", paid_intent))

    assert response.status_code == 200
    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.stripe_object_id) == ("charge", Decimal("1234.56"), paid_intent["id"])
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.BOOKED


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "tampered_body", "no_header", "garbage_header", "stale_timestamp", "other_scheme"],
)
def test_a_bad_signature_is_a_400_and_changes_nothing(client, fee, paid_intent, tamper):
    payload = event_payload("payment_intent.succeeded", paid_intent)
    body, header = signed(payload)
    if tamper == "wrong_secret":
        body, header = signed(payload, secret="whsec_someone_else")
    elif tamper == "tampered_body":
        forged = json.loads(body)
        forged["data"]["object"]["amount"] = 1
        body = json.dumps(forged)
    elif tamper == "no_header":
        header = ""
    elif tamper == "garbage_header":
        header = "not a signature"
    elif tamper == "stale_timestamp":
        body, header = signed(payload, timestamp=int(time.time()) - 3600)
    elif tamper == "other_scheme":
        header = header.replace("v1=", "v0=")

    response = post_event(client, payload, header=header, body=body)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not LedgerEntry.objects.exists()
    fee.refresh_from_db()
    assert fee.status == Payment.Status.OPEN


def test_a_signed_body_that_is_not_json_is_a_400(client, stripe_on):
    body = "this is not json"
    header = stripe.WebhookSignature.generate_signature_header(body, stripe_on.STRIPE_WEBHOOK_SECRET)

    response = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_signed_event_without_an_object_is_a_400(client, stripe_on):
    payload = event_payload("payment_intent.succeeded", {})
    payload["data"] = {}

    response = post_event(client, payload)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_webhooks_without_a_configured_secret_are_refused(client, stripe_off):
    response = post_event(client, event_payload("payment_intent.succeeded", {"id": "pi_x"}), secret="whsec_any")

    assert response.status_code == 503
    assert not StripeEvent.objects.exists()


def test_the_webhook_endpoint_only_takes_post(client, stripe_on):
    assert client.get("/webhooks/stripe/").status_code == 405


# ---------------------------------------------------------------- once only


def test_an_unhandled_event_type_is_a_200_and_changes_nothing(client, fee, paid_intent):
    response = post_event(client, event_payload("customer.updated", {"id": "cus_123", "object": "customer"}))

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.outcome == StripeEvent.Outcome.IGNORED
    assert not LedgerEntry.objects.exists()
    fee.refresh_from_db()
    assert fee.status == Payment.Status.OPEN


def test_a_replayed_event_changes_nothing(client, fee, paid_intent):
    payload = event_payload("payment_intent.succeeded", paid_intent)
    assert post_event(client, payload).status_code == 200
    before = ledger_state()

    for _ in range(3):
        response = post_event(client, payload)  # the same event id, signed again as Stripe's retries are
        assert response.status_code == 200
        assert "duplicate" in response.json()["message"]

    assert ledger_state() == before
    assert StripeEvent.objects.count() == 1


def test_two_different_success_events_for_one_intent_book_once(client, fee, paid_intent):
    post_event(client, event_payload("payment_intent.succeeded", paid_intent))

    response = post_event(client, event_payload("payment_intent.succeeded", paid_intent))

    assert response.status_code == 200
    assert LedgerEntry.objects.count() == 1
    assert StripeEvent.objects.filter(outcome=StripeEvent.Outcome.STALE).count() == 1


def test_an_event_for_an_unknown_intent_is_stored_and_changes_nothing(client, stripe_on, fee):
    intent = {"id": "pi_not_ours", "object": "payment_intent", "amount": 100, "currency": "cny", "status": "succeeded"}

    response = post_event(client, event_payload("payment_intent.succeeded", intent))

    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.UNMATCHED
    assert not LedgerEntry.objects.exists()


# ---------------------------------------------------------------- order


def test_succeeded_before_processing_ends_succeeded(client, fee, started, paid_intent):
    now = int(time.time())
    processing = {**paid_intent, "status": "processing"}

    post_event(client, event_payload("payment_intent.succeeded", paid_intent, created=now))
    post_event(client, event_payload("payment_intent.processing", processing, created=now - 5))

    started.refresh_from_db()
    fee.refresh_from_db()
    assert started.status == PaymentAttempt.Status.SUCCEEDED
    assert fee.status == Payment.Status.PAID
    assert LedgerEntry.objects.count() == 1


def test_an_older_failure_arriving_after_success_does_not_undo_it(client, fee, started, paid_intent):
    now = int(time.time())
    failed = {**paid_intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}

    post_event(client, event_payload("payment_intent.succeeded", paid_intent, created=now))
    post_event(client, event_payload("payment_intent.payment_failed", failed, created=now - 30))

    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID


def test_failure_then_success_of_the_same_intent_ends_paid(client, fee, started, paid_intent):
    now = int(time.time())
    failed = {**paid_intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}

    post_event(client, event_payload("payment_intent.payment_failed", failed, created=now - 30))
    fee.refresh_from_db()
    assert fee.status == Payment.Status.FAILED
    post_event(client, event_payload("payment_intent.succeeded", paid_intent, created=now))

    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID


def test_an_old_processing_event_after_a_newer_failure_keeps_the_failure(client, fee, started, stripe_client):
    intent = pay_with_card(stripe_client, started, number="4000000000000341")  # declined when charged
    assert intent["status"] == "requires_payment_method"
    now = int(time.time())

    post_event(client, event_payload("payment_intent.payment_failed", intent, created=now))
    post_event(client, event_payload("payment_intent.processing", {**intent, "status": "processing"}, created=now - 9))

    started.refresh_from_db()
    fee.refresh_from_db()
    assert started.status == PaymentAttempt.Status.FAILED
    assert started.last_error == "Your card was declined."
    assert fee.status == Payment.Status.FAILED
    assert not LedgerEntry.objects.exists()


def test_three_d_secure_requires_action_then_success(client, fee, started, stripe_client):
    intent = pay_with_card(stripe_client, started, number="4000002500003155")
    assert intent["status"] == "requires_action"
    post_event(client, event_payload("payment_intent.requires_action", intent, created=int(time.time()) - 2))
    fee.refresh_from_db()
    assert fee.status == Payment.Status.PENDING

    # The payer completes 3-D Secure (what Stripe.js does with the client secret).
    stripe_client.raw_request(
        "post",
        f"/v1/payment_intents/{started.payment_intent_id}/_authenticate",
        client_secret=started.client_secret,
        success="true",
    )
    done = intent_dict(stripe_client.v1.payment_intents.retrieve(started.payment_intent_id))
    assert done["status"] == "succeeded"
    post_event(client, event_payload("payment_intent.succeeded", done))

    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID


# ---------------------------------------------------------------- mismatches


@pytest.mark.parametrize(
    "change", [{"amount": 123457}, {"amount": 100}, {"currency": "usd"}, {"amount_received": 1}], ids=str
)
def test_a_mismatch_is_flagged_for_staff_and_never_booked(client, fee, paid_intent, change):
    response = post_event(client, event_payload("payment_intent.succeeded", {**paid_intent, **change}))

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.outcome == StripeEvent.Outcome.FLAGGED
    assert stored.payment == fee
    assert not LedgerEntry.objects.exists()
    fee.refresh_from_db()
    assert fee.needs_review
    assert fee.status != Payment.Status.PAID


def test_a_second_paid_intent_for_a_paid_payment_is_flagged(client, fee, buyer, paid_intent, stripe_client):
    post_event(client, event_payload("payment_intent.succeeded", paid_intent))
    # An attempt that should not exist: a second PaymentIntent for the same payment, paid too.
    other = PaymentAttempt.objects.create(
        payment=fee, idempotency_key="second", amount_minor=123456, payment_intent_id="pi_second"
    )
    second = {**paid_intent, "id": other.payment_intent_id}

    response = post_event(client, event_payload("payment_intent.succeeded", second))

    assert response.status_code == 200
    assert StripeEvent.objects.get(object_id="pi_second").outcome == StripeEvent.Outcome.FLAGGED
    assert LedgerEntry.objects.count() == 1


def test_staff_resolve_a_flag_without_booking(client, fee, paid_intent, staff):
    post_event(client, event_payload("payment_intent.succeeded", {**paid_intent, "amount": 1}))
    flagged = StripeEvent.objects.get(outcome=StripeEvent.Outcome.FLAGGED)

    services.flagged_event_resolve(event=flagged, note="已与 Stripe 核对,金额被篡改,未入账", by=staff)

    fee.refresh_from_db()
    assert not fee.needs_review
    assert not LedgerEntry.objects.exists()


# ---------------------------------------------------------------- refunds


@pytest.fixture
def booked(client, fee, paid_intent):
    post_event(client, event_payload("payment_intent.succeeded", paid_intent))
    fee.refresh_from_db()
    assert fee.status == Payment.Status.PAID
    return fee


def real_refund(stripe_client, refund: Refund) -> dict:
    """The refund as localstripe has it (it sends no refund events: we sign them)."""
    found = stripe_client.v1.refunds.list(params={"payment_intent": refund.attempt.payment_intent_id})
    return next(r.to_dict(for_json=True) for r in found.data if r.id == refund.stripe_refund_id)


def test_a_staff_refund_is_booked_when_its_event_arrives(client, booked, staff, stripe_client):
    refund = services.refund_request(payment=booked, amount=Decimal("234.56"), reason="服务未完成", by=staff)
    assert refund.status == Refund.Status.SUBMITTED
    assert LedgerEntry.objects.count() == 1  # nothing booked by the request itself

    obj = real_refund(stripe_client, refund)
    assert (obj["amount"], obj["currency"], obj["status"]) == (23456, "cny", "succeeded")
    post_event(client, event_payload("refund.created", obj))
    post_event(client, event_payload("refund.updated", obj))  # a second event about the same refund

    booked.refresh_from_db()
    refund.refresh_from_db()
    assert booked.status == Payment.Status.PARTIALLY_REFUNDED
    assert refund.status == Refund.Status.SUCCEEDED
    assert LedgerEntry.objects.filter(kind="refund").get().amount == Decimal("234.56")


def test_charge_refunded_from_localstripe_books_each_refund_once(client, booked, staff, stripe_client):
    first = services.refund_request(payment=booked, amount=Decimal("1000.00"), reason="部分退款", by=staff)
    second = services.refund_request(payment=booked, amount=Decimal("234.56"), reason="余款退回", by=staff)
    charge = stripe_client.v1.charges.retrieve(booked.attempts.get().charge_id).to_dict(for_json=True)
    assert charge["amount_refunded"] == 123456

    post_event(client, event_payload("charge.refunded", charge))
    post_event(client, event_payload("charge.refunded", charge))

    booked.refresh_from_db()
    assert booked.status == Payment.Status.REFUNDED
    refunds = LedgerEntry.objects.filter(kind="refund")
    assert sorted(refunds.values_list("stripe_object_id", flat=True)) == sorted(
        [first.stripe_refund_id, second.stripe_refund_id]
    )


def test_a_refund_larger_than_what_was_paid_is_flagged(client, booked, stripe_client):
    charge_id = booked.attempts.get().charge_id
    refund = {
        "id": "re_forged",
        "object": "refund",
        "amount": 999999,
        "currency": "cny",
        "status": "succeeded",
        "charge": charge_id,
        "payment_intent": booked.attempts.get().payment_intent_id,
    }

    post_event(client, event_payload("refund.created", refund))

    assert StripeEvent.objects.get(type="refund.created").outcome == StripeEvent.Outcome.FLAGGED
    assert not LedgerEntry.objects.filter(kind="refund").exists()


def test_a_failed_refund_is_recorded_and_not_booked(client, booked, staff, stripe_client):
    refund = services.refund_request(payment=booked, amount=Decimal("10.00"), reason="测试", by=staff)
    obj = {**real_refund(stripe_client, refund), "status": "failed", "failure_reason": "lost_or_stolen_card"}

    post_event(client, event_payload("refund.failed", obj))

    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert refund.error == "lost_or_stolen_card"
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    booked.refresh_from_db()
    assert booked.status == Payment.Status.PAID


# ---------------------------------------------------------------- alipay and wechat_pay (not in localstripe)


@pytest.mark.parametrize("method", ["alipay", "wechat_pay"])
def test_an_alipay_or_wechat_payment_processing_then_succeeded_is_booked_with_its_method(
    client, fee, started, stripe_on, method
):
    # localstripe has no alipay / wechat_pay PaymentMethods: the events are Stripe's shapes for them,
    # around our real PaymentIntent id and amount, signed by the library.
    now = int(time.time())
    base = {
        "id": started.payment_intent_id,
        "object": "payment_intent",
        "amount": started.amount_minor,
        "currency": "cny",
        "payment_method_types": ["card", "alipay", "wechat_pay"],
    }
    action = {"type": "wechat_pay_display_qr_code"} if method == "wechat_pay" else {"type": "alipay_handle_redirect"}
    waiting = {**base, "status": "requires_action", "next_action": action}
    charge = {"id": "ch_cn_1", "object": "charge", "payment_method_details": {"type": method}}
    done = {**base, "status": "succeeded", "amount_received": started.amount_minor, "latest_charge": charge}

    post_event(client, event_payload("payment_intent.requires_action", waiting, created=now - 20))
    post_event(client, event_payload("payment_intent.processing", {**base, "status": "processing"}, created=now - 10))
    fee.refresh_from_db()
    assert fee.status == Payment.Status.PENDING
    post_event(client, event_payload("payment_intent.succeeded", done, created=now))

    fee.refresh_from_db()
    entry = LedgerEntry.objects.get()
    assert fee.status == Payment.Status.PAID
    assert (entry.method_type, entry.amount) == (method, Decimal("1234.56"))
    started.refresh_from_db()
    assert started.charge_id == "ch_cn_1"


def test_a_wechat_payment_that_expires_unpaid_ends_failed(client, fee, started, stripe_on):
    base = {"id": started.payment_intent_id, "object": "payment_intent", "amount": started.amount_minor}
    base["currency"] = "cny"
    now = int(time.time())
    expired = {**base, "status": "requires_payment_method", "last_payment_error": {"code": "payment_intent_expired"}}

    post_event(
        client, event_payload("payment_intent.requires_action", {**base, "status": "requires_action"}, created=now - 60)
    )
    post_event(client, event_payload("payment_intent.payment_failed", expired, created=now))

    fee.refresh_from_db()
    started.refresh_from_db()
    assert fee.status == Payment.Status.FAILED
    assert started.last_error == "payment_intent_expired"
    assert not LedgerEntry.objects.exists()
