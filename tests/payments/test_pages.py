"""Payment pages: who sees what, the pay → checkout → return path, staff forms, bad input."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.payments import services
from marketplace.payments.models import Payment, PaymentAttempt, Refund
from tests.factories import OrganisationFactory, member_of

from .helpers import event_payload, intent_dict, post_event

pytestmark = pytest.mark.django_db


def test_the_payer_sees_the_fee_and_a_pay_button(client, fee, buyer, stripe_on):
    client.force_login(buyer)

    response = client.get(reverse("payments:detail", args=[fee.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "对接撮合服务费" in html and "¥1234.56" in html
    assert 'id="pay-button"' in html
    assert "payments-not-configured" not in html


def test_the_list_shows_the_users_payments_only(client, fee, buyer, stripe_on):
    other = OrganisationFactory(kind="enterprise")
    stranger = member_of(other, username="stranger")
    client.force_login(stranger)

    assert "对接撮合服务费" not in client.get(reverse("payments:list")).content.decode()
    assert client.get(reverse("payments:detail", args=[fee.pk])).status_code == 404

    client.force_login(buyer)
    assert "对接撮合服务费" in client.get(reverse("payments:list")).content.decode()


def test_the_bureau_sees_every_payment_but_cannot_pay(client, fee, officer, stripe_on):
    client.force_login(officer)

    response = client.get(reverse("payments:detail", args=[fee.pk]))

    assert response.status_code == 200
    assert 'id="pay-button"' not in response.content.decode()
    assert client.post(reverse("payments:start", args=[fee.pk])).status_code == 403
    assert not PaymentAttempt.objects.exists()


def test_without_keys_the_page_says_payments_are_not_configured(client, fee, buyer, stripe_off):
    client.force_login(buyer)

    html = client.get(reverse("payments:detail", args=[fee.pk])).content.decode()
    response = client.post(reverse("payments:start", args=[fee.pk]), follow=True)

    assert "在线支付尚未开通" in html
    assert 'id="pay-button"' not in html
    assert "在线支付尚未开通" in response.content.decode()
    assert not PaymentAttempt.objects.exists()


def test_pay_leads_to_the_checkout_page_with_stripe_js(client, fee, buyer, stripe_on):
    client.force_login(buyer)

    response = client.post(reverse("payments:start", args=[fee.pk]))

    attempt = PaymentAttempt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:checkout", args=[fee.pk, attempt.pk])
    page = client.get(response["Location"]).content.decode()
    assert f'<script src="{stripe_on.STRIPE_JS_URL}"></script>' in page
    assert f'data-client-secret="{attempt.client_secret}"' in page
    assert 'data-publishable-key="pk_test_marketplace"' in page
    assert "payments/checkout.js" in page


def test_the_checkout_of_someone_elses_payment_is_404(client, fee, buyer, seller, stripe_on):
    attempt = services.payment_start(payment=fee, by=buyer)
    client.force_login(seller)

    assert client.get(reverse("payments:checkout", args=[fee.pk, attempt.pk])).status_code == 404
    response = client.post(
        reverse("payments:attempt_confirm", args=[fee.pk, attempt.pk]),
        data=json.dumps({"payment_method": "pm_card_visa"}),
        content_type="application/json",
    )
    assert response.status_code == 404


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"payment_method": "<script>"}), "{}"])
def test_the_confirm_endpoint_answers_bad_input_with_a_400_message(client, fee, buyer, stripe_on, body):
    attempt = services.payment_start(payment=fee, by=buyer)
    client.force_login(buyer)

    response = client.post(
        reverse("payments:attempt_confirm", args=[fee.pk, attempt.pk]), data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["status"] == "failed" and response.json()["error"]


def test_the_return_page_shows_what_stripe_says_and_waits_for_the_webhook(client, fee, buyer, stripe_client):
    attempt = services.payment_start(payment=fee, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    client.force_login(buyer)
    answer = client.post(
        reverse("payments:attempt_confirm", args=[fee.pk, attempt.pk]),
        data=json.dumps({"payment_method": card.card.id}),
        content_type="application/json",
    ).json()
    assert answer["status"] == "succeeded"
    url = reverse("payments:return", args=[fee.pk]) + f"?payment_intent={attempt.payment_intent_id}"

    before = client.get(url).content.decode()
    intent = intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))
    post_event(client, event_payload("payment_intent.succeeded", intent))
    after = client.get(url).content.decode()

    assert 'data-status="succeeded"' in before and 'data-booked="false"' in before
    assert 'http-equiv="refresh"' in before
    assert 'data-booked="true"' in after and 'http-equiv="refresh"' not in after


def test_the_return_page_for_an_intent_of_another_payment_is_404(client, fee, buyer, staff, enterprise, stripe_on):
    other = services.service_fee_issue(payer=enterprise, fee_kind="listing", amount=Decimal("200.00"), by=staff)
    attempt = services.payment_start(payment=other, by=buyer)
    client.force_login(buyer)

    url = reverse("payments:return", args=[fee.pk]) + f"?payment_intent={attempt.payment_intent_id}"

    assert client.get(url).status_code == 404


# ---------------------------------------------------------------- staff


def test_staff_issue_a_fee_from_the_desk(client, staff, enterprise, stripe_on):
    client.force_login(staff)

    response = client.post(
        reverse("payments:staff"), {"payer": enterprise.pk, "fee_kind": "listing", "amount": "200.00", "title": ""}
    )

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert (payment.title, payment.amount, payment.payer) == ("成果发布服务费", Decimal("200.00"), enterprise)


@pytest.mark.parametrize(
    "data",
    [
        {"fee_kind": "listing", "amount": "200.00"},
        {"fee_kind": "listing", "amount": "12.345"},
        {"fee_kind": "listing", "amount": "-5"},
        {"fee_kind": "listing", "amount": "abc"},
        {"fee_kind": "listing", "amount": "1000000.00"},
        {"fee_kind": "nonsense", "amount": "10"},
    ],
)
def test_a_bad_fee_form_is_a_400_with_errors_and_saves_nothing(client, staff, enterprise, stripe_on, data):
    client.force_login(staff)
    if data.get("amount") != "200.00":
        data = {**data, "payer": enterprise.pk}

    response = client.post(reverse("payments:staff"), data)

    assert response.status_code == 400
    assert 'class="text-danger"' in response.content.decode()
    assert not Payment.objects.exists()


def test_the_desk_is_for_staff_only(client, buyer):
    client.force_login(buyer)

    assert client.get(reverse("payments:staff")).status_code == 403


def test_a_refund_form_with_bad_input_is_a_400_and_saves_nothing(client, fee, staff, stripe_on):
    client.force_login(staff)

    bad_amount = client.post(reverse("payments:refund", args=[fee.pk]), {"amount": "x", "reason": "r"})
    not_paid = client.post(reverse("payments:refund", args=[fee.pk]), {"amount": "1.00", "reason": "r"})

    assert bad_amount.status_code == 400
    assert not_paid.status_code == 400
    assert "尚无入账" in not_paid.content.decode()
    assert not Refund.objects.exists()


def test_only_staff_may_post_a_refund(client, fee, buyer, stripe_on):
    client.force_login(buyer)

    response = client.post(reverse("payments:refund", args=[fee.pk]), {"amount": "1.00", "reason": "r"})

    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_the_nav_links_to_payments_for_signed_in_users(client, buyer):
    client.force_login(buyer)

    assert reverse("payments:list") in client.get("/").content.decode()


def test_the_admin_shows_the_ledger_read_only(client, fee, db):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)

    listing = client.get("/admin/payments/ledgerentry/")
    add = client.get("/admin/payments/ledgerentry/add/")

    assert listing.status_code == 200
    assert add.status_code == 403
