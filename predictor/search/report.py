"""What a comparison prints and writes: the summary table, its JSON, and every trial's curve.

Regret is in percentage points of accuracy: (pool best - incumbent) x 100.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_outputs, json_text
from predictor.search.benchmark import TOP_FRACTION
from predictor.search.plotting import plot_comparison
from predictor.search.registry import build_strategy
from predictor.search.runner import ComparisonResult, TrialResult
from predictor.search.statistics import (
    CensoredQuantile,
    Curves,
    censored_quantile,
    queries_to_target,
    random_search_median_queries,
    trial_curves,
)

REGRET_BUDGETS = (50, 100, 150, 300)
REGRET_UNIT = "percentage points of accuracy: (pool best - incumbent mean validation accuracy) x 100"
TARGET_KEY = f"median_queries_to_top_{TOP_FRACTION * 100:g}pct"


@dataclass(frozen=True)
class StrategySummary:
    name: str
    description: str
    hits: list[int | None]  # queries to the target, per trial (None: not within the budget)
    median: CensoredQuantile
    quartiles: tuple[CensoredQuantile, CensoredQuantile]
    regret_at: dict[int, float]  # mean over trials, percentage points
    final_validation: float  # mean incumbent mean validation accuracy at the budget
    final_test: float | None  # same for test accuracy, None where the file has none
    seconds_per_trial: float
    answered_as_proposed: float | None  # share of proposals the pool held as proposed (rule not applied)
    poisoned_share: tuple[float, float] = (0.0, 0.0)  # share of queries holding a zero op: first, last half


def curves_of(comparison: ComparisonResult, name: str) -> list[Curves]:
    b = comparison.benchmark
    return [trial_curves(b, r.rows, r.observed, comparison.budget) for r in comparison.of(name)]


def poisoned_query_share(trials: list[TrialResult], budget: int) -> tuple[float, float]:
    """Mean over trials of the share of queries whose proposal held a zero op, in the first and the last half
    of the budget (a trial that stopped early: among the queries it made in that half)."""
    half = budget // 2
    shares = []
    for result in trials:
        poisoned = np.zeros(len(result.rows), dtype=bool)
        poisoned[: len(result.poisoned)] = result.poisoned
        shares.append(
            [poisoned[part].mean() if len(poisoned[part]) else 0.0 for part in (slice(0, half), slice(half, budget))]
        )
    first, last = np.mean(shares, axis=0)
    return float(first), float(last)


def summarize(comparison: ComparisonResult, name: str) -> StrategySummary:
    trials = comparison.of(name)
    curves = curves_of(comparison, name)
    budget = comparison.budget
    hits = [queries_to_target(comparison.benchmark.target_mask, r.rows) for r in trials]
    regret = np.stack([c.regret for c in curves])
    tests = np.array([c.incumbent_test[-1] for c in curves])
    distances = np.concatenate([r.edit_distances for r in trials])
    return StrategySummary(
        name=name,
        description=build_strategy(name, comparison.settings).describe(),
        hits=hits,
        median=censored_quantile(hits, budget, 0.5),
        quartiles=(censored_quantile(hits, budget, 0.25), censored_quantile(hits, budget, 0.75)),
        regret_at={q: float(regret[:, q - 1].mean()) for q in REGRET_BUDGETS if q <= budget},
        final_validation=float(np.mean([c.incumbent_validation[-1] for c in curves])),
        final_test=None if np.isnan(tests).any() else float(tests.mean()),
        seconds_per_trial=float(np.mean([r.seconds for r in trials])),
        answered_as_proposed=float(np.mean(distances == 0)) if len(distances) else None,
        poisoned_share=poisoned_query_share(trials, budget),
    )


def table(comparison: ComparisonResult, summaries: list[StrategySummary]) -> str:
    b = comparison.benchmark
    target = int(b.target_mask.sum())
    budgets = [q for q in REGRET_BUDGETS if q <= comparison.budget]
    poison = comparison.settings.poison
    header = (
        ["strategy", f"final val % @{comparison.budget}"]
        + [f"regret@{q}" for q in budgets]
        + [f"to top {TOP_FRACTION * 100:g}%: median [IQR]", "reached", "as proposed", "s/trial"]
        + (["poisoned 1st/2nd half"] if poison else [])
    )
    rows = [
        [s.name, f"{s.final_validation * 100:.2f}"]
        + [f"{s.regret_at[q]:.3f}" for q in budgets]
        + [
            f"{s.median} [{s.quartiles[0]}, {s.quartiles[1]}]",
            f"{sum(h is not None for h in s.hits)}/{len(s.hits)}",
            "-" if s.answered_as_proposed is None else f"{s.answered_as_proposed:.0%}",
            f"{s.seconds_per_trial:.1f}",
        ]
        + ([f"{s.poisoned_share[0]:.0%}/{s.poisoned_share[1]:.0%}"] if poison else [])
        for s in summaries
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(
        str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    lines = [
        f"pool: {len(b):,} modules from {b.source}; best mean validation accuracy {b.best_validation * 100:.2f}%; "
        f"top {TOP_FRACTION * 100:g}% = {target} modules (>= {b.target_threshold * 100:.2f}%, ties included)",
        f"{comparison.trials} trials x budget {comparison.budget}, seed {comparison.seed}, "
        f"{comparison.workers} workers, {comparison.seconds:.0f} s"
        + (f" (+{comparison.resumed} trials from an earlier run)" if comparison.resumed else ""),
        f"regret in {REGRET_UNIT}, mean over trials; queries to the top {TOP_FRACTION * 100:g}%: median and "
        f"interquartile range over trials, '>{comparison.budget}' = not reached within the budget; "
        "as proposed: share of proposed cells the pool held and answered as such (the rest went to the "
        "nearest unqueried module)"
        + (
            f"; {poison} zero ops in the op vocabulary: poisoned = share of queries whose proposal held one, "
            "first / second half of the budget"
            if poison
            else ""
        ),
        "",
        line(header),
        line(["-" * w for w in widths]),
        *map(line, rows),
        "",
        f"random search, closed form: median {random_search_median_queries(len(b), target)} queries to the top "
        f"{TOP_FRACTION * 100:g}% (sampling without replacement, {target} targets in {len(b):,})",
    ]
    return "\n".join(lines)


def _number(quantile: CensoredQuantile) -> float | None:
    return quantile.value


def summary_json(comparison: ComparisonResult, summaries: list[StrategySummary]) -> dict:
    b = comparison.benchmark
    target = int(b.target_mask.sum())
    return {
        "data": b.source,
        "pool_size": len(b),
        "pool_best_validation_accuracy": b.best_validation,
        "target": {
            "fraction": TOP_FRACTION,
            "modules": target,
            "threshold_validation_accuracy": b.target_threshold,
            "ties": "included",
        },
        "budget": comparison.budget,
        "trials": comparison.trials,
        "seed": comparison.seed,
        "workers": comparison.workers,
        "seconds": round(comparison.seconds, 1),
        "resumed_trials": comparison.resumed,
        "regret_unit": REGRET_UNIT,
        "poison": comparison.settings.poison,
        "settings": comparison.settings.to_dict(),
        "random_search_closed_form_median": random_search_median_queries(len(b), target),
        "strategies": {
            s.name: {
                "description": s.description,
                TARGET_KEY: _number(s.median),
                f"{TARGET_KEY}_display": str(s.median),
                "interquartile_range_queries": [_number(q) for q in s.quartiles],
                "reached_target": sum(h is not None for h in s.hits),
                "queries_to_target_per_trial": s.hits,
                "regret_at": {str(q): round(v, 4) for q, v in s.regret_at.items()},
                "final_validation_accuracy": s.final_validation,
                "final_test_accuracy": s.final_test,
                "seconds_per_trial": round(s.seconds_per_trial, 2),
                "share_answered_as_proposed": s.answered_as_proposed,
                "poisoned_query_share": {"first_half": s.poisoned_share[0], "last_half": s.poisoned_share[1]},
            }
            for s in summaries
        },
    }


def write_curves(path: str | Path, comparison: ComparisonResult, compressed: bool | None = None) -> None:
    """One line per (strategy, trial, query): what was queried, what it showed, where the search stood
    (gzip-compressed when `compressed`, by default when the name ends in .gz)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    b = comparison.benchmark
    opener = gzip.open if (path.suffix == ".gz" if compressed is None else compressed) else open
    with opener(path, "wt", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "strategy",
                "trial",
                "query",
                "module_hash",
                "observed_validation_accuracy",
                "best_observed_validation_accuracy",
                "incumbent_mean_validation_accuracy",
                "regret_points",
            ]
        )
        for name in comparison.strategies:
            for result in comparison.of(name):
                _write_trial(writer, b, result, comparison.budget)


