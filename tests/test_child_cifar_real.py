"""Child training on the real CIFAR-10 (../shared/cifar10, unpacked once per session: `real_cifar` in conftest).

The split rule is checked against the batch files read directly; a short real training run
shows a conv cell learning well above chance and a cell with no operation doing worse.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from predictor.child.channels import NetworkShape
from predictor.child.cifar import CIFAR_FOLDER, DeviceCifar, load_cifar10
from predictor.child.training import ExecutionOptions, protocol_preset, train_and_evaluate
from predictor.data.cell import Cell

# From ../shared/cifar10/README.md: this copy's training-image channel statistics (0..255).
README_MEAN = (125.6, 123.0, 113.9)
README_STD = (62.7, 62.3, 66.9)

pytestmark = pytest.mark.usefixtures("one_thread")


def read_pickle(path: Path) -> tuple[np.ndarray, list[int]]:
    with open(path, "rb") as file:
        batch = pickle.load(file, encoding="bytes")
    return np.asarray(batch[b"data"]), list(batch[b"labels"])


def test_the_benchmark_split_on_the_real_files(real_cifar):
    splits = load_cifar10(real_cifar)
    folder = real_cifar / CIFAR_FOLDER
    files = {name: read_pickle(folder / name) for name in ("data_batch_1", "data_batch_5", "test_batch")}
    train_parts = [read_pickle(folder / f"data_batch_{i}") for i in range(1, 5)]

    assert len(splits.train) == 40_000 and len(splits.valid) == len(splits.test) == 10_000
    expected_train = np.concatenate([data for data, _ in train_parts]).reshape(-1, 3, 32, 32)
    assert np.array_equal(splits.train.images, expected_train)
    assert splits.train.labels.tolist() == [label for _, labels in train_parts for label in labels]
    for split, name in (
        (splits.train_eval, "data_batch_1"),
        (splits.valid, "data_batch_5"),
        (splits.test, "test_batch"),
    ):
        data, labels = files[name]
        assert np.array_equal(split.images, data.reshape(-1, 3, 32, 32)) and split.labels.tolist() == labels
    # the real images: 1,000 test images per class, the README's channel statistics
    assert np.bincount(splits.test.labels, minlength=10).tolist() == [1_000] * 10
    train = splits.train.images.astype(np.float64)
    assert np.allclose(train.mean(axis=(0, 2, 3)), README_MEAN, atol=0.3)
    assert np.allclose(train.std(axis=(0, 2, 3)), README_STD, atol=0.3)


CONV_CELL = Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
NO_OP_CELL = Cell.from_spec([[0, 1], [0, 0]], ["input", "output"])


@pytest.mark.slow
def test_a_conv_cell_learns_real_images_and_a_cell_without_operations_does_worse(real_cifar):
    data = DeviceCifar(load_cifar10(real_cifar), "cpu")
    protocol = protocol_preset(
        "cpu", epochs=4, train_images=2_000, eval_images=1_000, shape=NetworkShape(stem_channels=16)
    )
    options = ExecutionOptions(device="cpu")
    conv = train_and_evaluate(CONV_CELL, data, protocol, options)
    no_op = train_and_evaluate(NO_OP_CELL, data, protocol, options)
    assert conv["images"] == {"train": 2_000, "train_eval": 1_000, "validation": 1_000, "test": 1_000}
    assert conv["final_validation_accuracy"] >= 0.35, conv  # chance is 0.10
    assert conv["final_test_accuracy"] >= 0.35, conv
    assert no_op["final_validation_accuracy"] < conv["final_validation_accuracy"] - 0.02, (no_op, conv)
