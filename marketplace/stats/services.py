"""Writes of the statistics: the turnover fact of a registered contract, and the bureau's yearly figures."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import User
from marketplace.accounts.services import require_bureau
from marketplace.contracts.models import AuditEntry, Contract, ContractVersion
from marketplace.contracts.services import audit
from marketplace.contracts.vocab import EntityKind, seller_region

from .models import Indicator, TurnoverFact, YearFigure

MIN_YEAR, MAX_YEAR = 2000, 2100


def to_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2).to_integral_value())


def party_key(*, credit_code: str, name: str, kind: str) -> str:
    """Parties are counted by their code; people (no code) by name."""
    if credit_code:
        return credit_code
    return f"{'个人' if kind == EntityKind.INDIVIDUAL else '无代码'}:{name}"[:140]


def fact_for(*, contract: Contract, version: ContractVersion) -> TurnoverFact:
    return TurnoverFact(
        contract_id=contract.pk,
        version_id=version.pk,
        signed_on=version.signed_on,
        year=version.signed_on.year,
        month=version.signed_on.month,
        contract_type=version.contract_type,
        field=version.field,
        county=version.county,
        seller_region=seller_region(version.seller_region_code),
        buyer_kind=version.buyer_kind,
        seller_key=version.seller_credit_code,
        seller_name=version.seller_name,
        buyer_key=party_key(credit_code=version.buyer_credit_code, name=version.buyer_name, kind=version.buyer_kind),
        buyer_name=version.buyer_name,
        contract_cents=to_cents(version.contract_amount),
        tech_cents=to_cents(version.tech_amount),
    )


def turnover_record(*, contract: Contract, version: ContractVersion) -> TurnoverFact:
    """The contract now counts with this version (a registered amendment replaces, never adds).

    Called by the registration service inside its transaction.
    """
    TurnoverFact.objects.filter(contract=contract).delete()
    fact = fact_for(contract=contract, version=version)
    fact.save()
    return fact


@transaction.atomic
def turnover_rebuild() -> int:
    """Rebuild every fact from the registered versions (repair; the facts are derived data)."""
    TurnoverFact.objects.all().delete()
    rows = [
        fact_for(contract=v.contract, version=v)
        for v in ContractVersion.objects.counting().select_related("contract").iterator(chunk_size=2000)
    ]
    TurnoverFact.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def parse_figure(raw) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(_("「%(value)s」不是数字") % {"value": raw}) from None
    if not value.is_finite():
        raise ValueError(_("「%(value)s」不是数字") % {"value": raw})
    if value < 0:
        raise ValueError(_("不能为负数"))
    if value >= Decimal("1e16"):
        raise ValueError(_("数值过大"))
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("最多两位小数"))
    return value


@transaction.atomic
def year_figures_save(*, year: int, by: User, values: dict) -> dict[str, Decimal]:
    """The bureau enters a year's figures; a blank value removes the figure. All or nothing."""
    require_bureau(by)
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError({"year": _("年度应在 %(min)d 到 %(max)d 之间") % {"min": MIN_YEAR, "max": MAX_YEAR}})
    unknown = set(values) - set(Indicator.values)
    if unknown:
        raise ValidationError(_("未知的指标:%(codes)s") % {"codes": ", ".join(sorted(unknown))})
    parsed, errors = {}, {}
    for code, raw in values.items():
        try:
            parsed[code] = parse_figure(raw)
        except ValueError as exc:
            errors[code] = f"{Indicator(code).label}:{exc}"
    if errors:
        raise ValidationError(errors)
    existing = {f.indicator: f for f in YearFigure.objects.select_for_update().filter(year=year)}
    changes = {}
    for code, value in parsed.items():
        old = existing.get(code)
        if value is None:
            if old is not None:
                changes[code] = [f"{old.value:.2f}", None]
                old.delete()
            continue
        if old is not None and old.value == value:
            continue
        changes[code] = [f"{old.value:.2f}" if old else None, f"{value:.2f}"]
        YearFigure.objects.update_or_create(
            year=year, indicator=code, defaults={"value": value, "entered_by": by, "entered_at": timezone.now()}
        )
    if changes:
        audit(
            by=by, action=AuditEntry.Action.FIGURES_SET, subject=_("%(year)d 年统计指标") % {"year": year}, diff=changes
        )
    return {f.indicator: f.value for f in YearFigure.objects.filter(year=year)}
