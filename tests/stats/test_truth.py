"""Truth: every dashboard figure, under every filter, equals the direct sum over the contracts that count.

Hypothesis generates sets of contracts through the real services in every state — draft, submitted,
under review, returned, registered, and registered ones with an amendment that is a draft, in
review, returned or registered (so the first version is superseded). The expected figures are
computed from the generated specification alone: only the current registered version of each
contract counts, an amendment replaces and never adds. Money is compared as Decimal, exactly.
"""

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listings.vocab import County, Field
from marketplace.accounts.creditcode import make_credit_code
from marketplace.contracts import services
from marketplace.contracts.models import ContractVersion
from marketplace.contracts.vocab import ContractType, EntityKind, county_of_division, seller_region
from marketplace.stats import selectors
from marketplace.stats.selectors import FILTER_DIMENSIONS, NO_COUNTY, TurnoverFilters
from tests.contracts.helpers import pass_notice, pdf
from tests.factories import OrganisationFactory, bureau_officer, member_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEARS = (TODAY.year - 1, TODAY.year)
SELLERS = [  # key, kind, credit code body (division decides the seller region)
    ("bj_univ", "university", "12110108MB0000001"),
    ("js_firm", "enterprise", "91320571MA1X00002"),
    ("xz_inst", "institute", "12540000MB0000003"),
    ("sh_firm", "enterprise", "91310115MA1X00004"),
]
BUYER_REGIONS = ["540102", "540124", "540100", "110108", "320106", "510104"]
STATES = [
    "draft",
    "submitted",
    "under_review",
    "returned",
    "registered",
    "amend_draft",
    "amend_submitted",
    "amend_returned",
    "amend_registered",
]


@dataclass(frozen=True)
class Terms:
    contract_type: str
    field: str
    signed_on: datetime.date
    contract_cents: int
    tech_cents: int
    county: str
    buyer_kind: str
    buyer_region: str
    buyer_n: int


@dataclass(frozen=True)
class Spec:
    seller: int
    state: str
    terms: Terms
    amendment: Terms


def _date(year: int) -> st.SearchStrategy:
    return st.dates(datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), TODAY))


