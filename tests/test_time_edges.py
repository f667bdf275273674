"""Time edge cases through the CLI: DST gaps and folds (in `compute` and in an event log's
`at`), and the years 1900, 2000 and 2100 (not leap, leap, not leap).

Every expected date below is counted by hand; the calendar facts each count rests on (which
Sunday the clocks change, how many days February has) are asserted with Python's `calendar`
module next to it, so a wrong premise fails loudly rather than silently agreeing with the code.
"""

from __future__ import annotations

import calendar
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def last_sunday(year: int, month: int) -> int:
    return max(week[calendar.SUNDAY] for week in calendar.monthcalendar(year, month))


def dues(stdout: str) -> dict[str, str]:
    return {d["rule"]: d["due"] for d in json.loads(stdout)["deadlines"]}


# --- DST gap and fold, `deadlines compute` --------------------------------------------------

# Europe/Paris changes on the last Sunday of March (02:00 CET -> 03:00 CEST, at 01:00 UTC) and
# of October (03:00 CEST -> 02:00 CET, at 01:00 UTC). In 2026 those are 29 March and 25 October.
assert last_sunday(2026, 3) == 29 and last_sunday(2026, 10) == 25


def test_a_trigger_in_the_spring_gap_is_read_before_the_change_with_a_warning() -> None:
    # 02:30 on 29 March does not exist. Read with the offset before the change (+01:00) it is
    # 01:30 UTC, which the clocks show as 03:30 CEST (+02:00). incident-notice is 24 hours of
    # real time later: 01:30 UTC on 30 March = 03:30 CEST (+02:00) on 30 March.
    code, out, err = run("compute", "freshhawk-standard", "incident_identified",
                         "2026-03-29T02:30", "--tz", "Europe/Paris", "--format", "json")
    assert code == 0
    assert json.loads(out)["trigger"] == "2026-03-29T03:30:00+02:00"
    assert dues(out)["incident-notice"] == "2026-03-30T03:30:00+02:00"
    warning = err.strip()
    assert warning.startswith("deadlines: warning: ") and len(err.splitlines()) == 1
    assert "02:30 on Sunday 29 March 2026 does not exist in Europe/Paris" in warning
    assert "03:30 CEST (UTC+02:00) = 01:30 UTC" in warning  # the instant used


def test_a_trigger_in_the_autumn_fold_takes_the_first_one_with_a_warning() -> None:
    # 02:30 on 25 October happens twice: 02:30 CEST (+02:00) = 00:30 UTC, then 02:30 CET
    # (+01:00) = 01:30 UTC. The first is used. 24 real hours after 00:30 UTC on 25 October is
    # 00:30 UTC on 26 October = 01:30 CET (+01:00): the wall clock moved 23 hours.
    code, out, err = run("compute", "freshhawk-standard", "incident_identified",
                         "2026-10-25T02:30", "--tz", "Europe/Paris", "--format", "json")
    assert code == 0
    assert json.loads(out)["trigger"] == "2026-10-25T02:30:00+02:00"
    assert dues(out)["incident-notice"] == "2026-10-26T01:30:00+01:00"
    assert "02:30 on Sunday 25 October 2026 occurs twice in Europe/Paris" in err
    assert "the first one was used, Sunday 25 October 2026 02:30 CEST (UTC+02:00) = 00:30 UTC" \
        in err


def test_an_offset_picks_the_second_02_30_without_a_warning() -> None:
    # 02:30+01:00 is the second 02:30 (01:30 UTC); + 24 h = 01:30 UTC on 26 October = 02:30 CET.
    code, out, err = run("compute", "freshhawk-standard", "incident_identified",
                         "2026-10-25T02:30+01:00", "--tz", "Europe/Paris", "--format", "json")
    assert code == 0 and err == ""
    assert dues(out)["incident-notice"] == "2026-10-26T02:30:00+01:00"


# --- the same in an event log's `at`, through `deadlines build` -----------------------------

DST_LOG = """\
contract:
  id: dst
  agreement: freshhawk-standard
  start: 2026-01-15
  timezone: Europe/Paris
  role: customer
  name: DST test
events:
  - id: gap
    type: incident_identified
    at: 2026-03-29T02:30
  - id: fold
    type: incident_identified
    at: 2026-10-25T02:30
"""


def test_gap_and_fold_in_a_log_warn_on_the_stderr_of_build(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "dst.yaml").write_text(DST_LOG, encoding="utf-8")
    out = tmp_path / "feeds"
    # --past-days 400: both incidents (March and October) are inside the window on 1 November
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-11-01",
                       "--past-days", "400")
    assert code == 0
    lines = err.splitlines()
    assert all(line.startswith(f"deadlines: warning: {events / 'dst.yaml'}: ") for line in lines)
    assert any("02:30 on Sunday 29 March 2026 does not exist in Europe/Paris" in line
               and "= 01:30 UTC" in line for line in lines)
    assert any("02:30 on Sunday 25 October 2026 occurs twice in Europe/Paris" in line
               and "= 00:30 UTC" in line for line in lines)
    feed = (out / "contracts" / "dst.ics").read_text(encoding="utf-8")
    # the hour-based due times, in UTC as the feed writes them (counted above): 24 h after
    # 01:30 UTC on 29 March and after 00:30 UTC on 25 October
    assert "DTSTART:20260330T013000Z" in feed
    assert "DTSTART:20261026T003000Z" in feed


