"""Forms of the payment pages: they parse input; the services check the rules."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from listings.forms import add_service_errors  # noqa: F401 - re-exported for the views

from .models import Payment
from .selectors import payers_for_fees

AMOUNT = {
    "max_digits": 14,
    "decimal_places": 2,
    "min_value": Decimal("0.01"),
    "error_messages": {
        "invalid": _("请输入金额,例如 1200.50"),
        "max_decimal_places": _("金额最多精确到分(两位小数)"),
        "min_value": _("金额必须大于 0"),
    },
}


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ServiceFeeForm(_Form):
    payer = forms.ModelChoiceField(
        label=_("付款机构"),
        queryset=payers_for_fees(),
        error_messages={"invalid_choice": _("请选择平台上的机构"), "required": _("请选择付款机构")},
    )
    fee_kind = forms.ChoiceField(label=_("服务费类别"), choices=Payment.FeeKind.choices)
    amount = forms.DecimalField(label=_("金额(元)"), **AMOUNT)
    title = forms.CharField(label=_("付款事项(可不填)"), max_length=200, required=False)


class RefundForm(_Form):
    amount = forms.DecimalField(label=_("退款金额(元)"), **AMOUNT)
    reason = forms.CharField(label=_("退款原因"), max_length=300)


class ResolveForm(_Form):
    note = forms.CharField(label=_("核查意见"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
