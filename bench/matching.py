"""Matching speed: rank the technologies for a need against 10,000 (quick) or 100,000 technologies.

    .venv/bin/python bench/matching.py --quick          # 10,000 technologies, every backend (under a minute)
    .venv/bin/python bench/matching.py                  # 100,000 technologies, every backend
    .venv/bin/python bench/matching.py --backend cluster --techs 50000

Everything happens in a temporary folder: a new SQLite database and a new embedded index; the cluster
(when SEARCH_URL is set) gets an index prefix of its own, deleted at the end — never the site's data.

The corpus: the 228 technologies and 44 needs of the labelled set (tests/data/matching), plus generated
Chinese technologies (search.perf.generate) up to the size, indexed the way rebuild_index does. Each of
the 44 needs is then ranked QUERY_ROUNDS times through selectors.technology_ranking — what the 匹配结果
page, the API and match_need run: the engine's candidate query, loading the candidates from the
database, re-ranking and explanations — and, for the ratio line, through the BM25 candidate query alone.

Backends: "embedded" (the default engine) and "cluster" (OpenSearch, when SEARCH_URL is set). Printed:
a ratio line per backend (full matching vs the BM25 query alone, and nDCG@10 of the labelled needs inside
the big corpus), then one JSON line per backend, the last line last:
{"techs", "backend", "p50_ms", "p95_ms", "peak_rss_mb"} (peak RSS of this process so far).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUICK_TECHS = 10_000
FULL_TECHS = 100_000
QUERY_ROUNDS = 3
WARMUP = 10
DATA = ROOT / "tests" / "data" / "matching"


def setup_django(workdir: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SEARCH_URL", "SEARCH_INDEX", "SEARCH_DIR", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "VAR_DIR": str(workdir),
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-matching-" + uuid.uuid4().hex,
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def use_backend(backend: str, workdir: Path, search_url: str) -> str | None:
    """Point the default haystack connection at a fresh index of that kind; the cluster prefix, if any."""
    import haystack
    from django.conf import settings

    prefix = None
    if backend == "cluster":
        prefix = f"bench-match-{uuid.uuid4().hex[:10]}"
        conn = {"ENGINE": settings.SEARCH_CLUSTER_ENGINE, "URL": search_url, "INDEX_PREFIX": prefix}
    else:
        conn = {"ENGINE": settings.SEARCH_EMBEDDED_ENGINE, "PATH": str(workdir / f"index-{uuid.uuid4().hex[:6]}")}
    settings.HAYSTACK_CONNECTIONS["default"] = conn
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    haystack.connections.reload("default").get_backend().setup()
    return prefix


def index_needs() -> None:
    from haystack import connections

    from listings.models import Need

    index = connections["default"].get_unified_index().get_index(Need)
    connections["default"].get_backend().update(index, list(index.index_queryset()))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def time_calls(call, needs) -> list[float]:
    for need in needs[:WARMUP]:
        call(need)
    timings = []
    for _round in range(QUERY_ROUNDS):
        for need in needs:
            started = time.perf_counter()
            call(need)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure(backend: str, techs: int, dataset, loaded) -> tuple[dict, str]:
    from listings.models import Need, Technology
    from matching import candidates, evaluation, ranking, selectors
    from search import perf

    print(f"[{backend}] indexing {techs:,} technologies…", file=sys.stderr, flush=True)
    indexed = perf.rebuild("default")
    index_needs()
    needs = list(
        Need.objects.filter(pk__in=loaded.needs.values())
        .select_related("organisation")
        .prefetch_related("tags", "desired_modes")
    )
    profiles = {need.pk: ranking.need_profile(need) for need in needs}
    print(f"[{backend}] ranking {len(needs)} needs × {QUERY_ROUNDS}…", file=sys.stderr, flush=True)
    full = time_calls(lambda need: selectors.technology_ranking(need=need), needs)
    bm25 = time_calls(lambda need: candidates.technology_hits(profiles[need.pk].terms, concepts=False), needs)
    report = evaluation.evaluate(dataset, loaded, backend=backend, ranker=evaluation.pipeline_ranker())
    count = Technology.objects.published().count()
    result = {
        "techs": count,
        "backend": backend,
        "p50_ms": round(statistics.median(full), 2),
        "p95_ms": round(percentile(full, 0.95), 2),
        "peak_rss_mb": peak_rss_mb(),
    }
    ratio = (
        f"{backend} at {count:,} technologies: matching p95 {result['p95_ms']} ms vs the BM25 candidate "
        f"query alone {percentile(bm25, 0.95):.2f} ms ({result['p95_ms'] / percentile(bm25, 0.95):.1f}×), "
        f"p50 {result['p50_ms']} vs {statistics.median(bm25):.2f} ms; nDCG@10 of the labelled needs inside this "
        f"corpus {report.ndcg:.3f}, recall@20 {report.recall:.3f}; indexing {indexed['index_docs_per_s']:,.0f} docs/s"
    )
    return result, ratio


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TECHS:,} technologies")
    parser.add_argument("--techs", type=int, help=f"number of technologies (default {FULL_TECHS:,})")
    parser.add_argument("--backend", choices=["embedded", "cluster"], action="append", help="default: every one")
    args = parser.parse_args(argv)
    search_url = os.environ.get("SEARCH_URL", "").strip()
    techs = args.techs or (QUICK_TECHS if args.quick else FULL_TECHS)
    plan = args.backend or (["embedded"] + (["cluster"] if search_url else []))
    if "cluster" in plan and not search_url:
        raise SystemExit('cluster: set SEARCH_URL (eval "$(bash scripts/services.sh env)")')

    started = time.perf_counter()
    results, ratios = [], []
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as workdir:
        setup_django(Path(workdir))
        from listings.models import Technology
        from matching import evaluation
        from search import perf

        dataset = evaluation.read_labelled_set(DATA)
        for backend in plan:
            prefix = use_backend(backend, Path(workdir), search_url)
            try:
                if not Technology.objects.exists():
                    loaded = evaluation.load(dataset)
                    missing = techs - Technology.objects.count()
                    if missing > 0:
                        generated = time.perf_counter()
                        perf.generate(missing, seed=techs)
                        print(
                            f"generated {missing:,} technologies in {time.perf_counter() - generated:.1f} s",
                            file=sys.stderr,
                            flush=True,
                        )
                result, ratio = measure(backend, techs, dataset, loaded)
                results.append(result)
                ratios.append(ratio)
            finally:
                if prefix:
                    import haystack

                    haystack.connections["default"].get_backend().transport.delete_index(f"{prefix}-*")
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for line in ratios:
        print(line)
    for result in results:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
