"""`deadlines build`: event logs -> feed files, for cron.

Every log is read and checked before anything is written, so bad input leaves every feed as
it was. Files are replaced atomically and only when their bytes change; a lock beside the
output makes two builds at once take turns.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .eventlog import ContractLog, load_dir
from .feeds import FEED_SIZE_WARNING, LABELS, Entry, FeedOptions, entries, path_for, render
from .state import STATE_FILE, FeedState, atomic_write, stage
from .tracking import Tracked, track

LOCK_FILE = ".deadlines.lock"


@dataclass
class Feed:
    id: str
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
    changed_uids: list[str] = field(default_factory=list)
    added_uids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    feeds: dict[str, Feed] = field(default_factory=dict)


@contextmanager
def locked(out: Path) -> Iterator[None]:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def plan_feeds(logs: list[ContractLog], tracked: dict[str, list[Tracked]], as_of: datetime,
               options: FeedOptions, state: FeedState | None = None) -> list[Feed]:
    """Which feeds exist and what goes in each: one per contract, all, ours, theirs."""
    labels = LABELS[options.lang]
    feeds: list[Feed] = []
    everything: list[Entry] = []
    for log in logs:
        items = entries(tracked[log.contract.id], as_of, options, state)
        everything.extend(items)
        feeds.append(Feed(log.contract.id, labels["contract.name"].format(name=log.contract.name),
                          items))
    everything.sort(key=lambda e: e.sort)
    feeds.append(Feed("all", labels["all.name"], everything))
    feeds.append(Feed("ours", labels["ours.name"], [e for e in everything if e.ours]))
    feeds.append(Feed("theirs", labels["theirs.name"], [e for e in everything if not e.ours]))
    return feeds


def build(events_dir: str | Path, out_dir: str | Path, as_of: datetime,
          options: FeedOptions | None = None,
          progress: Callable[[int], None] | None = None, keep_feeds: bool = False
          ) -> BuildReport:
    """Build every feed; `keep_feeds` keeps their bytes and entries in the report (the server
    serves from them; a cron build lets them go as soon as each file is staged)."""
    options = options or FeedOptions()
    out = Path(out_dir)
    logs = load_dir(events_dir)  # raises DeadlinesError before anything is touched
    report = BuildReport(contracts=len(logs))
    tracked: dict[str, list[Tracked]] = {}
    for log in logs:
        tracked[log.contract.id] = track(log, as_of, options.horizon_months)
        report.deadlines += len(tracked[log.contract.id])
        report.warnings += [f"{log.path}: {w}" for w in log.warnings]
        if progress is not None:
            progress(1)
    with locked(out):
        state = FeedState.load(out)
        feeds = plan_feeds(logs, tracked, as_of, options, state)
        rendered: dict[str, bytes] = {}  # each VEVENT serialised once, shared by its feeds
        staged: list[tuple[Path, Path]] = []  # (temporary file, target), renamed at the end
        try:
            for feed in feeds:
                data = render(feed.name, feed.id, feed.items, state, options, rendered, as_of)
                report.events_written += len(feed.items)
                path = path_for(out, feed.id)
                if len(data) > FEED_SIZE_WARNING:
                    report.warnings.append(
                        f"{path}: {len(data):,} bytes; Google Calendar stops reading "
                        "subscribed feeds at about 1 MB (narrow the window with --past-days or "
                        "--horizon)")
                if _same_bytes(path, data):
                    report.unchanged.append(path)
                else:
                    staged.append((stage(path, data), path))
                if keep_feeds:
                    feed.data = data
                    report.feeds[feed.id] = feed
            # every feed is rendered and on disk before any is replaced: a failure above leaves
            # the previous set whole
            for temporary, path in staged:
                os.replace(temporary, path)
                report.written.append(path)
            staged = []
        finally:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
        state_bytes = state.to_json().encode()
        if not _same_bytes(out / STATE_FILE, state_bytes):
            atomic_write(out / STATE_FILE, state_bytes)
        keys = {e.uid: e.key for f in feeds for e in f.items}
        report.changed_uids = sorted(keys.get(u, u) for u in state.changed)
        report.added_uids = sorted(keys.get(u, u) for u in state.added)
    return report


def _same_bytes(path: Path, data: bytes) -> bool:
    """Whether the file holds exactly `data`, read in chunks (feeds can be large)."""
    try:
        if path.stat().st_size != len(data):
            return False
        view = memoryview(data)
        with open(path, "rb") as handle:
            offset = 0
            while chunk := handle.read(1 << 20):
                if view[offset:offset + len(chunk)] != chunk:
                    return False
                offset += len(chunk)
        return offset == len(data)
    except OSError:
        return False
