"""Bad input gives a clear error and saves nothing — through the service, the page and the API.

Each case: amount ≤ 0, 技术交易额 > 合同成交额, signing date in the future, a party code with a
wrong check digit, a PDF that is not a PDF.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.accounts.creditcode import make_credit_code
from marketplace.contracts import services
from marketplace.contracts.models import AuditEntry, Contract, ContractVersion
from tests.contracts.helpers import BUYER_CODE, api_payload, contract_data, draft, not_a_pdf, pdf

pytestmark = pytest.mark.django_db

WRONG_CHECK = BUYER_CODE[:17] + ("0" if BUYER_CODE[17] != "0" else "1")
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)

# (case, overrides of the service input, field that carries the error, words of the message)
CASES = [
    (
        "zero amount",
        {"contract_amount": Decimal("0"), "tech_amount": Decimal("0"), "items": []},
        "contract_amount",
        "大于 0",
    ),
    (
        "negative amount",
        {"contract_amount": Decimal("-5"), "tech_amount": Decimal("-5"), "items": []},
        "contract_amount",
        "大于 0",
    ),
    ("tech > contract", {"tech_amount": Decimal("300000.01"), "items": []}, "tech_amount", "不能大于合同成交额"),
    ("future signing", {"signed_on": TOMORROW, "term_start": TOMORROW}, "signed_on", "不能晚于今天"),
    ("wrong check digit", {"buyer_credit_code": WRONG_CHECK}, "buyer_credit_code", "校验位错误"),
]


def nothing_saved():
    return not Contract.objects.exists() and not ContractVersion.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(("case", "overrides", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_the_service_refuses(company, company_seller, case, overrides, field, words):
    with pytest.raises(Exception) as caught:
        services.contract_create(organisation=company, by=company_seller, **contract_data(**overrides))
    assert words in " ".join(caught.value.message_dict[field])
    assert nothing_saved()


def _form_data(company, **overrides):
    data = contract_data(**overrides)
    items = data.pop("items")
    form = {k: (v.isoformat() if isinstance(v, datetime.date) else str(v)) for k, v in data.items()}
    form["organisation"] = str(company.pk)
    form["items"] = "\n".join(f"{i['name']} {i['amount']}" for i in items)
    return form


@pytest.mark.parametrize(("case", "overrides", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_the_page_shows_the_error_on_the_form(client, company, company_seller, case, overrides, field, words):
    client.force_login(company_seller)
    response = client.post("/contracts/new/", _form_data(company, **overrides))
    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors[field])
    assert words in response.content.decode()
    assert nothing_saved()


@pytest.mark.parametrize(("case", "overrides", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_the_api_answers_400_naming_the_field(client_for, company, company_seller, case, overrides, field, words):
    payload = api_payload(
        **{
            k: (v.isoformat() if isinstance(v, datetime.date) else str(v) if isinstance(v, Decimal) else v)
            for k, v in overrides.items()
        }
    )
    payload["organisation_id"] = company.pk
    response = client_for(company_seller).post("/api/contracts/contracts/", payload, format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert nothing_saved()


def test_a_file_that_is_not_a_pdf_is_refused_on_the_page(client, company, company_seller):
    client.force_login(company_seller)
    data = _form_data(company)
    data["scan"] = not_a_pdf()
    response = client.post("/contracts/new/", data)
    assert response.status_code == 400
    assert "PDF" in " ".join(response.context["form"].errors["scan"])
    assert nothing_saved()


def test_a_file_that_is_not_a_pdf_is_refused_by_the_api_and_keeps_the_old_scan(client_for, company, company_seller):
    contract = draft(organisation=company, by=company_seller)
    old = services.latest_version(contract).scan.name
    response = client_for(company_seller).post(
        f"/api/contracts/contracts/{contract.pk}/scan/", {"scan": not_a_pdf()}, format="multipart"
    )
    assert response.status_code == 400
    assert "PDF" in str(response.json())
    assert services.latest_version(contract).scan.name == old
    assert not AuditEntry.objects.filter(action="scan_uploaded").exists()


def test_a_file_that_is_not_a_pdf_is_refused_by_the_scan_upload_page(client, company, company_seller):
    contract = draft(organisation=company, by=company_seller, scan=False)
    client.force_login(company_seller)
    response = client.post(f"/contracts/{contract.pk}/scan/", {"scan": not_a_pdf()}, follow=True)
    assert "PDF" in response.content.decode()
    assert not services.latest_version(contract).scan


def test_a_real_pdf_is_accepted_by_the_api(client_for, company, company_seller):
    contract = draft(organisation=company, by=company_seller, scan=False)
    response = client_for(company_seller).post(
        f"/api/contracts/contracts/{contract.pk}/scan/", {"scan": pdf()}, format="multipart"
    )
    assert response.status_code == 200
    assert response.json()["versions"][0]["has_scan"] is True


def test_items_must_account_for_the_difference(company, company_seller):
    with pytest.raises(Exception) as caught:
        services.contract_create(organisation=company, by=company_seller, **contract_data(items=[]))
    assert "非技术性部分" in str(caught.value)
    assert nothing_saved()


def test_a_wrong_region_code_and_instalments_that_do_not_add_up(company, company_seller):
    with pytest.raises(Exception) as caught:
        services.contract_create(
            organisation=company,
            by=company_seller,
            **contract_data(
                buyer_region_code="990000",
                payment_mode="instalments",
                payment_schedule=[{"due": "2026-01-01", "amount": "1"}, {"due": "2026-02-01", "amount": "2"}],
            ),
        )
    errors = caught.value.message_dict
    assert "省级代码" in errors["buyer_region_code"][0]
    assert "应等于合同成交额" in errors["payment_schedule"][0]
    assert nothing_saved()


def test_a_transfer_needs_expected_investment_and_output(company, company_seller):
    with pytest.raises(Exception) as caught:
        services.contract_create(
            organisation=company, by=company_seller, **contract_data(contract_type="transfer", ip_kind="patent")
        )
    assert "预计新增投资" in caught.value.message_dict["expected_investment"][0]
    contract = services.contract_create(
        organisation=company,
        by=company_seller,
        **contract_data(
            contract_type="transfer", ip_kind="patent", expected_investment=Decimal("0"), expected_output=Decimal("2e6")
        ),
    )
    assert services.latest_version(contract).expected_output == Decimal("2000000")


def test_a_good_code_of_an_off_platform_party_is_accepted(company, company_seller):
    code = make_credit_code("91110108MA01X0001")
    contract = services.contract_create(
        organisation=company,
        by=company_seller,
        **contract_data(buyer_credit_code=code.lower(), buyer_region_code="110108", county=""),
    )
    version = services.latest_version(contract)
    assert version.buyer_credit_code == code and version.county == ""
