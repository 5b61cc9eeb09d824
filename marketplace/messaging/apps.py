from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "marketplace.messaging"
    label = "messaging"
    verbose_name = "在线洽谈与通知"
