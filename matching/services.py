"""Writes of matching: refreshing stored matches (from the tasks) and what buyers and sellers do with them.

Refreshes run in background tasks queued on commit (matching.signals → matching.tasks), never in a
request. A refresh stores the need's current ranking (selectors.technology_ranking, the pages' code
path), keeps the history of pairs that dropped out (``is_current=False``), and announces new strong
matches to both organisations through messaging (in-app, live, e-mail for those offline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from listings.models import Need, Technology
from marketplace.accounts.models import User
from marketplace.accounts.services import require_member

from . import candidates, ranking, selectors
from .models import Match

logger = logging.getLogger(__name__)

STORE_LIMIT = 20
NOTE_MAX = 300


@dataclass
class RefreshResult:
    need_id: int | None = None
    stored: int = 0
    created: int = 0
    retired: int = 0
    notified: list[int] = field(default_factory=list)


# ------------------------------------------------------------------ refresh (tasks)


def _retire(qs) -> int:
    return qs.filter(is_current=True).update(is_current=False, refreshed_at=timezone.now())


@transaction.atomic
def need_matches_refresh(*, need_id: int) -> RefreshResult:
    """Store the need's current ranking; matches of a need that is no longer public are retired."""
    result = RefreshResult(need_id=need_id)
    need = selectors._need_queryset().filter(pk=need_id).first()
    if need is None:
        return result
    if not Need.objects.published().filter(pk=need_id).exists():
        result.retired = _retire(Match.objects.filter(need_id=need_id))
        return result
    ranked = selectors.technology_ranking(need=need, limit=STORE_LIMIT)
    now = timezone.now()
    existing = {m.technology_id: m for m in Match.objects.select_for_update().filter(need=need)}
    keep = []
    new_strong = []
    for position, item in enumerate([*ranked.items, *ranked.dismissed], start=1):
        scored = item.scored
        match = existing.get(item.technology.pk)
        created = match is None
        if created:
            match = Match(need=need, technology=item.technology, created_at=now)
            result.created += 1
        match.score, match.rank = scored.score, position
        match.reasons, match.broken = scored.reasons, scored.broken
        match.is_current, match.refreshed_at = True, now
        match.full_clean(exclude=["need", "technology", "status_by"], validate_unique=False)
        match.save()
        keep.append(match.pk)
        if match.notified_at is None and match.score >= ranking.STRONG_SCORE and not match.broken:
            new_strong.append(match)
    result.stored = len(keep)
    result.retired = _retire(Match.objects.filter(need=need).exclude(pk__in=keep))
    for match in new_strong:
        _announce(match)
        match.notified_at = now
        match.save(update_fields=["notified_at"])
        result.notified.append(match.pk)
    return result


def technology_matches_refresh(*, technology_id: int) -> list[RefreshResult]:
    """Refresh every need the technology may now fit (found through the need index) or already matched.

    Each need is refreshed through its own ranking, so a pair is scored the same way from either side.
    """
    technology = Technology.objects.filter(pk=technology_id).prefetch_related("tags", "transfer_modes").first()
    if technology is None:
        return []
    if not technology.is_public:
        _retire(Match.objects.filter(technology_id=technology_id))
        return []
    profile = ranking.technology_profile(technology, with_terms=True)
    hits = candidates.need_hits(profile.terms)
    need_ids = set(hits.scores) | set(
        Match.objects.filter(technology_id=technology_id, is_current=True).values_list("need_id", flat=True)
    )
    need_ids -= set(Need.objects.filter(organisation_id=technology.organisation_id).values_list("pk", flat=True))
    return [need_matches_refresh(need_id=need_id) for need_id in sorted(need_ids)]


def technology_is_indexed(*, technology: Technology) -> bool:
    """Whether the search index already answers with this technology (its own key terms find it)."""
    profile = ranking.technology_profile(technology, with_terms=True)
    return technology.pk in candidates.technology_hits(profile.terms).scores


def _announce(match: Match) -> None:
    """Both organisations hear about a new strong match (messaging's notify: stored, live, e-mail when offline)."""
    try:
        from marketplace.messaging.services import notify
    except ImportError:  # messaging not installed: the hook stays, nothing is lost (the match is stored)
        logger.info("matching: no messaging app, match %s not announced", match.pk)
        return
    need, technology = match.need, match.technology
    with translation.override(settings.LANGUAGE_CODE):
        reasons = "；".join(ranking.reason_text(r) for r in match.reasons)
        notify(
            organisation=need.organisation,
            kind="new_match",
            title=_("新的匹配成果:%(tech)s(匹配度 %(score).0f)") % {"tech": technology.title, "score": match.score},
            body=_("与您的需求「%(need)s」匹配。%(reasons)s") % {"need": need.title, "reasons": reasons},
            url=reverse("matching:need_matches", kwargs={"pk": need.pk}),
        )
        notify(
            organisation=technology.organisation,
            kind="new_match",
            title=_("新的潜在需求:%(need)s(匹配度 %(score).0f)") % {"need": need.title, "score": match.score},
            body=_("您的成果「%(tech)s」与该需求匹配。%(reasons)s") % {"tech": technology.title, "reasons": reasons},
            url=reverse("matching:technology_leads", kwargs={"pk": technology.pk}),
        )


