"""The embedded search engine: tantivy (Rust, official Python bindings) behind a haystack backend.

Why not stock haystack + Whoosh: at 50k listings Whoosh answers a faceted two-word query in about
300 ms and rebuilds in minutes; tantivy answers in a few milliseconds. docs/search.md has the
numbers and the design; in short:

- Text is analysed in Python by search.analysis (rjieba + domain dictionary), the same as for the
  cluster backend, and indexed as whitespace-separated tokens (term frequencies, no positions).
- A query word matches the word itself, its synonyms, or — for a long word — all of its dictionary
  parts (太阳能发电 ~ 太阳能 + 发电); all words are required (three-quarters of them from four on).
  Ranking is tantivy's BM25; the title is weighted by repetition in ``text``.
- Facet fields are raw (never tokenised) fast fields; counts come from one terms aggregation over
  the whole result set (exact, not from the top N).
- Filters (filter/narrow/models) are constant-score clauses, so they never change the ranking.
- Highlights are cut from the stored title and summary (search.backends.highlight); suggestions
  come from the index's vocabulary by pinyin and edit distance (search.backends.spelling).
- Writes open a writer, commit and release it, so the web process and the task worker can share
  one index directory; a busy lock is retried, then reported as an error (the op is kept and
  replayed, see search.tasks).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import tantivy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from haystack.backends import BaseEngine, BaseSearchBackend, BaseSearchQuery, SearchNode, log_query
from haystack.constants import DJANGO_CT, DJANGO_ID, ID
from haystack.exceptions import SearchBackendError, SkipDocument
from haystack.inputs import BaseInput, Exact, Not
from haystack.models import SearchResult
from haystack.utils import get_identifier, get_model_ct

from search import analysis

from . import SearchUnavailable
from .highlight import highlight, match_pattern
from .spelling import Suggester

log = logging.getLogger(__name__)

TEXT, AUTO, KEYWORD, INT, FLOAT, BOOL, DATE = "text", "auto", "keyword", "int", "float", "bool", "date"
SORT_MISSING_LAST = 1e300  # sort keys of documents without a value: last in either direction
SCHEMA_VERSION = "1"
LOCK_TIMEOUT_S = 10.0  # how long a write waits for another process's writer (a rebuild, the worker)
LOCK_WAIT_S = 0.05
SUGGESTION_MIN_HITS = 3
SUGGESTER_MAX_AGE_S = 60.0
SYNONYM_WEIGHT = 0.8
PARTS_WEIGHT = 0.6
AUTO_MAX_PREFIX = 16

_stores: dict[str, _Store] = {}
_stores_lock = threading.Lock()


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    return {"ws": whitespace}


@dataclass
class FieldInfo:
    name: str
    kind: str
    multi: bool = False
    stored: bool = True
    faceted: bool = False
    haystack_field: object = None


@dataclass
class _Store:
    """One index directory, shared by every backend instance (thread) of this process."""

    path: str
    index: tantivy.Index
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    seen: tuple | None = None
    generation: int = 0
    suggester: Suggester | None = None
    suggester_generation: int = -1
    suggester_built: float = 0.0

    def meta_stamp(self) -> tuple:
        """Changes with every commit: meta.json is replaced (new inode) each time."""
        try:
            stat = os.stat(os.path.join(self.path, "meta.json"))
        except FileNotFoundError:
            return ()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def searcher(self) -> tantivy.Searcher:
        """A searcher on the last commit, whichever process made it."""
        stamp = self.meta_stamp()
        if stamp != self.seen:
            self.index.reload()
            self.seen = stamp
            self.generation += 1
        return self.index.searcher()


def _open_store(path: str, schema: tantivy.Schema) -> _Store:
    with _stores_lock:
        store = _stores.get(path)
        if store is not None:
            return store
        Path(path).mkdir(parents=True, exist_ok=True)
        try:
            index = tantivy.Index(schema, path=path, reuse=True)
        except ValueError as exc:
            if "schema does not match" not in str(exc):
                raise
            # The index definitions changed: start an empty index; rebuild_index fills it again.
            log.warning("search index at %s has an old schema; recreating it empty (run rebuild_index)", path)
            shutil.rmtree(path)
            Path(path).mkdir(parents=True)
            index = tantivy.Index(schema, path=path, reuse=True)
        for name, analyzer in _analyzers().items():
            index.register_tokenizer(name, analyzer)
        index.config_reader("manual")
        store = _Store(path=path, index=index)
        _stores[path] = store
        return store


def _forget_store(path: str) -> None:
    with _stores_lock:
        _stores.pop(path, None)


class _Writer:
    """A committed unit of writes; the writer (and its directory lock) lives only inside it."""

    def __init__(self, store: _Store, heap: int = 64_000_000, threads: int = 1, timeout: float = LOCK_TIMEOUT_S):
        self.store, self.heap, self.threads, self.timeout = store, heap, threads, timeout

    def __enter__(self) -> tantivy.IndexWriter:
        if not self.store.write_lock.acquire(timeout=self.timeout):
            raise SearchUnavailable(_("检索索引正被本进程的另一写入占用,稍后重试"))
        try:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    self.writer = self.store.index.writer(heap_size=self.heap, num_threads=self.threads)
                    return self.writer
                except ValueError as exc:
                    if "LockBusy" not in str(exc) or time.monotonic() >= deadline:
                        raise SearchUnavailable(f"search index is locked by another writer: {exc}") from exc
                    time.sleep(LOCK_WAIT_S)
        except BaseException:
            self.store.write_lock.release()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.writer.commit()
                self.writer.wait_merging_threads()
            else:
                self.writer.rollback()
        finally:
            del self.writer
            self.store.seen = None  # our own commit: reload on the next search
            self.store.write_lock.release()
        return False


class EmbeddedSearchBackend(BaseSearchBackend):
    def __init__(self, connection_alias, **connection_options):
        super().__init__(connection_alias, **connection_options)
        if "PATH" not in connection_options:
            raise ImproperlyConfigured(
                f"You must specify a 'PATH' in your settings for connection '{connection_alias}'."
            )
        self.path = os.path.abspath(connection_options["PATH"])
        self.include_spelling = connection_options.get("INCLUDE_SPELLING", True)
        # A commit costs a few hundred ms of fsync on a busy disk: rebuilds commit every 10k documents.
        self.batch_size = connection_options.get("BATCH_SIZE", 10_000)
        self.lock_timeout = float(connection_options.get("LOCK_TIMEOUT", LOCK_TIMEOUT_S))
        self.setup_complete = False
        self.fields: dict[str, FieldInfo] = {}
        self.content_field_name = "text"

    # ------------------------------------------------------------------ schema

    def build_schema(self, fields) -> tuple[str, tantivy.Schema, dict[str, FieldInfo]]:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(ID, stored=True, tokenizer_name="raw", index_option="basic")
        builder.add_text_field(DJANGO_CT, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
        builder.add_text_field(DJANGO_ID, stored=True, tokenizer_name="raw", index_option="basic")
        infos: dict[str, FieldInfo] = {}
        content_field_name = ""
        for field_class in fields.values():
            name = field_class.index_fieldname
            if getattr(field_class, "facet_for", None):
                continue  # "<name>_exact" shadows: our base fields are exact already
            ftype = field_class.field_type
            info = FieldInfo(name, KEYWORD, field_class.is_multivalued, field_class.stored, field_class.faceted)
            info.haystack_field = field_class
            if field_class.document:
                content_field_name, info.kind, info.stored = name, TEXT, False
                builder.add_text_field(name, stored=False, tokenizer_name="ws", index_option="freq")
            elif ftype in ("edge_ngram", "ngram"):
                info.kind, info.stored = AUTO, False
                builder.add_text_field(name, stored=False, tokenizer_name="ws", index_option="basic")
            elif ftype == "integer":
                info.kind = INT
                builder.add_integer_field(name, stored=field_class.stored, indexed=True, fast=True)
                _add_sort_fields(builder, name)
            elif ftype in ("float", "decimal"):
                info.kind = FLOAT
                builder.add_float_field(name, stored=field_class.stored, indexed=True, fast=True)
                _add_sort_fields(builder, name)
            elif ftype in ("date", "datetime"):
                info.kind = DATE
                builder.add_date_field(name, stored=field_class.stored, indexed=True, fast=True)
                _add_sort_fields(builder, name)
            else:
                if ftype == "boolean":
                    info.kind = BOOL
                builder.add_text_field(
                    name,
                    stored=field_class.stored,
                    fast=field_class.faceted,
                    tokenizer_name="raw",
                    index_option="basic",
                )
            infos[name] = info
        if not content_field_name:
            raise SearchBackendError("No document=True field in the search indexes.")
        return content_field_name, builder.build(), infos

    def setup(self) -> None:
        from haystack import connections

        fields = connections[self.connection_alias].get_unified_index().all_searchfields()
        self.content_field_name, self.schema, self.fields = self.build_schema(fields)
        try:
            self.store = _open_store(self.path, self.schema)
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot open the search index at {self.path}: {exc}") from exc
        self.setup_complete = True

    def _ensure_setup(self) -> None:
        if not self.setup_complete:
            self.setup()

    def resolve(self, name: str) -> FieldInfo:
        if name in (ID, DJANGO_CT, DJANGO_ID):
            return FieldInfo(name, KEYWORD)
        if name in ("content", self.content_field_name):
            return self.fields[self.content_field_name]
        if name in self.fields:
            return self.fields[name]
        if name.endswith("_exact") and name[: -len("_exact")] in self.fields:
            return self.fields[name[: -len("_exact")]]
        raise SearchBackendError(f"Unknown search field '{name}'.")

    # ------------------------------------------------------------------ writes

    def _document(self, prepared: dict) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text(ID, prepared[ID])
        doc.add_text(DJANGO_CT, prepared[DJANGO_CT])
        doc.add_text(DJANGO_ID, force_str(prepared[DJANGO_ID]))
        for name, info in self.fields.items():
            value = prepared.get(name)
            if info.kind == TEXT:
                doc.add_text(name, value or "")
                continue
            if info.kind == AUTO:
                doc.add_text(name, _edge_grams(value or ""))
                continue
            if value is None or value == [] or value == "":
                if info.kind in (INT, FLOAT, DATE):
                    _add_sort_keys(doc, name, None)
                continue
            if info.kind == INT:
                doc.add_integer(name, int(value))
                _add_sort_keys(doc, name, float(value))
            elif info.kind == FLOAT:
                doc.add_float(name, float(value))
                _add_sort_keys(doc, name, float(value))
            elif info.kind == DATE:
                moment = _utc(value)
                doc.add_date(name, moment)
                _add_sort_keys(doc, name, moment.timestamp())
            elif info.kind == BOOL:
                doc.add_text(name, _bool_text(value))
            else:
                for item in value if isinstance(value, list | tuple | set) else [value]:
                    doc.add_text(name, force_str(item))
        return doc

    def update(self, index, iterable, commit=True):
        self._ensure_setup()
        documents = []
        for obj in iterable:
            try:
                prepared = index.full_prepare(obj)
            except SkipDocument:
                log.debug("Indexing for object `%s` skipped", obj)
                continue
            documents.append((prepared[ID], self._document(prepared)))
        if not documents:
            return
        with self._writer(heap=200_000_000 if len(documents) > 2000 else 32_000_000) as writer:
            for identifier, doc in documents:
                writer.delete_documents_by_term(ID, identifier)
                writer.add_document(doc)

    def _writer(self, heap: int = 16_000_000) -> _Writer:
        return _Writer(self.store, heap=heap, timeout=self.lock_timeout)

    def remove(self, obj_or_string, commit=True):
        self._ensure_setup()
        identifier = get_identifier(obj_or_string)
        with self._writer() as writer:
            writer.delete_documents_by_term(ID, identifier)

    def clear(self, models=None, commit=True):
        self._ensure_setup()
        if not models:
            with self._writer() as writer:
                writer.delete_all_documents()
            return
        with self._writer() as writer:
            for model in models:
                writer.delete_documents_by_term(DJANGO_CT, get_model_ct(model))

    def destroy(self) -> None:
        """Drop the index directory (tests, and rebuilds of a changed schema)."""
        _forget_store(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
        self.setup_complete = False

    # ------------------------------------------------------------------ queries

    def _text_clause(self, field_name: str, text: str, exact: bool = False) -> tantivy.Query:
        """The scoring clause for user text: every word (or most of them) through its alternatives."""
        positive, negative = _split_user_query(text)
        words = analysis.query_tokens(positive)
        excluded = analysis.query_tokens(negative) if negative else []
        if not words:
            return tantivy.Query.empty_query() if positive.strip() and not excluded else tantivy.Query.all_query()
        clauses = [
            self._word_clause(field_name, word, alternatives, related=not exact)
            for word, alternatives in zip(words, analysis.expand(words), strict=True)
        ]
        required = len(words) if exact or len(words) <= 3 else math.ceil(0.75 * len(words))
        if required == len(words):
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, c) for c in clauses])
        else:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, c) for c in clauses], minimum_number_should_match=required
            )
        if excluded:
            bans = [(tantivy.Occur.MustNot, self._term(field_name, word)) for word in excluded]
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), *bans])
        return query

    def _word_clause(self, field_name: str, word: str, alternatives: list[str], related: bool = True) -> tantivy.Query:
        options = [(tantivy.Occur.Should, self._term(field_name, word))]
        for alt in alternatives[1:]:
            options.append(
                (tantivy.Occur.Should, tantivy.Query.boost_query(self._term(field_name, alt), SYNONYM_WEIGHT))
            )
        parts = analysis.subwords(word)
        if len(parts) >= 2:
            together = tantivy.Query.boolean_query([(tantivy.Occur.Must, self._term(field_name, p)) for p in parts])
            options.append((tantivy.Occur.Should, tantivy.Query.boost_query(together, PARTS_WEIGHT)))
        terms = analysis.related(word) if related else ()
        if terms:
            # The best related term only (dis_max), far below the word itself.
            each = [self._all_of(field_name, words) for words in terms]
            best = tantivy.Query.disjunction_max_query(each) if len(each) > 1 else each[0]
            options.append((tantivy.Occur.Should, tantivy.Query.boost_query(best, analysis.RELATED_WEIGHT)))
        if len(options) == 1:
            return options[0][1]
        return tantivy.Query.boolean_query(options)

    def _all_of(self, field_name: str, words: tuple[str, ...]) -> tantivy.Query:
        if len(words) == 1:
            return self._term(field_name, words[0])
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, self._term(field_name, w)) for w in words])

    def _term(self, field_name: str, value) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field_name, value)

    def _value_query(self, info: FieldInfo, filter_type: str, value) -> tantivy.Query:
        """A clause for one (field, lookup, value) of a haystack filter."""
        if isinstance(value, BaseInput):
            if isinstance(value, Not):
                inner = self._value_query(info, filter_type, value.query_string)
                return _negate(inner)
            exact = isinstance(value, Exact)
            value = value.query_string
        else:
            exact = filter_type == "exact"
        if info.kind == TEXT:
            if filter_type == "in":
                return _any([self._text_clause(info.name, force_str(v)) for v in value])
            return self._text_clause(info.name, force_str(value), exact=exact)
        if info.kind == AUTO:
            words = [analysis.normalise(w).strip() for w in force_str(value).split()]
            words = [w[:AUTO_MAX_PREFIX] for w in words if w]
            if not words:
                return tantivy.Query.all_query()
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, self._term(info.name, w)) for w in words])
        if filter_type == "in":
            values = list(value)
            if not values:
                return tantivy.Query.empty_query()
            return _any([self._value_query(info, "exact", v) for v in values])
        if filter_type == "range":
            low, high = value
            return self._range(info, low, high)
        if filter_type in ("gt", "gte", "lt", "lte"):
            bound = value
            if filter_type in ("gt", "gte"):
                return self._range(info, bound, None, include_lower=filter_type == "gte")
            return self._range(info, None, bound, include_upper=filter_type == "lte")
        if filter_type == "startswith" and info.kind == KEYWORD:
            return tantivy.Query.regex_query(self.schema, info.name, re.escape(force_str(value)) + ".*")
        if filter_type == "fuzzy" and info.kind == KEYWORD:
            return tantivy.Query.fuzzy_term_query(self.schema, info.name, force_str(value))
        return self._exact(info, value)

    def _exact(self, info: FieldInfo, value) -> tantivy.Query:
        if info.kind == INT:
            return self._term(info.name, int(value))
        if info.kind == FLOAT:
            return self._term(info.name, float(value))
        if info.kind == DATE:
            return self._term(info.name, _utc(value))
        if info.kind == BOOL:
            return self._term(info.name, _bool_text(value))
        return self._term(info.name, force_str(value))

    def _range(self, info: FieldInfo, low, high, include_lower=True, include_upper=True) -> tantivy.Query:
        kinds = {INT: tantivy.FieldType.Integer, FLOAT: tantivy.FieldType.Float, DATE: tantivy.FieldType.Date}
        if info.kind not in kinds:
            raise SearchBackendError(f"Range lookups need a numeric or date field, not '{info.name}'.")
        convert = {INT: int, FLOAT: float, DATE: _utc}[info.kind]
        return tantivy.Query.range_query(
            self.schema,
            info.name,
            kinds[info.kind],
            convert(low) if low is not None else None,
            convert(high) if high is not None else None,
            include_lower=include_lower,
            include_upper=include_upper,
        )

    def query_from_node(self, node: SearchNode) -> tantivy.Query | None:
        """Walk haystack's SQ tree; None means 'everything'."""
        parts = []
        for child in node.children:
            if isinstance(child, SearchNode):
                sub = self.query_from_node(child)
                if sub is not None:
                    parts.append(sub)
                continue
            expression, value = child
            field_name, filter_type = node.split_expression(expression)
            parts.append(self._value_query(self.resolve(field_name), filter_type, value))
        if not parts:
            query = None
        elif len(parts) == 1:
            query = parts[0]
        elif node.connector == SearchNode.OR:
            query = _any(parts)
        else:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])
        if node.negated:
            return _negate(query if query is not None else tantivy.Query.all_query())
        return query

    def query_from_string(self, query_string: str) -> tantivy.Query | None:
        """A raw query string: '*' for everything, `field:value` narrowing syntax, or user text."""
        query_string = (query_string or "").strip()
        if query_string in ("", "*", "*:*"):
            return None
        clauses = _parse_field_clauses(query_string)
        if clauses is None:
            return self._text_clause(self.content_field_name, query_string)
        parts = []
        for name, values, negated, bounds in clauses:
            info = self.resolve(name)
            if bounds is not None:
                low, high = (None if b in ("*", "") else _coerce(info, b) for b in bounds)
                part = self._range(info, low, high)
            else:
                part = (
                    self._value_query(info, "in", values)
                    if len(values) > 1
                    else self._value_query(info, "exact", values[0])
                )
            parts.append(_negate(part) if negated else part)
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])

    def _filters(self, narrow_queries, models, limit_to_registered_models) -> list[tantivy.Query]:
        filters = [self.query_from_string(q) for q in narrow_queries or ()]
        model_cts = self._model_cts(models, limit_to_registered_models)
        if model_cts is not None:
            filters.append(tantivy.Query.term_set_query(self.schema, DJANGO_CT, sorted(model_cts)))
        return [f for f in filters if f is not None]

    def _model_cts(self, models, limit_to_registered_models) -> set[str] | None:
        if models:
            return {get_model_ct(m) for m in models}
        if limit_to_registered_models is None:
            limit_to_registered_models = getattr(settings, "HAYSTACK_LIMIT_TO_REGISTERED_MODELS", True)
        if limit_to_registered_models:
            registered = self.build_models_list()
            return set(registered) if registered else None
        return None

    def _combine(self, scoring: tantivy.Query | None, filters: list[tantivy.Query]) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, scoring if scoring is not None else tantivy.Query.all_query())]
        clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    @log_query
    def search(self, query_string, **kwargs):
        self._ensure_setup()
        query_tree = kwargs.pop("query_tree", None)
        if query_tree is not None:
            scoring = self.query_from_node(query_tree)
        else:
            scoring = self.query_from_string(force_str(query_string))
        filters = self._filters(
            kwargs.get("narrow_queries"), kwargs.get("models"), kwargs.get("limit_to_registered_models")
        )
        query = self._combine(scoring, filters)
        return self._run(query, user_text=kwargs.pop("user_text", None), **kwargs)

    def _run(
        self,
        query,
        user_text=None,
        sort_by=None,
        start_offset=0,
        end_offset=None,
        fields="",
        highlight=False,
        facets=None,
        date_facets=None,
        query_facets=None,
        spelling_query=None,
        result_class=None,
        want_spelling=False,
        **extra,
    ):
        searcher = self.store.searcher()
        start = max(0, int(start_offset or 0))
        end = searcher.num_docs if end_offset is None else int(end_offset)
        limit = max(0, end - start)
        order_field, order = self._sort(sort_by)
        found = searcher.search(
            query, limit=max(limit, 1), count=True, offset=start, order_by_field=order_field, order=order
        )
        hits = found.hits[:limit]
        terms = self._highlight_terms(user_text) if highlight and user_text else None
        results = [
            self._result(searcher, score, address, order_field, terms, fields, result_class) for score, address in hits
        ]
        outcome = {"results": results, "hits": found.count}
        facet_counts = self._facets(searcher, query, facets, query_facets)
        if facet_counts:
            outcome["facets"] = facet_counts
        if date_facets:
            log.warning("date facets are not supported by the embedded engine; ignored")
        if (want_spelling or self.include_spelling) and (spelling_query or user_text):
            text = spelling_query or user_text
            if want_spelling or found.count < SUGGESTION_MIN_HITS:
                outcome["spelling_suggestion"] = self.suggest(searcher, text)
        return outcome

    def _sort(self, sort_by) -> tuple[str | None, tantivy.Order]:
        if not sort_by:
            return None, tantivy.Order.Desc
        first = sort_by[0]
        descending = first.startswith("-")
        name = first.lstrip("-")
        if name in ("score", "_score", "relevance"):
            return None, tantivy.Order.Desc
        info = self.resolve(name)
        if info.kind not in (INT, FLOAT, DATE):
            raise SearchBackendError(f"Sorting needs a numeric or date field, not '{name}'.")
        if len(sort_by) > 1:
            log.debug("embedded engine sorts by its first key only: %s", sort_by)
        # Both directions sort ascending on a key with missing values at +inf, so they come last either way.
        return _sort_field(name, descending), tantivy.Order.Asc

    def _result(self, searcher, score, address, order_field, terms, fields, result_class):
        doc = searcher.doc(address).to_dict()
        app_label, model_name = doc[DJANGO_CT][0].split(".")
        pk = doc[DJANGO_ID][0]
        values = {}
        for name, info in self.fields.items():
            if not info.stored or name not in doc:
                if info.multi and info.stored:
                    values[name] = []
                elif info.stored:
                    values[name] = None
                continue
            raw = doc[name]
            converted = [_from_index(info, v) for v in raw]
            values[name] = converted if info.multi else converted[0]
        if fields:
            wanted = set(fields if isinstance(fields, list | tuple | set) else str(fields).split())
            values = {k: v for k, v in values.items() if k in wanted}
        if terms is not None:
            snippet = highlight(values.get("summary") or "", terms) or highlight(values.get("title") or "", terms)
            values["highlighted"] = {self.content_field_name: [snippet] if snippet else []}
        klass = result_class or SearchResult
        return klass(app_label, model_name, pk, float(score) if order_field is None else 0.0, **values)

    def _highlight_terms(self, user_text: str):
        positive, _negative = _split_user_query(user_text)
        words = analysis.query_tokens(positive)
        terms = set()
        for word, alternatives in zip(words, analysis.expand(words), strict=True):
            terms.update(alternatives)
            terms.update(p for p in analysis.subwords(word) if len(p) > 1)
        return match_pattern(terms)

    def _facets(self, searcher, query, facets, query_facets) -> dict:
        out = {}
        if facets:
            aggs = {}
            for requested, options in facets.items():
                info = self.resolve(requested)
                if not info.faceted:
                    raise SearchBackendError(f"'{requested}' is not a faceted field.")
                size = int((options or {}).get("limit") or (options or {}).get("size") or 100)
                # Segments report many more terms than asked, so the merged top counts are exact.
                aggs[requested] = {
                    "terms": {"field": info.name, "size": max(size, 1), "segment_size": max(10 * size, 1000)}
                }
            answer = searcher.aggregate(query, aggs)
            fields_out = {}
            for requested in facets:
                buckets = answer.get(requested, {}).get("buckets", [])
                mincount = int((facets[requested] or {}).get("mincount") or 1)
                fields_out[requested] = [(b["key"], b["doc_count"]) for b in buckets if b["doc_count"] >= mincount]
            out["fields"] = fields_out
            out.setdefault("dates", {})
            out.setdefault("queries", {})
        if query_facets:
            queries_out = {}
            for field_name, facet_query in query_facets:
                narrowed = self.query_from_string(f"{field_name}:{facet_query}")
                both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, narrowed)])
                queries_out[f"{field_name}_{facet_query}"] = searcher.search(both, limit=1, count=True).count
            out.setdefault("fields", {})
            out.setdefault("dates", {})
            out["queries"] = queries_out
        return out

    # ------------------------------------------------------------------ suggestions, mlt

    def suggester(self, searcher) -> Suggester:
        """The vocabulary of the last commit, rebuilt at most every SUGGESTER_MAX_AGE_S seconds.

        Words found in one listing only are left out (a typo in a listing is not a suggestion)."""
        store = self.store
        fresh = store.suggester_generation == store.generation
        young = time.monotonic() - store.suggester_built < SUGGESTER_MAX_AGE_S
        if store.suggester is None or not (fresh or young):
            vocabulary = Counter(dict.fromkeys(analysis.domain_term_set(), 1))
            for term, freq in searcher.terms_with_prefix(self.content_field_name, "", limit=None):
                if freq >= 2:
                    vocabulary[term] += freq
            store.suggester = Suggester(vocabulary, curated=analysis.domain_term_set())
            store.suggester_generation = store.generation
            store.suggester_built = time.monotonic()
        return store.suggester

    def suggest(self, searcher, text: str) -> str | None:
        positive, _negative = _split_user_query(force_str(text))
        return self.suggester(searcher).suggest(positive)

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
        from haystack import connections

        self._ensure_setup()
        model = model_instance._meta.concrete_model
        index = connections[self.connection_alias].get_unified_index().get_index(model)
        text = index.full_prepare(model_instance)[self.content_field_name]
        searcher = self.store.searcher()
        query = self._mlt_query(searcher, text)
        if query is None:
            return {"results": [], "hits": 0}
        filters = self._filters(None, models, limit_to_registered_models)
        filters.append(_negate(self._term(ID, get_identifier(model_instance))))
        query_tree = kwargs.pop("query_tree", None)
        extra = self.query_from_node(query_tree) if query_tree is not None else None
        if extra is None and additional_query_string and additional_query_string != "*":
            extra = self.query_from_string(additional_query_string)
        if extra is not None:
            filters.append(extra)
        return self._run(
            self._combine(query, filters),
            start_offset=start_offset,
            end_offset=end_offset,
            result_class=result_class,
        )

    def _mlt_query(self, searcher, text: str, max_terms: int = 25) -> tantivy.Query | None:
        """The listing's most distinctive words (tf·idf), each a should-clause weighted by it."""
        counts = Counter(t for t in text.split() if len(t) > 1)
        total = max(searcher.num_docs, 1)
        weighted = []
        for term, tf in counts.items():
            df = searcher.doc_freq(self.content_field_name, term)
            if df <= 0 or df > total * 0.5:
                continue
            weighted.append((math.log1p(tf) * math.log(1 + total / df), term))
        weighted.sort(reverse=True)
        if not weighted:
            return None
        clauses = [
            (tantivy.Occur.Should, tantivy.Query.boost_query(self._term(self.content_field_name, term), weight))
            for weight, term in weighted[:max_terms]
        ]
        return tantivy.Query.boolean_query(clauses)

    # ------------------------------------------------------------------ facts

    def document_count(self) -> int:
        self._ensure_setup()
        return self.store.searcher().num_docs


