"""Business days come from the `holidays` package itself: its holidays, its weekend (not an
assumed Saturday and Sunday) and the weekend days it declares working days. Months are counted
to the same day number (clamped to a shorter month), always from the anchor.
"""

from __future__ import annotations

from datetime import date

import pytest

from deadlines import api
from deadlines.calendars import BusinessCalendar, CalendarSpec
from deadlines.periods import add_months, count_business_days


def add(when: str, period: str, calendar: str) -> str:
    due, _, _ = api.add(when, period, calendar=calendar)
    assert isinstance(due, date)
    return due.isoformat()


def test_israel_rests_on_friday_and_saturday() -> None:
    """2 business days after Wednesday 4 March 2026 in Israel: Thursday 5 March is day 1,
    Friday 6 and Saturday 7 are the weekend, Sunday 8 March is day 2 (a working day there)."""
    assert add("2026-03-04", "2 business days", "IL") == "2026-03-08"
    calendar = BusinessCalendar(CalendarSpec.parse("IL"))
    assert calendar.closed_reason(date(2026, 3, 6)) == "Friday"
    assert calendar.closed_reason(date(2026, 3, 8)) is None
    assert calendar.label == "IL"  # the country's own weekend needs no saying


def test_china_works_the_saturday_it_moves_a_holiday_from() -> None:
    """Spring Festival 2026: Saturday 14 February is a working day (its day off moves to Friday
    20 February). 2 business days after Thursday 12 February: Friday 13 is day 1, Saturday 14
    is day 2. Read as an ordinary Saturday it would be Tuesday 24 February (16-20 February are
    holidays or the moved days off, 21-22 the weekend, 23 another moved day off)."""
    assert add("2026-02-12", "2 business days", "CN") == "2026-02-14"
    calendar = BusinessCalendar(CalendarSpec.parse("CN"))
    assert calendar.is_business_day(date(2026, 2, 14))
    assert calendar.closed_reason(date(2026, 2, 21)) == "Saturday"


def test_a_weekend_set_by_hand_replaces_the_countrys() -> None:
    """{country: IL, weekend: [sat, sun]}: Friday 6 March 2026 is a business day, so 2 business
    days after Wednesday 4 March end on Friday 6 March; the label says so."""
    spec = CalendarSpec.parse({"country": "IL", "weekend": ["sat", "sun"]})
    assert spec.weekend == frozenset({5, 6})
    assert BusinessCalendar(spec).is_business_day(date(2026, 3, 6))
    due, _ = count_business_days(date(2026, 3, 4), 2, BusinessCalendar(spec), backward=False)
    assert due == date(2026, 3, 6)
    french_week = CalendarSpec.parse({"country": "FR", "weekend": ["sun"]})
    assert french_week.label == "FR (days off: Sun)"


def test_the_shipped_calendars_keep_saturday_and_sunday() -> None:
    """Every shipped agreement's calendar rests on Saturday and Sunday in the package too, so
    taking the weekend from it moved no date (tests/test_golden.py checks every one)."""
    for code in ("AU-VIC", "AU-NSW", "US-CA", "US-WA", "US-NY", "BR-SP", "FR", "GB", "CA-ON",
                 "MX"):
        calendar = BusinessCalendar(CalendarSpec.parse(code))
        week = [calendar.is_weekend(date(2026, 3, 2 + n)) for n in range(7)]  # Mon 2 March
        assert week == [False] * 5 + [True, True], code


@pytest.mark.parametrize(("anchor", "months", "due", "clamped"), [
    ("2026-01-31", 1, "2026-02-28", True),   # no 31 February: the month's last day
    ("2028-01-31", 1, "2028-02-29", True),   # a leap year
    ("2026-01-31", 2, "2026-03-31", False),  # from the anchor, not 28 February + 1 month
    ("2026-03-31", -1, "2026-02-28", True),  # backward
    ("2026-12-15", 1, "2027-01-15", False),  # over the year's end
    ("2026-01-15", -13, "2024-12-15", False),
])
def test_months_go_to_the_same_day_number_from_the_anchor(anchor: str, months: int, due: str,
                                                          clamped: bool) -> None:
    assert add_months(date.fromisoformat(anchor), months) == (date.fromisoformat(due), clamped)
