"""The build store: one SQLite database beside the feeds, `.deadlines-store.sqlite`.

Per contract it keeps what its feed was computed from (the digests of its log and rulebook
files, and of the code, the holiday and time-zone data and the feed options), until when that
result holds (`valid_until`: the next instant at which any of its deadlines changes status,
enters or leaves a window, or loses its reminders), the SEQUENCE/LAST-MODIFIED stamps of its
deadlines, the identity of the feed file it wrote and the rows of its subscribe page. Per
deadline that belongs in the aggregate feeds it keeps the rendered VEVENT, so that `all.ics`,
`ours.ics` and `theirs.ics` are assembled from the store, streamed in due order, without
recomputing or holding every contract. A rebuild recomputes only the contracts whose inputs
changed or whose `valid_until` has passed.

Why SQLite (the standard library's `sqlite3`, in WAL mode): a build changes a few rows in place
inside one transaction, where the JSON state file it replaces was read and rewritten whole
(88 MB at 10,000 contracts); readers (the server's subscribe pages) never block the writer.

Crash safety. A build renames its feeds into place first and commits the store after, so a crash
in between leaves a store that is behind the feeds: the next build sees changed inputs and
computes the same feeds again, with the same stamps. After every build that changed the store, a
copy is made with SQLite's backup API (`.deadlines-store.sqlite.bak`, staged and renamed like a
feed). A damaged store is recovered from that copy with a warning; if the copy is damaged too,
the build stops with exit 2 rather than start afresh, since restarting every SEQUENCE at 0
leaves calendar apps with their old copy of every changed deadline.

Migration. A folder written by an older version holds `.deadlines-state.json` (uid -> stamp,
with no contract). Its stamps are imported as "orphans"; each contract adopts those of its own
deadlines the first time it is computed, so SEQUENCE numbers continue; the old files are removed
once a build has committed the store. Orphans nobody adopts are dropped after the grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .feednames import FEED_SUFFIX, OWNER_FOLDER, OWNER_PREFIX
from .safeio import EnvironmentFault, fault, stage_copy
from .state import BACKUP_FILE as LEGACY_BACKUP
from .state import STATE_FILE as LEGACY_STATE
from .state import FeedState, Stamp

STORE_FILE = ".deadlines-store.sqlite"
BACKUP_FILE = STORE_FILE + ".bak"
SCHEMA_VERSION = "1"
_SIDE_FILES = ("-wal", "-shm", "-journal")

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE contracts (
    id TEXT PRIMARY KEY,
    log_name TEXT UNIQUE,           -- NULL while the log is gone (see removed_since)
    log_digest TEXT NOT NULL,
    environment TEXT NOT NULL,      -- digest of the code, the holiday and zone data, options
    rulebooks TEXT NOT NULL,        -- JSON [[path, digest], ...] of the rulebook files used
    computed_at INTEGER NOT NULL,   -- the as-of moment it was computed for (microseconds)
    valid_until INTEGER,            -- first moment it may differ (NULL: never, by time alone)
    removed_since INTEGER,          -- the log disappeared: its feed is cancelled since then
    name TEXT NOT NULL,
    agreement TEXT NOT NULL,
    deadlines INTEGER NOT NULL,
    warnings TEXT NOT NULL,         -- JSON list, repeated by every build
    feed TEXT NOT NULL,             -- identity of contracts/<id>.ics as written
    stamps BLOB NOT NULL,           -- packed stamps (see pack_stamps)
    page BLOB NOT NULL,             -- zlib JSON rows of the subscribe page
    owners TEXT NOT NULL            -- JSON [[slug, "Name <address>"], ...]: everyone it names
);
CREATE TABLE entries (              -- the deadlines that belong in the aggregates
    contract TEXT NOT NULL,
    uid TEXT NOT NULL,
    due INTEGER NOT NULL,           -- microseconds since 1970 (UTC): the feeds' order
    key TEXT NOT NULL,              -- the deadline's identity: ties in `due` go by key
    ours INTEGER NOT NULL,
    agreement TEXT NOT NULL,
    owner TEXT NOT NULL,            -- the owner's slug ('' for nobody): their feed's filter
    last_modified INTEGER NOT NULL,
    size INTEGER NOT NULL,
    block BLOB NOT NULL,            -- the VEVENT, exactly as in the contract's feed
    page TEXT NOT NULL,             -- JSON row of the subscribe page
    PRIMARY KEY (contract, uid)
);
CREATE INDEX entries_by_due ON entries (due, key);
CREATE INDEX IF NOT EXISTS entries_by_feed ON entries (ours, agreement, owner);
CREATE TABLE orphans (uid TEXT PRIMARY KEY, stamp BLOB NOT NULL, since INTEGER NOT NULL);
CREATE TABLE files (path TEXT PRIMARY KEY, identity TEXT NOT NULL);
CREATE TABLE withdrawn (            -- owners' feeds no log names any more, shown cancelled
    path TEXT PRIMARY KEY,          -- relative to the output folder
    since INTEGER NOT NULL
);
"""
_TABLES = {"meta", "contracts", "entries", "orphans", "files", "withdrawn"}
# Added after version 1 stores were first written, so made on opening one that lacks it: a
# capped aggregate counts the entries it leaves out, and without it each count reads every
# VEVENT in the store (50 ms at 10,000 contracts; 1 ms with it). Readers need not have it.
_FEED_INDEX = next(s for s in _SCHEMA.split(";") if "entries_by_feed" in s)


