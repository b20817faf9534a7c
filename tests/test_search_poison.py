"""Search-space poisoning on the real sample: what a zero op answers, K = 0 as before, the poisoned share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predictor.data.cell import Cell, InvalidCellError
from predictor.search.benchmark import Benchmark
from predictor.search.oracle import Oracle
from predictor.search.report import poisoned_query_share
from predictor.search.runner import run_trial
from predictor.search.search_space import CHANCE_ACCURACY, CHANCE_ROW, Proposal, SearchSpace
from predictor.search.sequence_surrogate import SequenceFit
from predictor.search.statistics import queries_to_target, trial_curves
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.evolution import RegularizedEvolution
from predictor.search.strategies.predictor_guided import PredictorGuidedSearch
from predictor.search.strategies.progressive import ProgressiveSearch
from predictor.search.strategies.random_search import RandomSearch
from predictor.search.strategies.reinforce import Reinforce
from predictor.search.surrogate import Surrogate
from tests.search_fixtures import small_pool
from tests.search_stand_ins import make_strategies

REFERENCE = Path(__file__).parent / "data" / "search_reference_k0.json"


@pytest.fixture(scope="module")
def sample(sample_hdf5) -> Benchmark:
    return Benchmark.from_file(sample_hdf5)


def removal_in_pool(sample: Benchmark) -> tuple[int, int, int]:
    """(row, vertex, row of the module with that vertex removed) for a pool module whose removal the pool holds."""
    for row in np.argsort(-sample.num_vertices.astype(int), kind="stable")[:3000]:
        n = int(sample.num_vertices[row])
        for vertex in range(1, n - 1):
            keep = [i for i in range(n) if i != vertex]
            matrix = np.delete(np.delete(sample.adjacency[row][:n, :n], vertex, 0), vertex, 1)
            try:
                smaller = Cell.from_spec(matrix, [int(sample.operations[row][i]) for i in keep])
            except InvalidCellError:
                continue
            answer = sample.row(smaller.hash)
            if answer is not None and answer != row:
                return int(row), vertex, answer
    raise AssertionError("no module of the sample has a one-vertex removal in the sample")


def test_a_zero_op_answers_exactly_the_module_without_that_vertex(sample):
    row, vertex, smaller = removal_in_pool(sample)
    n = int(sample.num_vertices[row])
    labels = [int(code) for code in sample.operations[row][:n]]
    labels[vertex] = 3
    oracle = Oracle(sample, 5, np.random.default_rng(0), SearchSpace(1))
    answered, accuracy = oracle.query(Proposal.from_spec(sample.adjacency[row][:n, :n], labels))
    assert answered == smaller and oracle.edit_distances == [0] and oracle.poisoned == [True]
    assert accuracy in sample.validation_repeats[smaller]
    adjacency, operations, num_vertices, _ = oracle.training_arrays()  # a predictor learns from the poisoned cell
    assert operations[0][vertex] == 3 and num_vertices[0] == n


def test_a_zero_op_that_cuts_the_output_off_answers_chance(sample):
    proposal = Proposal.from_spec(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), [-1, 4, -2])  # input -> zero -> output
    oracle = Oracle(sample, 3, np.random.default_rng(0), SearchSpace(2))
    assert oracle.query(proposal) == (CHANCE_ROW, CHANCE_ACCURACY)
    assert not oracle.queried.any() and oracle.poisoned == [True]
    best = int(np.argmax(sample.mean_validation))
    oracle.query(oracle.pool_cell(best))
    curves = trial_curves(sample, oracle.rows, oracle.observed, 3)
    assert curves.incumbent_validation[0] == CHANCE_ACCURACY
    assert curves.incumbent_validation[1] == sample.mean_validation[best]
    assert queries_to_target(sample.target_mask, oracle.rows) == 2


def test_without_poison_every_strategy_reproduces_its_results_before_poisoning(sample):
    """The queries recorded with the code before poisoning existed (stand-in predictor, same seeds)."""
    reference = json.loads(REFERENCE.read_text())
    pool = small_pool(sample, reference["pool_size"], seed=reference["pool_seed"])
    for name, recorded in reference["trials"].items():
        result = run_trial(
            pool, make_strategies()[name], reference["budget"], reference["master_seed"], reference["trial"]
        )
        assert result.rows.tolist() == recorded["rows"], name
        assert result.observed.tolist() == recorded["observed"], name
        assert not result.poisoned.any(), name


class SpyOracle(Oracle):
    """Records the op codes of every proposal a strategy makes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes: list[int] = []

    def query(self, proposal):
        if isinstance(proposal, Proposal):
            self.codes += list(proposal.labels[1:-1])
        return super().query(proposal)


