"""Does our child training rank cells as NAS-Bench-101 recorded them? Train real cells on real CIFAR-10.

Picks M cells of the real sample spread over its range of recorded 108-epoch validation
accuracy (M equal-count strata by rank, one cell drawn from each with a fixed seed; the
lowest stratum gives its worst cell and the highest its best; runs that blew up, below 20%,
are set aside as the benchmark's noise), trains each on CIFAR-10 and prints one table row per
cell (our validation and test accuracy, the benchmark's at the matching budget and at 108
epochs, time, images/s), Kendall tau and Spearman rho against the benchmark with a bootstrap
95% interval, and how the cells the benchmark puts below 80% rank among ours.

Two settings (any of their sizes can be overridden with the flags):
  cpu  the reduced protocol (train_child --protocol cpu: stem 16, batch 64, 1 epoch of the first
       8,000 training images, 1,000 images scored per set), M = 16, one torch thread
  gpu  the benchmark's protocol at stem 128: M = 32 cells at 4 and 12 epochs, then the 3 best of the
       sample's modules with three recorded repeats at 108 epochs (against their mean)

  python benchmarks/bench_child_agreement.py --setting cpu --cifar /tmp/cifar --out /tmp/agreement.jsonl --plot docs/child_agreement.png
  python benchmarks/bench_child_agreement.py --setting gpu --cifar data --out runs/agreement-gpu.jsonl --plot agreement-gpu.png

Every trained cell is one line of --out (the results log of tools/train_child.py); run the
same command again after an interruption and the finished cells are not trained again.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

from predictor import cli
from predictor.child.cell_lists import CellEntry
from predictor.child.channels import NetworkShape
from predictor.child.results_log import ResultsLog, is_done
from predictor.child.training import EPOCH_BUDGETS, PROTOCOL_PRESETS, ExecutionOptions, protocol_preset
from predictor.child.verify import VerifySettings, run_identity, verify_cells
from predictor.data.dataset import BLOWN_UP_ACCURACY, NASBench

REPO = Path(__file__).resolve().parents[1]
BELOW = 0.80  # the benchmark's "poor cell" line of the CPU target


@dataclass(frozen=True)
class Setting:
    cells: int
    preset: str
    epochs: tuple[int, ...]
    stem_channels: int
    long_cells: int = 0
    long_epochs: int = 108


SETTINGS = {
    "cpu": Setting(cells=16, preset="cpu", epochs=(PROTOCOL_PRESETS["cpu"]["epochs"],), stem_channels=16),
    "gpu": Setting(cells=32, preset="benchmark", epochs=(4, 12), stem_channels=128, long_cells=3),
}


@dataclass(frozen=True)
class Candidate:
    """A module of the sample with what the benchmark recorded for it."""

    row: int
    entry: CellEntry
    benchmark: dict[int, float]  # budget -> validation accuracy (mean of the sound repeats)
    benchmark_test: dict[int, float]
    repeats: int  # sound 108-epoch repeats behind benchmark[108]


def benchmark_table(bench: NASBench) -> dict[str, np.ndarray]:
    values = {f"val{b}": bench.accuracy(b, "validation_accuracy", "mean") for b in EPOCH_BUDGETS}
    values.update({f"test{b}": bench.accuracy(b, "test_accuracy", "mean") for b in EPOCH_BUDGETS})
    runs = bench.metrics[:, EPOCH_BUDGETS.index(108), :, 1, 2]
    values["repeats"] = np.sum(np.isfinite(runs) & (runs >= BLOWN_UP_ACCURACY), axis=1)
    return values


def candidate(bench: NASBench, table: dict[str, np.ndarray], row: int) -> Candidate:
    cell = bench.cell(row)
    entry = CellEntry(cell.hash, tuple(map(tuple, cell.matrix.astype(int).tolist())), tuple(cell.ops))

    def finite(prefix: str) -> dict[int, float]:
        return {
            b: float(table[f"{prefix}{b}"][row]) for b in EPOCH_BUDGETS if math.isfinite(table[f"{prefix}{b}"][row])
        }

    return Candidate(row, entry, finite("val"), finite("test"), int(table["repeats"][row]))


def stratified_rows(accuracy: np.ndarray, count: int, seed: int) -> list[int]:
    """`count` rows spread over the range of `accuracy` (NaN and blown-up rows left out), worst first.

    The sound rows, sorted, are cut into `count` equal-count strata; one row is drawn from
    each, except that the lowest gives its worst and the highest its best.
    """
    sound = np.flatnonzero(np.isfinite(accuracy) & (accuracy >= BLOWN_UP_ACCURACY))
    if len(sound) < count:
        raise ValueError(f"only {len(sound)} modules with a sound 108-epoch accuracy, {count} asked for")
    ordered = sound[np.argsort(accuracy[sound], kind="stable")]
    rng = np.random.default_rng(seed)
    strata = np.array_split(ordered, count)
    chosen = [int(stratum[rng.integers(len(stratum))]) for stratum in strata]
    chosen[0], chosen[-1] = int(strata[0][0]), int(strata[-1][-1])
    return chosen


def best_rows_with_repeats(table: dict[str, np.ndarray], count: int) -> list[int]:
    """The `count` modules with the best mean 108-epoch validation accuracy over three sound repeats."""
    full = np.flatnonzero(table["repeats"] == 3)
    if len(full) < count:
        raise ValueError(f"only {len(full)} modules with three sound 108-epoch repeats, {count} asked for")
    return [int(r) for r in full[np.argsort(-table["val108"][full], kind="stable")][:count]]


def matching_budget(protocol, epochs: int) -> int:
    """The benchmark budget our run compares with: the same epochs on all images, else the nearest in images seen."""
    if protocol.train_images is None and epochs in EPOCH_BUDGETS:
        return epochs
    seen = epochs * (protocol.train_images or 40_000)
    return min(EPOCH_BUDGETS, key=lambda b: abs(b * 40_000 - seen))


def bootstrap_interval(ours: np.ndarray, theirs: np.ndarray, statistic, seed: int, rounds: int = 2000) -> tuple:
    """The 2.5% and 97.5% quantiles of `statistic` over cells resampled with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        pick = rng.integers(0, len(ours), len(ours))
        if len(np.unique(pick)) < 3:
            continue
        value = statistic(ours[pick], theirs[pick])[0]
        if math.isfinite(value):
            values.append(value)
    return tuple(np.quantile(values, [0.025, 0.975])) if values else (math.nan, math.nan)


