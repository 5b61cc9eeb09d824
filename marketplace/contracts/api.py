"""JSON API of deals and technology contracts (/api/contracts/).

Same rules as the pages: reads through contracts.selectors, writes through contracts.services, whose
ValidationError / PermissionDenied become 400 / 403. Money is a string with two decimals. The audit
trail is read-only here: there is no route that changes or deletes an entry.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from listings.models import Need, Technology
from listings.vocab import County, Field
from marketplace.accounts import selectors as account_selectors
from marketplace.accounts.api import CodeField, ServiceErrorsMixin, StandardPagination
from marketplace.accounts.models import Organisation
from marketplace.accounts.services import require_bureau

from . import selectors, services
from .models import AuditEntry, Contract, ContractVersion, Deal
from .vocab import ContractIPKind, ContractType, EntityKind, PaymentMode

MONEY = {"max_digits": 14, "decimal_places": 2}


# ---------------------------------------------------------------- output


class ItemSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    amount = serializers.DecimalField(**MONEY)


class InstalmentSerializer(serializers.Serializer):
    due = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)


class VersionSerializer(serializers.ModelSerializer):
    # Plain strings (the labels beside them): the same names carry other vocabularies elsewhere in the schema.
    status = serializers.CharField(read_only=True)
    seller_kind = serializers.CharField(read_only=True)
    buyer_kind = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    has_scan = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True)
    seller_region_name = serializers.CharField(read_only=True)
    buyer_region_name = serializers.CharField(read_only=True)

    class Meta:
        model = ContractVersion
        exclude = ["contract", "scan", "created_by", "reviewer", "first_approved_by", "registered_by"]

    def get_has_scan(self, version) -> bool:
        return bool(version.scan)


class ContractSerializer(serializers.ModelSerializer):
    seller_organisation = serializers.PrimaryKeyRelatedField(read_only=True)
    current_version = serializers.SerializerMethodField()
    versions = VersionSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "registration_number",
            "seller_organisation",
            "deal",
            "current_version",
            "versions",
            "created_at",
        ]

    def get_current_version(self, contract) -> int | None:
        return contract.current_version.number if contract.current_version_id else None


class DealSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Deal
        fields = ["id", "title", "seller", "buyer", "technology", "need", "status", "status_label", "created_at"]


class AuditEntrySerializer(serializers.ModelSerializer):
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "actor_name", "action", "action_label", "contract", "version", "deal"]
        fields += ["subject", "diff", "note"]


# ---------------------------------------------------------------- input


class ContractInputSerializer(serializers.Serializer):
    """The shape of the input; the service and the model check the rules (amounts, dates, codes)."""

    organisation_id = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, help_text=_("登记机构(卖方);只属于一个机构时可省略")
    )
    deal_id = serializers.PrimaryKeyRelatedField(queryset=Deal.objects.all(), required=False, allow_null=True)
    contract_type = CodeField(ContractType, what=_("合同类型"))
    project_name = serializers.CharField(max_length=200)
    buyer_organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    buyer_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    buyer_credit_code = serializers.CharField(max_length=18, required=False, allow_blank=True)
    buyer_region_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    buyer_kind = CodeField(EntityKind, what=_("主体类型"), required=False, allow_blank=True)
    county = CodeField(County, what=_("县区/园区"), required=False, allow_blank=True)
    contract_amount = serializers.DecimalField(**MONEY)
    tech_amount = serializers.DecimalField(**MONEY)
    items = ItemSerializer(many=True, required=False)
    signed_on = serializers.DateField()
    term_start = serializers.DateField()
    term_end = serializers.DateField()
    payment_mode = CodeField(PaymentMode, what=_("支付方式"))
    payment_schedule = InstalmentSerializer(many=True, required=False)
    royalty_rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    payment_note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    field = CodeField(Field, what=_("技术领域"))
    ip_kind = CodeField(ContractIPKind, what=_("知识产权类型"))
    technology = serializers.PrimaryKeyRelatedField(queryset=Technology.objects.all(), required=False, allow_null=True)
    need = serializers.PrimaryKeyRelatedField(queryset=Need.objects.all(), required=False, allow_null=True)
    expected_investment = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    expected_output = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    submit = serializers.BooleanField(required=False, default=False)

    def service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        for name in ("organisation_id", "deal_id", "submit"):
            data.pop(name, None)
        if "payment_schedule" in data:
            data["payment_schedule"] = [
                {"due": row["due"].isoformat(), "amount": f"{row['amount']:.2f}"} for row in data["payment_schedule"]
            ]
        if "items" in data:
            data["items"] = [{"name": row["name"], "amount": row["amount"]} for row in data["items"]]
        return data


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ScanUploadSerializer(serializers.Serializer):
    scan = serializers.FileField()


class DealInputSerializer(serializers.Serializer):
    """Either organisation_id with technology or need, or a conversation, or a match."""

    organisation_id = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all(), required=False)
    technology = serializers.PrimaryKeyRelatedField(queryset=Technology.objects.all(), required=False, allow_null=True)
    need = serializers.PrimaryKeyRelatedField(queryset=Need.objects.all(), required=False, allow_null=True)
    conversation = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    match = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not (attrs.get("conversation") or attrs.get("match") or attrs.get("organisation_id")):
            message = _("请指定机构,或给出会话 conversation / 匹配 match")
            raise serializers.ValidationError({"organisation_id": [message]})
        return attrs


# ---------------------------------------------------------------- views


class ContractViewSet(ServiceErrorsMixin, viewsets.GenericViewSet):
    serializer_class = ContractSerializer
    queryset = Contract.objects.none()
    pagination_class = StandardPagination
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.contracts_for_user(user=self.request.user)

    def get_object(self):
        try:
            return selectors.contract_detail(pk=int(self.kwargs["pk"]), user=self.request.user)
        except (ObjectDoesNotExist, ValueError):
            raise Http404 from None

    def _out(self, contract, code=status.HTTP_200_OK):
        fresh = selectors.contract_detail(pk=contract.pk, user=self.request.user)
        return Response(ContractSerializer(fresh).data, status=code)

    @extend_schema(summary="技术合同列表", description="本机构作为卖方或买方的合同;科技局可见全部。")
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ContractSerializer(page, many=True).data)

    @extend_schema(summary="技术合同详情(含全部版本)")
    def retrieve(self, request, pk=None):
        return Response(ContractSerializer(self.get_object()).data)

    @extend_schema(summary="登记技术合同(卖方)", request=ContractInputSerializer)
    def create(self, request):
        body = ContractInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organisation = body.validated_data.get("organisation_id")
        if organisation is None:
            own = list(account_selectors.organisations_of(user=request.user)[:2])
            if len(own) != 1:
                raise serializers.ValidationError({"organisation_id": [_("请指定登记机构 organisation_id")]})
            organisation = own[0]
        contract = services.contract_create(
            organisation=organisation,
            by=request.user,
            deal=body.validated_data.get("deal_id"),
            submit=body.validated_data.get("submit", False),
            **body.service_kwargs(),
        )
        return self._out(contract, status.HTTP_201_CREATED)

    @extend_schema(summary="修改草稿或退回的版本", request=ContractInputSerializer)
    def partial_update(self, request, pk=None):
        contract = self.get_object()
        body = ContractInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.contract_update(contract=contract, by=request.user, **body.service_kwargs())
        return self._out(contract)

    @extend_schema(
        summary="上传 / 下载合同扫描件",
        description="POST multipart 字段 scan(PDF,按内容检查);GET ?version=N 下载(仅当事方和科技局)。",
        request=ScanUploadSerializer,
        parameters=[OpenApiParameter("version", int, required=False)],
    )
    @action(detail=True, methods=["get", "post"])
    def scan(self, request, pk=None):
        contract = self.get_object()
        if request.method == "POST":
            body = ScanUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.contract_upload_scan(contract=contract, by=request.user, scan=body.validated_data["scan"])
            return self._out(contract)
        services.ensure_can_read(contract=contract, by=request.user)
        number = request.query_params.get("version")
        versions = contract.versions.all()
        version = get_object_or_404(versions, number=int(number)) if number and number.isdigit() else versions.last()
        if not version.scan:
            raise Http404
        response = FileResponse(version.scan.open("rb"), content_type="application/pdf", filename=version.scan_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(summary="提交登记", request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        services.contract_submit(contract=self.get_object(), by=request.user)
        return self._out(self.get_object())

    @extend_schema(summary="申请变更(生成新版本)", request=NoteSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.contract_amend(contract=self.get_object(), by=request.user, **body.validated_data)
        return self._out(self.get_object())

    @extend_schema(summary="开始审核(科技局)", request=None)
    @action(detail=True, methods=["post"])
    def start_review(self, request, pk=None):
        require_bureau(request.user)
        services.contract_start_review(contract=self.get_object(), by=request.user)
        return self._out(self.get_object())

    @extend_schema(summary="同意登记(科技局;500 万元及以上须两人)", request=NoteSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        require_bureau(request.user)
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.contract_approve(contract=self.get_object(), by=request.user, **body.validated_data)
        return self._out(self.get_object())

    @extend_schema(summary="退回(科技局,须写明原因)", request=ReturnSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        require_bureau(request.user)
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.contract_return(contract=self.get_object(), by=request.user, **body.validated_data)
        return self._out(self.get_object())

    @extend_schema(summary="合同的审计记录(科技局)", responses=AuditEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def audit(self, request, pk=None):
        require_bureau(request.user)
        entries = selectors.audit_trail(contract=self.get_object(), limit=None)
        return Response(AuditEntrySerializer(entries, many=True).data)


class NoticeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """公示: public, read-only."""

    permission_classes = [AllowAny]
    serializer_class = VersionSerializer
    pagination_class = StandardPagination
    queryset = ContractVersion.objects.none()

    def get_queryset(self):
        return selectors.notices()

    @extend_schema(summary="协议价格公示(公开)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class AuditViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail for the bureau: list and read; no create, update or delete route exists."""

    serializer_class = AuditEntrySerializer
    pagination_class = StandardPagination
    permission_classes = [IsAuthenticated]
    queryset = AuditEntry.objects.none()

    def get_queryset(self):
        require_bureau(self.request.user)
        return selectors.audit_trail(limit=None)


