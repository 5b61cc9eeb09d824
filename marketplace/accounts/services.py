"""Writes for users and organisations: one function per use case, one transaction each."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .creditcode import normalise
from .models import Membership, Organisation, User


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    user = User(username=username, email=email, display_name=display_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def organisation_create(
    *,
    name: str,
    kind: str,
    region: str,
    credit_code: str,
    owner: User,
    province: str = "",
    description: str = "",
    website: str = "",
    contact_phone: str = "",
) -> Organisation:
    """A new organisation awaits the bureau's verification; its creator is its owner."""
    if kind == Organisation.Kind.BUREAU and not owner.is_superuser:
        # Bureau membership grants review rights: such accounts are opened by the platform admin only.
        raise ValidationError({"kind": _("科技主管部门账户由平台管理员开设,不能自行注册")})
    organisation = Organisation(
        name=name.strip(),
        kind=kind,
        region=region,
        province=province.strip(),
        credit_code=normalise(credit_code),
        description=description,
        website=website,
        contact_phone=contact_phone,
    )
    organisation.full_clean()
    organisation.save()
    Membership.objects.create(user=owner, organisation=organisation, role=Membership.Role.OWNER)
    return organisation


# What an owner may change; kind, code and verification are the bureau's facts.
ORGANISATION_EDITABLE = ("name", "region", "province", "description", "website", "contact_phone")
# Changing these makes the bureau look again: they decide aid statistics and who the seller is.
ORGANISATION_REVERIFY = ("name", "region", "province")


@transaction.atomic
def organisation_update(*, organisation: Organisation, by: User, **changes) -> Organisation:
    require_owner(user=by, organisation=organisation)
    editable = set(ORGANISATION_EDITABLE)
    if not organisation.is_verified:
        # Until the bureau has verified them, kind and code may still be corrected.
        editable |= {"kind", "credit_code"}
    if changes.get("kind") == Organisation.Kind.BUREAU and organisation.kind != Organisation.Kind.BUREAU:
        raise ValidationError({"kind": _("科技主管部门账户由平台管理员开设,不能自行注册")})
    unknown = set(changes) - editable
    if unknown:
        raise ValidationError(_("这些信息不能由机构自行修改:%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    changed = {name for name, value in changes.items() if getattr(organisation, name) != value}
    for name in changed:
        setattr(organisation, name, normalise(changes[name]) if name == "credit_code" else changes[name])
    organisation.full_clean()
    if (
        changed & set(ORGANISATION_REVERIFY)
        and organisation.is_verified
        and organisation.kind != Organisation.Kind.BUREAU
    ):
        organisation.verification = Organisation.Verification.PENDING
        organisation.verification_note = "机构名称或地区已变更,待重新认证"
    organisation.save()
    if "region" in changed:
        # Listings carry their organisation's region for filters and facets.
        organisation.technologys.update(region=organisation.region)
        organisation.needs.update(region=organisation.region)
    return organisation


@transaction.atomic
def organisation_verify(*, organisation: Organisation, by: User, approve: bool, note: str = "") -> Organisation:
    from listings.models import ReviewEvent

    require_bureau(by)
    if organisation.verification != Organisation.Verification.PENDING:
        # A second officer (or a double click) must not overwrite a decision already taken.
        raise ValidationError(
            _("机构「%(name)s」已处理(%(status)s),无需重复审核")
            % {"name": organisation.name, "status": organisation.get_verification_display()}
        )
    if not approve and not note.strip():
        raise ValidationError({"note": _("未通过认证时请填写原因")})
    organisation.verification = Organisation.Verification.VERIFIED if approve else Organisation.Verification.REJECTED
    organisation.verification_note = note.strip()
    organisation.verified_at = timezone.now() if approve else None
    organisation.verified_by = by
    organisation.save()
    ReviewEvent.objects.create(
        organisation=organisation,
        by=by,
        note=note.strip(),
        action=ReviewEvent.Action.VERIFIED if approve else ReviewEvent.Action.REJECTED,
    )
    _notify_verification(organisation, approve=approve, note=note.strip())
    return organisation


def _notify_verification(organisation: Organisation, *, approve: bool, note: str) -> None:
    from django.urls import reverse

    from marketplace.messaging.services import notify

    if approve:
        title = _("机构「%(name)s」已通过科技局认证") % {"name": organisation.name}
    else:
        title = _("机构「%(name)s」未通过认证,请按意见修改后重新申请") % {"name": organisation.name}
    url = reverse("accounts:organisation_detail", kwargs={"pk": organisation.pk})
    notify(organisation=organisation, kind="review_result", title=title, body=note, url=url)


@transaction.atomic
def membership_add(*, organisation: Organisation, user: User, role: str, by: User) -> Membership:
    require_owner(user=by, organisation=organisation)
    membership, _created = Membership.objects.update_or_create(
        organisation=organisation, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def organisation_request_verification(*, organisation: Organisation, by: User) -> Organisation:
    """After a refusal the owner corrects the organisation and asks the bureau again."""
    from listings.models import ReviewEvent

    require_owner(user=by, organisation=organisation)
    if organisation.verification != Organisation.Verification.REJECTED:
        raise ValidationError(_("只有未通过认证的机构可以重新申请认证"))
    organisation.full_clean()
    organisation.verification = Organisation.Verification.PENDING
    organisation.save(update_fields=["verification"])
    ReviewEvent.objects.create(
        organisation=organisation, by=by, action=ReviewEvent.Action.SUBMITTED, note="修改后重新申请认证"
    )
    return organisation


def role_in(*, user: User, organisation: Organisation) -> str | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organisation=organisation).values_list("role", flat=True).first()


def require_member(*, user: User, organisation: Organisation) -> None:
    if role_in(user=user, organisation=organisation) is None:
        raise PermissionDenied(_("只有本机构成员可以操作"))


def require_owner(*, user: User, organisation: Organisation) -> None:
    if role_in(user=user, organisation=organisation) != Membership.Role.OWNER:
        raise PermissionDenied(_("只有本机构管理员可以操作"))


def require_bureau(user: User) -> None:
    if not (user.is_authenticated and user.is_bureau):
        raise PermissionDenied(_("只有科技局审核人员可以操作"))
