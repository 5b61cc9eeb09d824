"""Thin adapters: model changes queue an index sync once the transaction commits.

Publish, edit, withdraw, review and delete of a listing (its row or its tags / modes) sync that
listing; renaming an organisation or moving it to another region re-indexes its listings. Bulk
writes that bypass signals (demo loading, imports of drafts, needs_expire) are caught up by
`manage.py update_index --remove`.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.dispatch import receiver

from listings.models import Need, Technology
from marketplace.accounts.models import Organisation

from . import services, tasks

log = logging.getLogger(__name__)


def _already_queued(key: tuple) -> bool:
    """The same sync waits for the commit of this very atomic block (a save and its tag changes, say).

    Only callbacks of the current block count: Django drops those of a rolled-back savepoint, so a
    sync lost with a rollback is queued again by the next change."""
    connection = transaction.get_connection()
    current = set(connection.savepoint_ids) - {None}  # None: an atomic(savepoint=False) block, same level
    return any(
        getattr(callback, "search_key", None) == key
        and not getattr(callback, "search_sent", False)
        and set(sids) - {None} == current
        for sids, callback, _robust in connection.run_on_commit
    )


def _enqueue(task, *args) -> None:
    key = (task.name, args)
    if _already_queued(key):
        return

    def send():
        send.search_sent = True
        try:
            task.enqueue(*args)
        except Exception as exc:  # a broken task queue must not break the save that already committed
            if task is tasks.sync_listing:
                services.pending_keep(identifier=args[0], error=exc)
            else:
                log.exception("could not queue %s%s", task, args)

    send.search_key = key
    transaction.on_commit(send)


def queue_listing_sync(instance) -> None:
    _enqueue(tasks.sync_listing, services.identifier_for(instance))


@receiver(post_save, sender=Technology)
@receiver(post_save, sender=Need)
@receiver(post_delete, sender=Technology)
@receiver(post_delete, sender=Need)
def listing_changed(sender, instance, **kwargs):
    if kwargs.get("raw"):
        return
    queue_listing_sync(instance)


def _m2m_changed(sender, instance, action, reverse, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and not reverse:
        queue_listing_sync(instance)


for _through in (
    Technology.tags.through,
    Technology.transfer_modes.through,
    Need.tags.through,
    Need.desired_modes.through,
):
    m2m_changed.connect(_m2m_changed, sender=_through, dispatch_uid=f"search-m2m-{_through._meta.label}")


@receiver(post_init, sender=Organisation)
def organisation_loaded(sender, instance, **kwargs):
    instance._search_facts = (instance.name, instance.region)


@receiver(post_save, sender=Organisation)
def organisation_saved(sender, instance, created, **kwargs):
    if created or kwargs.get("raw"):
        instance._search_facts = (instance.name, instance.region)
        return
    if getattr(instance, "_search_facts", None) != (instance.name, instance.region):
        instance._search_facts = (instance.name, instance.region)
        _enqueue(tasks.sync_organisation, instance.pk)
