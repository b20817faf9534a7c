"""Halfmoon children: many MLPs trained as one batched program against one nn.Sequential + Adam per child.

Both train the same random architectures the same way (same initial weights, same batches,
Adam 1e-2, batch 32); the baseline trains the first --baseline-children one after another and
its per-child time is scaled to all of them. Prints children/s of both and the speed-up.

  python benchmarks/bench_halfmoon_children.py --children 250 --epochs 10
"""

from __future__ import annotations

import argparse
import time

import torch

from predictor.halfmoon.children import (
    BatchedMLPs,
    ChildTraining,
    load_halfmoon,
    train_children,
    train_one_network,
)
from predictor.halfmoon.space import decode, sample_uniform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=250, help="architectures trained (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per child (default: %(default)s)")
    parser.add_argument("--baseline-children", type=int, default=10, help="children the baseline trains")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s)")
    args = parser.parse_args()
    if min(args.children, args.epochs, args.baseline_children, args.threads) < 1:
        parser.error("every count must be at least 1")
    torch.set_num_threads(args.threads)
    data = load_halfmoon()
    training = ChildTraining(epochs=args.epochs)
    decisions = sample_uniform(args.children, torch.Generator().manual_seed(0))
    children = [(0, decode(row)) for row in decisions.tolist()]

    started = time.perf_counter()
    train_children(children, data, training)
    batched = time.perf_counter() - started

    subset = children[: args.baseline_children]
    networks = [BatchedMLPs(subset).child_network(index) for index in range(len(subset))]
    started = time.perf_counter()
    for network in networks:
        train_one_network(network, data, training)
    baseline = (time.perf_counter() - started) / len(subset) * len(children)

    print(f"{args.children} random children, {args.epochs} epochs, {args.threads} thread(s)")
    print(f"batched:  {batched:7.1f} s  {args.children / batched:7.1f} children/s")
    print(
        f"one by one (nn.Sequential, from {len(subset)}): {baseline:7.1f} s  {args.children / baseline:7.1f} children/s"
    )
    print(f"speed-up: {baseline / batched:.1f}x")


if __name__ == "__main__":
    main()
