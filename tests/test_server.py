"""The feed server: tokens, validators, 304s, 404s, redirects, gzip, the page, live rebuilds.

The attacks of issue 8 (tokens, slowloris, logs, vanishing files, Expect, back-off) are in
test_server_attacks.py.
"""

from __future__ import annotations

import gzip
import http.client
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import pytest
from serverkit import call, live, make_site

from deadlines.feeds import FeedOptions
from deadlines.recording import record
from deadlines.server import FeedServer, announce, mask, render_page
from deadlines.store import micros


@pytest.fixture
def site(tmp_path: Path) -> tuple[FeedServer, dict[str, str], Path]:
    made = make_site(tmp_path)
    return made.app, made.tokens, made.events


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
     "/ALL/%2e%2e/deadlines.ics", "/ALL/deadlines.ics/x", "/ALL/other.ics", "/ALL//deadlines.ics",
     "/../etc/passwd", "/nope", "/REVOKED", "//", "/ALL/deadlines.ics/"],
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
    import deadlines.rebuilds as rebuilds

    monkeypatch.setattr(rebuilds, "CHECK_SECONDS", 0.0)
    app, tokens, events = site
    path = f"/{tokens['all']}/deadlines.ics"
    _, first_headers, first = call(app, path)
    assert b"[DONE] Written Incident report" not in first
    record(events / "acme-freshhawk.yaml", "incident_report_sent", "2026-11-23T18:00",
           ref="incident-1")
    # requests are answered from the current snapshot; the change is picked up by a look at
    # the inputs (the watching thread's, here settle's), and once that rebuild is done, the
    # next request sees the event
    assert call(app, path)[2] == first
    assert app.settle(timeout=30)
    _, headers, body = call(app, path)
    assert headers["ETag"] != first_headers["ETag"]
    text = body.decode().replace("\r\n ", "")
    block = next(b for b in text.split("BEGIN:VEVENT") if "Incident report" in b
                 and "incident-report" not in b.split("SUMMARY:")[0])
    assert "SEQUENCE:1" in block and "STATUS:CANCELLED" in block


@pytest.fixture
def served(site: tuple[FeedServer, dict[str, str], Path]
           ) -> Iterator[tuple[int, dict[str, str]]]:
    app, tokens, _ = site
    with live(app) as port:
        yield port, tokens


def test_live_loopback_server(served: tuple[int, dict[str, str]]) -> None:
    port, tokens = served
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


# --- issue 10, item 12: the redirect, the start-up line, the page in French and its window -

@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_token_without_slash_redirects_to_the_page(
        site: tuple[FeedServer, dict[str, str], Path], method: str) -> None:
    """`/TOKEN` (a live token) is a permanent redirect to `/TOKEN/`, relative so that it holds
    behind a proxy that adds a path prefix."""
    app, tokens, _ = site
    status, headers, _ = call(app, f"/{tokens['all']}", method=method)
    assert status == "308 Permanent Redirect"
    assert headers["Location"] == f"./{tokens['all']}/"
    assert headers["Cache-Control"] == "private, no-store"


def test_redirect_follows_to_the_page(served: tuple[int, dict[str, str]]) -> None:
    """Through a real client: the Location resolves to the subscribe page."""
    port, tokens = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"/{tokens['all']}")
    response = conn.getresponse()
    response.read()
    assert response.status == 308
    location = response.getheader("Location")
    assert location is not None
    target = urljoin(f"http://127.0.0.1:{port}/{tokens['all']}", location)
    assert target == f"http://127.0.0.1:{port}/{tokens['all']}/"
    conn.request("GET", target)
    page = conn.getresponse()
    assert page.status == 200 and b"<!doctype html>" in page.read()
    conn.close()


def test_start_up_line_names_folder_count_address_and_token_file() -> None:
    assert announce("events", ".deadlines-tokens.json", 3, ["http://127.0.0.1:8080/"]) == (
        "deadlines: serving the feeds of 3 contract(s) from events/ on "
        "http://127.0.0.1:8080/<token>/ (tokens in .deadlines-tokens.json)")
    line = announce("/srv/logs/", "t.json", 1, ["http://[::1]:8080/", "http://127.0.0.1:8080/"],
                    "https://deadlines.example.org/")
    assert "from /srv/logs/ on http://[::1]:8080/<token>/ and http://127.0.0.1:8080/<token>/" \
        in line
    assert "subscribed to as https://deadlines.example.org/<token>/" in line


ENGLISH_ON_THE_PAGE = ["Subscribe", "Add to Google Calendar", "Feed URL", "<th>Due",
                       "<th>Status", "<th>Who", "Calendar apps refresh",
                       "Keep this address private", "MISSED", ">pending<", "provider<",
                       'lang="en"']


