"""JSON API of the statistics: the dashboard's figures (same selector as the page) and the yearly figures.

Money is a string with two decimals ("12345.60"), never a float.
"""

from dataclasses import asdict
from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.api import ServiceErrorsMixin
from marketplace.accounts.services import require_bureau

from . import selectors, services
from .forms import TurnoverFilterForm
from .models import Indicator


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def dashboard_json(data: selectors.Dashboard) -> dict:
    return _plain(
        {
            "filters": data.filters.as_query(),
            "period": data.period_label,
            "total": asdict(data.total),
            "breakdowns": {name: [asdict(f) for f in figures] for name, figures in data.breakdowns.items()},
            "aid_total": asdict(data.aid_total),
            "top_sellers": None if data.top_sellers is None else [asdict(f) for f in data.top_sellers],
            "top_buyers": None if data.top_buyers is None else [asdict(f) for f in data.top_buyers],
            "target": asdict(data.target),
            "indicators": [asdict(row) for row in data.indicators],
            "years": data.years,
        }
    )


def _filter_parameters() -> list[OpenApiParameter]:
    names = ["year", "quarter", "month", *selectors.FILTER_DIMENSIONS]
    return [OpenApiParameter(name, str, description="与 /stats/ 页面相同的筛选条件") for name in names]


class TurnoverView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="技术合同成交额统计",
        description="已登记合同(当前登记版本)按签订日期统计;金额为字符串(元,两位小数)。"
        "top_sellers / top_buyers 仅科技局可见,其他人为 null。",
        parameters=_filter_parameters(),
        responses={200: dict},
    )
    def get(self, request):
        form = TurnoverFilterForm(request.query_params)
        if not form.is_valid():
            raise ApiValidationError({k: list(v) for k, v in form.errors.items()})
        bureau = bool(request.user.is_authenticated and request.user.is_bureau)
        data = selectors.turnover_dashboard(filters=form.filters(), include_parties=bureau)
        return Response(dashboard_json(data))


class YearFiguresSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=services.MIN_YEAR, max_value=services.MAX_YEAR)
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True), help_text="指标代码 → 数值(字符串;空为删除)"
    )


class YearFiguresView(ServiceErrorsMixin, APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        summary="年度统计指标",
        parameters=[OpenApiParameter("year", int, required=True)],
        responses={200: dict},
    )
    def get(self, request):
        body = YearFiguresSerializer(data={"year": request.query_params.get("year"), "values": {}})
        body.is_valid(raise_exception=True)
        year = body.validated_data["year"]
        figures = selectors.year_figures(year=year)
        return Response({"year": year, "values": {code: _plain(figures.get(code)) for code in Indicator.values}})

    @extend_schema(summary="录入年度统计指标(科技局)", request=YearFiguresSerializer, responses={200: dict})
    def post(self, request):
        require_bureau(request.user)
        body = YearFiguresSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        saved = services.year_figures_save(by=request.user, **body.validated_data)
        return Response({"year": body.validated_data["year"], "values": _plain(saved)})