# (ours, agreement, owner) of an aggregate entry; (None, None, owner) for an owner's name
Touch = tuple[int | None, str | None, str]


class StoreDamaged(Exception):
    """The store cannot be trusted (found while reading it): recover it from its backup."""


# --- values -------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2300, 1, 1, tzinfo=UTC)
_NONE = -(2**63)


def micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _checked_moment(value: int, what: str) -> datetime:
    try:
        when = moment(value)
    except OverflowError:
        raise StoreDamaged(f"{what}: {value} is not a time") from None
    if not _EARLIEST <= when < _LATEST:
        raise StoreDamaged(f"{what}: {when.isoformat()} is not between 1900 and 2300")
    return when


_LOW, _HIGH = micros(_EARLIEST), micros(_LATEST)

# A contract's stamps, column by column, so that checking a whole store is a few min/max over
# machine arrays rather than a Python loop over every stamp: a count (4 bytes), then for each
# stamp its uid (12 bytes: the 24 hex digits before @), its content hash (32 bytes), SEQUENCE
# (4), LAST-MODIFIED, CREATED, cancelled since and out of every feed since (8 each,
# microseconds since 1970; _NONE for none).
UID_SUFFIX = "@deadlines"
_COUNT = struct.Struct("<I")
_RECORD = 12 + 32 + 4 + 4 * 8
_TIMES = 4


def _uid_bytes(uid: str) -> bytes | None:
    head = uid.removesuffix(UID_SUFFIX)
    if len(head) != 24 or head + UID_SUFFIX != uid:
        return None
    try:
        return bytes.fromhex(head)
    except ValueError:
        return None


def _hash_bytes(digest: str) -> bytes:
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = b""
    # anything but a sha256 (a hand-edited legacy state) can never equal a content hash: a
    # stamp that cannot match is bumped at the next change, never kept by mistake
    return raw if len(raw) == 32 else b"\0" * 32


def pack_stamps(stamps: dict[str, Stamp]) -> bytes:
    rows = [(raw, stamps[uid]) for uid in sorted(stamps)
            if (raw := _uid_bytes(uid)) is not None]  # others: not a uid this tool makes
    sequences = array("I", (s.sequence for _, s in rows))
    columns = ([s.last_modified for _, s in rows], [s.created for _, s in rows],
               [s.cancelled_since for _, s in rows], [s.gone_since for _, s in rows])
    times = [array("q", (_NONE if t is None else micros(t) for t in column))
             for column in columns]
    return b"".join([_COUNT.pack(len(rows)), *(raw for raw, _ in rows),
                     *(_hash_bytes(s.hash) for _, s in rows), sequences.tobytes(),
                     *(column.tobytes() for column in times)])


def _columns(blob: object, where: str
             ) -> tuple[int, memoryview, array[int], list[array[int]]]:
    if blob == b"":  # a contract with no stamp yet
        blob = _COUNT.pack(0)
    if not isinstance(blob, bytes) or len(blob) < _COUNT.size:
        raise StoreDamaged(f"{where}: stamps are not whole records")
    (count,) = _COUNT.unpack_from(blob)
    if len(blob) != _COUNT.size + count * _RECORD:
        raise StoreDamaged(f"{where}: stamps are not whole records")
    view = memoryview(blob)[_COUNT.size:]
    sequences = array("I")
    sequences.frombytes(view[44 * count:48 * count])
    times = []
    for n in range(_TIMES):
        column = array("q")
        column.frombytes(view[(48 + 8 * n) * count:(56 + 8 * n) * count])
        times.append(column)
    if sequences and max(sequences) >= 2**31:
        raise StoreDamaged(f"{where}: a SEQUENCE is out of range")
    for n, column in enumerate(times):
        # the last two columns mostly hold _NONE (no cancellation, not gone): their distinct
        # values are few, and a set of them is built in C
        present = column if n < 2 else set(column) - {_NONE}
        if present and (min(present) < _LOW or max(present) >= _HIGH):
            raise StoreDamaged(f"{where}: a stamp holds a time out of range")
    return count, view, sequences, times


def unpack_stamps(blob: bytes, where: str) -> dict[str, Stamp]:
    count, view, sequences, times = _columns(blob, where)
    uids, hashes = view[:12 * count], view[12 * count:44 * count]
    modified, created, since, gone = times
    return {
        bytes(uids[12 * i:12 * i + 12]).hex() + UID_SUFFIX: Stamp(
            bytes(hashes[32 * i:32 * i + 32]).hex(), sequences[i], moment(modified[i]),
            moment(created[i]), None if since[i] == _NONE else moment(since[i]),
            None if gone[i] == _NONE else moment(gone[i]))
        for i in range(count)}


