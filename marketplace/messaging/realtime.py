"""The one way to emit a live event: ``send_event(event, user_ids=..., skip_channel=...)``.

Called from services only, and only for things that are committed: ``send_event`` registers itself with
``transaction.on_commit``, so a rolled-back write never reaches a socket, and a stored message is always in
the database before anyone hears of it. Each open socket of a user is in the group ``user.<id>``; the
consumer forwards the event as a JSON frame (see docs/messaging.md), except to the socket named in
``skip_channel`` (the sender's own, which already got its acknowledgement).

Inside an ASGI server the request thread does not wait for Redis: the event goes to a publisher task on the
server's loop (one per process, so events keep their commit order). Elsewhere (commands, tests, WSGI) it is
published before send_event returns.

If the channel layer is down (Redis gone), the event is dropped with a warning and the caller carries on:
the data is in the database, and sockets catch up from there (sequence gaps, heartbeats, reconnects).
"""

import asyncio
import logging
import os
from collections.abc import Iterable

from asgiref.sync import SyncToAsync, async_to_sync
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
    loop = _server_loop()
    if loop is not None:
        # In a worker thread of an ASGI server: hand the event to the server loop's publisher and go on with
        # the next request at once; one publisher per loop keeps the events in commit order.
        loop.call_soon_threadsafe(_enqueue, loop, layer, message, user_ids)
        return
    try:
        async_to_sync(_group_send_all)(layer, message, user_ids)
    except Exception:  # the layer is an optimisation over the database, never a reason to fail a write
        logger.warning("live event %s not published (channel layer unavailable)", event.get("type"), exc_info=True)


def _server_loop():
    """The running event loop of the ASGI server this thread works for (asgiref's sync_to_async), if any."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


_queues: dict = {}


def _enqueue(loop, layer, message: dict, user_ids: list[int]) -> None:
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = asyncio.Queue()
        loop.create_task(_publisher(queue))
    queue.put_nowait((layer, message, user_ids))


async def _publisher(queue: asyncio.Queue) -> None:
    while True:
        layer, message, user_ids = await queue.get()
        try:
            await _group_send_all(layer, message, user_ids)
        except Exception:
            logger.warning(
                "live event %s not published (channel layer unavailable)", message["event"].get("type"), exc_info=True
            )


async def _group_send_all(layer, message: dict, user_ids: list[int]) -> None:
    """One group per user, sent concurrently (each costs Redis round trips)."""
    results = await asyncio.gather(
        *(layer.group_send(user_group(user_id), message) for user_id in user_ids), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
