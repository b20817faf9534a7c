"""Strategies by name, as the command line and the worker processes build them.

`StrategySettings` is plain data (it crosses process boundaries: the fit functions are
module-level functions, pickled by name); the predictor's training config is looked up
from it inside the worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, is_dataclass

from predictor.search.recipes import training_config
from predictor.search.schedule import RetrainSchedule
from predictor.search.search_space import SearchSpace
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.evolution import RegularizedEvolution
from predictor.search.strategies.parameter_ranking import ParameterRanking
from predictor.search.strategies.predictor_guided import PredictorGuidedSearch
from predictor.search.strategies.progressive import ProgressiveSearch
from predictor.search.strategies.random_search import RandomSearch
from predictor.search.strategies.reinforce import Reinforce
from predictor.search.surrogate import FitFunction, FitTwoStageFunction, Surrogate, TwoStageSurrogate


def gcn_fit(*args, **kwargs):
    """The GCN's `fit`, imported on first use so that parsing a command line does not load torch."""
    from predictor.gcn.training import fit

    return fit(*args, **kwargs)


def gcn_fit_two_stage(*args, **kwargs):
    """The GCN's two-stage fit, imported on first use (see `gcn_fit`)."""
    from predictor.gcn.two_stage import fit_two_stage

    return fit_two_stage(*args, **kwargs)


@dataclass(frozen=True)
class StrategySettings:
    """Knobs of the learned strategies (the defaults are the recommended ones)."""

    fit: FitFunction = gcn_fit  # any function of the protocol (tests pass stand-ins)
    fit_two_stage: FitTwoStageFunction = gcn_fit_two_stage
    recipe: str | None = "search"  # training config of `predictor` and `pnas`: search | recommended | paper
    initial_queries: int = 10  # random queries before the first fit (`predictor`)
    ensemble_size: int = 1  # models per fit (`predictor`, `pnas`)
    exploration: float = 0.0  # score = mean + exploration * ensemble std (`predictor`)
    schedule: RetrainSchedule = RetrainSchedule()  # refits of `predictor`
    pnas_schedule: RetrainSchedule = RetrainSchedule(((50, 10), (200, 25), (1000, 100)))  # a surrogate per level
    paper_initial_queries: int = 172  # N of the one-shot protocol (`paper`)
    paper_recipe: str = "paper"
    poison: int = 0  # zero ops added to the vertex op vocabulary of the search space (`search_space.py`)

    def to_dict(self) -> dict:
        """JSON-able and stable from run to run (fit functions by module and name), e.g. to recognize a resumed run."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("fit", "fit_two_stage"):
            function = values[key]
            values[key] = (
                f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', type(function).__name__)}"
            )
        return json.loads(
            json.dumps(
                values, default=lambda value: asdict(value) if is_dataclass(value) else str(value), allow_nan=False
            )
        )

    @property
    def space(self) -> SearchSpace:
        """The search space every strategy of the comparison proposes from."""
        return SearchSpace(self.poison)

    def surrogate(self, recipe: str | None = None, ensemble_size: int | None = None) -> Surrogate:
        config = training_config(recipe or self.recipe, self.space.num_ops)
        return Surrogate(self.fit, config, ensemble_size or self.ensemble_size)

    def sequence_surrogate(self) -> Surrogate:
        """The PNAS encoder RNN over the space's ops (its own training settings, no recipe)."""
        from predictor.search.sequence_surrogate import SequenceFit

        return Surrogate(SequenceFit(self.space.num_ops), None, self.ensemble_size)


def _pnas(settings: StrategySettings, surrogate: str, name: str) -> Strategy:
    model = settings.sequence_surrogate() if surrogate == "rnn" else settings.surrogate()
    return ProgressiveSearch(model, schedule=settings.pnas_schedule, name=name, surrogate_name=surrogate.upper())


def _predictor(settings: StrategySettings) -> Strategy:
    return PredictorGuidedSearch(
        settings.surrogate(),
        settings.initial_queries,
        settings.schedule,
        settings.exploration,
        name="predictor",
    )


def _predictor_ucb(settings: StrategySettings) -> Strategy:
    return PredictorGuidedSearch(
        settings.surrogate(ensemble_size=max(3, settings.ensemble_size)),
        settings.initial_queries,
        settings.schedule,
        exploration=max(settings.exploration, 1.0),
        name="predictor-ucb",
    )


def _paper(settings: StrategySettings) -> Strategy:
    return PredictorGuidedSearch.one_shot(settings.surrogate(settings.paper_recipe, 1), settings.paper_initial_queries)


def _paper_two_stage(settings: StrategySettings) -> Strategy:
    regressor = training_config(settings.paper_recipe, settings.space.num_ops)
    surrogate = TwoStageSurrogate(
        settings.fit_two_stage,
        settings.fit,
        regressor.replace(task="classification"),
        regressor,
    )
    return PredictorGuidedSearch.one_shot(surrogate, settings.paper_initial_queries, name="paper-two-stage")


STRATEGIES: dict[str, Callable[[StrategySettings], Strategy]] = {
    "random": lambda settings: RandomSearch(),
    "evolution": lambda settings: RegularizedEvolution(),
    "reinforce": lambda settings: Reinforce(),
    "pnas": lambda settings: _pnas(settings, "gcn", "pnas"),
    "pnas-rnn": lambda settings: _pnas(settings, "rnn", "pnas-rnn"),
    "params": lambda settings: ParameterRanking(),
    "paper": _paper,
    "paper-two-stage": _paper_two_stage,
    "predictor": _predictor,
    "predictor-ucb": _predictor_ucb,
}

# Rough relative cost of a trial, to start the long ones first.
_COST = {
    "random": 0,
    "params": 0,
    "evolution": 1,
    "reinforce": 3,
    "paper": 2,
    "paper-two-stage": 3,
    "pnas": 5,
    "pnas-rnn": 4,
    "predictor": 5,
    "predictor-ucb": 10,
}


def build_strategy(name: str, settings: StrategySettings | None = None) -> Strategy:
    if name not in STRATEGIES:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name](settings or StrategySettings())


def expected_cost(name: str) -> int:
    return _COST.get(name, 1)
