"""`deadlines build`: event logs -> feed files, for cron; incremental, streamed, on every core.

Each contract is computed on its own (`contractfeed`), and the result is kept in the build
store beside the feeds (`store`), keyed by the digests of its log and rulebook files, of the
code and data, and of the options, and valid until the next moment any of its deadlines changes
with time. A rebuild computes only the contracts whose key changed or whose moment has passed,
in a pool of processes (`jobs`); each writes its own feed as soon as it is rendered, and the
aggregates are then streamed from the store (`aggregates`). The output is the same bytes
whatever the number of processes and whatever was cached.

What a person can rely on, as before:
- Every log is read and checked before anything is written, so bad input leaves every feed
  (and the store) as it was. The logs are read again under the lock of the output folder if
  they changed while the build waited for it, so the build that writes last also read last.
- Every changed feed is staged beside its target, and only once all are staged are they
  renamed into place; the store is committed after the renames. A crash leaves the previous
  set whole (or the new set, with a store that is behind and recomputes the same); the next
  build removes what a killed one left.
- A removed contract's feed is republished with every deadline cancelled for the grace period,
  then removed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from .aggregates import withdrawals_due, withdrawals_end, write_aggregates
from .contractfeed import (
    Checked,
    ContractJob,
    ContractResult,
    check_log,
    compute_contract,
    digest,
    environment,
)
from .errors import DeadlinesError
from .eventlog import find_logs
from .feednames import (
    AGGREGATES,
    AGREEMENT_FOLDER,
    CONTRACT_FOLDER,
    FEED_SUFFIX,
    OWNER_FOLDER,
    contract_scope,
    path_for,
)
from .feedpolicy import GOOGLE_FEED_LIMIT
from .feeds import PRODID, FeedOptions
from .icswriter import cancel_every_event
from .labels import LABELS
from .safeio import (
    clean_stale_temporaries,
    fault,
    folder_lock,
    locked,
    process_alive,
    read_limited,
    stage,
    sync_filesystem,
)
from .store import (
    BACKUP_FILE,
    STORE_FILE,
    BuildStore,
    CachedContract,
    StoreDamaged,
    file_identity,
    pack_stamps,
    read_cache,
)
from .yamlsource import MAX_BYTES

LOCK_FILE = folder_lock(Path()).name
# Fewer contracts to compute than this and the build computes them itself: starting worker
# processes costs more than it saves.
POOL_THRESHOLD = 8
# More contract feeds to stage than this and they are flushed together, once, before the
# renames (10,000 fsyncs took a tenth of a big build), rather than one by one.
SYNC_TOGETHER = 32


@dataclass
class BuildReport:
    contracts: int = 0
    deadlines: int = 0
    events_written: int = 0
    computed: int = 0  # contracts computed by this build (the others' results still held)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    changed_uids: list[str] = field(default_factory=list)
    added_uids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for -v: what happened to removed contracts
    warnings: list[str] = field(default_factory=list)
    next_change: datetime | None = None  # when a rebuild next has something to compute
    current: list[str] = field(default_factory=list)  # the ids of the contracts with a log


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


@dataclass(frozen=True)
class LogFile:
    path: str  # the events folder / the file name, as feeds and messages name it
    name: str
    data: bytes
    digest: str


def read_logs(events_dir: str | Path) -> list[LogFile]:
    """Every log of the folder, read once (bounded), with the digest of its bytes."""
    out = []
    for path in find_logs(events_dir):
        data = read_limited(path, MAX_BYTES, "YAML file")
        out.append(LogFile(str(path), path.name, data, digest(data)))
    return out


def build(events_dir: str | Path, out_dir: str | Path, as_of: datetime,
          options: FeedOptions | None = None,
          progress: Callable[[int], None] | None = None, jobs: int | None = None
          ) -> BuildReport:
    """Build every feed into `out_dir` as of `as_of`, computing only what changed."""
    options = options or FeedOptions()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise fault(NotADirectoryError(20, "Not a directory"), "writing feeds to", out)
    env = environment(options)
    with Workers(default_jobs() if jobs is None else jobs) as workers:
        digests = Digests()
        logs: list[LogFile] = []
        checked: dict[str, Checked] | None = {}
        if not out.exists() and out.parent.is_dir():
            first = _first_build(events_dir, out, as_of, options, env, digests, workers,
                                 progress)
            if first is not None:
                return first
        if not (out / STORE_FILE).exists():
            # read and checked before the output folder is created or locked: bad input
            # touches nothing
            logs = read_logs(events_dir)
            checked = check_logs(logs, {}, env, digests, workers)
        with locked(folder_lock(out)):
            # (with a store, the folder and its lock exist: the logs are read once, here)
            again = read_logs(events_dir)
            if [(f.name, f.digest) for f in again] != [(f.name, f.digest) for f in logs]:
                # a log changed while this build waited for the lock: read it again, so that
                # the build that writes last has also read last; checked before anything is
                # written, the store vouching for the logs it has seen
                logs = again
                checked = check_logs(logs, read_cache(out), env, digests, workers)
            for folder in (out, out / CONTRACT_FOLDER, out / OWNER_FOLDER):
                clean_stale_temporaries(folder)
            try:
                return _build_locked(out, logs, checked, as_of, options, env, digests, workers,
                                     progress)
            except StoreDamaged as exc:
                # found while reading a contract's row: the whole store is suspect. Nothing
                # was renamed or committed; recover it from its backup and build once more.
                BuildStore.recover(out, str(exc))
                report = _build_locked(out, logs, checked, as_of, options, env, digests,
                                       workers, progress)
                report.warnings.insert(0, f"{out / STORE_FILE}: {exc}; recovered from "
                                       f"{BACKUP_FILE}, the store of the last good build "
                                       "(SEQUENCE numbers continue from there)")
                return report


_BUILD_FOLDER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def _first_build(events_dir: str | Path, out: Path, as_of: datetime, options: FeedOptions,
                 env: str, digests: Digests, workers: Workers,
                 progress: Callable[[int], None] | None) -> BuildReport | None:
    """A first build, into a private folder beside `out` renamed into place at the end: every
    log is checked by the very computation that uses it (rather than read twice), and bad input,
    a full disk or a crash leave no `out` at all (a killed build's folder is removed by the next
    one). None if another build created `out` meanwhile: then this one builds into it, as any
    other build, under its lock."""
    logs = read_logs(events_dir)  # no log at all: said before anything is created
    _remove_dead_build_folders(out)
    work = out.parent / f".{out.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        work.mkdir()
    except OSError as exc:
        raise fault(exc, "creating the folder of", out) from None
    try:
        with locked(folder_lock(work)):
            report = _build_locked(work, logs, None, as_of, options, env, digests, workers,
                                   progress, shown=out)
        try:
            os.rename(work, out)
        except OSError as exc:
            if out.exists():
                shutil.rmtree(work, ignore_errors=True)
                return None
            raise fault(exc, "writing feeds to", out) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    for name in ("written", "unchanged", "removed"):
        setattr(report, name, [out / p.relative_to(work) for p in getattr(report, name)])
    return report


def _remove_dead_build_folders(out: Path) -> None:
    """First builds of `out` that were killed left their private folder beside it."""
    try:
        names = os.listdir(out.parent)
    except OSError:
        return
    for name in names:
        match = _BUILD_FOLDER.match(name)
        if match and match["name"] == out.name and not process_alive(int(match["pid"])):
            shutil.rmtree(out.parent / name, ignore_errors=True)


class Digests:
    """The digest of each rulebook file, read once per build (None: it cannot be read)."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        if path not in self._known:
            try:
                self._known[path] = digest(read_limited(path, MAX_BYTES, "rulebook"))
            except DeadlinesError:
                self._known[path] = None
        return self._known[path]

    def stale(self) -> set[str]:
        """Files that changed since this build first read them (edited during the build)."""
        return {p for p, d in self._known.items()
                if (Digests()(p) if d is not None else None) != d}

    def pairs(self, paths: Iterable[str]) -> tuple[tuple[str, str], ...]:
        return tuple((p, self(p) or "") for p in paths)


