"""Fixtures of the embedded engine's tests: a tantivy index in a temporary folder per test.

tests/search/conftest.py makes ``embedded_index`` available to every module under tests/search;
and mark the module ``pytestmark = [pytest.mark.search_index, ...]``.
"""

import haystack
import pytest

ENGINE = "search.backends.embedded.EmbeddedEngine"


@pytest.fixture
def embedded_index(settings, tmp_path):
    """The default haystack connection on a fresh embedded index, dropped after the test."""
    original = haystack.connections.connections_info
    settings.HAYSTACK_CONNECTIONS = {
        **settings.HAYSTACK_CONNECTIONS,
        "default": {"ENGINE": ENGINE, "PATH": str(tmp_path / "index")},
    }
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    backend = haystack.connections.reload("default").get_backend()
    backend.setup()
    yield backend
    try:
        backend.destroy()
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")