def check_stamps(blob: object, where: str) -> None:
    """What `unpack_stamps` checks, without building the stamps (run over the whole store
    when it is opened: SQLite checks its pages, not the values in them)."""
    _columns(blob, where)


def _check_values(conn: sqlite3.Connection) -> dict[str, CachedContract]:
    """Every value a build relies on, checked once when the store is opened, so that damage
    is recovered from the backup before a build copies it into a new backup; the contracts
    read on the way."""
    rows = {row.id: row for row in _cached_rows(conn)}
    for contract_id, blob in conn.execute("SELECT id, stamps FROM contracts"):
        check_stamps(blob, f"contract {contract_id}")
    for uid, blob, since in conn.execute("SELECT uid, stamp, since FROM orphans"):
        check_stamps(blob, f"imported stamp {uid}")
        _checked_moment(since, f"imported stamp {uid}")
    bad = conn.execute(
        "SELECT count(*) FROM entries WHERE typeof(block) != 'blob' OR size != length(block) "
        "OR typeof(due) != 'integer' OR typeof(last_modified) != 'integer' "
        "OR due NOT BETWEEN ? AND ? OR last_modified NOT BETWEEN ? AND ?",
        (_LOW, _HIGH, _LOW, _HIGH)).fetchone()[0]
    if bad:
        raise StoreDamaged(f"{bad} aggregate entries hold values out of range")
    return rows


def pack_page(rows: list[dict[str, Any]]) -> bytes:
    return zlib.compress(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode())


def pack_page_texts(texts: list[str]) -> bytes:
    """`pack_page` of rows already written as JSON text (`contractfeed.page_text`, one per
    deadline in a build): the same bytes."""
    return zlib.compress(f"[{','.join(texts)}]".encode())


def unpack_page(blob: bytes, where: str) -> list[dict[str, Any]]:
    try:
        rows = json.loads(zlib.decompress(blob).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, ValueError, RecursionError, TypeError):
        raise StoreDamaged(f"{where}: the subscribe page rows cannot be read") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise StoreDamaged(f"{where}: the subscribe page rows are not a list of rows")
    return rows


def file_identity(path: Path) -> str | None:
    """Device, inode, size and modification time: what `build` compares to know a feed file is
    still the one it wrote (a feed is only ever replaced by a rename, which changes the inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return identity_of(st)


def identity_of(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


# --- rows ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CachedContract:
    """What a build needs to decide whether a contract's stored result still holds."""

    id: str
    log_name: str | None
    log_digest: str
    environment: str
    rulebooks: tuple[tuple[str, str], ...]
    computed_at: datetime
    valid_until: datetime | None
    removed_since: datetime | None
    name: str
    agreement: str
    deadlines: int
    warnings: tuple[str, ...]
    feed: str


@dataclass(frozen=True)
class EntryRow:
    """One deadline of the aggregates, as a contract's computation hands it to the store."""

    uid: str
    due: int
    key: str
    ours: bool
    agreement: str
    owner: str  # the owner's slug, "" for nobody
    last_modified: int
    block: bytes
    page: str


@dataclass(frozen=True)
class ContractRow:
    id: str
    log_name: str
    log_digest: str
    environment: str
    rulebooks: tuple[tuple[str, str], ...]
    computed_at: datetime
    valid_until: datetime | None
    name: str
    agreement: str
    deadlines: int
    warnings: tuple[str, ...]
    feed: str
    stamps: bytes
    page: bytes
    owners: tuple[tuple[str, str], ...] = ()  # (slug, "Name <address>") of everyone it names


# --- the store -----------------------------------------------------------------------------

def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # immutable: reads the file as it is, creating no -wal or -shm beside it
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                               isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=60,
                               check_same_thread=False)
    return conn


def _problem(path: Path, *, readonly: bool) -> str | None:
    """None if `path` reads as a whole store of this version, else what is wrong with it."""
    return _inspect(path, readonly=readonly)[0]


def _inspect(path: Path, *, readonly: bool) -> tuple[str | None, dict[str, CachedContract]]:
    """What is wrong with the store at `path` (None: nothing), and its contracts if whole."""
    if not path.exists():
        return "missing", {}
    if not path.is_file():
        return "not a file", {}
    try:
        conn = _connect(path, readonly=readonly)
    except sqlite3.Error as exc:
        _raise_if_disk_full(path)
        return f"damaged ({exc})", {}
    try:
        check = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if check != ["ok"]:
            return f"damaged ({'; '.join(map(str, check[:3]))})", {}
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables >= _TABLES:
            return "not a deadlines build store (tables missing)", {}
        version = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            return f"not a version {SCHEMA_VERSION} build store", {}
        return None, _check_values(conn)
    except (sqlite3.Error, StoreDamaged) as exc:
        if isinstance(exc, sqlite3.Error):
            _raise_if_disk_full(path)
        return f"damaged ({exc})", {}
    finally:
        conn.close()


