"""The feed server under attack and under careless hands (issue 8, items 10 to 14).

Each test names what is attacked and what must hold. Most run the WSGI app in-process; the
ones about sockets run waitress on a loopback port, and the slowloris test runs the real
`deadlines serve` in a subprocess.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverkit import AS_OF, ROOT, Site, call, live, make_site, raw_request, serving_process

import deadlines.rebuilds as rebuilds
import deadlines.server as server
from deadlines.errors import DeadlinesError
from deadlines.rebuilds import signature as _signature
from deadlines.recording import record
from deadlines.server import FeedServer, ScrubFilter, mask, scrub

BROKEN = "contract: [this is not\n"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """Checks the inputs on every request; rebuilds before answering (deterministic)."""
    monkeypatch.setattr(rebuilds, "CHECK_SECONDS", 0.0)
    return make_site(tmp_path, background=False)


def add_second_contract(events: Path) -> Path:
    """A second contract (its own id and name), so that one log can go while another stays."""
    text = (events / "acme-freshhawk.yaml").read_text()
    path = events / "globex-freshhawk.yaml"
    path.write_text(text.replace("id: acme-freshhawk", "id: globex-freshhawk")
                    .replace("name: Acme - FreshHawk", "name: Globex - FreshHawk"))
    return path


# --- 10. token changes take effect within one request, whatever the state of the build ----

def test_revocation_takes_effect_while_a_log_is_broken(site: Site) -> None:
    """Attack: a token is revoked while an event log is invalid, so every rebuild fails and
    the previous snapshot is kept. Expected: the revoked token gets a 404 at once."""
    assert call(site.app, site.feed("all"))[0] == "200 OK"
    (site.events / "acme-freshhawk.yaml").write_text(BROKEN)
    assert call(site.app, site.feed("all"))[0] == "200 OK"  # the previous snapshot
    site.revoke("all")
    assert call(site.app, site.feed("all"))[0] == "404 Not Found"
    assert call(site.app, site.feed("ours"))[0] == "200 OK"  # the others still open


def test_new_token_opens_while_a_log_is_broken(site: Site) -> None:
    """A token created while the build is broken opens its feed on the next request."""
    call(site.app, site.feed("all"))
    (site.events / "acme-freshhawk.yaml").write_text(BROKEN)
    site.create("theirs")
    assert call(site.app, site.feed("theirs"))[0] == "200 OK"


def test_token_changes_need_no_rebuild(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens are not part of a snapshot: editing the token file rebuilds nothing, and the
    next request already sees the edit."""
    call(site.app, site.feed("all"))
    builds: list[object] = []
    real = rebuilds.build
    monkeypatch.setattr(rebuilds, "build", lambda *a, **k: builds.append(a) or real(*a, **k))
    site.revoke("ours")
    new = site.create("theirs")
    assert call(site.app, site.feed("ours"))[0] == "404 Not Found"
    assert call(site.app, f"/{new}/deadlines.ics")[0] == "200 OK"
    assert builds == []


