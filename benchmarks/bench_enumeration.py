"""Wall time of `enumerate_space` against the official generator's plain loop, in one process.

The plain loop (one `hash_module` per labelled graph, as in
nasbench/scripts/generate_graphs.py) takes minutes over the full space; with
--baseline-vertices k both are timed on the graphs of at most k vertices, so the ratio
stays like for like. The two results are also compared row by row.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from predictor.data.cell import MAX_EDGES, MAX_VERTICES
from predictor.data.graph import hash_module, is_full_dag, matrix_from_bits
from predictor.data.space import enumerate_space, load_space


def plain_loop(max_vertices: int, max_edges: int) -> dict[str, tuple]:
    """The official generator's loop: first (matrix, labelling) of each module hash."""
    buckets: dict[str, tuple] = {}
    for vertices in range(2, max_vertices + 1):
        for bits in range(2 ** (vertices * (vertices - 1) // 2)):
            matrix = matrix_from_bits(bits, vertices)
            if not is_full_dag(matrix) or matrix.sum() > max_edges:
                continue
            for labelling in itertools.product(range(3), repeat=vertices - 2):
                labelling = [-1, *labelling, -2]
                fingerprint = hash_module(matrix, labelling)
                if fingerprint not in buckets:
                    buckets[fingerprint] = (matrix, labelling)
    return buckets


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--baseline-vertices",
        type=int,
        default=MAX_VERTICES,
        choices=range(2, MAX_VERTICES + 1),
        help="run the plain loop (and a like-for-like enumerate_space) up to this many vertices "
        "(default %(default)s: the full space, minutes)",
    )
    parser.add_argument("--workers", type=int, default=None, help="processes for enumerate_space (default: all CPUs)")
    args = parser.parse_args()

    print(f"CPUs available: {len(os.sched_getaffinity(0))}; load average before: {os.getloadavg()[0]:.2f}")
    space, wall, cpu = timed(enumerate_space, progress=False, workers=args.workers)
    print(f"enumerate_space(max_vertices=7): {len(space):,} modules, {wall:.2f} s wall, {cpu:.2f} s CPU")

    with tempfile.TemporaryDirectory() as directory:
        cache = Path(directory) / "space.npz"
        _, cold_wall, _ = timed(load_space, cache, progress=False)
        print(f"load_space without a cache (enumerate + write): {cold_wall:.2f} s wall")
        _, load_wall, _ = timed(load_space, cache, progress=False)
        print(f"load_space from its cache: {load_wall:.3f} s wall ({cache.stat().st_size / 1e6:.1f} MB file)")

    k = args.baseline_vertices
    fast = space
    fast_wall = wall
    if k < MAX_VERTICES:
        fast, fast_wall, fast_cpu = timed(enumerate_space, k, progress=False, workers=args.workers)
        print(f"enumerate_space(max_vertices={k}): {len(fast):,} modules, {fast_wall:.2f} s wall, {fast_cpu:.2f} s CPU")
    buckets, plain_wall, plain_cpu = timed(plain_loop, k, MAX_EDGES)
    print(f"plain loop (max_vertices={k}): {len(buckets):,} modules, {plain_wall:.2f} s wall, {plain_cpu:.2f} s CPU")
    same = fast.hashes.tolist() == [fingerprint.encode() for fingerprint in buckets] and all(
        fast.adjacency[row, : len(matrix), : len(matrix)].tolist() == matrix.tolist()
        and fast.operations[row, : len(matrix)].tolist() == labelling
        for row, (matrix, labelling) in enumerate(buckets.values())
    )
    print(f"identical hashes, order and representatives: {same}")
    print(f"speed-up at max_vertices={k}: {plain_wall / fast_wall:.1f}x wall")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
