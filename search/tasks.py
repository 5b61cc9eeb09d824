"""Background tasks of the index pipeline (django-tasks: database backend in production, immediate in tests).

signals (on commit) → sync_listing / sync_organisation → search.services → haystack backend.
A failure keeps the update (PendingIndexOp); a later success means the engine is back, so it
queues replay_pending_index_ops, which `manage.py search_replay` also runs.
"""

from django_tasks import task

from . import services
from .models import PendingIndexOp


def _engine_back() -> None:
    if PendingIndexOp.objects.exists():
        replay_pending_index_ops.enqueue()


@task()
def sync_listing(identifier: str) -> dict:
    try:
        outcome = services.index_sync(identifier=identifier)
    except Exception as exc:  # any engine failure: keep the update, never lose it
        services.pending_keep(identifier=identifier, error=exc)
        return {"identifier": identifier, "status": "kept"}
    services.pending_done(identifier=identifier)
    _engine_back()
    return {"identifier": identifier, "status": outcome}


@task()
def sync_organisation(organisation_id: int) -> dict:
    try:
        count = services.index_sync_organisation(organisation_id=organisation_id)
    except Exception as exc:
        identifiers = services.organisation_identifiers(organisation_id=organisation_id)
        for identifier in identifiers:
            services.pending_keep(identifier=identifier, error=exc)
        return {"organisation": organisation_id, "status": "kept", "count": len(identifiers)}
    _engine_back()
    return {"organisation": organisation_id, "status": "indexed", "count": count}


@task()
def replay_pending_index_ops() -> dict:
    return services.pending_replay()
