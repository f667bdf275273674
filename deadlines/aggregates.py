"""The aggregate feeds (all, ours, theirs), assembled from the build store.

Each contract's computation leaves in the store, for every deadline that belongs in the
aggregates (`feeds.in_aggregate`), its rendered VEVENT with its due instant, its side and its
agreement. An aggregate is its calendar header followed by those blocks in due order, streamed
from the store into a temporary beside the feed: no process holds the whole feed, and no
contract is recomputed to write one.

Size. A feed larger than `max_feed_bytes` keeps the deadlines due soonest and leaves out those
due latest, and its description says how many (Google Calendar stops reading a subscribed feed
at about 1 MB). When that happens to an aggregate, it is also written split by agreement
(`agreements/<agreement>/all.ics`, scope `all:<agreement>`), each part under the same cap; the
parts go away again once the whole aggregate fits.

Owners. Each person a log names (`owner:`, `owners:`) gets a feed of the deadlines they answer
for, chosen as the aggregates' are (`owners/<address>.ics`, scope `owner:<address>`), under the
same cap. A feed whose owner no log names any more shows every deadline cancelled for the grace
period, as a removed contract's does, and is then removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .contractfeed import capped_warning, prefix_within
from .feednames import (
    AGGREGATES,
    AGREEMENT_FOLDER,
    FEED_SUFFIX,
    OWNER_FOLDER,
    OWNER_PREFIX,
    agreement_scope,
    owner_scope,
    path_for,
)
from .feeds import CALENDAR_END, FeedOptions, calendar_head
from .icswriter import cancel_every_event
from .labels import LABELS
from .safeio import same_files, stage, stage_stream
from .store import BuildStore, Touch, file_identity, identity_of, moment

# scope -> the store's filter for it (an agreement's part adds `AND agreement = ?`)
# the `ours` value of the entries each aggregate holds (None: both sides)
_SIDES: dict[str, int | None] = {"all": None, "ours": 1, "theirs": 0}
_FILTERS = {name: "1 = 1" if side is None else f"ours = {side}" for name, side in _SIDES.items()}


def aggregate_filter(scope: str) -> tuple[str, tuple[str, ...]]:
    """The `entries` rows of an aggregate scope (`all`, `all:<agreement>` or
    `owner:<address>`)."""
    if scope.startswith(OWNER_PREFIX):
        return "owner = ?", (scope.removeprefix(OWNER_PREFIX),)
    aggregate, _, agreement = scope.partition(":")
    where = _FILTERS[aggregate]
    if agreement:
        return f"{where} AND agreement = ?", (agreement,)
    return where, ()


def aggregate_name(scope: str, lang: str, owners: dict[str, str] | None = None) -> str:
    """The calendar's name; an owner's names them as the logs write them (`owners`: slug ->
    "Name <address>", from the store)."""
    if scope.startswith(OWNER_PREFIX):
        slug = scope.removeprefix(OWNER_PREFIX)
        return LABELS[lang]["owner.name"].format(name=(owners or {}).get(slug, slug))
    aggregate, _, agreement = scope.partition(":")
    name = LABELS[lang][f"{aggregate}.name"]
    return f"{name} ({agreement})" if agreement else name


@dataclass
class Written:
    """What writing the aggregates did: renames to make, files left alone, notes."""

    staged: list[tuple[Path, Path]]
    unchanged: list[Path]
    obsolete: list[Path]  # parts of a split no longer needed, removed after the renames
    identities: dict[str, str | None]  # relative path -> identity of the file once in place
    warnings: list[str]
    events_written: int = 0
    warning_by_file: dict[str, str] = field(default_factory=dict)  # kept in the store
    notes: list[str] = field(default_factory=list)  # for -v: owners' feeds withdrawn


def write_aggregates(store: BuildStore, out: Path, options: FeedOptions, as_of: datetime,
                     dirty: bool, shown: Path | None = None) -> Written:
    """Stage every aggregate whose bytes changed. With nothing `dirty` (no contract computed or
    removed) and every file still the one written last, nothing is read or written."""
    recorded = store.files()
    result = Written([], [], [], {}, [])
    previous = store.aggregate_warnings_by_file()
    if not dirty and recorded and previous is not None and all(
            file_identity(out / name) == identity for name, identity in recorded.items()):
        result.unchanged = [out / name for name in sorted(recorded)]
        result.warning_by_file = previous
        result.warnings = list(previous.values())  # said at every build, as when written
        return result
    kept = _Unchanged(store.touched, recorded, previous, out)
    scopes = list(AGGREGATES)
    split: list[str] = []
    for scope in scopes:
        if not kept.keep(scope, result):
            _write_one(store, out, scope, options, result, shown or out)
        if _capped(scope, result):
            split.append(scope)
    if split:
        for agreement in store.agreements():
            for scope in split:
                part = agreement_scope(scope, agreement)
                if not kept.keep(part, result):
                    _write_one(store, out, part, options, result, shown or out)
    owners = store.owners()
    for slug in sorted(owners):
        scope = owner_scope(slug)
        if not kept.keep(scope, result):
            _write_one(store, out, scope, options, result, shown or out, owners)
    _withdraw_owner_feeds(store, out, set(owners), options, as_of, result, shown or out)
    # parts of an earlier split that this build did not write
    for name in sorted(recorded):
        if name not in result.identities:
            result.obsolete.append(out / name)
            result.identities[name] = None
    folder = out / AGREEMENT_FOLDER
    if folder.is_dir():
        for path in sorted(folder.glob("*/*.ics")):
            name = path.relative_to(out).as_posix()
            if name not in result.identities and path.stem in AGGREGATES:
                result.obsolete.append(path)
    return result


def _capped(scope: str, result: Written) -> bool:
    """Whether the aggregate just written or kept had to leave deadlines out (it says so in
    its warning, and only then)."""
    return path_for(Path(), scope).as_posix() in result.warning_by_file


@dataclass
class _Unchanged:
    """Which aggregates this build need not write again: every entry removed or added by the
    build (`touched`) falls outside them, and their file is still the one written last. Their
    bytes would be the same (an aggregate is a function of its entries, its owners' names and
    the options, and a change of options recomputes every contract)."""

    touched: set[Touch]
    recorded: dict[str, str]
    previous: dict[str, str] | None  # None: the store cannot say how they were written
    out: Path

    def keep(self, scope: str, result: Written) -> bool:
        name = path_for(Path(), scope).as_posix()
        identity = self.recorded.get(name)
        if self.previous is None or identity is None or \
                any(_falls_in(scope, touch) for touch in self.touched) or \
                file_identity(self.out / name) != identity:
            return False
        result.unchanged.append(self.out / name)
        result.identities[name] = identity
        warning = self.previous.get(name)
        if warning is not None:
            result.warnings.append(warning)
            result.warning_by_file[name] = warning
        return True


def _falls_in(scope: str, touch: Touch) -> bool:
    """Whether an entry (or an owner's name) of this kind belongs in the aggregate `scope`;
    the same test as aggregate_filter's SQL."""
    ours, agreement, owner = touch
    if scope.startswith(OWNER_PREFIX):
        return owner == scope.removeprefix(OWNER_PREFIX)
    if ours is None:
        return False  # an owner's name heads only the owner's feed
    aggregate, _, part = scope.partition(":")
    side = _SIDES[aggregate]
    return (side is None or side == ours) and (not part or part == agreement)


def withdrawals_end(store: BuildStore, options: FeedOptions) -> datetime | None:
    """When the first withdrawn owner's feed reaches the end of its grace period (then a build
    removes it)."""
    grace = timedelta(days=options.grace_days)
    return min((since + grace for since in store.withdrawn().values()), default=None)


def withdrawals_due(store: BuildStore, as_of: datetime, options: FeedOptions) -> bool:
    end = withdrawals_end(store, options)
    return end is not None and as_of >= end


def _withdraw_owner_feeds(store: BuildStore, out: Path, current: set[str],
                          options: FeedOptions, as_of: datetime, result: Written,
                          shown: Path) -> None:
    """An owner no log names any more: their feed is republished with every deadline CANCELLED,
    kept for the grace period like any cancelled deadline, then removed."""
    withdrawn = store.withdrawn()
    for name in withdrawn:
        if name.removeprefix(OWNER_FOLDER + "/").removesuffix(FEED_SUFFIX) in current:
            store.set_withdrawn(name, None)  # named again: their feed is written afresh
    folder = out / OWNER_FOLDER
    if not folder.is_dir():
        return
    prefix = LABELS[options.lang]["prefix.withdrawn"]
    for path in sorted(folder.glob("*" + FEED_SUFFIX)):
        slug = path.name.removesuffix(FEED_SUFFIX)
        name = path.relative_to(out).as_posix()
        if slug in current:
            continue
        shown_path = shown / name
        since = withdrawn.get(name)
        if since is None:
            since = as_of.replace(microsecond=0)
            store.set_withdrawn(name, since)
            try:
                data = cancel_every_event(path.read_bytes(), since, prefix)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                result.warnings.append(f"{shown_path}: its owner is named by no log and the "
                                       f"feed cannot be read to cancel its deadlines ({exc}); "
                                       "removing it")
                result.obsolete.append(path)
                result.identities[name] = None
                store.set_withdrawn(name, None)
                continue
            temporary = stage(path, data)
            result.staged.append((temporary, path))
            result.identities[name] = identity_of(temporary.stat())
            result.notes.append(f"owner {slug}: no log names them any more; its feed "
                                f"{shown_path} now shows every deadline cancelled")
        else:
            result.identities[name] = file_identity(path)
        if as_of >= since + timedelta(days=options.grace_days):
            result.obsolete.append(path)
            result.identities[name] = None
            store.set_withdrawn(name, None)
            result.notes.append(f"owner {slug}: grace period over; removed {shown_path}")


def _leading_sizes(store: BuildStore, where: str, args: tuple[str, ...], limit: int
                   ) -> tuple[list[tuple[int, int]], int]:
    """(size, last modified) of the aggregate's first entries, in the feed's order, and how
    many it has in all. All of them unless they pass `limit` bytes between them: a capped
    aggregate never keeps more than that, so the rest (most of a large portfolio's) is not
    read."""
    sizes: list[tuple[int, int]] = []
    total = 0
    for size, last_modified in store.aggregate_sizes(where, args):
        sizes.append((size, last_modified))
        total += size
        if 0 < limit < total:
            return sizes, store.aggregate_count(where, args)
    return sizes, len(sizes)


def _write_one(store: BuildStore, out: Path, scope: str, options: FeedOptions,
               result: Written, shown: Path, owners: dict[str, str] | None = None) -> None:
    """Stage one aggregate, capped at --max-feed-bytes by leaving out the entries due last
    (its warning says so; a capped aggregate that is not already a part, or an owner's, is
    then also written split by agreement)."""
    where, args = aggregate_filter(scope)
    labels = LABELS[options.lang]
    limit = options.max_feed_bytes
    sizes, count = _leading_sizes(store, where, args, limit)
    name = aggregate_name(scope, options.lang, owners)
    path = path_for(out, scope)
    relative = path.relative_to(out).as_posix()
    description = labels["aggregate.description"].format(
        past=options.aggregate_past_days, ahead=options.aggregate_days_ahead)
    total = sum(size for size, _ in sizes)
    latest = max((lm for _, lm in sizes), default=None)
    head = _head(name, scope, options, latest, description, bool(sizes))
    kept = count
    if count > len(sizes) or (limit > 0 and len(head) + total + len(CALENDAR_END) > limit):
        widest = description + labels["feed.capped"].format(
            dropped=count, limit=limit, where=labels["capped.aggregate"])
        # the stamps read so far stand for all: every LAST-MODIFIED has the same length
        budget = limit - len(CALENDAR_END) - len(_head(name, scope, options, latest, widest,
                                                       True))
        kept = prefix_within((size for size, _ in sizes), budget)
        note = description + labels["feed.capped"].format(
            dropped=count - kept, limit=limit, where=labels["capped.aggregate"])
        latest = max((lm for _, lm in sizes[:kept]), default=None)
        head = _head(name, scope, options, latest, note, kept > 0)
        warning = (f"{path_for(shown, scope)}: {capped_warning(count - kept, count, limit)}"
                   + ("; it is also written split by agreement, under "
                      f"{shown / AGREEMENT_FOLDER}" if ":" not in scope else ""))
        result.warnings.append(warning)
        result.warning_by_file[relative] = warning

    def chunks() -> Iterator[bytes]:
        yield head
        yield from store.aggregate_blocks(where, args, kept)
        yield CALENDAR_END

    temporary, _ = stage_stream(path, chunks())
    if same_files(temporary, path):
        temporary.unlink(missing_ok=True)
        result.unchanged.append(path)
        result.identities[relative] = file_identity(path)
    else:
        result.staged.append((temporary, path))
        result.identities[relative] = identity_of(temporary.stat())
    result.events_written += kept


def _head(name: str, scope: str, options: FeedOptions, latest: int | None, note: str,
          has_events: bool) -> bytes:
    return calendar_head(name, scope, options, None if latest is None else moment(latest),
                         note, empty=not has_events)
