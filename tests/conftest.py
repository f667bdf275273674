from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MINI = str(FIXTURES / "mini.yaml")


@pytest.fixture
def mini() -> str:
    """A small rulebook that exercises every engine feature (not a real agreement)."""
    return MINI


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test (and every command a test starts) keeps its holiday tables and parsed
    rulebooks in a folder of the test run, never in the user's ~/.cache: a test must not read
    what another run or another checkout left there. Tests of the caches themselves point
    DEADLINES_CACHE_DIR at a folder of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEADLINES_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield
