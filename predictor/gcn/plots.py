"""Figures of a training run: predicted vs true accuracy, and the training curve (files, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def scatter_plot(predicted: np.ndarray, true: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Two panels like the paper's figure: every module, and a zoom on accuracies from 90%."""
    path = Path(path)
    predicted, true = 100 * np.asarray(predicted), 100 * np.asarray(true)
    figure, axes = plt.subplots(1, 2, figsize=(12, 6))
    for axis, zoom in zip(axes, (False, True)):
        axis.scatter(true, predicted, s=1, alpha=0.5)
        axis.grid(linestyle="--")
        axis.set_xlabel("true accuracy (%)")
        axis.set_ylabel("predicted accuracy (%)")
        low, high = (90, 95) if zoom else (min(true.min(), predicted.min()), max(true.max(), predicted.max()))
        axis.plot([low, high], [low, high], color="grey", linewidth=0.8)
        if zoom:
            axis.set_xlim(low, high)
            axis.set_ylim(low, high)
    figure.suptitle(title)
    figure.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path


def training_curve(history: list[float], path: str | Path, title: str = "") -> Path:
    """Mean training loss per epoch (log scale)."""
    path = Path(path)
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(np.arange(1, len(history) + 1), history)
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss")
    if history and min(history) > 0:
        axis.set_yscale("log")
    axis.grid(linestyle="--")
    axis.set_title(title)
    figure.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path
