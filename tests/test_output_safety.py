"""Outputs: the user's umask, all or none, refused before the work, and a full disk or a read-only folder
reported in one line naming the output (not a hidden temporary file)."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

from predictor.data.atomic import atomic_directory, atomic_output, atomic_outputs, write_json
from tests.conftest import REPO

UMASKS = [0o022, 0o002, 0o027, 0o077]


@contextmanager
def umask(value: int):
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("value", UMASKS)
def test_outputs_get_the_mode_the_umask_gives_a_new_file(tmp_path, value):
    with umask(value):
        plain = tmp_path / "plain"
        plain.write_text("x")
        (tmp_path / "plain-folder").mkdir()
        written = write_json({"a": 1}, tmp_path / "out.json")
        with atomic_directory(tmp_path / "run") as folder:
            write_json({"b": 2}, folder / "metrics.json")
    assert mode(written) == mode(plain) == 0o666 & ~value
    assert mode(tmp_path / "run") == mode(tmp_path / "plain-folder") == 0o777 & ~value
    assert mode(tmp_path / "run" / "metrics.json") == mode(plain)


def test_a_read_only_folder_is_refused_before_the_work_naming_the_output(immutable):
    worked = []
    with pytest.raises(PermissionError, match=f"{immutable / 'out.json'}: cannot write in {immutable}") as refused:
        with atomic_output(immutable / "out.json"):
            worked.append(True)
    assert not worked and ".tmp" not in str(refused.value)
    with pytest.raises(PermissionError, match="cannot write in"):
        with atomic_directory(immutable / "run"):
            worked.append(True)
    assert not worked


def test_outputs_written_together_appear_all_or_none(tmp_path):
    paths = [tmp_path / f"{name}.npz" for name in ("a", "b", "c")]
    with pytest.raises(RuntimeError), atomic_outputs(paths) as temporaries:
        for temporary in temporaries[:2]:
            temporary.write_bytes(b"x")
        raise RuntimeError("the third one fails")
    assert os.listdir(tmp_path) == []
    (tmp_path / "c.npz").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="c.npz exists; pass --force"):
        with atomic_outputs(paths):
            pytest.fail("refused before the work")
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]


def test_a_run_folder_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_directory(tmp_path / "run") as folder:
        (folder / "model.pt").write_bytes(b"weights")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    with atomic_directory(tmp_path / "run") as folder:
        (folder / "model.pt").write_bytes(b"first")
    with pytest.raises(FileExistsError, match="run exists; pass --force to replace it, or choose another --out"):
        with atomic_directory(tmp_path / "run"):
            pytest.fail("refused before the work")
    with pytest.raises(FileExistsError, match="holds 'model.pt', which a run does not write"):
        with atomic_directory(tmp_path / "run", force=True, replaceable={"metrics.json"}):
            pytest.fail("refused before the work")
    with atomic_directory(tmp_path / "run", force=True, replaceable={"model.pt"}) as folder:
        (folder / "model.pt").write_bytes(b"second")
    assert os.listdir(tmp_path) == ["run"] and (tmp_path / "run" / "model.pt").read_bytes() == b"second"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file is a file; give the path of a folder"):
        with atomic_directory(tmp_path / "file", force=True):
            pytest.fail("refused before the work")


# --- a full disk, made with a file-size limit in a child process ------------------------------------


def run_limited(args: list[str], max_file_bytes: int, cwd=REPO) -> subprocess.CompletedProcess:
    """A command whose files cannot grow beyond `max_file_bytes` (what a full disk does to a write)."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], preexec_fn=limit, capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:") or "Traceback" in line]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[0]


def test_converter_on_a_full_disk_says_so_in_one_whole_line(sample_tfrecord, tmp_path):
    output = tmp_path / "nb.hdf5"
    result = run_limited(
        ["tools/nasbench_tfrecord_converter.py", "--input", str(sample_tfrecord), "--output", str(output)], 2_000_000
    )
    line = one_error_line(result)
    assert line == f"error: could not write {output}: File too large; free some disk space or choose another output"
    assert os.listdir(tmp_path) == []


def test_splits_on_a_full_disk_are_written_all_or_none(sample_hdf5, tmp_path):
    out = tmp_path / "splits"
    result = run_limited(["tools/split_train_val.py", "--data", str(sample_hdf5), "--out", str(out)], 100_000)
    assert "could not write" in one_error_line(result)
    assert not out.exists() or os.listdir(out) == []


def test_train_on_a_full_disk_names_the_checkpoint_and_leaves_no_run(sample_hdf5, sample_splits, tmp_path):
    out = tmp_path / "run"
    arguments = ["train.py", "--split", "172", "--data", str(sample_hdf5), "--splits-dir", str(sample_splits)]
    result = run_limited([*arguments, "--config", "paper", "--epochs", "1", "--quiet", "--out", str(out)], 100_000)
    line = one_error_line(result)
    assert line == f"error: could not write {out / 'model.pt'}: the write failed (a full disk?); " + (
        "free some disk space or choose another output"
    )
    assert os.listdir(tmp_path) == []


def test_split_files_are_refused_not_rewritten(sample_hdf5, tmp_path):
    from tests.commands import run_tool

    out = tmp_path / "splits"
    assert run_tool("split_train_val.py", "--data", sample_hdf5, "--out", out, "--sizes", 50) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert run_tool("split_train_val.py", "--data", sample_hdf5, "--out", out, "--sizes", 50, "--seed", 1) == 1
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert (
        run_tool("split_train_val.py", "--data", sample_hdf5, "--out", out, "--sizes", 50, "--seed", 1, "--force") == 0
    )
    after = {path.name: path.read_bytes() for path in out.iterdir()}
    assert after.keys() == before.keys() and after["50.npz"] != before["50.npz"]


@pytest.mark.parametrize(
    "option, values, message",
    [("--thresholds", ["0.91", "0.914"], "both make split denoise-91"), ("--sizes", ["50", "50"], "repeat a size")],
)
def test_split_names_that_collide_are_refused(sample_hdf5, tmp_path, capsys, option, values, message):
    from tests.commands import run_tool

    out = tmp_path / "splits"
    assert run_tool("split_train_val.py", "--data", sample_hdf5, "--out", out, option, *values) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_write_json_names_the_file_it_refuses(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path / 'm.json'}: not written, a value is not finite"):
        write_json({"mse": np.inf}, tmp_path / "m.json")


def test_train_into_a_read_only_folder_is_refused_before_training(
    sample_hdf5, sample_splits, immutable, capsys, monkeypatch
):
    import train
    from predictor.gcn import experiment

    monkeypatch.setattr(experiment, "train", lambda *a, **k: pytest.fail("training started"))
    out = immutable / "run"
    arguments = ["--split", "172", "--data", str(sample_hdf5), "--splits-dir", str(sample_splits), "--out", str(out)]
    assert train.main(arguments) == 1
    assert (
        capsys.readouterr().err
        == f"error: {out}: cannot write in {immutable} (permission denied); choose another output\n"
    )


def test_the_default_outputs_written_in_the_checkout_are_ignored_by_git():
    defaults = ["top.json", "enas.json", "results.jsonl", "digits.jsonl", "runs/172/model.pt", "data/nasbench.hdf5"]
    result = subprocess.run(["git", "check-ignore", *defaults], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.split() == defaults, result.stderr
