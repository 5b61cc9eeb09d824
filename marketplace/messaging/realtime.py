"""The one way to emit a live event: ``send_event(event, user_ids=..., skip_channel=...)``.

Called from services only, and only for things that are committed: ``send_event`` registers itself with
``transaction.on_commit``, so a rolled-back write never reaches a socket, and a stored message is always in
the database before anyone hears of it. Each open socket of a user is in the group ``user.<id>``; the
consumer forwards the event as a JSON frame (see docs/messaging.md), except to the socket named in
``skip_channel`` (the sender's own, which already got its acknowledgement).

If the channel layer is down (Redis gone), the event is dropped with a warning and the caller carries on:
the data is in the database, and sockets catch up from there (sequence gaps, heartbeats, reconnects).
"""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# The consumer method that receives these (type "live.event" → ``live_event``).
LAYER_MESSAGE_TYPE = "live.event"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def send_event(event: dict, *, user_ids: Iterable[int], skip_channel: str | None = None) -> None:
    """Deliver ``event`` to every open socket of the users, once the current transaction commits."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return
    transaction.on_commit(lambda: _publish(event, user_ids, skip_channel))


def _publish(event: dict, user_ids: list[int], skip_channel: str | None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": LAYER_MESSAGE_TYPE, "event": event, "skip": skip_channel or ""}
    try:
        async_to_sync(_group_send_all)(layer, message, user_ids)
    except Exception:  # the layer is an optimisation over the database, never a reason to fail a write
        logger.warning("live event %s not published (channel layer unavailable)", event.get("type"), exc_info=True)


async def _group_send_all(layer, message: dict, user_ids: list[int]) -> None:
    failures = []
    for user_id in user_ids:
        try:
            await layer.group_send(user_group(user_id), message)
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
