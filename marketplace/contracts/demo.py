"""Demo technology contracts and yearly figures, so the registration pages and the dashboard are not empty.

Called at the end of `manage.py load_demo` (after the organisations and logins exist). Everything goes
through the real services — drafting, 公示, review by the demo bureau officer (and the demo admin as the
second reviewer from ¥5,000,000), amendments — so the audit trail and the turnover facts are genuine.
Idempotent: when the first demo contract is there, nothing is written.
"""

# ruff: noqa: E501

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import Organisation, User
from marketplace.stats.services import year_figures_save

from . import services
from .models import ContractVersion

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class DemoContract:
    seller: str  # organisation key of listings/demo/organisations.py
    buyer: str | None  # None: a person (自然人) off the platform
    kind: str
    name: str
    amount: str
    tech: str
    field: str
    ip_kind: str
    months_ago: int
    state: str  # draft, notice, under_review, returned, registered, amended
    county: str = ""


CONTRACTS = [
    DemoContract("xzu", "qingke", "dev_commissioned", "青稞β-葡聚糖低温提取工艺开发", "680000", "680000", "agriculture", "know_how", 14, "registered"),
    DemoContract("bjaid", "oldtown", "service", "八廓街景区客流监测与预警系统部署", "1200000", "950000", "electronics", "software", 11, "registered"),
    DemoContract("szsolar", "pvops", "license", "高海拔光伏组件防积雪涂层专利实施许可", "5800000", "5800000", "energy", "patent", 5, "registered"),
    DemoContract("njau", "dangxiong", "transfer", "牦牛冷季补饲配方及饲喂技术转让", "450000", "450000", "agriculture", "patent", 3, "registered"),
    DemoContract("xztmu", "tibmed", "dev_cooperative", "藏药丸剂质量标准提升合作开发", "950000", "950000", "biomed", "know_how", 13, "amended"),
    DemoContract("evaluator", "purewater", "consulting", "乡镇集中供水工程技术咨询", "180000", "180000", "environment", "none", 2, "registered"),
    DemoContract("xzu", None, "consulting", "高原温室番茄栽培技术咨询", "50000", "50000", "agriculture", "none", 16, "registered"),
    DemoContract("bit", "citydigital", "dev_commissioned", "城市运行管理平台多源数据融合开发", "2600000", "2600000", "electronics", "software", 9, "registered"),
    DemoContract("xzenergy", "heating", "service", "太阳能集热站运行优化技术服务", "360000", "360000", "energy", "know_how", 0, "notice"),
    DemoContract("cau", "linzhou", "service", "退化草地补播修复技术服务", "520000", "520000", "environment", "none", 1, "returned"),
    DemoContract("ujs", "carpet", "dev_commissioned", "藏毯羊毛预处理设备改造开发", "1500000", "1100000", "manufacturing", "patent", 1, "under_review"),
    DemoContract("szwater", "nimu", "service", "分散式污水处理设备运维技术服务", "300000", "300000", "environment", "none", 0, "draft"),
]  # fmt: skip

# Yearly figures the bureau would enter (元, 人, 个, %).
FIGURES = {
    "gdp": "87000000000",
    "rd_staff_per_10k": "14.2",
    "venture_fund": "420000000",
    "rd_spending": "870000000",
    "tech_progress": "45.5",
    "high_tech_enterprises": "31",
    "tech_smes": "46",
    "key_labs": "16",
    "engineering_centres": "11",
    "incubators": "4",
    "maker_spaces": "28",
    "super_deduction": "35000000",
}


def demo_contracts_exist() -> bool:
    return ContractVersion.objects.filter(project_name=CONTRACTS[0].name).exists()


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{name}.pdf", MINIMAL_PDF, content_type="application/pdf")


def _signed_on(months_ago: int, n: int) -> datetime.date:
    today = timezone.localdate()
    day = today - datetime.timedelta(days=30 * months_ago + 3 + n)
    return min(day, today)