def _inputs_match(row: CachedContract | None, log: LogFile, env: str,
                  digests: Digests) -> bool:
    """Whether the stored result was computed from these very inputs (time aside)."""
    return (row is not None and row.removed_since is None and row.log_name == log.name
            and row.log_digest == log.digest and row.environment == env
            and all(digests(p) == d for p, d in row.rulebooks))


def check_logs(logs: list[LogFile], cache: dict[str, CachedContract], env: str,
               digests: Digests, workers: Workers) -> dict[str, Checked]:
    """Every log checked, by file name: parsed, unless the store vouches for these exact bytes
    (with the same rulebooks, code and options they were checked with then). Raises the first
    problem (in file order) as a DeadlinesError; contract ids must be unique."""
    checked: dict[str, Checked] = {}
    todo: list[LogFile] = []
    for log in logs:
        row = cache.get(log.name)
        if _inputs_match(row, log, env, digests):
            assert row is not None
            checked[log.name] = Checked(log.path, row.id, 0, tuple(p for p, _ in row.rulebooks))
        else:
            todo.append(log)
    problems: dict[str, DeadlinesError] = {}
    for name, outcome in workers.run(_check_one, [(f.name, f.path, f.data) for f in todo],
                                     lambda _: None):
        if isinstance(outcome, DeadlinesError):
            problems[name] = outcome
        else:
            checked[name] = outcome
    for log in logs:  # the first problem in file order, whatever order the workers finished
        if log.name in problems:
            raise problems[log.name]
    seen: dict[str, str] = {}
    for log in logs:
        found = checked[log.name]
        if found.contract_id in seen:
            line = found.line or check_log(log.path, log.data).line
            raise DeadlinesError(
                f"contract id {found.contract_id!r} is also used by {seen[found.contract_id]}",
                file=log.path, line=line, field="contract.id")
        seen[found.contract_id] = log.path
    return checked


