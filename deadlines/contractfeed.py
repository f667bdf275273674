"""One contract's share of a build, computed on its own: the unit of an incremental, parallel
build.

Everything a contract contributes (its feed file, its deadlines in the aggregates, its stamps,
its subscribe page) is a function of its log's bytes, its rulebook files, the code and the
holiday and time-zone data, the options, its previous stamps, and time. `compute_contract`
computes it from those and says until when it holds (`valid_until`, see `next_change`); the
build keeps the result in its store and computes it again only when an input changed or that
moment has passed. It runs in a worker process (`build --jobs N`) or in the build's own, and
returns only what the store keeps: the feed file is staged beside its target by the worker
itself, so no process ever holds every contract's bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sqlite3
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from . import __version__
from .calendars import holidays_version
from .engine import later_occurrences
from .errors import DeadlinesError
from .eventlog import ContractLog, parse
from .feednames import contract_scope, path_for
from .feeds import (
    CALENDAR_END,
    Entry,
    FeedOptions,
    aggregate_window,
    calendar_head,
    entries,
    event_bytes,
    event_component,
    in_aggregate,
    one_line,
    stamp_all,
)
from .labels import LABELS
from .periods import add_months, start_of_day
from .safeio import same_bytes, stage
from .state import FeedState, Stamp
from .store import (
    ContractRow,
    EntryRow,
    identity_of,
    micros,
    pack_page_texts,
    pack_stamps,
    unpack_stamps,
)
from .tracking import Tracked, track
from .vocabulary import CANCELLED_STATUSES
from .yamlsource import decode, load_text

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def code_digest() -> str:
    """The package's own code (every module): a change to how anything is computed or written
    invalidates every stored result, whatever the version number says."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def data_versions() -> str:
    """The holiday tables and the time-zone database that dates are counted with."""
    try:
        tzdata = importlib.metadata.version("tzdata")
    except importlib.metadata.PackageNotFoundError:
        tzdata = "none"
    # the system's zone files come first on zoneinfo's search path (a distribution update
    # changes them): their folders' modification times stand for their version
    system = []
    for folder in zoneinfo.TZPATH:
        try:
            system.append(f"{folder}:{os.stat(folder).st_mtime_ns}")
        except OSError:
            continue
    return f"holidays {holidays_version()}; tzdata {tzdata}; {' '.join(system)}"


def environment(options: FeedOptions) -> str:
    """Everything besides the log and its rulebooks that a contract's result depends on."""
    text = f"{code_digest()}\n{data_versions()}\n{options.fingerprint()}"
    return hashlib.sha256(text.encode()).hexdigest()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_log(path: str, data: bytes) -> ContractLog:
    """A log from the bytes the build read (and hashed), checked as `eventlog.load` checks it."""
    return parse(load_text(decode(data, path)[0], path))


def rulebook_files(log: ContractLog) -> tuple[str, ...]:
    """The files the contract's rulebook was read from: its own and every one it extends."""
    from .rulebook import source_files

    return source_files(log.rulebook)


@dataclass(frozen=True)
class Checked:
    """What checking a log (parsing it) tells the build before it writes anything."""

    path: str
    contract_id: str
    line: int
    rulebooks: tuple[str, ...]


def check_log(path: str, data: bytes) -> Checked:
    log = parse_log(path, data)
    return Checked(path, log.contract.id, log.contract.line, rulebook_files(log))


@dataclass(frozen=True)
class ContractJob:
    log_path: str  # the log as the build names it: the events folder / its file name
    data: bytes  # its bytes, as the build read and hashed them
    digest: str
    environment: str
    as_of: datetime
    options: FeedOptions
    stamps: bytes  # the contract's packed stamps from the store (empty for a new contract)
    out: str  # the feeds folder
    orphans: str | None = None  # the store's path, while it holds imported stamps to adopt
    owner: int = 0  # the build's pid: its temporaries are stale once it is gone
    sync: bool = True  # False: the build flushes the file system once before its renames
    shown: str = ""  # the feeds folder as messages name it (a first build writes elsewhere)


@dataclass
class ContractResult:
    row: ContractRow
    entries: list[EntryRow]
    target: str
    staged: str | None  # a temporary to rename over `target`; None: the file is unchanged
    added: list[str] = field(default_factory=list)  # keys of new deadlines
    changed: list[str] = field(default_factory=list)  # keys of changed deadlines
    adopted: list[str] = field(default_factory=list)  # uids adopted from imported stamps
    events_written: int = 0
    warnings: list[str] = field(default_factory=list)
    rulebook_files: tuple[str, ...] = ()  # the build records their digests with the row
    line: int = 0  # the line of the log's contract, for a message about its id


