import pytest
from rest_framework.test import APIClient


@pytest.fixture
def client_for():
    """client_for(user) gives an APIClient authenticated as user; client_for(None) an anonymous one."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def anon(client_for):
    return client_for(None)
