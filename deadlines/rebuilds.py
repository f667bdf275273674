"""How `deadlines serve` keeps its feeds current without making a request wait.

The server holds a `Snapshot`: what the last good build saw (its inputs' signature, its
moment, the contracts it published, when some contract's deadlines next change). Requests are
answered from the files that build wrote and from that snapshot; nothing here runs in a
request.

Noticing a change costs little at any size. A thread looks once a second: at the events
folder and the rulebook folder (one `stat` each: a log added, removed or replaced by a rename,
as `record` does, moves the folder's mtime), and at the next 1,000 logs in turn (an edit in
place), so that each log is looked at once a second per thousand logs and the stats are spread
evenly rather than made all at once. A rebuild starts when the signature differs from the
snapshot's or when the snapshot's `next_change` has come; never on a timer otherwise.

A rebuild is the incremental `build` (same store, same lock as `deadlines build`), with one
worker process fewer than CPUs unless told (`serving_jobs`). By default it runs in a child
process, so that its CPU time never holds the server's interpreter lock and its memory never
stays in the server: the child comes from multiprocessing's fork server (a fresh interpreter
with no thread and no socket of the server's, started by exec, so that it inherits neither a
lock held by another thread nor a listening socket), runs niced (+10: requests win the CPU),
ends with its parent, and sends back only what the snapshot keeps. A rebuild that fails keeps
the previous snapshot, is logged once, and is tried again when the inputs change, or after an
exponential back-off.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .build import build, default_jobs, die_with_parent
from .errors import DeadlinesError
from .feeds import FeedOptions
from .rulebook import RULEBOOK_DIR

CHECK_SECONDS = 1.0
# logs looked at (one `stat` each) per check; the folders are looked at every check
LOGS_PER_CHECK = 1000
# a failed rebuild is retried at once when the inputs change, otherwise after 1, 2, 4 ... s
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 300.0
# a rebuild whose inputs moved under it (a log deleted or replaced while it was read) is tried
# again at once, this many times in all, before it counts as a failure
REBUILD_ATTEMPTS = 3
NICENESS = 10  # added to a rebuild child's: the server's request threads come first
LOG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Snapshot:
    """What the last good rebuild saw: its inputs and moment, the contracts it published, and
    when a rebuild next has anything to compute."""

    built_at: float
    as_of: datetime
    signature: tuple[Any, ...]
    contracts: int = 0
    current: frozenset[str] = frozenset()  # contract ids with a log (a removed one is a 404)
    next_change: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What a build sends back to the server: the snapshot's part of its report."""

    contracts: int
    current: frozenset[str]
    next_change: datetime | None


class RebuildFailed(Exception):
    """A rebuild in a child process ended with an error that is not bad input (a bug, the
    child killed): its message, as the child described it."""


