"""The converter never loses data: not its input, not a file it races for, nothing left after an interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from predictor.data.atomic import OutputExistsError
from predictor.data.convert import convert
from tests.commands import run_tool
from tests.conftest import REPO
from tests.processes import default_signals, finish, group_alive

CONVERTER = REPO / "tools" / "nasbench_tfrecord_converter.py"


@pytest.fixture
def source(sample_tfrecord, tmp_path) -> Path:
    """A private copy of the sample, so tests may link and name it as they like."""
    copy = tmp_path / "in" / "sample.tfrecord"
    copy.parent.mkdir()
    copy.write_bytes(sample_tfrecord.read_bytes())
    return copy


@pytest.mark.parametrize("naming", ["same path", "relative path", "symlink", "hard link"])
def test_refuses_an_output_that_is_the_input(source, tmp_path, monkeypatch, capsys, naming):
    original = source.read_bytes()
    if naming == "same path":
        output = source
    elif naming == "relative path":
        monkeypatch.chdir(tmp_path)
        output = Path("..") / tmp_path.name / "in" / "." / source.name
    else:
        output = tmp_path / "other-name.hdf5"
        (output.symlink_to if naming == "symlink" else output.hardlink_to)(source)
    code = run_tool("nasbench_tfrecord_converter.py", "--input", source, "--output", output, "--force")
    err = capsys.readouterr().err
    assert code == 1
    assert "is the input file" in err and len(err.strip().splitlines()) == 1
    assert source.read_bytes() == original


def test_directories_are_named_as_such(source, tmp_path, capsys):
    assert run_tool("nasbench_tfrecord_converter.py", "--input", source, "--output", tmp_path, "--force") == 1
    assert "is a directory" in capsys.readouterr().err
    assert run_tool("nasbench_tfrecord_converter.py", "--input", source.parent, "--output", tmp_path / "x.h5") == 1
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_two_racing_runs_cannot_both_create_the_output(source, tmp_path):
    """Run B starts and finishes while run A is converting: A must not replace B's file at the end."""
    output = tmp_path / "raced.hdf5"
    finished_b = []

    def run_b_meanwhile(records_done: int) -> None:
        if not finished_b:
            finished_b.append(convert(source, output, workers=1, progress=False))

    with pytest.raises(OutputExistsError):
        convert(source, output, workers=1, progress=False, on_block=run_b_meanwhile)
    assert finished_b and output.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "raced.hdf5"]  # no temporary file left


# --- interruptions, in a real process ------------------------------------------------------------

SIGNAL_DURING_WRITE = """
import os, runpy, signal, sys
import h5py
signum = getattr(signal, sys.argv[1])
create_dataset = h5py.Group.create_dataset
def interrupted_write(self, *args, **kwargs):
    if args[0] == "adjacency":  # half of the datasets are written by now
        os.kill(os.getpid(), signum)
    return create_dataset(self, *args, **kwargs)
h5py.Group.create_dataset = interrupted_write
sys.argv = ["converter", "--input", sys.argv[2], "--output", sys.argv[3], "--workers", "2"]
runpy.run_path({converter!r}, run_name="__main__")
"""


def _assert_clean_interruption(code: int, err: str, signum: int, output_dir: Path) -> None:
    assert code == 128 + signum
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert err.strip().splitlines()[-1].strip() == f"interrupted ({signal.Signals(signum).name})"
    assert list(output_dir.iterdir()) == []


def _environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_hdf5_write_leaves_nothing(source, tmp_path, signum):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = SIGNAL_DURING_WRITE.format(converter=str(CONVERTER))
    process = subprocess.Popen(
        [sys.executable, "-c", script, signal.Signals(signum).name, str(source), str(out_dir / "nb.hdf5")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,
        env=_environment(),
    )
    code, _, err = finish(process, timeout=20)
    _assert_clean_interruption(code, err, signum, out_dir)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_workers_decode_stops_them_all(source, tmp_path, signum):
    """Ctrl-C reaches the whole process group (workers included); SIGTERM only the parent."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            str(CONVERTER),
            "--input",
            str(source),
            "--output",
            str(out_dir / "nb.hdf5"),
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,
        env=_environment(),
    )
    deadline = time.monotonic() + 60
    while len(group_alive(process.pid)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until both decoding workers run
    assert process.poll() is None, "the conversion ended before it could be interrupted"
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)
    started = time.monotonic()
    code, _, err = finish(process, timeout=20)
    assert time.monotonic() - started < 10
    _assert_clean_interruption(code, err, signum, out_dir)
