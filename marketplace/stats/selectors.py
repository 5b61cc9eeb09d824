"""Every figure of the turnover dashboard comes from here, so the page, the API, CSV and XLSX agree.

Turnover = the contract amounts (合同成交额) of registered contracts — their current registered
version — by signing date; 技术交易额 beside it. The figures are read from stats.TurnoverFact
(one row per counting contract) in one aggregate query: GROUPING SETS on PostgreSQL, UNION ALL of
GROUP BYs elsewhere. Money is integer cents in the database and Decimal here, never float.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from listings.vocab import County, Field
from marketplace.contracts.vocab import ContractType, EntityKind, SellerRegion

from .models import Indicator, TurnoverFact, TurnoverRollup, YearFigure
from .targets import PLAN_TARGETS

CENT = Decimal("0.01")
TOP_N = 10
NO_COUNTY = "none"  # the filter and breakdown code of contracts without a Lhasa county/park

# Breakdown dimensions: key, fact column, vocabulary (code → label) in display order.
DIMENSIONS = ("month", "contract_type", "field", "county", "seller_region", "buyer_kind")
FILTER_DIMENSIONS = ("contract_type", "field", "county", "seller_region", "buyer_kind")


def dimension_choices(name: str) -> list[tuple[str, str]]:
    if name == "contract_type":
        return list(ContractType.choices)
    if name == "field":
        return list(Field.choices)
    if name == "county":
        return [*County.choices, (NO_COUNTY, _("未指明(市外或未填)"))]
    if name == "seller_region":
        return list(SellerRegion.choices)
    if name == "buyer_kind":
        return list(EntityKind.choices)
    raise KeyError(name)


def dimension_title(name: str) -> str:
    return {
        "month": _("按月份"),
        "contract_type": _("按合同类型"),
        "field": _("按技术领域"),
        "county": _("按县区/园区"),
        "seller_region": _("按卖方地区"),
        "buyer_kind": _("按买方类型"),
    }[name]


@dataclass(frozen=True)
class TurnoverFilters:
    year: int
    quarter: int | None = None
    month: int | None = None
    contract_type: str = ""
    field: str = ""
    county: str = ""
    seller_region: str = ""
    buyer_kind: str = ""

    @property
    def months(self) -> list[int]:
        if self.month:
            return [self.month]
        if self.quarter:
            return [3 * self.quarter - 2, 3 * self.quarter - 1, 3 * self.quarter]
        return list(range(1, 13))

    @property
    def whole_year(self) -> bool:
        return not (self.month or self.quarter or any(getattr(self, d) for d in FILTER_DIMENSIONS))

    @property
    def period_label(self) -> str:
        if self.month:
            return _("%(year)d 年 %(month)d 月") % {"year": self.year, "month": self.month}
        if self.quarter:
            return _("%(year)d 年第 %(quarter)d 季度") % {"year": self.year, "quarter": self.quarter}
        return _("%(year)d 年") % {"year": self.year}

    def as_query(self) -> dict[str, str]:
        query = {"year": str(self.year)}
        for name in ("quarter", "month", *FILTER_DIMENSIONS):
            value = getattr(self, name)
            if value:
                query[name] = str(value)
        return query

    def matches(self, *, signed_on: datetime.date, **dims) -> bool:
        """The same rule in Python (tests compare the SQL with it)."""
        if signed_on.year != self.year or signed_on.month not in self.months:
            return False
        for name in FILTER_DIMENSIONS:
            wanted = getattr(self, name)
            value = dims[name] or (NO_COUNTY if name == "county" else "")
            if wanted and value != wanted:
                return False
        return True


@dataclass
class Figure:
    code: str
    label: str
    count: int = 0
    contract_amount: Decimal = Decimal("0.00")
    tech_amount: Decimal = Decimal("0.00")
    share: Decimal | None = None  # percent of the period's contract amount


@dataclass
class TargetProgress:
    year: int
    turnover: Decimal
    gdp: Decimal | None
    target_share: Decimal  # percent, 0.5
    target_amount: Decimal | None = None
    ratio: Decimal | None = None  # turnover ÷ GDP, percent
    progress: Decimal | None = None  # percent of the target amount
    missing: Decimal | None = None


@dataclass
class IndicatorProgress:
    indicator: str
    label: str
    target_display: str
    unit: str
    value: Decimal | None = None  # as entered
    actual: Decimal | None = None  # compared with the target (a share for GDP-based ones)
    progress: Decimal | None = None
    met: bool | None = None
    missing: Decimal | None = None  # in the entered unit (yuan for the share-based ones)


@dataclass
class Dashboard:
    filters: TurnoverFilters
    total: Figure
    breakdowns: dict[str, list[Figure]]
    aid_total: Figure
    top_sellers: list[Figure] | None
    top_buyers: list[Figure] | None
    target: TargetProgress
    indicators: list[IndicatorProgress] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return self.filters.period_label


def yuan(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def percent(part: Decimal, whole: Decimal, places: str = "0.1") -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal(places), rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- SQL


def _where(filters: TurnoverFilters) -> tuple[str, list]:
    clauses, params = ["year = %s"], [filters.year]
    months = filters.months
    if len(months) < 12:
        clauses.append("month BETWEEN %s AND %s")
        params += [months[0], months[-1]]
    for name in FILTER_DIMENSIONS:
        value = getattr(filters, name)
        if value:
            clauses.append(f"{name} = %s")
            params.append("" if (name == "county" and value == NO_COUNTY) else value)
    return " AND ".join(clauses), params


def _table() -> str:
    return connection.ops.quote_name(TurnoverFact._meta.db_table)


def _fact_aggregate_rows(filters: TurnoverFilters) -> list[tuple[str, str, int, int, int]]:
    """(dimension, code, count, contract cents, tech cents) from the facts; dimension "" is the total."""
    where, params = _where(filters)
    table = _table()
    if connection.vendor == "postgresql":
        dims = ", ".join(DIMENSIONS)
        sets = ", ".join(["()"] + [f"({d})" for d in DIMENSIONS])
        sql = (
            f"SELECT GROUPING({dims}), {dims}, COUNT(*), SUM(contract_cents), SUM(tech_cents) "  # noqa: S608
            f"FROM {table} WHERE {where} GROUP BY GROUPING SETS ({sets})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            raw = cursor.fetchall()
        rows = []
        full = (1 << len(DIMENSIONS)) - 1
        for grouping, *values in raw:
            values, (count, contract, tech) = values[: len(DIMENSIONS)], values[len(DIMENSIONS) :]
            if grouping == full:
                rows.append(("", "", count, contract, tech))
                continue
            for i, name in enumerate(DIMENSIONS):
                if not grouping & (1 << (len(DIMENSIONS) - 1 - i)):
                    rows.append((name, str(values[i]), count, contract, tech))
        return rows
    parts = [f"SELECT '' AS d, '' AS c, COUNT(*), SUM(contract_cents), SUM(tech_cents) FROM {table} WHERE {where}"]  # noqa: S608
    for name in DIMENSIONS:
        parts.append(
            f"SELECT '{name}', CAST({name} AS TEXT), COUNT(*), SUM(contract_cents), SUM(tech_cents) "  # noqa: S608
            f"FROM {table} WHERE {where} GROUP BY {name}"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params * len(parts))
        return [(d, str(c), n, a, t) for d, c, n, a, t in cursor.fetchall()]


def _fact_top(filters: TurnoverFilters, side: str) -> list[Figure]:
    where, params = _where(filters)
    sql = (
        f"SELECT {side}_key, MAX({side}_name), COUNT(*), SUM(contract_cents) AS s, SUM(tech_cents) "  # noqa: S608
        f"FROM {_table()} WHERE {where} GROUP BY {side}_key ORDER BY s DESC, {side}_key LIMIT {TOP_N}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Figure(code=key, label=name, count=n, contract_amount=yuan(a), tech_amount=yuan(t))
            for key, name, n, a, t in cursor.fetchall()
        ]


def _uses_rollup(filters: TurnoverFilters) -> bool:
    return not any(getattr(filters, name) for name in FILTER_DIMENSIONS)


def _month_clause(filters: TurnoverFilters) -> tuple[str, list]:
    months = filters.months
    if len(months) == 12:
        return "month = 0", []
    return "month BETWEEN %s AND %s", [months[0], months[-1]]


def _rollup_aggregate_rows(filters: TurnoverFilters) -> list[tuple[str, str, int, int, int]]:
    table = connection.ops.quote_name(TurnoverRollup._meta.db_table)
    months, month_params = _month_clause(filters)
    dims = ", ".join(["%s"] * len(FILTER_DIMENSIONS))
    sql = (
        f"SELECT dimension, code, SUM(count), SUM(contract_cents), SUM(tech_cents) FROM {table} "  # noqa: S608
        f"WHERE year = %s AND {months} AND dimension IN ({dims}) GROUP BY dimension, code"
    )
    month_sql = (
        f"SELECT month, SUM(count), SUM(contract_cents), SUM(tech_cents) FROM {table} "  # noqa: S608
        f"WHERE year = %s AND month BETWEEN %s AND %s AND dimension = %s GROUP BY month"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [filters.year, *month_params, *FILTER_DIMENSIONS])
        rows = [(d, str(c), n, a, t) for d, c, n, a, t in cursor.fetchall()]
        # Every fact is in exactly one contract_type cell per month: those cells give the months.
        cursor.execute(month_sql, [filters.year, filters.months[0], filters.months[-1], "contract_type"])
        by_month = cursor.fetchall()
    rows += [("month", str(m), n, a, t) for m, n, a, t in by_month]
    total = [sum(int(r[i] or 0) for r in by_month) for i in (1, 2, 3)]
    rows.append(("", "", *total))
    return rows


def _rollup_top(filters: TurnoverFilters, side: str) -> list[Figure]:
    table = connection.ops.quote_name(TurnoverRollup._meta.db_table)
    months, month_params = _month_clause(filters)
    if not month_params:  # the whole year: one cell per party, read in index order
        sql = (
            f"SELECT code, label, count, contract_cents, tech_cents FROM {table} "  # noqa: S608
            f"WHERE year = %s AND month = 0 AND dimension = %s AND count > 0 "
            f"ORDER BY contract_cents DESC, code LIMIT {TOP_N}"
        )
    else:
        sql = (
            f"SELECT code, MAX(label), SUM(count), SUM(contract_cents) AS s, SUM(tech_cents) FROM {table} "  # noqa: S608
            f"WHERE year = %s AND {months} AND dimension = %s GROUP BY code HAVING SUM(count) > 0 "
            f"ORDER BY s DESC, code LIMIT {TOP_N}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [filters.year, *month_params, side])
        return [
            Figure(code=key, label=name, count=int(n), contract_amount=yuan(a), tech_amount=yuan(t))
            for key, name, n, a, t in cursor.fetchall()
        ]


def _aggregate_rows(filters: TurnoverFilters) -> list[tuple[str, str, int, int, int]]:
    """No dimension filter: the rollup (a few hundred rows); otherwise the facts, filtered."""
    return _rollup_aggregate_rows(filters) if _uses_rollup(filters) else _fact_aggregate_rows(filters)


def _top(filters: TurnoverFilters, side: str) -> list[Figure]:
    return _rollup_top(filters, side) if _uses_rollup(filters) else _fact_top(filters, side)


def _year_total_cents(year: int) -> int:
    """The whole year's turnover (the target is about the year): from the rollup's year cells."""
    table = connection.ops.quote_name(TurnoverRollup._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(contract_cents) FROM {table} WHERE year = %s AND month = 0 AND dimension = %s",  # noqa: S608
            [year, "contract_type"],
        )
        return int(cursor.fetchone()[0] or 0)


# ---------------------------------------------------------------- the dashboard


def available_years() -> list[int]:
    with connection.cursor() as cursor:
        # Two statements: each is one index probe (SQLite optimises a lone MIN or MAX only).
        cursor.execute(f"SELECT MIN(year) FROM {_table()}")  # noqa: S608
        low = cursor.fetchone()[0]
        cursor.execute(f"SELECT MAX(year) FROM {_table()}")  # noqa: S608
        high = cursor.fetchone()[0]
    years = set(YearFigure.objects.values_list("year", flat=True).distinct())
    if low is not None:
        years |= set(range(low, high + 1))
    return sorted(years, reverse=True)


def default_year() -> int:
    """This year, or the latest earlier year with figures when this one has none yet."""
    from django.utils import timezone

    this = timezone.localdate().year
    years = available_years()
    if not years or this in years:
        return this
    return max((y for y in years if y <= this), default=this)


def turnover_dashboard(*, filters: TurnoverFilters, include_parties: bool = False) -> Dashboard:
    rows = _aggregate_rows(filters)
    total = Figure(code="", label=_("合计"))
    found: dict[str, dict[str, tuple]] = {name: {} for name in DIMENSIONS}
    for dim, code, count, contract, tech in rows:
        if dim == "":
            total.count, total.contract_amount, total.tech_amount = int(count), yuan(contract), yuan(tech)
        else:
            if dim == "county" and code == "":
                code = NO_COUNTY
            found[dim][code] = (int(count), yuan(contract), yuan(tech))
    breakdowns = {}
    for name in DIMENSIONS:
        if name == "month":
            choices = [(str(m), _("%(month)d 月") % {"month": m}) for m in filters.months]
        else:
            choices = dimension_choices(name)
        figures = []
        for code, label in choices:
            count, contract, tech = found[name].get(code, (0, Decimal("0.00"), Decimal("0.00")))
            figures.append(
                Figure(
                    code=code,
                    label=str(label),
                    count=count,
                    contract_amount=contract,
                    tech_amount=tech,
                    share=percent(contract, total.contract_amount),
                )
            )
        breakdowns[name] = figures
    regions = {f.code: f for f in breakdowns["seller_region"]}
    aid = [regions[SellerRegion.BEIJING], regions[SellerRegion.JIANGSU]]
    aid_total = Figure(
        code="aid",
        label=_("援藏省市合计(北京、江苏)"),
        count=sum(f.count for f in aid),
        contract_amount=sum((f.contract_amount for f in aid), Decimal("0.00")),
        tech_amount=sum((f.tech_amount for f in aid), Decimal("0.00")),
    )
    aid_total.share = percent(aid_total.contract_amount, total.contract_amount)
    year_total = total.contract_amount if filters.whole_year else yuan(_year_total_cents(filters.year))
    figures = dict(YearFigure.objects.filter(year=filters.year).values_list("indicator", "value"))
    return Dashboard(
        filters=filters,
        total=total,
        breakdowns=breakdowns,
        aid_total=aid_total,
        top_sellers=_top(filters, "seller") if include_parties else None,
        top_buyers=_top(filters, "buyer") if include_parties else None,
        target=target_progress(year=filters.year, turnover=year_total, gdp=figures.get(Indicator.GDP)),
        indicators=indicator_progress(figures),
        years=available_years(),
    )


def target_progress(*, year: int, turnover: Decimal, gdp: Decimal | None) -> TargetProgress:
    share = settings.STATS_TURNOVER_TARGET_SHARE
    result = TargetProgress(year=year, turnover=turnover, gdp=gdp, target_share=(share * 100).normalize())
    if gdp:
        result.target_amount = (gdp * share).quantize(CENT, rounding=ROUND_HALF_UP)
        result.ratio = percent(turnover, gdp, "0.0001")
        result.progress = percent(turnover, result.target_amount)
        result.missing = max(result.target_amount - turnover, Decimal("0.00"))
    return result


def indicator_progress(figures: dict[str, Decimal]) -> list[IndicatorProgress]:
    rows = []
    for target in PLAN_TARGETS:
        row = IndicatorProgress(
            indicator=target.indicator,
            label=str(target.label),
            target_display=target.target_display,
            unit=str(target.unit),
            value=figures.get(target.indicator),
        )
        if row.value is not None:
            if target.basis is None:
                row.actual = row.value
            elif figures.get(target.basis):
                row.actual = percent(row.value, figures[target.basis], "0.01")
        if row.actual is not None:
            row.progress = percent(row.actual, target.target)
            row.met = row.actual > target.target if target.strict else row.actual >= target.target
            if not row.met:
                if target.basis is None:
                    needed = target.target + 1 if target.strict else target.target
                    row.missing = needed - row.value
                else:
                    needed = (figures[target.basis] * target.target / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                    row.missing = max(needed - row.value, Decimal("0.00"))
        rows.append(row)
    return rows


def year_figures(*, year: int) -> dict[str, Decimal]:
    return dict(YearFigure.objects.filter(year=year).values_list("indicator", "value"))


# ---------------------------------------------------------------- the naive way (benchmark baseline)


def turnover_dashboard_naive(*, filters: TurnoverFilters) -> dict[str, dict[str, tuple[int, Decimal, Decimal]]]:
    """The same breakdowns straight from the contract versions, one ORM query per breakdown.

    Kept for bench/stats.py, which prints how much the fact table and the single query save.
    """
    from django.db.models import Count, Q, Sum

    from marketplace.contracts.models import ContractVersion

    qs = ContractVersion.objects.counting().filter(signed_on__year=filters.year, signed_on__month__in=filters.months)
    for name in FILTER_DIMENSIONS:
        value = getattr(filters, name)
        if value and name not in ("seller_region",):
            qs = qs.filter(**{name: "" if value == NO_COUNTY else value})
    sums = {"n": Count("id"), "a": Sum("contract_amount"), "t": Sum("tech_amount")}
    result = {"": {"": tuple(qs.aggregate(**sums).values())}}
    result["month"] = {
        str(r["signed_on__month"]): (r["n"], r["a"], r["t"]) for r in qs.values("signed_on__month").annotate(**sums)
    }
    for name in ("contract_type", "field", "county", "buyer_kind"):
        result[name] = {r[name]: (r["n"], r["a"], r["t"]) for r in qs.values(name).annotate(**sums)}
    region = {}
    for code, prefix in (("beijing", "11"), ("jiangsu", "32"), ("tibet", "54")):
        region[code] = tuple(qs.filter(seller_region_code__startswith=prefix).aggregate(**sums).values())
    region["other"] = tuple(
        qs.exclude(
            Q(seller_region_code__startswith="11")
            | Q(seller_region_code__startswith="32")
            | Q(seller_region_code__startswith="54")
        )
        .aggregate(**sums)
        .values()
    )
    result["seller_region"] = region
    result["top_sellers"] = list(qs.values("seller_credit_code").annotate(**sums).order_by("-a")[:TOP_N])
    result["top_buyers"] = list(qs.values("buyer_credit_code", "buyer_name").annotate(**sums).order_by("-a")[:TOP_N])
    return result
