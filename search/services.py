"""Index writes: make the search index agree with the database for a listing or an organisation.

Called by the tasks in search/tasks.py (after commit, in the background). An engine failure never
loses an update: the listing's identifier is kept as a PendingIndexOp and replayed later.
"""

from __future__ import annotations

import logging

from django.apps import apps
from haystack import connection_router, connections
from haystack.exceptions import NotHandled

from listings.models import Need, Technology

from .models import PendingIndexOp

log = logging.getLogger(__name__)
LISTING_MODELS = (Technology, Need)


def identifier_for(instance) -> str:
    return f"{instance._meta.app_label}.{instance._meta.model_name}.{instance.pk}"


def _write_backends():
    return [connections[alias].get_backend() for alias in connection_router.for_write()]


def _index_for(model):
    return connections["default"].get_unified_index().get_index(model)


def index_sync(*, identifier: str) -> str:
    """Index the listing if it is public, remove it otherwise (or when it no longer exists).

    Raises whatever the engine raises; callers keep the op."""
    app_label, model_name, pk = identifier.rsplit(".", 2)
    model = apps.get_model(app_label, model_name)
    try:
        index = _index_for(model)
    except NotHandled:
        return "ignored"
    obj = index.index_queryset().filter(pk=pk).first()
    for backend in _write_backends():
        if obj is None:
            backend.remove(identifier)
        else:
            backend.update(index, [obj])
    return "removed" if obj is None else "indexed"


def index_sync_organisation(*, organisation_id: int) -> int:
    """Re-index the public listings of an organisation (its name and region are in their documents)."""
    count = 0
    for model in LISTING_MODELS:
        index = _index_for(model)
        listings = list(index.index_queryset().filter(organisation_id=organisation_id))
        if listings:
            for backend in _write_backends():
                backend.update(index, listings)
        count += len(listings)
    return count


def organisation_identifiers(*, organisation_id: int) -> list[str]:
    identifiers = []
    for model in LISTING_MODELS:
        pks = _index_for(model).index_queryset().filter(organisation_id=organisation_id).values_list("pk", flat=True)
        identifiers += [f"{model._meta.app_label}.{model._meta.model_name}.{pk}" for pk in pks]
    return identifiers


def pending_keep(*, identifier: str, error: BaseException | str) -> PendingIndexOp:
    message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    op, created = PendingIndexOp.objects.get_or_create(identifier=identifier, defaults={"last_error": message})
    if not created:
        op.attempts += 1
        op.last_error = message
        op.save(update_fields=["attempts", "last_error", "updated_at"])
    log.warning("search index update kept for replay: %s (%s)", identifier, message)
    return op


def pending_done(*, identifier: str) -> None:
    PendingIndexOp.objects.filter(identifier=identifier).delete()


def pending_replay(*, limit: int | None = None) -> dict:
    """Apply kept updates, oldest first; stop at the first failure (the engine is still down)."""
    applied, failed = 0, 0
    ops = PendingIndexOp.objects.order_by("created_at", "id")
    for op in ops[:limit] if limit else ops:
        try:
            index_sync(identifier=op.identifier)
        except Exception as exc:  # the engine's failures are many kinds; all of them mean "later"
            pending_keep(identifier=op.identifier, error=exc)
            failed += 1
            break
        op.delete()
        applied += 1
    return {"applied": applied, "failed": failed, "left": PendingIndexOp.objects.count()}
