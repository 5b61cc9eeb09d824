"""Haystack backends of the project.

- ``embedded``: the default engine, tantivy behind a haystack backend (search/backends/embedded.py).
- ``whoosh_cn``: stock haystack + Whoosh with jieba's ChineseAnalyzer, kept as the peer the
  benchmark compares against (connection alias "whoosh").
- ``opensearch``: the cluster backend (OpenSearch / Elasticsearch), used when SEARCH_URL is set.
"""


class SearchUnavailable(Exception):
    """The engine cannot be reached or cannot answer right now (connection refused, timeout, 5xx).

    Every backend raises it instead of failing silently: the selectors fall back to a database search,
    and the index pipeline keeps the update as a PendingIndexOp to replay later.
    """


class SearchError(Exception):
    """The engine answered but refused the request (a bug in the request, not an outage)."""