def describe(exc: BaseException) -> str:
    if isinstance(exc, DeadlinesError):
        return exc.render()
    if isinstance(exc, RebuildFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- noticing a change --------------------------------------------------------------------

def folder_key(*folders: Path) -> tuple[Any, ...]:
    """The folders' own stat: a file added, removed or renamed into one changes its mtime."""
    out: list[Any] = []
    for folder in folders:
        try:
            st = folder.stat()
            out.append((st.st_ino, st.st_mtime_ns))
        except OSError as exc:
            out.append(("unreadable", exc.errno))
    return tuple(out)


def _entry(path: Path) -> tuple[Any, ...] | None:
    """One log's part of a signature; None when it is gone."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return (str(path), "unreadable", exc.errno)
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def signature(events_dir: Path, rulebooks: Path = RULEBOOK_DIR) -> tuple[Any, ...]:
    """What a rebuild depends on: names, sizes and mtimes of the logs and the rulebooks.

    Files come and go while this runs (a log deleted between the listing and its stat, a folder
    removed): a vanished file or folder is simply absent from the signature, which is a change,
    never an error. Any other failure to look is recorded in the signature too, so that it
    changes when the failure does, and the rebuild reports what is wrong.
    """
    items: list[tuple[Any, ...]] = []
    for folder in (events_dir, rulebooks):
        try:
            names = sorted(folder.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            items.append((str(folder), "unreadable", exc.errno))
            continue
        for path in names:
            if path.suffix not in LOG_SUFFIXES:
                continue
            entry = _entry(path)
            if entry is not None:
                items.append(entry)
    return tuple(items)


class Watcher:
    """The inputs' signature, kept up to date a slice at a time.

    Every `look` stats the two folders. When either changed, it lists them again (one
    `scandir`, which gives each name's inode without a `stat`) and stats only the files that
    are new or whose inode changed (a log replaced by a rename, as `record` does); otherwise
    it stats the next `per_look` files in turn (an edit in place). So a folder of 10,000 logs
    costs at most 1,000 stats a look, and each log is seen again within ten looks; `full`
    stats everything (the first snapshot, a rebuild that failed). Not thread-safe: one caller
    at a time (the rebuild scheduler's lock)."""

    def __init__(self, events_dir: Path, rulebooks: Path = RULEBOOK_DIR,
                 per_look: int = LOGS_PER_CHECK) -> None:
        self.events_dir = events_dir
        self.rulebooks = rulebooks
        self.per_look = max(1, per_look)
        self._folders: tuple[Any, ...] | None = None
        self._entries: list[tuple[Any, ...]] = []
        self._next = 0  # the index of the next entry to look at again

    def look(self, full: bool = False) -> tuple[Any, ...]:
        folders = folder_key(self.events_dir, self.rulebooks)
        if full or self._folders is None:
            self._entries = list(signature(self.events_dir, self.rulebooks))
        elif folders != self._folders:
            self._entries = self._relisted()
        else:
            self._restat_some()
            return tuple(self._entries)
        self._folders = folders
        self._next = 0
        return tuple(self._entries)

    def _restat_some(self) -> None:
        count = len(self._entries)
        for step in range(min(count, self.per_look)):
            index = (self._next + step) % count
            old = self._entries[index]
            if len(old) != 4:  # an unreadable folder's or file's mark: the next listing
                continue
            self._entries[index] = _entry(Path(old[0])) or (old[0], "gone")
        if count:
            self._next = (self._next + min(count, self.per_look)) % count

    def _relisted(self) -> list[tuple[Any, ...]]:
        """As `signature` would say, but reusing the stat of every file whose inode the
        listing shows unchanged."""
        known = {entry[0]: entry for entry in self._entries if len(entry) == 4}
        items: list[tuple[Any, ...]] = []
        for folder in (self.events_dir, self.rulebooks):
            try:
                # strings, not Paths: this runs in the server, once a second while logs are
                # being recorded, over every name of the folder (the same test as
                # `Path.suffix`, for which ".yaml" alone has no suffix)
                with os.scandir(folder) as listing:
                    found = sorted((e.path, e.inode()) for e in listing
                                   if e.name.endswith(LOG_SUFFIXES)
                                   and e.name not in LOG_SUFFIXES)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                items.append((str(folder), "unreadable", exc.errno))
                continue
            for name, inode in found:
                old = known.get(name)
                entry = old if old is not None and old[3] == inode else _entry(Path(name))
                if entry is not None:
                    items.append(entry)
        return items


# --- running a build ----------------------------------------------------------------------

def serving_jobs() -> int:
    """Worker processes of a rebuild while the server answers requests, unless told: one per
    CPU but one, at least one, so that a rebuild that computes many contracts (a rulebook
    edited, a day's deadlines moving on) leaves a core to the request threads. The first
    build, before the server listens, uses every CPU."""
    return max(1, default_jobs() - 1)


@dataclass(frozen=True)
class BuildRequest:
    """A build's arguments, as sent to a child process (all of them picklable)."""

    events_dir: Path
    out_dir: Path
    as_of: datetime
    options: FeedOptions
    jobs: int | None = None
    # runs where the build runs, just before it (tests: a build held until they let it go)
    before: Callable[[], None] | None = None


def run_build(request: BuildRequest) -> Outcome:
    """The build, in this process."""
    if request.before is not None:
        request.before()
    report = build(request.events_dir, request.out_dir, request.as_of, request.options,
                   jobs=request.jobs)
    return Outcome(report.contracts, frozenset(report.current), report.next_change)


def _child(request: BuildRequest, results: Connection) -> None:
    """The body of a rebuild child: one message back, ("ok", Outcome), ("input", the one line
    of a DeadlinesError) or ("bug", a description)."""
    # the parent is the fork server, which exits when the server does (its pipe from the
    # server closes): so the child, and the build's workers after it, end with the server
    _let_go_of_fork_server()
    die_with_parent()
    if _server_gone(results):
        # the server died before the line above asked to die with the fork server (which may
        # be gone too): nobody would read the outcome, and the build would go on alone
        os._exit(1)
    # no permission to lower a priority is never a reason not to build
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    try:
        message: tuple[str, Any] = ("ok", run_build(request))
    except DeadlinesError as exc:
        message = ("input", exc.render())
    except BaseException as exc:  # reported to the server, which logs it
        message = ("bug", describe(exc))
    results.send(message)
    results.close()


def _let_go_of_fork_server() -> None:
    """Closes this child's copy of the write end of the pipe by which the fork server learns
    that the server is gone. Every child of a fork server is handed one (for children that
    start processes from it in turn; the build forks its own workers): while a rebuild held it,
    a server killed with -9 left the fork server waiting, and so the rebuild, until the build
    ended on its own (never, while it waited for the folder's lock)."""
    from multiprocessing import forkserver

    state = forkserver._forkserver
    fd = getattr(state, "_forkserver_alive_fd", None)
    if isinstance(fd, int):
        with contextlib.suppress(OSError):
            os.close(fd)
        # a fork server this process asked for later would be a new one, with a new pipe
        state._forkserver_alive_fd = None  # type: ignore[attr-defined]


def _server_gone(results: Connection) -> bool:
    """True when no process holds the other end of the child's result pipe: only the server
    does (the fork server closes its copy once the child is forked), so it has died. A pipe
    whose reader is gone polls as an error (Linux)."""
    poller = select.poll()
    poller.register(results.fileno(), select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


_PRELOADED = False


def _fork_server() -> multiprocessing.context.BaseContext:
    global _PRELOADED
    context = multiprocessing.get_context("forkserver")
    if not _PRELOADED:
        # imported once, by the fork server; each child starts with it imported
        context.set_forkserver_preload(["deadlines.rebuilds"])
        _PRELOADED = True
    return context


def children_can_start() -> bool:
    """A child from the fork server starts by importing the program's main module again; a
    program read from standard input (`python - < script`) has none, and rebuilds in-process."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return getattr(main, "__spec__", None) is not None or path is None or os.path.exists(path)


class Child:
    """One rebuild in a child process; `wait` gives its outcome or raises its error."""

    def __init__(self, request: BuildRequest) -> None:
        context = _fork_server()
        self._results, sending = context.Pipe(duplex=False)
        # not a daemon: a daemonic process may not start the build's own worker processes
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_child, args=(request, sending), name="deadlines-rebuild")
        try:
            self.process.start()
        finally:
            sending.close()  # the child's end: EOF here once the child is gone

    def wait(self) -> Outcome:
        try:
            kind, value = self._results.recv()
        except (EOFError, OSError):
            kind, value = "gone", None
        finally:
            self._results.close()
            self.process.join()
        if kind == "ok":
            assert isinstance(value, Outcome)
            return value
        if kind == "input":
            raise DeadlinesError(str(value))
        if kind == "bug":
            raise RebuildFailed(str(value))
        raise RebuildFailed(f"the rebuild process ended without a result "
                            f"(exit code {self.process.exitcode})")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()


# --- the scheduler ------------------------------------------------------------------------

@dataclass
class _Failure:
    signature: tuple[Any, ...]
    retry_at: float
    delay: float


@dataclass
class Rebuilds:
    """The current snapshot of a feeds folder, and the rebuilds that keep it current."""

    events_dir: Path
    out_dir: Path
    options: FeedOptions
    say: Callable[[str], None]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = field(default=time.monotonic)
    jobs: int | None = None
    isolated: bool = True  # each build in a child process; False: in this one
    before: Callable[[], None] | None = None  # see BuildRequest
    _snapshot: Snapshot | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _checked: float | None = field(default=None, init=False)
    _watcher: Watcher = field(init=False)
    _worker: threading.Thread | None = field(default=None, init=False)
    _rebuilding: bool = field(default=False, init=False)
    _failure: _Failure | None = field(default=None, init=False)
    _last_error: str | None = field(default=None, init=False)
    _child: Child | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _watch: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._watcher = Watcher(self.events_dir)

    @property
    def latest(self) -> Snapshot | None:
        return self._snapshot

    def current(self) -> Snapshot:
        """The current snapshot; the very first one is built before this returns (and raises
        on bad input). Later ones never make a caller wait."""
        found = self._snapshot
        if found is not None:
            return found
        with self._lock:
            if self._snapshot is None:
                signature = self._watcher.look(full=True)
                self._snapshot = self._build(signature, self.clock())
                self._checked = self.monotonic()
            return self._snapshot

    def check(self, *, wait: bool = False, now: bool = False) -> None:
        """Looks at the inputs (at most once per CHECK_SECONDS, unless `now`: then every log
        too) and starts a rebuild if they changed or the moment of the next change has come.
        With `wait`, the rebuild runs before this returns; otherwise in a thread."""
        current = self._snapshot
        if current is None or self._stop.is_set():
            return
        moment = self.monotonic()
        if not now and self._checked is not None and moment - self._checked < CHECK_SECONDS:
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is looking
        try:
            if self._rebuilding or (not now and self._checked is not None
                                    and moment - self._checked < CHECK_SECONDS):
                return
            self._checked = moment
            signature = self._watcher.look(full=now)
            as_of = self.clock()
            # no timer: the inputs changed, or some contract's deadlines change now
            stale = signature != current.signature or (
                current.next_change is not None and as_of >= current.next_change)
            failure = self._failure
            if not stale or (failure is not None and signature == failure.signature
                             and moment < failure.retry_at):
                return  # fresh, or broken in the same way and backing off
            self._rebuilding = True
        finally:
            self._lock.release()
        if wait:
            self._job(signature, as_of)
            return
        worker = threading.Thread(target=self._job, args=(signature, as_of),
                                  name="deadlines-rebuild", daemon=True)
        self._worker = worker
        try:
            worker.start()
        except RuntimeError:  # no thread to be had: try again at the next check
            self._rebuilding = False

    def settle(self, timeout: float | None = None) -> bool:
        """Looks at every input now, and waits for the rebuild that needs (or the one running);
        True when none is left running."""
        self.check(now=True)
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def start(self) -> None:
        """Looks for changes once per CHECK_SECONDS in a thread of its own, until `close`."""
        if self._watch is not None:
            return
        self.current()
        self._watch = threading.Thread(target=self._watching, name="deadlines-watch",
                                       daemon=True)
        self._watch.start()

    def close(self, timeout: float = 10) -> None:
        """Stops looking, and ends a rebuild child that runs (its staged files are removed by
        the next build, as after a build killed at any moment)."""
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout)
        child = self._child
        if child is not None:
            child.kill()
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _watching(self) -> None:
        while not self._stop.wait(max(CHECK_SECONDS, 0.05)):
            try:
                self.check()
            except Exception as exc:  # keep watching: the next look may well succeed
                self.say(f"looking for changes failed: {describe(exc)}")

    def _job(self, signature: tuple[Any, ...], as_of: datetime) -> None:
        try:
            for attempt in range(REBUILD_ATTEMPTS):
                try:
                    snap = self._build(signature, as_of)
                except Exception as exc:
                    if self._stop.is_set():
                        return  # closed under it: nothing to report
                    after = self._watcher.look(full=True)
                    if after != signature and attempt + 1 < REBUILD_ATTEMPTS:
                        signature = after  # read under our feet (a log deleted, say): again
                        continue
                    self._failed(signature, exc)
                    return
                self._snapshot = snap
                self._succeeded()
                return
        finally:
            self._rebuilding = False

    def _build(self, signature: tuple[Any, ...], as_of: datetime) -> Snapshot:
        request = BuildRequest(self.events_dir, self.out_dir, as_of, self.options,
                               self.jobs if self.jobs is not None or self._snapshot is None
                               else serving_jobs(), self.before)
        if self.isolated and children_can_start():
            child = Child(request)
            self._child = child
            try:
                outcome = child.wait()
            finally:
                self._child = None
        else:
            outcome = run_build(request)
        return Snapshot(self.monotonic(), as_of, signature, outcome.contracts, outcome.current,
                        outcome.next_change)

    def _failed(self, signature: tuple[Any, ...], exc: Exception) -> None:
        now = self.monotonic()
        previous = self._failure
        delay = FIRST_BACKOFF
        if previous is not None and previous.signature == signature:
            delay = min(previous.delay * 2, MAX_BACKOFF)
        self._failure = _Failure(signature, now + delay, delay)
        message = describe(exc)
        if message != self._last_error:  # the same error once, not once per attempt
            self.say(f"rebuild failed, serving the previous snapshot: {message}")
            self._last_error = message

    def _succeeded(self) -> None:
        if self._failure is not None:
            self.say("rebuild succeeded, serving fresh feeds again")
        self._failure = None
        self._last_error = None
