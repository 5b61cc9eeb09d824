"""Measuring the search engines: generated Chinese listings, index rate, faceted query latency.

Reusable pieces for bench/search.py, and a runner of its own for the engine alone:

    .venv/bin/python -m search.perf --docs 10000 [--docs 50000] [--queries 200] [--skip-whoosh]

The runner works in a temporary folder (SQLite database and indexes), never on the site's data.
It generates listings, rebuilds the embedded index and the stock Whoosh peer from the database the
way `rebuild_index` does (ORM, prepare, analysis, engine), then times the same two-word queries with
six facets on both, and prints one JSON line per engine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal

SUBJECTS = [
    "青稞", "黑青稞", "牦牛", "牦牛乳", "牦牛肉", "藏香猪", "藏鸡", "藏系绵羊", "虫草", "红景天", "沙棘", "玛咖",
    "藏药", "藏医药", "唐卡", "藏毯", "藏香", "光热", "光伏", "太阳能发电", "储能", "微电网", "地热", "热泵",
    "冰湖溃决", "泥石流", "冻土", "草地退化", "高原鼠兔", "饲草", "燕麦草", "马铃薯", "油菜", "冷链", "冷藏运输",
    "弥散供氧", "制氧机", "氧舱", "高原病", "包虫病", "污水处理", "生态修复", "防沙治沙", "装配式建筑", "保温材料",
    "无人机", "北斗", "遥感", "物联网", "藏文", "语音识别", "机器翻译", "文物保护", "智慧旅游", "民宿",
]  # fmt: skip
ACTIONS = [
    "深加工", "低温干燥", "发酵", "提取", "检测", "监测预警", "智能运维", "保鲜", "育种", "栽培", "养殖", "育肥",
    "加工工艺", "质量控制", "数字化", "在线识别", "清洁供暖", "综合利用", "修复", "防治", "标准化生产", "溯源",
]  # fmt: skip
PLACES = ["拉萨", "当雄县", "林周县", "曲水县", "尼木县", "墨竹工卡县", "达孜区", "堆龙德庆区", "城关区", "高海拔地区"]
FILLER = [
    "针对高原低温低氧和强紫外线条件,",
    "在海拔四千米以上的牧区完成了中试验证,",
    "与本地合作社联合开展示范推广,",
    "成本比内地同类产品降低三成,",
    "可在冬季零下二十度稳定运行,",
    "适合县乡两级企业和合作社使用,",
    "配套提供技术培训和运维服务,",
    "已申请发明专利并获得软件著作权,",
    "产品通过第三方检测机构检测,",
    "能耗低、操作简单、维护方便,",
]
FIELDS = {
    "agriculture": ["青稞", "黑青稞", "牦牛", "藏香猪", "藏鸡", "藏系绵羊", "饲草", "燕麦草", "马铃薯", "油菜", "沙棘"],
    "biomed": ["藏药", "藏医药", "虫草", "红景天", "玛咖", "弥散供氧", "制氧机", "氧舱", "高原病", "包虫病"],
    "energy": ["光热", "光伏", "太阳能发电", "储能", "微电网", "地热", "热泵"],
    "environment": ["冰湖溃决", "泥石流", "冻土", "草地退化", "高原鼠兔", "污水处理", "生态修复", "防沙治沙"],
    "urban": ["装配式建筑", "保温材料", "民宿", "文物保护"],
    "electronics": ["无人机", "北斗", "遥感", "物联网", "藏文", "语音识别", "机器翻译", "智慧旅游"],
    "transport": ["冷链", "冷藏运输"],
}
FIELD_OF = {subject: field for field, subjects in FIELDS.items() for subject in subjects}
TAGS = ["health", "tourism", "clean_energy", "ecology", "agri_pastoral", "digital", "livelihood"]
MODES = ["transfer", "license", "equity", "co_develop", "service", "consulting"]
STAGES = [("lab", 2), ("small_pilot", 4), ("pilot", 6), ("industrial", 8)]
FACETS = ("field", "tags", "maturity", "modes", "region", "price_band")


def listing_text(rng: random.Random) -> dict:
    subject, other = rng.sample(SUBJECTS, 2)
    action = rng.choice(ACTIONS)
    place = rng.choice(PLACES)
    title = f"{place}{subject}{action}技术"
    summary = f"{subject}{action}:{rng.choice(FILLER)}{rng.choice(FILLER)}结合{other}提高效益。"
    sentences = [f"本成果围绕{subject}{action},{rng.choice(FILLER)}{rng.choice(FILLER)}" for _ in range(4)]
    sentences += [f"项目还涉及{other}和{rng.choice(SUBJECTS)}的{rng.choice(ACTIONS)}。{rng.choice(FILLER)}"]
    return {
        "title": title[:120],
        "summary": summary[:300],
        "description": "".join(sentences),
        "benefits": f"在{place}推广后,预计每年新增产值{rng.randint(50, 900)}万元。",
        "keywords": ",".join([subject, action, other]),
        "field": FIELD_OF.get(subject, "agriculture"),
    }


def generate(n: int, *, seed: int = 7, batch: int = 2000) -> int:
    """Create ``n`` published technologies of generated Chinese text (bulk, fast); returns how many."""
    from django.utils import timezone

    from listings.models import ListingStatus, Tag, Technology, TransferMode
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.accounts.models import Organisation

    rng = random.Random(seed)
    regions = ["tibet"] * 6 + ["beijing"] * 2 + ["jiangsu"] * 2 + ["other"]
    start = Organisation.objects.count()
    organisations = Organisation.objects.bulk_create(
        [
            Organisation(
                name=f"{rng.choice(PLACES)}{rng.choice(['高原', '净土', '雪域', '援藏'])}科技研究院{start + i}",
                kind="institute",
                region=rng.choice(regions),
                credit_code=make_credit_code(f"91540100PF{start + i:07d}"),
                verification="verified",
            )
            for i in range(max(1, n // 50))
        ]
    )
    tags, modes = Tag.objects.in_bulk(), TransferMode.objects.in_bulk()
    now = timezone.now()
    made = 0
    while made < n:
        rows = []
        for _ in range(min(batch, n - made)):
            organisation = rng.choice(organisations)
            stage, trl = rng.choice(STAGES)
            priced = rng.random() < 0.7
            rows.append(
                Technology(
                    organisation=organisation,
                    region=organisation.region,
                    maturity=stage,
                    trl=trl,
                    price_kind="fixed" if priced else "negotiable",
                    price_cny=Decimal(rng.choice([5, 8, 20, 45, 80, 150, 300, 800])) * 10000 if priced else None,
                    status=ListingStatus.PUBLISHED,
                    published_at=now - timezone.timedelta(minutes=rng.randint(0, 500_000)),
                    **listing_text(rng),
                )
            )
        created = Technology.objects.bulk_create(rows)
        tag_links, mode_links = [], []
        for tech in created:
            for code in rng.sample(TAGS, rng.randint(1, 2)):
                tag_links.append(Technology.tags.through(technology_id=tech.pk, tag_id=tags[code].pk))
            for code in rng.sample(MODES, rng.randint(1, 3)):
                mode_links.append(
                    Technology.transfer_modes.through(technology_id=tech.pk, transfermode_id=modes[code].pk)
                )
        Technology.tags.through.objects.bulk_create(tag_links)
        Technology.transfer_modes.through.objects.bulk_create(mode_links)
        made += len(created)
    return made


def queries(count: int, *, seed: int = 11) -> list[str]:
    """Two-word queries as users type them: a subject and an action, or two subjects of one field."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if i % 3 == 2:
            field = rng.choice([f for f, subjects in FIELDS.items() if len(subjects) >= 2])
            out.append(" ".join(rng.sample(FIELDS[field], 2)))
        else:
            out.append(f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)}")
    return out


