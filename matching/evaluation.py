"""Measuring matching: a labelled set loaded into an isolated database and index, ranked by the pages' code path.

- ``read_labelled_set(dir)``: technologies.jsonl, needs.jsonl, qrels_needs.tsv (format: tests/data/matching/README.md).
  A bad file is refused with the file, line and reason.
- ``isolated_environment(backend)``: a temporary database (Django's test-database machinery: an in-memory
  SQLite, or a throw-away PostgreSQL database) and a temporary index (a temp directory for the embedded
  engine, a uniquely named index on the cluster), both removed afterwards. The site's data is never read
  or written.
- ``load(dataset)``: organisations, then the listings through the bulk importer (the same validation as
  an upload), published, and indexed through haystack.
- ``evaluate(dataset, refs)``: every need ranked by selectors.technology_ranking (what the 匹配结果 page
  shows), nDCG@10 and recall@20 against the judgements.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import math
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from listings.importer import import_listings
from listings.models import ListingStatus, Need, Technology
from marketplace.accounts.creditcode import make_credit_code
from marketplace.accounts.models import Organisation

from . import ranking, selectors

BACKENDS = ("embedded", "cluster")
NDCG_AT = 10
RECALL_AT = 20
EVAL_DEADLINE_DAYS = 182


class DatasetError(ValueError):
    """A labelled-set file that cannot be used; the message names the file and line."""


@dataclass
class Dataset:
    technologies: list[dict]
    needs: list[dict]
    qrels: dict[str, dict[str, int]]  # need ref → {tech ref: grade}
    directory: Path | None = None


# ------------------------------------------------------------------ reading


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    if not path.is_file():
        raise DatasetError(f"{path}: 文件不存在")
    rows, refs = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name} 第{number}行:JSON 格式错误({exc.msg})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path.name} 第{number}行:应为一个 JSON 对象")
        missing = [name for name in required if not str(row.get(name, "")).strip()]
        if missing:
            raise DatasetError(f"{path.name} 第{number}行:缺少 {', '.join(missing)}")
        ref = str(row["ref"]).strip()
        if ref in refs:
            raise DatasetError(f"{path.name} 第{number}行:ref「{ref}」重复")
        refs.add(ref)
        rows.append({**row, "ref": ref})
    if not rows:
        raise DatasetError(f"{path}: 没有数据")
    return rows


def _read_qrels(path: Path, need_refs: set[str], tech_refs: set[str]) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise DatasetError(f"{path}: 文件不存在")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 3:
            raise DatasetError(f"{path.name} 第{number}行:应为 need_ref、tech_ref、grade 三栏")
        need_ref, tech_ref, grade_text = (p.strip() for p in parts)
        if need_ref not in need_refs:
            raise DatasetError(f"{path.name} 第{number}行:needs.jsonl 中没有需求「{need_ref}」")
        if tech_ref not in tech_refs:
            raise DatasetError(f"{path.name} 第{number}行:technologies.jsonl 中没有成果「{tech_ref}」")
        if grade_text not in ("0", "1", "2", "3"):
            raise DatasetError(f"{path.name} 第{number}行:等级应为 0-3,而不是「{grade_text}」")
        qrels.setdefault(need_ref, {})[tech_ref] = int(grade_text)
    return qrels


def read_labelled_set(directory: str | Path) -> Dataset:
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: 目录不存在")
    technologies = _read_jsonl(directory / "technologies.jsonl", ("ref", "title", "org"))
    needs = _read_jsonl(directory / "needs.jsonl", ("ref", "title", "org"))
    qrels = _read_qrels(directory / "qrels_needs.tsv", {n["ref"] for n in needs}, {t["ref"] for t in technologies})
    return Dataset(technologies, needs, qrels, directory)


# ------------------------------------------------------------------ isolated database and index


def backend_connection(backend: str) -> dict:
    """A HAYSTACK connection of the named kind on a fresh, temporary index."""
    if backend not in BACKENDS:
        raise ImproperlyConfigured(f"--backend 应为 {' 或 '.join(BACKENDS)}")
    if backend == "cluster":
        if not settings.SEARCH_URL:
            raise ImproperlyConfigured('集群检索需要 SEARCH_URL(例如 eval "$(bash scripts/services.sh env)")')
        return {
            "ENGINE": settings.SEARCH_CLUSTER_ENGINE,
            "URL": settings.SEARCH_URL,
            "INDEX_NAME": f"matching-eval-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        }
    return {"ENGINE": settings.SEARCH_EMBEDDED_ENGINE, "PATH": tempfile.mkdtemp(prefix="matching-eval-index-")}


def current_backend_name() -> str:
    engine = settings.HAYSTACK_CONNECTIONS["default"]["ENGINE"]
    return "cluster" if engine == settings.SEARCH_CLUSTER_ENGINE else "embedded"


@contextlib.contextmanager
def temporary_index(backend: str, alias: str = "default") -> Iterator[None]:
    """Point the haystack alias at a new empty index of that kind; drop it afterwards."""
    import haystack

    options = backend_connection(backend)
    saved = copy.deepcopy(haystack.connections.connections_info[alias])
    haystack.connections.connections_info[alias] = options
    engine = haystack.connections.reload(alias)
    try:
        yield
    finally:
        _drop_index(engine.get_backend(), options)
        haystack.connections.connections_info[alias] = saved
        haystack.connections.reload(alias)


def _drop_index(backend, options: dict) -> None:
    with contextlib.suppress(Exception):
        if "PATH" in options:
            if hasattr(backend, "destroy"):
                backend.destroy()
            else:
                import shutil

                shutil.rmtree(options["PATH"], ignore_errors=True)
            return
        transport = backend.transport
        for name in list(transport.get_alias(backend.alias) or {}):
            transport.delete_index(name)


@contextlib.contextmanager
def temporary_database() -> Iterator[None]:
    """A throw-away database with every migration applied (Django's test-database machinery)."""
    test_settings = connection.settings_dict.setdefault("TEST", {})
    saved_name, saved_test_name = connection.settings_dict["NAME"], test_settings.get("NAME")
    if connection.vendor != "sqlite":
        test_settings["NAME"] = f"matching_eval_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    else:
        test_settings["NAME"] = None  # in memory
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(saved_name, verbosity=0)
        test_settings["NAME"] = saved_test_name


@contextlib.contextmanager
def isolated_environment(backend: str) -> Iterator[None]:
    backend_connection(backend) if backend == "cluster" else None  # fail before building anything
    with temporary_database(), temporary_index(backend):
        yield


# ------------------------------------------------------------------ loading


@dataclass
class Loaded:
    technologies: dict[str, int] = field(default_factory=dict)  # ref → pk
    needs: dict[str, int] = field(default_factory=dict)


def _organisations(rows: list[dict], default_kind: str) -> None:
    existing = set(Organisation.objects.values_list("name", flat=True))
    serial = Organisation.objects.count()
    for row in rows:
        name = str(row["org"]).strip()
        if name in existing:
            continue
        serial += 1
        organisation = Organisation(
            name=name,
            kind=row.get("org_kind") or default_kind,
            region=row.get("region") or Organisation.Region.TIBET,
            credit_code=make_credit_code(f"91540100MAEX{serial:05d}"),
            verification=Organisation.Verification.VERIFIED,
            verified_at=timezone.now(),
        )
        try:
            organisation.full_clean()
        except Exception as exc:
            raise DatasetError(f"机构「{name}」数据有误:{exc}") from None
        organisation.save()
        existing.add(name)


def _import(kind: str, rows: list[dict], name: str) -> list[int]:
    payload = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode("utf-8")
    result = import_listings(payload, name=name, kind=kind)
    if not result.ok:
        raise DatasetError(f"{name}: " + ";".join(str(e) for e in result.errors[:5]))
    return result.created_ids


def load(dataset: Dataset, *, using: str | None = None) -> Loaded:
    """Organisations, technologies and needs, published and indexed; refs mapped to primary keys."""
    from haystack import connections

    _organisations(dataset.technologies, Organisation.Kind.UNIVERSITY)
    _organisations(dataset.needs, Organisation.Kind.ENTERPRISE)
    deadline = (timezone.localdate() + datetime.timedelta(days=EVAL_DEADLINE_DAYS)).isoformat()
    need_rows = [{**row, "deadline": row.get("deadline") or deadline} for row in dataset.needs]
    loaded = Loaded()
    tech_ids = _import("technology", dataset.technologies, "technologies.jsonl")
    need_ids = _import("need", need_rows, "needs.jsonl")
    loaded.technologies = {row["ref"]: pk for row, pk in zip(dataset.technologies, tech_ids, strict=True)}
    loaded.needs = {row["ref"]: pk for row, pk in zip(dataset.needs, need_ids, strict=True)}
    now = timezone.now()
    Technology.objects.filter(pk__in=tech_ids).update(status=ListingStatus.PUBLISHED, published_at=now)
    Need.objects.filter(pk__in=need_ids).update(status=ListingStatus.PUBLISHED, published_at=now)
    engine = connections[using or "default"]
    unified = engine.get_unified_index()
    backend = engine.get_backend()
    for model in (Technology, Need):
        index = unified.get_index(model)
        backend.update(index, index.index_queryset(using=using).iterator(chunk_size=500))
    return loaded


# ------------------------------------------------------------------ measures


def ndcg(ranked: list[str], judged: dict[str, int], k: int = NDCG_AT) -> float:
    def dcg(grades: list[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades[:k]))

    ideal = dcg(sorted(judged.values(), reverse=True))
    return dcg([judged.get(ref, 0) for ref in ranked]) / ideal if ideal else 0.0


def recall(ranked: list[str], judged: dict[str, int], k: int = RECALL_AT) -> float:
    relevant = {ref for ref, grade in judged.items() if grade > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


@dataclass
class Report:
    needs: int
    ndcg: float
    recall: float
    backend: str
    per_need: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "needs": self.needs,
            "ndcg@10": round(self.ndcg, 4),
            "recall@20": round(self.recall, 4),
            "backend": self.backend,
        }


Ranker = Callable[[Need], list[int]]


def pipeline_ranker(*, using: str | None = None, **options) -> Ranker:
    """The pages' code path: selectors.technology_ranking, first RECALL_AT technology ids."""

    def rank(need: Need) -> list[int]:
        result = selectors.technology_ranking(need=need, limit=RECALL_AT, using=using, **options)
        return [item.technology.pk for item in result.items]

    return rank


def bm25_ranker(*, using: str | None = None) -> Ranker:
    """The baseline: the engine's BM25 order for the need's key terms (no concept words, no re-ranking)."""
    from . import candidates

    def rank(need: Need) -> list[int]:
        profile = ranking.need_profile(need)
        hits = candidates.technology_hits(profile.terms, limit=RECALL_AT, using=using, concepts=False)
        return list(hits.scores)[:RECALL_AT]

    return rank


def evaluate(dataset: Dataset, loaded: Loaded, *, backend: str, ranker: Ranker) -> Report:
    ref_of = {pk: ref for ref, pk in loaded.technologies.items()}
    needs = {n.pk: n for n in Need.objects.prefetch_related("tags", "desired_modes").select_related("organisation")}
    scores_ndcg, scores_recall, per_need = [], [], {}
    for row in dataset.needs:
        judged = dataset.qrels.get(row["ref"], {})
        if not any(g > 0 for g in judged.values()):
            continue
        ranked = [ref_of.get(pk, f"?{pk}") for pk in ranker(needs[loaded.needs[row["ref"]]])]
        n, r = ndcg(ranked, judged), recall(ranked, judged)
        scores_ndcg.append(n)
        scores_recall.append(r)
        per_need[row["ref"]] = {"ndcg@10": round(n, 4), "recall@20": round(r, 4), "top": ranked[:10]}
    count = len(scores_ndcg)
    return Report(
        needs=count,
        ndcg=sum(scores_ndcg) / count if count else 0.0,
        recall=sum(scores_recall) / count if count else 0.0,
        backend=backend,
        per_need=per_need,
    )


# ------------------------------------------------------------------ diagnosis


def misses(dataset: Dataset, loaded: Loaded, *, using: str | None = None, k: int = RECALL_AT) -> list[str]:
    """One line per judged technology (grade ≥ 1) outside a need's first k, and why: its place in the full
    order, its score and features, the constraints it breaks — or that the engine never returned it."""
    ref_of = {pk: ref for ref, pk in loaded.technologies.items()}
    titles = {row["ref"]: row["title"] for row in dataset.technologies}
    lines = []
    for row in dataset.needs:
        judged = {ref: g for ref, g in dataset.qrels.get(row["ref"], {}).items() if g > 0}
        if not judged:
            continue
        need = selectors.need_for_matching(pk=loaded.needs[row["ref"]])
        profile, scored, _engine = selectors.score_candidates(need=need, using=using)
        every = sorted((s for _t, s in scored), key=lambda s: s.sort_key())
        place = {ref_of.get(s.technology_pk): i for i, s in enumerate(every, start=1)}
        shown = [ref_of.get(s.technology_pk) for s in ranking.order(every)][:k]
        by_ref = {ref_of.get(s.technology_pk): s for s in every}
        missed = sorted(ref for ref in judged if ref not in shown)
        if missed:
            terms = " ".join(f"{t.word}:{t.weight:.1f}" for t in profile.terms)
            lines.append(f"{row['ref']} {row['title']} | {terms}")
        for ref in missed:
            item = by_ref.get(ref)
            if item is None:
                lines.append(f"  {ref} g{judged[ref]} NOT A CANDIDATE  {titles.get(ref, '')}")
                continue
            why = "below cut" if item.score < ranking.MIN_SCORE else f"#{place[ref]}"
            feats = " ".join(f"{name}={value:.2f}" for name, value in item.features.items())
            broken = ",".join(b["code"] for b in item.broken) or "-"
            lines.append(
                f"  {ref} g{judged[ref]} {why} score {item.score} broken {broken} {feats}  {titles.get(ref, '')}"
            )
    return lines
