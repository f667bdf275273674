"""The modules stand in layers a newcomer can hold in their head: the vocabulary at the bottom,
then the rulebook (model, reader, `extend`), the settings of one contract, the engine and the
event log side by side, then tracking, feeds and the front doors (api, cli, server). A module
imports only from the layers below it (deferred imports inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "deadlines"

# module -> the package's modules it must not import
BELOW = {
    "vocabulary": "*",
    "labels": "*",
    "rulebook": {"settings", "engine", "eventlog", "tracking", "feeds", "api", "cli"},
    "rulebookreader": {"settings", "engine", "eventlog", "tracking", "feeds", "api", "cli"},
    "extend": {"settings", "engine", "eventlog", "tracking", "feeds", "api", "cli"},
    "settings": {"engine", "eventlog", "tracking", "feeds", "api", "cli"},
    "engine": {"eventlog", "tracking", "feeds", "api", "cli"},
    "eventlog": {"engine", "tracking", "feeds", "api", "cli"},
    "tracking": {"feeds", "api", "cli"},
    "feeds": {"api", "cli"},
}


def imported(module: str) -> set[str]:
    """The package's modules `module` imports, wherever the import stands."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("module", sorted(BELOW))
def test_a_module_imports_only_from_the_layers_below(module: str) -> None:
    forbidden = BELOW[module]
    found = imported(module)
    if forbidden == "*":
        assert found <= {"errors"}, found
    else:
        assert not found & set(forbidden), found & set(forbidden)
