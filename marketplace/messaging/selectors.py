"""Reads shared by the pages, the API and the WebSocket consumer."""

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from marketplace.accounts.models import Membership, Organisation, User

from .models import Conversation, Message, Notification, Participant, ReadState

HISTORY_PAGE = 50
HISTORY_MAX = 200


def _last_read(user: User):
    return Coalesce(
        Subquery(
            ReadState.objects.filter(conversation=OuterRef("conversation_id"), user=user).values("last_read_id")[:1]
        ),
        Value(0),
        output_field=IntegerField(),
    )


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """The user's conversations, latest activity first, each with ``unread`` (messages from others not yet read)."""
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .exclude(sender=user)
        .filter(
            id__gt=Coalesce(
                Subquery(
                    ReadState.objects.filter(conversation=OuterRef(OuterRef("pk")), user=user).values("last_read_id")[
                        :1
                    ]
                ),
                Value(0),
            )
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")
    )
    last_text = Message.objects.filter(pk=OuterRef("last_message_id")).values("text")[:1]
    return (
        Conversation.objects.for_user(user)
        .select_related("technology", "need", "buyer", "seller")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)), last_text=Subquery(last_text)
        )
        .order_by("-last_message_at", "-created_at", "-id")
    )


def conversation_get(*, pk: int, user: User) -> Conversation:
    """A conversation the user takes part in; Conversation.DoesNotExist otherwise (pages and API answer 404)."""
    return (
        Conversation.objects.for_user(user)
        .select_related("technology", "need", "buyer", "seller")
        .prefetch_related("participants__organisation")
        .get(pk=pk)
    )


def participant_members(*, conversation_id: int) -> list[tuple[int, int, str]]:
    """(user id, organisation id, organisation name) of every member of every participating organisation."""
    return list(
        Membership.objects.filter(organisation__conversation_roles__conversation_id=conversation_id)
        .order_by("organisation__conversation_roles__id")
        .values_list("user_id", "organisation_id", "organisation__name")
    )


def participant_user_ids(*, conversation_id: int) -> set[int]:
    return {member[0] for member in participant_members(conversation_id=conversation_id)}


def is_participant(*, conversation_id: int, user: User) -> bool:
    return (
        user.is_authenticated
        and Participant.objects.filter(conversation_id=conversation_id, organisation__memberships__user=user).exists()
    )


def messages_page(
    *, conversation: Conversation, after: int | None = None, before: int | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[Message], bool]:
    """Messages in id order: after ``after`` (catching up), before ``before`` (scrolling back) or the latest.

    Returns (messages, more): ``more`` says there are further messages in the direction asked.
    """
    limit = max(1, min(limit, HISTORY_MAX))
    qs = Message.objects.filter(conversation=conversation).select_related("sender", "sender_organisation")
    if after is not None:
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        return rows[:limit], len(rows) > limit
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    return list(reversed(rows[:limit])), more


def messages_by_seq(*, conversation_id: int, after_seq: int, upto_seq: int | None = None) -> list[Message]:
    """Messages with after_seq < seq ≤ upto_seq (a socket filling a gap)."""
    qs = Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
    if upto_seq is not None:
        qs = qs.filter(seq__lte=upto_seq)
    return list(qs.select_related("sender", "sender_organisation").order_by("seq")[:HISTORY_MAX])


def conversation_cursors(*, user: User) -> dict[int, int]:
    """{conversation id: last seq} for the user's conversations (what a socket has to have seen)."""
    return dict(Conversation.objects.for_user(user).values_list("id", "last_seq"))


def seq_of(*, conversation_id: int, message_id: int) -> int:
    """The seq of the last message at or before message_id in the conversation (0 if none)."""
    row = (
        Message.objects.filter(conversation_id=conversation_id, id__lte=message_id)
        .order_by("-id")
        .values_list("seq", flat=True)
        .first()
    )
    return row or 0


def read_receipts(*, conversation: Conversation) -> list[ReadState]:
    return list(ReadState.objects.filter(conversation=conversation).select_related("user").order_by("user_id"))


def unread_counts(*, user: User) -> dict:
    """{"conversations": {"<id>": n}, "messages": total, "notifications": n} — what the header badge shows."""
    if not user.is_authenticated:
        return {"conversations": {}, "messages": 0, "notifications": 0}
    rows = (
        Message.objects.filter(conversation__in=Conversation.objects.for_user(user))
        .exclude(sender=user)
        .annotate(last_read=_last_read(user))
        .filter(id__gt=F("last_read"))
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )
    per_conversation = {str(conversation_id): n for conversation_id, n in rows}
    return {
        "conversations": per_conversation,
        "messages": sum(per_conversation.values()),
        "notifications": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def starter_organisations(*, user: User, exclude: Organisation | None = None) -> QuerySet[Organisation]:
    """The organisations a user may speak for when starting a conversation (not the listing's own)."""
    qs = Organisation.objects.for_user(user).exclude(kind=Organisation.Kind.BUREAU)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.order_by("name")


def invitable_agencies(*, conversation: Conversation) -> QuerySet[Organisation]:
    taken = Participant.objects.filter(conversation=conversation).values("organisation_id")
    return Organisation.objects.verified().filter(kind=Organisation.Kind.AGENCY).exclude(pk__in=taken).order_by("name")
