"""Text a person wrote (a note, a contract name) survives `deadlines build` intact.

The note and the name carry everything RFC 5545 TEXT escaping is about: a line break followed by
END:VEVENT (an injection attempt), commas, semicolons, backslashes (also before n and ,), an
emoji and a 200-character word (line folding in the middle of a multi-byte character). Each
comes out as one DESCRIPTION / SUMMARY property that parsers read back unchanged. A SUMMARY (and
the calendar name) is one line by design, so there the name's line break reads back as a space.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deadlines.cli import cli
from deadlines.feeds import clean_text, one_line

LONG_WORD = "Supercalifragilistic" * 10  # 200 characters, no space to fold at
assert len(LONG_WORD) == 200
NOTE = ("First line\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:injected, with commas; semicolons; "
        "a back\\slash, \\n and \\, and \\; literally, an emoji 😀 and " + LONG_WORD)
NAME = ("Acme, Inc.; R\\D 😀 " + LONG_WORD + "\nEND:VEVENT")
NAME_ONE_LINE = " ".join(NAME.split())  # what a one-line SUMMARY / calendar name carries

# A rulebook with one trigger and two rules, so that the count of VEVENTs is plain.
RULEBOOK = """\
id: escaping-test
name: Escaping test agreement
governing_law: {name: Nowhere}
parties: {provider: the provider, customer: the customer}
sides: [customer, provider]
timezone: Europe/Paris
calendar: FR
events:
  breach_notice: A written breach notice was received.
rules:
  - id: cure
    title: Cure period
    event: breach_notice
    period: 30 days
    actor: provider
    action: Remedy the breach.
    clause: "1"
    lines: [1]
    quote: "trente jours"
  - id: acknowledge
    title: Acknowledge the notice
    event: breach_notice
    period: 24 hours
    actor: customer
    action: Acknowledge receipt.
    clause: "2"
    lines: [2]
    quote: "vingt-quatre heures"
