"""Stripe webhook events → the ledger. The only code that books money.

Guarantees (each has a test in tests/payments/test_webhooks.py):
- Only events whose Stripe-Signature verifies with the endpoint secret are looked at; others get a 400
  and change nothing.
- Each event id is stored once (unique); a replayed or duplicated event is answered 200 and changes nothing.
- An attempt's status only moves forward: terminal states (succeeded, canceled) stay; otherwise a newer
  event (Stripe's `created`) wins, ties going to the later step of the PaymentIntent's life. So events
  arriving out of order end in the state Stripe reached last.
- A charge is booked once per PaymentIntent and once per payment, a refund once per Stripe refund — by
  the database's unique constraints as well as by the checks here.
- Amount and currency must be what we asked for; anything else is flagged for staff and never booked.
- Event types we do not handle are stored, answered 200, and change nothing.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Sum

from . import gateway
from .models import LedgerEntry, Payment, PaymentAttempt, Refund, StripeEvent
from .money import AmountError, from_minor

logger = logging.getLogger(__name__)

S = PaymentAttempt.Status

# The status each PaymentIntent event reports. payment_failed leaves Stripe's status at
# requires_payment_method; we call it failed so pages can say so.
INTENT_EVENTS = {
    "payment_intent.created": S.REQUIRES_PAYMENT_METHOD,
    "payment_intent.requires_action": S.REQUIRES_ACTION,
    "payment_intent.processing": S.PROCESSING,
    "payment_intent.amount_capturable_updated": S.REQUIRES_CAPTURE,
    "payment_intent.payment_failed": S.FAILED,
    "payment_intent.canceled": S.CANCELED,
    "payment_intent.succeeded": S.SUCCEEDED,
}
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
CHARGE_REFUNDED = "charge.refunded"
HANDLED_TYPES = frozenset([*INTENT_EVENTS, *REFUND_EVENTS, CHARGE_REFUNDED])

TERMINAL = (S.SUCCEEDED, S.CANCELED)
# Order of a PaymentIntent's life, used to break ties between events of the same second.
LIFECYCLE = {
    S.CREATING: 0,
    S.REQUIRES_PAYMENT_METHOD: 1,
    S.REQUIRES_CONFIRMATION: 2,
    S.REQUIRES_ACTION: 3,
    S.PROCESSING: 4,
    S.REQUIRES_CAPTURE: 5,
    S.FAILED: 6,
    S.CANCELED: 9,
    S.SUCCEEDED: 9,
}


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    message: str
    outcome: str = ""


@dataclass(frozen=True)
class _Handled:
    outcome: str
    note: str = ""
    payment: Payment | None = None


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookResult:
    """Verify, store once, handle. Returns what the view answers Stripe."""
    try:
        event = gateway.construct_event(payload, signature)
    except gateway.PaymentsNotConfigured:
        return WebhookResult(503, "payments are not configured")
    except stripe.SignatureVerificationError:
        return WebhookResult(400, "invalid signature")
    except ValueError:
        return WebhookResult(400, "invalid payload")
    data = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        return WebhookResult(400, "not an event")
    try:
        return _process(data)
    except _BadEvent as exc:
        return WebhookResult(400, str(exc))


class _BadEvent(ValueError):
    """A signed event whose content we cannot read (missing object, wrong shapes)."""


def _event_time(data: dict) -> datetime.datetime:
    created = data.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise _BadEvent("event without a created timestamp")
    return datetime.datetime.fromtimestamp(created, tz=datetime.UTC)


def _object(data: dict) -> dict:
    obj = (data.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise _BadEvent("event without a data.object")
    return obj


def _process(data: dict) -> WebhookResult:
    event_type = data["type"]
    created = _event_time(data)
    obj = _object(data) if event_type in HANDLED_TYPES else ((data.get("data") or {}).get("object") or {})
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = StripeEvent.objects.create(
                    event_id=data["id"][:255],
                    type=event_type[:100],
                    created=created,
                    livemode=bool(data.get("livemode")),
                    object_id=str(obj.get("id", ""))[:255] if isinstance(obj, dict) else "",
                    payload=data,
                    outcome=StripeEvent.Outcome.IGNORED,
                )
        except IntegrityError:
            return WebhookResult(200, "duplicate event, already processed", "duplicate")
        if event_type in INTENT_EVENTS:
            handled = _on_payment_intent(obj, INTENT_EVENTS[event_type], created, stored)
        elif event_type in REFUND_EVENTS:
            handled = _on_refund(obj, stored)
        elif event_type == CHARGE_REFUNDED:
            handled = _on_charge_refunded(obj, stored)
        else:
            handled = _Handled(StripeEvent.Outcome.IGNORED, "event type not handled")
        stored.outcome = handled.outcome
        stored.note = handled.note[:500]
        stored.payment = handled.payment
        stored.save(update_fields=["outcome", "note", "payment"])
        if handled.payment is not None and handled.outcome != StripeEvent.Outcome.STALE:
            refresh_payment_status(handled.payment)
    if handled.outcome == StripeEvent.Outcome.FLAGGED:
        logger.warning("stripe event %s flagged for staff: %s", data["id"], handled.note)
    return WebhookResult(200, handled.note or handled.outcome, handled.outcome)


# ---------------------------------------------------------------- PaymentIntents


def _lock(attempt_filter: dict) -> tuple[Payment, PaymentAttempt] | None:
    """Lock the payment, then its attempt (always this order, in every handler)."""
    lookup = {f"attempts__{name}": value for name, value in attempt_filter.items()}
    payment = Payment.objects.select_for_update(of=("self",)).filter(**lookup).first()
    if payment is None:
        return None
    attempt = PaymentAttempt.objects.select_for_update().get(payment=payment, **attempt_filter)
    return payment, attempt


def _intent_mismatch(intent: dict, attempt: PaymentAttempt, *, settled: bool) -> str:
    amount, currency = intent.get("amount"), str(intent.get("currency") or "").lower()
    if amount != attempt.amount_minor or currency != attempt.currency:
        asked = f"{attempt.amount_minor} {attempt.currency}"
        return f"PaymentIntent reports {amount} {currency or '?'}, we asked for {asked}"
    received = intent.get("amount_received")
    if settled and received is not None and received != attempt.amount_minor:
        return f"PaymentIntent received {received}, we asked for {attempt.amount_minor}"
    return ""


def _advance(attempt: PaymentAttempt, new: str, at: datetime.datetime) -> bool:
    current = attempt.status
    if current in TERMINAL:
        return False
    if current == new and attempt.status_at and at <= attempt.status_at:
        return False
    if new in TERMINAL or attempt.status_at is None or at > attempt.status_at:
        applies = True
    else:
        applies = at == attempt.status_at and LIFECYCLE[new] > LIFECYCLE[current]
    if applies:
        attempt.status = new
        attempt.status_at = at
    return applies


def _charge_id(intent: dict) -> str:
    latest = intent.get("latest_charge")
    if isinstance(latest, dict):
        latest = latest.get("id")
    return latest if isinstance(latest, str) else ""


def _method_type(intent: dict) -> str:
    latest = intent.get("latest_charge")
    if isinstance(latest, dict):
        details = latest.get("payment_method_details") or {}
        if isinstance(details, dict) and isinstance(details.get("type"), str):
            return details["type"]
    types = intent.get("payment_method_types")
    if isinstance(types, list) and len(types) == 1 and isinstance(types[0], str):
        return types[0]
    return "card" if intent.get("payment_method") else ""


def _error_message(intent: dict) -> str:
    error = intent.get("last_payment_error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "")
    return ""


def _on_payment_intent(intent: dict, new: str, at: datetime.datetime, stored: StripeEvent) -> _Handled:
    locked = _lock({"payment_intent_id": intent["id"]})
    if locked is None:
        return _Handled(StripeEvent.Outcome.UNMATCHED, "no payment attempt with this PaymentIntent")
    payment, attempt = locked
    mismatch = _intent_mismatch(intent, attempt, settled=new == S.SUCCEEDED)
    if mismatch:
        return _flag(payment, mismatch)
    changed = _advance(attempt, new, at)
    if changed:
        if new == S.FAILED:
            attempt.last_error = (_error_message(intent) or "payment failed")[:500]
        attempt.charge_id = _charge_id(intent) or attempt.charge_id
        attempt.method_type = _method_type(intent) or attempt.method_type
        attempt.save(update_fields=["status", "status_at", "last_error", "charge_id", "method_type", "updated_at"])
    if new != S.SUCCEEDED or attempt.status != S.SUCCEEDED:
        return _Handled(StripeEvent.Outcome.UPDATED if changed else StripeEvent.Outcome.STALE, "", payment)
    return _book_charge(payment, attempt, stored)


def _book_charge(payment: Payment, attempt: PaymentAttempt, stored: StripeEvent) -> _Handled:
    if LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, stripe_object_id=attempt.payment_intent_id).exists():
        return _Handled(StripeEvent.Outcome.STALE, "charge already booked", payment)
    if payment.ledger_entries.filter(kind=LedgerEntry.Kind.CHARGE).exists():
        return _flag(payment, f"second successful PaymentIntent {attempt.payment_intent_id} for a paid payment")
    if payment.status == Payment.Status.CANCELLED:
        return _flag(payment, "payment of a cancelled payable")
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(
                payment=payment,
                attempt=attempt,
                kind=LedgerEntry.Kind.CHARGE,
                amount=from_minor(attempt.amount_minor),
                currency=attempt.currency,
                stripe_object_id=attempt.payment_intent_id,
                method_type=attempt.method_type,
                event=stored,
            )
    except IntegrityError:  # a concurrent event booked it first
        return _Handled(StripeEvent.Outcome.STALE, "charge already booked", payment)
    return _Handled(StripeEvent.Outcome.BOOKED, "", payment)


# ---------------------------------------------------------------- refunds


def _on_charge_refunded(charge: dict, stored: StripeEvent) -> _Handled:
    refunds = (charge.get("refunds") or {}).get("data") if isinstance(charge.get("refunds"), dict) else None
    if not isinstance(refunds, list):
        # Newer API versions leave the list out; the refund.* events carry each refund.
        return _Handled(StripeEvent.Outcome.IGNORED, "charge.refunded without refunds; refund.* events book them")
    outcomes = [_on_refund({**r, "payment_intent": r.get("payment_intent") or charge.get("payment_intent"),
                            "charge": r.get("charge") or charge.get("id")}, stored)
                for r in refunds if isinstance(r, dict) and isinstance(r.get("id"), str)]  # fmt: skip
    for wanted in (StripeEvent.Outcome.FLAGGED, StripeEvent.Outcome.BOOKED, StripeEvent.Outcome.UPDATED):
        for handled in outcomes:
            if handled.outcome == wanted:
                return handled
    return outcomes[0] if outcomes else _Handled(StripeEvent.Outcome.STALE, "no refunds in the charge")


def _refund_attempt_filter(refund: dict) -> dict | None:
    if isinstance(refund.get("payment_intent"), str) and refund["payment_intent"]:
        return {"payment_intent_id": refund["payment_intent"]}
    if isinstance(refund.get("charge"), str) and refund["charge"]:
        return {"charge_id": refund["charge"]}
    return None


def _our_refund(payment: Payment, refund: dict) -> Refund | None:
    found = Refund.objects.select_for_update().filter(stripe_refund_id=refund["id"]).first()
    if found is None:
        requested = (refund.get("metadata") or {}).get("refund_request")
        if isinstance(requested, str) and requested.isdigit():
            found = Refund.objects.select_for_update().filter(pk=int(requested), payment=payment).first()
    return found


def _on_refund(refund: dict, stored: StripeEvent) -> _Handled:
    where = _refund_attempt_filter(refund)
    locked = _lock(where) if where else None
    if locked is None:
        return _Handled(StripeEvent.Outcome.UNMATCHED, "no payment attempt for this refund")
    payment, attempt = locked
    ours = _our_refund(payment, refund)
    status = refund.get("status")
    booked = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, stripe_object_id=refund["id"]).exists()
    if status in ("failed", "canceled"):
        if ours is not None:
            ours.status = Refund.Status.FAILED
            ours.error = str(refund.get("failure_reason") or status)[:500]
            ours.stripe_refund_id = ours.stripe_refund_id or refund["id"]
            ours.save(update_fields=["status", "error", "stripe_refund_id"])
        if booked:
            return _flag(payment, f"refund {refund['id']} {status} after it was booked")
        return _Handled(StripeEvent.Outcome.UPDATED, f"refund {status}", payment)
    if status != "succeeded":
        if ours is not None and not ours.stripe_refund_id:
            ours.stripe_refund_id = refund["id"]
            ours.save(update_fields=["stripe_refund_id"])
        return _Handled(StripeEvent.Outcome.UPDATED, f"refund {status}", payment)
    if booked:
        return _Handled(StripeEvent.Outcome.STALE, "refund already booked", payment)
    amount_minor, currency = refund.get("amount"), str(refund.get("currency") or "").lower()
    try:
        amount = from_minor(amount_minor)
    except AmountError:
        return _flag(payment, f"refund {refund['id']} has no valid amount")
    if currency != attempt.currency or amount <= 0:
        return _flag(payment, f"refund {refund['id']} reports {amount_minor} {currency or '?'}")
    if ours is not None and ours.amount != amount:
        return _flag(payment, f"refund {refund['id']} of {amount}, staff asked for {ours.amount}")
    totals = dict(payment.ledger_entries.values("kind").annotate(total=Sum("amount")).values_list("kind", "total"))
    paid, refunded = totals.get(LedgerEntry.Kind.CHARGE, Decimal(0)), totals.get(LedgerEntry.Kind.REFUND, Decimal(0))
    if amount > paid - refunded:
        return _flag(payment, f"refund {refund['id']} of {amount} exceeds the {paid - refunded} still paid")
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(
                payment=payment,
                attempt=attempt,
                kind=LedgerEntry.Kind.REFUND,
                amount=amount,
                currency=currency,
                stripe_object_id=refund["id"],
                method_type=attempt.method_type,
                event=stored,
            )
    except IntegrityError:
        return _Handled(StripeEvent.Outcome.STALE, "refund already booked", payment)
    if ours is None:
        # Made in Stripe's dashboard: real money went back, so it is booked and shown like ours.
        ours = Refund(
            payment=payment,
            attempt=attempt,
            amount=amount,
            reason="在 Stripe 后台发起的退款",
            idempotency_key=f"stripe-{refund['id']}"[:80],
        )
    ours.status = Refund.Status.SUCCEEDED
    ours.stripe_refund_id = refund["id"]
    ours.save()
    return _Handled(StripeEvent.Outcome.BOOKED, "", payment)


# ---------------------------------------------------------------- status and flags


def _flag(payment: Payment, note: str) -> _Handled:
    if not payment.needs_review:
        payment.needs_review = True
        payment.save(update_fields=["needs_review", "updated_at"])
    return _Handled(StripeEvent.Outcome.FLAGGED, note, payment)


def refresh_payment_status(payment: Payment) -> None:
    """The payment's status, from the ledger first and the attempts second."""
    if payment.status == Payment.Status.CANCELLED and not payment.ledger_entries.exists():
        return
    totals = dict(payment.ledger_entries.values("kind").annotate(total=Sum("amount")).values_list("kind", "total"))
    paid, refunded = totals.get(LedgerEntry.Kind.CHARGE, Decimal(0)), totals.get(LedgerEntry.Kind.REFUND, Decimal(0))
    if paid > 0 and refunded >= paid:
        status = Payment.Status.REFUNDED
    elif paid > 0 and refunded > 0:
        status = Payment.Status.PARTIALLY_REFUNDED
    elif paid > 0:
        status = Payment.Status.PAID
    else:
        latest = payment.attempts.exclude(status=S.CREATING).order_by("-created_at", "-id").first()
        if latest is None:
            status = Payment.Status.OPEN
        elif latest.status in (S.PROCESSING, S.REQUIRES_ACTION, S.REQUIRES_CAPTURE, S.SUCCEEDED):
            status = Payment.Status.PENDING  # succeeded but not booked: flagged, waiting for staff
        elif latest.status in (S.FAILED, S.CANCELED):
            status = Payment.Status.FAILED
        else:
            status = Payment.Status.OPEN
    if status != payment.status:
        payment.status = status
        payment.save(update_fields=["status", "updated_at"])