DAMAGE: dict[str, Any] = {
    "empty": b"",
    "truncated": b'{"tokens": [{"id": "abc", "hash": "',
    "garbage": b"\x00\xff not json at all",
    "a list": b"[]",
    "tokens not a list": b'{"tokens": 5}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "a hash that is a number": "number-hash",
    "an unknown scope": "bad-scope",
    "a directory": "directory",
    "a FIFO": "fifo",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_token_file_fails_closed(site: Site, damage: str) -> None:
    """Attack: the token file is damaged or replaced by something unreadable. Expected: no
    token opens anything (never the old list), one log line says so however many requests
    come, and the feeds open again once the file is repaired."""
    good = site.tokens_path.read_bytes()
    assert call(site.app, site.feed("all"))[0] == "200 OK"
    site.tokens_path.unlink()
    kind = DAMAGE[damage]
    if kind == "directory":
        site.tokens_path.mkdir()
    elif kind == "fifo":
        os.mkfifo(site.tokens_path)  # opening it for reading would wait for a writer
    elif kind in ("number-hash", "bad-scope"):
        data = json.loads(good)
        if kind == "number-hash":
            data["tokens"][0]["hash"] = 12345
        else:
            data["tokens"][0]["scope"] = "everything"
        site.tokens_path.write_text(json.dumps(data))
    else:
        site.tokens_path.write_bytes(kind)
    site.lines.clear()
    for _ in range(3):
        for name in ("all", "ours", "contract:acme-freshhawk"):
            assert call(site.app, site.feed(name))[0] == "404 Not Found"
    problems = [line for line in site.lines if "token file" in line]
    assert len(problems) == 1, site.lines
    assert "no feed is served" in problems[0]
    if site.tokens_path.is_dir():
        site.tokens_path.rmdir()
    else:
        site.tokens_path.unlink()
    site.tokens_path.write_bytes(good)
    assert call(site.app, site.feed("all"))[0] == "200 OK"
    assert any("token file readable again" in line for line in site.lines)


def test_deleted_token_file_opens_nothing(site: Site) -> None:
    """No token file, no tokens: even while a log is broken, nothing opens."""
    call(site.app, site.feed("all"))
    (site.events / "acme-freshhawk.yaml").write_text(BROKEN)
    site.tokens_path.unlink()
    assert call(site.app, site.feed("all"))[0] == "404 Not Found"


def test_token_for_a_removed_contract_is_404(site: Site) -> None:
    """A token scoped to a contract whose log was removed gets a 404; the rest still open."""
    globex = add_second_contract(site.events)
    token = site.create("contract:globex-freshhawk")
    assert call(site.app, f"/{token}/deadlines.ics")[0] == "200 OK"
    globex.unlink()
    assert call(site.app, f"/{token}/deadlines.ics")[0] == "404 Not Found"
    assert call(site.app, f"/{token}/")[0] == "404 Not Found"
    assert call(site.app, site.feed("contract:acme-freshhawk"))[0] == "200 OK"


@pytest.mark.parametrize("name", ["all", "ours", "theirs"])
def test_contract_scope_never_opens_an_aggregate(site: Site, name: str) -> None:
    """Attack: a token scoped `contract:all` (a contract id that is a feed name). Expected:
    404, never every contract's deadlines."""
    token = site.create(f"contract:{name}")
    assert call(site.app, f"/{token}/deadlines.ics")[0] == "404 Not Found"
    assert call(site.app, f"/{token}/")[0] == "404 Not Found"


# --- 11. slowloris ------------------------------------------------------------------------

@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """The real `deadlines serve --port 0` on a copy of the events; yields (port, token,
    stderr file) once it has said where it listens."""
    with serving_process(tmp_path) as (_, port, token, errors):
        yield port, token, errors


def test_slowloris_does_not_block_other_clients(serve_process: tuple[int, str, Path]) -> None:
    """Attack: 200 connections that send half a request line or half the headers, then
    nothing (no token needed). Expected: another client still gets its whole feed, in under
    2 s."""
    port, token, _ = serve_process
    idle = []
    try:
        for i in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /" if i % 2 else b"GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            idle.append(sock)
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/{token}/deadlines.ics")
        response = conn.getresponse()
        body = response.read()
        elapsed = time.monotonic() - started
        conn.close()
    finally:
        for sock in idle:
            sock.close()
    assert response.status == 200
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert elapsed < 2, f"the feed took {elapsed:.2f} s behind 200 half-open connections"


def test_waitress_settings_bound_idle_connections() -> None:
    """The settings `serve` gives waitress: poll() (select() fails past 1024 descriptors),
    room for far more than 100 connections, idle ones closed within a minute."""
    settings = server.waitress_settings()
    assert settings["asyncore_use_poll"] is True
    assert settings["connection_limit"] >= 200
    assert settings["channel_timeout"] + settings["cleanup_interval"] <= 60


# --- 12. no token and no forged line in any log -------------------------------------------

@pytest.fixture
def logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Site, int]]:
    site = make_site(tmp_path)
    caplog.set_level(logging.INFO, logger="waitress")
    with live(site.app) as port:
        yield site, port


