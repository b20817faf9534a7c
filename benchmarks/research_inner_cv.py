"""Choose predictor settings by K-fold cross-validation INSIDE random training sets (never the evaluation modules).

    python benchmarks/research_inner_cv.py --variants 'recommended=' 'scratch={"pretraining_epochs": 0}' \
        'layers-4={"layers": 4}' [--size 172] [--training-sets 100 101 102 103] [--folds 3]

Each variant is TrainConfig.recommended() with the JSON's changes. For each training set (N modules drawn with numpy default_rng(seed),
seeds disjoint from the quality benchmark's 0..4), the variant trains on K-1 folds and is scored
(Kendall tau) on the held-out fold; every variant sees the same folds, so differences are paired.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from predictor import cli
from predictor.data.dataset import NASBench
from predictor.data.labels import LabelSpec
from predictor.gcn.cross_validation import fold_indices
from predictor.gcn.evaluation import regression_metrics
from predictor.gcn.training import TrainConfig, fit


def fold_taus(bench: NASBench, labels: np.ndarray, changes: dict, size: int, sets: list[int], folds: int):
    """Held-out Kendall tau of every (training set, fold), and the mean training seconds."""
    config = TrainConfig.recommended().replace(device="cpu", **changes)
    taus, seconds = [], []
    for training_set in sets:
        rows = np.sort(np.random.default_rng(training_set).choice(len(bench), size, replace=False))
        for fold, held_out in enumerate(fold_indices(size, folds, training_set)):
            train, test = rows[np.setdiff1d(np.arange(size), held_out)], rows[held_out]
            started = time.perf_counter()
            model = fit(
                bench.adjacency[train],
                bench.operations[train],
                bench.num_vertices[train],
                labels[train],
                config,
                training_set * 10 + fold,
            )
            seconds.append(time.perf_counter() - started)
            predicted = model.predict(bench.adjacency[test], bench.operations[test], bench.num_vertices[test])
            taus.append(regression_metrics(predicted, labels[test])["kendall_tau"])
    return np.array(taus), float(np.mean(seconds))


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--variants", nargs="+", required=True, help="NAME=JSON changes to the recommended setting")
    parser.add_argument("--size", type=cli.integer(6, 10000), default=172, help="training-set size (>= 3 x folds)")
    parser.add_argument(
        "--training-sets",
        type=cli.integer(0, cli.MAX_SEED),
        nargs="+",
        default=[100, 101, 102, 103],
        help="seeds of the training sets",
    )
    parser.add_argument("--folds", type=cli.integer(2, 20), default=3, help="folds per training set (>= 2)")
    args = parser.parse_args(argv)
    if args.size < 3 * args.folds:
        parser.error("--size must be at least 3 x --folds")
    torch.set_num_threads(1)
    bench = NASBench(args.data)
    labels = LabelSpec().values(bench)
    baseline = None
    for variant in args.variants:
        name, _, text = variant.partition("=")
        try:
            changes = json.loads(text or "{}")
        except json.JSONDecodeError as error:
            parser.error(f"variant {name}: {error}")
        taus, seconds = fold_taus(bench, labels, changes, args.size, args.training_sets, args.folds)
        baseline = taus if baseline is None else baseline
        paired = taus - baseline
        print(
            f"{name:20s} inner-CV tau {taus.mean():.4f} ± {taus.std() / np.sqrt(len(taus)):.4f}  "
            f"vs first {paired.mean():+.4f} ± {paired.std() / np.sqrt(len(paired)):.4f}  fit {seconds:.1f} s  "
            f"per fold {np.round(taus, 4).tolist()}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
