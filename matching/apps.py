from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    label = "matching"
    verbose_name = _("供需匹配")

    def ready(self):
        from . import signals  # noqa: F401 - connects the refresh hooks
