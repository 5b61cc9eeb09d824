"""Deals, technology contracts and their versions, and the append-only audit trail.

A Contract is the identity (who registers it, its registration number); its data lives in
ContractVersion rows. Version 1 is the contract as first submitted; an amendment of a registered
contract is a new version that supersedes the registered one and goes through review again. A
registered version is frozen: save() and the queryset refuse any change except the one step
registered → superseded, and the database allows one registered version per contract.
"""

import datetime
import os
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from listings.models import Need, Technology
from listings.vocab import County, Field
from marketplace.accounts.creditcode import credit_code_error, normalise
from marketplace.accounts.models import Organisation

from .vocab import ContractIPKind, ContractType, EntityKind, PaymentMode, region_code_error

MONEY = {"max_digits": 14, "decimal_places": 2}
CENT = Decimal("0.01")


class PrivateStorage(FileSystemStorage):
    """Scanned contracts: outside MEDIA_ROOT, no URL; a permission-checked view serves them."""

    @property
    def base_location(self):
        return str(settings.CONTRACTS_PRIVATE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("contract scans have no public URL")


private_storage = PrivateStorage()


def scan_path(instance, filename):
    return f"contracts/{timezone.now():%Y/%m}/{filename}"


class FrozenVersionError(ValidationError):
    """Raised on any attempt to change or delete a registered contract version."""


class Deal(models.Model):
    """A negotiation between a seller and a buyer organisation that may end in a contract."""

    class Status(models.TextChoices):
        OPEN = "open", _("洽谈中")
        CONTRACTED = "contracted", _("已签订合同")
        CLOSED = "closed", _("已关闭")

    title = models.CharField(_("洽谈事项"), max_length=200)
    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="deals_as_seller")
    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="deals_as_buyer")
    technology = models.ForeignKey(Technology, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    # A conversation or a match (marketplace.messaging / matching) the deal was opened from.
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("洽谈")
        verbose_name_plural = _("洽谈")
        constraints = [
            models.CheckConstraint(condition=~models.Q(seller=models.F("buyer")), name="deal_two_parties"),
        ]

    def __str__(self) -> str:
        return self.title


class RegistrationCounter(models.Model):
    """The last serial handed out per registry region and year (registration numbers)."""

    region = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="unique_registration_counter")]

    def __str__(self) -> str:
        return f"{self.region}{self.year}: {self.last}"


class Contract(models.Model):
    seller_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("登记机构(卖方)")
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts")
    registration_number = models.CharField(_("登记编号"), max_length=16, unique=True, null=True, blank=True)
    # The registered version that counts; moves when an amendment is registered.
    current_version = models.ForeignKey(
        "ContractVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("技术合同")
        verbose_name_plural = _("技术合同")

    def __str__(self) -> str:
        return self.registration_number or f"#{self.pk}"

    def delete(self, *args, **kwargs):
        if self.registration_number or self.versions.exclude(status=ContractVersion.Status.DRAFT).exists():
            raise FrozenVersionError(_g("已提交或已登记的合同不能删除"))
        return super().delete(*args, **kwargs)

    @property
    def latest(self) -> "ContractVersion | None":
        """The newest version (uses prefetched versions when the selector prefetched them)."""
        versions = list(self.versions.all())
        return versions[-1] if versions else None


FROZEN_STATUSES = ("registered", "superseded")


class ContractVersionQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=ContractVersion.OPEN_STATUSES)

    def in_review(self):
        return self.filter(status__in=ContractVersion.REVIEW_STATUSES)

    def counting(self):
        """The versions the turnover counts: registered (so current) ones."""
        return self.filter(status=ContractVersion.Status.REGISTERED)

    def update(self, **kwargs):
        # A bulk update must not slip past save()'s guard: only registered → superseded is allowed.
        superseding = set(kwargs) <= {"status"} and kwargs.get("status") == ContractVersion.Status.SUPERSEDED
        if not superseding and self.filter(status__in=FROZEN_STATUSES).exists():
            raise FrozenVersionError(_g("已登记的合同版本不能修改,请办理变更登记"))
        return super().update(**kwargs)

    def delete(self):
        if self.exclude(status=ContractVersion.Status.DRAFT).exists():
            raise FrozenVersionError(_g("已提交或已登记的合同版本不能删除"))
        return super().delete()


class ContractVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        UNDER_REVIEW = "under_review", _("审核中")
        RETURNED = "returned", _("已退回")
        REGISTERED = "registered", _("已登记")
        SUPERSEDED = "superseded", _("已被变更")

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.UNDER_REVIEW, Status.RETURNED)
    EDITABLE_STATUSES = (Status.DRAFT, Status.RETURNED)
    REVIEW_STATUSES = (Status.SUBMITTED, Status.UNDER_REVIEW)

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField(_("版本"), default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    status = models.CharField(_("状态"), max_length=14, choices=Status.choices, default=Status.DRAFT, db_index=True)

    contract_type = models.CharField(_("合同类型"), max_length=20, choices=ContractType.choices)
    project_name = models.CharField(_("项目名称"), max_length=200)
    # Parties: the seller is the registering organisation; the buyer may be off the platform.
    seller_name = models.CharField(_("卖方名称"), max_length=120)
    seller_credit_code = models.CharField(_("卖方统一社会信用代码"), max_length=18)
    seller_region_code = models.CharField(_("卖方所在地区代码"), max_length=6)
    seller_kind = models.CharField(_("卖方主体类型"), max_length=20, choices=EntityKind.choices)
    buyer_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts_as_buyer"
    )
    buyer_name = models.CharField(_("买方名称"), max_length=120)
    buyer_credit_code = models.CharField(
        _("买方统一社会信用代码"), max_length=18, blank=True, help_text=_("自然人可不填")
    )
    buyer_region_code = models.CharField(_("买方所在地区代码"), max_length=6)
    buyer_kind = models.CharField(_("买方主体类型"), max_length=20, choices=EntityKind.choices)
    county = models.CharField(
        _("实施县区/园区"), max_length=20, choices=County.choices, blank=True, help_text=_("买方或需求所在县区/园区")
    )

    contract_amount = models.DecimalField(_("合同成交额(元)"), **MONEY)
    tech_amount = models.DecimalField(_("技术交易额(元)"), **MONEY)
    signed_on = models.DateField(_("签订日期"))
    term_start = models.DateField(_("合同期限起"))
    term_end = models.DateField(_("合同期限止"))
    payment_mode = models.CharField(_("支付方式"), max_length=12, choices=PaymentMode.choices)
    # Instalments: [{"due": "YYYY-MM-DD", "amount": "123.45"}, …]; they add up to the contract amount.
    payment_schedule = models.JSONField(_("分期计划"), default=list, blank=True)
    royalty_rate = models.DecimalField(
        _("提成比例(%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    payment_note = models.CharField(_("支付说明"), max_length=500, blank=True)
    field = models.CharField(_("技术领域"), max_length=20, choices=Field.choices)
    ip_kind = models.CharField(_("知识产权类型"), max_length=20, choices=ContractIPKind.choices)
    technology = models.ForeignKey(
        Technology, null=True, blank=True, on_delete=models.SET_NULL, related_name="contract_versions"
    )
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="contract_versions")
    expected_investment = models.DecimalField(_("预计新增投资(元)"), null=True, blank=True, **MONEY)
    expected_output = models.DecimalField(_("预计新增产值(元)"), null=True, blank=True, **MONEY)
    scan = models.FileField(_("合同扫描件"), storage=private_storage, upload_to=scan_path, blank=True)
    scan_name = models.CharField(max_length=200, blank=True)

    # Review.
    submitted_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(_("审核期限"), null=True, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    notice_starts_on = models.DateField(_("公示开始"), null=True, blank=True)
    notice_ends_on = models.DateField(_("公示结束"), null=True, blank=True)
    returned_reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ContractVersionQuerySet.as_manager()

    class Meta:
        ordering = ["contract_id", "number"]
        verbose_name = _("合同版本")
        verbose_name_plural = _("合同版本")
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="unique_contract_version_number"),
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(status="registered"), name="one_registered_version"
            ),
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(status__in=["draft", "submitted", "under_review", "returned"]),
                name="one_open_version",
            ),
            models.CheckConstraint(condition=models.Q(contract_amount__gt=0), name="contract_amount_positive"),
            models.CheckConstraint(condition=models.Q(tech_amount__gt=0), name="tech_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(tech_amount__lte=models.F("contract_amount")), name="tech_amount_within_contract"
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=FROZEN_STATUSES)
                | models.Q(registered_at__isnull=False, registered_by__isnull=False),
                name="registered_version_has_registration",
            ),
        ]
        indexes = [models.Index(fields=["status", "signed_on"])]

    def __str__(self) -> str:
        return f"{self.project_name} (v{self.number})"

    # -- freezing

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded", None)
        if loaded is not None and not self._state.adding and loaded.get("status") in FROZEN_STATUSES:
            changed = self._changed_fields()
            step = loaded["status"] == self.Status.REGISTERED and self.status == self.Status.SUPERSEDED
            if changed and not (changed == {"status"} and step):
                raise FrozenVersionError(_g("已登记的合同版本不能修改,请办理变更登记"))
        super().save(*args, **kwargs)
        self._loaded = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}

    def delete(self, *args, **kwargs):
        if self.status != self.Status.DRAFT:
            raise FrozenVersionError(_g("已提交或已登记的合同版本不能删除"))
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = {
            name: value for name, value in zip(field_names, values, strict=True) if value is not models.DEFERRED
        }
        return instance

    def _changed_fields(self) -> set[str]:
        loaded = getattr(self, "_loaded", {})
        return {
            f.attname
            for f in self._meta.concrete_fields
            if f.attname in loaded and loaded[f.attname] != f.to_python(getattr(self, f.attname))
        }

    # -- invariants

    def clean(self):
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        self.seller_credit_code = normalise(self.seller_credit_code)
        self.buyer_credit_code = normalise(self.buyer_credit_code)
        self.buyer_name = (self.buyer_name or "").strip()
        self.project_name = (self.project_name or "").strip()
        if self.contract_amount is not None and self.contract_amount <= 0:
            add("contract_amount", _g("合同成交额必须大于 0"))
        if self.tech_amount is not None and self.tech_amount <= 0:
            add("tech_amount", _g("技术交易额必须大于 0"))
        if (
            self.contract_amount is not None
            and self.tech_amount is not None
            and self.contract_amount > 0
            and self.tech_amount > self.contract_amount
        ):
            add("tech_amount", _g("技术交易额不能大于合同成交额"))
        today = timezone.localdate()
        if self.signed_on and self.signed_on > today:
            add("signed_on", _g("签订日期不能晚于今天(%(today)s)") % {"today": today.isoformat()})
        if self.term_start and self.term_end and self.term_end < self.term_start:
            add("term_end", _g("合同期限止不能早于合同期限起"))
        for side in ("seller", "buyer"):
            code = getattr(self, f"{side}_credit_code")
            kind = getattr(self, f"{side}_kind")
            if code:
                error = credit_code_error(code)
                if error:
                    add(f"{side}_credit_code", error)
            elif kind != EntityKind.INDIVIDUAL:
                add(f"{side}_credit_code", _g("请填写统一社会信用代码(仅自然人可不填)"))
            region = getattr(self, f"{side}_region_code")
            error = region_code_error(region)
            if error:
                add(f"{side}_region_code", error)
        self._clean_payment(add)
        if self.contract_type == ContractType.TRANSFER:
            for name in ("expected_investment", "expected_output"):
                value = getattr(self, name)
                if value is None:
                    add(name, _g("技术转让合同请填写预计新增投资和新增产值(可填 0)"))
                elif value < 0:
                    add(name, _g("金额不能为负数"))
        if errors:
            raise ValidationError(errors)

    def _clean_payment(self, add) -> None:
        if self.payment_mode == PaymentMode.INSTALMENTS:
            rows = self.payment_schedule or []
            if len(rows) < 2:
                add("payment_schedule", _g("分期支付请至少填写两期(日期和金额)"))
                return
            total = Decimal(0)
            for n, row in enumerate(rows, start=1):
                try:
                    amount = Decimal(str(row["amount"]))
                    datetime.date.fromisoformat(str(row["due"]))
                    exact = amount.is_finite() and 0 < amount < Decimal("1e12") and amount == amount.quantize(CENT)
                except (KeyError, TypeError, ValueError, ArithmeticError):
                    add("payment_schedule", _g("第 %(n)d 期的日期或金额无法识别") % {"n": n})
                    return
                if not exact:
                    add("payment_schedule", _g("第 %(n)d 期的金额应为大于 0 的元、角、分") % {"n": n})
                    return
                total += amount
            if self.contract_amount is not None and total != self.contract_amount:
                add(
                    "payment_schedule",
                    _g("各期金额合计 %(total)s 元,应等于合同成交额 %(amount)s 元")
                    % {"total": total, "amount": self.contract_amount},
                )
        else:
            self.payment_schedule = []
        if self.payment_mode == PaymentMode.ROYALTY:
            if self.royalty_rate is None or self.royalty_rate <= 0 or self.royalty_rate > 100:
                add("royalty_rate", _g("提成支付请填写提成比例(大于 0,不超过 100%)"))
        else:
            self.royalty_rate = None

    # -- derived

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES

    @property
    def non_technical_amount(self) -> Decimal:
        return self.contract_amount - self.tech_amount

    @property
    def is_overdue(self) -> bool:
        return bool(self.status in self.REVIEW_STATUSES and self.due_on and timezone.localdate() > self.due_on)

    @property
    def needs_second_review(self) -> bool:
        return self.contract_amount >= settings.CONTRACTS_SECOND_REVIEW_AMOUNT

    @property
    def notice_pending(self) -> bool:
        return bool(self.notice_ends_on and timezone.localdate() < self.notice_ends_on)

    @property
    def seller_region_name(self) -> str:
        from .vocab import region_name

        return region_name(self.seller_region_code)

    @property
    def buyer_region_name(self) -> str:
        from .vocab import region_name

        return region_name(self.buyer_region_code)


