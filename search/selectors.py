"""Reads of the search page, the search API, evaluate_search and the benchmark: one code path.

``search_listings`` asks the configured haystack backend (embedded engine, or the cluster when
SEARCH_URL is set) through SearchQuerySet; when the engine is unavailable it answers from the
database instead (``icontains`` over the public listings: still correct, slower, simpler ranking)
and says so (``degraded=True`` and a message the page shows).

Facets are disjunctive: values of one facet combine with OR, facets with AND, and the counts of a
facet are taken with every filter except its own (so ticking 农业 still shows how many 能源 there
are). That costs one extra engine query per facet that has a selection.

Highlights are built here from the stored title and summary (search.backends.highlight): the text
is HTML-escaped and only our own <em> tags are added, whatever the listing contains.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from haystack.constants import DEFAULT_ALIAS
from haystack.query import SQ, SearchQuerySet

from listings.models import Need, Technology
from listings.vocab import Field, Maturity, ModeCode, TagCode
from marketplace.accounts.models import Organisation

from . import analysis
from .backends import SearchError, SearchUnavailable
from .backends.highlight import highlight, match_pattern
from .search_indexes import PRICE_BANDS, price_band

log = logging.getLogger(__name__)

TECHNOLOGY, NEED = "technology", "need"
KINDS = (TECHNOLOGY, NEED)
KIND_LABELS = {TECHNOLOGY: _("科技成果"), NEED: _("技术需求")}

RELEVANCE, NEWEST, PRICE_ASC, PRICE_DESC = "relevance", "newest", "price_asc", "price_desc"
SORTS = {
    RELEVANCE: _("相关度"),
    NEWEST: _("最新"),
    PRICE_ASC: _("价格从低到高"),
    PRICE_DESC: _("价格从高到低"),
}
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100
# A query with fewer hits than this also asks the engine for a "did you mean".
SUGGEST_BELOW = 3
AUTOCOMPLETE_LIMIT = 8

# The region filter value meaning the paired aid provinces together (as on the listing pages).
AID = "aid"
AID_REGIONS = (Organisation.Region.BEIJING.value, Organisation.Region.JIANGSU.value)

NEGOTIABLE = "negotiable"
PRICE_BAND_LABELS = {
    NEGOTIABLE: _("面议"),
    "lt_100k": _("10 万元以下"),
    "100k_500k": _("10–50 万元"),
    "500k_1m": _("50–100 万元"),
    "1m_5m": _("100–500 万元"),
    "ge_5m": _("500 万元及以上"),
}

# Facet name → (title, {code: label}) in display order.
FACETS: dict[str, tuple[Any, dict[str, Any]]] = {
    "field": (_("技术领域"), dict(Field.choices)),
    "tags": (_("特色产业"), dict(TagCode.choices)),
    "maturity": (_("成熟度"), dict(Maturity.choices)),
    "modes": (_("转化方式"), dict(ModeCode.choices)),
    "region": (_("来源地区"), {AID: _("援藏省份(北京、江苏)"), **dict(Organisation.Region.choices)}),
    "price_band": (_("价格区间"), PRICE_BAND_LABELS),
}
FACET_NAMES = tuple(FACETS)


# ------------------------------------------------------------------ results


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    name: str
    label: str
    values: list[FacetValue]

    @property
    def has_selection(self) -> bool:
        return any(v.selected for v in self.values)


@dataclass
class Hit:
    kind: str
    pk: int
    url: str
    title: str
    title_html: SafeString
    snippet_html: SafeString
    organisation_id: int
    organisation: str
    region: str
    region_label: str
    aid: bool
    field: str
    field_label: str
    maturity: str
    maturity_label: str
    trl: int | None
    price: Decimal | None
    price_display: str
    price_band: str
    tags: list[str]
    modes: list[str]
    published_at: datetime | None
    score: float | None
    kind_label: str = ""
    tag_labels: list[str] = field(default_factory=list)
    mode_labels: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    q: str
    kind: str
    filters: dict[str, list[str]]
    sort: str
    page: int
    page_size: int
    total: int
    hits: list[Hit]
    facets: list[Facet]
    # Page 1 only, when fewer hits than a page: listings matching some of the words (or a part of a
    # long word) — shown apart, after the hits, as partial matches.
    related: list[Hit] = field(default_factory=list)
    suggestion: str | None = None
    # When nothing matched what was typed but the suggestion did, these are the suggestion's results.
    corrected_from: str | None = None
    degraded: bool = False
    message: str = ""

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def filtered(self) -> bool:
        return any(self.filters.values())

    @property
    def page_numbers(self) -> list[int | None]:
        """Pages to link: the first, the last and two around the current one; None marks a gap."""
        shown = sorted({1, self.pages, *range(max(1, self.page - 2), min(self.pages, self.page + 2) + 1)})
        out: list[int | None] = []
        for number in shown:
            if out and number - (out[-1] or 0) > 1:
                out.append(None)
            out.append(number)
        return out


@dataclass
class Suggestion:
    text: str
    kind: str  # "term", "technology" or "need"
    url: str = ""


@dataclass
class AutocompleteResult:
    q: str
    suggestions: list[Suggestion] = field(default_factory=list)
    degraded: bool = False


# ------------------------------------------------------------------ entry points


def search_listings(
    *,
    q: str = "",
    kind: str = "",
    filters: Mapping[str, Iterable[str]] | None = None,
    sort: str = RELEVANCE,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> SearchResult:
    """Public technologies and/or needs matching ``q`` and the facet filters, one page of them.

    ``filters`` maps facet names (FACET_NAMES) to codes; unknown names or codes raise ValueError
    (the page and the API validate first). ``kind`` is "technology", "need" or "" for both.
    """
    q = " ".join((q or "").split())[:MAX_QUERY_LENGTH]
    kind = _check_kind(kind)
    clean = clean_filters(filters or {})
    sort = sort if sort in SORTS else RELEVANCE
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    try:
        return _engine_search(q=q, kind=kind, filters=clean, sort=sort, page=page, page_size=page_size)
    except (SearchUnavailable, SearchError) as exc:
        # SearchError is a refused request (our bug, or a query the engine cannot parse): the user
        # still gets an answer, and the log has the reason.
        level = logging.WARNING if isinstance(exc, SearchUnavailable) else logging.ERROR
        log.log(level, "search engine failed, answering from the database: %s", exc, exc_info=True)
        return _database_search(q=q, kind=kind, filters=clean, sort=sort, page=page, page_size=page_size)


def autocomplete(prefix: str, *, limit: int = AUTOCOMPLETE_LIMIT) -> AutocompleteResult:
    """Domain terms and listing titles that begin with what was typed (terms first)."""
    prefix = " ".join((prefix or "").split())[:MAX_QUERY_LENGTH]
    result = AutocompleteResult(q=prefix)
    if not prefix:
        return result
    folded = analysis.normalise(prefix)
    seen: set[str] = set()
    for term in analysis.domain_terms():
        if len(result.suggestions) >= limit // 2:
            break
        if analysis.normalise(term).startswith(folded) and term not in seen:
            seen.add(term)
            result.suggestions.append(Suggestion(text=term, kind="term"))
    try:
        titles = _engine_titles(prefix, limit)
    except (SearchUnavailable, SearchError) as exc:
        log.warning("autocomplete answered from the database: %s", exc)
        result.degraded = True
        titles = _database_titles(prefix, limit)
    for kind, pk, title in titles:
        if len(result.suggestions) >= limit:
            break
        if title not in seen:
            seen.add(title)
            result.suggestions.append(Suggestion(text=title, kind=kind, url=_listing_url(kind, pk)))
    return result


# ------------------------------------------------------------------ input


def _check_kind(kind: str) -> str:
    kind = (kind or "").strip()
    if kind and kind not in KINDS:
        raise ValueError(f"unknown kind: {kind!r}")
    return kind


def clean_filters(filters: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Facet name → sorted distinct codes; raises ValueError naming an unknown facet or code."""
    clean: dict[str, list[str]] = {}
    for name, values in filters.items():
        if name not in FACETS:
            raise ValueError(f"unknown facet: {name!r}")
        if isinstance(values, str):
            values = [values]
        codes = sorted({str(v) for v in values if v not in (None, "")})
        unknown = [c for c in codes if c not in FACETS[name][1]]
        if unknown:
            raise ValueError(f"unknown {name}: {', '.join(unknown)}")
        if codes:
            clean[name] = codes
    return clean


