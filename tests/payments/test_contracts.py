"""A registered contract's payment schedule, paid instalment by instalment; what each party and the bureau see."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts.creditcode import make_credit_code
from marketplace.payments import selectors, services
from marketplace.payments.models import Payment
from tests.contracts.helpers import draft, register
from tests.factories import OrganisationFactory, member_of

from .helpers import event_payload, intent_dict, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.CONTRACTS_PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def company(db):
    """A seller that is not state-funded (registration without 公示)."""
    return OrganisationFactory(
        name="苏州绿能高原新能源科技有限公司",
        kind="enterprise",
        region="jiangsu",
        credit_code=make_credit_code("91320571MA1X00002"),
    )


@pytest.fixture
def company_seller(company):
    return member_of(company, username="company_seller")


def schedule(*amounts: str) -> list[dict]:
    today = timezone.localdate()
    return [{"due": (today + datetime.timedelta(days=30 * n)).isoformat(), "amount": a} for n, a in enumerate(amounts)]


@pytest.fixture
def contract(company, company_seller, enterprise, officer):
    contract = draft(
        organisation=company,
        by=company_seller,
        buyer_organisation=enterprise,
        payment_mode="instalments",
        payment_schedule=schedule("100000.00", "150000.00", "50000.00"),
    )
    register(contract, seller=company_seller, officer=officer)
    return contract


def pay(client, stripe_client, payment, buyer, number="4242424242424242"):
    attempt = services.payment_start(payment=payment, by=buyer)
    card = stripe_client.v1.tokens.create(
        params={"card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    services.attempt_pay_with(attempt=attempt, payment_method=card.card.id, by=buyer)
    intent = intent_dict(stripe_client.v1.payment_intents.retrieve(attempt.payment_intent_id))
    kind = "payment_intent.succeeded" if intent["status"] == "succeeded" else "payment_intent.payment_failed"
    assert post_event(client, event_payload(kind, intent)).status_code == 200
    payment.refresh_from_db()
    return payment


def test_the_buyer_pays_an_instalment_of_the_registered_schedule(client, contract, buyer, company, stripe_client):
    payment = services.instalment_payment_open(contract=contract, instalment_no=2, by=buyer)

    assert (payment.amount, payment.payer.name, payment.payee) == (
        Decimal("150000.00"),
        buyer.memberships.get().organisation.name,
        company,
    )
    assert payment.title == "牦牛乳冷链保鲜技术服务 第 2/3 期合同款"
    assert services.instalment_payment_open(contract=contract, instalment_no=2, by=buyer) == payment
    pay(client, stripe_client, payment, buyer)

    assert payment.status == Payment.Status.PAID
    assert selectors.paid_by_contract([contract.pk]) == {contract.pk: Decimal("150000.00")}


def test_scheduled_paid_pending_failed_and_refunded_per_contract(
    client, contract, buyer, staff, officer, stripe_client
):
    first = pay(
        client, stripe_client, services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer), buyer
    )
    second = services.instalment_payment_open(contract=contract, instalment_no=2, by=buyer)
    pay(client, stripe_client, second, buyer, number="4000000000000341")  # declined
    refund = services.refund_request(payment=first, amount=Decimal("20000.00"), reason="部分验收未通过", by=staff)
    refunded = stripe_client.v1.refunds.list(params={"payment_intent": refund.attempt.payment_intent_id})
    post_event(client, event_payload("refund.created", refunded.data[0].to_dict(for_json=True)))

    overview = selectors.contract_overview(contract=contract, user=officer)

    assert [row["status"] for row in overview["rows"]] == ["partially_refunded", "failed", "open"]
    sums = overview["sums"]
    assert sums["scheduled"] == Decimal("300000.00")
    assert (sums["paid"], sums["refunded"], sums["net"]) == (
        Decimal("100000.00"),
        Decimal("20000.00"),
        Decimal("80000.00"),
    )
    assert (sums["failed"], sums["pending"]) == (Decimal("150000.00"), Decimal("0"))
    assert selectors.paid_by_contract() == {contract.pk: Decimal("80000.00")}


def test_both_parties_and_the_bureau_see_the_contract_payments(
    client, contract, buyer, company_seller, officer, stripe_on
):
    stranger = member_of(OrganisationFactory(kind="enterprise"), username="stranger")
    url = reverse("payments:contract", args=[contract.pk])

    seen = {}
    for name, user in (("buyer", buyer), ("seller", company_seller), ("bureau", officer), ("stranger", stranger)):
        client.force_login(user)
        seen[name] = client.get(url)

    assert [seen[n].status_code for n in ("buyer", "seller", "bureau", "stranger")] == [200, 200, 200, 404]
    assert 'data-sum="scheduled">¥300000.00' in seen["bureau"].content.decode()
    assert all(f"instalments/{n}/pay/" in seen["buyer"].content.decode() for n in (1, 2, 3))  # a pay button each
    assert "instalments/1/pay/" not in seen["seller"].content.decode()


def test_the_payments_list_links_the_users_registered_contracts(client, contract, buyer):
    client.force_login(buyer)

    html = client.get(reverse("payments:list")).content.decode()

    assert reverse("payments:contract", args=[contract.pk]) in html


def test_paying_from_the_contract_page_opens_checkout(client, contract, buyer, stripe_on):
    client.force_login(buyer)

    response = client.post(reverse("payments:instalment_pay", args=[contract.pk, 3]))

    payment = Payment.objects.get(instalment_no=3)
    assert payment.amount == Decimal("50000.00")
    assert response.status_code == 302 and "/checkout/" in response["Location"]


def test_the_api_gives_the_same_figures(client, contract, buyer, stripe_client):
    pay(client, stripe_client, services.instalment_payment_open(contract=contract, instalment_no=3, by=buyer), buyer)
    client.force_login(buyer)

    data = client.get(f"/api/payments/contracts/{contract.pk}/").json()

    assert data["contract_amount"] == "300000.00"
    assert [(i["no"], i["amount"], i["status"], i["paid"]) for i in data["instalments"]] == [
        (1, "100000.00", "open", "0.00"),
        (2, "150000.00", "open", "0.00"),
        (3, "50000.00", "paid", "50000.00"),
    ]
    assert data["totals"]["paid"] == "50000.00"


def test_a_lump_sum_contract_has_one_instalment(company, company_seller, enterprise, officer, buyer, stripe_on):
    contract = draft(organisation=company, by=company_seller, buyer_organisation=enterprise)
    register(contract, seller=company_seller, officer=officer)

    payment = services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer)

    assert payment.amount == Decimal("300000.00")
    with pytest.raises(ValidationError, match="第 2 期"):
        services.instalment_payment_open(contract=contract, instalment_no=2, by=buyer)


def test_an_unregistered_contract_cannot_be_paid(company, company_seller, enterprise, buyer, stripe_on):
    contract = draft(organisation=company, by=company_seller, buyer_organisation=enterprise)

    with pytest.raises(ValidationError, match="尚未登记"):
        services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer)

    assert not Payment.objects.exists()


def test_only_the_buyer_pays_instalments(client, contract, company_seller, stripe_on):
    with pytest.raises(PermissionDenied):
        services.instalment_payment_open(contract=contract, instalment_no=1, by=company_seller)

    client.force_login(company_seller)
    assert client.post(reverse("payments:instalment_pay", args=[contract.pk, 1])).status_code == 403
    assert not Payment.objects.exists()


def test_an_instalment_above_stripes_limit_is_refused_clearly(company, company_seller, enterprise, officer, buyer):
    contract = draft(
        organisation=company,
        by=company_seller,
        buyer_organisation=enterprise,
        contract_amount=Decimal("1500000.00"),
        tech_amount=Decimal("1450000.00"),
        payment_mode="instalments",
        payment_schedule=schedule("1200000.00", "300000.00"),
    )
    register(contract, seller=company_seller, officer=officer)

    with pytest.raises(ValidationError, match=r"999,999\.99"):
        services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer)

    assert services.instalment_payment_open(contract=contract, instalment_no=2, by=buyer).amount == Decimal("300000")


def test_an_off_platform_buyer_cannot_pay_online(company, company_seller, officer, buyer, stripe_on):
    contract = draft(organisation=company, by=company_seller)  # the buyer is not a platform organisation
    register(contract, seller=company_seller, officer=officer)

    with pytest.raises(ValidationError, match="不是平台注册机构"):
        services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer)


def test_the_bureau_sees_paid_against_contracted(client, contract, buyer, officer, stripe_client):
    pay(client, stripe_client, services.instalment_payment_open(contract=contract, instalment_no=1, by=buyer), buyer)
    year = contract.current_version.signed_on.year

    client.force_login(officer)
    figures = client.get(f"/api/payments/summary/?year={year}").json()
    other_year = client.get(f"/api/payments/summary/?year={year - 5}").json()
    bad = client.get("/api/payments/summary/?year=abc")
    client.force_login(buyer)
    refused = client.get("/api/payments/summary/")

    assert figures == {
        "year": year,
        "contracts": 1,
        "contracted": "300000.00",
        "scheduled_online": "300000.00",
        "paid": "100000.00",
    }
    assert other_year["contracts"] == 0 and other_year["paid"] == "0.00"
    assert bad.status_code == 400 and "year" in bad.json()
    assert refused.status_code == 403
