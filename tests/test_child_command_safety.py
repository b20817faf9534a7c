"""tools/train_child.py refuses what would damage a file or mix results, before anything is touched.

Bad CIFAR-10 folders, an --out that is no results log (or is the cell list), a results file
trained with other settings, a run already writing to the same file, out-of-range sizes and
cell lists with values of the wrong type: one line naming the file, exit 1, nothing written.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tarfile
from pathlib import Path

import pytest

from predictor.child.results_log import ResultsLog
from tests.synthetic_cifar import write_synthetic_cifar
from tests.test_child_verify import SMALL, load_train_child, write_list

REAL_TARBALL = Path(__file__).resolve().parents[2] / "shared" / "cifar10" / "cifar-10-python.tar.gz"
TINY = ["--epochs", "1", "--batch-size", "16", "--stem-channels", "4", "--device", "cpu", "--no-progress"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar(root, images_per_file=16)
    return root


@pytest.fixture
def cells(tmp_path) -> Path:
    return write_list(tmp_path / "top.json", [SMALL])


def run(cells: Path, out: Path, cifar: Path, *extra: str) -> int:
    return load_train_child().main(["--cells", str(cells), "--out", str(out), "--cifar", str(cifar), *TINY, *extra])


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- bad CIFAR-10 folders -----------------------------------------------------------------------


def damage(folder: Path, how: str) -> Path:
    """Damage one batch file of a copy of `folder` in the named way; returns the damaged file."""
    target = folder / "cifar-10-batches-py" / "data_batch_3"
    if how == "truncated":
        target.write_bytes(target.read_bytes()[:5000])
    elif how == "missing":
        target.unlink()
    else:
        with open(target, "rb") as file:
            batch = pickle.load(file, encoding="bytes")
        if how == "wrong shape":
            batch[b"data"] = batch[b"data"][:, :1024]
        elif how == "label out of range":
            batch[b"labels"][7] = 10
        elif how == "too few labels":
            batch[b"labels"] = batch[b"labels"][:-1]
        elif how == "not a batch":
            batch = [1, 2, 3]
        with open(target, "wb") as file:
            pickle.dump(batch, file)
    return target


@pytest.mark.parametrize(
    "how, says",
    [
        ("truncated", "truncated"),
        ("missing", "missing: data_batch_3"),
        ("wrong shape", "(16, 1024)"),
        ("label out of range", "label 10 of image 7"),
        ("too few labels", "16 images"),
        ("not a batch", "not a CIFAR-10 batch"),
    ],
)
def test_a_damaged_cifar_folder_is_one_line_naming_the_file(cifar_root, cells, tmp_path, capsys, how, says):
    folder = tmp_path / "cifar"
    shutil.copytree(cifar_root, folder)
    damaged = damage(folder, how)
    out = tmp_path / "r.jsonl"
    code = run(cells, out, folder)
    message = capsys.readouterr().err
    assert code == 1 and says in message
    assert (damaged.name if how == "missing" else str(damaged)) in message
    assert message.startswith("error: ") and not out.exists()


def test_the_archive_instead_of_its_folder_says_to_unpack_it(cells, tmp_path, capsys):
    assert REAL_TARBALL.is_file(), f"the real CIFAR-10 archive is missing: {REAL_TARBALL}"
    out = tmp_path / "r.jsonl"
    assert run(cells, out, REAL_TARBALL) == 1
    error, hint = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("error: ") and str(REAL_TARBALL) in error and "archive" in error
    assert hint.startswith("hint: ") and "tar xzf" in hint and not out.exists()


def test_a_small_archive_is_recognised_too(cifar_root, cells, tmp_path, capsys):
    archive = tmp_path / "cifar.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(cifar_root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    assert run(cells, tmp_path / "r.jsonl", archive) == 1
    assert "archive" in capsys.readouterr().err


# --- the results file ---------------------------------------------------------------------------


def test_an_out_that_is_a_binary_file_is_left_untouched(cifar_root, cells, tmp_path, capsys, sample_hdf5):
    out = tmp_path / "nasbench.hdf5"
    shutil.copy(sample_hdf5, out)
    before = digest(out)
    assert run(cells, out, cifar_root) == 1
    assert "not a results log" in one_error_line(capsys) and digest(out) == before


def test_an_out_of_other_json_lines_is_left_untouched(cifar_root, cells, tmp_path, capsys):
    out = tmp_path / "notes.jsonl"
    out.write_text('{"a": 1}\n[1, 2]\n{"torn"')
    before = digest(out)
    assert run(cells, out, cifar_root) == 1
    assert "line 2" in one_error_line(capsys) and digest(out) == before


def test_an_out_that_is_the_cell_list_is_refused(cifar_root, cells, capsys):
    before = digest(cells)
    assert run(cells, cells.parent / "." / cells.name, cifar_root) == 1
    assert "--cells" in one_error_line(capsys) and digest(cells) == before


@pytest.fixture
def trained(cifar_root, cells, tmp_path, capsys) -> Path:
    out = tmp_path / "r.jsonl"
    assert run(cells, out, cifar_root) == 0
    capsys.readouterr()
    return out


@pytest.mark.parametrize(
    "changed, named",
    [
        (["--stem-channels", "8"], "stem_channels"),
        (["--seed", "1"], "seed"),
        (["--lr", "0.1"], "learning_rate"),
        (["--batch-size", "8"], "batch_size"),
        (["--protocol", "small-data"], "optimizer"),
        (["--train-images", "40"], "train_images"),
        (["--dataset", "digits"], "dataset"),
    ],
)
def test_resuming_with_other_settings_is_refused_naming_the_difference(
    trained, cifar_root, cells, capsys, changed, named
):
    before = digest(trained)
    assert run(cells, trained, cifar_root, *changed) == 1
    assert named in one_error_line(capsys) and digest(trained) == before


def test_the_same_settings_resume_and_another_budget_trains_beside(trained, cifar_root, cells, capsys):
    assert run(cells, trained, cifar_root) == 0
    assert "0 trained, 0 failed, 1 already done" in capsys.readouterr().out
    assert run(cells, trained, cifar_root, "--epochs", "2") == 0
    assert "1 trained" in capsys.readouterr().out
    assert [r["epochs"] for r in ResultsLog(trained).read()] == [1, 2]


def test_an_ok_line_without_metrics_is_trained_again(trained, cifar_root, cells, capsys):
    (record,) = ResultsLog(trained).read()
    stripped = {key: value for key, value in record.items() if "accuracy" not in key}
    trained.write_text(json.dumps(stripped) + "\n")
    assert run(cells, trained, cifar_root) == 0
    assert "1 trained, 0 failed, 0 already done" in capsys.readouterr().out


def test_a_second_run_on_the_same_file_is_refused_while_the_first_writes(cifar_root, cells, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    with ResultsLog(out).locked():  # the first run, between its cells
        assert run(cells, out, cifar_root) == 1
        assert "another run is writing" in one_error_line(capsys)
    assert not out.exists()  # nothing was trained or written by either
    assert run(cells, out, cifar_root) == 0 and len(ResultsLog(out).read()) == 1  # the lock is gone


def test_the_run_ends_with_a_table_of_its_cells(trained, cifar_root, cells, capsys):
    assert run(cells, trained, cifar_root) == 0
    (record,) = ResultsLog(trained).read()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(record["hash"])]
    assert len(rows) == 1
    assert f"{record['final_validation_accuracy']:.4f}" in rows[0] and f"{record['final_test_accuracy']:.4f}" in rows[0]


# --- arguments and cell lists ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [["--stem-channels", "100000000"], ["--stem-channels", "0"], ["--batch-size", "100000"], ["--epochs", "5000"]],
)
def test_sizes_out_of_range_are_refused_while_parsing(cells, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as refused:
        load_train_child().main(["--cells", str(cells), "--out", str(tmp_path / "r.jsonl"), *bad])
    assert refused.value.code == 2 and bad[0] in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, says",
    [
        ('[{"adjacency": [[0, 1], [0, 0]], "ops": ["input", ["output"]]}]', "op"),
        ('[{"hash": 12345, "adjacency": [[0, 1], [0, 0]], "ops": ["input", "output"]}]', "hash"),
        ('[{"adjacency": [[0, Infinity], [0, 0]], "ops": ["input", "output"]}]', "adjacency"),
        ('[{"adjacency": [[0, 1.7, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]}]', "1.7"),
        ("not json at all", "not a JSON cell list"),
    ],
)
def test_cell_lists_with_wrong_types_are_one_line_naming_the_file(cifar_root, tmp_path, capsys, text, says):
    listed = tmp_path / "top.json"
    listed.write_text(text)
    out = tmp_path / "r.jsonl"
    assert run(listed, out, cifar_root) == 1
    line = one_error_line(capsys)
    assert str(listed) in line and says in line and not out.exists()