def _models(kind: str) -> list[type]:
    return {TECHNOLOGY: [Technology], NEED: [Need]}.get(kind, [Technology, Need])


_URL_NAMES = {TECHNOLOGY: "listings:technology_detail", NEED: "listings:need_detail"}
_PK_SLOT = 987_654_321_987


def _listing_url(kind: str, pk: int, *, patterns: dict[str, str] | None = None) -> str:
    """The detail page; ``patterns`` (from _url_patterns) saves a reverse() per hit on a results page."""
    if patterns is not None:
        return patterns[kind].replace(str(_PK_SLOT), str(int(pk)))
    return reverse(_URL_NAMES[kind], kwargs={"pk": pk})


def _url_patterns() -> dict[str, str]:
    return _url_patterns_for(get_script_prefix(), translation.get_language() or "")


@functools.lru_cache(maxsize=16)
def _url_patterns_for(_prefix: str, _language: str) -> dict[str, str]:
    return {kind: reverse(name, kwargs={"pk": _PK_SLOT}) for kind, name in _URL_NAMES.items()}


def _region_codes(values: list[str]) -> list[str]:
    codes = set(values) - {AID}
    if AID in values:
        codes.update(AID_REGIONS)
    return sorted(codes)


def match_terms(q: str) -> list[str]:
    """The words a query can match in a listing: its words, their synonyms and their parts."""
    words = analysis.query_tokens(q)
    terms = [alt for alternatives in analysis.expand(words) for alt in alternatives]
    terms += [part for word in words for part in analysis.subwords(word)]
    return list(dict.fromkeys(t for t in terms if t))


