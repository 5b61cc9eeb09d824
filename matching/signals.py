"""Thin adapters: a change of a need or a technology queues a refresh of its matches once the transaction commits.

Publish, edit (back to review), withdraw, review and expiry by save all pass here; the task decides
what the new state means. Bulk writes that bypass signals (demo loading, needs_expire) are caught up by
`manage.py refresh_matches`.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from listings.models import Need, Technology

from . import tasks

logger = logging.getLogger(__name__)


def _already_queued(key: tuple) -> bool:
    """The same refresh waits for the commit of this very atomic block (several saves of one listing).

    Only callbacks of the current block count, as in search.signals: Django drops those of a rolled-back
    savepoint, so a refresh lost with a rollback is queued again by the next change. (A nested block may
    queue the same refresh once more; a refresh is idempotent.)"""
    connection = transaction.get_connection()
    current = set(connection.savepoint_ids) - {None}
    return any(
        getattr(callback, "matching_key", None) == key
        and not getattr(callback, "matching_sent", False)
        and set(sids) - {None} == current
        for sids, callback, _robust in connection.run_on_commit
    )


def _enqueue_on_commit(task, pk: int) -> None:
    key = (task.name, pk)
    if _already_queued(key):
        return

    def send():
        send.matching_sent = True
        try:
            task.enqueue(pk)
        except Exception:  # a broken queue must not break a save that already committed
            logger.exception("matching: could not queue %s(%s)", task.name, pk)

    send.matching_key = key
    transaction.on_commit(send)


@receiver(post_save, sender=Need, dispatch_uid="matching-need-saved")
def need_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        _enqueue_on_commit(tasks.refresh_need_matches, instance.pk)


@receiver(post_save, sender=Technology, dispatch_uid="matching-technology-saved")
def technology_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        _enqueue_on_commit(tasks.refresh_technology_matches, instance.pk)
