"""The WebSocket endpoint /ws/live/: one socket per open tab carries chat messages, receipts, notifications
and unread counts for the logged-in user. The protocol is documented in docs/messaging.md.

Guarantees kept here:
- a message frame reaches the client in ``seq`` order per conversation, never twice, never with a hole:
  live events that arrive out of order or after a loss make the socket read the gap from the database;
- a send is answered with ``ack`` (stored id) or ``error``; the layer (Redis) being down does not matter,
  because the message is stored first and the ack goes straight down this socket;
- when the layer fails, the socket keeps serving, retries the layer in the background, and catches up from
  the database once it is back (and on every client heartbeat).
"""

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.utils.translation import gettext as _

from . import events, selectors, services
from .models import Conversation
from .realtime import user_group

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 64 * 1024
RESUME_MAX = 2000  # messages replayed per resume frame; beyond that "more": true and the client asks again
LAYER_RETRY_SECONDS = 1.0
PRESENCE_EVERY_SECONDS = 60

_pool: ThreadPoolExecutor | None = None


def db(func):
    """Run ORM code off the event loop.

    With MESSAGING_DB_THREADS > 0 (PostgreSQL), on a small pool of threads, each with its own connection, so one
    socket's slow query (a reconnect storm's resumes, say) does not queue every other socket's send behind it.
    Each socket still handles its frames one at a time, so its own calls never overlap. With 0 (SQLite, one
    writer anyway), on Channels' single database thread.
    """
    global _pool
    threads = settings.MESSAGING_DB_THREADS
    if threads <= 0:
        return database_sync_to_async(func)
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="messaging-db")
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_pool)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    # ------------------------------------------------------------ plumbing

    async def __call__(self, scope, receive, send):
        """AsyncConsumer.__call__, with a layer receive that survives the layer going away.

        Channels would let an exception from the layer's receive end the consumer (and close the socket);
        here the socket stays up, the layer is retried, and a ``layer.recovered`` message triggers a catch-up.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            sources.append(self._layer_receive)
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch(sources, self.dispatch)

    async def dispatch(self, message):
        """AsyncConsumer.dispatch without its per-message ``aclose_old_connections()``: that is a hop to the
        one database thread for every frame and every live event, queueing deliveries behind sends. Each
        database call here goes through database_sync_to_async, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _layer_receive(self):
        failed = False
        while True:
            try:
                return await self.channel_layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failed:
                    logger.warning("channel layer receive failed; retrying", exc_info=True)
                failed = True
            await asyncio.sleep(LAYER_RETRY_SECONDS)
            if await self._join():
                return {"type": "layer.recovered"}

    async def _join(self) -> bool:
        if self.channel_layer is None or getattr(self, "user", None) is None:
            return False
        try:
            await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        except Exception:
            logger.warning("channel layer group_add failed", exc_info=True)
            return False
        return True

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.send_json(events.error_event("bad_frame", _("只接受不超过 64 KB 的 JSON 文本帧")))
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json(events.error_event("bad_frame", _("无法解析的 JSON")))
            return
        await self.receive_json(content)

    # ------------------------------------------------------------ lifecycle

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.cursors: dict[int, int] = {}
        self.presence_at = 0.0
        await self._join()
        await self.accept()
        state = await db(self._hello_state)()
        self.cursors = state.pop("cursors")
        self.presence_at = time.monotonic()
        await self.send_json({"type": "hello", "user": events.user_brief(user), **state})

    def _hello_state(self) -> dict:
        services.presence_touch(user=self.user)
        # Cursors first: a message committed in between is counted unread *and* delivered live, never neither.
        cursors = selectors.conversation_cursors(user=self.user)
        return {"cursors": cursors, **selectors.unread_counts(user=self.user)}

    async def disconnect(self, code):
        if getattr(self, "user", None) is None:
            return
        try:
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        except Exception:
            logger.info("group_discard failed (layer down)", exc_info=True)
        try:
            await db(services.presence_touch)(user=self.user)
        except DatabaseError:
            logger.info("presence not recorded on disconnect", exc_info=True)

    # ------------------------------------------------------------ client → server

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        handler = {
            "send": self.on_send,
            "resume": self.on_resume,
            "read": self.on_read,
            "ping": self.on_ping,
            "hello": self.on_hello,
        }.get(kind)
        if handler is None:
            await self.send_json(events.error_event("bad_frame", _("未知的帧类型:%(type)s") % {"type": str(kind)[:40]}))
            return
        try:
            await handler(content)
        except DatabaseError:
            logger.exception("database error in websocket %s", kind)
            extra = _client_id(content)
            await self.send_json(events.error_event("unavailable", _("服务器暂时无法保存,请稍后重试"), **extra))

    async def on_hello(self, content):
        state = await db(self._hello_state)()
        self.cursors.update({k: max(v, self.cursors.get(k, 0)) for k, v in state.pop("cursors").items()})
        await self.send_json({"type": "hello", "user": events.user_brief(self.user), **state})

    async def on_send(self, content):
        extra = _client_id(content)
        conversation_id = content.get("conversation")
        text = content.get("text", "")
        if not isinstance(conversation_id, int) or not isinstance(text, str) or "client_msg_id" not in extra:
            await self.send_json(
                events.error_event(
                    "bad_frame", _("send 帧需要 conversation(整数)、client_msg_id 和 text(字符串)"), **extra
                )
            )
            return
        try:
            result = await db(self._send)(conversation_id, extra["client_msg_id"], text)
        except services.RateLimited as exc:
            await self.send_json(
                events.error_event("rate_limited", exc.messages[0], retry_after=exc.retry_after, **extra)
            )
            return
        except ValidationError as exc:
            await self.send_json(events.error_event(_error_code(exc), " ".join(exc.messages), **extra))
            return
        except (PermissionDenied, Conversation.DoesNotExist):
            await self.send_json(_not_participant(conversation_id, **extra))
            return
        message, created, gap = result
        await self._deliver_stored(gap)
        self.cursors[conversation_id] = max(self.cursors.get(conversation_id, 0), message.seq)
        await self.send_json(
            {
                "type": "ack",
                "client_msg_id": message.client_msg_id,
                "id": message.pk,
                "seq": message.seq,
                "conversation": conversation_id,
                "created_at": events.message_payload(message)["created_at"],
                "duplicate": not created,
            }
        )

    def _send(self, conversation_id: int, client_msg_id: str, text: str):
        result = services.message_send(
            # Only the id is used: the service locks and reads the row itself.
            conversation=Conversation(pk=conversation_id),
            by=self.user,
            client_msg_id=client_msg_id,
            text=text,
            skip_channel=self.channel_name,
        )
        seen = self.cursors.get(conversation_id)
        gap = []
        if seen is not None and result.message.seq > seen + 1:
            # Others' messages stored before ours whose events have not reached this socket yet.
            gap = selectors.messages_by_seq(
                conversation_id=conversation_id, after_seq=seen, upto_seq=result.message.seq - 1
            )
        return result.message, result.created, gap

    async def on_resume(self, content):
        conversation_id, last_id = content.get("conversation"), content.get("last_id", 0)
        if not isinstance(conversation_id, int) or not isinstance(last_id, int) or last_id < 0:
            await self.send_json(events.error_event("bad_frame", _("resume 帧需要 conversation 与 last_id(非负整数)")))
            return
        found = await db(self._resume)(conversation_id, last_id)
        if found is None:
            await self.send_json(_not_participant(conversation_id))
            return
        messages, after, more, seq = found
        for message in messages:
            await self.send_json(events.message_event(message))
            seq = max(seq, message.seq)
        self.cursors[conversation_id] = max(self.cursors.get(conversation_id, 0), seq)
        await self.send_json({"type": "resumed", "conversation": conversation_id, "last_id": after, "more": more})

    def _resume(self, conversation_id: int, last_id: int):
        """Everything a resume needs in one trip to the database thread: None if not a participant, else
        (messages after last_id — at most about RESUME_MAX —, the last id sent, whether more remain, the seq of
        last_id)."""
        if not selectors.is_participant(conversation_id=conversation_id, user=self.user):
            return None
        conversation = Conversation(pk=conversation_id)
        messages, after, more = [], last_id, True
        while more and len(messages) < RESUME_MAX:
            page, more = selectors.messages_page(conversation=conversation, after=after, limit=selectors.HISTORY_MAX)
            messages += page
            if page:
                after = page[-1].pk
        seq = 0 if messages else selectors.seq_of(conversation_id=conversation_id, message_id=last_id)
        return messages, after, more, seq

    async def on_read(self, content):
        conversation_id, last_read_id = content.get("conversation"), content.get("last_read_id")
        if not isinstance(conversation_id, int) or not (last_read_id is None or isinstance(last_read_id, int)):
            await self.send_json(
                events.error_event("bad_frame", _("read 帧需要 conversation(整数),last_read_id 可省略"))
            )
            return
        try:
            await db(services.conversation_mark_read)(
                conversation=Conversation(pk=conversation_id), by=self.user, last_read_id=last_read_id
            )
        except ValidationError as exc:
            await self.send_json(events.error_event(_error_code(exc), " ".join(exc.messages)))
        except (PermissionDenied, Conversation.DoesNotExist):
            await self.send_json(_not_participant(conversation_id))

    async def on_ping(self, content):
        """The client's heartbeat: keeps presence fresh, re-joins the group, and catches up from the database."""
        if time.monotonic() - self.presence_at >= PRESENCE_EVERY_SECONDS:
            self.presence_at = time.monotonic()
            await db(services.presence_touch)(user=self.user)
        await self._join()
        await self._catch_up()
        await self.send_json({"type": "pong"})

    # ------------------------------------------------------------ server → client

    async def live_event(self, message):
        if message.get("skip") and message["skip"] == self.channel_name:
            return
        event = message["event"]
        if event["type"] == "message":
            await self._deliver_live(event)
            return
        if event["type"] == "conversation":
            joined = event["conversation"]
            self.cursors[joined["id"]] = max(self.cursors.get(joined["id"], 0), joined["last_seq"])
        await self.send_json(event)

    async def layer_recovered(self, message):
        logger.info("channel layer back; catching up from the database")
        await self._catch_up()

    async def _deliver_live(self, event):
        payload = event["message"]
        conversation_id, seq = payload["conversation"], payload["seq"]
        seen = self.cursors.get(conversation_id)
        if seen is None:
            # A conversation this socket has not heard of (started after it connected): start from here.
            seen = seq - 1
        if seq <= seen:
            return  # already delivered (resume, gap fill or our own ack)
        if seq > seen + 1:
            gap = await db(selectors.messages_by_seq)(conversation_id=conversation_id, after_seq=seen, upto_seq=seq - 1)
            await self._deliver_stored(gap)
        await self.send_json(event)
        self.cursors[conversation_id] = seq

    async def _deliver_stored(self, messages):
        for message in messages:
            if message.seq > self.cursors.get(message.conversation_id, 0):
                await self.send_json(events.message_event(message))
                self.cursors[message.conversation_id] = message.seq

    async def _catch_up(self):
        missing = await db(self._missing)()
        await self._deliver_stored(missing)

    def _missing(self):
        current = selectors.conversation_cursors(user=self.user)
        missing = []
        for conversation_id, last_seq in current.items():
            seen = self.cursors.get(conversation_id)
            if seen is None:
                self.cursors[conversation_id] = last_seq  # joined meanwhile: history is on the page
            elif last_seq > seen:
                missing += selectors.messages_by_seq(conversation_id=conversation_id, after_seq=seen)
        return missing


def _client_id(content) -> dict:
    value = content.get("client_msg_id") if isinstance(content, dict) else None
    return {"client_msg_id": value[:64]} if isinstance(value, str) and value else {}


def _error_code(exc: ValidationError) -> str:
    code = getattr(exc, "code", None)
    return code if code in ("too_long", "empty", "rate_limited") else "invalid"


def _not_participant(conversation_id, **extra) -> dict:
    return events.error_event("not_participant", _("洽谈不存在,或您不是参与方"), conversation=conversation_id, **extra)
