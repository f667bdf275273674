"""Feeds a person can subscribe to (issue 11, item 4): what the aggregates hold, and what happens
when a feed would pass --max-feed-bytes (Google Calendar stops reading at about 1 MB).

The portfolio here is the six samples under two contract ids each; the cap is set low so that
the cuts happen with a dozen contracts rather than hundreds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_store import events_of, portfolio

from deadlines.cli import cli
from deadlines.tokens import TokenStore

AS_OF = "2026-06-01"


def build(events: Path, out: Path, *options: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, ["build", str(events), "--out", str(out), "--as-of", AS_OF,
                                      "-v", *options])
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


def description(feed: bytes) -> str:
    head = feed.split(b"BEGIN:VEVENT")[0].decode().replace("\r\n ", "")
    found = re.search(r"^DESCRIPTION:(.*)$", head, re.M)
    assert found is not None
    return found[1].replace("\\,", ",").replace("\\;", ";")


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The portfolio built with no cap: the reference for what a capped feed keeps."""
    tmp = tmp_path_factory.mktemp("whole")
    events = portfolio(tmp / "events")
    build(events, tmp / "feeds", "--max-feed-bytes", "0")
    return events, tmp / "feeds"


def test_an_aggregate_holds_obligations_and_rights_due_within_weeks(
        whole: tuple[Path, Path]) -> None:
    """No limit (a monitoring period ending asks nothing of anyone), nothing due more than 30
    days ahead or more than 14 days back (as of 1 June 2026: 18 May to 1 July), and the
    description says so."""
    _, out = whole
    data = (out / "all.ics").read_bytes()
    events = events_of(data)
    assert len(events) > 50
    for event in events.values():
        assert event["CATEGORIES"].split(",")[2] in ("obligation", "right")
        start = event.get("DTSTART") or event["DTSTART;VALUE=DATE"]
        # a day in the contract's zone; an instant is in UTC, a day either side of it at most
        assert "20260517" <= start[:8] <= "20260702", event["SUMMARY"]
    assert "obligations and rights, from 14 days back to 30 days ahead" in description(data)


def test_a_feed_over_the_cap_keeps_the_deadlines_due_soonest_and_says_so(
        whole: tuple[Path, Path], tmp_path: Path) -> None:
    events, uncapped = whole
    out = tmp_path / "feeds"
    _, err = build(events, out, "--max-feed-bytes", "40000")
    data = (out / "all.ics").read_bytes()
    assert len(data) <= 40_000
    full = list(events_of((uncapped / "all.ics").read_bytes()))
    kept = list(events_of(data))
    # the feed's order is due order: what is kept is the beginning of the whole feed
    assert 0 < len(kept) < len(full) and kept == full[:len(kept)]
    left_out = len(full) - len(kept)
    assert f"{left_out} deadline(s) due latest are left out to keep this feed under 40,000 " \
        "bytes" in description(data)
    assert f"all.ics: {left_out} of {len(full)} deadlines, those due latest, left out" in err


def test_an_aggregate_over_the_cap_is_also_written_split_by_agreement(
        whole: tuple[Path, Path], tmp_path: Path) -> None:
    """Each agreement's part is a feed of its own (scope `all:<agreement>`), under the same cap;
    together the parts hold every deadline the whole aggregate would. Once the aggregate fits
    again, the parts are removed."""
    events, uncapped = whole
    out = tmp_path / "feeds"
    assert (uncapped / "all.ics").stat().st_size > 300_000  # and bcr's part is under 100 kB
    build(events, out, "--max-feed-bytes", "120000")
    assert (out / "all.ics").stat().st_size <= 120_000
    parts = sorted((out / "agreements").glob("*/all.ics"))
    assert [p.parent.name for p in parts] == ["aircall", "bcr", "freshhawk-enterprise",
                                              "freshhawk-standard", "openmethods", "zuper"]
    assert all(p.stat().st_size <= 120_000 for p in parts)
    found: set[str] = set()
    for part in parts:
        events_in = events_of(part.read_bytes())
        assert {e["CATEGORIES"].split(",")[0] for e in events_in.values()} <= {part.parent.name}
        found |= set(events_in)
    assert found == set(events_of((uncapped / "all.ics").read_bytes()))
    # a token can name a part
    _, record = TokenStore.load(tmp_path / "tokens.json").create("all:bcr")
    assert record.scope == "all:bcr"
    stdout, _ = build(events, out, "--max-feed-bytes", "0")
    assert not list((out / "agreements").glob("*/*.ics"))
    assert "the aggregate fits whole again; its split is removed" in stdout


def test_a_contract_feed_over_the_cap_is_cut_too(whole: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    events, uncapped = whole
    out = tmp_path / "feeds"
    build(events, out, "--max-feed-bytes", "30000")
    feed = out / "contracts" / "vela-zuper-0.ics"
    data = feed.read_bytes()
    assert len(data) <= 30_000
    assert "`deadlines status` lists every deadline" in description(data)
    full = list(events_of((uncapped / "contracts" / "vela-zuper-0.ics").read_bytes()))
    assert list(events_of(data)) == full[:len(events_of(data))]


def test_an_unknown_agreement_scope_is_refused_for_a_token(tmp_path: Path) -> None:
    store = TokenStore.load(tmp_path / "tokens.json")
    for scope in ("all:", "all:BCR", "everything:bcr", "all:../x"):
        with pytest.raises(Exception, match="is not a feed scope"):
            store.create(scope)