# ------------------------------------------------------------------ the engine


def _base_queryset(*, q: str, kind: str, using: str = DEFAULT_ALIAS) -> SearchQuerySet:
    sqs = SearchQuerySet(using=using).models(*_models(kind))
    return sqs.auto_query(q) if q else sqs


def _narrow(sqs: SearchQuerySet, filters: dict[str, list[str]], *, skip: str = "") -> SearchQuerySet:
    for name, values in filters.items():
        if name == skip:
            continue
        codes = _region_codes(values) if name == "region" else values
        sqs = sqs.filter(**{f"{name}__in": codes})
    return sqs


def _ordered(sqs: SearchQuerySet, *, sort: str, q: str) -> SearchQuerySet:
    if sort == NEWEST or (sort == RELEVANCE and not q):
        return sqs.order_by("-published_at")
    if sort == PRICE_ASC:
        return sqs.order_by("price")
    if sort == PRICE_DESC:
        return sqs.order_by("-price")
    return sqs


def _with_facets(sqs: SearchQuerySet, names: Iterable[str]) -> SearchQuerySet:
    for name in names:
        sqs = sqs.facet(name, size=100)
    return sqs


@dataclass
class EngineAnswer:
    """What the engine said for one search page, before anything is read from the database."""

    q: str
    page: int
    total: int
    rows: list
    related: list
    counts: dict[str, dict[str, int]]
    suggestion: str | None = None
    corrected_from: str | None = None


