"""The README's import rule is the code's: every import of the library, read with `ast`, against the README table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

LIBRARY = REPO / "predictor"


def readme_rule() -> dict[str, set[str]]:
    """wing -> the wings it may import, from the table after `<!-- import rule -->` in the README."""
    table = (REPO / "README.md").read_text().split("<!-- import rule -->\n", 1)[1].split("\n\n", 1)[0]
    rule = {}
    for line in table.splitlines()[2:]:
        wing, imports = (cell.strip() for cell in line.strip("|").split("|"))
        rule[wing.strip("`")] = set(re.findall(r"`(\w+)`", imports))
    return rule


def wing_of(path: Path) -> str:
    return path.relative_to(LIBRARY).parts[0].removesuffix(".py")


def imported_wings(path: Path) -> set[str]:
    """The wings `predictor.<wing>...` that a module imports anywhere in its body."""
    wings = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "predictor" else [f"predictor.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        wings |= {name.split(".")[1] for name in names if name.startswith("predictor.")}
    return wings


def test_every_wing_of_the_library_has_a_row():
    wings = {wing_of(path) for path in LIBRARY.rglob("*.py")} - {"__init__"}
    assert wings == set(readme_rule())


def test_imports_follow_the_readme_rule():
    rule = readme_rule()
    broken = []
    for path in sorted(LIBRARY.rglob("*.py")):
        wing = wing_of(path)
        if wing == "__init__":
            continue
        for other in sorted(imported_wings(path) - rule[wing] - {wing}):
            broken.append(f"{path.relative_to(REPO)} imports predictor.{other}")
    assert not broken, "imports the README's rule does not allow:\n" + "\n".join(broken)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def late():\n    from predictor.child.network import build_network\n    import predictor.gcn\n")
    assert imported_wings(module) == {"child", "gcn"}
