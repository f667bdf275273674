"""The names of feeds: the scope a token opens and the file `build` writes for it.

A contract's feed lives in its own folder (`contracts/<id>.ics`, scope `contract:<id>`) and the
aggregates at the top (`all.ics`, scope `all`), so a contract's file and scope can never be an
aggregate's, whatever its id: the two name spaces do not meet. Contract ids that spell an
aggregate are still refused, so that nobody reads `all` in a log and expects everything.

An owner's feed (the deadlines one person answers for, chosen as an aggregate's are) lives in a
third folder, `owners/<slug>.ics`, scope `owner:<slug>`, the slug being the owner's e-mail
address in lower case (deadlines.owners): it can be neither a contract's nor an aggregate's, by
its folder and by its prefix.

An aggregate too large for one subscription is also written split by agreement
(`agreements/<agreement>/all.ics`, scope `all:<agreement>`): a fourth name space, apart from
the others.
"""

from __future__ import annotations

from pathlib import Path

AGGREGATES = ("all", "ours", "theirs")  # feeds that span contracts, in the order they are built
CONTRACT_PREFIX = "contract:"
CONTRACT_FOLDER = "contracts"
OWNER_PREFIX = "owner:"
OWNER_FOLDER = "owners"
AGREEMENT_FOLDER = "agreements"
FEED_SUFFIX = ".ics"
RESERVED_CONTRACT_IDS = frozenset(AGGREGATES)
# every scope a token may name: an aggregate, an aggregate of one agreement (agreement ids are
# rulebook ids: lowercase letters, digits and hyphens), a contract, an owner
SCOPE_PATTERN = (rf"(?:{'|'.join(AGGREGATES)})(?::[a-z0-9][a-z0-9-]{{0,99}})?"
                 rf"|{CONTRACT_PREFIX}[a-z0-9][a-z0-9._-]{{0,99}}"
                 rf"|{OWNER_PREFIX}[a-z0-9._%+-]{{1,64}}@[a-z0-9-]{{1,63}}(?:\.[a-z0-9-]{{1,63}})+")


def contract_scope(contract_id: str) -> str:
    return CONTRACT_PREFIX + contract_id


def owner_scope(slug: str) -> str:
    return OWNER_PREFIX + slug


def agreement_scope(aggregate: str, agreement: str) -> str:
    return f"{aggregate}:{agreement}"


def path_for(out: Path, scope: str) -> Path:
    """The file of a feed scope: `contracts/<id>.ics` for a contract, `owners/<slug>.ics` for an
    owner, `<name>.ics` for an aggregate, `agreements/<agreement>/<name>.ics` for an aggregate
    of one agreement."""
    if scope.startswith(CONTRACT_PREFIX):
        return out / CONTRACT_FOLDER / (scope.removeprefix(CONTRACT_PREFIX) + FEED_SUFFIX)
    if scope.startswith(OWNER_PREFIX):
        slug = scope.removeprefix(OWNER_PREFIX)
        if "/" in slug or slug.startswith(".") or not slug:
            raise ValueError(f"not a feed scope: {scope!r}")
        return out / OWNER_FOLDER / (slug + FEED_SUFFIX)
    aggregate, _, agreement = scope.partition(":")
    if agreement and aggregate in AGGREGATES and "/" not in agreement and agreement[0] != ".":
        return out / AGREEMENT_FOLDER / agreement / (aggregate + FEED_SUFFIX)
    if scope not in AGGREGATES:
        raise ValueError(f"not a feed scope: {scope!r}")
    return out / (scope + FEED_SUFFIX)
