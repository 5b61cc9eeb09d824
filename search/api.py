"""JSON API of the search: /api/search/ and /api/search/autocomplete/.

The same parameters and the same selector as the search page. Bad parameters give 400 naming the
parameter and the valid values; an engine outage gives 200 with ``degraded: true`` and a message
(the answer then comes from the database).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.api import CodeField, CommaCodeListField, validated_query

from . import selectors
from .forms import search_kwargs


def _choices(name: str) -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in selectors.FACETS[name][1].items()]


def _facet_filter(name: str) -> CommaCodeListField:
    label = selectors.FACETS[name][0]
    return CommaCodeListField(
        child=CodeField(_choices(name), what=label),
        required=False,
        help_text=_("%(label)s代码,可多选(tags=a,b 或 tags=a&tags=b):同一项内任一匹配,不同项之间同时满足")
        % {"label": label},
    )


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=selectors.MAX_QUERY_LENGTH, help_text=_("检索词(中文分词)")
    )
    kind = CodeField(
        list(selectors.KIND_LABELS.items()),
        what=_("类型"),
        required=False,
        allow_blank=True,
        help_text=_("technology(科技成果)或 need(技术需求);不填为两者"),
    )
    field = _facet_filter("field")
    tags = _facet_filter("tags")
    maturity = _facet_filter("maturity")
    modes = _facet_filter("modes")
    region = _facet_filter("region")
    price_band = _facet_filter("price_band")
    sort = CodeField(
        list(selectors.SORTS.items()),
        what=_("排序"),
        required=False,
        help_text=_("relevance(相关度,默认)、newest(最新)、price_asc / price_desc(价格,面议排在最后)"),
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=10_000, help_text=_("页码,从 1 开始"))
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=selectors.MAX_PAGE_SIZE,
        help_text=_("每页条数,默认 %(n)s,最多 %(max)s")
        % {"n": selectors.DEFAULT_PAGE_SIZE, "max": selectors.MAX_PAGE_SIZE},
    )

    def search_kwargs(self) -> dict:
        data = self.validated_data
        return {**search_kwargs(data), "page_size": data.get("page_size") or selectors.DEFAULT_PAGE_SIZE}


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text=_("代码;region 的 aid 表示北京和江苏两个援藏省份"))
    label = serializers.CharField()
    count = serializers.IntegerField(help_text=_("选中这一项后的结果数(同一项的其他勾选不计入)"))
    selected = serializers.BooleanField()


class FacetSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(selectors.FACET_NAMES))
    label = serializers.CharField()
    values = FacetValueSerializer(many=True)


class OrganisationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="organisation_id")
    name = serializers.CharField(source="organisation")


class HitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(selectors.KINDS))
    id = serializers.IntegerField(source="pk")
    url = serializers.CharField(help_text=_("详情页地址"))
    title = serializers.CharField()
    title_html = serializers.CharField(help_text=_("标题,HTML 转义,命中的词用 <em> 标出"))
    snippet_html = serializers.CharField(help_text=_("摘要片段,HTML 转义,命中的词用 <em> 标出"))
    organisation = OrganisationRefSerializer(source="*")
    region = serializers.CharField()
    region_label = serializers.CharField()
    aid = serializers.BooleanField(help_text=_("来自对口援藏省市(北京、江苏)的机构"))
    field = serializers.CharField()
    field_label = serializers.CharField()
    maturity = serializers.CharField(help_text=_("成熟度;技术需求为最低成熟度,可为空"))
    maturity_label = serializers.CharField()
    trl = serializers.IntegerField(allow_null=True)
    price = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text=_("价格或预算(元),面议为 null")
    )
    price_display = serializers.CharField()
    price_band = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    modes = serializers.ListField(child=serializers.CharField())
    published_at = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text=_("相关度得分(数据库检索时为 null)"))


class SearchResultSerializer(serializers.Serializer):
    q = serializers.CharField(help_text=_("实际检索的词(自动纠错时为纠正后的词)"))
    kind = serializers.CharField()
    sort = serializers.CharField()
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    suggestion = serializers.CharField(allow_null=True, help_text=_("「您是不是要找」的建议词,没有时为 null"))
    corrected_from = serializers.CharField(
        allow_null=True, help_text=_("原词没有结果、已改用建议词检索时,这里是用户输入的原词")
    )
    degraded = serializers.BooleanField(help_text=_("检索服务不可用、结果来自数据库时为 true"))
    message = serializers.CharField(allow_blank=True)
    facets = FacetSerializer(many=True)
    results = HitSerializer(many=True, source="hits")


class AutocompleteQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=selectors.MAX_QUERY_LENGTH, help_text=_("已输入的开头部分")
    )


class SuggestionSerializer(serializers.Serializer):
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["term", *selectors.KINDS], help_text=_("term 为领域词,其余为条目标题"))
    url = serializers.CharField(allow_blank=True, help_text=_("条目详情页地址;领域词为空"))


class AutocompleteResultSerializer(serializers.Serializer):
    q = serializers.CharField()
    degraded = serializers.BooleanField()
    suggestions = SuggestionSerializer(many=True)


_FILTER_NOTE = _("facets 中的数目是勾选该项后的结果数。")


class SearchView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["search"],
        summary=_("检索科技成果和技术需求"),
        description=_(
            "全文检索(标题、简介、描述、机构、专利号),可按分面筛选和排序,返回分面计数、高亮片段和纠错建议。"
            "检索服务不可用时自动改为数据库检索,degraded 为 true。"
        )
        + _FILTER_NOTE,
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        serializer = SearchQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        result = selectors.search_listings(**serializer.search_kwargs())
        return Response(SearchResultSerializer(result).data)


class AutocompleteView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["search"],
        summary=_("输入提示"),
        description=_("以输入内容开头的领域词和条目标题,领域词在前,最多 8 条。"),
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description=_("已输入的开头部分"), required=False),
        ],
        responses={200: AutocompleteResultSerializer, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        query = validated_query(AutocompleteQuerySerializer, request)
        result = selectors.autocomplete(query.get("q", ""))
        return Response(AutocompleteResultSerializer(result).data)
