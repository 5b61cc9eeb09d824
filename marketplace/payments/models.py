"""Payments through Stripe: what is to be paid, the attempts at paying it, and the ledger.

- Payment: one payable amount in CNY — a platform service fee, or an instalment of a registered
  technology contract — with who pays (payer organisation) and who receives (payee; none = the platform).
- PaymentAttempt: one Stripe PaymentIntent for a payment, created with an idempotency key stored first.
- StripeEvent: every verified webhook event, stored once by its Stripe id (the guard against replays).
- LedgerEntry: money that Stripe says moved (a charge or a refund), written only by the webhook handler,
  once per Stripe object (unique), append-only.
- Refund: a refund asked for by platform staff; it reaches the ledger when Stripe's event confirms it.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation

from .money import CURRENCY

MONEY = {"max_digits": 14, "decimal_places": 2}
METHOD_LABELS = {"card": _("银行卡"), "alipay": _("支付宝"), "wechat_pay": _("微信支付")}


class LedgerImmutableError(RuntimeError):
    """Ledger entries are written once and never changed or deleted."""


class PaymentQuerySet(models.QuerySet):
    def for_user(self, user):
        """Payments the user's organisations pay or receive; all of them for staff and the bureau."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff or user.is_bureau:
            return self
        orgs = Organisation.objects.for_user(user).values("id")
        return self.filter(Q(payer__in=orgs) | Q(payee__in=orgs))

    def for_subject(self, obj):
        return self.filter(subject_type=ContentType.objects.get_for_model(obj), subject_id=obj.pk)