class EmbeddedSearchQuery(BaseSearchQuery):
    """Hands the backend haystack's SQ tree itself; the string form exists for logs and narrow()."""

    def build_query_fragment(self, field, filter_type, value):
        if isinstance(value, BaseInput):
            text = force_str(value.query_string)
        elif isinstance(value, list | tuple | set) and filter_type in ("in", "range"):
            text = None
        else:
            text = force_str(value)
        if field == "content":
            return f"({text})"
        if filter_type == "in":
            return f"{field}:({' OR '.join(_quote(v) for v in value)})"
        if filter_type == "range":
            return f"{field}:[{_quote(value[0])} TO {_quote(value[1])}]"
        if filter_type in ("gt", "gte"):
            return f"{field}:[{_quote(value)} TO *]"
        if filter_type in ("lt", "lte"):
            return f"{field}:[* TO {_quote(value)}]"
        return f"{field}:{_quote(text)}"

    def matching_all_fragment(self):
        return "*"

    def _user_text(self) -> str | None:
        """The words the user typed (content / AutoQuery values), for highlights and suggestions."""
        found = []

        def walk(node):
            for child in node.children:
                if isinstance(child, SearchNode):
                    if not child.negated:
                        walk(child)
                    continue
                expression, value = child
                name = expression.split("__")[0]
                if name in ("content", "text") and not isinstance(value, Not):
                    found.append(force_str(value.query_string if isinstance(value, BaseInput) else value))

        walk(self.query_filter)
        return " ".join(found) or None

    def run(self, spelling_query=None, **kwargs):
        final_query = self.build_query()
        search_kwargs = self.build_params(spelling_query=spelling_query)
        search_kwargs["query_tree"] = self.query_filter
        search_kwargs["user_text"] = self._user_text()
        search_kwargs.update(kwargs)
        results = self.backend.search(final_query, **search_kwargs)
        self._results = results.get("results", [])
        self._hit_count = results.get("hits", 0)
        self._facet_counts = self.post_process_facets(results)
        self._spelling_suggestion = results.get("spelling_suggestion", None)

    def run_mlt(self, **kwargs):
        kwargs.setdefault("query_tree", self.query_filter)
        super().run_mlt(**kwargs)

    def get_spelling_suggestion(self, preferred_query=None):
        if preferred_query is not None or self._spelling_suggestion is None:
            self.run(spelling_query=preferred_query, want_spelling=True)
        return super().get_spelling_suggestion(preferred_query)