def _raise_if_disk_full(path: Path) -> None:
    """SQLite says "disk I/O error" when it cannot even write its shared-memory index on a full
    disk: that is the environment (exit 2), not a damaged store to replace by its backup."""
    if _disk_full(path):
        raise EnvironmentFault(f"no space left on device reading the build store {path}")


def _disk_full(path: Path) -> bool:
    try:
        room = os.statvfs(path.parent)
    except OSError:
        return False
    return room.f_bavail * room.f_frsize < (1 << 20)


def _sqlite_fault(exc: sqlite3.Error, doing: str, path: Path) -> Exception:
    """An SQLite error as what it is: the environment (exit 2), or a damaged store."""
    text = str(exc).lower()
    if "disk is full" in text or "disk i/o" in text:
        # SQLite reports a write that found no space as either
        full = "full" in text or _disk_full(path)
        return EnvironmentFault(f"no space left on device {doing} {path}" if full
                                else f"input/output error {doing} {path}")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return EnvironmentFault(f"read-only file system or no permission {doing} {path}")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StoreDamaged(f"damaged ({exc})")
    return EnvironmentFault(f"{exc} {doing} {path}")


def has_store(directory: Path) -> bool:
    return any((directory / name).exists() for name in (STORE_FILE, BACKUP_FILE, LEGACY_STATE,
                                                        LEGACY_BACKUP))


def read_cache(directory: Path) -> dict[str, CachedContract]:
    """The cached contracts by log name, read without writing anything (for checking the logs
    before the build takes its lock); empty if there is no usable store."""
    path = directory / STORE_FILE
    if not path.is_file():
        return {}
    try:
        # immutable: creates no -wal or -shm beside the store (bad input touches nothing). It
        # may miss what another build has committed but not yet folded into the file: rows
        # that are older vouch for logs that were valid all the same, and a log they miss is
        # simply parsed
        conn = _connect(path, readonly=True)
    except sqlite3.Error:
        return {}
    try:
        return {row.log_name: row for row in _cached_rows(conn) if row.log_name is not None}
    except (sqlite3.Error, StoreDamaged):
        return {}  # whatever is wrong is found, and repaired or refused, under the lock
    finally:
        conn.close()


def _cached_rows(conn: sqlite3.Connection) -> Iterator[CachedContract]:
    query = ("SELECT id, log_name, log_digest, environment, rulebooks, computed_at, valid_until,"
             " removed_since, name, agreement, deadlines, warnings, feed FROM contracts")
    # A portfolio's contracts share a handful of rulebook lists (one per agreement) and most
    # have no warning: each distinct text is parsed once per read, not once per contract.
    books_of: dict[object, tuple[tuple[str, str], ...]] = {}
    notes_of: dict[object, tuple[str, ...]] = {}
    for row in conn.execute(query):
        (cid, log_name, digest, environment, rulebooks, computed, until, removed, name,
         agreement, deadlines, warnings, feed) = row
        where = f"contract {cid}"
        try:
            books = books_of.get(rulebooks)
            if books is None:
                books = books_of[rulebooks] = tuple((str(p), str(d))
                                                    for p, d in json.loads(rulebooks))
            notes = notes_of.get(warnings)
            if notes is None:
                notes = notes_of[warnings] = tuple(str(w) for w in json.loads(warnings))
        except (ValueError, TypeError, RecursionError):
            raise StoreDamaged(f"{where}: its inputs cannot be read") from None
        yield CachedContract(
            str(cid), None if log_name is None else str(log_name), str(digest), str(environment),
            books, _checked_moment(computed, where),
            None if until is None else _checked_moment(until, where),
            None if removed is None else _checked_moment(removed, where), str(name),
            str(agreement), int(deadlines), notes, str(feed))


