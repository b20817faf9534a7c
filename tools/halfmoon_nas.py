"""The minimal-nas system: a GRU controller trained with REINFORCE searches small MLPs for scikit-learn's
halfmoons, against random search at the same number of rollouts, over several seeds.

  python tools/halfmoon_nas.py --rollouts 5000 --seeds 5 --out runs/halfmoon/halfmoon.json

Writes the JSON (settings, per-method table, per-seed best architecture, per-rollout accuracies)
and the accuracy-over-rollouts plot beside it (same name, .png), both or neither; prints the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

from predictor import cli
from predictor.data.atomic import atomic_outputs, check_output, json_text
from predictor.halfmoon.children import ChildTraining, load_halfmoon
from predictor.halfmoon.report import method_summary, plot, table
from predictor.halfmoon.search import METHODS, ControllerSettings, make_search, run_lockstep


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rollouts", type=cli.positive_int, default=5000, help="children sampled per search (default: %(default)s)"
    )
    parser.add_argument(
        "--seeds", type=cli.positive_int, default=5, help="searches per method, seeds 0..N-1 (default: %(default)s)"
    )
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, from {','.join(METHODS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--per-update",
        type=cli.positive_int,
        default=50,
        help="rollouts per controller update, trained as one batch (default: %(default)s)",
    )
    parser.add_argument(
        "--child-epochs",
        type=cli.positive_int,
        default=ChildTraining.epochs,
        help="epochs of every child's training (default: %(default)s)",
    )
    parser.add_argument(
        "--learning-rate",
        type=cli.real(1e-6, 10.0),
        default=ControllerSettings.learning_rate,
        help="controller's Adam learning rate (default: %(default)s)",
    )
    parser.add_argument(
        "--entropy-weight",
        type=cli.real(0.0, 10.0),
        default=ControllerSettings.entropy_weight,
        help="entropy bonus at the start (default: %(default)s)",
    )
    parser.add_argument(
        "--entropy-decay",
        type=cli.probability,
        default=ControllerSettings.entropy_decay,
        help="factor on the entropy bonus per rollout (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/halfmoon/halfmoon.json"),
        help="JSON output; the plot goes beside it with .png (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--threads", type=cli.integer(1, 256), default=1, help="torch threads (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        print(f"error: unknown methods {unknown}; choose from {', '.join(METHODS)}", file=sys.stderr)
        return 2
    figure = args.out.with_suffix(".png")
    for path in (args.out, figure):
        check_output(path, force=args.force)

    import torch

    torch.set_num_threads(args.threads)
    data = load_halfmoon()
    training = ChildTraining(epochs=args.child_epochs)
    controller = ControllerSettings(
        learning_rate=args.learning_rate, entropy_weight=args.entropy_weight, entropy_decay=args.entropy_decay
    )
    started = time.perf_counter()
    results = []
    for method in methods:
        searches = [make_search(method, seed, controller) for seed in range(args.seeds)]
        print(f"{method}: {args.seeds} seeds x {args.rollouts:,} rollouts", file=sys.stderr)
        results.append(run_lockstep(searches, args.rollouts, args.per_update, data, training, not args.no_progress))
    summaries = [method_summary(result) for result in results]
    payload = {
        "settings": {
            **{key: value for key, value in vars(args).items() if key not in ("out", "force", "no_progress", "debug")},
            "child_training": asdict(training),
            "controller": asdict(controller),
        },
        "summary": summaries,
        "validation_accuracy_per_rollout": {
            result.traces[0].method: [[round(v, 4) for v in trace.validation] for trace in result.traces]
            for result in results
        },
        "seconds": time.perf_counter() - started,
    }
    with atomic_outputs([args.out, figure], force=args.force) as (json_file, figure_file):
        json_file.write_text(json_text(payload, args.out))
        plot(results, figure_file)
    print(table(summaries))
    for summary in summaries:
        for seed in summary["per_seed"]:
            print(
                f"{summary['method']} seed {seed['seed']}: best {seed['best_architecture']} "
                f"(validation {seed['best_validation_accuracy']:.3f}, test {seed['best_test_accuracy']:.3f}, "
                f"rollout {seed['best_found_at']})"
            )
            if summary["method"] == "controller":
                print(
                    f"  settled on {seed['most_sampled_late']} ({seed['most_sampled_share']:.0%} of the last "
                    f"{seed['late_rollouts']:,}; validation {seed['most_sampled_validation_accuracy']:.3f}, "
                    f"test {seed['most_sampled_test_accuracy']:.3f})"
                )
    print(f"wrote {args.out} and {figure} ({payload['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
