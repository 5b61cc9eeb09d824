"""Matching pages: a need's 匹配结果, a technology's 潜在需求, and the buyer's and seller's actions on a match.

Each view parses input, checks permission (the selectors refuse others' listings), calls one service or
selector, renders. Refusals from services become messages on the page the user returns to.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from listings.models import Need, Technology

from . import selectors, services
from .forms import DismissForm


def _need(request, pk: int) -> Need:
    try:
        return selectors.need_for_owner(pk=pk, user=request.user)
    except Need.DoesNotExist:
        raise Http404(_("技术需求不存在"))


def _technology(request, pk: int) -> Technology:
    try:
        return selectors.technology_for_owner(pk=pk, user=request.user)
    except Technology.DoesNotExist:
        raise Http404(_("科技成果不存在"))


def _public_technology(pk: int) -> Technology:
    technology = Technology.objects.select_related("organisation").filter(pk=pk).first()
    if technology is None:
        raise Http404(_("科技成果不存在"))
    return technology


@login_required
def overview(request):
    return render(request, "matching/overview.html", selectors.overview_for_user(user=request.user))


@login_required
def need_matches(request, pk: int):
    need = _need(request, pk)
    result = selectors.technology_ranking(need=need)
    # Opening the page is what "viewed" means for the buyer.
    services.matches_mark_viewed(need=need, by=request.user)
    return render(
        request,
        "matching/need_matches.html",
        {"need": need, "ranking": result, "dismiss_form": DismissForm(), "is_public": need.is_public},
    )


@login_required
def technology_leads(request, pk: int):
    technology = _technology(request, pk)
    return render(
        request,
        "matching/technology_leads.html",
        {
            "technology": technology,
            "leads": selectors.technology_leads_display(technology=technology),
            "dismissals": selectors.dismissal_summary(technology=technology),
        },
    )


def _back(request, need: Need):
    return redirect("matching:need_matches", pk=need.pk)


@login_required
@require_POST
def match_dismiss(request, pk: int, technology_pk: int):
    need = _need(request, pk)
    form = DismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择忽略原因") + ":" + " ".join(e for errs in form.errors.values() for e in errs))
        return _back(request, need)
    try:
        services.match_dismiss(
            need=need,
            technology=_public_technology(technology_pk),
            by=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已忽略该成果,原因会匿名汇总反馈给成果方"))
    return _back(request, need)


@login_required
@require_POST
def match_restore(request, pk: int, technology_pk: int):
    need = _need(request, pk)
    try:
        services.match_restore(need=need, technology=_public_technology(technology_pk), by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已恢复到匹配结果中"))
    return _back(request, need)


@login_required
@require_POST
def match_contact(request, pk: int, technology_pk: int):
    """联系对方: from the buyer's match page or the seller's leads page (either side may start it)."""
    need = Need.objects.select_related("organisation").filter(pk=pk).first()
    if need is None:
        raise Http404(_("技术需求不存在"))
    technology = _public_technology(technology_pk)
    try:
        _match, conversation = services.match_contact(need=need, technology=technology, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _next(request)
    url = services.conversation_url(conversation)
    if url:
        return redirect(url)
    messages.success(request, _("已标记为已联系。在线洽谈功能开通后,将在这里直接打开对话。"))
    return _next(request)


def _next(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("matching:overview")
