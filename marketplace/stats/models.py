"""Turnover facts (one row per registered contract) and the yearly figures the bureau enters.

TurnoverFact is denormalised on purpose: the dashboard aggregates one narrow table, with no joins,
in one pass (GROUPING SETS on PostgreSQL). It is written only by stats.services.turnover_record,
called in the same transaction that registers a contract version, so it always holds exactly the
current registered versions. Amounts are integer cents: SQLite stores DECIMAL columns with REAL
affinity, so SUM there would go through binary floating point; an integer sum is exact everywhere.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listings.vocab import Field
from marketplace.contracts.vocab import ContractType, EntityKind, SellerRegion

# The party indexes carry every filter column, so a filtered top list is read from the index alone too.
PARTY_INDEX_TAIL = ("month", "contract_type", "field", "county", "seller_region", "buyer_kind")


class TurnoverFact(models.Model):
    contract = models.OneToOneField("contracts.Contract", on_delete=models.CASCADE, related_name="turnover_fact")
    version = models.OneToOneField("contracts.ContractVersion", on_delete=models.CASCADE, related_name="+")
    signed_on = models.DateField()
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    contract_type = models.CharField(max_length=20, choices=ContractType.choices)
    field = models.CharField(max_length=20, choices=Field.choices)
    county = models.CharField(max_length=20, blank=True)
    seller_region = models.CharField(max_length=10, choices=SellerRegion.choices)
    buyer_kind = models.CharField(max_length=20, choices=EntityKind.choices)
    seller_key = models.CharField(max_length=18)
    seller_name = models.CharField(max_length=120)
    buyer_key = models.CharField(max_length=140)
    buyer_name = models.CharField(max_length=120)
    contract_cents = models.BigIntegerField()
    tech_cents = models.BigIntegerField()

    class Meta:
        # Covering indexes: the breakdowns and the two top lists read the index alone, never the table.
        indexes = [
            models.Index(
                fields=[
                    *("year", "month", "contract_type", "field", "county", "seller_region", "buyer_kind"),
                    *("contract_cents", "tech_cents"),
                ],
                name="turnover_breakdowns",
            ),
            models.Index(
                fields=["year", "seller_key", "seller_name", "contract_cents", "tech_cents", *PARTY_INDEX_TAIL],
                name="turnover_sellers",
            ),
            models.Index(
                fields=["year", "buyer_key", "buyer_name", "contract_cents", "tech_cents", *PARTY_INDEX_TAIL],
                name="turnover_buyers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} {self.seller_name} → {self.buyer_name}"


class Indicator(models.TextChoices):
    """What the bureau enters per year: GDP, and the inputs of the plan's other 2019 targets."""

    GDP = "gdp", _("地区生产总值(元)")
    RD_STAFF = "rd_staff_per_10k", _("每万名就业人员中研发人员(人)")
    VENTURE_FUND = "venture_fund", _("创业投资引导基金规模(元)")
    RD_SPENDING = "rd_spending", _("全社会研发经费支出(元)")
    TECH_PROGRESS = "tech_progress", _("科技进步贡献率(%)")
    HIGH_TECH = "high_tech_enterprises", _("高新技术企业(家)")
    TECH_SMES = "tech_smes", _("科技型中小企业(家)")
    KEY_LABS = "key_labs", _("重点实验室(个)")
    ENGINEERING_CENTRES = "engineering_centres", _("工程技术研究中心(个)")
    INCUBATORS = "incubators", _("科技企业孵化器(个)")
    MAKER_SPACES = "maker_spaces", _("众创空间(个)")
    SUPER_DEDUCTION = "super_deduction", _("研发费用加计扣除额(元)")


class YearFigure(models.Model):
    year = models.PositiveSmallIntegerField(_("年度"))
    indicator = models.CharField(_("指标"), max_length=24, choices=Indicator.choices)
    value = models.DecimalField(_("数值"), max_digits=18, decimal_places=2)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["year", "indicator"]
        verbose_name = _("年度统计指标")
        verbose_name_plural = _("年度统计指标")
        constraints = [
            models.UniqueConstraint(fields=["year", "indicator"], name="unique_year_indicator"),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="year_figure_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_indicator_display()} {self.value}"


class TurnoverRollup(models.Model):
    """Pre-aggregated turnover: per year and month (0 = the whole year), per breakdown code or party.

    dimension is one of the filter dimensions (contract_type, field, county, seller_region, buyer_kind) or
    "seller" / "buyer" (code = the party key, label = its name). Kept in step with TurnoverFact by
    stats.services.turnover_record in the registering transaction; the dashboard reads it whenever no
    dimension filter is set (a year, quarter or month with all breakdowns), and TurnoverFact otherwise.
    """

    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    dimension = models.CharField(max_length=16)
    code = models.CharField(max_length=140)
    label = models.CharField(max_length=120, blank=True)
    count = models.BigIntegerField(default=0)
    contract_cents = models.BigIntegerField(default=0)
    tech_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "dimension", "code"], name="unique_turnover_rollup")
        ]
        indexes = [models.Index(fields=["year", "month", "dimension", "contract_cents"], name="turnover_rollup_top")]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} {self.dimension}={self.code}: {self.count}"
