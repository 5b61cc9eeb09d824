"""Writes and workflows of deals and technology contracts: one function per use case, one transaction each.

Contract workflow (per version): draft → submitted → under_review → registered, or returned with a
reason (edit and submit again). The bureau decides within CONTRACTS_REVIEW_DAYS of submission.
From CONTRACTS_SECOND_REVIEW_AMOUNT on, a second, different officer must approve. A state-funded
seller's agreed price is published (公示) for CONTRACTS_NOTICE_DAYS from submission; registration
waits until it has run. A registered version is never changed: contract_amend opens a new version
that goes through review again and, once registered, supersedes the old one. Every step writes an
AuditEntry.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from listings.models import Need, Technology
from listings.uploads import validate_pdf
from marketplace.accounts.models import Organisation, User
from marketplace.accounts.services import require_bureau, require_member, role_in

from .models import (
    AuditEntry,
    Contract,
    ContractVersion,
    Deal,
    NonTechnicalItem,
    RegistrationCounter,
)
from .vocab import (
    ORGANISATION_ENTITY_KIND,
    ORGANISATION_REGION_CODE,
    STATE_FUNDED_ENTITY_KINDS,
    county_of_division,
    region_code_of_credit_code,
)

Status = ContractVersion.Status

# What the seller enters; the seller's own party data comes from its organisation.
CONTRACT_FIELDS = (
    "contract_type",
    "project_name",
    "buyer_organisation",
    "buyer_name",
    "buyer_credit_code",
    "buyer_region_code",
    "buyer_kind",
    "county",
    "contract_amount",
    "tech_amount",
    "signed_on",
    "term_start",
    "term_end",
    "payment_mode",
    "payment_schedule",
    "royalty_rate",
    "payment_note",
    "field",
    "ip_kind",
    "technology",
    "need",
    "expected_investment",
    "expected_output",
)
# Copied into an amendment, with the items; review fields start afresh.
_COPIED = (*CONTRACT_FIELDS, "seller_name", "seller_credit_code", "seller_region_code", "seller_kind", "scan")
_PARTY_FIELDS = ("buyer_name", "buyer_credit_code", "buyer_region_code", "buyer_kind")


# ---------------------------------------------------------------- audit and notifications


def _json(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return str(value)


def audit(
    *,
    by: User | None,
    action: str,
    contract: Contract | None = None,
    version: ContractVersion | None = None,
    deal: Deal | None = None,
    subject: str = "",
    diff: dict | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one entry to the audit trail (the only way entries are written)."""
    return AuditEntry.objects.create(
        actor=by,
        actor_name=(str(by) if by else "系统")[:150],
        action=action,
        contract=contract,
        version=version,
        deal=deal,
        subject=(subject or (version.project_name if version else ""))[:200],
        diff=_json(diff or {}),
        note=note[:500],
    )


def _snapshot(version: ContractVersion) -> dict:
    data = {name: _json(getattr(version, f"{name}_id" if _is_fk(name) else name)) for name in _COPIED}
    data["scan"] = version.scan.name or ""
    return data


def _is_fk(name: str) -> bool:
    return name in ("buyer_organisation", "technology", "need")


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def notify_contract_status(*, version: ContractVersion, title: str) -> None:
    """Tell the members of both parties that a contract changed status (notifications page and live socket).

    marketplace.messaging stores the notification in this transaction and sends it after commit.
    """
    from marketplace.messaging.services import notify

    organisations = [version.contract.seller_organisation_id]
    if version.buyer_organisation_id:
        organisations.append(version.buyer_organisation_id)
    users = User.objects.filter(memberships__organisation_id__in=organisations).distinct()
    body = f"{version.project_name}:{version.get_status_display()}"
    notify(users=users, kind="contract_status", title=title, body=body, url=f"/contracts/{version.contract_id}/")


# ---------------------------------------------------------------- deals


def _seller_side(organisation: Organisation) -> bool:
    return organisation.kind in Organisation.SELLER_KINDS


