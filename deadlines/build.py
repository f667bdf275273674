"""`deadlines build`: event logs -> feed files, for cron.

Everything happens under the lock of the output folder, the reading of the logs included: two
builds take turns, and the one that writes last also read last, so a build that started before
a `record` can never overwrite the result of one that started after it. Every log is read and
checked before anything is written, so bad input leaves every feed as it was. Each feed is
staged beside its target, and only once every changed feed is staged are they renamed into
place, so a crash leaves the previous set whole; the next build removes what a killed one left.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .eventlog import ContractLog, find_logs, load_dir
from .feednames import (
    AGGREGATES,
    CONTRACT_FOLDER,
    FEED_SUFFIX,
    OWNER_FOLDER,
    OWNER_PREFIX,
    contract_scope,
    owner_scope,
    path_for,
)
from .feeds import FEED_SIZE_WARNING, PRODID, Entry, FeedOptions, entries, one_line, render
from .icswriter import cancel_every_event
from .labels import LABELS
from .safeio import (
    clean_stale_temporaries,
    fault,
    folder_lock,
    locked,
    same_bytes,
    stage,
)
from .state import FeedState
from .tracking import Tracked, track

LOCK_FILE = folder_lock(Path()).name


@dataclass
class Feed:
    scope: str  # what a token names: all, ours, theirs or contract:<id> (feednames)
    name: str
    items: list[Entry]
    data: bytes = b""


@dataclass
class BuildReport:
    contracts: int = 0
    deadlines: int = 0
    events_written: int = 0
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    changed_uids: list[str] = field(default_factory=list)
    added_uids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for -v: what happened to removed contracts
    warnings: list[str] = field(default_factory=list)
    feeds: dict[str, Feed] = field(default_factory=dict)


def plan_feeds(logs: list[ContractLog], tracked: dict[str, list[Tracked]], as_of: datetime,
               options: FeedOptions, state: FeedState | None = None) -> list[Feed]:
    """Which feeds exist and what goes in each: one per contract, all, ours, theirs, and one
    per owner named in a log (the deadlines they answer for, across contracts)."""
    labels = LABELS[options.lang]
    feeds: list[Feed] = []
    everything: list[Entry] = []
    owners: dict[str, str] = {}  # slug -> the name and address as first written
    for log in logs:
        items = entries(tracked[log.contract.id], as_of, options, state)
        everything.extend(items)
        feeds.append(Feed(contract_scope(log.contract.id),
                          labels["contract.name"].format(name=log.contract.name), items))
        for owner in log.contract.owners.everyone:
            owners.setdefault(owner.slug, one_line(str(owner)))
    everything.sort(key=lambda e: e.sort)
    chosen = {"all": everything, "ours": [e for e in everything if e.ours],
              "theirs": [e for e in everything if not e.ours]}
    feeds += [Feed(scope, labels[f"{scope}.name"], chosen[scope]) for scope in AGGREGATES]
    owned: dict[str, list[Entry]] = {slug: [] for slug in owners}
    for entry in everything:
        if entry.owner_slug:
            owned[entry.owner_slug].append(entry)
    feeds += [Feed(owner_scope(slug), labels["owner.name"].format(name=owners[slug]),
                   owned[slug]) for slug in sorted(owners)]
    return feeds


def build(events_dir: str | Path, out_dir: str | Path, as_of: datetime,
          options: FeedOptions | None = None,
          progress: Callable[[int], None] | None = None, keep_feeds: bool = False
          ) -> BuildReport:
    """Build every feed; `keep_feeds` keeps their bytes and entries in the report (the server
    serves from them; a cron build lets them go as soon as each file is staged)."""
    options = options or FeedOptions()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise fault(NotADirectoryError(20, "Not a directory"), "writing feeds to", out)
    # read and checked before the output folder is created: bad input touches nothing
    seen = log_signature(events_dir)
    logs = load_dir(events_dir)
    with locked(folder_lock(out)):
        if log_signature(events_dir) != seen:
            # a log changed while this build waited for the lock: read it again, so that the
            # build that writes last has also read last
            logs = load_dir(events_dir)
        for folder in (out, out / CONTRACT_FOLDER, out / OWNER_FOLDER):
            clean_stale_temporaries(folder)
        report = BuildReport(contracts=len(logs))
        tracked: dict[str, list[Tracked]] = {}
        for log in logs:
            tracked[log.contract.id] = track(log, as_of, options.horizon_months)
            report.deadlines += len(tracked[log.contract.id])
            report.warnings += [f"{log.path}: {w}" for w in log.warnings]
            if progress is not None:
                progress(1)
        state = FeedState.load(out)
        report.warnings += state.warnings
        feeds = plan_feeds(logs, tracked, as_of, options, state)
        staged: list[tuple[Path, Path]] = []  # (temporary file, target), renamed at the end
        try:
            _stage_feeds(feeds, out, state, options, as_of, report, staged, keep_feeds)
            expired = _stage_removed_contracts({log.contract.id for log in logs}, out, state,
                                               options, as_of, report, staged)
            expired += _stage_removed_contracts(
                {f.scope.removeprefix(OWNER_PREFIX) for f in feeds
                 if f.scope.startswith(OWNER_PREFIX)},
                out, state, options, as_of, report, staged, owners=True)
            # every feed is rendered and on disk before any is replaced: a failure above leaves
            # the previous set whole
            for temporary, path in staged:
                try:
                    os.replace(temporary, path)
                except OSError as exc:
                    raise fault(exc, "writing", path) from None
                report.written.append(path)
            staged = []
        finally:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
        for contract_id, path in expired:
            path.unlink(missing_ok=True)
            report.removed.append(path)
            del state.removed[contract_id]
        _remove_legacy_contract_feeds(out, {log.contract.id for log in logs}, report)
        state.save(out)
        keys = {e.uid: e.key for f in feeds for e in f.items}
        report.changed_uids = sorted(keys.get(u, u) for u in state.changed)
        report.added_uids = sorted(keys.get(u, u) for u in state.added)
    return report


def log_signature(events_dir: str | Path) -> tuple[tuple[str, int, int, int], ...]:
    """Name, inode, size and mtime of every log: a `record` (a rename) changes the inode."""
    out = []
    for path in find_logs(events_dir):
        try:
            info = path.stat()
        except OSError:
            continue  # gone: the set of names differs anyway
        out.append((path.name, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(out)


def _stage_feeds(feeds: list[Feed], out: Path, state: FeedState, options: FeedOptions,
                 as_of: datetime, report: BuildReport, staged: list[tuple[Path, Path]],
                 keep_feeds: bool) -> None:
    rendered: dict[str, bytes] = {}  # each VEVENT serialised once, shared by its feeds
    for feed in feeds:
        data = render(feed.name, feed.scope, feed.items, state, options, rendered, as_of)
        report.events_written += len(feed.items)
        path = path_for(out, feed.scope)
        if len(data) > FEED_SIZE_WARNING:
            report.warnings.append(
                f"{path}: {len(data):,} bytes; Google Calendar stops reading subscribed feeds "
                "at about 1 MB (narrow the window with --past-days or --horizon)")
        if same_bytes(path, data):
            report.unchanged.append(path)
        else:
            staged.append((stage(path, data), path))
        if keep_feeds:
            feed.data = data
            report.feeds[feed.scope] = feed


def _stage_removed_contracts(current: set[str], out: Path, state: FeedState,
                             options: FeedOptions, as_of: datetime, report: BuildReport,
                             staged: list[tuple[Path, Path]], owners: bool = False
                             ) -> list[tuple[str, Path]]:
    """A contract whose log is gone (with `owners`, an owner no log names any more): its feed
    is republished with every deadline CANCELLED, kept for the grace period like any cancelled
    deadline, then removed. Returns the feeds whose grace period is over, to remove once the
    new feeds are in place."""
    # the state keeps owners as `owner:<slug>`, which no contract id can spell
    def key_of(name: str) -> str:
        return OWNER_PREFIX + name if owners else name

    for key in list(state.removed):
        if key.startswith(OWNER_PREFIX) == owners and \
                key.removeprefix(OWNER_PREFIX if owners else "") in current:  # it came back
            del state.removed[key]
    folder = out / (OWNER_FOLDER if owners else CONTRACT_FOLDER)
    expired: list[tuple[str, Path]] = []
    if not folder.is_dir():
        return expired
    prefix = LABELS[options.lang]["prefix.withdrawn"]
    what = "owner" if owners else "contract"
    for path in sorted(folder.glob("*" + FEED_SUFFIX)):
        name = path.name.removesuffix(FEED_SUFFIX)
        if name in current:
            continue
        contract_id = key_of(name)
        since = state.removed.get(contract_id)
        if since is None:
            since = state.removed[contract_id] = as_of.replace(microsecond=0)
            try:
                data = cancel_every_event(path.read_bytes(), since, prefix)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                gone = "owner is named by no log" if owners else "contract's log is gone"
                report.warnings.append(f"{path}: its {gone} and the feed cannot be read to "
                                       f"cancel its deadlines ({exc}); removing it")
                expired.append((contract_id, path))
                continue
            staged.append((stage(path, data), path))
            gone = "no log names them any more" if owners else "no event log any more"
            report.notes.append(f"{what} {name}: {gone}; its feed {path} now shows every "
                                "deadline cancelled")
        if as_of >= since + timedelta(days=options.grace_days):
            expired.append((contract_id, path))
            report.notes.append(f"{what} {name}: grace period over; removed {path}")
    return expired


def _remove_legacy_contract_feeds(out: Path, current: set[str], report: BuildReport) -> None:
    """Contract feeds used to sit beside the aggregates (`<id>.ics`); they now live in
    `contracts/`. An old copy written by this tool would go stale, so it is removed."""
    for contract_id in sorted(current):
        old = out / (contract_id + FEED_SUFFIX)
        if contract_id in AGGREGATES or not old.is_file():
            continue
        try:
            with open(old, "rb") as handle:
                head = handle.read(4096)
        except OSError:
            continue
        if head.startswith(b"BEGIN:VCALENDAR") and PRODID.encode() in head:
            old.unlink(missing_ok=True)
            report.removed.append(old)
            report.notes.append(f"contract {contract_id}: its feed moved to "
                                f"{path_for(out, contract_scope(contract_id))}; removed {old}")