def engine_answer(
    *, q, kind, filters, sort, page, page_size, using: str = DEFAULT_ALIAS, correct: bool = True
) -> EngineAnswer:
    """Every engine request the search page needs, and nothing else (bench/search.py times this as "engine").

    The page of hits with the facet counts, the partial matches (page 1) and the disjunctive counts of
    each facet with a selection are independent queries: a backend that can (the cluster: one
    ``_msearch``) answers them in one round trip; the embedded engine runs them in-process, the
    partial matches only when the hits do not fill the page.
    """
    base = _base_queryset(q=q, kind=kind, using=using)
    sqs = _ordered(_with_facets(_narrow(base, filters), FACET_NAMES), sort=sort, q=q)
    start = (page - 1) * page_size
    main = _limited(sqs, start, start + page_size)
    # Enough partial matches to fill page 1 whatever the hits: at most page_size of them are hits.
    related = _related_query(q=q, kind=kind, filters=filters, limit=page_size, using=using) if page == 1 else None
    own = {name: _limited(_with_facets(_narrow(base, filters, skip=name), [name]), 0, 1) for name in filters}
    _together([main, *own.values(), *([related] if related is not None else [])])

    rows, total = list(main.get_results()), main.get_count()
    if not rows and total and start:
        # Past the last page (an old link): show the last page instead.
        page = max(1, math.ceil(total / page_size))
        last = (page - 1) * page_size
        main = _limited(sqs, last, last + page_size)
        rows = list(main.get_results())
    suggestion = None
    if q and total < SUGGEST_BELOW and correct:
        suggestion = _engine_suggestion(q, using=using)
        if suggestion and total == 0:
            # Nothing for what was typed: show what the correction finds, and say so.
            corrected = engine_answer(
                q=suggestion,
                kind=kind,
                filters=filters,
                sort=sort,
                page=page,
                page_size=page_size,
                using=using,
                correct=False,
            )
            if corrected.total:
                corrected.corrected_from = q
                return corrected
    counts = _facet_counts(main.get_facet_counts())
    for name, query in own.items():
        # Disjunctive counts: this facet's values as if none of them were ticked.
        counts[name] = _facet_counts(query.get_facet_counts()).get(name, {})
    page = min(page, max(1, math.ceil(total / page_size)))
    partial = []
    if page == 1 and len(rows) < page_size:
        if related is None:  # an old link to a later page that is now page 1
            related = _related_query(q=q, kind=kind, filters=filters, limit=page_size, using=using)
        if related is not None:
            seen = {(r.model_name, int(r.pk)) for r in rows}
            fresh = [r for r in related.get_results() if (r.model_name, int(r.pk)) not in seen]
            partial = fresh[: page_size - len(rows)]
    return EngineAnswer(q=q, page=page, total=total, rows=rows, related=partial, counts=counts, suggestion=suggestion)


def _engine_search(*, q, kind, filters, sort, page, page_size) -> SearchResult:
    answer = engine_answer(q=q, kind=kind, filters=filters, sort=sort, page=page, page_size=page_size)
    return SearchResult(
        q=answer.q,
        kind=kind,
        filters=filters,
        sort=sort,
        page=answer.page,
        page_size=page_size,
        total=answer.total,
        hits=_hits_from_engine(answer.rows, answer.q),
        related=_hits_from_engine(answer.related, answer.q),
        facets=_facets(answer.counts, filters),
        suggestion=answer.suggestion,
        corrected_from=answer.corrected_from,
    )


def _limited(sqs: SearchQuerySet, start: int, stop: int):
    """The haystack query of ``sqs`` for rows start..stop, to run (or hand to _together) directly."""
    query = sqs.query._clone()
    query.set_limits(start, stop)
    return query


def _together(queries: list) -> None:
    """Ask a backend that can answer several queries in one round trip (search_many) to do so now."""
    if len(queries) > 1:
        run_many = getattr(queries[0].backend, "search_many", None)
        if run_many is not None:
            run_many(queries)


def _related_query(*, q: str, kind: str, filters: dict, limit: int, using: str = DEFAULT_ALIAS):
    """Listings matching any word of the query, or any dictionary word inside a long one (制氧机 → 制氧)."""
    if not q:
        return None
    words = analysis.query_tokens(q)
    parts = [part for word in words for part in analysis.subwords(word)]
    terms = list(dict.fromkeys([*(words if len(words) > 1 else []), *parts]))
    if not terms or limit <= 0:
        return None
    either = SQ(content=terms[0])
    for term in terms[1:]:
        either |= SQ(content=term)
    return _limited(_narrow(SearchQuerySet(using=using).models(*_models(kind)).filter(either), filters), 0, limit)


def _engine_suggestion(q: str, *, using: str = DEFAULT_ALIAS) -> str | None:
    query = SearchQuerySet(using=using).auto_query(q)._clone().query
    query.set_limits(0, 1)
    suggestion = query.get_spelling_suggestion(q)
    if not suggestion:
        return None
    suggestion = " ".join(str(suggestion).split())
    return suggestion if analysis.normalise(suggestion) != analysis.normalise(q) else None


