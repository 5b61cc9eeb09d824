"""Builders for contract tests (and the stats tests): valid input, PDFs, and a contract taken to any state."""

import datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.accounts.creditcode import make_credit_code
from marketplace.contracts import services
from marketplace.contracts.models import ContractVersion

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BUYER_CODE = make_credit_code("91540102MA6TB0001")  # a Lhasa (城关区) enterprise off the platform


def pdf(name: str = "合同.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def not_a_pdf(name: str = "合同.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"PK\x03\x04 this is a zip, not a pdf", content_type="application/pdf")


def contract_data(**overrides) -> dict:
    """Service keyword arguments of a valid 技术服务 contract with an off-platform buyer."""
    today = timezone.localdate()
    # Ten days ago, but in this year (the dashboard tests count this year's contracts).
    signed = max(today - datetime.timedelta(days=10), today.replace(month=1, day=1))
    data = {
        "contract_type": "service",
        "project_name": "牦牛乳冷链保鲜技术服务",
        "buyer_name": "拉萨雪域乳业有限公司",
        "buyer_credit_code": BUYER_CODE,
        "buyer_region_code": "540102",
        "buyer_kind": "enterprise",
        "contract_amount": Decimal("300000.00"),
        "tech_amount": Decimal("250000.00"),
        "items": [{"name": "冷藏检测设备", "amount": "50000"}],
        "signed_on": signed,
        "term_start": signed,
        "term_end": today + datetime.timedelta(days=355),
        "payment_mode": "lump_sum",
        "field": "agriculture",
        "ip_kind": "know_how",
    }
    data.update(overrides)
    return data


def api_payload(**overrides) -> dict:
    data = contract_data()
    for name in ("contract_amount", "tech_amount"):
        data[name] = str(data[name])
    for name in ("signed_on", "term_start", "term_end"):
        data[name] = data[name].isoformat()
    data.update(overrides)
    return data


def draft(*, organisation, by, scan=True, **overrides):
    return services.contract_create(
        organisation=organisation, by=by, scan=pdf() if scan else None, **contract_data(**overrides)
    )


def pass_notice(contract) -> None:
    """Let the 公示 of the open version run out (it is not registered yet, so it may still change)."""
    version = services.latest_version(contract)
    if version.notice_ends_on:
        ContractVersion.objects.filter(pk=version.pk).update(
            notice_starts_on=version.notice_starts_on - datetime.timedelta(days=40),
            notice_ends_on=timezone.localdate(),
        )


def register(contract, *, seller, officer, second_officer=None):
    """Submit (when needed), pass the notice, approve (twice from ¥5,000,000)."""
    version = services.latest_version(contract)
    if version.is_editable:
        services.contract_submit(contract=contract, by=seller)
    pass_notice(contract)
    version = services.contract_approve(contract=contract, by=officer)
    if version.status != ContractVersion.Status.REGISTERED:
        version = services.contract_approve(contract=contract, by=second_officer)
    contract.refresh_from_db()
    return version
