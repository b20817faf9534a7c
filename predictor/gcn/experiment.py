"""What `train.py` does, as functions: pick modules and labels, train, evaluate, write the run's files.

Evaluation sets: "rest" (default) is every module of the file that was not used for
training; "all" is every module, the paper's convention (training modules included); any
other name is a split file from splits/, used as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_directory, write_json
from predictor.data.dataset import NASBench
from predictor.data.labels import LabelSpec
from predictor.data.splits import load_split
from predictor.gcn.config import TrainConfig
from predictor.gcn.cross_validation import CrossValidation, cross_validate
from predictor.gcn.evaluation import classification_metrics, regression_metrics
from predictor.gcn.model import Predictor
from predictor.gcn.plots import scatter_plot, training_curve
from predictor.gcn.training import fit
from predictor.gcn.two_stage import TwoStagePredictor, fit_two_stage

REST = "rest"
# what a run folder holds: --force replaces a folder only when it holds nothing else
RUN_FILES = frozenset(
    {"model.pt", "metrics.json", "scatter.png", "training_curve.png", "cv.json"}
    | {"classifier.pt", "regressor.pt", "regressor_alone.pt", "scatter_alone.png"}
)


@dataclass
class Modules:
    """Rows of a NASBench file with their arrays and labels."""

    name: str
    description: str
    rows: np.ndarray
    adjacency: np.ndarray
    operations: np.ndarray
    num_vertices: np.ndarray
    labels: np.ndarray
    hashes: np.ndarray
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.adjacency, self.operations, self.num_vertices

    def excluding(self, hashes: np.ndarray) -> Modules:
        """The same set without the given modules (e.g. the training ones)."""
        return self.subset(~np.isin(self.hashes, hashes), self.name, f"{self.description}, training modules left out")

    def subset(self, mask: np.ndarray, name: str, description: str) -> Modules:
        return Modules(
            name,
            description,
            self.rows[mask],
            self.adjacency[mask],
            self.operations[mask],
            self.num_vertices[mask],
            self.labels[mask],
            self.hashes[mask],
        )


def open_data(path: str | Path) -> NASBench:
    """The HDF5 file, or an error that says how to make it."""
    return NASBench(path)


def modules(
    bench: NASBench,
    rows: np.ndarray,
    name: str,
    description: str,
    label: LabelSpec,
) -> Modules:
    """Modules at `rows` with their labels; modules without a label (NaN) are dropped, with a note."""
    rows = np.asarray(rows, dtype=np.int64)
    labels = label.values(bench)[rows]
    infinite = np.isinf(labels)
    if infinite.any():
        raise ValueError(
            f"{bench.path}: {int(infinite.sum())} modules of {name} have an infinite {label.describe()} "
            f"(first at row {rows[infinite][0]}); convert the tfrecord again"
        )
    known = ~np.isnan(labels)
    notes = [] if known.all() else [f"{int((~known).sum())} modules without a {label.describe()} left out"]
    rows, labels = rows[known], labels[known]
    return Modules(
        name,
        description,
        rows,
        bench.adjacency[rows],
        bench.operations[rows],
        bench.num_vertices[rows],
        labels,
        bench.hashes[rows],
        notes,
    )


def training_modules(bench: NASBench, split: str, splits_dir: Path, label: LabelSpec) -> Modules:
    chosen = load_split(split, bench, splits_dir)
    return modules(bench, chosen.rows, chosen.name, chosen.description or chosen.name, label)


def evaluation_modules(
    bench: NASBench, name: str | None, splits_dir: Path, label: LabelSpec, train_hashes: np.ndarray | None
) -> Modules:
    """The evaluation set named `name` (None = "rest"); says how many training modules it holds."""
    name = name or REST
    trained = np.isin(bench.hashes, train_hashes) if train_hashes is not None else np.zeros(len(bench), bool)
    if name == REST:
        rows = np.flatnonzero(~trained)
        description = f"every module of {bench.path} not used for training"
    elif name == "all":
        rows = np.arange(len(bench))
        description = f"every module of {bench.path} (paper convention: training modules included)"
    else:
        chosen = load_split(name, bench, splits_dir)
        rows, description = chosen.rows, chosen.description or name
    result = modules(bench, rows, name, description, label)
    overlap = int(trained[result.rows].sum())
    if overlap:
        result.notes.append(f"includes {overlap} training modules")
    return result


# --- regressor / classifier ------------------------------------------------------------
def train(train_set: Modules, config: TrainConfig, seed: int, engine: str = "auto", progress: bool = True) -> Predictor:
    model = fit(*train_set.arrays(), train_set.labels, config, seed, engine=engine, progress=progress)
    model.train_hashes = train_set.hashes
    model.info.update(train_split=train_set.name)
    return model


def evaluate(model: Predictor, eval_set: Modules) -> tuple[dict, np.ndarray]:
    """Metrics of a regressor (regression figures) or classifier (precision/recall/AUC), and the predictions."""
    started = time.perf_counter()
    predicted = model.predict(*eval_set.arrays())
    seconds = time.perf_counter() - started
    if model.is_classifier:
        metrics = {"threshold": model.threshold, **classification_metrics(predicted, eval_set.labels > model.threshold)}
    else:
        metrics = regression_metrics(predicted, eval_set.labels)
    metrics.update(
        eval_split=eval_set.name,
        eval_split_description=eval_set.description,
        eval_notes=eval_set.notes,
        predict_seconds=round(seconds, 3),
    )
    return metrics, predicted


def write_run(
    out: Path,
    model: Predictor,
    metrics: dict,
    predicted: np.ndarray,
    eval_set: Modules,
    extra: dict,
    force: bool = False,
) -> dict[str, Path]:
    """The run folder, whole or not at all: checkpoint, metrics JSON (with the configuration), plots."""
    with atomic_directory(out, force=force, replaceable=RUN_FILES) as folder:
        files = {"checkpoint": model.save(folder / "model.pt")}
        payload = {**metrics, **extra, "config": model.config.to_dict(), "checkpoint": str(out / "model.pt")}
        files["metrics"] = write_json(payload, folder / "metrics.json")
        title = f"{model.config.task} on {model.info.get('train_split', '?')}, evaluated on {eval_set.name}"
        if not model.is_classifier:
            files["scatter"] = scatter_plot(predicted, eval_set.labels, folder / "scatter.png", title)
        files["curve"] = training_curve(model.history, folder / "training_curve.png", title)
    return {key: out / path.name for key, path in files.items()}


def write_two_stage_run(
    out: Path, two: TwoStagePredictor, alone: Predictor, good: Modules, payload: dict, force: bool = False
) -> list[Path]:
    """The two-stage run folder, whole or not at all: the three models, metrics, and a scatter of each
    regressor on the good modules."""
    with atomic_directory(out, force=force, replaceable=RUN_FILES) as folder:
        files = [*two.save(folder), alone.save(folder / "regressor_alone.pt")]
        files.append(write_json(payload, folder / "metrics.json"))
        for model, name, what in ((two.regressor, "scatter.png", "two-stage"), (alone, "scatter_alone.png", "alone")):
            title = f"regressor ({what}) on {model.info.get('train_split', '?')}, evaluated on {good.name}"
            files.append(scatter_plot(model.predict(*good.arrays()), good.labels, folder / name, title))
    return [out / path.name for path in files]


def write_cross_validation(out: Path, payload: dict, force: bool = False) -> Path:
    """The cross-validation folder, holding cv.json."""
    with atomic_directory(out, force=force, replaceable=RUN_FILES) as folder:
        write_json(payload, folder / "cv.json")
    return out / "cv.json"


# --- cross-validation ------------------------------------------------------------------
def run_cross_validation(
    train_set: Modules, config: TrainConfig, k: int, seed: int, engine: str = "auto", progress: bool = False
) -> CrossValidation:
    return cross_validate(
        *train_set.arrays(), train_set.labels, config, k=k, seed=seed, engine=engine, progress=progress
    )


# --- two stages ------------------------------------------------------------------------
def run_two_stage(
    train_set: Modules,
    eval_set: Modules,
    good_set: Modules,
    classifier_config: TrainConfig,
    regressor_config: TrainConfig,
    seed: int,
    engine: str = "auto",
    progress: bool = True,
) -> tuple[TwoStagePredictor, Predictor, dict]:
    """Two-stage predictor and the regressor alone (all training modules), compared on `good_set`.

    Returns the two models and a metrics dict: the filter's classification figures on the
    evaluation set, both regressors on the good modules, and both rankings' top-k picks.
    """
    two_stage = fit_two_stage(
        *train_set.arrays(),
        train_set.labels,
        classifier_config,
        regressor_config,
        seed,
        engine=engine,
        progress=progress,
    )
    alone = fit(
        *train_set.arrays(),
        train_set.labels,
        regressor_config.replace(task="regression"),
        seed,
        engine=engine,
        progress=progress,
    )
    for model in (two_stage.classifier, two_stage.regressor, alone):
        model.train_hashes = train_set.hashes
        model.info.update(train_split=train_set.name)
    threshold = two_stage.classifier.threshold
    kept = two_stage.keep(*eval_set.arrays())
    filter_metrics = classification_metrics(
        two_stage.classifier.predict(*eval_set.arrays()), eval_set.labels > threshold
    )
    ranked = two_stage.rank(*eval_set.arrays())
    pipeline = regression_metrics(-np.argsort(ranked).astype(float), eval_set.labels)
    metrics = {
        "threshold": threshold,
        "trained_regressor_on": int(two_stage.regressor.info.get("trained_on_kept", 0)),
        "filter": {**filter_metrics, "kept": int(kept.sum())},
        "good_split": good_set.name,
        "two_stage_regressor": regression_metrics(two_stage.regressor.predict(*good_set.arrays()), good_set.labels),
        "regressor_alone": regression_metrics(alone.predict(*good_set.arrays()), good_set.labels),
        "two_stage_ranking": {k: v for k, v in pipeline.items() if k.startswith("top") or k == "n"},
        "regressor_alone_ranking": {
            k: v
            for k, v in regression_metrics(alone.predict(*eval_set.arrays()), eval_set.labels).items()
            if k.startswith("top") or k == "n"
        },
        "eval_split": eval_set.name,
    }
    return two_stage, alone, metrics
