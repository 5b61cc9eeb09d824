"""Forms of the account and organisation pages: they parse and check input; services do the writes."""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .creditcode import credit_code_error, normalise
from .models import Membership, Organisation, User


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class SignupForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        help_text=_("用于登录,可使用字母、数字、汉字及 @/./+/-/_"),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    display_name = forms.CharField(label=_("姓名"), max_length=60)
    email = forms.EmailField(
        label=_("电子邮箱"),
        help_text=_("用于找回密码"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少8位,不能全为数字,不能与用户名过于相似"),
    )
    password2 = forms.CharField(
        label=_("确认密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username = User.normalize_username(self.cleaned_data["username"].strip())
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("该用户名已被注册"), code="taken")
        return username

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("两次输入的密码不一致"))
        elif password2:
            candidate = User(
                username=cleaned.get("username", ""),
                email=cleaned.get("email", ""),
                display_name=cleaned.get("display_name", ""),
            )
            try:
                password_validation.validate_password(password2, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


def _website_field() -> forms.URLField:
    return forms.URLField(label=_("网站"), required=False, assume_scheme="https", max_length=200)


class OrganisationForm(forms.ModelForm):
    """Create an organisation, or edit one the bureau has not verified yet."""

    website = _website_field()

    class Meta:
        model = Organisation
        fields = ["name", "kind", "region", "province", "credit_code", "description", "website", "contact_phone"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "province": _("所在地区为「其他省份」时必填"),
            "credit_code": _("18位,由登记管理部门颁发,含校验位"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bureau organisations are created by administrators, never by sign-up.
        self.fields["kind"].choices = [
            (value, label) for value, label in Organisation.Kind.choices if value != Organisation.Kind.BUREAU
        ]
        self.fields["credit_code"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean_credit_code(self) -> str:
        code = normalise(self.cleaned_data["credit_code"])
        error = credit_code_error(code)
        if error:
            raise ValidationError(error, code="credit_code")
        return code

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("region") == Organisation.Region.OTHER and not (cleaned.get("province") or "").strip():
            self.add_error("province", _("所在地区为「其他省份」时请填写省份"))
        return cleaned

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class OrganisationProfileForm(forms.ModelForm):
    """What an owner may still change once the bureau has verified the organisation."""

    website = _website_field()

    class Meta:
        model = Organisation
        fields = ["description", "website", "contact_phone"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class MemberAddForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, help_text=_("对方须已在本平台注册"))
    role = forms.ChoiceField(label=_("角色"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def __init__(self, *args, acting_user: User, **kwargs):
        self.acting_user = acting_user
        super().__init__(*args, **kwargs)

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ValidationError(_("用户「%(username)s」不存在"), params={"username": username}, code="unknown")
        if user.pk == self.acting_user.pk:
            raise ValidationError(_("不能修改自己的角色"), code="self")
        return user
