"""The names of feeds: the scope a token opens and the file `build` writes for it.

A contract's feed lives in its own folder (`contracts/<id>.ics`, scope `contract:<id>`) and the
aggregates at the top (`all.ics`, scope `all`), so a contract's file and scope can never be an
aggregate's, whatever its id: the two name spaces do not meet. Contract ids that spell an
aggregate are still refused, so that nobody reads `all` in a log and expects everything.
"""

from __future__ import annotations

from pathlib import Path

AGGREGATES = ("all", "ours", "theirs")  # feeds that span contracts, in the order they are built
CONTRACT_PREFIX = "contract:"
CONTRACT_FOLDER = "contracts"
FEED_SUFFIX = ".ics"
RESERVED_CONTRACT_IDS = frozenset(AGGREGATES)


def contract_scope(contract_id: str) -> str:
    return CONTRACT_PREFIX + contract_id


def path_for(out: Path, scope: str) -> Path:
    """The file of a feed scope: `contracts/<id>.ics` for a contract, `<name>.ics` otherwise."""
    if scope.startswith(CONTRACT_PREFIX):
        return out / CONTRACT_FOLDER / (scope.removeprefix(CONTRACT_PREFIX) + FEED_SUFFIX)
    if scope not in AGGREGATES:
        raise ValueError(f"not a feed scope: {scope!r}")
    return out / (scope + FEED_SUFFIX)
