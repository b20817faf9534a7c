"""Write reproducible train/eval splits of a converted dataset to splits/ (see predictor/splits.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from predictor.data.dataset import NASBench
from predictor.data.splits import DEFAULT_SIZES, DEFAULT_THRESHOLDS, make_splits, save_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--out", type=Path, default=Path("splits"), help="directory for the split files")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="random split sizes")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=list(DEFAULT_THRESHOLDS),
        help="accuracy thresholds of the denoise-T splits",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        bench = NASBench(args.data)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    source = {
        key: (int(value) if hasattr(value, "dtype") else value)
        for key, value in bench.attrs.items()
        if key in ("source_name", "source_size", "source_crc32c")
    }
    source.update(seed=args.seed, data=str(args.data))
    for split in make_splits(bench, args.sizes, args.thresholds, args.seed).values():
        path = save_split(split, args.out, source)
        print(f"{path}: {len(split):>7,} modules  {split.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
