"""Smoke test of the development OpenSearch node (scripts/services.sh up opensearch).

Skipped unless SEARCH_URL is set: `make test` runs it in the cluster profile (the node is in
services.sh's default set), the embedded profile skips it. By hand:

    bash scripts/services.sh up opensearch
    SEARCH_URL=http://127.0.0.1:59200 .venv/bin/python -m pytest -q tests/search

Talks plain HTTP with the standard library: what it checks is the node (version, the
analysis-common filters, aggregations, highlighting, aliases), not a client library.
"""

import json
import os
import urllib.error
import urllib.request
import uuid

import pytest

SEARCH_URL = os.environ.get("SEARCH_URL", "").rstrip("/")

pytestmark = [
    pytest.mark.opensearch,
    pytest.mark.skipif(not SEARCH_URL, reason="SEARCH_URL is not set (bash scripts/services.sh up opensearch)"),
]

# Pre-segmented the way the jieba analysis will hand text over: words separated by spaces.
DOCS = [
    {"id": "1", "title": "高原 光伏 电站 智能 运维 技术", "field": "新能源与高效节能", "tags": ["清洁能源"]},
    {"id": "2", "title": "太阳能发电 储能 一体化 系统", "field": "新能源与高效节能", "tags": ["清洁能源"]},
    {"id": "3", "title": "牦牛 肉 冷链 物流 保鲜 技术", "field": "农业", "tags": ["农牧业", "净土健康"]},
]


def call(method, path, body=None, ndjson=False):
    data = None
    headers = {}
    if body is not None:
        if ndjson:
            data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in body).encode()
            headers["Content-Type"] = "application/x-ndjson"
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(SEARCH_URL + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: HTTP {error.code} {error.read().decode()}") from None


@pytest.fixture
def index():
    name = f"test-smoke-{uuid.uuid4().hex[:8]}"
    call(
        "PUT",
        f"/{name}",
        {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "analysis": {
                    "filter": {
                        "zh_synonyms": {"type": "synonym_graph", "synonyms": ["光伏, 太阳能发电", "冷链, 冷藏运输"]},
                        "zh_parts": {"type": "word_delimiter_graph", "preserve_original": True},
                    },
                    "analyzer": {
                        "zh_index": {"type": "custom", "tokenizer": "whitespace", "filter": ["zh_parts", "lowercase"]},
                        "zh_search": {
                            "type": "custom",
                            "tokenizer": "whitespace",
                            "filter": ["lowercase", "zh_synonyms"],
                        },
                    },
                },
            },
            "mappings": {
                "properties": {
                    "title": {"type": "text", "analyzer": "zh_index", "search_analyzer": "zh_search"},
                    "field": {"type": "keyword"},
                    "tags": {"type": "keyword"},
                }
            },
        },
    )
    bulk = []
    for doc in DOCS:
        bulk.append({"index": {"_index": name, "_id": doc["id"]}})
        bulk.append({k: v for k, v in doc.items() if k != "id"})
    result = call("POST", "/_bulk?refresh=true", bulk, ndjson=True)
    assert not result["errors"], result
    yield name
    call("DELETE", f"/{name}")


def ids(result):
    return sorted(hit["_id"] for hit in result["hits"]["hits"])


def test_the_node_answers_with_its_version():
    info = call("GET", "/")
    assert info["cluster_name"] == "marketplace-test"
    assert info["version"]["number"].startswith("2.19.")
    assert call("GET", "/_cluster/health?wait_for_status=yellow&timeout=10s")["status"] in {"green", "yellow"}


def test_a_synonym_finds_both_spellings_with_highlighting(index):
    for query in ("光伏", "太阳能发电"):
        result = call(
            "POST",
            f"/{index}/_search",
            {"query": {"match": {"title": query}}, "highlight": {"fields": {"title": {}}}},
        )
        assert ids(result) == ["1", "2"], query
        highlighted = {hit["_id"]: hit["highlight"]["title"][0] for hit in result["hits"]["hits"]}
        assert "<em>光伏</em>" in highlighted["1"]
        assert "<em>太阳能发电</em>" in highlighted["2"]

    assert ids(call("POST", f"/{index}/_search", {"query": {"match": {"title": "冷藏运输"}}})) == ["3"]


def test_the_custom_analyzer_uses_analysis_common_filters(index):
    tokens = call("POST", f"/{index}/_analyze", {"analyzer": "zh_index", "text": "光伏 组件 PV-200"})["tokens"]
    assert [t["token"] for t in tokens] == ["光伏", "组件", "pv-200", "pv", "200"]


def test_terms_aggregation_counts_fields_and_tags(index):
    result = call(
        "POST",
        f"/{index}/_search",
        {"size": 0, "aggs": {"field": {"terms": {"field": "field"}}, "tags": {"terms": {"field": "tags"}}}},
    )
    fields = {b["key"]: b["doc_count"] for b in result["aggregations"]["field"]["buckets"]}
    tags = {b["key"]: b["doc_count"] for b in result["aggregations"]["tags"]["buckets"]}
    assert fields == {"新能源与高效节能": 2, "农业": 1}
    assert tags == {"清洁能源": 2, "农牧业": 1, "净土健康": 1}


def test_an_alias_swaps_atomically_between_indexes(index):
    alias = f"{index}-alias"
    other = f"{index}-next"
    call("PUT", f"/{other}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    try:
        call("POST", "/_aliases", {"actions": [{"add": {"index": index, "alias": alias}}]})
        assert call("POST", f"/{alias}/_count")["count"] == 3
        call(
            "POST",
            "/_aliases",
            {"actions": [{"remove": {"index": index, "alias": alias}}, {"add": {"index": other, "alias": alias}}]},
        )
        assert call("POST", f"/{alias}/_count")["count"] == 0
        assert list(call("GET", f"/_alias/{alias}")) == [other]
    finally:
        call("DELETE", f"/{other}")


def test_the_extra_modules_are_loaded(index):
    """painless (with analysis-common's allowlist), reindex and mapper-extras, as in the distribution."""
    tokens = call(
        "POST",
        "/_analyze",
        {
            "tokenizer": "whitespace",
            "filter": [{"type": "predicate_token_filter", "script": {"source": "token.term.length() > 1"}}],
            "text": "光伏 a 组件",
        },
    )["tokens"]
    assert [t["token"] for t in tokens] == ["光伏", "组件"]

    scored = call(
        "POST",
        f"/{index}/_search",
        {"query": {"script_score": {"query": {"match_all": {}}, "script": {"source": "params.k", "params": {"k": 2}}}}},
    )
    assert {hit["_score"] for hit in scored["hits"]["hits"]} == {2.0}

    mapped = f"{index}-extras"
    call("PUT", f"/{mapped}", {"mappings": {"properties": {"price": {"type": "scaled_float", "scaling_factor": 100}}}})
    call("DELETE", f"/{mapped}")

    deleted = call("POST", f"/{index}/_delete_by_query?refresh=true", {"query": {"term": {"field": "农业"}}})
    assert deleted["deleted"] == 1
    assert call("POST", f"/{index}/_count")["count"] == 2
