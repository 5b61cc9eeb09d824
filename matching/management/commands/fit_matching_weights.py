"""python manage.py fit_matching_weights --data DIR [--backend embedded|cluster] [--folds 4]

Fits the re-ranker's weights and cut-off on a labelled set (isolated database and index, like
evaluate_matching), reports k-fold cross-validated nDCG@10 / recall@20 (held-out needs) beside the
in-sample figures, and prints the weights fitted on the whole set — to be copied into matching/ranking.py
by hand, with the figures, in docs/matching.md.
"""

import json

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from matching import evaluation, fitting, ranking, selectors


class Command(BaseCommand):
    help = "Fit matching weights with k-fold cross-validation on a labelled set."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True)
        parser.add_argument("--backend", choices=evaluation.BACKENDS)
        parser.add_argument("--folds", type=int, default=4)

    def handle(self, *args, data, backend=None, folds=4, **options):
        if folds < 2:
            raise CommandError("--folds 至少为 2")
        backend = backend or evaluation.current_backend_name()
        try:
            dataset = evaluation.read_labelled_set(data)
            with evaluation.isolated_environment(backend):
                loaded = evaluation.load(dataset)
                cases = self._cases(dataset, loaded)
        except (evaluation.DatasetError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc))
        pool = sum(
            len({r for r, g in c.judged.items() if g > 0} & {x.ref for x in c.candidates})
            / max(1, sum(1 for g in c.judged.values() if g > 0))
            for c in cases
        ) / len(cases)
        self.stdout.write(f"{len(cases)} needs; judged technologies among the engine's candidates: {pool:.4f}")
        current = fitting.Setting(ranking.WEIGHTS, ranking.MIN_SCORE, ranking.GOOD_SCORE)
        now_ndcg, now_recall = fitting.measure(cases, current)
        self.stdout.write(f"current weights: ndcg@10 {now_ndcg:.4f} recall@20 {now_recall:.4f}")
        cv = fitting.cross_validate(cases, folds)
        self.stdout.write(
            f"{folds}-fold cross-validation: in-sample ndcg@10 {cv.train[0]:.4f} recall@20 {cv.train[1]:.4f}; "
            f"held-out ndcg@10 {cv.held_out[0]:.4f} recall@20 {cv.held_out[1]:.4f}"
        )
        for i, setting in enumerate(cv.settings, start=1):
            self.stdout.write(
                f"  fold {i}: {setting.weights.as_dict()} min_score {setting.min_score} good_score {setting.good_score}"
            )
        final = fitting.fit(cases)
        n, r = fitting.measure(cases, final)
        self.stdout.write(f"fitted on all needs: ndcg@10 {n:.4f} recall@20 {r:.4f}")
        self.stdout.write(
            json.dumps(
                {"weights": final.weights.as_dict(), "min_score": final.min_score, "good_score": final.good_score}
            )
        )

    def _cases(self, dataset, loaded) -> list[fitting.NeedCase]:
        ref_of = {pk: ref for ref, pk in loaded.technologies.items()}
        cases = []
        for row in dataset.needs:
            judged = dataset.qrels.get(row["ref"], {})
            need = selectors.need_for_matching(pk=loaded.needs[row["ref"]])
            _profile, scored, _engine = selectors.score_candidates(need=need)
            candidates = [fitting.Candidate(ref_of[t.pk], s.features, bool(s.broken)) for t, s in scored]
            cases.append(fitting.NeedCase(row["ref"], candidates, judged))
        return cases
