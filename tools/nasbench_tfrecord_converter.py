"""Convert the official NAS-Bench-101 tfrecord into one HDF5 file (see predictor/data/convert.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from predictor import cli
from predictor.data.convert import convert

DEFAULT_INPUTS = (Path("data/nasbench_full.tfrecord"), Path("data/nasbench_only108.tfrecord"))
DOWNLOAD_HINT = """No tfrecord found. Download the official NAS-Bench-101 file into data/:
  https://storage.googleapis.com/nasbench/nasbench_full.tfrecord      (~1.95 GB, all budgets)
  https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord   (~0.5 GB, 108 epochs only)
or pass --input PATH (any file in the same format, e.g. ../shared/nb101/nb101_sample.tfrecord)."""


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--input",
        type=Path,
        help="tfrecord to read (default: data/nasbench_full.tfrecord, else data/nasbench_only108.tfrecord)",
    )
    parser.add_argument("--output", type=Path, default=Path("data/nasbench.hdf5"), help="HDF5 file to write")
    parser.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    parser.add_argument(
        "--workers", type=cli.integer(1, 256), default=None, help="decoding processes, 1-256 (default: up to 2)"
    )
    args = parser.parse_args(argv)

    source = args.input or next((p for p in DEFAULT_INPUTS if p.is_file()), None)
    if source is None:
        print(DOWNLOAD_HINT, file=sys.stderr)
        return 2
    summary = convert(source, args.output, force=args.force, workers=args.workers)
    print(
        f"{args.output}: {summary['modules']:,} modules from {summary['records']:,} records "
        f"in {summary['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
