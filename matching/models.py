"""Stored matches between a need and a technology, with what the buyer did about them.

A Match is written by the refresh tasks (services.need_matches_refresh) from the same ranking the
pages show; its status is the buyer's and seller's history with the pair (viewed, contacted,
dismissed with a reason), kept when the pair drops out of the current ranking (``is_current``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listings.models import NEED_PUBLIC_STATUSES, PUBLIC_STATUSES, Need, Technology


class MatchQuerySet(models.QuerySet):
    def visible(self):
        """Current matches whose both sides are public now (a withdrawn technology drops out at once)."""
        return self.filter(
            is_current=True,
            technology__status__in=PUBLIC_STATUSES,
            need__status__in=NEED_PUBLIC_STATUSES,
            need__deadline__gte=timezone.localdate(),
        )

    def for_need(self, need):
        return self.filter(need=need)

    def for_technology(self, technology):
        return self.filter(technology=technology)

    def dismissed(self):
        return self.filter(status=Match.Status.DISMISSED)


class Match(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("新匹配")
        VIEWED = "viewed", _("已查看")
        CONTACTED = "contacted", _("已联系")
        DISMISSED = "dismissed", _("已忽略")

    class DismissReason(models.TextChoices):
        TOO_EARLY = "too_early", _("太早期")
        PRICE = "price", _("价格不合适")
        DIRECTION = "direction", _("方向不符")
        HAVE_SOLUTION = "have_solution", _("已有方案")
        OTHER = "other", _("其他")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="matches")
    technology = models.ForeignKey(Technology, on_delete=models.CASCADE, related_name="matches")
    score = models.FloatField(_("匹配度"))
    rank = models.PositiveIntegerField(_("排名"), default=0)
    # Structured reasons and broken constraints ({"code": ..., params}); rendered in the reader's language.
    reasons = models.JSONField(_("匹配理由"), default=list, blank=True)
    broken = models.JSONField(_("不满足的条件"), default=list, blank=True)
    is_current = models.BooleanField(_("在当前匹配结果中"), default=True, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    dismiss_reason = models.CharField(_("忽略原因"), max_length=16, choices=DismissReason.choices, blank=True)
    dismiss_note = models.CharField(_("补充说明"), max_length=300, blank=True)
    conversation_id = models.PositiveBigIntegerField(_("洽谈会话"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    status_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MatchQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("匹配")
        verbose_name_plural = _("匹配")
        constraints = [
            models.UniqueConstraint(fields=["need", "technology"], name="unique_match_pair"),
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=100), name="match_score_0_100"),
            models.CheckConstraint(
                condition=~models.Q(status="dismissed", dismiss_reason=""), name="match_dismissed_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["technology", "is_current"]), models.Index(fields=["need", "is_current"])]

    def __str__(self) -> str:
        return f"{self.need} ↔ {self.technology} ({self.score:.0f})"

    @property
    def breaks_constraints(self) -> bool:
        return bool(self.broken)
