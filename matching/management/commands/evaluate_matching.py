"""python manage.py evaluate_matching --data DIR [--backend embedded|cluster]

Loads the labelled set into a temporary database and index (never the site's data), ranks the
technologies for every need through the same code path as the 匹配结果 page, and prints, as its last
line, {"needs": n, "ndcg@10": x, "recall@20": y, "backend": "..."}. The line before it is the BM25
baseline on the same set (the engine's order for the same query, without re-ranking).
"""

import json
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from matching import evaluation


class Command(BaseCommand):
    help = "Measure matching quality (nDCG@10, recall@20) on a labelled set, in an isolated database and index."

    def add_arguments(self, parser):
        parser.add_argument(
            "--data", required=True, help="directory with technologies.jsonl, needs.jsonl, qrels_needs.tsv"
        )
        parser.add_argument("--backend", choices=evaluation.BACKENDS, help="default: the configured one")
        parser.add_argument("--per-need", action="store_true", help="one line per need (nDCG, recall, top 10)")
        parser.add_argument(
            "--misses", action="store_true", help="judged technologies outside the first 20 of their need, and why"
        )

    def handle(self, *args, data, backend=None, per_need=False, misses=False, **options):
        backend = backend or evaluation.current_backend_name()
        try:
            dataset = evaluation.read_labelled_set(data)
            started = time.perf_counter()
            with evaluation.isolated_environment(backend):
                loaded = evaluation.load(dataset)
                baseline = evaluation.evaluate(dataset, loaded, backend=backend, ranker=evaluation.bm25_ranker())
                report = evaluation.evaluate(dataset, loaded, backend=backend, ranker=evaluation.pipeline_ranker())
                missed = evaluation.misses(dataset, loaded) if misses else []
        except (evaluation.DatasetError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc))
        if per_need:
            for ref, row in report.per_need.items():
                base = baseline.per_need.get(ref, {})
                self.stdout.write(
                    f"{ref}\tndcg@10 {row['ndcg@10']:.3f} (bm25 {base.get('ndcg@10', 0):.3f})"
                    f"\trecall@20 {row['recall@20']:.3f}\t{' '.join(row['top'])}"
                )
        for line in missed:
            self.stdout.write(line)
        self.stdout.write(
            f"bm25 baseline: ndcg@10 {baseline.ndcg:.4f} recall@20 {baseline.recall:.4f}; "
            f"re-ranked: ndcg@10 {report.ndcg:.4f} recall@20 {report.recall:.4f}; "
            f"{len(dataset.technologies)} technologies, {time.perf_counter() - started:.1f} s"
        )
        self.stdout.write(json.dumps(report.summary(), ensure_ascii=False))
