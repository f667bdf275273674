"""Files that two processes can touch at once: locks, atomic replacement, bounded reads.

Every shared file (an event log, the token file, the feeds, the state file) is changed the same
way: take an exclusive `fcntl` lock on a lock file beside it, read, compute, write the new bytes
to a temporary file in the same folder, fsync, and rename it over the target. A reader never
sees a half-written file; a crash at any instant leaves the previous file whole, plus at most a
temporary that the next writer removes (`clean_stale_temporaries`).

Temporaries are named `.<target>.<pid>.<random>.tmp`: the pid says whose they are, so a writer
removes only those of processes that are gone, never a live writer's.

Faults of the user's environment (disk full, read-only folder, a file where a folder should
be) become `EnvironmentFault`: one line, exit 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import DeadlinesError

_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
# before temporaries carried a pid: `.<target>.<random>.tmp` (tempfile.mkstemp)
_LEGACY_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
_LEGACY_AGE_SECONDS = 3600


class EnvironmentFault(DeadlinesError):
    """The disk, the folder or the permissions, not the input: exit 2, one line."""


# what the environment did, not the input or a bug: the CLI reports these as exit 2
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM,
                                errno.EDQUOT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                                errno.EIO, errno.EMFILE, errno.ENFILE, errno.ENAMETOOLONG})


def fault(exc: OSError, doing: str, path: Path | str) -> EnvironmentFault:
    """'no space left on device writing feeds/all.ics' from an OSError."""
    reason = (exc.strerror or str(exc)).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return EnvironmentFault(f"{reason} {doing} {path}")


FOLDER_LOCK = ".deadlines.lock"


def lock_beside(path: Path) -> Path:
    """The lock file of one shared file: `.<name>.lock` in the same folder."""
    return path.parent / f".{path.name}.lock"


def folder_lock(folder: Path) -> Path:
    """The lock of a folder of files written together (the feeds and their state)."""
    return folder / FOLDER_LOCK


@contextlib.contextmanager
def locked(lock: Path) -> Iterator[None]:
    """Hold the exclusive `fcntl` lock on `lock` until the end of the block.

    The lock file is never replaced: a lock taken on the shared file itself would be lost the
    moment that file is renamed over. Closing the handle (or the process dying) releases it.
    """
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a+b")  # noqa: SIM115 - held open for the whole block
    except OSError as exc:
        raise fault(exc, "opening the lock file", lock) from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data`: staged beside it, synced, renamed over it.

    A symlink is followed (the link stays a link; its target gets the new bytes). An existing
    file keeps its permission bits and owner. A file with several hard links is rewritten in
    place, since a rename would split it from its other names; new bytes that extend the old
    ones (an appended event) then only add at the end.
    """
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise fault(exc, "reading", path) from None
    if info is not None and info.st_nlink > 1 and stat.S_ISREG(info.st_mode):
        _rewrite_in_place(target, data, path)
        return
    temporary = stage(target, data, mode=mode, like=info)
    try:
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise fault(exc, "writing", path) from None
    _sync_folder(target.parent)


def temporary_beside(path: Path, owner: int | None = None) -> Path:
    """A new temporary's name: `.<target>.<pid>.<random>.tmp`, with the pid of the process
    whose death makes it stale (a build's worker stages in the name of the build)."""
    return path.parent / f".{path.name}.{owner or os.getpid()}.{os.urandom(4).hex()}.tmp"


def stage(path: Path, data: bytes, *, mode: int | None = None,
          like: os.stat_result | None = None, owner: int | None = None,
          sync: bool = True) -> Path:
    """`data` written and synced to a temporary file beside `path`, ready to rename over it.

    The temporary gets `like`'s mode and owner (the file it replaces), else `mode`, else 0644.
    `sync=False` leaves the syncing to one `sync_filesystem` before the renames (a build that
    stages thousands of feeds: one flush instead of one per file).
    """
    with _new_temporary(path, owner) as (temporary, fd):
        _write_all(fd, data)
        if like is not None:
            with contextlib.suppress(PermissionError):  # not root: keep our own uid
                os.fchown(fd, like.st_uid, like.st_gid)
            os.fchmod(fd, stat.S_IMODE(like.st_mode))
        else:
            os.fchmod(fd, 0o644 if mode is None else mode)
        if sync:
            os.fsync(fd)
    return temporary


