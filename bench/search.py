"""Search speed: indexing rate, engine latency and search-page latency, our engines against stock Whoosh.

    .venv/bin/python bench/search.py --quick     # 10,000 listings (the Whoosh peer: 2,000), about a minute
    .venv/bin/python bench/search.py             # 50,000 embedded and the Whoosh peer, 100,000 cluster

Everything happens in a temporary folder: a new SQLite database and new indexes (the cluster, when
SEARCH_URL is set, gets an index prefix of its own, deleted at the end) — never the site's data.
Generated Chinese listings (search.perf.generate) are indexed from the database the way
rebuild_index does; then the same 200 two-word queries are timed twice per backend:

- engine: every engine request the search page makes and nothing else — the first page with six
  facet counts, the partial matches when the hits do not fill the page, a "did you mean" below three
  hits (search.perf.faceted_search = search.selectors.engine_answer; the cluster sends the page and
  the partial matches in one _msearch round trip);
- view: GET /search/?q=… through Django (URL, form, the same engine requests, the hits' check against
  the database, highlights, template), with the backend as the site's default connection.

The two are timed back to back for every query, in alternating order, so neither sees a warmer
engine than the other (the engine is not timed alone right after indexing, when it is slowest).

Backends: "embedded" (ours, the default), "whoosh" (stock haystack + Whoosh with jieba: the peer) and
"cluster" (ours on OpenSearch, when SEARCH_URL is set). A line compares embedded with the peer at the
same number of listings; the last lines are one JSON object per backend:
{"docs", "backend", "queries", "index_docs_per_s", "engine_p50_ms", "engine_p95_ms", "view_p50_ms",
"view_p95_ms", "view_over_engine"} (view p95 over engine p95).

The peer indexes about 150 listings per CPU second (jieba over every document), so --quick compares
it with the embedded engine at 2,000 listings on 50 queries, engine only (its view figures are null),
and keeps the minute for our engines at 10,000; the full run compares them at 50,000 on every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUICK_DOCS = 10_000
QUICK_PEER_DOCS = 2_000
QUICK_PEER_QUERIES = 50
FULL_DOCS = {"embedded": 50_000, "whoosh": 50_000, "cluster": 100_000}
QUERIES = 200
WARMUP = 10


def setup_django(workdir: Path, search_url: str) -> str | None:
    """Settings for a throw-away site in workdir; the cluster index prefix, if there is a cluster."""
    for name in ("DATABASE_URL", "REDIS_URL", "SEARCH_URL", "SEARCH_INDEX", "SEARCH_DIR", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "VAR_DIR": str(workdir),
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DEBUG": "0",  # as in production: no query log, no debug pages
            "SECRET_KEY": "bench-search-" + uuid.uuid4().hex,
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    import django
    from django.conf import settings

    django.setup()
    prefix = None
    if search_url:
        prefix = f"bench-{uuid.uuid4().hex[:10]}"
        settings.HAYSTACK_CONNECTIONS["cluster"] = {
            "ENGINE": settings.SEARCH_CLUSTER_ENGINE,
            "URL": search_url,
            "INDEX_PREFIX": prefix,
        }
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return prefix


@contextlib.contextmanager
def as_default(alias: str):
    """Let the site (the view) search through ``alias`` for a while."""
    import haystack
    from django.conf import settings

    original = settings.HAYSTACK_CONNECTIONS["default"]
    settings.HAYSTACK_CONNECTIONS["default"] = settings.HAYSTACK_CONNECTIONS[alias]
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    haystack.connections.reload("default")
    try:
        yield
    finally:
        settings.HAYSTACK_CONNECTIONS["default"] = original
        haystack.connections.reload("default")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def time_engine_and_views(alias: str, queries: list[str]) -> dict:
    """Engine and page timings of the same queries, interleaved so both see the engine in the same state.

    For each query the engine work alone (search.perf.faceted_search: every engine request the page
    makes) and the whole page (GET /search/?q=… through Django) are timed back to back, the engine first
    for even queries and the page first for odd ones: neither gets a warmer engine or cache than the other.
    """
    from django.test import Client
    from django.urls import reverse

    from search import perf

    client = Client()
    url = reverse("search:search")
    engine, view, cpu, hits, degraded = [], [], [], [], 0

    def time_view(q: str) -> None:
        nonlocal degraded
        started = time.perf_counter()
        response = client.get(url, {"q": q})
        view.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{alias}: /search/?q={q} answered {response.status_code}")
        degraded += bool(response.context and response.context["result"].degraded)

    def time_engine(q: str) -> None:
        started, cpu_started = time.perf_counter(), time.process_time()
        _rows, _counts, count = perf.faceted_search("default", q)
        engine.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        hits.append(count)

    with as_default(alias):
        for q in queries[:WARMUP]:
            perf.faceted_search("default", q)
            client.get(url, {"q": q})
        for number, q in enumerate(queries):
            for step in (time_engine, time_view) if number % 2 == 0 else (time_view, time_engine):
                step(q)
    if degraded:
        raise SystemExit(f"{alias}: {degraded} page(s) fell back to the database: the engine is not answering")
    return {
        "engine_p50_ms": round(statistics.median(engine), 2),
        "engine_p95_ms": round(percentile(engine, 0.95), 2),
        "engine_cpu_p95_ms": round(percentile(cpu, 0.95), 2),
        "view_p50_ms": round(statistics.median(view), 2),
        "view_p95_ms": round(percentile(view, 0.95), 2),
        "mean_hits": round(statistics.mean(hits), 1),
    }


def measure(alias: str, backend: str, docs: int, queries: list[str], *, views: bool = True) -> dict:
    from search import perf

    print(f"[{backend}] indexing {docs:,} listings…", file=sys.stderr, flush=True)
    # The peer writes everything through one Whoosh writer: in haystack's 1,000-listing batches every
    # document's update opens a reader over every segment committed so far, which takes hours at 50,000
    # (11.7 docs/s at 10,000); one batch is the fastest way stock haystack can build the index.
    indexed = perf.rebuild(alias, batch_size=docs if backend == "whoosh" else None)
    if indexed["docs"] != docs:
        raise SystemExit(f"{backend}: indexed {indexed['docs']} of {docs} listings")
    if views:
        print(f"[{backend}] {len(queries)} faceted queries: engine and page, interleaved…", file=sys.stderr, flush=True)
        timed = time_engine_and_views(alias, queries)
    else:
        print(f"[{backend}] {len(queries)} faceted queries: engine…", file=sys.stderr, flush=True)
        timed = {**perf.time_queries(alias, queries, warmup=WARMUP), "view_p50_ms": None, "view_p95_ms": None}
    return {
        "docs": docs,
        "backend": backend,
        "queries": len(queries),
        "index_docs_per_s": indexed["index_docs_per_s"],
        "engine_p50_ms": timed["engine_p50_ms"],
        "engine_p95_ms": timed["engine_p95_ms"],
        "view_p50_ms": timed["view_p50_ms"],
        "view_p95_ms": timed["view_p95_ms"],
        "view_over_engine": round(timed["view_p95_ms"] / timed["engine_p95_ms"], 2) if views else None,
    }


def grow_to(docs: int) -> None:
    """Add generated listings until the database holds ``docs`` of them."""
    from listings.models import Technology
    from search import perf

    missing = docs - Technology.objects.count()
    if missing > 0:
        started = time.perf_counter()
        perf.generate(missing, seed=docs)
        print(f"generated {missing:,} listings in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def compare(ours: dict, peer: dict) -> str:
    line = (
        f"embedded vs stock haystack+Whoosh at {ours['docs']:,} listings, {ours['queries']} faceted queries:"
        f" engine p95 {ours['engine_p95_ms']} ms vs {peer['engine_p95_ms']} ms"
        f" ({peer['engine_p95_ms'] / ours['engine_p95_ms']:.1f}× faster), p50 {ours['engine_p50_ms']} vs"
        f" {peer['engine_p50_ms']} ms; indexing {ours['index_docs_per_s']:,.0f} vs {peer['index_docs_per_s']:,.0f}"
        f" docs/s ({ours['index_docs_per_s'] / peer['index_docs_per_s']:.1f}×)"
    )
    if ours["view_p95_ms"] is not None and peer["view_p95_ms"] is not None:
        line += f"; search page p95 {ours['view_p95_ms']} vs {peer['view_p95_ms']} ms"
    return line


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DOCS:,} listings (the peer: {QUICK_PEER_DOCS:,})")
    parser.add_argument("--skip-whoosh", action="store_true", help="leave out the stock Whoosh peer")
    args = parser.parse_args(argv)
    search_url = os.environ.get("SEARCH_URL", "").strip()
    aliases = {"embedded": "default", "whoosh": "whoosh", "cluster": "cluster"}

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as workdir:
        prefix = setup_django(Path(workdir), search_url)
        from search import perf

        queries = perf.queries(QUERIES)
        results, comparison = {}, None
        try:
            if args.quick:
                if not args.skip_whoosh:
                    # Like for like with the peer on a corpus it can index in seconds, engine only.
                    grow_to(QUICK_PEER_DOCS)
                    sample = queries[:QUICK_PEER_QUERIES]
                    peer = measure("whoosh", "whoosh", QUICK_PEER_DOCS, sample, views=False)
                    ours = measure("default", "embedded", QUICK_PEER_DOCS, sample, views=False)
                    comparison, results["whoosh"] = compare(ours, peer), peer
                grow_to(QUICK_DOCS)
                results["embedded"] = measure("default", "embedded", QUICK_DOCS, queries)
                if search_url:
                    results["cluster"] = measure("cluster", "cluster", QUICK_DOCS, queries)
            else:
                plan = ["embedded"] + ([] if args.skip_whoosh else ["whoosh"]) + (["cluster"] if search_url else [])
                for backend in plan:
                    grow_to(FULL_DOCS[backend])
                    results[backend] = measure(aliases[backend], backend, FULL_DOCS[backend], queries)
                if "whoosh" in results:
                    comparison = compare(results["embedded"], results["whoosh"])
        finally:
            if prefix:
                import haystack

                haystack.connections["cluster"].get_backend().transport.delete_index(f"{prefix}-*")

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    elapsed = time.perf_counter() - started
    print(f"total {elapsed:.0f} s (load average {load} on {os.cpu_count()} CPUs)", file=sys.stderr)
    if comparison:
        print(comparison)
    for backend in ("whoosh", "embedded", "cluster"):
        if backend in results:
            print(json.dumps(results[backend], ensure_ascii=False))


if __name__ == "__main__":
    main()