class BuildStore:
    """The store of one feeds folder, open for one build (held under the folder's lock)."""

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self.path = directory / STORE_FILE
        self.conn = conn
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.migrated = False  # legacy state files to remove once this build has committed
        self._rows: dict[str, CachedContract] | None = None  # as read when it was checked
        self._logged = True  # writes go through the write-ahead log (see `open`)
        # what this build changed in the aggregates: (ours, agreement, owner) of every entry
        # removed or added, and (None, None, owner) for an owner named or no longer named;
        # an aggregate none of these fall in holds the same entries as when last written
        self.touched: set[Touch] = set()

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, as_of: datetime, *, private: bool = False) -> BuildStore:
        """The store beside the feeds, created, migrated or recovered as needed.

        Call it holding the folder's lock. A damaged store is replaced by its backup, with a
        warning; if both are damaged, a DeadlinesError (exit 2) says how to start afresh.

        `private`: `directory` is a first build's own folder, which nobody reads until the
        build renames it into place. Its transaction then writes the store file itself (a
        rollback journal) rather than a write-ahead log that the commit copies into it again:
        nobody needs to read the store meanwhile, and a first build at 10,000 contracts writes
        160 MB. The commit turns write-ahead logging on, as every other build has it."""
        path, backup = directory / STORE_FILE, directory / BACKUP_FILE
        warnings: list[str] = []
        problem, rows = _inspect(path, readonly=False)
        if problem is not None and not (problem == "missing" and not backup.exists()):
            cls.recover(directory, problem)
            warnings.append(f"{path}: {problem}; recovered from {backup.name}, the store of the "
                            "last good build (SEQUENCE numbers continue from there)")
            problem, rows = _inspect(path, readonly=False)  # the rows of what is now in place
            if problem is not None:
                raise DeadlinesError(f"{problem} once recovered from {backup.name}",
                                     file=str(path))
        created = problem == "missing"
        legacy = FeedState.load(directory) if created else None  # exit 2 if it is damaged
        if created:
            cls._create(path, legacy, as_of, warnings)
        try:
            conn = _connect(path)
            conn.execute(f"PRAGMA journal_mode = {'DELETE' if private else 'WAL'}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(_FEED_INDEX)
        except sqlite3.Error as exc:
            raise _sqlite_fault(exc, "opening the build store", path) from None
        store = cls(directory, conn)
        store._logged = not private
        store._rows = None if created else rows
        store.warnings += warnings
        if legacy is not None:
            store.warnings += legacy.warnings
            if legacy.entries() or legacy.removed:
                store.notes.append(f"imported the SEQUENCE stamps of {LEGACY_STATE} into "
                                   f"{STORE_FILE}")
        store.migrated = any((directory / n).exists() for n in (LEGACY_STATE, LEGACY_BACKUP))
        return store

    @classmethod
    def _create(cls, path: Path, legacy: FeedState | None, as_of: datetime,
                warnings: list[str]) -> None:
        """A new store (with what a legacy state file held), made in a temporary and renamed
        into place: a build that fails meanwhile leaves no half-made store behind."""
        temporary = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            conn = _connect(temporary)
            try:
                store = cls(path.parent, conn)
                store.begin()
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        store._run(statement)
                store._run("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                if legacy is not None:
                    store._import_legacy(legacy, as_of)
                store.commit()
                conn.execute("PRAGMA journal_mode = WAL")
            finally:
                conn.close()
            for suffix in _SIDE_FILES:
                Path(f"{temporary}{suffix}").unlink(missing_ok=True)
            os.replace(temporary, path)
        except sqlite3.Error as exc:
            temporary.unlink(missing_ok=True)
            raise _sqlite_fault(exc, "creating the build store", path) from None
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise fault(exc, "creating the build store", path) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @classmethod
    def recover(cls, directory: Path, problem: str) -> None:
        """Replace a store found damaged while reading it by its backup (exit 2 if the backup
        is damaged too)."""
        path, backup = directory / STORE_FILE, directory / BACKUP_FILE
        backup_problem = _problem(backup, readonly=True)
        if backup_problem is not None:
            raise DeadlinesError(
                f"{problem}, and its backup {backup.name} is {backup_problem}; remove both to "
                "start afresh (every SEQUENCE then restarts at 0, and calendar apps may keep "
                "their old copy of a changed deadline)", file=str(path))
        cls._restore(backup, path)

    @staticmethod
    def _restore(backup: Path, path: Path) -> None:
        """Put the backup in place of a damaged store: staged, then renamed over it, with the
        store's stale write-ahead log removed first (applied to the backup, it would damage
        it again)."""
        temporary = stage_copy(backup, path)
        try:
            for suffix in _SIDE_FILES:
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise fault(exc, "recovering", path) from None

    def _import_legacy(self, legacy: FeedState, as_of: datetime) -> None:
        since = micros(as_of)
        rows = [(uid, pack_stamps({uid: stamp}), since) for uid, stamp in legacy.entries()
                if _uid_bytes(uid) is not None]
        self.conn.executemany("INSERT INTO orphans VALUES (?, ?, ?)", rows)
        for key, when in sorted(legacy.removed.items()):
            if key.startswith(OWNER_PREFIX):  # an owner's feed, withdrawn since `when`
                self.conn.execute("INSERT OR REPLACE INTO withdrawn VALUES (?, ?)", (
                    f"{OWNER_FOLDER}/{key.removeprefix(OWNER_PREFIX)}{FEED_SUFFIX}", micros(when)))
                continue
            self.conn.execute(
                "INSERT INTO contracts (id, log_name, log_digest, environment, rulebooks, "
                "computed_at, valid_until, removed_since, name, agreement, deadlines, warnings, "
                "feed, stamps, page, owners) VALUES (?, NULL, '', '', '[]', ?, NULL, ?, ?, '', 0, "
                "'[]', '', ?, ?, '[]')",
                (key, micros(when), micros(when), key, b"", pack_page([])))


    # -- transactions ---------------------------------------------------------------------

    def begin(self) -> None:
        self._run("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._run("COMMIT")
        if not self._logged:  # see `open`: a private store is logged once committed
            self._run("PRAGMA journal_mode = WAL")
            self._logged = True

    def rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def _run(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, tuple(args))
        except sqlite3.Error as exc:
            raise _sqlite_fault(exc, "writing the build store", self.path) from None

    def _many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _sqlite_fault(exc, "writing the build store", self.path) from None

    # -- contracts ------------------------------------------------------------------------

    def contracts(self) -> dict[str, CachedContract]:
        """Every contract the store knows, by id (removed ones included)."""
        if self._rows is not None:  # read (and checked) when it was opened, nothing written since
            rows, self._rows = self._rows, None
            return rows
        try:
            return {row.id: row for row in _cached_rows(self.conn)}
        except sqlite3.Error as exc:
            raise _sqlite_fault(exc, "reading the build store", self.path) from None

    def stamps(self, contract_id: str) -> dict[str, Stamp]:
        row = self._run("SELECT stamps FROM contracts WHERE id = ?", (contract_id,)).fetchone()
        return {} if row is None else unpack_stamps(row[0], f"contract {contract_id}")

    def stamps_blob(self, contract_id: str) -> bytes:
        row = self._run("SELECT stamps FROM contracts WHERE id = ?", (contract_id,)).fetchone()
        blob = b"" if row is None else row[0]
        unpack_stamps(blob, f"contract {contract_id}")  # damage is found here, not in a worker
        return bytes(blob)

    def _touch_entries(self, contract_id: str) -> None:
        """Note what the aggregates lose when this contract's entries are replaced or removed
        (its owners too: their names head their feeds)."""
        self.touched.update(self._run("SELECT DISTINCT ours, agreement, owner FROM entries "
                                      "WHERE contract = ?", (contract_id,)))
        for (owners,) in self._run("SELECT owners FROM contracts WHERE id = ?", (contract_id,)):
            self._touch_owners(owners)

    def _touch_owners(self, owners: object) -> None:
        try:
            named = json.loads(str(owners))
            self.touched.update((None, None, str(pair[0])) for pair in named)
        except (ValueError, TypeError, IndexError, KeyError, RecursionError):
            raise StoreDamaged("a contract's owners cannot be read") from None

    def put_contract(self, row: ContractRow, entries: list[EntryRow], *, new: bool = False
                     ) -> None:
        """Store a contract's result in place of what the store held for it. `new`: the
        caller knows the store holds no row for this id nor for this log name (every contract
        of a first build): nothing to note as touched, nothing to delete, a third of the
        statements."""
        if not new:
            self._touch_entries(row.id)
        self.touched.update((int(e.ours), e.agreement, e.owner) for e in entries)
        self.touched.update((None, None, slug) for slug, _ in row.owners)
        if not new:
            # another contract may have held this log name (a log renamed to another's old
            # name)
            self._run("UPDATE contracts SET log_name = NULL WHERE log_name = ? AND id != ?",
                      (row.log_name, row.id))
        self._run(
            "INSERT OR REPLACE INTO contracts (id, log_name, log_digest, environment, rulebooks,"
            " computed_at, valid_until, removed_since, name, agreement, deadlines, warnings, feed,"
            " stamps, page, owners) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.id, row.log_name, row.log_digest, row.environment, json.dumps(row.rulebooks),
             micros(row.computed_at), None if row.valid_until is None else micros(row.valid_until),
             row.name, row.agreement, row.deadlines, json.dumps(row.warnings), row.feed,
             row.stamps, row.page, json.dumps(row.owners)))
        if not new:
            self._run("DELETE FROM entries WHERE contract = ?", (row.id,))
        self._many("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ((row.id, e.uid, e.due, e.key, int(e.ours), e.agreement, e.owner,
                     e.last_modified, len(e.block), e.block, e.page) for e in entries))

    def set_feed(self, contract_id: str, identity: str) -> None:
        self._run("UPDATE contracts SET feed = ? WHERE id = ?", (identity, contract_id))

    def mark_removed(self, contract_id: str, since: datetime, stamps: bytes) -> None:
        """The contract's log is gone: out of the aggregates, its cache no longer valid."""
        self._touch_entries(contract_id)
        self._run("UPDATE contracts SET log_name = NULL, removed_since = ?, valid_until = ?, "
                  "stamps = ? WHERE id = ?", (micros(since), micros(since), stamps, contract_id))
        self._run("DELETE FROM entries WHERE contract = ?", (contract_id,))

    def put_removed(self, contract_id: str, since: datetime) -> None:
        """A contract feed on disk that the store has no row for (written before the store
        existed): recorded as removed, to be cancelled and then removed like any other."""
        self._run(
            "INSERT OR REPLACE INTO contracts (id, log_name, log_digest, environment, rulebooks, "
            "computed_at, valid_until, removed_since, name, agreement, deadlines, warnings, "
            "feed, stamps, page, owners) VALUES (?, NULL, '', '', '[]', ?, ?, ?, ?, '', 0, '[]', "
            "'', ?, ?, '[]')", (contract_id, micros(since), micros(since), micros(since),
                                contract_id, b"", pack_page([])))

    def expire(self, contract_id: str) -> None:
        """Compute this contract again at the next build, whatever its inputs say."""
        self._run("UPDATE contracts SET environment = '' WHERE id = ?", (contract_id,))

    def next_change(self) -> datetime | None:
        row = self._run("SELECT min(valid_until) FROM contracts").fetchone()
        return None if row is None or row[0] is None else moment(int(row[0]))

    def forget(self, contract_id: str) -> None:
        self._touch_entries(contract_id)
        self._run("DELETE FROM contracts WHERE id = ?", (contract_id,))
        self._run("DELETE FROM entries WHERE contract = ?", (contract_id,))

    # -- orphans (stamps imported from a legacy state file) -------------------------------

    def has_orphans(self) -> bool:
        return self._run("SELECT 1 FROM orphans LIMIT 1").fetchone() is not None

    def drop_orphans(self, uids: Iterable[str]) -> None:
        """Imported stamps that their contract has adopted (it keeps them from now on)."""
        self._many("DELETE FROM orphans WHERE uid = ?", ((uid,) for uid in uids))

    def prune_orphans(self, before: datetime) -> None:
        self._run("DELETE FROM orphans WHERE since < ?", (micros(before),))

    # -- aggregates -----------------------------------------------------------------------

    def aggregate_sizes(self, where: str, args: tuple[Any, ...]) -> Iterator[tuple[int, int]]:
        """(size, last_modified) of each entry of an aggregate, in the feed's order (read
        lazily: a capped aggregate reads only as far as its cap)."""
        yield from self._run(f"SELECT size, last_modified FROM entries WHERE {where} "
                             "ORDER BY due, key", args)

    def aggregate_count(self, where: str, args: tuple[Any, ...]) -> int:
        row = self._run(f"SELECT count(*) FROM entries WHERE {where}", args).fetchone()
        return int(row[0])

    def aggregate_blocks(self, where: str, args: tuple[Any, ...], limit: int
                         ) -> Iterator[bytes]:
        for (block,) in self._run(f"SELECT block FROM entries WHERE {where} ORDER BY due, key "
                                  "LIMIT ?", (*args, limit)):
            if not isinstance(block, bytes):
                raise StoreDamaged("an aggregate entry holds no VEVENT")
            yield block

    def agreements(self) -> list[str]:
        return [row[0] for row in self._run("SELECT DISTINCT agreement FROM entries ORDER BY 1")]

    def owners(self) -> dict[str, str]:
        return _owners(self._run(_OWNERS_QUERY))

    def withdrawn(self) -> dict[str, datetime]:
        """Owners' feeds (relative paths) that no log names any more, and since when."""
        return {str(path): _checked_moment(since, f"withdrawn feed {path}")
                for path, since in self._run("SELECT path, since FROM withdrawn")}

    def set_withdrawn(self, name: str, since: datetime | None) -> None:
        if since is None:
            self._run("DELETE FROM withdrawn WHERE path = ?", (name,))
        else:
            self._run("INSERT OR REPLACE INTO withdrawn VALUES (?, ?)", (name, micros(since)))

    def files(self) -> dict[str, str]:
        return {str(p): str(i) for p, i in self._run("SELECT path, identity FROM files")}

    def set_file(self, name: str, identity: str | None) -> None:
        if identity is None:
            self._run("DELETE FROM files WHERE path = ?", (name,))
        else:
            self._run("INSERT OR REPLACE INTO files VALUES (?, ?)", (name, identity))

    def aggregate_warnings_by_file(self) -> dict[str, str] | None:
        """The warning each aggregate file was written with (a capped one says so), in the
        order they were written; None from a store written before they were kept by file."""
        row = self._run("SELECT value FROM meta WHERE name = 'aggregate warnings'").fetchone()
        if row is None:
            return {}
        try:
            value = json.loads(row[0])
        except (ValueError, TypeError, RecursionError):
            raise StoreDamaged("the aggregates' warnings cannot be read") from None
        if isinstance(value, list):
            return None  # the earlier form: every aggregate is written again once
        if not isinstance(value, dict):
            raise StoreDamaged("the aggregates' warnings cannot be read")
        return {str(name): str(warning) for name, warning in value.items()}

    def set_aggregate_warnings(self, warnings: dict[str, str]) -> None:
        if warnings != self.aggregate_warnings_by_file():
            self._run("INSERT OR REPLACE INTO meta VALUES ('aggregate warnings', ?)",
                      (json.dumps(warnings),))

    # -- after a good build ---------------------------------------------------------------

    def changed(self) -> bool:
        return self.conn.total_changes > 0

    def _generation(self, conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
        return "0" if row is None else str(row[0])

    def next_generation(self) -> None:
        """Counted up by every build that changes the store: its backup holds the count it was
        made at, so a backup that a crash left behind is found and made again."""
        self._run("INSERT OR REPLACE INTO meta VALUES ('generation', ?)",
                  (str(int(self._generation(self.conn)) + 1),))

    def backup_is_stale(self) -> bool:
        path = self.directory / BACKUP_FILE
        if not path.is_file():
            return True
        try:
            conn = _connect(path, readonly=True)
            try:
                return self._generation(conn) != self._generation(self.conn)
            finally:
                conn.close()
        except sqlite3.Error:
            return True

    def check_room_for_backup(self) -> None:
        """The backup needs about the store's size again: a disk without that room is said
        now, before any feed is replaced, rather than after."""
        try:
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            size = self.conn.execute("PRAGMA page_size").fetchone()[0]
            room = os.statvfs(self.directory)
        except (sqlite3.Error, OSError):
            return  # the backup itself will say what is wrong
        free = room.f_bavail * room.f_frsize
        need = pages * size
        if free < need + need // 20 + (64 << 10):
            raise fault(OSError(28, "No space left on device"), "writing",
                        self.directory / BACKUP_FILE)

    def backup(self) -> None:
        """A copy of the store as of this build, with SQLite's backup API (a consistent copy
        even while readers are open), staged beside it and renamed into place."""
        target = self.directory / BACKUP_FILE
        temporary = self.directory / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            copy = sqlite3.connect(temporary, isolation_level=None)
            try:
                copy.execute("PRAGMA journal_mode = OFF")  # a fresh file: nothing to roll back
                self.conn.backup(copy)
                # a plain (rollback-journal) file: it can be read in place, immutably
                copy.execute("PRAGMA journal_mode = DELETE")
            finally:
                copy.close()
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, target)
        except (sqlite3.Error, OSError) as exc:
            Path(temporary).unlink(missing_ok=True)
            # an older backup must not stay: restored, it could take SEQUENCE numbers back
            # below what subscribers have seen (the next build makes a new one)
            target.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise fault(exc, "writing", target) from None
            raise _sqlite_fault(exc, "writing", target) from None

    def remove_legacy(self) -> list[Path]:
        removed = []
        for name in (LEGACY_STATE, LEGACY_BACKUP):
            path = self.directory / name
            if path.exists():
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed


