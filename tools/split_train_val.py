"""Write reproducible train/eval splits of a converted dataset to splits/ (see predictor/data/splits.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from predictor import cli
from predictor.data.dataset import NASBench
from predictor.data.splits import DEFAULT_SIZES, DEFAULT_THRESHOLDS, make_splits, save_splits


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--out", type=Path, default=Path("splits"), help="directory for the split files")
    parser.add_argument(
        "--sizes", type=cli.positive_int, nargs="+", default=list(DEFAULT_SIZES), help="random split sizes, >= 1"
    )
    parser.add_argument(
        "--thresholds",
        type=cli.real(0.0, 1.0, low_inclusive=False, high_inclusive=False),
        nargs="+",
        default=list(DEFAULT_THRESHOLDS),
        help="accuracy thresholds of the denoise-T splits, between 0 and 1",
    )
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the random splits")
    parser.add_argument("--force", action="store_true", help="replace split files that exist in --out")
    args = parser.parse_args(argv)

    bench = NASBench(args.data)
    source = {
        key: (int(value) if hasattr(value, "dtype") else value)
        for key, value in bench.attrs.items()
        if key in ("source_name", "source_size", "source_crc32c")
    }
    source.update(seed=args.seed, data=str(args.data))
    splits = list(make_splits(bench, args.sizes, args.thresholds, args.seed).values())
    for split, path in zip(splits, save_splits(splits, args.out, source, force=args.force)):
        print(f"{path}: {len(split):>7,} modules  {split.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
