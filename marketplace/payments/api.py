"""JSON API for payments: the same selectors and services as the pages (ServiceErrorsMixin maps a
service's ValidationError to a 400 naming the problem, PermissionDenied to a 403)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.api import ServiceErrorsMixin, StandardPagination
from marketplace.accounts.models import Organisation

from . import gateway, selectors, services
from .models import LedgerEntry, Payment, Refund

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["kind", "amount", "currency", "stripe_object_id", "method_type", "booked_at"]


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "status", "stripe_refund_id", "error", "requested_at"]


class PaymentSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    payee_name = serializers.CharField(source="payee_label", read_only=True)
    contract_id = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "kind",
            "kind_label",
            "fee_kind",
            "title",
            "amount",
            "currency",
            "payer",
            "payer_name",
            "payee",
            "payee_name",
            "contract_id",
            "instalment_no",
            "due_on",
            "status",
            "status_label",
            "needs_review",
            "created_at",
        ]

    def get_contract_id(self, obj) -> int | None:
        return obj.subject_id if obj.kind == Payment.Kind.INSTALMENT else None


class PaymentDetailSerializer(PaymentSerializer):
    paid = serializers.SerializerMethodField()
    refunded = serializers.SerializerMethodField()
    ledger = serializers.SerializerMethodField()
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "paid", "refunded", "ledger", "refunds"]

    def _entries(self, obj):
        if not hasattr(obj, "_entries"):
            obj._entries = list(obj.ledger_entries.order_by("booked_at", "id"))
        return obj._entries

    def get_paid(self, obj) -> str:
        return str(sum((e.amount for e in self._entries(obj) if e.kind == "charge"), selectors.ZERO))

    def get_refunded(self, obj) -> str:
        return str(sum((e.amount for e in self._entries(obj) if e.kind == "refund"), selectors.ZERO))

    def get_ledger(self, obj) -> list[dict]:
        return LedgerEntrySerializer(self._entries(obj), many=True).data


class StartSerializer(serializers.Serializer):
    attempt_id = serializers.IntegerField()
    payment_intent = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()
    status = serializers.CharField()


class RefundRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    reason = serializers.CharField(max_length=300)


class FeeSerializer(serializers.Serializer):
    payer = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    fee_kind = serializers.ChoiceField(choices=Payment.FeeKind.choices)
    amount = serializers.DecimalField(**MONEY)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PaymentViewSet(ServiceErrorsMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PaymentSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = StandardPagination

    def get_queryset(self):
        status_filter = self.request.query_params.get("status", "")
        if status_filter and status_filter not in Payment.Status.values:
            choices = ", ".join(Payment.Status.values)
            raise serializers.ValidationError(
                {"status": [_("未知的状态「%(s)s」,可选值:%(all)s") % {"s": status_filter, "all": choices}]}
            )
        return selectors.payment_list(user=self.request.user, status=status_filter)

    def get_serializer_class(self):
        return PaymentDetailSerializer if self.action == "retrieve" else PaymentSerializer

    def get_object(self):
        try:
            return selectors.payment_get(pk=int(self.kwargs["pk"]), user=self.request.user)
        except (Payment.DoesNotExist, ValueError, OverflowError):
            raise Http404

    @extend_schema(request=None, responses=StartSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """A PaymentIntent to pay with (the open one if there is one): its client secret for Stripe.js."""
        attempt = services.payment_start(payment=self.get_object(), by=request.user)
        data = {
            "attempt_id": attempt.pk,
            "payment_intent": attempt.payment_intent_id,
            "client_secret": attempt.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "status": attempt.status,
        }
        return Response(StartSerializer(data).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RefundRequestSerializer, responses=RefundSerializer)
    @action(detail=True, methods=["post"])
    def refunds(self, request, pk=None):
        """Staff only: refund part or all of a paid payment (booked when Stripe's event confirms it)."""
        services.require_payments_staff(request.user)
        payment = self.get_object()
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = services.refund_request(payment=payment, by=request.user, **serializer.validated_data)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FeeSerializer, responses=PaymentSerializer)
    @action(detail=False, methods=["post"])
    def fees(self, request):
        """Staff only: bill an organisation a platform service fee."""
        services.require_payments_staff(request.user)
        serializer = FeeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.service_fee_issue(by=request.user, **serializer.validated_data)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class ContractPaymentsView(ServiceErrorsMixin, APIView):
    """Per contract: each scheduled instalment with its status, paid and refunded; totals."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def get(self, request, contract_pk: int):
        try:
            contract = selectors.contract_get(pk=contract_pk, user=request.user)
        except (ObjectDoesNotExist, LookupError):
            raise Http404
        overview = selectors.contract_overview(contract=contract, user=request.user)
        amount = overview["contract_amount"]
        return Response(
            {
                "contract": contract.pk,
                "contract_amount": str(amount) if amount is not None else None,
                "instalments": [
                    {
                        "no": row["no"],
                        "due": row["due"],
                        "amount": str(row["amount"]),
                        "status": row["status"],
                        "payment": row["payment"].pk if row["payment"] else None,
                        "paid": str(row["paid"]),
                        "refunded": str(row["refunded"]),
                    }
                    for row in overview["rows"]
                ],
                "totals": {key: str(value) for key, value in overview["sums"].items()},
            }
        )


class SummaryView(APIView):
    """The bureau and staff: registered contracts' amounts against what was paid through the platform."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def get(self, request):
        if not (request.user.is_bureau or request.user.is_staff):
            raise PermissionDenied(_("只有科技局和平台工作人员可以查看"))
        raw = request.query_params.get("year", "")
        if raw and not (raw.isdigit() and 1990 <= int(raw) <= 2100):
            raise serializers.ValidationError({"year": [_("年份应为 1990 到 2100 之间的数字")]})
        figures = selectors.paid_vs_contracted(year=int(raw) if raw else None)
        return Response({k: str(v) if isinstance(v, Decimal) else v for k, v in figures.items()})


class StatusView(APIView):
    """Whether payments are switched on, and the publishable key for Stripe.js."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: dict})
    def get(self, request):
        configured = gateway.is_configured()
        return Response(
            {
                "configured": configured,
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY if configured else None,
                "methods": settings.PAYMENTS_METHODS if configured else [],
                "currency": "cny",
            }
        )