def _facet_counts(raw: Mapping | None) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, pairs in ((raw or {}).get("fields") or {}).items():
        counts: Counter = Counter()
        for value, count in pairs or ():
            if value not in (None, ""):
                counts[str(value).lower() if isinstance(value, bool) else str(value)] += int(count)
        out[name] = dict(counts)
    return out


def _database_titles(prefix: str, limit: int) -> list[tuple[str, int, str]]:
    """Titles containing what was typed, those beginning with it first."""
    rows: list[tuple[int, str, int, str]] = []
    for kind, model in ((TECHNOLOGY, Technology), (NEED, Need)):
        qs = model.objects.published().filter(title__icontains=prefix)
        qs = qs.annotate(_starts=Case(When(title__istartswith=prefix, then=Value(0)), default=Value(1)))
        for pk, title, starts in qs.order_by("_starts", "-published_at").values_list("pk", "title", "_starts")[:limit]:
            rows.append((starts, kind, pk, title))
    rows.sort(key=lambda row: row[0])
    return [(kind, pk, title) for _starts, kind, pk, title in rows[:limit]]


def _engine_titles(prefix: str, limit: int) -> list[tuple[str, int, str]]:
    sqs = SearchQuerySet().models(Technology, Need).autocomplete(title_auto=prefix)[:limit]
    return [(r.model_name, int(r.pk), r.title) for r in sqs if getattr(r, "title", None)]


# ------------------------------------------------------------------ shared by both paths


def _facets(counts: dict[str, dict[str, int]], filters: dict[str, list[str]]) -> list[Facet]:
    facets = []
    for name, (label, choices) in _labels().facets.items():
        got = dict(counts.get(name, {}))
        if name == "region":
            got[AID] = sum(got.get(code, 0) for code in AID_REGIONS)
        selected = set(filters.get(name, ()))
        values = [
            FacetValue(value=code, label=text, count=got.get(code, 0), selected=code in selected)
            for code, text in choices
            if got.get(code, 0) or code in selected
        ]
        facets.append(Facet(name=name, label=label, values=values))
    return facets


def _hits_from_engine(results: list, q: str) -> list[Hit]:
    """Hits from the engine's stored fields, in its order.

    One small query per kind checks that each listing is still public (an index entry may lag a
    withdrawal by the time its update task takes) and reads the exact price, for ranges and 面议.
    """
    if not results:
        return []
    wanted: dict[str, list[int]] = {}
    for r in results:
        wanted.setdefault(r.model_name, []).append(int(r.pk))
    prices: dict[tuple[str, int], tuple[Decimal | None, str]] = {}
    if wanted.get(TECHNOLOGY):
        rows = Technology.objects.published().filter(pk__in=wanted[TECHNOLOGY]).order_by()
        display = Technology.price_display.fget  # the model's own wording, without building a model per hit
        for pk, kind_, low, high in rows.values_list("pk", "price_kind", "price_cny", "price_max_cny"):
            price = SimpleNamespace(price_kind=kind_, price_cny=low, price_max_cny=high)
            prices[(TECHNOLOGY, pk)] = (low, display(price))
    if wanted.get(NEED):
        display = Need.budget_display.fget
        needs = Need.objects.published().filter(pk__in=wanted[NEED]).order_by()
        for pk, budget in needs.values_list("pk", "budget_cny"):
            prices[(NEED, pk)] = (budget, display(SimpleNamespace(budget_cny=budget)))
    pattern = match_pattern(match_terms(q)) if q else None
    labels = _labels()
    urls = _url_patterns()
    hits = []
    for r in results:
        kind, pk = r.model_name, int(r.pk)
        priced = prices.get((kind, pk))
        if priced is None:
            continue
        is_tech = kind == TECHNOLOGY
        amount, price_display = priced
        tags, modes = list(r.tags or ()), list(r.modes or ())
        maturity = r.maturity or ""
        hits.append(
            Hit(
                kind=kind,
                pk=pk,
                url=_listing_url(kind, pk, patterns=urls),
                title=r.title,
                title_html=_highlighted(r.title, pattern, whole=True),
                snippet_html=_highlighted(r.summary or "", pattern),
                organisation_id=int(r.org_id),
                organisation=r.organisation,
                region=r.region,
                region_label=labels.regions.get(r.region, r.region),
                aid=r.region in AID_REGIONS,
                field=r.field,
                field_label=labels.fields.get(r.field, r.field),
                maturity=maturity,
                maturity_label=labels.maturities.get(maturity, ""),
                trl=r.trl if is_tech else None,
                price=amount,
                price_display=price_display,
                price_band=price_band(amount),
                tags=tags,
                modes=modes,
                published_at=r.published_at,
                score=getattr(r, "score", None),
                kind_label=labels.kinds[kind],
                tag_labels=[labels.tags.get(code, code) for code in tags],
                mode_labels=[labels.modes.get(code, code) for code in modes],
            )
        )
    return hits


