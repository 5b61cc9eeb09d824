"""Payment pages and the Stripe webhook endpoint. Each view parses input, checks permission, calls one
service or selector, renders. Services raise ValidationError (→ a message or form error, nothing saved)
and PermissionDenied (→ 403)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import gateway, selectors, services, webhooks
from .forms import RefundForm, ResolveForm, ServiceFeeForm, add_service_errors
from .models import Payment, PaymentAttempt, StripeEvent

# What the return page says about the status Stripe reports now.
LIVE_STATUS_TEXT = {
    "succeeded": _("支付成功。款项入账后本页显示“已入账”。"),
    "processing": _("支付处理中(支付宝、微信支付可能需要几秒到几分钟确认),请稍候刷新。"),
    "requires_action": _("还需要完成验证(3-D Secure 或扫码),请返回支付页面继续。"),
    "requires_payment_method": _("支付未成功(银行卡被拒绝或验证未通过),请重新支付。"),
    "requires_confirmation": _("支付尚未提交,请返回支付页面完成支付。"),
    "requires_capture": _("银行已授权,等待扣款。"),
    "canceled": _("这笔支付已取消。"),
}


def _payment_or_404(request, pk: int) -> Payment:
    try:
        return selectors.payment_get(pk=pk, user=request.user)
    except Payment.DoesNotExist:
        raise Http404(_("款项不存在,或您无权查看"))


def _messages_of(exc: ValidationError) -> str:
    return ";".join(str(m) for m in exc.messages)


@login_required
@require_GET
def payment_list(request):
    status = request.GET.get("status", "")
    if status not in Payment.Status.values:
        status = ""
    page = Paginator(selectors.payment_list(user=request.user, status=status), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/payment_list.html",
        {
            "page_obj": page,
            "status": status,
            "statuses": Payment.Status.choices,
            "configured": gateway.is_configured(),
            "is_staff": services.is_payments_staff(request.user),
            "contracts": selectors.registered_contracts(user=request.user),
        },
    )


@login_required
@require_GET
def payment_detail(request, pk: int):
    payment = _payment_or_404(request, pk)
    context = selectors.payment_overview(payment=payment, user=request.user)
    context.update({"configured": gateway.is_configured(), "refund_form": RefundForm(), "resolve_form": ResolveForm()})
    return render(request, "payments/payment_detail.html", context)


@login_required
@require_POST
def payment_start(request, pk: int):
    payment = _payment_or_404(request, pk)
    try:
        attempt = services.payment_start(payment=payment, by=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        return redirect("payments:detail", pk=payment.pk)
    return redirect("payments:checkout", pk=payment.pk, attempt_pk=attempt.pk)


@login_required
@require_GET
def payment_checkout(request, pk: int, attempt_pk: int):
    payment = _payment_or_404(request, pk)
    if not services.can_pay(user=request.user, payment=payment):
        raise PermissionDenied(_g("只有付款机构的成员可以支付"))
    try:
        attempt = selectors.attempt_get(payment=payment, pk=attempt_pk)
    except PaymentAttempt.DoesNotExist:
        raise Http404(_("支付不存在"))
    if not gateway.is_configured():
        messages.error(request, _g("在线支付尚未开通(平台未配置 Stripe 密钥),请联系平台工作人员"))
        return redirect("payments:detail", pk=payment.pk)
    if attempt.status not in PaymentAttempt.OPEN_STATUSES or attempt.last_error or not attempt.client_secret:
        messages.info(request, _g("这笔支付已结束,请重新发起支付"))
        return redirect("payments:detail", pk=payment.pk)
    return_url = request.build_absolute_uri(reverse("payments:return", kwargs={"pk": payment.pk}))
    context = {
        "payment": payment,
        "attempt": attempt,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": return_url,
        "confirm_url": reverse("payments:attempt_confirm", kwargs={"pk": payment.pk, "attempt_pk": attempt.pk}),
        "stripe_locale": "zh" if (translation.get_language() or "zh").startswith("zh") else "en",
        "stand_in": gateway.uses_js_stand_in(),
    }
    return render(request, "payments/checkout.html", context)


@login_required
@require_POST
def attempt_confirm(request, pk: int, attempt_pk: int):
    """JSON for the checkout page (Stripe.js stand-in): confirm with the tokenised card."""
    try:
        payment = selectors.payment_get(pk=pk, user=request.user)
        attempt = selectors.attempt_get(payment=payment, pk=attempt_pk)
    except (Payment.DoesNotExist, PaymentAttempt.DoesNotExist):
        return JsonResponse({"status": "failed", "error": _g("支付不存在")}, status=404)
    try:
        body = json.loads(request.body or b"{}")
        payment_method = body.get("payment_method") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"status": "failed", "error": _g("请求格式不正确")}, status=400)
    try:
        result = services.attempt_pay_with(attempt=attempt, payment_method=str(payment_method or ""), by=request.user)
    except PermissionDenied as exc:
        return JsonResponse({"status": "failed", "error": str(exc) or _g("无权操作")}, status=403)
    except ValidationError as exc:
        return JsonResponse({"status": "failed", "error": _messages_of(exc)}, status=400)
    return JsonResponse(result)


@login_required
@require_GET
def payment_return(request, pk: int):
    """Where Stripe.js sends the payer back: shows what Stripe says now, and whether we have booked it."""
    payment = _payment_or_404(request, pk)
    attempt = selectors.attempt_for_intent(payment=payment, payment_intent_id=request.GET.get("payment_intent", ""))
    if attempt is None:
        raise Http404(_("找不到这笔支付"))
    live = services.attempt_live_status(attempt=attempt)
    overview = selectors.payment_overview(payment=payment, user=request.user)
    booked = overview["totals"]["paid"] > 0
    return render(
        request,
        "payments/return.html",
        {
            **overview,
            "attempt": attempt,
            "live_status": live,
            "live_text": LIVE_STATUS_TEXT.get(live, live),
            "booked": booked,
            "keep_polling": not booked and live in ("succeeded", "processing", "requires_capture"),
        },
    )


@login_required
@require_POST
def payment_refund(request, pk: int):
    payment = _payment_or_404(request, pk)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            services.refund_request(
                payment=payment, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _g("退款已提交 Stripe,款项退回后本页显示“已退款”"))
            return redirect("payments:detail", pk=payment.pk)
    context = selectors.payment_overview(payment=payment, user=request.user)
    context.update({"configured": gateway.is_configured(), "refund_form": form, "resolve_form": ResolveForm()})
    return render(request, "payments/payment_detail.html", context, status=400)


@login_required
@require_POST
def payment_cancel(request, pk: int):
    payment = _payment_or_404(request, pk)
    try:
        services.payment_cancel(payment=payment, by=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _g("款项已取消"))
    return redirect("payments:detail", pk=payment.pk)


# ---------------------------------------------------------------- contracts


def _contract_or_404(request, pk: int):
    try:
        return selectors.contract_get(pk=pk, user=request.user)
    except (ObjectDoesNotExist, LookupError):
        raise Http404(_("合同不存在,或您无权查看"))


@login_required
@require_GET
def contract_payments(request, contract_pk: int):
    contract = _contract_or_404(request, contract_pk)
    context = selectors.contract_overview(contract=contract, user=request.user)
    context["configured"] = gateway.is_configured()
    return render(request, "payments/contract.html", context)


@login_required
@require_POST
def instalment_pay(request, contract_pk: int, no: int):
    contract = _contract_or_404(request, contract_pk)
    try:
        payment = services.instalment_payment_open(contract=contract, instalment_no=no, by=request.user)
        attempt = services.payment_start(payment=payment, by=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        return redirect("payments:contract", contract_pk=contract.pk)
    return redirect("payments:checkout", pk=payment.pk, attempt_pk=attempt.pk)


# ---------------------------------------------------------------- staff


def _staff_context(fee_form=None) -> dict:
    return {
        "flagged": list(selectors.flagged_events()[:100]),
        "events": list(selectors.recent_events(limit=30)),
        "fee_form": fee_form or ServiceFeeForm(),
        "resolve_form": ResolveForm(),
        "configured": gateway.is_configured(),
    }


@login_required
def staff_desk(request):
    services.require_payments_staff(request.user)
    if request.method != "POST":
        return render(request, "payments/staff.html", _staff_context())
    form = ServiceFeeForm(request.POST)
    if form.is_valid():
        try:
            payment = services.service_fee_issue(
                payer=form.cleaned_data["payer"],
                fee_kind=form.cleaned_data["fee_kind"],
                amount=form.cleaned_data["amount"],
                title=form.cleaned_data["title"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _g("已向 %(org)s 开具服务费") % {"org": payment.payer.name})
            return redirect("payments:detail", pk=payment.pk)
    return render(request, "payments/staff.html", _staff_context(form), status=400)


@login_required
@require_POST
def event_resolve(request, event_pk: int):
    services.require_payments_staff(request.user)
    try:
        event = StripeEvent.objects.get(pk=event_pk)
    except StripeEvent.DoesNotExist:
        raise Http404(_("事件不存在"))
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _g("请填写核查意见"))
    else:
        try:
            services.flagged_event_resolve(event=event, note=form.cleaned_data["note"], by=request.user)
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
        else:
            messages.success(request, _g("已记录核查意见"))
    if event.payment_id and request.POST.get("back") == "payment":
        return redirect("payments:detail", pk=event.payment_id)
    return redirect("payments:staff")


# ---------------------------------------------------------------- webhook


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's event endpoint: 400 for a bad signature, 200 for everything verified (handled or not)."""
    result = webhooks.webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    return JsonResponse({"ok": result.status_code == 200, "message": result.message}, status=result.status_code)
