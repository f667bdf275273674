"""Feed tests: three parsers, a byte lint, determinism, SEQUENCE, withdrawal, statuses, escaping.

Everything is built into pytest's tmp dirs; nothing is written into the repository. The lint and
parser helpers live in tests/feedcheck.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedcheck as fc
import pytest
from click.testing import CliRunner
from folders import snapshot

from deadlines import api
from deadlines.build import BuildReport
from deadlines.cli import cli
from deadlines.eventlog import load
from deadlines.feedpolicy import AGGREGATE_DAYS_AHEAD, AGGREGATE_PAST_DAYS
from deadlines.store import StoreReader
from deadlines.tracking import Tracked, track

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
EVENTS = ROOT / "events"
AS_OF = "2026-06-01"
AS_OF_DT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # what --as-of 2026-06-01 means
SAMPLE_FEEDS = sorted(SAMPLES.glob("*/expected/**/*.ics"))
# a small customer-side contract for the hand-made logs below
SMALL_CONTRACT = {"id": "wd", "agreement": "freshhawk-standard", "start": "2026-01-05",
                  "role": "customer", "name": "Small test contract", "reminders": ["7d", "1d"]}


def build(events: Path, out: Path, as_of: str = AS_OF) -> BuildReport:
    return api.build(str(events), str(out), as_of=api.parse_as_of(as_of))


def feeds_in(out: Path) -> dict[str, bytes]:
    """Every feed of a build by its path under `out`: all.ics, contracts/<id>.ics, ..."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("**/*.ics"))}


def _entry(event: dict[str, object]) -> str:
    """One list item of a log's `events:`, each value as a JSON string (valid YAML)."""
    lines = [("  - " if i == 0 else "    ") + f"{key}: {json.dumps(value, ensure_ascii=False)}"
             for i, (key, value) in enumerate(event.items())]
    return "\n".join(lines) + "\n"


def write_log(directory: Path, contract: dict[str, object], events: list[dict[str, object]]
              ) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{contract['id']}.yaml"
    text = "contract:\n" + "".join(f"  {key}: {json.dumps(value, ensure_ascii=False)}\n"
                                    for key, value in contract.items())
    text += "events:\n" + "".join(_entry(e) for e in events)
    path.write_text(text, encoding="utf-8")
    return path


def append_events(path: Path, events: list[dict[str, object]]) -> None:
    """Append entries to a log as `deadlines record` would: at the end, nothing removed."""
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join(_entry(e) for e in events), encoding="utf-8")


def copy_sample_log(agreement: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (src,) = (SAMPLES / agreement / "events").glob("*.yaml")
    return Path(shutil.copy(src, dest / src.name))


def tracked_for(log_path: Path, rule: str, trigger: str, as_of: datetime = AS_OF_DT) -> Tracked:
    matches = [t for t in track(load(log_path), as_of)
               if t.deadline.rule.id == rule and t.trigger is not None
               and t.trigger.id == trigger]
    assert len(matches) == 1, matches
    return matches[0]


def stamps(data: bytes) -> dict[str, tuple[str | None, str | None, str | None]]:
    """UID -> (SEQUENCE, LAST-MODIFIED, DTSTAMP) as written."""
    return {uid: (e.value("SEQUENCE"), e.value("LAST-MODIFIED"), e.value("DTSTAMP"))
            for uid, e in fc.vevents(data).items()}


def summary(event: fc.Component) -> str:
    return fc.unescape_text(event.value("SUMMARY") or "")


@pytest.fixture(scope="module")
def events_feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The feeds built from the repository's events/ directory."""
    if not EVENTS.is_dir() or not any(EVENTS.glob("*.y*ml")):
        pytest.skip("no event logs in events/")
    out = tmp_path_factory.mktemp("events-feeds")
    build(EVENTS, out)
    return feeds_in(out)


@pytest.fixture(scope="module")
def combined_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All six sample logs in one directory (one build, several contracts in all.ics)."""
    directory = tmp_path_factory.mktemp("combined-events")
    for agreement_dir in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        copy_sample_log(agreement_dir.name, directory)
    return directory


# --------------------------------------------------------------------------------------------
# Parsers and lint over every sample feed and the feeds built from events/


def test_there_are_sample_feeds() -> None:
    assert len(SAMPLE_FEEDS) == 24  # 6 samples x (contract, all, ours, theirs)


@pytest.mark.parametrize("path", SAMPLE_FEEDS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_sample_feed_parses_everywhere(path: Path) -> None:
    data = path.read_bytes()
    written = fc.check_parsers(data)
    assert written == len(fc.components(data).sub("VEVENT"))
    # an aggregate holds only what is due within weeks: zuper's theirs.ics is empty (its
    # customer's deadlines are in 2027), and an empty feed is still a calendar
    assert written > 0 or path.name == "theirs.ics"


@pytest.mark.parametrize("path", SAMPLE_FEEDS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_sample_feed_passes_lint(path: Path) -> None:
    assert fc.lint(path.read_bytes(), AS_OF_DT) == []


def test_events_dir_feeds_parse_and_pass_lint(events_feeds: dict[str, bytes]) -> None:
    assert {"all.ics", "ours.ics", "theirs.ics"} <= set(events_feeds)
    for name, data in events_feeds.items():
        fc.check_parsers(data)
        assert fc.lint(data, AS_OF_DT) == [], name


def test_combined_build_parses_and_passes_lint(combined_events: Path, tmp_path: Path) -> None:
    build(combined_events, tmp_path)
    feeds = feeds_in(tmp_path)
    assert len(feeds) == 6 + 3
    for name, data in feeds.items():
        fc.check_parsers(data)
        assert fc.lint(data, AS_OF_DT) == [], name
    # all.ics holds what someone must act on: from every contract's feed, the obligations and
    # rights (never a limit) due from 14 days back to 30 days ahead, each VEVENT the very bytes
    # of the contract's feed; ours.ics and theirs.ics share them out
    contract_events = {uid: event for name, data in feeds.items() if name.startswith("contracts/")
                       for uid, event in fc.vevents(data).items()}
    aggregated = fc.vevents(feeds["all.ics"])
    assert aggregated and set(aggregated) < set(contract_events)
    for uid, event in aggregated.items():
        assert event == contract_events[uid]
    kinds = {uid: (e.value("CATEGORIES") or "").split(",")[2] for uid, e in
             contract_events.items()}
    assert {kinds[uid] for uid in aggregated} == {"obligation", "right"}
    for uid, event in contract_events.items():
        day = datetime.strptime((event.value("DTSTART") or "")[:8], "%Y%m%d").date()
        well_inside = AS_OF_DT.date() - timedelta(days=AGGREGATE_PAST_DAYS - 1) <= day <= \
            AS_OF_DT.date() + timedelta(days=AGGREGATE_DAYS_AHEAD - 1)
        if kinds[uid] in ("obligation", "right") and well_inside:
            assert uid in aggregated, summary(event)
    ours, theirs = fc.vevents(feeds["ours.ics"]), fc.vevents(feeds["theirs.ics"])
    assert set(ours) | set(theirs) == set(aggregated) and not set(ours) & set(theirs)
    # the per-contract feeds of the combined build are the samples' own feeds, byte for byte
    for agreement_dir in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        (log,) = (agreement_dir / "events").glob("*.yaml")
        name = f"contracts/{log.stem}.ics"
        assert feeds[name] == (agreement_dir / "expected" / name).read_bytes()


def test_french_feeds_parse_and_pass_lint(combined_events: Path, tmp_path: Path) -> None:
    api.build(str(combined_events), str(tmp_path), as_of=AS_OF_DT, lang="fr")
    feeds = feeds_in(tmp_path)
    assert "Échéances" in feeds["all.ics"].decode("utf-8")
    for name, data in feeds.items():
        fc.check_parsers(data)
        assert fc.lint(data, AS_OF_DT) == [], name


def test_an_empty_feed_is_still_a_valid_calendar(tmp_path: Path) -> None:
    from icalendar import Calendar

    events, out = tmp_path / "events", tmp_path / "out"
    write_log(events, {**SMALL_CONTRACT, "start": "2026-05-30"}, [
        {"id": "d1", "type": "deletion_request", "at": "2026-05-30"}])
    build(events, out)
    data = (out / "ours.ics").read_bytes()
    assert fc.count_vevents(data) == 0
    assert fc.lint(data, AS_OF_DT) == []
    fc.check_parsers(data)
    Calendar.from_ical(data).validate()


def test_sample_feeds_show_every_state() -> None:
    """Across the samples: pending (with alarms), met, late, missed, open rights, withdrawn."""
    seen: set[str] = set()
    alarmed = 0
    for path in SAMPLE_FEEDS:
        for event in fc.vevents(path.read_bytes()).values():
            cats = (event.value("CATEGORIES") or "").split(",")
            seen.add(cats[-1])
            if cats[-1] in ("met", "late", "withdrawn"):
                assert event.value("STATUS") == "CANCELLED"
                assert not event.sub("VALARM")
            if cats[-1] == "pending" and event.sub("VALARM"):
                alarmed += 1
            elif cats[-1] != "pending":
                assert not event.sub("VALARM"), summary(event)
    assert {"pending", "met", "late", "missed", "withdrawn", "open", "closed"} <= seen
    # pending deadlines carry the reminder policy, except reminders that would ring before
    # the trigger itself (a 12-hour support response gets no "7 days before")
    assert alarmed > 20


# --------------------------------------------------------------------------------------------
# The lint itself catches what it should (a clean feed, broken one way at a time)


def _good() -> bytes:
    return (SAMPLES / "freshhawk-enterprise" / "expected" / "contracts"
            / "orbit-freshhawk.ics").read_bytes()


def _duplicate_uid(data: bytes) -> bytes:
    first, second = list(fc.vevents(data))[:2]
    return data.replace(f"UID:{second}".encode(), f"UID:{first}".encode())


def _dtend_equals_dtstart(data: bytes) -> bytes:
    return re.sub(rb"(DTSTART;VALUE=DATE:(\d{8})\r\nDTEND;VALUE=DATE:)\d{8}", rb"\g<1>\g<2>",
                  data, count=1)


MUTATIONS: list[tuple[Callable[[bytes], bytes], str]] = [
    (lambda d: d.replace(b"\r\n", b"\n"), "bare LF"),
    (lambda d: d[:-2], "not terminated by CRLF"),
    (lambda d: d.replace(b"\r\n", b"\r", 1), "bare CR"),
    (lambda d: b"\xef\xbb\xbf" + d, "BOM"),
    (lambda d: d.replace(b"\r\n ", b"", 1), "octets"),
    (lambda d: d.replace(b"\r\n ", b"\r\n\t", 1), "tab"),
    (lambda d: d.replace(b"\xc2\xab", b"\xc2\r\n \xab", 1), "decode"),
    (lambda d: d.replace(b"VERSION:2.0\r\n", b"VERSION:2.0\r\nMETHOD:PUBLISH\r\n"), "METHOD"),
    (lambda d: d.replace(b"VERSION:2.0", b"VERSION:1.0"), "VERSION"),
    (lambda d: d.replace(b"PRODID:", b"X-PRODID:"), "PRODID"),
    (lambda d: d.replace(b"REFRESH-INTERVAL;VALUE=DURATION:", b"REFRESH-INTERVAL:"),
     "REFRESH-INTERVAL"),
    (lambda d: d.replace(b"X-PUBLISHED-TTL:PT6H\r\n", b""), "X-PUBLISHED-TTL"),
    (_dtend_equals_dtstart, "DTEND"),
    (lambda d: d.replace(b"DTSTART:2026", b"DTSTART;TZID=Europe/Paris:2026", 1), "UTC"),
    (lambda d: d.replace(b"Z\r\nDTSTAMP", b"Z\r\nDTEND:20300101T000000Z\r\nDTSTAMP", 1),
     "timed event has a DTEND"),
    (lambda d: d.replace(b"DTSTAMP:2026", b"DTSTAMP:2027", 1), "after the as-of"),
    (lambda d: d.replace(b"LAST-MODIFIED:2026", b"LAST-MODIFIED:2099", 1), "after the as-of"),
    (_duplicate_uid, "used by 2 VEVENTs"),
    (lambda d: d.replace(b"END:VEVENT\r\n", b"", 1), "structure"),
    (lambda d: d.replace(b"Who must act", b"Who\x07must act", 1), "control character"),
    (lambda d: d.replace(b"\r\nDTSTAMP:2026", b"\r\nDTSTAMP:2025", 1), "DTSTAMP differs"),
    (lambda d: d.replace(b"\r\nCREATED:2026", b"\r\nCREATED:2027", 1), "CREATED after"),
    (lambda d: re.sub(rb"\r\nLAST-MODIFIED:\d{8}T\d{6}Z", b"\r\nLAST-MODIFIED:20200101T000000Z",
                      d, count=1), "latest event"),
]


@pytest.mark.parametrize(("mutate", "expected"), MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_lint_catches(mutate: Callable[[bytes], bytes], expected: str) -> None:
    good = _good()
    assert fc.lint(good, AS_OF_DT) == []
    bad = mutate(good)
    assert bad != good
    errors = fc.lint(bad, AS_OF_DT)
    assert any(expected in e for e in errors), errors


def test_lint_catches_a_fold_inside_a_backslash_escape() -> None:
    good = b"\r\n".join([
        b"BEGIN:VCALENDAR", b"VERSION:2.0", b"PRODID:-//x//x//EN",
        b"REFRESH-INTERVAL;VALUE=DURATION:PT6H", b"X-PUBLISHED-TTL:PT6H",
        b"X-WR-CALDESC:a\\", b" ;b", b"END:VCALENDAR", b""])
    assert any("backslash" in e for e in fc.lint(good))


# --------------------------------------------------------------------------------------------
# Determinism: same logs and as-of -> same bytes, whatever the wall clock


def feeds_and_stamps(out: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """What a build leaves that must not depend on the clock: the feeds' bytes and the
    store's stamps (the store's own bytes also record the feed files' inodes)."""
    return feeds_in(out), StoreReader(out).stamps()


def test_builds_at_different_times_are_identical(combined_events: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    build(combined_events, first)
    time.sleep(1.1)  # a different wall-clock second
    build(combined_events, second)
    assert feeds_and_stamps(first) == feeds_and_stamps(second)


def test_rebuild_into_the_same_dir_rewrites_nothing(combined_events: Path,
                                                    tmp_path: Path) -> None:
    report = build(combined_events, tmp_path)
    assert len(report.written) == 9
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}, snapshot(tmp_path)
    time.sleep(1.1)
    again = build(combined_events, tmp_path)
    assert again.written == []
    assert len(again.unchanged) == 9
    assert again.changed_uids == [] and again.added_uids == []
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}, snapshot(tmp_path)
    assert after == before  # same bytes and untouched mtimes, state file included


def test_cli_build_twice_gives_identical_bytes(tmp_path: Path) -> None:
    events = SAMPLES / "zuper" / "events"
    runner = CliRunner()
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(cli, ["build", str(events), "--out", str(out), "--as-of", AS_OF])
        assert result.exit_code == 0, result.output
        outs.append(feeds_in(out))
        time.sleep(1.1)
    assert outs[0] == outs[1]


# --------------------------------------------------------------------------------------------
# SEQUENCE and LAST-MODIFIED move only for a changed deadline


def test_sequence_rises_only_for_the_changed_deadline(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    log = copy_sample_log("freshhawk-enterprise", events)
    build(events, out)
    before = {name: stamps(data) for name, data in feeds_in(out).items()}
    report_rule = tracked_for(log, "incident-report", "incident-1")
    assert report_rule.status == "missed"  # due 30 May

    append_events(log, [{"type": "incident_report_sent", "at": "2026-05-31",
                         "ref": "incident-1", "note": "Report sent a day late"}])
    report = build(events, out)
    assert report.changed_uids == ["orbit-freshhawk/incident-report/incident-1"]
    assert report.added_uids == []
    assert tracked_for(log, "incident-report", "incident-1").status == "late"
    after = {name: stamps(data) for name, data in feeds_in(out).items()}

    for name in before:
        assert set(after[name]) == set(before[name]), name
        for uid, (seq, modified, dtstamp) in after[name].items():
            old_seq, old_modified, old_dtstamp = before[name][uid]
            if uid == report_rule.uid:
                assert (old_seq, seq) == ("0", "1")
                assert modified is not None and old_modified is not None
                assert fc.parse_utc(modified) > fc.parse_utc(old_modified)
                assert fc.parse_utc(modified) <= AS_OF_DT
                assert dtstamp == modified
            else:
                assert (seq, modified, dtstamp) == (old_seq, old_modified, old_dtstamp), uid
    # it shows up as done late, cancelled, with no alarm, in every feed it is in
    feeds = feeds_in(out)
    for name in ("contracts/orbit-freshhawk.ics", "all.ics", "ours.ics"):
        event = fc.vevents(feeds[name])[report_rule.uid]
        assert summary(event).startswith("[DONE LATE] ")
        assert event.value("STATUS") == "CANCELLED"
        assert event.value("SEQUENCE") == "1"
        assert not event.sub("VALARM")
    assert report_rule.uid not in fc.vevents(feeds["theirs.ics"])
    # a third build with nothing new moves nothing
    assert build(events, out).written == []


def test_breach_cured_in_time_changes_the_cure_and_cancels_the_right(tmp_path: Path) -> None:
    """breach_cured closes `cure` and, met in time, withdraws the termination right behind it:
    exactly those two deadlines move to SEQUENCE 1."""
    events, out = tmp_path / "events", tmp_path / "out"
    log = write_log(events, SMALL_CONTRACT, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-25"},
        {"id": "i1", "type": "incident_identified", "at": "2026-05-30T10:00"},
    ])
    build(events, out)
    before = stamps(feeds_in(out)["contracts/wd.ics"])
    append_events(log, [{"type": "breach_cured", "at": "2026-05-29", "ref": "b1"}])
    report = build(events, out)
    assert report.changed_uids == ["wd/cure/b1", "wd/terminate-for-cause/b1"]
    after = feeds_in(out)["contracts/wd.ics"]
    changed = {tracked_for(log, r, "b1").uid for r in ("cure", "terminate-for-cause")}
    for uid, (seq, modified, _) in stamps(after).items():
        if uid in changed:
            assert seq == "1" and modified is not None
            assert fc.parse_utc(modified) > fc.parse_utc(before[uid][1] or "")
        else:
            assert (seq, modified) == before[uid][:2]
    events_after = fc.vevents(after)
    assert summary(events_after[tracked_for(log, "cure", "b1").uid]).startswith("[DONE] ")
    right = events_after[tracked_for(log, "terminate-for-cause", "b1").uid]
    assert summary(right).startswith("[CANCELLED] ") and not right.sub("VALARM")


def test_late_cure_does_not_move_the_termination_right(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    log = copy_sample_log("freshhawk-enterprise", events)
    build(events, out)
    right = tracked_for(log, "terminate-for-cause", "breach-1")
    assert (right.status, right.deadline.due) == ("open", date(2026, 5, 21))
    append_events(log, [{"type": "breach_cured", "at": "2026-05-31", "ref": "breach-1"}])
    report = build(events, out)
    assert tracked_for(log, "cure", "breach-1").status == "late"
    assert tracked_for(log, "terminate-for-cause", "breach-1").deadline.due == date(2026, 5, 21)
    assert report.changed_uids == ["orbit-freshhawk/cure/breach-1"]


def test_uid_survives_a_date_change(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    log = copy_sample_log("freshhawk-enterprise", events)
    build(events, out)
    before = feeds_in(out)
    notice = tracked_for(log, "eol-notice", "eol-plan-1")
    old = fc.vevents(before["contracts/orbit-freshhawk.ics"])[notice.uid]
    assert old.value("DTSTART") == "20260930" and old.value("SEQUENCE") == "0"

    text = log.read_text(encoding="utf-8")
    moved = text.replace("    at: 2027-03-31\n", "    at: 2027-04-30\n")
    assert moved.count("2027-04-30") == 1 and moved != text
    log.write_text(moved, encoding="utf-8")
    report = build(events, out)
    assert report.changed_uids == ["orbit-freshhawk/eol-notice/eol-plan-1"]
    after = feeds_in(out)
    assert tracked_for(log, "eol-notice", "eol-plan-1").uid == notice.uid
    for name in before:
        old_events, new_events = fc.vevents(before[name]), fc.vevents(after[name])
        assert set(old_events) == set(new_events), name
        for uid, event in new_events.items():
            if uid == notice.uid:
                assert event.value("DTSTART") == "20261030"
                assert event.value("DTEND") == "20261031"
                assert event.value("SEQUENCE") == "1"
            else:
                assert event.value("SEQUENCE") == old_events[uid].value("SEQUENCE")
                assert event.value("DTSTART") == old_events[uid].value("DTSTART")


# --------------------------------------------------------------------------------------------
# Withdrawal: CANCELLED for the grace period, then gone



def test_withdrawn_trigger_cancels_then_drops_its_deadlines(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    log = write_log(events, SMALL_CONTRACT, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-25", "note": "Sent to us in error"},
    ])
    build(events, out)
    uids = {tracked_for(log, rule, "b1").uid for rule in ("cure", "terminate-for-cause")}
    first = fc.vevents(feeds_in(out)["contracts/wd.ics"])
    for uid in uids:
        assert first[uid].value("STATUS") == "CONFIRMED"
        assert first[uid].sub("VALARM")
        assert first[uid].value("SEQUENCE") == "0"

    append_events(log, [{"type": "withdrawn", "at": "2026-06-01T09:00", "ref": "b1"}])
    report = build(events, out)
    assert sorted(report.changed_uids) == ["wd/cure/b1", "wd/terminate-for-cause/b1"]
    feeds = feeds_in(out)
    for name in ("contracts/wd.ics", "all.ics"):
        cancelled = fc.vevents(feeds[name])
        for uid in uids:
            event = cancelled[uid]
            assert event.value("STATUS") == "CANCELLED"
            assert summary(event).startswith("[CANCELLED] ")
            assert not event.sub("VALARM")
            assert event.value("SEQUENCE") == "1"
        assert fc.lint(feeds[name], AS_OF_DT) == []
        fc.check_parsers(feeds[name])

    build(events, out, as_of="2026-06-14")  # still inside the 14-day grace period
    assert uids <= set(fc.vevents(feeds_in(out)["contracts/wd.ics"]))
    build(events, out, as_of="2026-07-01")  # 30 days later: gone
    later = feeds_in(out)
    for name, data in later.items():
        assert not uids & set(fc.vevents(data)), name
        fc.check_parsers(data)
        assert fc.lint(data, datetime(2026, 7, 1, 12, tzinfo=UTC)) == [], name
    # the recurring deadlines are still there
    assert fc.count_vevents(later["contracts/wd.ics"]) > 0


def test_withdrawn_in_a_fresh_build_is_cancelled_at_sequence_0(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    log = write_log(events, SMALL_CONTRACT, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-25"},
        {"type": "withdrawn", "at": "2026-05-26", "ref": "b1"},
    ])
    build(events, out)
    event = fc.vevents(feeds_in(out)["contracts/wd.ics"])[tracked_for(log, "cure", "b1").uid]
    assert event.value("STATUS") == "CANCELLED" and event.value("SEQUENCE") == "0"
    assert summary(event).startswith("[CANCELLED] ") and not event.sub("VALARM")


# --------------------------------------------------------------------------------------------
# Statuses, with hand-checked dates


def test_statuses_met_late_missed_pending(tmp_path: Path) -> None:
    """freshhawk-standard, Australia/Melbourne; cure is 30 days, the notice day not counted;
    incident-notice is 24 hours of elapsed time."""
    events = tmp_path / "events"
    log = write_log(events, {"id": "st", "agreement": "freshhawk-standard",
                             "start": "2026-01-05", "role": "customer"}, [
        {"id": "met", "type": "breach_notice", "at": "2026-03-02"},      # due 1 April
        {"id": "late", "type": "breach_notice", "at": "2026-03-10"},     # due 9 April
        {"id": "missed", "type": "breach_notice", "at": "2026-04-15"},   # due 15 May
        {"id": "pending", "type": "breach_notice", "at": "2026-05-20"},  # due 19 June
        {"type": "breach_cured", "at": "2026-04-01", "ref": "met"},      # on the last day
        {"type": "breach_cured", "at": "2026-04-10", "ref": "late"},     # one day after
        # 10:00 AEST on 31 May + 24 h = 10:00 AEST on 1 June = 00:00 UTC on 1 June
        {"id": "inc", "type": "incident_identified", "at": "2026-05-31T10:00"},
        {"id": "inc-met", "type": "incident_identified", "at": "2026-05-20T10:00"},
        {"type": "incident_notified", "at": "2026-05-21T10:00", "ref": "inc-met"},  # exactly
        {"id": "inc-late", "type": "incident_identified", "at": "2026-05-20T11:00"},
        {"type": "incident_notified", "at": "2026-05-21T11:01", "ref": "inc-late"},
    ])
    cases = {"met": (date(2026, 4, 1), "met"), "late": (date(2026, 4, 9), "late"),
             "missed": (date(2026, 5, 15), "missed"), "pending": (date(2026, 6, 19), "pending")}
    for trigger, (due, status) in cases.items():
        t = tracked_for(log, "cure", trigger)
        assert (t.deadline.due, t.status) == (due, status), trigger
        if trigger != "late":  # see test_late_cure_does_not_move_the_termination_right
            right = tracked_for(log, "terminate-for-cause", trigger)
            assert right.deadline.due == due + timedelta(days=1)
    assert tracked_for(log, "terminate-for-cause", "met").status == "withdrawn"
    assert tracked_for(log, "terminate-for-cause", "missed").status == "open"
    assert tracked_for(log, "terminate-for-cause", "pending").status == "pending"

    notice = tracked_for(log, "incident-notice", "inc")
    assert notice.due_end == datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    assert notice.status == "missed"  # as of 12:00 UTC on 1 June
    just_before = tracked_for(log, "incident-notice", "inc", datetime(2026, 5, 31, 23, 59,
                                                                      tzinfo=UTC))
    assert just_before.status == "pending"
    at_due = tracked_for(log, "incident-notice", "inc", datetime(2026, 6, 1, tzinfo=UTC))
    assert at_due.status == "missed"
    assert tracked_for(log, "incident-notice", "inc-met").status == "met"
    assert tracked_for(log, "incident-notice", "inc-late").status == "late"
    # 3 days: 31 May not counted, day 3 is 3 June
    assert tracked_for(log, "incident-report", "inc").deadline.due == date(2026, 6, 3)

    rows = api.status(str(events), as_of=AS_OF_DT, within=timedelta(days=30))
    by_trigger = {(r["rule"], r["trigger"]): r for r in rows}
    assert by_trigger[("cure", "late")]["alert"] == "late"
    assert by_trigger[("cure", "late")]["due"] == "2026-04-09"
    assert by_trigger[("cure", "missed")]["alert"] == "missed"
    assert by_trigger[("cure", "pending")]["alert"] == "due-within"
    assert by_trigger[("incident-notice", "inc")]["due"] == "2026-06-01T10:00:00+10:00"
    assert ("cure", "met") not in by_trigger  # met is not an alert


def test_month_period_clamps_to_the_month_end(tmp_path: Path) -> None:
    """zuper's cure is one month: 31 January + 1 month = 28 February 2026."""
    log = write_log(tmp_path, {"id": "cl", "agreement": "zuper", "start": "2026-01-05"}, [
        {"id": "b", "type": "breach_notice", "at": "2026-01-31"}])
    t = tracked_for(log, "cure", "b")
    assert t.deadline.due == date(2026, 2, 28) and t.status == "missed"


# --------------------------------------------------------------------------------------------
# Text escaping survives all three parsers

NASTY_WORD = ("Ünïcödé🦊" * 25)[:200]
NASTY_NOTE = ("Line one\nEND:VEVENT\nBEGIN:VEVENT\nUID:forged, with commas; semicolons; "
              "a back\\slash, a literal \\n and \\, 🦊 emoji " + NASTY_WORD)


def test_nasty_note_round_trips(tmp_path: Path) -> None:
    assert len(NASTY_WORD) == 200 and " " not in NASTY_WORD
    events, out = tmp_path / "events", tmp_path / "out"
    write_log(events, {"id": "esc", "agreement": "freshhawk-standard", "start": "2026-01-05",
                       "role": "customer"}, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-20", "note": NASTY_NOTE},
        {"type": "breach_cured", "at": "2026-05-28", "ref": "b1", "note": NASTY_NOTE},
    ])
    clean = tmp_path / "clean"
    write_log(clean, {"id": "esc", "agreement": "freshhawk-standard", "start": "2026-01-05",
                      "role": "customer"}, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-20", "note": "plain"},
        {"type": "breach_cured", "at": "2026-05-28", "ref": "b1", "note": "plain"},
    ])
    build(events, out)
    build(clean, tmp_path / "clean-out")
    data = (out / "contracts" / "esc.ics").read_bytes()
    assert fc.lint(data, AS_OF_DT) == []
    # the forged END:VEVENT adds no event: as many as with a plain note
    clean = (tmp_path / "clean-out" / "contracts" / "esc.ics").read_bytes()
    assert fc.check_parsers(data) == fc.count_vevents(clean)
    assert b"\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged" not in data
    carriers = 0
    for parser, texts in fc.descriptions(data).items():
        found = [t for t in texts if NASTY_NOTE in t]
        assert found, f"{parser} did not read the note back unchanged"
        carriers = carriers or len(found)
        assert len(found) == carriers, parser  # every parser finds it in the same events
    # both the trigger line and the fulfilment line carry it
    cure = next(t for t in fc.descriptions(data)["icalendar"] if NASTY_NOTE in t
                and "Fulfilled:" in t)
    assert cure.count(NASTY_NOTE) == 2


# --------------------------------------------------------------------------------------------
# compute --format ics

COMPUTE_ARGS = ["compute", "freshhawk-standard", "incident_identified", "2026-03-02T10:00",
                "--format", "ics"]


def test_compute_ics_parses_and_passes_lint() -> None:
    result = CliRunner().invoke(cli, COMPUTE_ARGS)
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert fc.lint(data) == []
    n = fc.check_parsers(data)
    assert n >= 2  # incident-notice (timed) and incident-report (all-day) at least
    events = fc.vevents(data)
    starts = {fc.unescape_text(e.value("SUMMARY") or ""): e.value("DTSTART")
              for e in events.values()}
    # 10:00 AEDT (UTC+11) on 2 March + 24 hours = 23:00 UTC on 2 March
    assert any(v == "20260302T230000Z" for k, v in starts.items() if "24 hours" in k), starts
    # the one-off file carries no state: every SEQUENCE is 0, stamps come from the data
    assert {e.value("SEQUENCE") for e in events.values()} == {"0"}
    assert {e.value("DTSTAMP") for e in events.values()} == {"20260301T230000Z"}


def test_compute_ics_through_the_real_stdout(tmp_path: Path) -> None:
    """The bytes on a real stdout (no newline translation), via `python -m deadlines`."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "deadlines", *COMPUTE_ARGS],
                          capture_output=True, env=env, cwd=tmp_path, check=True, timeout=120)
    assert proc.stdout == CliRunner().invoke(cli, COMPUTE_ARGS).stdout_bytes
    assert fc.lint(proc.stdout) == []


# --------------------------------------------------------------------------------------------
# Bugs these tests found, now fixed; kept as regression tests


def test_control_characters_in_a_note_do_not_break_the_feed(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    write_log(events, {"id": "cc", "agreement": "freshhawk-standard", "start": "2026-01-05"}, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-20",
         "note": "copied from \x1b[31mthe ticket\x1b[0m"},
    ])
    build(events, out)
    data = (out / "contracts" / "cc.ics").read_bytes()
    assert fc.lint(data, AS_OF_DT) == []
    fc.check_parsers(data)


def test_calendar_name_is_text_escaped(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    name = r"Pine, Cone; and Sons \ Daughters"
    write_log(events, {"id": "nm", "agreement": "freshhawk-standard", "start": "2026-01-05",
                       "name": name}, [{"id": "b1", "type": "breach_notice", "at": "2026-05-20"}])
    build(events, out)
    cal = fc.components((out / "contracts" / "nm.ics").read_bytes())
    escaped = ("Deadlines: " + name).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    assert cal.value("NAME") == escaped
    assert cal.value("X-WR-CALNAME") == escaped


def test_contract_name_with_a_line_break_builds(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "out"
    events.mkdir()
    (events / "nl.yaml").write_text(
        "contract:\n  id: nl\n  agreement: freshhawk-standard\n  start: 2026-01-05\n"
        "  name: |\n    Pine & Co\n    Northern branch\n"
        "events:\n  - {id: b1, type: breach_notice, at: 2026-05-20}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", str(events), "--out", str(out),
                                      "--as-of", AS_OF])
    assert result.exit_code == 0, result.output + result.stderr
    data = (out / "contracts" / "nl.ics").read_bytes()
    assert fc.lint(data, AS_OF_DT) == []
    fc.check_parsers(data)


def test_backdated_withdrawal_is_shown_cancelled_for_the_grace_period(tmp_path: Path) -> None:
    """A withdrawal dated long before the build still reaches subscribers as CANCELLED."""
    from deadlines.recording import record as record_event

    events = tmp_path / "events"
    events.mkdir()
    write_log(events, {"id": "bw", "agreement": "freshhawk-standard", "start": "2026-01-05"}, [
        {"id": "b1", "type": "breach_notice", "at": "2026-05-20"},
    ])
    out = tmp_path / "out"
    api.build(str(events), str(out), as_of=datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert b"STATUS:CONFIRMED" in (out / "contracts" / "bw.ics").read_bytes()
    record_event(events / "bw.yaml", "withdrawn", "2026-05-21", ref="b1")  # backdated
    api.build(str(events), str(out), as_of=datetime(2026, 6, 20, 12, tzinfo=UTC))
    text = (out / "contracts" / "bw.ics").read_bytes().decode().replace("\r\n ", "")
    assert "STATUS:CANCELLED" in text and "[CANCELLED]" in text
    api.build(str(events), str(out), as_of=datetime(2026, 7, 5, 12, tzinfo=UTC))
    assert "STATUS:CANCELLED" not in (out / "contracts" / "bw.ics").read_bytes().decode()
