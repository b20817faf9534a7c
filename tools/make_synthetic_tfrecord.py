"""Write a full-size file in the official tfrecord format with SYNTHETIC metrics, for size/speed benchmarks.

Graphs and hashes are the real ones of the enumerated space; every accuracy in the
file is random, and each evaluation point is marked checkpoint_path="synthetic".
Never report numbers read from such a file as accuracies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from predictor.data.space import load_space
from predictor.data.synthetic import write_synthetic_tfrecord


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("data/synthetic_full.tfrecord"))
    parser.add_argument("--modules", type=int, default=None, help="only the first N modules (default: all 423,624)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"error: {args.output} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    space = load_space()
    n = len(space) if args.modules is None else args.modules
    args.output.parent.mkdir(parents=True, exist_ok=True)
    count = write_synthetic_tfrecord(
        args.output,
        space.hashes[:n],
        space.adjacency[:n],
        space.operations[:n],
        space.num_vertices[:n],
        repeats=args.repeats,
        seed=args.seed,
        force=args.force,
    )
    print(f"{args.output}: {count:,} synthetic records for {n:,} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
