"""The contracts API: the workflow end to end, visibility, the read-only audit trail, public notices."""

import pytest

from marketplace.contracts.models import AuditEntry
from tests.contracts.helpers import api_payload, draft, pdf
from tests.factories import TechnologyFactory

pytestmark = pytest.mark.django_db
URL = "/api/contracts/contracts/"


def test_the_whole_workflow_through_the_api(client_for, company, company_seller, officer):
    seller_api, bureau_api = client_for(company_seller), client_for(officer)
    created = seller_api.post(URL, api_payload(organisation_id=company.pk), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    version = body["versions"][0]
    assert (version["status"], version["contract_amount"], version["tech_amount"]) == (
        "draft",
        "300000.00",
        "250000.00",
    )
    assert version["items"] == [{"name": "冷藏检测设备", "amount": "50000.00"}]
    pk = body["id"]

    assert seller_api.post(f"{URL}{pk}/submit/").status_code == 400  # no scan yet
    assert seller_api.post(f"{URL}{pk}/scan/", {"scan": pdf()}, format="multipart").status_code == 200
    assert seller_api.post(f"{URL}{pk}/submit/").json()["versions"][0]["status"] == "submitted"
    assert seller_api.post(f"{URL}{pk}/approve/").status_code == 403
    assert bureau_api.post(f"{URL}{pk}/start_review/").status_code == 200
    registered = bureau_api.post(f"{URL}{pk}/approve/", {"note": "材料齐全"}, format="json").json()
    assert registered["current_version"] == 1 and registered["registration_number"].startswith("540101")

    amended = seller_api.post(f"{URL}{pk}/amend/", {"note": "增加服务内容"}, format="json").json()
    assert [v["status"] for v in amended["versions"]] == ["registered", "draft"]
    patched = seller_api.patch(f"{URL}{pk}/", {"project_name": "冷链保鲜与溯源服务"}, format="json")
    assert patched.status_code == 200 and patched.json()["versions"][1]["project_name"] == "冷链保鲜与溯源服务"

    audit = bureau_api.get(f"{URL}{pk}/audit/").json()
    assert [e["action"] for e in audit][::-1] == [
        "created",
        "scan_uploaded",
        "submitted",
        "review_started",
        "registered",
        "amended",
        "changed",
    ]
    assert seller_api.get(f"{URL}{pk}/audit/").status_code == 403
    pdf_response = seller_api.get(f"{URL}{pk}/scan/?version=1")
    assert pdf_response.status_code == 200 and pdf_response["Content-Type"] == "application/pdf"


def test_returning_through_the_api_needs_a_reason(client_for, company, company_seller, officer):
    contract = draft(organisation=company, by=company_seller, submit=True)
    api = client_for(officer)
    assert api.post(f"{URL}{contract.pk}/return/", {}, format="json").status_code == 400
    body = api.post(f"{URL}{contract.pk}/return/", {"reason": "金额与发票不符"}, format="json").json()
    assert body["versions"][0]["status"] == "returned"


def test_contracts_are_visible_to_their_parties_and_the_bureau_only(
    client_for, company, company_seller, buyer, officer
):
    contract = draft(organisation=company, by=company_seller)
    assert client_for(None).get(URL).status_code == 403
    assert client_for(buyer).get(f"{URL}{contract.pk}/").status_code == 404
    assert client_for(buyer).get(URL).json()["count"] == 0
    assert client_for(officer).get(URL).json()["count"] == 1
    assert client_for(buyer).get(f"{URL}{contract.pk}/scan/").status_code == 404


def test_the_audit_trail_cannot_be_written_through_the_api(client_for, company, company_seller, officer):
    draft(organisation=company, by=company_seller)
    api = client_for(officer)
    entry = api.get("/api/contracts/audit/").json()["results"][0]
    url = f"/api/contracts/audit/{entry['id']}/"
    assert api.get(url).status_code == 200
    for method in ("put", "patch", "delete"):
        assert getattr(api, method)(url, {"note": "x"}, format="json").status_code == 405
    assert api.post("/api/contracts/audit/", {"note": "x"}, format="json").status_code == 405
    assert client_for(company_seller).get("/api/contracts/audit/").status_code == 403
    assert AuditEntry.objects.get(pk=entry["id"]).note == ""


def test_notices_are_public(client_for, university, seller):
    draft(organisation=university, by=seller, submit=True)
    rows = client_for(None).get("/api/contracts/notices/").json()["results"]
    assert [r["contract_amount"] for r in rows] == ["300000.00"]


def test_deals_through_the_api(client_for, company, enterprise, buyer):
    technology = TechnologyFactory(organisation=company)
    api = client_for(buyer)
    response = api.post(
        "/api/contracts/deals/", {"organisation_id": enterprise.pk, "technology": technology.pk}, format="json"
    )
    assert response.status_code == 201 and response.json()["seller"] == company.pk
    assert api.get("/api/contracts/deals/").json()["count"] == 1
    both = api.post("/api/contracts/deals/", {"organisation_id": enterprise.pk}, format="json")
    assert both.status_code == 400


def test_unknown_codes_are_named(client_for, company, company_seller):
    response = client_for(company_seller).post(
        URL, api_payload(organisation_id=company.pk, contract_type="sale"), format="json"
    )
    assert response.status_code == 400 and "sale" in response.json()["contract_type"][0]


def test_a_deal_from_a_conversation_through_the_api(client_for, company, company_seller, enterprise, buyer):
    from marketplace.messaging.services import conversation_start

    conversation, _ = conversation_start(by=buyer, technology=TechnologyFactory(organisation=company))
    response = client_for(company_seller).post(
        "/api/contracts/deals/", {"conversation": conversation.pk}, format="json"
    )
    assert response.status_code == 201 and response.json()["buyer"] == enterprise.pk
    assert client_for(company_seller).post("/api/contracts/deals/", {}, format="json").status_code == 400
    missing = client_for(company_seller).post("/api/contracts/deals/", {"conversation": 10**9}, format="json")
    assert missing.status_code == 404


def test_the_audit_trail_is_read_only_in_the_admin(client, company, company_seller, django_user_model):
    draft(organisation=company, by=company_seller)
    admin = django_user_model.objects.create_superuser("root", "root@example.cn", "pass-Lhasa-2026")
    client.force_login(admin)
    entry = AuditEntry.objects.get()
    assert client.get("/admin/contracts/auditentry/").status_code == 200
    assert client.get(f"/admin/contracts/auditentry/{entry.pk}/change/").status_code == 200  # view only
    client.post(f"/admin/contracts/auditentry/{entry.pk}/change/", {"note": "篡改"})
    assert client.post(f"/admin/contracts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get().note == ""
