"""JSON API for technologies (科技成果) and needs (技术需求).

Same rules as the pages: reads go through listings.selectors (visibility included), writes through
listings.services. Serializers check the shape of the input; services enforce the rules, and their
ValidationError / PermissionDenied become 400 / 403 (ServiceErrorsMixin).
"""

import contextlib

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.accounts import selectors as account_selectors
from marketplace.accounts.api import (
    CodeField,
    CodeListField,
    CommaCodeListField,
    ReviewDecisionSerializer,
    ServiceErrorsMixin,
    StandardPagination,
    Viewer,
    validated_query,
)
from marketplace.accounts.models import Organisation
from marketplace.accounts.services import require_bureau

from . import selectors, services
from .models import Attachment, ListingStatus, Need, Technology, TechnologyImage
from .patents import parse_patent_number
from .vocab import County, Field, IPKind, Maturity, ModeCode, PriceKind, TagCode

PATENT_KINDS = (IPKind.INVENTION, IPKind.UTILITY, IPKind.DESIGN)
REGION_FILTER_CHOICES = [*Organisation.Region.choices, (selectors.AID_REGION_FILTER, _("援藏省份(北京、江苏)"))]


def field_code():
    return CodeField(Field, what=_("技术领域"))


def tag_codes(**kwargs):
    return CodeListField(child=CodeField(TagCode, what=_("特色产业标签")), **kwargs)


def mode_codes(**kwargs):
    return CodeListField(child=CodeField(ModeCode, what=_("转化方式")), **kwargs)


# ---------------------------------------------------------------- nested parts


class OrganisationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "region"]


class IPRecordSerializer(serializers.Serializer):
    kind = CodeField(IPKind, what=_("知识产权类型"))
    number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="image", read_only=True)
    thumb_320 = serializers.FileField(read_only=True)
    thumb_960 = serializers.FileField(read_only=True)

    class Meta:
        model = TechnologyImage
        fields = ["url", "thumb_320", "thumb_960", "width", "height", "caption"]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="file", read_only=True)

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "url"]


# ---------------------------------------------------------------- listings


class ListingSerializer(serializers.ModelSerializer):
    """What technologies and needs share: vocabulary, organisation, status, the internal review note."""

    field = field_code()
    field_label = serializers.CharField(source="get_field_display", read_only=True)
    tags = tag_codes(required=False, help_text=_("特色产业标签代码"))
    organisation = OrganisationBriefSerializer(read_only=True)
    organisation_id = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        write_only=True,
        required=False,
        help_text=_("发布机构;只属于一个机构时可省略。创建后不能更改。"),
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    review_note = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("审核意见:仅本机构成员和科技局可见,其他人为 null")
    )
    attachments = AttachmentSerializer(many=True, read_only=True)
    submit = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text=_("创建后立即提交审核(仅创建时有效)")
    )

    common_fields = [
        "field",
        "field_label",
        "tags",
        "attachments",
        "organisation",
        "organisation_id",
        "region",
        "status",
        "status_label",
        "review_note",
        "submit",
        "published_at",
        "created_at",
        "updated_at",
    ]
    common_read_only = ["region", "status", "published_at", "created_at", "updated_at"]

    def validate(self, attrs):
        organisation = attrs.get("organisation_id")
        if self.instance is not None:
            if organisation is not None and organisation.pk != self.instance.organisation_id:
                raise serializers.ValidationError({"organisation_id": _("不能更改所属机构")})
            return attrs
        if organisation is None:
            user = self.context["request"].user
            own = list(account_selectors.organisations_of(user=user)[:2])
            if len(own) != 1:
                message = _("您属于多个机构,请指定 organisation_id") if own else _("您还不属于任何机构,请先注册机构")
                raise serializers.ValidationError({"organisation_id": message})
            attrs["organisation_id"] = own[0]
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        viewer = self.context.get("viewer")
        if viewer is None or not viewer.sees_internal(instance.organisation_id):
            data["review_note"] = None
        return data