def _highlighted(text: str, pattern, *, whole: bool = False) -> SafeString:
    """Escaped text with the matches in our own <em> tags (search.backends.highlight); a snippet unless whole."""
    marked = highlight(text, pattern, max_chars=10_000 if whole else 120) if pattern is not None else None
    return mark_safe(marked if marked is not None else escape(text if whole else _shorten(text)))  # noqa: S308


class _Labels:
    """Vocabulary labels in the active language, translated once per search rather than once per hit."""

    def __init__(self):
        self.kinds = {code: str(label) for code, label in KIND_LABELS.items()}
        self.fields = {code: str(label) for code, label in Field.choices}
        self.maturities = {code: str(label) for code, label in Maturity.choices}
        self.tags = {code: str(label) for code, label in TagCode.choices}
        self.modes = {code: str(label) for code, label in ModeCode.choices}
        self.regions = {code: str(label) for code, label in Organisation.Region.choices}
        # facet name → (title, [(code, label), …]) in display order
        self.facets = {
            name: (str(title), [(code, str(text)) for code, text in choices.items()])
            for name, (title, choices) in FACETS.items()
        }


@functools.lru_cache(maxsize=8)
def _labels_in(language: str) -> _Labels:
    return _Labels()


def _labels() -> _Labels:
    """The labels of the active language (built once per language and process)."""
    return _labels_in(translation.get_language() or "")


def _links(model, name: str, ids: list[int]) -> dict[int, list[str]]:
    """Codes of a many-to-many vocabulary (tags, modes) per listing, read from the link table in one query."""
    m2m = model._meta.get_field(name)
    own, other = f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"
    codes: dict[int, list[str]] = {}
    for pk, code in m2m.remote_field.through.objects.filter(**{f"{own}__in": ids}).values_list(own, other):
        codes.setdefault(pk, []).append(code)
    return {pk: sorted(values) for pk, values in codes.items()}


def _hydrate(rows: list[tuple[str, int, float | None]], q: str) -> list[Hit]:
    """Hits in the engine's order, from the database (public listings only: a stale index entry is dropped).

    One query per kind for the listings (with their organisation) and one per vocabulary link table.
    """
    if not rows:
        return []
    wanted: dict[str, list[int]] = {}
    for model_name, pk, _score in rows:
        wanted.setdefault(model_name, []).append(pk)
    objects: dict[tuple[str, int], Any] = {}
    for kind, model in ((TECHNOLOGY, Technology), (NEED, Need)):
        ids = wanted.get(kind)
        if not ids:
            continue
        found = model.objects.published().filter(pk__in=ids).select_related("organisation").in_bulk()
        tags = _links(model, "tags", list(found))
        modes = _links(model, "transfer_modes" if model is Technology else "desired_modes", list(found))
        for pk, obj in found.items():
            objects[(kind, pk)] = (obj, tags.get(pk, []), modes.get(pk, []))
    pattern = match_pattern(match_terms(q)) if q else None
    labels = _labels()
    hits = []
    for model_name, pk, score in rows:
        found = objects.get((model_name, pk))
        if found is not None:
            hits.append(_hit(*found, kind=model_name, pattern=pattern, score=score, labels=labels))
    return hits


