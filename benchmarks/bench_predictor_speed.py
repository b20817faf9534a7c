"""Speed of predictor training and prediction against a plain PyTorch loop, on this machine.

    python benchmarks/bench_predictor_speed.py [--data data/nasbench.hdf5] [--repeats 3]

Training: N=172 modules, the paper-faithful recipe (300 epochs, batch 10, Adam per step,
cosine per epoch), once with `predictor.gcn.training.fit` and once with a straightforward loop
(DataLoader, the reference module, torch.optim.Adam, CosineAnnealingLR). Each is run
`--repeats` times, alternating; the best wall time counts (the least disturbed by other
work on the machine); CPU time is shown beside it. The plain loop runs with one thread and
with torch's default number (what a plain script gets); fit uses its config's (one). Prediction: 423,624 modules (the size of
the space), valid cells of the sample tiled.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictor.data.dataset import NASBench  # noqa: E402
from predictor.gcn.config import PAPER_LABEL_MEAN, PAPER_LABEL_STD  # noqa: E402
from predictor.gcn.features import one_hot_operations  # noqa: E402
from predictor.gcn.plain import ReferenceGCN  # noqa: E402
from predictor.gcn.training import TrainConfig, fit  # noqa: E402

SPACE_SIZE = 423_624


def plain_loop(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    epochs: int = 300,
    seed: int = 0,
) -> ReferenceGCN:
    """The recipe written the obvious way: DataLoader batches, module calls, torch.optim."""
    torch.manual_seed(seed)
    dataset = TensorDataset(
        torch.from_numpy(one_hot_operations(operations, num_vertices)),
        torch.from_numpy(adjacency.astype(np.float32)),
        torch.from_numpy(num_vertices.astype(np.int64)),
        torch.from_numpy(((labels - PAPER_LABEL_MEAN) / PAPER_LABEL_STD).astype(np.float32)),
    )
    loader = DataLoader(dataset, batch_size=10, shuffle=True, drop_last=True)
    net = ReferenceGCN()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, weight_decay=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    criterion = torch.nn.MSELoss()
    net.train()
    for _ in range(epochs):
        for nodes, adjacency_batch, vertices, target in loader:
            optimizer.zero_grad()
            loss = criterion(net(nodes, adjacency_batch, vertices), target)
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
    parser.add_argument("--data", type=Path, default=Path("data/nasbench.hdf5"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-plain", action="store_true", help="time only the fast path")
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
    fast, plain = [], {threads: [] for threads in (args.plain_threads or sorted({1, default_threads}))}
    for _ in range(args.repeats):
        fast.append(timed(fit, *train, config=config, seed=0))
        for threads in [] if args.skip_plain else plain:
            torch.set_num_threads(threads)
            plain[threads].append(timed(plain_loop, *train))
    torch.set_num_threads(default_threads)
    best_fast = min(fast)
    print(
        f"  fit, paper setting          best wall {best_fast[0]:6.2f} s   cpu {best_fast[1]:6.2f} s   "
        f"(all walls {', '.join(f'{w:.2f}' for w, _ in fast)})"
    )
    for threads, runs in plain.items():
        if runs:
            best = min(runs)
            print(
                f"  plain loop, {threads} thread(s)     best wall {best[0]:6.2f} s   cpu {best[1]:6.2f} s   "
                f"(all walls {', '.join(f'{w:.2f}' for w, _ in runs)})  -> fit is {best[0] / best_fast[0]:.2f}x faster"
            )

    recommended = TrainConfig.recommended().replace(device="cpu")
    walls = [timed(fit, *train, config=recommended, seed=0) for _ in range(args.repeats)]
    print(f"  fit, recommended setting    best wall {min(walls)[0]:6.2f} s   cpu {min(walls)[1]:6.2f} s")

    tile = np.resize(np.arange(len(bench)), SPACE_SIZE)
    space = bench.adjacency[tile], bench.operations[tile], bench.num_vertices[tile]
    for name, setting in (("paper", config), ("recommended", recommended)):
        model = fit(*train, config=setting.replace(epochs=1), seed=0)
        for threads in args.predict_threads:
            model.config = setting.replace(threads=threads)
            wall, cpu = min(timed(model.predict, *space) for _ in range(args.repeats))
            print(
                f"  predict {SPACE_SIZE:,} modules, {name} setting, {threads} thread(s): "
                f"best wall {wall:5.2f} s   cpu {cpu:5.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
