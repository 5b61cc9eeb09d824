"""JSON API for organisations, and the small pieces every API view set shares.

The shared pieces (error mapping, pagination, vocabulary fields) live here because accounts is the
lowest layer the listings API already depends on.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from . import selectors, services
from .creditcode import credit_code_error
from .models import Organisation

# ---------------------------------------------------------------- shared pieces


def service_error_detail(exc: DjangoValidationError) -> dict:
    """A Django ValidationError from a service as DRF error detail: {field: [messages]}."""
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


class ServiceErrorsMixin:
    """Services speak Django: ValidationError becomes a 400 with its messages.

    (PermissionDenied and Http404 are already mapped to 403 and 404 by DRF.)
    """

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = exceptions.ValidationError(service_error_detail(exc))
        return super().handle_exception(exc)


class StandardPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CodeField(serializers.ChoiceField):
    """A code of a controlled vocabulary; an unknown code is refused naming it and the valid ones."""

    def __init__(self, choices: type[models.TextChoices] | list[tuple[str, str]], *, what, **kwargs):
        self.what = what
        super().__init__(choices=getattr(choices, "choices", choices), **kwargs)

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        code = str(data).strip()
        if code not in self.choice_strings_to_values:
            raise serializers.ValidationError(
                _("未知的%(what)s代码「%(value)s」,可选值:%(choices)s")
                % {"what": self.what, "value": code, "choices": ", ".join(self.choice_strings_to_values)},
                code="invalid_choice",
            )
        return self.choice_strings_to_values[code]


class CodeListField(serializers.ListField):
    """A list of vocabulary codes; reads the codes of a many-to-many whose primary key is the code."""

    def to_representation(self, data):
        if hasattr(data, "all"):
            return [obj.pk for obj in data.all()]
        return super().to_representation(data)


class CommaCodeListField(serializers.ListField):
    """For query strings: `tags=a,b` and `tags=a&tags=b` both give ["a", "b"]."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list):
            data = [part.strip() for item in data for part in str(item).split(",") if part.strip()]
        return super().to_internal_value(data)


def validated_query(serializer_class, request) -> dict:
    """Parse query parameters with a serializer; bad values give a 400 naming them."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {key: value for key, value in serializer.validated_data.items() if value not in ("", None, [])}


class ReviewDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text=_("true 通过,false 退回/不通过"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


# ---------------------------------------------------------------- organisations


class OrganisationSerializer(serializers.ModelSerializer):
    kind = CodeField(Organisation.Kind, what=_("机构类型"))
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    region = CodeField(Organisation.Region, what=_("地区"))
    region_label = serializers.CharField(read_only=True)
    verification_label = serializers.CharField(source="get_verification_display", read_only=True)
    verification_note = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("仅本机构成员和科技局可见,其他人为 null")
    )

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "kind",
            "kind_label",
            "region",
            "region_label",
            "province",
            "credit_code",
            "description",
            "website",
            "contact_phone",
            "verification",
            "verification_label",
            "verification_note",
            "verified_at",
            "created_at",
        ]
        read_only_fields = ["verification", "verified_at", "created_at"]
        # Uniqueness is checked by the service (full_clean), in one place for pages and API.
        extra_kwargs = {"name": {"validators": []}, "credit_code": {"validators": []}}

    def validate_credit_code(self, value: str) -> str:
        error = credit_code_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value

    def to_representation(self, instance):
        data = super().to_representation(instance)
        viewer = self.context.get("viewer")
        if viewer is None or not viewer.sees_internal(instance.pk):
            data["verification_note"] = None
        return data


class OrganisationUpdateSerializer(serializers.ModelSerializer):
    """Kind and credit code are fixed once registered: changing them would bypass verification."""

    region = CodeField(Organisation.Region, what=_("地区"))

    class Meta:
        model = Organisation
        fields = ["name", "region", "province", "description", "website", "contact_phone"]
        extra_kwargs = {"name": {"validators": []}}


class OrganisationFilterSerializer(serializers.Serializer):
    kind = CodeField(Organisation.Kind, what=_("机构类型"), required=False, allow_blank=True)
    region = CodeField(Organisation.Region, what=_("地区"), required=False, allow_blank=True)
    verification = CodeField(Organisation.Verification, what=_("认证状态"), required=False, allow_blank=True)


class Viewer:
    """Who is looking: decides whether internal notes are shown. Looks memberships up once per request."""

    def __init__(self, user):
        self.user = user
        self._org_ids = None

    @property
    def is_bureau(self) -> bool:
        return bool(self.user.is_authenticated and self.user.is_bureau)

    def sees_internal(self, organisation_id: int) -> bool:
        if not self.user.is_authenticated:
            return False
        if self.is_bureau:
            return True
        if self._org_ids is None:
            self._org_ids = set(selectors.organisations_of(user=self.user).values_list("id", flat=True))
        return organisation_id in self._org_ids


def _enum_param(name: str, choices: type[models.TextChoices], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, enum=list(choices.values), description=description)


@extend_schema_view(
    list=extend_schema(
        summary="机构列表",
        description="匿名用户与其他用户看到已认证机构(登录用户另加本人所属机构);科技局看到全部。",
        parameters=[
            _enum_param("kind", Organisation.Kind, "机构类型"),
            _enum_param("region", Organisation.Region, "所在地区"),
            _enum_param("verification", Organisation.Verification, "认证状态(科技局审核时使用)"),
        ],
    ),
    retrieve=extend_schema(summary="机构详情"),
    create=extend_schema(summary="注册机构", description="登录用户注册机构并成为其管理员;机构等待科技局认证。"),
    update=extend_schema(summary="修改机构", request=OrganisationUpdateSerializer, responses=OrganisationSerializer),
    partial_update=extend_schema(
        summary="部分修改机构", request=OrganisationUpdateSerializer, responses=OrganisationSerializer
    ),
)
class OrganisationViewSet(
    ServiceErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrganisationSerializer
    pagination_class = StandardPagination
    queryset = Organisation.objects.none()  # for the schema; the rows come from the selector
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        filters = validated_query(OrganisationFilterSerializer, self.request) if self.action == "list" else {}
        return selectors.organisation_list(user=self.request.user, **filters)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["viewer"] = Viewer(self.request.user)
        return context

    def create(self, request, *args, **kwargs):
        serializer = OrganisationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = services.organisation_create(owner=request.user, **serializer.validated_data)
        return Response(self._out(organisation), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        organisation = self.get_object()
        services.require_owner(user=request.user, organisation=organisation)
        serializer = OrganisationUpdateSerializer(organisation, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        organisation = services.organisation_update(
            organisation=organisation, by=request.user, **serializer.validated_data
        )
        return Response(self._out(organisation))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="科技局认证机构",
        description="通过或不通过(不通过须填写原因)。仅科技局审核人员可用。",
        request=ReviewDecisionSerializer,
        responses=OrganisationSerializer,
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        services.require_bureau(request.user)
        organisation = self.get_object()
        decision = ReviewDecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        organisation = services.organisation_verify(
            organisation=organisation, by=request.user, **decision.validated_data
        )
        return Response(self._out(organisation))

    def _out(self, organisation: Organisation) -> dict:
        return OrganisationSerializer(organisation, context=self.get_serializer_context()).data
