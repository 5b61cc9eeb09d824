"""Haystack backends of the project.

- ``embedded``: the default engine, tantivy behind a haystack backend (search/backends/embedded.py).
- ``whoosh_cn``: stock haystack + Whoosh with jieba's ChineseAnalyzer, kept as the peer the
  benchmark compares against (connection alias "whoosh").
- ``opensearch``: the cluster backend (OpenSearch / Elasticsearch), used when SEARCH_URL is set.
"""
