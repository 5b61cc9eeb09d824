"""Fixtures of the cluster backend's tests: a real OpenSearch node (SEARCH_URL), an index prefix per test.

Import what a test module needs: ``from tests.search.cluster import cluster, cluster_index  # noqa: F401``.
"""

import os
import uuid

import haystack
import pytest

SEARCH_URL = os.environ.get("SEARCH_URL", "").rstrip("/")
ENGINE = "search.backends.opensearch.OpenSearchEngine"

#: Marks a module's tests: they need the node, and say so when it is not there.
needs_node = [
    pytest.mark.opensearch,
    pytest.mark.skipif(
        not SEARCH_URL, reason="SEARCH_URL is not set: no OpenSearch node (bash scripts/services.sh up opensearch)"
    ),
]


def connection(prefix: str, url: str = SEARCH_URL, **options) -> dict:
    return {"ENGINE": ENGINE, "URL": url, "INDEX_PREFIX": prefix, "INCLUDE_SPELLING": True, **options}


def use_connection(settings, conn: dict):
    """Point haystack's default connection at ``conn`` (haystack caches engines per thread)."""
    settings.HAYSTACK_CONNECTIONS = {**settings.HAYSTACK_CONNECTIONS, "default": conn}
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    return haystack.connections.reload("default").get_backend()


@pytest.fixture
def cluster_index(settings):
    """The default haystack connection on an index alias of its own, dropped after the test."""
    original = haystack.connections.connections_info
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    backend = use_connection(settings, connection(prefix))
    backend.setup()
    yield backend
    try:
        backend.transport.delete_index(f"{prefix}-*")
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")
