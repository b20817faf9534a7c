"""Human-readable lines for metrics."""

from __future__ import annotations

REGRESSION_LINE = (
    ("mse", "MSE {:.3f} %^2"),
    ("kendall_tau", "Kendall tau {:.4f}"),
    ("spearman", "Spearman {:.4f}"),
)
CLASSIFICATION_LINE = (
    ("precision", "precision {:.3f}"),
    ("recall", "recall {:.3f}"),
    ("f1", "F1 {:.3f}"),
    ("auc", "AUC {:.4f}"),
)


def format_metrics(metrics: dict) -> str:
    """One or two lines: the headline figures, then top-k picks (true accuracy of the predicted best)."""
    pattern = CLASSIFICATION_LINE if "auc" in metrics else REGRESSION_LINE
    parts = [f"n={metrics['n']:,}"] + [text.format(metrics[key]) for key, text in pattern if key in metrics]
    lines = ["  ".join(parts)]
    tops = sorted(
        {int(key[3:].split("_")[0]) for key in metrics if key.startswith("top") and key.endswith("_mean_true")}
    )
    if tops:
        picks = [
            f"top-{k}: mean {100 * metrics[f'top{k}_mean_true']:.2f}%, best {100 * metrics[f'top{k}_best_true']:.2f}%"
            for k in tops
        ]
        best = f"  (best in set {100 * metrics['best_true']:.2f}%)" if "best_true" in metrics else ""
        lines.append("  ".join(picks) + best)
    return "\n".join(lines)


def format_summary(summary: dict[str, dict[str, float]], keys: list[str] | None = None) -> str:
    """`key mean ± std` for each metric of a cross-validation or multi-seed summary; accuracies in %,
    as `format_metrics` shows them."""
    keys = keys or [k for k in summary if k != "n"]
    return "\n".join(_summary_line(key, summary[key]["mean"], summary[key]["std"]) for key in keys if key in summary)


def _summary_line(key: str, mean: float, std: float) -> str:
    if key.endswith("_true"):  # top10_mean_true, best_true: the true accuracy of picked modules
        return f"  {key:18s} {100 * mean:.2f}% ± {100 * std:.2f}%"
    if key == "mse":
        return f"  {key:18s} {mean:.3f} ± {std:.3f} %^2"
    return f"  {key:18s} {mean:.4f} ± {std:.4f}"
