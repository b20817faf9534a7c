"""Finished trials on disk as they come in, so a long comparison survives an interruption.

`OUT_DIR/trials.jsonl`: a first line naming the run (data, budget, seed, settings), then
one line per finished trial. `--resume` reruns only the trials the file does not hold,
and refuses a file written for another run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from predictor.search.runner import TrialResult


def run_identity(data: str | Path, pool_size: int, budget: int, seed: int, settings: object) -> dict:
    settings_dict = settings.to_dict() if hasattr(settings, "to_dict") else repr(settings)
    return {
        "data": str(Path(data).resolve()),
        "pool_size": pool_size,
        "budget": budget,
        "seed": seed,
        "settings": json.loads(json.dumps(settings_dict, default=str)),
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
        raise ValueError(f"{path} records another run ({recorded}); use another --out-dir or drop --resume")
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
            np.array(item["observed"]),
            np.array(item["edit_distances"], dtype=np.int64),
            item["seconds"],
        )
        trials[(result.strategy, result.trial)] = result
    return trials


class TrialWriter:
    """Appends each finished trial to the file (after the identity line, written once)."""

    def __init__(self, path: str | Path, identity: dict, keep: bool):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not keep or not self.path.is_file():
            self.path.write_text(json.dumps(identity) + "\n")

    def __call__(self, result: TrialResult) -> None:
        with open(self.path, "a") as file:
            file.write(
                json.dumps(
                    {
                        "strategy": result.strategy,
                        "trial": result.trial,
                        "rows": result.rows.tolist(),
                        "observed": result.observed.tolist(),
                        "edit_distances": result.edit_distances.tolist(),
                        "seconds": result.seconds,
                    }
                )
                + "\n"
            )
