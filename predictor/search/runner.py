"""Independent seeded trials of several strategies, spread over processes or Ray tasks.

Every trial has its own seeds derived from (master seed, trial, strategy name), so a
result does not depend on how many workers ran it nor in which order. The oracle's
seed (which repeat a query reveals) depends on the trial only: strategies compared on
the same trial face the same draws where they query the same module.

With Ray (`pip install '.[ray]'`), every trial is one Ray task (one CPU) on a local or a
running cluster; the results are the same as a local run's. Each worker reads the data file
itself, so on a cluster it must be at the same path on every node.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from predictor.common.ray_support import import_ray
from predictor.data.workers import imap
from predictor.search.benchmark import Benchmark
from predictor.search.oracle import Oracle
from predictor.search.pool_mapping import PoolMapper
from predictor.search.registry import StrategySettings, build_strategy, expected_cost
from predictor.search.search_space import SearchSpace
from predictor.search.strategies.base import Strategy

_ORACLE_STREAM = 0
_STRATEGY_STREAM = 1


@dataclass(frozen=True)
class TrialResult:
    strategy: str
    trial: int
    rows: np.ndarray  # queried rows, in order
    observed: np.ndarray  # what each query revealed
    edit_distances: np.ndarray  # per proposal resolved by the pool rule (0 = answered as proposed)
    seconds: float
    poisoned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per query: held a zero op


def oracle_seed(master_seed: int, trial: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(master_seed, spawn_key=(trial, _ORACLE_STREAM))


def strategy_seed(master_seed: int, trial: int, strategy: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(master_seed, spawn_key=(trial, _STRATEGY_STREAM, zlib.crc32(strategy.encode())))


def run_trial(
    benchmark: Benchmark,
    strategy: Strategy,
    budget: int,
    master_seed: int,
    trial: int,
    mapper: PoolMapper | None = None,
    name: str | None = None,
    space: SearchSpace = SearchSpace(),
) -> TrialResult:
    """One search of `budget` queries (fewer if the pool runs out) over `space`."""
    name = name or strategy.name
    _single_threaded_torch()
    oracle = Oracle(benchmark, budget, np.random.default_rng(oracle_seed(master_seed, trial)), space, mapper)
    start = time.perf_counter()
    strategy.run(oracle, np.random.default_rng(strategy_seed(master_seed, trial, name)))
    return TrialResult(
        name,
        trial,
        np.array(oracle.rows, dtype=np.int64),
        np.array(oracle.observed),
        np.array(oracle.edit_distances, dtype=np.int64),
        time.perf_counter() - start,
        np.array(oracle.poisoned, dtype=bool),
    )


def _single_threaded_torch() -> None:
    """One thread per trial: results must not depend on thread count, and workers share the cores."""
    import torch

    torch.set_num_threads(1)


@dataclass
class ComparisonResult:
    benchmark: Benchmark
    strategies: list[str]
    budget: int
    trials: int
    seed: int
    settings: StrategySettings
    results: dict[tuple[str, int], TrialResult] = field(default_factory=dict)
    seconds: float = 0.0  # of this invocation (trials taken over from an earlier run not included)
    workers: int = 1
    resumed: int = 0  # trials taken over from an earlier run

    def of(self, strategy: str) -> list[TrialResult]:
        return [self.results[(strategy, t)] for t in range(self.trials)]


# --- worker processes -----------------------------------------------------------------
_worker_state: dict = {}


def _init_worker(data_path: str, settings: StrategySettings) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    benchmark = Benchmark.from_file(data_path)
    _worker_state.update(
        data_path=data_path,
        benchmark=benchmark,
        settings=settings,
        mapper=PoolMapper(benchmark.hashes, benchmark.adjacency, benchmark.operations, benchmark.num_vertices),
    )


def _run_job(job: tuple[str, int, int, int]) -> TrialResult:
    name, trial, budget, seed = job
    state, settings = _worker_state, _worker_state["settings"]
    strategy = build_strategy(name, settings)
    return run_trial(state["benchmark"], strategy, budget, seed, trial, state["mapper"], name, settings.space)


def _run_ray_job(job: tuple[str, int, int, int], data_path: str, settings: StrategySettings) -> TrialResult:
    """A trial in a Ray worker, which loads the data once and keeps it for the tasks that follow."""
    if _worker_state.get("data_path") != data_path or _worker_state.get("settings") != settings:
        _init_worker(data_path, settings)
    return _run_job(job)


def _jobs(strategies: Sequence[str], trials: int, budget: int, seed: int) -> list[tuple[str, int, int, int]]:
    jobs = [(name, trial, budget, seed) for name in strategies for trial in range(trials)]
    return sorted(jobs, key=lambda job: -expected_cost(job[0]))  # long jobs first: better packing


def run_comparison(
    data_path: str | Path,
    strategies: Sequence[str],
    budget: int,
    trials: int,
    seed: int = 0,
    workers: int | None = None,
    settings: StrategySettings | None = None,
    progress: bool = True,
    on_result: Callable[[TrialResult], None] | None = None,
    done: dict[tuple[str, int], TrialResult] | None = None,
    use_ray: bool = False,
    ray_address: str | None = None,
) -> ComparisonResult:
    """Run `trials` seeded trials of every strategy; `workers` processes (default: all cores), or
    Ray tasks when `use_ray` or `ray_address` is given (RayUnavailableError when Ray is missing).

    `done`: trials finished earlier (same run), kept as they are instead of being rerun.
    """
    settings = settings or StrategySettings()
    for name in strategies:
        build_strategy(name, settings)  # fail fast on unknown names and bad settings
    workers = max(1, min(workers or os.cpu_count() or 1, trials * len(strategies)))
    if not strategies or trials < 1:
        raise ValueError("nothing to run: give at least one strategy and one trial")
    ray = import_ray() if use_ray or ray_address else None
    benchmark = Benchmark.from_file(data_path)
    comparison = ComparisonResult(benchmark, list(strategies), budget, trials, seed, settings, workers=workers)
    done = {key: result for key, result in (done or {}).items() if key[0] in strategies and key[1] < trials}
    comparison.results.update(done)
    comparison.resumed = len(done)
    jobs = [job for job in _jobs(strategies, trials, budget, seed) if (job[0], job[1]) not in done]
    start = time.perf_counter()
    with tqdm(total=len(jobs), desc="trials", unit="trial", disable=not progress) as bar:
        if ray is not None:
            results = _ray_results(ray, jobs, str(Path(data_path).resolve()), settings, ray_address)
        else:
            results = _results(jobs, str(data_path), settings, workers)
        for result in results:
            comparison.results[(result.strategy, result.trial)] = result
            if on_result:
                on_result(result)
            bar.update()
    comparison.seconds = time.perf_counter() - start
    return comparison


def _ray_results(
    ray, jobs: list, data_path: str, settings: StrategySettings, address: str | None
) -> Iterator[TrialResult]:
    """One Ray task per trial, results in the order they finish."""
    if not jobs:
        return
    ray.init(address=address, ignore_reinit_error=True)
    remote = ray.remote(num_cpus=1)(_run_ray_job)
    pending = [remote.remote(job, data_path, settings) for job in jobs]
    while pending:
        (finished,), pending = ray.wait(pending, num_returns=1)
        yield ray.get(finished)


def _results(jobs: list, data_path: str, settings: StrategySettings, workers: int) -> Iterator[TrialResult]:
    """Trials in `workers` spawned processes (torch and fork do not mix well), results as they finish."""
    if not jobs:
        return
    yield from imap(
        _run_job,
        jobs,
        workers,
        ordered=False,
        initializer=_init_worker,
        initargs=(data_path, settings),
        start_method="spawn",
    )
