"""Writes for messaging: one function per use case, one transaction each; live events after commit.

Every event leaves through ``realtime.send_event`` (registered on commit), so what a socket hears about is
already stored. Other apps announce things to users with ``notify(...)``.
"""

import datetime
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from listings import uploads
from listings.models import Need, Technology
from marketplace.accounts.models import Membership, Organisation, User

from . import events, selectors
from .models import (
    CLIENT_MSG_ID_MAX,
    MAX_TEXT_LENGTH,
    Conversation,
    Message,
    Notification,
    Participant,
    Presence,
    ReadState,
)
from .realtime import send_event

logger = logging.getLogger(__name__)

CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
PREVIEW_LENGTH = 80


class RateLimited(ValidationError):
    """Too many messages in the window; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            _("发送过于频繁:每 %(window)d 秒最多 %(limit)d 条消息,请 %(retry)d 秒后再试")
            % {"window": rate_window(), "limit": rate_limit(), "retry": retry_after},
            code="rate_limited",
        )


def rate_limit() -> int:
    return int(getattr(settings, "MESSAGING_RATE_LIMIT", 20))


def rate_window() -> int:
    return int(getattr(settings, "MESSAGING_RATE_WINDOW", 10))


def conversation_url(conversation_id: int) -> str:
    return reverse("messaging:conversation", kwargs={"pk": conversation_id})


# ---------------------------------------------------------------- conversations


def _require_public(listing) -> None:
    if listing is not None and not listing.is_public:
        raise ValidationError(_("「%(title)s」尚未公开发布,暂不能洽谈") % {"title": listing.title})


def _pick_organisation(*, by: User, organisation: Organisation | None, other_side: Organisation) -> Organisation:
    if organisation is not None:
        if Membership.objects.filter(user=by, organisation=organisation).exists() is False:
            raise PermissionDenied(_("只能以您所在的机构身份发起洽谈"))
        if organisation.pk == other_side.pk:
            raise ValidationError(_("不能与本机构自己洽谈"))
        return organisation
    candidates = list(selectors.starter_organisations(user=by, exclude=other_side)[:2])
    if not candidates:
        raise ValidationError(_("请先加入或创建一个机构,再以机构身份联系对方"), code="no_organisation")
    if len(candidates) > 1:
        raise ValidationError(_("您属于多个机构,请选择以哪个机构的身份联系对方"), code="choose_organisation")
    return candidates[0]


def _title_for(technology: Technology | None, need: Need | None) -> str:
    if technology is not None and need is not None:
        return _("匹配洽谈:%(tech)s ↔ %(need)s") % {"tech": technology.title, "need": need.title}
    if technology is not None:
        return _("科技成果:%(title)s") % {"title": technology.title}
    return _("技术需求:%(title)s") % {"title": need.title}


@transaction.atomic
def conversation_start(
    *,
    by: User,
    technology: Technology | None = None,
    need: Need | None = None,
    organisation: Organisation | None = None,
) -> tuple[Conversation, bool]:
    """Start, or reopen, the conversation about a technology, a need, or both (a match).

    About a technology, the user's organisation is the buyer and the technology's owner the seller; about a
    need, the other way round. About a match, the need's owner is the buyer and the technology's owner the
    seller, and the user must belong to one of them. Returns (conversation, created).
    """
    if not by.is_authenticated:
        raise PermissionDenied(_("请先登录"))
    if technology is None and need is None:
        raise ValidationError(_("请指明要洽谈的科技成果或技术需求"))
    _require_public(technology)
    _require_public(need)
    if technology is not None and need is not None:
        buyer, seller = need.organisation, technology.organisation
        if buyer.pk == seller.pk:
            raise ValidationError(_("成果与需求属于同一机构,无需洽谈"))
        if not Membership.objects.filter(user=by, organisation__in=[buyer, seller]).exists():
            raise PermissionDenied(_("只有匹配双方机构的成员可以发起洽谈"))
    elif technology is not None:
        seller = technology.organisation
        buyer = _pick_organisation(by=by, organisation=organisation, other_side=seller)
    else:
        buyer = need.organisation
        seller = _pick_organisation(by=by, organisation=organisation, other_side=buyer)

    key = Conversation.make_topic_key(
        technology_id=getattr(technology, "pk", None),
        need_id=getattr(need, "pk", None),
        buyer_id=buyer.pk,
        seller_id=seller.pk,
    )
    existing = Conversation.objects.filter(topic_key=key).first()
    if existing is not None:
        return existing, False
    conversation = Conversation(
        technology=technology,
        need=need,
        buyer=buyer,
        seller=seller,
        topic_key=key,
        title=_title_for(technology, need)[:200],
        started_by=by,
    )
    conversation.full_clean()
    try:
        with transaction.atomic():
            conversation.save()
            Participant.objects.bulk_create(
                [
                    Participant(conversation=conversation, organisation=buyer, role=Participant.Role.BUYER),
                    Participant(conversation=conversation, organisation=seller, role=Participant.Role.SELLER),
                ]
            )
    except IntegrityError:
        # Two clicks at once: the other one created it.
        return Conversation.objects.get(topic_key=key), False
    return conversation, True


def _participation(conversation_id: int, user: User) -> tuple[set[int], tuple[int, str]]:
    """(all participant user ids, (id, name) of the organisation the user speaks for).

    PermissionDenied if the user is not a member of any participating organisation.
    """
    members = selectors.participant_members(conversation_id=conversation_id)
    user_org = next(((org_id, name) for user_id, org_id, name in members if user_id == user.pk), None)
    if user_org is None:
        raise PermissionDenied(_("您不是该洽谈的参与方"))
    return {member[0] for member in members}, user_org


@transaction.atomic
def conversation_invite(*, conversation: Conversation, organisation: Organisation, by: User) -> Participant:
    """A participant brings a verified service agency (IP agent, evaluator, broker) into the conversation."""
    _participation(conversation.pk, by)
    if organisation.kind != Organisation.Kind.AGENCY:
        raise ValidationError({"organisation": _("只能邀请服务机构参与洽谈")})
    if not organisation.is_verified:
        raise ValidationError({"organisation": _("只能邀请已认证的服务机构")})
    if Participant.objects.filter(conversation=conversation, organisation=organisation).exists():
        raise ValidationError({"organisation": _("该机构已在洽谈中")})
    participant = Participant(
        conversation=conversation, organisation=organisation, role=Participant.Role.AGENCY, invited_by=by
    )
    participant.full_clean()
    participant.save()
    url = conversation_url(conversation.pk)
    member_ids = list(organisation.memberships.values_list("user_id", flat=True))
    send_event(
        events.conversation_event(
            conversation_id=conversation.pk,
            title=conversation.title,
            url=url,
            last_seq=Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).get(),
        ),
        user_ids=member_ids,
    )
    notify(
        users=User.objects.filter(pk__in=member_ids),
        kind=Notification.Kind.NEW_MESSAGE,
        title=_("邀请您参与洽谈:%(title)s") % {"title": conversation.title},
        body=_("%(who)s 邀请贵机构作为服务机构参与洽谈") % {"who": str(by)},
        url=url,
    )
    # Last, so the snapshot includes everything above: the conversation's history is unread for them now.
    for user in User.objects.filter(pk__in=member_ids):
        _send_unread(user)
    return participant


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool


def _clean_client_msg_id(client_msg_id: str) -> str:
    value = (client_msg_id or "").strip()
    if not value or len(value) > CLIENT_MSG_ID_MAX or not CLIENT_MSG_ID_RE.match(value):
        raise ValidationError(
            _("client_msg_id 须为 1–%(max)d 个字母、数字或 _.:- 字符") % {"max": CLIENT_MSG_ID_MAX}, code="invalid"
        )
    return value


def _check_text(text: str, has_attachment: bool) -> None:
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError(
            _("消息过长:最多 %(max)d 字,当前 %(length)d 字") % {"max": MAX_TEXT_LENGTH, "length": len(text)},
            code="too_long",
        )
    if not text.strip() and not has_attachment:
        raise ValidationError(_("消息内容不能为空"), code="empty")


def check_rate(user: User) -> None:
    """At most MESSAGING_RATE_LIMIT messages per MESSAGING_RATE_WINDOW seconds per user (a fixed window in the cache).

    If the cache is unreachable the message goes through: losing the limit for a while is better than losing
    messages.
    """
    window = rate_window()
    now = time.time()
    bucket = int(now // window)
    try:
        count = _count_in_window(f"messaging:rate:{user.pk}:{bucket}", window * 2)
    except Exception:
        logger.warning("rate limit not checked (cache unavailable)", exc_info=True)
        return
    if count > rate_limit():
        raise RateLimited(retry_after=max(1, int((bucket + 1) * window - now + 0.999)))


_rate_cache = None


def _shared_cache():
    """One cache object for the whole process.

    ``django.core.cache.cache`` is per thread *and* per asyncio context: every open WebSocket would get its
    own Redis connection pool and open a fresh connection on its first message. The limiter shares one.
    """
    global _rate_cache
    if _rate_cache is None:
        _rate_cache = caches.create_connection(DEFAULT_CACHE_ALIAS)
    return _rate_cache


@receiver(setting_changed)
def _forget_shared_cache(*, setting, **kwargs):
    global _rate_cache
    if setting == "CACHES":
        _rate_cache = None


def _count_in_window(key: str, timeout: int) -> int:
    """Increment the window's counter and return it; on Redis one round trip (SET NX EX + INCR, pipelined)."""
    shared = _shared_cache()
    if isinstance(shared, RedisCache):
        client = shared._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        full_key = shared.make_and_validate_key(key)
        pipe.set(full_key, 0, ex=timeout, nx=True)
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    shared.add(key, 0, timeout=timeout)
    return shared.incr(key)


