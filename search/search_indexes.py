"""The haystack indexes: one set for every backend (embedded engine, cluster, the Whoosh peer).

Only public listings are indexed (``published()``). Field names are a contract shared by the
search page, the API, evaluate_search and matching — see docs/search.md.

- ``text`` is pre-analysed (search.analysis.analyze): the title is repeated for weight, then the
  summary, description, benefits, keywords, organisation name, vocabulary labels and patent numbers.
- Facet fields hold codes (``agriculture``, ``clean_energy``, ``lt_100k``) and are never tokenised;
  the pages translate codes to labels.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db.models.query import ModelIterable
from django.utils import translation
from haystack import indexes

from listings.models import IPRecord, Need, Technology
from listings.vocab import County, Field, Maturity, TagCode

from . import analysis

TITLE_WEIGHT = 3
KEYWORD_WEIGHT = 2

# Upper bounds (exclusive, CNY) of the price bands; a listing without a price is "negotiable".
PRICE_BANDS = (
    ("lt_100k", Decimal("100000")),
    ("100k_500k", Decimal("500000")),
    ("500k_1m", Decimal("1000000")),
    ("1m_5m", Decimal("5000000")),
    ("ge_5m", None),
)
NEGOTIABLE = "negotiable"
PRICE_BAND_CODES = (NEGOTIABLE, *(code for code, _limit in PRICE_BANDS))


def price_band(amount: Decimal | None) -> str:
    if amount is None:
        return NEGOTIABLE
    for code, limit in PRICE_BANDS:
        if limit is None or amount < limit:
            return code
    raise AssertionError("unreachable: the last band has no limit")


@functools.cache
def _chinese_labels() -> dict[str, str]:
    """Chinese labels of every vocabulary code, so a query for 农业 or 清洁能源 finds them."""
    with translation.override("zh-hans"):
        return {
            f"{vocab.__name__}.{code}": str(label)
            for vocab in (Field, Maturity, TagCode, County)
            for code, label in vocab.choices
        }


def _labels(vocab, *codes) -> list[str]:
    labels = _chinese_labels()
    return [labels[f"{vocab.__name__}.{code}"] for code in codes if code]


class _WithCodes(ModelIterable):
    """Yields listings with their tag / mode codes and patent numbers attached in three flat queries.

    ``prefetch_related`` would build a model instance per tag and mode, which costs more than all
    the rest of indexing; the documents only need the codes."""

    def __iter__(self):
        listings = list(super().__iter__())
        for start in range(0, len(listings), 500):
            _attach_codes(listings[start : start + 500])
        yield from listings


def _attach_codes(listings) -> None:
    if not listings:
        return
    model = type(listings[0])
    by_pk = {obj.pk: obj for obj in listings}
    for obj in listings:
        obj._search_codes = {"tags": [], "modes": [], "ip": []}
    links = [("tags", model.tags.through, "tag_id")]
    if model is Technology:
        links.append(("modes", model.transfer_modes.through, "transfermode_id"))
    else:
        links.append(("modes", model.desired_modes.through, "transfermode_id"))
    owner = f"{model._meta.model_name}_id"
    for key, through, target in links:
        for owner_id, code in through.objects.filter(**{f"{owner}__in": by_pk}).values_list(owner, target):
            by_pk[owner_id]._search_codes[key].append(code)
    if model is Technology:
        rows = IPRecord.objects.filter(technology_id__in=by_pk).values_list("technology_id", "number", "title")
        for owner_id, number, title in rows:
            by_pk[owner_id]._search_codes["ip"].append(f"{number} {title}")
    for obj in listings:
        for codes in obj._search_codes.values():
            codes.sort()


def _codes(obj, key: str) -> list[str]:
    """Codes attached by _WithCodes, or read from the listing (an object that came another way)."""
    cached = getattr(obj, "_search_codes", None)
    if cached is None:
        _attach_codes([obj])
        cached = obj._search_codes
    return cached[key]


def _with_codes(queryset):
    queryset = queryset.all()
    queryset._iterable_class = _WithCodes
    return queryset


class _Prepared:
    """What several fields of one listing share, computed once per document."""

    def __init__(self, parts: list[tuple[str, int]]):
        # Each part is segmented once and its tokens repeated by its weight (the title counts thrice).
        self.tokens = []
        for text, weight in parts:
            if text:
                self.tokens += analysis.tokens(text) * weight


def _autocomplete_terms(title: str, tokens: list[str]) -> str:
    """The title, then the domain words that occur in the listing (for prefix suggestions)."""
    terms = sorted(set(tokens) & analysis.domain_term_set())
    return " ".join([title, *terms])


class ListingIndex(indexes.SearchIndex):
    text = indexes.CharField(document=True)
    title = indexes.CharField(model_attr="title", indexed=False)
    title_auto = indexes.EdgeNgramField()
    summary = indexes.CharField(indexed=False)
    kind = indexes.CharField(faceted=True)
    field = indexes.CharField(model_attr="field", faceted=True)
    tags = indexes.MultiValueField(faceted=True)
    maturity = indexes.CharField(faceted=True, null=True)
    modes = indexes.MultiValueField(faceted=True)
    region = indexes.CharField(model_attr="region", faceted=True)
    aid = indexes.BooleanField(faceted=True)
    price_band = indexes.CharField(faceted=True)
    price = indexes.FloatField(null=True)
    organisation = indexes.CharField(model_attr="organisation__name", faceted=True)
    org_id = indexes.IntegerField(model_attr="organisation_id")
    county = indexes.CharField(faceted=True, null=True)
    published_at = indexes.DateTimeField(model_attr="published_at", null=True)
    trl = indexes.IntegerField(null=True)

    kind_code = ""

    def get_updated_field(self):
        return "updated_at"

    def prepare_kind(self, obj) -> str:
        return self.kind_code

    def prepare_tags(self, obj) -> list[str]:
        return _codes(obj, "tags")

    def prepare_modes(self, obj) -> list[str]:
        return _codes(obj, "modes")

    def prepare_aid(self, obj) -> bool:
        return obj.is_aid

    def prepare_title_auto(self, obj) -> str:
        return _autocomplete_terms(obj.title, self._prepared(obj).tokens)

    def prepare_text(self, obj) -> str:
        return " ".join(self._prepared(obj).tokens)

    def _prepared(self, obj) -> _Prepared:
        cached = getattr(obj, "_search_prepared", None)
        if cached is None:
            cached = obj._search_prepared = _Prepared(self._text_parts(obj))
        return cached

    def full_prepare(self, obj):
        try:
            return super().full_prepare(obj)
        finally:
            # Computed for this document only: an edited object prepared again must not reuse them.
            obj.__dict__.pop("_search_prepared", None)
            obj.__dict__.pop("_search_codes", None)

    def _text_parts(self, obj) -> list[tuple[str, int]]:
        """(text, weight) of everything the full-text field holds."""
        raise NotImplementedError


class TechnologyIndex(ListingIndex, indexes.Indexable):
    kind_code = "technology"

    def get_model(self):
        return Technology

    def index_queryset(self, using=None):
        return _with_codes(Technology.objects.published().select_related("organisation").order_by("pk"))

    def read_queryset(self, using=None):
        return Technology.objects.select_related("organisation").prefetch_related("tags", "transfer_modes")

    def prepare_summary(self, obj) -> str:
        return obj.summary

    def prepare_maturity(self, obj) -> str:
        return obj.maturity

    def prepare_price_band(self, obj) -> str:
        return price_band(obj.price_cny)

    def prepare_price(self, obj) -> float | None:
        return float(obj.price_cny) if obj.price_cny is not None else None

    def prepare_trl(self, obj) -> int:
        return obj.trl

    def prepare_county(self, obj) -> None:
        return None

    def _text_parts(self, obj) -> list[tuple[str, int]]:
        labels = _labels(Field, obj.field) + _labels(Maturity, obj.maturity) + _labels(TagCode, *_codes(obj, "tags"))
        return [
            (obj.title, TITLE_WEIGHT),
            (obj.summary, 1),
            (obj.description, 1),
            (obj.benefits, 1),
            (obj.keywords, KEYWORD_WEIGHT),
            (obj.organisation.name, 1),
            (" ".join(labels), 1),
            (" ".join(_codes(obj, "ip")), 1),
        ]


class NeedIndex(ListingIndex, indexes.Indexable):
    kind_code = "need"

    def get_model(self):
        return Need

    def index_queryset(self, using=None):
        return _with_codes(Need.objects.published().select_related("organisation").order_by("pk"))

    def read_queryset(self, using=None):
        return Need.objects.select_related("organisation").prefetch_related("tags", "desired_modes")

    def prepare_summary(self, obj) -> str:
        return obj.description[:300]

    def prepare_maturity(self, obj) -> str | None:
        return obj.min_maturity or None

    def prepare_price_band(self, obj) -> str:
        return price_band(obj.budget_cny)

    def prepare_price(self, obj) -> float | None:
        return float(obj.budget_cny) if obj.budget_cny is not None else None

    def prepare_trl(self, obj) -> None:
        return None

    def prepare_county(self, obj) -> str:
        return obj.county

    def _text_parts(self, obj) -> list[tuple[str, int]]:
        labels = _labels(Field, obj.field) + _labels(County, obj.county) + _labels(TagCode, *_codes(obj, "tags"))
        return [
            (obj.title, TITLE_WEIGHT),
            (obj.description, 1),
            (obj.organisation.name, 1),
            (" ".join(labels), 1),
        ]
