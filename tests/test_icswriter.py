"""The direct VEVENT writer against icalendar's component model, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from deadlines import api
from deadlines.build import build
from deadlines.feeds import Entry, FeedOptions, calendar_head, event_bytes, event_component
from deadlines.icswriter import duration, escape_text, fold, utc_stamp
from deadlines.state import Stamp

ROOT = Path(__file__).resolve().parents[1]
STAMP = Stamp("h", 3, datetime(2026, 5, 2, 8, 30, tzinfo=UTC),
              datetime(2026, 4, 1, tzinfo=UTC))


def entry(summary: str, description: str, start: date | datetime,
          alarms: tuple[tuple[timedelta, str], ...] = ()) -> Entry:
    return Entry("0123456789abcdef01234567@deadlines", "k", summary, description, start, False,
                 ("freshhawk-standard", "ours", "obligation", "pending"), alarms,
                 datetime(2026, 5, 1, tzinfo=UTC), True, "c")


def reference(item: Entry) -> bytes:
    data: bytes = event_component(item, STAMP).to_ical(sorted=True)
    return data


def test_every_sample_and_example_feed_is_the_same_with_either_writer(tmp_path: Path) -> None:
    sources = [(ROOT / "events", "2026-11-26")] + [
        (d / "events", "2026-06-01") for d in sorted((ROOT / "samples").iterdir()) if d.is_dir()]
    for events, as_of in sources:
        moment = api.parse_as_of(as_of)
        fast, slow = tmp_path / events.parent.name / "fast", tmp_path / events.parent.name / "slow"
        build(events, fast, moment)
        build(events, slow, moment, FeedOptions(writer="icalendar"))
        feeds = sorted(p.relative_to(fast) for p in fast.rglob("*.ics"))
        assert len(feeds) >= 4
        for name in feeds:
            assert (fast / name).read_bytes() == (slow / name).read_bytes(), (events, name)


# Text a person may write: every Unicode plane, escapes, line breaks, long words. A literal
# backslash-N is left out here: icalendar turns it into a line break, this writer keeps it.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=400,
).filter(lambda t: "\\N" not in t)


@settings(max_examples=300, deadline=None)
@given(summary=texts, description=texts, alarm=texts, days=st.integers(0, 3000),
       hours=st.integers(0, 23), timed=st.booleans())
def test_same_bytes_as_icalendar(summary: str, description: str, alarm: str, days: int,
                                 hours: int, timed: bool) -> None:
    start: date | datetime = date(2026, 1, 1) + timedelta(days=days)
    if timed:
        start = datetime(2026, 1, 1, hours, tzinfo=UTC) + timedelta(days=days)
    item = entry(summary, description, start,
                 ((-timedelta(days=7), alarm), (-timedelta(hours=hours or 1), alarm)))
    assert event_bytes(item, STAMP) == reference(item)


@settings(max_examples=200, deadline=None)
@given(name=texts, note=texts, hours=st.integers(1, 48), stamped=st.booleans(),
       empty=st.booleans(), lang=st.sampled_from(["en", "fr"]))
def test_the_calendar_head_is_the_same_as_icalendar_writes(name: str, note: str, hours: int,
                                                          stamped: bool, empty: bool,
                                                          lang: str) -> None:
    """A feed's head (every property before the first event), written directly once per feed,
    is what icalendar's Calendar writes."""
    modified = datetime(2026, 5, 2, 8, 30, tzinfo=UTC) if stamped else None
    direct, reference = (
        calendar_head(name, "all", FeedOptions(refresh=timedelta(hours=hours), lang=lang,
                                               writer=writer), modified, note, empty=empty)
        for writer in ("direct", "icalendar"))
    assert direct == reference


@pytest.mark.parametrize("text", ["\ufeff", "\ufeffReminder", "\ufeff\ufeffx", "x\ufeff"])
def test_a_leading_byte_order_mark_is_written_as_icalendar_writes_it(text: str) -> None:
    """icalendar drops one leading U+FEFF from a text value; the direct writer does the same
    (found by test_same_bytes_as_icalendar)."""
    item = entry(text, text, date(2026, 3, 2), ((-timedelta(days=7), text),))
    assert event_bytes(item, STAMP) == reference(item)


