"""The contract workflow through the services: drafting, 公示, review, registration, amendments, audit."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from marketplace.contracts import services
from marketplace.contracts.models import AuditEntry, Contract, ContractVersion, FrozenVersionError
from marketplace.stats.models import TurnoverFact
from tests.contracts.helpers import contract_data, draft, pass_notice, pdf, register
from tests.factories import NeedFactory, TechnologyFactory

pytestmark = pytest.mark.django_db
Status = ContractVersion.Status


def actions(contract):
    return list(contract.audit_entries.order_by("at", "id").values_list("action", flat=True))


def test_a_company_contract_goes_from_draft_to_registered_with_a_number(company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller)
    version = services.latest_version(contract)
    assert version.status == Status.DRAFT
    assert version.seller_name == company.name and version.seller_region_code == "320571"
    assert version.county == "chengguan"  # from the buyer's district code 540102

    services.contract_submit(contract=contract, by=company_seller)
    version.refresh_from_db()
    assert version.status == Status.SUBMITTED
    assert version.due_on == timezone.localdate() + datetime.timedelta(days=30)
    assert version.notice_ends_on is None  # an enterprise is not state-funded

    services.contract_start_review(contract=contract, by=officer)
    services.contract_approve(contract=contract, by=officer)

    contract.refresh_from_db()
    version.refresh_from_db()
    assert version.status == Status.REGISTERED and contract.current_version == version
    year = timezone.localdate().year
    assert contract.registration_number == f"540101{year}000001"
    assert TurnoverFact.objects.get(contract=contract).contract_cents == 30_000_000
    assert actions(contract) == ["created", "submitted", "review_started", "registered"]


def test_registration_numbers_count_up_within_a_year(company, company_seller, officer):
    numbers = []
    for _ in range(3):
        contract = draft(organisation=company, by=company_seller)
        register(contract, seller=company_seller, officer=officer)
        numbers.append(contract.registration_number)
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
    assert len(set(numbers)) == 3


def test_returning_needs_a_reason_and_the_seller_can_fix_and_resubmit(company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller, submit=True)
    with pytest.raises(ValidationError):
        services.contract_return(contract=contract, by=officer, reason="  ")
    services.contract_return(contract=contract, by=officer, reason="请补充非技术性部分的发票")
    version = services.latest_version(contract)
    assert version.status == Status.RETURNED and version.returned_reason == "请补充非技术性部分的发票"

    services.contract_update(contract=contract, by=company_seller, project_name="牦牛乳冷链保鲜技术服务(修订)")
    services.contract_submit(contract=contract, by=company_seller)
    version.refresh_from_db()
    assert version.status == Status.SUBMITTED and version.returned_reason == ""
    change = AuditEntry.objects.get(contract=contract, action="changed")
    assert change.diff["project_name"] == ["牦牛乳冷链保鲜技术服务", "牦牛乳冷链保鲜技术服务(修订)"]
    assert not TurnoverFact.objects.exists()


def test_a_state_funded_seller_waits_for_the_public_notice(university, seller, officer, client):
    contract = draft(organisation=university, by=seller, submit=True)
    version = services.latest_version(contract)
    today = timezone.localdate()
    assert (version.notice_starts_on, version.notice_ends_on) == (today, today + datetime.timedelta(days=15))
    assert client.get("/contracts/notices/").content.decode().count(version.project_name) == 1

    with pytest.raises(ValidationError, match="公示期"):
        services.contract_approve(contract=contract, by=officer)
    assert services.latest_version(contract).status == Status.SUBMITTED  # the refusal saved nothing

    pass_notice(contract)
    services.contract_approve(contract=contract, by=officer)
    assert services.latest_version(contract).status == Status.REGISTERED
    assert "notice_started" in actions(contract)
    assert version.project_name not in client.get("/contracts/notices/").content.decode()


def test_the_notice_period_is_a_setting(university, seller, settings):
    settings.CONTRACTS_NOTICE_DAYS = 20
    contract = draft(organisation=university, by=seller, submit=True)
    version = services.latest_version(contract)
    assert version.notice_ends_on - version.notice_starts_on == datetime.timedelta(days=20)


def test_five_million_or_more_needs_a_second_different_reviewer(company, company_seller, officer, second_officer):
    contract = draft(
        organisation=company,
        by=company_seller,
        submit=True,
        contract_amount=Decimal("5000000"),
        items=[],
        tech_amount=Decimal("5000000"),
    )
    version = services.contract_approve(contract=contract, by=officer)
    assert version.status == Status.UNDER_REVIEW and version.first_approved_by == officer
    with pytest.raises(ValidationError, match="另一名审核人员"):
        services.contract_approve(contract=contract, by=officer)
    assert not TurnoverFact.objects.exists()

    version = services.contract_approve(contract=contract, by=second_officer)
    assert version.status == Status.REGISTERED
    assert actions(contract)[-3:] == ["review_started", "first_approved", "registered"]


def test_below_five_million_one_reviewer_is_enough(company, company_seller, officer):
    contract = draft(
        organisation=company,
        by=company_seller,
        submit=True,
        contract_amount=Decimal("4999999.99"),
        items=[],
        tech_amount=Decimal("4999999.99"),
    )
    assert services.contract_approve(contract=contract, by=officer).status == Status.REGISTERED


def test_overdue_after_thirty_days(company, company_seller):
    contract = draft(organisation=company, by=company_seller, submit=True)
    version = services.latest_version(contract)
    assert not version.is_overdue
    ContractVersion.objects.filter(pk=version.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=1))
    version.refresh_from_db()
    assert version.is_overdue


def test_a_registered_version_is_frozen_everywhere(company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller)
    version = register(contract, seller=company_seller, officer=officer)

    with pytest.raises(ValidationError, match="变更"):
        services.contract_update(contract=contract, by=company_seller, project_name="改名")
    version = ContractVersion.objects.get(pk=version.pk)
    version.contract_amount = Decimal("1")
    with pytest.raises(FrozenVersionError):
        version.save()
    with pytest.raises(FrozenVersionError):
        ContractVersion.objects.filter(pk=version.pk).update(contract_amount=Decimal("1"))
    with pytest.raises(FrozenVersionError):
        ContractVersion.objects.get(pk=version.pk).delete()
    with pytest.raises(FrozenVersionError):
        ContractVersion.objects.filter(pk=version.pk).delete()
    with pytest.raises(FrozenVersionError):
        version.items.first().delete()
    with pytest.raises(FrozenVersionError):
        Contract.objects.get(pk=contract.pk).delete()
    assert ContractVersion.objects.get(pk=version.pk).contract_amount == Decimal("300000.00")


def test_an_amendment_is_a_new_version_that_replaces_the_registered_one(company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller)
    first = register(contract, seller=company_seller, officer=officer)
    number = contract.registration_number

    amendment = services.contract_amend(contract=contract, by=company_seller)
    assert (amendment.number, amendment.supersedes, amendment.status) == (2, first, Status.DRAFT)
    assert list(amendment.items.values_list("name", "amount")) == [("冷藏检测设备", Decimal("50000.00"))]
    with pytest.raises(ValidationError, match="正在办理"):
        services.contract_amend(contract=contract, by=company_seller)

    services.contract_update(
        contract=contract,
        by=company_seller,
        contract_amount=Decimal("400000"),
        items=[{"name": "冷藏检测设备", "amount": "150000"}],
    )
    services.contract_submit(contract=contract, by=company_seller)
    # Until the amendment is registered, the first version still counts.
    assert TurnoverFact.objects.get(contract=contract).version_id == first.pk

    services.contract_approve(contract=contract, by=officer)
    contract.refresh_from_db()
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert contract.current_version.number == 2 and contract.registration_number == number
    fact = TurnoverFact.objects.get(contract=contract)
    assert (fact.contract_cents, fact.tech_cents) == (40_000_000, 25_000_000)
    assert TurnoverFact.objects.count() == 1


def test_a_returned_amendment_leaves_the_registered_version_counting(company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller)
    first = register(contract, seller=company_seller, officer=officer)
    services.contract_amend(contract=contract, by=company_seller)
    services.contract_submit(contract=contract, by=company_seller)
    services.contract_return(contract=contract, by=officer, reason="变更理由不充分")
    contract.refresh_from_db()
    assert contract.current_version == first
    assert TurnoverFact.objects.get(contract=contract).version_id == first.pk


def test_only_the_seller_side_registers_and_only_the_bureau_reviews(
    company, company_seller, buyer, enterprise, officer
):
    with pytest.raises(PermissionDenied):
        draft(organisation=company, by=buyer)
    contract = draft(organisation=company, by=company_seller, submit=True)
    with pytest.raises(PermissionDenied):
        services.contract_approve(contract=contract, by=company_seller)
    with pytest.raises(PermissionDenied):
        services.contract_update(contract=contract, by=buyer, project_name="x")


def test_a_deal_from_a_technology_prefills_the_contract(company, company_seller, enterprise, buyer):
    technology = TechnologyFactory(organisation=company)
    deal = services.deal_open(by=buyer, organisation=enterprise, technology=technology)
    assert (deal.seller, deal.buyer) == (company, enterprise)
    data = contract_data()
    for name in ("buyer_name", "buyer_credit_code", "buyer_region_code", "buyer_kind"):
        data.pop(name)
    contract = services.contract_create(organisation=company, by=company_seller, deal=deal, scan=pdf(), **data)
    version = services.latest_version(contract)
    assert version.buyer_organisation == enterprise and version.buyer_name == enterprise.name
    assert version.technology == technology
    deal.refresh_from_db()
    assert deal.status == "contracted"
    assert AuditEntry.objects.filter(deal=deal, action="deal_opened").exists()


def test_a_deal_from_a_need_takes_the_need_county(company, company_seller, enterprise):
    need = NeedFactory(organisation=enterprise, county="dangxiong")
    deal = services.deal_open(by=company_seller, organisation=company, need=need)
    data = contract_data()
    for name in ("buyer_name", "buyer_credit_code", "buyer_region_code", "buyer_kind"):
        data.pop(name)
    contract = services.contract_create(organisation=company, by=company_seller, deal=deal, **data)
    assert services.latest_version(contract).county == "dangxiong"


def test_the_buyer_cannot_register_from_the_deal(company, enterprise, buyer):
    technology = TechnologyFactory(organisation=company)
    deal = services.deal_open(by=buyer, organisation=enterprise, technology=technology)
    with pytest.raises(ValidationError):
        services.contract_create(organisation=enterprise, by=buyer, deal=deal, **contract_data())


def test_submitting_needs_the_scanned_contract(company, company_seller):
    contract = draft(organisation=company, by=company_seller, scan=False)
    with pytest.raises(ValidationError, match="扫描件"):
        services.contract_submit(contract=contract, by=company_seller)
    assert services.latest_version(contract).status == Status.DRAFT


def test_audit_entries_cannot_be_changed_or_deleted(company, company_seller):
    contract = draft(organisation=company, by=company_seller)
    entry = AuditEntry.objects.get(contract=contract)
    entry.note = "篡改"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="篡改")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).note == ""


def test_both_parties_are_notified_of_status_changes(company, company_seller, enterprise, buyer, officer):
    from marketplace.messaging.models import Notification

    contract = draft(organisation=company, by=company_seller, buyer_organisation=enterprise, submit=True)
    services.contract_approve(contract=contract, by=officer)
    for user in (company_seller, buyer):
        titles = list(Notification.objects.filter(user=user, kind="contract_status").values_list("title", flat=True))
        assert titles == ["技术合同已准予登记", "技术合同已提交登记"]
    assert not Notification.objects.filter(user=officer).exists()
