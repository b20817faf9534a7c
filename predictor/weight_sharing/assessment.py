"""Is ENAS's controller better than random search, and does it survive a poisoned op set?

Three questions, all answered with real training on one image dataset:
(a) the cell ENAS chooses against random search given the same number of stand-alone
    trainings (each trains `top_k` cells, ENAS its best by one-shot accuracy, random search
    uniformly drawn ones, and keeps the best by stand-alone validation accuracy; its test
    accuracy is reported), over seeds;
(b) the Kendall tau between one-shot and stand-alone validation accuracy on >= 30 random cells
    (one tau per trained one-shot network);
(c) poisoning: useless ops beside the three real ones; how often the trained controller still
    picks them against random sampling, and the stand-alone accuracy of the cell it chooses.
Stand-alone training is the child protocol (`standalone`): a NAS-Bench-101 cell trains as the
child network (official channel rule); a chosen cell that may hold useless ops is trained as its
fixed-width network, at every level. Every cell is trained once, with the protocol's seed, and
reused wherever it appears; accuracies are the protocol's final ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy.stats import kendalltau
from tqdm import tqdm

from predictor.child.cifar import DeviceCifar
from predictor.child.training import ExecutionOptions, TrainingProtocol, train_and_evaluate
from predictor.weight_sharing.architecture import (
    INTERIOR_SLOTS,
    Architecture,
    op_set,
    random_architecture,
    useless_fraction,
)
from predictor.weight_sharing.enas import Derived, EnasConfig, EnasSearch
from predictor.weight_sharing.presets import ASSESSMENT_PRESETS, ENAS_PRESETS
from predictor.weight_sharing.standalone import standalone_protocol, train_fixed_width

SHARE_SAMPLES = 500


@dataclass(frozen=True)
class AssessmentConfig:
    seeds: int = 3
    levels: tuple[int, ...] = (0, 2, 4)
    top_k: int = 3  # stand-alone trainings per search and seed in (a)
    tau_cells: int = 30
    enas: EnasConfig = field(default_factory=EnasConfig)
    standalone: TrainingProtocol = field(default_factory=standalone_protocol)

    def __post_init__(self):
        if self.seeds < 1 or self.top_k < 1 or self.tau_cells < 3:
            raise ValueError(f"need seeds >= 1, top_k >= 1, tau_cells >= 3, got {self}")
        if 0 not in self.levels:
            raise ValueError("the poisoning levels must include 0 (the clean space answers (a) and (b))")
        for level in self.levels:
            op_set(level)


def assessment_config(
    preset: str = "default", enas_epochs: int | None = None, standalone_epochs: int | None = None, **sizes
) -> AssessmentConfig:
    """The named preset (`ASSESSMENT_PRESETS`); epochs and sizes (`seeds`, `top_k`, ...) given as not None replace its own."""
    settings = ASSESSMENT_PRESETS[preset]
    enas = replace(EnasConfig(), **ENAS_PRESETS[settings["enas"]])
    if enas_epochs is not None:
        enas = replace(enas, epochs=enas_epochs, warmup_epochs=min(enas.warmup_epochs, enas_epochs - 1))
    standalone = settings["standalone"] | ({} if standalone_epochs is None else {"epochs": standalone_epochs})
    own_sizes = {name: value for name, value in settings.items() if name not in ("enas", "standalone")}
    given = {name: value for name, value in sizes.items() if value is not None}
    return AssessmentConfig(enas=enas, standalone=standalone_protocol(**standalone), **(own_sizes | given))


class StandaloneCache:
    """Stand-alone results by cell, each cell trained once: final validation and test accuracy, parameters, time."""

    def __init__(self, data: DeviceCifar, protocol: TrainingProtocol, progress: tqdm):
        self.data, self.protocol, self.progress, self.results = data, protocol, progress, {}
        self.options = ExecutionOptions(device=str(data.device))

    def nb101(self, architecture: Architecture) -> dict:
        cell = architecture.cell()
        key = ("nb101", cell.hash)
        if key not in self.results:
            metrics = train_and_evaluate(cell, self.data, self.protocol, self.options)
            self.results[key] = _summary(metrics) | {"hash": cell.hash}
            self.progress.update()
        return self.results[key]

    def fixed_width(self, architecture: Architecture) -> dict:
        key = ("fixed-width", architecture.key())
        if key not in self.results:
            self.results[key] = _summary(train_fixed_width(architecture, self.data, self.protocol))
            self.progress.update()
        return self.results[key]


def _summary(metrics: dict) -> dict:
    return {
        "validation_accuracy": metrics["final_validation_accuracy"],
        "test_accuracy": metrics["final_test_accuracy"],
        "trainable_parameters": metrics["trainable_parameters"],
        "training_time": metrics["final_training_time"],
    }


def _best_by_validation(results: list[dict]) -> dict:
    return max(results, key=lambda r: r["validation_accuracy"])


def _spread(values: list[float]) -> dict:
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}


def useless_shares(architectures: list[Architecture], decisions: np.ndarray, level: int) -> dict:
    return {
        "active": useless_fraction(architectures),
        "decisions": float(np.mean(decisions >= len(op_set(0)))) if level else 0.0,
    }


def run_assessment(data: DeviceCifar, config: AssessmentConfig = AssessmentConfig(), progress: bool = True) -> dict:
    """All three parts; a JSON-ready dict (figures, cells, timings)."""
    started = time.perf_counter()
    bar = tqdm(desc="stand-alone trainings", unit="net", disable=not progress)
    cache = StandaloneCache(data, config.standalone, bar)
    searches: dict[int, list[tuple[EnasSearch, list[Derived]]]] = {}
    runs: dict[int, list[dict]] = {}
    for level in config.levels:
        searches[level], runs[level] = [], []
        for seed in range(config.seeds):
            search = EnasSearch(data, replace(config.enas, useless_ops=level, top_k=config.top_k), seed, progress)
            result = search.run()
            rows = np.array(search.policy.sample(SHARE_SAMPLES))[:, : len(INTERIOR_SLOTS)]
            shares = useless_shares(search.sample_architectures(SHARE_SAMPLES), rows, level)
            searches[level].append((search, result.derived))
            runs[level].append(result.summary() | {"seed": seed, "level": level, "controller_useless": shares})
    search_seconds = time.perf_counter() - started

    # (a) ENAS against random search, `top_k` stand-alone trainings each
    clean_ops = op_set(0)
    part_a = []
    random_cells: list[Architecture] = []
    for seed, (_, derived) in enumerate(searches[0]):
        enas_results = [cache.nb101(d.architecture) for d in derived]
        rng = np.random.default_rng(10_000 + seed)
        drawn = [random_architecture(clean_ops, rng) for _ in range(config.top_k)]
        random_cells += drawn
        random_results = [cache.nb101(a) for a in drawn]
        part_a.append(
            {
                "seed": seed,
                "enas": _best_by_validation(enas_results),
                "random": _best_by_validation(random_results),
                "enas_cells": [d.architecture.describe() for d in derived],
                "random_cells": [a.describe() for a in drawn],
                "enas_mean_test": float(np.mean([r["test_accuracy"] for r in enas_results])),
                "random_mean_test": float(np.mean([r["test_accuracy"] for r in random_results])),
            }
        )

    # (b) one-shot against stand-alone accuracy on random cells
    rng = np.random.default_rng(20_000)
    tau_cells = {a.cell().hash: a for a in random_cells}
    while len(tau_cells) < config.tau_cells:
        architecture = random_architecture(clean_ops, rng)
        tau_cells.setdefault(architecture.cell().hash, architecture)
    tau_cells_list = list(tau_cells.values())[: config.tau_cells]
    standalone = [cache.nb101(a)["validation_accuracy"] for a in tau_cells_list]
    taus, one_shot_scores = [], []
    for search, _ in searches[0]:
        scores = [search.one_shot_accuracy(a) for a in tau_cells_list]
        one_shot_scores.append(scores)
        taus.append(float(kendalltau(scores, standalone).statistic))
    part_b = {
        "cells": [a.describe() for a in tau_cells_list],
        "standalone_validation": standalone,
        "one_shot_validation": one_shot_scores,
        "tau": _spread([t if np.isfinite(t) else 0.0 for t in taus]),
        "tau_undefined": sum(not np.isfinite(t) for t in taus),
    }

    # (c) poisoning
    part_c = []
    for level in config.levels:
        ops = op_set(level)
        rng = np.random.default_rng(30_000 + level)
        drawn = [random_architecture(ops, rng) for _ in range(SHARE_SAMPLES)]
        random_rows = np.array([[ops.index(a.ops[s]) for s in INTERIOR_SLOTS] for a in drawn])
        picks = [derived[0].architecture for _, derived in searches[level]]
        chosen = [cache.fixed_width(a) for a in picks]
        part_c.append(
            {
                "level": level,
                "ops": list(ops),
                "controller_useless_active": _spread([r["controller_useless"]["active"] for r in runs[level]]),
                "controller_useless_decisions": _spread([r["controller_useless"]["decisions"] for r in runs[level]]),
                "random_useless": useless_shares(drawn, random_rows, level),
                "chosen_cells": [a.describe() for a in picks],
                "chosen_useless": useless_fraction(picks),
                "chosen_standalone_test": _spread([r["test_accuracy"] for r in chosen]),
                "chosen_standalone_validation": _spread([r["validation_accuracy"] for r in chosen]),
            }
        )
    bar.close()
    return {
        "config": asdict(config),
        "device": str(data.device),
        "a_enas_vs_random": {
            "per_seed": part_a,
            "enas_test": _spread([p["enas"]["test_accuracy"] for p in part_a]),
            "random_test": _spread([p["random"]["test_accuracy"] for p in part_a]),
        },
        "b_kendall_tau": part_b,
        "c_poisoning": part_c,
        "enas_runs": runs,
        "standalone_trainings": len(cache.results),
        "seconds": {"searches": search_seconds, "total": time.perf_counter() - started},
    }


def format_report(report: dict) -> str:
    """The three tables as text (mean +- std over seeds)."""

    def ms(spread: dict, scale: float = 100.0) -> str:
        return f"{spread['mean'] * scale:6.2f} +- {spread['std'] * scale:5.2f}"

    a, b = report["a_enas_vs_random"], report["b_kendall_tau"]
    lines = [
        f"(a) stand-alone test accuracy (%) of the chosen cell, {report['config']['top_k']} trainings per search, "
        f"{len(a['per_seed'])} seeds",
        f"    ENAS           {ms(a['enas_test'])}   per seed {[round(v * 100, 2) for v in a['enas_test']['values']]}",
        f"    random search  {ms(a['random_test'])}   per seed {[round(v * 100, 2) for v in a['random_test']['values']]}",
        f"(b) Kendall tau, one-shot vs stand-alone validation accuracy, {len(b['cells'])} random cells: "
        f"{b['tau']['mean']:.3f} +- {b['tau']['std']:.3f} over {len(b['tau']['values'])} one-shot networks "
        f"{[round(v, 3) for v in b['tau']['values']]}",
        "(c) poisoning: share of active vertices with a useless op (controller after training | random sampling),",
        "    share of the controller's op decisions that are useless, stand-alone test accuracy (%) of its chosen cell",
        "    level  controller active    random  decisions            chosen cell test acc",
    ]
    for c in report["c_poisoning"]:
        lines.append(
            f"    {c['level']:>5}  {ms(c['controller_useless_active'])}  {c['random_useless']['active'] * 100:6.2f}  "
            f"{ms(c['controller_useless_decisions'])}  {ms(c['chosen_standalone_test'])}"
        )
    seconds = report["seconds"]
    lines.append(
        f"wall time {seconds['total']:.0f} s ({seconds['searches']:.0f} s ENAS searches, "
        f"{report['standalone_trainings']} stand-alone trainings), device {report['device']}"
    )
    return "\n".join(lines)
