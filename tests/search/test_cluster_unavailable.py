"""With no engine at its address, every operation of the cluster backend says so: SearchUnavailable.

Nothing fails silently (haystack's SILENTLY_FAIL is not used): the page falls back to the database
and the index pipeline keeps the update only because the backend raises. Needs no node: the address
is a loopback port nobody listens on, so it runs on both profiles.
"""

import io
import socket

import haystack
import pytest
from django.core.management import CommandError, call_command
from haystack.query import SearchQuerySet

from search.backends import SearchUnavailable
from search.search_indexes import TechnologyIndex
from tests.factories import TechnologyFactory
from tests.search.cluster import connection, use_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def nowhere(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    original = haystack.connections.connections_info
    backend = use_connection(settings, connection("nowhere", url=f"http://127.0.0.1:{port}"))
    yield backend
    haystack.connections.connections_info = original
    haystack.connections.reload("default")


@pytest.mark.parametrize(
    "operation",
    [
        lambda backend, tech: backend.update(TechnologyIndex(), [tech]),
        lambda backend, tech: backend.remove(tech),
        lambda backend, tech: backend.clear(),
        lambda backend, tech: backend.reindex(),
        lambda backend, tech: SearchQuerySet().auto_query("光伏").facet("tags").count(),
        lambda backend, tech: list(SearchQuerySet().autocomplete(title_auto="光伏")),
        lambda backend, tech: SearchQuerySet().auto_query("光服").spelling_suggestion(),
        lambda backend, tech: list(SearchQuerySet().more_like_this(tech)),
    ],
    ids=["update", "remove", "clear", "reindex", "search", "autocomplete", "suggestion", "more_like_this"],
)
def test_every_operation_raises_unavailable(nowhere, operation):
    tech = TechnologyFactory(title="高原光伏电站智能运维技术")
    with pytest.raises(SearchUnavailable, match="ConnectionError"):
        operation(nowhere, tech)


def test_the_reindex_command_says_nothing_was_changed(nowhere):
    with pytest.raises(CommandError, match="检索引擎不可用,未做任何改动"):
        call_command("search_reindex", stdout=io.StringIO(), stderr=io.StringIO())
