"""The few HTTP requests the cluster backend makes, one adapter per client library.

The backend builds every request body itself (elasticsearch-dsl); an adapter only carries it:
``OpenSearchTransport`` through opensearch-py, ``ElasticsearchTransport`` through the official
elasticsearch client (8.x: it talks to Elasticsearch 8 and, by REST compatibility, 9). Both send the
same method, path, query parameters and body bytes for every operation (tests/search/test_cluster_transport.py
proves it), and both turn their client's errors into ours:

- the engine cannot be reached, times out or answers 5xx/429 → ``SearchUnavailable``
  (pages fall back to the database, index updates are kept for replay);
- the engine refuses the request (4xx) → ``SearchError`` (``NotFound`` for 404).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from . import SearchError, SearchUnavailable

# The clients log every request, and a 404 (an alias that does not exist yet) as a warning: we raise
# what matters instead.
logging.getLogger("opensearch").setLevel(logging.ERROR)
logging.getLogger("elastic_transport.transport").setLevel(logging.ERROR)


# Writes (bulk loads, index creation, refreshes) may take long on a busy cluster; searches must not.
WRITE_TIMEOUT = 120


class NotFound(SearchError):
    """The index, alias or document does not exist."""


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def ndjson(lines: Iterable[Mapping[str, Any]]) -> str:
    return "".join(dumps(line) + "\n" for line in lines)


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe=",*-_.") for part in parts if part)


def _reason(body: Any, fallback: str) -> str:
    """The engine's own explanation, e.g. 'index_not_found_exception: no such index [x]'."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            cause = (error.get("root_cause") or [error])[0]
            return f"{cause.get('type', '')}: {cause.get('reason', '')}".strip(": ")
        if error:
            return str(error)
    return fallback


def _raise_for_status(status: int, body: Any, what: str) -> None:
    reason = _reason(body, f"HTTP {status}")
    if status == 404:
        raise NotFound(f"{what}: {reason}")
    if status == 429 or status >= 500:
        raise SearchUnavailable(f"{what}: HTTP {status} {reason}")
    raise SearchError(f"{what}: HTTP {status} {reason}")


