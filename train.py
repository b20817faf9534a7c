"""Train a GCN accuracy predictor on a split of NAS-Bench-101 and evaluate it.

python train.py --split 172                          # train, evaluate on every other module, write runs/172/
python train.py --split 172 --config paper           # the paper's exact setting
python train.py --evaluate runs/172/model.pt --data other.hdf5
python train.py --split 172 --cv 5                   # cross-validate inside the training split
python train.py --split 172 --stage classifier --threshold 0.91
python train.py --split 172 --stage two-stage        # classifier filter + regressor, compared on denoise-91
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from predictor import cli
from predictor.data.atomic import check_output, check_output_directory, write_json
from predictor.data.labels import LabelSpec, parse_repeat
from predictor.gcn import experiment
from predictor.gcn.config import READOUTS, TrainConfig
from predictor.gcn.engines import ENGINES
from predictor.gcn.fitted import Predictor
from predictor.gcn.reporting import format_metrics, format_summary
from predictor.gcn.two_stage import TwoStagePredictor

CONFIGS = {"paper": TrainConfig.paper, "recommended": TrainConfig.recommended}
DEFAULT_CONFIG = "recommended"


# option -> (TrainConfig field, argparse type, help); defaults come from --config
SETTINGS = {
    "--epochs": ("epochs", cli.integer(1, 100_000), "training epochs"),
    "--batch-size": ("batch_size", cli.integer(1, 100_000), "modules per step"),
    "--lr": ("lr", cli.real(0.0, 1e6, low_inclusive=False), "Adam learning rate, cosine-annealed per epoch"),
    "--weight-decay": ("weight_decay", cli.real(0.0, 1e3), "Adam's L2 weight decay"),
    "--hidden": ("hidden", cli.integer(1, 4096), "width of the graph layers"),
    "--layers": ("layers", cli.integer(1, 32), "graph-convolution layers"),
    "--readout-hidden": ("readout_hidden", cli.integer(1, 4096), "width of fc1"),
    "--dropout": ("dropout", cli.real(0.0, 0.99), "dropout probability"),
    "--readout": ("readout", str, "'mean' of the vertices (paper) or 'mean-output': also the output vertex"),
    "--num-op-types": ("num_op_types", cli.integer(1, 64), "operation types of the vocabulary (op codes 0..K-1)"),
    "--pretraining-epochs": (
        "pretraining_epochs",
        cli.integer(0, 1000),
        "self-supervised epochs of the graph layers over the whole space before training (0: none; cached)",
    ),
    "--regression-weight": ("regression_weight", cli.real(0.0, 1e3), "weight of the MSE (0: ranking loss alone)"),
    "--ranking-weight": ("ranking_weight", cli.real(0.0, 1e3), "weight of the pairwise logistic ranking loss"),
    "--ranking-temperature": (
        "ranking_temperature",
        cli.real(0.0, 1e3, low_inclusive=False),
        "temperature of the ranking loss, in normalised-label units",
    ),
    "--label-floor": ("label_floor", cli.real(-1e3, 1e3), "floor of the normalised training labels (std units)"),
    "--threshold": (
        "threshold",
        cli.real(0.0, 1.0, low_inclusive=False),
        "classifier: the accuracy above which a module is good",
    ),
    "--threads": ("threads", cli.integer(1, 256), "CPU threads (one is fastest for these tiny matrices)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(description=__doc__)
    what = parser.add_argument_group("what to run")
    what.add_argument("--split", help="training split name (a file in --splits-dir) or path to a .npz split")
    what.add_argument(
        "--evaluate",
        type=Path,
        metavar="CHECKPOINT",
        help="evaluate a checkpoint (or a two-stage run folder) instead of training",
    )
    what.add_argument(
        "--stage",
        choices=("regressor", "classifier", "two-stage"),
        default="regressor",
        help="what to train: a regressor (default), a classifier of --threshold, or the paper's two stages",
    )
    what.add_argument(
        "--cv", type=cli.integer(2, 1000), metavar="K", help="K-fold cross-validation inside the training split"
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    data.add_argument("--splits-dir", type=Path, default=Path("splits"), help="folder of the split files")
    data.add_argument(
        "--eval-split",
        default=None,
        help="'rest' (default: every module not used for training), 'all' (paper convention: "
        "everything, training modules included) or a split name",
    )
    data.add_argument(
        "--good-split",
        default="denoise-91",
        help="two-stage: the good modules both regressors are compared on (training modules left out)",
    )
    data.add_argument(
        "--label-budget", type=int, default=108, choices=(4, 12, 36, 108), help="epochs of the labels' training runs"
    )
    data.add_argument(
        "--label-repeat", type=parse_repeat, choices=(0, 1, 2, "mean"), default=0, help="which run: 0, 1, 2 or mean"
    )
    data.add_argument(
        "--label-field",
        default="validation_accuracy",
        choices=("validation_accuracy", "test_accuracy", "train_accuracy"),
        help="the accuracy to predict",
    )
    config = parser.add_argument_group("training (defaults from --config; each setting can be overridden)")
    config.add_argument(
        "--config",
        choices=sorted(CONFIGS),
        default=DEFAULT_CONFIG,
        help=f"base setting (default: {DEFAULT_CONFIG}); 'paper' = Wen et al.'s exact recipe",
    )
    for option, (field, kind, text) in SETTINGS.items():
        choices = READOUTS if option == "--readout" else None
        config.add_argument(option, type=kind, choices=choices, default=None, help=f"{text} ({config_defaults(field)})")
    config.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="plain (autograd), fused (the fast path) or auto (default: fused when it computes the model)",
    )
    config.add_argument("--device", default=None, type=device_name, help="auto (default), cpu, cuda, cuda:1, ...")
    config.add_argument("--seed", type=cli.seed, default=0, help="fixes initial weights, batch order and dropout")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, help="run folder (default: runs/<split>[-<stage>|-cv])")
    output.add_argument("--metrics-out", type=Path, help="also write the metrics JSON here")
    output.add_argument("--force", action="store_true", help="replace an existing run folder or --metrics-out file")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def config_defaults(field: str) -> str:
    """What --config gives a setting, for --help: "default: 300" or "default: 0.001 recommended, 0.0001 paper"."""
    values = {
        name: _shown(getattr(CONFIGS[name](), field))
        for name in (DEFAULT_CONFIG, *sorted(set(CONFIGS) - {DEFAULT_CONFIG}))
    }
    if len(set(values.values())) == 1:
        return f"default: {values[DEFAULT_CONFIG]}"
    return "default: " + ", ".join(f"{value} {name}" for name, value in values.items())


def _shown(value) -> str:
    return "none" if value is None else str(value)


def device_name(text: str) -> str:
    """auto, cpu, cuda or cuda:N."""
    if text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a device (auto, cpu, cuda or cuda:N)")


def make_config(args: argparse.Namespace) -> TrainConfig:
    changes = {field: getattr(args, option[2:].replace("-", "_")) for option, (field, _, _) in SETTINGS.items()}
    changes = {field: value for field, value in changes.items() if value is not None}
    if args.device is not None:
        changes["device"] = args.device
    if args.stage == "classifier":
        changes["task"] = "classification"
    return CONFIGS[args.config]().replace(**changes)


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.split and not args.evaluate:
        parser.error("give --split NAME to train, or --evaluate CHECKPOINT")
    config = make_config(args)
    label = LabelSpec(args.label_budget, args.label_repeat, args.label_field)
    if args.metrics_out:  # every output is checked before the work
        check_output(args.metrics_out, force=args.force)
    out = None if args.evaluate else args.out or default_run_folder(args)
    if out:
        check_output_directory(out, force=args.force, replaceable=experiment.RUN_FILES)
    bench = experiment.open_data(args.data)
    if args.evaluate:
        return evaluate_checkpoint(args, bench, label)
    train_set = experiment.training_modules(bench, args.split, args.splits_dir, label)
    print(
        f"training split {train_set.name}: {len(train_set)} modules ({train_set.description}); "
        f"label: {label.describe()}; config: {args.config}" + "".join(f"; {n}" for n in train_set.notes)
    )
    try:
        if args.cv:
            return cross_validate(args, train_set, config, out)
        if args.stage == "two-stage":
            return two_stage(args, bench, train_set, label, config, out)
        return train_and_evaluate(args, bench, train_set, label, config, out)
    except ValueError as error:  # TrainingDivergedError, FusedEngineError, ...: nothing is written
        print(f"error: {error}", file=sys.stderr)
        return 1


def default_run_folder(args: argparse.Namespace) -> Path:
    """runs/<split>, with the stage or -cv appended, so that different runs never share a folder."""
    suffix = "-cv" if args.cv else "" if args.stage == "regressor" else f"-{args.stage}"
    return Path("runs") / (Path(str(args.split)).stem + suffix)


def train_and_evaluate(
    args: argparse.Namespace, bench, train_set, label: LabelSpec, config: TrainConfig, out: Path
) -> int:
    eval_set = experiment.evaluation_modules(bench, args.eval_split, args.splits_dir, label, train_set.hashes)
    model = experiment.train(train_set, config, args.seed, args.engine, progress=not args.quiet)
    metrics, predicted = experiment.evaluate(model, eval_set)
    extra = {
        "stage": args.stage,
        "train_split": train_set.name,
        "train_size": len(train_set),
        "seed": args.seed,
        "label": label.to_dict(),
        "config_name": args.config,
        "data": str(args.data),
        "train_seconds": model.info["seconds"],
        "engine": model.info["engine"],
    }
    files = experiment.write_run(out, model, metrics, predicted, eval_set, extra, force=args.force)
    report(
        metrics,
        eval_set,
        f"trained in {model.info['seconds']:.1f} s on {model.info['device']} ({model.info['engine']} engine)"
        + first_run_parts(model.info),
    )
    print("wrote " + ", ".join(str(path) for path in files.values()))
    if args.metrics_out:
        write_json({**metrics, **extra, "config": config.to_dict()}, args.metrics_out, force=args.force)
    return 0


def first_run_parts(info: dict) -> str:
    """What a first run spent before training: enumerating the space and pre-training the encoder (then cached)."""
    made = info.get("encoder_made_seconds")
    if not made:
        return ""
    return (
        f", after {made['space']:.1f} s for the space's cells and {made['pretraining']:.1f} s pre-training "
        "the encoder (a first run's work, cached for later runs)"
    )


def report(metrics: dict, eval_set, headline: str) -> None:
    notes = "".join(f"; {note}" for note in eval_set.notes)
    print(f"{headline}; evaluated on {eval_set.name}: {eval_set.description}{notes}")
    print(format_metrics(metrics))


def evaluate_checkpoint(args: argparse.Namespace, bench, label: LabelSpec) -> int:
    if args.evaluate.is_dir():
        return evaluate_two_stage(args, bench, label)
    model = Predictor.load(args.evaluate, args.device or "auto")
    eval_set = experiment.evaluation_modules(bench, args.eval_split, args.splits_dir, label, model.train_hashes)
    metrics, _ = experiment.evaluate(model, eval_set)
    extra = {
        "checkpoint": str(args.evaluate),
        "data": str(args.data),
        "label": label.to_dict(),
        "train_split": model.info.get("train_split"),
        "config": model.config.to_dict(),
    }
    report(
        metrics,
        eval_set,
        f"checkpoint {args.evaluate} ({model.config.task}, trained on {model.info.get('train_split', '?')})",
    )
    if args.metrics_out:
        write_json({**metrics, **extra}, args.metrics_out, force=args.force)
    return 0


def evaluate_two_stage(args: argparse.Namespace, bench, label: LabelSpec) -> int:
    two = TwoStagePredictor.load(args.evaluate, args.device or "auto")
    eval_set = experiment.evaluation_modules(
        bench, args.eval_split, args.splits_dir, label, two.classifier.train_hashes
    )
    kept = two.keep(*eval_set.arrays())
    metrics, _ = experiment.evaluate(two.classifier, eval_set)
    good = eval_set.subset(kept, "kept", "modules the filter keeps")
    regression, _ = experiment.evaluate(two.regressor, good)
    report(metrics, eval_set, f"two-stage run {args.evaluate}: filter")
    print(f"regressor on the {len(good):,} kept modules:\n{format_metrics(regression)}")
    if args.metrics_out:
        write_json({**metrics, "kept": regression}, args.metrics_out, force=args.force)
    return 0


def cross_validate(args: argparse.Namespace, train_set, config: TrainConfig, out: Path) -> int:
    result = experiment.run_cross_validation(
        train_set, config, args.cv, args.seed, args.engine, progress=not args.quiet
    )
    print(f"{args.cv}-fold cross-validation on {train_set.name} ({len(train_set)} modules), mean ± std over folds:")
    print(format_summary(result.summary))
    if result.pooled:
        print("all out-of-fold predictions together:")
        print(format_metrics(result.pooled))
    payload = {
        "cv": args.cv,
        "train_split": train_set.name,
        "seed": args.seed,
        **result.to_dict(),
        "config": config.to_dict(),
        "config_name": args.config,
    }
    path = experiment.write_cross_validation(out, payload, force=args.force)
    print(f"wrote {path}")
    if args.metrics_out:
        write_json(payload, args.metrics_out, force=args.force)
    return 0


def two_stage(args: argparse.Namespace, bench, train_set, label: LabelSpec, config: TrainConfig, out: Path) -> int:
    classifier_config = config.replace(task="classification")
    regressor_config = config.replace(task="regression")
    eval_set = experiment.evaluation_modules(bench, args.eval_split, args.splits_dir, label, train_set.hashes)
    good = experiment.evaluation_modules(bench, args.good_split, args.splits_dir, label, train_set.hashes)
    good = good.excluding(train_set.hashes)
    two, alone, metrics = experiment.run_two_stage(
        train_set, eval_set, good, classifier_config, regressor_config, args.seed, args.engine, progress=not args.quiet
    )
    print(
        f"filter (classifier, threshold {metrics['threshold']:.4f}) on {eval_set.name}: "
        f"keeps {metrics['filter']['kept']:,} of {len(eval_set):,}"
    )
    print(format_metrics(metrics["filter"]))
    print(
        f"regressor trained on the {metrics['trained_regressor_on']} training modules the filter keeps, "
        f"on {good.name} ({len(good):,} modules):"
    )
    print(format_metrics(metrics["two_stage_regressor"]))
    print(f"regressor alone (all {len(train_set)} training modules), on {good.name}:")
    print(format_metrics(metrics["regressor_alone"]))
    payload = {
        **metrics,
        "train_split": train_set.name,
        "seed": args.seed,
        "config": config.to_dict(),
        "label": label.to_dict(),
    }
    files = experiment.write_two_stage_run(out, two, alone, good, payload, force=args.force)
    print("wrote " + ", ".join(map(str, files)))
    if args.metrics_out:
        write_json(payload, args.metrics_out, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
