"""Background refresh of stored matches (django-tasks: database backend in production, immediate in tests).

signals (on commit) → refresh_need_matches / refresh_technology_matches → services.
"""

import datetime

from django.utils import timezone
from django_tasks import task

INDEX_WAIT = datetime.timedelta(seconds=5)
INDEX_ATTEMPTS = 6


@task()
def refresh_need_matches(need_id: int) -> dict:
    from .services import need_matches_refresh

    result = need_matches_refresh(need_id=need_id)
    return {"need": need_id, "stored": result.stored, "created": result.created, "notified": len(result.notified)}


@task()
def refresh_technology_matches(technology_id: int, attempt: int = 0) -> dict:
    """Needs find a technology through the search index, so wait (a little) until the index has it."""
    from listings.models import Technology

    from .services import technology_is_indexed, technology_matches_refresh

    technology = Technology.objects.filter(pk=technology_id).prefetch_related("tags", "transfer_modes").first()
    if (
        technology is not None
        and technology.is_public
        and attempt < INDEX_ATTEMPTS
        and refresh_technology_matches.get_backend().supports_defer
        and not technology_is_indexed(technology=technology)
    ):
        refresh_technology_matches.using(run_after=timezone.now() + INDEX_WAIT).enqueue(technology_id, attempt + 1)
        return {"technology": technology_id, "status": "waiting_for_index"}
    results = technology_matches_refresh(technology_id=technology_id)
    return {"technology": technology_id, "needs": len(results), "notified": sum(len(r.notified) for r in results)}
