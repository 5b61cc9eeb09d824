"""The plan's 2019 targets (拉萨市创建国家创新型城市实施方案) and how progress against each is measured."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Indicator


@dataclass(frozen=True)
class Target:
    indicator: str
    label: Promise
    target: Decimal
    unit: Promise
    # When set, the entered value is compared as a percentage of this other yearly figure.
    basis: str | None = None
    # "more than" targets (> 25 enterprises): met only above the number.
    strict: bool = False

    @property
    def target_display(self) -> str:
        prefix = ">" if self.strict else "≥"
        return f"{prefix} {self.target.normalize():f}{self.unit}"


PLAN_TARGETS = [
    Target(Indicator.RD_STAFF, _("每万名就业人员中研发人员"), Decimal("18"), _("人")),
    Target(Indicator.VENTURE_FUND, _("创业投资引导基金占 GDP 比重"), Decimal("0.8"), "%", basis=Indicator.GDP),
    Target(Indicator.RD_SPENDING, _("研发经费支出占 GDP 比重"), Decimal("2.0"), "%", basis=Indicator.GDP),
    Target(Indicator.TECH_PROGRESS, _("科技进步贡献率"), Decimal("48"), "%"),
    Target(Indicator.HIGH_TECH, _("高新技术企业"), Decimal("25"), _("家"), strict=True),
    Target(Indicator.TECH_SMES, _("科技型中小企业"), Decimal("50"), _("家"), strict=True),
    Target(Indicator.KEY_LABS, _("重点实验室"), Decimal("18"), _("个")),
    Target(Indicator.ENGINEERING_CENTRES, _("工程技术研究中心"), Decimal("11"), _("个")),
    Target(Indicator.INCUBATORS, _("科技企业孵化器"), Decimal("4"), _("个")),
    Target(Indicator.MAKER_SPACES, _("众创空间"), Decimal("35"), _("个")),
    Target(
        Indicator.SUPER_DEDUCTION,
        _("研发费用加计扣除额占研发经费比重"),
        Decimal("5.5"),
        "%",
        basis=Indicator.RD_SPENDING,
    ),
]
