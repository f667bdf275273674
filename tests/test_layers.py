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


def test_statuses_and_kinds_are_compared_by_their_names_not_their_words() -> None:
    """A status, kind or alert is written once, in vocabulary.py; elsewhere code compares with
    `Status.MISSED`, never with the string "missed" (a typo in a string is a silent bug, a typo
    in a name fails at import). Labels (labels.py) and the aggregates' feed names, which are
    words of their own, are not comparisons. Strings in docstrings and messages are allowed:
    only comparisons (==, !=, in) against such a literal are refused."""
    from deadlines.vocabulary import Alert, Kind, Status

    words = {str(m) for enum in (Status, Kind, Alert) for m in enum}
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in ("vocabulary", "labels"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                items = side.elts if isinstance(side, ast.Tuple | ast.Set | ast.List) else [side]
                found += [f"{path.name}:{node.lineno}: {item.value!r}" for item in items
                          if isinstance(item, ast.Constant) and item.value in words]
    assert not found, found
