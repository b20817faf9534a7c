"""The converter and split commands as a user runs them."""

from tests.commands import run_tool


def test_convert_then_split(sample_tfrecord, tmp_path, capsys):
    out = tmp_path / "nb.hdf5"
    assert run_tool("nasbench_tfrecord_converter.py", "--input", sample_tfrecord, "--output", out) == 0
    assert "20,031 modules from 80,094 records" in capsys.readouterr().out
    assert run_tool("nasbench_tfrecord_converter.py", "--input", sample_tfrecord, "--output", out) == 1
    assert "--force" in capsys.readouterr().err
    assert run_tool("split_train_val.py", "--data", out, "--out", tmp_path / "splits", "--sizes", 50, 100) == 0
    assert {p.stem for p in (tmp_path / "splits").iterdir()} == {
        "all",
        "50",
        "100",
        "denoise-91",
        "91-50",
        "91-100",
        "denoise-80",
        "80-50",
        "80-100",
    }


def test_converter_without_input_says_what_to_download(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_tool("nasbench_tfrecord_converter.py") == 2
    err = capsys.readouterr().err
    assert "nasbench_full.tfrecord" in err and "nasbench_only108.tfrecord" in err and "data/" in err


def test_converter_reports_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(b"not a tfrecord" * 10)
    assert run_tool("nasbench_tfrecord_converter.py", "--input", bad, "--output", tmp_path / "x.hdf5") == 1
    assert "record 0 at byte 0" in capsys.readouterr().err
    assert not (tmp_path / "x.hdf5").exists()
