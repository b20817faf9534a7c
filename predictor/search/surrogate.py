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

DEFAULT_FIT = "predictor.training:fit"


class Model(Protocol):
    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray: ...


FitFunction = Callable[..., Model]


def import_object(path: str) -> Any:
    """`package.module:name` -> the object (imported at call time, so a missing library fails late and clearly)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class FittedEnsemble:
    members: tuple[Model, ...]

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray,
                batch_size: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation) over members; the deviation is 0 for a single member."""
        if len(adjacency) == 0:
            return np.zeros(0), np.zeros(0)
        predictions = np.stack([
            np.concatenate([np.asarray(member.predict(adjacency[i:i + batch_size], operations[i:i + batch_size],
                                                      num_vertices[i:i + batch_size]), dtype=np.float64).ravel()
                            for i in range(0, len(adjacency), batch_size)])
            for member in self.members
        ])
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
        kwargs = {} if self.config is None else {"config": self.config}
        seeds = rng.integers(0, 2**31 - 1, size=self.ensemble_size)
        return FittedEnsemble(tuple(self.fit(*arrays, seed=int(seed), **kwargs) for seed in seeds))