class DealViewSet(ServiceErrorsMixin, viewsets.GenericViewSet):
    serializer_class = DealSerializer
    queryset = Deal.objects.none()
    pagination_class = StandardPagination
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"

    @extend_schema(summary="洽谈列表")
    def list(self, request):
        page = self.paginate_queryset(selectors.deals_for_user(user=request.user))
        return self.get_paginated_response(DealSerializer(page, many=True).data)

    @extend_schema(summary="洽谈详情")
    def retrieve(self, request, pk=None):
        try:
            deal = selectors.deal_detail(pk=int(pk), user=request.user)
        except (ObjectDoesNotExist, ValueError):
            raise Http404 from None
        return Response(DealSerializer(deal).data)

    @extend_schema(summary="发起洽谈", request=DealInputSerializer)
    def create(self, request):
        body = DealInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if data.get("conversation"):
            from marketplace.messaging.models import Conversation

            conversation = Conversation.objects.for_user(request.user).filter(pk=data["conversation"]).first()
            if conversation is None:
                raise Http404
            deal = services.deal_for_conversation(conversation=conversation, by=request.user)
        elif data.get("match"):
            from matching.models import Match

            deal = services.deal_for_match(match=get_object_or_404(Match, pk=data["match"]), by=request.user)
        else:
            data.pop("conversation", None)
            data.pop("match", None)
            deal = services.deal_open(by=request.user, organisation=data.pop("organisation_id"), **data)
        return Response(DealSerializer(deal).data, status=status.HTTP_201_CREATED)
