"""What a folder holds, for tests that check that a command touched nothing (or only X)."""

from __future__ import annotations

from pathlib import Path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path (`all.ics`, `contracts/acme.ics`), lock
    files left out: they are created by whoever waits for them and never hold data."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}
