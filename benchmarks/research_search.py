"""How fast the iterative predictor search reaches the pool's top 0.1%: variants of its model and schedule.

    python benchmarks/research_search.py --trials 12 --variants 'default=' \
        'pretrained={"config": {"pretraining_epochs": 3}}' 'initial-5={"initial": 5}'

Variant keys: initial (random queries before the first fit, default 10), config (changes to the
`search` recipe's TrainConfig), steps (optimizer steps per fit), schedule (refit phases, e.g.
[[50, 1]]). Each prints the median queries to the top 0.1% over trials (a trial that never gets
there counts as more than the budget) and regret@50 (percentage points, mean over trials), on the
same trial seeds as `search.py --compare`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from predictor import cli
from predictor.gcn.training import fit
from predictor.search.benchmark import Benchmark
from predictor.search.recipes import StepBudget, training_config
from predictor.search.runner import run_trial
from predictor.search.schedule import RetrainSchedule
from predictor.search.statistics import queries_to_target, trial_curves
from predictor.search.strategies.predictor_guided import PredictorGuidedSearch
from predictor.search.surrogate import Surrogate


def build(options: dict) -> PredictorGuidedSearch:
    recipe = training_config("search")
    budget = StepBudget(recipe.config.replace(**options.get("config", {})), int(options.get("steps", recipe.steps)))
    schedule = RetrainSchedule(tuple(map(tuple, options["schedule"]))) if "schedule" in options else RetrainSchedule()
    return PredictorGuidedSearch(Surrogate(fit, budget, 1), int(options.get("initial", 10)), schedule)


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file (the pool)")
    parser.add_argument("--variants", nargs="+", required=True, help="NAME=JSON options (see above)")
    parser.add_argument("--trials", type=cli.integer(1, 1000), default=12, help="trials per variant (>= 1)")
    parser.add_argument(
        "--first-trial", type=cli.integer(0, 100_000), default=0, help="seed of the first trial (fresh seeds confirm)"
    )
    parser.add_argument(
        "--budget", type=cli.integer(50, 20000), default=50, help="queries per trial (>= 50, for regret@50)"
    )
    args = parser.parse_args(argv)
    benchmark = Benchmark.from_file(args.data)
    print(f"pool {len(benchmark):,} modules, top 0.1% = {int(benchmark.target_mask.sum())} modules", flush=True)
    for variant in args.variants:
        name, _, text = variant.partition("=")
        try:
            strategy = build(json.loads(text or "{}"))
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            parser.error(f"variant {name}: {error}")
        hits, regrets, started = [], [], time.perf_counter()
        for trial in range(args.first_trial, args.first_trial + args.trials):
            result = run_trial(benchmark, strategy, args.budget, 0, trial)
            reached = queries_to_target(benchmark.target_mask, result.rows)
            hits.append(reached if reached is not None else args.budget + 1)
            regrets.append(trial_curves(benchmark, result.rows, result.observed, args.budget).regret[49])
        median = np.median(hits)
        print(
            f"{name:16s} median {'>' if median > args.budget else ''}{min(median, args.budget):.1f} queries to top 0.1%"
            f"  (per trial {sorted(hits)})  regret@50 {np.mean(regrets):.3f}"
            f"  {(time.perf_counter() - started) / args.trials:.1f} s/trial",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
