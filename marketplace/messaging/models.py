"""Conversations between organisations, their messages, read receipts, notifications and presence.

A conversation is about a technology, a need, or both at once (a match: the need's owner is the buyer,
the technology's owner the seller). Its participants are organisations (buyer, seller and, when invited,
a service agency); every member of a participating organisation takes part.

Messages carry two numbers: ``id`` (global, what acknowledgements and read receipts use) and ``seq``
(1, 2, 3 … within the conversation). Sends lock the conversation row, so within a conversation ``seq`` and
``id`` grow in commit order: a client that resumes "after id N" of a conversation misses nothing, and a
gap in ``seq`` tells a socket that an event was lost on the way (it then reads the gap from the database).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listings.models import Need, Technology
from marketplace.accounts.models import Organisation

MAX_TEXT_LENGTH = 4000
CLIENT_MSG_ID_MAX = 64


class ConversationQuerySet(models.QuerySet):
    def for_user(self, user):
        """Conversations one of whose participating organisations the user is a member of."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            pk__in=Participant.objects.filter(organisation__memberships__user=user).values("conversation_id")
        )


class Conversation(models.Model):
    technology = models.ForeignKey(
        Technology, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("需求方"))
    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("供给方"))
    # One conversation per subject and pair of organisations: starting it again reopens it.
    topic_key = models.CharField(max_length=80, unique=True, editable=False)
    title = models.CharField(_("主题"), max_length=200)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_seq = models.PositiveIntegerField(default=0)
    last_message_id = models.BigIntegerField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-created_at", "-id"]
        verbose_name = _("洽谈会话")
        verbose_name_plural = _("洽谈会话")

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def make_topic_key(*, technology_id, need_id, buyer_id, seller_id) -> str:
        return f"t{technology_id or 0}-n{need_id or 0}-b{buyer_id}-s{seller_id}"


class Participant(models.Model):
    class Role(models.TextChoices):
        BUYER = "buyer", _("需求方")
        SELLER = "seller", _("供给方")
        AGENCY = "agency", _("服务机构")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="conversation_roles")
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "organisation"], name="unique_conversation_participant")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


def message_file_path(instance, filename):
    return f"messages/{timezone.now():%Y/%m}/{filename}"


class Message(models.Model):
    class AttachmentKind(models.TextChoices):
        NONE = "", _("无")
        IMAGE = "image", _("图片")
        PDF = "pdf", _("PDF 文件")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # Stored raw; escaped wherever it is shown (templates autoescape, chat.js uses textContent).
    text = models.TextField(_("内容"), max_length=MAX_TEXT_LENGTH, blank=True)
    client_msg_id = models.CharField(max_length=CLIENT_MSG_ID_MAX)
    attachment_kind = models.CharField(max_length=5, choices=AttachmentKind.choices, blank=True, default="")
    attachment = models.FileField(upload_to=message_file_path, blank=True)
    attachment_thumb = models.FileField(upload_to=message_file_path, blank=True)
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [
            # A resend with the same client id is the same message (idempotent send).
            models.UniqueConstraint(fields=["sender", "client_msg_id"], name="unique_client_msg_id_per_sender"),
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_seq_per_conversation"),
        ]
        indexes = [models.Index(fields=["conversation", "id"])]

    def __str__(self) -> str:
        return self.text[:40] or self.attachment_name


class ReadState(models.Model):
    """How far one user has read one conversation (read receipts; unread counts are what lies beyond)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="unique_read_state")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} up to {self.last_read_id}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        NEW_MATCH = "new_match", _("新的匹配")
        NEW_MESSAGE = "new_message", _("新消息")
        REVIEW_RESULT = "review_result", _("审核结果")
        CONTRACT_STATUS = "contract_status", _("合同状态")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    # New-message notifications are one per conversation until read (counted, not repeated).
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class Presence(models.Model):
    """When a user was last seen (socket connect, heartbeat or disconnect; page views): offline e-mail uses it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence")
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} {self.last_seen:%Y-%m-%d %H:%M}"