class NonTechnicalItem(models.Model):
    """A non-technical part of the contract (equipment, materials …): contract − technology amount."""

    version = models.ForeignKey(ContractVersion, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(_("名称"), max_length=120)
    amount = models.DecimalField(_("金额(元)"), **MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="item_amount_positive")]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"

    def save(self, *args, **kwargs):
        if self.version.is_frozen:
            raise FrozenVersionError(_g("已登记的合同版本不能修改,请办理变更登记"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.version.is_frozen:
            raise FrozenVersionError(_g("已登记的合同版本不能修改,请办理变更登记"))
        return super().delete(*args, **kwargs)


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries are append-only")

    def delete(self):
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    """Who did what, when, and what changed. Append-only: no update, no delete, anywhere."""

    class Action(models.TextChoices):
        DEAL_OPENED = "deal_opened", _("发起洽谈")
        CREATED = "created", _("创建合同")
        CHANGED = "changed", _("修改合同")
        SCAN_UPLOADED = "scan_uploaded", _("上传扫描件")
        SUBMITTED = "submitted", _("提交登记")
        NOTICE_STARTED = "notice_started", _("开始公示")
        REVIEW_STARTED = "review_started", _("开始审核")
        FIRST_APPROVED = "first_approved", _("初审通过")
        REGISTERED = "registered", _("准予登记")
        RETURNED = "returned", _("退回")
        AMENDED = "amended", _("申请变更")
        FIGURES_SET = "figures_set", _("录入统计指标")

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    version = models.ForeignKey(
        ContractVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries")
    subject = models.CharField(_("对象"), max_length=200, blank=True)
    diff = models.JSONField(_("变更内容"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")

    @property
    def changes(self) -> list[tuple[str, object]]:
        # Templates cannot call diff.items: a diff may have a key named "items".
        return list(self.diff.items()) if isinstance(self.diff, dict) else []
