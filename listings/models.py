from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation

from .vocab import MATURITY_TRL, County, Field, IPKind, Maturity, ModeCode, PriceKind, TagCode


class Tag(models.Model):
    """A local featured-industry tag; rows are the codes of TagCode (seeded by migration)."""

    code = models.CharField(max_length=20, primary_key=True, choices=TagCode.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return str(self.get_code_display())

    @property
    def label(self) -> str:
        return str(self.get_code_display())


class TransferMode(models.Model):
    code = models.CharField(max_length=20, primary_key=True, choices=ModeCode.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return str(self.get_code_display())

    @property
    def label(self) -> str:
        return str(self.get_code_display())


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审核")
    RETURNED = "returned", _("已退回")
    PUBLISHED = "published", _("已发布")
    NEGOTIATING = "negotiating", _("洽谈中")
    TRANSFERRED = "transferred", _("已转化")
    RESOLVED = "resolved", _("已解决")
    WITHDRAWN = "withdrawn", _("已撤回")
    EXPIRED = "expired", _("已过期")


# States in which a listing is visible to everyone.
PUBLIC_STATUSES = (ListingStatus.PUBLISHED, ListingStatus.NEGOTIATING, ListingStatus.TRANSFERRED)
NEED_PUBLIC_STATUSES = (ListingStatus.PUBLISHED, ListingStatus.NEGOTIATING, ListingStatus.RESOLVED)
# States an owner may edit in.
EDITABLE_STATUSES = (ListingStatus.DRAFT, ListingStatus.RETURNED, ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN)


class ListingQuerySet(models.QuerySet):
    public_statuses = PUBLIC_STATUSES

    def published(self):
        return self.filter(status__in=self.public_statuses)

    def pending_review(self):
        return self.filter(status=ListingStatus.PENDING)

    def of_organisation(self, organisation):
        return self.filter(organisation=organisation)

    def for_region(self, region: str):
        return self.filter(region=region)

    def in_field(self, field: str):
        return self.filter(field=field)

    def with_tag(self, code: str):
        return self.filter(tags__code=code)

    def visible_to(self, user):
        """Public listings, plus everything of the user's organisations, plus all for the bureau."""
        if user.is_authenticated and user.is_bureau:
            return self
        public = models.Q(status__in=self.public_statuses)
        if not user.is_authenticated:
            return self.filter(public)
        return self.filter(public | models.Q(organisation__memberships__user=user)).distinct()


class NeedQuerySet(ListingQuerySet):
    public_statuses = NEED_PUBLIC_STATUSES

    def published(self):
        return super().published().filter(deadline__gte=timezone.localdate())

    def past_deadline(self):
        return self.filter(status=ListingStatus.PUBLISHED, deadline__lt=timezone.localdate())


class Listing(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="%(class)ss")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("详细描述"))
    field = models.CharField(_("技术领域"), max_length=20, choices=Field.choices)
    tags = models.ManyToManyField(Tag, blank=True, verbose_name=_("特色产业标签"), related_name="%(class)ss")
    status = models.CharField(
        _("状态"), max_length=12, choices=ListingStatus.choices, default=ListingStatus.DRAFT, db_index=True
    )
    review_note = models.CharField(_("审核意见"), max_length=500, blank=True)
    # Derived from the organisation (services keep it in step), stored for filters and facets.
    region = models.CharField(_("来源地区"), max_length=10, choices=Organisation.Region.choices, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-published_at", "-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status in self.public_statuses

    @property
    def is_aid(self) -> bool:
        return self.region in (Organisation.Region.BEIJING, Organisation.Region.JIANGSU)


class Technology(Listing):
    public_statuses = PUBLIC_STATUSES

    summary = models.CharField(_("成果简介"), max_length=300)
    benefits = models.TextField(_("应用前景与效益"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    maturity = models.CharField(_("成熟度"), max_length=12, choices=Maturity.choices)
    trl = models.PositiveSmallIntegerField(_("技术就绪度 TRL"), validators=[MinValueValidator(1), MaxValueValidator(9)])
    transfer_modes = models.ManyToManyField(TransferMode, verbose_name=_("转化方式"), related_name="technologies")
    price_kind = models.CharField(_("价格方式"), max_length=10, choices=PriceKind.choices, default=PriceKind.NEGOTIABLE)
    price_cny = models.DecimalField(
        _("价格(元)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    price_max_cny = models.DecimalField(
        _("最高价格(元)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    objects = ListingQuerySet.as_manager()

    class Meta(Listing.Meta):
        verbose_name = _("科技成果")
        verbose_name_plural = _("科技成果")
        indexes = [models.Index(fields=["status", "field"])]

    def clean(self):
        errors = {}
        if self.maturity and self.trl:
            low, high = MATURITY_TRL[Maturity(self.maturity)]
            if not low <= self.trl <= high:
                errors["trl"] = _("TRL %(trl)s 与成熟度「%(stage)s」(TRL %(low)s-%(high)s) 不一致") % {
                    "trl": self.trl,
                    "stage": self.get_maturity_display(),
                    "low": low,
                    "high": high,
                }
        if self.price_kind == PriceKind.NEGOTIABLE:
            self.price_cny = self.price_max_cny = None
        elif self.price_cny is None:
            errors["price_cny"] = _("请填写价格,或选择「面议」")
        elif self.price_kind == PriceKind.FIXED:
            self.price_max_cny = None
        elif self.price_kind == PriceKind.RANGE:
            if self.price_max_cny is None:
                errors["price_max_cny"] = _("价格区间需要填写最高价格")
            elif self.price_max_cny < self.price_cny:
                errors["price_max_cny"] = _("最高价格不能低于最低价格")
        if errors:
            raise ValidationError(errors)

    @property
    def price_display(self) -> str:
        if self.price_kind == PriceKind.NEGOTIABLE or self.price_cny is None:
            return str(_("面议"))
        if self.price_kind == PriceKind.RANGE and self.price_max_cny is not None:
            return f"{_yuan(self.price_cny)} – {_yuan(self.price_max_cny)}"
        return _yuan(self.price_cny)


def _yuan(amount: Decimal) -> str:
    chinese = (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")
    if chinese and amount >= 10000 and amount % 100 == 0:
        wan = (amount / 10000).normalize()
        return f"¥{wan:f} 万"
    if not chinese and amount % 1 == 0:
        return f"¥{amount:,.0f}"  # English has no 万: ¥500,000
    return f"¥{amount:,.2f}"


class IPRecord(models.Model):
    technology = models.ForeignKey(Technology, on_delete=models.CASCADE, related_name="ip_records")
    kind = models.CharField(_("知识产权类型"), max_length=16, choices=IPKind.choices)
    number = models.CharField(_("编号"), max_length=40, blank=True)
    title = models.CharField(_("名称"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("知识产权")
        verbose_name_plural = _("知识产权")
        constraints = [
            models.UniqueConstraint(
                fields=["technology", "number"], condition=~models.Q(number=""), name="unique_ip_number_per_technology"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}".strip()


class Need(Listing):
    public_statuses = NEED_PUBLIC_STATUSES

    budget_cny = models.DecimalField(
        _("预算(元)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("不填表示面议"),
    )
    county = models.CharField(_("所在县区/园区"), max_length=20, choices=County.choices)
    desired_modes = models.ManyToManyField(
        TransferMode, blank=True, verbose_name=_("可接受的转化方式"), related_name="needs"
    )
    min_maturity = models.CharField(_("最低成熟度"), max_length=12, choices=Maturity.choices, blank=True)
    deadline = models.DateField(_("截止日期"))

    objects = NeedQuerySet.as_manager()

    class Meta(Listing.Meta):
        verbose_name = _("技术需求")
        verbose_name_plural = _("技术需求")
        indexes = [models.Index(fields=["status", "deadline"])]

    @property
    def budget_display(self) -> str:
        return _yuan(self.budget_cny) if self.budget_cny else str(_("面议"))

    @property
    def is_past_deadline(self) -> bool:
        return self.deadline < timezone.localdate()


def _dated(prefix: str, filename: str) -> str:
    return f"{prefix}/{timezone.now():%Y/%m}/{filename}"


def image_path(instance, filename):
    return _dated("images", filename)


def thumb_path(instance, filename):
    return _dated("thumbs", filename)


def attachment_path(instance, filename):
    return _dated("attachments", filename)


def import_path(instance, filename):
    return _dated("imports", filename)


class TechnologyImage(models.Model):
    technology = models.ForeignKey(Technology, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=image_path)
    thumb_320 = models.FileField(upload_to=thumb_path)
    thumb_960 = models.FileField(upload_to=thumb_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    caption = models.CharField(_("图片说明"), max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class Attachment(models.Model):
    technology = models.ForeignKey(
        Technology, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(technology__isnull=False, need__isnull=True)
                | models.Q(technology__isnull=True, need__isnull=False),
                name="attachment_belongs_to_one_listing",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ReviewEvent(models.Model):
    """The audit trail of moderation: submissions, approvals, returns, withdrawals, verifications."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("提交审核")
        APPROVED = "approved", _("审核通过")
        RETURNED = "returned", _("退回修改")
        WITHDRAWN = "withdrawn", _("撤回")
        EXPIRED = "expired", _("到期")
        VERIFIED = "verified", _("机构认证通过")
        REJECTED = "rejected", _("机构认证未通过")

    technology = models.ForeignKey(
        Technology, null=True, blank=True, on_delete=models.CASCADE, related_name="review_events"
    )
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.CASCADE, related_name="review_events")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="review_events"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        TECHNOLOGY = "technology", _("科技成果")
        NEED = "need", _("技术需求")

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("有错误,未导入")

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="import_jobs"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file = models.FileField(upload_to=import_path)
    file_name = models.CharField(max_length=200)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (self.Status.DONE, self.Status.FAILED) else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