def _pass_notice(contract) -> None:
    # Demo history: the 公示 of contracts registered months ago ran out long ago.
    version = services.latest_version(contract)
    if version.notice_ends_on:
        ContractVersion.objects.filter(pk=version.pk).update(
            notice_starts_on=version.notice_starts_on - datetime.timedelta(days=60),
            notice_ends_on=version.notice_starts_on - datetime.timedelta(days=45),
        )


def load_contract_demo(*, organisations_by_key: dict[str, Organisation]) -> int:
    """Write the demo contracts once; returns how many demo contracts exist."""
    if demo_contracts_exist():
        return len(CONTRACTS)
    officer = User.objects.get(username="bureau")
    second = User.objects.get(username="admin")
    with transaction.atomic():
        for n, spec in enumerate(CONTRACTS):
            _build(spec, n, organisations_by_key, officer, second)
        for year in (timezone.localdate().year - 1, timezone.localdate().year):
            year_figures_save(year=year, by=officer, values=FIGURES)
    return len(CONTRACTS)


def _build(spec: DemoContract, n: int, orgs: dict[str, Organisation], officer: User, second: User) -> None:
    seller = orgs[spec.seller]
    user = seller.memberships.order_by("id").first().user
    signed = _signed_on(spec.months_ago, n)
    amount, tech = Decimal(spec.amount), Decimal(spec.tech)
    data = {
        "contract_type": spec.kind,
        "project_name": spec.name,
        "contract_amount": amount,
        "tech_amount": tech,
        "items": [{"name": "专用设备及安装", "amount": str(amount - tech)}] if amount > tech else [],
        "signed_on": signed,
        "term_start": signed,
        "term_end": signed + datetime.timedelta(days=365),
        "payment_mode": "lump_sum" if amount < 1_000_000 else "instalments",
        "field": spec.field,
        "ip_kind": spec.ip_kind,
        "county": spec.county,
    }
    if amount >= 1_000_000:
        first = (amount * 3 / 10).quantize(Decimal("0.01"))
        data["payment_schedule"] = [
            {"due": (signed + datetime.timedelta(days=30)).isoformat(), "amount": f"{first:.2f}"},
            {"due": (signed + datetime.timedelta(days=300)).isoformat(), "amount": f"{amount - first:.2f}"},
        ]
    if spec.kind == "transfer":
        data.update(expected_investment=Decimal("1200000"), expected_output=Decimal("3500000"))
    if spec.buyer:
        data["buyer_organisation"] = orgs[spec.buyer]
    else:
        data.update(buyer_name="次仁多吉", buyer_credit_code="", buyer_region_code="540124", buyer_kind="individual")
    contract = services.contract_create(organisation=seller, by=user, scan=_pdf(spec.name), **data)
    if spec.state == "draft":
        return
    services.contract_submit(contract=contract, by=user)
    if spec.state == "notice":
        return
    services.contract_start_review(contract=contract, by=officer)
    if spec.state == "under_review":
        return
    if spec.state == "returned":
        services.contract_return(contract=contract, by=officer, reason="请补充买方盖章页和技术服务验收标准")
        return
    _approve(contract, officer, second)
    if spec.state == "amended":
        services.contract_amend(contract=contract, by=user, note="增加第二批丸剂品种")
        services.contract_update(
            contract=contract,
            by=user,
            contract_amount=Decimal("1100000"),
            tech_amount=Decimal("1100000"),
            payment_mode="lump_sum",
            payment_schedule=[],
        )
        services.contract_submit(contract=contract, by=user)
        _approve(contract, officer, second)


def _approve(contract, officer: User, second: User) -> None:
    _pass_notice(contract)
    version = services.contract_approve(contract=contract, by=officer)
    if version.status != ContractVersion.Status.REGISTERED:
        services.contract_approve(contract=contract, by=second)


def demo_organisations() -> dict[str, Organisation]:
    """The demo organisations by their key (listings/demo/organisations.py)."""
    from listings.demo import organisations

    by_code = {spec.credit_code: spec.key for spec in organisations.ORGANISATIONS}
    return {by_code[org.credit_code]: org for org in Organisation.objects.filter(credit_code__in=by_code)}
