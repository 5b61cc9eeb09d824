import pytest
from django.conf import settings

from tests.factories import OrganisationFactory, bureau_officer, member_of


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def university(db):
    return OrganisationFactory(name="西藏大学测试", kind="university", region="tibet")


@pytest.fixture
def seller(university):
    """An owner of a verified university."""
    return member_of(university, username="seller")


@pytest.fixture
def enterprise(db):
    return OrganisationFactory(name="拉萨净土食品有限公司", kind="enterprise", region="tibet")


@pytest.fixture
def buyer(enterprise):
    return member_of(enterprise, username="buyer")


@pytest.fixture
def officer(db):
    return bureau_officer(username="officer")


def pytest_report_header(config):
    return f"profile: {settings.PROFILE} — database {settings.DATABASES['default']['ENGINE']}"
