"""Writes and workflows for technologies and needs: one function per use case, one transaction each.

Workflow (both kinds): draft → pending (submitted for bureau review) → published, or returned
with a reason (edit and resubmit). Published → withdrawn by the owner. Editing a published
listing sends it back to review, so the bureau sees every public text. Needs expire after
their deadline.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Organisation, User
from marketplace.accounts.services import require_bureau, require_member

from . import uploads
from .models import (
    EDITABLE_STATUSES,
    Attachment,
    IPRecord,
    Listing,
    ListingStatus,
    Need,
    ReviewEvent,
    Tag,
    Technology,
    TechnologyImage,
    TransferMode,
)
from .patents import parse_patent_number
from .vocab import IPKind, maturity_for_trl

TECHNOLOGY_FIELDS = (
    "title",
    "summary",
    "description",
    "benefits",
    "keywords",
    "field",
    "maturity",
    "trl",
    "price_kind",
    "price_cny",
    "price_max_cny",
)
NEED_FIELDS = ("title", "description", "field", "budget_cny", "county", "min_maturity", "deadline")

MAX_IMAGES = 12
MAX_ATTACHMENTS = 10


def _event_kwargs(listing: Listing) -> dict:
    return {"technology": listing} if isinstance(listing, Technology) else {"need": listing}


def _require_editor(*, listing: Listing, by: User) -> None:
    require_member(user=by, organisation=listing.organisation)


def _check_publishable_organisation(organisation: Organisation) -> None:
    if not organisation.is_verified:
        raise ValidationError(_("机构尚未通过科技局认证,暂不能提交发布"))


def _apply(instance, fields: Iterable[str], data: dict) -> None:
    unknown = set(data) - set(fields)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)


def ip_records_from_patents(numbers: Iterable[str]) -> list[IPRecord]:
    """Parse patent numbers into unsaved IPRecords; ValueError carries a Chinese reason."""
    records, seen = [], set()
    for raw in numbers:
        if not raw.strip():
            continue
        number, kind = parse_patent_number(raw)
        if number not in seen:
            seen.add(number)
            records.append(IPRecord(kind=kind, number=number))
    return records


def _set_ip_records(technology: Technology, ip_records: Iterable[dict]) -> None:
    technology.ip_records.all().delete()
    rows = []
    for record in ip_records:
        ip = IPRecord(
            technology=technology,
            kind=record["kind"],
            number=record.get("number", "").strip(),
            title=record.get("title", "").strip(),
        )
        if ip.kind in (IPKind.INVENTION, IPKind.UTILITY, IPKind.DESIGN) and ip.number:
            try:
                ip.number, ip.kind = parse_patent_number(ip.number)
            except ValueError as exc:
                raise ValidationError({"ip_records": str(exc)}) from exc
        ip.full_clean(exclude=["technology"])
        if ip.number and any(other.number == ip.number for other in rows):
            raise ValidationError({"ip_records": _("编号 %(number)s 重复填写") % {"number": ip.number}})
        rows.append(ip)
    IPRecord.objects.bulk_create(rows)


@transaction.atomic
def technology_create(
    *,
    organisation: Organisation,
    by: User,
    tags: Iterable[str] = (),
    transfer_modes: Iterable[str] = (),
    ip_records: Iterable[dict] = (),
    submit: bool = False,
    **data,
) -> Technology:
    require_member(user=by, organisation=organisation)
    technology = Technology(organisation=organisation, created_by=by, region=organisation.region)
    _apply(technology, TECHNOLOGY_FIELDS, data)
    if technology.trl and not technology.maturity:
        technology.maturity = maturity_for_trl(technology.trl)
    technology.full_clean()
    modes = list(transfer_modes)
    if not modes:
        raise ValidationError({"transfer_modes": _("请至少选择一种转化方式")})
    technology.save()
    technology.tags.set(Tag.objects.filter(code__in=list(tags)))
    technology.transfer_modes.set(TransferMode.objects.filter(code__in=modes))
    _set_ip_records(technology, ip_records)
    if submit:
        listing_submit(listing=technology, by=by)
    return technology


@transaction.atomic
def technology_update(
    *,
    technology: Technology,
    by: User,
    tags: Iterable[str] | None = None,
    transfer_modes: Iterable[str] | None = None,
    ip_records: Iterable[dict] | None = None,
    submit: bool = False,
    **data,
) -> Technology:
    _require_editor(listing=technology, by=by)
    _require_editable(technology)
    _apply(technology, TECHNOLOGY_FIELDS, data)
    technology.full_clean()
    if transfer_modes is not None and not list(transfer_modes):
        raise ValidationError({"transfer_modes": _("请至少选择一种转化方式")})
    _back_to_review_if_public(technology, by)
    technology.save()
    if tags is not None:
        technology.tags.set(Tag.objects.filter(code__in=list(tags)))
    if transfer_modes is not None:
        technology.transfer_modes.set(TransferMode.objects.filter(code__in=list(transfer_modes)))
    if ip_records is not None:
        _set_ip_records(technology, ip_records)
    if submit and technology.status != ListingStatus.PENDING:
        listing_submit(listing=technology, by=by)
    return technology


@transaction.atomic
def need_create(
    *,
    organisation: Organisation,
    by: User,
    tags: Iterable[str] = (),
    desired_modes: Iterable[str] = (),
    submit: bool = False,
    **data,
) -> Need:
    require_member(user=by, organisation=organisation)
    need = Need(organisation=organisation, created_by=by, region=organisation.region)
    _apply(need, NEED_FIELDS, data)
    need.full_clean()
    _check_deadline(need)
    need.save()
    need.tags.set(Tag.objects.filter(code__in=list(tags)))
    need.desired_modes.set(TransferMode.objects.filter(code__in=list(desired_modes)))
    if submit:
        listing_submit(listing=need, by=by)
    return need


@transaction.atomic
def need_update(
    *,
    need: Need,
    by: User,
    tags: Iterable[str] | None = None,
    desired_modes: Iterable[str] | None = None,
    submit: bool = False,
    **data,
) -> Need:
    _require_editor(listing=need, by=by)
    _require_editable(need)
    _apply(need, NEED_FIELDS, data)
    need.full_clean()
    if "deadline" in data:
        _check_deadline(need)
    _back_to_review_if_public(need, by)
    need.save()
    if tags is not None:
        need.tags.set(Tag.objects.filter(code__in=list(tags)))
    if desired_modes is not None:
        need.desired_modes.set(TransferMode.objects.filter(code__in=list(desired_modes)))
    if submit and need.status != ListingStatus.PENDING:
        listing_submit(listing=need, by=by)
    return need


def _check_deadline(need: Need) -> None:
    if need.deadline and need.deadline < timezone.localdate():
        raise ValidationError({"deadline": _("截止日期不能早于今天")})


def _require_editable(listing: Listing) -> None:
    if listing.status not in EDITABLE_STATUSES:
        raise ValidationError(_("「%(status)s」状态下不能修改") % {"status": listing.get_status_display()})


def _back_to_review_if_public(listing: Listing, by: User) -> None:
    if listing.status == ListingStatus.PUBLISHED:
        listing.status = ListingStatus.PENDING
        listing.submitted_at = timezone.now()
        ReviewEvent.objects.create(
            action=ReviewEvent.Action.SUBMITTED, by=by, note="修改后重新提交", **_event_kwargs(listing)
        )


@transaction.atomic
def listing_submit(*, listing: Listing, by: User) -> Listing:
    _require_editor(listing=listing, by=by)
    _check_publishable_organisation(listing.organisation)
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.RETURNED, ListingStatus.WITHDRAWN):
        raise ValidationError(_("「%(status)s」状态下不能提交审核") % {"status": listing.get_status_display()})
    if isinstance(listing, Need):
        _check_deadline(listing)
    listing.status = ListingStatus.PENDING
    listing.submitted_at = timezone.now()
    listing.save(update_fields=["status", "submitted_at", "updated_at"])
    ReviewEvent.objects.create(action=ReviewEvent.Action.SUBMITTED, by=by, **_event_kwargs(listing))
    return listing


@transaction.atomic
def listing_review(*, listing: Listing, by: User, approve: bool, note: str = "") -> Listing:
    """The bureau approves a pending listing, or returns it with a reason."""
    require_bureau(by)
    if listing.status != ListingStatus.PENDING:
        raise ValidationError(_("只能审核待审核状态的条目"))
    note = note.strip()
    if not approve and not note:
        raise ValidationError({"note": _("退回时请填写原因")})
    if approve:
        listing.status = ListingStatus.PUBLISHED
        listing.published_at = listing.published_at or timezone.now()
    else:
        listing.status = ListingStatus.RETURNED
    listing.review_note = note
    listing.save(update_fields=["status", "published_at", "review_note", "updated_at"])
    ReviewEvent.objects.create(
        action=ReviewEvent.Action.APPROVED if approve else ReviewEvent.Action.RETURNED,
        by=by,
        note=note,
        **_event_kwargs(listing),
    )
    _notify_review_result(listing, approve=approve, note=note)
    return listing


def _notify_review_result(listing: Listing, *, approve: bool, note: str) -> None:
    from django.urls import reverse

    from marketplace.messaging.services import notify

    name = "listings:technology_detail" if isinstance(listing, Technology) else "listings:need_detail"
    if approve:
        title = _("「%(title)s」已通过审核,已公开发布") % {"title": listing.title}
    else:
        title = _("「%(title)s」被退回修改") % {"title": listing.title}
    url = reverse(name, kwargs={"pk": listing.pk})
    notify(organisation=listing.organisation, kind="review_result", title=title, body=note, url=url)


@transaction.atomic
def listing_withdraw(*, listing: Listing, by: User, note: str = "") -> Listing:
    _require_editor(listing=listing, by=by)
    if listing.status in (ListingStatus.WITHDRAWN, ListingStatus.TRANSFERRED, ListingStatus.RESOLVED):
        raise ValidationError(_("「%(status)s」状态下不能撤回") % {"status": listing.get_status_display()})
    listing.status = ListingStatus.WITHDRAWN
    listing.save(update_fields=["status", "updated_at"])
    ReviewEvent.objects.create(action=ReviewEvent.Action.WITHDRAWN, by=by, note=note, **_event_kwargs(listing))
    return listing


def needs_expire(*, today=None) -> int:
    """Mark published needs whose deadline has passed as expired; returns how many."""
    today = today or timezone.localdate()
    with transaction.atomic():
        ids = list(Need.objects.filter(status=ListingStatus.PUBLISHED, deadline__lt=today).values_list("id", flat=True))
        Need.objects.filter(id__in=ids).update(status=ListingStatus.EXPIRED, updated_at=timezone.now())
        ReviewEvent.objects.bulk_create(
            [ReviewEvent(need_id=i, action=ReviewEvent.Action.EXPIRED, note="已过截止日期") for i in ids]
        )
    return len(ids)


@transaction.atomic
def technology_add_image(*, technology: Technology, upload, by: User, caption: str = "") -> TechnologyImage:
    """Validate an uploaded image (Pillow), strip EXIF, store it with 320/960 px WebP thumbnails."""
    _require_editor(listing=technology, by=by)
    if technology.images.count() >= MAX_IMAGES:
        raise ValidationError(_("每项成果最多上传 %(max)d 张图片") % {"max": MAX_IMAGES})
    processed = uploads.process_image(upload)
    image = TechnologyImage(
        technology=technology,
        width=processed.width,
        height=processed.height,
        caption=caption,
        position=technology.images.count(),
    )
    image.full_clean(exclude=["image", "thumb_320", "thumb_960"])
    uploads.save_with_files(
        image,
        [
            (image.image, processed.name, processed.original),
            (image.thumb_320, processed.thumb_name(320), processed.thumbs[320]),
            (image.thumb_960, processed.thumb_name(960), processed.thumbs[960]),
        ],
    )
    return image


@transaction.atomic
def technology_remove_image(*, image: TechnologyImage, by: User) -> None:
    _require_editor(listing=image.technology, by=by)
    files = [f for f in (image.image, image.thumb_320, image.thumb_960) if f]
    image.delete()
    # Files go only once the row is gone for good.
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files])


@transaction.atomic
def listing_add_attachment(*, listing: Listing, upload, by: User) -> Attachment:
    """PDF only, checked by content; at most 20 MB."""
    _require_editor(listing=listing, by=by)
    if listing.attachments.count() >= MAX_ATTACHMENTS:
        raise ValidationError(_("最多上传 %(max)d 个附件") % {"max": MAX_ATTACHMENTS})
    name = uploads.validate_pdf(upload)
    attachment = Attachment(name=name, size=upload.size, **_event_kwargs(listing))
    attachment.full_clean(exclude=["file"])
    uploads.save_with_files(attachment, [(attachment.file, uploads.safe_name(name, "pdf"), upload)])
    return attachment


def ensure_can_edit(*, listing: Listing, by: User) -> None:
    """For views: raise PermissionDenied unless the user may edit this listing."""
    _require_editor(listing=listing, by=by)