class Transport:
    """Operations of the backend, each one request. Subclasses implement ``_send`` for their client."""

    name = "abstract"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """One request; ``timeout`` overrides the client's (searches) for slow writes such as bulk loads."""
        text = None if body is None else body if isinstance(body, str) else dumps(body)
        clean_params = {key: _param(value) for key, value in (params or {}).items() if value is not None}
        return self._send(method, path, clean_params, text, content_type, timeout)

    def _send(
        self, method: str, path: str, params: dict[str, str], body: str | None, content_type: str, timeout
    ) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection pool."""

    # --- cluster and indices ------------------------------------------------
    def info(self) -> dict:
        return self.request("GET", "/")

    def get_alias(self, name: str) -> dict[str, Any]:
        """{index: {"aliases": {...}}} for every index the alias (or an index pattern) names; {} if none."""
        try:
            return self.request("GET", _path("_alias", name))
        except NotFound:
            return {}

    def indices(self, pattern: str) -> dict[str, list[str]]:
        """{index: [alias, ...]} for the indices matching a name or wildcard pattern."""
        try:
            found = self.request("GET", _path(pattern, "_alias"))
        except NotFound:
            return {}
        return {index: sorted(entry.get("aliases", {})) for index, entry in found.items()}

    def create_index(self, name: str, body: Mapping[str, Any]) -> dict:
        return self.request("PUT", _path(name), body=body, timeout=WRITE_TIMEOUT)

    def delete_index(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.request("DELETE", _path(name), timeout=WRITE_TIMEOUT)

    def update_aliases(self, actions: list[dict]) -> dict:
        return self.request("POST", "/_aliases", body={"actions": actions}, timeout=WRITE_TIMEOUT)

    def put_settings(self, index: str, settings: Mapping[str, Any]) -> dict:
        return self.request("PUT", _path(index, "_settings"), body={"index": settings}, timeout=WRITE_TIMEOUT)

    def refresh(self, index: str) -> dict:
        return self.request("POST", _path(index, "_refresh"), timeout=WRITE_TIMEOUT)

    # --- documents ----------------------------------------------------------
    def bulk(
        self, lines: Iterable[Mapping[str, Any]], *, index: str = "", refresh: bool = False, require_alias: bool = False
    ) -> dict:
        params = {"refresh": "true" if refresh else None, "require_alias": "true" if require_alias else None}
        return self.request(
            "POST",
            _path(index, "_bulk"),
            params=params,
            body=ndjson(lines),
            content_type="application/x-ndjson",
            timeout=WRITE_TIMEOUT,
        )

    def delete_by_query(self, index: str, query: Mapping[str, Any], *, refresh: bool = False) -> dict:
        params = {"refresh": "true" if refresh else None, "conflicts": "proceed"}
        return self.request(
            "POST", _path(index, "_delete_by_query"), params=params, body={"query": query}, timeout=WRITE_TIMEOUT
        )

    # --- reads ----------------------------------------------------------------
    def search(self, index: str, body: Mapping[str, Any]) -> dict:
        return self.request("POST", _path(index, "_search"), body=body)

    def msearch(self, index: str, bodies: list[Mapping[str, Any]]) -> list[dict]:
        """Several searches of one index in one round trip; one answer per body, in order.

        A search the engine refused or could not run comes back as our error, as if sent alone."""
        lines = [line for body in bodies for line in ({}, body)]
        answer = self.request("POST", _path(index, "_msearch"), body=ndjson(lines), content_type="application/x-ndjson")
        responses = answer.get("responses", [])
        if len(responses) != len(bodies):
            raise SearchError(f"_msearch: {len(bodies)} searches sent, {len(responses)} answers")
        for response in responses:
            if "error" in response:
                _raise_for_status(int(response.get("status") or 500), response, f"POST {_path(index, '_msearch')}")
        return responses

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        body = {"query": query} if query else None
        return self.request("POST", _path(index, "_count"), body=body)["count"]

    def get_document(self, index: str, doc_id: str) -> dict | None:
        try:
            return self.request("GET", _path(index, "_doc", doc_id))
        except NotFound:
            return None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


class OpenSearchTransport(Transport):
    """opensearch-py (3.x) against OpenSearch 2.x/3.x."""

    name = "opensearch"

    def __init__(self, url: str, *, timeout: float = 10, client_options: Mapping[str, Any] | None = None):
        from opensearchpy import OpenSearch

        # One retry: a pooled connection to a node that restarted fails once; a refused one fails fast.
        options = {"timeout": timeout, "max_retries": 1, "retry_on_timeout": False, **(client_options or {})}
        self.client = OpenSearch(hosts=[url], **options)

    def _send(self, method, path, params, body, content_type, timeout) -> Any:
        from opensearchpy import exceptions

        headers = {"content-type": content_type} if body is not None else None
        try:
            return self.client.transport.perform_request(
                method, path, params=params or None, body=body, headers=headers, timeout=timeout
            )
        except exceptions.ConnectionError as error:  # includes timeouts
            raise SearchUnavailable(f"{method} {path}: {error.__class__.__name__}: {error.info}") from error
        except exceptions.TransportError as error:
            status = error.status_code if isinstance(error.status_code, int) else 503
            _raise_for_status(status, error.info, f"{method} {path}")
            raise

    def close(self) -> None:
        self.client.close()


class ElasticsearchTransport(Transport):
    """The official elasticsearch client (8.x) against Elasticsearch 8 and 9."""

    name = "elasticsearch"

    def __init__(self, url: str, *, timeout: float = 10, client_options: Mapping[str, Any] | None = None):
        from elasticsearch import Elasticsearch

        options = {"request_timeout": timeout, "max_retries": 1, "retry_on_timeout": False, **(client_options or {})}
        self.client = Elasticsearch(url, **options)

    def _send(self, method, path, params, body, content_type, timeout) -> Any:
        import elastic_transport
        from elasticsearch import ApiError

        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = content_type
        try:
            client = self.client if timeout is None else self.client.options(request_timeout=timeout)
            response = client.perform_request(
                method, path, params=params or None, headers=headers, body=None if body is None else body.encode()
            )
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as error:
            raise SearchUnavailable(f"{method} {path}: {error.__class__.__name__}: {error}") from error
        except ApiError as error:
            _raise_for_status(error.meta.status, error.body, f"{method} {path}")
            raise
        return response.body

    def close(self) -> None:
        self.client.close()


CLIENTS = {"opensearch": OpenSearchTransport, "elasticsearch": ElasticsearchTransport}


def transport_for(url: str, *, client: str = "opensearch", timeout: float = 10, client_options=None) -> Transport:
    try:
        cls = CLIENTS[client]
    except KeyError:
        raise ValueError(f"unknown search client {client!r} (known: {', '.join(CLIENTS)})") from None
    return cls(url, timeout=timeout, client_options=client_options)
