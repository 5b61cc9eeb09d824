"""The shape of everything that travels to clients: message, receipt, notification and count payloads.

The WebSocket frames (docs/messaging.md) and the JSON API use the same dictionaries, built here, so a
client can apply a live event to what it fetched and get what a fresh fetch gives. ``EVENT_SCHEMAS``
describes each server → client frame (JSON Schema); the tests validate every frame against it.
"""

from django.urls import reverse
from django.utils import timezone

from .models import Message, Notification


def _time(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def user_brief(user) -> dict:
    return {"id": user.pk, "name": str(user)}


def attachment_payload(message: Message) -> dict | None:
    if not message.attachment_kind:
        return None
    url = reverse("messaging:attachment", kwargs={"pk": message.pk})
    return {
        "kind": message.attachment_kind,
        "name": message.attachment_name,
        "size": message.attachment_size,
        "url": url,
        "thumb_url": reverse("messaging:attachment_thumb", kwargs={"pk": message.pk})
        if message.attachment_thumb
        else None,
        "width": message.width,
        "height": message.height,
    }


def message_payload(message: Message) -> dict:
    """Needs ``sender`` and ``sender_organisation`` loaded (select_related) to stay query-free."""
    return {
        "id": message.pk,
        "seq": message.seq,
        "conversation": message.conversation_id,
        "sender": user_brief(message.sender),
        "organisation": {"id": message.sender_organisation_id, "name": message.sender_organisation.name},
        "text": message.text,
        "client_msg_id": message.client_msg_id,
        "attachment": attachment_payload(message),
        "created_at": _time(message.created_at),
    }


def notification_payload(notification: Notification) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "conversation": notification.conversation_id,
        "created_at": _time(notification.created_at),
        "read": notification.read_at is not None,
    }


# ---------------------------------------------------------------- frames (server → client)


def message_event(message: Message) -> dict:
    return {"type": "message", "message": message_payload(message)}


def read_event(*, conversation_id: int, user, last_read_id: int) -> dict:
    return {"type": "read", "conversation": conversation_id, "user": user_brief(user), "last_read_id": last_read_id}


def notification_event(notification: Notification) -> dict:
    return {"type": "notification", "notification": notification_payload(notification)}


def notifications_read_event(ids: list[int]) -> dict:
    return {"type": "notifications_read", "ids": ids}


def unread_event(counts: dict) -> dict:
    return {"type": "unread", **counts}


def conversation_event(*, conversation_id: int, title: str, url: str, last_seq: int) -> dict:
    """A conversation the user now takes part in (an agency was invited); its history so far is on its page."""
    return {
        "type": "conversation",
        "conversation": {"id": conversation_id, "title": title, "url": url, "last_seq": last_seq},
    }


def error_event(code: str, message: str, **extra) -> dict:
    return {"type": "error", "code": code, "message": str(message), **extra}


# ---------------------------------------------------------------- schemas

_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_USER = {
    "type": "object",
    "properties": {"id": _INT, "name": _STR},
    "required": ["id", "name"],
    "additionalProperties": False,
}
_ATTACHMENT = {
    "type": ["object", "null"],
    "properties": {
        "kind": {"enum": ["image", "pdf"]},
        "name": _STR,
        "size": {"type": ["integer", "null"]},
        "url": _STR,
        "thumb_url": {"type": ["string", "null"]},
        "width": {"type": ["integer", "null"]},
        "height": {"type": ["integer", "null"]},
    },
    "required": ["kind", "name", "size", "url", "thumb_url", "width", "height"],
    "additionalProperties": False,
}
MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": _INT,
        "seq": _INT,
        "conversation": _INT,
        "sender": _USER,
        "organisation": _USER,
        "text": {"type": "string", "maxLength": 4000},
        "client_msg_id": _STR,
        "attachment": _ATTACHMENT,
        "created_at": _TIME,
    },
    "required": [
        "id",
        "seq",
        "conversation",
        "sender",
        "organisation",
        "text",
        "client_msg_id",
        "attachment",
        "created_at",
    ],
    "additionalProperties": False,
}
NOTIFICATION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": _INT,
        "kind": {"enum": [k.value for k in Notification.Kind]},
        "title": _STR,
        "body": _STR,
        "url": _STR,
        "conversation": {"type": ["integer", "null"]},
        "created_at": _TIME,
        "read": {"type": "boolean"},
    },
    "required": ["id", "kind", "title", "body", "url", "conversation", "created_at", "read"],
    "additionalProperties": False,
}
UNREAD_SCHEMA_PROPS = {
    "conversations": {"type": "object", "additionalProperties": _INT, "propertyNames": {"pattern": "^[0-9]+$"}},
    "messages": _INT,
    "notifications": _INT,
}


def _frame(type_: str, props: dict, required: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {"type": {"const": type_}, **props},
        "required": ["type", *required],
        "additionalProperties": False,
    }


EVENT_SCHEMAS = {
    "hello": _frame(
        "hello", {"user": _USER, **UNREAD_SCHEMA_PROPS}, ["user", "conversations", "messages", "notifications"]
    ),
    "message": _frame("message", {"message": MESSAGE_SCHEMA}, ["message"]),
    "ack": _frame(
        "ack",
        {
            "client_msg_id": _STR,
            "id": _INT,
            "seq": _INT,
            "conversation": _INT,
            "created_at": _TIME,
            "duplicate": {"type": "boolean"},
        },
        ["client_msg_id", "id", "seq", "conversation", "created_at", "duplicate"],
    ),
    "resumed": _frame(
        "resumed",
        {"conversation": _INT, "last_id": _INT, "more": {"type": "boolean"}},
        ["conversation", "last_id", "more"],
    ),
    "read": _frame(
        "read", {"conversation": _INT, "user": _USER, "last_read_id": _INT}, ["conversation", "user", "last_read_id"]
    ),
    "notification": _frame("notification", {"notification": NOTIFICATION_SCHEMA}, ["notification"]),
    "notifications_read": _frame("notifications_read", {"ids": {"type": "array", "items": _INT}}, ["ids"]),
    "unread": _frame("unread", UNREAD_SCHEMA_PROPS, ["conversations", "messages", "notifications"]),
    "conversation": _frame(
        "conversation",
        {
            "conversation": {
                "type": "object",
                "properties": {"id": _INT, "title": _STR, "url": _STR, "last_seq": _INT},
                "required": ["id", "title", "url", "last_seq"],
                "additionalProperties": False,
            }
        },
        ["conversation"],
    ),
    "pong": _frame("pong", {}, []),
    "error": _frame(
        "error",
        {
            "code": {
                "enum": [
                    "bad_frame",
                    "not_participant",
                    "too_long",
                    "empty",
                    "rate_limited",
                    "invalid",
                    "unavailable",
                ]
            },
            "message": _STR,
            "client_msg_id": _STR,
            "conversation": _INT,
            "retry_after": _INT,
        },
        ["code", "message"],
    ),
}
