"""Train chosen NAS-Bench-101 cells for real (CIFAR-10 with the benchmark's protocol, or scikit-learn's
digits with the small-data protocol), or check the network's parameter counts against a dataset file.

  python tools/train_child.py --check-params data/nasbench.hdf5
  python tools/train_child.py --cells top.json --epochs 108 --out results.jsonl
  python tools/train_child.py --dataset digits --cells top.json --epochs 6 --out digits.jsonl
  python tools/train_child.py --protocol cpu --cells top.json --cifar data --out cpu.jsonl

The cell list is the search command's JSON (or a CSV; see predictor/child/cell_lists.py).
One JSON line per finished cell is appended to --out; running the same command again
resumes, skipping cells already trained with the same settings (another setting is refused:
pass another --out). Ends with a table of the cells and their metrics. Exit code: 0 when
every cell trained, 1 when some failed (their lines hold the error) or on a one-line error
(missing or damaged input, an --out that is not a results log or is in use), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from predictor import cli
from predictor.child.cell_lists import invalid_entries, load_cell_list
from predictor.child.channels import NetworkShape
from predictor.child.cifar import CifarNotFoundError
from predictor.child.datasets import DATASETS, DEFAULT_PROTOCOL, resolve_dataset
from predictor.child.param_check import check_parameter_counts
from predictor.child.training import EPOCH_BUDGETS, PROTOCOL_PRESETS, ExecutionOptions, protocol_preset
from predictor.child.verify import VerifySettings, verify_cells
from predictor.common.ray_support import RAY_INSTALL_HINT, RayUnavailableError


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(description=__doc__)
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument(
        "--check-params",
        type=Path,
        metavar="FILE",
        help="compare the parameter count of every module of FILE (HDF5 or tfrecord) with its "
        "trainable_parameters; prints the mismatches, exit code 1 if any",
    )
    task.add_argument(
        "--cells", type=Path, metavar="FILE", help="cells to train: JSON list of {hash, adjacency, ops}, or CSV"
    )

    run = parser.add_argument_group("training")
    run.add_argument(
        "--out",
        type=Path,
        default=Path("results.jsonl"),
        help="JSON-lines results file, appended to (default: %(default)s)",
    )
    run.add_argument(
        "--dataset",
        choices=DATASETS,
        help="images to train on (default: cifar10, which must be in --cifar; digits ship with scikit-learn)",
    )
    run.add_argument(
        "--protocol",
        choices=list(PROTOCOL_PRESETS),
        help="training settings: benchmark (RMSProp 0.2, batch 256, BN decay 0.997), small-data "
        "(Adam 3e-3, batch 64, BN momentum 0.1) or cpu, the reduced CIFAR-10 protocol for a CPU (small-data's "
        "optimiser, batch 64, stem 16, 1 epoch of the first 8,000 training images, 1,000 images scored per set) "
        "(default: benchmark for cifar10, small-data for digits)",
    )
    run.add_argument(
        "--epochs",
        type=cli.integer(1, 1000),
        help=f"training budget, 1-1000; the benchmark's are {EPOCH_BUDGETS} (default: 108, or the protocol's)",
    )
    run.add_argument(
        "--train-images",
        type=cli.integer(1, 1_000_000),
        help="train on the first N training images only (default: all, or the protocol's)",
    )
    run.add_argument(
        "--eval-images",
        type=cli.integer(1, 1_000_000),
        help="score the first N images of each evaluation set only (default: all, or the protocol's)",
    )
    run.add_argument(
        "--cifar",
        type=Path,
        default=Path("data"),
        help="folder with cifar-10-batches-py/ (or that folder itself) (default: %(default)s)",
    )
    run.add_argument("--limit", type=cli.positive_int, help="train only the first N listed cells")
    run.add_argument(
        "--batch-size", type=cli.integer(1, 4096), help="images per step, 1-4096 (default: the protocol's)"
    )
    run.add_argument(
        "--lr",
        type=cli.real(0.0, 10.0, low_inclusive=False),
        help="base learning rate of the cosine schedule, in (0, 10] (default: the protocol's)",
    )
    run.add_argument(
        "--stem-channels",
        type=cli.integer(1, 1024),
        help="channels of the stem, 1-1024, doubled at each stack; below 128 for quick runs "
        "(default: 128, the benchmark's, or the protocol's)",
    )
    run.add_argument(
        "--seed",
        type=cli.seed,
        default=0,
        help="seed for initialisation, shuffling and augmentation (default: %(default)s)",
    )

    speed = parser.add_argument_group("execution")
    speed.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    speed.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bfloat16 autocast (default: on for CUDA, off for CPU)",
    )
    speed.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last memory format (default: on for CUDA, off for CPU)",
    )
    speed.add_argument(
        "--compile", action="store_true", help="torch.compile the network (compile time is reported as setup_time)"
    )
    speed.add_argument("--cuda-graph", action="store_true", help="capture the train step as one CUDA graph (CUDA only)")
    speed.add_argument(
        "--threads",
        type=cli.integer(1, 1024),
        help="CPU threads for torch, 1-1024; more pay only on cores no other work uses (default: 1)",
    )
    speed.add_argument(
        "--ray",
        action="store_true",
        help="one Ray task per cell (local Ray; falls back to sequential if Ray is missing)",
    )
    speed.add_argument("--ray-address", metavar="ADDR", help="run the Ray tasks on the cluster at ADDR (requires Ray)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def check_params(path: Path, progress: bool) -> int:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such file (convert the tfrecord with tools/nasbench_tfrecord_converter.py, or pass a tfrecord)"
        )
    report = check_parameter_counts(path, progress=progress)
    for module_hash, expected, computed in report.mismatches[:20]:
        print(f"mismatch {module_hash}: dataset {expected:,}, network {computed}")
    print(f"{report.checked:,} rows ({report.modules:,} modules) checked, {len(report.mismatches):,} mismatches")
    return 1 if report.mismatches else 0


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def train(args: argparse.Namespace) -> int:
    entries = load_cell_list(args.cells)
    if args.limit is not None:
        entries = entries[: args.limit]
    invalid = invalid_entries(entries)
    if invalid:
        more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
        raise ValueError(f"{args.cells}: nothing trained, {invalid[0]}{more}; fix or remove it")
    if same_file(args.out, args.cells):
        raise ValueError(f"--out {args.out} is the cell list --cells; pass another --out for the results")
    try:
        dataset = resolve_dataset(args.dataset, args.cifar)
    except CifarNotFoundError as error:
        print(f"error: {error}\nhint: {error.hint}", file=sys.stderr)
        return 1
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "train_images": args.train_images,
        "eval_images": args.eval_images,
        "shape": None if args.stem_channels is None else NetworkShape(stem_channels=args.stem_channels),
    }
    settings = VerifySettings(
        cifar_path=str(args.cifar),
        dataset=dataset,
        protocol=protocol_preset(
            args.protocol or DEFAULT_PROTOCOL[dataset],
            seed=args.seed,
            **{name: value for name, value in overrides.items() if value is not None},
        ),
        options=ExecutionOptions(
            device=args.device,
            bf16=args.bf16,
            channels_last=args.channels_last,
            compile=args.compile,
            cuda_graph=args.cuda_graph,
        ),
    )
    use_ray = args.ray or bool(args.ray_address)
    try:
        summary = verify_cells(entries, settings, args.out, use_ray, args.ray_address, progress=not args.no_progress)
    except RayUnavailableError:
        if args.ray_address:
            raise ImportError(f"{RAY_INSTALL_HINT}; --ray-address needs it") from None
        print(f"{RAY_INSTALL_HINT}; training the cells one after another instead.", file=sys.stderr)
        summary = verify_cells(entries, settings, args.out, progress=not args.no_progress)
    print(summary_table([summary.records[e.key] for e in entries if e.key in summary.records]))
    print(f"{summary.trained} trained, {summary.failed} failed, {summary.skipped} already done -> {args.out}")
    return 1 if summary.failed else 0


def summary_table(records: list[dict]) -> str:
    """One row per listed cell: its accuracies, size and time, or its error."""
    header = f"{'cell':<32} {'status':<6} {'params':>11} {'train':>6} {'valid':>6} {'test':>6} {'time s':>8}"
    rows = [header, "-" * len(header)]
    for record in records:
        if record.get("status") != "ok":
            rows.append(f"{record['hash'][:32]:<32} {'error':<6} {record.get('error', '')[:60]}")
            continue
        rows.append(
            f"{record['hash'][:32]:<32} {'ok':<6} {record['trainable_parameters']:>11,} "
            f"{record['final_train_accuracy']:>6.4f} {record['final_validation_accuracy']:>6.4f} "
            f"{record['final_test_accuracy']:>6.4f} {record['total_time']:>8.1f}"
        )
    return "\n".join(rows)


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    # One thread unless told: on shared cores more threads wait on each other (docs/child_training.md)
    torch.set_num_threads(args.threads or 1)
    if args.check_params is not None:
        return check_params(args.check_params, progress=not args.no_progress)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
