"""Reads for payments: lists, one payment with its ledger, a contract's schedule against what was paid."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet, Sum

from marketplace.accounts.models import Organisation, User

from .models import LedgerEntry, Payment, PaymentAttempt, StripeEvent
from .services import can_pay, can_view, contract_instalments, is_payments_staff, refundable_amount

ZERO = Decimal("0.00")


def payment_list(*, user: User, status: str = "", kind: str = "") -> QuerySet[Payment]:
    qs = Payment.objects.for_user(user).select_related("payer", "payee")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def payment_get(*, pk: int, user: User) -> Payment:
    """The payment if the user may see it; Payment.DoesNotExist otherwise (the page says 404 either way)."""
    payment = Payment.objects.select_related("payer", "payee").get(pk=pk)
    if not can_view(user=user, payment=payment):
        raise Payment.DoesNotExist
    return payment


def attempt_get(*, payment: Payment, pk: int) -> PaymentAttempt:
    return payment.attempts.get(pk=pk)


def attempt_for_intent(*, payment: Payment, payment_intent_id: str) -> PaymentAttempt | None:
    if not payment_intent_id:
        return payment.attempts.exclude(payment_intent_id=None).order_by("-created_at").first()
    return payment.attempts.filter(payment_intent_id=payment_intent_id).first()


def _totals(entries: Iterable[LedgerEntry]) -> dict[str, Decimal]:
    paid = sum((e.amount for e in entries if e.kind == LedgerEntry.Kind.CHARGE), ZERO)
    refunded = sum((e.amount for e in entries if e.kind == LedgerEntry.Kind.REFUND), ZERO)
    return {"paid": paid, "refunded": refunded, "net": paid - refunded}


def payment_overview(*, payment: Payment, user: User) -> dict:
    """Everything the payment page shows, fetched here so the template runs no queries."""
    entries = list(payment.ledger_entries.select_related("attempt").order_by("booked_at", "id"))
    staff = is_payments_staff(user)
    return {
        "payment": payment,
        "entries": entries,
        "totals": _totals(entries),
        "attempts": list(payment.attempts.order_by("-created_at", "-id")),
        "refunds": list(payment.refunds.select_related("requested_by").order_by("-requested_at")),
        "events": list(payment.events.order_by("-received_at")[:50]) if staff else [],
        "flags": list(payment.events.filter(outcome=StripeEvent.Outcome.FLAGGED, resolved_at=None)) if staff else [],
        "can_pay": payment.is_payable and can_pay(user=user, payment=payment),
        "is_staff": staff,
        "refundable": refundable_amount(payment) if staff else ZERO,
    }


# ---------------------------------------------------------------- contracts


def _contract_model():
    return apps.get_model("contracts", "Contract")


def contract_get(*, pk: int, user: User):
    """A contract whose payments the user may see: its seller's and buyer's members, the bureau, staff.

    Raises Contract.DoesNotExist otherwise (the same visibility as the contract pages).
    """
    from marketplace.contracts import selectors as contract_selectors

    Contract = _contract_model()
    if not user.is_authenticated:
        raise Contract.DoesNotExist
    if user.is_staff:
        return Contract.objects.select_related("current_version", "seller_organisation").get(pk=pk)
    return contract_selectors.contract_detail(pk=pk, user=user)


def registered_contracts(*, user: User, limit: int = 50) -> list:
    """The user's registered contracts (as seller or buyer), newest first, for links to their payments."""
    from marketplace.contracts import selectors as contract_selectors

    if not user.is_authenticated:
        return []
    qs = _contract_model().objects.all() if user.is_staff else contract_selectors.contracts_for_user(user=user)
    return list(qs.filter(current_version__isnull=False).select_related("current_version")[:limit])


