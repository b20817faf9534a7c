"""Shared fixtures: the real NAS-Bench-101 sample, converted once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_TFRECORD = REPO.parent / "shared" / "nb101" / "nb101_sample.tfrecord"


@pytest.fixture(scope="session")
def sample_tfrecord() -> Path:
    if not SAMPLE_TFRECORD.is_file():
        pytest.fail(f"the real sample is missing: expected {SAMPLE_TFRECORD} (../shared/nb101 beside the repo)")
    return SAMPLE_TFRECORD


@pytest.fixture(scope="session")
def sample_hdf5(sample_tfrecord: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from predictor.convert import convert

    path = tmp_path_factory.mktemp("data") / "nasbench.hdf5"
    convert(sample_tfrecord, path, progress=False)
    return path


@pytest.fixture(scope="session")
def sample_splits(sample_hdf5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from predictor.dataset import NASBench
    from predictor.splits import make_splits, save_split

    directory = tmp_path_factory.mktemp("splits")
    with NASBench(sample_hdf5) as bench:
        for split in make_splits(bench).values():
            save_split(split, directory, {"source_name": SAMPLE_TFRECORD.name})
    return directory
