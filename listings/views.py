"""Technology and need pages: each view parses input, checks permission, calls one service or selector, renders.

Services raise PermissionDenied (→ 403) and ValidationError (→ errors on the re-rendered form, or a
message on the detail page for the one-button actions); they are atomic, so a refused request saves nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from marketplace.views import run_action

from . import selectors, services
from .forms import (
    TECHNOLOGY_ERROR_ALIASES,
    AttachmentUploadForm,
    ImageUploadForm,
    NeedFilterForm,
    NeedForm,
    TechnologyFilterForm,
    TechnologyForm,
    add_service_errors,
)
from .models import EDITABLE_STATUSES, Listing, ListingStatus, Need, Technology

PAGE_SIZE = 20
# Which one-button actions the detail page offers; the services have the last word.
SUBMITTABLE_STATUSES = (ListingStatus.DRAFT, ListingStatus.RETURNED, ListingStatus.WITHDRAWN)
WITHDRAWABLE_STATUSES = (ListingStatus.PENDING, ListingStatus.PUBLISHED, ListingStatus.NEGOTIATING)


def _is_post(request) -> bool:
    return request.method == "POST"


def _get_technology(request, pk: int) -> Technology:
    try:
        return selectors.technology_detail(pk=pk, user=request.user)
    except Technology.DoesNotExist:
        raise Http404(_("科技成果不存在,或您无权查看"))


def _get_need(request, pk: int) -> Need:
    try:
        return selectors.need_detail(pk=pk, user=request.user)
    except Need.DoesNotExist:
        raise Http404(_("技术需求不存在,或您无权查看"))


def _can_edit(listing: Listing, user) -> bool:
    if not user.is_authenticated:
        return False
    try:
        services.ensure_can_edit(listing=listing, by=user)
    except PermissionDenied:
        return False
    return True


def _owner_context(request, listing: Listing) -> dict:
    can_edit = _can_edit(listing, request.user)
    is_bureau = bool(getattr(request.user, "is_bureau", False))
    return {
        "can_edit": can_edit,
        "is_bureau": is_bureau,
        "show_status": can_edit or is_bureau,
        "editable": can_edit and listing.status in EDITABLE_STATUSES,
        "can_submit": can_edit and listing.status in SUBMITTABLE_STATUSES,
        "can_withdraw": can_edit and listing.status in WITHDRAWABLE_STATUSES,
        "can_contact": request.user.is_authenticated and not can_edit,
    }


def technology_url(technology: Technology) -> str:
    return reverse("listings:technology_detail", kwargs={"pk": technology.pk})


def need_url(need: Need) -> str:
    return reverse("listings:need_detail", kwargs={"pk": need.pk})


def _paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# ----------------------------------------------------------------- technologies


def technology_list(request):
    form = TechnologyFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    page = _paginate(request, selectors.technology_list(**filters))
    return render(
        request,
        "listings/technology_list.html",
        {"form": form, "page": page, "filtered": any(filters.values())},
    )


def technology_detail(request, pk: int):
    technology = _get_technology(request, pk)
    context = {"technology": technology, **_owner_context(request, technology)}
    if context["can_edit"]:
        context.update(image_form=ImageUploadForm(), attachment_form=AttachmentUploadForm())
    return render(request, "listings/technology_detail.html", context)


@login_required
def technology_create(request):
    form = TechnologyForm(request.POST if _is_post(request) else None, user=request.user)
    if _is_post(request) and form.is_valid():
        data = form.cleaned_data
        try:
            technology = services.technology_create(
                organisation=data["organisation"], by=request.user, submit=data["submit"], **form.service_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(form, exc, TECHNOLOGY_ERROR_ALIASES)
        else:
            if data["submit"]:
                messages.success(request, _("成果已保存并提交审核,科技局审核通过后公开发布"))
            else:
                messages.success(request, _("成果已保存为草稿,确认无误后请提交审核"))
            return redirect("listings:technology_detail", pk=technology.pk)
    return render(request, "listings/technology_form.html", {"form": form, "technology": None})


@login_required
def technology_edit(request, pk: int):
    technology = _get_technology(request, pk)
    services.ensure_can_edit(listing=technology, by=request.user)
    if technology.status not in EDITABLE_STATUSES:
        messages.warning(request, _("「%(status)s」状态下不能修改") % {"status": technology.get_status_display()})
        return redirect("listings:technology_detail", pk=technology.pk)
    was_published = technology.status == ListingStatus.PUBLISHED
    form = TechnologyForm(
        request.POST if _is_post(request) else None,
        user=request.user,
        with_organisation=False,
        # A published listing goes back to review by itself; a draft or returned one may be sent now.
        with_submit=not was_published,
        initial=TechnologyForm.initial_for(technology),
    )
    if _is_post(request) and form.is_valid():
        try:
            services.technology_update(
                technology=technology,
                by=request.user,
                submit=form.cleaned_data.get("submit", False),
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc, TECHNOLOGY_ERROR_ALIASES)
        else:
            if was_published:
                messages.success(request, _("修改已保存;已发布的成果修改后需重新审核"))
            else:
                messages.success(request, _("修改已保存"))
            return redirect("listings:technology_detail", pk=technology.pk)
    return render(
        request,
        "listings/technology_form.html",
        {"form": form, "technology": technology, "was_published": was_published},
    )


@login_required
@require_POST
def technology_submit(request, pk: int):
    technology = _get_technology(request, pk)
    run_action(
        request,
        lambda: services.listing_submit(listing=technology, by=request.user),
        _("已提交审核,科技局审核通过后公开发布"),
    )
    return redirect("listings:technology_detail", pk=technology.pk)


@login_required
@require_POST
def technology_withdraw(request, pk: int):
    technology = _get_technology(request, pk)
    run_action(
        request,
        lambda: services.listing_withdraw(listing=technology, by=request.user),
        _("成果已撤回,不再公开展示"),
    )
    return redirect("listings:technology_detail", pk=technology.pk)


@login_required
def technology_image_add(request, pk: int):
    technology = _get_technology(request, pk)
    services.ensure_can_edit(listing=technology, by=request.user)
    form = ImageUploadForm(request.POST if _is_post(request) else None, request.FILES or None)
    if _is_post(request) and form.is_valid():
        try:
            services.technology_add_image(
                technology=technology,
                upload=form.cleaned_data["image"],
                by=request.user,
                caption=form.cleaned_data["caption"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, default_field="image")
        else:
            messages.success(request, _("图片已上传"))
            return redirect("listings:technology_detail", pk=technology.pk)
    return render(
        request,
        "listings/upload_form.html",
        {"form": form, "listing": technology, "kind": "image", "cancel_url": technology_url(technology)},
    )


@login_required
@require_POST
def technology_image_delete(request, pk: int, image_pk: int):
    technology = _get_technology(request, pk)
    image = next((image for image in technology.images.all() if image.pk == image_pk), None)
    if image is None:
        raise Http404(_("图片不存在"))
    services.technology_remove_image(image=image, by=request.user)
    messages.success(request, _("图片已删除"))
    return redirect("listings:technology_detail", pk=technology.pk)


@login_required
def technology_attachment_add(request, pk: int):
    technology = _get_technology(request, pk)
    return _attachment_add(request, technology, technology_url(technology))


def _attachment_add(request, listing: Listing, detail_url: str):
    services.ensure_can_edit(listing=listing, by=request.user)
    form = AttachmentUploadForm(request.POST if _is_post(request) else None, request.FILES or None)
    if _is_post(request) and form.is_valid():
        try:
            services.listing_add_attachment(listing=listing, upload=form.cleaned_data["file"], by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, default_field="file")
        else:
            messages.success(request, _("附件已上传"))
            return redirect(f"{detail_url}#attachments")
    return render(
        request,
        "listings/upload_form.html",
        {"form": form, "listing": listing, "kind": "attachment", "cancel_url": detail_url},
    )


# ----------------------------------------------------------------- needs


def need_list(request):
    form = NeedFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    page = _paginate(request, selectors.need_list(**filters))
    return render(request, "listings/need_list.html", {"form": form, "page": page, "filtered": any(filters.values())})


def need_detail(request, pk: int):
    need = _get_need(request, pk)
    context = {
        "need": need,
        "days_left": (need.deadline - timezone.localdate()).days,
        **_owner_context(request, need),
    }
    if context["can_edit"]:
        context["attachment_form"] = AttachmentUploadForm()
    return render(request, "listings/need_detail.html", context)


@login_required
def need_create(request):
    form = NeedForm(request.POST if _is_post(request) else None, user=request.user)
    if _is_post(request) and form.is_valid():
        data = form.cleaned_data
        try:
            need = services.need_create(
                organisation=data["organisation"], by=request.user, submit=data["submit"], **form.service_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if data["submit"]:
                messages.success(request, _("需求已保存并提交审核,科技局审核通过后公开发布"))
            else:
                messages.success(request, _("需求已保存为草稿,确认无误后请提交审核"))
            return redirect("listings:need_detail", pk=need.pk)
    return render(request, "listings/need_form.html", {"form": form, "need": None})


@login_required
def need_edit(request, pk: int):
    need = _get_need(request, pk)
    services.ensure_can_edit(listing=need, by=request.user)
    if need.status not in EDITABLE_STATUSES:
        messages.warning(request, _("「%(status)s」状态下不能修改") % {"status": need.get_status_display()})
        return redirect("listings:need_detail", pk=need.pk)
    was_published = need.status == ListingStatus.PUBLISHED
    form = NeedForm(
        request.POST if _is_post(request) else None,
        user=request.user,
        with_organisation=False,
        # A published listing goes back to review by itself; a draft or returned one may be sent now.
        with_submit=not was_published,
        initial=NeedForm.initial_for(need),
    )
    if _is_post(request) and form.is_valid():
        try:
            services.need_update(
                need=need, by=request.user, submit=form.cleaned_data.get("submit", False), **form.service_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if was_published:
                messages.success(request, _("修改已保存;已发布的需求修改后需重新审核"))
            else:
                messages.success(request, _("修改已保存"))
            return redirect("listings:need_detail", pk=need.pk)
    return render(request, "listings/need_form.html", {"form": form, "need": need, "was_published": was_published})


@login_required
@require_POST
def need_submit(request, pk: int):
    need = _get_need(request, pk)
    run_action(
        request,
        lambda: services.listing_submit(listing=need, by=request.user),
        _("已提交审核,科技局审核通过后公开发布"),
    )
    return redirect("listings:need_detail", pk=need.pk)


@login_required
@require_POST
def need_withdraw(request, pk: int):
    need = _get_need(request, pk)
    run_action(
        request,
        lambda: services.listing_withdraw(listing=need, by=request.user),
        _("需求已撤回,不再公开展示"),
    )
    return redirect("listings:need_detail", pk=need.pk)


@login_required
def need_attachment_add(request, pk: int):
    need = _get_need(request, pk)
    return _attachment_add(request, need, need_url(need))
