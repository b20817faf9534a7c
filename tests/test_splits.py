"""Reproducible splits, and their check against the file they are applied to."""

import h5py
import numpy as np
import pytest

from predictor.data.dataset import NASBench
from predictor.data.splits import SplitMismatchError, load_split, make_splits


@pytest.fixture(scope="module")
def bench(sample_hdf5):
    with NASBench(sample_hdf5) as bench:
        yield bench


def test_same_seed_same_splits_other_seed_other_splits(bench):
    first, again, other = make_splits(bench, seed=3), make_splits(bench, seed=3), make_splits(bench, seed=4)
    assert all(np.array_equal(first[name].rows, again[name].rows) for name in first)
    assert not np.array_equal(first["172"].rows, other["172"].rows)


def test_split_contents(bench):
    splits = make_splits(bench, sizes=(172, 334, 860), thresholds=(0.91, 0.80), seed=0)
    assert {len(splits[s]) for s in ("172", "334", "860")} == {172, 334, 860}
    assert set(splits["172"].rows) <= set(splits["334"].rows) <= set(splits["860"].rows)
    accuracy = bench.accuracy(108, "validation_accuracy", repeat=0)
    denoise = splits["denoise-91"].rows
    assert (accuracy[denoise] > 0.91).all()
    assert (np.delete(accuracy, denoise) <= 0.91).all()
    assert np.array_equal(splits["91-172"].rows, np.intersect1d(splits["172"].rows, denoise))
    assert len(splits["all"]) == len(bench)
    assert all(np.array_equal(bench.hashes[s.rows], s.hashes) for s in splits.values())


def test_load_split_from_written_files(bench, sample_splits):
    split = load_split("172", bench, sample_splits)
    assert len(split) == 172 and np.array_equal(bench.hashes[split.rows], split.hashes)


def test_split_follows_hashes_into_a_reordered_file(bench, sample_hdf5, sample_splits, tmp_path):
    order = np.random.default_rng(1).permutation(len(bench))
    reordered = tmp_path / "reordered.hdf5"
    with h5py.File(sample_hdf5, "r") as source, h5py.File(reordered, "w") as target:
        for name in source:
            target[name] = source[name][:][order]
    with NASBench(reordered) as other:
        split = load_split("172", other, sample_splits)
        assert set(other.hashes[split.rows]) == set(load_split("172", bench, sample_splits).hashes)


def test_split_of_another_dataset_is_an_error(bench, sample_hdf5, sample_splits, tmp_path):
    smaller = tmp_path / "smaller.hdf5"
    with h5py.File(sample_hdf5, "r") as source, h5py.File(smaller, "w") as target:
        for name in source:
            target[name] = source[name][:1000]
    with NASBench(smaller) as other, pytest.raises(SplitMismatchError, match="does not belong"):
        load_split("860", other, sample_splits)


def test_missing_split_names_the_command(bench, tmp_path):
    with pytest.raises(FileNotFoundError, match="split_train_val"):
        load_split("172", bench, tmp_path)
