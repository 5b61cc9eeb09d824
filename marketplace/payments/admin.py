"""Read-only admin views of the ledger and Stripe's events: money is written by webhooks only."""

from django.contrib import admin

from .models import LedgerEntry, Payment, PaymentAttempt, Refund, StripeEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "kind", "payer", "payee", "amount", "status", "needs_review", "created_at"]
    list_filter = ["kind", "status", "needs_review"]
    search_fields = ["title", "payer__name"]


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "payment_intent_id", "amount_minor", "status", "method_type", "created_at"]
    list_filter = ["status"]
    search_fields = ["payment_intent_id", "charge_id"]
    exclude = ["client_secret"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "kind", "amount", "currency", "stripe_object_id", "booked_at"]
    list_filter = ["kind"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "outcome", "payment", "received_at", "resolved_at"]
    list_filter = ["outcome", "type"]
    search_fields = ["event_id", "object_id"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "amount", "status", "stripe_refund_id", "requested_by", "requested_at"]
    list_filter = ["status"]
