"""tfrecord -> HDF5 on the real sample and on small hand-made files."""

import math
from collections import Counter

import google_crc32c
import h5py
import numpy as np
import pytest

from predictor.data.convert import _reset_worker, _Rows, convert, decode_block
from predictor.data.records import RecordError, read_blocks, read_records
from predictor.data.schema import BUDGETS
from tests.tfrecords import payload, write

FIELDS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")


@pytest.fixture(scope="module")
def sample(sample_hdf5):
    with h5py.File(sample_hdf5, "r") as file:
        yield {name: file[name][:] for name in file} | {"attrs": dict(file.attrs)}


def test_schema(sample):
    n = 20_031
    assert sample["hash"].shape == (n,) and sample["hash"].dtype == np.dtype("S32")
    assert sample["num_vertices"].dtype == np.int8
    assert sample["trainable_parameters"].dtype == np.int32
    assert sample["adjacency"].shape == (n, 7, 7) and sample["adjacency"].dtype == np.int8
    assert sample["operations"].shape == (n, 7) and sample["operations"].dtype == np.int8
    assert sample["metrics"].shape == (n, 4, 3, 2, 4) and sample["metrics"].dtype == np.float32


def test_every_record_value_is_in_the_file(sample, sample_tfrecord):
    row_of = {h.decode(): i for i, h in enumerate(sample["hash"])}
    first_seen, repeats, mismatches = [], Counter(), []
    for record in read_records(sample_tfrecord):
        row = row_of[record.module_hash]
        if len(first_seen) == row:
            first_seen.append(record.module_hash)
        budget = BUDGETS.index(record.epochs)
        repeat = repeats[record.module_hash, budget]
        repeats[record.module_hash, budget] += 1
        assert sample["trainable_parameters"][row] == record.metrics.trainable_parameters
        for point in (0, 1):
            data = record.metrics.evaluation_data[point + 1]
            for f, field in enumerate(FIELDS):
                stored = sample["metrics"][row, budget, repeat, point, f]
                expected = np.float32(getattr(data, field)) if data.HasField(field) else None
                if (expected is None and not math.isnan(stored)) or (expected is not None and stored != expected):
                    mismatches.append((record.index, field, stored, expected))
        matrix, ops = record.graph()
        v = len(ops)
        assert sample["num_vertices"][row] == v
        assert np.array_equal(sample["adjacency"][row, :v, :v], matrix) and not sample["adjacency"][row, v:].any()
    assert mismatches == []
    assert first_seen == [h.decode() for h in sample["hash"]], "rows must be in order of first appearance"


def test_absent_values_are_nan(sample):
    metrics = sample["metrics"]
    single = np.isnan(metrics[:, 3, 1:]).all(axis=(1, 2, 3))  # only repeat 0 at 108 epochs
    assert single.sum() == 20_001
    single_run = metrics[single]
    assert np.isnan(single_run[:, :, :, 0]).all(), "halfway values are absent in these records"
    assert np.isnan(single_run[..., 1]).all() and np.isnan(single_run[..., 3]).all(), "no train/test accuracy"
    assert not np.isnan(single_run[:, :, 0, 1, 2]).any(), "final validation accuracy is real at every budget"
    assert (single_run[:, :, 0, 1, 2] != 0).all()


def test_complete_modules_have_three_full_repeats(sample):
    metrics = sample["metrics"]
    complete = ~np.isnan(metrics[:, 3, 2, 1, 3])
    assert complete.sum() == 30
    assert not np.isnan(metrics[complete][:, 3]).any(), "halfway and final, every field, three repeats"
    assert np.isnan(metrics[complete][:, :3]).all(), "no 4/12/36-epoch records for these modules"


def test_source_attributes(sample, sample_tfrecord):
    attrs = sample["attrs"]
    assert attrs["source_name"] == sample_tfrecord.name
    assert attrs["source_size"] == sample_tfrecord.stat().st_size
    assert attrs["source_crc32c"] == f"{google_crc32c.value(sample_tfrecord.read_bytes()):08x}"
    assert attrs["num_records"] == 80_094


def test_worker_count_does_not_change_the_file(sample_tfrecord, sample, tmp_path):
    out = tmp_path / "one.hdf5"
    convert(sample_tfrecord, out, workers=1, progress=False)
    with h5py.File(out, "r") as file:
        for name in ("hash", "adjacency", "operations", "num_vertices", "trainable_parameters"):
            assert np.array_equal(file[name][:], sample[name]), name
        assert np.array_equal(file["metrics"][:], sample["metrics"], equal_nan=True)


def test_refuses_to_overwrite_without_force(sample_tfrecord, tmp_path):
    out = tmp_path / "x.hdf5"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="--force"):
        convert(sample_tfrecord, out, progress=False)
    assert out.read_text() == "precious"


def test_interrupted_conversion_leaves_nothing(sample_tfrecord, tmp_path):
    def interrupt(records_done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(sample_tfrecord, tmp_path / "x.hdf5", progress=False, on_block=interrupt)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_same_hash_with_two_graphs_is_an_error(tmp_path, workers):
    path = write(tmp_path / "f.tfrecord", [payload(), payload(epochs=4), payload(ops="input,maxpool3x3,output")])
    with pytest.raises(RecordError, match="two different graphs") as caught:
        convert(path, tmp_path / "x.hdf5", workers=workers, progress=False)
    assert caught.value.index == 2


def test_a_module_whose_records_reach_two_workers_keeps_one_graph(tmp_path):
    """Each worker only knows the graphs of its own blocks; the parent checks across blocks."""
    same = write(tmp_path / "same.tfrecord", [payload(epochs=4)])
    other = write(tmp_path / "other.tfrecord", [payload(ops="input,maxpool3x3,output")])
    rows = _Rows("f")
    for path in (write(tmp_path / "first.tfrecord", [payload()]), same):
        _reset_worker()  # a fresh worker for each block
        rows.add(decode_block(next(read_blocks(path))))
    assert len(rows) == 1 and rows.num_vertices[0] == 3
    _reset_worker()
    with pytest.raises(RecordError, match="two different graphs"):
        rows.add(decode_block(next(read_blocks(other))))


def test_more_than_three_repeats_is_an_error(tmp_path):
    path = write(tmp_path / "f.tfrecord", [payload(epochs=4), payload()] + [payload(epochs=108)] * 3)
    with pytest.raises(RecordError, match="more than 3 repeats") as caught:
        convert(path, tmp_path / "x.hdf5", progress=False)
    assert caught.value.index == 4


def test_unknown_budget_is_an_error(tmp_path):
    path = write(tmp_path / "f.tfrecord", [payload(epochs=4), payload(epochs=50)])
    with pytest.raises(RecordError, match="budget 50") as caught:
        convert(path, tmp_path / "x.hdf5", progress=False)
    assert caught.value.index == 1