@contextlib.contextmanager
def _new_temporary(path: Path, owner: int | None = None) -> Iterator[tuple[Path, int]]:
    """A new temporary beside `path`, open for writing: removed again if the writing fails
    (an OSError is the user's environment: exit 2 naming `path`)."""
    temporary = temporary_beside(path, owner)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        # The folder is there for all but the first file a build writes in it, so the file is
        # opened first, and the folder made (a failed mkdir, an exception and a stat when it
        # exists) only when that fails; then the open is tried again, as it always was.
        fd = os.open(temporary, flags, 0o600)
    except OSError:
        fd = -1
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fault(exc, "creating the folder of", path) from None
    try:
        if fd < 0:
            fd = os.open(temporary, flags, 0o600)
        try:
            yield temporary, fd
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise fault(exc, "writing", path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def stage_stream(path: Path, chunks: Iterable[bytes]) -> tuple[Path, int]:
    """Like `stage`, for bytes that come in pieces (an aggregate feed assembled from the build
    store): written as they come, never held whole; returns the temporary and its size."""
    size = 0
    with _new_temporary(path) as (temporary, fd):
        for chunk in chunks:
            _write_all(fd, chunk)
            size += len(chunk)
        os.fchmod(fd, 0o644)
        os.fsync(fd)
    return temporary, size


def stage_copy(source: Path, path: Path) -> Path:
    """A copy of `source`, staged beside `path` to be renamed over it."""
    def chunks() -> Iterator[bytes]:
        try:
            with open(source, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk
        except OSError as exc:
            raise fault(exc, "reading", source) from None

    return stage_stream(path, chunks())[0]


def same_files(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes, compared in chunks (feeds can be large)."""
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as first, open(b, "rb") as second:
            while True:
                one, two = first.read(1 << 20), second.read(1 << 20)
                if one != two:
                    return False
                if not one:
                    return True
    except OSError:
        return False


def sync_filesystem(folder: Path) -> None:
    """Flush every file written to `folder`'s file system (Linux `syncfs`; `sync` elsewhere),
    so that the renames that follow only ever publish whole files."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(folder, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def _rewrite_in_place(target: Path, data: bytes, shown: Path | str) -> None:
    try:
        with open(target, "r+b") as handle:
            old = handle.read()
            start = len(old) if data.startswith(old) else 0
            handle.seek(start)
            handle.write(data[start:])
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise fault(exc, "writing", shown) from None


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries that writers which no longer run left in `folder`.

    Call it holding the lock of what is written there. A temporary of a live process (another
    writer of another file in the same folder) is left alone.
    """
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        path = folder / name
        match = _TEMPORARY.match(name)
        if match is not None:
            if _alive(int(match["pid"])):
                continue
        elif _LEGACY_TEMPORARY.match(name):
            try:
                age = path.stat().st_mtime
            except OSError:
                continue
            if time.time() - age < _LEGACY_AGE_SECONDS:
                continue
        else:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process runs with this id (someone else's counts as running)."""
    return _alive(pid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OverflowError:
        return False
    return True


def read_limited(path: Path | str, limit: int, what: str = "file") -> bytes:
    """At most `limit` bytes of a regular file, or a one-line error; never reads more.

    The size is checked with stat before anything is read (a 3 GB sparse file, /dev/zero), and
    anything but a regular file (a FIFO, a device, a socket) is refused before it is opened, so
    that a FIFO cannot hang the reader.
    """
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DeadlinesError("no such file", file=name) from None
    except OSError as exc:
        raise DeadlinesError(f"cannot read: {exc.strerror}", file=name) from None
    if stat.S_ISDIR(info.st_mode):
        raise DeadlinesError(f"is a directory, expected a {what}", file=name)
    if not stat.S_ISREG(info.st_mode):
        raise DeadlinesError(f"not a regular file, expected a {what}", file=name)
    if info.st_size > limit:
        raise DeadlinesError(f"file is larger than {limit:,} bytes", file=name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise DeadlinesError(f"cannot read: {exc.strerror}", file=name) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between stat and open
            raise DeadlinesError(f"not a regular file, expected a {what}", file=name)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise DeadlinesError(f"cannot read: {exc.strerror}", file=name) from None
    finally:
        os.close(fd)
    if size > limit:
        raise DeadlinesError(f"file is larger than {limit:,} bytes", file=name)
    return b"".join(chunks)


def same_bytes(path: Path, data: bytes) -> bool:
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
