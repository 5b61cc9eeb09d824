"""Fixtures of the cluster backend's tests: a real OpenSearch node (SEARCH_URL), an index prefix per test.

Import what a test module needs: ``from tests.search.cluster import cluster, cluster_index  # noqa: F401``.
"""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

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


PROJECT = Path(__file__).resolve().parents[2]
LAUNCHER = PROJECT / "scripts" / "opensearch" / "target"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SpareNode:
    """A second, throw-away OpenSearch node on free ports (the launcher of scripts/services.sh).

    Unlike ``services.sh up``, a restart keeps the data: stopping it is an outage, not a wipe.
    """

    def __init__(self, home: Path, heap: str = "256m"):
        self.home = home
        self.heap = heap
        self.http_port = free_port()
        self.transport_port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = home / "node.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3):  # noqa: S310
                return True
        except (OSError, urllib.error.URLError):
            return False

    def start(self, timeout: float = 120) -> None:
        if not (LAUNCHER / ".built").exists():
            pytest.skip("the OpenSearch launcher is not built (bash scripts/services.sh up opensearch builds it)")
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            "java",
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Dfile.encoding=UTF-8",
            "-Djava.locale.providers=SPI,COMPAT",
            "-cp",
            f"{LAUNCHER / 'classes'}:{LAUNCHER / 'dependency'}/*",
            "marketplace.opensearch.Launcher",
            str(self.home / "node"),
            f"http.port={self.http_port}",
            f"transport.port={self.transport_port}",
            "node.name=spare",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the spare OpenSearch node did not start; see {self.log}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # the launcher's shutdown hook closes the node
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
