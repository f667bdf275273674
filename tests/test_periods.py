"""Period arithmetic: named dates in, named dates out, counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from deadlines.calendars import BusinessCalendar, CalendarSpec, SupportSchedule
from deadlines.errors import DeadlinesError
from deadlines.periods import (
    Period,
    Unit,
    add_business_time,
    add_exact,
    add_months,
    count_business_days,
    count_calendar,
    shift,
)

PARIS = ZoneInfo("Europe/Paris")
LA = ZoneInfo("America/Los_Angeles")
MELBOURNE = ZoneInfo("Australia/Melbourne")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("30 days", 30, Unit.DAYS),
        ("1 day", 1, Unit.DAYS),
        ("24 hours", 24, Unit.HOURS),
        ("6 business hours", 6, Unit.BUSINESS_HOURS),
        ("30 business_days", 30, Unit.BUSINESS_DAYS),
        ("6 months", 6, Unit.MONTHS),
        ("1 year", 1, Unit.YEARS),
        ("30 minutes", 30, Unit.MINUTES),
        ("2 weeks", 2, Unit.WEEKS),
        # the short forms people type, accepted by the same parser everywhere
        ("30d", 30, Unit.DAYS),
        ("30 d", 30, Unit.DAYS),
        ("30days", 30, Unit.DAYS),
        ("2w", 2, Unit.WEEKS),
        ("48h", 48, Unit.HOURS),
        ("90min", 90, Unit.MINUTES),
        ("1y", 1, Unit.YEARS),
        ("1 Month", 1, Unit.MONTHS),
    ],
)
def test_period_parse(text: str, amount: int, unit: Unit) -> None:
    assert Period.parse(text) == Period(amount, unit)


@pytest.mark.parametrize("text", ["thirty days", "30", "30 fortnights", "-3 days", "", "3m",
                                  "1.5 days"])
def test_period_parse_refuses(text: str) -> None:
    """One wording, with the forms that are accepted ("3m" could be minutes or months)."""
    with pytest.raises(DeadlinesError) as caught:
        Period.parse(text)
    assert caught.value.message == (
        f"{text!r} is not a period; expected e.g. 30d, 30 days, 2w, 48h, 90min, 1 month, 1y or "
        "30 business days (units: minutes, hours, business hours, business minutes, days, "
        "business days, weeks, months, years)")


@pytest.mark.parametrize("text", ["3 business days", "4 business hours"])
def test_a_span_of_plain_time_refuses_business_units(text: str) -> None:
    """--within and reminders span every contract's calendar at once: plain time only."""
    with pytest.raises(DeadlinesError, match="need a business calendar"):
        Period.parse_span(text)


@pytest.mark.parametrize(
    ("start", "text", "backward", "expected"),
    [
        (datetime(2026, 3, 2, 12, tzinfo=UTC), "7d", False, datetime(2026, 3, 9, 12, tzinfo=UTC)),
        (datetime(2026, 3, 2, 12, tzinfo=UTC), "48h", False, datetime(2026, 3, 4, 12, tzinfo=UTC)),
        (datetime(2026, 3, 2, 12, tzinfo=UTC), "90min", True,
         datetime(2026, 3, 2, 10, 30, tzinfo=UTC)),
        # 1 month before 31 March: there is no 31 February, so 28 February, same time
        (datetime(2026, 3, 31, 9, tzinfo=UTC), "1 month", True,
         datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 1, 31, 9, tzinfo=UTC), "1 month", False,
         datetime(2026, 2, 28, 9, tzinfo=UTC)),
    ],
)
def test_shift_an_instant_by_plain_time(start: datetime, text: str, backward: bool,
                                        expected: datetime) -> None:
    assert shift(start, Period.parse(text), backward) == expected


def days(anchor: date, text: str, backward: bool = False) -> date:
    return count_calendar(anchor, Period.parse(text), backward)[0]


def test_thirty_days_after_2_march_is_1_april() -> None:
    assert days(date(2026, 3, 2), "30 days") == date(2026, 4, 1)


def test_seven_days_before_maintenance_on_10_march_is_3_march() -> None:
    assert days(date(2026, 3, 10), "7 days", backward=True) == date(2026, 3, 3)