# ------------------------------------------------------------------ what people do with matches


def _stored_match(*, need: Need, technology: Technology) -> Match:
    """The stored pair, created from the live ranking if the refresh has not stored it yet."""
    match = Match.objects.select_for_update().filter(need=need, technology=technology).first()
    if match is not None:
        return match
    item = selectors.single_pair(need=need, technology=technology)
    if item is None:
        raise ValidationError(_("该成果不在这条需求的匹配结果中"))
    match = Match(
        need=need,
        technology=technology,
        score=item.scored.score,
        reasons=item.scored.reasons,
        broken=item.scored.broken,
    )
    match.full_clean(exclude=["need", "technology", "status_by"], validate_unique=False)
    match.save()
    return match


@transaction.atomic
def matches_mark_viewed(*, need: Need, by: User) -> int:
    """The need's owner opened the match page: new current matches become viewed. Returns how many."""
    if not selectors.is_member(user=by, organisation_id=need.organisation_id):
        return 0
    return Match.objects.filter(need=need, is_current=True, status=Match.Status.NEW).update(
        status=Match.Status.VIEWED, viewed_at=timezone.now(), status_by=by
    )


@transaction.atomic
def match_dismiss(*, need: Need, technology: Technology, by: User, reason: str, note: str = "") -> Match:
    """The buyer passes on a technology, saying why (the seller sees the reasons, counted)."""
    require_member(user=by, organisation=need.organisation)
    if reason not in Match.DismissReason.values:
        choices = "、".join(str(label) for label in Match.DismissReason.labels)
        raise ValidationError({"reason": _("请选择忽略原因:%(choices)s") % {"choices": choices}})
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("补充说明最多 %(n)d 个字") % {"n": NOTE_MAX}})
    if reason == Match.DismissReason.OTHER and not note:
        raise ValidationError({"note": _("选择「其他」时请简单说明原因")})
    match = _stored_match(need=need, technology=technology)
    match.status, match.dismiss_reason, match.dismiss_note = Match.Status.DISMISSED, reason, note
    match.dismissed_at, match.status_by = timezone.now(), by
    match.full_clean(exclude=["need", "technology", "status_by"], validate_unique=False)
    match.save()
    return match


@transaction.atomic
def match_restore(*, need: Need, technology: Technology, by: User) -> Match:
    """Undo a dismissal."""
    require_member(user=by, organisation=need.organisation)
    match = Match.objects.select_for_update().filter(need=need, technology=technology).first()
    if match is None or match.status != Match.Status.DISMISSED:
        raise ValidationError(_("这条匹配没有被忽略"))
    match.status = Match.Status.CONTACTED if match.contacted_at else Match.Status.VIEWED
    match.dismiss_reason, match.dismiss_note, match.dismissed_at, match.status_by = "", "", None, by
    match.save()
    return match


@transaction.atomic
def match_contact(*, need: Need, technology: Technology, by: User):
    """ "联系对方": start (or reopen) the conversation about the pair and mark the match contacted.

    Either side may do it. Returns (match, conversation); conversation is None when the messaging app is
    not installed (the match is still marked contacted).
    """
    if not (
        selectors.is_member(user=by, organisation_id=need.organisation_id)
        or selectors.is_member(user=by, organisation_id=technology.organisation_id)
    ):
        raise PermissionDenied(_("只有匹配双方机构的成员可以联系对方"))
    if not technology.is_public or not need.is_public:
        raise ValidationError(_("成果或需求已不再公开,无法联系"))
    match = _stored_match(need=need, technology=technology)
    conversation = start_conversation(need=need, technology=technology, by=by)
    match.status, match.contacted_at, match.status_by = Match.Status.CONTACTED, timezone.now(), by
    match.dismiss_reason = match.dismiss_note = ""
    match.dismissed_at = None
    if conversation is not None:
        match.conversation_id = conversation.pk
    match.save()
    return match, conversation


def start_conversation(*, need: Need, technology: Technology, by: User):
    """The hook into messaging: the conversation about a match (None without the messaging app)."""
    try:
        from marketplace.messaging.services import conversation_start
    except ImportError:
        return None
    conversation, _created = conversation_start(by=by, technology=technology, need=need)
    return conversation


def conversation_url(conversation) -> str:
    if conversation is None:
        return ""
    try:
        return reverse("messaging:conversation", kwargs={"pk": conversation.pk})
    except Exception:  # messaging URLs not mounted
        return ""
