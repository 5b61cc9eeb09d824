"""Import jobs: the web page's bulk import, run in the background by a django-tasks worker.

The page stores the upload and an ImportJob (:func:`import_job_create`), a worker runs
:func:`import_job_run` (listings/tasks.py), which calls the same all-or-nothing importer as the
command and writes its progress and its result (created count, or the row errors) on the job.
The job page polls :func:`import_job_status`.
"""

import logging
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Membership, Organisation, User
from marketplace.accounts.services import require_owner

from . import uploads
from .importer import import_listings
from .models import ImportJob

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx", ".jsonl", ".ndjson", ".json")
MAX_STORED_ERRORS = 1000


# ------------------------------------------------------------------ writes


def import_job_create(*, organisation: Organisation, by: User, kind: str, upload, dry_run: bool = False) -> ImportJob:
    """Store the upload and queue the import. Only owners of the organisation may import."""
    require_owner(user=by, organisation=organisation)
    if kind not in ImportJob.Kind.values:
        raise ValidationError({"kind": _("请选择导入类型:科技成果或技术需求")})
    name = PurePath(getattr(upload, "name", "") or "").name
    ext = PurePath(name).suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            {"file": _("只支持 CSV、XLSX(Excel)或 JSON Lines 文件,当前为「%(name)s」") % {"name": name}}
        )
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("文件过大:上限为 %(max)s MB,当前 %(size).1f MB")
                % {"max": settings.IMPORT_MAX_BYTES // (1024 * 1024), "size": upload.size / 1024 / 1024}
            }
        )
    if not upload.size:
        raise ValidationError({"file": _("文件是空的")})
    with transaction.atomic():
        job = ImportJob(organisation=organisation, user=by, kind=kind, file_name=name[:200], dry_run=dry_run)
        job.file.save(uploads.safe_name(name, ext.lstrip(".")), upload, save=False)
        job.save()
    # After the commit: a worker must never pick up a job it cannot see yet.
    from .tasks import run_import_job

    run_import_job.enqueue(job_id=job.pk)
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job once; any failure ends as a FAILED job with a message, never a stuck one."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    job = ImportJob.objects.select_related("organisation", "user").get(pk=job_id)
    if not claimed:
        return job  # already run (or running) by another worker

    def progress(processed: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=processed, total_rows=total)

    try:
        with job.file.open("rb") as upload:
            result = import_listings(
                upload,
                name=job.file_name,
                kind=job.kind,
                organisation=job.organisation,
                by=job.user,
                dry_run=job.dry_run,
                restrict_to_organisation=True,
                progress=progress,
            )
    except Exception:
        logger.exception("import job %s failed", job_id)
        job.status = ImportJob.Status.FAILED
        job.errors = [_entry(None, "", str(_("导入时发生内部错误,未保存任何数据。请稍后重试或联系平台管理员。")))]
    else:
        job.status = ImportJob.Status.DONE if result.ok else ImportJob.Status.FAILED
        job.total_rows = result.total_rows
        job.processed_rows = result.total_rows
        job.created_count = result.created
        job.errors = [dict(e.as_dict(), level="error") for e in result.errors[:MAX_STORED_ERRORS]]
        if len(result.errors) > MAX_STORED_ERRORS:
            hidden = len(result.errors) - MAX_STORED_ERRORS
            job.errors.append(_entry(None, "", str(_("……另有 %(n)s 处错误未列出") % {"n": hidden}), more=hidden))
        job.errors += [_entry(None, "", w, level="warning") for w in result.warnings]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "total_rows", "processed_rows", "created_count", "errors", "finished_at"])
    return job


def _entry(row, column: str, message: str, level: str = "error", more: int = 0) -> dict:
    entry = {"row": row, "column": column, "header": column, "message": message, "level": level}
    if more:
        entry["more"] = more  # stands for that many errors that were not stored
    return entry


# ------------------------------------------------------------------ reads


def import_job_for(*, job_id: int, user: User) -> ImportJob:
    """The job, for the user who started it or an owner of its organisation (else PermissionDenied)."""
    job = ImportJob.objects.select_related("organisation", "user").get(pk=job_id)
    if job.user_id != user.pk and not (
        job.organisation_id
        and Membership.objects.filter(
            user=user, organisation_id=job.organisation_id, role=Membership.Role.OWNER
        ).exists()
    ):
        raise PermissionDenied(_("只能查看本机构的导入任务"))
    return job


def import_jobs_recent(*, user: User, limit: int = 10) -> list[ImportJob]:
    owned = Membership.objects.filter(user=user, role=Membership.Role.OWNER).values("organisation_id")
    qs: QuerySet[ImportJob] = ImportJob.objects.filter(Q(user=user) | Q(organisation_id__in=owned))
    return list(qs.select_related("organisation").order_by("-created_at", "-id")[:limit])


def import_job_messages(job: ImportJob) -> tuple[list[dict], list[dict]]:
    """(errors, warnings) as stored on the job."""
    errors = [e for e in job.errors if e.get("level", "error") == "error"]
    warnings = [e for e in job.errors if e.get("level") == "warning"]
    return errors, warnings


def import_job_status(job: ImportJob) -> dict:
    """What the progress bar shows; the job page polls it as JSON."""
    finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    if job.status == ImportJob.Status.QUEUED:
        message = _("排队中,等待后台任务开始……")
    elif job.status == ImportJob.Status.RUNNING:
        if job.total_rows and job.processed_rows >= job.total_rows:
            message = _("校验完成,正在写入……")
        else:
            message = _("正在校验:%(done)s / %(total)s 行") % {"done": job.processed_rows, "total": job.total_rows}
    elif job.status == ImportJob.Status.DONE and job.dry_run:
        message = _("校验通过:%(n)s 行均可导入(仅校验,未保存)") % {"n": job.total_rows}
    elif job.status == ImportJob.Status.DONE:
        message = _("导入完成:新建 %(n)s 条(草稿)") % {"n": job.created_count}
    else:
        message = _("有错误,未导入任何数据")
    errors, _warnings = import_job_messages(job)
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "finished": finished,
        "processed": job.processed_rows,
        "total": job.total_rows,
        "percent": job.percent,
        "created": job.created_count,
        "dry_run": job.dry_run,
        "error_count": sum(e.get("more", 1) for e in errors),
        "message": str(message),
    }
