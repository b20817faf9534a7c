"""Conversion speed and memory on a full-size file, against the plain parse loop in the same run.

The plain way is what the official API does when it loads the tfrecord: one process,
every record parsed into Python dicts. The file is synthetic (real graphs, random
metrics; see tools/make_synthetic_tfrecord.py), so only sizes and times are meaningful.

    python benchmarks/bench_convert.py [--input data/synthetic_full.tfrecord]
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parents[1]


def plain_parse_loop(path: str, queue: multiprocessing.Queue) -> None:
    """The official API's load: json + base64 + protobuf per record, into per-module dicts."""
    from predictor.data.model_metrics import ModelMetrics
    from predictor.data.records import frames, read_blocks

    started = time.perf_counter()
    fixed, computed = {}, {}
    for block in read_blocks(path):
        for _, _, data in frames(block):
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data)
            metrics = ModelMetrics.FromString(base64.b64decode(raw_metrics))
            if module_hash not in fixed:
                fixed[module_hash] = {
                    "module_adjacency": raw_adjacency,
                    "module_operations": raw_operations.split(","),
                    "trainable_parameters": metrics.trainable_parameters,
                }
                computed[module_hash] = {}
            final = metrics.evaluation_data[2]
            computed[module_hash].setdefault(epochs, []).append(
                {
                    "final_training_time": final.training_time,
                    "final_train_accuracy": final.train_accuracy,
                    "final_validation_accuracy": final.validation_accuracy,
                    "final_test_accuracy": final.test_accuracy,
                }
            )
    queue.put((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def project_converter(path: str, output: str, queue: multiprocessing.Queue) -> None:
    from predictor.data.convert import convert

    summary = convert(path, output, force=True, progress=False)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    queue.put((summary["seconds"], summary["records"], own, workers))


def time_dataset(path: str) -> tuple[float, float, float]:
    """Seconds to open the HDF5 with the query API, answer one query, and load every metric."""
    from predictor.data.dataset import NASBench

    started = time.perf_counter()
    bench = NASBench(path)
    opened = time.perf_counter()
    bench.query(bench.cell(len(bench) // 2), repeat="random")
    queried = time.perf_counter()
    _ = bench.metrics
    loaded = time.perf_counter()
    bench.close()
    return opened - started, queried - opened, loaded - queried


def in_process(target, *args):
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--input",
        type=Path,
        default=REPO / "data" / "synthetic_full.tfrecord",
        help="file to convert; made with tools/make_synthetic_tfrecord.py when missing",
    )
    parser.add_argument("--skip-plain", action="store_true", help="do not run the plain parse loop")
    args = parser.parse_args()
    if not args.input.exists():
        subprocess.run(
            [sys.executable, str(REPO / "tools" / "make_synthetic_tfrecord.py"), "--output", str(args.input)],
            check=True,
        )
    size = args.input.stat().st_size
    print(f"input: {args.input} ({size / 1e9:.2f} GB, synthetic metrics)")
    with tempfile.TemporaryDirectory(dir=args.input.parent) as scratch:
        output = str(Path(scratch) / "nasbench.hdf5")
        seconds, records, own_kb, worker_kb = in_process(project_converter, str(args.input), output)
        with h5py.File(output, "r") as file:
            modules = len(file["hash"])
        opened, first_query, all_metrics = time_dataset(output)
    print(
        f"converter: {seconds:6.1f} s  {records / seconds:>10,.0f} records/s  {modules:,} modules  "
        f"peak RSS {own_kb / 1024:,.0f} MB (main) + {worker_kb / 1024:,.0f} MB (largest worker)"
    )
    print(
        f"dataset: open {opened * 1e3:.0f} ms, first query {first_query * 1e3:.1f} ms, "
        f"whole metrics block {all_metrics:.2f} s"
    )
    if not args.skip_plain:
        plain_seconds, plain_kb = in_process(plain_parse_loop, str(args.input))
        print(
            f"plain parse loop: {plain_seconds:6.1f} s  {records / plain_seconds:>10,.0f} records/s  "
            f"{plain_seconds / records * 1e6:.2f} us/record  peak RSS {plain_kb / 1024:,.0f} MB (nothing written)"
        )
        print(f"speed-up over the plain loop: {plain_seconds / seconds:.2f}x")


if __name__ == "__main__":
    main()
