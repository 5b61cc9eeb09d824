"""Contract pages: drafting, the private scan, review buttons, certificate, 公示, audit, deals."""

import pytest

from marketplace.contracts import services
from marketplace.contracts.models import ContractVersion
from tests.contracts.helpers import PDF, contract_data, draft, pdf, register
from tests.factories import TechnologyFactory

pytestmark = pytest.mark.django_db


def form_data(organisation, **overrides):
    data = contract_data(**overrides)
    items = data.pop("items")
    form = {k: str(v) for k, v in data.items()}
    form.update(organisation=str(organisation.pk), items="\n".join(f"{i['name']} {i['amount']}" for i in items))
    return form


def test_the_seller_registers_a_contract_through_the_page(client, company, company_seller):
    client.force_login(company_seller)
    assert client.get("/contracts/new/").status_code == 200
    data = form_data(company, payment_mode="instalments", payment_schedule="2026-03-01 100000\n2026-09-01 200,000")
    data.update(scan=pdf(), submit="on")
    response = client.post("/contracts/new/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    version = ContractVersion.objects.get()
    assert version.status == "submitted"
    assert version.payment_schedule == [
        {"due": "2026-03-01", "amount": "100000"},
        {"due": "2026-09-01", "amount": "200000"},
    ]
    page = client.get(response["Location"]).content.decode()
    assert "牦牛乳冷链保鲜技术服务" in page and "已提交" in page


def test_the_scan_is_private(client, company, company_seller, buyer, officer):
    contract = draft(organisation=company, by=company_seller)
    version = services.latest_version(contract)
    assert "/media/" not in version.scan.path and "private" in version.scan.path
    url = f"/contracts/{contract.pk}/scan/v1.pdf"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(buyer)  # an enterprise that is no party
    assert client.get(url).status_code == 404
    for user in (company_seller, officer):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == PDF


def test_the_buyer_on_the_platform_sees_the_contract(client, company, company_seller, enterprise, buyer):
    contract = draft(organisation=company, by=company_seller, buyer_organisation=enterprise)
    client.force_login(buyer)
    assert client.get(f"/contracts/{contract.pk}/").status_code == 200
    assert client.get(f"/contracts/{contract.pk}/scan/v1.pdf").status_code == 200
    assert client.get(f"/contracts/{contract.pk}/edit/").status_code == 403


def test_the_bureau_reviews_through_the_page_and_prints_the_certificate(client, company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller, submit=True)
    client.force_login(officer)
    queue = client.get("/contracts/review/").content.decode()
    assert "牦牛乳冷链保鲜技术服务" in queue
    client.post(f"/contracts/{contract.pk}/review/", {"action": "start"})
    response = client.post(f"/contracts/{contract.pk}/review/", {"action": "approve"}, follow=True)
    assert "已准予登记" in response.content.decode()
    contract.refresh_from_db()
    certificate = client.get(f"/contracts/{contract.pk}/certificate/").content.decode()
    assert contract.registration_number in certificate and "@media print" not in certificate
    assert "certificate.css" in certificate
    detail = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert "审计记录" in detail and "准予登记" in detail


def test_returning_through_the_page_needs_a_reason(client, company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller, submit=True)
    client.force_login(officer)
    response = client.post(f"/contracts/{contract.pk}/review/", {"action": "return", "reason": ""}, follow=True)
    assert "退回时请填写原因" in response.content.decode()
    assert services.latest_version(contract).status == "submitted"
    client.post(f"/contracts/{contract.pk}/review/", {"action": "return", "reason": "缺少盖章页"})
    assert services.latest_version(contract).status == "returned"


def test_sellers_cannot_review_through_the_page(client, company, company_seller):
    contract = draft(organisation=company, by=company_seller, submit=True)
    client.force_login(company_seller)
    assert client.post(f"/contracts/{contract.pk}/review/", {"action": "approve"}).status_code == 403
    assert client.get("/contracts/review/").status_code == 403
    assert client.get("/contracts/audit/").status_code == 403


def test_amending_through_the_page(client, company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller)
    register(contract, seller=company_seller, officer=officer)
    client.force_login(company_seller)
    response = client.post(f"/contracts/{contract.pk}/amend/")
    assert response["Location"] == f"/contracts/{contract.pk}/edit/"
    page = client.get(response["Location"]).content.decode()
    assert "变更版本 第 2 版" in page


def test_the_notice_page_is_public_and_the_audit_page_is_the_bureaus(client, university, seller, officer):
    draft(organisation=university, by=seller, submit=True)
    page = client.get("/contracts/notices/").content.decode()
    assert "牦牛乳冷链保鲜技术服务" in page and "300000.00" in page
    assert client.get("/contracts/").status_code == 302  # anonymous: to the notices
    client.force_login(officer)
    audit = client.get("/contracts/audit/").content.decode()
    assert "提交登记" in audit and "开始公示" in audit


def test_a_buyer_opens_a_deal_from_a_technology_page(client, company, enterprise, buyer, company_seller):
    technology = TechnologyFactory(organisation=company)
    client.force_login(buyer)
    assert client.get(f"/contracts/deals/new/?technology={technology.pk}").status_code == 200
    response = client.post("/contracts/deals/new/", {"technology": technology.pk, "organisation": enterprise.pk})
    assert response.status_code == 302
    client.force_login(company_seller)
    deal_page = client.get(response["Location"]).content.decode()
    assert "登记技术合同" in deal_page
    deal_id = response["Location"].rstrip("/").split("/")[-1]
    form = client.get(f"/contracts/new/?deal={deal_id}")
    assert form.context["form"]["buyer_organisation"].value() == enterprise.pk


def test_a_deal_with_ones_own_organisation_is_refused(client, company, company_seller):
    technology = TechnologyFactory(organisation=company)
    client.force_login(company_seller)
    response = client.post("/contracts/deals/new/", {"technology": technology.pk, "organisation": company.pk})
    assert response.status_code == 400


def test_the_nav_shows_contracts_to_all_and_stats_to_the_bureau(client, buyer, officer):
    home = client.get("/").content.decode()
    assert "合同登记" in home and 'href="/stats/"' not in home
    client.force_login(officer)
    assert 'href="/stats/"' in client.get("/").content.decode()


def test_the_contract_list_shows_the_latest_version_to_the_seller_and_the_bureau(
    client, company, company_seller, officer, django_assert_max_num_queries
):
    first = draft(organisation=company, by=company_seller)
    register(first, seller=company_seller, officer=officer)
    services.contract_amend(contract=first, by=company_seller)
    draft(organisation=company, by=company_seller, project_name="第二份合同")
    for user in (company_seller, officer):
        client.force_login(user)
        with django_assert_max_num_queries(12):
            page = client.get("/contracts/").content.decode()
        assert "第二份合同" in page and "第 2 版" in page and first.registration_number in page


def test_either_side_opens_a_deal_from_a_conversation(client, company, company_seller, enterprise, buyer, officer):
    from marketplace.messaging.services import conversation_start

    technology = TechnologyFactory(organisation=company)
    conversation, _ = conversation_start(by=buyer, technology=technology)
    client.force_login(company_seller)  # the seller side this time
    assert client.get(f"/contracts/deals/new/?conversation={conversation.pk}").status_code == 200
    response = client.post("/contracts/deals/new/", {"conversation": conversation.pk})
    assert response.status_code == 302
    deal = services.Deal.objects.get()
    assert (deal.seller, deal.buyer, deal.technology, deal.source) == (company, enterprise, technology, conversation)
    client.force_login(officer)  # not a participant: the conversation is not found
    assert client.post("/contracts/deals/new/", {"conversation": conversation.pk}).status_code == 404


def test_a_deal_from_a_match_names_both_listings(client, company, company_seller, enterprise, buyer, other_officer):
    from matching.models import Match
    from tests.factories import NeedFactory

    match = Match.objects.create(
        technology=TechnologyFactory(organisation=company), need=NeedFactory(organisation=enterprise), score=0.9
    )
    client.force_login(buyer)
    response = client.post("/contracts/deals/new/", {"match": match.pk})
    assert response.status_code == 302
    deal = services.Deal.objects.get()
    assert (deal.technology, deal.need, deal.seller, deal.buyer) == (match.technology, match.need, company, enterprise)
    client.force_login(other_officer)
    assert client.post("/contracts/deals/new/", {"match": match.pk}).status_code == 403
    assert client.get("/contracts/deals/new/?match=999999").status_code == 404


def test_the_detail_and_certificate_pages_do_not_query_per_version(
    client, company, company_seller, officer, django_assert_max_num_queries
):
    contract = draft(organisation=company, by=company_seller)
    register(contract, seller=company_seller, officer=officer)
    services.contract_amend(contract=contract, by=company_seller)
    client.force_login(officer)
    with django_assert_max_num_queries(16):
        assert client.get(f"/contracts/{contract.pk}/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/contracts/{contract.pk}/certificate/").status_code == 200
