"""Writes for payments: issuing payables, starting and confirming PaymentIntents, refunds, flag review.

None of these functions books money: the ledger changes only in webhooks.py, from verified Stripe events.
Calls to Stripe happen outside database transactions, between two short ones: the row carrying the
idempotency key is committed before the call, so a retry after any failure repeats the same request.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from decimal import Decimal

import stripe
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Organisation, User
from marketplace.accounts.services import require_member, role_in

from . import gateway, webhooks
from .models import LedgerEntry, Payment, PaymentAttempt, Refund, StripeCustomer, StripeEvent
from .money import CURRENCY, AmountError, to_minor

# Ids a browser may hand us for the stand-in card flow: a PaymentMethod, a card, or a card token.
PAYMENT_METHOD_ID = re.compile(r"^(pm|card|tok)_[A-Za-z0-9_]{1,200}$")


# ---------------------------------------------------------------- permissions


def is_payments_staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def require_payments_staff(user: User) -> None:
    if not is_payments_staff(user):
        raise PermissionDenied(_("只有平台工作人员可以操作"))


def can_view(*, user: User, payment: Payment) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_bureau:
        return True
    orgs = [payment.payer_id] + ([payment.payee_id] if payment.payee_id else [])
    return Organisation.objects.for_user(user).filter(pk__in=orgs).exists()


def can_pay(*, user: User, payment: Payment) -> bool:
    return role_in(user=user, organisation=payment.payer) is not None


def require_payer(*, user: User, payment: Payment) -> None:
    require_member(user=user, organisation=payment.payer)


def require_configured() -> None:
    if not gateway.is_configured():
        raise ValidationError(_("在线支付尚未开通(平台未配置 Stripe 密钥),请联系平台工作人员"))


def decline_message(exc: stripe.CardError) -> str:
    """Why the bank said no, in the page's language, with Stripe's own words beside it."""
    labels = {
        "card_declined": _("银行卡被拒绝"),
        "expired_card": _("银行卡已过期"),
        "incorrect_cvc": _("安全码不正确"),
        "incorrect_number": _("卡号不正确"),
        "insufficient_funds": _("余额不足"),
        "processing_error": _("银行处理出错,请重试"),
    }
    label = labels.get(exc.code or "", _("支付未成功"))
    return f"{label}({exc.user_message})" if exc.user_message else str(label)


def stripe_reason(exc: stripe.StripeError) -> str:
    """A short reason for people: Stripe's message for the payer, or what kind of failure it was."""
    if isinstance(exc, stripe.APIConnectionError):
        return _("无法连接 Stripe")
    if isinstance(exc, stripe.AuthenticationError):
        return _("Stripe 密钥无效")
    return str(exc.user_message or exc.code or type(exc).__name__)


def _check_amount(amount: Decimal, field: str = "amount") -> int:
    try:
        return to_minor(amount)
    except AmountError:
        raise ValidationError(
            {field: _("金额应为大于 0 的元、角、分,且单笔不超过 999,999.99 元(Stripe 的单笔上限)")}
        ) from None


# ---------------------------------------------------------------- payables


@transaction.atomic
def service_fee_issue(
    *, payer: Organisation, fee_kind: str, amount: Decimal, by: User, title: str = "", subject=None
) -> Payment:
    """Platform staff bill an organisation a service fee (listing, matching, contract registration …)."""
    require_payments_staff(by)
    if fee_kind not in Payment.FeeKind.values:
        raise ValidationError({"fee_kind": _("未知的服务费类别")})
    if not isinstance(amount, Decimal):
        raise ValidationError({"amount": _("金额格式不正确")})
    _check_amount(amount)
    payment = Payment(
        kind=Payment.Kind.SERVICE_FEE,
        fee_kind=fee_kind,
        title=(title or "").strip() or str(Payment.FeeKind(fee_kind).label),
        amount=amount,
        payer=payer,
        payee=None,
        subject=subject,
        created_by=by,
    )
    payment.full_clean()
    payment.save()
    return payment


