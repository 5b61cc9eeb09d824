"""Fitting the re-ranker's weights on a labelled set, honestly: k-fold cross-validation over needs.

The features of every candidate of every need are collected once (selectors.score_candidates: the
engine's candidates, the same features the pages use). A weight vector is then judged by ranking those
candidates exactly as ranking.order does (breaking no constraint first, then score; below MIN_SCORE
dropped) and scoring nDCG@10 + recall@20 against the judgements.

Search: coordinate ascent from the hand-set weights over a grid, a few rounds, then the cut-off. The aid
bonus is policy (the bureau reports on aid-brought technology), not relevance, so it is held fixed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from . import ranking
from .evaluation import ndcg, recall

FITTED = ("text", "coverage", "field", "tags")
GRID = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8)
MIN_SCORE_GRID = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0)
GOOD_SCORE_GRID = (30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 101.0)
ROUNDS = 4


@dataclass
class Candidate:
    ref: str
    features: dict[str, float]
    broken: bool


@dataclass
class NeedCase:
    ref: str
    candidates: list[Candidate]
    judged: dict[str, int]


@dataclass(frozen=True)
class Setting:
    weights: ranking.Weights
    min_score: float
    good_score: float = ranking.GOOD_SCORE


def rank(case: NeedCase, setting: Setting) -> list[str]:
    scores = [(c, ranking.combine(c.features, setting.weights)) for c in case.candidates]
    kept = sorted(
        (ranking.tier(s, c.broken, setting.good_score), -s, c.ref) for c, s in scores if s >= setting.min_score
    )
    return [ref for _t, _s, ref in kept]


def measure(cases: list[NeedCase], setting: Setting) -> tuple[float, float]:
    if not cases:
        return 0.0, 0.0
    n = r = 0.0
    for case in cases:
        ranked = rank(case, setting)
        n += ndcg(ranked, case.judged)
        r += recall(ranked, case.judged)
    return n / len(cases), r / len(cases)


def objective(cases: list[NeedCase], setting: Setting) -> float:
    n, r = measure(cases, setting)
    return n + r


def _with(weights: ranking.Weights, name: str, value: float) -> ranking.Weights:
    values = weights.as_dict()
    values[name] = value
    return ranking.Weights(**values)


def fit(cases: list[NeedCase], start: Setting | None = None) -> Setting:
    best = start or Setting(ranking.WEIGHTS, ranking.MIN_SCORE)
    best_value = objective(cases, best)
    for _round in range(ROUNDS):
        improved = False
        for name, value in itertools.product(FITTED, GRID):
            candidate = Setting(_with(best.weights, name, value), best.min_score, best.good_score)
            if sum(candidate.weights.as_dict().values()) <= candidate.weights.aid:
                continue
            candidate_value = objective(cases, candidate)
            if candidate_value > best_value + 1e-9:
                best, best_value, improved = candidate, candidate_value, True
        for cut in MIN_SCORE_GRID:
            candidate = Setting(best.weights, cut, best.good_score)
            candidate_value = objective(cases, candidate)
            if candidate_value > best_value + 1e-9:
                best, best_value, improved = candidate, candidate_value, True
        for good in GOOD_SCORE_GRID:
            candidate = Setting(best.weights, best.min_score, good)
            candidate_value = objective(cases, candidate)
            if candidate_value > best_value + 1e-9:
                best, best_value, improved = candidate, candidate_value, True
        if not improved:
            break
    return normalised(best)


def normalised(setting: Setting) -> Setting:
    """Scale the weights to sum to 1 (scores stay 0…100); the ranking does not change."""
    values = setting.weights.as_dict()
    total = sum(values.values()) or 1.0
    weights = ranking.Weights(**{k: round(v / total, 3) for k, v in values.items()})
    return Setting(weights, setting.min_score, setting.good_score)


def folds(cases: list[NeedCase], k: int) -> list[tuple[list[NeedCase], list[NeedCase]]]:
    """Every k-th need (by file order) held out in turn."""
    split = []
    for fold in range(k):
        train = [c for i, c in enumerate(cases) if i % k != fold]
        split.append((train, [c for i, c in enumerate(cases) if i % k == fold]))
    return split


@dataclass
class CrossValidation:
    train: tuple[float, float]
    held_out: tuple[float, float]
    settings: list[Setting]


def cross_validate(cases: list[NeedCase], k: int = 4) -> CrossValidation:
    held_n = held_r = train_n = train_r = 0.0
    settings = []
    for train, test in folds(cases, k):
        setting = fit(train)
        settings.append(setting)
        tn, tr = measure(train, setting)
        hn, hr = measure(test, setting)
        train_n += tn * len(train)
        train_r += tr * len(train)
        held_n += hn * len(test)
        held_r += hr * len(test)
    total_train = sum(len(train) for train, _t in folds(cases, k))
    return CrossValidation(
        train=(train_n / total_train, train_r / total_train),
        held_out=(held_n / len(cases), held_r / len(cases)),
        settings=settings,
    )
