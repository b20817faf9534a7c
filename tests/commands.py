"""Running the tools/ scripts as a user does, for the tests."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TRAIN_CHILD = Path(__file__).resolve().parents[1] / "tools" / "train_child.py"


def run_tool(name, *args):
    argv = sys.argv
    sys.argv = [name, *map(str, args)]
    try:
        with pytest.raises(SystemExit) as exit:
            runpy.run_path(str(REPO / "tools" / name), run_name="__main__")
        return exit.value.code
    finally:
        sys.argv = argv


def load_train_child():
    spec = importlib.util.spec_from_file_location("train_child", TRAIN_CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
