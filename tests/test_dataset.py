"""The query API over the converted real sample."""

import warnings

import h5py
import numpy as np
import pytest

from predictor.data.cell import Cell, InvalidCellError
from predictor.data.dataset import ModuleNotInDatasetError, NASBench
from tests.modules import KNOWN_HASH, KNOWN_OPS, known_matrix


@pytest.fixture(scope="module")
def bench(sample_hdf5):
    with NASBench(sample_hdf5) as bench:
        yield bench


@pytest.fixture(scope="module")
def complete_rows(bench):
    return np.flatnonzero(~np.isnan(bench.metrics[:, 3, 2, 1, 3]))


def test_length_and_iteration(bench, sample_hdf5):
    with h5py.File(sample_hdf5, "r") as file:
        stored = [h.decode() for h in file["hash"][:]]
    assert len(bench) == 20_031
    assert list(bench) == stored


def test_cells_rebuild_to_their_hash(bench):
    for row in np.random.default_rng(0).choice(len(bench), 300, replace=False):
        assert bench.cell(row).hash == bench.hashes[row].decode()


def test_query_known_module(bench):
    cell = Cell.from_spec(known_matrix(), KNOWN_OPS)
    result = bench.query(cell, epochs=108, repeat=0)
    row = bench.row(KNOWN_HASH)
    assert result["trainable_parameters"] == 8_555_530
    assert result["validation_accuracy"] == pytest.approx(float(bench.metrics[row, 3, 0, 1, 2]))
    assert np.isnan(result["test_accuracy"]), "absent in the sample: NaN, never 0"
    assert result["module_operations"] == KNOWN_OPS


def test_query_repeat_choices(bench, complete_rows):
    row = complete_rows[0]
    cell = bench.cell(row)
    runs = [bench.query(cell, repeat=r)["test_accuracy"] for r in range(3)]
    assert len(set(runs)) > 1
    assert bench.query(cell, repeat="mean")["test_accuracy"] == pytest.approx(np.mean(runs))
    rng = np.random.default_rng(0)
    drawn = {bench.query(cell, repeat="random", rng=rng)["test_accuracy"] for _ in range(60)}
    assert drawn == set(runs)
    halfway = bench.query(cell, repeat=0, stop_halfway=True)
    assert halfway["training_time"] < bench.query(cell, repeat=0)["training_time"]


def test_get_metrics_from_hash_uses_official_names(bench, complete_rows):
    fixed, computed = bench.get_metrics_from_hash(bench.hashes[complete_rows[0]].decode())
    assert set(fixed) == {"module_adjacency", "module_operations", "trainable_parameters"}
    assert list(computed) == [108] and len(computed[108]) == 3
    assert set(computed[108][0]) == {
        f"{p}_{f}"
        for p in ("halfway", "final")
        for f in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
    }
    _, single = bench.get_metrics_from_hash(KNOWN_HASH)
    assert sorted(single) == [4, 12, 36, 108] and set(single[4][0]) == {"final_validation_accuracy"}


def test_query_errors(bench):
    with pytest.raises(InvalidCellError):
        bench.query(Cell.from_spec(np.array([[0, 1], [1, 0]]), ["input", "output"]))
    small = [
        Cell.from_spec(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["input", op, "output"])
        for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
    ]
    absent = next(cell for cell in small if cell.hash.encode() not in set(bench.hashes.tolist()))
    with pytest.raises(ModuleNotInDatasetError, match="not in"):
        bench.query(absent)
    with pytest.raises(ValueError, match="budget 200"):
        bench.query(bench.cell(0), epochs=200)
    with pytest.raises(ValueError, match="repeat"):
        bench.query(bench.cell(0), repeat=2)  # the sample's single-run modules hold repeat 0 only


def test_accuracy_column_replaces_blown_runs(bench, complete_rows):
    raw = bench.metrics[:, 3, 0, 1, 2]
    labels = bench.accuracy(108, "validation_accuracy", repeat=0)
    sound = raw >= 0.2
    assert np.array_equal(labels[sound], raw[sound])
    assert not np.isnan(labels).any()
    mean = bench.accuracy(108, "test_accuracy", repeat="mean")
    assert np.allclose(mean[complete_rows], bench.metrics[complete_rows, 3, :, 1, 3].mean(axis=1))


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nasbench_tfrecord_converter"):
        NASBench(tmp_path / "nope.hdf5")


def test_mean_over_the_repeats_present_of_a_single_run_module(bench):
    single = next(r for r in range(len(bench)) if (~np.isnan(bench.metrics[r, 3, :, 1, 2])).sum() == 1)
    cell = bench.cell(single)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice"
        mean = bench.query(cell, repeat="mean")
    only = bench.query(cell, repeat=int(np.flatnonzero(~np.isnan(bench.metrics[single, 3, :, 1, 2]))[0]))
    for field in ("training_time", "validation_accuracy"):
        assert mean[field] == pytest.approx(only[field])
    assert np.isnan(mean["test_accuracy"]) and np.isnan(only["test_accuracy"]), "absent from the sample"


@pytest.mark.parametrize(
    ("arguments", "error", "says"),
    [
        ({"epochs": "108"}, TypeError, "epochs must be an int"),
        ({"epochs": 108.0}, TypeError, "epochs must be an int"),
        ({"repeat": 1.0}, TypeError, "repeat must be"),
        ({"repeat": True}, TypeError, "repeat must be"),
        ({"repeat": "first"}, ValueError, "repeat must be"),
        ({"repeat": 3}, ValueError, "index 0-2"),
        ({"stop_halfway": "no"}, TypeError, "stop_halfway"),
    ],
)
def test_query_says_which_argument_is_wrong(bench, arguments, error, says):
    with pytest.raises(error, match=says):
        bench.query(bench.cell(0), **arguments)


def test_query_wants_a_cell(bench):
    with pytest.raises(TypeError, match="Cell.from_spec"):
        bench.query({"matrix": known_matrix(), "ops": KNOWN_OPS})


@pytest.mark.parametrize("content", [b"", b"not an hdf5 file at all" * 100])
def test_a_file_that_is_not_hdf5_is_named(tmp_path, content):
    path = tmp_path / "data.hdf5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an HDF5 file"):
        NASBench(path)