# --- 1900, 2000, 2100 -----------------------------------------------------------------------

# Gregorian leap years: divisible by 4, except centuries, except every 400 years.
assert not calendar.isleap(1900) and calendar.isleap(2000) and not calendar.isleap(2100)
assert calendar.monthrange(1900, 2)[1] == 28
assert calendar.monthrange(2000, 2)[1] == 29
assert calendar.monthrange(2100, 2)[1] == 28


@pytest.mark.parametrize("day", ["1900-02-29", "2100-02-29"])
def test_29_february_of_a_century_that_is_not_leap_is_refused(day: str) -> None:
    for args in (("add", day, "1 day"), ("compute", "freshhawk-standard", "breach_notice", day)):
        code, out, err = run(*args)
        assert code == 2 and out == ""
        assert err.splitlines() == [f"deadlines: error: WHEN '{day}' is not a valid date: day "
                                    "is out of range for month"]


@pytest.mark.parametrize("day", ["1900-02-29", "2100-02-29"])
def test_29_february_in_a_log_is_refused_at_its_line(tmp_path: Path, day: str) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "x.yaml").write_text(DST_LOG.replace("2026-10-25T02:30", day), encoding="utf-8")
    code, _, err = run("build", str(events), "--out", str(tmp_path / "out"))
    assert code == 2 and not (tmp_path / "out").exists()
    # DST_LOG's second event's `at` is its 14th line
    assert DST_LOG.splitlines()[13] == "    at: 2026-10-25T02:30"
    assert err.splitlines() == [f"deadlines: error: {events / 'x.yaml'}:14: events[1].at: at "
                                f"'{day}' is not a valid date: day is out of range for month"]


@pytest.mark.parametrize(
    ("when", "period", "due"),
    [
        # 31 January + 1 month: February 1900 has 28 days, so the 31st clamps to the 28th
        ("1900-01-31", "1 month", "1900-02-28"),
        # ... in 2000 it has 29
        ("2000-01-31", "1 month", "2000-02-29"),
        ("2100-01-31", "1 month", "2100-02-28"),
        # the day after 29 February 2000 is 1 March; after 28 February 2100 also 1 March
        ("2000-02-29", "1 day", "2000-03-01"),
        ("2100-02-28", "1 day", "2100-03-01"),
        # 29 February 2000 + 1 year: 2001 has no 29 February, so it clamps to the 28th
        ("2000-02-29", "1 year", "2001-02-28"),
        # 365 days after 1 January: 1 January next year, but 31 December in a leap year
        ("1900-01-01", "365 days", "1901-01-01"),
        ("2000-01-01", "365 days", "2000-12-31"),
    ],
)
def test_plain_arithmetic_at_the_century_edges(when: str, period: str, due: str) -> None:
    code, out, err = run("add", when, period)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == due


@pytest.mark.parametrize(
    ("start", "cure"),
    [
        # 30 days from 1 February, 1 February not counted: February has 28 more days in 2000
        # (2..29), so day 30 is 2 March; in 1900 and 2100 it has 27 more (2..28): 3 March.
        ("2000-02-01", "2000-03-02"),
        ("1900-02-01", "1900-03-03"),
        ("2100-02-01", "2100-03-03"),
    ],
)
def test_a_30_day_rule_across_february(start: str, cure: str) -> None:
    year = int(start[:4])
    left_in_february = calendar.monthrange(year, 2)[1] - 1
    assert cure == f"{year}-03-{30 - left_in_february:02d}"
    code, out, _ = run("compute", "freshhawk-standard", "breach_notice", start, "--format",
                       "json")
    assert code == 0
    assert dues(out)["cure"] == cure


def test_hours_in_1900_paris_mean_time() -> None:
    # Paris kept Paris Mean Time (UTC+00:09:21) until 1911 and had no DST in 1900: 24 hours
    # after 10:00 on 1 March 1900 is 10:00 on 2 March, at the same offset.
    code, out, err = run("compute", "freshhawk-standard", "incident_identified",
                         "1900-03-01T10:00", "--tz", "Europe/Paris", "--format", "json")
    assert code == 0 and err == ""
    assert dues(out)["incident-notice"] == "1900-03-02T10:00:00+00:09:21"


@pytest.mark.parametrize("day", ["1899-12-31", "2200-01-01", "0001-01-01", "9999-12-31"])
def test_days_outside_the_supported_years_are_refused(day: str) -> None:
    code, out, err = run("add", day, "1 day")
    assert code == 2 and out == ""
    assert err.splitlines() == [f"deadlines: error: WHEN '{day}' is outside the years "
                                "1900-2199 that deadlines counts in"]
