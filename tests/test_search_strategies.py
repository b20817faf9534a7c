"""Every strategy under the same harness: budget, no repeated module, determinism, monotone best-so-far."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.common.errors import TooFewKeptError, TrainingDivergedError
from predictor.search.benchmark import Benchmark
from predictor.search.oracle import BudgetExhaustedError, Oracle
from predictor.search.runner import run_trial
from predictor.search.schedule import RetrainSchedule
from predictor.search.statistics import trial_curves
from predictor.search.strategies.parameter_ranking import ParameterRanking
from predictor.search.strategies.predictor_guided import PredictorGuidedSearch
from predictor.search.strategies.random_search import RandomSearch
from predictor.search.surrogate import Surrogate, TwoStageSurrogate
from tests.search_fixtures import small_pool
from tests.search_stand_ins import (
    FitRecorder,
    diverging_fit,
    make_strategies,
    ridge_fit,
    ridge_two_stage,
    two_stage_surrogate,
)

POOL_SIZE = 400
BUDGET = 60


@pytest.fixture(scope="module")
def sample(sample_hdf5) -> Benchmark:
    return Benchmark.from_file(sample_hdf5)


@pytest.fixture(scope="module")
def pool(sample) -> Benchmark:
    return small_pool(sample, POOL_SIZE)


@pytest.mark.parametrize("name", list(make_strategies()))
def test_budget_distinct_queries_determinism_and_monotone_curve(pool, name):
    first = run_trial(pool, make_strategies()[name], BUDGET, master_seed=7, trial=3)
    again = run_trial(pool, make_strategies()[name], BUDGET, master_seed=7, trial=3)
    other = run_trial(pool, make_strategies()[name], BUDGET, master_seed=7, trial=4)

    assert len(first.rows) == BUDGET
    assert len(set(first.rows.tolist())) == BUDGET, "no module is queried twice"
    assert np.array_equal(first.rows, again.rows) and np.array_equal(first.observed, again.observed)
    if name != "params":  # a fixed ranking differs between trials only through ties
        assert not np.array_equal(first.rows, other.rows)
    for row, value in zip(first.rows, first.observed):
        repeats = pool.validation_repeats[row]
        assert np.any(np.isclose(repeats[~np.isnan(repeats)], value)), "a query reveals one stored repeat"
    curves = trial_curves(pool, first.rows, first.observed, BUDGET)
    assert np.all(np.diff(curves.best_observed) >= 0)
    assert curves.best_observed[-1] == first.observed.max()


@pytest.mark.parametrize("name", ["random", "params", "evolution", "predictor", "pnas"])
def test_stops_once_the_pool_is_used_up(sample, name):
    tiny = small_pool(sample, 25, seed=1)
    result = run_trial(tiny, make_strategies()[name], budget=40, master_seed=0, trial=0)
    assert sorted(result.rows.tolist()) == list(range(25))


def test_parameter_ranking_queries_biggest_first(pool):
    result = run_trial(pool, ParameterRanking(), BUDGET, master_seed=0, trial=0)
    parameters = pool.trainable_parameters[result.rows]
    assert np.all(np.diff(parameters) <= 0)
    assert parameters[0] == pool.trainable_parameters.max()


def test_one_shot_fits_once_after_its_random_queries(pool):
    fit = FitRecorder(calls=[])
    run_trial(pool, PredictorGuidedSearch.one_shot(Surrogate(fit), initial_queries=30), BUDGET, 0, 0)
    assert fit.calls == [30]


def test_two_stage_queries_what_its_classifier_keeps_first(pool):
    result = run_trial(pool, PredictorGuidedSearch.one_shot(two_stage_surrogate(), initial_queries=30), BUDGET, 0, 0)
    first = result.rows[:30]
    model = ridge_two_stage(
        pool.adjacency[first], pool.operations[first], pool.num_vertices[first], result.observed[:30]
    )
    later = result.rows[30:]
    kept = model.kept(pool.adjacency[later], pool.operations[later], pool.num_vertices[later])
    assert kept.any()
    assert not np.any(np.diff(kept.astype(int)) > 0), "no kept module after a rejected one"
    scores = model.predict(pool.adjacency[later], pool.operations[later], pool.num_vertices[later])[kept]
    assert np.all(np.diff(scores) <= 1e-9)


def test_two_stage_falls_back_to_a_regressor_when_too_few_modules_are_kept(pool):
    def keeps_nothing(*args, **kwargs):
        raise TooFewKeptError("the classifier keeps 0 modules")

    fit = FitRecorder(calls=[])
    surrogate = TwoStageSurrogate(keeps_nothing, fit, classifier_config=None, regressor_config=None)
    result = run_trial(pool, PredictorGuidedSearch.one_shot(surrogate, initial_queries=20), 40, 0, 0)
    assert fit.calls == [20] and len(result.rows) == 40


def test_a_diverged_two_stage_fit_is_an_error_not_a_fallback(pool):
    def diverges(*args, **kwargs):
        raise TrainingDivergedError("the loss is nan at epoch 3")

    surrogate = TwoStageSurrogate(diverges, ridge_fit, classifier_config=None, regressor_config=None)
    with pytest.raises(TrainingDivergedError):
        run_trial(pool, PredictorGuidedSearch.one_shot(surrogate, initial_queries=20), 40, 0, 0)
    with pytest.raises(TrainingDivergedError):
        run_trial(pool, PredictorGuidedSearch(Surrogate(diverging_fit), initial_queries=10), 40, 0, 0)


def test_iterative_search_refits_on_everything_queried(pool):
    fit = FitRecorder(calls=[])
    schedule = RetrainSchedule(((30, 5), (1000, 10)))
    run_trial(pool, PredictorGuidedSearch(Surrogate(fit), initial_queries=10, schedule=schedule), BUDGET, 0, 0)
    assert fit.calls == [10, 15, 20, 25, 30, 40, 50]


def test_learned_ranking_beats_random_on_a_larger_pool(sample):
    """With a model that learns anything, the predicted top should be better than random picks."""
    pool = small_pool(sample, 3000, seed=2)
    learned, random = [], []
    for trial in range(4):
        for strategy, found in ((PredictorGuidedSearch(Surrogate(ridge_fit), 20), learned), (RandomSearch(), random)):
            result = run_trial(pool, strategy, 80, master_seed=1, trial=trial)
            found.append(pool.mean_validation[result.rows[20:]].mean())
    assert np.mean(learned) > np.mean(random) + 0.005


def test_oracle_refuses_queries_past_the_budget_and_answers_a_module_once(pool):
    oracle = Oracle(pool, budget=2, rng=np.random.default_rng(0))
    assert oracle.query(oracle.pool_cell(0))[0] == 0
    again, _ = oracle.query(oracle.pool_cell(0))  # the pool rule: the nearest unqueried module
    assert again != 0 and oracle.edit_distances[0] == 0 and oracle.edit_distances[1] > 0
    assert oracle.exhausted
    with pytest.raises(BudgetExhaustedError):
        oracle.query(oracle.pool_cell(2))


def test_oracle_draws_among_stored_repeats(sample):
    rows = np.flatnonzero((~np.isnan(sample.validation_repeats)).sum(axis=1) == 3)
    assert len(rows) > 0
    row = rows[0]
    seen = set()
    for seed in range(40):
        oracle = Oracle(sample, 1, np.random.default_rng(seed))
        seen.add(oracle.query(oracle.pool_cell(row))[1])
    stored = set(sample.validation_repeats[row].tolist())
    assert seen <= stored and len(seen) > 1
