"""K-fold cross-validation inside a training set: choose settings without looking at the evaluation split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.gcn.config import TrainConfig
from predictor.gcn.evaluation import classification_metrics, regression_metrics, summarize
from predictor.gcn.training import fit


@dataclass
class CrossValidation:
    folds: list[dict[str, float]]  # metrics of each held-out fold
    pooled: dict[str, float]  # metrics of all out-of-fold predictions together (one prediction per module)
    out_of_fold: np.ndarray  # (n,) each module's prediction by the model that did not see it

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return summarize(self.folds)

    def to_dict(self) -> dict:
        return {"folds": self.folds, "summary": self.summary, "pooled": self.pooled}


def fold_indices(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint random folds covering range(n), sizes differing by at most one."""
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= k <= n for {k}-fold cross-validation of {n} modules")
    return [np.sort(fold) for fold in np.array_split(np.random.default_rng(seed).permutation(n), k)]


def cross_validate(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    k: int = 5,
    seed: int = 0,
    *,
    engine: str = "auto",
    progress: bool = False,
) -> CrossValidation:
    """Train on k-1 folds, predict the held-out one, for each fold (model seed = seed + fold)."""
    labels = np.asarray(labels, dtype=np.float64)
    n = len(labels)
    out_of_fold = np.full(n, np.nan)
    folds = []
    for index, held_out in enumerate(fold_indices(n, k, seed)):
        train = np.setdiff1d(np.arange(n), held_out)
        model = fit(
            adjacency[train],
            operations[train],
            num_vertices[train],
            labels[train],
            config,
            seed + index,
            engine=engine,
            progress=progress,
        )
        out_of_fold[held_out] = model.predict(adjacency[held_out], operations[held_out], num_vertices[held_out])
        folds.append(_metrics(model, out_of_fold[held_out], labels[held_out]))
    if config.task == "classification":
        pooled = {}  # fold thresholds may differ (quantiles): pooled figures would mix them
    else:
        pooled = regression_metrics(out_of_fold, labels)
    return CrossValidation(folds, pooled, out_of_fold)


def _metrics(model, predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    if model.is_classifier:
        return {"threshold": model.threshold, **classification_metrics(predicted, true > model.threshold)}
    return regression_metrics(predicted, true)
