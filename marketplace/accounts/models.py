from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .creditcode import normalise, validate_credit_code


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_bureau(self) -> bool:
        """Bureau officers review organisations, listings and contracts."""
        if self.is_superuser:
            return True
        cache = getattr(self, "_is_bureau", None)
        if cache is None:
            cache = self.memberships.filter(
                organisation__kind=Organisation.Kind.BUREAU,
                organisation__verification=Organisation.Verification.VERIFIED,
            ).exists()
            self._is_bureau = cache
        return cache


class OrganisationQuerySet(models.QuerySet):
    def verified(self):
        return self.filter(verification=Organisation.Verification.VERIFIED)

    def pending_verification(self):
        return self.filter(verification=Organisation.Verification.PENDING)

    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def for_region(self, region: str):
        return self.filter(region=region)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("高等院校")
        INSTITUTE = "institute", _("科研院所")
        AID_PARTNER = "aid_partner", _("援藏合作单位")
        ENTERPRISE = "enterprise", _("企业")
        AGENCY = "agency", _("服务机构")
        BUREAU = "bureau", _("科技主管部门")

    class Region(models.TextChoices):
        BEIJING = "beijing", _("北京")
        JIANGSU = "jiangsu", _("江苏")
        TIBET = "tibet", _("西藏")
        OTHER = "other", _("其他省份")

    class Verification(models.TextChoices):
        PENDING = "pending", _("待认证")
        VERIFIED = "verified", _("已认证")
        REJECTED = "rejected", _("未通过")

    SELLER_KINDS = (Kind.UNIVERSITY, Kind.INSTITUTE, Kind.AID_PARTNER, Kind.ENTERPRISE, Kind.AGENCY)
    STATE_FUNDED_KINDS = (Kind.UNIVERSITY, Kind.INSTITUTE)

    name = models.CharField(_("机构名称"), max_length=120, unique=True)
    kind = models.CharField(_("机构类型"), max_length=20, choices=Kind.choices)
    region = models.CharField(_("所在地区"), max_length=10, choices=Region.choices)
    province = models.CharField(_("省份(其他省份时填写)"), max_length=20, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code])
    description = models.TextField(_("机构简介"), blank=True)
    website = models.URLField(_("网站"), blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    verification = models.CharField(
        _("认证状态"), max_length=10, choices=Verification.choices, default=Verification.PENDING
    )
    verification_note = models.CharField(_("认证意见"), max_length=300, blank=True)
    verified_at = models.DateTimeField(_("认证时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("机构")
        verbose_name_plural = _("机构")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.credit_code = normalise(self.credit_code)
        if self.region != self.Region.OTHER:
            self.province = ""

    @property
    def is_verified(self) -> bool:
        return self.verification == self.Verification.VERIFIED

    @property
    def is_aid_partner_region(self) -> bool:
        return self.region in (self.Region.BEIJING, self.Region.JIANGSU)

    @property
    def region_label(self) -> str:
        if self.region == self.Region.OTHER and self.province:
            return self.province
        return self.get_region_display()


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("管理员")
        MEMBER = "member", _("成员")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="unique_membership")]
        verbose_name = _("机构成员")
        verbose_name_plural = _("机构成员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"
