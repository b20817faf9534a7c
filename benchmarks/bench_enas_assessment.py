"""Assess ENAS on real images: its chosen cell against random search, one-shot vs stand-alone ranking, poisoning.

    python benchmarks/bench_enas_assessment.py --out runs/enas_assessment.json --plot docs/enas_assessment.png
    python benchmarks/bench_enas_assessment.py --dataset cifar10 --cifar DIR --preset cpu \
        --out runs/enas_assessment_cifar.json --plot docs/enas_assessment_cifar.png

Everything is real training on scikit-learn's digits (or CIFAR-10 with --dataset cifar10).
The baseline is random search given the same number of stand-alone trainings, in the same run.
Sizes: see docs/enas.md. "default" (made for digits): 3 seeds, ENAS 24 epochs on a 3-module
proxy, stand-alone 4 epochs at 1/8 width. "cpu" (reduced CIFAR-10 for two CPU cores): ENAS's
"cpu" search, stand-alone trainings on the child's "cpu" protocol with 4,000 training images,
2 seeds, poisoning levels 0 and 4, 20 cells for the Kendall tau.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from predictor import cli
    from predictor.child.datasets import DATASETS
    from predictor.weight_sharing.presets import ASSESSMENT_PRESETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, default="digits", help="images (default: digits)")
    parser.add_argument("--cifar", default="data", help="folder holding cifar-10-batches-py (--dataset cifar10)")
    parser.add_argument(
        "--preset", choices=ASSESSMENT_PRESETS, default="default", help="sizes and protocols (default: default)"
    )
    parser.add_argument("--seeds", type=cli.positive_int, help="search seeds (>= 1; default: the preset's)")
    parser.add_argument("--top-k", type=cli.positive_int, help="trainings per search in (a) (default: the preset's)")
    parser.add_argument("--tau-cells", type=int, help="cells for (b) (>= 3; default: the preset's)")
    parser.add_argument("--enas-epochs", type=cli.positive_int, help="ENAS epochs per search (default: the preset's)")
    parser.add_argument("--standalone-epochs", type=cli.positive_int, help="stand-alone epochs (default: the preset's)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument(
        "--threads", type=cli.positive_int, default=1, help="torch CPU threads (default 1: small tensors)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/enas_assessment.json"), help="report JSON")
    parser.add_argument("--plot", type=Path, help="figure (PNG) of the three parts")
    parser.add_argument("--force", action="store_true", help="overwrite --out / --plot")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.tau_cells is not None and args.tau_cells < 3:
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
    from predictor.weight_sharing.assessment import assessment_config, format_report, run_assessment

    torch.set_num_threads(args.threads)
    try:
        check_dataset(args.dataset, args.cifar)
        data = load_device_data(args.dataset, args.cifar, args.device)
    except CifarNotFoundError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    config = assessment_config(
        args.preset,
        enas_epochs=args.enas_epochs,
        standalone_epochs=args.standalone_epochs,
        seeds=args.seeds,
        top_k=args.top_k,
        tau_cells=args.tau_cells,
    )
    report = run_assessment(data, config, progress=not args.no_progress)
    report |= {"dataset": args.dataset, "preset": args.preset}
    print(f"ENAS assessment, real training on {args.dataset} (preset {args.preset})")
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
