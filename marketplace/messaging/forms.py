"""Forms of the messaging pages: they parse input; the services validate and save."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CLIENT_MSG_ID_MAX, MAX_TEXT_LENGTH


def new_client_msg_id() -> str:
    return f"form-{uuid.uuid4().hex}"


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MessageForm(_Form):
    """The page's send box. Without JavaScript it posts; the hidden client id makes a double submit harmless."""

    text = forms.CharField(
        label=_("消息"),
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT_LENGTH}),
        error_messages={
            "required": _("消息内容不能为空"),
            "max_length": _("消息过长:最多 %(limit_value)d 字,当前 %(show_value)d 字"),
        },
    )
    client_msg_id = forms.CharField(max_length=CLIENT_MSG_ID_MAX, widget=forms.HiddenInput, initial=new_client_msg_id)


class AttachmentForm(_Form):
    file = forms.FileField(
        label=_("图片或 PDF"),
        help_text=_("JPEG、PNG、WebP 图片(不超过 10 MB)或 PDF 文件(不超过 20 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}),
    )
    text = forms.CharField(label=_("说明(可选)"), max_length=MAX_TEXT_LENGTH, required=False)
    client_msg_id = forms.CharField(max_length=CLIENT_MSG_ID_MAX, widget=forms.HiddenInput, initial=new_client_msg_id)


class StartForm(_Form):
    """Which listing to talk about, and (for members of several organisations) on whose behalf."""

    technology = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    need = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    organisation = forms.TypedChoiceField(label=_("以哪个机构的身份联系"), coerce=int, required=False, choices=())

    def __init__(self, *args, organisations=None, **kwargs):
        """Without ``organisations`` only the listing is read (the choices depend on it)."""
        super().__init__(*args, **kwargs)
        if organisations is None:
            del self.fields["organisation"]
        else:
            self.fields["organisation"].choices = [(o.pk, o.name) for o in organisations]

    def clean(self):
        data = super().clean()
        if not data.get("technology") and not data.get("need"):
            raise forms.ValidationError(_("请指明要洽谈的科技成果或技术需求"))
        return data


class InviteForm(_Form):
    organisation = forms.TypedChoiceField(label=_("邀请服务机构"), coerce=int, choices=())

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [(o.pk, o.name) for o in agencies]


class NotificationsReadForm(_Form):
    ids = forms.CharField(required=False, widget=forms.HiddenInput)