def contract_instalments(contract) -> list[dict]:
    """The payment schedule of a contract's registered version: [{no, due, amount}], empty if none.

    Lump sum: one instalment of the contract amount, due on signing. Instalments: the schedule rows.
    Royalty: no fixed schedule (royalties are billed as they fall due).
    """
    version = contract.current_version
    if version is None:
        return []
    mode = version.payment_mode
    if mode == "lump_sum":
        return [{"no": 1, "due": version.signed_on, "amount": version.contract_amount}]
    if mode == "instalments":
        import datetime

        return [
            {"no": n, "due": datetime.date.fromisoformat(str(row["due"])), "amount": Decimal(str(row["amount"]))}
            for n, row in enumerate(version.payment_schedule or [], start=1)
        ]
    return []


@transaction.atomic
def instalment_payment_open(*, contract, instalment_no: int, by: User) -> Payment:
    """The payment of one instalment of a registered contract, created on first use (the buyer pays)."""
    version = contract.current_version
    if version is None:
        raise ValidationError(_("合同尚未登记,不能在线支付合同款项"))
    if version.buyer_organisation_id is None:
        raise ValidationError(_("买方不是平台注册机构,不能在线支付"))
    require_member(user=by, organisation=version.buyer_organisation)
    rows = {row["no"]: row for row in contract_instalments(contract)}
    if instalment_no not in rows:
        raise ValidationError(_("合同没有第 %(n)s 期款项") % {"n": instalment_no})
    existing = Payment.objects.for_subject(contract).filter(kind=Payment.Kind.INSTALMENT, instalment_no=instalment_no)
    payment = existing.first()
    if payment is not None:
        return payment
    row = rows[instalment_no]
    _check_amount(row["amount"])
    total = len(rows)
    payment = Payment(
        kind=Payment.Kind.INSTALMENT,
        title=_("%(project)s 第 %(n)s/%(total)s 期合同款")
        % {"project": version.project_name, "n": instalment_no, "total": total},
        amount=row["amount"],
        payer=version.buyer_organisation,
        payee=contract.seller_organisation,
        subject=contract,
        instalment_no=instalment_no,
        due_on=row["due"],
        created_by=by,
    )
    payment.full_clean()
    payment.save()
    return payment


@transaction.atomic
def payment_cancel(*, payment: Payment, by: User) -> Payment:
    """Staff withdraw a payable nobody has paid yet."""
    require_payments_staff(by)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.ledger_entries.exists():
        raise ValidationError(_("已有入账记录的款项不能取消,请办理退款"))
    if payment.attempts.filter(status__in=("processing", "requires_capture", "succeeded")).exists():
        raise ValidationError(_("款项正在处理或已支付,不能取消"))
    payment.status = Payment.Status.CANCELLED
    payment.save(update_fields=["status", "updated_at"])
    return payment


# ---------------------------------------------------------------- paying


def _customer_for(organisation: Organisation) -> str:
    known = StripeCustomer.objects.filter(organisation=organisation).values_list("customer_id", flat=True).first()
    if known:
        return known
    customer = gateway.customer_create(
        name=organisation.name,
        metadata={"organisation_id": str(organisation.pk), "credit_code": organisation.credit_code},
        idempotency_key=f"customer-organisation-{organisation.pk}",
    )
    row, _created = StripeCustomer.objects.get_or_create(
        organisation=organisation, defaults={"customer_id": customer.id}
    )
    return row.customer_id


def _reusable_attempt(payment: Payment) -> PaymentAttempt | None:
    return (
        payment.attempts.filter(status__in=PaymentAttempt.OPEN_STATUSES, last_error="").order_by("-created_at").first()
    )