def compute_contract(job: ContractJob) -> ContractResult:
    options, as_of = job.options, job.as_of
    log = parse_log(job.log_path, job.data)
    contract = log.contract
    labels = LABELS[options.lang]
    tracked = track(log, as_of, options.horizon_months)
    state = FeedState(unpack_stamps(job.stamps, f"contract {contract.id}"))
    adopted: list[str] = []
    if job.orphans is not None:
        found = read_orphans(Path(job.orphans), [t.uid for t in tracked
                                                if state.peek(t.uid) is None])
        state.adopt(found)
        adopted = sorted(found)
    items = entries(tracked, as_of, options, state)
    stamp_all(items, state, as_of)
    blocks = [_block(item, state, options) for item in items]

    # the feed: every deadline in the window, or as many as fit, those due soonest first
    name = labels["contract.name"].format(name=contract.name)
    scope = contract_scope(contract.id)
    kept, note, warning = fit(name, scope, items, blocks, state, options, "capped.contract")
    latest = max((_stamp(state, e).last_modified for e in items[:kept]), default=None)
    data = calendar_head(name, scope, options, latest, note, empty=kept == 0) \
        + b"".join(blocks[:kept]) + CALENDAR_END
    target = path_for(Path(job.out), scope)
    warnings = [f"{job.log_path}: {w}" for w in log.warnings]
    if warning:
        shown = Path(job.shown) / target.relative_to(job.out) if job.shown else target
        warnings.append(f"{shown}: {warning}")
    staged: Path | None = None
    if same_bytes(target, data):
        identity = identity_of(target.stat())
    else:
        staged = stage(target, data, owner=job.owner or None, sync=job.sync)
        identity = identity_of(staged.stat())

    by_uid = {t.uid: t for t in tracked}
    page = [page_text(item, contract.name) for item in items[:kept]]
    window = aggregate_window(as_of, log.settings.zone, options)  # once per contract
    aggregate = [
        EntryRow(item.uid, micros(item.sort[0]), item.key, item.ours, contract.agreement,
                 item.owner_slug, micros(_stamp(state, item).last_modified), block,
                 page[index] if index < kept else
                 page_text(item, contract.name))
        for index, (item, block) in enumerate(zip(items, blocks, strict=True))
        if in_aggregate(by_uid[item.uid], as_of, options, window)
    ]
    stamps = _carry(state, {item.uid for item in items}, as_of, options)
    row = ContractRow(
        id=contract.id, log_name=Path(job.log_path).name, log_digest=job.digest,
        environment=job.environment, rulebooks=(), computed_at=as_of,
        valid_until=next_change(log, tracked, as_of, options, state), name=contract.name,
        agreement=contract.agreement, deadlines=len(tracked), warnings=tuple(warnings),
        feed=identity, stamps=pack_stamps(stamps), page=pack_page_texts(page),
        owners=tuple((owner.slug, one_line(str(owner))) for owner in contract.owners.everyone))
    keys = {item.uid: item.key for item in items}
    return ContractResult(
        row, aggregate, str(target), None if staged is None else str(staged),
        added=sorted(keys.get(u, u) for u in state.added),
        changed=sorted(keys.get(u, u) for u in state.changed), adopted=adopted,
        events_written=kept, warnings=warnings, rulebook_files=rulebook_files(log),
        line=contract.line)


def _stamp(state: FeedState, item: Entry) -> Stamp:
    stamp = state.peek(item.uid)
    assert stamp is not None  # stamp_all stamped every entry
    return stamp


def _block(item: Entry, state: FeedState, options: FeedOptions) -> bytes:
    stamp = _stamp(state, item)
    if options.writer == "icalendar":
        block: bytes = event_component(item, stamp).to_ical(sorted=True)
        return block
    return event_bytes(item, stamp)


def fit(name: str, scope: str, items: list[Entry], blocks: list[bytes], state: FeedState,
        options: FeedOptions, where: str) -> tuple[int, str, str]:
    """How many of the (due-ordered) entries fit in `options.max_feed_bytes`, the note for the
    feed's description and the build's warning (both empty when all fit)."""
    limit = options.max_feed_bytes
    total = sum(map(len, blocks))
    latest = max((_stamp(state, e).last_modified for e in items), default=None)
    labels = LABELS[options.lang]
    head = calendar_head(name, scope, options, latest, empty=not items)
    if limit <= 0 or len(head) + total + len(CALENDAR_END) <= limit:
        return len(items), "", ""
    # the note with the largest count it could state bounds the header's size from above
    widest = labels["feed.capped"].format(dropped=len(items), limit=limit,
                                          where=labels[where])
    budget = limit - len(CALENDAR_END) - len(calendar_head(name, scope, options, latest, widest,
                                                           empty=False))
    kept = prefix_within(map(len, blocks), budget)
    dropped = len(items) - kept
    note = labels["feed.capped"].format(dropped=dropped, limit=limit, where=labels[where])
    return kept, note, capped_warning(dropped, len(items), limit)


