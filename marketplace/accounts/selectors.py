from django.db.models import Q, QuerySet

from .models import Membership, Organisation, User


def organisations_of(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.for_user(user).order_by("name")


def owned_organisations(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user, memberships__role=Membership.Role.OWNER)


def organisations_pending_verification() -> QuerySet[Organisation]:
    return Organisation.objects.pending_verification().order_by("created_at")


def organisation_find(ref: str) -> Organisation | None:
    """By id, exact name or 统一社会信用代码 (import files and the command line use all three)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    if ref.isdigit() and len(ref) < 18:
        return Organisation.objects.filter(pk=int(ref)).first()
    return Organisation.objects.filter(credit_code=ref.upper()).first() or Organisation.objects.filter(name=ref).first()


def organisation_list(
    *, user: User, kind: str = "", region: str = "", verification: str = ""
) -> QuerySet[Organisation]:
    """Verified organisations for everyone, plus the user's own; every organisation for the bureau."""
    qs = Organisation.objects.all()
    if not (user.is_authenticated and user.is_bureau):
        own = Organisation.objects.for_user(user).values("id")
        qs = qs.filter(Q(verification=Organisation.Verification.VERIFIED) | Q(id__in=own))
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region=region)
    if verification:
        qs = qs.filter(verification=verification)
    return qs.order_by("name")


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """The user's memberships with their organisations (the 我的机构 page)."""
    return Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name")


def organisation_members(*, organisation: Organisation) -> QuerySet[Membership]:
    # "owner" sorts after "member", so descending puts the owners first.
    return organisation.memberships.select_related("user").order_by("-role", "joined_at", "id")