def test_a_literal_backslash_n_survives() -> None:
    """icalendar writes C:\\New as C:\\new, which reads back as a line break; we do not."""
    item = entry("Path C:\\New folder", "See C:\\New folder\\Notes, line\nbreak", date(2026, 3, 2))
    data = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + event_bytes(item, STAMP) + \
        b"END:VCALENDAR\r\n"
    event = Calendar.from_ical(data).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Path C:\\New folder"
    assert str(event["DESCRIPTION"]) == "See C:\\New folder\\Notes, line\nbreak"


def test_fold_never_splits_a_character_or_an_escape() -> None:
    line = ("DESCRIPTION:" + "é" * 40 + "\\," + "😀" * 30).encode()
    folded = fold(line)
    for part in folded.split(b"\r\n "):
        assert len(part) <= 74
        part.decode("utf-8")  # whole characters only
        assert not part.endswith(b"\\")
    assert folded.replace(b"\r\n ", b"") == line


def test_durations() -> None:
    assert duration(-timedelta(days=7)) == "-P7D"
    assert duration(-timedelta(hours=2)) == "-PT2H"
    assert duration(-timedelta(weeks=1)) == "-P7D"
    assert duration(timedelta(minutes=30)) == "PT30M"


@pytest.mark.parametrize("moment", [datetime(2026, 5, 2, 8, 30, 7, tzinfo=UTC),
                                    datetime(999, 1, 2, 3, 4, 5), datetime(1, 1, 1),
                                    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)])
def test_utc_stamps_are_what_strftime_writes(moment: datetime) -> None:
    assert utc_stamp(moment) == f"{moment:%Y%m%dT%H%M%SZ}"


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                           timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"),
                                                      ZoneInfo("America/Sao_Paulo")])))
def test_a_remembered_utc_stamp_is_never_written_for_another_zone(moment: datetime) -> None:
    """utc_stamp remembers the text of UTC instants only: the same instant in another zone (or
    one hour of a clock change, told apart by fold) is written from its own fields."""
    utc = moment.astimezone(UTC)
    for each in (utc, moment, utc, moment, moment.replace(fold=1 - moment.fold)):
        assert utc_stamp(each) == f"{each:%Y%m%dT%H%M%SZ}"


@settings(max_examples=300, deadline=None)
@given(summary=texts, description=texts, alarm=texts, days=st.integers(-3000, 3000),
       cancelled=st.booleans(), alarms=st.integers(0, 3))
def test_the_hashed_content_is_what_json_dumps_writes(summary: str, description: str,
                                                      alarm: str, days: int, cancelled: bool,
                                                      alarms: int) -> None:
    """A stored content hash must never change: the text hashed, written directly, is
    json.dumps of the same material."""
    item = entry(summary, description, date(2026, 1, 1) + timedelta(days=days),
                 tuple((-timedelta(days=n, hours=n), alarm) for n in range(alarms)))
    item.cancelled = cancelled
    material = [item.summary, item.description, item.start.isoformat(), item.cancelled,
                list(item.categories), [(str(t), d) for t, d in item.alarms]]
    assert item.hashed_text() == json.dumps(material, ensure_ascii=False)


@pytest.mark.parametrize("uid", ["0123456789abcdef01234567@deadlines", "a,b;c\\d@x,y@z",
                                 "\ufeffno-at-sign", "@\ufeff;", "x\r\ny@d"])
def test_an_alarm_uid_is_the_escaped_event_uid_with_its_number(uid: str) -> None:
    """The writer escapes the event's UID once and splits it at its first "@": the same
    text as escaping each alarm's UID on its own."""
    item = entry("s", "d", date(2026, 3, 2), ((-timedelta(days=7), "r"), (-timedelta(days=1), "r")))
    item.uid = uid
    base, _, domain = uid.partition("@")
    lines = event_bytes(item, STAMP).decode().replace("\r\n ", "").split("\r\n")
    assert [line for line in lines if line.startswith("UID:")][1:] == [
        f"UID:{escape_text(f'{base}-alarm-{n}@{domain}')}" for n in range(2)]