def contract_overview(*, contract, user: User) -> dict:
    """Per instalment of the registered schedule: amount, due date, payment status, paid and refunded."""
    version = contract.current_version
    payments = {
        p.instalment_no: p
        for p in Payment.objects.for_subject(contract)
        .filter(kind=Payment.Kind.INSTALMENT)
        .prefetch_related("ledger_entries")
    }
    fees = list(Payment.objects.for_subject(contract).filter(kind=Payment.Kind.SERVICE_FEE).order_by("created_at"))
    rows, sums = [], dict.fromkeys(("scheduled", "paid", "pending", "failed", "refunded"), ZERO)
    for item in contract_instalments(contract):
        payment = payments.get(item["no"])
        totals = _totals(payment.ledger_entries.all()) if payment else _totals([])
        status = payment.status if payment else Payment.Status.OPEN
        rows.append({**item, "payment": payment, "status": status, **totals})
        sums["scheduled"] += item["amount"]
        sums["paid"] += totals["paid"]
        sums["refunded"] += totals["refunded"]
        if status == Payment.Status.PENDING:
            sums["pending"] += item["amount"]
        elif status == Payment.Status.FAILED:
            sums["failed"] += item["amount"]
    sums["net"] = sums["paid"] - sums["refunded"]
    buyer_id = version.buyer_organisation_id if version else None
    may_pay = bool(
        buyer_id and user.is_authenticated and Organisation.objects.for_user(user).filter(pk=buyer_id).exists()
    )
    return {
        "contract": contract,
        "version": version,
        "rows": rows,
        "sums": sums,
        "fees": fees,
        "may_pay": may_pay,
        "contract_amount": version.contract_amount if version else None,
    }


def paid_by_contract(contract_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """Net amount paid through the platform per contract (charges less refunds), from the ledger.

    For the statistics dashboard's paid-vs-contracted figures: only money Stripe confirmed by a
    verified event is in the ledger.
    """
    ct = ContentType.objects.get_for_model(_contract_model())
    qs = LedgerEntry.objects.filter(payment__subject_type=ct, payment__kind=Payment.Kind.INSTALMENT)
    if contract_ids is not None:
        qs = qs.filter(payment__subject_id__in=list(contract_ids))
    result: dict[int, Decimal] = {}
    for row in qs.values("payment__subject_id", "kind").annotate(total=Sum("amount")):
        sign = 1 if row["kind"] == LedgerEntry.Kind.CHARGE else -1
        key = row["payment__subject_id"]
        result[key] = result.get(key, ZERO) + sign * row["total"]
    return result


def paid_vs_contracted(*, year: int | None = None) -> dict:
    """Registered contracts (current versions, by signing year) against what was paid through the platform.

    contracted: the sum of their contract amounts; scheduled_online: the part whose buyer is a platform
    organisation (payable here); paid: net of refunds, from the ledger.
    """
    from marketplace.contracts.models import ContractVersion

    versions = ContractVersion.objects.counting()
    if year is not None:
        versions = versions.filter(signed_on__year=year)
    sums = versions.aggregate(
        contracted=Sum("contract_amount"),
        online=Sum("contract_amount", filter=Q(buyer_organisation__isnull=False)),
    )
    contract_ids = list(versions.values_list("contract_id", flat=True))
    paid = sum(paid_by_contract(contract_ids).values(), ZERO)
    return {
        "year": year,
        "contracts": len(contract_ids),
        "contracted": (sums["contracted"] or ZERO).quantize(ZERO),
        "scheduled_online": (sums["online"] or ZERO).quantize(ZERO),
        "paid": paid.quantize(ZERO),
    }


# ---------------------------------------------------------------- staff


def flagged_events() -> QuerySet[StripeEvent]:
    return StripeEvent.objects.filter(outcome=StripeEvent.Outcome.FLAGGED, resolved_at=None).select_related("payment")


def recent_events(*, limit: int = 50) -> QuerySet[StripeEvent]:
    return StripeEvent.objects.select_related("payment").order_by("-received_at", "-id")[:limit]


def payers_for_fees() -> QuerySet[Organisation]:
    return Organisation.objects.exclude(kind=Organisation.Kind.BUREAU).order_by("name")


def payments_needing_review() -> QuerySet[Payment]:
    return Payment.objects.filter(Q(needs_review=True)).select_related("payer", "payee")
