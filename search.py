"""Search NAS-Bench-101: rank the whole space with a trained predictor, or compare search strategies.

python search.py --checkpoint PATH --top-k 10 [--out-topk top.json]
python search.py --compare random,evolution,reinforce,pnas,params,paper,predictor --budget 1000 --trials 50
python search.py --select predictor --budget 100      (one search: the module it picks)
python search.py --weight-sharing enas --dataset digits --out enas.json   (ENAS on real images)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from predictor import cli
from predictor.child.datasets import DATASETS
from predictor.search.recipes import RECIPES
from predictor.search.registry import STRATEGIES, StrategySettings
from predictor.search.search_space import MAX_ZERO_OPS
from predictor.weight_sharing.presets import ENAS_PRESETS

DEFAULT_DATA = Path("data/nasbench.hdf5")
MAX_TOP_K = 10_000  # the top-k is a list of cells to train for real
MAX_QUERIES = 423_624  # a search cannot query more modules than the space holds
MAX_TRIALS = 10_000  # every trial's curve is kept in memory and written to curves.csv.gz


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--checkpoint", type=Path, help="trained predictor: rank all 423,624 modules")
    mode.add_argument("--compare", help=f"comma-separated strategies to compare: {','.join(STRATEGIES)}")
    mode.add_argument("--select", choices=list(STRATEGIES), help="run one search and report the module it picks")
    mode.add_argument(
        "--weight-sharing", choices=["enas"], help="weight-sharing search on real images; writes --out (top-k JSON)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output file (--out-topk, --out)")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="HDF5 dataset (pool of the comparison; recorded accuracies of the top-k)",
    )

    query = parser.add_argument_group("ranking the space (--checkpoint)")
    query.add_argument(
        "--top-k",
        type=cli.integer(1, MAX_TOP_K),
        default=10,
        help=f"how many of the best-scored cells to list, 1-{MAX_TOP_K:,} (default: %(default)s)",
    )
    query.add_argument("--out-topk", type=Path, help="write the top-k as JSON (or CSV if the name ends in .csv)")

    compare = parser.add_argument_group("searching (--compare, --select)")
    compare.add_argument(
        "--budget", type=cli.integer(1, MAX_QUERIES), default=1000, help=f"queries per trial, 1-{MAX_QUERIES:,}"
    )
    compare.add_argument(
        "--trials",
        type=cli.integer(1, MAX_TRIALS),
        default=50,
        help=f"independent trials per strategy, 1-{MAX_TRIALS:,} (--compare)",
    )
    compare.add_argument("--seed", type=cli.seed, default=0, help="master seed; trial seeds derive from it")
    compare.add_argument(
        "--workers", type=cli.integer(1, 256), default=None, help="processes, 1-256 (default: all cores)"
    )
    compare.add_argument(
        "--out", type=Path, help="summary JSON (default: OUT_DIR/summary.json); an existing one needs --force"
    )
    compare.add_argument(
        "--out-dir",
        type=Path,
        default=Path("runs/search"),
        help="where the curves (curves.csv.gz), the figure and the summary go",
    )
    compare.add_argument(
        "--recipe", choices=RECIPES, default=StrategySettings.recipe, help="training config of the predictor strategies"
    )
    compare.add_argument(
        "--initial-queries",
        type=cli.integer(1, MAX_QUERIES),
        default=StrategySettings.initial_queries,
        help="random queries before the first fit (predictor)",
    )
    compare.add_argument(
        "--ensemble",
        type=cli.integer(1, 100),
        default=StrategySettings.ensemble_size,
        help="models per fit, 1-100 (predictor, pnas)",
    )
    compare.add_argument(
        "--exploration",
        type=cli.non_negative_real,
        default=StrategySettings.exploration,
        help="score = mean + EXPLORATION x ensemble std (predictor)",
    )
    compare.add_argument(
        "--paper-initial-queries",
        type=cli.integer(1, MAX_QUERIES),
        default=StrategySettings.paper_initial_queries,
        help="N of the one-shot protocol (paper)",
    )
    compare.add_argument(
        "--poison",
        type=cli.integer(0, MAX_ZERO_OPS),
        default=StrategySettings.poison,
        metavar="K",
        help=f"add K useless zero ops (0..{MAX_ZERO_OPS}) to every strategy's vertex op vocabulary (docs/poisoning.md)",
    )
    earlier = compare.add_mutually_exclusive_group()
    earlier.add_argument(
        "--resume",
        action="store_true",
        help="keep the trials OUT_DIR/trials.jsonl already holds for this run, run the rest "
        "(the summary, curves and figure in OUT_DIR are written anew)",
    )
    earlier.add_argument(
        "--restart", action="store_true", help="discard the trials OUT_DIR/trials.jsonl holds and start over"
    )
    compare.add_argument(
        "--ray", action="store_true", help="run the trials as Ray tasks on a local Ray (needs pip install '.[ray]')"
    )
    compare.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="run the trials as Ray tasks on the cluster at ADDR (the data file must be at the same path on every node)",
    )
    compare.add_argument("--no-progress", action="store_true", help="no progress bar")

    shared = parser.add_argument_group("weight-sharing search (--weight-sharing; also --seed, --top-k, --out, --data)")
    shared.add_argument(
        "--dataset", choices=DATASETS, default="digits", help="images to search on (default: digits, fixed split)"
    )
    shared.add_argument("--cifar", default="data", help="folder holding cifar-10-batches-py (--dataset cifar10)")
    shared.add_argument(
        "--preset",
        choices=ENAS_PRESETS,
        default="default",
        help="ENAS settings: default (made for digits), cpu (reduced CIFAR-10 search for 2 CPU cores, docs/enas.md)",
    )
    shared.add_argument(
        "--epochs", type=cli.positive_int, help="ENAS epochs, warm-up included (>= 1; default: the preset's)"
    )
    shared.add_argument("--device", default="auto", help="torch device (default: cuda when available, else cpu)")
    return parser.parse_args(argv)


def rank_space(args: argparse.Namespace) -> int:
    from predictor.data.atomic import check_output
    from predictor.data.space import load_space
    from predictor.search.topk import format_table, load_predictor, rank_top_k, write_top_k

    if args.out_topk:
        check_output(args.out_topk, force=args.force)
    model = load_predictor(args.checkpoint)
    space = load_space()
    modules, seconds = rank_top_k(model, space, args.top_k, args.data)
    print(format_table(modules))
    print(f"ranked {len(space.hashes):,} modules in {seconds:.2f} s")
    if args.out_topk:
        write_top_k(args.out_topk, modules, force=args.force)
        print(f"wrote {args.out_topk}")
    return 0


def settings_from(args: argparse.Namespace) -> StrategySettings:
    return replace(
        StrategySettings(),
        recipe=args.recipe,
        initial_queries=args.initial_queries,
        ensemble_size=args.ensemble,
        exploration=args.exploration,
        paper_initial_queries=args.paper_initial_queries,
        poison=args.poison,
    )


def select(args: argparse.Namespace) -> int:
    from predictor.search.benchmark import Benchmark
    from predictor.search.registry import build_strategy
    from predictor.search.report import selection_report
    from predictor.search.runner import run_trial

    if not args.data.is_file():
        return _missing_data(args.data)
    benchmark = Benchmark.from_file(args.data)
    settings = settings_from(args)
    strategy = build_strategy(args.select, settings)
    result = run_trial(benchmark, strategy, args.budget, args.seed, 0, space=settings.space)
    print(selection_report(benchmark, strategy.describe(), result))
    return 0


def compare(args: argparse.Namespace) -> int:
    from predictor.common.ray_support import RayUnavailableError, import_ray
    from predictor.data.atomic import check_output, check_writable
    from predictor.search.registry import build_strategy
    from predictor.search.trial_log import log_lock

    names = [name.strip() for name in args.compare.split(",") if name.strip()]
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown:
        print(f"error: unknown strategies {unknown}; known: {', '.join(STRATEGIES)}", file=sys.stderr)
        return 2
    if not args.data.is_file():
        return _missing_data(args.data)
    if args.ray or args.ray_address:
        try:
            import_ray()
        except RayUnavailableError as error:
            print(f"error: {error}; --ray and --ray-address need it.", file=sys.stderr)
            return 2
    settings = settings_from(args)
    for name in names:
        build_strategy(name, settings)  # bad settings are refused before any file is touched
    if args.out:
        check_output(args.out, force=args.force)
    check_writable(args.out_dir / "summary.json")
    with log_lock(args.out_dir / "trials.jsonl"):
        return _compare_locked(args, names, settings)


def _compare_locked(args: argparse.Namespace, names: list[str], settings: StrategySettings) -> int:
    """The comparison, while this process alone writes OUT_DIR/trials.jsonl."""
    from predictor.data.dataset import NASBench
    from predictor.search.report import output_paths, summarize, table, write_outputs
    from predictor.search.runner import run_comparison
    from predictor.search.trial_log import TrialWriter, read_trials, recorded_trials, run_identity

    with NASBench(args.data) as bench:
        identity = run_identity(args.data, len(bench), args.budget, args.seed, settings)
    log = args.out_dir / "trials.jsonl"
    earlier = recorded_trials(log)
    if earlier and not (args.resume or args.restart):
        print(
            f"error: {log} holds {earlier} finished trials of an earlier run; "
            "add --resume to keep them, --restart to discard them, or choose another --out-dir",
            file=sys.stderr,
        )
        return 1
    done = read_trials(log, identity) if args.resume else {}
    summary_path = args.out or args.out_dir / "summary.json"
    if args.resume:
        rewritten = [str(path) for path in output_paths(summary_path, args.out_dir) if path.exists()]
        print(
            f"resuming: {len(done)} trials kept from {log}"
            + (f"; rewriting {', '.join(rewritten)}" if rewritten else ""),
            file=sys.stderr,
        )
    start = time.perf_counter()
    comparison = run_comparison(
        args.data,
        names,
        args.budget,
        args.trials,
        args.seed,
        args.workers,
        settings,
        progress=not args.no_progress,
        on_result=TrialWriter(log, identity, keep=args.resume),
        done=done,
        use_ray=args.ray,
        ray_address=args.ray_address,
    )
    summaries = [summarize(comparison, name) for name in names]
    print(table(comparison, summaries))
    written = write_outputs(comparison, summaries, summary_path, args.out_dir)
    print(f"wrote {', '.join(map(str, written))} ({time.perf_counter() - start:.0f} s in all)")
    return 0


def weight_sharing_search(args: argparse.Namespace) -> int:
    """ENAS on images; prints the chosen cells and writes them as a top-k list `tools/train_child.py --cells` reads
    (`score` = the cell's one-shot validation accuracy, recorded accuracies from --data when it holds the cell)."""
    import torch

    from predictor.child.datasets import check_dataset, load_device_data
    from predictor.common.device import resolve_device
    from predictor.data.atomic import check_output
    from predictor.search.topk import RankedModule, format_table, recorded_accuracies, write_top_k
    from predictor.weight_sharing.enas import EnasConfig, EnasSearch

    if args.out is None:
        raise ValueError("--weight-sharing needs --out FILE.json (where the chosen cells go)")
    check_output(args.out, force=args.force)
    device = resolve_device(args.device)
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise ValueError(f"--device {device} is not usable here ({str(error).splitlines()[0]})") from None
    if device.type == "cpu":
        torch.set_num_threads(1)  # the proxy network's tensors are tiny: threads only add synchronization
    check_dataset(args.dataset, args.cifar)
    data = load_device_data(args.dataset, args.cifar, device)
    config = replace(EnasConfig(), **ENAS_PRESETS[args.preset], top_k=args.top_k)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs, warmup_epochs=min(config.warmup_epochs, args.epochs - 1))
    result = EnasSearch(data, config, args.seed, progress=not args.no_progress).run()
    info, warnings = result.notes()
    cells = [derived.architecture.cell() for derived in result.derived]
    recorded = recorded_accuracies(args.data, [cell.hash for cell in cells])
    modules = [
        RankedModule(
            rank, cell.hash, cell.matrix.astype(int).tolist(), list(cell.ops), derived.one_shot_accuracy,
            *recorded.get(cell.hash, (None, None)),
        )
        for rank, (cell, derived) in enumerate(zip(cells, result.derived), start=1)
    ]  # fmt: skip
    print(format_table(modules, note=f"score: one-shot validation accuracy on {args.dataset} (%), shared weights"))
    print("\n".join(info))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    write_top_k(args.out, modules, force=args.force)
    print(f"ENAS on {args.dataset} ({device}): {len(modules)} cell(s) in {result.seconds:.0f} s; wrote {args.out}")
    return 0


def _missing_data(path: Path) -> int:
    print(f"error: {path} not found; convert a tfrecord first (tools/nasbench_tfrecord_converter.py)", file=sys.stderr)
    return 1


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.checkpoint:
        return rank_space(args)
    if args.weight_sharing:
        return weight_sharing_search(args)
    return select(args) if args.select else compare(args)


if __name__ == "__main__":
    sys.exit(main())
