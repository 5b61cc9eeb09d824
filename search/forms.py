"""The search page's query string: what was typed, the ticked facet values, the sort and the page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors

KIND_CHOICES = [("", _("全部")), *((k, label) for k, label in selectors.KIND_LABELS.items())]


def _facet_field(name: str) -> forms.MultipleChoiceField:
    label, choices = selectors.FACETS[name]
    return forms.MultipleChoiceField(
        label=label,
        required=False,
        choices=list(choices.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("「%(value)s」不是可选的值,请重新勾选")},
    )


class _SharedFields(dict):
    """A form's field definitions, shared by its instances instead of deep-copied for each one.

    Django copies every field of a form per instance so that one request may change its own copy (choices
    narrowed per user, a widget attribute added…). Nothing changes the search form's fields, and copying
    its six vocabularies of choices was a tenth of the search page's own time.
    """

    def __deepcopy__(self, memo):
        return dict(self)


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=selectors.MAX_QUERY_LENGTH,
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "placeholder": _("如:青稞、光伏、藏药")}
        ),
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=KIND_CHOICES)
    field = _facet_field("field")
    tags = _facet_field("tags")
    maturity = _facet_field("maturity")
    modes = _facet_field("modes")
    region = _facet_field("region")
    price_band = _facet_field("price_band")
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=list(selectors.SORTS.items()))
    page = forms.IntegerField(
        label=_("页码"),
        required=False,
        min_value=1,
        max_value=10_000,
        error_messages={"invalid": _("页码应为正整数")},
    )

    def search_kwargs(self) -> dict:
        return search_kwargs(self.cleaned_data)


SearchForm.base_fields = _SharedFields(SearchForm.base_fields)


def search_kwargs(data) -> dict:
    """selectors.search_listings' arguments from validated page or API parameters (absent ones: defaults)."""
    return {
        "q": data.get("q") or "",
        "kind": data.get("kind") or "",
        "filters": {name: data.get(name) or [] for name in selectors.FACET_NAMES},
        "sort": data.get("sort") or selectors.RELEVANCE,
        "page": data.get("page") or 1,
    }