def _prepare_attachment(upload) -> dict:
    """Validate an image or PDF exactly as listings do; returns the fields and files to store."""
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-" or (getattr(upload, "name", "") or "").lower().endswith(".pdf"):
        name = uploads.validate_pdf(upload)
        return {
            "attachment_kind": Message.AttachmentKind.PDF,
            "attachment_name": name,
            "attachment_size": upload.size,
            "files": [("attachment", uploads.safe_name(name, "pdf"), upload)],
        }
    processed = uploads.process_image(upload)
    original_name = (getattr(upload, "name", "") or processed.name)[:200]
    return {
        "attachment_kind": Message.AttachmentKind.IMAGE,
        "attachment_name": original_name,
        "attachment_size": processed.original.size,
        "width": processed.width,
        "height": processed.height,
        "files": [
            ("attachment", processed.name, processed.original),
            ("attachment_thumb", processed.thumb_name(960), processed.thumbs[max(processed.thumbs)]),
        ],
    }


def _existing(by: User, client_msg_id: str, conversation_id: int) -> Message | None:
    existing = (
        Message.objects.filter(sender=by, client_msg_id=client_msg_id)
        .select_related("sender", "sender_organisation")
        .first()
    )
    if existing is not None and existing.conversation_id != conversation_id:
        raise ValidationError(_("client_msg_id 已用于另一个洽谈的消息,请为新消息生成新的编号"), code="invalid")
    return existing


