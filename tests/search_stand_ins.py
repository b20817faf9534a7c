"""Stand-ins with the signature of `predictor.gcn.training.fit`, for testing strategies without the GCN.

Ridge regression on the edge bits and one-hot ops of the fixed 7-slot layout: cheap,
deterministic for a seed, and good enough to tell a learning strategy from a random one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.common.errors import TooFewKeptError, TrainingDivergedError
from predictor.data.encodings import EMPTY_SLOT, NUM_REAL_OPS, fixed_layout
from predictor.search.strategies.evolution import RegularizedEvolution
from predictor.search.strategies.parameter_ranking import ParameterRanking
from predictor.search.strategies.predictor_guided import PredictorGuidedSearch
from predictor.search.strategies.progressive import ProgressiveSearch
from predictor.search.strategies.random_search import RandomSearch
from predictor.search.strategies.reinforce import Reinforce
from predictor.search.surrogate import Surrogate, TwoStageSurrogate

_ROWS, _COLS = np.triu_indices(7, 1)


def features(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    fixed_adjacency, fixed_ops = fixed_layout(adjacency, operations, num_vertices)
    edges = fixed_adjacency[:, _ROWS, _COLS].astype(np.float64)
    states = np.where(fixed_ops[:, 1:6] == EMPTY_SLOT, NUM_REAL_OPS, fixed_ops[:, 1:6]).astype(np.int64)
    ops = np.eye(NUM_REAL_OPS + 1)[states].reshape(len(edges), -1)
    return np.hstack([edges, ops, np.ones((len(edges), 1))])


@dataclass
class RidgeModel:
    weights: np.ndarray

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        return features(adjacency, operations, num_vertices) @ self.weights


@dataclass
class FitRecorder:
    """A ridge `fit` that also remembers the size of every training set it was given."""

    penalty: float = 1.0
    calls: list | None = None

    def __call__(self, adjacency, operations, num_vertices, labels, config=None, seed: int = 0) -> RidgeModel:
        if self.calls is not None:
            self.calls.append(len(labels))
        x = features(adjacency, operations, num_vertices)
        noise = np.random.default_rng(seed).normal(0, 1e-6, x.shape[1])  # members of an ensemble differ
        weights = np.linalg.solve(x.T @ x + self.penalty * np.eye(x.shape[1]), x.T @ np.asarray(labels))
        return RidgeModel(weights + noise)


ridge_fit = FitRecorder()


@dataclass
class RidgeTwoStage:
    classifier: RidgeModel
    regressor: RidgeModel

    def kept(self, adjacency, operations, num_vertices) -> np.ndarray:
        return self.classifier.predict(adjacency, operations, num_vertices) > 0.5

    def predict(self, adjacency, operations, num_vertices) -> np.ndarray:
        scores = self.regressor.predict(adjacency, operations, num_vertices)
        return np.where(self.kept(adjacency, operations, num_vertices), scores, np.nan)


def ridge_two_stage(
    adjacency, operations, num_vertices, labels, classifier_config=None, regressor_config=None, seed: int = 0
) -> RidgeTwoStage:
    """Signature of `predictor.gcn.two_stage.fit_two_stage`: a ridge classifier of "above the median",
    a ridge regressor on the modules above it; TooFewKeptError when fewer than two are above."""
    labels = np.asarray(labels, dtype=np.float64)
    above = labels > np.median(labels)
    if above.sum() < 2:
        raise TooFewKeptError("fewer than two modules above the threshold")
    classifier = ridge_fit(adjacency, operations, num_vertices, above.astype(np.float64))  # seed ignored:
    regressor = ridge_fit(adjacency[above], operations[above], num_vertices[above], labels[above])  # deterministic
    return RidgeTwoStage(classifier, regressor)


def diverging_fit(adjacency, operations, num_vertices, labels, config=None, seed: int = 0) -> RidgeModel:
    """A `fit` whose training always diverges: the expected error a worker process must pass on as one line."""
    raise TrainingDivergedError("training diverged (non-finite loss); lower the learning rate")


def dying_fit(adjacency, operations, num_vertices, labels, config=None, seed: int = 0) -> RidgeModel:
    """A `fit` that ends its process at once, as the out-of-memory killer would."""
    import os

    os._exit(9)


@dataclass
class NaNModel:
    """A trained model gone wrong: it scores some modules NaN."""

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        scores = np.linspace(0.8, 0.9, len(adjacency))
        scores[::7] = np.nan
        return scores


def two_stage_surrogate() -> TwoStageSurrogate:
    return TwoStageSurrogate(ridge_two_stage, ridge_fit, classifier_config=None, regressor_config=None)


def make_strategies() -> dict:
    """Every strategy with the ridge stand-in as its predictor (the settings the K = 0 replay was recorded with)."""
    surrogate = Surrogate(ridge_fit)
    return {
        "random": RandomSearch(),
        "params": ParameterRanking(),
        "evolution": RegularizedEvolution(population_size=20, tournament_size=5),
        "reinforce": Reinforce(),
        "pnas": ProgressiveSearch(surrogate, beam_width=4),
        "paper": PredictorGuidedSearch.one_shot(surrogate, initial_queries=30),
        "paper-two-stage": PredictorGuidedSearch.one_shot(two_stage_surrogate(), initial_queries=30),
        "predictor": PredictorGuidedSearch(surrogate, initial_queries=10),
        "predictor-ucb": PredictorGuidedSearch(
            Surrogate(ridge_fit, ensemble_size=3), initial_queries=10, exploration=1.0, name="predictor-ucb"
        ),
    }
