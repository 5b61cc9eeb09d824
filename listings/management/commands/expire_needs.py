from django.core.management.base import BaseCommand

from listings.services import needs_expire


class Command(BaseCommand):
    help = "Mark published needs whose deadline has passed as expired (已过期)."

    def handle(self, *args, **options):
        count = needs_expire()
        self.stdout.write(f"已过期需求:{count} 条")