class EmbeddedEngine(BaseEngine):
    backend = EmbeddedSearchBackend
    query = EmbeddedSearchQuery


# ---------------------------------------------------------------------- helpers


def _sort_field(name: str, descending: bool = False) -> str:
    return f"_sort_desc_{name}" if descending else f"_sort_{name}"


def _add_sort_fields(builder: tantivy.SchemaBuilder, name: str) -> None:
    builder.add_float_field(_sort_field(name), fast=True)
    builder.add_float_field(_sort_field(name, descending=True), fast=True)


def _add_sort_keys(doc: tantivy.Document, name: str, value: float | None) -> None:
    doc.add_float(_sort_field(name), SORT_MISSING_LAST if value is None else value)
    doc.add_float(_sort_field(name, descending=True), SORT_MISSING_LAST if value is None else -value)


def _utc(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC)


def _bool_text(value) -> str:
    if isinstance(value, str):
        return "true" if value.strip().lower() in ("1", "true", "yes", "on") else "false"
    return "true" if value else "false"


def _from_index(info: FieldInfo, value):
    if info.kind == BOOL:
        return value == "true"
    if info.kind == DATE and isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
    return value


def _coerce(info: FieldInfo, text: str):
    if info.kind == INT:
        return int(float(text))
    if info.kind == FLOAT:
        return float(text)
    if info.kind == DATE:
        return _utc(text)
    return text


