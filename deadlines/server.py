"""`deadlines serve`: the feeds `build` writes, for calendar subscriptions, over HTTP.

A WSGI application served by waitress. Each request reads one immutable snapshot (all feeds
built together), so it never sees a half-updated set. A snapshot is rebuilt, by the same code
as `deadlines build` (same state file, same lock), when an event log, a rulebook or the token
file changes, when the date changes, or every few minutes so that statuses follow the clock.

URLs: `/<token>/deadlines.ics` (the feed) and `/<token>/` (the subscribe page). A token opens
one feed scope. Anything else is a plain 404 that names nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .build import Feed, build
from .errors import DeadlinesError
from .feeds import FeedOptions
from .rulebook import RULEBOOK_DIR
from .tokens import TokenStore

# waitress warns "Task queue depth is N" for every queued request under load (205,131 lines in
# one 10-second bench/load.py run); the request log line already says how long each one took
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

FEED_NAME = "deadlines.ics"
REFRESH_SECONDS = 300
CHECK_SECONDS = 1.0

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class Published:
    """One feed as served: bytes, validators, and the entries for the page."""

    feed: Feed
    etag: str
    gzipped: bytes
    last_modified: datetime | None


@dataclass(frozen=True)
class Snapshot:
    feeds: dict[str, Published]
    built_at: float
    as_of: datetime
    signature: tuple[Any, ...]
    tokens: TokenStore


def _last_modified(data: bytes) -> datetime | None:
    """The calendar's own LAST-MODIFIED (never the time of the request)."""
    head = data.split(b"BEGIN:VEVENT", 1)[0]
    for line in head.split(b"\r\n"):
        if line.startswith(b"LAST-MODIFIED:"):
            return datetime.strptime(line[14:].decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return None


def publish(feed: Feed) -> Published:
    digest = hashlib.sha256(feed.data).hexdigest()[:32]
    return Published(feed, f'"{digest}"', gzip.compress(feed.data, mtime=0),
                     _last_modified(feed.data))


def _signature(events_dir: Path, tokens: Path) -> tuple[Any, ...]:
    """What a rebuild depends on: names, sizes and mtimes of the logs, rulebooks, tokens."""
    items: list[tuple[str, int, int]] = []
    for folder in (events_dir, RULEBOOK_DIR):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix in (".yaml", ".yml"):
                    st = path.stat()
                    items.append((str(path), st.st_size, st.st_mtime_ns))
    try:
        st = tokens.stat()
        items.append((str(tokens), st.st_size, st.st_mtime_ns))
    except OSError:
        pass
    return tuple(items)


@dataclass
class FeedServer:
    events_dir: Path
    out_dir: Path
    tokens_path: Path
    options: FeedOptions = field(default_factory=FeedOptions)
    public_url: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr,
                                                                   flush=True))
    _snapshot: Snapshot | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _checked: float = field(default=0.0, init=False)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot, rebuilt first if its inputs changed.

        While one thread rebuilds, the others keep serving the current snapshot."""
        current = self._snapshot
        now = time.monotonic()
        if current is not None and now - self._checked < CHECK_SECONDS:
            return current
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current
        try:
            current = self._snapshot
            if current is not None and time.monotonic() - self._checked < CHECK_SECONDS:
                return current  # another thread checked while this one waited
            self._checked = time.monotonic()
            signature = _signature(self.events_dir, self.tokens_path)
            as_of = self.clock()
            stale = (current is None or signature != current.signature
                     or as_of.date() != current.as_of.date()
                     or now - current.built_at > REFRESH_SECONDS)
            if stale:
                try:
                    self._snapshot = self._rebuild(signature, as_of)
                except Exception as exc:  # keep serving the last good snapshot
                    if current is None:
                        raise
                    message = exc.render() if isinstance(exc, DeadlinesError) else str(exc)
                    self.log(f"rebuild failed, serving the previous snapshot: {message}")
            assert self._snapshot is not None
            return self._snapshot
        finally:
            self._lock.release()

    def _rebuild(self, signature: tuple[Any, ...], as_of: datetime) -> Snapshot:
        report = build(self.events_dir, self.out_dir, as_of, self.options, keep_feeds=True)
        feeds = {feed_id: publish(feed) for feed_id, feed in report.feeds.items()}
        return Snapshot(feeds, time.monotonic(), as_of, signature,
                        TokenStore.load(self.tokens_path))

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        status, headers, body = self.respond(method, path, environ)
        start_response(status, headers)
        sent = 0 if method == "HEAD" else len(body)
        elapsed = (time.perf_counter() - started) * 1000
        self.log(f"{method} {mask(path)} {status.split()[0]} {sent} {elapsed:.1f}ms")
        return [] if method == "HEAD" else [body]

    def respond(self, method: str, path: str, environ: dict[str, Any]
                ) -> tuple[str, list[tuple[str, str]], bytes]:
        if method not in ("GET", "HEAD"):
            return not_found()
        parts = path.split("/")
        # exactly "/<token>/" or "/<token>/deadlines.ics"; no other shape, no traversal
        if len(parts) != 3 or parts[0] != "" or parts[2] not in ("", FEED_NAME):
            return not_found()
        token = parts[1]
        if not token or len(token) > 128:
            return not_found()
        snap = self.snapshot()
        record = snap.tokens.lookup(token)
        if record is None or record.scope not in snap.feeds:
            return not_found()
        published = snap.feeds[record.scope]
        if parts[2] == FEED_NAME:
            return self.feed_response(published, environ)
        return self.page_response(published, token, environ, snap)

    def feed_response(self, published: Published, environ: dict[str, Any]
                      ) -> tuple[str, list[tuple[str, str]], bytes]:
        wants_gzip = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        etag = published.etag if not wants_gzip else published.etag[:-1] + '-gzip"'
        headers = [("ETag", etag), ("Cache-Control", "private, no-cache"),
                   ("Vary", "Accept-Encoding")]
        if published.last_modified is not None:
            headers.append(("Last-Modified", format_datetime(published.last_modified,
                                                             usegmt=True)))
        if not_modified(environ, etag, published.last_modified):
            return "304 Not Modified", headers, b""
        body = published.gzipped if wants_gzip else published.feed.data
        headers += [("Content-Type", "text/calendar; charset=utf-8"),
                    ("Content-Length", str(len(body)))]
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

    def page_response(self, published: Published, token: str, environ: dict[str, Any],
                      snap: Snapshot) -> tuple[str, list[tuple[str, str]], bytes]:
        feed_url = f"{self.base_url(environ)}/{token}/{FEED_NAME}"
        body = render_page(published.feed, feed_url, snap.as_of).encode("utf-8")
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(body))),
                   ("Cache-Control", "private, no-store"),
                   ("Referrer-Policy", "no-referrer"),
                   ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")]
        return "200 OK", headers, body


def not_found() -> tuple[str, list[tuple[str, str]], bytes]:
    body = b"Not Found\n"
    return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                             ("Content-Length", str(len(body)))], body


def mask(path: str) -> str:
    """The path with the token replaced, for logs."""
    parts = path.split("/")
    if len(parts) > 1 and parts[1]:
        parts[1] = "<token>"
    return "/".join(parts)[:200]


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


STATUS_WORDS = {"pending": "pending", "met": "done", "late": "done late", "missed": "MISSED",
                "withdrawn": "cancelled", "open": "right open", "closed": "period ended"}


def render_page(feed: Feed, feed_url: str, as_of: datetime) -> str:
    webcal = "webcal://" + feed_url.split("://", 1)[1]
    google = "https://calendar.google.com/calendar/render?cid=" + quote(webcal, safe="")
    esc = html.escape
    several = len({item.contract for item in feed.items}) > 1
    rows = []
    for item in sorted(feed.items, key=lambda e: e.sort):
        if item.sort[0] < as_of - timedelta(days=60):
            continue
        title = f"{item.title} - {item.contract_name}" if several else item.title
        rows.append(
            f'<tr class="{esc(item.status)}"><td data-label="Due" class="due">'
            f"{esc(item.due_local)}</td>"
            f'<td data-label="Deadline">{esc(title)}</td>'
            f'<td data-label="Status" class="status">'
            f"{esc(STATUS_WORDS.get(item.status, item.status))}</td>"
            f'<td data-label="Who">{esc(item.actor)}</td>'
            f'<td data-label="Clause">{esc(item.clause)}</td></tr>'
        )
    table = "".join(rows) or '<tr><td colspan="5">No deadlines in the window.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(feed.name)}</title><style>{PAGE_CSS}</style></head>
<body><main>
<h1>{esc(feed.name)}</h1>
<div class="links">
<a id="subscribe-webcal" href="{esc(webcal)}">Subscribe</a>
<a id="subscribe-google" class="secondary" href="{esc(google)}">Add to Google Calendar</a>
<a id="subscribe-https" class="secondary" href="{esc(feed_url)}">Feed URL</a>
</div>
<table><thead><tr><th>Due</th><th>Deadline</th><th>Status</th><th>Who</th><th>Clause</th>
</tr></thead><tbody>
{table}
</tbody></table>
<p class="note">Calendar apps refresh subscriptions on their own schedule: Google Calendar
only every 8 to 24 hours, and it ignores the feed's alarms. Urgent changes need another
channel. Keep this address private: it opens the feed.</p>
</main></body></html>
"""


def serve(events_dir: str, *, host: str, port: int, tokens: str, out: str,
          public_url: str | None, options: FeedOptions) -> None:  # pragma: no cover - blocking
    from waitress import serve as waitress_serve

    app = FeedServer(Path(events_dir), Path(out), Path(tokens), options, public_url)
    app.snapshot()  # fail now, with a clear message, on bad input
    print(f"deadlines: serving {events_dir} on http://{host}:{port}/<token>/ "
          f"(tokens in {tokens})", file=sys.stderr, flush=True)
    waitress_serve(app, host=host, port=port, threads=4, ident="deadlines",
                   _quiet=True)
