"""SEQUENCE and LAST-MODIFIED stamps: per UID, the content hash, SEQUENCE and LAST-MODIFIED.

A build is otherwise stateless (YAML in, ICS out); the stamps are what let SEQUENCE and
LAST-MODIFIED move only when that deadline's content changed. `FeedState` holds them in memory
for one computation; the build keeps them per contract in its store (`store.py`). The JSON state
file that older versions kept beside the feeds (`.deadlines-state.json` and its `.bak`) is read
here once, when a build migrates it into the store.

LAST-MODIFIED is never read from the clock. A new deadline takes the time of the latest fact
behind it (its trigger, fulfilment or withdrawal, or its due date passing); a changed one takes
that time or one second after its previous stamp, whichever is later, so it only moves forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .safeio import read_limited

STATE_FILE = ".deadlines-state.json"
BACKUP_FILE = STATE_FILE + ".bak"
STATE_VERSION = 1


@dataclass
class Stamp:
    hash: str
    sequence: int
    last_modified: datetime
    created: datetime
    # when this deadline was first published as cancelled (the as-of time of that build); the
    # grace period before a cancelled deadline leaves the feed counts from here at the latest
    cancelled_since: datetime | None = None
    # since when this deadline is in no feed at all (it left the window, or its cancellation's
    # grace period ended): its stamp is dropped once the grace period has passed again
    gone_since: datetime | None = None


class FeedState:
    def __init__(self, stamps: dict[str, Stamp] | None = None) -> None:
        self._stamps: dict[str, Stamp] = dict(stamps or {})
        self.changed: set[str] = set()
        self.added: set[str] = set()
        # contracts whose log disappeared: since when their feed is published as cancelled
        self.removed: dict[str, datetime] = {}
        self.warnings: list[str] = []

    def peek(self, uid: str) -> Stamp | None:
        return self._stamps.get(uid)

    def entries(self) -> list[tuple[str, Stamp]]:
        return sorted(self._stamps.items())

    def adopt(self, stamps: dict[str, Stamp]) -> None:
        """Stamps found elsewhere (imported from a legacy state file) for uids it lacks."""
        for uid, stamp in stamps.items():
            self._stamps.setdefault(uid, stamp)

    def stamp(self, uid: str, content_hash: str, changed_at: datetime, *,
              cancelled: bool = False, now: datetime | None = None) -> Stamp:
        """The stamp for this content, updating the state if the content changed."""
        changed_at = changed_at.astimezone(UTC).replace(microsecond=0)
        old = self._stamps.get(uid)
        since = (now or changed_at).astimezone(UTC).replace(microsecond=0) if cancelled else None
        if old is None:
            new = Stamp(content_hash, 0, changed_at, changed_at, since)
            self._stamps[uid] = new
            self.added.add(uid)
            return new
        if old.hash == content_hash:  # unchanged, or already bumped by another feed this build
            return old
        later = max(changed_at, old.last_modified + timedelta(seconds=1))
        keep_since = old.cancelled_since if cancelled and old.cancelled_since else since
        new = Stamp(content_hash, old.sequence + 1, later, old.created, keep_since)
        self._stamps[uid] = new
        self.changed.add(uid)
        return new

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "entries": {
                uid: {"hash": s.hash, "sequence": s.sequence,
                      "last_modified": s.last_modified.isoformat(),
                      "created": s.created.isoformat(),
                      **({"cancelled_since": s.cancelled_since.isoformat()}
                         if s.cancelled_since else {})}
                for uid, s in sorted(self._stamps.items())
            },
        }
        if self.removed:
            data["removed"] = {cid: when.isoformat() for cid, when in sorted(self.removed.items())}
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def load(cls, directory: Path) -> FeedState:
        """The state beside the feeds; from its backup, with a warning, if it is damaged.

        No state at all is a first build. A damaged state with no good backup is refused
        (exit 2): starting afresh silently would reset every SEQUENCE, and calendar apps keep
        an event whose SEQUENCE goes backward as it was.
        """
        path = directory / STATE_FILE
        backup = directory / BACKUP_FILE
        problem = _problem(path)
        if problem is None:
            return cls._from(path)
        if problem == _MISSING and not backup.exists():
            return cls()
        backup_problem = _problem(backup)
        if backup_problem is None:
            state = cls._from(backup)
            state.warnings.append(
                f"{path}: {problem}; recovered from {backup.name}, the state of the last good "
                "build (SEQUENCE numbers continue from there)")
            return state
        raise DeadlinesError(
            f"{problem}, and its backup {backup.name} is {backup_problem}; remove both to start "
            "afresh (every SEQUENCE then restarts at 0, and calendar apps may keep their old copy "
            "of a changed deadline)", file=str(path))

    @classmethod
    def _from(cls, path: Path) -> FeedState:
        stamps, removed = _parse(read_limited(path, MAX_STATE_BYTES, "state file"))
        state = cls(stamps)
        state.removed = removed
        return state

_MISSING = "missing"
MAX_STATE_BYTES = 2_000_000_000
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2300, 1, 1, tzinfo=UTC)


def _problem(path: Path) -> str | None:
    """None if the state file reads as a whole, else what is wrong with it."""
    try:
        _parse(read_limited(path, MAX_STATE_BYTES, "state file"))
    except DeadlinesError as exc:
        return _MISSING if exc.message == "no such file" else exc.message
    except _Damaged as exc:
        return f"damaged ({exc})"
    return None


class _Damaged(ValueError):
    pass


def _parse(raw: bytes) -> tuple[dict[str, Stamp], dict[str, datetime]]:
    """Stamps and removed contracts, every value checked; _Damaged on anything else."""
    def refuse(constant: str) -> Any:
        raise _Damaged(f"{constant} is not a state value")

    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except RecursionError:
        raise _Damaged("nested too deeply") from None
    except UnicodeDecodeError:
        raise _Damaged("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _Damaged(f"not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise _Damaged(f"not a version {STATE_VERSION} state file")
    entries = data.get("entries")
    removed = data.get("removed", {})
    if not isinstance(entries, dict) or not isinstance(removed, dict):
        raise _Damaged("'entries' and 'removed' must be objects")
    stamps = {str(uid): _stamp(uid, e) for uid, e in entries.items()}
    return stamps, {str(cid): _moment(when, f"removed {cid}") for cid, when in removed.items()}


def _stamp(uid: str, entry: Any) -> Stamp:
    if not isinstance(entry, dict):
        raise _Damaged(f"entry {uid} is not an object")
    sequence = entry.get("sequence")
    if type(sequence) is not int or not 0 <= sequence < 2**31:
        raise _Damaged(f"entry {uid}: sequence must be a whole number from 0 to 2^31-1")
    digest = entry.get("hash")
    if not isinstance(digest, str):
        raise _Damaged(f"entry {uid}: hash must be text")
    since = entry.get("cancelled_since")
    return Stamp(digest, sequence, _moment(entry.get("last_modified"), f"entry {uid}"),
                 _moment(entry.get("created"), f"entry {uid}"),
                 None if since is None else _moment(since, f"entry {uid}"))


def _moment(text: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise _Damaged(f"{where}: {str(text)[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or not _EARLIEST <= moment < _LATEST:
        raise _Damaged(f"{where}: {text!r} is not a UTC time between 1900 and 2300")
    return moment.astimezone(UTC)
