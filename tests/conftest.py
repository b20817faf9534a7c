"""Shared fixtures: the real NAS-Bench-101 sample, converted once per test session, the real CIFAR-10, and the enumerated space."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_TFRECORD = REPO.parent / "shared" / "nb101" / "nb101_sample.tfrecord"
CIFAR_TARBALL = REPO.parent / "shared" / "cifar10" / "cifar-10-python.tar.gz"


@pytest.fixture(scope="session")
def sample_tfrecord() -> Path:
    if not SAMPLE_TFRECORD.is_file():
        pytest.fail(f"the real sample is missing: expected {SAMPLE_TFRECORD} (../shared/nb101 beside the repo)")
    return SAMPLE_TFRECORD


@pytest.fixture(scope="session")
def sample_hdf5(sample_tfrecord: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from predictor.data.convert import convert

    path = tmp_path_factory.mktemp("data") / "nasbench.hdf5"
    convert(sample_tfrecord, path, progress=False)
    return path


@pytest.fixture(scope="session")
def sample_splits(sample_hdf5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from predictor.data.dataset import NASBench
    from predictor.data.splits import make_splits, save_splits

    directory = tmp_path_factory.mktemp("splits")
    with NASBench(sample_hdf5) as bench:
        save_splits(list(make_splits(bench).values()), directory, {"source_name": SAMPLE_TFRECORD.name})
    return directory


@pytest.fixture(scope="session")
def real_cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official folder layout, unpacked from the real archive once per session (about two seconds)."""
    if not CIFAR_TARBALL.is_file():
        pytest.fail(f"the real CIFAR-10 is missing: expected {CIFAR_TARBALL} (../shared/cifar10 beside the repo)")
    root = tmp_path_factory.mktemp("cifar10")
    with tarfile.open(CIFAR_TARBALL) as archive:
        archive.extractall(root, filter="data")
    return root


@pytest.fixture(scope="session")
def full_space_cache_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's enumeration of the full space is cached."""
    return tmp_path_factory.mktemp("space") / "space.npz"


@pytest.fixture(scope="session")
def full_space(full_space_cache_path: Path):
    """The full NAS-Bench-101 space, enumerated once per session (seconds, on all CPUs)."""
    from predictor.data.space import load_space

    return load_space(full_space_cache_path, progress=False)


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine OpenMP barriers make them crawl."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pretraining_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pretrained")


@pytest.fixture(autouse=True)
def small_pretraining_space(pretraining_cache: Path, monkeypatch: pytest.MonkeyPatch):
    """A fit that pre-trains its encoder (the recommended setting does) learns from 400 random cells, not
    the whole space, and caches it in the session's folder, never in data/: the tests stay fast and leave
    the working tree alone. tests/test_predictor_pretraining.py checks the pre-training itself."""
    from predictor.gcn import pretraining
    from tests.modules import random_modules

    monkeypatch.setattr(pretraining, "CACHE_DIR", pretraining_cache)
    monkeypatch.setattr(pretraining, "space_cells", lambda progress=False: random_modules(400, seed=6))


@pytest.fixture
def immutable(tmp_path):
    """A folder nobody can write in, root included (chattr +i)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        os.chmod(folder, 0o555)
        if os.access(folder, os.W_OK):
            pytest.fail("cannot make a read-only folder here (no chattr, running as root)")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    os.chmod(folder, 0o755)