_OWNERS_QUERY = "SELECT owners FROM contracts WHERE removed_since IS NULL ORDER BY log_name"


def _owners(rows: Iterable[tuple[str]]) -> dict[str, str]:
    """slug -> "Name <address>" of everyone a current log names, as the first log (by file
    name) writes them."""
    found: dict[str, str] = {}
    for (text,) in rows:
        try:
            for slug, shown in json.loads(text):
                found.setdefault(str(slug), str(shown))
        except (TypeError, ValueError, RecursionError):
            raise StoreDamaged("a contract's owners cannot be read") from None
    return found


# --- reading, for the server ---------------------------------------------------------------

class StoreReader:
    """Read-only access for the server's subscribe pages and its rebuild schedule."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STORE_FILE

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def contract_page(self, contract_id: str) -> tuple[str, list[dict[str, Any]]] | None:
        with self._conn() as conn:
            row = conn.execute("SELECT name, page FROM contracts WHERE id = ? AND "
                               "removed_since IS NULL", (contract_id,)).fetchone()
        if row is None:
            return None
        return str(row[0]), unpack_page(row[1], f"contract {contract_id}")

    def aggregate_page(self, where: str, args: tuple[Any, ...], since: int, limit: int
                       ) -> tuple[list[dict[str, Any]], int]:
        """The first `limit` subscribe page rows of an aggregate due from `since` (micros) on,
        in the page's order (due, then uid), and how many more there are: a page never loads
        the tens of thousands of rows of a big portfolio's aggregate."""
        rows = []
        with self._conn() as conn:
            conn.execute("BEGIN")  # the rows and their count from one version of the store
            for (text,) in conn.execute(f"SELECT page FROM entries WHERE ({where}) AND due >= ? "
                                        "ORDER BY due, uid LIMIT ?", (*args, since, limit)):
                try:
                    rows.append(json.loads(text))
                except (TypeError, ValueError, RecursionError):
                    raise StoreDamaged("a subscribe page row cannot be read") from None
            more = 0
            if len(rows) == limit:
                (total,) = conn.execute(f"SELECT count(*) FROM entries WHERE ({where}) AND "
                                        "due >= ?", (*args, since)).fetchone()
                more = int(total) - limit
        return rows, more

    def owners(self) -> dict[str, str]:
        with self._conn() as conn:
            return _owners(conn.execute(_OWNERS_QUERY))

    def removed(self) -> dict[str, datetime]:
        """Contracts whose log is gone, and since when their feed shows them cancelled."""
        with self._conn() as conn:
            return {str(cid): moment(int(since)) for cid, since in conn.execute(
                "SELECT id, removed_since FROM contracts WHERE removed_since IS NOT NULL")}

    def stamps(self) -> dict[str, dict[str, Stamp]]:
        """Every contract's stamps (for tests and for looking into a store)."""
        with self._conn() as conn:
            return {str(cid): unpack_stamps(blob, f"contract {cid}")
                    for cid, blob in conn.execute("SELECT id, stamps FROM contracts")}

    def next_change(self) -> datetime | None:
        """The earliest `valid_until` of any contract: when a rebuild next has work to do."""
        with self._conn() as conn:
            row = conn.execute("SELECT min(valid_until) FROM contracts").fetchone()
        return None if row is None or row[0] is None else moment(int(row[0]))

    def contract_count(self) -> int:
        with self._conn() as conn:
            row = conn.execute("SELECT count(*) FROM contracts WHERE removed_since IS NULL"
                               ).fetchone()
        return int(row[0])
