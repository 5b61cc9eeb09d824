"""The haystack indexes: one set for every backend (embedded engine, cluster, the Whoosh peer).

Only public listings are indexed (``published()``). Field names are a contract shared by the
search page, the API, evaluate_search and matching — see docs/search.md.

- ``text`` is pre-analysed (search.analysis.analyze): the title is repeated for weight, then the
  summary, description, benefits, keywords, organisation name, vocabulary labels and patent numbers.
- Facet fields hold codes (``agriculture``, ``clean_energy``, ``lt_100k``) and are never tokenised;
  the pages translate codes to labels.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation
from haystack import indexes

from listings.models import Need, Technology

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


def _labels(*labels) -> list[str]:
    """Chinese labels of vocabulary codes, so a query for 农业 or 清洁能源 finds them."""
    with translation.override("zh-hans"):
        return [str(label) for label in labels if label]


def _autocomplete_terms(title: str, text: str) -> str:
    """The title, then the domain words that occur in the listing (for prefix suggestions)."""
    present = set(analysis.tokens(text))
    terms = [t for t in analysis.domain_terms() if analysis.normalise(t) in present]
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
        return sorted(tag.code for tag in obj.tags.all())

    def prepare_aid(self, obj) -> bool:
        return obj.is_aid

    def prepare_title_auto(self, obj) -> str:
        return _autocomplete_terms(obj.title, self._raw_text(obj))

    def prepare_text(self, obj) -> str:
        return analysis.analyze(self._raw_text(obj))

    def _raw_text(self, obj) -> str:
        raise NotImplementedError


class TechnologyIndex(ListingIndex, indexes.Indexable):
    kind_code = "technology"

    def get_model(self):
        return Technology

    def index_queryset(self, using=None):
        return (
            Technology.objects.published()
            .select_related("organisation")
            .prefetch_related("tags", "transfer_modes", "ip_records")
            .order_by("pk")
        )

    def read_queryset(self, using=None):
        return Technology.objects.select_related("organisation").prefetch_related("tags", "transfer_modes")

    def prepare_summary(self, obj) -> str:
        return obj.summary

    def prepare_maturity(self, obj) -> str:
        return obj.maturity

    def prepare_modes(self, obj) -> list[str]:
        return sorted(mode.code for mode in obj.transfer_modes.all())

    def prepare_price_band(self, obj) -> str:
        return price_band(obj.price_cny)

    def prepare_price(self, obj) -> float | None:
        return float(obj.price_cny) if obj.price_cny is not None else None

    def prepare_trl(self, obj) -> int:
        return obj.trl

    def prepare_county(self, obj) -> None:
        return None

    def _raw_text(self, obj) -> str:
        parts = [obj.title] * TITLE_WEIGHT
        parts += [obj.summary, obj.description, obj.benefits]
        parts += [obj.keywords] * KEYWORD_WEIGHT
        parts.append(obj.organisation.name)
        parts += _labels(obj.get_field_display(), obj.get_maturity_display(), *(t.label for t in obj.tags.all()))
        parts += [f"{ip.number} {ip.title}" for ip in obj.ip_records.all()]
        return "\n".join(p for p in parts if p)


class NeedIndex(ListingIndex, indexes.Indexable):
    kind_code = "need"

    def get_model(self):
        return Need

    def index_queryset(self, using=None):
        return (
            Need.objects.published()
            .select_related("organisation")
            .prefetch_related("tags", "desired_modes")
            .order_by("pk")
        )

    def read_queryset(self, using=None):
        return Need.objects.select_related("organisation").prefetch_related("tags", "desired_modes")

    def prepare_summary(self, obj) -> str:
        return obj.description[:300]

    def prepare_maturity(self, obj) -> str | None:
        return obj.min_maturity or None

    def prepare_modes(self, obj) -> list[str]:
        return sorted(mode.code for mode in obj.desired_modes.all())

    def prepare_price_band(self, obj) -> str:
        return price_band(obj.budget_cny)

    def prepare_price(self, obj) -> float | None:
        return float(obj.budget_cny) if obj.budget_cny is not None else None

    def prepare_trl(self, obj) -> None:
        return None

    def prepare_county(self, obj) -> str:
        return obj.county

    def _raw_text(self, obj) -> str:
        parts = [obj.title] * TITLE_WEIGHT
        parts.append(obj.description)
        parts.append(obj.organisation.name)
        parts += _labels(obj.get_field_display(), obj.get_county_display(), *(t.label for t in obj.tags.all()))
        return "\n".join(p for p in parts if p)
