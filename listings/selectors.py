"""Reads shared by pages and the API."""

from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q, QuerySet

from marketplace.accounts.models import User

from .models import ListingStatus, Need, ReviewEvent, Technology

TECH_LIST_RELATED = ("organisation",)
# The region filter value "aid" means the paired aid provinces (对口援藏: 北京, 江苏) together.
AID_REGION_FILTER = "aid"
AID_REGIONS = ("beijing", "jiangsu")


def _with_vocab(qs: QuerySet, modes: str) -> QuerySet:
    return qs.select_related("organisation").prefetch_related("tags", modes)


def technology_list(
    *,
    user: User | None = None,
    field: str = "",
    tag: str = "",
    status: str = "",
    region: str = "",
    maturity: str = "",
    q: str = "",
    organisation_id: int | None = None,
    public_only: bool = True,
) -> QuerySet[Technology]:
    if public_only or user is None:
        qs = Technology.objects.published()
    else:
        qs = Technology.objects.visible_to(user)
    qs = _filter_common(qs, field=field, tag=tag, status=status, region=region, q=q, organisation_id=organisation_id)
    if maturity:
        qs = qs.filter(maturity=maturity)
    return _with_vocab(qs, "transfer_modes").prefetch_related("images").order_by("-published_at", "-created_at", "-id")


def need_list(
    *,
    user: User | None = None,
    field: str = "",
    tag: str = "",
    status: str = "",
    region: str = "",
    county: str = "",
    q: str = "",
    organisation_id: int | None = None,
    public_only: bool = True,
) -> QuerySet[Need]:
    if public_only or user is None:
        qs = Need.objects.published()
    else:
        qs = Need.objects.visible_to(user)
    qs = _filter_common(qs, field=field, tag=tag, status=status, region=region, q=q, organisation_id=organisation_id)
    if county:
        qs = qs.filter(county=county)
    return _with_vocab(qs, "desired_modes").order_by("-published_at", "-created_at", "-id")


def _filter_common(qs, *, field, tag, status, region, q, organisation_id):
    if field:
        qs = qs.filter(field=field)
    if tag:
        qs = qs.filter(tags__code=tag)
    if status:
        qs = qs.filter(status=status)
    if region == AID_REGION_FILTER:
        qs = qs.filter(region__in=AID_REGIONS)
    elif region:
        qs = qs.filter(region=region)
    if organisation_id:
        qs = qs.filter(organisation_id=organisation_id)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    return qs


def technology_detail(*, pk: int, user: User) -> Technology:
    """A technology the user may see (public, own organisation's, or any for the bureau)."""
    qs = (
        Technology.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related(
            "tags",
            "transfer_modes",
            "ip_records",
            "images",
            "attachments",
            Prefetch("review_events", queryset=ReviewEvent.objects.select_related("by")),
        )
    )
    return qs.get(pk=pk)


def need_detail(*, pk: int, user: User) -> Need:
    qs = (
        Need.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related(
            "tags",
            "desired_modes",
            "attachments",
            Prefetch("review_events", queryset=ReviewEvent.objects.select_related("by")),
        )
    )
    return qs.get(pk=pk)


def review_queue() -> dict:
    """What the bureau has to look at: pending technologies, needs and organisations."""
    from marketplace.accounts.selectors import organisations_pending_verification

    return {
        "technologies": _with_vocab(Technology.objects.pending_review(), "transfer_modes")
        .annotate(
            ip_count=Count("ip_records"),
            patent_count=Count("ip_records", filter=Q(ip_records__kind__in=["invention", "utility", "design"])),
        )
        .order_by("submitted_at"),
        "needs": _with_vocab(Need.objects.pending_review(), "desired_modes").order_by("submitted_at"),
        "organisations": organisations_pending_verification(),
    }


def home_counts() -> dict:
    from marketplace.accounts.models import Organisation

    tech = Technology.objects.published().aggregate(
        total=Count("id"), aid=Count("id", filter=Q(region__in=["beijing", "jiangsu"]))
    )
    return {
        "technologies": tech["total"],
        "aid_technologies": tech["aid"],
        "needs": Need.objects.published().count(),
        "organisations": Organisation.objects.verified().count(),
    }


def latest_technologies(*, limit: int = 8) -> QuerySet[Technology]:
    return technology_list()[:limit]


def latest_needs(*, limit: int = 8) -> QuerySet[Need]:
    return need_list()[:limit]


def organisation_listings(*, organisation_id: int) -> dict:
    return {
        "technologies": _with_vocab(
            Technology.objects.filter(organisation_id=organisation_id), "transfer_modes"
        ).order_by("-created_at"),
        "needs": _with_vocab(Need.objects.filter(organisation_id=organisation_id), "desired_modes").order_by(
            "-created_at"
        ),
    }


__all__ = ["ListingStatus"]


def _with_any_tag(qs: QuerySet, tags: Iterable[str]) -> QuerySet:
    """Listings carrying at least one of the tags (a subquery, so no duplicate rows and no DISTINCT)."""
    tags = [t for t in tags if t]
    if not tags:
        return qs
    return qs.filter(pk__in=qs.model.objects.filter(tags__code__in=tags).values("pk"))


def technology_list_for_api(*, user: User, tags: Iterable[str] = (), **filters) -> QuerySet[Technology]:
    """technology_list as the user may see it, any-of tags, with everything the API shows prefetched."""
    qs = technology_list(user=user, public_only=False, **filters)
    return _with_any_tag(qs, tags).prefetch_related("ip_records", "attachments")


def need_list_for_api(*, user: User, tags: Iterable[str] = (), **filters) -> QuerySet[Need]:
    """need_list as the user may see it; like the public list, others' needs past their deadline are hidden
    (visible_to alone would show them until the expiry sweep runs)."""
    qs = need_list(user=user, public_only=False, **filters)
    if not (user.is_authenticated and user.is_bureau):
        stale = Need.objects.past_deadline()
        if user.is_authenticated:
            stale = stale.exclude(organisation__memberships__user=user)
        qs = qs.exclude(pk__in=stale.values("pk"))
    return _with_any_tag(qs, tags).prefetch_related("attachments")


def review_history(*, limit: int = 30) -> QuerySet[ReviewEvent]:
    """The latest moderation events (the bureau's review page)."""
    events = ReviewEvent.objects.select_related("technology", "need", "organisation", "by")
    return events.order_by("-at", "-id")[:limit]
