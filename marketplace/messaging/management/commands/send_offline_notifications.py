"""E-mail users offline for a while about their unread notifications (idempotent; run it from cron)."""

from django.core.management.base import BaseCommand

from marketplace.messaging.services import offline_after, send_offline_notifications


class Command(BaseCommand):
    help = "向离线超过设定时间且有未读通知的用户发送邮件(每条通知只发一次)"

    def handle(self, *args, **options):
        sent = send_offline_notifications()
        minutes = int(offline_after().total_seconds() // 60)
        self.stdout.write(f"sent {sent} e-mail(s) to users offline for more than {minutes} min")
