"""The README's commands are what CI runs, and its dataset example runs on the sample it converts."""

from __future__ import annotations

import ast
import re
import subprocess

import numpy as np

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
CI = (REPO / ".ci" / "run").read_text()


def marked_command(marker: str) -> list[str]:
    """The lines of the fenced block after `<!-- ci: marker -->`, as .ci/run extracts them."""
    after = README.split(f"<!-- ci: {marker} -->\n", 1)[1]
    block = re.match(r"```\w*\n(.*?)```", after, re.S)
    return block.group(1).splitlines()


def ci_extraction(marker: str) -> str:
    script = CI.split("readme_command() {", 1)[1].split("\n}\n", 1)[0]
    return subprocess.run(
        ["bash", "-c", f"readme_command() {{{script}\n}}\nreadme_command '{marker}'"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_ci_runs_exactly_the_two_readme_commands_and_the_linters():
    install, test = marked_command("install and run"), marked_command("test")
    assert len(install) == 1 and len(test) == 1
    assert ci_extraction("install and run") == install[0] + "\n" and ci_extraction("test") == test[0] + "\n"
    steps = [line.strip() for line in CI.split("\n}\n", 1)[1].splitlines() if line.strip() and line[0] not in " #}"]
    runs = [step for step in steps if not step.startswith(("install_and_run=", "test_command=", "for ", "done"))]
    assert runs == [
        'bash -euo pipefail -c "$install_and_run"',
        "ruff check .",
        "ruff format --check .",
        'bash -euo pipefail -c "$test_command"',
    ]


def test_the_first_command_installs_torch_then_the_project_with_test_dependencies():
    steps = [step.strip() for step in marked_command("install and run")[0].split("&&")]
    assert steps[0] == "python -m pip install torch==2.13.0"
    assert steps[1] == "python -m pip install -e '.[test]'"
    test_extra = re.search(r"^test = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), re.M).group(1)
    assert '"pytest' in test_extra and '"ruff' in test_extra
    assert marked_command("test") == ["python -m pytest"]


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_dataset_example_runs_on_the_sample(sample_hdf5, tmp_path, monkeypatch):
    (snippet,) = [code for code in python_snippets() if "NASBench(" in code]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nasbench.hdf5").symlink_to(sample_hdf5)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert scope["cell"].hash == "00005c142e6f48ac74fdcf73e3439874"
    assert np.isfinite(scope["bench"].query(scope["cell"], repeat="mean")["validation_accuracy"])
    assert 108 in scope["computed"]


def test_every_example_imports_what_exists():
    for snippet in python_snippets():
        imports = [node for node in ast.parse(snippet).body if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert imports
        exec(compile(ast.Module(body=imports, type_ignores=[]), "README.md", "exec"), {})