def test_two_weeks_is_fourteen_days() -> None:
    assert days(date(2026, 12, 25), "2 weeks") == date(2027, 1, 8)


@pytest.mark.parametrize(
    ("anchor", "months", "expected", "clamped"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28), True),  # no 31 February
        (date(2028, 1, 31), 1, date(2028, 2, 29), True),  # 2028 is a leap year
        (date(2026, 1, 31), 2, date(2026, 3, 31), False),  # from the anchor, not chained
        (date(2026, 8, 31), -6, date(2026, 2, 28), True),  # 6 months before 31 August
        (date(2026, 9, 30), -6, date(2026, 3, 30), False),
        (date(2028, 2, 29), 12, date(2029, 2, 28), True),  # 29 February + 1 year
        (date(2000, 1, 31), 1, date(2000, 2, 29), True),  # 2000 is a leap year
        (date(1900, 1, 31), 1, date(1900, 2, 28), True),  # 1900 is not
        (date(2100, 1, 31), 1, date(2100, 2, 28), True),  # 2100 is not
        (date(2026, 12, 15), 1, date(2027, 1, 15), False),
    ],
)
def test_months_same_day_number_clamped(anchor: date, months: int, expected: date,
                                        clamped: bool) -> None:
    assert add_months(anchor, months) == (expected, clamped)


def test_month_clamp_is_explained() -> None:
    _, steps = count_calendar(date(2026, 1, 31), Period.parse("1 month"), False)
    assert "February 2026 has no day 31" in " ".join(steps)


def test_year_2000_plus_one_year_from_29_february() -> None:
    assert days(date(2000, 2, 29), "1 year") == date(2001, 2, 28)


# --- exact hours across daylight-saving changes ------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Europe/Paris: clocks go forward on 29 March 2026, back on 25 October 2026
        ("2026-03-28T10:00:00+01:00", 24, "2026-03-29T11:00:00+02:00"),
        ("2026-10-24T10:00:00+02:00", 24, "2026-10-25T09:00:00+01:00"),
        ("2026-03-28T10:00:00+01:00", 72, "2026-03-31T11:00:00+02:00"),
    ],
)
def test_hours_are_elapsed_time_in_paris(start: str, hours: int, expected: str) -> None:
    due, _ = add_exact(datetime.fromisoformat(start), Period(hours, Unit.HOURS), PARIS, False)
    assert due.isoformat() == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # America/Los_Angeles: forward on 8 March 2026, back on 1 November 2026
        ("2026-03-07T12:00:00-08:00", "2026-03-08T13:00:00-07:00"),
        ("2026-10-31T12:00:00-07:00", "2026-11-01T11:00:00-08:00"),
    ],
)
def test_hours_are_elapsed_time_in_los_angeles(start: str, expected: str) -> None:
    due, _ = add_exact(datetime.fromisoformat(start), Period(24, Unit.HOURS), LA, False)
    assert due.isoformat() == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Australia/Melbourne: back on 5 April 2026, forward on 4 October 2026
        ("2026-04-04T10:00:00+11:00", "2026-04-05T09:00:00+10:00"),
        ("2026-10-03T10:00:00+10:00", "2026-10-04T11:00:00+11:00"),
    ],
)
def test_hours_are_elapsed_time_in_melbourne(start: str, expected: str) -> None:
    due, steps = add_exact(datetime.fromisoformat(start), Period(24, Unit.HOURS), MELBOURNE,
                           False)
    assert due.isoformat() == expected
    assert "daylight-saving change" in " ".join(steps)


def test_thirty_minutes_within_the_same_hour() -> None:
    due, _ = add_exact(datetime.fromisoformat("2026-03-02T23:45:00+11:00"),
                       Period(30, Unit.MINUTES), MELBOURNE, False)
    assert due.isoformat() == "2026-03-03T00:15:00+11:00"


# --- business days -------------------------------------------------------------------------


def test_thirty_business_days_in_france_skip_easter_monday() -> None:
    cal = BusinessCalendar(CalendarSpec.parse("FR"))
    due, steps = count_business_days(date(2026, 3, 2), 30, cal, False)
    assert due == date(2026, 4, 14)
    assert "6 April (Monday, Easter Monday)" in " ".join(steps)