def _hit(obj, tags: list[str], modes: list[str], *, kind: str, pattern, score, labels: _Labels) -> Hit:
    is_tech = kind == TECHNOLOGY
    summary = obj.summary if is_tech else obj.description
    snippet = None
    if pattern is not None:
        snippet = highlight(summary, pattern) or highlight(obj.description, pattern)
    if snippet is None:
        snippet = escape(_shorten(summary))
    title = highlight(obj.title, pattern, max_chars=10_000) if pattern is not None else None
    amount = obj.price_cny if is_tech else obj.budget_cny
    maturity = (obj.maturity if is_tech else obj.min_maturity) or ""
    return Hit(
        kind=kind,
        pk=obj.pk,
        url=_listing_url(kind, obj.pk),
        title=obj.title,
        # Both are built from escaped text and our own <em> tags only (search.backends.highlight).
        title_html=mark_safe(title or escape(obj.title)),  # noqa: S308
        snippet_html=mark_safe(snippet),  # noqa: S308
        organisation_id=obj.organisation_id,
        organisation=obj.organisation.name,
        region=obj.region,
        region_label=obj.organisation.region_label,
        aid=obj.is_aid,
        field=obj.field,
        field_label=labels.fields.get(obj.field, obj.field),
        maturity=maturity,
        maturity_label=labels.maturities.get(maturity, ""),
        trl=obj.trl if is_tech else None,
        price=amount,
        price_display=obj.price_display if is_tech else obj.budget_display,
        price_band=price_band(amount),
        tags=tags,
        modes=modes,
        published_at=obj.published_at,
        score=score,
        kind_label=labels.kinds[kind],
        tag_labels=[labels.tags.get(code, code) for code in tags],
        mode_labels=[labels.modes.get(code, code) for code in modes],
    )


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------ the database fallback

UNAVAILABLE_MESSAGE = _("检索服务暂时不可用,以下是直接查询数据库的结果:匹配仍然准确,但排序较简单、速度较慢。")


def _database_search(*, q, kind, filters, sort, page, page_size) -> SearchResult:
    querysets = {k: _db_queryset(k, q=q, filters=filters) for k in (kind,) if k} or {
        k: _db_queryset(k, q=q, filters=filters) for k in KINDS
    }
    total = sum(qs.count() for qs in querysets.values())
    pages = max(1, math.ceil(total / page_size))
    page = min(page, pages)
    start = (page - 1) * page_size
    rows = _db_page(querysets, q=q, sort=sort, start=start, stop=start + page_size)
    counts: dict[str, dict[str, int]] = {}
    for name in FACET_NAMES:
        # Disjunctive like the engine: a facet's counts ignore its own selection.
        own = filters if name not in filters else {k: v for k, v in filters.items() if k != name}
        sets = querysets if own is filters else {k: _db_queryset(k, q=q, filters=own) for k in querysets}
        counts[name] = _db_facet(name, sets)
    return SearchResult(
        q=q,
        kind=kind,
        filters=filters,
        sort=sort,
        page=page,
        page_size=page_size,
        total=total,
        hits=_hydrate(rows, q),
        facets=_facets(counts, filters),
        degraded=True,
        message=str(UNAVAILABLE_MESSAGE),
    )


def _db_text_fields(kind: str) -> tuple[str, ...]:
    if kind == TECHNOLOGY:
        return ("title", "summary", "description", "benefits", "keywords", "organisation__name")
    return ("title", "description", "organisation__name")


def _db_queryset(kind: str, *, q: str, filters: dict[str, list[str]]) -> QuerySet:
    model = Technology if kind == TECHNOLOGY else Need
    qs = model.objects.published()
    for word in analysis.query_tokens(q) if q else ():
        # Every word must occur, as itself or as one of its synonyms.
        match = Q()
        for alternative in analysis.expand([word])[0]:
            for name in _db_text_fields(kind):
                match |= Q(**{f"{name}__icontains": alternative})
        if kind == TECHNOLOGY:
            digits = re.sub(r"\D", "", word)
            if len(digits) >= 8:
                match |= Q(pk__in=Technology.objects.filter(ip_records__number__contains=digits).values("pk"))
        qs = qs.filter(match)
    modes = "transfer_modes" if kind == TECHNOLOGY else "desired_modes"
    maturity = "maturity" if kind == TECHNOLOGY else "min_maturity"
    amount = "price_cny" if kind == TECHNOLOGY else "budget_cny"
    for name, values in filters.items():
        if name == "field":
            qs = qs.filter(field__in=values)
        elif name == "maturity":
            qs = qs.filter(**{f"{maturity}__in": values})
        elif name == "region":
            qs = qs.filter(region__in=_region_codes(values))
        elif name == "tags":
            qs = qs.filter(pk__in=model.objects.filter(tags__code__in=values).values("pk"))
        elif name == "modes":
            qs = qs.filter(pk__in=model.objects.filter(**{f"{modes}__code__in": values}).values("pk"))
        elif name == "price_band":
            qs = qs.filter(_price_band_q(amount, values))
    return qs


