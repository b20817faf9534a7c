"""Training speed of the full NAS-Bench-101 network: ours against a plain eager PyTorch loop, same run.

Measures images/s of full train steps for cells of the real sample on synthetic CIFAR-shaped
data (speed does not depend on the pixels). The baseline is the loop anyone would write
first: the same `nn.Module`, `torch.optim.RMSprop`, pre-made normalised batches, eager.
Ours is the protocol's step (device-side crop and flip, TF-RMSProp, on-device cosine
schedule) with each execution option of `tools/train_child.py` on its own.

On a CPU it measures each variant with 1 and 2 torch threads, on the machine as found and
then with `--load N` busy processes started beside it, so the cost of threads on shared
cores shows in the same run. On CUDA it measures the fast path (bf16 + channels-last +
compile + CUDA graph) and projects the time of one 108-epoch run.

  python benchmarks/bench_child_training.py                                   # CPU: stem 128, batch 32, load 0 and 2
  python benchmarks/bench_child_training.py --stem-channels 16 --batch-size 64 --steps 20
  python benchmarks/bench_child_training.py --cells known smallest largest    # GPU: batch 256
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from predictor.child.channels import NetworkShape
from predictor.child.cifar import CifarSplits, DeviceCifar, ShuffledBatches, Split
from predictor.child.optim import TFRMSprop
from predictor.child.train_step import CudaGraphStep, TrainStep, warm_up_and_undo
from predictor.child.training import ExecutionOptions, TrainingProtocol, prepare_model
from predictor.data.cell import Cell
from predictor.data.records import read_records

KNOWN_MODULE = "00005c142e6f48ac74fdcf73e3439874"
IMAGES_PER_108_EPOCHS = 40_000 * 108
DEFAULT_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "nb101" / "nb101_sample.tfrecord"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores"


def benchmark_cells(sample: Path, labels: list[str]) -> list[tuple[str, Cell, int]]:
    """(label, cell, dataset parameter count) for the known, smallest and/or largest module of the sample."""
    modules: dict[str, tuple[Cell, int]] = {}
    for record in read_records(sample):
        if record.module_hash not in modules:
            modules[record.module_hash] = (Cell.from_spec(*record.graph()), record.metrics.trainable_parameters)
    chosen = {
        "known": KNOWN_MODULE,
        "smallest": min(modules, key=lambda h: modules[h][1]),
        "largest": max(modules, key=lambda h: modules[h][1]),
    }
    return [(label, *modules[chosen[label]]) for label in labels]


def synthetic_data(num_images: int, device: torch.device) -> DeviceCifar:
    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (num_images, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, num_images))
    return DeviceCifar(CifarSplits(split, split, split, split), device)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop_rate(cell: Cell, data: DeviceCifar, shape: NetworkShape, batch_size: int, warmup: int, steps: int):
    """images/s of the textbook eager loop: zero_grad, forward, cross-entropy, backward, torch RMSprop."""
    device = data.device
    model = prepare_model(cell, TrainingProtocol(shape=shape), ExecutionOptions(device=str(device)).resolved())
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.9, eps=1.0, weight_decay=1e-4)
    images = data.normalize(data.train.images[:batch_size])
    labels = data.train.labels[:batch_size]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return steps * batch_size / (time.perf_counter() - started), 0.0


def our_rate(
    cell: Cell,
    data: DeviceCifar,
    shape: NetworkShape,
    options: ExecutionOptions,
    batch_size: int,
    warmup: int,
    steps: int,
) -> tuple[float, float]:
    """(images/s over `steps` timed steps of the protocol's step, setup seconds for compile/capture + warm-up)."""
    options = options.resolved()
    device = torch.device(options.device)
    protocol = TrainingProtocol(batch_size=batch_size, shape=shape)
    model = prepare_model(cell, protocol, options)
    optimizer = TFRMSprop(model.parameters(), lr=protocol.learning_rate, weight_decay=protocol.weight_decay)
    network = torch.compile(model) if options.compile else model
    step = TrainStep(network, optimizer, total_steps=10_000, base_lr=protocol.learning_rate, bf16=options.bf16)
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    batches = ShuffledBatches(len(data.train), batch_size, generator, device)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        indices = batches.next()
        return data.augmented_batch(indices, generator, options.channels_last), data.train.labels[indices]

    started = time.perf_counter()
    run = step
    if options.cuda_graph:
        run = CudaGraphStep(step, *batch(), warmup_steps=max(warmup, 1))
    else:
        warm_up_and_undo(step, *batch(), steps=max(warmup, 1))
    _synchronize(device)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        run(*batch())
    _synchronize(device)
    return steps * batch_size / (time.perf_counter() - started), setup


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """`count` processes spinning on a core each, as other users' work would."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(1.0 if count else 0.0)
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            spinner.wait()


def cpu_variants(compile_: bool) -> list[tuple[str, ExecutionOptions | None]]:
    plain = ExecutionOptions(device="cpu", bf16=False, channels_last=False)
    variants: list[tuple[str, ExecutionOptions | None]] = [
        ("plain eager loop", None),
        ("ours", plain),
        ("ours + channels-last", replace(plain, channels_last=True)),
    ]
    if compile_:
        variants.append(("ours + torch.compile", replace(plain, compile=True)))
    return variants


def run_cpu(args: argparse.Namespace, cells: list[tuple[str, Cell, int]], shape: NetworkShape) -> None:
    device = torch.device("cpu")
    batch_size, steps = args.batch_size or 32, args.steps or 3
    data = synthetic_data(max(4 * batch_size, 256), device)
    header = f"{'load':>4} {'threads':>7} {'variant':<22} {'img/s':>8} {'vs plain':>8} {'vs idle':>8} {'setup s':>8}"
    print(f"batch {batch_size}, stem {shape.stem_channels}; {steps} timed steps after {args.warmup} warm-up")
    for label, cell, expected in cells:
        print(f"\n{label} {cell.hash} ({expected:,} parameters at stem 128)")
        print(header)
        print("-" * len(header))
        found: dict[tuple[int, str], float] = {}
        for load in sorted({0, args.load}):
            with busy_processes(load):
                before = os.getloadavg()[0]
                for threads in args.threads:
                    torch.set_num_threads(threads)
                    plain_rate = None
                    for name, options in cpu_variants(args.compile):
                        if options is None:
                            rate, setup = plain_loop_rate(cell, data, shape, batch_size, args.warmup, steps)
                            plain_rate = rate
                        else:
                            rate, setup = our_rate(cell, data, shape, options, batch_size, args.warmup, steps)
                        found.setdefault((threads, name), rate)
                        idle_ratio = found[(threads, name)] / rate
                        print(
                            f"{load:>4} {threads:>7} {name:<22} {rate:>8.1f} {rate / plain_rate:>7.2f}x "
                            f"{idle_ratio:>7.2f}x {setup:>8.1f}",
                            flush=True,
                        )
                print(f"     (load average 1 min: {before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)")
        projected = IMAGES_PER_108_EPOCHS / found[(1, "ours")] / 3600
        print(f"one 108-epoch run of this cell at stem {shape.stem_channels}, 1 thread, as found: {projected:,.0f} h")


def run_cuda(args: argparse.Namespace, cells: list[tuple[str, Cell, int]], shape: NetworkShape) -> None:
    device = torch.device(args.device or "cuda")
    batch_size, steps = args.batch_size or 256, args.steps or 50
    plain = ExecutionOptions(device=str(device), bf16=False, channels_last=False)
    fast = ExecutionOptions(
        device=str(device), bf16=True, channels_last=True, compile=args.compile, cuda_graph=args.cuda_graph
    )
    data = synthetic_data(max(4 * batch_size, 1024), device)
    print(f"batch {batch_size}, stem {shape.stem_channels}; {steps} timed steps after {args.warmup} warm-up")
    print(f"fast path: bf16, channels-last, compile={fast.compile}, cuda_graph={fast.cuda_graph}")
    header = (
        f"{'module':<42} {'params':>10} {'plain loop':>10} {'ours fp32':>10} {'fast img/s':>11} "
        f"{'vs plain':>8} {'setup s':>8} {'108 ep (fast)':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, cell, expected in cells:
        baseline, _ = plain_loop_rate(cell, data, shape, batch_size, args.warmup, steps)
        ours, _ = our_rate(cell, data, shape, plain, batch_size, args.warmup, steps)
        fast_rate, setup = our_rate(cell, data, shape, fast, batch_size, args.warmup, steps)
        projected_hours = IMAGES_PER_108_EPOCHS / fast_rate / 3600
        print(
            f"{label + ' ' + cell.hash:<42} {expected:>10,} {baseline:>10.1f} {ours:>10.1f} {fast_rate:>11.1f} "
            f"{fast_rate / baseline:>7.2f}x {setup:>8.1f} {projected_hours:>12.1f} h"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sample", type=Path, default=DEFAULT_SAMPLE, help="tfrecord to pick the cells from (default: %(default)s)"
    )
    parser.add_argument(
        "--cells",
        nargs="+",
        choices=("known", "smallest", "largest"),
        default=["known"],
        help=f"known = {KNOWN_MODULE}, smallest/largest by parameters (default: known)",
    )
    parser.add_argument("--device", help="default: cuda when available, else cpu")
    parser.add_argument("--stem-channels", type=int, default=128, help="(default: %(default)s, the benchmark's)")
    parser.add_argument("--batch-size", type=int, help="default: 256 on CUDA, 32 on CPU")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (default: 50 on CUDA, 3 on CPU)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing (default: %(default)s)")
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure torch.compile too (default: on)",
    )
    parser.add_argument(
        "--cuda-graph", action=argparse.BooleanOptionalAction, default=True, help="CUDA only (default: on)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU (default: 1 2)")
    parser.add_argument("--load", type=int, default=2, help="busy processes beside it, CPU (default: %(default)s)")
    args = parser.parse_args(argv)

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    print(f"device: {device_name(device)}; torch {torch.__version__}")
    cells = benchmark_cells(args.sample, args.cells)
    shape = NetworkShape(stem_channels=args.stem_channels)
    if device.type == "cuda":
        run_cuda(args, cells, shape)
    else:
        run_cpu(args, cells, shape)


if __name__ == "__main__":
    main()
