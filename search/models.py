from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingIndexOp(models.Model):
    """An index update the engine could not take (down, locked, refused): kept, then replayed.

    One row per listing, whatever happened to it: replaying re-reads the listing and makes the index
    agree with the database (indexed if public, removed otherwise), so the order of failures does not
    matter and nothing is lost.
    """

    identifier = models.CharField(_("索引标识"), max_length=100, unique=True)  # "listings.technology.12"
    attempts = models.PositiveIntegerField(_("尝试次数"), default=1)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("待重放的索引更新")
        verbose_name_plural = _("待重放的索引更新")

    def __str__(self) -> str:
        return f"{self.identifier} ×{self.attempts}"
