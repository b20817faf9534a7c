"""The PyTorch network has exactly the benchmark's parameter counts (closed form and built)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from predictor.child.channels import NetworkShape, compute_vertex_channels
from predictor.child.network import build_network, trainable_parameters
from predictor.child.param_check import check_parameter_counts
from predictor.child.param_count import count_parameters
from predictor.data.cell import Cell
from predictor.data.records import read_records

KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"  # published: 8,555,530 trainable parameters
TRAIN_CHILD = Path(__file__).resolve().parents[1] / "tools" / "train_child.py"


@pytest.fixture(scope="session")
def sample_modules(sample_tfrecord) -> dict[str, tuple[np.ndarray, list[str], int]]:
    """hash -> (adjacency, ops, trainable_parameters) of every module of the real sample."""
    modules = {}
    for record in read_records(sample_tfrecord):
        if record.module_hash not in modules:
            matrix, ops = record.graph()
            modules[record.module_hash] = (matrix, ops, record.metrics.trainable_parameters)
    return modules


def load_train_child():
    spec = importlib.util.spec_from_file_location("train_child", TRAIN_CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the official channel rule, on cases worked out by hand ------------------------------


@pytest.mark.parametrize(
    "matrix, input_channels, output_channels, expected",
    [
        # a chain: every vertex takes the output's channels
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], 8, 16, [8, 16, 16, 16]),
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], 16, 8, [16, 8, 8, 8]),
        # input and output only: nothing to split
        ([[0, 1], [0, 0]], 5, 1, [5, 1]),
        # two vertices feed the output: 8 = 4 + 4; 15 = 8 + 7 (the remainder goes to the first)
        ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], 8, 8, [8, 4, 4, 8]),
        ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], 8, 15, [8, 8, 7, 15]),
        # three feed the output: 8 = 3 + 3 + 2
        ([[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], 8, 8, [8, 3, 3, 2, 8]),
        # vertex 1 does not feed the output: it takes the max of its successors 2 (5) and 3 (4)
        ([[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], 8, 9, [8, 5, 5, 4, 9]),
        # vertex 2 does not feed the output and takes vertex 3's 7; vertex 1 keeps its own 8
        (
            [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
            8,
            15,
            [8, 8, 7, 7, 15],
        ),
        # the input -> output edge does not count in the split
        ([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], 128, 256, [128, 256, 256, 256]),
    ],
)
def test_vertex_channels_follow_the_official_rule(matrix, input_channels, output_channels, expected):
    assert compute_vertex_channels(input_channels, output_channels, np.array(matrix)) == expected


def test_vertex_channels_reject_an_unpruned_matrix():
    dangling = np.array([[0, 1, 0, 1], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])  # vertex 1 leads nowhere
    with pytest.raises(ValueError):
        compute_vertex_channels(8, 8, dangling)


def test_network_shape_channel_plan():
    assert (
        NetworkShape().module_channels()
        == [(128, 128)] * 3 + [(128, 256)] + [(256, 256)] * 2 + [(256, 512)] + [(512, 512)] * 2
    )


# --- closed form against the dataset --------------------------------------------------------


def test_known_module_count(sample_modules):
    matrix, ops, _ = sample_modules[KNOWN_HASH]
    assert count_parameters(matrix, ops) == 8_555_530


def test_closed_form_equals_dataset_for_every_sample_module(sample_modules):
    assert len(sample_modules) == 20_031
    mismatches = [
        h for h, (matrix, ops, expected) in sample_modules.items() if count_parameters(matrix, ops) != expected
    ]
    assert mismatches == []


def test_closed_form_accepts_dataset_op_codes(sample_modules):
    matrix, ops, expected = sample_modules[KNOWN_HASH]
    _, codes = Cell.from_spec(matrix, ops).padded(len(matrix))
    assert count_parameters(matrix, codes.tolist()) == expected


# --- the built network against the closed form -----------------------------------------------


def spread_subset(sample_modules, size: int) -> list[str]:
    """A deterministic spread of ~`size` modules: every k-th by hash, plus the extremes and the known one."""
    hashes = sorted(sample_modules)
    by_params = sorted(hashes, key=lambda h: sample_modules[h][2])
    chosen = hashes[:: len(hashes) // size] + [by_params[0], by_params[-1], KNOWN_HASH]
    return list(dict.fromkeys(chosen))


def test_built_network_parameters_equal_closed_form(sample_modules):
    """Shapes only (meta device), so a few hundred networks are built in seconds."""
    chosen = spread_subset(sample_modules, 300)
    assert len(chosen) >= 300
    for module_hash in chosen:
        matrix, ops, expected = sample_modules[module_hash]
        cell = Cell.from_spec(matrix, ops)
        model = build_network(cell, device="meta")
        assert trainable_parameters(model) == count_parameters(cell.matrix, cell.ops) == expected, module_hash


def test_built_network_runs_forward(sample_modules, one_thread):
    """Real weights on a tiny batch: logits (N, 10), finite, for a spread of ~100 modules."""
    torch.manual_seed(0)
    images = torch.randn(2, 3, 8, 8)  # 8 -> 4 -> 2 pixels across the stacks
    chosen = spread_subset(sample_modules, 100)
    for module_hash in chosen:
        matrix, ops, expected = sample_modules[module_hash]
        model = build_network(Cell.from_spec(matrix, ops))
        assert trainable_parameters(model) == expected, module_hash
        logits = model(images)
        assert logits.shape == (2, 10) and torch.isfinite(logits).all(), module_hash
        logits.sum().backward()
        assert all(p.grad is not None for p in model.parameters()), module_hash


# --- the --check-params command ----------------------------------------------------------------


def write_hdf5(path: Path, modules: dict, hashes: list[str], corrupt: int | None = None) -> None:
    n = len(hashes)
    adjacency = np.zeros((n, 7, 7), np.int8)
    operations = np.zeros((n, 7), np.int8)
    vertices = np.zeros(n, np.int8)
    params = np.zeros(n, np.int32)
    for i, h in enumerate(hashes):
        matrix, ops, expected = modules[h]
        adjacency[i], operations[i] = Cell.from_spec(matrix, ops).padded()
        vertices[i], params[i] = len(matrix), expected
    if corrupt is not None:
        params[corrupt] += 1
    with h5py.File(path, "w") as file:
        file["hash"] = np.array([h.encode() for h in hashes], dtype="S32")
        file["num_vertices"], file["adjacency"], file["operations"] = vertices, adjacency, operations
        file["trainable_parameters"] = params
        file["metrics"] = np.full((n, 4, 3, 2, 4), np.nan, np.float32)


def test_check_params_command_on_hdf5(sample_modules, tmp_path, capsys):
    hashes = sorted(sample_modules)[:300]
    good, bad = tmp_path / "good.hdf5", tmp_path / "bad.hdf5"
    write_hdf5(good, sample_modules, hashes)
    write_hdf5(bad, sample_modules, hashes, corrupt=7)
    tool = load_train_child()
    assert tool.main(["--check-params", str(good), "--no-progress"]) == 0
    assert "300 rows (300 modules) checked, 0 mismatches" in capsys.readouterr().out
    assert tool.main(["--check-params", str(bad), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert hashes[7] in out and "1 mismatches" in out


def test_check_params_on_the_tfrecord(sample_tfrecord):
    report = check_parameter_counts(sample_tfrecord)
    assert report.modules == 20_031 and report.mismatches == []