def _negate(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, tantivy.Query.all_query()), (tantivy.Occur.MustNot, query)]
    )


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries], minimum_number_should_match=1)


def _quote(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return f'"{value.isoformat()}"'
    text = force_str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _edge_grams(text: str) -> str:
    """Prefixes of the whole title and of each of its words, so 青稞 finds 青稞酒酿造工艺 and 高原青稞…"""
    grams: set[str] = set()
    first, _sep, rest = text.partition(" ")
    title = analysis.normalise(first).strip()
    grams.update(title[:i] for i in range(1, min(len(title), AUTO_MAX_PREFIX) + 1))
    words = analysis.tokens(first) + [analysis.normalise(w) for w in rest.split()]
    for word in words:
        grams.update(word[:i] for i in range(1, min(len(word), AUTO_MAX_PREFIX) + 1))
    return " ".join(g for g in grams if g.strip())


_QUOTED = re.compile(r'(-?)"([^"]*)"|(\S+)')


def _split_user_query(text: str) -> tuple[str, str]:
    """User text minus its '-excluded' words, and those words."""
    positive, negative = [], []
    for match in _QUOTED.finditer(text or ""):
        if match.group(2) is not None:
            (negative if match.group(1) else positive).append(match.group(2))
        else:
            word = match.group(3)
            if word.startswith("-") and len(word) > 1:
                negative.append(word[1:])
            else:
                positive.append(word)
    return " ".join(positive), " ".join(negative)


_CLAUSE = re.compile(
    r"""\s*(?P<neg>-|NOT\s+)?(?P<field>[A-Za-z_][A-Za-z0-9_]*):
        (?:\[(?P<low>"[^"]*"|[^\s\]]+)\s+TO\s+(?P<high>"[^"]*"|[^\s\]]+)\]
          |\((?P<group>[^)]*)\)
          |"(?P<quoted>(?:[^"\\]|\\.)*)"
          |(?P<bare>[^\s()"]+))
        \s*(?:AND\s+)?""",
    re.VERBOSE,
)
_GROUP_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)')


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return re.sub(r"\\(.)", r"\1", text)


