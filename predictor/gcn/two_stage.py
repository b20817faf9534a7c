"""The paper's two-stage predictor: a classifier filters out poor modules, a regressor ranks the rest.

The regressor is trained only on the training modules the filter keeps, so its whole
capacity goes to telling good modules apart (Wen et al. report MSE 0.66 on modules above 91%).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from predictor.common.errors import TooFewKeptError
from predictor.gcn.config import TrainConfig
from predictor.gcn.fitted import Predictor
from predictor.gcn.training import fit

MIN_KEPT = 2


KEEP_PROBABILITY = 0.5  # classifier probability above which a module is kept


@dataclass
class TwoStagePredictor:
    classifier: Predictor
    regressor: Predictor

    def keep(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        """(m,) bool: modules that pass the filter."""
        return self.classifier.predict(adjacency, operations, num_vertices) > KEEP_PROBABILITY

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        """(m,) predicted accuracy of kept modules; NaN for filtered-out ones."""
        kept = self.keep(adjacency, operations, num_vertices)
        scores = np.full(len(kept), np.nan)
        if kept.any():
            scores[kept] = self.regressor.predict(adjacency[kept], operations[kept], num_vertices[kept])
        return scores

    def rank(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        """Indices, best first: kept modules by predicted accuracy, then the filtered-out ones."""
        scores = self.predict(adjacency, operations, num_vertices)
        return np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")

    def save(self, directory: str | Path) -> tuple[Path, Path]:
        directory = Path(directory)
        return self.classifier.save(directory / "classifier.pt"), self.regressor.save(directory / "regressor.pt")

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> TwoStagePredictor:
        directory = Path(directory)
        return cls(
            Predictor.load(directory / "classifier.pt", device), Predictor.load(directory / "regressor.pt", device)
        )


def fit_two_stage(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    classifier_config: TrainConfig,
    regressor_config: TrainConfig,
    seed: int = 0,
    *,
    engine: str = "auto",
    progress: bool = False,
) -> TwoStagePredictor:
    """Fit the classifier on every training module, then the regressor on those it keeps."""
    classifier = fit(
        adjacency,
        operations,
        num_vertices,
        labels,
        classifier_config.replace(task="classification"),
        seed,
        engine=engine,
        progress=progress,
    )
    kept = classifier.predict(adjacency, operations, num_vertices) > KEEP_PROBABILITY
    if kept.sum() < MIN_KEPT:
        raise TooFewKeptError(
            f"the classifier keeps {int(kept.sum())} of {len(kept)} training modules (threshold "
            f"{classifier.threshold:.4f}); lower the threshold or use more training modules"
        )
    regressor = fit(
        adjacency[kept],
        operations[kept],
        num_vertices[kept],
        labels[kept],
        regressor_config.replace(task="regression"),
        seed,
        engine=engine,
        progress=progress,
    )
    regressor.info["trained_on_kept"] = int(kept.sum())
    return TwoStagePredictor(classifier, regressor)