def every_log_line(site: Site, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the server logged: its own lines and waitress's records, formatted as printed."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    records = [formatter.format(r) for r in caplog.records if r.name.startswith("waitress")]
    return site.lines + records


@pytest.mark.parametrize("path, query", [
    ("/calendars/{token}/deadlines.ics", ""),
    ("/{token}/{token}/deadlines.ics", ""),
    ("/{token}/deadlines.ics", "token={token}"),
    ("/{token}/deadlines.ics", ""),
    ("/calendars/{token}%1b[0m", ""),
])
def test_tokens_are_masked_in_every_segment_and_the_query(
        logged: tuple[Site, int], caplog: pytest.LogCaptureFixture, path: str,
        query: str) -> None:
    """Attack: the token sits in a later path segment or in the query string. Expected: the
    request line shows `<token>` and `?<query>`, never the token."""
    site, port = logged
    token = site.tokens["all"]
    target = path.format(token=token) + (f"?{query.format(token=token)}" if query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", target)
    conn.getresponse().read()
    conn.close()
    lines = every_log_line(site, caplog)
    assert lines and not any(token in line for line in lines), lines
    assert any("<token>" in line for line in site.lines)
    if query:
        assert any("?<query>" in line for line in site.lines)


@pytest.mark.parametrize("encoded, shown", [
    ("%0a", r"\x0a"), ("%0d%0a", r"\x0d\x0a"), ("%1b[2J", r"\x1b[2J"), ("%7f", r"\x7f"),
    ("%c2%85", r"\x85"), ("%00", r"\x00"),
])
def test_control_characters_cannot_forge_a_log_line(
        logged: tuple[Site, int], caplog: pytest.LogCaptureFixture, encoded: str,
        shown: str) -> None:
    """Attack: `%0a` (and CR, ESC, DEL, NUL, NEL) in the path, to start a fake log line or
    drive the terminal. Expected: one log line, with the character shown escaped."""
    site, port = logged
    response = raw_request(port, f"GET /x/a{encoded}GET%20/forged HTTP/1.1\r\nHost: h\r\n"
                                 f"Connection: close\r\n\r\n".encode())
    assert response.startswith(b"HTTP/1.1 404 ")
    assert len(site.lines) == 1
    assert shown in site.lines[0]
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", "".join(every_log_line(site, caplog)))


def test_raw_cr_and_lf_in_the_request_line_reach_no_log(
        logged: tuple[Site, int], caplog: pytest.LogCaptureFixture) -> None:
    """A bare CR inside the request line is refused by waitress (400) before the app; nothing
    logged carries it."""
    site, port = logged
    response = raw_request(port, b"GET /a\rforged HTTP/1.1\r\nHost: h\r\nConnection: close"
                                 b"\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] 400 ", response)
    assert not any("\r" in line for line in every_log_line(site, caplog))


def test_exception_inside_the_app_is_logged_masked_and_on_one_line_per_frame(
        logged: tuple[Site, int], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack: a request whose handling raises, with the token and a `%0a` in the path and
    in the exception's message. waitress logs "Exception while serving <path>" and the
    traceback. Expected: the token masked in the message and the traceback, the newline
    escaped (no line starts with the attacker's text), the client gets a plain 500."""
    site, port = logged
    token = site.tokens["all"]

    def explode(method: str, path: str, environ: dict[str, Any]) -> Any:
        raise RuntimeError(f"cannot serve {path}")

    monkeypatch.setattr(site.app, "respond", explode)
    response = raw_request(port, f"GET /{token}/deadlines.ics%0aforged:%20yes HTTP/1.1\r\n"
                                 "Host: h\r\nConnection: close\r\n\r\n".encode())
    assert response.startswith(b"HTTP/1.1 500 ")
    assert token.encode() not in response
    errors = [r for r in caplog.records if r.name == "waitress" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    text = logging.Formatter("%(message)s").format(errors[0])
    assert token not in text
    assert "Exception while serving /<token>/deadlines.ics\\x0aforged: yes" in text
    assert "RuntimeError: cannot serve /<token>/deadlines.ics\\x0aforged: yes" in text
    assert "Traceback (most recent call last):" in text  # still a useful traceback
    assert not any(line.startswith("forged") for line in text.splitlines())


def test_scrub_filter_masks_arguments_and_tracebacks() -> None:
    """The filter on waitress's loggers formats the message itself (arguments included) and
    replaces the traceback with a masked one."""
    token = "uIOekPUcE7VNi7HDfyk4IBhivTvLNdAp"
    try:
        raise ValueError(f"bad /{token}/x\nsecond line")
    except ValueError:
        record = logging.LogRecord("waitress", logging.ERROR, __file__, 1,
                                   "serving %s", (f"/{token}/deadlines.ics",), sys.exc_info())
    assert ScrubFilter().filter(record)
    text = logging.Formatter().format(record)
    assert token not in text
    assert "serving /<token>/deadlines.ics" in text
    assert "ValueError: bad /<token>/x\\x0asecond line" in text


def test_mask_and_scrub() -> None:
    assert mask("/secret/deadlines.ics") == "/<token>/deadlines.ics"
    assert mask("/a/uIOekPUcE7VNi7HDfyk4IBhivTvLNdAp/x") == "/<token>/<token>/x"
    assert mask("/a/%75IOekPUcE7VNi7HDfyk4IBhivTvLNdAp") == "/<token>/<token>"
    assert scrub("GET /short/deadlines.ics") == "GET /short/deadlines.ics"
    assert scrub("GET /abcdefghijklmnopq/deadlines.ics") == "GET /<token>/deadlines.ics"
    assert scrub("events/acme-freshhawk.yaml:3") == "events/acme-freshhawk.yaml:3"
    assert scrub("see /x?a=1&b=2 now") == "see /x?<query> now"
    assert scrub("a\u2028b") == "a\\u2028b"
    # a control character right after a token does not keep it from being masked
    assert scrub("/uIOekPUcE7VNi7HDfyk4IBhivTvLNdAp\x1b[0m") == "/<token>\\x1b[0m"
    assert scrub("/uIOekPUcE7VNi7HDfyk4IBhivTvLNdAp.ics") == "/<token>.ics"


# --- 13. a file that vanishes is a change, never an error ---------------------------------

def test_signature_survives_vanishing_files_and_folders(tmp_path: Path) -> None:
    """A log listed and then gone before its stat (here: a dangling link), a missing events
    folder, a rulebook folder that is a file: the signature is computed, without them."""
    events = tmp_path / "events"
    events.mkdir()
    (events / "a.yaml").write_text("x")
    (events / "ghost.yaml").symlink_to(tmp_path / "deleted.yaml")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    signature = _signature(events, not_a_folder)
    assert [item[0] for item in signature] == [str(events / "a.yaml")]
    assert _signature(tmp_path / "gone", tmp_path / "gone too") == ()


def test_vanished_log_during_a_check_is_no_500(site: Site) -> None:
    """Attack: a log disappears between the listing and its stat (here: a link to a file
    that is gone). Expected: no 500, the feed is served."""
    call(site.app, site.feed("all"))
    (site.events / "ghost.yaml").symlink_to(site.events / "deleted.yaml")
    for _ in range(3):
        assert call(site.app, site.feed("all"))[0] == "200 OK"


def test_log_deleted_during_a_rebuild_is_a_change(site: Site,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack: a log is deleted while a rebuild reads it (the build fails with "no such
    file"). Expected: the server reads the logs again at once and serves the feeds without
    that contract; no error is logged."""
    globex = add_second_contract(site.events)
    first = call(site.app, site.feed("all"))[2]
    assert b"Globex" in first
    record(site.events / "acme-freshhawk.yaml", "incident_identified", "2026-11-25T09:00",
           event_id="incident-race")
    real = rebuilds.build
    calls: list[int] = []

    def racing_build(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            globex.unlink()
            raise DeadlinesError("no such file", file=str(globex))
        return real(*args, **kwargs)

    monkeypatch.setattr(rebuilds, "build", racing_build)
    status, _, body = call(site.app, site.feed("all"))
    assert status == "200 OK"
    assert b"Globex" not in body and b"incident-race" in body
    assert not any("failed" in line for line in site.lines), site.lines


# --- 14. Expect, the port, back-off, rebuilds in the background ---------------------------

@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[tuple[Site, int]]:
    site = make_site(tmp_path)
    with live(site.app) as port:
        yield site, port


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_expect_100_continue_on_a_get_gets_the_answer(live_site: tuple[Site, int],
                                                      method: str) -> None:
    """Attack (or just curl): `Expect: 100-continue` on a request without a body. waitress
    answered "100 Continue" and then nothing. Expected: the 200 with the whole feed."""
    site, port = live_site
    response = raw_request(port, f"{method} {site.feed('all')} HTTP/1.1\r\nHost: h\r\n"
                                 "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode())
    head, _, body = response.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n").partition(
        b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    if method == "GET":
        assert len(body) == length and body.endswith(b"END:VCALENDAR\r\n")
    else:
        assert body == b""


def test_expect_100_continue_with_a_body_still_works(live_site: tuple[Site, int]) -> None:
    """A request with a body keeps the real 100-continue exchange: 100, body, answer."""
    site, port = live_site
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {site.feed('all')} HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404 ")


def test_serve_announces_the_port_it_really_bound(serve_process: tuple[int, str, Path],
                                                  ) -> None:
    """`--port 0` picks a free port; the line `serve` prints names that port (and the
    folder, the number of contracts, the token file) and the feed opens there."""
    port, token, errors = serve_process
    first = errors.read_text().splitlines()[0]
    assert first == (f"deadlines: serving the feeds of 1 contract(s) from events/ on "
                     f"http://127.0.0.1:{port}/<token>/ (tokens in tokens.json)")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/{token}/deadlines.ics")
    assert conn.getresponse().status == 200
    conn.close()


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_serve_refuses_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    """A port out of range is refused (exit 2, one line), never announced and bound
    elsewhere (99999 used to listen on 34463)."""
    done = subprocess.run(
        [sys.executable, "-m", "deadlines", "serve", str(ROOT / "events"), "--port", port,
         "--tokens", str(tmp_path / "t.json"), "--out", str(tmp_path / "feeds")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stderr


@pytest.mark.parametrize("host", ["999.1.1.1", "a b", "example.invalid"])
def test_serve_refuses_a_host_that_names_no_address(tmp_path: Path, host: str) -> None:
    """A host that is no address (waitress's bare ValueError used to be exit 3): exit 2, one
    line naming --host."""
    done = subprocess.run(
        [sys.executable, "-m", "deadlines", "serve", str(ROOT / "events"), "--host", host,
         "--port", "0", "--tokens", str(tmp_path / "t.json"), "--out", str(tmp_path / "f")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"deadlines: error: --host: {host!r} is not an address")
    assert len(done.stderr.splitlines()) == 1


def test_serve_on_a_busy_port_is_exit_2(tmp_path: Path) -> None:
    """A port already taken: exit 2 with one line saying so, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "deadlines", "serve", str(ROOT / "events"),
             "--port", str(busy), "--tokens", str(tmp_path / "t.json"),
             "--out", str(tmp_path / "feeds")],
            capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert f"cannot listen on 127.0.0.1 port {busy}" in done.stderr


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_broken_log_backs_off_and_is_logged_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack: an invalid event log, and a request every second for a minute. Expected: the
    rebuild is retried with exponential back-off (not 60 times), the error is logged once;
    a new edit of the log is tried at once, and the recovery is logged."""
    ticks = Ticks()
    site = make_site(tmp_path, background=False, monotonic=ticks)
    builds: list[int] = []
    real = rebuilds.build
    monkeypatch.setattr(rebuilds, "build",
                        lambda *a, **k: builds.append(1) or real(*a, **k))
    call(site.app, site.feed("all"))
    log = site.events / "acme-freshhawk.yaml"
    good = log.read_text()
    log.write_text(BROKEN)
    for _ in range(60):
        ticks.now += 1.0
        assert call(site.app, site.feed("all"))[0] == "200 OK"
    assert 1 + 5 <= len(builds) <= 1 + 7  # at about 1, 2, 4, 8, 16, 32 s
    assert sum("rebuild failed" in line for line in site.lines) == 1
    tried = len(builds)
    stamp = log.stat().st_mtime_ns + 10**9
    os.utime(log, ns=(stamp, stamp))  # saved again, as broken: tried at the next check
    ticks.now += 1.0
    call(site.app, site.feed("all"))
    assert len(builds) == tried + 1
    assert sum("rebuild failed" in line for line in site.lines) == 1  # the same error
    log.write_text(good)
    ticks.now += 1.0
    call(site.app, site.feed("all"))
    assert site.lines[-2].startswith("rebuild succeeded")


def test_request_during_a_slow_rebuild_gets_the_previous_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack: a rebuild that takes long (here: blocked until the test lets it go). Expected:
    requests meanwhile are answered at once from the previous snapshot and start no second
    rebuild; once it is done, the next request sees the new feed."""
    monkeypatch.setattr(rebuilds, "CHECK_SECONDS", 0.0)
    site = make_site(tmp_path)
    first = call(site.app, site.feed("all"))[2]
    release = threading.Event()
    running = threading.Event()
    started: list[int] = []
    real = rebuilds.build

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        started.append(1)
        running.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(rebuilds, "build", slow_build)
    record(site.events / "acme-freshhawk.yaml", "incident_identified", "2026-11-25T09:00",
           event_id="incident-slow")
    answers: list[bytes] = []

    def ask() -> None:
        answers.append(call(site.app, site.feed("all"))[2])

    site.app.start()  # the watching thread picks the change up, as in `serve`
    try:
        try:
            assert running.wait(30), "the change was not picked up"
            for _ in range(3):
                asking = threading.Thread(target=ask)
                asking.start()
                asking.join(timeout=10)
                assert not asking.is_alive(), "a request waited for the rebuild"
        finally:
            release.set()
        assert answers == [first] * 3
        assert site.app.settle(timeout=30)
        assert len(started) == 1
        assert b"incident-slow" in call(site.app, site.feed("all"))[2]
    finally:
        site.app.close()


def test_first_snapshot_is_built_before_the_first_answer(tmp_path: Path) -> None:
    """At start-up there is no previous snapshot: the first one is built inline."""
    site = make_site(tmp_path)
    assert site.app.snapshot().as_of == AS_OF
    assert call(site.app, site.feed("all"))[0] == "200 OK"


def test_in_process_server_keeps_its_constructor(tmp_path: Path) -> None:
    """Scripts build a FeedServer in-process with the same arguments as before."""
    app = FeedServer(tmp_path / "events", tmp_path / "feeds", tmp_path / "tokens.json")
    assert app.background and app.token_store() is not None


def test_each_log_line_is_one_write(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Four threads logging at once: print() wrote the text and the newline in two calls, and
    chaos.py saw 39 of 8,300 request lines written onto the end of another."""
    import io

    from deadlines import serverlog

    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    monkeypatch.setattr(serverlog.sys, "stderr", Recorder())
    serverlog.print_line("GET /<token>/deadlines.ics 200 12 0.1ms")
    assert writes == ["GET /<token>/deadlines.ics 200 12 0.1ms\n"]
