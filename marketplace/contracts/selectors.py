"""Reads of deals, contracts, the review queue, the public notice list and the audit trail."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from marketplace.accounts.models import User

from .models import AuditEntry, Contract, ContractVersion, Deal


def _organisation_ids(user: User) -> list[int]:
    return list(user.memberships.values_list("organisation_id", flat=True))


def _with_versions(qs: QuerySet[Contract]) -> QuerySet[Contract]:
    return qs.select_related("seller_organisation", "current_version", "deal").prefetch_related(
        Prefetch(
            "versions",
            queryset=ContractVersion.objects.select_related("buyer_organisation", "first_approved_by", "reviewer")
            .prefetch_related("items")
            .order_by("number"),
        )
    )


def contracts_for_user(*, user: User) -> QuerySet[Contract]:
    """The contracts of the user's organisations, as seller or buyer; every contract for the bureau."""
    qs = Contract.objects.all()
    if not user.is_bureau:
        mine = _organisation_ids(user)
        as_buyer = ContractVersion.objects.filter(contract=OuterRef("pk"), buyer_organisation_id__in=mine)
        qs = qs.filter(Q(seller_organisation_id__in=mine) | Exists(as_buyer))
    return _with_versions(qs).order_by("-created_at", "-id")


def contract_detail(*, pk: int, user: User) -> Contract:
    """Raises Contract.DoesNotExist when the contract is not there or not the user's to see."""
    return contracts_for_user(user=user).get(pk=pk)


def latest(contract: Contract) -> ContractVersion:
    versions = list(contract.versions.all())
    return versions[-1]


def review_queue() -> QuerySet[ContractVersion]:
    """Versions awaiting the bureau, oldest deadline first."""
    return (
        ContractVersion.objects.in_review()
        .select_related("contract", "contract__seller_organisation", "reviewer", "first_approved_by")
        .order_by("due_on", "submitted_at", "id")
    )


def overdue_count() -> int:
    return ContractVersion.objects.in_review().filter(due_on__lt=timezone.localdate()).count()


def notices() -> QuerySet[ContractVersion]:
    """公示: agreed prices of state-funded sellers whose notice period is running (public)."""
    today = timezone.localdate()
    return (
        ContractVersion.objects.in_review()
        .filter(notice_starts_on__lte=today, notice_ends_on__gt=today)
        .select_related("contract")
        .order_by("notice_ends_on", "id")
    )


def deals_for_user(*, user: User) -> QuerySet[Deal]:
    qs = Deal.objects.select_related("seller", "buyer", "technology", "need")
    if user.is_bureau:
        return qs
    mine = _organisation_ids(user)
    return qs.filter(Q(seller_id__in=mine) | Q(buyer_id__in=mine))


def deal_detail(*, pk: int, user: User) -> Deal:
    return deals_for_user(user=user).get(pk=pk)


def audit_trail(*, contract: Contract | None = None, limit: int | None = 200) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("contract", "version", "deal")
    if contract is not None:
        qs = qs.filter(contract=contract)
    return qs[:limit] if limit else qs


def registered_count() -> int:
    return ContractVersion.objects.counting().count()
