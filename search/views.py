"""The search page: parse the query string, call the selector, render.

Bad parameters (an unknown facet code from an old link, a page that is not a number) give the page
again with status 400 and the reason next to the field; nothing is searched for them.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors
from .forms import SearchForm

EXAMPLE_QUERIES = ("青稞", "光伏", "藏药", "牦牛", "冷链", "唐卡")


@require_GET
def search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "result": None, "examples": EXAMPLE_QUERIES}
        return render(request, "search/search.html", context, status=400)
    result = selectors.search_listings(**form.search_kwargs())
    return render(request, "search/search.html", {"form": form, "result": result, "examples": EXAMPLE_QUERIES})


@require_GET
def autocomplete(request):
    """The page's suggestions as JSON (the same as /api/search/autocomplete/, without DRF)."""
    result = selectors.autocomplete(request.GET.get("q", ""))
    return JsonResponse(
        {
            "q": result.q,
            "degraded": result.degraded,
            "suggestions": [{"text": s.text, "kind": s.kind, "url": s.url} for s in result.suggestions],
        },
        json_dumps_params={"ensure_ascii": False},
    )
