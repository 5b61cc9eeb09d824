"""Writes of the statistics: the turnover fact of a registered contract, and the bureau's yearly figures."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import User
from marketplace.accounts.services import require_bureau
from marketplace.contracts.models import AuditEntry, Contract, ContractVersion
from marketplace.contracts.services import audit
from marketplace.contracts.vocab import EntityKind, seller_region

from .models import Indicator, TurnoverFact, TurnoverRollup, YearFigure

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


ROLLUP_DIMENSIONS = ("contract_type", "field", "county", "seller_region", "buyer_kind")


def rollup_keys(fact: TurnoverFact) -> list[tuple[int, str, str]]:
    """(month, dimension, code) cells a fact adds to: its month and the whole year (month 0)."""
    cells = [(dim, getattr(fact, dim)) for dim in ROLLUP_DIMENSIONS]
    cells += [("seller", fact.seller_key), ("buyer", fact.buyer_key)]
    return [(month, dim, code) for month in (fact.month, 0) for dim, code in cells]


def _add_to_rollup(fact: TurnoverFact, sign: int) -> None:
    for month, dimension, code in rollup_keys(fact):
        key = {"year": fact.year, "month": month, "dimension": dimension, "code": code}
        delta = {
            "count": F("count") + sign,
            "contract_cents": F("contract_cents") + sign * fact.contract_cents,
            "tech_cents": F("tech_cents") + sign * fact.tech_cents,
        }
        if TurnoverRollup.objects.filter(**key).update(**delta):
            continue
        try:
            with transaction.atomic():  # a concurrent registration may create the same cell
                TurnoverRollup.objects.create(
                    **key, count=sign, contract_cents=sign * fact.contract_cents, tech_cents=sign * fact.tech_cents
                )
        except IntegrityError:
            TurnoverRollup.objects.filter(**key).update(**delta)
    for side in ("seller", "buyer"):
        _relabel(fact.year, fact.month, side, getattr(fact, f"{side}_key"))


def _relabel(year: int, month: int, side: str, key: str) -> None:
    """A party's label is the greatest of its names among the facts it sums (as on the fact-table path)."""
    facts = TurnoverFact.objects.filter(year=year, **{f"{side}_key": key})
    for cell_month, rows in ((month, facts.filter(month=month)), (0, facts)):
        label = rows.aggregate(label=Max(f"{side}_name"))["label"] or ""
        TurnoverRollup.objects.filter(year=year, month=cell_month, dimension=side, code=key).update(label=label)


def turnover_record(*, contract: Contract, version: ContractVersion) -> TurnoverFact:
    """The contract now counts with this version (a registered amendment replaces, never adds).

    Called by the registration service inside its transaction; keeps the rollup in step.
    """
    old = TurnoverFact.objects.filter(contract=contract).first()
    if old is not None:
        old.delete()
        _add_to_rollup(old, -1)
    fact = fact_for(contract=contract, version=version)
    fact.save()
    _add_to_rollup(fact, +1)
    return fact


def rollup_rows(facts) -> list[TurnoverRollup]:
    """The rollup of a set of facts, computed in Python (rebuilds, bulk loads)."""
    cells: dict[tuple, list] = {}
    labels: dict[tuple, str] = {}
    for fact in facts:
        for month, dimension, code in rollup_keys(fact):
            key = (fact.year, month, dimension, code)
            cell = cells.setdefault(key, [0, 0, 0])
            cell[0] += 1
            cell[1] += fact.contract_cents
            cell[2] += fact.tech_cents
            if dimension in ("seller", "buyer"):
                name = getattr(fact, f"{dimension}_name")
                labels[key] = max(labels.get(key, ""), name)
    return [
        TurnoverRollup(
            year=year,
            month=month,
            dimension=dimension,
            code=code,
            label=labels.get((year, month, dimension, code), ""),
            count=n,
            contract_cents=a,
            tech_cents=t,
        )
        for (year, month, dimension, code), (n, a, t) in cells.items()
    ]


@transaction.atomic
def turnover_rebuild() -> int:
    """Rebuild every fact and the rollup from the registered versions (repair; both are derived data)."""
    TurnoverFact.objects.all().delete()
    TurnoverRollup.objects.all().delete()
    rows = [
        fact_for(contract=v.contract, version=v)
        for v in ContractVersion.objects.counting().select_related("contract").iterator(chunk_size=2000)
    ]
    TurnoverFact.objects.bulk_create(rows, batch_size=2000)
    TurnoverRollup.objects.bulk_create(rollup_rows(rows), batch_size=2000)
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
