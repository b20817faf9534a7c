"""Non-graph baselines on the flattened encoding (upper-triangular adjacency + one-hot ops): how much the GCN adds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.neural_network import MLPRegressor

from predictor.gcn.config import PAPER_LABEL_MEAN, PAPER_LABEL_STD
from predictor.gcn.features import flat_encoding


@dataclass
class FlatModel:
    """A scikit-learn regressor on `flat_encoding`, predicting accuracy like `Predictor.predict`."""

    estimator: object

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        scaled = self.estimator.predict(flat_encoding(adjacency, operations, num_vertices))
        return np.asarray(scaled, dtype=np.float64) * PAPER_LABEL_STD + PAPER_LABEL_MEAN


def _scaled(labels: np.ndarray) -> np.ndarray:
    return (np.asarray(labels, dtype=np.float64) - PAPER_LABEL_MEAN) / PAPER_LABEL_STD


def fit_random_forest(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    trees: int = 500,
) -> FlatModel:
    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(flat_encoding(adjacency, operations, num_vertices), _scaled(labels))
    return FlatModel(forest)


def fit_mlp(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    hidden: tuple[int, ...] = (128, 128),
    epochs: int = 500,
) -> FlatModel:
    mlp = MLPRegressor(
        hidden_layer_sizes=hidden,
        alpha=1e-3,
        learning_rate_init=1e-3,
        batch_size=10,
        max_iter=epochs,
        random_state=seed,
        n_iter_no_change=epochs,
        tol=0.0,
    )
    mlp.fit(flat_encoding(adjacency, operations, num_vertices), _scaled(labels))
    return FlatModel(mlp)