def prefix_within(sizes: Iterable[int], budget: int) -> int:
    """How many of `sizes`, from the first, add up to at most `budget`."""
    count = used = 0
    for size in sizes:
        if used + size > budget:
            break
        used += size
        count += 1
    return count


def capped_warning(dropped: int, total: int, limit: int) -> str:
    return (f"{dropped:,} of {total:,} deadlines, those due latest, left out to keep the feed "
            f"under --max-feed-bytes {limit:,} (its description says so)")


def page_text(item: Entry, contract_name: str) -> str:
    """The subscribe page's row of a deadline, as JSON text: what json.dumps (ensure_ascii
    off, no spaces) writes of {"uid", "sort", "due", "title", "status", "actor", "clause",
    "contract", "contract_name"[, "owner"]}, written in one go (one per deadline in a build;
    `tests/test_store.py` checks it against json.dumps)."""
    quote = encode_basestring
    owner = f',"owner":{quote(item.owner)}' if item.owner else ""
    return (f'{{"uid":{quote(item.uid)},"sort":{micros(item.sort[0])!r},'
            f'"due":{quote(item.due_local)},"title":{quote(item.title)},'
            f'"status":{quote(item.status)},"actor":{quote(item.actor)},'
            f'"clause":{quote(item.clause)},"contract":{quote(item.contract)},'
            f'"contract_name":{quote(contract_name)}{owner}}}')


def _carry(state: FeedState, in_feed: set[str], as_of: datetime, options: FeedOptions
           ) -> dict[str, Stamp]:
    """The stamps to keep: those of deadlines in the feed, and those of deadlines that left
    every feed less than a grace period ago (a stamp older than that can no longer matter: the
    deadline was dropped by every subscribed calendar, and only a new fact brings it back)."""
    grace = timedelta(days=options.grace_days)
    kept: dict[str, Stamp] = {}
    for uid, stamp in state.entries():
        if uid in in_feed:
            kept[uid] = replace(stamp, gone_since=None) if stamp.gone_since else stamp
            continue
        gone = stamp.gone_since or as_of.astimezone(UTC).replace(microsecond=0)
        if gone + grace >= as_of:
            kept[uid] = replace(stamp, gone_since=gone)
    return kept


def read_orphans(store: Path, uids: list[str]) -> dict[str, Stamp]:
    """Stamps imported from a legacy state file, for these uids (read-only: the build removes
    the ones adopted, in its own transaction)."""
    if not uids:
        return {}
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, isolation_level=None)
    try:
        found: dict[str, Stamp] = {}
        for uid in uids:
            row = conn.execute("SELECT stamp FROM orphans WHERE uid = ?", (uid,)).fetchone()
            if row is not None:
                found.update(unpack_stamps(row[0], f"imported stamp {uid}"))
        return found
    finally:
        conn.close()


# --- until when a contract's result holds --------------------------------------------------

