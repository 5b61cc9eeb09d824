from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "search"
    verbose_name = "检索"

    def ready(self):
        from . import signals  # noqa: F401 - connects the index pipeline
