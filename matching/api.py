"""JSON API of matching under /api/matching/: the same selectors and services as the pages.

- GET  needs/{id}/matches/?limit=20             the need's ranked technologies (owner's organisation, or the bureau)
- POST needs/{id}/matches/{tech_id}/dismiss/     {"reason": "price", "note": "…"}
- POST needs/{id}/matches/{tech_id}/restore/
- POST needs/{id}/matches/{tech_id}/contact/     starts the conversation, marks the match contacted
- GET  technologies/{id}/leads/                  the needs that fit a technology, and why buyers passed

Bad input (unknown reason, limit out of range, a need too short to match) gives 400 with a message;
other organisations' listings give 403; unknown ids 404.
"""

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from listings.models import Need, Technology
from marketplace.accounts.api import CodeField, ServiceErrorsMixin, validated_query

from . import ranking, selectors, services
from .models import Match
from .services import NOTE_MAX


class RankingQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=selectors.DEFAULT_LIMIT, help_text=_("返回条数,1-100")
    )


class DismissSerializer(serializers.Serializer):
    reason = CodeField(Match.DismissReason, what=_("忽略原因"), help_text=_("忽略原因代码"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


def _items(raw: list[dict], render) -> list[dict]:
    return [{**item, "text": render(item)} for item in raw]


def _technology_json(technology: Technology) -> dict:
    return {
        "id": technology.pk,
        "title": technology.title,
        "organisation": technology.organisation.name,
        "region": technology.region,
        "field": technology.field,
        "maturity": technology.maturity,
        "price": technology.price_display,
        "url": reverse("listings:technology_detail", kwargs={"pk": technology.pk}),
    }


def _need_json(need: Need) -> dict:
    return {
        "id": need.pk,
        "title": need.title,
        "organisation": need.organisation.name,
        "county": need.county,
        "field": need.field,
        "budget": need.budget_display,
        "url": reverse("listings:need_detail", kwargs={"pk": need.pk}),
    }


def ranked_json(item: selectors.RankedTechnology) -> dict:
    return {
        "technology": _technology_json(item.technology),
        "score": item.score,
        "reasons": _items(item.scored.reasons, ranking.reason_text),
        "broken": _items(item.scored.broken, ranking.broken_text),
        "status": item.status,
    }


def ranking_json(result: selectors.Ranking) -> dict:
    return {
        "need": _need_json(result.need),
        "too_short": result.too_short,
        "engine_available": result.engine,
        "results": [ranked_json(i) for i in result.items],
        "dismissed": [ranked_json(i) for i in result.dismissed],
        "suggestions": result.suggestions,
    }


def match_json(match: Match) -> dict:
    return {
        "need": match.need_id,
        "technology": match.technology_id,
        "score": match.score,
        "status": match.status,
        "dismiss_reason": match.dismiss_reason,
        "dismiss_note": match.dismiss_note,
        "conversation": match.conversation_id,
    }


def _get_need(pk: int) -> Need:
    need = Need.objects.select_related("organisation").filter(pk=pk).first()
    if need is None:
        raise Http404(_("技术需求不存在"))
    return need


def _get_technology(pk: int) -> Technology:
    technology = Technology.objects.select_related("organisation").filter(pk=pk).first()
    if technology is None:
        raise Http404(_("科技成果不存在"))
    return technology


class _Base(ServiceErrorsMixin, APIView):
    permission_classes = [permissions.IsAuthenticated]

    def _owned_need(self, pk: int) -> Need:
        try:
            return selectors.need_for_owner(pk=pk, user=self.request.user)
        except Need.DoesNotExist:
            raise Http404(_("技术需求不存在"))


class NeedMatchesView(_Base):
    @extend_schema(
        summary="技术需求的匹配结果",
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description="1-100,默认 20")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        query = validated_query(RankingQuerySerializer, request)
        need = self._owned_need(pk)
        result = selectors.technology_ranking(need=need, limit=query.get("limit", selectors.DEFAULT_LIMIT))
        if result.too_short:
            return Response({"detail": result.suggestions[0], "too_short": True}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ranking_json(result))


class MatchDismissView(_Base):
    @extend_schema(summary="忽略一个匹配成果(附原因)", request=DismissSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int, technology_pk: int):
        serializer = DismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = self._owned_need(pk)
        match = services.match_dismiss(
            need=need, technology=_get_technology(technology_pk), by=request.user, **serializer.validated_data
        )
        return Response(match_json(match))


class MatchRestoreView(_Base):
    @extend_schema(summary="恢复被忽略的匹配", request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int, technology_pk: int):
        need = self._owned_need(pk)
        match = services.match_restore(need=need, technology=_get_technology(technology_pk), by=request.user)
        return Response(match_json(match))


class MatchContactView(_Base):
    @extend_schema(summary="联系对方:发起洽谈并标记为已联系", request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int, technology_pk: int):
        match, conversation = services.match_contact(
            need=_get_need(pk), technology=_get_technology(technology_pk), by=request.user
        )
        return Response({**match_json(match), "conversation_url": services.conversation_url(conversation)})


class TechnologyLeadsView(_Base):
    @extend_schema(summary="科技成果的潜在需求与被忽略原因统计", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        try:
            technology = selectors.technology_for_owner(pk=pk, user=request.user)
        except Technology.DoesNotExist:
            raise Http404(_("科技成果不存在"))
        leads = selectors.technology_leads_display(technology=technology)
        summary = selectors.dismissal_summary(technology=technology)
        return Response(
            {
                "technology": _technology_json(technology),
                "results": [
                    {
                        "need": _need_json(lead.need),
                        "score": lead.match.score,
                        "reasons": _items(lead.match.reasons, ranking.reason_text),
                        "broken": _items(lead.match.broken, ranking.broken_text),
                        "status": lead.match.status,
                    }
                    for lead in leads
                ],
                "dismissals": {
                    "total": summary.total,
                    "reasons": [{"code": c, "label": label, "count": n} for c, label, n in summary.reasons],
                },
            }
        )
