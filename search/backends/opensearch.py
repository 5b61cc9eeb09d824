"""The cluster backend: haystack on OpenSearch 2.x (opensearch-py) or Elasticsearch 8/9 (elasticsearch client).

Haystack ships no backend for current engines, so this is ours. Every request body — index settings,
analysis, mappings, queries, aggregations, highlight, suggest, sort, more_like_this — is built with
elasticsearch-dsl (``elasticsearch.dsl``, the maintained home of elasticsearch-dsl) and carried by
``search.backends.transport`` (the same bodies through either client).

Chinese is segmented in Python by ``search.analysis`` for both backends: documents arrive pre-analysed
(``text`` holds space-separated words), so the engine only splits on whitespace, lower-cases and, at
search time, expands synonyms with a ``synonym_graph`` filter built from ``analysis.synonym_groups()``.

The site searches an alias, ``<INDEX_PREFIX>-<INDEX_NAME>`` (``marketplace-listings``). ``reindex()``
(commands ``search_reindex`` and ``rebuild_index``) writes a new timestamped index in chunks, then swaps
the alias atomically and deletes the old index: searches never see an empty or half-built index. While a
new index is being built, live updates go to both (the new index carries a second alias, ``…-next``).

Errors: an unreachable engine raises ``SearchUnavailable`` from every operation, never fails silently:
the selectors fall back to the database and the index pipeline keeps the update for replay.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import haystack
import haystack.exceptions
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from elasticsearch import dsl
from elasticsearch.dsl import Q
from haystack.backends import (
    SPELLING_SUGGESTION_HAS_NOT_RUN,
    BaseEngine,
    BaseSearchBackend,
    BaseSearchQuery,
    SearchNode,
    log_query,
)
from haystack.constants import DEFAULT_ALIAS, DJANGO_CT, DJANGO_ID, ID
from haystack.exceptions import MoreLikeThisError, SkipDocument
from haystack.inputs import BaseInput
from haystack.models import SearchResult
from haystack.utils import get_identifier, get_model_ct
from haystack.utils.app_loading import haystack_get_model

from .. import analysis
from . import SearchError, SearchUnavailable
from .spelling import MAX_WINDOW, Suggester
from .transport import NotFound, Transport, transport_for

log = logging.getLogger(__name__)

# Analysis: the text arrives segmented by search.analysis; the engine splits on spaces only.
ZH_INDEX = "zh_index"
ZH_SEARCH = "zh_search"
ZH_AUTOCOMPLETE = "zh_autocomplete"
ZH_AUTOCOMPLETE_SEARCH = "zh_autocomplete_search"
# Stored display text (titles, summaries) for highlighting: standard tokenizer = one token per Han
# character, so a highlighted word is a run of characters, merged back into one <em> afterwards.
DISPLAY = "zh_display"
HIGHLIGHT_PRE, HIGHLIGHT_POST = "<em>", "</em>"
MAX_RESULT_WINDOW = 10_000
PARTS_WEIGHT = 0.6
# Typed prefixes longer than this match nothing (titles are matched by their first 20 characters).
AUTOCOMPLETE_MAX_PREFIX = 20
# Below this many hits a search also asks for a "did you mean" (as the embedded engine does).
SUGGESTION_MIN_HITS = 3
FACET_SIZE = 200
SNIPPET_CHARS = 120


def synonym_rules() -> list[str]:
    """Solr-format synonym lines for the synonym_graph filter: members as search.analysis normalises them."""
    rules = []
    for group in analysis.synonym_groups():
        members = [m for m in dict.fromkeys(" ".join(m.split()) for m in group) if m and "," not in m]
        if len(members) >= 2:
            rules.append(", ".join(members))
    return rules


def analysis_settings() -> dict:
    """settings.analysis of every index, built with elasticsearch-dsl."""
    synonyms = dsl.token_filter("zh_synonyms", "synonym_graph", synonyms=synonym_rules(), lenient=True)
    prefixes = dsl.token_filter("zh_prefixes", "edge_ngram", min_gram=1, max_gram=AUTOCOMPLETE_MAX_PREFIX)
    analyzers = [
        dsl.analyzer(ZH_INDEX, tokenizer="whitespace", filter=["lowercase"]),
        dsl.analyzer(ZH_SEARCH, tokenizer="whitespace", filter=["lowercase", synonyms]),
        dsl.analyzer(ZH_AUTOCOMPLETE, tokenizer="whitespace", filter=["lowercase", prefixes]),
        dsl.analyzer(ZH_AUTOCOMPLETE_SEARCH, tokenizer="whitespace", filter=["lowercase"]),
        dsl.analyzer(DISPLAY, tokenizer="standard", filter=["lowercase"]),
    ]
    index = dsl.Index("_")
    for item in analyzers:
        index.analyzer(item)
    return index.to_dict()["settings"]["analysis"]


def field_mapping(field) -> tuple[str, dict]:
    """(type, options) of one haystack field."""
    kind = field.field_type
    if field.document:
        # Bag of words: BM25 needs frequencies, nothing here asks for positions (no phrase queries).
        return "text", {"analyzer": ZH_INDEX, "search_analyzer": ZH_SEARCH, "index_options": "freqs"}
    if kind in ("edge_ngram", "ngram"):
        # Prefixes only filter (autocomplete): no frequencies, positions or norms to keep.
        return "text", {
            "analyzer": ZH_AUTOCOMPLETE,
            "search_analyzer": ZH_AUTOCOMPLETE_SEARCH,
            "index_options": "docs",
            "norms": False,
        }
    if kind == "string":
        if field.indexed is False and not field.faceted and not getattr(field, "facet_for", None):
            # Stored for display (title, summary): highlightable (positions), never scored, sortable by .exact.
            return "text", {
                "analyzer": DISPLAY,
                "norms": False,
                "fields": {"exact": {"type": "keyword", "ignore_above": 512}},
            }
        return "keyword", {}  # facets and codes are never tokenised
    simple = {
        "integer": "long",
        "long": "long",
        "float": "double",
        "decimal": "double",
        "boolean": "boolean",
        "date": "date",
        "datetime": "date",
        "location": "geo_point",
    }
    return simple.get(kind, "keyword"), {}


class OpenSearchSearchBackend(BaseSearchBackend):
    # Queries are built as structured JSON, never as query strings: nothing to escape.
    RESERVED_WORDS = ()
    RESERVED_CHARACTERS = ()

    def __init__(self, connection_alias, **options):
        super().__init__(connection_alias, **options)
        if not options.get("URL"):
            raise ImproperlyConfigured(f"HAYSTACK_CONNECTIONS[{connection_alias!r}] needs a URL")
        self.url = options["URL"]
        self.client_name = options.get("CLIENT") or getattr(settings, "SEARCH_CLIENT", "opensearch")
        self.client_options = options.get("KWARGS", {})
        self.prefix = options.get("INDEX_PREFIX") or getattr(settings, "SEARCH_INDEX_PREFIX", "marketplace")
        self.alias = f"{self.prefix}-{options.get('INDEX_NAME', 'listings')}"
        self.next_alias = f"{self.alias}-next"
        self.shards = options.get("SHARDS", 1)
        self.replicas = options.get("REPLICAS", 0)
        # Searches give up after this and the page answers from the database; writes allow far longer.
        self.timeout = options.get("TIMEOUT", 5)
        self._transport: Transport | None = None
        self.setup_complete = False
        self._kinds: dict[str, tuple[str, dict]] = {}
        self._kinds_for = None
        #: server-side time of the last search, in ms ("took"), for benchmarks.
        self.last_took_ms: int | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = transport_for(
                self.url, client=self.client_name, timeout=self.timeout, client_options=self.client_options
            )
        return self._transport

    def _unified(self):
        return haystack.connections[self.connection_alias].get_unified_index()

    def build_schema(self, fields) -> tuple[str, dict]:
        mapping = dsl.Mapping()
        mapping.field(ID, "keyword")
        mapping.field(DJANGO_CT, "keyword")
        mapping.field(DJANGO_ID, "keyword")
        content_field = ""
        for field in fields.values():
            if field.document:
                content_field = field.index_fieldname
            kind, extra = field_mapping(field)
            mapping.field(field.index_fieldname, kind, **extra)
        return content_field, mapping.to_dict()

    def index_body(self, *, loading: bool = False) -> dict:
        """Settings and mappings of a new index; while ``loading`` it does not refresh."""
        _content, mappings = self.build_schema(self._unified().all_searchfields())
        index_settings = {
            "number_of_shards": self.shards,
            "number_of_replicas": self.replicas,
            "max_result_window": MAX_RESULT_WINDOW,
            "analysis": analysis_settings(),
        }
        if loading:
            # Nobody searches it yet, and a failed build is simply thrown away: no refreshes, no fsync per bulk.
            index_settings["refresh_interval"] = "-1"
            index_settings["translog"] = {"durability": "async"}
        return {"settings": {"index": index_settings}, "mappings": mappings}

    def new_index_name(self) -> str:
        return f"{self.alias}-{timezone.now().strftime('%Y%m%d%H%M%S%f')}"

    def setup(self) -> None:
        """Make sure the alias exists (a first, empty index behind it); add fields the schema gained."""
        transport = self.transport
        current = transport.get_alias(self.alias)
        if not current:
            name = self.new_index_name()
            body = self.index_body()
            body["aliases"] = {self.alias: {"is_write_index": True}}
            try:
                transport.create_index(name, body)
            except SearchError:
                # Another process created it first: use theirs.
                transport.delete_index(name)
                if not transport.get_alias(self.alias):
                    raise
        else:
            _content, mappings = self.build_schema(self._unified().all_searchfields())
            try:
                transport.request("PUT", f"/{self.alias}/_mapping", body=mappings)
            except SearchError as error:
                log.warning("search: the index mapping is out of date (%s); run search_reindex", error)
        self.setup_complete = True

    def _ensure_setup(self) -> None:
        if not self.setup_complete:
            self.setup()

    def _write_targets(self) -> list[str]:
        """The alias, plus the index being built by a reindex if there is one."""
        return [self.alias, *(self.transport.get_alias(self.next_alias) and [self.next_alias])]

    def _bulk(self, actions: list[tuple[dict, dict | None]], *, refresh: bool) -> None:
        """Send (action, source) pairs to every write target; raise on any failed item but 404s of deletes."""
        if not actions:
            return
        self._ensure_setup()
        for attempt in (1, 2):
            lines: list[dict] = []
            for target in self._write_targets():
                for action, source in actions:
                    ((op, meta),) = action.items()
                    lines.append({op: {**meta, "_index": target}})
                    if source is not None:
                        lines.append(source)
            result = self.transport.bulk(lines, refresh=refresh, require_alias=True)
            failures = _bulk_failures(result)
            if not failures:
                return
            if attempt == 1 and any(f.get("type") == "index_not_found_exception" for f in failures):
                # The alias went away (cleared by hand, node restarted without data) or a reindex just
                # swapped it: set up again and send to the targets there are now.
                self.setup_complete = False
                self._ensure_setup()
                continue
            statuses = {f["status"] for f in failures}
            message = f"{len(failures)} of {len(actions)} documents not indexed: {failures[0].get('reason')}"
            if any(s == 429 or s >= 500 for s in statuses):
                raise SearchUnavailable(message)
            raise SearchError(message)

    # ------------------------------------------------------------------ writes
    def prepare_document(self, index, obj) -> dict:
        prepared = index.full_prepare(obj)
        return {key: _from_python(value) for key, value in prepared.items()}

    def update(self, index, iterable, commit=True):
        actions = []
        for obj in iterable:
            try:
                doc = self.prepare_document(index, obj)
            except SkipDocument:
                log.debug("search: skipped %s", obj)
                continue
            actions.append(({"index": {"_id": doc[ID]}}, doc))
        self._bulk(actions, refresh=commit)

    def remove(self, obj_or_string, commit=True):
        self._bulk([({"delete": {"_id": get_identifier(obj_or_string)}}, None)], refresh=commit)

    def clear(self, models=None, commit=True):
        if models is not None:
            assert isinstance(models, list | tuple)
            query = Q("terms", **{DJANGO_CT: [get_model_ct(model) for model in models]})
        else:
            query = Q("match_all")
        if not self.transport.get_alias(self.alias):
            return
        for target in self._write_targets():
            self.transport.delete_by_query(target, query.to_dict(), refresh=commit)

    # ------------------------------------------------------------------ reindex
    def reindex(
        self,
        *,
        batch_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        keep_old: bool = False,
    ) -> dict:
        """Build a new index from the database, then point the alias at it and drop the old one.

        Documents written by live updates while the build runs win over the bulk load (``create``
        never overwrites), so an edit made during a reindex is not undone by it.
        """
        transport = self.transport
        batch_size = batch_size or self.batch_size
        started = time.monotonic()
        old = sorted(transport.get_alias(self.alias))
        # Indices of ours behind neither alias are left over from an interrupted reindex.
        for name, aliases in transport.indices(f"{self.alias}-*").items():
            if name not in old and self.alias not in aliases:
                transport.delete_index(name)
        new = self.new_index_name()
        body = self.index_body(loading=True)
        body["aliases"] = {self.next_alias: {}}
        transport.create_index(new, body)
        done = 0
        # One bulk request in flight while the next chunk is read and analysed: the engine and Python
        # work at the same time (the request waits on the network, not on the GIL).
        sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-reindex")
        in_flight: tuple[Future, int] | None = None

        def settle() -> None:
            nonlocal done, in_flight
            if in_flight is None:
                return
            future, size = in_flight
            in_flight = None
            refused = [f for f in _bulk_failures(future.result()) if f["type"] != "version_conflict_engine_exception"]
            if refused:
                raise SearchError(f"reindex: {len(refused)} documents refused: {refused[0].get('reason')}")
            done += size
            if progress:
                progress(done, total)

        try:
            indexes = list(self._unified().collect_indexes())
            total = sum(index.index_queryset(using=self.connection_alias).count() for index in indexes)
            if progress:
                progress(0, total)
            for index in indexes:
                for chunk in _chunks(index.index_queryset(using=self.connection_alias), batch_size):
                    lines: list[dict] = []
                    for obj in chunk:
                        try:
                            doc = self.prepare_document(index, obj)
                        except SkipDocument:
                            continue
                        lines += [{"create": {"_index": new, "_id": doc[ID]}}, doc]
                    settle()
                    if lines:
                        in_flight = (sender.submit(transport.bulk, lines), len(chunk))
                    else:  # every listing of the chunk skipped itself
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            settle()
            transport.put_settings(new, {"refresh_interval": "1s", "translog": {"durability": "request"}})
            transport.refresh(new)
            actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
            actions += [
                {"add": {"index": new, "alias": self.alias, "is_write_index": True}},
                {"remove": {"index": new, "alias": self.next_alias}},
            ]
            transport.update_aliases(actions)
        except BaseException:
            sender.shutdown(wait=True, cancel_futures=True)
            transport.delete_index(new)
            raise
        finally:
            sender.shutdown(wait=True)
        if not keep_old:
            for name in old:
                transport.delete_index(name)
        self.setup_complete = True
        return {
            "index": new,
            "previous": old,
            "documents": transport.count(new),
            "seconds": round(time.monotonic() - started, 2),
        }

    # ------------------------------------------------------------------ reads
    @log_query
    def search(self, query_string, **kwargs):
        if isinstance(query_string, str):
            query_string = _string_query(query_string, self._content_field())
        want_spelling = kwargs.pop("want_spelling", False)
        body = self.build_search_kwargs(query_string, **kwargs)
        outcome = self._run(body, kwargs)
        text = kwargs.get("spelling_query") or kwargs.get("query_text")
        if text and (want_spelling or (self.include_spelling and outcome["hits"] < SUGGESTION_MIN_HITS)):
            outcome["spelling_suggestion"] = self.suggest(text)
        return outcome

    def search_many(self, queries: list[OpenSearchSearchQuery]) -> None:
        """Run several haystack queries in one round trip (``_msearch``).

        Each query ends up as if it had run alone (its results, count and facet counts are set, so
        ``get_results()`` and friends do not ask again); the search page sends its page of hits, its
        partial matches and its disjunctive facet counts this way."""
        plans = []
        for query in queries:
            built = query.build_query()
            params = query.build_params()
            params.pop("want_spelling", None)
            plans.append((query, params, self.build_search_kwargs(built, **params)))
        try:
            answers = self.transport.msearch(self.alias, [body for _query, _params, body in plans])
        except NotFound:
            self.setup_complete = False
            self._ensure_setup()
            answers = [None] * len(plans)
        for (query, params, _body), raw in zip(plans, answers, strict=True):
            if raw is None:
                outcome = {"results": [], "hits": 0, "facets": {}, "spelling_suggestion": None}
            else:
                outcome = self._process_results(raw, **params)
            query._results = outcome["results"]
            query._hit_count = outcome["hits"]
            query._facet_counts = query.post_process_facets(outcome)
            query._spelling_suggestion = None

    def _content_field(self) -> str:
        return self._unified().document_field

    def _run(self, body: dict, kwargs: dict) -> dict:
        try:
            raw = self.transport.search(self.alias, body)
        except NotFound:
            # Nothing was ever indexed here (or the index was deleted): an empty result, and an index
            # for the next write.
            self.setup_complete = False
            self._ensure_setup()
            return {"results": [], "hits": 0, "facets": {}, "spelling_suggestion": None}
        return self._process_results(raw, **kwargs)

    def build_search_kwargs(
        self,
        query_string,
        sort_by=None,
        start_offset=0,
        end_offset=None,
        fields="",
        highlight=False,
        facets=None,
        date_facets=None,
        query_facets=None,
        narrow_queries=None,
        spelling_query=None,
        within=None,
        dwithin=None,
        distance_point=None,
        models=None,
        limit_to_registered_models=None,
        result_class=None,
        highlight_terms=None,
        query_text=None,
        **extra_kwargs,
    ) -> dict:
        search = dsl.Search().extra(track_total_hits=True)
        filters = [Q("query_string", query=q) for q in sorted(narrow_queries or ())]
        model_filter = self._models_filter(models, limit_to_registered_models)
        if model_filter is not None:
            filters.append(model_filter)
        query = query_string if query_string is not None else Q("match_all")
        if filters:
            query = Q("bool", must=[query], filter=filters)
        search = search.query(query)

        start = int(start_offset or 0)
        size = 20 if end_offset is None else max(0, int(end_offset) - start)
        size = max(0, min(size, MAX_RESULT_WINDOW - start))
        search = search.extra(**{"from": min(start, MAX_RESULT_WINDOW), "size": size})

        if fields:
            wanted = fields.split() if isinstance(fields, str) else list(fields)
            search = search.source(includes=[*wanted, DJANGO_CT, DJANGO_ID])
        else:
            search = search.source(excludes=self._bulky_fields())

        if sort_by:
            search = search.sort(*(self._sort_clause(field, direction) for field, direction in sort_by))

        if highlight:
            search = self._add_highlight(search, highlight, highlight_terms or [])

        for name, options in (facets or {}).items():
            options = dict(options)
            terms = {"field": name, "size": int(options.get("size") or options.get("limit") or FACET_SIZE)}
            if options.get("sort") == "index":
                terms["order"] = {"_key": "asc"}
            if "mincount" in options:
                terms["min_doc_count"] = int(options["mincount"])
            search.aggs.bucket(name, "terms", **terms)
        for name, options in (date_facets or {}).items():
            histogram = {"field": name, "min_doc_count": 0}
            if int(options.get("gap_amount", 1)) == 1:
                histogram["calendar_interval"] = options["gap_by"]
            else:
                histogram["fixed_interval"] = f"{int(options['gap_amount'])}{options['gap_by'][0]}"
            bounds = {"gte": _from_python(options["start_date"]), "lt": _from_python(options["end_date"])}
            histogram["extended_bounds"] = {"min": bounds["gte"], "max": bounds["lt"]}
            search.aggs.bucket(f"date:{name}", "filter", filter=Q("range", **{name: bounds})).bucket(
                "histogram", "date_histogram", **histogram
            )
        for number, (name, value) in enumerate(query_facets or ()):
            search.aggs.bucket(f"query:{number}:{name}", "filter", filter=Q("query_string", query=f"{name}:{value}"))
        return search.to_dict()

    def _bulky_fields(self) -> list[str]:
        """Fields the results never need back (the pre-analysed text, autocomplete prefixes)."""
        bulky = []
        for field in self._unified().all_searchfields().values():
            if field.document or field.field_type in ("edge_ngram", "ngram"):
                bulky.append(field.index_fieldname)
        return bulky

    def _field_kinds(self) -> dict[str, tuple[str, dict]]:
        """{index field name: (mapping type, options)}, computed once per set of search fields."""
        fields = self._unified().all_searchfields()
        if self._kinds_for is not fields:
            self._kinds = {f.index_fieldname: field_mapping(f) for f in fields.values()}
            self._kinds_for = fields
        return self._kinds

    def _sort_clause(self, field: str, direction: str) -> dict:
        if field in ("score", "_score"):
            return {"_score": {"order": direction}}
        kind, extra = self._field_kinds().get(field, ("keyword", {}))
        if kind == "text":
            field = f"{field}.exact" if "fields" in extra else field
        return {field: {"order": direction, "missing": "_last"}}

    def _models_filter(self, models, limit_to_registered_models):
        if limit_to_registered_models is None:
            limit_to_registered_models = getattr(settings, "HAYSTACK_LIMIT_TO_REGISTERED_MODELS", True)
        if models:
            return Q("terms", **{DJANGO_CT: sorted(get_model_ct(model) for model in models)})
        if limit_to_registered_models:
            registered = self.build_models_list()
            if registered:
                return Q("terms", **{DJANGO_CT: sorted(registered)})
        return None

    def _add_highlight(self, search, highlight, terms: list[str]):
        """Highlight the display fields (title, summary) with the words the query matched."""
        display = [name for name, (kind, extra) in self._field_kinds().items() if kind == "text" and "fields" in extra]
        words = []
        for word, alternatives in zip(terms, analysis.expand(terms), strict=True):
            words += [*alternatives, *(p for p in analysis.subwords(word) if len(p) > 1)]
        words = list(dict.fromkeys(words))
        options = {"pre_tags": [HIGHLIGHT_PRE], "post_tags": [HIGHLIGHT_POST], "encoder": "html"}
        if isinstance(highlight, dict):
            options.update({k: v for k, v in highlight.items() if k in ("fragment_size", "number_of_fragments")})
        search = search.highlight_options(**options)
        for name in display:
            field_options = (
                {"number_of_fragments": 0}
                if name == "title"
                else {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1}
            )
            if words:
                field_options["highlight_query"] = Q(
                    "bool", should=[Q("match_phrase", **{name: word}) for word in words]
                ).to_dict()
            search = search.highlight(name, **field_options)
        return search

    def suggest(self, text: str) -> str | None:
        """Did you mean: the engine proposes indexed words near the typed ones, search.backends.spelling chooses.

        One request: every stretch of the query the index might hold (two to eight characters of Chinese,
        or a Latin word) is looked up (how many listings hold it) and sent to the term suggester (indexed
        words within two edits). With those counts as its vocabulary, the same Suggester as the embedded
        engine's prefers a same-sounding word, then a one-character substitution, the most frequent first.
        """
        positive = " ".join(w for w in re.sub(r'"', " ", text).split() if not (w.startswith("-") and len(w) > 1))
        windows = _spelling_windows(analysis.normalise(positive))
        if not windows:
            return None
        content = self._content_field()
        search = dsl.Search().extra(size=0, track_total_hits=False)
        search = search.suggest(
            "near",
            " ".join(windows),
            term={
                "field": content,
                "analyzer": ZH_INDEX,
                "suggest_mode": "missing",
                "min_word_length": 2,
                "prefix_length": 0,
                "max_edits": 2,
                "size": 10,
            },
        )
        search.aggs.bucket("known", "filters", filters={w: Q("term", **{content: w}) for w in windows})
        try:
            raw = self.transport.search(self.alias, search.to_dict())
        except NotFound:
            return None
        vocabulary = Counter({analysis.normalise(term): 1 for term in analysis.domain_terms()})
        for word, bucket in raw.get("aggregations", {}).get("known", {}).get("buckets", {}).items():
            vocabulary[word] += bucket["doc_count"]
        for entry in raw.get("suggest", {}).get("near", []):
            for option in entry["options"]:
                vocabulary[option["text"]] += option["freq"]
        return Suggester(+vocabulary, curated=analysis.domain_term_set()).suggest(positive)

    def _process_results(
        self,
        raw: dict,
        highlight=False,
        result_class=None,
        spelling_query=None,
        query_text=None,
        facets=None,
        date_facets=None,
        query_facets=None,
        **kwargs,
    ) -> dict:
        result_class = result_class or SearchResult
        self.last_took_ms = raw.get("took")
        hits = raw["hits"]["total"]["value"]
        unified = self._unified()
        indexed_models = unified.get_indexed_models()
        field_types = {f.index_fieldname: f.field_type for f in unified.all_searchfields().values()}
        results = []
        for hit in raw["hits"]["hits"]:
            source = hit["_source"]
            app_label, model_name = source[DJANGO_CT].split(".")
            model = haystack_get_model(app_label, model_name)
            if model is None or model not in indexed_models:
                hits -= 1
                continue
            extra = {
                key: _to_python(value, field_types.get(key))
                for key, value in source.items()
                if key not in (DJANGO_CT, DJANGO_ID)
            }
            if highlight:
                extra["highlighted"] = self._highlighted(hit.get("highlight", {}))
            results.append(result_class(app_label, model_name, source[DJANGO_ID], hit.get("_score") or 0.0, **extra))

        facets_out: dict[str, dict] = {"fields": {}, "dates": {}, "queries": {}}
        for name, agg in (raw.get("aggregations") or {}).items():
            if name.startswith("date:"):
                facets_out["dates"][name[5:]] = [
                    (_to_python(b["key_as_string"], "datetime"), b["doc_count"]) for b in agg["histogram"]["buckets"]
                ]
            elif name.startswith("query:"):
                _prefix, _number, field = name.split(":", 2)
                facets_out["queries"][field] = agg["doc_count"]
            else:
                boolean = field_types.get(name) == "boolean"
                facets_out["fields"][name] = [
                    ((b.get("key_as_string") == "true") if boolean else b["key"], b["doc_count"])
                    for b in agg["buckets"]
                ]
        return {"results": results, "hits": hits, "facets": facets_out, "spelling_suggestion": None}

    def _highlighted(self, marked: dict) -> dict:
        """{content field: [the summary's snippet, or else the title's]} as the embedded engine gives it
        (escaped HTML, matches in <em>), plus the marked "title" and "summary" themselves."""
        out = {name: [_merge_marks(f) for f in fragments] for name, fragments in marked.items()}
        snippets = [f for name in ("summary", "title") for f in out.get(name, []) if HIGHLIGHT_PRE in f]
        out[self._content_field()] = snippets[:1]
        return out

    def more_like_this(
        self,
        model_instance,
        additional_query_string=None,
        start_offset=0,
        end_offset=None,
        models=None,
        limit_to_registered_models=None,
        result_class=None,
        **kwargs,
    ):
        model = model_instance._meta.concrete_model
        try:
            self._unified().get_index(model)
        except haystack.exceptions.NotHandled as error:
            raise MoreLikeThisError(f"{model} is not indexed") from error
        like = Q(
            "more_like_this",
            fields=[self._content_field()],
            like=[{"_index": self.alias, "_id": get_identifier(model_instance)}],
            min_term_freq=1,
            min_doc_freq=1,
            max_query_terms=40,
            minimum_should_match="10%",
        )
        extra = additional_query_string
        if isinstance(extra, str):
            extra = None if extra in ("", "*", "*:*") else _string_query(extra, self._content_field())
        query = Q("bool", must=[like], filter=[extra]) if extra is not None else like
        body = self.build_search_kwargs(
            query,
            start_offset=start_offset,
            end_offset=end_offset,
            models=models,
            limit_to_registered_models=limit_to_registered_models,
        )
        return self._run(body, {"result_class": result_class})


def _bulk_failures(result: dict) -> list[dict]:
    if not result.get("errors"):
        return []
    failures = []
    for item in result["items"]:
        ((op, outcome),) = item.items()
        if "error" in outcome and not (op == "delete" and outcome.get("status") == 404):
            error = outcome["error"]
            failures.append(
                {"status": outcome.get("status", 500), "type": error.get("type"), "reason": error.get("reason")}
            )
    return failures


def _chunks(queryset, size: int) -> Iterable[list]:
    """Keyset pages by primary key: steady cost per chunk whatever the table size."""
    last = None
    while True:
        page = queryset.filter(pk__gt=last) if last is not None else queryset
        chunk = list(page.order_by("pk")[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def _from_python(value):
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _to_python(value, field_type: str | None):
    if value is None:
        return None
    if field_type == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    if field_type == "date" and isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


_ADJACENT_MARKS = re.compile(re.escape(HIGHLIGHT_POST) + r"(\s*)" + re.escape(HIGHLIGHT_PRE))


def _merge_marks(fragment: str) -> str:
    """光 and 伏 highlighted one by one become one <em>光伏</em>."""
    return _ADJACENT_MARKS.sub(r"\1", fragment)


def _spelling_windows(text: str, limit: int = 80) -> list[str]:
    """The stretches of a query that could be words: Chinese of 2-8 characters, Latin words."""
    windows: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        for length in range(min(MAX_WINDOW, len(run)), 1, -1):
            windows += [run[i : i + length] for i in range(len(run) - length + 1)]
    windows += re.findall(r"[a-z][a-z0-9]{2,}", text)
    return list(dict.fromkeys(windows))[:limit]


def _string_query(text: str, content_field: str):
    """A query string from outside the query builder (raw_search, narrow): Lucene syntax, or match all."""
    if text.strip() in ("", "*", "*:*"):
        return Q("match_all")
    return Q("query_string", query=text, default_field=content_field, default_operator="AND")


class OpenSearchSearchQuery(BaseSearchQuery):
    """Turns haystack's SQ tree into an elasticsearch-dsl query (not a query string)."""

    def __init__(self, using=DEFAULT_ALIAS):
        super().__init__(using=using)
        self._terms: list[str] = []
        self._typed: list[str] = []

    def matching_all_fragment(self):
        return Q("match_all")

    def __str__(self):
        import json

        return json.dumps(self.build_query().to_dict(), ensure_ascii=False)

    def build_query(self):
        self._terms, self._typed = [], []
        query = self._node(self.query_filter)
        query = query if query is not None else Q("match_all")
        if self.boost:
            content = self.backend._content_field()
            boosts = [Q("match", **{content: {"query": word, "boost": value}}) for word, value in self.boost.items()]
            query = Q("bool", must=[query], should=boosts)
        return query

    def build_params(self, spelling_query=None, **kwargs):
        params = super().build_params(spelling_query=spelling_query, **kwargs)
        if self.order_by:
            params["sort_by"] = [(f[1:], "desc") if f.startswith("-") else (f, "asc") for f in self.order_by]
        self.build_query()  # collects the words typed, for highlight and suggestions
        params["highlight_terms"] = list(self._terms)
        params["query_text"] = " ".join(self._typed) or None
        return params

    def run(self, spelling_query=None, **kwargs):
        query = self.build_query()
        search_kwargs = self.build_params(spelling_query=spelling_query)
        search_kwargs.update(kwargs)
        results = self.backend.search(query, **search_kwargs)
        self._results = results.get("results", [])
        self._hit_count = results.get("hits", 0)
        self._facet_counts = self.post_process_facets(results)
        self._spelling_suggestion = results.get("spelling_suggestion")

    def get_spelling_suggestion(self, preferred_query=None):
        """Asked for explicitly, a suggestion is looked for however many listings the query found.

        Only the suggestion request is made: the search itself is not needed for it."""
        if preferred_query is None and self._spelling_suggestion not in (None, SPELLING_SUGGESTION_HAS_NOT_RUN):
            return self._spelling_suggestion
        self.build_query()  # collects what was typed
        text = preferred_query or " ".join(self._typed)
        self._spelling_suggestion = self.backend.suggest(text) if text.strip() else None
        return self._spelling_suggestion

    def run_mlt(self, **kwargs):
        if self._more_like_this is False or self._mlt_instance is None:
            raise MoreLikeThisError("No instance was provided to determine 'More Like This' results.")
        additional = self.build_query() if self.query_filter else None
        search_kwargs = {"start_offset": self.start_offset, "result_class": self.result_class, "models": self.models}
        if self.end_offset is not None:
            search_kwargs["end_offset"] = self.end_offset
        search_kwargs.update(kwargs)
        results = self.backend.more_like_this(self._mlt_instance, additional, **search_kwargs)
        self._results = results.get("results", [])
        self._hit_count = results.get("hits", 0)

    # ------------------------------------------------------------------ the SQ tree
    def _node(self, node: SearchNode):
        scored, filters = [], []
        for child in node.children:
            if isinstance(child, SearchNode):
                query = self._node(child)
                is_text = True
            else:
                expression, value = child
                field, filter_type = node.split_expression(expression)
                query, is_text = self._leaf(field, filter_type, value)
            if query is not None:
                (scored if is_text else filters).append(query)
        if not scored and not filters:
            return None
        if node.connector == SearchNode.OR:
            combined = Q("bool", should=scored + filters, minimum_should_match=1)
        elif len(scored) == 1 and not filters:
            combined = scored[0]
        else:
            combined = Q("bool", must=scored, filter=filters)
        return Q("bool", must_not=[combined]) if node.negated else combined

    def _leaf(self, field: str, filter_type: str, value) -> tuple[Any, bool]:
        unified = haystack.connections[self._using].get_unified_index()
        content_field = unified.document_field
        name = content_field if field == "content" else unified.get_index_fieldname(field)
        if hasattr(value, "values_list"):
            value = list(value)
        kind, extra = self.backend._field_kinds().get(name, ("keyword", {}))
        if isinstance(value, BaseInput):
            input_type = value.input_type_name
            raw = value.query_string
            if input_type == "raw":
                return Q("query_string", query=raw, default_field=name), True
            if input_type == "not":
                inner, is_text = self._leaf(field, filter_type, raw)
                return (Q("bool", must_not=[inner]) if inner is not None else None), is_text
            if input_type == "auto_query":
                return self._auto_query(name, raw, kind, extra), True
            if input_type == "exact":
                filter_type = "exact"
            value = raw
        if name == content_field or extra.get("analyzer") == ZH_AUTOCOMPLETE:
            return self._text(name, filter_type, value), True
        if kind == "text":  # display fields: phrase of characters
            return Q("match_phrase", **{name: str(value)}), True
        return self._term(name, filter_type, value, kind), False

    def _text(self, name: str, filter_type: str, value) -> Any:
        text = " ".join(map(str, value)) if isinstance(value, list | tuple | set) else str(value)
        if name != self.backend._content_field():
            # autocomplete: every typed word must begin a title or a domain word
            words = [w[:AUTOCOMPLETE_MAX_PREFIX] for w in analysis.normalise(text).split()]
            return Q("match", **{name: {"query": " ".join(words), "operator": "and"}}) if words else None
        return text_query(name, text, exact=filter_type == "exact", collect=self)

    def _auto_query(self, name: str, raw: str, kind: str, extra: dict) -> Any:
        """What a user typed: words, "exact phrases" and -excluded words."""
        phrases = re.findall(r'"([^"]+)"', raw)
        rest = re.sub(r'"[^"]*"', " ", raw)
        excluded = [w[1:] for w in rest.split() if w.startswith("-") and len(w) > 1]
        words = " ".join(w for w in rest.split() if not (w.startswith("-") and len(w) > 1))
        if name != self.backend._content_field():
            return self._text(name, "content", " ".join([words, *phrases]))
        must = [q for q in [text_query(name, words, collect=self)] if q is not None]
        must += [q for q in (text_query(name, p, exact=True, collect=self) for p in phrases) if q is not None]
        must_not = [q for q in (excluded_query(name, w) for w in excluded) if q is not None]
        if not must and not must_not:
            return None
        if len(must) == 1 and not must_not:
            return must[0]
        return Q("bool", must=must or [Q("match_all")], must_not=must_not)

    def _term(self, name: str, filter_type: str, value, kind: str) -> Any:
        def prep(v):
            v = _from_python(v)
            return v if kind in ("long", "double", "boolean", "date") or v is None else str(v)

        if filter_type == "in":
            values = [prep(v) for v in value]
            return Q("terms", **{name: values}) if values else Q("match_none")
        if filter_type == "range":
            low, high = value
            return Q("range", **{name: {"gte": prep(low), "lte": prep(high)}})
        if filter_type in ("gt", "gte", "lt", "lte"):
            return Q("range", **{name: {filter_type: prep(value)}})
        if filter_type == "startswith":
            return Q("prefix", **{name: str(value)})
        if filter_type == "endswith":
            return Q("wildcard", **{name: f"*{value}"})
        if filter_type == "contains":
            return Q("wildcard", **{name: f"*{value}*"})
        if filter_type == "fuzzy":
            return Q("fuzzy", **{name: str(value)})
        if value is None:
            return Q("bool", must_not=[Q("exists", field=name)])
        return Q("term", **{name: prep(value)})


