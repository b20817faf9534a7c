"""Learned models inside a search: predictors fitted on the modules queried so far.

The fit function is passed in (by default the project's GCN, `predictor.gcn.training.fit`),
so strategies can be tested with any function of the `FitFunction` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from predictor.common.errors import TooFewKeptError
from predictor.data.dataset import BLOWN_UP_ACCURACY
from predictor.gcn.config import TrainConfig
from predictor.search.recipes import StepBudget, config_for_size


class Model(Protocol):
    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray: ...


class FitFunction(Protocol):
    """`fit(adjacency, operations, num_vertices, labels, config=..., seed=...)` -> a fitted `Model`."""

    def __call__(
        self,
        adjacency: np.ndarray,
        operations: np.ndarray,
        num_vertices: np.ndarray,
        labels: np.ndarray,
        config: TrainConfig | None = None,
        seed: int = 0,
    ) -> Model: ...


class FitTwoStageFunction(Protocol):
    """`fit_two_stage(..., classifier_config, regressor_config, seed=...)` -> a `Model` whose `predict` is NaN
    for the modules its classifier rejects; TooFewKeptError when it keeps too few training modules."""

    def __call__(
        self,
        adjacency: np.ndarray,
        operations: np.ndarray,
        num_vertices: np.ndarray,
        labels: np.ndarray,
        classifier_config: TrainConfig,
        regressor_config: TrainConfig,
        seed: int = 0,
    ) -> Model: ...


@dataclass(frozen=True)
class FittedEnsemble:
    members: tuple[Model, ...]

    def predict(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) over all member networks; the deviation is 0 for a single network."""
        if len(adjacency) == 0:
            return np.zeros(0), np.zeros(0)
        predictions = np.stack(
            [np.asarray(m.predict(adjacency, operations, num_vertices), dtype=np.float64) for m in self.members]
        )
        return predictions.mean(axis=0), predictions.std(axis=0)


@dataclass(frozen=True)
class Surrogate:
    """How to fit: the function, its config (None: the function's default) and the ensemble size."""

    fit: FitFunction
    config: TrainConfig | StepBudget | None = None
    ensemble_size: int = 1

    def train(
        self,
        adjacency: np.ndarray,
        operations: np.ndarray,
        num_vertices: np.ndarray,
        labels: np.ndarray,
        rng: np.random.Generator,
    ) -> FittedEnsemble:
        """Fit every member on the sound labels (blown-up runs, ~10% accuracy, are left out: they are noise),
        or on all of them while fewer than two are sound (a model needs two; poisoned cells cut off answer 10%)."""
        labels = np.asarray(labels, dtype=np.float64)
        sound = labels >= BLOWN_UP_ACCURACY
        if sound.sum() < 2:
            sound[:] = True
        arrays = (adjacency[sound], operations[sound], num_vertices[sound], labels[sound])
        kwargs = {} if self.config is None else {"config": config_for_size(self.config, int(sound.sum()))}
        seeds = rng.integers(0, 2**31 - 1, size=self.ensemble_size)
        return FittedEnsemble(tuple(self.fit(*arrays, seed=int(seed), **kwargs) for seed in seeds))


@dataclass(frozen=True)
class FittedTwoStage:
    model: Model  # `predict` gives NaN for the modules its classifier rejects

    def predict(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Regressor scores, every module the classifier rejects ranked after every one it keeps."""
        if len(adjacency) == 0:
            return np.zeros(0), np.zeros(0)
        scores = np.asarray(self.model.predict(adjacency, operations, num_vertices), dtype=np.float64)
        return np.where(np.isnan(scores), -np.inf, scores), np.zeros(len(scores))


@dataclass(frozen=True)
class TwoStageSurrogate:
    """Wen et al.'s two stages, as the library fits them (`fit_two_stage`): a classifier filters out
    poor modules, a regressor trained on the modules it keeps ranks the rest. When the classifier
    keeps too few training modules to fit a regressor, a plain regressor (`fit`) ranks everything."""

    fit_two_stage: FitTwoStageFunction
    fit: FitFunction
    classifier_config: TrainConfig
    regressor_config: TrainConfig
    ensemble_size: int = 1

    def train(
        self,
        adjacency: np.ndarray,
        operations: np.ndarray,
        num_vertices: np.ndarray,
        labels: np.ndarray,
        rng: np.random.Generator,
    ) -> FittedTwoStage | FittedEnsemble:
        labels = np.asarray(labels, dtype=np.float64)
        seed = int(rng.integers(0, 2**31 - 1))
        try:
            return FittedTwoStage(
                self.fit_two_stage(
                    adjacency,
                    operations,
                    num_vertices,
                    labels,
                    self.classifier_config,
                    self.regressor_config,
                    seed=seed,
                )
            )
        except TooFewKeptError:  # the classifier kept fewer modules than a regressor needs (divergence is raised)
            return Surrogate(self.fit, self.regressor_config).train(adjacency, operations, num_vertices, labels, rng)
