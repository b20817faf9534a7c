"""Small pools cut from the real sample, shared by the search tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from predictor.search.benchmark import Benchmark


def small_pool(benchmark: Benchmark, size: int, seed: int = 0) -> Benchmark:
    """`size` modules of the sample, at random but always including its best few (so targets exist)."""
    best = np.argsort(-benchmark.mean_validation)[:3]
    others = np.setdiff1d(np.arange(len(benchmark)), best)
    rows = np.concatenate([best, np.random.default_rng(seed).choice(others, size - len(best), replace=False)])
    return benchmark.subset(np.sort(rows))


def space_of(benchmark: Benchmark) -> SimpleNamespace:
    """The pool standing in for the space of 423,624 cells (what `load_space` returns), for fast ranking."""
    return SimpleNamespace(
        hashes=benchmark.hashes,
        adjacency=benchmark.adjacency,
        operations=benchmark.operations,
        num_vertices=benchmark.num_vertices,
        cell=benchmark.cell,
    )