class TechnologySerializer(ListingSerializer):
    maturity = CodeField(Maturity, what=_("成熟度"), required=False, help_text=_("省略时按 TRL 推定"))
    maturity_label = serializers.CharField(source="get_maturity_display", read_only=True)
    transfer_modes = mode_codes(help_text=_("转化方式代码,至少一种"))
    price_kind = CodeField(PriceKind, what=_("价格方式"), required=False)
    price_display = serializers.CharField(read_only=True)
    ip_records = IPRecordSerializer(many=True, required=False)
    images = ImageSerializer(many=True, read_only=True)

    class Meta:
        model = Technology
        fields = [
            "id",
            "title",
            "summary",
            "description",
            "benefits",
            "keywords",
            "maturity",
            "maturity_label",
            "trl",
            "transfer_modes",
            "price_kind",
            "price_cny",
            "price_max_cny",
            "price_display",
            "ip_records",
            "images",
            *ListingSerializer.common_fields,
        ]
        read_only_fields = ListingSerializer.common_read_only

    def validate_ip_records(self, records):
        # Two rows with one number would break the database's uniqueness; say so instead.
        seen = set()
        for record in records:
            number = record.get("number", "").strip()
            if record["kind"] in PATENT_KINDS and number:
                with contextlib.suppress(ValueError):  # the service reports a malformed number
                    number = parse_patent_number(number)[0]
            if number and number in seen:
                raise serializers.ValidationError(_("知识产权编号「%(number)s」重复") % {"number": number})
            seen.add(number)
        return records


class NeedSerializer(ListingSerializer):
    budget_display = serializers.CharField(read_only=True)
    county = CodeField(County, what=_("县区/园区"))
    county_label = serializers.CharField(source="get_county_display", read_only=True)
    desired_modes = mode_codes(required=False, help_text=_("可接受的转化方式代码"))
    min_maturity = CodeField(Maturity, what=_("成熟度"), required=False, allow_blank=True)

    class Meta:
        model = Need
        fields = [
            "id",
            "title",
            "description",
            "budget_cny",
            "budget_display",
            "county",
            "county_label",
            "desired_modes",
            "min_maturity",
            "deadline",
            *ListingSerializer.common_fields,
        ]
        read_only_fields = ListingSerializer.common_read_only


class WithdrawSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


# ---------------------------------------------------------------- filters


class ListingFilterSerializer(serializers.Serializer):
    field = CodeField(Field, what=_("技术领域"), required=False, allow_blank=True)
    tags = CommaCodeListField(child=CodeField(TagCode, what=_("特色产业标签")), required=False)
    status = CodeField(ListingStatus, what=_("状态"), required=False, allow_blank=True)
    region = CodeField(REGION_FILTER_CHOICES, what=_("地区"), required=False, allow_blank=True)
    organisation = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)


class TechnologyFilterSerializer(ListingFilterSerializer):
    maturity = CodeField(Maturity, what=_("成熟度"), required=False, allow_blank=True)


class NeedFilterSerializer(ListingFilterSerializer):
    county = CodeField(County, what=_("县区/园区"), required=False, allow_blank=True)


def _enum(name: str, choices, description: str) -> OpenApiParameter:
    values = [value for value, _label in getattr(choices, "choices", choices)]
    return OpenApiParameter(name, OpenApiTypes.STR, enum=values, description=description)


def _filter_parameters(extra: list[OpenApiParameter]) -> list[OpenApiParameter]:
    return [
        _enum("field", Field, "技术领域代码"),
        OpenApiParameter(
            "tags",
            {"type": "array", "items": {"type": "string", "enum": list(TagCode.values)}},
            style="form",
            explode=False,
            description="特色产业标签代码,逗号分隔(如 tags=health,ecology);带有其中任一标签的条目即匹配(any of)",
        ),
        _enum(
            "status",
            ListingStatus,
            "状态。匿名用户和其他机构只能看到公开状态;本机构成员另见本机构的全部条目,科技局可见全部",
        ),
        _enum("region", REGION_FILTER_CHOICES, "来源地区;aid 表示援藏省份(北京和江苏)"),
        *extra,
        OpenApiParameter("organisation", OpenApiTypes.INT, description="机构 id"),
        OpenApiParameter("q", OpenApiTypes.STR, description="标题或描述包含此文字(简单匹配,全文检索另见搜索接口)"),
    ]


# ---------------------------------------------------------------- view sets