@transaction.atomic
def deal_open(
    *,
    by: User,
    organisation: Organisation,
    technology: Technology | None = None,
    need: Need | None = None,
    source=None,
    title: str = "",
) -> Deal:
    """Either side opens a deal on a technology (the organisation buys) or a need (the organisation sells).

    `source` is the conversation or match it came from, when there is one.
    """
    require_member(user=by, organisation=organisation)
    if organisation.kind == Organisation.Kind.BUREAU:
        raise ValidationError(_("科技主管部门不能作为合同当事方"))
    if (technology is None) == (need is None):
        raise ValidationError(_("请从一项科技成果或一条技术需求发起洽谈"))
    if technology is not None:
        seller, buyer, subject = technology.organisation, organisation, technology
    else:
        if not _seller_side(organisation):
            raise ValidationError(_("只有成果供给方机构可以就技术需求发起洽谈"))
        seller, buyer, subject = organisation, need.organisation, need
    if not subject.is_public and role_in(user=by, organisation=subject.organisation) is None:
        raise ValidationError(_("该条目尚未公开发布,不能发起洽谈"))
    return _deal_create(
        by=by, seller=seller, buyer=buyer, technology=technology, need=need, source=source, title=title or subject.title
    )


def _deal_create(*, by: User, seller: Organisation, buyer: Organisation, technology, need, source, title: str) -> Deal:
    if seller.pk == buyer.pk:
        raise ValidationError(_("不能与本机构洽谈"))
    deal = Deal(title=title.strip()[:200], seller=seller, buyer=buyer, technology=technology, need=need, opened_by=by)
    if source is not None:
        deal.source = source
    deal.full_clean()
    deal.save()
    audit(by=by, action=AuditEntry.Action.DEAL_OPENED, deal=deal, subject=deal.title, diff=_deal_snapshot(deal))
    return deal


def _require_party(*, by: User, seller: Organisation, buyer: Organisation) -> None:
    if not by.memberships.filter(organisation_id__in=[seller.pk, buyer.pk]).exists():
        raise PermissionDenied(_("只有洽谈双方机构的成员可以发起"))


@transaction.atomic
def deal_for_conversation(*, conversation, by: User) -> Deal:
    """A deal from a messaging conversation between a buyer and a seller organisation (either side opens it)."""
    _require_party(by=by, seller=conversation.seller, buyer=conversation.buyer)
    return _deal_create(
        by=by,
        seller=conversation.seller,
        buyer=conversation.buyer,
        technology=conversation.technology,
        need=conversation.need,
        source=conversation,
        title=conversation.title,
    )


@transaction.atomic
def deal_for_match(*, match, by: User) -> Deal:
    """A deal from a match of a technology with a need (either side opens it)."""
    seller, buyer = match.technology.organisation, match.need.organisation
    _require_party(by=by, seller=seller, buyer=buyer)
    return _deal_create(
        by=by,
        seller=seller,
        buyer=buyer,
        technology=match.technology,
        need=match.need,
        source=match,
        title=f"{match.technology.title} × {match.need.title}",
    )


def _deal_snapshot(deal: Deal) -> dict:
    return {
        "seller": deal.seller.name,
        "buyer": deal.buyer.name,
        "technology": deal.technology_id,
        "need": deal.need_id,
        "source": f"{deal.source_type.model}:{deal.source_id}" if deal.source_type_id else None,
    }


# ---------------------------------------------------------------- contracts: drafting


def _apply(version: ContractVersion, data: dict) -> None:
    unknown = set(data) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for name, value in data.items():
        if isinstance(value, str) and name != "payment_schedule":
            value = value.strip()
        setattr(version, name, value)


def _fill_parties(version: ContractVersion, organisation: Organisation) -> None:
    version.seller_name = organisation.name
    version.seller_credit_code = organisation.credit_code
    version.seller_region_code = region_code_of_credit_code(organisation.credit_code) or ORGANISATION_REGION_CODE.get(
        organisation.region, ""
    )
    version.seller_kind = ORGANISATION_ENTITY_KIND[organisation.kind]
    buyer = version.buyer_organisation
    if buyer is not None:
        if buyer.pk == organisation.pk:
            raise ValidationError({"buyer_organisation": _("买方不能是登记机构本身")})
        version.buyer_name = buyer.name
        version.buyer_credit_code = buyer.credit_code
        version.buyer_kind = ORGANISATION_ENTITY_KIND[buyer.kind]
        if not version.buyer_region_code:
            version.buyer_region_code = region_code_of_credit_code(buyer.credit_code) or ORGANISATION_REGION_CODE.get(
                buyer.region, ""
            )
    if not version.county:
        if version.need_id:
            version.county = version.need.county
        else:
            version.county = county_of_division(version.buyer_region_code)


