"""The payments API under /api/payments/: same rules as the pages, bad input a 400 naming the problem."""

from decimal import Decimal

import pytest

from marketplace.payments import services
from marketplace.payments.models import Payment, PaymentAttempt, Refund
from tests.factories import OrganisationFactory, member_of

from .helpers import event_payload, intent_dict, post_event

pytestmark = pytest.mark.django_db


def test_status_says_whether_payments_are_on(client, stripe_on, settings):
    on = client.get("/api/payments/status/").json()
    settings.STRIPE_SECRET_KEY = ""
    off = client.get("/api/payments/status/").json()

    assert on == {
        "configured": True,
        "publishable_key": "pk_test_marketplace",
        "methods": ["card", "alipay", "wechat_pay"],
        "currency": "cny",
    }
    assert off["configured"] is False and off["publishable_key"] is None


def test_list_and_detail_for_the_payer(client, fee, buyer, stripe_on):
    client.force_login(buyer)

    listing = client.get("/api/payments/payments/").json()
    detail = client.get(f"/api/payments/payments/{fee.pk}/").json()

    assert [p["id"] for p in listing["results"]] == [fee.pk]
    assert detail["amount"] == "1234.56" and detail["currency"] == "cny"
    assert detail["status"] == "open" and detail["paid"] == "0.00" and detail["ledger"] == []


def test_strangers_and_anonymous_users_get_nothing(client, fee, stripe_on):
    assert client.get("/api/payments/payments/").status_code == 403
    stranger = member_of(OrganisationFactory(kind="enterprise"), username="stranger")
    client.force_login(stranger)

    assert client.get("/api/payments/payments/").json()["results"] == []
    assert client.get(f"/api/payments/payments/{fee.pk}/").status_code == 404


def test_an_unknown_status_filter_is_a_400(client, buyer, stripe_on):
    client.force_login(buyer)

    response = client.get("/api/payments/payments/?status=stolen")

    assert response.status_code == 400
    assert "stolen" in response.json()["status"][0]


def test_start_gives_the_client_secret_and_reuses_the_intent(client, fee, buyer, stripe_on):
    client.force_login(buyer)

    first = client.post(f"/api/payments/payments/{fee.pk}/start/")
    second = client.post(f"/api/payments/payments/{fee.pk}/start/")

    assert first.status_code == second.status_code == 201
    assert first.json()["payment_intent"] == second.json()["payment_intent"]
    assert first.json()["client_secret"].startswith(first.json()["payment_intent"])
    assert PaymentAttempt.objects.count() == 1


def test_start_without_keys_is_a_400_that_says_so(client, fee, buyer, stripe_off):
    client.force_login(buyer)

    response = client.post(f"/api/payments/payments/{fee.pk}/start/")

    assert response.status_code == 400
    assert "尚未开通" in str(response.json())


def test_fees_and_refunds_are_for_staff(client, fee, buyer, enterprise, stripe_on):
    client.force_login(buyer)

    assert (
        client.post(
            "/api/payments/payments/fees/", {"payer": enterprise.pk, "fee_kind": "listing", "amount": "10"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/payments/payments/{fee.pk}/refunds/", {"amount": "1.00", "reason": "x"}).status_code == 403
    )


@pytest.mark.parametrize(
    "data",
    [
        {"fee_kind": "listing", "amount": "10"},
        {"payer": 999999, "fee_kind": "listing", "amount": "10"},
        {"fee_kind": "nonsense", "amount": "10"},
        {"fee_kind": "listing", "amount": "0.001"},
        {"fee_kind": "listing", "amount": "1000000.00"},
    ],
)
def test_a_bad_fee_is_a_400_and_saves_nothing(client, staff, enterprise, stripe_on, data):
    client.force_login(staff)
    data = {"payer": enterprise.pk, **data} if "payer" not in data and data.get("amount") != "10" else data

    response = client.post("/api/payments/payments/fees/", data)

    assert response.status_code == 400
    assert response.json()
    assert not Payment.objects.exists()


def test_staff_bill_and_refund_through_the_api(client, staff, buyer, enterprise, stripe_client):
    client.force_login(staff)
    created = client.post(
        "/api/payments/payments/fees/", {"payer": enterprise.pk, "fee_kind": "contract_registration", "amount": "300"}
    )
    assert created.status_code == 201
    payment = Payment.objects.get(pk=created.json()["id"])
    attempt = services.payment_start(payment=payment, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)
    intent = intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))
    post_event(client, event_payload("payment_intent.succeeded", intent))

    too_much = client.post(f"/api/payments/payments/{payment.pk}/refunds/", {"amount": "300.01", "reason": "多退"})
    refund = client.post(f"/api/payments/payments/{payment.pk}/refunds/", {"amount": "100", "reason": "部分服务未提供"})
    detail = client.get(f"/api/payments/payments/{payment.pk}/").json()

    assert too_much.status_code == 400
    assert refund.status_code == 201 and refund.json()["status"] == "submitted"
    assert Refund.objects.count() == 1
    assert detail["status"] == "paid" and detail["paid"] == "300.00" and detail["refunded"] == "0.00"
    assert [e["kind"] for e in detail["ledger"]] == ["charge"]
    assert Decimal(detail["refunds"][0]["amount"]) == Decimal("100")