def message_send(
    *,
    conversation: Conversation,
    by: User,
    client_msg_id: str,
    text: str = "",
    upload=None,
    skip_channel: str | None = None,
) -> SendResult:
    """Store a message, then broadcast it to every participant's open sockets (except ``skip_channel``).

    Idempotent: a resend with a client_msg_id already stored returns the stored message (created=False) and
    broadcasts nothing. Errors carry codes: too_long, empty, invalid, rate_limited (RateLimited);
    PermissionDenied for a user who is not a participant.
    """
    client_msg_id = _clean_client_msg_id(client_msg_id)
    text = text or ""
    _check_text(text, upload is not None)
    if upload is not None:
        # Files are processed before the lock is taken (and a resend does not process them again).
        existing = _existing(by, client_msg_id, conversation.pk)
        if existing is not None:
            return SendResult(existing, False)
    attachment = _prepare_attachment(upload) if upload is not None else {}
    files = attachment.pop("files", [])
    try:
        message = _store_message(
            conversation_id=conversation.pk,
            by=by,
            client_msg_id=client_msg_id,
            text=text,
            attachment=attachment,
            files=files,
            skip_channel=skip_channel,
        )
    except IntegrityError:
        # Already stored (a resend), or the same client id raced in from another tab or worker.
        existing = _existing(by, client_msg_id, conversation.pk)
        if existing is None:
            raise
        return SendResult(existing, False)
    return SendResult(message, True)


@transaction.atomic
def _store_message(*, conversation_id, by, client_msg_id, text, attachment, files, skip_channel):
    # The row lock orders sends within a conversation: seq and id grow in commit order.
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    recipients, (organisation_id, organisation_name) = _participation(conversation_id, by)
    message = Message(
        conversation=conversation,
        seq=conversation.last_seq + 1,
        sender=by,
        sender_organisation_id=organisation_id,
        text=text,
        client_msg_id=client_msg_id,
        **attachment,
    )
    # A resend fails here on the unique client id (IntegrityError: message_send answers with the stored one).
    uploads.save_with_files(message, [(getattr(message, field), name, content) for field, name, content in files])
    # After that check: a resend of a stored message is not a new message and is not limited.
    try:
        check_rate(by)
    except RateLimited:
        for field_file in (message.attachment, message.attachment_thumb):
            if field_file:
                field_file.delete(save=False)
        raise
    Conversation.objects.filter(pk=conversation.pk).update(
        last_seq=message.seq, last_message_id=message.pk, last_message_at=message.created_at
    )
    message.sender = by
    message.sender_organisation = Organisation(pk=organisation_id, name=organisation_name)
    send_event(events.message_event(message), user_ids=recipients, skip_channel=skip_channel)
    _notify_new_message(conversation=conversation, message=message, user_ids=recipients - {by.pk})
    return message


