"""Verification runs: cell lists, one result line per cell, resume, failures recorded, the command."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from predictor.child.cell_lists import CellEntry, load_cell_list
from predictor.child.channels import NetworkShape
from predictor.child.results_log import ResultsLog
from predictor.child.training import METRIC_NAMES, ExecutionOptions, TrainingProtocol
from predictor.child.verify import VerifySettings, train_cell, verify_cells
from predictor.common.ray_support import RayUnavailableError
from predictor.data.cell import Cell
from tests.synthetic_cifar import write_synthetic_cifar

KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"
KNOWN_ROWS = ["0100110", "0010000", "0001001", "0000010", "0000010", "0000001", "0000000"]
KNOWN_OPS = [
    "input",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "conv3x3-bn-relu",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "output",
]
TRAIN_CHILD = Path(__file__).resolve().parents[1] / "tools" / "train_child.py"


def entry(matrix, ops, listed_hash: str | None = None) -> CellEntry:
    return CellEntry(listed_hash, tuple(map(tuple, matrix)), tuple(ops))


SMALL = entry([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])
BRANCHY = entry(
    [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
)
BROKEN = entry(
    [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"], listed_hash="0" * 32
)  # wrong hash


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar(root, images_per_file=16)
    return root


@pytest.fixture
def settings(cifar_root) -> VerifySettings:
    return VerifySettings(
        str(cifar_root),
        TrainingProtocol(epochs=1, batch_size=16, shape=NetworkShape(stem_channels=8)),
        ExecutionOptions(device="cpu"),
    )


def load_train_child():
    spec = importlib.util.spec_from_file_location("train_child", TRAIN_CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- cell lists ------------------------------------------------------------------------------


def test_json_cell_list(tmp_path):
    path = tmp_path / "top.json"
    path.write_text(
        json.dumps(
            [
                {
                    "hash": KNOWN_HASH,
                    "adjacency": [[int(c) for c in row] for row in KNOWN_ROWS],
                    "ops": KNOWN_OPS,
                    "predicted_accuracy": 0.93,
                }
            ]
        )
    )
    (listed,) = load_cell_list(path)
    assert listed.key == KNOWN_HASH and listed.cell().hash == KNOWN_HASH


def test_csv_cell_list_with_strings_and_codes(tmp_path):
    path = tmp_path / "top.csv"
    path.write_text(
        "hash,adjacency,ops\n"
        f'{KNOWN_HASH},{"/".join(KNOWN_ROWS)},"{",".join(KNOWN_OPS)}"\n'
        f",{''.join(KNOWN_ROWS)},-1;0;2;0;0;1;-2\n"
    )
    first, second = load_cell_list(path)
    assert first.cell().hash == second.cell().hash == KNOWN_HASH
    assert second.hash is None and second.key == KNOWN_HASH  # computed when not listed


def test_a_malformed_list_names_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('hash,adjacency,ops\nabc,01101,"input,output"\n')
    with pytest.raises(ValueError, match="row 2"):
        load_cell_list(path)


def test_a_wrong_listed_hash_is_caught():
    with pytest.raises(ValueError, match="differs"):
        BROKEN.cell()


# --- training a list -----------------------------------------------------------------------------


def test_train_cell_records_an_error_instead_of_raising(settings):
    record = train_cell(BROKEN, settings)
    assert record["status"] == "error" and "differs" in record["error"] and record["hash"] == "0" * 32


def test_failing_cell_is_recorded_and_the_others_go_on(settings, tmp_path):
    out = tmp_path / "results.jsonl"
    summary = verify_cells([SMALL, BROKEN, BRANCHY], settings, out, progress=False)
    assert (summary.trained, summary.failed, summary.skipped) == (2, 1, 0)
    records = ResultsLog(out).read()
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    assert [r["hash"] for r in records] == [SMALL.key, "0" * 32, BRANCHY.key]
    for record in (records[0], records[2]):
        assert set(METRIC_NAMES) <= set(record) and record["epochs"] == 1


def test_an_interrupted_run_resumes(settings, tmp_path):
    out = tmp_path / "results.jsonl"
    verify_cells([SMALL], settings, out, progress=False)
    with open(out, "a") as file:
        file.write('{"hash": "torn by a cra')  # the process died in the middle of a write
    summary = verify_cells([SMALL, BROKEN, BRANCHY], settings, out, progress=False)
    assert (summary.trained, summary.failed, summary.skipped) == (1, 1, 1)
    records = ResultsLog(out).read()
    assert [r["hash"] for r in records] == [SMALL.key, "0" * 32, BRANCHY.key]
    assert [json.loads(line)["hash"] for line in out.read_text().splitlines()] == [r["hash"] for r in records]
    again = verify_cells([SMALL, BROKEN, BRANCHY], settings, out, progress=False)
    assert (again.trained, again.failed, again.skipped) == (0, 1, 2)  # failures are retried, successes are not


def test_another_budget_is_not_skipped(settings, tmp_path):
    out = tmp_path / "results.jsonl"
    verify_cells([SMALL], settings, out, progress=False)
    longer = VerifySettings(
        settings.cifar_path, TrainingProtocol(epochs=2, batch_size=16, shape=settings.protocol.shape), settings.options
    )
    assert verify_cells([SMALL], longer, out, progress=False).trained == 1


def test_without_ray_installed_the_error_says_how_to_install(settings, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: importing it fails
    with pytest.raises(RayUnavailableError, match=r"pip install '\.\[ray\]'"):
        verify_cells([SMALL], settings, tmp_path / "r.jsonl", use_ray=True, progress=False)
    assert not (tmp_path / "r.jsonl").exists()


class FakeRay:
    """Just enough of Ray's API to run the Ray path in-process: tasks run when submitted."""

    class Ref:
        def __init__(self, value):
            self.value = value

    def __init__(self, gpus: int):
        self.gpus, self.num_gpus, self.address = gpus, None, "unset"

    def init(self, address=None, ignore_reinit_error=False):
        self.address = address

    def cluster_resources(self):
        return {"CPU": 2.0, **({"GPU": float(self.gpus)} if self.gpus else {})}

    def remote(self, num_gpus=0):
        self.num_gpus = num_gpus

        def wrap(function):
            class Task:
                def remote(_, *args):
                    return FakeRay.Ref(function(*args))

            return Task()

        return wrap

    def wait(self, refs, num_returns=1):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref.value


