"""Reads shared by the pages, the API, the command, the refresh tasks and the evaluation.

``technology_ranking`` is *the* code path of matching: candidates from the search backend, re-ranked
by matching.ranking, only public technologies (so a withdrawn one disappears at once, before any task
runs), annotated with what the buyer already did about each pair.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from listings.models import Need, Technology
from listings.vocab import Maturity
from marketplace.accounts.models import Membership, User

from . import candidates, ranking
from .models import Match

DEFAULT_LIMIT = 20


@dataclass
class RankedTechnology:
    technology: Technology
    scored: ranking.Scored
    match: Match | None = None

    @property
    def score(self) -> float:
        return self.scored.score

    @property
    def reasons(self) -> list[str]:
        return [ranking.reason_text(r) for r in self.scored.reasons]

    @property
    def broken(self) -> list[str]:
        return [ranking.broken_text(b) for b in self.scored.broken]

    @property
    def status(self) -> str:
        return self.match.status if self.match else Match.Status.NEW

    @property
    def is_dismissed(self) -> bool:
        return self.status == Match.Status.DISMISSED


@dataclass
class Ranking:
    need: Need
    items: list[RankedTechnology] = field(default_factory=list)
    dismissed: list[RankedTechnology] = field(default_factory=list)
    too_short: bool = False
    engine: bool = True  # False: the search engine was unreachable; candidates came from the database
    candidates: int = 0
    suggestions: list[str] = field(default_factory=list)

    @property
    def all_break_constraints(self) -> bool:
        return bool(self.items) and all(item.scored.broken for item in self.items)


def _need_queryset() -> QuerySet[Need]:
    return Need.objects.select_related("organisation").prefetch_related("tags", "desired_modes")


def _technology_queryset() -> QuerySet[Technology]:
    return Technology.objects.published().select_related("organisation").prefetch_related("tags", "transfer_modes")


def need_for_matching(*, pk: int) -> Need:
    return _need_queryset().get(pk=pk)


def score_candidates(
    *, need: Need, using: str | None = None, weights: ranking.Weights = ranking.WEIGHTS
) -> tuple[ranking.NeedProfile, list[tuple[Technology, ranking.Scored]], bool]:
    """Every candidate of the need, scored (not yet cut or ordered); the evaluation fits weights on this."""
    profile = ranking.need_profile(need)
    if profile.too_short or not profile.terms:
        return profile, [], True
    hits = candidates.technology_hits(profile.terms, using=using)
    text = ranking.normalise_text_scores(hits.scores)
    technologies = list(
        Technology.objects.published()
        .filter(pk__in=list(hits.scores))
        .exclude(organisation_id=need.organisation_id)
        .select_related("organisation")
    )
    tags, modes = _codes(technologies)
    scored = []
    for tech in technologies:
        tech_profile = ranking.technology_profile(tech, tags=tags.get(tech.pk, ()), modes=modes.get(tech.pk, ()))
        scored.append((tech, ranking.score_pair(profile, tech_profile, text=text.get(tech.pk, 0.0), weights=weights)))
    return profile, scored, hits.engine


def _codes(technologies: list[Technology]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Tag and transfer-mode codes of many technologies in two flat queries (no model instances per row)."""
    pks = [t.pk for t in technologies]
    tags: dict[int, list[str]] = {}
    for tech_id, code in Technology.tags.through.objects.filter(technology_id__in=pks).values_list(
        "technology_id", "tag_id"
    ):
        tags.setdefault(tech_id, []).append(code)
    modes: dict[int, list[str]] = {}
    for tech_id, code in Technology.transfer_modes.through.objects.filter(technology_id__in=pks).values_list(
        "technology_id", "transfermode_id"
    ):
        modes.setdefault(tech_id, []).append(code)
    return tags, modes


def technology_ranking(
    *,
    need: Need,
    limit: int | None = DEFAULT_LIMIT,
    using: str | None = None,
    weights: ranking.Weights = ranking.WEIGHTS,
    min_score: float = ranking.MIN_SCORE,
) -> Ranking:
    """The technologies for a need, best first; a good match breaking a constraint after every good match
    breaking none, weaker matches after both (ranking.order)."""
    profile, scored, engine = score_candidates(need=need, using=using, weights=weights)
    result = Ranking(need=need, too_short=profile.too_short, engine=engine, candidates=len(scored))
    if profile.too_short:
        tip = _("请补充需求标题和描述(至少 %(n)d 个字),写清楚要解决的问题和用在哪里")
        result.suggestions = [tip % {"n": ranking.MIN_TEXT_LENGTH}]
        return result
    by_pk = {tech.pk: tech for tech, _s in scored}
    ordered = ranking.order((s for _t, s in scored), min_score=min_score)
    pairs = Match.objects.filter(need=need, technology_id__in=[s.technology_pk for s in ordered])
    stored = {m.technology_id: m for m in pairs}
    for item in ordered:
        ranked = RankedTechnology(by_pk[item.technology_pk], item, stored.get(item.technology_pk))
        (result.dismissed if ranked.is_dismissed else result.items).append(ranked)
    if limit:
        result.items = result.items[:limit]
    if not result.items or result.all_break_constraints:
        result.suggestions = suggestions_for(need)
    return result


