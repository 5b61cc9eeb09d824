"""The transport adapter sends the same requests through opensearch-py and through the elasticsearch client.

No Elasticsearch server here: a small HTTP server on loopback records what each client puts on the wire
and answers like an engine would (Elasticsearch's product header included, which its client checks).
Runs on both profiles: it needs no search node.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from search.backends import SearchError, SearchUnavailable
from search.backends.transport import ElasticsearchTransport, NotFound, OpenSearchTransport, transport_for

GENERIC = {
    "acknowledged": True,
    "count": 3,
    "errors": False,
    "items": [],
    "took": 1,
    "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
}
STATUS_PATHS = {
    "/marketplace-listings-*/_alias": (200, {"marketplace-listings-1": {"aliases": {"marketplace-listings": {}}}}),
    "/_alias/nothing": (404, {"error": "alias [nothing] missing", "status": 404}),
    "/missing": (404, {"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index"}]}}),
    "/refused/_search": (400, {"error": {"root_cause": [{"type": "parsing_exception", "reason": "unknown query"}]}}),
    "/busy/_search": (503, {"error": {"root_cause": [{"type": "cluster_block_exception", "reason": "not ready"}]}}),
    "/throttled/_bulk": (429, {"error": "too many requests"}),
    "/marketplace-listings/_msearch": (200, {"responses": [GENERIC, GENERIC]}),
    "/refused/_msearch": (
        200,
        {
            "responses": [
                GENERIC,
                {"error": {"root_cause": [{"type": "parsing_exception", "reason": "no"}]}, "status": 400},
            ]
        },
    ),
    "/busy/_msearch": (200, {"responses": [{"error": {"type": "es_rejected_execution_exception"}, "status": 429}]}),
}


class Recorder(BaseHTTPRequestHandler):
    requests: list  # set per server

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self.server.requests.append(
            {
                "method": self.command,
                "path": url.path,
                "params": sorted(parse_qsl(url.query)),
                # A client may name a content type on a request without a body: that says nothing.
                "content_type": _base_mimetype(self.headers.get("content-type")) if body else None,
                "body": body,
            }
        )
        if url.path == "/slow/_search":
            time.sleep(1.5)
        status, payload = STATUS_PATHS.get(url.path, (200, GENERIC))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-elastic-product", "Elasticsearch")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args):
        pass


def _base_mimetype(value):
    """application/vnd.elasticsearch+x-ndjson; compatible-with=8 → application/x-ndjson."""
    if not value:
        return None
    mimetype = value.split(";")[0].strip().lower()
    return mimetype.replace("vnd.elasticsearch+", "")


@pytest.fixture
def engine():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


OPERATIONS = [
    ("info", lambda t: t.info()),
    ("get_alias", lambda t: t.get_alias("marketplace-listings")),
    ("indices", lambda t: t.indices("marketplace-listings-*")),
    (
        "create_index",
        lambda t: t.create_index(
            "marketplace-listings-1",
            {
                "settings": {"index": {"number_of_shards": 1}},
                "mappings": {"properties": {"field": {"type": "keyword"}}},
            },
        ),
    ),
    ("delete_index", lambda t: t.delete_index("marketplace-listings-1")),
    (
        "update_aliases",
        lambda t: t.update_aliases([{"add": {"index": "marketplace-listings-2", "alias": "marketplace-listings"}}]),
    ),
    ("put_settings", lambda t: t.put_settings("marketplace-listings-2", {"refresh_interval": "1s"})),
    ("refresh", lambda t: t.refresh("marketplace-listings-2")),
    (
        "bulk",
        lambda t: t.bulk(
            [
                {"index": {"_index": "marketplace-listings", "_id": "listings.technology.1"}},
                {"title": "高原光伏电站", "text": "高原 光伏 电站", "price": 800000.0},
                {"delete": {"_index": "marketplace-listings", "_id": "listings.technology.2"}},
            ],
            refresh=True,
            require_alias=True,
        ),
    ),
    ("delete_by_query", lambda t: t.delete_by_query("marketplace-listings", {"match_all": {}}, refresh=True)),
    (
        "search",
        lambda t: t.search(
            "marketplace-listings",
            {"query": {"match": {"text": "光伏"}}, "aggs": {"field": {"terms": {"field": "field"}}}, "size": 20},
        ),
    ),
    (
        "msearch",
        lambda t: t.msearch(
            "marketplace-listings",
            [{"query": {"match": {"text": "光伏"}}, "size": 20}, {"query": {"match_all": {}}, "size": 0}],
        ),
    ),
    ("count", lambda t: t.count("marketplace-listings", {"term": {"kind": "technology"}})),
    ("get_document", lambda t: t.get_document("marketplace-listings", "listings.technology.1")),
]


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _op in OPERATIONS])
def test_both_clients_send_the_same_request(engine, name, operation):
    for client in ("opensearch", "elasticsearch"):
        transport = transport_for(url_of(engine), client=client)
        try:
            operation(transport)
        finally:
            transport.close()
    opensearch, elasticsearch = engine.requests
    assert opensearch == elasticsearch
    assert opensearch["path"].startswith("/")


def test_the_request_is_what_the_backend_built(engine):
    transport = OpenSearchTransport(url_of(engine))
    lines = [{"index": {"_index": "a", "_id": "1"}}, {"text": "光伏 电站"}]
    transport.bulk(lines, refresh=True, require_alias=True)
    (request,) = engine.requests
    assert request["method"] == "POST"
    assert request["path"] == "/_bulk"
    assert request["params"] == [("refresh", "true"), ("require_alias", "true")]
    assert request["content_type"] == "application/x-ndjson"
    assert [json.loads(line) for line in request["body"].decode().splitlines()] == lines
    assert request["body"].endswith(b"\n")
    assert "光伏".encode() in request["body"]  # UTF-8, not \\u escapes


@pytest.mark.parametrize("cls", [OpenSearchTransport, ElasticsearchTransport])
def test_both_clients_turn_engine_answers_into_our_errors(engine, cls):
    transport = cls(url_of(engine))
    with pytest.raises(NotFound):
        transport.request("GET", "/missing")
    assert transport.get_alias("nothing") == {}  # a 404 on _alias means "no such alias", not an error
    with pytest.raises(SearchError, match="parsing_exception: unknown query") as refused:
        transport.search("refused", {"query": {"nonsense": {}}})
    assert not isinstance(refused.value, SearchUnavailable)
    with pytest.raises(SearchUnavailable, match="503"):
        transport.search("busy", {"query": {"match_all": {}}})
    with pytest.raises(SearchUnavailable, match="429"):
        transport.request("POST", "/throttled/_bulk", body="{}\n", content_type="application/x-ndjson")


@pytest.mark.parametrize("cls", [OpenSearchTransport, ElasticsearchTransport])
def test_a_search_of_a_multi_search_that_fails_is_our_error(engine, cls):
    transport = cls(url_of(engine))
    body = {"query": {"match_all": {}}}
    assert len(transport.msearch("marketplace-listings", [body, body])) == 2
    with pytest.raises(SearchError, match="parsing_exception"):
        transport.msearch("refused", [body, body])
    with pytest.raises(SearchUnavailable, match="429"):
        transport.msearch("busy", [body])
    with pytest.raises(SearchError, match="2 searches sent, 1 answers"):
        transport.msearch("busy", [body, body])
    request = engine.requests[0]
    assert request["content_type"] == "application/x-ndjson"
    assert request["body"].decode().splitlines() == ["{}", '{"query":{"match_all":{}}}'] * 2


@pytest.mark.parametrize("client", ["opensearch", "elasticsearch"])
def test_an_engine_that_does_not_answer_is_unavailable(client):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = transport_for(f"http://127.0.0.1:{port}", client=client, timeout=2)
    with pytest.raises(SearchUnavailable, match="GET /"):
        transport.info()


@pytest.mark.parametrize("client", ["opensearch", "elasticsearch"])
def test_an_engine_that_answers_too_slowly_is_unavailable(engine, client):
    transport = transport_for(url_of(engine), client=client, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SearchUnavailable, match="POST /slow/_search"):
        transport.search("slow", {"query": {"match_all": {}}})
    assert time.monotonic() - started < 1.2  # gave up, did not wait for the answer (nor retry)


def test_an_unknown_client_is_refused():
    with pytest.raises(ValueError, match="unknown search client 'solr'"):
        transport_for("http://127.0.0.1:1", client="solr")


def test_the_backend_sends_the_same_bodies_through_either_client(engine, settings):
    """A faceted, filtered, highlighted, sorted search and an update, as the site makes them."""
    import haystack
    from haystack.query import SearchQuerySet

    from tests.search.cluster import connection, use_connection

    original = haystack.connections.connections_info
    sent = {}
    try:
        for client in ("opensearch", "elasticsearch"):
            engine.requests.clear()
            backend = use_connection(settings, connection("same", url=url_of(engine), CLIENT=client))
            assert backend.transport.name == client
            sqs = SearchQuerySet().auto_query("光伏 电站").filter(region="beijing").facet("tags").facet("field")
            list(sqs.order_by("-published_at").highlight()[0:20])
            backend.remove("listings.technology.7")
            sent[client] = list(engine.requests)
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")
    assert sent["opensearch"] == sent["elasticsearch"]
    search = next(r for r in sent["opensearch"] if r["path"] == "/same-listings/_search")
    body = json.loads(search["body"])
    assert body["aggs"]["tags_exact"] == {"terms": {"field": "tags_exact", "size": 200}}
    assert body["sort"] == [{"published_at": {"order": "desc", "missing": "_last"}}]
    assert '{"term": {"region": "beijing"}}' in json.dumps(body["query"])
    assert set(body["highlight"]["fields"]) == {"title", "summary"}
