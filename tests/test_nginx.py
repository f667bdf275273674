"""The static hosting recipe for real: deploy/nginx.conf in Debian's nginx, on loopback.

The config is the shipped file with only its ports and paths moved into a temp dir; the token
directories are made by the publish script quoted in docs/static-hosting.md, from a real
`deadlines build` of the repo's events/. Checks the content type, the validators and 304s,
404s without listings or redirects, the bytes, https, and that tokens stay out of the log.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tooling import require_tool, stop

pytestmark = pytest.mark.nginx

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "deploy" / "nginx.conf"
DOC = ROOT / "docs" / "static-hosting.md"
HINT = "bash scripts/install-test-tools"
AS_OF = "2026-11-26"
FEEDS = {"contracts/acme-freshhawk": secrets.token_urlsafe(24),
         "all": secrets.token_urlsafe(24)}
REVOKED = secrets.token_urlsafe(24)
CALENDAR = "text/calendar; charset=utf-8"


@dataclass
class Hosting:
    dir: Path
    http_port: int
    https_port: int
    access_log: Path
    ca: Path

    def feed(self, scope: str) -> Path:
        return self.dir / "feeds" / f"{scope}.ics"

    def request(self, path: str, method: str = "GET", https: bool = False,
                **headers: str) -> tuple[int, dict[str, str], bytes]:
        conn: http.client.HTTPConnection
        if https:
            context = ssl.create_default_context(cafile=str(self.ca))
            conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=10,
                                               context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            conn.request(method, path, headers={k.replace("_", "-"): v
                                                for k, v in headers.items()})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def publish_script() -> str:
    """The publish script exactly as docs/static-hosting.md gives it."""
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    scripts = [b for b in blocks if b.startswith("#!/bin/sh\n# publish-feeds")]
    assert len(scripts) == 1, "docs/static-hosting.md: one ```sh block with publish-feeds"
    return scripts[0]


def render_config(text: str, tmp: Path, http_port: int, https_port: int) -> str:
    """deploy/nginx.conf with its ports and paths moved to tmp; nothing else changes."""
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the pytest tmp dir
    rules: list[tuple[str, str, int]] = [
        (r"^user www-data;$", user, 1),
        (r"^pid \S+;$", f"pid {tmp}/nginx.pid;", 1),
        (r"^error_log \S+ ", f"error_log {tmp}/error.log ", 1),
        (r"^(\s*)access_log \S+ deadlines;", rf"\1access_log {tmp}/access.log deadlines;", 1),
        (r"^(\s*)(\w+)_temp_path \S+;", rf"\1\2_temp_path {tmp}/temp/\2;", 5),
        (r"^(\s*)listen 443 ssl;", rf"\1listen 127.0.0.1:{https_port} ssl;", 1),
        (r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", 1),
        (r"^\s*listen \[::\]:\d+( ssl)?;\n", "", 2),  # no IPv6 needed on loopback
        (r"^(\s*)ssl_certificate \S+;", rf"\1ssl_certificate {tmp}/cert.pem;", 1),
        (r"^(\s*)ssl_certificate_key \S+;", rf"\1ssl_certificate_key {tmp}/key.pem;", 1),
        (r"^(\s*)root /srv/deadlines/public;", rf"\1root {tmp}/public;", 1),
    ]
    for pattern, replacement, count in rules:
        text, done = re.subn(pattern, replacement, text, flags=re.M)
        assert done == count, f"deploy/nginx.conf changed shape: {pattern!r} matched {done}"
    live = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    leftovers = [line for line in live if re.search(r"/(srv|var|run|etc)/", line)]
    assert leftovers == [], leftovers
    return text


def make_cert(tmp: Path) -> None:
    openssl = require_tool("openssl", "apt-get install openssl")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True)


def build_and_publish(tmp: Path, as_of: str = AS_OF) -> None:
    deadlines = Path(sys.executable).with_name("deadlines")
    subprocess.run([str(deadlines), "build", "events", "--out", "feeds", "--as-of", as_of],
                   cwd=tmp, check=True, capture_output=True)
    (tmp / "tokens.map").write_text(
        "# feed token\n" + "".join(f"{feed} {token}\n" for feed, token in FEEDS.items()))
    subprocess.run(["sh", "-c", publish_script()], check=True, capture_output=True,
                   env={**os.environ, "FEEDS": str(tmp / "feeds"),
                        "PUBLIC": str(tmp / "public"), "MAP": str(tmp / "tokens.map")})


@contextlib.contextmanager
def hosting(tmp: Path) -> Iterator[Hosting]:
    nginx = require_tool(shutil.which("nginx") or "/usr/sbin/nginx", HINT)
    shutil.copytree(ROOT / "events", tmp / "events")
    # a token that was published once and then taken out of the map: the script removes it
    (tmp / "public" / REVOKED).mkdir(parents=True)
    (tmp / "public" / REVOKED / "deadlines.ics").write_text("stale\n")
    build_and_publish(tmp)
    make_cert(tmp)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / "temp" / name).mkdir(parents=True)
    http_port, https_port = free_port(), free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(render_config(CONF.read_text(encoding="utf-8"), tmp, http_port,
                                  https_port))
    with open(tmp / "nginx.stderr", "wb") as stderr:
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                logs = [p.read_text() for p in (tmp / "nginx.stderr", tmp / "error.log")
                        if p.exists()]
                pytest.fail("nginx exited: " + "\n".join(logs), pytrace=False)
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not listen within 10 s")
                time.sleep(0.05)
        yield Hosting(tmp, http_port, https_port, tmp / "access.log", tmp / "cert.pem")
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosting]:
    with hosting(tmp_path_factory.mktemp("nginx")) as running:
        yield running


def path(scope: str) -> str:
    return f"/{FEEDS[scope]}/deadlines.ics"


@pytest.mark.parametrize("scope", sorted(FEEDS))
def test_feed_200_with_calendar_headers(site: Hosting, scope: str) -> None:
    status, headers, body = site.request(path(scope))
    assert status == 200
    assert headers["Content-Type"] == CALENDAR
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers["ETag"])  # strong: no W/
    assert headers["Last-Modified"].endswith(" GMT")
    assert headers["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in headers
    assert body == site.feed(scope).read_bytes()
    assert int(headers["Content-Length"]) == len(body)
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")


def test_https_serves_the_same(site: Hosting) -> None:
    _, plain, body = site.request(path("contracts/acme-freshhawk"))
    status, headers, secure = site.request(path("contracts/acme-freshhawk"), https=True)
    assert status == 200 and secure == body
    assert headers["Content-Type"] == CALENDAR
    assert headers["ETag"] == plain["ETag"]


def test_head_has_headers_and_no_body(site: Hosting) -> None:
    status, headers, body = site.request(path("all"), method="HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Type"] == CALENDAR and "ETag" in headers


def test_304_for_if_none_match(site: Hosting) -> None:
    _, first, _ = site.request(path("contracts/acme-freshhawk"))
    status, again, body = site.request(path("contracts/acme-freshhawk"),
                                       if_none_match=first["ETag"])
    assert status == 304 and body == b""
    assert again["ETag"] == first["ETag"]
    assert again["Last-Modified"] == first["Last-Modified"]
    assert again["Cache-Control"] == "no-cache"
    assert site.request(path("contracts/acme-freshhawk"), if_none_match='"0-0"')[0] == 200


def test_304_for_if_modified_since(site: Hosting) -> None:
    _, first, _ = site.request(path("contracts/acme-freshhawk"))
    status, again, body = site.request(path("contracts/acme-freshhawk"),
                                       if_modified_since=first["Last-Modified"])
    assert status == 304 and body == b""
    assert again["ETag"] == first["ETag"]
    old = "Mon, 01 Jun 2026 00:00:00 GMT"
    assert site.request(path("contracts/acme-freshhawk"), if_modified_since=old)[0] == 200
    # If-None-Match wins: a stale tag gets the feed whatever the date says
    assert site.request(path("contracts/acme-freshhawk"), if_none_match='"0-0"',
                        if_modified_since=first["Last-Modified"])[0] == 200


@pytest.mark.parametrize("what", ["unknown", "revoked", "short", "wrong-name"])
def test_404_for_unknown_token_paths(site: Hosting, what: str) -> None:
    target = {"unknown": f"/{secrets.token_urlsafe(24)}/deadlines.ics",
              "revoked": f"/{REVOKED}/deadlines.ics",
              "short": "/abc/deadlines.ics",
              "wrong-name": f"/{FEEDS['all']}/all.ics"}[what]
    status, headers, _ = site.request(target)
    assert status == 404 and "Location" not in headers
    assert not (site.dir / "public" / REVOKED).exists()  # the publish script removed it


@pytest.mark.parametrize("target", [
    "/", "/{token}/", "/{token}", "/{token}/deadlines.ics/", "/{token}/.", "/index.html",
    "/feeds/", "/public/", "/{token}/?C=M;O=A",
])
def test_no_listing_and_no_redirect(site: Hosting, target: str) -> None:
    token = FEEDS["contracts/acme-freshhawk"]
    for https in (False, True):
        status, headers, body = site.request(target.format(token=token), https=https)
        assert status == 404, (target, status)
        assert "Location" not in headers
        assert b"Index of" not in body and token.encode() not in body


def test_get_and_head_only(site: Hosting) -> None:
    status, headers, _ = site.request(path("all"), method="POST")
    assert status in (403, 405) and "Location" not in headers


def test_tokens_stay_out_of_the_access_log(site: Hosting) -> None:
    site.request(path("all"))
    site.request(f"/{REVOKED}/deadlines.ics")
    log = site.access_log.read_text()
    assert '"GET /<token>/deadlines.ics" 200' in log
    assert '"GET /<token>/deadlines.ics" 404' in log
    for token in [*FEEDS.values(), REVOKED]:
        assert token not in log


def test_rebuilds_move_validators_only_with_the_bytes(tmp_path: Path) -> None:
    with hosting(tmp_path) as site:
        _, first, body = site.request(path("contracts/acme-freshhawk"))
        # cron again, nothing changed: same file, same validators, still a 304
        build_and_publish(tmp_path)
        status, again, _ = site.request(path("contracts/acme-freshhawk"),
                                        if_none_match=first["ETag"])
        assert status == 304 and again["Last-Modified"] == first["Last-Modified"]
        # a later day changes the statuses: new bytes, new validators, both old ones miss
        time.sleep(1.1)  # nginx's validators have one-second resolution
        build_and_publish(tmp_path, "2026-12-20")
        status, headers, new = site.request(path("contracts/acme-freshhawk"),
                                            if_none_match=first["ETag"])
        assert status == 200 and new != body
        assert new == site.feed("contracts/acme-freshhawk").read_bytes()
        assert headers["ETag"] != first["ETag"]
        assert site.request(path("contracts/acme-freshhawk"),
                            if_modified_since=first["Last-Modified"])[0] == 200


def test_the_docs_quote_the_shipped_config() -> None:
    """Every directive in the doc's nginx excerpt is in deploy/nginx.conf, verbatim."""

    def directives(text: str) -> set[str]:
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return {" ".join(line.split()) for line in lines if line}

    blocks = re.findall(r"```nginx\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks
    missing = directives("".join(blocks)) - directives(CONF.read_text(encoding="utf-8"))
    assert missing == set()
