"""The feed server: tokens, validators, 304s, 404s, gzip, live rebuilds; on loopback."""

from __future__ import annotations

import gzip
import http.client
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deadlines.recording import record
from deadlines.server import FeedServer, mask
from deadlines.tokens import TokenStore

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture
def site(tmp_path: Path) -> tuple[FeedServer, dict[str, str], Path]:
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    store = TokenStore.load(tmp_path / "tokens.json")
    tokens = {scope: store.create(scope)[0] for scope in ("all", "ours", "contract:acme-freshhawk")}
    revoked, record_ = store.create("theirs")
    store.revoke(record_.id)
    tokens["revoked"] = revoked
    lines: list[str] = []
    app = FeedServer(events, tmp_path / "feeds", tmp_path / "tokens.json",
                     clock=lambda: AS_OF, log=lines.append)
    return app, tokens, events


def call(app: FeedServer, path: str, method: str = "GET", **headers: str
         ) -> tuple[str, dict[str, str], bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.url_scheme": "http",
               "HTTP_HOST": "127.0.0.1:8080"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    captured: dict[str, object] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, dict(hdrs)

    body = b"".join(app(environ, start_response))
    return str(captured["status"]), captured["headers"], body  # type: ignore[return-value]


def test_feed_200_with_calendar_headers(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    status, headers, body = call(app, f"/{tokens['all']}/deadlines.ics")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["ETag"].startswith('"') and len(headers["ETag"]) == 34
    assert headers["Last-Modified"] == "Thu, 26 Nov 2026 00:00:00 GMT"  # the feed's own
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert int(headers["Content-Length"]) == len(body)


def test_same_bytes_as_build(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    _, _, body = call(app, f"/{tokens['contract:acme-freshhawk']}/deadlines.ics")
    assert body == (app.out_dir / "contracts" / "acme-freshhawk.ics").read_bytes()


@pytest.mark.parametrize("validator", ["etag", "date"])
def test_304_on_either_validator(site: tuple[FeedServer, dict[str, str], Path],
                                 validator: str) -> None:
    app, tokens, _ = site
    path = f"/{tokens['all']}/deadlines.ics"
    _, headers, _ = call(app, path)
    extra = {"if_none_match": headers["ETag"]} if validator == "etag" else \
        {"if_modified_since": headers["Last-Modified"]}
    status, again, body = call(app, path, **extra)
    assert status == "304 Not Modified" and body == b""
    assert again["ETag"] == headers["ETag"]
    assert again["Last-Modified"] == headers["Last-Modified"]


def test_stale_validators_get_the_feed(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    path = f"/{tokens['all']}/deadlines.ics"
    assert call(app, path, if_none_match='"0000"')[0] == "200 OK"
    assert call(app, path, if_modified_since="Mon, 01 Jun 2026 00:00:00 GMT")[0] == "200 OK"
    # If-None-Match wins over If-Modified-Since
    assert call(app, path, if_none_match='"0000"',
                if_modified_since="Thu, 31 Dec 2026 00:00:00 GMT")[0] == "200 OK"


def test_head_has_headers_and_no_body(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    status, headers, body = call(app, f"/{tokens['all']}/deadlines.ics", method="HEAD")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


def test_gzip_only_when_asked(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    path = f"/{tokens['all']}/deadlines.ics"
    _, plain_headers, plain = call(app, path)
    assert "Content-Encoding" not in plain_headers
    _, headers, body = call(app, path, accept_encoding="gzip, deflate")
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == plain
    assert headers["ETag"] != plain_headers["ETag"]
    _, refused, _ = call(app, path, accept_encoding="gzip;q=0")
    assert "Content-Encoding" not in refused


@pytest.mark.parametrize(
    "path",
    ["/", "/nope/deadlines.ics", "/REVOKED/deadlines.ics", "/ALL/../ALL/deadlines.ics",
     "/ALL/%2e%2e/deadlines.ics", "/ALL/deadlines.ics/x", "/ALL/other.ics", "/ALL",
     "/ALL//deadlines.ics", "/../etc/passwd"],
)
def test_plain_404_names_nothing(site: tuple[FeedServer, dict[str, str], Path],
                                 path: str) -> None:
    app, tokens, _ = site
    path = path.replace("REVOKED", tokens["revoked"]).replace("ALL", tokens["all"])
    status, _headers, body = call(app, path)
    assert status == "404 Not Found"
    assert body == b"Not Found\n"


def test_post_is_404(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    assert call(app, f"/{tokens['all']}/deadlines.ics", method="POST")[0] == "404 Not Found"


def test_scopes_open_their_own_feed(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    everything = call(app, f"/{tokens['all']}/deadlines.ics")[2]
    ours = call(app, f"/{tokens['ours']}/deadlines.ics")[2]
    assert b"X-WR-CALNAME:Contract deadlines: all contracts" in everything
    assert b"X-WR-CALNAME:Contract deadlines: ours to meet" in ours


def test_tokens_never_reach_logs_or_bodies(site: tuple[FeedServer, dict[str, str], Path]
                                           ) -> None:
    app, tokens, _ = site
    lines: list[str] = []
    app.log = lines.append
    _, _, body = call(app, f"/{tokens['all']}/deadlines.ics")
    call(app, f"/{tokens['all']}/")
    assert tokens["all"].encode() not in body
    assert lines and all(tokens["all"] not in line for line in lines)
    assert lines[0].startswith("GET /<token>/deadlines.ics 200 ")
    assert mask("/secret/deadlines.ics") == "/<token>/deadlines.ics"


def test_subscribe_page(site: tuple[FeedServer, dict[str, str], Path]) -> None:
    app, tokens, _ = site
    status, headers, body = call(app, f"/{tokens['contract:acme-freshhawk']}/")
    page = body.decode()
    assert status == "200 OK" and headers["Content-Type"] == "text/html; charset=utf-8"
    feed = f"http://127.0.0.1:8080/{tokens['contract:acme-freshhawk']}/deadlines.ics"
    assert f'href="webcal://127.0.0.1:8080/{tokens["contract:acme-freshhawk"]}/deadlines.ics"' \
        in page
    assert f'href="{feed}"' in page
    assert "calendar.google.com/calendar/render?cid=webcal%3A%2F%2F" in page
    assert '<tr class="missed">' in page
    assert "<script" not in page and "http://" not in page.replace(feed, "")


def test_recorded_event_shows_up_with_new_etag_and_sequence(
        site: tuple[FeedServer, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import deadlines.server as server

    monkeypatch.setattr(server, "CHECK_SECONDS", 0.0)
    app, tokens, events = site
    path = f"/{tokens['all']}/deadlines.ics"
    _, first_headers, first = call(app, path)
    assert b"[DONE] Written Incident report" not in first
    record(events / "acme-freshhawk.yaml", "incident_report_sent", "2026-11-23T18:00",
           ref="incident-1")
    _, headers, body = call(app, path)
    assert headers["ETag"] != first_headers["ETag"]
    text = body.decode().replace("\r\n ", "")
    block = next(b for b in text.split("BEGIN:VEVENT") if "Incident report" in b
                 and "incident-report" not in b.split("SUMMARY:")[0])
    assert "SEQUENCE:1" in block and "STATUS:CANCELLED" in block


@pytest.fixture
def live(site: tuple[FeedServer, dict[str, str], Path]) -> Iterator[tuple[int, dict[str, str]]]:
    from waitress.server import create_server

    app, tokens, _ = site
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield port, tokens
    finally:
        server.close()


def test_live_loopback_server(live: tuple[int, dict[str, str]]) -> None:
    port, tokens = live
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/{tokens['all']}/deadlines.ics")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/calendar; charset=utf-8"
    etag = response.getheader("ETag")
    conn.request("GET", f"/{tokens['all']}/deadlines.ics", headers={"If-None-Match": etag})
    again = conn.getresponse()
    again.read()
    assert again.status == 304 and again.getheader("ETag") == etag
    conn.request("GET", f"/{tokens['revoked']}/deadlines.ics")
    gone = conn.getresponse()
    assert gone.status == 404 and gone.read() == b"Not Found\n"
    assert body.endswith(b"END:VCALENDAR\r\n")
