"""Fixtures of the search page, API and quality tests (helper "search-ui").

``search_index`` gives the default haystack connection a fresh index of its own — the embedded engine
in a temporary folder, or, when SEARCH_URL is set (the cluster profile), an index prefix of its own on
the real OpenSearch node — and drops it afterwards. ``search_index.refresh()`` indexes every public
listing of the test database. ``engine_down`` points the default connection at a search cluster that
is not there (a closed port on 127.0.0.1): every query fails for real, as in an outage.

Import them in a test module:
``from tests.search.ui_support import engine_down_fixture, search_index_fixture  # noqa: F401``.
"""

import uuid

import haystack
import pytest

from tests.search.cluster import SEARCH_URL, connection, use_connection
from tests.search.embedded import ENGINE as EMBEDDED_ENGINE

# Nothing listens on the discard port: connections are refused at once.
UNREACHABLE_URL = "http://127.0.0.1:9"


class Index:
    def __init__(self, backend, profile: str):
        self.backend = backend
        self.profile = profile

    def refresh(self) -> None:
        """Index every public listing, as a rebuild would (and nothing else)."""
        self.backend.clear()
        unified = haystack.connections["default"].get_unified_index()
        for index in unified.get_indexes().values():
            objects = list(index.index_queryset())
            if objects:
                self.backend.update(index, objects)


@pytest.fixture(name="search_index")
def search_index_fixture(settings, tmp_path):
    original = haystack.connections.connections_info
    if SEARCH_URL:
        prefix = f"test-ui-{uuid.uuid4().hex[:10]}"
        backend = use_connection(settings, connection(prefix))
        profile = "cluster"
    else:
        backend = use_connection(settings, {"ENGINE": EMBEDDED_ENGINE, "PATH": str(tmp_path / "index")})
        profile = "embedded"
    backend.setup()
    yield Index(backend, profile)
    try:
        if profile == "cluster":
            backend.transport.delete_index(f"{prefix}-*")
        else:
            backend.destroy()
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")


@pytest.fixture(name="engine_down")
def engine_down_fixture(settings):
    original = haystack.connections.connections_info
    use_connection(settings, connection("test-ui-down", url=UNREACHABLE_URL))
    yield
    haystack.connections.connections_info = original
    haystack.connections.reload("default")