def suggestions_for(need: Need) -> list[str]:
    """What the buyer can change when nothing (or nothing within the constraints) fits."""
    tips = []
    if need.min_maturity and need.min_maturity != Maturity.LAB:
        tips.append(
            _("降低最低成熟度要求(当前:%(stage)s),早期成果可通过合作开发推进")
            % {"stage": need.get_min_maturity_display()}
        )
    if need.desired_modes.all():
        tips.append(_("放宽可接受的转化方式,例如增加「技术服务」或「合作开发」"))
    if need.budget_cny:
        tips.append(_("提高预算上限,或改为面议"))
    tips.append(_("放宽技术领域,或补充特色产业标签"))
    tips.append(_("在描述中写清楚问题出在哪个环节、用在什么产品上,并补充常见的说法(如「保鲜」「冷链」)"))
    return tips


def single_pair(*, need: Need, technology: Technology) -> RankedTechnology | None:
    """The pair as the need's ranking sees it (None when the technology is not a match for the need)."""
    result = technology_ranking(need=need, limit=None)
    for item in [*result.items, *result.dismissed]:
        if item.technology.pk == technology.pk:
            return item
    return None


# ------------------------------------------------------------------ leads and stored matches


def technology_leads(*, technology: Technology) -> list[Match]:
    """Needs that fit a technology (its stored, current matches, buyers' dismissals left out), ranked the same way."""
    matches = (
        Match.objects.visible()
        .filter(technology=technology)
        .exclude(status=Match.Status.DISMISSED)
        .select_related("need", "need__organisation")
        .prefetch_related("need__tags", "need__desired_modes")
    )
    return sorted(matches, key=lambda m: (ranking.tier(m.score, bool(m.broken)), -m.score, m.pk))


def match_texts(match: Match) -> tuple[list[str], list[str]]:
    return [ranking.reason_text(r) for r in match.reasons], [ranking.broken_text(b) for b in match.broken]


@dataclass
class DismissalSummary:
    total: int
    reasons: list[tuple[str, str, int]]  # (code, label, count), most frequent first


def dismissal_summary(*, technology: Technology) -> DismissalSummary:
    """Why buyers passed on a technology: dismissal reasons counted over all its matches."""
    counts = Counter(Match.objects.dismissed().filter(technology=technology).values_list("dismiss_reason", flat=True))
    labels = dict(Match.DismissReason.choices)
    rows = [(code, str(labels.get(code, code)), n) for code, n in counts.most_common()]
    return DismissalSummary(total=sum(counts.values()), reasons=rows)


def matches_for_need(*, need: Need) -> QuerySet[Match]:
    return Match.objects.filter(need=need).select_related("technology", "technology__organisation")


def is_member(*, user: User, organisation_id: int) -> bool:
    return user.is_authenticated and Membership.objects.filter(user=user, organisation_id=organisation_id).exists()


def need_for_owner(*, pk: int, user: User) -> Need:
    """A need whose matches the user may see: a member of its organisation, or the bureau."""
    need = _need_queryset().get(pk=pk)
    if not (user.is_authenticated and (user.is_bureau or is_member(user=user, organisation_id=need.organisation_id))):
        raise PermissionDenied(_("只有需求发布机构的成员可以查看匹配结果"))
    return need


def technology_for_owner(*, pk: int, user: User) -> Technology:
    technology = Technology.objects.select_related("organisation").get(pk=pk)
    if not (
        user.is_authenticated and (user.is_bureau or is_member(user=user, organisation_id=technology.organisation_id))
    ):
        raise PermissionDenied(_("只有成果发布机构的成员可以查看潜在需求"))
    return technology


@dataclass
class Lead:
    match: Match
    reasons: list[str]
    broken: list[str]

    @property
    def need(self) -> Need:
        return self.match.need


def technology_leads_display(*, technology: Technology) -> list[Lead]:
    return [Lead(m, *match_texts(m)) for m in technology_leads(technology=technology)]


def overview_for_user(*, user: User) -> dict:
    """The user's organisations' listings, with how many current matches each has (the 智能匹配 page)."""
    org_ids = list(Membership.objects.filter(user=user).values_list("organisation_id", flat=True))
    needs = (
        Need.objects.filter(organisation_id__in=org_ids)
        .exclude(status__in=["withdrawn", "expired"])
        .select_related("organisation")
        .annotate(match_count=Count("matches", filter=Q(matches__is_current=True) & ~Q(matches__status="dismissed")))
        .order_by("-published_at", "-created_at")
    )
    technologies = (
        Technology.objects.published()
        .filter(organisation_id__in=org_ids)
        .select_related("organisation")
        .annotate(
            lead_count=Count("matches", filter=Q(matches__is_current=True) & ~Q(matches__status="dismissed")),
            dismissed_count=Count("matches", filter=Q(matches__status="dismissed")),
        )
        .order_by("-published_at")
    )
    return {"needs": needs, "technologies": technologies}