"""

# Two triggers, each setting off both rules: 4 deadlines. With --as-of 2026-06-01 and the
# default window (60 days back, 12 months ahead: 2 April 2026 to 1 June 2027) all four are in:
#   breach-1 at 2026-05-04 10:00 Paris: acknowledge 2026-05-05 10:00, cure 2026-06-03
#   breach-2 at 2026-05-20:             acknowledge 2026-05-21 00:00, cure 2026-06-19
# The contract's feed and all.ics hold 4 VEVENTs; ours.ics (role customer) the 2 acknowledge,
# theirs.ics the 2 cure deadlines.
EXPECTED_COUNTS = {"contracts/esc.ics": 4, "all.ics": 4, "ours.ics": 2, "theirs.ics": 2}


def _build(tmp_path: Path) -> Path:
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "escaping.yaml").write_text(RULEBOOK, encoding="utf-8")
    log = {
        "contract": {"id": "esc", "agreement": "../books/escaping.yaml", "start": "2026-01-01",
                     "role": "customer", "name": NAME},
        "events": [
            {"id": "breach-1", "type": "breach_notice", "at": "2026-05-04T10:00", "note": NOTE},
            {"id": "breach-2", "type": "breach_notice", "at": "2026-05-20"},
        ],
    }
    events = tmp_path / "events"
    events.mkdir()
    (events / "esc.yaml").write_text(yaml.safe_dump(log, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    out = tmp_path / "feeds"
    # the aggregates' window opened to the feed's 60 days back, so that all four are in it
    result = CliRunner().invoke(cli, ["build", str(events), "--out", str(out),
                                      "--as-of", "2026-06-01", "--aggregate-past-days", "60"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("escaping"))


def test_the_log_round_trips_the_nasty_text_through_yaml(tmp_path: Path) -> None:
    """The input really holds the text (the YAML dump did not alter it)."""
    _build(tmp_path)
    data = yaml.safe_load((tmp_path / "events" / "esc.yaml").read_text(encoding="utf-8"))
    assert data["events"][0]["note"] == NOTE
    assert data["contract"]["name"] == NAME


@pytest.mark.parametrize(("feed", "count"), sorted(EXPECTED_COUNTS.items()))
def test_no_injected_component_and_the_expected_count(feeds: Path, feed: str, count: int
                                                      ) -> None:
    raw = (feeds / feed).read_bytes()
    lines = raw.decode("utf-8").split("\r\n")
    # Only the real component boundaries are lines of their own: the note's END:VEVENT and
    # BEGIN:VEVENT are inside an escaped (and possibly folded) DESCRIPTION value.
    assert lines.count("BEGIN:VEVENT") == count
    assert lines.count("END:VEVENT") == count
    assert not any(line.startswith("SUMMARY:injected") for line in lines)
    # RFC 5545 3.1: content lines are folded at 75 octets
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)


def _expected_summaries() -> set[str]:
    return {f"Cure period - {NAME_ONE_LINE}", f"Acknowledge the notice - {NAME_ONE_LINE}"}


def _check(events: list[tuple[str, str]], count: int) -> None:
    """(summary, description) pairs as a parser read them back."""
    assert len(events) == count
    for summary, _description in events:
        prefix = summary.split("]", 1)[1].lstrip() if summary.startswith("[") else summary
        assert prefix in _expected_summaries(), summary
    noted = [d for _, d in events if "breach-1" in d]
    plain = [d for _, d in events if "breach-2" in d]
    assert noted and plain and len(noted) + len(plain) == count
    for description in noted:
        assert f" - {NOTE}\n" in description, description
    for description in plain:
        assert NOTE not in description


@pytest.mark.parametrize(("feed", "count"), sorted(EXPECTED_COUNTS.items()))
def test_icalendar_reads_the_text_back_unchanged(feeds: Path, feed: str, count: int) -> None:
    from icalendar import Calendar

    cal = Calendar.from_ical((feeds / feed).read_bytes())
    events = [(str(e["SUMMARY"]), str(e["DESCRIPTION"])) for e in cal.walk("VEVENT")]
    _check(events, count)
    for component in cal.walk("VEVENT"):  # one property each, not a list of several
        assert not isinstance(component["SUMMARY"], list)
        assert not isinstance(component["DESCRIPTION"], list)
    if feed == "contracts/esc.ics":
        # icalendar keeps NAME and X-WR-CALNAME raw (untyped in a VCALENDAR): unescape them
        for prop in ("NAME", "X-WR-CALNAME"):
            assert _unescape(str(cal[prop])) == f"Deadlines: {NAME_ONE_LINE}"


def _unescape(raw: str) -> str:
    """RFC 5545 3.3.11 TEXT: \\\\ \\; \\, \\n (and \\N) stand for \\ ; , and a line break."""
    out, chars = [], iter(raw)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in ("n", "N") else nxt)
        else:
            out.append(char)
    return "".join(out)


@pytest.mark.parametrize(("feed", "count"), sorted(EXPECTED_COUNTS.items()))
def test_vobject_reads_the_text_back_unchanged(feeds: Path, feed: str, count: int) -> None:
    vobject = pytest.importorskip("vobject")
    cal = vobject.readOne((feeds / feed).read_text(encoding="utf-8"))
    vevents = getattr(cal, "vevent_list", [])
    for vevent in vevents:
        assert len(vevent.contents["summary"]) == 1
        assert len(vevent.contents["description"]) == 1
    _check([(v.summary.value, v.description.value) for v in vevents], count)


@pytest.mark.parametrize(("feed", "count"), sorted(EXPECTED_COUNTS.items()))
def test_ical_reads_the_text_back_unchanged(feeds: Path, feed: str, count: int) -> None:
    pytest.importorskip("ical")
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics((feeds / feed).read_text(encoding="utf-8"))
    _check([(e.summary or "", e.description or "") for e in cal.events], count)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(" \t\n\r\x00\x0b\xa0\u2009\u2028ab«é"),
                    max_size=12) | st.text(max_size=40))
def test_one_line_is_the_words_of_the_cleaned_text_joined_by_one_space(text: str) -> None:
    """A summary or a name on one line: its fast path (a printable text that already has
    single spaces only, returned as it is) gives what splitting and joining would."""
    assert one_line(text) == " ".join(clean_text(text).split())
