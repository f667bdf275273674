"""Helpers for the feed-server tests: a site (events, tokens, an app), WSGI calls, live servers.

    from serverkit import Site, call, live, make_site, raw_request, serving_process
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tooling import stop

from deadlines.server import FeedServer, make_server, stop_server
from deadlines.tokens import TokenRecord, TokenStore

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime(2026, 11, 26, 12, tzinfo=UTC)
SCOPES = ("all", "ours", "contract:acme-freshhawk")


@dataclass
class Site:
    """A copy of the shipped events, a token file, and a FeedServer logging into `lines`."""

    app: FeedServer
    tokens: dict[str, str]  # scope (or "revoked") -> the secret token
    records: dict[str, TokenRecord]
    events: Path
    lines: list[str] = field(default_factory=list)

    @property
    def tokens_path(self) -> Path:
        return self.app.tokens_path

    def revoke(self, name: str) -> None:
        TokenStore.load(self.tokens_path).revoke(self.records[name].id)

    def create(self, scope: str) -> str:
        token, record = TokenStore.load(self.tokens_path).create(scope)
        self.tokens[scope], self.records[scope] = token, record
        return token

    def feed(self, name: str) -> str:
        return f"/{self.tokens[name]}/deadlines.ics"


def make_site(tmp_path: Path, **options: Any) -> Site:
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    store = TokenStore.load(tmp_path / "tokens.json")
    tokens: dict[str, str] = {}
    records: dict[str, TokenRecord] = {}
    for scope in SCOPES:
        tokens[scope], records[scope] = store.create(scope)
    tokens["revoked"], records["revoked"] = store.create("theirs")
    store.revoke(records["revoked"].id)
    lines: list[str] = []
    options.setdefault("clock", lambda: AS_OF)
    # rebuilds in this process unless a test asks for the child process `serve` uses: the
    # tests that count or hold builds patch `deadlines.rebuilds.build`
    options.setdefault("isolated", False)
    app = FeedServer(events, tmp_path / "feeds", tmp_path / "tokens.json", log=lines.append,
                     **options)
    return Site(app, tokens, records, events, lines)


def call(app: FeedServer, path: str, method: str = "GET", query: str = "", **headers: str
         ) -> tuple[str, dict[str, str], bytes]:
    """One request through the WSGI interface, as waitress would make it."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8080"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    captured: dict[str, object] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, dict(hdrs)

    body = b"".join(app(environ, start_response))
    return str(captured["status"]), captured["headers"], body  # type: ignore[return-value]


@contextmanager
def live(app: FeedServer, **overrides: Any) -> Iterator[int]:
    """The app on a loopback port (the settings `serve` uses), in a thread, looking for changes
    as `serve` does; yields the port."""
    server = make_server(app, "127.0.0.1", 0, **overrides)
    app.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        stop_server(server)
        thread.join(timeout=10)
        app.close()


@contextmanager
def serving_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, str, Path]]:
    """The real `deadlines serve --port 0` on a copy of the events, out to `tmp_path/feeds`;
    yields (the process, its port, a token of scope "all", its stderr file) once it has said
    where it listens, and stops it at the end if it still runs."""
    shutil.copytree(ROOT / "events", tmp_path / "events")
    token, _ = TokenStore.load(tmp_path / "tokens.json").create("all")
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deadlines", "serve", "events", "--port", "0",
             "--tokens", "tokens.json", "--out", "feeds"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=sink, stdin=subprocess.DEVNULL)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", errors.read_text())
            port = int(found.group(1)) if found else None
            time.sleep(0.05)
        assert port, f"serve did not say where it listens:\n{errors.read_text()}"
        yield proc, port, token, errors
    finally:
        stop(proc)


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc; a zombie has ended)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(x) for x in task.read_text().split()]
        except OSError:  # the process ended meanwhile
            continue
    return [kid for kid in found if is_alive(kid)]


def descendants(pid: int) -> list[int]:
    """The live processes below `pid`, children before grandchildren."""
    found = children(pid)
    for kid in found:
        found += [below for below in children(kid) if below not in found]
    return found


def is_alive(pid: int) -> bool:
    """The process exists and has not ended (Linux /proc; a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def raw_request(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Sends bytes as they are and reads until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def hold_rebuild(gate: Path) -> None:
    """A `before_rebuild` hook (it runs in the rebuild's child process): while `gate/hold`
    exists, says who runs the build (`gate/child`: its pid and niceness) and waits for
    `gate/release` before the build goes on. Polls a file: the child shares no memory with the
    test."""
    import os
    import time

    if not (gate / "hold").exists():
        return
    (gate / "child.tmp").write_text(f"{os.getpid()} {os.getpriority(os.PRIO_PROCESS, 0)}")
    (gate / "child.tmp").rename(gate / "child")
    for _ in range(6000):  # a minute at most: a test that never releases fails, not hangs
        if (gate / "release").exists():
            return
        time.sleep(0.01)