def _parse_items(items: Iterable[dict]) -> list[NonTechnicalItem]:
    rows = []
    for n, item in enumerate(items, start=1):
        name = str(item.get("name", "")).strip()
        try:
            amount = Decimal(str(item.get("amount", "")).replace(",", "").strip())
        except InvalidOperation:
            raise ValidationError({"items": _("第 %(n)d 项非技术性部分的金额无法识别") % {"n": n}}) from None
        if not name:
            raise ValidationError({"items": _("第 %(n)d 项非技术性部分请填写名称") % {"n": n}})
        if not amount.is_finite() or not 0 < amount < Decimal("1e12") or amount != amount.quantize(Decimal("0.01")):
            raise ValidationError({"items": _("第 %(n)d 项非技术性部分的金额应大于 0(元,最多两位小数)") % {"n": n}})
        rows.append(NonTechnicalItem(name=name[:120], amount=amount))
    return rows


def _check_items(version: ContractVersion, items: list[NonTechnicalItem]) -> None:
    """技术交易额 = 合同成交额 − the itemised non-technical parts."""
    if version.contract_amount is None or version.tech_amount is None:
        return
    difference = version.contract_amount - version.tech_amount
    total = sum((item.amount for item in items), Decimal(0))
    if difference > 0 and total != difference:
        raise ValidationError(
            {
                "items": _(
                    "非技术性部分(设备、材料等)合计 %(total)s 元,应等于合同成交额减技术交易额 %(difference)s 元;"
                    "请逐项列明"
                )
                % {"total": f"{total:.2f}", "difference": f"{difference:.2f}"}
            }
        )
    if difference == 0 and items:
        raise ValidationError({"items": _("技术交易额等于合同成交额时不应列出非技术性部分")})


def _store_scan(version: ContractVersion, scan) -> None:
    try:
        name = validate_pdf(scan)
    except ValidationError as exc:
        raise ValidationError({"scan": exc.messages}) from None
    version.scan.save(name, scan, save=False)
    version.scan_name = name


def _validated(version: ContractVersion, items: list[NonTechnicalItem]) -> None:
    version.full_clean(exclude=["contract", "scan"])
    if version.contract_type and version.contract_type in ("transfer", "license") and version.ip_kind == "none":
        raise ValidationError({"ip_kind": _("技术转让和技术许可合同须写明所涉知识产权类型")})
    _check_items(version, items)


def _require_seller_member(*, user: User, contract: Contract) -> None:
    require_member(user=user, organisation=contract.seller_organisation)


@transaction.atomic
def contract_create(
    *,
    organisation: Organisation,
    by: User,
    deal: Deal | None = None,
    items: Iterable[dict] = (),
    scan=None,
    submit: bool = False,
    **data,
) -> Contract:
    """The seller side drafts a contract (from a deal or directly); submit=True sends it for registration."""
    require_member(user=by, organisation=organisation)
    if not _seller_side(organisation):
        raise ValidationError(_("只有卖方(成果供给方、技术服务方)机构可以登记技术合同"))
    if deal is not None:
        if deal.seller_id != organisation.pk:
            raise ValidationError(_("这项洽谈的卖方不是本机构,应由卖方登记合同"))
        data.setdefault("buyer_organisation", deal.buyer)
        data.setdefault("technology", deal.technology)
        data.setdefault("need", deal.need)
    contract = Contract(seller_organisation=organisation, deal=deal, created_by=by)
    version = ContractVersion(contract=contract, number=1, created_by=by)
    _apply(version, data)
    _fill_parties(version, organisation)
    rows = _parse_items(items)
    _validated(version, rows)
    contract.save()
    version.contract = contract
    if scan is not None:
        _store_scan(version, scan)
    version.save()
    _save_items(version, rows)
    if deal is not None and deal.status == Deal.Status.OPEN:
        deal.status = Deal.Status.CONTRACTED
        deal.save(update_fields=["status"])
    audit(by=by, action=AuditEntry.Action.CREATED, contract=contract, version=version, diff=_full_diff(version, rows))
    if submit:
        contract_submit(contract=contract, by=by)
    return contract