def _check_one(item: tuple[str, str, bytes]) -> tuple[str, Checked | DeadlinesError]:
    name, path, data = item
    try:
        return name, check_log(path, data)
    except DeadlinesError as exc:
        return name, exc


def _compute_one(job: ContractJob) -> ContractResult | tuple[str, DeadlinesError]:
    """One contract; bad input comes back as a value, so that the build reports the first in
    file order (workers finish in any order)."""
    try:
        return compute_contract(job)
    except DeadlinesError as exc:
        return job.log_path, exc


def _contract_ids(logs: list[LogFile], computed: list[ContractResult]) -> dict[str, LogFile]:
    """Contract id -> its log, from the logs' own computations; an id held by two logs is bad
    input, said of the later file as `load_dir` says it."""
    by_name = {result.row.log_name: result for result in computed}
    current: dict[str, LogFile] = {}
    for log in logs:
        result = by_name[log.name]
        earlier = current.get(result.row.id)
        if earlier is not None:
            raise DeadlinesError(f"contract id {result.row.id!r} is also used by {earlier.path}",
                                 file=log.path, line=result.line, field="contract.id")
        current[result.row.id] = log
    return current


def _build_locked(out: Path, logs: list[LogFile], checked: dict[str, Checked] | None,
                  as_of: datetime, options: FeedOptions, env: str, digests: Digests,
                  workers: Workers, progress: Callable[[int], None] | None,
                  shown: Path | None = None) -> BuildReport:
    """The build, holding the folder's lock. `checked`: the logs checked beforehand and the
    contract each holds; None (a first build into a private folder) to check each log in the
    computation itself. `shown`: the folder messages name (`out` is private until renamed)."""
    store = BuildStore.open(out, as_of, private=shown is not None)
    shown = shown or out

    def named(path: Path) -> Path:
        return shown / path.relative_to(out)

    staged: list[tuple[Path, Path]] = []  # (temporary, target), renamed at the end
    cancelled: list[tuple[Path, Path]] = []
    try:
        report = BuildReport(contracts=len(logs))
        report.warnings += store.warnings
        report.notes += store.notes
        known = store.contracts()
        stored, known_logs = set(known), {row.log_name for row in known.values()}
        store.begin()
        current: dict[str, LogFile] = {} if checked is None else \
            {checked[f.name].contract_id: f for f in logs}
        todo: list[ContractJob] = []
        warnings: dict[str, list[str]] = {}  # by log name, reported in file order
        orphans = str(store.path) if store.has_orphans() else None
        contract_feeds = out / CONTRACT_FOLDER
        for contract_id, log in current.items():
            row = known.get(contract_id)
            # path_for(out, contract_scope(contract_id)), joined once rather than twice
            feed = contract_feeds / (contract_id + FEED_SUFFIX)
            if (row is not None and _inputs_match(row, log, env, digests)
                    and row.computed_at <= as_of
                    and (row.valid_until is None or as_of < row.valid_until)
                    and file_identity(feed) == row.feed):
                report.unchanged.append(feed)
                report.deadlines += row.deadlines
                warnings[log.name] = list(row.warnings)
                if progress is not None:
                    progress(1)
                continue
            todo.append(ContractJob(
                log.path, log.data, log.digest, env, as_of, options,
                store.stamps_blob(contract_id) if row is not None else b"", str(out), orphans,
                os.getpid(), shown=str(shown)))
        if checked is None:  # a first build: nothing stored, every log computed (and checked)
            todo = [ContractJob(log.path, log.data, log.digest, env, as_of, options, b"",
                                str(out), None, os.getpid(), shown=str(shown)) for log in logs]
        together = len(todo) > SYNC_TOGETHER
        if together:
            todo = [replace(job, sync=False) for job in todo]
        computed: list[ContractResult] = []

        def discard(outcome: ContractResult | tuple[str, DeadlinesError]) -> None:
            if isinstance(outcome, ContractResult) and outcome.staged is not None:
                Path(outcome.staged).unlink(missing_ok=True)

        problems: dict[str, DeadlinesError] = {}
        for outcome in workers.run(_compute_one, todo, discard):
            if isinstance(outcome, tuple):
                problems[outcome[0]] = outcome[1]
                continue
            result = outcome
            result.row = replace(result.row, rulebooks=digests.pairs(result.rulebook_files))
            if result.staged is not None:
                staged.append((Path(result.staged), Path(result.target)))
            else:
                report.unchanged.append(Path(result.target))
            # (a first build of two logs with one id: the second replaces the first, and
            # `_contract_ids` then says so)
            store.put_contract(result.row, result.entries,
                               new=result.row.id not in stored
                               and result.row.log_name not in known_logs)
            stored.add(result.row.id)
            if result.adopted:
                store.drop_orphans(result.adopted)
            report.deadlines += result.row.deadlines
            report.events_written += result.events_written
            report.added_uids += result.added
            report.changed_uids += result.changed
            warnings[result.row.log_name] = result.warnings
            result.entries = []  # in the store now: not held for the rest of the build
            computed.append(result)
            if progress is not None:
                progress(1)
        report.computed = len(computed)
        for log in logs:  # the first problem in file order, whatever order workers finished in
            if log.path in problems:
                raise problems[log.path]
        if checked is None:
            current = _contract_ids(logs, computed)
        # the workers' feeds (staged unsynced) flush to disk while the aggregates are made,
        # each of which is synced as it is staged
        flushing = threading.Thread(target=sync_filesystem, args=(out,), daemon=True) \
            if together else None
        if flushing is not None:
            flushing.start()
        report.current = sorted(current)
        for log in logs:
            report.warnings += warnings.get(log.name, [])
        # contract feeds in the logs' order (workers finish in any order), then the aggregates,
        # then the feeds of removed contracts: the order -v lists them in
        order = {cid: i for i, cid in enumerate(current)}
        staged_by = {str(r.target): r.row.id for r in computed if r.staged is not None}
        staged.sort(key=lambda pair: order.get(staged_by.get(str(pair[1]), ""), len(order)))
        removed_changed, expired = _removed_contracts(store, known, set(current), out, options,
                                                      as_of, report, cancelled)
        written = write_aggregates(store, out, options, as_of,
                                   dirty=bool(computed) or removed_changed or bool(expired)
                                   or withdrawals_due(store, as_of, options), shown=shown)
        staged += written.staged + cancelled
        cancelled = []
        report.unchanged += written.unchanged
        report.warnings += written.warnings
        report.notes += written.notes
        report.events_written += written.events_written
        if options.max_feed_bytes <= 0:
            report.warnings += _size_warnings(staged, report.unchanged)
        for contract_id, _ in expired:
            store.forget(contract_id)
        for name, identity in written.identities.items():
            store.set_file(name, identity)
        store.set_aggregate_warnings(written.warning_by_file)
        stale = digests.stale()
        if stale:  # a rulebook edited while it was read: compute its contracts again next time
            for result in computed:
                if any(p in stale for p, _ in result.row.rulebooks):
                    store.expire(result.row.id)
        store.prune_orphans(as_of - timedelta(days=options.grace_days))
        changed = store.changed()
        if changed:
            store.next_generation()
        back_up = changed or store.backup_is_stale()
        if back_up:
            store.check_room_for_backup()  # a full disk is found before anything is replaced
        # every feed is rendered and on disk, and the store written, before anything is
        # replaced: a failure until here leaves the previous set whole. The store commits first:
        # a crash between the commit and the last rename leaves it ahead of some feed, which
        # the next build finds by the feed's identity and writes again, with the same stamps.
        if flushing is not None:
            flushing.join()
        store.commit()
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise fault(exc, "writing", path) from None
            report.written.append(path)
        staged = []
        for _, path in expired:
            path.unlink(missing_ok=True)
            report.removed.append(path)
        for path in written.obsolete:
            path.unlink(missing_ok=True)
            report.removed.append(path)
            if path.is_relative_to(out / AGREEMENT_FOLDER):
                report.notes.append(f"{named(path)}: the aggregate fits whole again; its split "
                                    "is removed")
        for result in computed:
            _remove_legacy_contract_feed(out, result.row.id, report)
        if back_up:
            store.backup()
        if store.migrated:
            for path in store.remove_legacy():
                report.notes.append(f"{path.name}: its stamps now live in the build store; "
                                    "removed")
        # the next contract whose result time makes stale, or the next withdrawn owner's feed
        # whose grace period ends
        report.next_change = min(
            (when for when in (store.next_change(), withdrawals_end(store, options)) if when),
            default=None)
        report.unchanged.sort()
        report.added_uids.sort()
        report.changed_uids.sort()
        return report
    finally:
        for temporary, _ in staged + cancelled:
            temporary.unlink(missing_ok=True)
        store.rollback()
        store.close()