@st.composite
def terms(draw) -> Terms:
    contract = draw(st.one_of(st.integers(1, 10**8), st.integers(10**8, 2 * 10**9)))
    tech = draw(st.sampled_from([contract, max(1, contract * 3 // 4), 1]))
    return Terms(
        contract_type=draw(st.sampled_from(ContractType.values)),
        field=draw(st.sampled_from(Field.values)),
        signed_on=draw(st.sampled_from(YEARS).flatmap(_date)),
        contract_cents=contract,
        tech_cents=tech,
        county=draw(st.sampled_from(["", "", *County.values])),
        buyer_kind=draw(st.sampled_from(EntityKind.values)),
        buyer_region=draw(st.sampled_from(BUYER_REGIONS)),
        buyer_n=draw(st.integers(1, 4)),
    )


specs = st.lists(
    st.builds(
        Spec, seller=st.integers(0, len(SELLERS) - 1), state=st.sampled_from(STATES), terms=terms(), amendment=terms()
    ),
    max_size=10,
)


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def service_data(t: Terms) -> dict:
    contract, tech = _cents(t.contract_cents), _cents(t.tech_cents)
    individual = t.buyer_kind == EntityKind.INDIVIDUAL
    data = {
        "contract_type": t.contract_type,
        "project_name": f"合同 {t.contract_type} {t.field}",
        "buyer_name": f"买方{t.buyer_n}号",
        "buyer_credit_code": "" if individual else make_credit_code(f"91{t.buyer_region}MA6TB{t.buyer_n:04d}"),
        "buyer_region_code": t.buyer_region,
        "buyer_kind": t.buyer_kind,
        "county": t.county,
        "contract_amount": contract,
        "tech_amount": tech,
        "items": [{"name": "设备", "amount": f"{contract - tech:.2f}"}] if contract > tech else [],
        "signed_on": t.signed_on,
        "term_start": t.signed_on,
        "term_end": t.signed_on + datetime.timedelta(days=365),
        "payment_mode": "lump_sum",
        "field": t.field,
        "ip_kind": "patent",
    }
    if t.contract_type == "transfer":
        data.update(expected_investment=Decimal("0"), expected_output=Decimal("0"))
    return data


class World:
    def __init__(self):
        self.sellers = []
        for key, kind, body in SELLERS:
            org = OrganisationFactory(name=f"卖方{key}", kind=kind, credit_code=make_credit_code(body))
            self.sellers.append((org, member_of(org, username=f"seller_{key}")))
        self.officer = bureau_officer(username="truth_officer")
        self.second = member_of(self.officer.memberships.get().organisation, username="truth_officer2")

    def approve(self, contract) -> None:
        pass_notice(contract)
        version = services.contract_approve(contract=contract, by=self.officer)
        if version.status != ContractVersion.Status.REGISTERED:
            services.contract_approve(contract=contract, by=self.second)

    def build(self, spec: Spec):
        org, user = self.sellers[spec.seller]
        contract = services.contract_create(organisation=org, by=user, scan=pdf(), **service_data(spec.terms))
        state = spec.state
        if state == "draft":
            return
        services.contract_submit(contract=contract, by=user)
        if state == "submitted":
            return
        if state == "under_review":
            services.contract_start_review(contract=contract, by=self.officer)
            return
        if state == "returned":
            services.contract_return(contract=contract, by=self.officer, reason="材料不全")
            return
        self.approve(contract)
        if state == "registered":
            return
        services.contract_amend(contract=contract, by=user)
        data = service_data(spec.amendment)
        services.contract_update(contract=contract, by=user, **data)
        if state == "amend_draft":
            return
        services.contract_submit(contract=contract, by=user)
        if state == "amend_submitted":
            return
        if state == "amend_returned":
            services.contract_return(contract=contract, by=self.officer, reason="变更依据不足")
            return
        self.approve(contract)

    def counting(self, spec: Spec) -> dict | None:
        """What the spec says should count: the terms of the current registered version, or nothing."""
        if spec.state in ("draft", "submitted", "under_review", "returned"):
            return None
        t = spec.amendment if spec.state == "amend_registered" else spec.terms
        org, _ = self.sellers[spec.seller]
        data = service_data(t)
        county = t.county or county_of_division(t.buyer_region)
        key = data["buyer_credit_code"] or f"个人:{data['buyer_name']}"
        return {
            "signed_on": t.signed_on,
            "contract_type": t.contract_type,
            "field": t.field,
            "county": county,
            "seller_region": seller_region(org.credit_code[2:8]),
            "buyer_kind": t.buyer_kind,
            "seller": (org.credit_code, org.name),
            "buyer": (key, data["buyer_name"]),
            "contract": data["contract_amount"],
            "tech": data["tech_amount"],
        }


def expected_figures(rows: list[dict], filters: TurnoverFilters) -> dict:
    matching = [r for r in rows if filters.matches(**{k: r[k] for k in ("signed_on", *FILTER_DIMENSIONS)})]

    def sums(selected):
        return (
            len(selected),
            sum((r["contract"] for r in selected), Decimal(0)),
            sum((r["tech"] for r in selected), Decimal(0)),
        )

    result = {"total": sums(matching)}
    for name in FILTER_DIMENSIONS:
        groups: dict[str, list] = {}
        for r in matching:
            groups.setdefault(r[name] or (NO_COUNTY if name == "county" else ""), []).append(r)
        result[name] = {code: sums(group) for code, group in groups.items()}
    months: dict[str, list] = {}
    for r in matching:
        months.setdefault(str(r["signed_on"].month), []).append(r)
    result["month"] = {code: sums(group) for code, group in months.items()}
    for side in ("seller", "buyer"):
        parties: dict[str, list] = {}
        for r in matching:
            parties.setdefault(r[side][0], []).append(r)
        ranked = sorted(
            ((key, max(r[side][1] for r in group), *sums(group)) for key, group in parties.items()),
            key=lambda row: (-row[3], row[0]),
        )
        result[f"top_{side}s"] = ranked[: selectors.TOP_N]
    year = [r for r in rows if r["signed_on"].year == filters.year]
    result["year_total"] = sum((r["contract"] for r in year), Decimal(0))
    return result


def assert_dashboard_matches(rows: list[dict], filters: TurnoverFilters) -> None:
    expected = expected_figures(rows, filters)
    dashboard = selectors.turnover_dashboard(filters=filters, include_parties=True)
    total = dashboard.total
    assert (total.count, total.contract_amount, total.tech_amount) == expected["total"], filters
    for name in ("month", *FILTER_DIMENSIONS):
        got = {f.code: (f.count, f.contract_amount, f.tech_amount) for f in dashboard.breakdowns[name] if f.count}
        assert got == expected[name], (name, filters)
        assert all(f.contract_amount == 0 for f in dashboard.breakdowns[name] if not f.count)
    aid = [v for k, v in expected["seller_region"].items() if k in ("beijing", "jiangsu")]
    assert dashboard.aid_total.contract_amount == sum((v[1] for v in aid), Decimal(0))
    for side in ("sellers", "buyers"):
        got = [(f.code, f.label, f.count, f.contract_amount, f.tech_amount) for f in getattr(dashboard, f"top_{side}")]
        assert got == expected[f"top_{side}"], (side, filters)
    assert dashboard.target.turnover == expected["year_total"]
    assert isinstance(total.contract_amount, Decimal) and total.contract_amount == total.contract_amount.quantize(
        Decimal("0.01")
    )


@pytest.fixture
def world(db):
    return World()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(specs=specs, data=st.data())
def test_every_figure_under_every_filter_is_the_sum_of_the_counting_contracts(world, specs, data):
    with transaction.atomic():
        for spec in specs:
            world.build(spec)
        rows = [r for r in (world.counting(s) for s in specs) if r is not None]
        # The database agrees with the spec about which versions count: one per registered contract.
        assert ContractVersion.objects.counting().count() == len(rows)
        for year in YEARS:
            filters = [TurnoverFilters(year=year)]
            quarter = data.draw(st.integers(1, 4), label="quarter")
            filters.append(TurnoverFilters(year=year, quarter=quarter))
            filters.append(TurnoverFilters(year=year, month=data.draw(st.integers(1, 12), label="month")))
            for name in FILTER_DIMENSIONS:
                codes = [code for code, _label in selectors.dimension_choices(name)]
                code = data.draw(st.sampled_from(codes), label=name)
                filters.append(TurnoverFilters(year=year, **{name: code}))
                filters.append(TurnoverFilters(year=year, quarter=quarter, **{name: code}))
            if rows:
                # A filter that certainly matches something: all dimensions of one counting contract.
                row = data.draw(st.sampled_from(rows), label="row")
                if row["signed_on"].year == year:
                    filters.append(
                        TurnoverFilters(
                            year=year,
                            month=row["signed_on"].month,
                            **{n: row[n] or (NO_COUNTY if n == "county" else "") for n in FILTER_DIMENSIONS},
                        )
                    )
            for f in filters:
                assert_dashboard_matches(rows, f)
        transaction.set_rollback(True)


def test_an_amendment_replaces_and_never_adds(world):
    spec = Spec(
        seller=1,
        state="amend_registered",
        terms=Terms(
            "service", "energy", TODAY.replace(month=1, day=1), 100_00, 100_00, "dazi", "enterprise", "540104", 1
        ),
        amendment=Terms(
            "license", "energy", TODAY.replace(month=1, day=1), 250_00, 200_00, "dazi", "enterprise", "540104", 1
        ),
    )
    world.build(spec)
    dashboard = selectors.turnover_dashboard(filters=TurnoverFilters(year=TODAY.year))
    assert (dashboard.total.count, dashboard.total.contract_amount) == (1, Decimal("250.00"))
    types = {f.code: f.count for f in dashboard.breakdowns["contract_type"]}
    assert types["license"] == 1 and types["service"] == 0
    assert ContractVersion.objects.filter(status="superseded").count() == 1
    replace(spec)  # frozen specs can be reused