def payment_start(*, payment: Payment, by: User) -> PaymentAttempt:
    """A PaymentIntent to pay `payment` with, reusing the open one: pressing 'pay' twice never charges twice."""
    require_configured()
    require_payer(user=by, payment=payment)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not payment.is_payable:
            raise ValidationError(
                _("该款项当前状态为「%(status)s」,无需支付") % {"status": payment.get_status_display()}
            )
        if payment.attempts.filter(status__in=("processing", "requires_capture", "succeeded")).exists():
            raise ValidationError(_("该款项已有一笔支付正在处理,请稍后查看结果"))
        attempt = _reusable_attempt(payment)
        if attempt is not None and attempt.payment_intent_id:
            return attempt
        if attempt is None:
            attempt = PaymentAttempt.objects.create(
                payment=payment,
                idempotency_key=f"pi-{payment.pk}-{uuid.uuid4().hex}",
                amount_minor=_check_amount(payment.amount),
                currency=CURRENCY,
                methods=list(settings.PAYMENTS_METHODS),
                created_by=by,
            )
        stale = list(
            payment.attempts.exclude(pk=attempt.pk)
            .filter(status__in=PaymentAttempt.OPEN_STATUSES)
            .exclude(payment_intent_id=None)
            .values_list("payment_intent_id", flat=True)
        )
    # Outside the transaction: the attempt row (and its key) is committed, so this call can be retried.
    try:
        customer = _customer_for(payment.payer)
        intent = gateway.payment_intent_create(
            amount_minor=attempt.amount_minor,
            currency=attempt.currency,
            customer=customer,
            methods=attempt.methods,
            metadata={"payment_id": str(payment.pk), "attempt_id": str(attempt.pk)},
            idempotency_key=attempt.idempotency_key,
        )
    except stripe.StripeError as exc:
        raise ValidationError(
            _("支付服务暂时无法创建订单,请稍后重试(%(reason)s)") % {"reason": stripe_reason(exc)}
        ) from exc
    if intent.amount != attempt.amount_minor or str(intent.currency).lower() != attempt.currency:
        # Never show the payer a page for an amount we did not ask for.
        raise ValidationError(_("支付服务返回的金额或币种与订单不符,已停止支付,请联系平台工作人员"))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if not attempt.payment_intent_id:
            attempt.payment_intent_id = intent.id
            attempt.client_secret = intent.client_secret or ""
            if attempt.status == PaymentAttempt.Status.CREATING:
                attempt.status = intent.status
            attempt.save()
        webhooks.refresh_payment_status(payment)
    for old in stale:
        _cancel_quietly(old)
    return attempt


def _cancel_quietly(payment_intent_id: str) -> None:
    """An older, unused PaymentIntent of the same payment is cancelled so an old tab cannot pay it too."""
    # A refusal means it was already paid, failed or cancelled: the webhook tells us which.
    with contextlib.suppress(stripe.StripeError):
        gateway.client().v1.payment_intents.cancel(
            payment_intent_id, options={"idempotency_key": f"cancel-{payment_intent_id}"}
        )


def attempt_pay_with(*, attempt: PaymentAttempt, payment_method: str, by: User) -> dict:
    """Confirm a PaymentIntent server-side with a payment method the page collected.

    Used by the page when Stripe.js is localstripe's stand-in (it has no Payment Element): the card it
    tokenises is set on the PaymentIntent and confirmed. Returns Stripe's answer for the page: the
    status, the client secret for 3-D Secure (requires_action), or the decline message. The ledger
    still changes only when the webhook arrives.
    """
    require_configured()
    require_payer(user=by, payment=attempt.payment)
    if not PAYMENT_METHOD_ID.match(payment_method or ""):
        raise ValidationError(_("支付方式无效,请重新填写卡号"))
    attempt.refresh_from_db()
    if attempt.status not in PaymentAttempt.OPEN_STATUSES or attempt.last_error or not attempt.payment_intent_id:
        raise ValidationError(_("这笔支付已结束,请返回重新发起支付"))
    try:
        intent = gateway.payment_intent_confirm_with(
            payment_intent_id=attempt.payment_intent_id,
            payment_method=payment_method,
            idempotency_key=f"{attempt.idempotency_key}-{payment_method}",
        )
    except stripe.CardError as exc:
        message = decline_message(exc)
        PaymentAttempt.objects.filter(pk=attempt.pk).update(last_error=message[:500])
        return {"status": "failed", "error": message}
    except stripe.StripeError as exc:
        message = stripe_reason(exc)
        PaymentAttempt.objects.filter(pk=attempt.pk).update(last_error=message[:500])
        return {"status": "failed", "error": message}
    return {"status": intent.status, "client_secret": attempt.client_secret, "payment_intent": intent.id}


