"""Contract pages: deals, drafting and submitting contracts, the bureau's review, certificates, 公示, audit.

Each view parses input, checks permission, calls one service or selector and renders. Services
raise PermissionDenied (→ 403) and ValidationError (→ form errors or a message); they are atomic,
so a refused request saves nothing. Scanned contracts are served here only, after the same check
as the contract page: they are stored outside MEDIA_ROOT and have no public URL.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from listings.forms import add_service_errors
from listings.models import Need, Technology
from marketplace.accounts.selectors import organisations_of
from marketplace.accounts.services import require_bureau, require_member
from marketplace.views import run_action

from . import selectors, services
from .forms import ContractForm, ReturnForm, ScanForm
from .models import Contract, ContractVersion

ERROR_ALIASES = {"buyer_organisation": "buyer_name"}


def _contract(request, pk: int) -> Contract:
    try:
        return selectors.contract_detail(pk=pk, user=request.user)
    except Contract.DoesNotExist:
        raise Http404(_("合同不存在,或您无权查看"))


def index(request):
    if not request.user.is_authenticated:
        return redirect("contracts:notices")
    context = {
        "contracts": selectors.contracts_for_user(user=request.user)[:200],
        "deals": selectors.deals_for_user(user=request.user)[:100],
        "is_bureau": request.user.is_bureau,
    }
    if request.user.is_bureau:
        context["queue_count"] = selectors.review_queue().count()
        context["overdue_count"] = selectors.overdue_count()
    return render(request, "contracts/index.html", context)


# ---------------------------------------------------------------- deals


def _deal_from_conversation_or_match(request, source):
    """A deal from a conversation (marketplace.messaging) or a match (matching): the sides are known."""
    from marketplace.messaging.models import Conversation
    from matching.models import Match

    try:
        if source.get("conversation"):
            origin = Conversation.objects.for_user(request.user).get(pk=int(source["conversation"]))
            field, create = "conversation", services.deal_for_conversation
        else:
            origin = Match.objects.select_related("technology", "need").get(pk=int(source["match"]))
            field, create = "match", services.deal_for_match
    except (ValueError, ObjectDoesNotExist):
        raise Http404(_("会话或匹配不存在,或您无权查看"))
    error = None
    if request.method == "POST":
        try:
            deal = create(**{field: origin}, by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("已发起洽谈;签订合同后由卖方登记技术合同"))
            return redirect("contracts:deal_detail", pk=deal.pk)
    return render(
        request,
        "contracts/deal_open.html",
        {"origin": origin, "origin_field": field, "error": error},
        status=400 if error else 200,
    )


@login_required
def deal_open(request):
    technology = need = None
    source = request.GET if request.method == "GET" else request.POST
    if source.get("conversation") or source.get("match"):
        return _deal_from_conversation_or_match(request, source)
    try:
        if source.get("technology"):
            technology = get_object_or_404(Technology, pk=int(source["technology"]))
        elif source.get("need"):
            need = get_object_or_404(Need, pk=int(source["need"]))
        else:
            raise Http404(_("请从一项科技成果或一条技术需求发起洽谈"))
    except ValueError:
        raise Http404(_("请从一项科技成果或一条技术需求发起洽谈"))
    subject = technology or need
    organisations = organisations_of(user=request.user).exclude(pk=subject.organisation_id)
    error = None
    if request.method == "POST":
        organisation = organisations.filter(pk=request.POST.get("organisation") or 0).first()
        if organisation is None:
            error = _("请选择以哪个机构的名义洽谈")
        else:
            try:
                deal = services.deal_open(by=request.user, organisation=organisation, technology=technology, need=need)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, _("已发起洽谈;签订合同后由卖方登记技术合同"))
                return redirect("contracts:deal_detail", pk=deal.pk)
    return render(
        request,
        "contracts/deal_open.html",
        {"subject": subject, "technology": technology, "need": need, "organisations": organisations, "error": error},
        status=400 if error else 200,
    )


@login_required
def deal_detail(request, pk: int):
    try:
        deal = selectors.deal_detail(pk=pk, user=request.user)
    except ObjectDoesNotExist:
        raise Http404(_("洽谈不存在,或您无权查看"))
    mine = set(request.user.memberships.values_list("organisation_id", flat=True))
    return render(
        request,
        "contracts/deal_detail.html",
        {"deal": deal, "is_seller": deal.seller_id in mine, "contracts": deal.contracts.all()},
    )


# ---------------------------------------------------------------- drafting


@login_required
def contract_create(request):
    deal = None
    deal_id = request.GET.get("deal") or request.POST.get("deal")
    if deal_id:
        try:
            deal = selectors.deal_detail(pk=int(deal_id), user=request.user)
        except (ValueError, ObjectDoesNotExist):
            raise Http404(_("洽谈不存在,或您无权查看"))
    post = request.method == "POST"
    form = ContractForm(request.POST if post else None, request.FILES if post else None, user=request.user, deal=deal)
    if post and form.is_valid():
        try:
            contract = services.contract_create(
                organisation=form.cleaned_data["organisation"],
                by=request.user,
                deal=deal,
                submit=form.cleaned_data["submit"],
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc, ERROR_ALIASES)
        else:
            if form.cleaned_data["submit"]:
                messages.success(request, _("合同已保存并提交登记,科技局将在 30 日内审核"))
            else:
                messages.success(request, _("合同已保存为草稿;上传扫描件并确认无误后请提交登记"))
            return redirect("contracts:detail", pk=contract.pk)
    return render(
        request, "contracts/form.html", {"form": form, "deal": deal, "contract": None}, status=400 if post else 200
    )


@login_required
def contract_edit(request, pk: int):
    contract = _contract(request, pk)
    require_member(user=request.user, organisation=contract.seller_organisation)
    version = selectors.latest(contract)
    if not version.is_editable:
        messages.warning(request, _("「%(status)s」状态下不能修改") % {"status": version.get_status_display()})
        return redirect("contracts:detail", pk=contract.pk)
    post = request.method == "POST"
    form = ContractForm(
        request.POST if post else None,
        request.FILES if post else None,
        user=request.user,
        with_organisation=False,
        initial=ContractForm.initial_for(version),
    )
    if post and form.is_valid():
        try:
            services.contract_update(contract=contract, by=request.user, **form.service_kwargs())
            if form.cleaned_data["submit"]:
                services.contract_submit(contract=contract, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, ERROR_ALIASES)
        else:
            messages.success(request, _("修改已保存"))
            return redirect("contracts:detail", pk=contract.pk)
    return render(
        request,
        "contracts/form.html",
        {"form": form, "contract": contract, "version": version},
        status=400 if post else 200,
    )


def _parties_member(request, contract: Contract) -> bool:
    return request.user.memberships.filter(organisation_id=contract.seller_organisation_id).exists()


@login_required
def detail(request, pk: int):
    contract = _contract(request, pk)
    versions = list(contract.versions.all())
    version = versions[-1]
    is_seller = _parties_member(request, contract)
    context = {
        "contract": contract,
        "version": version,
        "versions": versions,
        "current": next((v for v in versions if v.pk == contract.current_version_id), None),
        "is_seller": is_seller,
        "is_bureau": request.user.is_bureau,
        "scan_form": ScanForm(),
        "return_form": ReturnForm(),
    }
    if request.user.is_bureau:
        context["audit"] = selectors.audit_trail(contract=contract, limit=None)
    return render(request, "contracts/detail.html", context)


@login_required
@require_POST
def upload_scan(request, pk: int):
    contract = _contract(request, pk)
    form = ScanForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
    else:
        run_action(
            request,
            lambda: services.contract_upload_scan(contract=contract, by=request.user, scan=form.cleaned_data["scan"]),
            _("扫描件已上传"),
        )
    return redirect("contracts:detail", pk=contract.pk)


@login_required
@require_POST
def submit(request, pk: int):
    contract = _contract(request, pk)
    run_action(request, lambda: services.contract_submit(contract=contract, by=request.user), _("已提交登记"))
    return redirect("contracts:detail", pk=contract.pk)


@login_required
@require_POST
def amend(request, pk: int):
    contract = _contract(request, pk)
    try:
        services.contract_amend(contract=contract, by=request.user, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("contracts:detail", pk=contract.pk)
    messages.success(request, _("已生成变更版本;修改后提交,审核通过并登记后替代原登记版本"))
    return redirect("contracts:edit", pk=contract.pk)


@login_required
def scan(request, pk: int, number: int):
    """The scanned PDF of one version, to the parties and the bureau only."""
    contract = _contract(request, pk)
    services.ensure_can_read(contract=contract, by=request.user)
    version = get_object_or_404(ContractVersion, contract=contract, number=number)
    if not version.scan:
        raise Http404(_("该版本没有上传扫描件"))
    try:
        handle = version.scan.open("rb")
    except FileNotFoundError:
        raise Http404(_("扫描件文件不存在"))
    response = FileResponse(handle, content_type="application/pdf", filename=version.scan_name or "contract.pdf")
    response["Content-Disposition"] = response["Content-Disposition"].replace("attachment", "inline")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def certificate(request, pk: int):
    contract = _contract(request, pk)
    version = next((v for v in contract.versions.all() if v.pk == contract.current_version_id), None)
    if version is None:
        raise Http404(_("合同尚未登记,没有登记证明"))
    return render(request, "contracts/certificate.html", {"contract": contract, "version": version})


# ---------------------------------------------------------------- review


@login_required
def review_queue(request):
    require_bureau(request.user)
    return render(request, "contracts/review_queue.html", {"versions": selectors.review_queue()})


@login_required
@require_POST
def review(request, pk: int):
    require_bureau(request.user)
    contract = _contract(request, pk)
    action = request.POST.get("action")
    if action == "start":
        run_action(request, lambda: services.contract_start_review(contract=contract, by=request.user), _("已开始审核"))
    elif action == "approve":

        def approve():
            version = services.contract_approve(contract=contract, by=request.user, note=request.POST.get("note", ""))
            if version.status != ContractVersion.Status.REGISTERED:
                raise _Pending(_("初审已通过,待另一名审核人员复核后登记"))

        try:
            approve()
        except _Pending as pending:
            messages.info(request, str(pending))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已准予登记"))
    elif action == "return":
        form = ReturnForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("退回时请填写原因"))
        else:
            run_action(
                request,
                lambda: services.contract_return(
                    contract=contract, by=request.user, reason=form.cleaned_data["reason"]
                ),
                _("已退回"),
            )
    else:
        messages.error(request, _("未知的审核操作"))
    return redirect("contracts:detail", pk=contract.pk)


class _Pending(Exception):
    pass


def notices(request):
    return render(request, "contracts/notices.html", {"versions": selectors.notices()})


@login_required
def audit(request):
    require_bureau(request.user)
    return render(request, "contracts/audit.html", {"entries": selectors.audit_trail(limit=500)})
