"""The halfmoon comparison as a table, a JSON file and a figure of accuracy over rollouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictor.halfmoon.search import LockstepResult

SMOOTHING = 100  # rollouts in the moving average of the plotted accuracy


def method_summary(result: LockstepResult) -> dict:
    """Mean, spread and per-seed figures of one method's searches."""
    seeds = [trace.summary() for trace in result.traces]
    test = np.array([s["best_test_accuracy"] for s in seeds])
    late = np.array([s["mean_validation_accuracy_late"] for s in seeds])
    late_test = np.array([s["mean_test_accuracy_late"] for s in seeds])
    return {
        "method": result.traces[0].method,
        "seeds": len(seeds),
        "rollouts": seeds[0]["rollouts"],
        "late_rollouts": seeds[0]["late_rollouts"],
        "best_test_accuracy_mean": float(test.mean()),
        "best_test_accuracy_std": float(test.std(ddof=1)) if len(test) > 1 else 0.0,
        "best_test_accuracy_min": float(test.min()),
        "best_test_accuracy_max": float(test.max()),
        "mean_validation_accuracy_late": float(late.mean()),
        "mean_validation_accuracy_late_std": float(late.std(ddof=1)) if len(late) > 1 else 0.0,
        "mean_test_accuracy_late": float(late_test.mean()),
        "mean_test_accuracy_late_std": float(late_test.std(ddof=1)) if len(late_test) > 1 else 0.0,
        "children_trained": result.children_trained,
        "seconds": result.seconds,
        "per_seed": seeds,
    }


def table(summaries: list[dict]) -> str:
    """A Markdown table: one row per method."""
    late = ", ".join(sorted({f"last {s['late_rollouts']:,} rollouts" for s in summaries}))
    lines = [
        f"| method | seeds | rollouts | test acc. of best (mean ± sd, min-max) | val. acc., {late} | "
        f"test acc., {late} | children trained | wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['method']} | {s['seeds']} | {s['rollouts']:,} | {s['best_test_accuracy_mean']:.3f} ± "
            f"{s['best_test_accuracy_std']:.3f} ({s['best_test_accuracy_min']:.3f}-{s['best_test_accuracy_max']:.3f}) | "
            f"{s['mean_validation_accuracy_late']:.3f} ± {s['mean_validation_accuracy_late_std']:.3f} | "
            f"{s['mean_test_accuracy_late']:.3f} ± {s['mean_test_accuracy_late_std']:.3f} | "
            f"{s['children_trained']:,} | {s['seconds']:.0f} s |"
        )
    return "\n".join(lines)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to `window` values (shorter at the start)."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def plot(results: list[LockstepResult], path: str | Path) -> Path:
    """The figure as PNG at `path` (a temporary file of `atomic_outputs`, whatever its name). Left: per-rollout validation accuracy (moving average), mean over seeds with the min-max band;
    right: the best validation accuracy so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rolling_axis, best_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for result in results:
        accuracies = np.array([trace.validation for trace in result.traces]) * 100
        rollouts = np.arange(1, accuracies.shape[1] + 1)
        smoothed = np.array([moving_average(row, SMOOTHING) for row in accuracies])
        label = f"{result.traces[0].method} ({len(result.traces)} seeds)"
        (line,) = rolling_axis.plot(rollouts, smoothed.mean(axis=0), label=label)
        rolling_axis.fill_between(
            rollouts, smoothed.min(axis=0), smoothed.max(axis=0), color=line.get_color(), alpha=0.2, linewidth=0
        )
        best = np.maximum.accumulate(accuracies, axis=1)
        best_axis.plot(rollouts, best.mean(axis=0), color=line.get_color(), label=label)
        best_axis.fill_between(
            rollouts, best.min(axis=0), best.max(axis=0), color=line.get_color(), alpha=0.2, linewidth=0
        )
    rolling_axis.set(
        xlabel="rollout", ylabel=f"validation accuracy (%), mean of last {SMOOTHING}", title="children sampled"
    )
    best_axis.set(xlabel="rollout", ylabel="best validation accuracy so far (%)", title="best child so far")
    best_axis.set_xscale("log")
    for axis in (rolling_axis, best_axis):
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.suptitle("Halfmoon NAS: REINFORCE controller vs random search (band: min-max over seeds)")
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)
    return Path(path)
