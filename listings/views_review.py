"""The bureau's review queue: pending technologies, needs and organisations, with approve / return actions."""

import datetime
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from marketplace.accounts import services as account_services
from marketplace.accounts.models import Organisation

from . import selectors, services
from .models import Need, Technology

# Items waiting longer than this are flagged on the page.
WAITING_TOO_LONG = datetime.timedelta(days=7)


class ListingDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", gettext_lazy("通过")), ("return", gettext_lazy("退回"))])
    note = forms.CharField(label=gettext_lazy("退回原因"), max_length=500, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "return" and not (cleaned.get("note") or "").strip():
            self.add_error("note", gettext_lazy("退回时请填写原因"))
        return cleaned


class VerificationDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("verify", gettext_lazy("认证通过")), ("reject", gettext_lazy("不通过"))])
    note = forms.CharField(label=gettext_lazy("不通过原因"), max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "reject" and not (cleaned.get("note") or "").strip():
            self.add_error("note", gettext_lazy("未通过认证时请填写原因"))
        return cleaned


def bureau_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        account_services.require_bureau(request.user)
        return view(request, *args, **kwargs)

    return wrapped


def _render_queue(request, *, failed: dict | None = None, status: int = 200):
    context = {
        "queue": selectors.review_queue(),
        "history": selectors.review_history(),
        "stale_before": timezone.now() - WAITING_TOO_LONG,
        "failed": failed or {},
    }
    return render(request, "review/queue.html", context, status=status)


@require_GET
@bureau_required
def queue(request):
    return _render_queue(request)


LISTING_MODELS = {"technology": Technology, "need": Need}


@require_POST
@bureau_required
def listing_decide(request, kind: str, pk: int):
    model = LISTING_MODELS.get(kind)
    if model is None:
        raise Http404
    listing = get_object_or_404(model.objects.select_related("organisation"), pk=pk)
    form = ListingDecisionForm(request.POST)
    if not form.is_valid():
        return _render_queue(request, failed={"kind": kind, "pk": listing.pk, "form": form}, status=400)
    approve = form.cleaned_data["action"] == "approve"
    try:
        services.listing_review(listing=listing, by=request.user, approve=approve, note=form.cleaned_data["note"])
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, _("「%(name)s」:%(message)s") % {"name": listing.title, "message": message})
    else:
        if approve:
            messages.success(request, _("「%(title)s」已审核通过并发布。") % {"title": listing.title})
        else:
            messages.success(
                request, _("「%(title)s」已退回修改,发布方可在机构工作台看到退回原因。") % {"title": listing.title}
            )
    return redirect(reverse("review:queue") + f"#{kind}-section")


@require_POST
@bureau_required
def organisation_decide(request, pk: int):
    organisation = get_object_or_404(Organisation, pk=pk)
    form = VerificationDecisionForm(request.POST)
    if not form.is_valid():
        return _render_queue(request, failed={"kind": "organisation", "pk": organisation.pk, "form": form}, status=400)
    approve = form.cleaned_data["action"] == "verify"
    if organisation.verification != Organisation.Verification.PENDING:
        # A second officer (or a double click) must not overwrite a decision already taken.
        messages.error(
            request,
            _("机构「%(name)s」已处理(%(state)s),无需重复审核。")
            % {"name": organisation.name, "state": organisation.get_verification_display()},
        )
        return redirect(reverse("review:queue") + "#organisation-section")
    try:
        account_services.organisation_verify(
            organisation=organisation, by=request.user, approve=approve, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, _("「%(name)s」:%(message)s") % {"name": organisation.name, "message": message})
    else:
        if approve:
            messages.success(request, _("机构「%(name)s」已通过认证。") % {"name": organisation.name})
        else:
            messages.success(
                request, _("机构「%(name)s」认证未通过,该机构可在工作台看到原因。") % {"name": organisation.name}
            )
    return redirect(reverse("review:queue") + "#organisation-section")
