"""Real child training on scikit-learn's digits: the data, the small-data protocol, learning, resuming after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from predictor.child.channels import NetworkShape
from predictor.child.datasets import resolve_dataset
from predictor.child.digits import device_digits, load_digits_splits
from predictor.child.results_log import ResultsLog
from predictor.child.train_step import TrainStep, warm_up_and_undo
from predictor.child.training import (
    ExecutionOptions,
    make_optimizer,
    prepare_model,
    protocol_preset,
    train_and_evaluate,
)
from predictor.data.cell import Cell

REPO = Path(__file__).resolve().parents[1]
CONV3X3_CELL = Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
BRANCHY_CELL = Cell.from_spec(
    [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
)
CPU = ExecutionOptions(device="cpu")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return device_digits("cpu")


def small_protocol(epochs: int, seed: int = 0, stem: int = 16):
    return protocol_preset("small-data", epochs=epochs, seed=seed, shape=NetworkShape(stem_channels=stem))


def test_split_is_seeded_disjoint_and_complete():
    from sklearn.datasets import load_digits

    first, again, other = load_digits_splits(0), load_digits_splits(0), load_digits_splits(1)
    assert np.array_equal(first.valid.images, again.valid.images)
    assert not np.array_equal(first.valid.labels, other.valid.labels)
    sizes = [len(first.train), len(first.valid), len(first.test)]
    assert sizes == [1_200, 300, 297] and sum(sizes) == 1_797
    for split in (first.train, first.valid, first.test):
        assert set(split.labels.tolist()) == set(range(10)) and split.images.shape[1:] == (3, 8, 8)
    pooled = np.concatenate([first.train.labels, first.valid.labels, first.test.labels])
    assert np.array_equal(np.bincount(pooled), np.bincount(load_digits().target))  # class counts of the whole set


def test_digits_are_normalised_by_their_own_statistics_and_not_augmented(digits):
    indices = torch.arange(64)
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    batch = digits.augmented_batch(indices, generator)
    assert torch.equal(generator.get_state(), state)  # no random crop or flip drawn
    assert torch.equal(batch, digits.normalize(digits.train.images[indices]))
    everything = digits.normalize(digits.train.images)
    assert everything.mean().abs() < 1e-4 and (everything.std() - 1).abs() < 1e-2


def test_missing_cifar_names_the_digits_alternative(tmp_path):
    from predictor.child.cifar import CifarNotFoundError

    with pytest.raises(CifarNotFoundError) as error:
        resolve_dataset(None, tmp_path)
    assert "--dataset digits" in error.value.hint
    assert resolve_dataset("digits", tmp_path) == "digits"


def test_small_data_preset_sets_batch_norm_momentum_everywhere():
    protocol = small_protocol(1)
    model = prepare_model(BRANCHY_CELL, protocol, CPU.resolved())
    momenta = {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert momenta == {0.1}
    benchmark = prepare_model(BRANCHY_CELL, protocol_preset("benchmark", shape=protocol.shape), CPU.resolved())
    (momentum,) = {m.momentum for m in benchmark.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert momentum == pytest.approx(1 - 0.997)
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_preset("imagenet")


def test_adam_warm_up_is_undone_exactly(digits):
    """Compile and CUDA graphs warm up and undo steps; with Adam the run must be as if they never happened."""
    protocol = small_protocol(1, stem=8)
    images, labels = digits.normalize(digits.train.images[:16]), digits.train.labels[:16]

    def two_steps(warm_up: bool) -> list[torch.Tensor]:
        model = prepare_model(CONV3X3_CELL, protocol, CPU.resolved())
        step = TrainStep(model, make_optimizer(model, protocol, torch.device("cpu")), 10, protocol.learning_rate, False)
        if warm_up:
            warm_up_and_undo(step, images, labels, steps=2)
        step(images, labels)
        step(images, labels)
        return [p.detach().clone() for p in model.parameters()]

    for plain, undone in zip(two_steps(False), two_steps(True)):
        assert torch.equal(plain, undone)


@pytest.fixture(scope="module")
def trained(digits):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the other tests: results depend on the thread count
    started = time.perf_counter()
    metrics = train_and_evaluate(CONV3X3_CELL, digits, small_protocol(6), CPU)
    seconds = time.perf_counter() - started
    torch.set_num_threads(threads)
    return metrics, seconds


def test_a_small_cell_learns_digits(trained):
    metrics, seconds = trained
    print(f"digits, conv3x3 cell, stem 16, 6 epochs: {metrics['final_validation_accuracy']:.3f} in {seconds:.1f} s")
    assert metrics["final_validation_accuracy"] >= 0.90  # chance is 0.10
    assert metrics["final_test_accuracy"] >= 0.85
    assert metrics["halfway_validation_accuracy"] < metrics["final_validation_accuracy"] + 0.05


def test_the_same_seed_gives_the_same_result(digits, trained):
    again = train_and_evaluate(CONV3X3_CELL, digits, small_protocol(6), CPU)
    names = [name for name in again if name.endswith("accuracy")]
    assert [again[name] for name in names] == [trained[0][name] for name in names]


# --- a verification run killed mid-way ------------------------------------------------------------


def cell_json(cell: Cell) -> dict:
    return {"hash": cell.hash, "adjacency": cell.matrix.tolist(), "ops": list(cell.ops)}


@pytest.mark.slow
def test_a_killed_run_restarted_files_every_cell_once(tmp_path):
    cells = [
        CONV3X3_CELL,
        BRANCHY_CELL,
        Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"]),
        Cell.from_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]),
    ]
    listed = tmp_path / "top.json"
    listed.write_text(json.dumps([cell_json(cell) for cell in cells]))
    out = tmp_path / "results.jsonl"
    command = [
        sys.executable,
        str(REPO / "tools" / "train_child.py"),
        *("--dataset", "digits", "--cells", str(listed), "--out", str(out)),
        *("--epochs", "2", "--stem-channels", "8", "--device", "cpu", "--threads", "1", "--no-progress"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out.is_file() and out.read_text().count("\n") >= 1):
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no cell finished within two minutes"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    before = ResultsLog(out).read()
    assert 1 <= len(before) < len(cells), "the kill must land while cells are still left"

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"{len(before)} already done" in second.stdout
    records = ResultsLog(out).read()
    assert sorted(r["hash"] for r in records) == sorted(cell.hash for cell in cells)
    assert all(r["status"] == "ok" and r["dataset"] == "digits" and r["epochs"] == 2 for r in records)
    assert [r["hash"] for r in records[: len(before)]] == [r["hash"] for r in before]  # nothing rewritten
