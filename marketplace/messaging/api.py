"""JSON API for messaging under /api/messaging/: conversations, history, send, read, notifications.

Same rules as the pages and the socket: only participants see a conversation (others get 404); sends are
idempotent by client_msg_id (201 stored, 200 already stored); the rate limit answers 429 with Retry-After;
messages and notifications have the same shape as the WebSocket frames (marketplace/messaging/events.py).
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from listings.models import Need, Technology
from marketplace.accounts.api import ServiceErrorsMixin, StandardPagination
from marketplace.accounts.models import Organisation

from . import events, selectors, services
from .models import CLIENT_MSG_ID_MAX, MAX_TEXT_LENGTH, Conversation, Notification

# ---------------------------------------------------------------- serializers (shapes shared with the socket)


class _BriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MessageAttachmentSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=_("image(图片)或 pdf"))
    name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()
    thumb_url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text=_("会话内序号 1, 2, 3 …"))
    conversation = serializers.IntegerField()
    sender = _BriefSerializer()
    organisation = _BriefSerializer(help_text=_("发送人所代表的机构"))
    text = serializers.CharField(help_text=_("原文;显示时须转义"))
    client_msg_id = serializers.CharField()
    attachment = MessageAttachmentSerializer(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return events.message_payload(instance)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    more = serializers.BooleanField(help_text=_("该方向上是否还有更多消息"))


class SendSerializer(serializers.Serializer):
    client_msg_id = serializers.CharField(
        max_length=CLIENT_MSG_ID_MAX, help_text=_("客户端生成的消息编号;重发时使用同一编号不会产生重复消息")
    )
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT_LENGTH)
    file = serializers.FileField(required=False, help_text=_("图片(JPEG/PNG/WebP)或 PDF,multipart 上传"))


class HistoryQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, help_text=_("只取 id 大于此值的消息(补齐)"))
    before = serializers.IntegerField(required=False, min_value=1, help_text=_("只取 id 小于此值的消息(向前翻)"))
    limit = serializers.IntegerField(required=False, min_value=1, max_value=selectors.HISTORY_MAX, default=50)

    def validate(self, attrs):
        if attrs.get("after") is not None and attrs.get("before") is not None:
            raise serializers.ValidationError(_("after 与 before 只能使用其一"))
        return attrs


class ParticipantSerializer(serializers.Serializer):
    organisation = _BriefSerializer()
    role = serializers.CharField()


class ConversationSerializer(serializers.ModelSerializer):
    technology = serializers.SerializerMethodField()
    need = serializers.SerializerMethodField()
    buyer = _BriefSerializer()
    seller = _BriefSerializer()
    participants = serializers.SerializerMethodField()
    unread = serializers.SerializerMethodField()
    last_text = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "title",
            "technology",
            "need",
            "buyer",
            "seller",
            "participants",
            "last_seq",
            "last_message_id",
            "last_message_at",
            "last_text",
            "unread",
            "url",
            "created_at",
        ]

    @extend_schema_field(_BriefSerializer(allow_null=True))
    def get_technology(self, obj):
        return {"id": obj.technology_id, "name": obj.technology.title} if obj.technology_id else None

    @extend_schema_field(_BriefSerializer(allow_null=True))
    def get_need(self, obj):
        return {"id": obj.need_id, "name": obj.need.title} if obj.need_id else None

    @extend_schema_field(ParticipantSerializer(many=True))
    def get_participants(self, obj):
        return [
            {"organisation": {"id": p.organisation_id, "name": p.organisation.name}, "role": p.role}
            for p in obj.participants.all()
        ]

    def get_unread(self, obj) -> int:
        return getattr(obj, "unread", None) or 0

    def get_last_text(self, obj) -> str:
        return getattr(obj, "last_text", None) or ""

    def get_url(self, obj) -> str:
        return services.conversation_url(obj.pk)


class ConversationStartSerializer(serializers.Serializer):
    technology = serializers.PrimaryKeyRelatedField(queryset=Technology.objects.all(), required=False)
    need = serializers.PrimaryKeyRelatedField(queryset=Need.objects.all(), required=False)
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, help_text=_("以哪个机构的身份;只属于一个机构时可省略")
    )


class MarkReadSerializer(serializers.Serializer):
    last_read_id = serializers.IntegerField(required=False, min_value=0, help_text=_("省略时标为读到最新一条"))


class UnreadSerializer(serializers.Serializer):
    conversations = serializers.DictField(child=serializers.IntegerField(), help_text=_("会话 id → 未读条数"))
    messages = serializers.IntegerField()
    notifications = serializers.IntegerField()


class ReadResultSerializer(serializers.Serializer):
    last_read_id = serializers.IntegerField()
    unread = UnreadSerializer()


class AgencyInviteSerializer(serializers.Serializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(
        help_text=_("new_match 新的匹配 / new_message 新消息 / review_result 审核结果 / contract_status 合同状态")
    )
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    conversation = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()

    def to_representation(self, instance):
        return events.notification_payload(instance)


class NotificationsReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, help_text=_("省略时全部标为已读")
    )


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


# ---------------------------------------------------------------- views


def _rate_limited(exc: services.RateLimited) -> Response:
    response = Response(
        {"detail": exc.messages[0], "code": "rate_limited", "retry_after": exc.retry_after},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


@extend_schema_view(
    list=extend_schema(summary="我的洽谈会话", description="按最近消息排序,附未读条数。"),
    retrieve=extend_schema(summary="洽谈会话详情"),
    create=extend_schema(
        summary="发起或重新打开洽谈",
        description="关于科技成果、技术需求或二者(匹配)。已有同一洽谈时返回 200,新建时 201。",
        request=ConversationStartSerializer,
        responses={200: ConversationSerializer, 201: ConversationSerializer},
    ),
)
class ConversationViewSet(
    ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ConversationSerializer
    pagination_class = StandardPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Conversation.objects.none()  # for the schema; the rows come from the selector
    lookup_value_regex = r"\d+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.conversation_list(user=self.request.user).prefetch_related("participants__organisation")

    def get_object(self) -> Conversation:
        try:
            return selectors.conversation_get(pk=int(self.kwargs["pk"]), user=self.request.user)
        except Conversation.DoesNotExist:
            raise Http404(_("洽谈不存在,或您不是参与方"))

    def retrieve(self, request, *args, **kwargs):
        conversation = self.get_object()
        row = self.get_queryset().get(pk=conversation.pk)
        return Response(ConversationSerializer(row).data)

    def create(self, request, *args, **kwargs):
        data = ConversationStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        technology, need = data.validated_data.get("technology"), data.validated_data.get("need")
        for listing in (technology, need):
            if listing is not None and not listing.is_public:
                raise Http404(_("要洽谈的成果或需求不存在"))
        conversation, created = services.conversation_start(
            by=request.user, technology=technology, need=need, organisation=data.validated_data.get("organisation")
        )
        row = self.get_queryset().get(pk=conversation.pk)
        return Response(
            ConversationSerializer(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        methods=["get"],
        summary="消息历史",
        description="按 id 升序。无参数时为最新一页;before 向前翻页;after 补齐之后的消息(断线重连)。",
        parameters=[HistoryQuerySerializer],
        responses=MessagePageSerializer,
    )
    @extend_schema(
        methods=["post"],
        summary="发送消息",
        description=(
            "JSON {client_msg_id, text} 或 multipart(另加 file:图片或 PDF)。新存储 201;同一 client_msg_id "
            "已存储时 200 并返回原消息(幂等)。过长、为空 400;超过频率限制 429(Retry-After)。"
        ),
        request=SendSerializer,
        responses={200: MessageSerializer, 201: MessageSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        conversation = self.get_object()
        if request.method == "GET":
            query = HistoryQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            page, more = selectors.messages_page(conversation=conversation, **query.validated_data)
            return Response({"results": MessageSerializer(page, many=True).data, "more": more})
        data = SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = services.message_send(
                conversation=conversation,
                by=request.user,
                client_msg_id=data.validated_data["client_msg_id"],
                text=data.validated_data["text"],
                upload=data.validated_data.get("file"),
            )
        except services.RateLimited as exc:
            return _rate_limited(exc)
        return Response(
            MessageSerializer(result.message).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="标记已读",
        description="读到 last_read_id(省略时为最新一条);只会前进。参与方的回执实时推送。",
        request=MarkReadSerializer,
        responses=ReadResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        conversation = self.get_object()
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        state = services.conversation_mark_read(
            conversation=conversation, by=request.user, last_read_id=data.validated_data.get("last_read_id")
        )
        return Response({"last_read_id": state.last_read_id, "unread": selectors.unread_counts(user=request.user)})

    @extend_schema(
        summary="邀请服务机构", description="参与方邀请已认证的服务机构加入洽谈。", request=AgencyInviteSerializer
    )
    @action(detail=True, methods=["post"])
    def invite(self, request, pk=None):
        conversation = self.get_object()
        data = AgencyInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_invite(
            conversation=conversation, organisation=data.validated_data["organisation"], by=request.user
        )
        row = self.get_queryset().get(pk=conversation.pk)
        return Response(ConversationSerializer(row).data)


@extend_schema_view(
    list=extend_schema(
        summary="我的通知",
        description="新匹配、新消息、审核结果、合同状态;最新在前。",
        parameters=[OpenApiParameter("unread", bool, description="只看未读")],
    ),
)
class NotificationViewSet(ServiceErrorsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    pagination_class = StandardPagination
    permission_classes = [permissions.IsAuthenticated]
    queryset = Notification.objects.none()

    def get_queryset(self):
        unread_only = self.request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        return selectors.notification_list(user=self.request.user, unread_only=unread_only)

    @extend_schema(summary="通知标为已读", request=NotificationsReadSerializer, responses=MarkedSerializer)
    @action(detail=False, methods=["post"])
    def read(self, request):
        data = NotificationsReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked})


class UnreadView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="未读计数", description="各会话未读消息数、合计与未读通知数(页眉角标)。", responses=UnreadSerializer
    )
    def get(self, request):
        return Response(selectors.unread_counts(user=request.user))
