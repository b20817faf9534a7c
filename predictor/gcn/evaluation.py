"""Quality figures of a predictor: how well it ranks and fits accuracies, and how good its top picks are."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import kendalltau, pearsonr, spearmanr
from sklearn.metrics import roc_auc_score

TOP_K = (10, 100)


def regression_metrics(predicted: np.ndarray, true: np.ndarray, top_k: Sequence[int] = TOP_K) -> dict[str, float]:
    """MSE in percent^2 (accuracies x 100, as the paper reports), Kendall tau, Spearman rho, Pearson r,
    and for each k the mean and best true accuracy of the k modules predicted best (k < n only)."""
    predicted, true = np.asarray(predicted, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if predicted.shape != true.shape or predicted.ndim != 1:
        raise ValueError(f"predicted {predicted.shape} and true {true.shape} must be equal 1-D shapes")
    n = len(true)
    metrics: dict[str, float] = {
        "n": n,
        "mse": float(np.mean((100 * predicted - 100 * true) ** 2)) if n else float("nan"),
    }
    constant = n < 2 or np.ptp(predicted) == 0 or np.ptp(true) == 0
    metrics["kendall_tau"] = float("nan") if constant else float(kendalltau(predicted, true).statistic)
    metrics["spearman"] = float("nan") if constant else float(spearmanr(predicted, true).statistic)
    metrics["pearson"] = float("nan") if constant else float(pearsonr(predicted, true).statistic)
    order = np.argsort(-predicted, kind="stable")
    for k in top_k:
        if k < n:
            picked = true[order[:k]]
            metrics[f"top{k}_mean_true"] = float(picked.mean())
            metrics[f"top{k}_best_true"] = float(picked.max())
    if n:
        metrics["best_true"] = float(true.max())
    return metrics


def classification_metrics(probability: np.ndarray, above: np.ndarray, cutoff: float = 0.5) -> dict[str, float]:
    """Precision, recall, F1 and accuracy at `cutoff`, and ROC AUC (threshold-free)."""
    probability, above = np.asarray(probability, dtype=np.float64), np.asarray(above, dtype=bool)
    chosen = probability > cutoff
    true_positive = int(np.sum(chosen & above))
    precision = true_positive / max(int(chosen.sum()), 1)
    recall = true_positive / max(int(above.sum()), 1)
    both_classes = 0 < above.sum() < len(above)
    return {
        "n": len(above),
        "positives": int(above.sum()),
        "predicted_positives": int(chosen.sum()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0,
        "accuracy": float(np.mean(chosen == above)) if len(above) else float("nan"),
        "auc": float(roc_auc_score(above, probability)) if both_classes else float("nan"),
    }


def summarize(runs: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of every numeric metric over runs (folds, seeds)."""
    keys = [k for k in runs[0] if all(isinstance(r.get(k), (int, float)) for r in runs)] if runs else []
    summary = {}
    for key in keys:
        values = np.array([r[key] for r in runs], dtype=np.float64)
        summary[key] = {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values)) if len(values) > 1 else 0.0}
    return summary