class Payment(models.Model):
    class Kind(models.TextChoices):
        SERVICE_FEE = "service_fee", _("平台服务费")
        INSTALMENT = "instalment", _("合同款项")

    class FeeKind(models.TextChoices):
        LISTING = "listing", _("成果发布服务费")
        MATCHING = "matching", _("对接撮合服务费")
        CONTRACT_REGISTRATION = "contract_registration", _("合同登记服务费")
        OTHER = "other", _("其他服务费")

    class Status(models.TextChoices):
        OPEN = "open", _("待支付")
        PENDING = "pending", _("处理中")
        FAILED = "failed", _("支付失败")
        PAID = "paid", _("已支付")
        PARTIALLY_REFUNDED = "partially_refunded", _("部分退款")
        REFUNDED = "refunded", _("已退款")
        CANCELLED = "cancelled", _("已取消")

    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    fee_kind = models.CharField(_("服务费类别"), max_length=24, choices=FeeKind.choices, blank=True)
    title = models.CharField(_("付款事项"), max_length=200)
    amount = models.DecimalField(_("金额(元)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    currency = models.CharField(_("币种"), max_length=3, default=CURRENCY, editable=False)
    payer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="payments_made", verbose_name=_("付款机构")
    )
    payee = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments_received",
        verbose_name=_("收款机构"),
        help_text=_("空表示平台"),
    )
    # What is paid for: a contract (its instalments, its registration fee), a listing, a match …
    subject_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    # For contract instalments: the 1-based position in the registered version's payment schedule.
    instalment_no = models.PositiveSmallIntegerField(_("期次"), null=True, blank=True)
    due_on = models.DateField(_("应付日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    # Set when Stripe reported something we did not ask for (amount, currency, a second charge):
    # staff look at it; nothing flagged is ever booked.
    needs_review = models.BooleanField(_("待人工核查"), default=False, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("支付")
        verbose_name_plural = _("支付")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "instalment_no"],
                condition=Q(kind="instalment"),
                name="one_payment_per_instalment",
            ),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return self.title

    @property
    def payee_label(self) -> str:
        return self.payee.name if self.payee_id else str(_("拉萨科技成果转移转化平台"))

    @property
    def is_payable(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.FAILED, self.Status.PENDING)


class PaymentAttempt(models.Model):
    """One PaymentIntent. Its status is Stripe's, moved forward only by verified webhook events."""

    class Status(models.TextChoices):
        CREATING = "creating", _("创建中")
        REQUIRES_PAYMENT_METHOD = "requires_payment_method", _("待选择支付方式")
        REQUIRES_CONFIRMATION = "requires_confirmation", _("待确认")
        REQUIRES_ACTION = "requires_action", _("待验证(3-D Secure/扫码)")
        PROCESSING = "processing", _("处理中")
        REQUIRES_CAPTURE = "requires_capture", _("待扣款")
        SUCCEEDED = "succeeded", _("成功")
        FAILED = "failed", _("失败")
        CANCELED = "canceled", _("已取消")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="attempts")
    idempotency_key = models.CharField(max_length=80, unique=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The charge Stripe made for it (refunds created in Stripe's dashboard may name only the charge).
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    client_secret = models.CharField(max_length=255, blank=True)
    amount_minor = models.PositiveBigIntegerField(_("金额(分)"))
    currency = models.CharField(max_length=3, default=CURRENCY)
    methods = models.JSONField(_("支付方式"), default=list)
    status = models.CharField(_("状态"), max_length=24, choices=Status.choices, default=Status.CREATING)
    # Stripe's `created` of the newest event that set the status (out-of-order events compare with it).
    status_at = models.DateTimeField(null=True, blank=True)
    method_type = models.CharField(_("实际支付方式"), max_length=24, blank=True)
    last_error = models.CharField(_("失败原因"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    OPEN_STATUSES = (
        Status.CREATING,
        Status.REQUIRES_PAYMENT_METHOD,
        Status.REQUIRES_CONFIRMATION,
        Status.REQUIRES_ACTION,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("支付尝试")
        verbose_name_plural = _("支付尝试")

    def __str__(self) -> str:
        return self.payment_intent_id or self.idempotency_key


class StripeEvent(models.Model):
    """A verified webhook event, stored once: the unique event id makes replays and duplicates no-ops."""

    class Outcome(models.TextChoices):
        BOOKED = "booked", _("已入账")
        UPDATED = "updated", _("已更新状态")
        STALE = "stale", _("过时事件(未改变状态)")
        IGNORED = "ignored", _("未处理的事件类型")
        UNMATCHED = "unmatched", _("找不到对应支付")
        FLAGGED = "flagged", _("待人工核查")

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    created = models.DateTimeField(_("Stripe 创建时间"))
    livemode = models.BooleanField(default=False)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(_("处理结果"), max_length=12, choices=Outcome.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(_("核查意见"), max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("Stripe 事件")
        verbose_name_plural = _("Stripe 事件")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutableError("ledger entries are append-only")

    def delete(self):
        raise LedgerImmutableError("ledger entries are append-only")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", _("收款")
        REFUND = "refund", _("退款")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="ledger_entries")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("金额(元)"), **MONEY)
    currency = models.CharField(max_length=3, default=CURRENCY)
    # The Stripe object the money moved by: the PaymentIntent of a charge, the Refund of a refund.
    stripe_object_id = models.CharField(max_length=255)
    method_type = models.CharField(max_length=24, blank=True)
    event = models.ForeignKey(StripeEvent, on_delete=models.PROTECT, related_name="ledger_entries")
    booked_at = models.DateTimeField(default=timezone.now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["booked_at", "id"]
        verbose_name = _("账目")
        verbose_name_plural = _("账目")
        constraints = [
            # The database itself refuses a second booking of the same charge or refund.
            models.UniqueConstraint(fields=["kind", "stripe_object_id"], name="ledger_once_per_stripe_object"),
            # One charge per payment: a second successful PaymentIntent is flagged, not booked.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(kind="charge"), name="ledger_one_charge_per_payment"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ¥{self.amount} ({self.stripe_object_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutableError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutableError("ledger entries are append-only")

    @property
    def method_label(self) -> str:
        return str(METHOD_LABELS.get(self.method_type, self.method_type or "—"))

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == self.Kind.CHARGE else -self.amount


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("已申请")
        SUBMITTED = "submitted", _("已提交 Stripe")
        SUCCEEDED = "succeeded", _("已退款")
        FAILED = "failed", _("退款失败")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("退款金额(元)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    reason = models.CharField(_("退款原因"), max_length=300)
    idempotency_key = models.CharField(max_length=80, unique=True)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    error = models.CharField(_("失败原因"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.payment} −¥{self.amount}"


class StripeCustomer(models.Model):
    """The Stripe customer of a paying organisation."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="stripe_customer")
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.customer_id
