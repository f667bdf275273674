"""`deadlines serve`: the feeds `build` writes, for calendar subscriptions, over HTTP.

A WSGI application served by waitress. The feeds are the files `deadlines build` writes, served
from disk (each replaced by one rename, so a request reads the old bytes or the new, never a
mix) with validators computed once per file version: the server holds no feed in memory beyond
a bounded cache of gzipped bodies. The feeds are kept current by the same incremental build as
`deadlines build` (same store, same lock), run in a background thread when an event log or a
rulebook changes, or when the moment comes at which some contract's deadlines change with time
(the earliest `valid_until` in the build store); never on a timer otherwise. A request is
answered from the files in place while a rebuild runs. A rebuild that fails keeps the previous
feeds and is retried when the inputs change again, or after an exponential back-off.

Watching for changes costs little at any size: the events folder is looked at (one `stat`)
every second, which catches any log added, removed or replaced (`record` replaces by rename);
every log is looked at once a second per thousand logs, which catches an edit in place.

Tokens are not part of a snapshot: the token file is checked (one `stat`) on every request and
re-read when it changes, whatever the state of the feeds, so a revocation takes effect at once.
A token file that cannot be read or is damaged opens nothing until it is repaired.

URLs: `/<token>/deadlines.ics` (the feed) and `/<token>/` (the subscribe page); `/<token>`
redirects to the page. Anything else is a plain 404 that names nothing. Log lines never carry a
token or a control character (see `scrub`).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import os
import re
import resource
import sqlite3
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from .aggregates import aggregate_filter, aggregate_name
from .build import build
from .errors import DeadlinesError
from .feednames import CONTRACT_PREFIX, OWNER_PREFIX, path_for
from .feeds import FeedOptions
from .labels import LABELS
from .rulebook import RULEBOOK_DIR
from .store import StoreDamaged, StoreReader, micros
from .tokens import TokenStore

# waitress warns "Task queue depth is N" for every queued request under load (205,131 lines in
# one 10-second bench/load.py run); the request log line already says how long each one took
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

FEED_NAME = "deadlines.ics"
CHECK_SECONDS = 1.0
# every log is stat'ed once per CHECK_SECONDS per this many logs (the folder itself every time)
LOGS_PER_CHECK = 1000
GZIP_CACHE_BYTES = 32 * 1024 * 1024  # gzipped feed bodies kept for reuse, at most
# a failed rebuild is retried at once when the inputs change, otherwise after 1, 2, 4 ... s
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 300.0
# a rebuild whose inputs moved under it (a log deleted or replaced while it was read) is tried
# again at once, this many times in all, before it counts as a failure
REBUILD_ATTEMPTS = 3
LOG_LIMIT = 2000  # characters of one logged message

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Response = tuple[str, list[tuple[str, str]], bytes]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@dataclass(frozen=True)
class FeedFile:
    """One version of a feed file (by its identity on disk): its validators."""

    etag: str
    last_modified: datetime | None
    size: int


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


def _last_modified(data: bytes) -> datetime | None:
    """The calendar's own LAST-MODIFIED (never the time of the request)."""
    head = data.split(b"BEGIN:VEVENT", 1)[0]
    for line in head.split(b"\r\n"):
        if line.startswith(b"LAST-MODIFIED:"):
            return datetime.strptime(line[14:].decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return None


def describe_file(data: bytes) -> FeedFile:
    return FeedFile(f'"{hashlib.sha256(data).hexdigest()[:32]}"', _last_modified(data),
                    len(data))


class FileCache:
    """Validators per feed file version, and gzipped bodies up to a byte budget (least
    recently used first out). Keyed by (device, inode, size, mtime): a feed is only ever
    replaced by a rename, so a key never names two contents."""

    def __init__(self, budget: int = GZIP_CACHE_BYTES) -> None:
        self.budget = budget
        self._files: OrderedDict[tuple[int, ...], FeedFile] = OrderedDict()
        self._gzipped: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def describe(self, key: tuple[int, ...], read: Callable[[], bytes]) -> FeedFile:
        with self._lock:
            found = self._files.get(key)
            if found is not None:
                self._files.move_to_end(key)
                return found
        described = describe_file(read())
        with self._lock:
            self._files[key] = described
            while len(self._files) > 4096:
                self._files.popitem(last=False)
        return described

    def gzipped(self, key: tuple[int, ...], data: bytes) -> bytes:
        with self._lock:
            found = self._gzipped.get(key)
            if found is not None:
                self._gzipped.move_to_end(key)
                return found
        body = gzip.compress(data, mtime=0)
        with self._lock:
            if key not in self._gzipped and len(body) <= self.budget:
                self._gzipped[key] = body
                self._used += len(body)
                while self._used > self.budget:
                    _, dropped = self._gzipped.popitem(last=False)
                    self._used -= len(dropped)
        return body


def _folder_key(*folders: Path) -> tuple[Any, ...]:
    """The folders' own stat: a file added, removed or renamed into one changes its mtime."""
    out: list[Any] = []
    for folder in folders:
        try:
            st = folder.stat()
            out.append((st.st_ino, st.st_mtime_ns))
        except OSError as exc:
            out.append(("unreadable", exc.errno))
    return tuple(out)


def _signature(events_dir: Path, rulebooks: Path = RULEBOOK_DIR) -> tuple[Any, ...]:
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
            if path.suffix not in (".yaml", ".yml"):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            except OSError as exc:
                items.append((str(path), "unreadable", exc.errno))
                continue
            items.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(items)


# --- tokens -------------------------------------------------------------------------------

def _file_key(st: os.stat_result) -> tuple[int, ...]:
    # the change time catches a chmod or a rewrite within the mtime's resolution; the inode
    # catches an atomic replace
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class TokenWatch:
    """The token file as of now: one `stat` per call, re-read when the file changed.

    Fails closed: while the file cannot be read or is damaged, `current()` is None (nothing is
    served) and one line says why; the previous list is never kept."""

    def __init__(self, path: Path, say: Callable[[str], None]) -> None:
        self.path = path
        self.say = say
        self.problem: str | None = None
        self._key: tuple[Any, ...] | None = None
        self._store: TokenStore | None = None
        self._lock = threading.Lock()

    def _stat_key(self) -> tuple[Any, ...]:
        try:
            return _file_key(self.path.stat())
        except FileNotFoundError:
            return ("missing",)
        except OSError as exc:
            return ("unreadable", exc.errno)

    def current(self) -> TokenStore | None:
        key = self._stat_key()
        if key == self._key:
            return self._store
        with self._lock:
            if key == self._key:  # another request thread re-read it meanwhile
                return self._store
            # the key is taken before the read: a change during the read moves the key again,
            # so the next request reads once more (at worst one read too many, never one stale)
            try:
                store: TokenStore | None = TokenStore.load(self.path)
                problem = None
            except DeadlinesError as exc:
                store, problem = None, exc.render()
            if problem != self.problem:
                self.say(f"token file damaged, no feed is served until it is repaired: {problem}"
                         if problem else "token file readable again")
            self.problem = problem
            self._key, self._store = key, store
            return store


# --- logs ---------------------------------------------------------------------------------

# A token-shaped path segment: a run of 16 or more URL-safe base64 characters (tokens are 32),
# also percent-encoded, after a slash; whatever follows it (a slash, the end, a control
# character) it is masked whole.
_TOKEN_SEGMENT = re.compile(r"(?<=/)(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2}){16,}(?![A-Za-z0-9_-])")
# a query string after a path: anything up to the next blank or quote
_QUERY = re.compile(r"(?<=[^\s?])\?[^\s\"'<>]+")
# C0 and C1 controls, DEL and the Unicode line separators: a request must not start a new log
# line, move the cursor or recolour a terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    return _CONTROL.sub(_escape_control, text)


def scrub(text: str, limit: int = LOG_LIMIT) -> str:
    """A message made safe to log: token-shaped path segments and query strings masked,
    control characters (CR and LF included) shown escaped, so it stays one line."""
    text = _TOKEN_SEGMENT.sub("<token>", text)
    text = _QUERY.sub("?<query>", text)
    text = escape_controls(text)
    return text if len(text) <= limit else text[:limit] + "..."


def mask(path: str) -> str:
    """A request path for the log: the first segment (where a token goes) and every other
    token-shaped segment replaced, control characters escaped, at most 200 characters."""
    parts = path.split("/")
    if len(parts) > 1 and parts[1]:
        parts[1] = "<token>"
    return scrub("/".join(parts), limit=200)


# Chunks of a formatted traceback that come from code, not from data: kept line by line.
# Everything else is an exception's message (which may quote a request), kept on one line.
_TRACEBACK_FRAMES = ("Traceback (most recent call last):", "  File ", "  [Previous line",
                     "\nDuring handling of the above exception",
                     "\nThe above exception was the direct cause")


def scrub_traceback(exc_info: ExcInfo) -> str:
    out = []
    for chunk in traceback.format_exception(*exc_info):
        if chunk.startswith(_TRACEBACK_FRAMES):
            out.append("\n".join(scrub(line) for line in chunk.split("\n")))
        else:
            out.append(scrub(chunk.rstrip("\n")) + "\n")
    return "".join(out).rstrip("\n")


class ScrubFilter(logging.Filter):
    """Masks tokens and escapes control characters in a record's message and traceback.

    Installed on waitress's loggers, whose messages quote request paths ("Exception while
    serving /<path>") and whose tracebacks quote exception messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in someone's log call: log it as it is
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub_traceback(record.exc_info)
            record.exc_info = None  # so that no handler formats the raw one again
        elif record.exc_text:
            record.exc_text = "\n".join(scrub(line) for line in record.exc_text.split("\n"))
        if record.stack_info:
            record.stack_info = "\n".join(scrub(line) for line in record.stack_info.split("\n"))
        return True


SCRUBBED_LOGGERS = ("waitress", "waitress.queue")


def install_log_scrubbing() -> None:
    """A ScrubFilter on each waitress logger (a logger's filters see only its own records,
    not its children's, hence each one); idempotent."""
    for name in SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DeadlinesError):
        return exc.render()
    return f"{type(exc).__name__}: {exc}"


# --- the application ----------------------------------------------------------------------

@dataclass
class _Failure:
    signature: tuple[Any, ...]
    retry_at: float
    delay: float


def _print_line(line: str) -> None:
    # one write per line: print() writes the text and the newline separately, and waitress's
    # worker threads then run two request lines together
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@dataclass
class FeedServer:
    events_dir: Path
    out_dir: Path
    tokens_path: Path
    options: FeedOptions = field(default_factory=FeedOptions)
    public_url: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] = field(default=_print_line)
    # False: a request that finds the inputs changed rebuilds before it answers (tests and
    # scripts that need the next request to see a change); True: it answers from the current
    # snapshot and the rebuild runs in a thread
    background: bool = True
    monotonic: Callable[[], float] = field(default=time.monotonic)
    jobs: int | None = None  # worker processes of a rebuild (None: one per CPU)
    _snapshot: Snapshot | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _checked: float | None = field(default=None, init=False)
    _scanned: float | None = field(default=None, init=False)  # last look at every log
    _folders: tuple[Any, ...] = field(default=(), init=False)  # the folders as then
    _signature: tuple[Any, ...] = field(default=(), init=False)  # every log as then
    _files: FileCache = field(default_factory=FileCache, init=False)
    _worker: threading.Thread | None = field(default=None, init=False)
    _rebuilding: bool = field(default=False, init=False)
    _failure: _Failure | None = field(default=None, init=False)
    _last_error: str | None = field(default=None, init=False)
    _tokens: TokenWatch = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = TokenWatch(self.tokens_path, self.say)
        install_log_scrubbing()

    def say(self, line: str) -> None:
        """Every line the server logs goes through here: no token, no control character."""
        self.log(scrub(line))

    def token_store(self) -> TokenStore | None:
        """The token file as of now (None while it is damaged: nothing opens)."""
        return self._tokens.current()

    @property
    def token_problem(self) -> str | None:
        return self._tokens.problem

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot; starts a rebuild first if its inputs changed or the moment
        of the next change has come.

        The very first snapshot is built before this returns (and raises on bad input); after
        that, a request never waits for a rebuild unless `background` is False."""
        current = self._snapshot
        if current is None:
            with self._lock:
                if self._snapshot is None:
                    signature = self._look(self.monotonic(), force=True)
                    self._snapshot = self._rebuild(signature, self.clock())
                    self._checked = self.monotonic()
                return self._snapshot
        self._refresh_if_due(current)
        return self._snapshot or current

    def _look(self, now: float, force: bool = False) -> tuple[Any, ...]:
        """The inputs' signature: the folders' own stat every time, every log's stat when a
        folder changed or when its turn comes (once per CHECK_SECONDS per LOGS_PER_CHECK
        logs), so that watching 10,000 logs costs what watching 1,000 did."""
        folders = _folder_key(self.events_dir, RULEBOOK_DIR)
        count = max(1, len(self._signature))
        every = CHECK_SECONDS * max(1.0, count / LOGS_PER_CHECK)
        if force or folders != self._folders or self._scanned is None \
                or now - self._scanned >= every:
            self._signature = _signature(self.events_dir)
            self._folders = folders
            self._scanned = now
        return self._signature

    def _refresh_if_due(self, current: Snapshot) -> None:
        now = self.monotonic()
        if self._checked is not None and now - self._checked < CHECK_SECONDS:
            return
        if not self._lock.acquire(blocking=False):
            return  # another request thread is checking
        try:
            if self._rebuilding or (self._checked is not None
                                    and now - self._checked < CHECK_SECONDS):
                return
            self._checked = now
            signature = self._look(now)
            as_of = self.clock()
            # no timer: the inputs changed, or some contract's deadlines change now
            stale = signature != current.signature or (
                current.next_change is not None and as_of >= current.next_change)
            failure = self._failure
            if not stale or (failure is not None and signature == failure.signature
                             and now < failure.retry_at):
                return  # fresh, or broken in the same way and backing off
            self._rebuilding = True
        finally:
            self._lock.release()
        if not self.background:
            self._rebuild_job(signature, as_of)
            return
        worker = threading.Thread(target=self._rebuild_job, args=(signature, as_of),
                                  name="deadlines-rebuild", daemon=True)
        self._worker = worker
        try:
            worker.start()
        except RuntimeError:  # no thread to be had: try again at the next check
            self._rebuilding = False

    def _rebuild_job(self, signature: tuple[Any, ...], as_of: datetime) -> None:
        try:
            for attempt in range(REBUILD_ATTEMPTS):
                try:
                    snap = self._rebuild(signature, as_of)
                except Exception as exc:
                    after = self._look(self.monotonic(), force=True)
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

    def _failed(self, signature: tuple[Any, ...], exc: Exception) -> None:
        now = self.monotonic()
        previous = self._failure
        delay = FIRST_BACKOFF
        if previous is not None and previous.signature == signature:
            delay = min(previous.delay * 2, MAX_BACKOFF)
        self._failure = _Failure(signature, now + delay, delay)
        message = _describe(exc)
        if message != self._last_error:  # the same error once, not once per attempt
            self.say(f"rebuild failed, serving the previous snapshot: {message}")
            self._last_error = message

    def _succeeded(self) -> None:
        if self._failure is not None:
            self.say("rebuild succeeded, serving fresh feeds again")
        self._failure = None
        self._last_error = None

    def settle(self, timeout: float | None = None) -> bool:
        """Waits for a background rebuild, if one runs; True when none is left running."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _rebuild(self, signature: tuple[Any, ...], as_of: datetime) -> Snapshot:
        report = build(self.events_dir, self.out_dir, as_of, self.options, jobs=self.jobs)
        return Snapshot(self.monotonic(), as_of, signature, report.contracts,
                        frozenset(report.current), report.next_change)

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        status, headers, body = self.respond(method, path, environ)
        start_response(status, headers)
        sent = 0 if method == "HEAD" else len(body)
        elapsed = (time.perf_counter() - started) * 1000
        query = "?<query>" if environ.get("QUERY_STRING") else ""
        self.say(f"{escape_controls(method)[:20]} {mask(path)}{query} {status.split()[0]} "
                 f"{sent} {elapsed:.1f}ms")
        return [] if method == "HEAD" else [body]

    def respond(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        if method not in ("GET", "HEAD"):
            return not_found()
        parts = path.split("/")
        # exactly "/<token>/", "/<token>/deadlines.ics" or "/<token>"; no other shape, no
        # traversal
        if parts[0] != "" or len(parts) not in (2, 3) or \
                (len(parts) == 3 and parts[2] not in ("", FEED_NAME)):
            return not_found()
        token = parts[1]
        if not token or len(token) > 128:
            return not_found()
        snap = self.snapshot()
        scope = self.scope_for(token, snap)
        if scope is None:
            return not_found()
        if len(parts) == 2:
            return redirect(f"./{token}/")
        if parts[2] == FEED_NAME:
            return self.feed_response(scope, environ, method)
        return self.page_response(scope, token, environ, snap)

    def scope_for(self, token: str, snap: Snapshot) -> str | None:
        """The feed scope a live token opens now, checked against the token file as it is
        now: None for an unknown or revoked token, a damaged token file, or a contract whose
        log is gone."""
        store = self.token_store()
        if store is None:
            return None
        record = store.lookup(token)
        if record is None:
            return None
        scope = record.scope
        if scope.startswith(CONTRACT_PREFIX) and \
                scope.removeprefix(CONTRACT_PREFIX) not in snap.current:
            return None
        return scope

    def feed_response(self, scope: str, environ: dict[str, Any], method: str = "GET"
                      ) -> Response:
        """The feed file as it is on disk now: one open, one fstat; its validators are
        computed once per version of the file."""
        # scopes are checked against SCOPE_RE when the token file is read: no path can leave
        # the feeds folder, and `contract:all` names contracts/all.ics, never all.ics
        path = path_for(self.out_dir, scope)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the read
        except OSError:
            return not_found()  # not written (an aggregate that is not split, say)
        with handle:
            info = os.fstat(handle.fileno())
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            data: bytes | None = None

            def read() -> bytes:
                nonlocal data
                if data is None:
                    handle.seek(0)
                    data = handle.read()
                return data

            described = self._files.describe(key, read)
            wants_gzip = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
            etag = described.etag if not wants_gzip else described.etag[:-1] + '-gzip"'
            headers = [("ETag", etag), ("Cache-Control", "private, no-cache"),
                       ("Vary", "Accept-Encoding")]
            if described.last_modified is not None:
                headers.append(("Last-Modified", format_datetime(described.last_modified,
                                                                 usegmt=True)))
            if not_modified(environ, etag, described.last_modified):
                return "304 Not Modified", headers, b""
            if method == "HEAD" and not wants_gzip:
                body_length = described.size
                body = b""
            else:
                body = self._files.gzipped(key, read()) if wants_gzip else read()
                body_length = len(body)
        headers += [("Content-Type", "text/calendar; charset=utf-8"),
                    ("Content-Length", str(body_length))]
        if wants_gzip:
            headers.append(("Content-Encoding", "gzip"))
        return "200 OK", headers, body

    def base_url(self, environ: dict[str, Any]) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:" \
            f"{environ.get('SERVER_PORT')}"
        return f"{scheme}://{host}"

    def page_response(self, scope: str, token: str, environ: dict[str, Any],
                      snap: Snapshot) -> Response:
        feed_url = f"{self.base_url(environ)}/{token}/{FEED_NAME}"
        labels = LABELS[self.options.lang]
        reader = StoreReader(self.out_dir)
        try:
            if scope.startswith(CONTRACT_PREFIX):
                found = reader.contract_page(scope.removeprefix(CONTRACT_PREFIX))
                if found is None:
                    return not_found()
                name = labels["contract.name"].format(name=found[0])
                rows, past, ahead = found[1], self.options.past_days, None
            else:
                where, args = aggregate_filter(scope)
                owners = reader.owners() if scope.startswith(OWNER_PREFIX) else None
                name = aggregate_name(scope, self.options.lang, owners)
                rows, past = reader.aggregate_page(where, args), self.options.aggregate_past_days
                ahead = self.options.aggregate_days_ahead
        except (StoreDamaged, sqlite3.Error) as exc:
            self.say(f"subscribe page unavailable: the build store cannot be read ({exc})")
            return unavailable()
        body = render_page(name, rows, feed_url, snap.as_of, self.options, past,
                           ahead).encode("utf-8")
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(body))),
                   ("Cache-Control", "private, no-store"),
                   ("Referrer-Policy", "no-referrer"),
                   ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")]
        return "200 OK", headers, body


