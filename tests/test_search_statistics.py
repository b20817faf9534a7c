"""Curves, censored quantiles and the closed form of random search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from predictor.search.benchmark import Benchmark
from predictor.search.oracle import Oracle
from predictor.search.statistics import (
    censored_quantile,
    incumbent_positions,
    queries_to_target,
    random_search_median_queries,
    random_search_miss_probability,
    trial_curves,
)
from predictor.search.strategies.random_search import RandomSearch
from tests.search_fixtures import small_pool


def test_miss_probability_is_the_hypergeometric_zero_term():
    for pool_size, targets in ((20_031, 20), (500, 3), (50, 50)):
        queries = np.array([0, 1, 7, 49, min(693, pool_size)])
        expected = hypergeom.pmf(0, pool_size, targets, queries)
        assert np.allclose(random_search_miss_probability(pool_size, targets, queries), expected, atol=1e-12)


def test_median_queries_is_where_the_hit_probability_crosses_one_half():
    for pool_size, targets in ((20_031, 20), (10_000, 10), (200, 2)):
        median = random_search_median_queries(pool_size, targets)
        assert hypergeom.pmf(0, pool_size, targets, median) <= 0.5 < hypergeom.pmf(0, pool_size, targets, median - 1)


def test_random_search_simulation_matches_the_closed_form(sample_hdf5):
    pool = small_pool(Benchmark.from_file(sample_hdf5), 200, seed=3)
    targets = int(pool.target_mask.sum())
    hits = []
    for seed in range(1500):
        rng = np.random.default_rng(seed)
        oracle = Oracle(pool, len(pool), rng)
        RandomSearch().run(oracle, rng)
        hits.append(queries_to_target(pool.target_mask, oracle.rows))
    hits = np.array(hits)
    for q in (10, 40, 80, 150):
        empirical = np.mean(hits <= q)
        exact = 1 - random_search_miss_probability(len(pool), targets, q)
        assert abs(empirical - exact) < 4 * np.sqrt(exact * (1 - exact) / len(hits)) + 1e-9
    assert abs(np.median(hits) - random_search_median_queries(len(pool), targets)) <= 0.1 * len(pool)


def test_censored_quantile_is_exact_when_all_trials_hit():
    hits = [5, 1, 9, 3, 7, 2]
    for q in (0.25, 0.5, 0.75):
        result = censored_quantile(hits, budget=100, q=q)
        assert not result.censored and result.value == pytest.approx(np.quantile(hits, q))


def test_censored_quantile_above_the_budget_when_it_falls_among_misses():
    hits = [10, 20, None, None, None]
    median = censored_quantile(hits, budget=1000, q=0.5)
    assert median.censored and str(median) == ">1000"
    assert censored_quantile(hits, 1000, 0.25).value == pytest.approx(20)
    assert censored_quantile([10, 20, 30, None], 1000, 0.5).value == pytest.approx(25)
    assert censored_quantile([10, 20, None, None], 1000, 0.5).censored, "interpolating with a miss is unknown"


def test_incumbent_is_the_earliest_best_observed_so_far():
    rng = np.random.default_rng(0)
    observed = rng.integers(0, 5, 60).astype(float)
    expected = [int(np.argmax(observed[: i + 1])) for i in range(len(observed))]  # argmax: first maximum
    assert incumbent_positions(observed).tolist() == expected


def test_curves_score_the_incumbent_by_its_mean_and_stay_flat_after_an_early_stop(sample_hdf5):
    pool = small_pool(Benchmark.from_file(sample_hdf5), 50)
    rows = [3, 10, 7]
    observed = [0.90, 0.93, 0.92]
    curves = trial_curves(pool, rows, observed, budget=6)
    assert curves.incumbent.tolist() == [3, 10, 10, 10, 10, 10]
    assert curves.best_observed.tolist() == [0.90, 0.93, 0.93, 0.93, 0.93, 0.93]
    assert curves.regret[-1] == pytest.approx((pool.mean_validation.max() - pool.mean_validation[10]) * 100)
    assert queries_to_target(pool.target_mask, rows) is None
    best = int(np.argmax(pool.mean_validation))
    assert queries_to_target(pool.target_mask, [3, 10, best]) == 3


def test_target_includes_ties_with_the_last_module(sample_hdf5):
    pool = Benchmark.from_file(sample_hdf5)
    ranked = np.sort(pool.mean_validation)[::-1]
    k = pool.target_size
    assert k == round(0.001 * len(pool))
    assert pool.target_mask.sum() == np.sum(pool.mean_validation >= ranked[k - 1]) >= k