def poisonable(poison: int) -> dict[str, Strategy]:
    rnn = Surrogate(SequenceFit(SearchSpace(poison).num_ops, steps=20))
    return {
        "random": RandomSearch(),
        "evolution": RegularizedEvolution(population_size=10, tournament_size=3),
        "reinforce": Reinforce(),
        "pnas": ProgressiveSearch(rnn, beam_width=3),
        "predictor": PredictorGuidedSearch(rnn, initial_queries=10),
    }


@pytest.mark.parametrize("name", list(poisonable(0)))
def test_proposals_hold_poison_only_when_the_vocabulary_has_it(sample, name):
    pool = small_pool(sample, 300)
    seen = {}
    for poison in (0, 2):
        oracle = SpyOracle(pool, 40, np.random.default_rng(0), SearchSpace(poison))
        poisonable(poison)[name].run(oracle, np.random.default_rng(1))
        seen[poison] = oracle
        assert oracle.num_queries == 40 and len(oracle.poisoned) == 40
    assert max(seen[0].codes) <= 2 and not any(seen[0].poisoned)
    assert max(seen[2].codes) in (3, 4) and any(seen[2].poisoned)
    rows = [row for row in seen[2].rows if row != CHANCE_ROW]
    assert len(set(rows)) == len(rows), "no pool module is queried twice"


class PoisonedRandomModules(Strategy):
    """Stand-in: random pool modules drawn through the space; told to avoid zero ops, it redraws them."""

    def __init__(self, avoid: bool):
        self.avoid = avoid

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        b = oracle.benchmark
        while not oracle.exhausted:
            row = rng.choice(oracle.unqueried_rows())
            proposal = oracle.space.sample_of_row(b.adjacency[row], b.operations[row], b.num_vertices[row], rng)
            if not (self.avoid and proposal.holds_zero_op()):
                oracle.query(proposal)


def test_a_strategy_that_avoids_poison_gets_a_poisoned_share_of_zero(sample):
    pool = small_pool(sample, 300)
    space = SearchSpace(4)
    avoiding = [run_trial(pool, PoisonedRandomModules(avoid=True), 30, 0, trial, space=space) for trial in range(3)]
    careless = [run_trial(pool, PoisonedRandomModules(avoid=False), 30, 0, trial, space=space) for trial in range(3)]
    assert poisoned_query_share(avoiding, 30) == (0.0, 0.0)
    first, last = poisoned_query_share(careless, 30)
    expected = 1 - np.mean((3 / 7) ** (pool.num_vertices.astype(int) - 2))  # P(at least one zero op)
    assert abs(first - expected) < 0.25 and abs(last - expected) < 0.25


def test_poisoned_view_draws_ops_uniformly_among_real_and_zero_ops(sample):
    rows = np.flatnonzero(sample.num_vertices == 7)[:4000]
    operations = SearchSpace(2).pool_view(
        sample.adjacency[rows], sample.operations[rows], sample.num_vertices[rows], np.random.default_rng(0)
    )
    interior = operations[:, 1:6]
    assert np.isclose((interior >= 3).mean(), 2 / 5, atol=0.01)
    clean = interior < 3
    assert np.array_equal(interior[clean], sample.operations[rows][:, 1:6][clean]), "real ops keep the module's"


