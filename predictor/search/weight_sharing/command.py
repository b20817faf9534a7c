"""`search.py --weight-sharing enas`: run ENAS on an image dataset and write the chosen cells as a top-k list.

The list has the format `topk.write_top_k` gives the predictor's ranking (hash, adjacency, ops,
`score` = the cell's one-shot validation accuracy, recorded accuracies from
--data when it holds the cell), so `tools/train_child.py --cells` trains it unchanged.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace

from predictor import cli
from predictor.child.datasets import DATASETS

METHODS = ("enas",)
DEFAULT_EPOCHS = 24  # EnasConfig.epochs; repeated here so that parsing arguments does not import torch


def add_arguments(parser: argparse.ArgumentParser, mode: argparse._MutuallyExclusiveGroup) -> None:
    """--weight-sharing in the mode group, its options in a group of their own (--force, --seed, ... are shared)."""
    mode.add_argument(
        "--weight-sharing", choices=METHODS, help="weight-sharing search on real images; writes --out (top-k JSON)"
    )
    group = parser.add_argument_group("weight-sharing search (--weight-sharing; also --seed, --top-k, --out, --data)")
    group.add_argument(
        "--dataset", choices=DATASETS, default="digits", help="images to search on (default: digits, fixed split)"
    )
    group.add_argument("--cifar", default="data", help="folder holding cifar-10-batches-py (--dataset cifar10)")
    group.add_argument(
        "--epochs", type=cli.positive_int, default=DEFAULT_EPOCHS, help="ENAS epochs, warm-up included (>= 1)"
    )
    group.add_argument(
        "--device", default=None, help="torch device (default: cuda when available, else cpu, one thread)"
    )


def run(args: argparse.Namespace) -> int:
    """Search, print the chosen cells, write them to args.out; 0, or 1 with a one-line error."""
    import torch

    from predictor.child.cifar import CifarNotFoundError
    from predictor.child.datasets import check_dataset, load_device_data
    from predictor.data.atomic import OutputExistsError, write_json
    from predictor.search.topk import RankedModule, format_table, recorded_accuracies
    from predictor.search.weight_sharing.enas import EnasConfig, EnasSearch

    if args.out is None:
        return _fail("--weight-sharing needs --out FILE.json (where the chosen cells go)")
    if args.out.exists() and not args.force:
        return _fail(f"{args.out} exists; pass --force to overwrite it (or choose another --out)")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        return _fail(f"--device {device} is not usable here ({str(error).splitlines()[0]})")
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)  # the proxy network's tensors are tiny: threads only add synchronisation
    try:
        check_dataset(args.dataset, args.cifar)
        data = load_device_data(args.dataset, args.cifar, device)
    except CifarNotFoundError as error:
        return _fail(str(error).splitlines()[0] + " (see README: CIFAR-10)")
    config = replace(EnasConfig(), epochs=args.epochs, warmup_epochs=min(EnasConfig.warmup_epochs, args.epochs - 1))
    config = replace(config, top_k=args.top_k)
    result = EnasSearch(data, config, args.seed, progress=not args.no_progress).run()
    cells = [d.architecture.cell() for d in result.derived]
    recorded = recorded_accuracies(args.data, [cell.hash for cell in cells])
    modules = [
        RankedModule(
            rank, cell.hash, cell.matrix.astype(int).tolist(), list(cell.ops), d.one_shot_accuracy,
            *recorded.get(cell.hash, (None, None)),
        )
        for rank, (cell, d) in enumerate(zip(cells, result.derived), start=1)
    ]  # fmt: skip
    print(format_table(modules, note=f"score: one-shot validation accuracy on {args.dataset} (%), shared weights"))
    try:
        write_json([asdict(m) for m in modules], args.out, force=args.force)
    except OutputExistsError as error:
        return _fail(str(error))
    print(f"ENAS on {args.dataset} ({device}): {len(modules)} cell(s) in {result.seconds:.0f} s; wrote {args.out}")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