def _size_warnings(staged: list[tuple[Path, Path]], unchanged: list[Path]) -> list[str]:
    """With no --max-feed-bytes: every feed over Google's limit, rewritten or not."""
    out = []
    sizes = [(t.stat().st_size, p) for t, p in staged]
    sizes += [(p.stat().st_size, p) for p in unchanged if p.exists()]
    for size, path in sorted(sizes, key=lambda x: x[1]):
        if size > GOOGLE_FEED_LIMIT:
            out.append(f"{path}: {size:,} bytes; Google Calendar stops reading subscribed feeds "
                       "at about 1 MB (narrow the window with --past-days or --horizon, or set "
                       "--max-feed-bytes)")
    return out


def _removed_contracts(store: BuildStore, known: dict[str, CachedContract], current: set[str],
                       out: Path, options: FeedOptions, as_of: datetime, report: BuildReport,
                       staged: list[tuple[Path, Path]]) -> tuple[bool, list[tuple[str, Path]]]:
    """A contract whose log is gone: its feed is republished with every deadline CANCELLED,
    kept for the grace period like any cancelled deadline, then removed. Its stamps move on
    with the cancellation, so that the deadlines of a log that comes back follow it. Returns
    whether the store changed, and the feeds whose grace period is over (to remove once the
    new feeds are in place)."""
    changed = False
    expired: list[tuple[str, Path]] = []
    prefix = LABELS[options.lang]["prefix.withdrawn"]
    folder = out / CONTRACT_FOLDER
    # contracts the store knows, and feeds on disk it does not know (an older version's)
    ids = {cid for cid in known if cid not in current}
    if folder.is_dir():
        ids |= {p.name.removesuffix(FEED_SUFFIX) for p in folder.glob("*" + FEED_SUFFIX)
                if p.name.removesuffix(FEED_SUFFIX) not in current}
    for contract_id in sorted(ids):
        path = folder / (contract_id + FEED_SUFFIX)
        row = known.get(contract_id)
        since = row.removed_since if row is not None else None
        if since is None:
            since = as_of.replace(microsecond=0)
            changed = True
            stamps = _cancelled_stamps(store, contract_id, since) if row is not None else b""
            if row is None:
                store.put_removed(contract_id, since)
            else:
                store.mark_removed(contract_id, since, stamps)
            if path.exists():
                try:
                    data = cancel_every_event(path.read_bytes(), since, prefix)
                except (OSError, UnicodeDecodeError, ValueError) as exc:
                    report.warnings.append(
                        f"{path}: its contract's log is gone and the feed cannot be read to "
                        f"cancel its deadlines ({exc}); removing it")
                    expired.append((contract_id, path))
                    continue
                staged.append((stage(path, data), path))
                report.notes.append(f"contract {contract_id}: no event log any more; its feed "
                                    f"{path} now shows every deadline cancelled")
        if as_of >= since + timedelta(days=options.grace_days):
            expired.append((contract_id, path))
            changed = True
            if path.exists():
                report.notes.append(f"contract {contract_id}: grace period over; removed {path}")
    return changed, expired


