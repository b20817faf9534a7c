"""Assess ENAS on real images: its chosen cell against random search, one-shot vs stand-alone ranking, poisoning.

    python benchmarks/bench_enas_assessment.py --out runs/enas_assessment.json --plot docs/enas_assessment.png

Everything is real training on scikit-learn's digits (or CIFAR-10 with --dataset cifar10).
The baseline is random search given the same number of stand-alone trainings, in the same run.
Sizes: see docs/enas.md (3 seeds, ENAS 24 epochs on a 3-module proxy, stand-alone 4 epochs at 1/8 width).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from predictor.child.datasets import DATASETS
    from predictor.weight_sharing.assessment import AssessmentConfig
    from predictor.weight_sharing.enas import EnasConfig
    from predictor.weight_sharing.standalone import ASSESSMENT_OVERRIDES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, default="digits", help="images (default: digits)")
    parser.add_argument("--cifar", default="data", help="folder holding cifar-10-batches-py (--dataset cifar10)")
    parser.add_argument("--seeds", type=_positive, default=AssessmentConfig.seeds, help="search seeds (>= 1)")
    parser.add_argument("--top-k", type=_positive, default=AssessmentConfig.top_k, help="trainings per search in (a)")
    parser.add_argument("--tau-cells", type=int, default=AssessmentConfig.tau_cells, help="cells for (b) (>= 3)")
    parser.add_argument("--enas-epochs", type=_positive, default=EnasConfig.epochs, help="ENAS epochs per search")
    parser.add_argument(
        "--standalone-epochs", type=_positive, default=ASSESSMENT_OVERRIDES["epochs"], help="stand-alone epochs"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=_positive, default=1, help="torch CPU threads (default 1: small tensors)")
    parser.add_argument("--out", type=Path, default=Path("runs/enas_assessment.json"), help="report JSON")
    parser.add_argument("--plot", type=Path, help="figure (PNG) of the three parts")
    parser.add_argument("--force", action="store_true", help="overwrite --out / --plot")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.tau_cells < 3:
        parser.error(f"--tau-cells must be >= 3, got {args.tau_cells}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for path in (args.out, args.plot):
        if path is not None and path.exists() and not args.force:
            print(f"error: {path} exists; pass --force to overwrite it", file=sys.stderr)
            return 1
    import torch

    from predictor.child.cifar import CifarNotFoundError
    from predictor.child.datasets import check_dataset, load_device_data
    from predictor.data.atomic import write_json
    from predictor.weight_sharing.assessment import AssessmentConfig, format_report, run_assessment
    from predictor.weight_sharing.enas import EnasConfig
    from predictor.weight_sharing.standalone import standalone_protocol

    torch.set_num_threads(args.threads)
    try:
        check_dataset(args.dataset, args.cifar)
        data = load_device_data(args.dataset, args.cifar, args.device)
    except CifarNotFoundError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    enas = replace(
        EnasConfig(), epochs=args.enas_epochs, warmup_epochs=min(EnasConfig.warmup_epochs, args.enas_epochs - 1)
    )
    config = AssessmentConfig(
        seeds=args.seeds,
        top_k=args.top_k,
        tau_cells=args.tau_cells,
        enas=enas,
        standalone=standalone_protocol(epochs=args.standalone_epochs),
    )
    report = run_assessment(data, config, progress=not args.no_progress) | {"dataset": args.dataset}
    print(f"ENAS assessment, real training on {args.dataset}")
    print(format_report(report))
    write_json(report, args.out, force=args.force)
    print(f"wrote {args.out}")
    if args.plot:
        from predictor.weight_sharing.plots import plot_assessment

        plot_assessment(report, args.plot, force=args.force)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
