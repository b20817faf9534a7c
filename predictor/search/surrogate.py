"""Learned models inside a search: predictors fitted on the modules queried so far.

The fit function is injected (by default the project's GCN, `predictor.training.fit`,
imported when first needed), so strategies can be tested with any stand-in of the same
signature: `fit(adjacency, operations, num_vertices, labels, config=..., seed=...)`
returning an object with `predict(adjacency, operations, num_vertices) -> (m,)`.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from predictor.dataset import BLOWN_UP_ACCURACY
from predictor.search.recipes import config_for_size

DEFAULT_FIT = "predictor.training:fit"


class Model(Protocol):
    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray: ...


FitFunction = Callable[..., Model]


def import_object(path: str) -> Any:
    """`package.module:name` -> the object (imported at call time, so a missing library fails late and clearly)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def member_predictions(model: Model, adjacency: np.ndarray, operations: np.ndarray,
                       num_vertices: np.ndarray) -> np.ndarray:
    """(members, m): one row per network; a model trained as an ensemble (`predict_members`) gives one per member."""
    if callable(getattr(model, "predict_members", None)):
        return np.asarray(model.predict_members(adjacency, operations, num_vertices), dtype=np.float64)
    return np.asarray(model.predict(adjacency, operations, num_vertices), dtype=np.float64).reshape(1, -1)


@dataclass(frozen=True)
class FittedEnsemble:
    members: tuple[Model, ...]

    def predict(self, adjacency: np.ndarray, operations: np.ndarray,
                num_vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) over all member networks; the deviation is 0 for a single network."""
        if len(adjacency) == 0:
            return np.zeros(0), np.zeros(0)
        predictions = np.concatenate([member_predictions(m, adjacency, operations, num_vertices) for m in self.members])
        return predictions.mean(axis=0), predictions.std(axis=0)


@dataclass(frozen=True)
class Surrogate:
    """How to fit: the function, its config (None: the function's default) and the ensemble size."""

    fit: FitFunction
    config: Any = None
    ensemble_size: int = 1

    def train(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, labels: np.ndarray,
              rng: np.random.Generator) -> FittedEnsemble:
        """Fit every member on the sound labels (blown-up runs, ~10% accuracy, are left out: they are noise)."""
        labels = np.asarray(labels, dtype=np.float64)
        sound = labels >= BLOWN_UP_ACCURACY
        if not sound.any():
            sound[:] = True
        arrays = (adjacency[sound], operations[sound], num_vertices[sound], labels[sound])
        kwargs = {} if self.config is None else {"config": config_for_size(self.config, int(sound.sum()))}
        seeds = rng.integers(0, 2**31 - 1, size=self.ensemble_size)
        return FittedEnsemble(tuple(self.fit(*arrays, seed=int(seed), **kwargs) for seed in seeds))


@dataclass(frozen=True)
class FittedTwoStage:
    classifier: Model
    regressor: Model

    def predict(self, adjacency: np.ndarray, operations: np.ndarray,
                num_vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regressor scores, with every candidate the classifier rejects ranked after every one it keeps."""
        if len(adjacency) == 0:
            return np.zeros(0), np.zeros(0)
        kept = member_predictions(self.classifier, adjacency, operations, num_vertices).mean(axis=0) >= 0.5
        score = member_predictions(self.regressor, adjacency, operations, num_vertices).mean(axis=0)
        return np.where(kept, score, score - REJECTED_OFFSET), np.zeros(len(score))


REJECTED_OFFSET = 10.0  # larger than any spread of predicted accuracies


@dataclass(frozen=True)
class TwoStageSurrogate:
    """Wen et al.'s two stages: a classifier (is the accuracy above `threshold`?) filters, a regressor
    trained on the modules above the threshold ranks what passes."""

    fit: FitFunction
    classifier_config: Any
    regressor_config: Any
    threshold: float
    ensemble_size: int = 1

    def train(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, labels: np.ndarray,
              rng: np.random.Generator) -> FittedTwoStage:
        labels = np.asarray(labels, dtype=np.float64)
        seeds = rng.integers(0, 2**31 - 1, size=2)
        classifier = self.fit(adjacency, operations, num_vertices, labels,
                              config=config_for_size(self.classifier_config, len(labels)), seed=int(seeds[0]))
        above = labels > self.threshold
        if above.sum() < 2:  # too few good modules to learn a ranking among them: use all sound ones
            above = labels >= BLOWN_UP_ACCURACY
        regressor = self.fit(adjacency[above], operations[above], num_vertices[above], labels[above],
                             config=config_for_size(self.regressor_config, int(above.sum())), seed=int(seeds[1]))
        return FittedTwoStage(classifier, regressor)
