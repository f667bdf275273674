"""The names of feeds: the scope a token opens and the file `build` writes for it.

A contract's feed lives in its own folder (`contracts/<id>.ics`, scope `contract:<id>`) and the
aggregates at the top (`all.ics`, scope `all`), so a contract's file and scope can never be an
aggregate's, whatever its id: the two name spaces do not meet. Contract ids that spell an
aggregate are still refused, so that nobody reads `all` in a log and expects everything.

An owner's feed (every deadline one person answers for) lives in a third folder,
`owners/<slug>.ics`, scope `owner:<slug>`, the slug being the owner's e-mail address in lower
case (deadlines.owners): it can be neither a contract's nor an aggregate's, by its folder and
by its prefix.
"""

from __future__ import annotations

from pathlib import Path

AGGREGATES = ("all", "ours", "theirs")  # feeds that span contracts, in the order they are built
CONTRACT_PREFIX = "contract:"
CONTRACT_FOLDER = "contracts"
OWNER_PREFIX = "owner:"
OWNER_FOLDER = "owners"
FEED_SUFFIX = ".ics"
RESERVED_CONTRACT_IDS = frozenset(AGGREGATES)
# every scope a token may name: an aggregate, a contract, an owner
SCOPE_PATTERN = (rf"{'|'.join(AGGREGATES)}|{CONTRACT_PREFIX}[a-z0-9][a-z0-9._-]{{0,99}}"
                 rf"|{OWNER_PREFIX}[a-z0-9._%+-]{{1,64}}@[a-z0-9-]{{1,63}}(?:\.[a-z0-9-]{{1,63}})+")


def contract_scope(contract_id: str) -> str:
    return CONTRACT_PREFIX + contract_id


def owner_scope(slug: str) -> str:
    return OWNER_PREFIX + slug


def path_for(out: Path, scope: str) -> Path:
    """The file of a feed scope: `contracts/<id>.ics` for a contract, `owners/<slug>.ics` for an
    owner, `<name>.ics` for an aggregate."""
    if scope.startswith(CONTRACT_PREFIX):
        return out / CONTRACT_FOLDER / (scope.removeprefix(CONTRACT_PREFIX) + FEED_SUFFIX)
    if scope.startswith(OWNER_PREFIX):
        slug = scope.removeprefix(OWNER_PREFIX)
        if "/" in slug or slug.startswith(".") or not slug:
            raise ValueError(f"not a feed scope: {scope!r}")
        return out / OWNER_FOLDER / (slug + FEED_SUFFIX)
    if scope not in AGGREGATES:
        raise ValueError(f"not a feed scope: {scope!r}")
    return out / (scope + FEED_SUFFIX)
