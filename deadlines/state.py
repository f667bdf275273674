"""The feed state file: per UID, the content hash, SEQUENCE and LAST-MODIFIED.

A build is otherwise stateless (YAML in, ICS out); this small JSON file beside the output is
what lets SEQUENCE and LAST-MODIFIED move only when that deadline's content changed.

LAST-MODIFIED is never read from the clock. A new deadline takes the time of the latest fact
behind it (its trigger, fulfilment or withdrawal, or its due date passing); a changed one takes
that time or one second after its previous stamp, whichever is later, so it only moves forward.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

STATE_FILE = ".deadlines-state.json"
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


class FeedState:
    def __init__(self, stamps: dict[str, Stamp] | None = None) -> None:
        self._stamps: dict[str, Stamp] = dict(stamps or {})
        self.changed: set[str] = set()
        self.added: set[str] = set()

    def peek(self, uid: str) -> Stamp | None:
        return self._stamps.get(uid)

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
        data = {
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
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def load(cls, directory: Path) -> FeedState:
        path = directory / STATE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["entries"] if raw.get("version") == STATE_VERSION else {}
            stamps = {
                uid: Stamp(e["hash"], int(e["sequence"]),
                           datetime.fromisoformat(e["last_modified"]),
                           datetime.fromisoformat(e["created"]),
                           datetime.fromisoformat(e["cancelled_since"])
                           if e.get("cancelled_since") else None)
                for uid, e in entries.items()
            }
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # A damaged state file costs SEQUENCE continuity, not the build: start afresh.
            return cls()
        return cls(stamps)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over the target."""
    os.replace(stage(path, data), path)


def stage(path: Path, data: bytes) -> Path:
    """`data` written and synced to a temporary file beside `path`, ready to rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)
