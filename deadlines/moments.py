"""When things happened: a calendar day in the contract's zone, and the instant when known."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from .errors import DeadlinesError
from .periods import end_of_day, fmt_day, fmt_instant

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The days a trigger, a start or --as-of may fall on: wide enough for any contract, narrow
# enough that a typo (0226, 20266) is caught and that every count from them, even the longest
# period a rulebook allows (100 years), stays inside the years Python's dates can hold.
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2199, 12, 31)


@dataclass(frozen=True)
class Moment:
    """A trigger or an anchor: the day it falls on and, when a time is known, the instant."""

    day: date
    instant: datetime | None = None  # aware, UTC

    @property
    def has_time(self) -> bool:
        return self.instant is not None

    def describe(self, zone: ZoneInfo) -> str:
        return fmt_instant(self.instant, zone) if self.instant else fmt_day(self.day)

    def iso(self, zone: ZoneInfo) -> str:
        if self.instant is None:
            return self.day.isoformat()
        return self.instant.astimezone(zone).isoformat(timespec="seconds")

    @classmethod
    def of_due(cls, due: date | datetime, zone: ZoneInfo) -> Moment:
        """Anchor a chained step on an earlier due value (a whole day ends at its midnight)."""
        if isinstance(due, datetime):
            return cls(due.astimezone(zone).date(), due.astimezone(UTC))
        return cls(due, end_of_day(due, zone))

    @classmethod
    def at(cls, instant: datetime, zone: ZoneInfo) -> Moment:
        return cls(instant.astimezone(zone).date(), instant.astimezone(UTC))


def parse_when(text: object, zone: ZoneInfo, warnings: list[str] | None = None,
               what: str = "WHEN") -> Moment:
    """A date (2026-03-02) or an ISO 8601 date-time, with an offset or local to `zone`.

    A local time that does not exist (spring forward) or occurs twice (fall back) is accepted
    with a warning that says which instant was used.
    """
    if isinstance(text, datetime):
        raw: str = text.isoformat()
    elif isinstance(text, date):
        return Moment(_supported(text, text.isoformat(), what))
    else:
        raw = str(text).strip()
    shown = raw if len(raw) <= 60 else raw[:60] + "..."
    if _DATE_RE.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise DeadlinesError(f"{what} {shown!r} is not a valid date: {exc}") from None
        return Moment(_supported(day, shown, what))
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise DeadlinesError(
            f"{what} {shown!r} is not a date or date-time; expected YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    _supported(parsed.date(), shown, what)  # before any conversion can overflow
    if parsed.tzinfo is not None:
        return Moment.at(parsed, zone)
    return Moment.at(localize(parsed, zone, warnings), zone)


def _supported(day: date, shown: str, what: str) -> date:
    if not MIN_DAY <= day <= MAX_DAY:
        raise DeadlinesError(f"{what} {shown!r} is outside the years {MIN_DAY.year}-"
                             f"{MAX_DAY.year} that deadlines counts in")
    return day


def localize(naive: datetime, zone: ZoneInfo, warnings: list[str] | None = None) -> datetime:
    """Attach `zone` to a wall-clock time, saying which instant was used in a gap or a fold."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)

    def exists(candidate: datetime) -> bool:
        return candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive

    if first.utcoffset() == second.utcoffset():
        return first
    stamp = f"{naive:%H:%M} on {fmt_day(naive.date())}"
    if exists(first) and exists(second):
        if warnings is not None:
            warnings.append(
                f"{stamp} occurs twice in {zone.key} (clocks go back); the first one was used, "
                f"{fmt_instant(first.astimezone(UTC), zone)} = {first.astimezone(UTC):%H:%M} "
                "UTC; give an offset to choose the other"
            )
        return first
    if warnings is not None:
        warnings.append(
            f"{stamp} does not exist in {zone.key} (clocks go forward); it was read with the "
            f"offset before the change, as {fmt_instant(first.astimezone(UTC), zone)} = "
            f"{first.astimezone(UTC):%H:%M} UTC"
        )
    return first.astimezone(UTC)


def start_instant(day: date, zone: ZoneInfo) -> datetime:
    return localize(datetime.combine(day, time(0, 0)), zone).astimezone(UTC)
