# The dashboard is tested on contracts made by the contracts' own fixtures (one definition of each).
from tests.contracts.conftest import (  # noqa: F401
    _private_root,
    client_for,
    company,
    company_seller,
    other_officer,
    second_officer,
)
