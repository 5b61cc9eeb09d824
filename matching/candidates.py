"""Candidate generation through the search backend (haystack's SearchQuerySet, whichever engine is configured).

A need's key terms (ranking.key_terms) become one OR query over the technology index: every
technology containing any of them — the word, a synonym or its parts, as the backend expands them —
is a candidate, and the engine's BM25 score becomes the re-ranker's text feature. The reverse
(a technology's key terms over the need index) finds the needs to refresh when a technology changes.

When the engine is unreachable (search.backends.SearchUnavailable) candidates come from the database
instead: listings containing one of the strongest terms, with no text score. The ranking says so.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q
from haystack.query import SQ, SearchQuerySet

from listings.models import Need, Technology
from search.backends import SearchUnavailable

from .ranking import Term, is_known

logger = logging.getLogger(__name__)

CANDIDATES = 100
NEED_CANDIDATES = 30
DB_FALLBACK_TERMS = 6
DB_FALLBACK_LIMIT = 300


@dataclass
class Hits:
    scores: dict[int, float]  # pk → engine score, best first
    engine: bool = True  # False: the engine was unreachable, these come from the database


MAX_CLAUSES = 48


def query_words(terms: Sequence[Term], *, concepts: bool = True) -> list[str]:
    """The words sent to the engine: the key terms, then words of the same concept (single words only)."""
    words = [t.word for t in terms if is_known(t.word)]
    if concepts:
        for term in terms:
            words += sorted(w for w in term.related if " " not in w and is_known(w))
    return list(dict.fromkeys(words))[:MAX_CLAUSES]


def _or_query(terms: Sequence[Term], *, concepts: bool = True) -> SQ | None:
    clauses = [SQ(content=word) for word in query_words(terms, concepts=concepts)]
    return functools.reduce(operator.or_, clauses) if clauses else None


def _engine_hits(
    model, terms: Sequence[Term], *, limit: int, using: str | None, concepts: bool = True
) -> dict[int, float]:
    query = _or_query(terms, concepts=concepts)
    if query is None:
        return {}
    sqs = SearchQuerySet(using=using).models(model).filter(query)
    scores: dict[int, float] = {}
    for result in sqs[:limit]:
        if result is None:  # a stale index entry the backend could not resolve
            continue
        scores.setdefault(int(result.pk), float(result.score or 0.0))
    return scores


def _database_hits(model, terms: Sequence[Term], *, limit: int) -> dict[int, float]:
    strongest = [t.word for t in terms[:DB_FALLBACK_TERMS]]
    if not strongest:
        return {}
    text_fields = ("title", "summary", "keywords", "description") if model is Technology else ("title", "description")
    condition = functools.reduce(
        operator.or_, (Q(**{f"{name}__icontains": word}) for word in strongest for name in text_fields)
    )
    pks = model.objects.published().filter(condition).order_by("-published_at", "-pk").values_list("pk", flat=True)
    return dict.fromkeys(pks[:limit], 0.0)


def _hits(model, terms: Sequence[Term], *, limit: int, using: str | None, concepts: bool = True) -> Hits:
    try:
        return Hits(_engine_hits(model, terms, limit=limit, using=using, concepts=concepts))
    except SearchUnavailable:
        logger.warning("matching: search engine unreachable, candidates from the database")
        return Hits(_database_hits(model, terms, limit=limit), engine=False)


def technology_hits(
    terms: Sequence[Term], *, limit: int = CANDIDATES, using: str | None = None, concepts: bool = True
) -> Hits:
    """concepts=False: the key terms only (the BM25 baseline of evaluate_matching)."""
    return _hits(Technology, terms, limit=limit, using=using, concepts=concepts)


def need_hits(terms: Sequence[Term], *, limit: int = NEED_CANDIDATES, using: str | None = None) -> Hits:
    return _hits(Need, terms, limit=limit, using=using)