def unavailable() -> Response:
    body = b"Service Unavailable\n"
    return "503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                       ("Content-Length", str(len(body))),
                                       ("Retry-After", "60")], body


def not_found() -> Response:
    body = b"Not Found\n"
    return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                             ("Content-Length", str(len(body)))], body


def redirect(location: str) -> Response:
    """308 to a relative URL: right behind a proxy that adds a path prefix, too."""
    body = b"Permanent Redirect\n"
    return "308 Permanent Redirect", [("Location", location),
                                      ("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", str(len(body))),
                                      ("Cache-Control", "private, no-store"),
                                      ("Referrer-Policy", "no-referrer")], body


def accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def not_modified(environ: dict[str, Any], etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since only when it is absent."""
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims and last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified <= since
    return False


# --- the subscribe page -------------------------------------------------------------------

PAGE_CSS = """
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1d2430;background:#f6f7f9}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.links{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1.25rem}
.links a{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;background:#1f5fbf;
color:#fff;text-decoration:none;font-weight:600}
.links a.secondary{background:#e3e8f0;color:#1d2430}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:.4rem;overflow:hidden}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #e3e8f0;vertical-align:top}
th{background:#eef1f6;font-size:.85rem;text-transform:uppercase;letter-spacing:.03em}
tr.missed td{background:#fde8e8}
tr.missed .status{color:#a30d0d;font-weight:700}
tr.late .status{color:#8a5300;font-weight:600}
tr.met .status,tr.withdrawn .status,tr.closed .status{color:#4b5563}
td.due{white-space:nowrap}
.note{color:#4b5563;font-size:.9rem;margin-top:1rem}
@media (max-width:40rem){thead{display:none}table,tr,td{display:block;width:auto}
tr{border-bottom:2px solid #cfd6e1;padding:.4rem 0}td{border:0;padding:.15rem .6rem}
td::before{content:attr(data-label) ": ";font-weight:600;color:#4b5563}}
"""

# The page's fixed words, per --lang, from the one table of labels (keys `page.*`); the feed's
# own texts come translated from the build.
PAGE_TEXT: dict[str, dict[str, str]] = {
    lang: {key.removeprefix("page."): word for key, word in words.items()
           if key.startswith("page.")}
    for lang, words in LABELS.items()
}

STATUS_WORDS = {key.removeprefix("status."): word for key, word in PAGE_TEXT["en"].items()
                if key.startswith("status.")}


def render_page(name: str, items: list[dict[str, Any]], feed_url: str, as_of: datetime,
                options: FeedOptions | None = None, past_days: int | None = None,
                ahead_days: int | None = None) -> str:
    """The subscribe page of a feed: its rows (as the build store keeps them) from
    `past_days` back (the feed's own window; an aggregate's also ends `ahead_days` ahead)."""
    options = options or FeedOptions()
    past_days = options.past_days if past_days is None else past_days
    lang = options.lang if options.lang in PAGE_TEXT else "en"
    text = PAGE_TEXT[lang]
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    google = "https://calendar.google.com/calendar/render?cid=" + quote(webcal, safe="")
    esc = html.escape
    several = len({item.get("contract") for item in items}) > 1
    owned = any(item.get("owner") for item in items)  # an Owner column only when someone is
    since = micros(as_of - timedelta(days=past_days))  # the feed's own window
    rows = []
    for item in sorted(items, key=lambda e: (e.get("sort", 0), e.get("uid", ""))):
        if int(item.get("sort", 0)) < since:
            continue
        title = str(item.get("title", ""))
        if several:
            title = f"{title} - {item.get('contract_name', '')}"
        status_key = str(item.get("status", ""))
        status = text.get(f"status.{status_key}", status_key)
        who = str(item.get("actor", ""))  # the party's label, from the rulebook
        rows.append(
            f'<tr class="{esc(status_key)}"><td data-label="{esc(text["due"])}" class="due">'
            f"{esc(str(item.get('due', '')))}</td>"
            f'<td data-label="{esc(text["deadline"])}">{esc(title)}</td>'
            f'<td data-label="{esc(text["status"])}" class="status">{esc(status)}</td>'
            f'<td data-label="{esc(text["who"])}">{esc(who)}</td>'
            f'<td data-label="{esc(text["clause"])}">{esc(str(item.get("clause", "")))}</td>'
            + (f'<td data-label="{esc(text["owner"])}">{esc(str(item.get("owner", "")))}</td>'
               if owned else "")
            + "</tr>"
        )
    window = text["window"].format(days=past_days) if ahead_days is None else \
        text["window.aggregate"].format(days=past_days, ahead=ahead_days)
    columns = ("due", "deadline", "status", "who", "clause", *(("owner",) if owned else ()))
    table = "".join(rows) or \
        f'<tr><td colspan="{len(columns)}">{esc(text["empty"])}</td></tr>'
    heads = "".join(f"<th>{esc(text[k])}</th>" for k in columns)
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(name)}</title><style>{PAGE_CSS}</style></head>
<body><main>
<h1>{esc(name)}</h1>
<div class="links">
<a id="subscribe-webcal" href="{esc(webcal)}">{esc(text["subscribe"])}</a>
<a id="subscribe-google" class="secondary" href="{esc(google)}">{esc(text["google"])}</a>
<a id="subscribe-https" class="secondary" href="{esc(feed_url)}">{esc(text["url"])}</a>
</div>
<table><thead><tr>{heads}
</tr></thead><tbody>
{table}
</tbody></table>
<p class="note">{esc(window)}
{esc(text["note"])}</p>
</main></body></html>
"""


# --- waitress -----------------------------------------------------------------------------

def _connection_limit(wanted: int = 1000) -> int:
    """As many connections as the file descriptors allow, up to `wanted`: waitress stops
    accepting at its limit (default 100, so 101 idle sockets shut everyone out), and past the
    descriptor limit accept() fails in a loop."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(100, min(wanted, soft - 64))


def waitress_settings() -> dict[str, Any]:
    """How `serve` runs waitress. Idle and half-open connections cost no thread in waitress
    (a request reaches a thread only once its headers are in), only a connection slot."""
    return {
        "connection_limit": _connection_limit(),
        # select() cannot watch descriptors above 1024; poll() can
        "asyncore_use_poll": True,
        # a connection that sends nothing for 30 s is closed; checked every 5 s
        "channel_timeout": 30,
        "cleanup_interval": 5,
        "threads": 8,
        # a feed request is a request line and a few headers, never a body
        "max_request_header_size": 32 * 1024,
        "max_request_body_size": 64 * 1024,
        "ident": "deadlines",
    }


def _expect_fix() -> type:
    """A waitress channel whose requests ignore `Expect: 100-continue` when there is no body.

    waitress 3.0 answers the expectation with "100 Continue" and then marks the request as
    incomplete, waiting for a body that a GET never sends: the client gets the 100 and nothing
    else. RFC 9110 (10.1.1) lets a server skip the 100 when the framing says there is no
    content, and then the request is complete at once."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class Parser(HTTPRequestParser):  # type: ignore[misc]
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            if self.body_rcv is None:
                self.expect_continue = False

    class Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = Parser

    return Channel


def make_server(app: FeedServer, host: str, port: int, **overrides: Any) -> Any:
    """A waitress server for `app`, bound and listening (call `.run()` to serve), configured
    by `waitress_settings()` with `overrides` on top."""
    from waitress.server import BaseWSGIServer, create_server

    install_log_scrubbing()
    server = create_server(app, host=host, port=port, **{**waitress_settings(), **overrides})
    channel = _expect_fix()
    for listener in _listeners(server):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def _listeners(server: Any) -> list[Any]:
    # one address: the server itself; several (a name that resolves to IPv4 and IPv6): a
    # MultiSocketServer whose map holds one server per address
    mapping = getattr(server, "map", None)
    if mapping is None:
        return [server]
    return list(mapping.values())


def listening_urls(server: Any) -> list[str]:
    """The addresses waitress really bound (port 0 becomes the port the system picked)."""
    listen = getattr(server, "effective_listen", None) or \
        [(server.effective_host, server.effective_port)]
    urls = []
    for host, port in listen:
        shown = f"[{host}]" if ":" in str(host) else host
        urls.append(f"http://{shown}:{port}/")
    return urls


def stop_server(server: Any) -> None:
    """Stops a server that runs in another thread: its sockets are closed by its own loop
    (closing them from here races with select/poll), which then returns from `run()`."""
    listeners = _listeners(server)

    def close_all() -> None:
        for dispatcher in list(server._map.values() if hasattr(server, "_map")
                               else server.map.values()):
            dispatcher.close()

    # every listener of a MultiSocketServer shares one trigger; the map also holds channels
    trigger = next((t for t in (getattr(x, "trigger", None) for x in listeners)
                    if t is not None), None)
    if trigger is not None:
        trigger.pull_trigger(close_all)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)


def serve(events_dir: str, *, host: str, port: int, tokens: str, out: str,
          public_url: str | None, options: FeedOptions, jobs: int | None = None
          ) -> None:  # pragma: no cover - blocking
    if not 0 <= port <= 65535:
        raise DeadlinesError(f"{port} is not a port; expected 0 to 65535 (0: any free port)",
                             field="--port")
    app = FeedServer(Path(events_dir), Path(out), Path(tokens), options, public_url, jobs=jobs)
    snap = app.snapshot()  # the first snapshot, before listening: fail now on bad input
    if app.token_store() is None:
        raise DeadlinesError(app.token_problem or "the token file cannot be read")
    try:
        server = make_server(app, host, port)
    except OSError as exc:  # port in use, unknown host name, no permission
        raise DeadlinesError(f"cannot listen on {host} port {port}: {exc.strerror or exc}"
                             ) from None
    print(announce(events_dir, tokens, snap.contracts, listening_urls(server), public_url),
          file=sys.stderr, flush=True)
    server.run()


def announce(events_dir: str, tokens: str, contracts: int, urls: list[str],
             public_url: str | None = None) -> str:
    folder = events_dir if events_dir.endswith("/") else events_dir + "/"
    where = " and ".join(f"{url}<token>/" for url in urls)
    public = f", subscribed to as {public_url.rstrip('/')}/<token>/" if public_url else ""
    return (f"deadlines: serving the feeds of {contracts} contract(s) from {folder} on {where}"
            f"{public} (tokens in {tokens})")
