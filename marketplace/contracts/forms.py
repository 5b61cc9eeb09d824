"""Forms of the contract pages: they parse input; the services and the model validate and save."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from listings.models import Need, Technology
from listings.vocab import County, Field
from marketplace.accounts.models import Organisation
from marketplace.accounts.selectors import organisations_of

from .models import ContractVersion
from .vocab import ContractIPKind, ContractType, EntityKind, PaymentMode

_LINE = re.compile(r"^(?P<head>.+?)[\s,,::]+(?P<amount>[-+]?[\d,,]+(?:\.\d+)?)\s*元?$")


def _blank(choices, label):
    return [("", label), *choices]


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def parse_lines(text: str, what: str, head_name: str) -> list[dict]:
    """`名称 金额` per line (名称 may hold spaces); amounts as text for the service to check."""
    rows = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            raise forms.ValidationError(
                _("%(what)s第 %(n)d 行应为「%(head)s 金额」,如:%(example)s")
                % {"what": what, "n": n, "head": head_name, "example": "检测设备 120000"}
            )
        rows.append({"head": match["head"].strip(), "amount": match["amount"].replace(",", "").replace(",", "")})
    return rows


class ContractForm(_Form):
    organisation = forms.ModelChoiceField(
        label=_("登记机构(卖方)"), queryset=Organisation.objects.none(), empty_label=_("请选择机构")
    )
    contract_type = forms.ChoiceField(label=_("合同类型"), choices=_blank(ContractType.choices, _("请选择")))
    project_name = forms.CharField(label=_("项目名称"), max_length=200)
    buyer_organisation = forms.ModelChoiceField(
        label=_("买方(平台上的机构)"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("买方不在平台上,手工填写"),
    )
    buyer_name = forms.CharField(label=_("买方名称"), max_length=120, required=False)
    buyer_credit_code = forms.CharField(
        label=_("买方统一社会信用代码"), max_length=18, required=False, help_text=_("18 位;自然人可不填")
    )
    buyer_region_code = forms.CharField(
        label=_("买方所在地区代码"),
        max_length=6,
        required=False,
        help_text=_("GB/T 2260 六位代码,如 540102 城关区、540100 拉萨市;平台机构可不填(按信用代码推定)"),
    )
    buyer_kind = forms.ChoiceField(
        label=_("买方主体类型"), choices=_blank(EntityKind.choices, _("请选择")), required=False
    )
    county = forms.ChoiceField(
        label=_("实施县区/园区"),
        choices=_blank(County.choices, _("按需求或买方地址推定")),
        required=False,
    )
    contract_amount = forms.DecimalField(label=_("合同成交额(元)"), max_digits=14, decimal_places=2)
    tech_amount = forms.DecimalField(
        label=_("技术交易额(元)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("合同成交额减去设备、材料等非技术性部分"),
    )
    items = forms.CharField(
        label=_("非技术性部分"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一项:名称 金额,如「检测设备 120000」;合计应等于合同成交额减技术交易额"),
    )
    signed_on = forms.DateField(label=_("签订日期"), widget=forms.DateInput(attrs={"type": "date"}))
    term_start = forms.DateField(label=_("合同期限起"), widget=forms.DateInput(attrs={"type": "date"}))
    term_end = forms.DateField(label=_("合同期限止"), widget=forms.DateInput(attrs={"type": "date"}))
    payment_mode = forms.ChoiceField(label=_("支付方式"), choices=_blank(PaymentMode.choices, _("请选择")))
    payment_schedule = forms.CharField(
        label=_("分期计划"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("分期支付时每行一期:日期 金额,如「2026-06-30 200000」"),
    )
    royalty_rate = forms.DecimalField(
        label=_("提成比例(%)"), max_digits=5, decimal_places=2, required=False, help_text=_("提成支付时填写")
    )
    payment_note = forms.CharField(label=_("支付说明"), max_length=500, required=False)
    field = forms.ChoiceField(label=_("技术领域"), choices=_blank(Field.choices, _("请选择")))
    ip_kind = forms.ChoiceField(label=_("知识产权类型"), choices=_blank(ContractIPKind.choices, _("请选择")))
    technology = forms.ModelChoiceField(
        label=_("来源科技成果"), queryset=Technology.objects.none(), required=False, empty_label=_("无")
    )
    need = forms.ModelChoiceField(
        label=_("来源技术需求"), queryset=Need.objects.none(), required=False, empty_label=_("无")
    )
    expected_investment = forms.DecimalField(
        label=_("预计新增投资(元)"), max_digits=14, decimal_places=2, required=False, help_text=_("技术转让合同必填")
    )
    expected_output = forms.DecimalField(
        label=_("预计新增产值(元)"), max_digits=14, decimal_places=2, required=False, help_text=_("技术转让合同必填")
    )
    scan = forms.FileField(
        label=_("合同扫描件(PDF)"), required=False, help_text=_("签字盖章后的书面合同扫描件;提交登记前必须上传")
    )
    submit = forms.BooleanField(label=_("保存并提交登记"), required=False)

    def __init__(self, *args, user, with_organisation: bool = True, deal=None, **kwargs):
        super().__init__(*args, **kwargs)
        sellers = organisations_of(user=user).filter(kind__in=Organisation.SELLER_KINDS)
        if with_organisation:
            self.fields["organisation"].queryset = sellers
            if deal is not None:
                self.fields["organisation"].queryset = sellers.filter(pk=deal.seller_id)
                self.fields["organisation"].initial = deal.seller_id
            elif sellers.count() == 1:
                self.fields["organisation"].initial = sellers.first().pk
        else:
            del self.fields["organisation"]
        self.fields["buyer_organisation"].queryset = Organisation.objects.verified().exclude(
            kind=Organisation.Kind.BUREAU
        )
        self.fields["technology"].queryset = Technology.objects.filter(organisation__in=sellers)
        self.fields["need"].queryset = Need.objects.published() | Need.objects.filter(
            pk=deal.need_id if deal and deal.need_id else 0
        )
        if deal is not None:
            self.fields["buyer_organisation"].initial = deal.buyer_id
            self.fields["technology"].initial = deal.technology_id
            self.fields["need"].initial = deal.need_id
            self.fields["project_name"].initial = deal.title

    def clean_items(self):
        rows = parse_lines(self.cleaned_data.get("items", ""), _("非技术性部分"), _("名称"))
        return [{"name": row["head"], "amount": row["amount"]} for row in rows]

    def clean_payment_schedule(self):
        rows = parse_lines(self.cleaned_data.get("payment_schedule", ""), _("分期计划"), _("日期"))
        return [{"due": row["head"], "amount": row["amount"]} for row in rows]

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("organisation", "submit"):
            data.pop(name, None)
        if data.get("scan") is None:
            data.pop("scan", None)
        for name in ("buyer_kind", "county"):
            data[name] = data.get(name) or ""
        return data

    @staticmethod
    def initial_for(version: ContractVersion) -> dict:
        initial = {name: getattr(version, name) for name in ContractForm.base_fields if hasattr(version, name)}
        initial.pop("scan", None)
        initial["items"] = "\n".join(f"{i.name} {i.amount}" for i in version.items.all())
        initial["payment_schedule"] = "\n".join(f"{r['due']} {r['amount']}" for r in version.payment_schedule or [])
        for name in ("buyer_organisation", "technology", "need"):
            initial[name] = getattr(version, f"{name}_id")
        return initial


class ReturnForm(_Form):
    reason = forms.CharField(label=_("退回原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ScanForm(_Form):
    scan = forms.FileField(label=_("合同扫描件(PDF)"))


def to_decimal(text) -> Decimal | None:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None
