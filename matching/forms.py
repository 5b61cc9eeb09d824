from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Match
from .services import NOTE_MAX


class DismissForm(forms.Form):
    reason = forms.ChoiceField(label=_("忽略原因"), choices=Match.DismissReason.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("补充说明(可选)"), max_length=NOTE_MAX, required=False)
