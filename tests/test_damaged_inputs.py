"""Damaged split files, HDF5 files and checkpoints: one line naming the file and what to do, never a traceback
or a silently rounded value."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
import torch

import train
from predictor.data.dataset import NASBench
from predictor.data.splits import load_split
from tests.conftest import REPO


def only_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


DAMAGES = {
    "truncated": lambda whole: whole[: len(whole) // 2],  # BadZipFile
    "empty": lambda whole: b"",  # EOFError
    "garbage": lambda whole: b"\x80\x04garbage" * 50,  # numpy suggests allow_pickle
    "no hashes": lambda whole: _npz(rows=np.arange(3), meta=np.array("{}")),  # KeyError
    "meta not JSON": lambda whole: _npz(rows=np.arange(3), hashes=np.array([b"x"] * 3), meta=np.array("{")),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_split_file_is_one_line_naming_it(sample_hdf5, sample_splits, tmp_path, capsys, damage):
    path = tmp_path / "172.npz"
    path.write_bytes(DAMAGES[damage]((sample_splits / "172.npz").read_bytes()))
    with NASBench(sample_hdf5) as bench, pytest.raises(ValueError, match="not a readable split file") as error:
        load_split(path, bench)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "allow_pickle" not in message and "split_train_val.py" in message
    out = ["--out", str(tmp_path / "run")]
    assert train.main(["--split", str(path), "--data", str(sample_hdf5), *out]) == 1
    assert only_error(capsys).startswith(f"error: {path}: not a readable split file")


def test_a_split_file_is_a_zip_file(sample_splits):
    assert zipfile.is_zipfile(sample_splits / "172.npz")  # so the truncated case above is a BadZipFile


def _copy(sample_hdf5, target, change) -> None:
    with h5py.File(sample_hdf5, "r") as source, h5py.File(target, "w") as copy:
        arrays = {name: source[name][:] for name in source}
        change(arrays)
        for name, array in arrays.items():
            copy[name] = array


def test_an_hdf5_dataset_with_too_few_rows_is_one_line(sample_hdf5, tmp_path, capsys):
    data = tmp_path / "short.hdf5"
    _copy(sample_hdf5, data, lambda arrays: arrays.update(operations=arrays["operations"][:100]))
    with pytest.raises(ValueError, match=r"dataset 'operations' has shape \(100, 7\), expected \(20031, 7\)"):
        NASBench(data)
    assert train.main(["--evaluate", str(tmp_path / "model.pt"), "--data", str(data)]) == 1
    assert only_error(capsys).startswith(f"error: {data}: dataset 'operations' has shape")


def test_an_adjacency_entry_that_is_not_0_or_1_is_refused_not_rounded(sample_hdf5, tmp_path):
    data = tmp_path / "fraction.hdf5"

    def fraction(arrays):
        adjacency = arrays["adjacency"].astype(np.float32)
        adjacency[7, 0, 1] = 1.7 if adjacency[7, 0, 1] else 0.7
        arrays["adjacency"] = adjacency

    _copy(sample_hdf5, data, fraction)
    with (
        NASBench(data) as bench,
        pytest.raises(ValueError, match=r"'adjacency' holds 1.7\d* at row 7, expected 0 or 1"),
    ):
        _ = bench.adjacency


# --- checkpoints ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from predictor.gcn.config import TrainConfig
    from predictor.gcn.training import fit
    from tests.modules import random_modules

    adjacency, operations, num_vertices = random_modules(40, seed=1)
    labels = np.random.default_rng(0).uniform(0.8, 0.95, 40)
    model = fit(adjacency, operations, num_vertices, labels, TrainConfig.paper().replace(epochs=1), seed=0)
    return model.save(tmp_path_factory.mktemp("checkpoint") / "model.pt")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda payload: payload.pop("version"), "checkpoint version missing"),
        (lambda payload: payload["state"].update(fc1_weight_bad=torch.zeros(1)), "damaged predictor checkpoint"),
        (lambda payload: payload.update(config=payload["config"].replace('"hidden": 144', '"hidden": 32')), "size"),
        (lambda payload: payload.pop("config"), "no 'config'"),
        (lambda payload: payload.update(info="{not json"), "damaged predictor checkpoint"),
    ],
)
def test_a_damaged_checkpoint_is_one_line_naming_it(checkpoint, sample_hdf5, tmp_path, capsys, damage, message):
    payload = torch.load(checkpoint, weights_only=True)
    damage(payload)
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    assert train.main(["--evaluate", str(path), "--data", str(sample_hdf5)]) == 1
    error = only_error(capsys)
    assert error.startswith(f"error: {path}: ") and message in error, error


# --- a file that cannot be read -------------------------------------------------------------------


def as_a_user(args: list[str]) -> list[str]:
    """The command as an ordinary user runs it: root without the capabilities that bypass file modes."""
    if os.geteuid() != 0:
        return args
    if shutil.which("setpriv") is None:
        pytest.fail("running as root without setpriv (util-linux): cannot make a file unreadable")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *args]


def test_an_unreadable_hdf5_file_says_permission_denied_not_not_hdf5(sample_hdf5, tmp_path):
    data = tmp_path / "nasbench.hdf5"
    shutil.copy(sample_hdf5, data)
    data.chmod(0)
    command = [sys.executable, "train.py", "--evaluate", str(tmp_path / "model.pt"), "--data", str(data)]
    result = subprocess.run(
        as_a_user(command), capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "Permission denied" in result.stderr and str(data) in result.stderr and "not an HDF5" not in result.stderr