def test_thirty_business_days_in_victoria_skip_labour_day_and_easter() -> None:
    cal = BusinessCalendar(CalendarSpec.parse("AU-VIC"))
    assert count_business_days(date(2026, 3, 2), 30, cal, False)[0] == date(2026, 4, 16)


def test_business_days_backward() -> None:
    cal = BusinessCalendar(CalendarSpec.parse("FR"))
    # Back from Tuesday 7 April 2026: Monday 6 April is Easter Monday, so day 1 is Friday 3 April.
    assert count_business_days(date(2026, 4, 7), 1, cal, True)[0] == date(2026, 4, 3)


def test_calendar_extra_and_removed_days() -> None:
    spec = CalendarSpec.parse({"country": "FR", "extra": ["2026-03-03"], "removed": ["2026-04-06"]})
    cal = BusinessCalendar(spec)
    assert not cal.is_business_day(date(2026, 3, 3))
    assert cal.is_business_day(date(2026, 4, 6))


def test_brazil_optional_category_includes_carnival() -> None:
    public = BusinessCalendar(CalendarSpec.parse("BR-SP"))
    optional = BusinessCalendar(CalendarSpec.parse(
        {"country": "BR", "subdiv": "SP", "categories": ["public", "optional"]}))
    assert public.is_business_day(date(2026, 2, 17))  # Carnival Tuesday
    assert not optional.is_business_day(date(2026, 2, 17))


def test_unknown_calendar_is_a_clear_error() -> None:
    with pytest.raises(DeadlinesError, match="unknown business calendar 'ZZ'"):
        BusinessCalendar(CalendarSpec.parse("ZZ")).validate()


# --- business hours ------------------------------------------------------------------------


def _bcr_schedule() -> SupportSchedule:
    cal = BusinessCalendar(CalendarSpec.parse("BR-SP"))
    return SupportSchedule.parse(
        "support-hours",
        {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00",
                      "to": "24:00"}]},
        SAO_PAULO, cal)


def test_business_hours_across_a_weekend() -> None:
    # Friday 17 April 2026 23:00: 1 h on Friday, then Monday 20 April 09:00 + 5 h = 14:00.
    start = datetime.fromisoformat("2026-04-17T23:00:00-03:00")
    due, _ = add_business_time(start, Period(6, Unit.BUSINESS_HOURS), _bcr_schedule(), SAO_PAULO)
    assert due.isoformat() == "2026-04-20T14:00:00-03:00"


def test_business_hours_across_a_weekend_and_a_holiday() -> None:
    # Fri 17 April 23:00: 1 h; Mon 20 April 09:00-24:00: 15 h (16 h so far); Tue 21 April is
    # Tiradentes, closed; Wed 22 April 09:00 + 4 h = 13:00.
    start = datetime.fromisoformat("2026-04-17T23:00:00-03:00")
    due, steps = add_business_time(start, Period(20, Unit.BUSINESS_HOURS), _bcr_schedule(),
                                   SAO_PAULO)
    assert due.isoformat() == "2026-04-22T13:00:00-03:00"
    assert "Monday 20 April 2026 from 09:00: 15 h" in " ".join(steps)


def test_business_hours_request_before_opening_starts_at_opening() -> None:
    start = datetime.fromisoformat("2026-03-03T07:30:00-03:00")
    due, _ = add_business_time(start, Period(6, Unit.BUSINESS_HOURS), _bcr_schedule(), SAO_PAULO)
    assert due.isoformat() == "2026-03-03T15:00:00-03:00"


def test_weekly_span_schedule_sunday_night_to_friday() -> None:
    london = ZoneInfo("Europe/London")
    schedule = SupportSchedule.parse(
        "english", {"holidays": False, "windows": [{"from": "sun 22:00", "to": "fri 23:00"}]},
        london, None)
    # Friday 6 March 2026 22:30 GMT: 30 min left on Friday, then from Sunday 22:00 + 1 h 30.
    start = datetime.fromisoformat("2026-03-06T22:30:00+00:00")
    due, _ = add_business_time(start, Period(2, Unit.BUSINESS_HOURS), schedule, london)
    assert due.isoformat() == "2026-03-08T23:30:00+00:00"
