from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "marketplace.stats"
    label = "stats"
    verbose_name = "技术合同成交统计"
