"""Finished trials on disk as they come in, so a long comparison survives an interruption.

`OUT_DIR/trials.jsonl`: a first line naming the run (data, budget, seed, settings), then
one line per finished trial. `--resume` reruns only the trials the file does not hold,
and refuses a file written for another run. The file is touched only when a trial has
finished, so a run refused at the start leaves an earlier log as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_output
from predictor.data.json_lines import append_record, drop_torn_tail, record_line
from predictor.search.runner import TrialResult


def run_identity(data: str | Path, pool_size: int, budget: int, seed: int, settings: object) -> dict:
    settings_dict = settings.to_dict() if hasattr(settings, "to_dict") else repr(settings)
    return {
        "data": str(Path(data).resolve()),
        "pool_size": pool_size,
        "budget": budget,
        "seed": seed,
        "settings": json.loads(json.dumps(settings_dict, default=str, allow_nan=False)),
    }


def read_trials(path: str | Path, identity: dict) -> dict[tuple[str, int], TrialResult]:
    """Trials recorded for this run; an empty dict when there is no file."""
    path = Path(path)
    if not path.is_file():
        return {}
    lines = path.read_text().splitlines()
    if not lines:
        return {}
    recorded = json.loads(lines[0])
    if recorded != identity:
        differs = sorted(key for key in {**recorded, **identity} if recorded.get(key) != identity.get(key))
        raise ValueError(
            f"{path} records another run (its {', '.join(differs)} differ); "
            "use another --out-dir, or --restart to discard its trials"
        )
    trials = {}
    for line in lines[1:]:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by the interruption
            continue
        result = TrialResult(
            item["strategy"],
            item["trial"],
            np.array(item["rows"], dtype=np.int64),
            np.array(item["observed"], dtype=np.float64),  # null: a query without a value
            np.array(item["edit_distances"], dtype=np.int64),
            item["seconds"],
            np.array(item.get("poisoned", []), dtype=bool),
        )
        trials[(result.strategy, result.trial)] = result
    return trials


def recorded_trials(path: str | Path) -> int:
    """How many finished trials a log holds (0 when there is no file)."""
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, "rb") as file:
        return max(0, sum(1 for line in file if line.endswith(b"\n")) - 1)


class TrialWriter:
    """Appends each finished trial to the file, after the identity line.

    Nothing is written before the first trial finishes. `keep`: continue the file (a line
    torn by an interruption is dropped first); otherwise the first trial starts it anew.
    """

    def __init__(self, path: str | Path, identity: dict, keep: bool):
        self.path = Path(path)
        self.identity = identity
        self.keep = keep
        self._started = False

    def _start(self) -> None:
        if self.keep:
            drop_torn_tail(self.path)
        if not (self.keep and self.path.is_file() and self.path.stat().st_size):
            with atomic_output(self.path, force=True) as temporary:
                temporary.write_text(record_line(self.identity))
        self._started = True

    def __call__(self, result: TrialResult) -> None:
        if not self._started:
            self._start()
        append_record(
            self.path,
            {
                "strategy": result.strategy,
                "trial": result.trial,
                "rows": result.rows.tolist(),
                "observed": result.observed.tolist(),
                "edit_distances": result.edit_distances.tolist(),
                "seconds": result.seconds,
                "poisoned": result.poisoned.tolist(),
            },
        )
