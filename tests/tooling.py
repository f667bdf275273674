"""Optional test tools (browsers, servers, real clients): skip locally, fail in CI.

A test that needs a program outside the venv asks for it here. When it is missing, the test
is skipped on a developer's machine, but fails when the environment variable CI is set, so a
CI run can never pass green by skipping what it was meant to check.

    from tooling import require_module, require_tool

    chromium = require_tool("chromium", "bash scripts/install-test-tools")
    playwright = require_module("playwright.sync_api", "pip install -e '.[test]'")
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the environment variable CI is set (to anything but empty)."""
    return bool(os.environ.get("CI"))


def missing(name: str, hint: str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) because `name` is not installed."""
    message = f"{name} is not installed; install it with: {hint}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, hint: str) -> str:
    """The path of the executable `name` (a name on PATH or an absolute path).

    Missing: fails when CI is set, skips otherwise; `hint` says how to install it.
    """
    if os.sep in name:
        path = Path(name)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    else:
        found = shutil.which(name)
        if found:
            return found
    missing(name, hint)


def require_module(name: str, hint: str) -> ModuleType:
    """The imported Python module `name`, with the same missing-tool policy."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the Python module {name}", hint)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10) -> None:
    """Stop a server the test started: politely, then for good."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
