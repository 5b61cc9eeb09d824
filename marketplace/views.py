"""Site-wide pages: home and the health check."""

import logging
import uuid

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from listings import selectors as listing_selectors

logger = logging.getLogger(__name__)


def run_action(request, action, success_message) -> None:
    """A one-button workflow action: its refusal becomes a message on the page it returns to."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success_message)


def home(request):
    context = {
        "counts": listing_selectors.home_counts(),
        "technologies": listing_selectors.latest_technologies(limit=6),
        "needs": listing_selectors.latest_needs(limit=6),
    }
    return render(request, "home.html", context)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 returned an unexpected row")


def _check_cache() -> None:
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    try:
        if cache.get(key) != value:
            raise RuntimeError("value written to the cache was not read back")
    finally:
        cache.delete(key)


HEALTH_CHECKS = {"database": _check_database, "cache": _check_cache}


@never_cache
def healthz(request):
    """200 when the database and the cache answer for real; 503 naming what failed otherwise."""
    checks, failed = {}, []
    for name, check in HEALTH_CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure of a dependency is reported, never raised
            logger.exception("health check %s failed", name)
            checks[name] = f"failed: {type(error).__name__}"
            failed.append(name)
        else:
            checks[name] = "ok"
    return JsonResponse({"ok": not failed, "checks": checks, "failed": failed}, status=503 if failed else 200)