@pytest.mark.parametrize("gpus, expected_gpus_per_task", [(0, 0), (2, 1)])
def test_ray_path_runs_the_same_per_cell_function(settings, tmp_path, monkeypatch, gpus, expected_gpus_per_task):
    fake = FakeRay(gpus)
    monkeypatch.setitem(sys.modules, "ray", fake)
    out = tmp_path / "results.jsonl"
    summary = verify_cells([SMALL, BROKEN], settings, out, use_ray=True, ray_address="ray://head:10001", progress=False)
    assert (summary.trained, summary.failed) == (1, 1)
    assert fake.num_gpus == expected_gpus_per_task and fake.address == "ray://head:10001"
    assert [r["status"] for r in ResultsLog(out).read()] == ["ok", "error"]


# --- the command -------------------------------------------------------------------------------------


def write_list(path: Path, entries: list[CellEntry]) -> Path:
    path.write_text(json.dumps([e.as_json() for e in entries]))
    return path


def test_command_reports_missing_cifar(tmp_path, capsys):
    cells = write_list(tmp_path / "top.json", [SMALL])
    code = load_train_child().main(
        ["--cells", str(cells), "--cifar", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.jsonl")]
    )
    error_line, hint = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and error_line.startswith("error: ") and str(tmp_path / "nowhere") in error_line
    assert hint.startswith("hint: ") and "cifar-10-python.tar.gz" in hint and "--dataset digits" in hint
    assert not (tmp_path / "r.jsonl").exists()


def test_command_trains_and_falls_back_without_ray(cifar_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    cells = write_list(tmp_path / "top.json", [SMALL, BRANCHY])
    out = tmp_path / "r.jsonl"
    args = [
        "--cells",
        str(cells),
        "--cifar",
        str(cifar_root),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--limit",
        "1",
        "--no-progress",
        "--ray",
    ]
    assert load_train_child().main(args) == 0
    captured = capsys.readouterr()
    assert "1 trained, 0 failed, 0 already done" in captured.out
    assert "pip install '.[ray]'" in captured.err and "one after another" in captured.err
    (record,) = ResultsLog(out).read()
    assert record["hash"] == Cell.from_spec(SMALL.adjacency, SMALL.ops).hash and record["training_steps"] == 2


def test_command_checks_the_whole_list_before_training_anything(cifar_root, tmp_path, capsys):
    cells = write_list(tmp_path / "top.json", [SMALL, BRANCHY, BROKEN])
    out = tmp_path / "r.jsonl"
    code = load_train_child().main(["--cells", str(cells), "--cifar", str(cifar_root), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "nothing trained" in err[0] and "cell 3" in err[0] and "differs" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("bad", [["--epochs", "0"], ["--lr", "-0.1"], ["--limit", "0"], ["--batch-size", "x"]])
def test_command_refuses_bad_numbers_before_reading_anything(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as refused:
        load_train_child().main(["--cells", str(tmp_path / "absent.json"), *bad])
    assert refused.value.code == 2 and bad[0] in capsys.readouterr().err