def _price_band_q(amount: str, bands: list[str]) -> Q:
    match = Q()
    low = None
    for code, high in PRICE_BANDS:
        if code in bands:
            bounds = {f"{amount}__isnull": False}
            if low is not None:
                bounds[f"{amount}__gte"] = low
            if high is not None:
                bounds[f"{amount}__lt"] = high
            match |= Q(**bounds)
        low = high
    if NEGOTIABLE in bands:
        match |= Q(**{f"{amount}__isnull": True})
    return match


def _price_band_case(amount: str) -> Case:
    whens = [When(**{f"{amount}__isnull": True}, then=Value(NEGOTIABLE))]
    for code, high in PRICE_BANDS:
        if high is not None:
            whens.append(When(**{f"{amount}__lt": high}, then=Value(code)))
    return Case(*whens, default=Value(PRICE_BANDS[-1][0]))


def _db_facet(name: str, querysets: dict[str, QuerySet]) -> dict[str, int]:
    counts: Counter = Counter()
    for kind, qs in querysets.items():
        if name == "field":
            column = "field"
        elif name == "region":
            column = "region"
        elif name == "maturity":
            column = "maturity" if kind == TECHNOLOGY else "min_maturity"
        elif name == "tags":
            column = "tags__code"
        elif name == "modes":
            column = "transfer_modes__code" if kind == TECHNOLOGY else "desired_modes__code"
        else:
            amount = "price_cny" if kind == TECHNOLOGY else "budget_cny"
            qs = qs.annotate(_band=_price_band_case(amount))
            column = "_band"
        rows = qs.order_by().values(column).annotate(n=Count("pk", distinct=True))
        for row in rows:
            if row[column]:
                counts[row[column]] += row["n"]
    return dict(counts)


def _db_page(querysets: dict[str, QuerySet], *, q: str, sort: str, start: int, stop: int) -> list:
    """(kind, pk, None) rows of one page, the kinds merged in the requested order."""
    ordered = []
    for kind, qs in querysets.items():
        amount = "price_cny" if kind == TECHNOLOGY else "budget_cny"
        if sort == PRICE_ASC:
            order = [F(amount).asc(nulls_last=True), F("published_at").desc(nulls_last=True), "-pk"]
        elif sort == PRICE_DESC:
            order = [F(amount).desc(nulls_last=True), F("published_at").desc(nulls_last=True), "-pk"]
        elif sort == RELEVANCE and q:
            # Simple relevance: a title containing a word of the query first, then the newest.
            in_title = Q()
            for word in analysis.query_tokens(q):
                for alternative in analysis.expand([word])[0]:
                    in_title |= Q(title__icontains=alternative)
            qs = qs.annotate(
                _in_title=Case(When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField())
            )
            order = ["-_in_title", F("published_at").desc(nulls_last=True), "-pk"]
        else:
            order = [F("published_at").desc(nulls_last=True), "-pk"]
        fields = ["pk", "published_at", amount] + (["_in_title"] if "-_in_title" in order else [])
        for row in qs.order_by(*order).values(*fields)[:stop]:
            ordered.append((kind, row))
    if len(querysets) > 1:
        ordered.sort(key=lambda item: _merge_key(item, sort=sort, q=q))
    return [(kind, row["pk"], None) for kind, row in ordered[start:stop]]


def _merge_key(item: tuple[str, dict], *, sort: str, q: str) -> tuple:
    _kind, row = item
    amount = row.get("price_cny", row.get("budget_cny"))
    newest = -(row["published_at"].timestamp() if row["published_at"] else 0)
    if sort == PRICE_ASC:
        return (amount is None, amount or 0, newest)
    if sort == PRICE_DESC:
        return (amount is None, -(amount or 0), newest)
    if sort == RELEVANCE and q:
        return (-row.get("_in_title", 0), newest)
    return (newest,)