def next_change(log: ContractLog, tracked: list[Tracked], as_of: datetime,
                options: FeedOptions, state: FeedState) -> datetime | None:
    """The first moment after `as_of` at which this contract's feed, aggregate entries or page
    may differ from what they are at `as_of`; None if only a new fact can change them.

    Every way time enters the computation gives candidate moments, and any extra candidate
    only costs a recomputation that finds nothing new, so the list errs on the side of more:
    - a recorded event dated later (a planned fulfilment counts only once it has happened);
    - each due instant (pending becomes missed, a limit's period closes) and the day before it
      (a right opens the day before a day-based due date ends; exact for hour-based ones);
    - the days at which a due date enters or leaves the feed's window and the aggregates'
      window, at midnight in the contract's zone (windows count the contract's days), for the
      deadlines tracked and for the next occurrences of recurring duties not yet generated;
    - the end of the grace period of a cancelled deadline (counted from when it was closed and
      from when it was first published cancelled), and the next UTC midnight when a deadline
      counts its closing from "today" (a fact dated in the future is capped at today).
    """
    zone = log.settings.zone
    today = as_of.astimezone(zone).date()
    grace = timedelta(days=options.grace_days)
    utc_today = datetime.combine(as_of.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    moments: list[datetime] = []
    for event in log.events:
        moments.append(event.instant(log.settings))
    days: set[date] = set()
    for t in tracked:
        end = t.due_end
        if end is not None:
            moments += [end, end - timedelta(days=1)]
        if t.due_day is not None:
            days.add(t.due_day)
        if t.status in CANCELLED_STATUSES:
            closed = t.closed_at or t.changed_at
            if closed is not None:
                moments.append(closed + grace)
            if t.closed_at is None and t.changed_at is not None and t.changed_at >= utc_today:
                moments.append(utc_today + timedelta(days=1))
            stamp = state.peek(t.uid)
            if stamp is not None and stamp.cancelled_since is not None:
                moments.append(stamp.cancelled_since + grace)
    days |= _upcoming_recurring_days(log, today, options)
    # every window edge is a midnight in the contract's zone: the earliest day after today
    # gives the earliest of them
    shifts = _window_shifts(options)
    edges = [d for day in days for d in _window_days(day, shifts, options.horizon_months)
             if d > today]
    if edges:
        moments.append(start_of_day(min(edges), zone))
    future = [m for m in moments if m > as_of]
    return min(future) if future else None


def _window_shifts(options: FeedOptions) -> tuple[timedelta, timedelta, timedelta]:
    """From a due day to the days it leaves the feed and the aggregates (the day after
    `past_days` have passed) and enters the aggregates (`aggregate_days_ahead` before)."""
    return (timedelta(days=options.past_days + 1),
            timedelta(days=options.aggregate_past_days + 1),
            timedelta(days=-options.aggregate_days_ahead))


def _window_days(day: date, shifts: tuple[timedelta, timedelta, timedelta],
                 horizon_months: int) -> list[date]:
    """The days (in the contract's zone) on which a deadline due on `day` enters or leaves a
    window: those of `_window_shifts` (worked out once per contract, not per day), and the
    first day from which `horizon_months` reach it, when it enters the feed."""
    out = [day + shifts[0], day + shifts[1], day + shifts[2]]
    entering = _first_day_reaching(day, horizon_months)
    if entering is not None:
        out.append(entering)
    return out


@lru_cache(maxsize=65536)
def _first_day_reaching(day: date, months: int) -> date | None:
    """The first day D with add_months(D, months) >= day (add_months clamps to the month's
    end, so D is found by a short walk from `day` minus `months`)."""
    try:
        guess = add_months(day, -months)[0] - timedelta(days=4)
        for _ in range(10):
            if add_months(guess, months)[0] >= day:
                return guess
            guess += timedelta(days=1)
    except (DeadlinesError, OverflowError, ValueError):
        return None  # a day near the ends of the calendar: no window edge to watch there
    return guess


# Look-aheads by what they depend on: the rulebook (the object: a rulebook file read again is a
# new one), the contract's start and the settings its log gives, and the horizon's end. Many
# contracts of a portfolio share them (an agreement, a start on the first of a month).
_LOOKAHEAD: dict[tuple[Any, ...], tuple[Any, frozenset[date]]] = {}
_LOOKAHEAD_SIZE = 4096


def _upcoming_recurring_days(log: ContractLog, today: date, options: FeedOptions) -> set[date]:
    """Due days of recurring duties not generated yet (beyond the horizon): each enters the
    feed on a later day. The series is counted as `track` counts it, one month further; past
    that month, a day is added on which the horizon reaches its end, so that the contract is
    computed again then and looks one month further."""
    book = log.rulebook
    if "contract_start" not in book.events:
        return set()
    until = add_months(today, options.horizon_months)[0]
    contract = log.contract
    key = (id(book), contract.start, contract.timezone, repr(contract.calendar), contract.roll,
           contract.region, until)
    found = _LOOKAHEAD.get(key)
    if found is not None and found[0] is book:
        return set(found[1])
    further = add_months(until, 1)[0]
    # the occurrences of the recurring rules past the horizon (the contract_start rules that do
    # not recur are the same whatever the horizon: `track` gave them, and next_change has them)
    out = later_occurrences(book, "contract_start", contract.start, log.settings, until,
                            further)
    out.add(further + timedelta(days=1))
    if len(_LOOKAHEAD) >= _LOOKAHEAD_SIZE:
        _LOOKAHEAD.pop(next(iter(_LOOKAHEAD)))
    _LOOKAHEAD[key] = (book, frozenset(out))
    return out