def _preview(message: Message) -> str:
    if message.text.strip():
        text = " ".join(message.text.split())
        return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"
    return _("[附件] %(name)s") % {"name": message.attachment_name}


def _notify_new_message(*, conversation: Conversation, message: Message, user_ids: set[int]) -> None:
    """One unread "new message" notification per user and conversation, however many messages arrive."""
    if not user_ids:
        return
    has_one = set(
        Notification.objects.filter(
            user_id__in=user_ids,
            kind=Notification.Kind.NEW_MESSAGE,
            conversation=conversation,
            read_at__isnull=True,
        ).values_list("user_id", flat=True)
    )
    fresh = [
        Notification(
            user_id=user_id,
            kind=Notification.Kind.NEW_MESSAGE,
            conversation=conversation,
            title=_("%(who)s 发来新消息:%(title)s") % {"who": str(message.sender), "title": conversation.title},
            body=_preview(message),
            url=conversation_url(conversation.pk),
        )
        for user_id in sorted(user_ids - has_one)
    ]
    if not fresh:
        return
    Notification.objects.bulk_create(fresh)
    if fresh[0].pk is None:  # backends without RETURNING on bulk insert
        ids = dict(
            Notification.objects.filter(
                user_id__in=[n.user_id for n in fresh], conversation=conversation, read_at__isnull=True
            ).values_list("user_id", "id")
        )
        for notification in fresh:
            notification.pk = ids.get(notification.user_id)
    for notification in fresh:
        send_event(events.notification_event(notification), user_ids=[notification.user_id])
    _schedule_offline_email()


# ---------------------------------------------------------------- read receipts


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, by: User, last_read_id: int | None = None) -> ReadState:
    """The user has read up to ``last_read_id`` (default: the latest message). Never moves backwards."""
    recipients, _org = _participation(conversation.pk, by)
    latest = Conversation.objects.filter(pk=conversation.pk).values_list("last_message_id", flat=True).get() or 0
    if last_read_id is not None and last_read_id < 0:
        raise ValidationError(_("last_read_id 不能为负数"), code="invalid")
    target = latest if last_read_id is None else min(last_read_id, latest)
    state, _created = ReadState.objects.select_for_update().get_or_create(conversation=conversation, user=by)
    if target <= state.last_read_id:
        return state
    state.last_read_id = target
    state.read_at = timezone.now()
    state.save(update_fields=["last_read_id", "read_at"])
    read_ids = []
    if target >= latest:
        read_ids = list(
            Notification.objects.filter(
                user=by, conversation=conversation, kind=Notification.Kind.NEW_MESSAGE, read_at__isnull=True
            ).values_list("id", flat=True)
        )
        Notification.objects.filter(pk__in=read_ids).update(read_at=timezone.now())
    send_event(events.read_event(conversation_id=conversation.pk, user=by, last_read_id=target), user_ids=recipients)
    if read_ids:
        send_event(events.notifications_read_event(read_ids), user_ids=[by.pk])
    _send_unread(by)
    return state


def _send_unread(user: User) -> None:
    # Computed after commit, so the counts include this transaction's changes.
    transaction.on_commit(
        lambda: send_event(events.unread_event(selectors.unread_counts(user=user)), user_ids=[user.pk])
    )


# ---------------------------------------------------------------- notifications


def notify(
    *,
    users: Iterable[User] | None = None,
    organisation: Organisation | None = None,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
) -> list[Notification]:
    """Tell users (or every member of an organisation) something: stored, then sent live after commit.

    kind is one of Notification.Kind (new_match, new_message, review_result, contract_status). Users offline
    for longer than MESSAGING_OFFLINE_EMAIL_AFTER get it by e-mail (send_offline_notifications).
    """
    if kind not in Notification.Kind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    user_ids = {u.pk for u in users} if users is not None else set()
    if organisation is not None:
        user_ids |= set(organisation.memberships.values_list("user_id", flat=True))
    if not user_ids:
        return []
    with transaction.atomic():
        created = []
        for user_id in sorted(user_ids):
            notification = Notification(user_id=user_id, kind=kind, title=str(title)[:200], body=str(body), url=url)
            notification.full_clean(exclude=["user", "conversation"])
            notification.save()
            created.append(notification)
            send_event(events.notification_event(notification), user_ids=[user_id])
        _schedule_offline_email()
    return created