def test_subscribe_page_in_french(tmp_path: Path) -> None:
    """Under `--lang fr` the page's own words are French too: buttons, table headers, status
    words, who acts, the note, and `<html lang="fr">`."""
    made = make_site(tmp_path, options=FeedOptions(lang="fr"))
    status, _, body = call(made.app, f"/{made.tokens['contract:acme-freshhawk']}/")
    page = body.decode()
    assert status == "200 OK"
    assert '<html lang="fr">' in page
    for french in ("S'abonner", "Ajouter à Google Agenda", "Adresse du flux",
                   "<th>Échéance</th>", "<th>Statut</th>", "<th>Qui agit</th>", "MANQUÉ",
                   "le fournisseur", "Gardez cette adresse privée", "Échéances : Acme"):
        assert html_text(french) in page, french
    for english in ENGLISH_ON_THE_PAGE:
        assert html_text(english) not in page, english


def html_text(text: str) -> str:
    """Text as the page writes it (html.escape turns ' into &#x27;)."""
    return text.replace("'", "&#x27;")


def test_subscribe_page_in_english_names_who_acts(site: tuple[FeedServer, dict[str, str], Path]
                                                  ) -> None:
    app, tokens, _ = site
    page = call(app, f"/{tokens['all']}/")[2].decode()
    assert '<html lang="en">' in page
    assert ">the provider<" in page or ">the customer<" in page
    # an aggregate's page says what its feed holds (README, "Feeds people can subscribe to")
    assert html_text("Obligations and rights due from 14 days back to 30 days ahead") in page


def test_subscribe_page_shows_the_feeds_past_days_window(tmp_path: Path) -> None:
    """The page used to drop everything older than 60 days whatever the feed held; it now
    shows the feed's own window (`--past-days`)."""
    made = make_site(tmp_path, options=FeedOptions(past_days=400))
    token = made.tokens["contract:acme-freshhawk"]
    feed = call(made.app, f"/{token}/deadlines.ics")[2]
    page = call(made.app, f"/{token}/")[2].decode()
    rows = page.count("<tr class=")
    assert rows == feed.count(b"BEGIN:VEVENT")
    assert "Deadlines due in the last 400 days" in page
    assert re.search(r'<td data-label="Due" class="due">2026-0[1-8]-', page), \
        "nothing older than 60 days on the page"


def test_render_page_window_is_the_options_past_days() -> None:
    """render_page on its own: an entry 90 days old is shown with past_days=120, not with 60."""
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    old = {"uid": "u", "sort": micros(as_of - timedelta(days=90)), "due": "2026-08-28",
           "title": "Old deadline", "status": "met", "actor": "provider", "clause": "c",
           "contract": "c", "contract_name": "C"}
    shown = render_page("C", [old], "http://h/t/deadlines.ics", as_of, FeedOptions(past_days=120))
    hidden = render_page("C", [old], "http://h/t/deadlines.ics", as_of, FeedOptions(past_days=60))
    assert "Old deadline" in shown and "Old deadline" not in hidden


# --- issue 11: rebuilt when something changes, never on a timer; feeds read from the files ---

def test_no_rebuild_on_a_timer_only_at_the_next_change(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changes for hours: no rebuild (the server used to rebuild everything every 5
    minutes). The moment the store says a deadline changes status, one rebuild, and the feed
    shows it."""
    import deadlines.rebuilds as rebuilds

    now = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    ticks = [0.0]
    made = make_site(tmp_path, clock=lambda: now[0], monotonic=lambda: ticks[0],
                     background=False)
    builds: list[int] = []
    real = rebuilds.build
    monkeypatch.setattr(rebuilds, "build", lambda *a, **k: builds.append(1) or real(*a, **k))
    path = f"/{made.tokens['contract:acme-freshhawk']}/deadlines.ics"
    first = call(made.app, path)[2]
    change = made.app.snapshot().next_change
    assert change is not None and change > now[0]
    while now[0] + timedelta(minutes=10) < change:
        now[0] += timedelta(minutes=10)
        ticks[0] += 600
        assert call(made.app, path)[2] == first
    assert builds == [1]  # the first snapshot only
    now[0], ticks[0] = change, ticks[0] + 600
    assert call(made.app, path)[2] != first
    assert builds == [1, 1]


def test_a_split_aggregate_is_served_to_its_token(tmp_path: Path) -> None:
    """With --max-feed-bytes low enough to split all.ics, a token for `all:freshhawk-enterprise`
    opens that agreement's part, and its page names the agreement."""
    made = make_site(tmp_path, options=FeedOptions(max_feed_bytes=5000))
    token = made.create("all:freshhawk-enterprise")
    status, _, body = call(made.app, f"/{token}/deadlines.ics")
    assert status == "200 OK"
    assert body == (made.app.out_dir / "agreements" / "freshhawk-enterprise" /
                    "all.ics").read_bytes()
    page = call(made.app, f"/{token}/")[2].decode()
    assert "Contract deadlines: all contracts (freshhawk-enterprise)" in page
    assert call(made.app, f"/{made.create('all:zuper')}/deadlines.ics")[0] == "404 Not Found"
