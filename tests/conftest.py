from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MINI = str(FIXTURES / "mini.yaml")


@pytest.fixture
def mini() -> str:
    """A small rulebook that exercises every engine feature (not a real agreement)."""
    return MINI