def _save_items(version: ContractVersion, rows: list[NonTechnicalItem]) -> None:
    for row in rows:
        row.version = version
    NonTechnicalItem.objects.bulk_create(rows)


def _items_json(rows: Iterable[NonTechnicalItem]) -> list:
    return [[row.name, f"{row.amount:.2f}"] for row in rows]


def _full_diff(version: ContractVersion, rows: list[NonTechnicalItem]) -> dict:
    snapshot = _snapshot(version)
    snapshot["items"] = _items_json(rows)
    return {k: [None, v] for k, v in snapshot.items() if v not in (None, "", [])}


def latest_version(contract: Contract) -> ContractVersion:
    return contract.versions.order_by("-number").first()


@transaction.atomic
def contract_update(
    *, contract: Contract, by: User, items: Iterable[dict] | None = None, scan=None, **data
) -> ContractVersion:
    """Edit the open version (draft or returned). A registered version is never edited: amend it."""
    _require_seller_member(user=by, contract=contract)
    version = ContractVersion.objects.select_for_update().get(pk=latest_version(contract).pk)
    if not version.is_editable:
        if version.is_frozen:
            raise ValidationError(_("已登记的合同不能修改;如需变更,请申请变更登记(生成新版本并重新审核)"))
        raise ValidationError(_("「%(status)s」状态下不能修改") % {"status": version.get_status_display()})
    before = _snapshot(version)
    before["items"] = _items_json(version.items.all())
    _apply(version, data)
    _fill_parties(version, contract.seller_organisation)
    rows = _parse_items(items) if items is not None else list(version.items.all())
    _validated(version, rows)
    if scan is not None:
        _store_scan(version, scan)
    version.save()
    if items is not None:
        version.items.all().delete()
        _save_items(version, rows)
    after = _snapshot(version)
    after["items"] = _items_json(rows)
    changes = _diff(before, after)
    if changes:
        audit(by=by, action=AuditEntry.Action.CHANGED, contract=contract, version=version, diff=changes)
    return version


@transaction.atomic
def contract_upload_scan(*, contract: Contract, by: User, scan) -> ContractVersion:
    """Attach the scanned contract (PDF, checked by content) to the open version."""
    _require_seller_member(user=by, contract=contract)
    version = latest_version(contract)
    if not version.is_editable:
        raise ValidationError(_("只有草稿或退回的合同可以更换扫描件"))
    old = version.scan.name
    _store_scan(version, scan)
    version.save(update_fields=["scan", "scan_name"])
    audit(
        by=by,
        action=AuditEntry.Action.SCAN_UPLOADED,
        contract=contract,
        version=version,
        diff={"scan": [old or None, version.scan.name]},
    )
    return version


@transaction.atomic
def contract_amend(*, contract: Contract, by: User, note: str = "") -> ContractVersion:
    """Open a new version of a registered contract; it supersedes the registered one once registered."""
    _require_seller_member(user=by, contract=contract)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    current = contract.current_version
    if current is None:
        raise ValidationError(_("合同尚未登记,请直接修改当前版本"))
    if contract.versions.open().exists():
        raise ValidationError(_("已有一个正在办理的变更版本,请先完成或修改它"))
    version = ContractVersion(
        contract=contract,
        number=contract.versions.order_by("-number").values_list("number", flat=True).first() + 1,
        supersedes=current,
        created_by=by,
        **{name: getattr(current, name) for name in _COPIED},
    )
    version.save()
    _save_items(version, [NonTechnicalItem(name=i.name, amount=i.amount) for i in current.items.all()])
    audit(
        by=by,
        action=AuditEntry.Action.AMENDED,
        contract=contract,
        version=version,
        diff={"version": [current.number, version.number]},
        note=note,
    )
    return version


