"""The bulk import page: owners upload a file, a background task imports it, the job page shows progress."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from marketplace.accounts.models import Organisation
from marketplace.accounts.selectors import owned_organisations

from . import imports
from .importer import KIND_LABELS, KINDS, template_csv
from .models import ImportJob


class ImportForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.all(), label=_("导入到机构"))
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices, label=_("导入类型"), widget=forms.RadioSelect)
    file = forms.FileField(
        label=_("文件"),
        help_text=_("CSV(UTF-8 或 Excel 默认的 GBK 编码)、XLSX 或 JSON Lines;第一行为表头。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.jsonl,.ndjson,.json"}),
    )
    dry_run = forms.BooleanField(
        required=False, label=_("只校验,不保存"), help_text=_("先检查文件中的每一行,确认无误后再正式导入。")
    )

    def __init__(self, *args, organisations: list[Organisation], **kwargs):
        super().__init__(*args, **kwargs)
        # Any organisation validates (the service answers 403 for one the user does not own);
        # the list offers only the user's own.
        self.fields["organisation"].widget.choices = [(o.pk, o.name) for o in organisations]


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request):
    organisations = list(owned_organisations(user=request.user).order_by("name"))
    if not organisations:
        raise PermissionDenied(_("只有机构管理员可以批量导入"))
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, organisations=organisations)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = imports.import_job_create(
                    organisation=data["organisation"],
                    by=request.user,
                    kind=data["kind"],
                    upload=data["file"],
                    dry_run=data["dry_run"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("imports:job", pk=job.pk)
        status = 400
    else:
        initial = {"kind": request.GET.get("kind") or ImportJob.Kind.TECHNOLOGY}
        requested = request.GET.get("organisation", "")
        initial["organisation"] = next((o.pk for o in organisations if str(o.pk) == requested), organisations[0].pk)
        form = ImportForm(initial=initial, organisations=organisations)
        status = 200
    context = {
        "form": form,
        "jobs": imports.import_jobs_recent(user=request.user),
        "templates": [(kind, KIND_LABELS[kind]) for kind in KINDS],
    }
    return render(request, "imports/start.html", context, status=status)


def _job(request, pk: int) -> ImportJob:
    try:
        return imports.import_job_for(job_id=pk, user=request.user)
    except ImportJob.DoesNotExist:
        raise Http404(_("没有这个导入任务"))


@login_required
@require_GET
def job_detail(request, pk: int):
    job = _job(request, pk)
    errors, warnings = imports.import_job_messages(job)
    context = {"job": job, "status": imports.import_job_status(job), "errors": errors, "warnings": warnings}
    return render(request, "imports/job.html", context)


@login_required
@require_GET
def job_status(request, pk: int):
    return JsonResponse(imports.import_job_status(_job(request, pk)))


@require_GET
def template_download(request, kind: str):
    if kind not in KINDS:
        raise Http404(_("没有这种导入模板"))
    response = HttpResponse(template_csv(kind), content_type="text/csv; charset=utf-8")
    filename = _("%(kind)s导入模板.csv") % {"kind": KIND_LABELS[kind]}
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
