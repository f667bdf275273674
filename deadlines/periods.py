"""Period arithmetic: pure functions from an anchor and a period to a due date, with a trace.

The conventions (see DESIGN.md, "How time is counted"):
- days, weeks, months, years: the anchor day is not counted; the period ends with the whole of
  its last day in the contract's zone. Months and years go to the same day number, computed from
  the anchor (never chained month by month) and clamped to the end of a shorter month.
- minutes and hours: exact elapsed time, added in UTC and shown in the contract's zone.
- business days: counted on a business calendar; business hours: inside a support schedule.
- "before" counts backward from a target the same way.

Every function returns the due value and the plain-words steps that produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .errors import DeadlinesError

if TYPE_CHECKING:
    from .calendars import BusinessCalendar, SupportSchedule

MAX_BUSINESS_DAYS = 10_000


class Unit(Enum):
    MINUTES = "minutes"
    HOURS = "hours"
    BUSINESS_HOURS = "business hours"
    BUSINESS_MINUTES = "business minutes"
    DAYS = "days"
    BUSINESS_DAYS = "business days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"

    @property
    def is_exact(self) -> bool:
        """Counted as elapsed time from an instant, not in whole days."""
        return self in (Unit.MINUTES, Unit.HOURS, Unit.BUSINESS_HOURS, Unit.BUSINESS_MINUTES)

    @property
    def is_business_time(self) -> bool:
        """Counted only inside a support schedule's open windows."""
        return self in (Unit.BUSINESS_HOURS, Unit.BUSINESS_MINUTES)


_UNIT_WORDS = {
    "minute": Unit.MINUTES,
    "minutes": Unit.MINUTES,
    "min": Unit.MINUTES,
    "mins": Unit.MINUTES,
    "hour": Unit.HOURS,
    "hours": Unit.HOURS,
    "h": Unit.HOURS,
    "business hour": Unit.BUSINESS_HOURS,
    "business hours": Unit.BUSINESS_HOURS,
    "business minute": Unit.BUSINESS_MINUTES,
    "business minutes": Unit.BUSINESS_MINUTES,
    "day": Unit.DAYS,
    "days": Unit.DAYS,
    "d": Unit.DAYS,
    "calendar day": Unit.DAYS,
    "calendar days": Unit.DAYS,
    "business day": Unit.BUSINESS_DAYS,
    "business days": Unit.BUSINESS_DAYS,
    "week": Unit.WEEKS,
    "weeks": Unit.WEEKS,
    "w": Unit.WEEKS,
    "month": Unit.MONTHS,
    "months": Unit.MONTHS,
    "year": Unit.YEARS,
    "years": Unit.YEARS,
    "y": Unit.YEARS,
}
# "<number> <unit>" or "<number><short unit>": 30 days, 30d, 2w, 48h, 90min, 1 month, 1y
_PERIOD_RE = re.compile(r"^\s*(\d{1,6})\s*([a-z _]+?)\s*$")
PERIOD_FORMS = ("30d, 30 days, 2w, 48h, 90min, 1 month, 1y or 30 business days (units: minutes, "
                "hours, business hours, business minutes, days, business days, weeks, months, "
                "years)")
# The units of a span of plain time (status --within, reminders): no business calendar needed.
SPAN_UNITS = (Unit.MINUTES, Unit.HOURS, Unit.DAYS, Unit.WEEKS, Unit.MONTHS, Unit.YEARS)


