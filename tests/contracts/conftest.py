import pytest

from marketplace.accounts.creditcode import make_credit_code
from tests.factories import OrganisationFactory, bureau_officer, member_of


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.CONTRACTS_PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def second_officer(officer):
    """Another officer of the same bureau (a second reviewer)."""
    bureau = officer.memberships.get().organisation
    return member_of(bureau, username="officer2")


@pytest.fixture
def company(db):
    """A seller that is not state-funded (no 公示)."""
    return OrganisationFactory(
        name="苏州绿能高原新能源科技有限公司",
        kind="enterprise",
        region="jiangsu",
        credit_code=make_credit_code("91320571MA1X00001"),
    )


@pytest.fixture
def company_seller(company):
    return member_of(company, username="company_seller")


@pytest.fixture
def other_officer(db):
    return bureau_officer(username="officer3")


@pytest.fixture
def client_for():
    """client_for(user) gives an APIClient authenticated as user; client_for(None) an anonymous one."""
    from rest_framework.test import APIClient

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
