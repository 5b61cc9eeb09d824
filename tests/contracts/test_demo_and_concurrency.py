"""The demo contracts of load_demo; registration numbers under concurrent registrations (PostgreSQL)."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from marketplace.contracts import selectors as contract_selectors
from marketplace.contracts import services
from marketplace.contracts.models import Contract, ContractVersion
from marketplace.stats import selectors
from tests.contracts.helpers import draft


@pytest.mark.django_db
def test_load_demo_adds_contracts_in_every_state_once():
    call_command("load_demo", "--no-images", stdout=io.StringIO())
    statuses = sorted(ContractVersion.objects.values_list("status", flat=True))
    assert statuses.count("registered") == 8 and statuses.count("superseded") == 1
    assert {"draft", "submitted", "under_review", "returned"} <= set(statuses)
    assert contract_selectors.notices().count() == 2  # the institute and the university in review: 公示
    year = timezone.localdate().year
    dashboard = selectors.turnover_dashboard(filters=selectors.TurnoverFilters(year=year))
    assert dashboard.total.count > 0 and dashboard.target.gdp is not None

    out = io.StringIO()
    call_command("load_demo", "--no-images", stdout=out)
    assert "演示技术合同:12 项" in out.getvalue()
    assert Contract.objects.count() == 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_consecutive_numbers(company, company_seller, officer):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL (cluster profile)")
    contracts = [draft(organisation=company, by=company_seller, submit=True) for _ in range(8)]
    barrier = threading.Barrier(len(contracts))
    errors = []

    def approve(contract):
        try:
            barrier.wait()
            services.contract_approve(contract=contract, by=officer)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(c,)) for c in contracts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Contract.objects.values_list("registration_number", flat=True))
    year = timezone.localdate().year
    assert numbers == [f"540101{year}{n:06d}" for n in range(1, 9)]