def _cancelled_stamps(store: BuildStore, contract_id: str, since: datetime) -> bytes:
    """The contract's stamps as the cancelled feed shows them: every deadline in the feed that
    was not cancelled yet now is, with the next SEQUENCE (see icswriter.cancel_every_event)."""
    stamps = store.stamps(contract_id)
    for uid, stamp in stamps.items():
        if stamp.gone_since is None and stamp.cancelled_since is None:
            # a hash no content has: the deadline, if its log comes back, moves on again
            stamps[uid] = replace(stamp, hash="0" * 64, sequence=stamp.sequence + 1,
                                  last_modified=since, cancelled_since=since)
    return pack_stamps(stamps)


def _remove_legacy_contract_feed(out: Path, contract_id: str, report: BuildReport) -> None:
    """Contract feeds used to sit beside the aggregates (`<id>.ics`); they now live in
    `contracts/`. An old copy written by this tool would go stale, so it is removed."""
    old = out / (contract_id + FEED_SUFFIX)
    if contract_id in AGGREGATES or not old.is_file():
        return
    try:
        with open(old, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return
    if head.startswith(b"BEGIN:VCALENDAR") and PRODID.encode() in head:
        old.unlink(missing_ok=True)
        report.removed.append(old)
        report.notes.append(f"contract {contract_id}: its feed moved to "
                            f"{path_for(out, contract_scope(contract_id))}; removed {old}")


# --- the pool ----------------------------------------------------------------------------

T = TypeVar("T")
R = TypeVar("R")
_PRELOADED = False


class Workers:
    """A pool of `jobs` processes, started only when there is enough to compute."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _start(self) -> ProcessPoolExecutor:
        global _PRELOADED
        if self._pool is None:
            context: multiprocessing.context.BaseContext
            if _forking_is_safe():
                # a process with one thread (the command line, a script) forks its workers:
                # they start at once, with what it has imported and read. They end with
                # os._exit, so the store's connection they inherit is never closed by them.
                context = multiprocessing.get_context("fork")
            else:
                # a process with threads (`serve`) must not fork: a lock held by another
                # thread would stay held in the child. Workers come from a fork server that
                # has imported the package and nothing else.
                context = multiprocessing.get_context("forkserver")
                if not _PRELOADED:
                    context.set_forkserver_preload(["deadlines.contractfeed"])
                    _PRELOADED = True
            # a forked worker's parent is this process: it checks that it still is once it
            # has asked to die with it (a fork server's workers have the server for parent)
            parent = os.getpid() if context.get_start_method() == "fork" else None
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=context,
                                             initializer=die_with_parent, initargs=(parent,))
        return self._pool

    def run(self, fn: Callable[[T], R], items: list[T], discard: Callable[[R], None]
            ) -> Iterator[R]:
        """fn over items, results in the order they finish. If the caller stops early (an
        error), results computed meanwhile are passed to `discard` (to remove what they
        staged) before the error goes on.

        Items go to the workers a few at a time (`chunk_size`): each task costs a round trip
        through the pool's queues, which sent one contract at a time took about 0.35 ms of
        CPU per contract, some 7 % of a full build (bench/build.py, 1,000 contracts)."""
        if self.jobs == 1 or len(items) < POOL_THRESHOLD or not _workers_can_start():
            for item in items:
                yield fn(item)
            return
        pool = self._start()
        size = chunk_size(len(items), self.jobs)
        queue = (items[i:i + size] for i in range(0, len(items), size))
        pending: set[Future[list[Outcome[R]]]] = set()
        ready: list[Future[list[Outcome[R]]]] = []
        current: list[Outcome[R]] = []  # a finished chunk's outcomes not yet handed out

        def top_up() -> None:
            while len(pending) < self.jobs * 4:
                chunk = next(queue, None)
                if chunk is None:
                    return
                pending.add(pool.submit(run_chunk, fn, chunk))

        try:
            top_up()
            while pending or ready or current:
                if not current:
                    if not ready:
                        done, still = wait(pending, return_when=FIRST_COMPLETED)
                        pending.clear()
                        pending.update(still)
                        ready = sorted(done, key=id)
                        top_up()
                    current = ready.pop().result()[::-1]  # handed out from the end
                result, error = current.pop()
                if error is not None:
                    raise error
                yield result  # type: ignore[misc]  # no error: fn returned it
        finally:
            for future in pending:
                future.cancel()
            outcomes = list(current)
            for future in [*ready, *pending]:
                if future.cancelled():
                    continue
                try:
                    outcomes += future.result()
                except Exception:  # the chunk failed as a whole (a worker died): no result
                    continue
            for result, error in outcomes:
                if error is None:
                    with contextlib.suppress(Exception):  # as it did on its own: nothing staged
                        discard(result)  # type: ignore[arg-type]


# What fn made of one item in a worker: (its result, None), or (None, the exception it raised)
Outcome = tuple["R | None", "Exception | None"]


def chunk_size(items: int, jobs: int) -> int:
    """How many items go to a worker at once: up to 8, fewer when there are few items, so
    that every worker still gets several tasks (the last ones finish close together)."""
    return max(1, min(8, items // (jobs * 8)))


def run_chunk(fn: Callable[[T], R], items: list[T]) -> list[Outcome[R]]:
    """fn over a few items in a worker: an item's exception is its outcome (the others' are
    kept, for the caller to discard what they staged)."""
    out: list[Outcome[R]] = []
    for item in items:
        try:
            out.append((fn(item), None))
        except Exception as exc:
            out.append((None, exc))
    return out



def _forking_is_safe() -> bool:
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _workers_can_start() -> bool:
    """A worker from the fork server starts by importing the program's main module again; a
    program read from standard input (`python - < script`) has none to import, so it computes
    alone."""
    if _forking_is_safe():
        return True
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    path = getattr(main, "__file__", None)
    return spec is not None or path is None or os.path.exists(path)


def die_with_parent(parent: int | None = None) -> None:
    """A worker ends with the process that started it (Linux): a build killed with -9 leaves
    no worker writing temporaries after the next build has cleaned up, nor holding the
    folder's lock. The signal is asked for once the worker runs: a parent killed before that
    would leave it waiting forever for work, so it checks that `parent` is still its parent
    after asking."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass  # elsewhere: the temporaries carry the build's pid and go at the next build
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the build died before this worker started: nobody will give it work
