"""The dashboard page, its exports and its API show the same figures; figures entry; targets."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from marketplace.contracts.models import AuditEntry
from marketplace.stats import selectors, services
from marketplace.stats.exports import sheet_title
from marketplace.stats.models import YearFigure
from marketplace.stats.selectors import TurnoverFilters
from tests.contracts.helpers import draft, register

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year


@pytest.fixture
def registered(company, company_seller, university, seller, officer, second_officer):
    """Three registered contracts (one ≥ ¥5,000,000, one from a state-funded seller) and one draft."""
    draft(organisation=company, by=company_seller)  # a draft never counts
    contracts = [
        draft(organisation=company, by=company_seller),
        draft(
            organisation=company,
            by=company_seller,
            contract_type="license",
            ip_kind="patent",
            contract_amount=Decimal("6000000"),
            tech_amount=Decimal("6000000"),
            items=[],
            county="",
            buyer_region_code="110108",
        ),
        draft(organisation=university, by=seller, field="energy", buyer_kind="individual", buyer_credit_code=""),
    ]
    for contract in contracts:
        register(
            contract,
            seller=company_seller if contract.seller_organisation == company else seller,
            officer=officer,
            second_officer=second_officer,
        )
    return contracts


def figures_of(section_rows):
    return {row[0]: row[1:] for row in section_rows}


def test_the_dashboard_totals_and_breakdowns(registered, client, officer):
    client.force_login(officer)
    response = client.get(f"/stats/?year={YEAR}")
    assert response.status_code == 200
    data = response.context["data"]
    assert data.total.count == 3
    assert data.total.contract_amount == Decimal("6600000.00")
    assert data.total.tech_amount == Decimal("6500000.00")
    types = {f.code: f.contract_amount for f in data.breakdowns["contract_type"]}
    assert types["service"] == Decimal("600000.00") and types["license"] == Decimal("6000000.00")
    regions = {f.code: f.count for f in data.breakdowns["seller_region"]}
    assert regions == {"beijing": 0, "jiangsu": 2, "tibet": 1, "other": 0}
    assert data.aid_total.contract_amount == Decimal("6300000.00")
    counties = {f.code: f.count for f in data.breakdowns["county"] if f.count}
    assert counties == {"chengguan": 2, "none": 1}
    kinds = {f.code: f.count for f in data.breakdowns["buyer_kind"] if f.count}
    assert kinds == {"enterprise": 2, "individual": 1}
    assert [s.label for s in data.top_sellers] == ["苏州绿能高原新能源科技有限公司", "西藏大学测试"]
    page = response.content.decode()
    assert "6,600,000.00" in page and "chart.umd.min.js" in page and "cdn" not in page.lower()


def test_the_public_sees_aggregates_but_not_the_parties(registered, client):
    response = client.get(f"/stats/?year={YEAR}")
    assert response.status_code == 200
    assert response.context["data"].top_sellers is None
    assert "苏州绿能" not in response.content.decode()
    api = client.get(f"/api/stats/turnover/?year={YEAR}").json()
    assert api["top_sellers"] is None and api["total"]["contract_amount"] == "6600000.00"


def test_csv_xlsx_and_api_carry_exactly_what_the_page_shows(registered, client, officer):
    client.force_login(officer)
    query = f"year={YEAR}&contract_type=service"
    page = client.get(f"/stats/?{query}")
    sections = page.context["sections"]

    text = client.get(f"/stats/export.csv?{query}").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for section in sections.values():
        start = rows.index([section.title])
        assert rows[start + 1] == section.headers
        for offset, row in enumerate(section.rows, start=2):
            expected = ["" if v is None else (f"{v:f}" if isinstance(v, Decimal) else str(v)) for v in row]
            assert rows[start + offset] == expected

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/stats/export.xlsx?{query}").content))
    for section in sections.values():
        sheet = book[sheet_title(section)]
        values = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
        for got, want in zip(values, section.rows, strict=True):
            for g, w in zip(got, want, strict=True):
                if isinstance(w, Decimal):
                    assert Decimal(str(g)) == w
                else:
                    assert g == w

    api = client.get(f"/api/stats/turnover/?{query}").json()
    data = page.context["data"]
    assert api["total"] == {
        "code": "",
        "label": "合计",
        "count": data.total.count,
        "contract_amount": f"{data.total.contract_amount:f}",
        "tech_amount": f"{data.total.tech_amount:f}",
        "share": None,
    }
    for name, figures in data.breakdowns.items():
        assert [(r["code"], r["contract_amount"]) for r in api["breakdowns"][name]] == [
            (f.code, f"{f.contract_amount:f}") for f in figures
        ]
    assert [r["code"] for r in api["top_buyers"]] == [f.code for f in data.top_buyers]


def test_bad_filters_are_a_clear_400_everywhere(client):
    for url in ("/stats/", "/stats/export.csv", "/api/stats/turnover/"):
        response = client.get(f"{url}?year=abc&quarter=2&month=11&field=space")
        assert response.status_code == 400, url
    body = client.get("/api/stats/turnover/?quarter=1&month=5").json()
    assert "5 月不在第 1 季度内" in body["month"][0]


def test_gdp_target_progress_and_the_amount_missing(registered):
    YearFigure.objects.create(year=YEAR, indicator="gdp", value=Decimal("2000000000"))
    target = selectors.turnover_dashboard(filters=TurnoverFilters(year=YEAR)).target
    assert target.target_amount == Decimal("10000000.00")  # 0.5% of GDP
    assert target.ratio == Decimal("0.3300")  # percent of GDP
    assert target.progress == Decimal("66.0")
    assert target.missing == Decimal("3400000.00")
    # The target is about the whole year, whatever else is filtered.
    filtered = selectors.turnover_dashboard(filters=TurnoverFilters(year=YEAR, contract_type="license")).target
    assert filtered.turnover == Decimal("6600000.00")


def test_plan_indicators_with_progress():
    figures = {
        "gdp": Decimal("70000000000"),
        "rd_spending": Decimal("700000000"),  # 1% of GDP against 2%
        "venture_fund": Decimal("560000000"),  # 0.8%: met
        "high_tech_enterprises": Decimal("25"),  # "> 25": not met
        "super_deduction": Decimal("38500000"),  # 5.5% of R&D spending: met
    }
    rows = {row.indicator: row for row in selectors.indicator_progress(figures)}
    assert (rows["rd_spending"].actual, rows["rd_spending"].met) == (Decimal("1.00"), False)
    assert rows["rd_spending"].missing == Decimal("700000000.00")
    assert rows["venture_fund"].met is True and rows["venture_fund"].missing is None
    assert (rows["high_tech_enterprises"].met, rows["high_tech_enterprises"].missing) == (False, Decimal("1"))
    assert rows["super_deduction"].actual == Decimal("5.50") and rows["super_deduction"].met
    assert rows["key_labs"].value is None and rows["key_labs"].progress is None
    assert len(rows) == 11


def test_the_bureau_enters_figures_on_the_page_with_an_audit_entry(client, officer):
    client.force_login(officer)
    assert client.get("/stats/figures/").status_code == 200
    response = client.post("/stats/figures/", {"year": YEAR, "gdp": "82,000,000,000", "key_labs": "12"})
    assert response.status_code == 302
    assert services.year_figures_save  # the page went through the service
    assert {f.indicator: f.value for f in YearFigure.objects.all()} == {
        "gdp": Decimal("82000000000.00"),
        "key_labs": Decimal("12.00"),
    }
    entry = AuditEntry.objects.get(action="figures_set")
    assert entry.diff["gdp"] == [None, "82000000000.00"]
    page = client.get(f"/stats/?year={YEAR}").content.decode()
    assert "82,000,000,000.00" in page


@pytest.mark.parametrize("value", ["-1", "abc", "1.234", "1e30"])
def test_bad_figures_are_refused_on_the_page_and_the_api(client, client_for, officer, value):
    YearFigure.objects.create(year=YEAR, indicator="gdp", value=Decimal("5"))
    client.force_login(officer)
    response = client.post("/stats/figures/", {"year": YEAR, "gdp": "10", "key_labs": value})
    assert response.status_code == 400
    assert "重点实验室" in response.content.decode()
    api = client_for(officer).post(
        "/api/stats/figures/", {"year": YEAR, "values": {"gdp": "10", "key_labs": value}}, format="json"
    )
    assert api.status_code == 400 and "key_labs" in api.json()
    assert YearFigure.objects.get().value == Decimal("5")  # nothing saved, not even the good gdp
    assert not AuditEntry.objects.exists()


def test_only_the_bureau_enters_figures(client, client_for, buyer):
    client.force_login(buyer)
    assert client.get("/stats/figures/").status_code == 403
    api = client_for(buyer).post("/api/stats/figures/", {"year": YEAR, "values": {"gdp": "1"}}, format="json")
    assert api.status_code == 403
    assert client_for(None).post("/api/stats/figures/", {"year": YEAR, "values": {}}, format="json").status_code == 403
    assert client_for(None).get(f"/api/stats/figures/?year={YEAR}").json()["values"]["gdp"] is None


def test_an_unknown_indicator_and_a_bad_year_through_the_api(client_for, officer):
    api = client_for(officer)
    assert api.post("/api/stats/figures/", {"year": YEAR, "values": {"gnp": "1"}}, format="json").status_code == 400
    assert api.post("/api/stats/figures/", {"year": 1800, "values": {"gdp": "1"}}, format="json").status_code == 400
    assert api.get("/api/stats/figures/?year=x").status_code == 400


def test_the_rebuild_gives_the_same_facts(registered):
    before = selectors.turnover_dashboard(filters=TurnoverFilters(year=YEAR), include_parties=True)
    assert services.turnover_rebuild() == 3
    after = selectors.turnover_dashboard(filters=TurnoverFilters(year=YEAR), include_parties=True)
    assert before.total == after.total and before.breakdowns == after.breakdowns


def test_the_bureau_sees_paid_against_contracted_and_the_public_does_not(registered, client, officer):
    client.force_login(officer)
    response = client.get(f"/stats/?year={YEAR}")
    payments = response.context["payments"]
    total = response.context["data"].total
    assert payments["contracts"] == total.count == 3
    assert payments["contracted"] == total.contract_amount
    assert payments["paid"] == Decimal("0") and payments["share"] == Decimal("0.0")
    assert "平台支付与合同成交额" in response.content.decode()

    client.logout()
    public = client.get(f"/stats/?year={YEAR}")
    assert public.context["payments"] is None
    assert "平台支付与合同成交额" not in public.content.decode()