class ListingViewSet(ServiceErrorsMixin, viewsets.GenericViewSet):
    """List, read, create, edit, submit, withdraw and review; no delete (withdraw instead)."""

    pagination_class = StandardPagination
    lookup_value_regex = r"\d+"
    filter_serializer_class: type[ListingFilterSerializer]
    list_selector = staticmethod(selectors.technology_list_for_api)
    detail_selector = staticmethod(selectors.technology_detail)
    create_service = staticmethod(services.technology_create)
    update_service = staticmethod(services.technology_update)
    instance_kwarg = "technology"

    def get_queryset(self):
        filters = validated_query(self.filter_serializer_class, self.request)
        if "organisation" in filters:
            filters["organisation_id"] = filters.pop("organisation")
        return self.list_selector(user=self.request.user, **filters)

    def get_object(self):
        try:
            return self.detail_selector(pk=int(self.kwargs["pk"]), user=self.request.user)
        except ObjectDoesNotExist:
            raise Http404 from None

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["viewer"] = Viewer(self.request.user)
        return context

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation_id")
        listing = self.create_service(organisation=organisation, by=request.user, **data)
        return Response(self._out(listing), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        listing = self.get_object()
        services.ensure_can_edit(listing=listing, by=request.user)
        serializer = self.get_serializer(listing, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("organisation_id", None)
        data.pop("submit", None)
        listing = self.update_service(**{self.instance_kwarg: listing}, by=request.user, **data)
        return Response(self._out(listing))

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(request=None, summary="提交审核", description="本机构成员提交草稿、退回或撤回的条目;机构须已认证。")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        listing = services.listing_submit(listing=self.get_object(), by=request.user)
        return Response(self._out(listing))

    @extend_schema(request=WithdrawSerializer, summary="撤回", description="本机构成员撤回条目(可填写说明)。")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        listing = self.get_object()
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        listing = services.listing_withdraw(listing=listing, by=request.user, **body.validated_data)
        return Response(self._out(listing))

    @extend_schema(
        request=ReviewDecisionSerializer,
        summary="科技局审核",
        description="仅科技局:approve=true 发布,approve=false 退回(须填写 note 说明原因)。",
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        require_bureau(request.user)
        listing = self.get_object()
        decision = ReviewDecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        listing = services.listing_review(listing=listing, by=request.user, **decision.validated_data)
        return Response(self._out(listing))

    def _out(self, listing) -> dict:
        fresh = self.detail_selector(pk=listing.pk, user=self.request.user)
        return self.get_serializer(fresh).data


@extend_schema_view(
    list=extend_schema(
        summary="科技成果列表",
        description="公开的成果;本机构成员另见本机构全部成果,科技局可见全部。按发布时间倒序。",
        parameters=_filter_parameters([_enum("maturity", Maturity, "成熟度代码")]),
    ),
    retrieve=extend_schema(summary="科技成果详情"),
    create=extend_schema(summary="发布科技成果", description="本机构成员创建草稿(submit=true 时直接提交审核)。"),
    update=extend_schema(summary="修改科技成果", description="已发布的成果修改后重新进入审核。"),
    partial_update=extend_schema(summary="部分修改科技成果"),
)
class TechnologyViewSet(ListingViewSet):
    queryset = Technology.objects.none()  # for the schema; rows come from the selectors
    serializer_class = TechnologySerializer
    filter_serializer_class = TechnologyFilterSerializer


@extend_schema_view(
    list=extend_schema(
        summary="技术需求列表",
        description="公开的需求;本机构成员另见本机构全部需求,科技局可见全部。按发布时间倒序。",
        parameters=_filter_parameters([_enum("county", County, "县区/园区代码")]),
    ),
    retrieve=extend_schema(summary="技术需求详情"),
    create=extend_schema(summary="发布技术需求", description="本机构成员创建草稿(submit=true 时直接提交审核)。"),
    update=extend_schema(summary="修改技术需求", description="已发布的需求修改后重新进入审核。"),
    partial_update=extend_schema(summary="部分修改技术需求"),
)
class NeedViewSet(ListingViewSet):
    queryset = Need.objects.none()
    serializer_class = NeedSerializer
    filter_serializer_class = NeedFilterSerializer
    list_selector = staticmethod(selectors.need_list_for_api)
    detail_selector = staticmethod(selectors.need_detail)
    create_service = staticmethod(services.need_create)
    update_service = staticmethod(services.need_update)
    instance_kwarg = "need"
