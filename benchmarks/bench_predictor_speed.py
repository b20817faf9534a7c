"""Speed of predictor training and prediction against a plain PyTorch loop, on this machine.

    python benchmarks/bench_predictor_speed.py [--data data/nasbench.hdf5] [--repeats 3]

Training: N=172 modules, the paper-faithful recipe (300 epochs, batch 10, Adam per step,
cosine per epoch), with `fit` on each engine (fused, plain) and with a straightforward loop
(DataLoader, the model's module `network.GCN`, torch.optim.Adam, CosineAnnealingLR). Each is
run `--repeats` times, alternating; the best wall time counts (the least disturbed by other
work on the machine); CPU time is shown beside it, and each figure as a ratio against the
plain loop and the plain engine of the same run. The plain loop runs with one thread and with
torch's default number (what a plain script gets); fit uses its config's (one). Prediction:
423,624 modules (the size of the space), valid cells of the sample tiled, on each engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from predictor.data.dataset import NASBench
from predictor.gcn.features import encode_graphs
from predictor.gcn.network import GCN, training_targets
from predictor.gcn.training import TrainConfig, fit

SPACE_SIZE = 423_624


def plain_loop(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    epochs: int = 300,
    seed: int = 0,
) -> GCN:
    """The paper recipe written the obvious way: DataLoader batches, module calls, torch.optim."""
    torch.manual_seed(seed)
    config = TrainConfig.paper()
    graphs = encode_graphs(adjacency, operations, num_vertices)
    targets = torch.from_numpy(training_targets(labels, config))
    dataset = TensorDataset(graphs.nodes, graphs.propagation, graphs.pooling, targets)
    loader = DataLoader(dataset, batch_size=10, shuffle=True, drop_last=True)
    net = GCN(config)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    criterion = torch.nn.MSELoss()
    net.train()
    for _ in range(epochs):
        for nodes, propagation, pooling, target in loader:
            optimizer.zero_grad()
            loss = criterion(net(nodes, propagation, pooling), target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return net


def timed(function, *args, **kwargs) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"), help="converted HDF5 file")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timing; the best counts")
    parser.add_argument(
        "--plain-threads",
        type=int,
        nargs="+",
        default=None,
        help="thread counts for the plain loop (default: 1 and torch's default)",
    )
    parser.add_argument(
        "--predict-threads",
        type=int,
        nargs="+",
        default=[1],
        help="thread counts for prediction (more threads only help on an idle machine)",
    )
    args = parser.parse_args(argv)

    bench = NASBench(args.data)
    labels = bench.accuracy()
    rows = np.sort(np.random.default_rng(0).choice(len(bench), 172, replace=False))
    train = bench.adjacency[rows], bench.operations[rows], bench.num_vertices[rows], labels[rows]
    config = TrainConfig.paper().replace(device="cpu")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads available; "
        f"training N=172, 300 epochs, batch 10 (5,100 steps)"
    )

    default_threads = torch.get_num_threads()
    runs: dict[str, list[tuple[float, float]]] = {"fit, fused engine": [], "fit, plain engine": []}
    loops = {
        threads: f"plain loop, {threads} thread(s)" for threads in (args.plain_threads or sorted({1, default_threads}))
    }
    runs.update({name: [] for name in loops.values()})
    for _ in range(args.repeats):
        for engine in ("fused", "plain"):
            runs[f"fit, {engine} engine"].append(timed(fit, *train, config=config, seed=0, engine=engine))
        for threads, name in loops.items():
            torch.set_num_threads(threads)
            runs[name].append(timed(plain_loop, *train))
    torch.set_num_threads(default_threads)
    best = {name: min(walls) for name, walls in runs.items()}
    loop_best, plain_best = best[loops[1]] if 1 in loops else min(best.values()), best["fit, plain engine"]
    for name, (wall, cpu) in best.items():
        print(
            f"  {name:26s} best wall {wall:6.2f} s   cpu {cpu:6.2f} s   "
            f"= {wall / loop_best[0]:.2f} x plain loop (1 thread), {wall / plain_best[0]:.2f} x plain engine   "
            f"(all walls {', '.join(f'{w:.2f}' for w, _ in runs[name])})"
        )

    recommended = TrainConfig.recommended().replace(device="cpu")
    walls = [timed(fit, *train, config=recommended, seed=0) for _ in range(args.repeats)]
    print(
        f"  fit, recommended, fused      best wall {min(walls)[0]:6.2f} s   cpu {min(walls)[1]:6.2f} s   "
        f"= {min(walls)[0] / loop_best[0]:.2f} x plain loop (1 thread)"
    )

    tile = np.resize(np.arange(len(bench)), SPACE_SIZE)
    space = bench.adjacency[tile], bench.operations[tile], bench.num_vertices[tile]
    for name, setting in (("paper", config), ("recommended", recommended)):
        for threads in args.predict_threads:
            figures = {}
            model = fit(*train, config=setting.replace(epochs=1, threads=threads), seed=0)
            for engine in ("fused", "plain"):
                figures[engine] = min(timed(model.predict, *space, engine=engine) for _ in range(args.repeats))
            print(
                f"  predict {SPACE_SIZE:,} modules, {name} setting, {threads} thread(s): fused best wall "
                f"{figures['fused'][0]:5.2f} s (cpu {figures['fused'][1]:5.2f} s), plain engine "
                f"{figures['plain'][0]:5.2f} s = {figures['fused'][0] / figures['plain'][0]:.2f} x plain"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