# ---------------------------------------------------------------- contracts: review


def _is_state_funded(version: ContractVersion) -> bool:
    return version.seller_kind in STATE_FUNDED_ENTITY_KINDS


def _notice_done_before(version: ContractVersion) -> bool:
    """An amendment that keeps the price does not need a second 公示."""
    previous = version.supersedes
    return bool(
        previous
        and previous.notice_ends_on
        and previous.contract_amount == version.contract_amount
        and previous.notice_ends_on <= timezone.localdate()
    )


@transaction.atomic
def contract_submit(*, contract: Contract, by: User) -> ContractVersion:
    _require_seller_member(user=by, contract=contract)
    if not contract.seller_organisation.is_verified:
        raise ValidationError(_("机构尚未通过科技局认证,暂不能提交合同登记"))
    version = ContractVersion.objects.select_for_update().get(pk=latest_version(contract).pk)
    if not version.is_editable:
        raise ValidationError(_("「%(status)s」状态下不能提交登记") % {"status": version.get_status_display()})
    if not version.scan:
        raise ValidationError({"scan": _("请先上传合同扫描件(PDF);技术合同须为书面合同")})
    _validated(version, list(version.items.all()))
    now = timezone.now()
    today = timezone.localdate(now)
    before = version.status
    version.status = Status.SUBMITTED
    version.submitted_at = now
    version.due_on = today + datetime.timedelta(days=settings.CONTRACTS_REVIEW_DAYS)
    version.returned_reason = ""
    version.first_approved_by = None
    version.first_approved_at = None
    notice = _is_state_funded(version) and not _notice_done_before(version)
    if notice:
        version.notice_starts_on = today
        version.notice_ends_on = today + datetime.timedelta(days=settings.CONTRACTS_NOTICE_DAYS)
    version.save()
    audit(
        by=by,
        action=AuditEntry.Action.SUBMITTED,
        contract=contract,
        version=version,
        diff={"status": [before, version.status], "due_on": [None, version.due_on.isoformat()]},
    )
    if notice:
        audit(
            by=by,
            action=AuditEntry.Action.NOTICE_STARTED,
            contract=contract,
            version=version,
            diff={"notice": [None, [version.notice_starts_on.isoformat(), version.notice_ends_on.isoformat()]]},
            note=_("卖方为国有资金投入的高校或科研院所,协议价格公示 %(days)d 天")
            % {"days": settings.CONTRACTS_NOTICE_DAYS},
        )
    notify_contract_status(version=version, title=_("技术合同已提交登记"))
    return version


def _version_in_review(contract: Contract) -> ContractVersion:
    version = ContractVersion.objects.select_for_update().get(pk=latest_version(contract).pk)
    if version.status not in ContractVersion.REVIEW_STATUSES:
        raise ValidationError(_("合同当前为「%(status)s」,不在审核中") % {"status": version.get_status_display()})
    return version


@transaction.atomic
def contract_start_review(*, contract: Contract, by: User) -> ContractVersion:
    require_bureau(by)
    version = _version_in_review(contract)
    if version.status == Status.UNDER_REVIEW:
        raise ValidationError(_("该合同已在审核中(审核人:%(name)s)") % {"name": version.reviewer})
    _start(version, by)
    return version


def _start(version: ContractVersion, by: User) -> None:
    version.status = Status.UNDER_REVIEW
    version.review_started_at = timezone.now()
    version.reviewer = by
    version.save(update_fields=["status", "review_started_at", "reviewer"])
    audit(
        by=by,
        action=AuditEntry.Action.REVIEW_STARTED,
        contract=version.contract,
        version=version,
        diff={"status": [Status.SUBMITTED, Status.UNDER_REVIEW]},
    )


