"""Predictor quality on the real sample: method x training size x metric, mean ± std over seeds.

    python benchmarks/bench_predictor_quality.py [--data data/nasbench.hdf5] [--seeds 5] [--sizes 172 334 860]
        [--methods paper recommended paper-plain recommended-plain random-forest mlp] [--json results.json]

For each seed s, N modules are drawn at random from the file (numpy default_rng(s)); every
method trains on them and is evaluated on all the other modules of the file. Label: the
single-run 108-epoch final validation accuracy (repeat 0, blown-up runs replaced).
Metrics: Kendall tau, Spearman rho, MSE (percent^2), mean true accuracy of the predicted top 10.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictor.data.atomic import write_json  # noqa: E402
from predictor.data.dataset import NASBench  # noqa: E402
from predictor.data.labels import LabelSpec  # noqa: E402
from predictor.gcn.baselines import fit_mlp, fit_random_forest  # noqa: E402
from predictor.gcn.evaluation import regression_metrics  # noqa: E402
from predictor.gcn.training import TrainConfig, fit  # noqa: E402

PAPER, RECOMMENDED = TrainConfig.paper().replace(device="cpu"), TrainConfig.recommended().replace(device="cpu")
METHODS = {
    "paper": lambda a, o, v, y, seed: fit(a, o, v, y, PAPER, seed, engine="fused"),
    "recommended": lambda a, o, v, y, seed: fit(a, o, v, y, RECOMMENDED, seed, engine="fused"),
    "paper-plain": lambda a, o, v, y, seed: fit(a, o, v, y, PAPER, seed, engine="plain"),
    "recommended-plain": lambda a, o, v, y, seed: fit(a, o, v, y, RECOMMENDED, seed, engine="plain"),
    "random-forest": lambda a, o, v, y, seed: fit_random_forest(a, o, v, y, seed, trees=500),
    "mlp": lambda a, o, v, y, seed: fit_mlp(a, o, v, y, seed),
}
LABELS = {
    "paper": "GCN, paper setting",
    "recommended": "GCN, recommended",
    "paper-plain": "GCN, paper setting, plain engine",
    "recommended-plain": "GCN, recommended, plain engine",
    "random-forest": "random forest (500 trees)",
    "mlp": "MLP (flat encoding)",
}
COLUMNS = (
    ("kendall_tau", "Kendall tau", "{:.3f} ± {:.3f}"),
    ("spearman", "Spearman", "{:.3f} ± {:.3f}"),
    ("mse", "MSE (%^2)", "{:.2f} ± {:.2f}"),
    ("top10_mean_true", "top-10 mean true acc (%)", "{:.2f} ± {:.2f}"),
)


def run(bench: NASBench, labels: np.ndarray, methods: list[str], sizes: list[int], seeds: int) -> dict:
    results: dict = {method: {size: [] for size in sizes} for method in methods}
    everything = np.arange(len(bench))
    for size in sizes:
        for seed in range(seeds):
            rows = np.sort(np.random.default_rng(seed).choice(len(bench), size, replace=False))
            rest = np.setdiff1d(everything, rows)
            train = bench.adjacency[rows], bench.operations[rows], bench.num_vertices[rows], labels[rows]
            evaluate = bench.adjacency[rest], bench.operations[rest], bench.num_vertices[rest]
            for method in methods:
                started = time.perf_counter()
                model = METHODS[method](*train, seed)
                metrics = regression_metrics(model.predict(*evaluate), labels[rest])
                metrics["seconds"] = time.perf_counter() - started
                results[method][size].append(metrics)
                print(
                    f"  N={size:4d} seed {seed} {method:14s} tau {metrics['kendall_tau']:.4f}  "
                    f"mse {metrics['mse']:.3f}  ({metrics['seconds']:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def table(results: dict, sizes: list[int], seeds: int) -> str:
    lines = [
        f"| method | N | {' | '.join(title for _, title, _ in COLUMNS)} | train+eval s |",
        "|" + "---|" * (len(COLUMNS) + 3),
    ]
    for method, by_size in results.items():
        for size in sizes:
            runs = by_size[size]
            cells = []
            for key, _, pattern in COLUMNS:
                values = np.array([r[key] for r in runs]) * (100 if key.startswith("top") else 1)
                cells.append(pattern.format(values.mean(), values.std()))
            seconds = np.mean([r["seconds"] for r in runs])
            lines.append(f"| {LABELS[method]} | {size} | {' | '.join(cells)} | {seconds:.1f} |")
    return (
        "\n".join(lines)
        + f"\n\nmean ± std over {seeds} seeds; evaluated on every module of the file not used for training."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--seeds", type=int, default=5, help="training sets per size (seeds 0 .. k-1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[172, 334, 860], help="training-set sizes N")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=sorted(METHODS),
        default=["paper", "recommended", "random-forest", "mlp"],
        help="what to train (the GCN's fused engine, unless -plain)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's metrics here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)  # sklearn convergence chatter

    bench = NASBench(args.data)
    labels = LabelSpec().values(bench)
    print(f"{args.data}: {len(bench):,} modules; label: {LabelSpec().describe()}", file=sys.stderr)
    results = run(bench, labels, args.methods, args.sizes, args.seeds)
    print(table(results, args.sizes, args.seeds))
    if args.json:
        write_json({m: {str(n): r for n, r in s.items()} for m, s in results.items()}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
