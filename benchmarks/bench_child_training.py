"""Training throughput of the NAS-Bench-101 network: plain fp32 loop vs the fast path, same run.

Measures images/s of full train steps (device-side augmentation, forward, backward,
TF-RMSProp update) on synthetic CIFAR-shaped data for three cells of the real sample:
00005c142e6f48ac74fdcf73e3439874 and the smallest and largest by parameter count.
Prints the device, the compile/capture time of the fast path separately, the speed-up
over plain fp32, and the projected wall time of one 108-epoch run (40,000 x 108
images, evaluations excluded).

  python benchmarks/bench_child_training.py                      # GPU: batch 256, fast path = bf16 + channels-last + compile + CUDA graph
  python benchmarks/bench_child_training.py --steps 3 --batch-size 32   # a quick CPU figure
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

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
    return f"{cpu} ({torch.get_num_threads()} threads)"


def benchmark_cells(sample: Path) -> list[tuple[str, Cell, int]]:
    """(label, cell, dataset parameter count) for the known, smallest and largest module of the sample."""
    modules: dict[str, tuple[Cell, int]] = {}
    for record in read_records(sample):
        if record.module_hash not in modules:
            modules[record.module_hash] = (Cell.from_spec(*record.graph()), record.metrics.trainable_parameters)
    smallest = min(modules, key=lambda h: modules[h][1])
    largest = max(modules, key=lambda h: modules[h][1])
    return [
        (label, *modules[h]) for label, h in (("known", KNOWN_MODULE), ("smallest", smallest), ("largest", largest))
    ]


def synthetic_data(num_images: int, device: torch.device) -> DeviceCifar:
    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (num_images, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, num_images))
    return DeviceCifar(CifarSplits(split, split, split, split), device)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(
    cell: Cell, data: DeviceCifar, options: ExecutionOptions, batch_size: int, warmup: int, steps: int
) -> tuple[float, float]:
    """(images/s over `steps` timed steps, setup seconds for compile/capture + warm-up)."""
    options = options.resolved()
    device = torch.device(options.device)
    protocol = TrainingProtocol(batch_size=batch_size)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sample", type=Path, default=DEFAULT_SAMPLE, help="tfrecord to pick the cells from (default: %(default)s)"
    )
    parser.add_argument("--device", help="default: cuda when available, else cpu")
    parser.add_argument("--batch-size", type=int, help="default: 256 on CUDA, 32 on CPU")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (default: 50 on CUDA, 3 on CPU)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing (default: %(default)s)")
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile in the fast path (default: on CUDA only)",
    )
    parser.add_argument(
        "--cuda-graph",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="CUDA-graph capture in the fast path (default: on CUDA)",
    )
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bf16 autocast in the fast path (default: on)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    on_cuda = device.type == "cuda"
    batch_size = args.batch_size or (256 if on_cuda else 32)
    steps = args.steps or (50 if on_cuda else 3)
    compile_ = on_cuda if args.compile is None else args.compile
    cuda_graph = on_cuda if args.cuda_graph is None else args.cuda_graph
    plain = ExecutionOptions(device=str(device), bf16=False, channels_last=False)
    fast = ExecutionOptions(
        device=str(device), bf16=args.bf16, channels_last=True, compile=compile_, cuda_graph=cuda_graph
    )
    data = synthetic_data(max(4 * batch_size, 1024), device)

    print(
        f"device: {device_name(device)}; torch {torch.__version__}; batch {batch_size}; {steps} timed steps after {args.warmup} warm-up"
    )
    print(
        f"fast path: bf16={fast.bf16} channels_last=True compile={fast.compile} cuda_graph={fast.resolved().cuda_graph}"
    )
    header = f"{'module':<42} {'params':>10} {'fp32 img/s':>11} {'fast img/s':>11} {'speed-up':>9} {'setup s':>8} {'108 ep (fast)':>14}"
    print(header)
    print("-" * len(header))
    for label, cell, expected in benchmark_cells(args.sample):
        plain_rate, _ = images_per_second(cell, data, plain, batch_size, args.warmup, steps)
        fast_rate, setup = images_per_second(cell, data, fast, batch_size, args.warmup, steps)
        projected_hours = IMAGES_PER_108_EPOCHS / fast_rate / 3600
        print(
            f"{label + ' ' + cell.hash:<42} {expected:>10,} {plain_rate:>11.1f} {fast_rate:>11.1f} {fast_rate / plain_rate:>8.2f}x "
            f"{setup:>8.1f} {projected_hours:>12.1f} h"
        )


if __name__ == "__main__":
    main()
