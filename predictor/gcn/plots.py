"""Figures of a training run: the predictor's score against true accuracy, the training curve (files, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from predictor.data.atomic import atomic_output  # noqa: E402

ZOOM_FROM = 90  # % true accuracy where the zoomed panel starts


def scatter_plot(predicted: np.ndarray, true: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Write `scatter_figure` to `path`."""
    path = Path(path)
    figure = scatter_figure(predicted, true, title)
    figure.savefig(path, bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path


def scatter_figure(predicted: np.ndarray, true: np.ndarray, title: str = "") -> plt.Figure:
    """Two panels like the paper's figure: every module, and a zoom on the modules from 90% true accuracy.

    The vertical axis is the predictor's score, in accuracy units but for ranking: a ranking loss
    or a label floor puts it above any real accuracy, so the zoom spans the scores it holds.
    """
    predicted, true = 100 * np.asarray(predicted), 100 * np.asarray(true)
    figure, axes = plt.subplots(1, 2, figsize=(12, 6))
    good = true >= ZOOM_FROM
    for axis, zoom in zip(axes, (False, True)):
        shown = good if zoom and good.any() else np.ones(len(true), bool)
        axis.scatter(true[shown], predicted[shown], s=1, alpha=0.5)
        axis.grid(linestyle="--")
        axis.set_xlabel("true accuracy (%)")
        axis.set_ylabel("predictor score (accuracy units, %; for ranking)")
        if not shown.any():
            continue
        x_range, y_range = _padded(true[shown]), _padded(predicted[shown])
        diagonal = [max(x_range[0], y_range[0]), min(x_range[1], y_range[1])]
        axis.plot(diagonal, diagonal, color="grey", linewidth=0.8)
        if zoom:
            axis.set_xlim(*x_range)
            axis.set_ylim(*y_range)
    axes[1].set_title(f"true accuracy from {ZOOM_FROM}%")
    figure.suptitle(title)
    return figure


def _padded(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    margin = 0.02 * (high - low) or 0.5
    return low - margin, high + margin


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


def published_comparison(
    results: dict[str, dict[str, list[float]]],
    titles: dict[str, str],
    published: dict[str, tuple[float, ...]],
    columns: tuple[tuple[int, str], ...],
    path: str | Path,
    force: bool = False,
) -> Path:
    """Kendall tau per published column: the published rows as open markers, ours (mean ± std) filled."""
    path = Path(path)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    positions = np.arange(len(columns))
    for name, taus in published.items():
        axis.plot(positions, taus, marker="o", fillstyle="none", linestyle=":", label=f"{name} (published)")
    for method, by_column in results.items():
        taus = [np.array(by_column[f"{n}/{test}"]) for n, test in columns]
        axis.errorbar(positions, [t.mean() for t in taus], yerr=[t.std() for t in taus], marker="s", capsize=3,
                      linewidth=2, label=f"{titles.get(method, method)} (ours)")  # fmt: skip
    axis.set_xticks(positions, [f"N={n}\n{test}" for n, test in columns])
    axis.set_xlabel("training modules, test set (all: every other module)")
    axis.set_ylabel("Kendall tau")
    axis.grid(linestyle="--")
    axis.legend(fontsize=7)
    with atomic_output(path, force=force) as temporary:
        figure.savefig(temporary, format="png", bbox_inches="tight", dpi=100)
    plt.close(figure)
    return path
