"""Predictor quality on the real sample: method x training size x metric, mean ± std over seeds.

    python benchmarks/bench_predictor_quality.py [--data data/nasbench.hdf5] [--seeds 5]
        [--sizes 100 172 424 860] [--methods paper scratch recommended random-forest mlp] [--engine auto|plain|fused]
        [--json results.json] [--plot docs/predictor_quality.png]
    python benchmarks/bench_predictor_quality.py --table published [--methods paper recommended]
        [--plot docs/predictor_published.png]

For each seed s, N modules are drawn at random from the file (numpy default_rng(s)); every
method trains on them and is evaluated on all the other modules of the file. Label: the
single-run 108-epoch final validation accuracy (repeat 0, blown-up runs replaced).
Metrics: Kendall tau, Spearman rho, MSE (percent^2), mean true accuracy of the predicted top
10, training seconds and their ratio to `scratch` (the recommended setting without its
pre-trained encoder) in the same run. The encoder's pre-training on the whole
space is made once and cached; its time is printed apart, never counted in a fit.

`--table published` gives the five columns that TNASP, PINAT and NN-Former publish for
NAS-Bench-101 (train on 100 / 172 / 424 / 424 / 4,236 modules; test on every other module,
or on 100 held-out ones in the third column), our methods beside the published rows: the
held-out 100 are drawn once (seed `TEST_100_SEED`) and no training set holds them; for each
seed s the training modules are drawn from the others with default_rng(s), and one fit of
N=424 answers both of its columns.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from predictor import cli
from predictor.data.atomic import check_output, write_json
from predictor.data.dataset import NASBench
from predictor.data.labels import LabelSpec
from predictor.gcn.baselines import fit_mlp, fit_random_forest
from predictor.gcn.evaluation import regression_metrics
from predictor.gcn.fused import ENGINES
from predictor.gcn.plots import kendall_tau_by_size, published_comparison
from predictor.gcn.pretraining import cached_encoder
from predictor.gcn.training import TrainConfig, fit

RECOMMENDED = TrainConfig.recommended().replace(device="cpu")
CONFIGS = {
    "paper": ("GCN, paper setting", TrainConfig.paper().replace(device="cpu")),
    "scratch": ("GCN, recommended, no pre-training", RECOMMENDED.replace(pretraining_epochs=0)),
    "recommended": ("GCN, recommended (pre-trained encoder)", RECOMMENDED),
}
BASELINES = {
    "random-forest": ("random forest (500 trees)", lambda a, o, v, y, seed: fit_random_forest(a, o, v, y, seed, 500)),
    "mlp": ("MLP (flat encoding)", fit_mlp),
}
TITLES = {name: title for name, (title, _) in {**CONFIGS, **BASELINES}.items()}


def train_method(method: str, train: tuple, seed: int, engine: str):
    """A fitted model of `method` on the training arrays and labels."""
    if method in CONFIGS:
        return fit(*train, CONFIGS[method][1], seed, engine=engine)
    return BASELINES[method][1](*train, seed)


COLUMNS = (
    ("kendall_tau", "Kendall tau", "{:.3f} ± {:.3f}"),
    ("spearman", "Spearman", "{:.3f} ± {:.3f}"),
    ("mse", "MSE (%^2)", "{:.2f} ± {:.2f}"),
    ("top10_mean_true", "top-10 mean true acc (%)", "{:.2f} ± {:.2f}"),
    ("train_seconds", "train s", "{:.1f} ± {:.1f}"),
)
BASELINE_METHOD = "scratch"

# Kendall tau published for NAS-Bench-101 (PINAT, AAAI 2023, Table 1), one column per
# (training modules, test set). Their labels: trained on one run's validation accuracy,
# scored against the mean test accuracy of three runs (ours: one run's validation
# accuracy for both, the harder target).
PUBLISHED_COLUMNS = ((100, "all"), (172, "all"), (424, "test-100"), (424, "all"), (4236, "all"))
PUBLISHED = {
    "NP (Wen et al.)": (0.391, 0.545, 0.710, 0.679, 0.769),
    "TNASP": (0.600, 0.669, 0.752, 0.705, 0.820),
    "GMAE-NAS": (0.666, 0.697, 0.788, 0.732, 0.775),
    "PINAT": (0.679, 0.715, 0.801, 0.772, 0.846),
}
TEST_100_SEED = 2023


def pretraining_seconds(methods: list[str]) -> dict[str, float]:
    """The encoders the methods start from, made now if not cached: {method: seconds it took once}."""
    seconds = {}
    for method in methods:
        if method in CONFIGS and CONFIGS[method][1].pretraining_epochs:
            seconds[method] = float(cached_encoder(CONFIGS[method][1], progress=True)["seconds"])
    return seconds


def run(bench: NASBench, labels: np.ndarray, methods: list[str], sizes: list[int], seeds: int, engine: str) -> dict:
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
                model = train_method(method, train, seed, engine)
                seconds = time.perf_counter() - started
                metrics = {**regression_metrics(model.predict(*evaluate), labels[rest]), "train_seconds": seconds}
                results[method][size].append(metrics)
                print(
                    f"  N={size:4d} seed {seed} {method:14s} tau {metrics['kendall_tau']:.4f}  "
                    f"mse {metrics['mse']:.3f}  (train {seconds:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def published_sets(num_modules: int, sizes: list[int], seeds: int) -> tuple[np.ndarray, dict]:
    """The held-out 100 (drawn once) and {(size, seed): training rows}, drawn from the other modules."""
    test_100 = np.sort(np.random.default_rng(TEST_100_SEED).choice(num_modules, 100, replace=False))
    pool = np.setdiff1d(np.arange(num_modules), test_100)
    rows = {
        (size, seed): np.sort(np.random.default_rng(seed).choice(pool, size, replace=False))
        for size in sizes
        for seed in range(seeds)
    }
    return test_100, rows


def run_published(bench: NASBench, labels: np.ndarray, methods: list[str], seeds: int, engine: str) -> dict:
    """{method: {"N/test": [Kendall tau per seed]}} for the five published columns."""
    sizes = sorted({n for n, _ in PUBLISHED_COLUMNS})
    test_100, training_rows = published_sets(len(bench), sizes, seeds)
    results: dict = {method: {f"{n}/{test}": [] for n, test in PUBLISHED_COLUMNS} for method in methods}
    for size in sizes:
        for seed in range(seeds):
            rows = training_rows[size, seed]
            train = bench.adjacency[rows], bench.operations[rows], bench.num_vertices[rows], labels[rows]
            test_sets = {"all": np.setdiff1d(np.arange(len(bench)), rows), "test-100": test_100}
            for method in methods:
                started = time.perf_counter()
                model = train_method(method, train, seed, engine)
                seconds = time.perf_counter() - started
                for test in (test for n, test in PUBLISHED_COLUMNS if n == size):
                    rest = test_sets[test]
                    predicted = model.predict(bench.adjacency[rest], bench.operations[rest], bench.num_vertices[rest])
                    tau = regression_metrics(predicted, labels[rest])["kendall_tau"]
                    results[method][f"{size}/{test}"].append(tau)
                    print(f"  N={size:4d} {test:8s} seed {seed} {method:12s} tau {tau:.4f}  (train {seconds:.1f} s)",
                          file=sys.stderr, flush=True)  # fmt: skip
    return results


def published_table(results: dict, seeds: int, num_modules: int) -> str:
    header = " | ".join(f"{n} ({100 * n / 423_624:.2f}%), {test}" for n, test in PUBLISHED_COLUMNS)
    lines = [f"| method | labels | {header} |", "|" + "---|" * (len(PUBLISHED_COLUMNS) + 2)]
    for name, taus in PUBLISHED.items():
        lines.append(f"| {name} (published) | theirs | {' | '.join(f'{t:.3f}' for t in taus)} |")
    for method, by_column in results.items():
        cells = [
            f"{np.mean(by_column[f'{n}/{t}']):.3f} ± {np.std(by_column[f'{n}/{t}']):.3f}" for n, t in PUBLISHED_COLUMNS
        ]
        lines.append(f"| {TITLES[method]} | ours | {' | '.join(cells)} |")
    return "\n".join(lines) + (
        f"\n\nKendall tau; ours: mean ± std over {seeds} seeds, trained and scored on one run's 108-epoch validation"
        f" accuracy; 'all' = every other module of the {num_modules:,}-module file, 'test-100' = 100 modules"
        f" held out of every training set (seed {TEST_100_SEED}). Published: PINAT (AAAI 2023) Table 1, trained on"
        " one run's validation accuracy, scored against the three-run mean test accuracy."
    )


def table(results: dict, sizes: list[int], seeds: int) -> str:
    lines = [
        f"| method | N | {' | '.join(title for _, title, _ in COLUMNS)} | train time / {BASELINE_METHOD} |",
        "|" + "---|" * (len(COLUMNS) + 3),
    ]
    for method, by_size in results.items():
        for size in sizes:
            runs = by_size[size]
            cells = []
            for key, _, pattern in COLUMNS:
                values = np.array([r[key] for r in runs]) * (100 if key.startswith("top") else 1)
                cells.append(pattern.format(values.mean(), values.std()))
            ratio = "-"
            if BASELINE_METHOD in results:
                baseline = np.mean([r["train_seconds"] for r in results[BASELINE_METHOD][size]])
                ratio = f"{np.mean([r['train_seconds'] for r in runs]) / baseline:.2f}"
            lines.append(f"| {TITLES[method]} | {size} | {' | '.join(cells)} | {ratio} |")
    return (
        "\n".join(lines)
        + f"\n\nmean ± std over {seeds} seeds; evaluated on every module of the file not used for training."
    )


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--seeds", type=cli.integer(1, 100), default=5, help="training sets per size (seeds 0..k-1)")
    parser.add_argument(
        "--sizes", type=cli.integer(10, 10000), nargs="+", default=[100, 172, 424, 860], help="training-set sizes N"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(TITLES),
        help="what to train (default: paper scratch recommended random-forest mlp; with --table published:"
        " paper recommended)",
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default="auto", help="what trains the GCNs (auto: fused when it can)"
    )
    parser.add_argument(
        "--table",
        choices=["sizes", "published"],
        default="sizes",
        help="sizes: method x --sizes, every metric; published: the five columns of the published table (default: sizes)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's metrics here")
    parser.add_argument("--plot", type=Path, help="also draw Kendall tau against N here (PNG)")
    parser.add_argument("--force", action="store_true", help="overwrite existing --json / --plot files")
    args = parser.parse_args(argv)
    if args.methods is None:
        args.methods = ["paper", "recommended"] if args.table == "published" else list(TITLES)
    for path in (args.json, args.plot):
        if path is not None:
            check_output(path, force=args.force)  # refused before the training, not after it
    warnings.filterwarnings("ignore", category=UserWarning)  # sklearn convergence chatter

    bench = NASBench(args.data)
    labels = LabelSpec().values(bench)
    print(f"{args.data}: {len(bench):,} modules; label: {LabelSpec().describe()}", file=sys.stderr)
    for method, seconds in pretraining_seconds(args.methods).items():
        print(f"{method}: encoder pre-trained on the whole space once, cached: {seconds:.1f} s", file=sys.stderr)
    if args.table == "published":
        results = run_published(bench, labels, args.methods, args.seeds, args.engine)
        print(published_table(results, args.seeds, len(bench)))
        if args.json:
            write_json(results, args.json, force=args.force)
        if args.plot:
            published_comparison(results, TITLES, PUBLISHED, PUBLISHED_COLUMNS, args.plot, args.force)
        return 0
    results = run(bench, labels, args.methods, args.sizes, args.seeds, args.engine)
    print(table(results, args.sizes, args.seeds))
    if args.json:
        write_json({m: {str(n): r for n, r in s.items()} for m, s in results.items()}, args.json, force=args.force)
    if args.plot:
        kendall_tau_by_size(results, TITLES, args.plot, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
