"""Write a full-size file in the official tfrecord format with SYNTHETIC metrics, for size/speed benchmarks.

Graphs and hashes are the real ones of the enumerated space; every accuracy in the
file is random, and each evaluation point is marked checkpoint_path="synthetic".
Never report numbers read from such a file as accuracies.
"""

from __future__ import annotations

import sys
from pathlib import Path

from predictor import cli
from predictor.data.atomic import check_output
from predictor.data.schema import NUM_REPEATS
from predictor.data.space import PUBLISHED_COUNTS, load_space
from predictor.data.synthetic import write_synthetic_tfrecord

NUM_MODULES = sum(PUBLISHED_COUNTS.values())


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--output", type=Path, default=Path("data/synthetic_full.tfrecord"), help="tfrecord to write (%(default)s)"
    )
    parser.add_argument(
        "--modules",
        type=cli.integer(1, NUM_MODULES),
        default=None,
        help=f"only the first N modules, 1-{NUM_MODULES:,} (default: all)",
    )
    parser.add_argument(
        "--repeats", type=cli.integer(1, NUM_REPEATS), default=NUM_REPEATS, help="runs per module and budget (1-3)"
    )
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the random metrics (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    args = parser.parse_args(argv)
    check_output(args.output, force=args.force)
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
