"""How the long CPU loops of the first run slow down when other processes load the cores.

    python benchmarks/bench_under_load.py [--busy 2] [--repeats 2] [--cells 25600]

Each part runs on the machine as it is ("idle"), then beside `--busy` processes that spin on
a core each (a `while True: pass` loop, started and stopped here), alternately, and the
ratio loaded / idle is printed. Sharing the cores fairly, a one-thread part beside 2 busy
processes on 2 cores gets 2/3 of a core (1.5x its idle time), the two-process enumeration
half of each (2x); the goal is at most 3x. Many times more is threads waiting on each other.

The busy processes run in sessions of their own, like other people's work: Linux shares the
CPU between sessions first (autogroups), so busy processes started in this session would
split this session's share and triple the time of even a perfect one-thread loop.

Parts: enumerating the space (2 worker processes); one epoch of encoder pre-training over
`--cells` cells of the space, on the config's thread count and once on torch's default (what
a plain script gets); a fit of the recommended setting on N=172 cells (synthetic labels:
speed only); ranking the 423,624 cells of the space; the three zero-cost signals of 5 cells
(random pixels: speed only), on one thread and on torch's default. The best of `--repeats`
runs counts (the least disturbed by other work).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from predictor.child.zero_cost import ProbeBatch, score_cell
from predictor.data.cell import Cell
from predictor.data.space import enumerate_space, load_space
from predictor.gcn.config import TrainConfig
from predictor.gcn.pretraining import pretrain_encoder
from predictor.gcn.training import fit

# A busy loop that ends when this process does, even when it is killed (a look every ~20 ms).
SPIN = """
import os, sys
while os.getppid() == int(sys.argv[1]):
    for _ in range(1_000_000):
        pass
"""


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def idle_and_loaded(work: Callable[[], object], repeats: int, busy: int) -> tuple[float, float]:
    """Best idle and best loaded seconds, the two alternating so that a change in other work hits both alike."""
    idle, loaded = [], []
    for _ in range(repeats):
        idle.append(seconds(work))
        spinning = [  # each in a session of its own, as other people's work is (the scheduler shares by session)
            subprocess.Popen([sys.executable, "-c", SPIN, str(os.getpid())], start_new_session=True)
            for _ in range(busy)
        ]
        try:
            time.sleep(1.0)  # let them take their cores
            loaded.append(seconds(work))
        finally:
            for process in spinning:
                process.kill()
                process.wait()
    return min(idle), min(loaded)


def zero_cost_scores(cells: list[Cell], batch: ProbeBatch, threads: int) -> None:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for cell in cells:
            score_cell(cell, batch)
    finally:
        torch.set_num_threads(previous)


def parts(args: argparse.Namespace) -> dict[str, tuple[Callable[[], object], int]]:
    """name -> (work, repeats)."""
    space = load_space(progress=False)
    rng = np.random.default_rng(0)
    subset = np.sort(rng.choice(len(space), args.cells, replace=False))
    cells = (space.adjacency[subset], space.operations[subset], space.num_vertices[subset])
    train = subset[:172]
    train_cells = (space.adjacency[train], space.operations[train], space.num_vertices[train])
    labels = rng.uniform(0.85, 0.95, size=172)
    config = TrainConfig.recommended().replace(pretraining_epochs=0)  # the fit alone; pre-training is its own part
    model = fit(*train_cells, labels, config, seed=0)
    default_threads = torch.get_num_threads()
    probe_cells = [space.cell(int(row)) for row in subset[:5]]
    pixels = torch.randn((64, 3, 32, 32), generator=torch.Generator().manual_seed(0))
    probe = ProbeBatch(pixels, torch.arange(64) % 10, "random pixels: speed only")
    return {
        "enumerating the space (2 processes)": (lambda: enumerate_space(progress=False, workers=2), 1),
        "pre-training, 1 epoch (config: 1 thread)": (lambda: pretrain_encoder(config, *cells, epochs=1), args.repeats),
        f"pre-training, 1 epoch ({default_threads} threads, torch's default)": (
            lambda: pretrain_encoder(config.replace(threads=default_threads), *cells, epochs=1),
            1,  # the figure to compare with, not a target: once is enough
        ),
        "fit, recommended, N=172": (lambda: fit(*train_cells, labels, config, seed=0), args.repeats),
        "ranking the space (423,624 cells)": (
            lambda: model.predict(space.adjacency, space.operations, space.num_vertices),
            args.repeats,
        ),
        "zero-cost signals, 5 cells (1 thread)": (lambda: zero_cost_scores(probe_cells, probe, 1), args.repeats),
        f"zero-cost signals, 5 cells ({default_threads} threads, torch's default)": (
            lambda: zero_cost_scores(probe_cells, probe, default_threads),
            args.repeats,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2, help="busy-loop processes beside the loaded runs (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each part but the enumeration (default 2)")
    parser.add_argument("--cells", type=int, default=25_600, help="cells in the pre-training epoch (default 25600)")
    args = parser.parse_args()
    work = parts(args)
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}")
    print(f"| part | idle (s) | beside {args.busy} busy processes (s) | ratio |")
    print("| --- | --- | --- | --- |")
    for name, (run, repeats) in work.items():
        idle, loaded = idle_and_loaded(run, repeats, args.busy)
        print(f"| {name} | {idle:.2f} | {loaded:.2f} | {loaded / idle:.2f}x |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