def text_query(name: str, text: str, *, exact: bool = False, collect: OpenSearchSearchQuery | None = None):
    """The full-text query of what a user typed, over the pre-analysed content field.

    The same rules as the embedded engine: the typed text is segmented like the documents
    (search.analysis.query_tokens); each word matches the word itself or a synonym (the synonym_graph
    filter at search time), or else all the dictionary words inside it (太阳能发电 → 太阳能 + 发电) at a
    lower weight. Up to three words all are required, from four on three quarters of them.
    """
    words = analysis.query_tokens(text)
    if collect is not None:
        collect._terms.extend(words)
        if text.strip():
            collect._typed.append(text.strip())
    if not words:
        return None
    clauses = []
    for word in words:
        alternatives = [Q("match", **{name: {"query": word}})]
        parts = analysis.subwords(word)
        if len(parts) >= 2 and not exact:
            together = {"query": " ".join(parts), "operator": "and", "boost": PARTS_WEIGHT}
            alternatives.append(Q("match", **{name: together}))
        related = analysis.related(word) if not exact else ()
        if related:
            # The best related term only (dis_max), far below the word itself.
            each = [Q("match", **{name: {"query": " ".join(words), "operator": "and"}}) for words in related]
            alternatives.append(Q("dis_max", queries=each, boost=analysis.RELATED_WEIGHT))
        clauses.append(alternatives[0] if len(alternatives) == 1 else Q("bool", should=alternatives))
    if len(clauses) == 1:
        return clauses[0]
    if exact or len(clauses) <= 3:
        return Q("bool", must=clauses)
    return Q("bool", should=clauses, minimum_should_match=math.ceil(0.75 * len(clauses)))


def excluded_query(name: str, text: str):
    """-word: listings holding the word itself are left out (not its synonyms or parts)."""
    words = analysis.query_tokens(text)
    return Q("terms", **{name: words}) if words else None


class OpenSearchEngine(BaseEngine):
    backend = OpenSearchSearchBackend
    query = OpenSearchSearchQuery