def attempt_live_status(*, attempt: PaymentAttempt) -> str:
    """What Stripe says now about the PaymentIntent (the return page shows it; the ledger waits for webhooks)."""
    if not attempt.payment_intent_id or not gateway.is_configured():
        return attempt.status
    try:
        return gateway.payment_intent_retrieve(attempt.payment_intent_id).status
    except stripe.StripeError:
        return attempt.status


# ---------------------------------------------------------------- refunds


def refundable_amount(payment: Payment) -> Decimal:
    paid = sum((e.amount for e in payment.ledger_entries.all() if e.kind == LedgerEntry.Kind.CHARGE), Decimal(0))
    refunded = sum((e.amount for e in payment.ledger_entries.all() if e.kind == LedgerEntry.Kind.REFUND), Decimal(0))
    in_flight = sum(
        (
            r.amount
            for r in payment.refunds.filter(status__in=(Refund.Status.REQUESTED, Refund.Status.SUBMITTED))
            if not r.stripe_refund_id or not payment.ledger_entries.filter(stripe_object_id=r.stripe_refund_id).exists()
        ),
        Decimal(0),
    )
    return max(paid - refunded - in_flight, Decimal(0))


def refund_request(*, payment: Payment, amount: Decimal, reason: str, by: User) -> Refund:
    """Platform staff refund (part of) a paid payment. The ledger records it when Stripe's event arrives."""
    require_payments_staff(by)
    require_configured()
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写退款原因")})
    if not isinstance(amount, Decimal):
        raise ValidationError({"amount": _("金额格式不正确")})
    minor = _check_amount(amount)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        charge = payment.ledger_entries.filter(kind=LedgerEntry.Kind.CHARGE).select_related("attempt").first()
        if charge is None:
            raise ValidationError(_("该款项尚无入账的收款,不能退款"))
        available = refundable_amount(payment)
        if amount > available:
            raise ValidationError(
                {"amount": _("退款金额超过可退金额 %(available)s 元") % {"available": f"{available:.2f}"}}
            )
        refund = Refund(
            payment=payment,
            attempt=charge.attempt,
            amount=amount,
            reason=reason.strip(),
            idempotency_key=f"refund-{payment.pk}-{uuid.uuid4().hex}",
            requested_by=by,
        )
        refund.full_clean()
        refund.save()
    try:
        created = gateway.refund_create(
            payment_intent_id=charge.attempt.payment_intent_id,
            amount_minor=minor,
            metadata={"refund_request": str(refund.pk), "payment_id": str(payment.pk)},
            idempotency_key=refund.idempotency_key,
        )
    except stripe.StripeError as exc:
        refund.status = Refund.Status.FAILED
        refund.error = stripe_reason(exc)[:500]
        refund.save(update_fields=["status", "error"])
        raise ValidationError(_("Stripe 拒绝了退款:%(reason)s") % {"reason": refund.error}) from exc
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.stripe_refund_id = refund.stripe_refund_id or created.id
        if refund.status == Refund.Status.REQUESTED:
            refund.status = Refund.Status.SUBMITTED
        refund.save(update_fields=["stripe_refund_id", "status"])
    return refund


# ---------------------------------------------------------------- staff review of flagged events


@transaction.atomic
def flagged_event_resolve(*, event: StripeEvent, note: str, by: User) -> StripeEvent:
    """Staff record what they did about a flagged event; it is never booked by this."""
    require_payments_staff(by)
    if not (note or "").strip():
        raise ValidationError({"note": _("请填写核查意见")})
    event = StripeEvent.objects.select_for_update().get(pk=event.pk)
    if event.outcome != StripeEvent.Outcome.FLAGGED or event.resolved_at:
        raise ValidationError(_("该事件无需核查或已处理"))
    event.resolved_by = by
    event.resolved_at = timezone.now()
    event.resolution_note = note.strip()[:500]
    event.save(update_fields=["resolved_by", "resolved_at", "resolution_note"])
    if event.payment_id:
        still = StripeEvent.objects.filter(
            payment_id=event.payment_id, outcome=StripeEvent.Outcome.FLAGGED, resolved_at=None
        ).exists()
        Payment.objects.filter(pk=event.payment_id).update(needs_review=still)
    return event
