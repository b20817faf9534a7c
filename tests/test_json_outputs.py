"""No JSON the project writes holds NaN or Infinity tokens: every encoder call refuses them."""

from __future__ import annotations

import ast
import json
import math

import pytest

from predictor.data.atomic import write_json
from predictor.data.json_lines import append_record, drop_torn_tail
from tests.conftest import REPO

SOURCES = sorted(
    path
    for folder in ("predictor", "tools", "benchmarks")
    for path in (REPO / folder).rglob("*.py")
    if "__pycache__" not in path.parts
) + sorted(REPO.glob("*.py"))


def _json_calls_allowing_nan(path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("dump", "dumps")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "json"
        ):
            refuses = any(
                k.arg == "allow_nan" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            if not refuses:
                lines.append(node.lineno)
    return lines


def test_every_json_encoder_call_refuses_nan_tokens():
    offenders = {str(p.relative_to(REPO)): lines for p in SOURCES if (lines := _json_calls_allowing_nan(p))}
    assert offenders == {}, "use predictor.data.atomic.write_json, or json.dumps(..., allow_nan=False)"


def test_write_json_writes_nan_as_null_and_refuses_infinity(tmp_path):
    path = write_json({"mse": float("nan"), "tau": 0.5}, tmp_path / "m.json")
    assert json.loads(path.read_text()) == {"mse": None, "tau": 0.5}
    with pytest.raises(ValueError):
        write_json({"mse": math.inf}, tmp_path / "inf.json")
    assert not (tmp_path / "inf.json").exists()


def test_a_log_line_torn_by_a_crash_is_dropped_and_the_next_record_survives(tmp_path):
    log = tmp_path / "log.jsonl"
    append_record(log, {"trial": 0, "observed": [0.9, float("nan")]})
    with open(log, "a") as file:
        file.write('{"trial": 1, "obs')
    assert drop_torn_tail(log) == len('{"trial": 1, "obs')
    append_record(log, {"trial": 2})
    assert [json.loads(line) for line in log.read_text().splitlines()] == [
        {"trial": 0, "observed": [0.9, None]},
        {"trial": 2},
    ]
    assert drop_torn_tail(log) == 0