@transaction.atomic
def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (those ids, or all); others' ids are ignored. Returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    read_ids = list(qs.values_list("id", flat=True))
    if not read_ids:
        return 0
    Notification.objects.filter(pk__in=read_ids).update(read_at=timezone.now())
    send_event(events.notifications_read_event(read_ids), user_ids=[user.pk])
    _send_unread(user)
    return len(read_ids)


# ---------------------------------------------------------------- presence and offline e-mail


def presence_touch(*, user: User, at: datetime.datetime | None = None) -> None:
    if not user.is_authenticated:
        return
    at = at or timezone.now()
    updated = Presence.objects.filter(user=user).update(last_seen=at)
    if not updated:
        try:
            with transaction.atomic():
                Presence.objects.create(user=user, last_seen=at)
        except IntegrityError:
            Presence.objects.filter(user=user).update(last_seen=at)


def offline_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=int(getattr(settings, "MESSAGING_OFFLINE_EMAIL_AFTER", 15 * 60)))


def _schedule_offline_email(delay: datetime.timedelta | None = None) -> None:
    """Queue the offline e-mail sweep for when these users may have gone offline (once per interval)."""
    from .tasks import send_offline_notifications_task

    if not getattr(send_offline_notifications_task.get_backend(), "supports_defer", False):
        return  # no deferred tasks here: the command runs from cron instead
    delay = delay or offline_after()
    if not cache_add_quietly(f"messaging:offline-sweep:{int(time.time() // delay.total_seconds())}", delay):
        return
    run_after = timezone.now() + delay + datetime.timedelta(seconds=5)
    transaction.on_commit(lambda: send_offline_notifications_task.using(run_after=run_after).enqueue())


def cache_add_quietly(key: str, timeout: datetime.timedelta) -> bool:
    try:
        return bool(cache.add(key, 1, timeout=int(timeout.total_seconds())))
    except Exception:
        return True


def send_offline_notifications(*, now: datetime.datetime | None = None) -> int:
    """E-mail users offline for longer than the setting who have unread notifications not yet e-mailed.

    One e-mail per user listing those notifications; each notification is e-mailed at most once, even when
    two runs overlap (rows are claimed before the e-mail goes, and released if it fails). Returns the number
    of e-mails sent.
    """
    now = now or timezone.now()
    cutoff = now - offline_after()
    pending = Notification.objects.filter(read_at__isnull=True, emailed_at__isnull=True)
    user_ids = set(pending.values_list("user_id", flat=True).distinct())
    last_seen = dict(Presence.objects.filter(user_id__in=user_ids).values_list("user_id", "last_seen"))
    offline = [uid for uid in sorted(user_ids) if last_seen.get(uid) is None or last_seen[uid] <= cutoff]
    sent = 0
    for user in User.objects.filter(pk__in=offline, is_active=True).exclude(email=""):
        sent += _email_user(user, now)
    still_online = [last_seen[uid] for uid in user_ids if uid not in offline and uid in last_seen]
    if still_online:
        _schedule_offline_email(max(min(still_online) + offline_after() - now, datetime.timedelta(seconds=30)))
    return sent


def _email_user(user: User, now: datetime.datetime) -> int:
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update()
            .filter(user=user, read_at__isnull=True, emailed_at__isnull=True)
            .order_by("created_at", "id")
        )
        claimed = Notification.objects.filter(pk__in=[n.pk for n in rows], emailed_at__isnull=True).update(
            emailed_at=now
        )
        if not claimed:
            return 0
        site = getattr(settings, "MESSAGING_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        lines = []
        for n in rows:
            lines.append(f"· {n.title}")
            if n.body:
                lines.append(f"  {n.body}")
            if n.url:
                lines.append(f"  {site}{n.url}")
        lines += ["", _("全部通知:%(url)s") % {"url": site + reverse("messaging:notifications")}]
        subject = _("您有 %(count)d 条未读通知 · %(site)s") % {"count": len(rows), "site": settings.SITE_NAME}
        greeting = _("%(name)s,您好:") % {"name": str(user)}
        # If the mail fails, the transaction rolls back and the next run tries again.
        send_mail(subject, "\n".join([greeting, "", *lines]), None, [user.email])
    return 1
