"""train.py end to end on the real sample: files, metrics, --evaluate, errors, --cv and the stages."""

from __future__ import annotations

import json

import pytest

import train

REQUIRED = {"n", "mse", "kendall_tau", "spearman", "eval_split"}


@pytest.fixture(scope="module")
def trained(sample_hdf5, sample_splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = train.main(
        [
            "--split",
            "172",
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--config",
            "paper",
            "--epochs",
            "5",
            "--out",
            str(out / "run"),
            "--metrics-out",
            str(out / "metrics.json"),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_training_writes_checkpoint_metrics_and_plots(trained):
    run = trained / "run"
    for name in ("model.pt", "metrics.json", "scatter.png", "training_curve.png"):
        assert (run / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert REQUIRED <= set(metrics)
    assert metrics["eval_split"] == "rest" and metrics["n"] == 20031 - 172
    assert metrics["config"]["epochs"] == 5 and metrics["config"]["lr"] == 1e-4


def test_evaluate_reproduces_the_metrics(trained, sample_hdf5, sample_splits, capsys):
    again = trained / "again.json"
    code = train.main(
        [
            "--evaluate",
            str(trained / "run" / "model.pt"),
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--metrics-out",
            str(again),
        ]
    )
    assert code == 0
    first, second = json.loads((trained / "metrics.json").read_text()), json.loads(again.read_text())
    for key in REQUIRED | {"top10_mean_true", "top100_best_true"}:
        assert first[key] == second[key], key
    assert "Kendall tau" in capsys.readouterr().out


def test_evaluate_on_every_module_says_so(trained, sample_hdf5, sample_splits, capsys):
    code = train.main(
        [
            "--evaluate",
            str(trained / "run" / "model.pt"),
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--eval-split",
            "all",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "includes 172 training modules" in out and "n=20,031" in out


def test_missing_split_and_data_say_what_makes_them(sample_hdf5, tmp_path, capsys):
    out = ["--out", str(tmp_path / "run")]
    assert train.main(["--split", "999", "--data", str(sample_hdf5), "--splits-dir", str(tmp_path), *out]) == 1
    assert "tools/split_train_val.py" in capsys.readouterr().err
    assert train.main(["--split", "172", "--data", str(tmp_path / "none.hdf5"), *out]) == 1
    assert "nasbench_tfrecord_converter.py" in capsys.readouterr().err


def test_cross_validation_reports_mean_and_spread(sample_hdf5, sample_splits, tmp_path, capsys):
    code = train.main(
        [
            "--split",
            "172",
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--config",
            "paper",
            "--epochs",
            "2",
            "--cv",
            "3",
            "--out",
            str(tmp_path / "cv"),
            "--quiet",
            "--metrics-out",
            str(tmp_path / "cv-copy.json"),
        ]
    )
    assert code == 0
    assert "±" in capsys.readouterr().out
    payload = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert len(payload["folds"]) == 3 and "kendall_tau" in payload["summary"]


def test_classifier_stage(sample_hdf5, sample_splits, tmp_path):
    code = train.main(
        [
            "--split",
            "334",
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--config",
            "paper",
            "--epochs",
            "3",
            "--stage",
            "classifier",
            "--threshold",
            "0.91",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--metrics-out",
            str(tmp_path / "m.json"),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"precision", "recall", "auc", "threshold"} <= set(metrics)


def test_two_stage(sample_hdf5, sample_splits, tmp_path, capsys):
    code = train.main(
        [
            "--split",
            "334",
            "--data",
            str(sample_hdf5),
            "--splits-dir",
            str(sample_splits),
            "--config",
            "paper",
            "--epochs",
            "3",
            "--lr",
            "1e-3",
            "--stage",
            "two-stage",
            "--threshold",
            "0.9",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "regressor alone" in out and "denoise-91" in out
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"mse", "kendall_tau"} <= set(metrics["two_stage_regressor"]) and "regressor_alone" in metrics
    for name in ("classifier.pt", "regressor.pt", "regressor_alone.pt", "scatter.png", "scatter_alone.png"):
        assert (run / name).is_file()
    assert (
        train.main(
            [
                "--evaluate",
                str(run),
                "--data",
                str(sample_hdf5),
                "--splits-dir",
                str(sample_splits),
                "--metrics-out",
                str(tmp_path / "again.json"),
            ]
        )
        == 0
    )
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["auc"] == pytest.approx(metrics["filter"]["auc"]) and "kendall_tau" in again["kept"]


def test_a_diverging_run_is_one_line_and_writes_nothing(sample_hdf5, sample_splits, tmp_path, capsys):
    out = tmp_path / "run"
    arguments = ["--split", "172", "--data", str(sample_hdf5), "--splits-dir", str(sample_splits), "--quiet"]
    assert train.main([*arguments, "--lr", "1000", "--epochs", "20", "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "diverged" in error and "--lr" in error
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value",
    [
        ("--lr", "0"),
        ("--lr", "nan"),
        ("--epochs", "0"),
        ("--dropout", "1"),
        ("--threshold", "1.5"),
        ("--layers", "x"),
        ("--pretraining-epochs", "-1"),
    ],
)
def test_bad_settings_are_refused_at_parse_time(option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        train.main(["--split", "172", option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err