def _parse_field_clauses(query_string: str):
    """Parse `field:"v"`, `field:v`, `field:("a" OR "b")`, `field:[a TO b]`, joined by spaces/AND.

    Returns None when the string is not made of such clauses (then it is user text)."""
    clauses, pos = [], 0
    while pos < len(query_string):
        match = _CLAUSE.match(query_string, pos)
        if not match or match.end() == pos:
            return None
        negated = bool(match.group("neg"))
        if match.group("low") is not None:
            clauses.append(
                (match.group("field"), [], negated, (_unquote(match.group("low")), _unquote(match.group("high"))))
            )
        elif match.group("group") is not None:
            items = [
                re.sub(r"\\(.)", r"\1", m.group(1)) if m.group(1) is not None else m.group(2)
                for m in _GROUP_ITEM.finditer(match.group("group"))
            ]
            values = [v for v in items if v not in ("OR", "or")]
            if not values:
                return None
            clauses.append((match.group("field"), values, negated, None))
        elif match.group("quoted") is not None:
            clauses.append((match.group("field"), [re.sub(r"\\(.)", r"\1", match.group("quoted"))], negated, None))
        else:
            clauses.append((match.group("field"), [match.group("bare")], negated, None))
        pos = match.end()
    return clauses or None


__all__ = ["EmbeddedEngine", "EmbeddedSearchBackend", "EmbeddedSearchQuery"]
