"""Against a real local Ray cluster (started and shut down here): verification lists and search comparisons."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import ray

from predictor.child.cell_lists import load_cell_list
from predictor.child.channels import NetworkShape
from predictor.child.results_log import ResultsLog
from predictor.child.training import protocol_preset
from predictor.child.verify import VerifySettings, verify_cells
from predictor.data.cell import Cell
from predictor.search.runner import run_comparison
from search import main as search_main

REPO = Path(__file__).resolve().parents[1]
TRAIN_CHILD = REPO / "tools" / "train_child.py"
SMALL = Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
BRANCHY = Cell.from_spec(
    [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One 2-CPU cluster for the module; its workers import this checkout (PYTHONPATH), whatever is installed."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), saved) if p)
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024**2, log_to_driver=False)
    yield
    ray.shutdown()
    if saved is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved


def load_train_child():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_child", TRAIN_CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_verification_on_digits_through_ray_files_one_line_per_cell(tmp_path, capsys):
    listed = tmp_path / "top.json"
    listed.write_text(json.dumps([entry_of(SMALL), entry_of(BRANCHY)]))
    out = tmp_path / "results.jsonl"
    args = ["--dataset", "digits", "--cells", str(listed), "--out", str(out), "--epochs", "1"]
    args += ["--stem-channels", "8", "--device", "cpu", "--ray", "--no-progress"]
    assert load_train_child().main(args) == 0
    assert "2 trained, 0 failed, 0 already done" in capsys.readouterr().out
    records = ResultsLog(out).read()
    assert sorted(r["hash"] for r in records) == sorted([SMALL.hash, BRANCHY.hash])
    for record in records:
        assert record["status"] == "ok" and record["dataset"] == "digits"
        assert 0.0 <= record["final_validation_accuracy"] <= 1.0 and record["training_steps"] == 18
        assert record["worker"].rsplit(":", 1)[1] != str(os.getpid())  # trained in a Ray worker, not here


@pytest.mark.slow
def test_a_cell_failing_in_its_ray_task_is_filed_without_stopping_the_others(tmp_path):
    # The command refuses a bad list before training; the library still files a task's failure as one line.
    wrong_hash = {**entry_of(SMALL), "hash": "0" * 32}
    listed = tmp_path / "top.json"
    listed.write_text(json.dumps([wrong_hash, entry_of(SMALL)]))
    settings = VerifySettings(
        cifar_path="data", dataset="digits", protocol=protocol_preset("small-data", epochs=1, shape=NetworkShape(8))
    )
    out = tmp_path / "results.jsonl"
    summary = verify_cells(load_cell_list(listed), settings, out, use_ray=True, progress=False)
    assert (summary.trained, summary.failed) == (1, 1)
    by_hash = {r["hash"]: r for r in ResultsLog(out).read()}
    assert by_hash["0" * 32]["status"] == "error" and "differs" in by_hash["0" * 32]["error"]
    assert by_hash[SMALL.hash]["status"] == "ok"
    again = verify_cells(load_cell_list(listed), settings, out, use_ray=True, progress=False)
    assert (again.trained, again.failed, again.skipped) == (0, 1, 1)  # only the failure is retried


def entry_of(cell: Cell) -> dict:
    return {"hash": cell.hash, "adjacency": cell.matrix.tolist(), "ops": list(cell.ops)}


def test_comparison_as_ray_tasks_equals_the_local_run(sample_hdf5, tmp_path):
    names = ["random", "evolution", "reinforce"]
    local = run_comparison(sample_hdf5, names, 20, 2, seed=5, workers=1, progress=False)
    out_dir = tmp_path / "ray"
    argv = ["--compare", ",".join(names), "--budget", "20", "--trials", "2", "--seed", "5"]
    argv += ["--data", str(sample_hdf5), "--out-dir", str(out_dir), "--ray", "--no-progress"]
    assert search_main(argv) == 0
    lines = [json.loads(line) for line in (out_dir / "trials.jsonl").read_text().splitlines()[1:]]
    assert len(lines) == len(local.results) == 6
    for line in lines:
        expected = local.results[(line["strategy"], line["trial"])]
        assert np.array_equal(line["rows"], expected.rows) and np.allclose(line["observed"], expected.observed)


def test_without_ray_the_comparison_says_how_to_install(sample_hdf5, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    argv = ["--compare", "random", "--budget", "5", "--trials", "1", "--data", str(sample_hdf5)]
    assert search_main([*argv, "--out-dir", str(tmp_path), "--ray-address", "ray://head:10001"]) == 2
    assert "pip install '.[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "trials.jsonl").exists()