@dataclass(frozen=True)
class Period:
    """An amount of a unit: 30 days, 2 weeks, 6 business hours."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Period:
        """The one parser of every period a person writes (rulebooks, `add`, `--within`,
        reminders): "30 days", "30d", "2w", "48h", "6 business hours", "1 month"."""
        match = _PERIOD_RE.match(str(text).lower().replace("_", " "))
        unit = _UNIT_WORDS.get(" ".join(match.group(2).split())) if match else None
        if match is None or unit is None:
            raise DeadlinesError(f"{text!r} is not a period; expected e.g. {PERIOD_FORMS}")
        return cls(int(match.group(1)), unit)

    @classmethod
    def parse_span(cls, text: str) -> Period:
        """A period of plain time, counted without a business calendar (`status --within`,
        reminders): every unit but business days and business hours."""
        period = cls.parse(text)
        if period.unit not in SPAN_UNITS:
            raise DeadlinesError(f"{text!r}: {period.unit.value} need a business calendar; "
                                 "expected plain time such as 14d, 2w, 48h or 1 month")
        if period.approx_days() > MAX_SPAN_DAYS:
            # a window or a reminder of centuries is a typo, and would leave the calendar
            raise DeadlinesError(f"{text!r}: expected at most 10 years")
        return period

    def approx_days(self) -> float:
        """About how many days the period spans (a month as 31 days): for bounds only."""
        per_unit = {Unit.MINUTES: 1 / 1440, Unit.HOURS: 1 / 24, Unit.DAYS: 1, Unit.WEEKS: 7,
                    Unit.MONTHS: 31, Unit.YEARS: 366}
        return self.amount * per_unit.get(self.unit, 1)

    def __str__(self) -> str:
        word = self.unit.value
        if self.amount == 1:
            word = word[:-1]
        return f"{self.amount} {word}"


MAX_SPAN_DAYS = 3_660  # `status --within` and reminders: 10 years at most


def shift(instant: datetime, period: Period, backward: bool = False) -> datetime:
    """An instant plus (or minus) a span of plain time, on the clock of the instant's zone:
    minutes, hours, days and weeks as a time difference; months and years to the same day
    number and time, clamped to the end of a shorter month (1 month before 31 March 10:00 is
    28 or 29 February 10:00)."""
    sign = -1 if backward else 1
    if period.unit in (Unit.MONTHS, Unit.YEARS):
        months = period.amount * (12 if period.unit is Unit.YEARS else 1)
        day, _ = add_months(instant.date(), sign * months)
        return datetime.combine(day, instant.timetz())
    minutes = {Unit.MINUTES: 1, Unit.HOURS: 60, Unit.DAYS: 1440, Unit.WEEKS: 10080
               }.get(period.unit)
    if minutes is None:
        raise DeadlinesError(f"{period} needs a business calendar")
    try:
        return instant + sign * timedelta(minutes=period.amount * minutes)
    except OverflowError:
        raise DeadlinesError(f"{period} from {instant:%Y-%m-%d} is outside years 1-9999"
                             ) from None


# ---------------------------------------------------------------------------------------------
# Formatting helpers shared by every trace.


# The formatting and day arithmetic below run hundreds of thousands of times in a portfolio build
# (every trace names its days), on a few thousand distinct days. They are pure functions of
# their arguments (the locale that names days and months is not changed while the process
# runs, and a ZoneInfo's rules are fixed once loaded), so each is memoised on exactly those
# arguments. Only plain dates are memoised: two aware datetimes in different zones compare
# equal when they are the same instant, so they would share an entry; anything else is
# computed each time. The caches are bounded and start empty (nothing is built at import).


def fmt_day(d: date) -> str:
    """'Wednesday 1 April 2026'."""
    return _fmt_day(d) if type(d) is date else f"{d:%A} {d.day} {d:%B %Y}"


@lru_cache(maxsize=8192)
def _fmt_day(d: date) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"


def fmt_short(d: date) -> str:
    """'1 April'."""
    return _fmt_short(d) if type(d) is date else f"{d.day} {d:%B}"


@lru_cache(maxsize=8192)
def _fmt_short(d: date) -> str:
    return f"{d.day} {d:%B}"


def fmt_instant(t: datetime, zone: ZoneInfo) -> str:
    """'Sunday 5 April 2026 09:00 AEST (UTC+10:00)'."""
    local = t.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    return f"{fmt_day(local.date())} {local:%H:%M} {local.tzname()} (UTC{offset})"


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic on dates.


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(anchor: date, months: int) -> tuple[date, bool]:
    """Same day number `months` later (or earlier), clamped to the end of a shorter month;
    returns (date, was_clamped): 31 January + 1 month = 28 February. Always applied to the
    anchor, never chained."""
    return _add_months(anchor, months) if type(anchor) is date else _month_shift(anchor, months)


@lru_cache(maxsize=16384)
def _add_months(anchor: date, months: int) -> tuple[date, bool]:
    return _month_shift(anchor, months)


def _month_shift(anchor: date, months: int) -> tuple[date, bool]:
    # what dateutil's relativedelta(months=N) did: the target month from the month count, the
    # day number clamped to that month's length (a datetime keeps its time and zone)
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise DeadlinesError(f"{anchor.isoformat()} {months:+d} months is outside years 1-9999")
    last = _days_in_month(year, month0 + 1)
    day = min(anchor.day, last)
    return anchor.replace(year=year, month=month0 + 1, day=day), day != anchor.day


def _shift_days(anchor: date, days: int) -> date:
    try:
        return anchor + timedelta(days=days)
    except OverflowError:
        raise DeadlinesError(
            f"{anchor.isoformat()} {days:+d} days is outside years 1-9999"
        ) from None


def count_calendar(anchor: date, period: Period, backward: bool, clamp_up: bool = False
                   ) -> tuple[date, list[str]]:
    """days / weeks / months / years from a date, the anchor day not counted.

    `clamp_up`: for a right (the earliest day someone may act), a month count that lands on a
    day the month does not have opens the day after the month's end instead of on its last
    day, so that counting back from that day gives the whole period again."""
    sign = -1 if backward else 1
    steps: list[str] = []
    if period.unit in (Unit.DAYS, Unit.WEEKS):
        days = period.amount * (7 if period.unit is Unit.WEEKS else 1)
        due = _shift_days(anchor, sign * days)
        if period.unit is Unit.WEEKS:
            steps.append(f"{period} = {days} days.")
        first = _shift_days(anchor, sign)
        if days == 0:
            steps.append(f"0 days: the same day, {fmt_day(due)}.")
        elif backward:
            last = f"day {days} is {fmt_day(due)}" if days > 1 else f"day 1 is {fmt_day(due)}"
            lead = f"day 1 is {fmt_short(first)}; " if days > 1 else ""
            steps.append(
                f"Counting back from {fmt_short(anchor)}, which is not counted; {lead}{last}."
            )
        elif days == 1:
            steps.append(f"{fmt_short(anchor)} not counted; day 1 is {fmt_day(due)}.")
        else:
            middle = " ... " if days > 2 else " "
            steps.append(
                f"{fmt_short(anchor)} not counted; day 1 is {fmt_short(first)};{middle}"
                f"day {days} is {fmt_day(due)}."
            )
        return due, steps
    months = period.amount * (12 if period.unit is Unit.YEARS else 1)
    due, clamped = add_months(anchor, sign * months)
    word = "before" if backward else "after"
    if period.unit is Unit.YEARS:
        steps.append(f"{period} = {months} months.")
    plural = "month" if months == 1 else "months"
    steps.append(
        f"{period} {word} {fmt_day(anchor)}: the same day number, {months} {plural} "
        f"{'earlier' if backward else 'later'}, counted from the anchor."
    )
    if clamped and clamp_up and not backward:
        later = _shift_days(due, 1)
        steps.append(
            f"{due:%B %Y} has no day {anchor.day}. The period would end on the last day of the "
            f"month, {fmt_day(due)}, but counting {period} back from that day does not reach "
            f"{fmt_short(anchor)}; a right therefore opens the day after, {fmt_day(later)}."
        )
        due = later
    elif clamped:
        steps.append(
            f"{due:%B %Y} has no day {anchor.day}, so the period ends on the last day of the "
            f"month, {fmt_day(due)}."
        )
    else:
        steps.append(f"That is {fmt_day(due)}.")
    return due, steps


def count_business_days(
    anchor: date, amount: int, cal: BusinessCalendar, backward: bool
) -> tuple[date, list[str]]:
    """Business days on `cal`, the anchor day not counted."""
    if amount > MAX_BUSINESS_DAYS:
        raise DeadlinesError(f"{amount} business days is more than {MAX_BUSINESS_DAYS}")
    step = timedelta(days=-1 if backward else 1)
    current = anchor
    counted = 0
    skipped: list[str] = []
    first: date | None = None
    while counted < amount:
        current = current + step
        if abs((current - anchor).days) > MAX_BUSINESS_DAYS * 7:
            raise DeadlinesError(f"the {cal.label} calendar has no business day to count on")
        reason = cal.closed_reason(current)
        if reason is None:
            counted += 1
            if first is None:
                first = current
        else:
            skipped.append(f"{fmt_short(current)} ({reason})")
    lead = "Counting back from" if backward else "Counting from"
    steps = [f"{lead} {fmt_short(anchor)}, which is not counted, on the {cal.label} calendar."]
    if amount == 0:
        steps.append(f"0 business days: the same day, {fmt_day(anchor)}.")
        return anchor, steps
    assert first is not None
    if skipped:
        shown = ", ".join(skipped[:12]) + (f" and {len(skipped) - 12} more" if len(skipped) > 12
                                           else "")
        steps.append(f"Not business days, skipped: {shown}.")
    steps.append(f"Business day 1 is {fmt_day(first)}." if amount == 1 else
                 f"Business day 1 is {fmt_day(first)}; business day {amount} is "
                 f"{fmt_day(current)}.")
    return current, steps


# ---------------------------------------------------------------------------------------------
# Exact time.


def add_exact(start: datetime, period: Period, zone: ZoneInfo, backward: bool
              ) -> tuple[datetime, list[str]]:
    """minutes / hours as elapsed time: the arithmetic is done in UTC."""
    minutes = period.amount * (60 if period.unit is Unit.HOURS else 1)
    start_utc = start.astimezone(UTC)
    delta = timedelta(minutes=minutes)
    try:
        due_utc = start_utc - delta if backward else start_utc + delta
    except OverflowError:
        raise DeadlinesError("the due time is outside years 1-9999") from None
    steps = [
        f"Start: {fmt_instant(start, zone)} = {start_utc:%Y-%m-%d %H:%M} UTC.",
        f"{'-' if backward else '+'} {period} of elapsed time = {due_utc:%Y-%m-%d %H:%M} UTC "
        f"= {fmt_instant(due_utc, zone)}.",
    ]
    wall = (due_utc.astimezone(zone).replace(tzinfo=None)
            - start_utc.astimezone(zone).replace(tzinfo=None))
    if wall != (-delta if backward else delta):
        steps.append(
            "A daylight-saving change falls in between: the local clock moves by "
            f"{_fmt_delta(abs(wall))}, but {period} of real time pass."
        )
    return due_utc.astimezone(zone), steps


def _fmt_delta(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def add_business_time(
    start: datetime, period: Period, schedule: SupportSchedule, zone: ZoneInfo
) -> tuple[datetime, list[str]]:
    """Business hours (or minutes) counted only inside the schedule's open windows; each
    stretch of open time used is named by the windows it comes from, and a schedule with a
    summer variant says which zones' summer time decides, with its dates."""
    remaining = timedelta(minutes=period.amount * (1 if period.unit is Unit.BUSINESS_MINUTES
                                                   else 60))
    steps = [f"Counted only inside {schedule.describe()}."]
    if schedule.summer is not None:
        steps.append(schedule.summer_rule())
    if schedule.note:
        steps.append(f"Why: {schedule.note}")
    steps.append(f"Start: {fmt_instant(start, schedule.zone)}.")
    # (start, length, windows' name) of each stretch of open time used; a stretch that runs on
    # past midnight into the next day's window is shown as one
    used: list[tuple[datetime, timedelta, str]] = []

    def take(begin: datetime, length: timedelta, label: str) -> None:
        if used and used[-1][0] + used[-1][1] == begin and used[-1][2] == label:
            used[-1] = (used[-1][0], used[-1][1] + length, label)
        else:
            used.append((begin, length, label))

    for window_start, window_end, label in schedule.open_from(start):
        begin = max(window_start, start)
        available = window_end - begin
        if available <= timedelta(0):
            continue
        if remaining <= available:
            due = begin + remaining
            take(begin, remaining, label)
            shown = [f"{fmt_day(b.astimezone(schedule.zone).date())} from "
                     f"{b.astimezone(schedule.zone):%H:%M}: {_fmt_delta(n)}"
                     + (f" ({name})" if name else "") for b, n, name in used]
            if len(shown) > 8:
                shown = [*shown[:3], f"... {len(shown) - 6} more windows ...", *shown[-3:]]
            if schedule.summer is not None:
                at = steps.index(f"Start: {fmt_instant(start, schedule.zone)}.")
                steps[at:at] = schedule.summer_dates(start, due)
            steps.append("Open time used: " + "; ".join(shown) + ".")
            steps.append(f"The {period} run out at {fmt_instant(due, schedule.zone)}"
                         + ("" if schedule.zone == zone else f" = {fmt_instant(due, zone)}")
                         + ".")
            return due.astimezone(zone), steps
        remaining -= available
        take(begin, available, label)
    raise DeadlinesError(f"the support schedule has no open time to count {period}")


def end_of_day(d: date, zone: ZoneInfo) -> datetime:
    """The first instant after day `d` in `zone` (a day-based deadline ends just before it)."""
    return start_of_day(d + timedelta(days=1), zone)


def start_of_day(d: date, zone: ZoneInfo) -> datetime:
    """The first instant of day `d` in `zone`, in UTC."""
    if type(d) is date:
        return _start_of_day(d, zone)
    return datetime.combine(d, time(0, 0)).replace(tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=16384)
def _start_of_day(d: date, zone: ZoneInfo) -> datetime:
    # keyed by the day and the zone object (ZoneInfo hashes and compares by identity, and one
    # object's transitions never change); the result is an immutable datetime
    return datetime.combine(d, time(0, 0)).replace(tzinfo=zone).astimezone(UTC)