@transaction.atomic
def contract_approve(*, contract: Contract, by: User, note: str = "") -> ContractVersion:
    """Approve the version in review: register it, or record the first of two approvals (≥ ¥5,000,000)."""
    require_bureau(by)
    version = _version_in_review(contract)
    if version.status == Status.SUBMITTED:
        _start(version, by)
    if version.needs_second_review:
        if version.first_approved_by_id is None:
            version.first_approved_by = by
            version.first_approved_at = timezone.now()
            version.save(update_fields=["first_approved_by", "first_approved_at"])
            audit(
                by=by,
                action=AuditEntry.Action.FIRST_APPROVED,
                contract=contract,
                version=version,
                note=note
                or _("合同成交额达到 %(amount)s 元,待另一名审核人员复核")
                % {"amount": settings.CONTRACTS_SECOND_REVIEW_AMOUNT},
            )
            return version
        if version.first_approved_by_id == by.pk:
            raise ValidationError(_("成交额 500 万元及以上的合同须由另一名审核人员复核,不能由初审人本人登记"))
    if version.notice_pending:
        raise ValidationError(
            _("协议价格公示期至 %(date)s 结束,公示期满后才能登记") % {"date": version.notice_ends_on.isoformat()}
        )
    _register(contract, version, by, note)
    return version


def _register(contract: Contract, version: ContractVersion, by: User, note: str) -> None:
    from marketplace.stats.services import turnover_record

    now = timezone.now()
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    previous = contract.current_version
    if previous is not None:
        previous.status = Status.SUPERSEDED
        previous.save(update_fields=["status"])
    version.status = Status.REGISTERED
    version.registered_at = now
    version.registered_by = by
    version.save(update_fields=["status", "registered_at", "registered_by"])
    if not contract.registration_number:
        contract.registration_number = next_registration_number(year=timezone.localdate(now).year)
    contract.current_version = version
    contract.save(update_fields=["registration_number", "current_version"])
    turnover_record(contract=contract, version=version)
    audit(
        by=by,
        action=AuditEntry.Action.REGISTERED,
        contract=contract,
        version=version,
        diff={
            "status": [Status.UNDER_REVIEW, Status.REGISTERED],
            "registration_number": contract.registration_number,
            "supersedes": previous.number if previous else None,
        },
        note=note,
    )
    notify_contract_status(version=version, title=_("技术合同已准予登记"))


def next_registration_number(*, year: int) -> str:
    """Region + year + six-digit serial, e.g. 5401012026000123; callers hold a transaction.

    The UPDATE … SET last = last + 1 takes the counter row's lock until commit, so two registrations
    never read the same serial (PostgreSQL); SQLite runs one writer at a time anyway.
    """
    region = settings.CONTRACTS_REGISTRY_CODE
    RegistrationCounter.objects.get_or_create(region=region, year=year)
    RegistrationCounter.objects.filter(region=region, year=year).update(last=F("last") + 1)
    serial = RegistrationCounter.objects.get(region=region, year=year).last
    return f"{region}{year}{serial:06d}"


@transaction.atomic
def contract_return(*, contract: Contract, by: User, reason: str) -> ContractVersion:
    require_bureau(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("退回时请填写原因")})
    version = _version_in_review(contract)
    before = version.status
    version.status = Status.RETURNED
    version.returned_reason = reason[:500]
    version.returned_at = timezone.now()
    version.first_approved_by = None
    version.first_approved_at = None
    version.save(update_fields=["status", "returned_reason", "returned_at", "first_approved_by", "first_approved_at"])
    audit(
        by=by,
        action=AuditEntry.Action.RETURNED,
        contract=contract,
        version=version,
        diff={"status": [before, Status.RETURNED]},
        note=reason,
    )
    notify_contract_status(version=version, title=_("技术合同登记被退回"))
    return version


def ensure_can_read(*, contract: Contract, by: User) -> None:
    """Parties' members and the bureau read a contract (and its scan); nobody else."""
    if by.is_authenticated and by.is_bureau:
        return
    if by.is_authenticated:
        organisations = {contract.seller_organisation_id}
        organisations |= set(
            contract.versions.exclude(buyer_organisation=None).values_list("buyer_organisation", flat=True)
        )
        if by.memberships.filter(organisation_id__in=organisations).exists():
            return
    raise PermissionDenied(_("只有合同当事方和科技局可以查看"))
