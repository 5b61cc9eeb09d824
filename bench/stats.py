"""Turnover dashboard at scale: the page and its API for one year with every breakdown.

    .venv/bin/python bench/stats.py --quick      # 100,000 registered contracts, temporary SQLite (≤ 60 s)
    .venv/bin/python bench/stats.py              # 1,000,000 on PostgreSQL (DATABASE_URL's cluster)

The full run needs the cluster: `eval "$(bash scripts/services.sh env)"`. It creates a temporary database
on that server (bench_stats_<pid>), fills it and drops it at the end; the quick run uses a throw-away
SQLite file. Contracts, their registered versions and their turnover facts are bulk-inserted (executemany on
SQLite, COPY on PostgreSQL), then the page /stats/ and /api/stats/turnover/ are timed as a bureau officer
(median of several warm runs), and — side by side, in the same run — the dashboard selector against the naive
way (one ORM aggregate per breakdown straight over the contract versions). The last line is JSON:
{"contracts": …, "db": …, "dashboard_ms": …, "api_ms": …}.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = [("service", 40), ("dev_commissioned", 20), ("consulting", 12), ("transfer", 10), ("license", 10)]
TYPES += [("dev_cooperative", 8)]
FIELDS = [("agriculture", 18), ("electronics", 16), ("energy", 14), ("environment", 12), ("biomed", 12)]
FIELDS += [("urban", 10), ("manufacturing", 8), ("materials", 5), ("transport", 3), ("aerospace", 1), ("nuclear", 1)]
COUNTIES = [("", 30), ("chengguan", 20), ("high_tech_zone", 10), ("econ_dev_zone", 8), ("duilongdeqing", 6)]
COUNTIES += [("dazi", 4), ("dazi_industrial", 4), ("qushui", 4), ("linzhou", 3), ("dangxiong", 3), ("nimu", 2)]
COUNTIES += [("mozhugongka", 2), ("culture_park", 2), ("airport_zone", 2)]
BUYER_KINDS = [("enterprise", 70), ("government", 8), ("other_institution", 6), ("university", 4), ("institute", 4)]
BUYER_KINDS += [("individual", 4), ("social", 2), ("other", 2)]
SELLER_DIVISIONS = [("110108", 20), ("320102", 15), ("540100", 40), ("540000", 10), ("510104", 8), ("310115", 7)]
BUYER_DIVISIONS = ["540102", "540103", "540104", "540121", "540124", "540100", "110108", "320106", "510104"]
SELLER_KINDS = [("university", "university"), ("institute", "institute"), ("enterprise", "enterprise")]
SELLER_KINDS += [("aid_partner", "other_institution"), ("agency", "enterprise")]


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def setup_sqlite(tmp: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SEARCH_URL"):
        os.environ.pop(name, None)
    os.environ["VAR_DIR"] = str(tmp / "var")
    _setup_django(tmp)


def create_pg_database(url: str) -> str:
    import psycopg

    parts = urlparse(url)
    name = f"bench_stats_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parts._replace(path=f"/{name}"))


def drop_pg_database(admin_url: str, bench_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = urlparse(bench_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup_django(tmp: Path) -> None:
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["CONTRACTS_PRIVATE_ROOT"] = str(tmp / "private")
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings"
    os.environ["DEBUG"] = "false"  # no query log in memory while timing
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-for-stats")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# ---------------------------------------------------------------- data


def make_people():
    """Sellers (organisations on the platform), an officer; returns (sellers, officer)."""
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.accounts.models import Membership, Organisation, User
    from marketplace.contracts.vocab import region_code_of_credit_code

    rng = random.Random(7)
    bureau = Organisation.objects.create(
        name="拉萨市科学技术局(基准)",
        kind="bureau",
        region="tibet",
        credit_code=make_credit_code("11540100MB0000001"),
        verification="verified",
    )
    officer = User.objects.create_user("bench-officer", password="bench-pass-2026")
    Membership.objects.create(user=officer, organisation=bureau, role="owner")
    region_of = {"11": "beijing", "32": "jiangsu", "54": "tibet"}
    orgs, entities = [], []
    for i in range(300):
        division = weighted(rng, SELLER_DIVISIONS)
        kind, entity = rng.choice(SELLER_KINDS)
        entities.append(entity)
        orgs.append(
            Organisation(
                name=f"基准卖方机构{i:03d}",
                kind=kind,
                region=region_of.get(division[:2], "other"),
                credit_code=make_credit_code(f"12{division}MB{i:07d}"),
                verification="verified",
            )
        )
    Organisation.objects.bulk_create(orgs)
    sellers = [
        (o.pk, o.name, o.credit_code, region_code_of_credit_code(o.credit_code), entity)
        for o, entity in zip(orgs, entities, strict=True)
    ]
    return sellers, officer


def generate(n: int, years: list[int], sellers, officer_id: int):
    """Rows for contracts, versions and facts (column tuples), ids 1..n."""
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.stats.services import party_key

    rng = random.Random(2026)
    buyers = []
    for i in range(20_000):
        kind = weighted(rng, BUYER_KINDS)
        division = rng.choice(BUYER_DIVISIONS)
        code = "" if kind == "individual" else make_credit_code(f"91{division}MA{i:07d}")
        buyers.append((f"基准买方{i:05d}", code, division, kind))
    # More contracts in later years.
    year_weights = [(y, 1 + i) for i, y in enumerate(years)]
    now = datetime.datetime.now(datetime.UTC)
    serial: dict[int, int] = {}
    contracts, versions, facts = [], [], []
    for i in range(1, n + 1):
        year = weighted(rng, year_weights)
        signed = datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        seller_id, seller_name, seller_code, seller_division, seller_kind = rng.choice(sellers)
        buyer_name, buyer_code, buyer_division, buyer_kind = rng.choice(buyers)
        contract_cents = int(rng.lognormvariate(12.5, 1.3)) * 100 + rng.randrange(100)
        tech_cents = contract_cents if rng.random() < 0.7 else max(1, contract_cents * rng.randint(50, 99) // 100)
        contract_type, field, county = weighted(rng, TYPES), weighted(rng, FIELDS), weighted(rng, COUNTIES)
        serial[year] = serial.get(year, 0) + 1
        contracts.append((i, seller_id, f"540101{year}{serial[year]:06d}", i, officer_id, now))
        versions.append(
            (
                i,
                i,
                1,
                "registered",
                contract_type,
                f"基准技术合同{i}",
                seller_name,
                seller_code,
                seller_division,
                seller_kind,
                buyer_name,
                buyer_code,
                buyer_division,
                buyer_kind,
                county,
                f"{contract_cents / 100:.2f}",
                f"{tech_cents / 100:.2f}",
                signed,
                signed,
                signed + datetime.timedelta(days=365),
                "lump_sum",
                "[]",
                "",
                field,
                "patent",
                "",
                "",
                "",
                now,
                officer_id,
                now,
                officer_id,
                now,
            )
        )
        region = {"11": "beijing", "32": "jiangsu", "54": "tibet"}.get(seller_division[:2], "other")
        key = party_key(credit_code=buyer_code, name=buyer_name, kind=buyer_kind)
        facts.append(
            (
                i,
                i,
                i,
                signed,
                signed.year,
                signed.month,
                contract_type,
                field,
                county,
                region,
                buyer_kind,
                seller_code,
                seller_name,
                key,
                buyer_name,
                contract_cents,
                tech_cents,
            )
        )
    return contracts, versions, facts


CONTRACT_COLUMNS = ["id", "seller_organisation_id", "registration_number", "current_version_id", "created_by_id"]
CONTRACT_COLUMNS += ["created_at"]
VERSION_COLUMNS = [
    "id",
    "contract_id",
    "number",
    "status",
    "contract_type",
    "project_name",
    "seller_name",
    "seller_credit_code",
    "seller_region_code",
    "seller_kind",
    "buyer_name",
    "buyer_credit_code",
    "buyer_region_code",
    "buyer_kind",
    "county",
    "contract_amount",
    "tech_amount",
    "signed_on",
    "term_start",
    "term_end",
    "payment_mode",
    "payment_schedule",
    "payment_note",
    "field",
    "ip_kind",
    "scan",
    "scan_name",
    "returned_reason",
    "submitted_at",
    "reviewer_id",
    "registered_at",
    "registered_by_id",
    "created_at",
]
FACT_COLUMNS = [
    "id", "contract_id", "version_id", "signed_on", "year", "month", "contract_type", "field", "county",
    "seller_region", "buyer_kind", "seller_key", "seller_name", "buyer_key", "buyer_name", "contract_cents",
    "tech_cents",
]  # fmt: skip


ROLLUP_COLUMNS = ["year", "month", "dimension", "code", "label", "count", "contract_cents", "tech_cents"]
# Positions in a fact tuple: the rollup's dimensions, the parties (key, name), the amounts.
_DIMS = {"contract_type": 6, "field": 7, "county": 8, "seller_region": 9, "buyer_kind": 10}


def rollup(facts: list[tuple]) -> list[tuple]:
    """What stats.services keeps per registration, computed at once for the bulk load."""
    cells: dict[tuple, list] = {}
    for fact in facts:
        year, month, contract, tech = fact[4], fact[5], fact[15], fact[16]
        keys = [(d, fact[i], "") for d, i in _DIMS.items()]
        keys += [("seller", fact[11], fact[12]), ("buyer", fact[13], fact[14])]
        for m in (month, 0):
            for dimension, code, label in keys:
                cell = cells.setdefault((year, m, dimension, code), [label, 0, 0, 0])
                cell[0] = max(cell[0], label)
                cell[1] += 1
                cell[2] += contract
                cell[3] += tech
    return [(*key, *values) for key, values in cells.items()]


def insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(columns)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            for start in range(0, len(rows), 50_000):
                cursor.executemany(sql, rows[start : start + 50_000])


def load(n: int, years: list[int]) -> None:
    from django.db import connection, transaction

    from marketplace.stats.models import TurnoverFact

    sellers, officer = make_people()
    started = time.perf_counter()
    contracts, versions, facts = generate(n, years, sellers, officer.pk)
    generated = time.perf_counter() - started
    # A bulk load builds the covering indexes once, after the rows, as a data warehouse load would.
    with connection.schema_editor() as editor:
        for index in TurnoverFact._meta.indexes:
            editor.remove_index(TurnoverFact, index)
    with transaction.atomic():
        if connection.vendor == "sqlite":
            # Contracts point at their versions and back: check the keys at commit, not per row.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA defer_foreign_keys = ON")
        insert("contracts_contract", CONTRACT_COLUMNS, contracts)
        insert("contracts_contractversion", VERSION_COLUMNS, versions)
        insert("stats_turnoverfact", FACT_COLUMNS, facts)
        insert("stats_turnoverrollup", ROLLUP_COLUMNS, rollup(facts))
    with connection.schema_editor() as editor:
        for index in TurnoverFact._meta.indexes:
            editor.add_index(TurnoverFact, index)
    with connection.cursor() as cursor:
        # What autovacuum does in production: statistics, and the visibility map for index-only scans.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"generated {n} contracts in {generated:.1f} s, inserted in {time.perf_counter() - started - generated:.1f} s",
        file=sys.stderr,
    )
    return officer


# ---------------------------------------------------------------- timing


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (caches, first query plans)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(officer, year: int, runs: int) -> dict:
    from django.test import Client

    from marketplace.stats import selectors
    from marketplace.stats.selectors import TurnoverFilters

    client = Client()
    client.force_login(officer)

    def page():
        response = client.get(f"/stats/?year={year}")
        assert response.status_code == 200, response.status_code

    def api():
        response = client.get(f"/api/stats/turnover/?year={year}")
        assert response.status_code == 200, response.status_code
        return response

    body = api().json()
    filters = TurnoverFilters(year=year)
    filtered = TurnoverFilters(year=year, contract_type="service")
    fast = selectors.turnover_dashboard(filters=filters, include_parties=True)
    naive = selectors.turnover_dashboard_naive(filters=filters)
    # Both ways must give the same figures before their times mean anything.
    assert naive[""][""][0] == fast.total.count, (naive[""][""], fast.total)
    assert int(body["total"]["count"]) == fast.total.count
    return {
        "contracts_in_year": fast.total.count,
        "dashboard_ms": median_ms(page, runs),
        "api_ms": median_ms(api, runs),
        "selector_ms": median_ms(lambda: selectors.turnover_dashboard(filters=filters, include_parties=True), runs),
        "filtered_ms": median_ms(lambda: selectors.turnover_dashboard(filters=filtered, include_parties=True), runs),
        "naive_ms": median_ms(lambda: selectors.turnover_dashboard_naive(filters=filters), max(1, runs // 4)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 contracts on a temporary SQLite database")
    parser.add_argument("--contracts", type=int, help="override the number of contracts")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    args = parser.parse_args()
    n = args.contracts or (100_000 if args.quick else 1_000_000)
    this_year = datetime.date.today().year
    years = list(range(this_year - 5, this_year))  # five complete years

    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmpdir:
        tmp = Path(tmpdir)
        admin_url = bench_url = None
        if args.quick:
            setup_sqlite(tmp)
        else:
            admin_url = os.environ.get("DATABASE_URL", "")
            if not admin_url.startswith("postgres"):
                raise SystemExit('the full run needs PostgreSQL: eval "$(bash scripts/services.sh env)" first')
            bench_url = create_pg_database(admin_url)
            os.environ["DATABASE_URL"] = bench_url
            _setup_django(tmp)
        try:
            from django.db import connection

            officer = load(n, years)
            year = years[-1]  # the busiest year
            result = measure(officer, year, args.runs)
            db = connection.vendor
        finally:
            if bench_url:
                drop_pg_database(admin_url, bench_url)
    print(
        f"{result['contracts_in_year']} contracts in {year}, all breakdowns and top lists: dashboard selector "
        f"(pre-aggregated rollup) {result['selector_ms']:.1f} ms vs naive (ORM over the contract versions, one "
        f"aggregate per breakdown) {result['naive_ms']:.1f} ms = {result['naive_ms'] / result['selector_ms']:.0f}x; "
        f"with a dimension filter (fact table, covering indexes, "
        f"{'GROUPING SETS' if db == 'postgresql' else 'UNION ALL'}) {result['filtered_ms']:.1f} ms; "
        f"page {result['dashboard_ms']:.1f} ms, API {result['api_ms']:.1f} ms"
    )
    print(
        json.dumps(
            {
                "contracts": n,
                "db": db,
                "dashboard_ms": round(result["dashboard_ms"], 1),
                "api_ms": round(result["api_ms"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