def rebuild(alias: str, *, batch_size: int | None = None) -> dict:
    """Clear and re-index every technology from the database, as rebuild_index does; docs/s end to end."""
    from haystack import connections

    from listings.models import Technology

    backend = connections[alias].get_backend()
    index = connections[alias].get_unified_index().get_index(Technology)
    if hasattr(backend, "reindex"):
        # The cluster backend rebuilds behind its alias, which is what rebuild_index does there.
        started, cpu_started = time.perf_counter(), time.process_time()
        total = backend.reindex(batch_size=batch_size)["documents"]
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return {
            "docs": total,
            "index_seconds": round(elapsed, 2),
            "index_docs_per_s": round(total / elapsed, 1),
            "index_docs_per_cpu_s": round(total / max(cpu, 1e-9), 1),
        }
    batch_size = batch_size or backend.batch_size
    backend.clear()
    started, cpu_started = time.perf_counter(), time.process_time()
    queryset = index.index_queryset().order_by("pk")
    total, last_pk = 0, 0
    while True:
        batch = list(queryset.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            break
        backend.update(index, batch)
        total += len(batch)
        last_pk = batch[-1].pk
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU seconds too: on a shared machine the wall clock also counts other people's work.
    return {
        "docs": total,
        "index_seconds": round(elapsed, 2),
        "index_docs_per_s": round(total / elapsed, 1),
        "index_docs_per_cpu_s": round(total / max(cpu, 1e-9), 1),
    }


def faceted_search(alias: str, q: str, *, page_size: int = 20):
    """The search page's engine work for ``q``: every engine request /search/?q= makes, nothing else.

    That is search.selectors.engine_answer — the first page of hits with the six facet counts, the partial
    matches when the hits do not fill the page, a "did you mean" when there are fewer than three — on
    the connection ``alias``. The cluster sends the page and the partial matches in one ``_msearch``.
    """
    from search import selectors

    answer = selectors.engine_answer(
        q=q, kind="", filters={}, sort=selectors.RELEVANCE, page=1, page_size=page_size, using=alias
    )
    return answer.rows, answer.counts, answer.total


def time_queries(alias: str, qs: list[str], *, warmup: int = 10) -> dict:
    for q in qs[:warmup]:
        faceted_search(alias, q)
    timings, cpu_timings, hits = [], [], []
    for q in qs:
        started, cpu_started = time.perf_counter(), time.process_time()
        _results, _facets, count = faceted_search(alias, q)
        timings.append((time.perf_counter() - started) * 1000)
        cpu_timings.append((time.process_time() - cpu_started) * 1000)
        hits.append(count)
    timings.sort()
    cpu_timings.sort()
    return {
        "queries": len(qs),
        "engine_p50_ms": round(statistics.median(timings), 2),
        "engine_p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "engine_cpu_p95_ms": round(cpu_timings[int(0.95 * (len(cpu_timings) - 1))], 2),
        "mean_hits": round(statistics.mean(hits), 1),
    }


def _setup_django(workdir: str) -> None:
    os.environ["VAR_DIR"] = workdir
    os.environ["SEARCH_DIR"] = os.path.join(workdir, "search")
    for name in ("DATABASE_URL", "SEARCH_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, action="append", help="corpus sizes, e.g. --docs 10000 --docs 50000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-whoosh", action="store_true")
    args = parser.parse_args(argv)
    sizes = sorted(args.docs or [10000])
    with tempfile.TemporaryDirectory(prefix="search-perf-") as workdir:
        _setup_django(workdir)
        from listings.models import Technology

        qs = queries(args.queries)
        for size in sizes:
            generate(size - Technology.objects.count())
            engines = ["default"] + ([] if args.skip_whoosh else ["whoosh"])
            report = {}
            for alias in engines:
                report[alias] = {**rebuild(alias), **time_queries(alias, qs)}
            for alias, numbers in report.items():
                line = {"docs": size, "backend": "embedded" if alias == "default" else "whoosh", **numbers}
                if alias == "default" and "whoosh" in report:
                    line["p95_speedup_vs_whoosh"] = round(
                        report["whoosh"]["engine_p95_ms"] / numbers["engine_p95_ms"], 1
                    )
                    line["index_speedup_vs_whoosh"] = round(
                        numbers["index_docs_per_s"] / report["whoosh"]["index_docs_per_s"], 1
                    )
                print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
