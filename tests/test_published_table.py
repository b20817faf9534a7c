"""The published-table mode of the quality benchmark: its held-out 100, its training sets, its table and figure."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_predictor_quality")


def test_no_training_set_holds_a_held_out_module_and_the_draws_are_fixed(bench):
    test_100, rows = bench.published_sets(20_031, [100, 424, 4236], seeds=3)
    again, rows_again = bench.published_sets(20_031, [100, 424, 4236], seeds=3)
    assert np.array_equal(test_100, again) and all(np.array_equal(rows[k], rows_again[k]) for k in rows)
    assert len(np.unique(test_100)) == 100
    for (size, _), training in rows.items():
        assert len(np.unique(training)) == size and not np.intersect1d(training, test_100).size
    assert not np.array_equal(rows[424, 0], rows[424, 1])


def test_the_table_puts_our_means_beside_every_published_row(bench):
    columns = [f"{n}/{test}" for n, test in bench.PUBLISHED_COLUMNS]
    results = {"recommended": {column: [0.70 + i / 100, 0.72 + i / 100] for i, column in enumerate(columns)}}
    text = bench.published_table(results, seeds=2, num_modules=20_031)
    for name, taus in bench.PUBLISHED.items():
        assert f"| {name} (published) | theirs | {taus[0]:.3f} |" in text
    assert "| 0.710 ± 0.010 | 0.720 ± 0.010 |" in text and "20,031-module" in text
    assert "4236 (1.00%), all" in text and "424 (0.10%), test-100" in text


def test_the_published_figure_is_a_png_and_never_replaces_a_file_unasked(bench, tmp_path):
    from predictor.data.atomic import OutputExistsError
    from predictor.gcn.plots import published_comparison

    results = {"paper": {f"{n}/{test}": [0.6, 0.62] for n, test in bench.PUBLISHED_COLUMNS}}
    arguments = (results, bench.TITLES, bench.PUBLISHED, bench.PUBLISHED_COLUMNS)
    path = published_comparison(*arguments, tmp_path / "published.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        published_comparison(*arguments, path)
    assert [p.name for p in tmp_path.iterdir()] == ["published.png"]
