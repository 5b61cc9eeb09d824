"""The dashboard's filters (one parser for the page, the exports and the API) and the figures form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Indicator
from .selectors import FILTER_DIMENSIONS, TurnoverFilters, default_year, dimension_choices
from .services import MAX_YEAR, MIN_YEAR

FILTER_LABELS = {
    "contract_type": _("合同类型"),
    "field": _("技术领域"),
    "county": _("县区/园区"),
    "seller_region": _("卖方地区"),
    "buyer_kind": _("买方类型"),
}


class TurnoverFilterForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=MIN_YEAR, max_value=MAX_YEAR, required=False)
    quarter = forms.TypedChoiceField(
        label=_("季度"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("全年")), *[(q, _("第 %(q)d 季度") % {"q": q}) for q in range(1, 5)]],
    )
    month = forms.TypedChoiceField(
        label=_("月份"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("全部月份")), *[(m, _("%(m)d 月") % {"m": m}) for m in range(1, 13)]],
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in FILTER_DIMENSIONS:
            self.fields[name] = forms.ChoiceField(
                label=FILTER_LABELS[name], required=False, choices=[("", _("全部")), *dimension_choices(name)]
            )

    def clean(self):
        cleaned = super().clean()
        quarter, month = cleaned.get("quarter"), cleaned.get("month")
        if quarter and month and (month - 1) // 3 + 1 != quarter:
            self.add_error("month", _("%(month)d 月不在第 %(quarter)d 季度内") % {"month": month, "quarter": quarter})
        return cleaned

    def filters(self) -> TurnoverFilters:
        data = self.cleaned_data
        return TurnoverFilters(
            year=data.get("year") or default_year(),
            quarter=data.get("quarter"),
            month=data.get("month"),
            **{name: data.get(name) or "" for name in FILTER_DIMENSIONS},
        )


class YearFiguresForm(forms.Form):
    """Values are kept as text: the service parses them and says which one is wrong."""

    year = forms.IntegerField(label=_("年度"), min_value=MIN_YEAR, max_value=MAX_YEAR)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for code, label in Indicator.choices:
            self.fields[code] = forms.CharField(label=label, required=False, max_length=30)

    def values(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(code, "") for code in Indicator.values}
