"""Forms of the technology and need pages: they parse input; the services validate and save."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.accounts.selectors import organisations_of

from .models import IPRecord, Need, Technology
from .patents import parse_patent_number
from .selectors import AID_REGION_FILTER
from .services import NEED_FIELDS, TECHNOLOGY_FIELDS
from .vocab import County, Field, IPKind, Maturity, ModeCode, PriceKind, TagCode, label_to_code

PATENT_KINDS = (IPKind.INVENTION, IPKind.UTILITY, IPKind.DESIGN)
OTHER_IP_ALIASES = {
    "软著": IPKind.SOFTWARE,
    "著作权": IPKind.SOFTWARE,
    "计算机软件著作权": IPKind.SOFTWARE,
    "布图设计": IPKind.IC_LAYOUT,
    "植物新品种": IPKind.PLANT_VARIETY,
    "专有技术": IPKind.KNOW_HOW,
    "know-how": IPKind.KNOW_HOW,
}
_NUMBER_MAX = IPRecord._meta.get_field("number").max_length
_TITLE_MAX = IPRecord._meta.get_field("title").max_length
_KIND_SEP = re.compile(r"[::]")
_NUMBER_SEP = re.compile(r"\s*[//]\s*")

CHIPS = {"class": "checkbox-list"}
REGION_FILTER_CHOICES = [
    ("", _("全部地区")),
    (AID_REGION_FILTER, _("援藏省市(北京、江苏)")),
    *Organisation.Region.choices,
]


def _with_blank(choices, label):
    return [("", label), *choices]


def _listing_organisations(user):
    """Organisations the user may publish for: their own, the bureau excepted."""
    return organisations_of(user=user).exclude(kind=Organisation.Kind.BUREAU)


def add_service_errors(
    form: forms.Form, exc: ValidationError, aliases: dict | None = None, default_field: str | None = None
) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has that field,
    else on `default_field` (errors without a field) or on top of the form."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(default_field, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        target = aliases.get(name, name)
        form.add_error(target if target in form.fields else None, messages)


class _Form(forms.Form):
    """Labels sit above their inputs, so no colon after them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class _OrganisationMixin:
    has_organisations = True

    def _setup_organisation(self, user, with_organisation: bool) -> None:
        if not with_organisation:
            del self.fields["organisation"]
            return
        queryset = _listing_organisations(user)
        self.fields["organisation"].queryset = queryset
        organisations = list(queryset[:2])
        self.has_organisations = bool(organisations)
        if len(organisations) == 1:
            self.fields["organisation"].initial = organisations[0].pk
            self.fields["organisation"].empty_label = None


