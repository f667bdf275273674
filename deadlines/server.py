"""`deadlines serve`: the feeds `build` writes, for calendar subscriptions, over HTTP.

A WSGI application served by waitress (see `httpserver`). The feeds are the files `deadlines
build` writes, served from disk (each replaced by one rename, so a request reads the old bytes
or the new, never a mix) with validators computed once per file version: the server holds no
feed in memory beyond a bounded cache of gzipped bodies. The feeds are kept current by the
same incremental build as `deadlines build` (same store, same lock), run in a child process
when an event log or a rulebook changes, or when the moment comes at which some contract's
deadlines change with time; never on a timer otherwise (see `rebuilds`). A request is answered
from the files in place and the current snapshot, and never waits for a rebuild.

Tokens are not part of a snapshot: the token file is checked (one `stat`) on every request and
re-read when it changes, whatever the state of the feeds, so a revocation takes effect at once.
A token file that cannot be read or is damaged opens nothing until it is repaired.

URLs: `/<token>/deadlines.ics` (the feed) and `/<token>/` (the subscribe page); `/<token>`
redirects to the page. Anything else is a plain 404 that names nothing. Log lines never carry a
token or a control character (see `serverlog`).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from .aggregates import aggregate_filter, aggregate_name
from .errors import DeadlinesError
from .feednames import CONTRACT_PREFIX, OWNER_PREFIX, path_for
from .feeds import FeedOptions
from .httpserver import listening_urls, make_server, stop_server, waitress_settings
from .labels import LABELS
from .rebuilds import Rebuilds, Snapshot
from .serverlog import (
    ScrubFilter,
    escape_controls,
    install_log_scrubbing,
    mask,
    print_line,
    scrub,
)
from .store import StoreDamaged, StoreReader
from .subscribepage import MAX_ROWS, STATUS_WORDS, render_page, window_start
from .tokens import TokenStore

# names that tests and scripts import from here, whichever module now holds them
__all__ = ["FEED_NAME", "STATUS_WORDS", "FeedServer", "ScrubFilter", "Snapshot", "announce",
           "listening_urls", "make_server", "mask", "render_page", "scrub", "serve",
           "stop_server", "waitress_settings"]

# waitress warns "Task queue depth is N" for every queued request under load (205,131 lines in
# one 10-second bench/load.py run); the request log line already says how long each one took
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

FEED_NAME = "deadlines.ics"
GZIP_CACHE_BYTES = 32 * 1024 * 1024  # gzipped feed bodies kept for reuse, at most

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Response = tuple[str, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class FeedFile:
    """One version of a feed file (by its identity on disk): its validators."""

    etag: str
    last_modified: datetime | None
    size: int


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


# --- the application ----------------------------------------------------------------------

@dataclass
class FeedServer:
    events_dir: Path
    out_dir: Path
    tokens_path: Path
    options: FeedOptions = field(default_factory=FeedOptions)
    public_url: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] = field(default=print_line)
    # True: requests are answered from the current snapshot, and changes are picked up by
    # the thread `start` runs (or by `settle`); False: a request that finds the inputs
    # changed rebuilds before it answers (tests and scripts that need the next request to see
    # a change)
    background: bool = True
    monotonic: Callable[[], float] = field(default=time.monotonic)
    # worker processes of a rebuild (None: one per CPU for the first build, one per CPU but
    # one, at least one, for the rebuilds while serving: see rebuilds.serving_jobs)
    jobs: int | None = None
    # True: each rebuild in a child process (`serve`), so that it never holds this process's
    # interpreter lock or memory; False: in this process (tests that patch the build)
    isolated: bool = True
    # runs where a rebuild runs, just before it; picklable when isolated (tests: a held build)
    before_rebuild: Callable[[], None] | None = None
    _files: FileCache = field(default_factory=FileCache, init=False)
    _tokens: TokenWatch = field(init=False)
    rebuilds: Rebuilds = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = TokenWatch(self.tokens_path, self.say)
        self.rebuilds = Rebuilds(self.events_dir, self.out_dir, self.options, self.say,
                                 clock=self.clock, monotonic=self.monotonic, jobs=self.jobs,
                                 isolated=self.isolated, before=self.before_rebuild)
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
        """The current snapshot. The very first one is built before this returns (and raises
        on bad input); after that, a request never waits for a rebuild unless `background` is
        False."""
        first = self.rebuilds.current()
        if self.background:
            return first
        self.rebuilds.check(wait=True)
        return self.rebuilds.latest or first

    def start(self) -> None:
        """Builds the first snapshot if there is none, then looks for changes in a thread
        (once a second) and rebuilds in the background, until `close`. `serve` does this.
        Without `background`, the requests look for changes themselves, and no thread does."""
        if self.background:
            self.rebuilds.start()
        else:
            self.rebuilds.current()

    def close(self) -> None:
        self.rebuilds.close()

    def settle(self, timeout: float | None = None) -> bool:
        """Looks at the inputs now and waits for the rebuild that needs (or the one running);
        True when no rebuild is left running."""
        return self.rebuilds.settle(timeout)

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
                rows, past, ahead, more = found[1], self.options.past_days, None, 0
            else:
                where, args = aggregate_filter(scope)
                owners = reader.owners() if scope.startswith(OWNER_PREFIX) else None
                name = aggregate_name(scope, self.options.lang, owners)
                past = self.options.aggregate_past_days
                rows, more = reader.aggregate_page(where, args, window_start(snap.as_of, past),
                                                   MAX_ROWS)
                ahead = self.options.aggregate_days_ahead
        except (StoreDamaged, sqlite3.Error) as exc:
            self.say(f"subscribe page unavailable: the build store cannot be read ({exc})")
            return unavailable()
        body = render_page(name, rows, feed_url, snap.as_of, self.options, past, ahead,
                           more=more).encode("utf-8")
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


def serve(events_dir: str, *, host: str, port: int, tokens: str, out: str,
          public_url: str | None, options: FeedOptions, jobs: int | None = None
          ) -> None:  # pragma: no cover - blocking
    if not 0 <= port <= 65535:
        raise DeadlinesError(f"{port} is not a port; expected 0 to 65535 (0: any free port)",
                             field="--port")
    # isolated: every build, the first one too, in a child process, so that this one stays
    # small and its request threads never wait for a build's interpreter lock
    app = FeedServer(Path(events_dir), Path(out), Path(tokens), options, public_url, jobs=jobs,
                     isolated=True)
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
    app.start()
    try:
        server.run()
    finally:
        app.close()


def announce(events_dir: str, tokens: str, contracts: int, urls: list[str],
             public_url: str | None = None) -> str:
    folder = events_dir if events_dir.endswith("/") else events_dir + "/"
    where = " and ".join(f"{url}<token>/" for url in urls)
    public = f", subscribed to as {public_url.rstrip('/')}/<token>/" if public_url else ""
    return (f"deadlines: serving the feeds of {contracts} contract(s) from {folder} on {where}"
            f"{public} (tokens in {tokens})")