def agreement_lines(ours: np.ndarray, theirs: np.ndarray, against: str, seed: int) -> list[str]:
    lines = []
    for name, statistic in (("Kendall tau", stats.kendalltau), ("Spearman rho", stats.spearmanr)):
        value = statistic(ours, theirs)[0]
        low, high = bootstrap_interval(ours, theirs, statistic, seed)
        lines.append(f"{name:<13} vs {against}: {value:+.3f}  (bootstrap 95%: {low:+.3f} .. {high:+.3f})")
    return lines


def bottom_quarter_line(ours: np.ndarray, benchmark108: np.ndarray) -> str:
    poor = np.flatnonzero(benchmark108 < BELOW)
    quarter = max(1, math.ceil(len(ours) / 4))
    our_rank = np.argsort(np.argsort(ours, kind="stable"), kind="stable")  # 0 = our worst
    inside = int(np.sum(our_rank[poor] < quarter))
    return (
        f"cells the benchmark puts below {BELOW:.0%} at 108 epochs: {len(poor)}; "
        f"in our bottom quarter ({quarter} cells): {inside} of {len(poor)}"
    )


def print_table(rows: list[tuple[Candidate, dict]], budget: int, epochs: int) -> None:
    header = (
        f"{'cell':<32} {'params':>10} {'our val':>8} {'our test':>8} {f'bench@{budget}':>9} {'bench@108':>9} "
        f"{'bench test':>10} {'time s':>7} {'img/s':>6}"
    )
    print(f"\n{epochs} epoch(s); benchmark columns: validation accuracy at {budget} and 108 epochs, test at 108")
    print(header)
    print("-" * len(header))
    for item, record in sorted(rows, key=lambda pair: pair[0].benchmark[108]):
        rate = record["training_steps"] * record["protocol"]["batch_size"] / record["final_training_time"]
        print(
            f"{item.entry.hash:<32} {record['trainable_parameters']:>10,} {record['final_validation_accuracy']:>8.4f} "
            f"{record['final_test_accuracy']:>8.4f} {item.benchmark.get(budget, math.nan):>9.4f} "
            f"{item.benchmark[108]:>9.4f} {item.benchmark_test.get(108, math.nan):>10.4f} "
            f"{record['total_time']:>7.0f} {rate:>6.0f}"
        )


