"""Services against the real localstripe: PaymentIntents with idempotency keys, customers, refunds, rules."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from marketplace.payments import services
from marketplace.payments.models import LedgerEntry, Payment, PaymentAttempt, Refund, StripeCustomer

from .helpers import event_payload, intent_dict, post_event

pytestmark = pytest.mark.django_db


def intents_of(stripe_client, customer_id: str) -> list:
    listed = stripe_client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [pi for pi in listed if pi.customer == customer_id]


# ---------------------------------------------------------------- starting a payment


def test_start_creates_a_cny_payment_intent_for_exactly_the_amount(fee, buyer, stripe_client):
    attempt = services.payment_start(payment=fee, by=buyer)

    intent = stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id)
    assert (intent.amount, intent.currency) == (123456, "cny")
    assert intent.metadata["payment_id"] == str(fee.pk)
    assert intent.customer == StripeCustomer.objects.get(organisation=fee.payer).customer_id
    assert attempt.client_secret == intent.client_secret
    assert attempt.methods == ["card", "alipay", "wechat_pay"]
    assert attempt.idempotency_key.startswith(f"pi-{fee.pk}-")
    assert attempt.status == PaymentAttempt.Status.REQUIRES_PAYMENT_METHOD


def test_pressing_pay_again_reuses_the_open_payment_intent(fee, buyer, stripe_client):
    first = services.payment_start(payment=fee, by=buyer)
    second = services.payment_start(payment=fee, by=buyer)
    third = services.payment_start(payment=fee, by=buyer)

    assert first.pk == second.pk == third.pk
    assert PaymentAttempt.objects.count() == 1
    customer = StripeCustomer.objects.get().customer_id
    assert [pi.id for pi in intents_of(stripe_client, customer)] == [first.payment_intent_id]


def test_an_attempt_whose_stripe_call_failed_is_retried_with_the_same_key(fee, buyer, stripe_on, settings):
    # Stripe unreachable: the attempt row (and its idempotency key) stays, nothing else is saved.
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(ValidationError, match="稍后重试"):
        services.payment_start(payment=fee, by=buyer)
    pending = PaymentAttempt.objects.get()
    assert pending.status == PaymentAttempt.Status.CREATING and pending.payment_intent_id is None

    settings.STRIPE_API_BASE = reachable
    attempt = services.payment_start(payment=fee, by=buyer)

    assert attempt.pk == pending.pk
    assert attempt.idempotency_key == pending.idempotency_key
    assert attempt.payment_intent_id.startswith("pi_")


def test_one_stripe_customer_per_paying_organisation(fee, buyer, enterprise, staff, stripe_on):
    other = services.service_fee_issue(payer=enterprise, fee_kind="listing", amount=Decimal("200.00"), by=staff)

    services.payment_start(payment=fee, by=buyer)
    services.payment_start(payment=other, by=buyer)

    assert StripeCustomer.objects.filter(organisation=enterprise).count() == 1


def test_without_keys_payments_say_they_are_not_configured(fee, buyer, stripe_off):
    with pytest.raises(ValidationError, match="尚未开通"):
        services.payment_start(payment=fee, by=buyer)

    assert not PaymentAttempt.objects.exists()


def test_only_members_of_the_paying_organisation_can_pay(fee, seller, stripe_on):
    with pytest.raises(PermissionDenied):
        services.payment_start(payment=fee, by=seller)

    assert not PaymentAttempt.objects.exists()


def test_a_cancelled_payment_cannot_be_paid(fee, buyer, staff, stripe_on):
    services.payment_cancel(payment=fee, by=staff)

    with pytest.raises(ValidationError, match="已取消"):
        services.payment_start(payment=fee, by=buyer)


def test_after_a_decline_a_new_intent_is_made_and_the_old_one_cancelled(fee, buyer, stripe_client):
    first = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4000000000000341", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )

    answer = services.attempt_pay_with(attempt=first, payment_method=card.card.id, by=buyer)

    assert answer == {"status": "failed", "error": "银行卡被拒绝(Your card was declined.)"}
    first.refresh_from_db()
    assert first.last_error == "银行卡被拒绝(Your card was declined.)"
    second = services.payment_start(payment=fee, by=buyer)
    assert second.pk != first.pk
    assert stripe_client.v1.payment_intents.retrieve(first.payment_intent_id).status == "canceled"


def test_paying_with_a_good_card_succeeds_at_stripe_but_books_nothing_by_itself(fee, buyer, stripe_client):
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )

    answer = services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)

    assert answer["status"] == "succeeded"
    assert not LedgerEntry.objects.exists()  # the ledger waits for the signed event
    fee.refresh_from_db()
    assert fee.status == Payment.Status.OPEN


def test_a_three_d_secure_card_asks_for_action(fee, buyer, stripe_client):
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )

    answer = services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)

    assert answer["status"] == "requires_action"
    assert answer["client_secret"] == attempt.client_secret


@pytest.mark.parametrize("bad", ["", "4242424242424242", "pm_<script>", "x" * 300, "ch_123"])
def test_a_malformed_payment_method_is_refused(fee, buyer, stripe_on, bad):
    attempt = services.payment_start(payment=fee, by=buyer)

    with pytest.raises(ValidationError):
        services.attempt_pay_with(attempt=attempt, payment_method=bad, by=buyer)


# ---------------------------------------------------------------- fees


def test_only_staff_issue_service_fees(enterprise, buyer):
    with pytest.raises(PermissionDenied):
        services.service_fee_issue(payer=enterprise, fee_kind="listing", amount=Decimal("200.00"), by=buyer)

    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("amount", "fee_kind"),
    [
        (Decimal("12.345"), "listing"),
        (Decimal("0"), "listing"),
        (Decimal("1000000"), "listing"),
        (200, "listing"),
        (Decimal("10"), "bribe"),
    ],
)
def test_a_fee_that_cannot_be_charged_is_refused_and_nothing_saved(enterprise, staff, amount, fee_kind):
    with pytest.raises(ValidationError):
        services.service_fee_issue(payer=enterprise, fee_kind=fee_kind, amount=amount, by=staff)

    assert not Payment.objects.exists()


# ---------------------------------------------------------------- refunds


@pytest.fixture
def booked(client, fee, buyer, stripe_client):
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)
    intent = intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))
    assert post_event(client, event_payload("payment_intent.succeeded", intent)).status_code == 200
    fee.refresh_from_db()
    return fee


def test_nothing_to_refund_before_the_charge_is_booked(fee, staff, stripe_on):
    with pytest.raises(ValidationError, match="尚无入账"):
        services.refund_request(payment=fee, amount=Decimal("1.00"), reason="测试", by=staff)

    assert not Refund.objects.exists()


def test_only_staff_refund(booked, buyer):
    with pytest.raises(PermissionDenied):
        services.refund_request(payment=booked, amount=Decimal("1.00"), reason="我想退款", by=buyer)


def test_a_refund_above_what_is_left_is_refused(booked, staff, stripe_client):
    services.refund_request(payment=booked, amount=Decimal("1000.00"), reason="部分退款", by=staff)

    with pytest.raises(ValidationError, match=r"234\.56"):
        services.refund_request(payment=booked, amount=Decimal("300.00"), reason="再退", by=staff)

    assert Refund.objects.count() == 1


def test_a_refund_needs_a_reason(booked, staff):
    with pytest.raises(ValidationError):
        services.refund_request(payment=booked, amount=Decimal("1.00"), reason="  ", by=staff)

    assert not Refund.objects.exists()


def test_a_refund_that_does_not_reach_stripe_is_recorded_as_failed(booked, staff, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(ValidationError, match="Stripe"):
        services.refund_request(payment=booked, amount=Decimal("1.00"), reason="测试", by=staff)

    refund = Refund.objects.get()
    assert refund.status == Refund.Status.FAILED and refund.error
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert services.refundable_amount(booked) == Decimal("1234.56")


def test_a_paid_payment_cannot_be_cancelled(booked, staff):
    with pytest.raises(ValidationError):
        services.payment_cancel(payment=booked, by=staff)

    booked.refresh_from_db()
    assert booked.status == Payment.Status.PAID