def _write_trial(writer, benchmark, result: TrialResult, budget: int) -> None:
    curves = trial_curves(benchmark, result.rows, result.observed, budget)
    for q, (row, observed) in enumerate(zip(result.rows, result.observed)):
        writer.writerow(
            [
                result.strategy,
                result.trial,
                q + 1,
                benchmark.hashes[row].decode() if row >= 0 else "chance",
                f"{observed:.6f}",
                f"{curves.best_observed[q]:.6f}",
                f"{curves.incumbent_validation[q]:.6f}",
                f"{curves.regret[q]:.4f}",
            ]
        )


def output_paths(summary_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Where a comparison's summary JSON, curves and figure go."""
    return [Path(summary_path), Path(out_dir) / "curves.csv.gz", Path(out_dir) / "search_curves.png"]


def write_outputs(
    comparison: ComparisonResult, summaries: list[StrategySummary], summary_path: str | Path, out_dir: str | Path
) -> list[Path]:
    """Summary JSON, every trial's curve (curves.csv.gz) and the figure, which appear all three or none
    (an interruption while they are written leaves the earlier ones); returns the paths written."""
    paths = output_paths(summary_path, out_dir)
    with atomic_outputs(paths, force=True) as (summary, curves_file, figure):
        summary.write_text(json_text(summary_json(comparison, summaries), paths[0]))
        write_curves(curves_file, comparison, compressed=True)
        curves = {name: curves_of(comparison, name) for name in comparison.strategies}
        plot_comparison(comparison, curves, figure)
    return paths


def selection_report(benchmark, strategy_description: str, result: TrialResult) -> str:
    """What one search picked (the best observed module) and how it compares with the pool."""
    position = int(np.argmax(result.observed))
    best = int(result.rows[position])
    cell = benchmark.cell(best)
    hit = queries_to_target(benchmark.target_mask, result.rows)
    test = benchmark.mean_test[best]
    return "\n".join(
        [
            strategy_description,
            f"{len(result.rows)} queries in {result.seconds:.1f} s; top {TOP_FRACTION * 100:g}% first reached at query "
            f"{hit if hit else '-'}"
            + (f"; {int(result.poisoned.sum())} queries held a zero op" if result.poisoned.any() else ""),
            f"picked {cell.hash} (query {position + 1}): observed validation accuracy {result.observed[position] * 100:.2f}%, "
            f"mean validation {benchmark.mean_validation[best] * 100:.2f}%"
            + ("" if np.isnan(test) else f", mean test {test * 100:.2f}%")
            + f"; pool best {benchmark.best_validation * 100:.2f}%",
            "adjacency: "
            + " ".join("".join(map(str, row)) for row in cell.matrix.tolist())
            + "  ops: "
            + ", ".join(cell.ops),
        ]
    )
