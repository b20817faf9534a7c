"""Search-space poisoning sweep: every strategy with K = 0, 1, 2, 4, 8 zero ops in its op vocabulary.

    python benchmarks/bench_poisoning.py [--data data/nasbench.hdf5] [--strategies random,evolution,...]
        [--poison 0 1 2 4 8] [--trials 10] [--budget 300] [--out-dir runs/poisoning] [--resume]

Each level is one `search.py --compare ... --poison K` run (same seeds for every level), its
trials logged as they finish (OUT_DIR/K<k>/trials.jsonl, so `--resume` picks up an interrupted
sweep). Prints one table (regret@150 and the poisoned share of the last half per strategy and
K, random search being the baseline every level is read against) and draws regret@150 and the
poisoned share against K (OUT_DIR/poisoning.png); OUT_DIR/poisoning.json holds every summary.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_output, write_json
from predictor.data.dataset import NASBench
from predictor.search.registry import STRATEGIES, StrategySettings
from predictor.search.report import summarize, summary_json
from predictor.search.runner import run_comparison
from predictor.search.trial_log import TrialWriter, read_trials, run_identity

DEFAULT_STRATEGIES = "random,evolution,reinforce,pnas,pnas-rnn,predictor"
REGRET_AT = 150


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="HDF5 pool")
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES, help="comma-separated strategies")
    parser.add_argument("--poison", type=int, nargs="+", default=[0, 1, 2, 4, 8], help="levels K to sweep (0..32)")
    parser.add_argument("--trials", type=int, default=10, help="trials per strategy and level (>= 1)")
    parser.add_argument("--budget", type=int, default=300, help=f"queries per trial (>= {REGRET_AT})")
    parser.add_argument("--seed", type=int, default=0, help="master seed (the same for every level)")
    parser.add_argument("--workers", type=int, default=1, help="processes (>= 1)")
    parser.add_argument("--out-dir", type=Path, default=Path("runs/poisoning"), help="trial logs, JSON, figure")
    parser.add_argument("--resume", action="store_true", help="keep trials the logs already hold, run the rest")
    parser.add_argument("--force", action="store_true", help="overwrite an existing figure and JSON")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.strategies.split(",") if name.strip()]
    problems = [f"unknown strategy {name!r}" for name in names if name not in STRATEGIES]
    problems += [f"K={k} outside 0..32" for k in args.poison if not 0 <= k <= 32]
    if args.trials < 1 or args.workers < 1 or args.budget < REGRET_AT:
        problems.append(f"need --trials >= 1, --workers >= 1, --budget >= {REGRET_AT}")
    if not args.data.is_file():
        problems.append(f"{args.data} not found (convert a tfrecord first)")
    if problems:
        parser.exit(2, f"error: {'; '.join(problems)}\n")
    args.names = names
    return args


def run_level(args: argparse.Namespace, poison: int) -> dict:
    settings = replace(StrategySettings(), poison=poison)
    with NASBench(args.data) as bench:
        identity = run_identity(args.data, len(bench), args.budget, args.seed, settings)
    log = args.out_dir / f"K{poison}" / "trials.jsonl"
    done = read_trials(log, identity) if args.resume else {}
    comparison = run_comparison(
        args.data,
        args.names,
        args.budget,
        args.trials,
        args.seed,
        args.workers,
        settings,
        on_result=TrialWriter(log, identity, keep=args.resume),
        done=done,
    )
    return summary_json(comparison, [summarize(comparison, name) for name in args.names])


def table(levels: dict[int, dict], names: list[str]) -> str:
    header = ["strategy"] + [f"K={k}" for k in levels]
    rows = []
    for name in names:
        cells = []
        for summary in levels.values():
            s = summary["strategies"][name]
            share = s["poisoned_query_share"]
            cells.append(
                f"{s['regret_at'][str(REGRET_AT)]:.3f} ({share['first_half']:.0%}/{share['last_half']:.0%}) "
                f"{s['median_queries_to_top_0.1pct_display']}"
            )
        rows.append([name, *cells])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def plot(levels: dict[int, dict], names: list[str], path: Path, force: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(levels)
    figure, (regret_axis, share_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in names:
        regret = [levels[k]["strategies"][name]["regret_at"][str(REGRET_AT)] for k in ks]
        share = [levels[k]["strategies"][name]["poisoned_query_share"]["last_half"] for k in ks]
        (line,) = regret_axis.plot(ks, regret, marker="o", label=name)
        share_axis.plot(ks, np.array(share) * 100, marker="o", color=line.get_color(), label=name)
    first = levels[ks[0]]
    regret_axis.set(
        xlabel="K (zero ops added to the 3 real ones)",
        ylabel=f"regret@{REGRET_AT} (percentage points, mean over {first['trials']} trials)",
        title="how far from the pool's best after 150 queries",
    )
    share_axis.set(
        xlabel="K (zero ops added to the 3 real ones)",
        ylabel="queries holding a zero op, last half of the budget (%)",
        title="does the strategy learn to avoid the zero ops?",
        ylim=(-2, 102),
    )
    for axis in (regret_axis, share_axis):
        axis.set_xticks(ks)
        axis.grid(True, alpha=0.3)
    share_axis.legend(fontsize=8)
    figure.suptitle(f"search-space poisoning on {first['pool_size']:,} modules, budget {first['budget']}")
    figure.tight_layout()
    with atomic_output(path, force=force) as temporary:
        figure.savefig(temporary, dpi=120, format="png")
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figure, summary = args.out_dir / "poisoning.png", args.out_dir / "poisoning.json"
    if not args.force and (figure.exists() or summary.exists()):
        print(f"error: {figure} or {summary} exists; pass --force to overwrite", file=sys.stderr)
        return 1
    levels = {k: run_level(args, k) for k in args.poison}
    print(
        f"regret@{REGRET_AT} in percentage points (mean over {args.trials} trials), (poisoned share of the "
        f"queries: first/last half of the budget of {args.budget}), median queries to the top 0.1%"
    )
    print(table(levels, args.names))
    write_json({str(k): v for k, v in levels.items()}, summary, force=args.force)
    plot(levels, args.names, figure, args.force)
    print(f"wrote {summary}, {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
