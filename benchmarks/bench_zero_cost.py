"""Zero-cost signals on the real sample: each one's own Kendall tau, its cost, and whether it helps the predictor.

    python benchmarks/bench_zero_cost.py --cifar DIR [--sizes 100 172] [--training-sets 100 101 102]
        [--folds 3] [--cache runs/zero_cost.jsonl] [--json runs/zero_cost.json]

The cells scored are the union of the training sets (N modules drawn with numpy
default_rng(seed); the seeds of research_inner_cv.py, disjoint from the quality benchmark's).
Each cell gets synflow, grad_norm and jacob_cov (`predictor/child/zero_cost.py`: stem 16, one
fixed batch of 64 real CIFAR-10 training images, one torch thread), cached in --cache.

(a) each signal's Kendall tau and Spearman rho against the 108-epoch validation accuracy, over all
    scored cells, beside the trainable-parameter count (free, in the file);
(b) seconds per cell, and what scoring the whole space (423,624 cells) would cost on one core;
(c) the gain, by K-fold cross-validation inside each training set: the recommended GCN trains on
    K-1 folds and predicts the held-out one; the held-out ranking is then fused with a signal's
    (rank(GCN) + w * rank(signal), the signal's sign taken from the training folds) for w = 0.1,
    0.25, 0.5, 1; the table gives the paired change of held-out Kendall tau against the GCN alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from predictor import cli
from predictor.child.cifar import load_cifar10
from predictor.child.zero_cost import SIGNALS, ProbeBatch, cached_scores
from predictor.data.atomic import check_output, write_json
from predictor.data.dataset import NASBench
from predictor.data.labels import LabelSpec
from predictor.gcn.cross_validation import fold_indices
from predictor.gcn.training import TrainConfig, fit

SPACE = 423_624
WEIGHTS = (0.1, 0.25, 0.5, 1.0)
FREE = "params"  # the trainable-parameter count, beside the signals


def fused_ranks(base: np.ndarray, signal: np.ndarray, weight: float, sign: float) -> np.ndarray:
    """rank(base) + weight * rank(sign * signal), both ranks scaled to [0, 1]."""
    scale = max(len(base) - 1, 1)
    return stats.rankdata(base) / scale + weight * stats.rankdata(sign * signal) / scale


def inner_cv_gain(bench, labels, features: dict[str, np.ndarray], rows: np.ndarray, folds: int, seed: int) -> dict:
    """{signal: {weight: [held-out tau change per fold]}} and the GCN's own held-out taus."""
    config = TrainConfig.recommended().replace(device="cpu")
    gains: dict = {name: {w: [] for w in WEIGHTS} for name in features}
    alone = []
    for fold, held_out in enumerate(fold_indices(len(rows), folds, seed)):
        train, test = rows[np.setdiff1d(np.arange(len(rows)), held_out)], rows[held_out]
        model = fit(
            bench.adjacency[train],
            bench.operations[train],
            bench.num_vertices[train],
            labels[train],
            config,
            seed * 10 + fold,
        )
        predicted = model.predict(bench.adjacency[test], bench.operations[test], bench.num_vertices[test])
        base = stats.kendalltau(predicted, labels[test])[0]
        alone.append(base)
        for name, values in features.items():
            sign = np.sign(stats.kendalltau(values[train], labels[train])[0]) or 1.0
            for weight in WEIGHTS:
                fused = fused_ranks(predicted, values[test], weight, sign)
                gains[name][weight].append(stats.kendalltau(fused, labels[test])[0] - base)
    return {"gcn": alone, "gains": gains}


def mean_se(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():+.4f} ± {values.std(ddof=1) / np.sqrt(len(values)):.4f}"


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--cifar", default="data", help="folder holding cifar-10-batches-py")
    parser.add_argument(
        "--sizes", type=cli.integer(6, 5000), nargs="+", default=[100, 172], help="training-set sizes N"
    )
    parser.add_argument(
        "--training-sets", type=cli.seed, nargs="+", default=[100, 101, 102], help="seeds of the training sets"
    )
    parser.add_argument("--folds", type=cli.integer(2, 20), default=3, help="inner folds per training set")
    parser.add_argument("--cache", type=Path, default=Path("runs/zero_cost.jsonl"), help="zero-cost cache (JSON lines)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--force", action="store_true", help="overwrite --json")
    args = parser.parse_args(argv)
    if min(args.sizes) < 3 * args.folds:
        parser.error(f"--sizes must be at least 3 x --folds ({3 * args.folds})")
    if args.json:
        check_output(args.json, force=args.force)
    torch.set_num_threads(1)
    bench = NASBench(args.data)
    labels = LabelSpec().values(bench)
    sets = {
        (size, seed): np.sort(np.random.default_rng(seed).choice(len(bench), size, replace=False))
        for size in args.sizes
        for seed in args.training_sets
    }
    rows = np.unique(np.concatenate(list(sets.values())))
    batch = ProbeBatch.from_cifar(load_cifar10(args.cifar))
    records = cached_scores([bench.cell(int(r)) for r in rows], batch, args.cache, progress=True)
    features = {name: np.full(len(bench), np.nan) for name in SIGNALS}
    for row, record in zip(rows, records):
        for name in SIGNALS:
            features[name][row] = record[name]
    features[FREE] = bench.trainable_parameters.astype(float)

    print(f"(a) own rank correlation with the 108-epoch validation accuracy, {len(rows)} cells of the sample")
    own = {}
    for name, values in features.items():
        tau, rho = stats.kendalltau(values[rows], labels[rows])[0], stats.spearmanr(values[rows], labels[rows])[0]
        own[name] = {"kendall_tau": tau, "spearman": rho}
        print(f"    {name:10s} Kendall tau {tau:+.3f}  Spearman {rho:+.3f}")

    seconds = {name: float(np.mean([r[f"{name}_seconds"] for r in records])) for name in SIGNALS}
    per_cell = sum(seconds.values())
    print("(b) seconds per cell, one thread: " + ", ".join(f"{n} {s:.3f}" for n, s in seconds.items()))
    print(f"    all three {per_cell:.3f} s; the whole space: {per_cell * SPACE / 3600:.0f} core-hours")

    print(
        f"(c) inner {args.folds}-fold CV: held-out Kendall tau change when fused with a signal (mean ± s.e. over folds)"
    )
    gains = {}
    for size in args.sizes:
        runs = [
            inner_cv_gain(bench, labels, features, sets[size, seed], args.folds, seed) for seed in args.training_sets
        ]
        alone = [tau for run in runs for tau in run["gcn"]]
        print(f"    N={size}: GCN alone {np.mean(alone):.4f}")
        gains[str(size)] = {"gcn": alone}
        for name in features:
            changes = {w: [g for run in runs for g in run["gains"][name][w]] for w in WEIGHTS}
            gains[str(size)][name] = {str(w): c for w, c in changes.items()}
            print(f"      {name:10s} " + "  ".join(f"w={w}: {mean_se(c)}" for w, c in changes.items()))
    if args.json:
        write_json(
            {"cells": len(rows), "own": own, "seconds": seconds, "gains": gains, "batch": batch.name},
            args.json,
            force=args.force,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