class TechnologyForm(_OrganisationMixin, _Form):
    organisation = forms.ModelChoiceField(
        label=_("发布机构"), queryset=Organisation.objects.none(), empty_label=_("请选择机构")
    )
    title = forms.CharField(label=_("成果名称"), max_length=120)
    summary = forms.CharField(
        label=_("成果简介"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("一两句话说明解决什么问题,300 字以内"),
    )
    description = forms.CharField(label=_("详细描述"), widget=forms.Textarea(attrs={"rows": 8}))
    benefits = forms.CharField(
        label=_("应用前景与效益"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("适用场景、经济和社会效益、已有应用案例"),
    )
    keywords = forms.CharField(label=_("关键词"), max_length=200, required=False, help_text=_("用逗号或空格分隔"))
    field = forms.ChoiceField(label=_("技术领域"), choices=_with_blank(Field.choices, _("请选择技术领域")))
    tags = forms.MultipleChoiceField(
        label=_("特色产业标签"), choices=TagCode.choices, required=False, widget=forms.CheckboxSelectMultiple(CHIPS)
    )
    maturity = forms.ChoiceField(label=_("成熟度"), choices=_with_blank(Maturity.choices, _("请选择成熟度")))
    trl = forms.IntegerField(
        label=_("技术就绪度 TRL"),
        min_value=1,
        max_value=9,
        help_text=_("GB/T 22900:实验室 1-3,小试 4-5,中试 6-7,产业化 8-9"),
    )
    transfer_modes = forms.MultipleChoiceField(
        label=_("转化方式"),
        choices=ModeCode.choices,
        widget=forms.CheckboxSelectMultiple(CHIPS),
        error_messages={"required": _("请至少选择一种转化方式")},
    )
    price_kind = forms.ChoiceField(
        label=_("价格方式"), choices=PriceKind.choices, initial=PriceKind.NEGOTIABLE, widget=forms.RadioSelect(CHIPS)
    )
    price_cny = forms.DecimalField(
        label=_("价格(元)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0.01,
        help_text=_("单位为元,例如 50 万元填 500000;价格区间时填最低价格"),
    )
    price_max_cny = forms.DecimalField(
        label=_("最高价格(元)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0.01,
        help_text=_("仅价格区间需要填写"),
    )
    patent_numbers = forms.CharField(
        label=_("专利号"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ZL201710601862.3"}),
        help_text=_("每行一个专利号(申请号),如 ZL201710601862.3;专利类型按号码自动识别"),
    )
    other_ip = forms.CharField(
        label=_("其他知识产权"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("软件著作权: 高原牧场监测系统 V1.0 / 2021SR0123456")}),
        help_text=_(
            "每行一项,格式「类型: 名称 / 编号」,编号可省略。类型:软件著作权、集成电路布图设计、"
            "植物新品种权、生物医药新品种、技术秘密"
        ),
    )
    submit = forms.BooleanField(label=_("保存并提交审核"), required=False)

    def __init__(self, *args, user, with_organisation: bool = True, with_submit: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_organisation(user, with_organisation)
        if not with_submit:
            del self.fields["submit"]

    @classmethod
    def initial_for(cls, technology: Technology) -> dict:
        ip_records = list(technology.ip_records.all())
        return {
            **{name: getattr(technology, name) for name in TECHNOLOGY_FORM_FIELDS},
            "tags": [tag.code for tag in technology.tags.all()],
            "transfer_modes": [mode.code for mode in technology.transfer_modes.all()],
            "patent_numbers": "\n".join(ip.number for ip in ip_records if ip.kind in PATENT_KINDS and ip.number),
            "other_ip": "\n".join(_other_ip_line(ip) for ip in ip_records if not _is_patent(ip)),
        }

    def clean_patent_numbers(self) -> list[dict]:
        records, errors, seen = [], [], set()
        for line_no, line in enumerate(self.cleaned_data["patent_numbers"].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                number, kind = parse_patent_number(line)
            except ValueError as exc:
                errors.append(_("第 %(line)s 行:%(reason)s") % {"line": line_no, "reason": exc})
                continue
            if number not in seen:
                seen.add(number)
                records.append({"kind": kind, "number": number})
        if errors:
            raise ValidationError(errors)
        return records

    def clean_other_ip(self) -> list[dict]:
        records, errors = [], []
        for line_no, line in enumerate(self.cleaned_data["other_ip"].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(_parse_other_ip(line))
            except ValueError as exc:
                errors.append(
                    _("第 %(line)s 行「%(text)s」:%(reason)s") % {"line": line_no, "text": line, "reason": exc}
                )
        if errors:
            raise ValidationError(errors)
        return records

    def clean(self):
        cleaned = super().clean()
        patents = cleaned.get("patent_numbers") or []
        others = cleaned.get("other_ip") or []
        seen = {record["number"] for record in patents}
        for record in others:
            number = record["number"]
            if number and number in seen:
                self.add_error("other_ip", _("编号「%(number)s」重复填写") % {"number": number})
            seen.add(number)
        return cleaned

    def service_kwargs(self) -> dict:
        """What technology_create / technology_update take, from the cleaned data."""
        data = self.cleaned_data
        kwargs = {name: data[name] for name in TECHNOLOGY_FORM_FIELDS}
        kwargs.update(
            tags=data["tags"],
            transfer_modes=data["transfer_modes"],
            ip_records=[*data["patent_numbers"], *data["other_ip"]],
        )
        return kwargs


# The form edits exactly what the service accepts.
TECHNOLOGY_FORM_FIELDS = TECHNOLOGY_FIELDS
# Service error keys that are shown on a differently named form field.
TECHNOLOGY_ERROR_ALIASES = {"ip_records": "patent_numbers"}


def _is_patent(ip: IPRecord) -> bool:
    return ip.kind in PATENT_KINDS and bool(ip.number)


def _other_ip_line(ip: IPRecord) -> str:
    text = f"{ip.get_kind_display()}: {ip.title}".rstrip()
    return f"{text} / {ip.number}" if ip.number else text


def _parse_other_ip(line: str) -> dict:
    parts = _KIND_SEP.split(line.strip(), maxsplit=1)
    if len(parts) != 2:
        raise ValueError(_("请按「类型: 名称 / 编号」填写"))
    kind_text, rest = (part.strip() for part in parts)
    kind = label_to_code(IPKind, kind_text, OTHER_IP_ALIASES)
    if kind is None:
        raise ValueError(_("未知的知识产权类型「%(kind)s」") % {"kind": kind_text})
    if kind in PATENT_KINDS:
        raise ValueError(_("专利请填在上方「专利号」一栏"))
    title, number = _split_title_number(rest)
    if not title and not number:
        raise ValueError(_("请填写名称或编号"))
    if len(title) > _TITLE_MAX:
        raise ValueError(_("名称不能超过 %(max)s 字") % {"max": _TITLE_MAX})
    if len(number) > _NUMBER_MAX:
        raise ValueError(_("编号不能超过 %(max)s 个字符") % {"max": _NUMBER_MAX})
    return {"kind": kind, "title": title, "number": number}


def _split_title_number(rest: str) -> tuple[str, str]:
    """「名称 / 编号」: the number follows the last slash (a title may contain slashes, a number does not)."""
    separators = list(_NUMBER_SEP.finditer(rest))
    if not separators:
        return rest.strip(), ""
    last = separators[-1]
    return rest[: last.start()].strip(), rest[last.end() :].strip()


class NeedForm(_OrganisationMixin, _Form):
    organisation = forms.ModelChoiceField(
        label=_("发布机构"), queryset=Organisation.objects.none(), empty_label=_("请选择机构")
    )
    title = forms.CharField(label=_("需求名称"), max_length=120)
    description = forms.CharField(
        label=_("需求描述"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("遇到的问题、现有条件、希望达到的指标"),
    )
    field = forms.ChoiceField(label=_("技术领域"), choices=_with_blank(Field.choices, _("请选择技术领域")))
    tags = forms.MultipleChoiceField(
        label=_("特色产业标签"), choices=TagCode.choices, required=False, widget=forms.CheckboxSelectMultiple(CHIPS)
    )
    budget_cny = forms.DecimalField(
        label=_("预算(元)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0.01,
        help_text=_("单位为元;不填表示面议"),
    )
    county = forms.ChoiceField(label=_("所在县区/园区"), choices=_with_blank(County.choices, _("请选择县区或园区")))
    desired_modes = forms.MultipleChoiceField(
        label=_("可接受的转化方式"),
        choices=ModeCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(CHIPS),
    )
    min_maturity = forms.ChoiceField(
        label=_("最低成熟度"), choices=_with_blank(Maturity.choices, _("不限")), required=False
    )
    deadline = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    submit = forms.BooleanField(label=_("保存并提交审核"), required=False)

    def __init__(self, *args, user, with_organisation: bool = True, with_submit: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_organisation(user, with_organisation)
        if not with_submit:
            del self.fields["submit"]

    @classmethod
    def initial_for(cls, need: Need) -> dict:
        return {
            **{name: getattr(need, name) for name in NEED_FORM_FIELDS},
            "tags": [tag.code for tag in need.tags.all()],
            "desired_modes": [mode.code for mode in need.desired_modes.all()],
        }

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise ValidationError(_("截止日期不能早于今天"))
        return deadline

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            **{name: data[name] for name in NEED_FORM_FIELDS},
            "tags": data["tags"],
            "desired_modes": data["desired_modes"],
        }


NEED_FORM_FIELDS = NEED_FIELDS


class ImageUploadForm(_Form):
    # A plain FileField: the service checks the content (Pillow) and gives the reasons in Chinese.
    image = forms.FileField(
        label=_("图片"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("JPEG、PNG 或 WebP,不超过 10 MB、4000 万像素;照片中的位置等元数据会被清除"),
    )
    caption = forms.CharField(label=_("图片说明"), max_length=120, required=False)


class AttachmentUploadForm(_Form):
    file = forms.FileField(
        label=_("PDF 附件"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        help_text=_("仅限 PDF,不超过 20 MB"),
    )


class TechnologyFilterForm(_Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    field = forms.ChoiceField(label=_("技术领域"), choices=_with_blank(Field.choices, _("全部领域")), required=False)
    tag = forms.ChoiceField(label=_("特色产业"), choices=_with_blank(TagCode.choices, _("全部产业")), required=False)
    region = forms.ChoiceField(label=_("来源地区"), choices=REGION_FILTER_CHOICES, required=False)
    maturity = forms.ChoiceField(
        label=_("成熟度"), choices=_with_blank(Maturity.choices, _("全部成熟度")), required=False
    )

    def filters(self) -> dict:
        """The valid filters; an invalid one is dropped (and shown as a form error)."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) or "" for name in self.fields if name not in self.errors}


class NeedFilterForm(TechnologyFilterForm):
    county = forms.ChoiceField(label=_("县区/园区"), choices=_with_blank(County.choices, _("全部县区")), required=False)
    region = None
    maturity = None