def save_plot(groups: list[tuple[str, np.ndarray, np.ndarray]], path: Path) -> None:
    """One scatter per trained budget: our validation accuracy against the benchmark's at 108 epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from predictor.data.atomic import atomic_output

    figure, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.4), squeeze=False)
    for axis, (label, ours, theirs) in zip(axes[0], groups):
        tau = stats.kendalltau(ours, theirs)[0]
        axis.scatter(100 * theirs, 100 * ours, s=24)
        axis.axvline(100 * BELOW, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel("NAS-Bench-101 validation accuracy, 108 epochs (%)")
        axis.set_ylabel("our validation accuracy (%)")
        axis.set_title(f"{label}: Kendall tau {tau:+.2f}, {len(ours)} cells")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_output(path, force=True) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--setting", choices=SETTINGS, default="cpu", help="sizes to start from (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "nasbench.hdf5", help="(default: %(default)s)")
    parser.add_argument("--cifar", type=Path, default=REPO / "data", help="CIFAR-10 folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="results log, resumed when rerun")
    parser.add_argument("--plot", type=Path, help="scatter plot (PNG) of ours against the benchmark's")
    parser.add_argument("--cells", type=cli.integer(3, 1000), help="M cells (default: the setting's)")
    parser.add_argument("--epochs", type=cli.integer(1, 1000), nargs="+", help="budgets (default: the setting's)")
    parser.add_argument(
        "--long-cells", type=cli.integer(0, 30), help="best cells trained long (default: the setting's)"
    )
    parser.add_argument("--long-epochs", type=cli.integer(1, 1000), help="their budget (default: the setting's)")
    parser.add_argument("--stem-channels", type=cli.integer(1, 1024), help="(default: the setting's)")
    parser.add_argument("--train-images", type=cli.integer(1, 40_000), help="(default: the protocol's)")
    parser.add_argument("--eval-images", type=cli.integer(1, 10_000), help="(default: the protocol's)")
    parser.add_argument("--batch-size", type=cli.integer(1, 4096), help="(default: the protocol's)")
    parser.add_argument("--lr", type=cli.real(0.0, 10.0, low_inclusive=False), help="(default: the protocol's)")
    parser.add_argument("--seed", type=cli.seed, default=0, help="cell choice and training seed (default: 0)")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--threads", type=cli.integer(1, 1024), help="torch threads (default: 1)")
    parser.add_argument("--report", action="store_true", help="train nothing: report on the cells --out holds so far")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def train_group(
    candidates: list[Candidate], settings: VerifySettings, out: Path, progress: bool, train: bool = True
) -> list[tuple[Candidate, dict]]:
    """Each candidate with its result line; trains those `out` does not hold yet (unless `train` is False)."""
    if train:
        verify_cells([c.entry for c in candidates], settings, out, progress=progress)
    identity = run_identity(settings)
    done = {
        r["hash"]: r
        for r in ResultsLog(out).read()
        if is_done(r) and all(r.get(key) == value for key, value in identity.items())
    }
    missing = [c.entry.hash for c in candidates if c.entry.hash not in done]
    if missing and train:
        raise ValueError(f"{len(missing)} cell(s) failed to train (see their lines in {out}), e.g. {missing[0]}")
    if missing:
        print(f"\n{len(candidates) - len(missing)} of {len(candidates)} cells finished so far (--report)")
    return [(c, done[c.entry.hash]) for c in candidates if c.entry.hash in done]


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setting = SETTINGS[args.setting]
    setting = replace(
        setting,
        **{
            name: value if name != "epochs" else tuple(value)
            for name, value in (
                ("cells", args.cells),
                ("epochs", args.epochs),
                ("long_cells", args.long_cells),
                ("long_epochs", args.long_epochs),
                ("stem_channels", args.stem_channels),
            )
            if value is not None
        },
    )
    import torch

    torch.set_num_threads(args.threads or 1)  # more threads only pay on cores no other work uses
    with NASBench(args.data) as bench:
        table = benchmark_table(bench)
        chosen = [candidate(bench, table, r) for r in stratified_rows(table["val108"], setting.cells, args.seed)]
        best = [candidate(bench, table, r) for r in best_rows_with_repeats(table, setting.long_cells)]
    overrides = {
        name: value
        for name, value in (
            ("train_images", args.train_images),
            ("eval_images", args.eval_images),
            ("batch_size", args.batch_size),
            ("learning_rate", args.lr),
        )
        if value is not None
    }
    options = ExecutionOptions(device=args.device)
    print(
        f"setting {args.setting}: {setting.cells} cells x budgets {list(setting.epochs)}"
        + (f", {setting.long_cells} best x {setting.long_epochs} epochs" if setting.long_cells else "")
        + f"; preset {setting.preset}, stem {setting.stem_channels}, {torch.get_num_threads()} torch thread(s)"
    )
    groups = [(epochs, chosen) for epochs in setting.epochs] + ([(setting.long_epochs, best)] if best else [])
    plots = []
    for epochs, candidates in groups:
        protocol = protocol_preset(
            setting.preset,
            epochs=epochs,
            seed=args.seed,
            shape=NetworkShape(stem_channels=setting.stem_channels),
            **overrides,
        )
        settings = VerifySettings(cifar_path=str(args.cifar), protocol=protocol, options=options)
        rows = train_group(candidates, settings, args.out, not args.no_progress, train=not args.report)
        if len(rows) < 3:
            print(f"{epochs} epoch(s): {len(rows)} cell(s) finished, too few to compare")
            continue
        budget = matching_budget(protocol, epochs)
        print_table(rows, budget, epochs)
        ours = np.array([record["final_validation_accuracy"] for _, record in rows])
        at_108 = np.array([item.benchmark[108] for item, _ in rows])
        lines = agreement_lines(ours, at_108, "benchmark validation @108", args.seed)
        if budget != 108:
            matched = np.array([item.benchmark.get(budget, math.nan) for item, _ in rows])
            if np.isfinite(matched).all():
                lines += agreement_lines(ours, matched, f"benchmark validation @{budget}", args.seed)
        else:
            gap = 100 * (ours.mean() - at_108.mean())
            lines.append(
                f"mean validation accuracy: ours {ours.mean():.4f}, benchmark {at_108.mean():.4f} ({gap:+.2f} points)"
            )
        lines.append(bottom_quarter_line(ours, at_108))
        print("\n".join(lines))
        plots.append((f"{epochs} epoch(s)", ours, at_108))
    if args.plot:
        save_plot(plots, args.plot)
        print(f"plot -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
