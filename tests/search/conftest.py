from tests.search.cluster import cluster_index  # noqa: F401
from tests.search.embedded import embedded_index  # noqa: F401


def pytest_configure(config):
    config.addinivalue_line("markers", "search_index: creates and drops a search index around each test")
