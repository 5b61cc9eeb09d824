"""Account and organisation pages: parse input, check permission, call one service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from listings import selectors as listing_selectors

from . import selectors, services
from .forms import MemberAddForm, OrganisationForm, OrganisationProfileForm, SignupForm, add_service_errors
from .models import Membership, Organisation

# ------------------------------------------------------------------ sign-up, login, logout, password reset


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:organisations")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
                display_name=form.cleaned_data["display_name"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            login(request, user)
            messages.success(request, _("注册成功,欢迎使用本平台。请先登记您所在的机构。"))
            return redirect(_safe_next(request) or reverse("accounts:organisations"))
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request)})


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST logs out; GET (an old bookmark, a typed URL) asks for confirmation instead of a bare 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "registration/logout_confirm.html")


password_reset = auth_views.PasswordResetView.as_view(
    template_name="registration/password_reset_form.html",
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
    extra_email_context={"site_name": settings.SITE_NAME},
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="registration/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)


# ------------------------------------------------------------------ organisations


@login_required
def organisation_list(request):
    memberships = selectors.memberships_of(user=request.user)
    return render(request, "accounts/organisation_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(owner=request.user, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("机构「%(name)s」已登记,请等待科技局认证。") % {"name": organisation.name})
            return redirect("accounts:organisation_detail", pk=organisation.pk)
    return render(request, "accounts/organisation_form.html", {"form": form, "organisation": None})


@login_required
def organisation_detail(request, pk: int):
    organisation = get_object_or_404(Organisation, pk=pk)
    role = services.role_in(user=request.user, organisation=organisation)
    if role is None and not request.user.is_bureau:
        raise PermissionDenied(_("只有本机构成员可以查看机构工作台"))
    return _render_detail(request, organisation, role)


def _render_detail(request, organisation: Organisation, role: str | None, member_form=None, status: int = 200):
    is_owner = role == Membership.Role.OWNER
    if is_owner and member_form is None:
        member_form = MemberAddForm(acting_user=request.user)
    context = {
        "organisation": organisation,
        "role": role,
        "is_owner": is_owner,
        "members": selectors.organisation_members(organisation=organisation),
        "listings": listing_selectors.organisation_listings(organisation_id=organisation.pk),
        "member_form": member_form if is_owner else None,
    }
    return render(request, "accounts/organisation_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request, pk: int):
    organisation = get_object_or_404(Organisation, pk=pk)
    services.require_owner(user=request.user, organisation=organisation)
    # The bureau verified name, kind, region and code: once verified only the profile stays editable.
    form_class = OrganisationProfileForm if organisation.is_verified else OrganisationForm
    form = form_class(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_update(organisation=organisation, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("机构信息已保存。"))
            return redirect("accounts:organisation_detail", pk=organisation.pk)
    return render(request, "accounts/organisation_form.html", {"form": form, "organisation": organisation})


@login_required
@require_POST
def member_add(request, pk: int):
    organisation = get_object_or_404(Organisation, pk=pk)
    services.require_owner(user=request.user, organisation=organisation)
    form = MemberAddForm(request.POST, acting_user=request.user)
    if form.is_valid():
        try:
            membership = services.membership_add(
                organisation=organisation,
                user=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已将 %(user)s 设为本机构%(role)s。")
                % {"user": membership.user, "role": membership.get_role_display()},
            )
            return redirect(reverse("accounts:organisation_detail", args=[organisation.pk]) + "#members")
    return _render_detail(request, organisation, Membership.Role.OWNER, member_form=form)


@login_required
@require_POST
def organisation_request_verification(request, pk: int):
    organisation = get_object_or_404(Organisation, pk=pk)
    try:
        services.organisation_request_verification(organisation=organisation, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已重新提交认证申请,请等待科技局审核。"))
    return redirect("accounts:organisation_detail", pk=organisation.pk)
