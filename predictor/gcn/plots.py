"""Figures of a training run: predicted vs true accuracy, and the training curve (files, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from predictor.data.atomic import atomic_output  # noqa: E402


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


def kendall_tau_by_size(
    results: dict[str, dict[int, list[dict]]], titles: dict[str, str], path: str | Path, force: bool = False
) -> Path:
    """Kendall tau (mean ± std over seeds) against the training-set size, one line per method."""
    path = Path(path)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for method, by_size in results.items():
        sizes = sorted(by_size)
        taus = [np.array([run["kendall_tau"] for run in by_size[size]]) for size in sizes]
        means, spreads = np.array([t.mean() for t in taus]), np.array([t.std() for t in taus])
        axis.errorbar(sizes, means, yerr=spreads, marker="o", capsize=3, label=titles.get(method, method))
    axis.set_xscale("log")
    axis.minorticks_off()
    axis.set_xticks(sorted({size for by_size in results.values() for size in by_size}))
    axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_xlabel("training modules N")
    axis.set_ylabel("Kendall tau on every other module")
    axis.grid(linestyle="--")
    axis.legend(fontsize=8)
    with atomic_output(path, force=force) as temporary:
        figure.savefig(temporary, format="png", bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path
