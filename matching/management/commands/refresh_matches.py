"""python manage.py refresh_matches [--need ID ...]

Refresh the stored matches of every published need (or the given ones): for data written without
signals (load_demo, bulk imports published by hand), and after changing the ranking.
"""

from django.core.management.base import BaseCommand, CommandError

from listings.models import Need
from matching.services import need_matches_refresh


class Command(BaseCommand):
    help = "Refresh stored matches of published needs (normally done by tasks when listings change)."

    def add_arguments(self, parser):
        parser.add_argument("--need", type=int, action="append", help="only this need (repeatable)")

    def handle(self, *args, need=None, **options):
        ids = list(Need.objects.published().order_by("pk").values_list("pk", flat=True))
        if need:
            unknown = sorted(set(need) - set(Need.objects.filter(pk__in=need).values_list("pk", flat=True)))
            if unknown:
                raise CommandError(f"需求不存在:{', '.join(map(str, unknown))}")
            ids = sorted(need)
        stored = notified = 0
        for count, need_id in enumerate(ids, start=1):
            result = need_matches_refresh(need_id=need_id)
            stored += result.stored
            notified += len(result.notified)
            if options["verbosity"] > 1:
                self.stdout.write(f"need {need_id}: {result.stored} matches, {len(result.notified)} announced")
            elif count % 50 == 0:
                self.stdout.write(f"{count}/{len(ids)} needs")
        self.stdout.write(f"{len(ids)} needs refreshed, {stored} matches stored, {notified} strong ones announced")
