"""The comparison figure: mean best-so-far accuracy and regret against queries, with 95% bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictor.search.runner import ComparisonResult
from predictor.search.statistics import Curves


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and a normal 95% confidence band of the mean, per query count."""
    mean = values.mean(axis=0)
    half = 1.96 * values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
    return mean, mean - half, mean + half


def plot_comparison(
    comparison: ComparisonResult, curves_by_strategy: dict[str, list[Curves]], path: str | Path
) -> Path:
    """The figure of a comparison, from each strategy's per-trial curves (`report.curves_of`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = comparison.benchmark
    queries = np.arange(1, comparison.budget + 1)
    figure, (accuracy_axis, regret_axis) = plt.subplots(1, 2, figsize=(13, 5))
    for name in comparison.strategies:
        curves = curves_by_strategy[name]
        mean, low, high = _band(np.stack([c.incumbent_validation for c in curves]) * 100)
        (line,) = accuracy_axis.plot(queries, mean, label=name)
        accuracy_axis.fill_between(queries, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        mean, low, high = _band(np.stack([c.regret for c in curves]))
        regret_axis.plot(queries, np.maximum(mean, 1e-3), color=line.get_color(), label=name)
        regret_axis.fill_between(
            queries, np.maximum(low, 1e-3), np.maximum(high, 1e-3), color=line.get_color(), alpha=0.2, linewidth=0
        )
    accuracy_axis.axhline(b.best_validation * 100, color="black", linestyle=":", linewidth=1, label="pool best")
    accuracy_axis.axhline(b.target_threshold * 100, color="grey", linestyle="--", linewidth=1, label="top 0.1%")
    low_limit = np.percentile(b.mean_validation, 50) * 100
    accuracy_axis.set(
        xscale="log",
        xlabel="queries (trained networks)",
        ylim=(low_limit, b.best_validation * 100 + 0.1),
        ylabel="validation accuracy of the incumbent (%, mean over trials)",
        title=f"best so far, {comparison.trials} trials, 95% bands",
    )
    regret_axis.set(
        xscale="log",
        yscale="log",
        xlabel="queries (trained networks)",
        ylabel="regret (percentage points, mean over trials; 0 drawn at 0.001)",
        title="regret to the pool's best",
    )
    accuracy_axis.legend(fontsize=8, loc="lower right")
    regret_axis.legend(fontsize=8, loc="lower left")
    for axis in (accuracy_axis, regret_axis):
        axis.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"{len(b):,}-module pool ({Path(b.source).name})")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, format="png")
    plt.close(figure)
    return path
