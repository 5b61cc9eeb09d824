"""python manage.py evaluate_search --data DIR [--backend embedded|cluster]

Scores the search ranking on a labelled set, never on the site's data: the command starts itself
again in a subprocess whose database is a new SQLite file and whose index is new too (a temporary
folder for the embedded engine, an index prefix of its own on the cluster), loads DIR there, runs
every query through search.selectors.search_listings — the search page's code path — and removes
everything afterwards.

DIR holds
  technologies.jsonl   one technology per line, in the import's field names (title, summary,
                       description, field, trl, transfer_modes, tags, price_cny, patent, benefits,
                       keywords) plus "ref", "org" (organisation name), "org_kind" and "region";
  queries.jsonl        {"ref": …, "q": …} per line;
  qrels_queries.tsv    query_ref, tech_ref, grade (1-3), tab-separated; a header line is allowed.

The technologies go through the bulk importer (listings.importer), then are submitted and approved
through the listing services, then indexed. The last line printed is one JSON object:
{"queries": n, "ndcg@10": x, "recall@20": y, "backend": "embedded"}.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

BACKENDS = ("embedded", "cluster")
FILES = ("technologies.jsonl", "queries.jsonl", "qrels_queries.tsv")
CHILD_ENV = "EVALUATE_SEARCH_CHILD"
NDCG_AT, RECALL_AT = 10, 20
# Environment variables that would point the child at the site's own data.
SITE_ENV = ("DATABASE_URL", "VAR_DIR", "SEARCH_DIR", "SEARCH_INDEX", "MEDIA_ROOT", "STATIC_ROOT")


class Command(BaseCommand):
    help = "在独立的临时数据库和索引中评估检索排序质量(nDCG@10、recall@20),不触碰网站数据。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--data", required=True, help="标注数据目录(technologies.jsonl、queries.jsonl、qrels_queries.tsv)"
        )
        parser.add_argument("--backend", choices=BACKENDS, default="embedded", help="embedded(默认)或 cluster")
        parser.add_argument("--per-query", action="store_true", help="逐条列出每个查询的得分")
        parser.add_argument(
            "--misses", action="store_true", help="逐条列出每个查询漏掉(前 20 名之外)的相关成果及其等级"
        )

    def handle(self, *args, data, backend, per_query, misses=False, **options):
        directory = Path(data)
        labelled = load_labelled_set(directory)
        if os.environ.get(CHILD_ENV) == "1":
            scores = evaluate_here(labelled, backend=backend, log=self.stderr.write)
            if per_query:
                for ref, q, ndcg, recall in scores["per_query"]:
                    self.stdout.write(f"{ref}\t{q}\tndcg@10={ndcg:.3f}\trecall@20={recall:.3f}")
            if misses:
                titles = {str(row["ref"]): row["title"] for row in labelled["technologies"]}
                for ref, q, ranking in scores["rankings"]:
                    judged = labelled["qrels"].get(str(ref), {})
                    for tech, grade in sorted(judged.items(), key=lambda item: -item[1]):
                        where = ranking.index(tech) + 1 if tech in ranking else None
                        if where is None or where > NDCG_AT:
                            shown = f"#{where}" if where else "missed"
                            self.stdout.write(f"{ref}\t{q}\t{tech}\tgrade {grade}\t{shown}\t{titles[tech]}")
            summary = {k: scores[k] for k in ("queries", "ndcg@10", "recall@20", "backend")}
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self._run_isolated(
            directory, backend=backend, per_query=per_query, misses=misses, verbosity=options["verbosity"]
        )

    def _run_isolated(self, directory: Path, *, backend: str, per_query: bool, misses: bool, verbosity: int) -> None:
        if backend == "cluster" and not os.environ.get("SEARCH_URL", settings.SEARCH_URL):
            raise CommandError("--backend cluster 需要检索集群地址:请设置环境变量 SEARCH_URL")
        workdir = Path(tempfile.mkdtemp(prefix="evaluate-search-"))
        env = {k: v for k, v in os.environ.items() if k not in SITE_ENV}
        env.update(
            {
                CHILD_ENV: "1",
                "DJANGO_SETTINGS_MODULE": "marketplace.settings",
                "VAR_DIR": str(workdir),
                "MEDIA_ROOT": str(workdir / "media"),
                # Listings are indexed explicitly once loaded; nothing is queued meanwhile.
                "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if backend == "embedded":
            env.pop("SEARCH_URL", None)
        else:
            env["SEARCH_URL"] = os.environ.get("SEARCH_URL", settings.SEARCH_URL)
            env["SEARCH_INDEX"] = f"evaluate-{uuid.uuid4().hex[:12]}"
        command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "evaluate_search"]
        command += ["--data", str(directory.resolve()), "--backend", backend, "--verbosity", str(verbosity)]
        if per_query:
            command.append("--per-query")
        if misses:
            command.append("--misses")
        try:
            # The command line is this interpreter, manage.py and our own arguments: nothing from outside.
            done = subprocess.run(  # noqa: S603
                command, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=False
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if done.stderr and verbosity > 1:
            self.stderr.write(done.stderr.rstrip())
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()[-15:]
            raise CommandError("评估失败:\n" + "\n".join(reason))
        self.stdout.write(done.stdout.rstrip())


# ------------------------------------------------------------------ the labelled set


def load_labelled_set(directory: Path) -> dict:
    """Read and check DIR; a problem names the file and the line."""
    if not directory.is_dir():
        raise CommandError(f"找不到数据目录:{directory}")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise CommandError(f"数据目录 {directory} 缺少文件:{'、'.join(missing)}")
    technologies = _jsonl(directory / "technologies.jsonl", required=("ref", "title", "org", "org_kind", "region"))
    queries = _jsonl(directory / "queries.jsonl", required=("ref", "q"))
    tech_refs = _unique_refs(technologies, "technologies.jsonl")
    query_refs = _unique_refs(queries, "queries.jsonl")
    qrels: dict[str, dict[str, int]] = {ref: {} for ref in query_refs}
    path = directory / "qrels_queries.tsv"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if number == 1 and parts[-1:] == ["grade"]:
            continue
        if len(parts) != 3:
            raise CommandError(f"{path.name} 第 {number} 行:应为 query_ref<TAB>tech_ref<TAB>grade")
        query_ref, tech_ref, grade = parts
        if query_ref not in qrels:
            raise CommandError(f"{path.name} 第 {number} 行:查询「{query_ref}」不在 queries.jsonl 中")
        if tech_ref not in tech_refs:
            raise CommandError(f"{path.name} 第 {number} 行:成果「{tech_ref}」不在 technologies.jsonl 中")
        if grade not in ("1", "2", "3"):
            raise CommandError(f"{path.name} 第 {number} 行:等级应为 1、2 或 3,而不是「{grade}」")
        qrels[query_ref][tech_ref] = int(grade)
    return {"technologies": technologies, "queries": queries, "qrels": qrels}


def _jsonl(path: Path, *, required: tuple[str, ...]) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path.name} 第 {number} 行:JSON 格式错误({exc.msg})")
        if not isinstance(row, dict):
            raise CommandError(f"{path.name} 第 {number} 行:应为一个 JSON 对象")
        absent = [key for key in required if not str(row.get(key, "")).strip()]
        if absent:
            raise CommandError(f"{path.name} 第 {number} 行:缺少字段 {'、'.join(absent)}")
        rows.append(row)
    if not rows:
        raise CommandError(f"{path.name} 是空的")
    return rows


def _unique_refs(rows: list[dict], name: str) -> set[str]:
    refs: set[str] = set()
    for row in rows:
        ref = str(row["ref"])
        if ref in refs:
            raise CommandError(f"{name}:编号「{ref}」重复")
        refs.add(ref)
    return refs


# ------------------------------------------------------------------ metrics


def dcg(gains: list[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(gains))


def ndcg_at(ranking: list[str], judged: dict[str, int], k: int = NDCG_AT) -> float:
    ideal = dcg(sorted(judged.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([judged.get(ref, 0) for ref in ranking[:k]]) / ideal


def recall_at(ranking: list[str], judged: dict[str, int], k: int = RECALL_AT) -> float:
    relevant = {ref for ref, grade in judged.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


# ------------------------------------------------------------------ inside the isolated process


def evaluate_here(labelled: dict, *, backend: str, log) -> dict:
    """Load, publish and index the labelled technologies here, then score every query."""
    if os.environ.get(CHILD_ENV) != "1":
        raise CommandError("evaluate_here runs only in the isolated subprocess")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    pk_to_ref = _load_technologies(labelled["technologies"])
    log(f"已导入并发布 {len(pk_to_ref)} 项科技成果")
    prefix = _index_everything(backend)
    try:
        return _score(labelled, pk_to_ref, backend=backend)
    finally:
        if prefix:
            _drop_cluster_index(prefix)


def _load_technologies(rows: list[dict]) -> dict[int, str]:
    from listings import services
    from listings.importer import import_listings
    from marketplace.accounts.creditcode import make_credit_code
    from marketplace.accounts.models import Membership, Organisation, User

    officer = User.objects.create_user(username="evaluate-officer")
    bureau = Organisation.objects.create(
        name="评估用科技局",
        kind=Organisation.Kind.BUREAU,
        region=Organisation.Region.TIBET,
        credit_code=make_credit_code("11540100MB0000000"),
        verification=Organisation.Verification.VERIFIED,
    )
    Membership.objects.create(user=officer, organisation=bureau, role=Membership.Role.OWNER)
    owner = User.objects.create_user(username="evaluate-owner")
    organisations: dict[str, Organisation] = {}
    for row in rows:
        name = row["org"].strip()
        if name in organisations:
            continue
        organisation = Organisation(
            name=name,
            kind=row["org_kind"],
            region=row["region"],
            province="其他" if row["region"] == Organisation.Region.OTHER else "",
            credit_code=make_credit_code(f"12540100MB{len(organisations) + 1:07d}"),
            verification=Organisation.Verification.VERIFIED,
        )
        try:
            organisation.full_clean()
        except Exception as exc:
            raise CommandError(f"technologies.jsonl 中的机构「{name}」无效:{exc}")
        organisation.save()
        Membership.objects.create(user=owner, organisation=organisation, role=Membership.Role.OWNER)
        organisations[name] = organisation

    payload = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode("utf-8")
    result = import_listings(payload, name="technologies.jsonl", kind="technology", by=owner)
    if not result.ok:
        problems = "\n".join(str(error) for error in result.errors[:20])
        raise CommandError(f"technologies.jsonl 导入失败:\n{problems}")

    from listings.models import Technology

    technologies = Technology.objects.select_related("organisation").in_bulk(result.created_ids)
    for pk in result.created_ids:
        technology = technologies[pk]
        services.listing_submit(listing=technology, by=owner)
        services.listing_review(listing=technology, by=officer, approve=True)
    return {pk: str(row["ref"]) for pk, row in zip(result.created_ids, rows, strict=True)}


def _index_everything(backend: str) -> str | None:
    """Index every public listing in a fresh index; the cluster index prefix to drop afterwards, if any."""
    import haystack

    prefix = None
    if backend == "cluster":
        prefix = os.environ["SEARCH_INDEX"]
        connection = dict(settings.HAYSTACK_CONNECTIONS["default"])
        if "URL" not in connection:
            raise CommandError("集群检索没有启用:HAYSTACK_CONNECTIONS 里没有 URL(检查 SEARCH_URL)")
        connection["INDEX_PREFIX"] = prefix
        settings.HAYSTACK_CONNECTIONS["default"] = connection
        haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
        haystack.connections.reload("default")
    engine = haystack.connections["default"]
    search_backend = engine.get_backend()
    search_backend.clear()
    for index in engine.get_unified_index().get_indexes().values():
        search_backend.update(index, list(index.index_queryset()))
    return prefix


def _drop_cluster_index(prefix: str) -> None:
    import haystack

    transport = haystack.connections["default"].get_backend().transport
    transport.delete_index(f"{prefix}-*")


def _score(labelled: dict, pk_to_ref: dict[int, str], *, backend: str) -> dict:
    from search.selectors import TECHNOLOGY, search_listings

    per_query, rankings = [], []
    for query in labelled["queries"]:
        result = search_listings(q=query["q"], page_size=RECALL_AT)
        # What the page shows, in its order: the hits, then the partial matches.
        shown = [*result.hits, *result.related]
        ranking = [pk_to_ref[hit.pk] for hit in shown if hit.kind == TECHNOLOGY and hit.pk in pk_to_ref]
        judged = labelled["qrels"].get(str(query["ref"]), {})
        rankings.append((query["ref"], query["q"], ranking))
        per_query.append((query["ref"], query["q"], ndcg_at(ranking, judged), recall_at(ranking, judged)))
    count = len(per_query)
    return {
        "queries": count,
        "ndcg@10": round(sum(p[2] for p in per_query) / count, 4),
        "recall@20": round(sum(p[3] for p in per_query) / count, 4),
        "backend": backend,
        "per_query": per_query,
        "rankings": rankings,
    }