def test_the_gcn_tells_a_zero_op_from_a_maxpool(sample):
    from predictor.gcn.training import fit
    from predictor.search.recipes import config_for_size, training_config

    rows = np.flatnonzero(sample.num_vertices == 7)[:64]
    adjacency, operations = sample.adjacency[rows], sample.operations[rows].copy()
    operations[::2, 1] = 3  # half the modules with a zero op, labelled low
    labels = np.where(operations[:, 1] == 3, 0.85, 0.93)
    config = config_for_size(training_config("search", num_op_types=4), 64)
    model = fit(adjacency, operations, sample.num_vertices[rows], labels, config, seed=0)
    as_maxpool = operations.copy()
    as_maxpool[as_maxpool == 3] = 2
    zero = model.predict(adjacency[::2], operations[::2], sample.num_vertices[rows][::2])
    pool = model.predict(adjacency[::2], as_maxpool[::2], sample.num_vertices[rows][::2])
    assert np.mean(zero < pool) > 0.9, "the zero op has a column of its own, learnt to be worse"


def test_the_encoder_rnn_ranks_unseen_modules_of_the_sample(sample):
    from scipy.stats import kendalltau

    rng = np.random.default_rng(0)
    rows = rng.choice(len(sample), 1200, replace=False)
    train, test = rows[:400], rows[400:]
    model = SequenceFit()(
        sample.adjacency[train], sample.operations[train], sample.num_vertices[train], sample.mean_validation[train]
    )
    predicted = model.predict(sample.adjacency[test], sample.operations[test], sample.num_vertices[test])
    assert np.isfinite(predicted).all()
    assert kendalltau(predicted, sample.mean_validation[test]).statistic > 0.2


def test_compare_with_poison_reports_the_poisoned_share_per_half(sample_hdf5, tmp_path, capsys):
    from search import main

    out = tmp_path / "summary.json"
    arguments = ["--compare", "random,evolution", "--budget", "30", "--trials", "2", "--data", str(sample_hdf5)]
    code = main([*arguments, "--poison", "2", "--out", str(out), "--out-dir", str(tmp_path), "--workers", "1"])
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["poison"] == 2
    for name in ("random", "evolution"):
        share = summary["strategies"][name]["poisoned_query_share"]
        assert 0 < share["first_half"] <= 1 and 0 <= share["last_half"] <= 1
    assert "poisoned 1st/2nd half" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["-1", "33", "two"])
def test_poison_outside_its_range_is_refused_in_one_line(value, capsys):
    from search import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--compare", "random", "--poison", value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--poison" in error and "0 to 32" in error


def test_a_surrogate_learns_from_chance_answers_while_fewer_than_two_are_sound(sample):
    from tests.search_stand_ins import FitRecorder

    fit = FitRecorder(calls=[])
    arrays = sample.adjacency[:3], sample.operations[:3], sample.num_vertices[:3]
    Surrogate(fit).train(*arrays, np.array([CHANCE_ACCURACY, CHANCE_ACCURACY, 0.93]), np.random.default_rng(0))
    Surrogate(fit).train(*arrays, np.array([CHANCE_ACCURACY, 0.92, 0.93]), np.random.default_rng(0))
    assert fit.calls == [3, 2]


def test_no_strategy_has_a_code_path_of_its_own_for_zero_ops():
    """Strategies see the vocabulary only through the search space: no name of theirs speaks of poison or zero ops."""
    import ast

    from tests.conftest import REPO

    offending = []
    for path in sorted((REPO / "predictor" / "search" / "strategies").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "arg", None) or ""
            if "poison" in name.lower() or "zero" in name.lower():
                offending.append(f"{path.name}:{node.lineno} {name}")
    assert not offending
