"""The learned strategies wired to the real GCN library (`predictor.gcn.training`, `predictor.gcn.two_stage`)."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.search.benchmark import Benchmark
from predictor.search.recipes import StepBudget, config_for_size, training_config
from predictor.search.registry import StrategySettings, build_strategy
from predictor.search.runner import run_trial
from tests.search_fixtures import small_pool


@pytest.fixture(scope="module")
def pool(sample_hdf5) -> Benchmark:
    return small_pool(Benchmark.from_file(sample_hdf5), 400, seed=4)


def test_search_recipe_fixes_the_number_of_steps():
    recipe = training_config("search")
    assert isinstance(recipe, StepBudget)
    for n in (10, 37, 160, 900):
        config = config_for_size(recipe, n)
        steps_per_epoch = max(1, n // config.batch_size)
        assert recipe.steps <= config.epochs * steps_per_epoch < recipe.steps + steps_per_epoch


@pytest.mark.parametrize("name", ["predictor", "pnas", "paper", "paper-two-stage"])
def test_learned_strategies_run_on_the_gcn_and_repeat_with_a_seed(pool, name, one_thread):
    settings = StrategySettings(paper_initial_queries=20)
    first = run_trial(pool, build_strategy(name, settings), 30, master_seed=2, trial=0, name=name)
    again = run_trial(pool, build_strategy(name, settings), 30, master_seed=2, trial=0, name=name)
    assert len(first.rows) == 30 == len(set(first.rows.tolist()))
    assert np.array_equal(first.rows, again.rows)
