"""Business calendars (from the `holidays` package) and support-hours schedules.

`holidays` is imported only when a calendar is first asked about a day, so that a one-off
command that never needs one does not pay for it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from importlib.util import find_spec
from itertools import pairwise
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import DeadlinesError
from .safeio import read_limited

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SCHEDULE_DAYS = 3700  # ten years of windows is more than any period here needs


def load_zone(name: str) -> ZoneInfo:
    """An IANA zone, or a clear error."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise DeadlinesError(
            f"unknown time zone {name!r}; expected an IANA name such as Europe/Paris"
        ) from None


def weekday_index(word: str) -> int:
    key = str(word).strip().lower()[:3]
    if key not in WEEKDAYS:
        raise DeadlinesError(f"{word!r} is not a weekday; expected one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(key)


def _as_list(value: Any) -> list[Any]:
    """A YAML list, or one scalar taken as a list of one (`categories: public`)."""
    return list(value) if isinstance(value, list | tuple) else [value]


def _parse_day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DeadlinesError(f"{value!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class CalendarSpec:
    """Which days are business days: a country (and subdivision) plus local adjustments."""

    country: str
    subdiv: str | None = None
    categories: tuple[str, ...] = ("public",)
    extra: frozenset[date] = frozenset()
    removed: frozenset[date] = frozenset()
    # Weekly days off (Monday = 0); None: the country's own weekend, from the holidays package
    # (Friday and Saturday in Israel), with the weekend days it declares working days.
    weekend: frozenset[int] | None = None

    @classmethod
    def parse(cls, value: Any) -> CalendarSpec:
        """'FR', 'AU-VIC', or a mapping {country, subdiv, categories, extra, removed, weekend}."""
        if isinstance(value, CalendarSpec):
            return value
        if isinstance(value, str):
            match = re.fullmatch(r"([A-Za-z]{2})(?:-([A-Za-z0-9]{1,4}))?", value.strip())
            if not match:
                raise DeadlinesError(
                    f"{value!r} is not a calendar; expected a country code with an optional "
                    "subdivision, e.g. FR, AU-VIC, US-CA, BR-SP"
                )
            subdiv = match.group(2).upper() if match.group(2) else None
            return cls(match.group(1).upper(), subdiv)
        if isinstance(value, Mapping):
            unknown = set(value) - {"country", "subdiv", "categories", "extra", "removed",
                                    "weekend"}
            if unknown:
                raise DeadlinesError(f"unknown calendar field(s): {', '.join(sorted(unknown))}")
            if "country" not in value:
                raise DeadlinesError("a calendar mapping needs 'country'")
            base = cls.parse(str(value["country"]))
            subdiv = value.get("subdiv", base.subdiv)
            return cls(
                country=base.country,
                subdiv=str(subdiv).upper() if subdiv else None,
                categories=tuple(str(c).lower() for c in _as_list(value.get("categories",
                                                                            ["public"]))),
                extra=frozenset(_parse_day(d) for d in value.get("extra", []) or []),
                removed=frozenset(_parse_day(d) for d in value.get("removed", []) or []),
                weekend=frozenset(weekday_index(w) for w in value["weekend"])
                if value.get("weekend") is not None else None,
            )
        raise DeadlinesError(f"{value!r} is not a calendar")

    @property
    def code(self) -> str:
        """FR, AU-VIC: the country and subdivision, as the holidays package knows them."""
        return f"{self.country}-{self.subdiv}" if self.subdiv else self.country

    @property
    def label(self) -> str:
        """The code, and the days off when a rule or a contract sets its own week (other than
        Saturday and Sunday, which needs no saying)."""
        base = self.code
        if self.weekend is not None and self.weekend != frozenset({5, 6}):
            days = "/".join(WEEKDAY_NAMES[d][:3] for d in sorted(self.weekend)) or "none"
            base += f" (days off: {days})"
        return base


@cache
def holidays_version() -> str:
    """The installed `holidays` version, read without importing the package (about 100 ms)."""
    spec = find_spec("holidays")
    if spec is None or spec.origin is None:  # pragma: no cover - it is a dependency
        return "missing"
    site = os.path.dirname(os.path.dirname(spec.origin))
    # a listing rather than a glob: the glob's pattern compiles a regular expression, a few ms
    # of a one-off command
    for name in sorted(os.listdir(site)):
        if name.startswith("holidays-") and name.endswith(".dist-info"):
            return name.removeprefix("holidays-").removesuffix(".dist-info")
    return "unknown"  # pragma: no cover - an unusual install; the cache still works per path


def cache_dir() -> Path:
    if os.environ.get("DEADLINES_CACHE_DIR"):
        return Path(os.environ["DEADLINES_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deadlines"


# Year and BusinessCalendar are plain classes, not dataclasses: creating a dataclass costs a few
# tenths of a millisecond of every one-off command (bench/startup.py), and nothing compares,
# hashes or prints these.
class Year:
    """One year of a country's calendar as the holidays package gives it: the holidays, the
    days its weekend falls on (a country's weekend may change over the years), and the weekend
    days it declares working days (moved weekends)."""

    def __init__(self, holidays: dict[date, str], weekend: frozenset[date],
                 workdays: frozenset[date]) -> None:
        self.holidays: Final = holidays
        self.weekend: Final = weekend
        self.workdays: Final = workdays

    # The cache file is plain lines, not JSON: `import json` is a cost a one-off command need
    # not pay. A header names the layout, "end" closes the file (a truncated file is a miss);
    # then one line per day: "H day name" a holiday, "W day" a weekend day, "K day" a weekend
    # day declared a working day.
    def to_lines(self) -> str | None:
        """The cache file's text; None if a holiday's name would not fit on one line."""
        if any("\n" in n or "\r" in n for n in self.holidays.values()):
            return None
        lines = [_CACHE_HEADER]
        lines += [f"H {d.isoformat()} {n}" for d, n in sorted(self.holidays.items())]
        lines += [f"W {d.isoformat()}" for d in sorted(self.weekend)]
        lines += [f"K {d.isoformat()}" for d in sorted(self.workdays)]
        lines.append("end")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_lines(cls, text: str) -> Year:
        """A year from a cache file's text; ValueError if it is not one, whole."""
        lines = text.split("\n")
        if lines[0] != _CACHE_HEADER or lines[-2:] != ["end", ""]:
            raise ValueError("not a holiday cache file, or a truncated one")
        holidays: dict[date, str] = {}
        weekend: set[date] = set()
        workdays: set[date] = set()
        for line in lines[1:-2]:
            tag, day = line[:2], date.fromisoformat(line[2:12])
            if tag == "H " and line[12:13] == " ":
                holidays[day] = line[13:]
            elif tag in ("W ", "K ") and len(line) == 12:
                (weekend if tag == "W " else workdays).add(day)
            else:
                raise ValueError(f"not a holiday cache line: {line!r}")
        return cls(holidays, frozenset(weekend), frozenset(workdays))


_CACHE_HEADER = "deadlines holiday cache, days layout 2"


class BusinessCalendar:
    """Business days of one calendar spec.

    Holidays, the weekend and the weekend's working days come from the `holidays` package. Each
    (country, categories, year) is also kept in a small cache file keyed by the installed
    `holidays` version, so that a one-off command does not pay for importing the package; the
    cache holds exactly what the package returned.
    """

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec: Final = spec
        self._years: dict[int, Year] = {}

    @property
    def label(self) -> str:
        return self.spec.label

    @cached_property
    def _holidays(self) -> Any:
        import holidays  # deferred: about 100 ms, only on a cache miss

        try:
            return holidays.country_holidays(
                self.spec.country,
                subdiv=self.spec.subdiv,
                categories=self.spec.categories,
                language="en_US",
            )
        except NotImplementedError:
            raise DeadlinesError(
                f"unknown business calendar {self.spec.label!r}: the holidays package has no "
                "such country or subdivision"
            ) from None
        except (ValueError, KeyError) as exc:
            raise DeadlinesError(
                f"invalid business calendar {self.spec.label!r}: {exc}"
            ) from None

    def validate(self) -> None:
        """Fail now, with a clear message, if the country or subdivision is unknown."""
        self._year(date.today().year)

    def _cache_path(self, year: int) -> Path:
        # keyed by what the package is asked (the weekend a rule or a contract sets is applied
        # here, not there); "days" is the layout of the file (holidays, weekend, workdays)
        cats = "+".join(sorted(self.spec.categories))
        name = f"{self.spec.code}_{cats}_{year}_days_holidays-{holidays_version()}.txt"
        return cache_dir() / "holidays" / name

    def _year(self, year: int) -> Year:
        table = self._years.get(year)
        if table is not None:
            return table
        path = self._cache_path(year)
        try:
            table = Year.from_lines(read_limited(path, 10_000_000, "cache file").decode())
        except (DeadlinesError, ValueError):  # missing, unreadable or not whole: a miss
            table = self._from_package(year)
            text = table.to_lines()
            if text is not None:
                _write_quietly(path, text)
        self._years[year] = table
        return table

    def _from_package(self, year: int) -> Year:
        hol = self._holidays
        # Observed days can be filed under a neighbouring year (a New Year's Day observed on
        # 31 December belongs to the next year's set), so populate the years around it.
        for y in (year - 1, year, year + 1):
            _ = date(y, 6, 1) in hol  # expands the object to that year
        days = [date(year, 1, 1) + timedelta(days=n)
                for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
        return Year({d: str(n) for d, n in hol.items() if d.year == year},
                    frozenset(d for d in days if hol.is_weekend(d)),
                    frozenset(d for d in hol.weekend_workdays if d.year == year))

    def _table(self, year: int) -> Year:
        """`_year`, shared by every calendar of the process (see _YEARS)."""
        table = self._years.get(year)
        if table is None:
            key = (self.spec.code, tuple(sorted(self.spec.categories)), year)
            table = _YEARS.get(key)
            if table is None:
                table = _YEARS[key] = self._year(year)
            else:
                self._years[year] = table
        return table

    def holiday_name(self, day: date) -> str | None:
        """The holiday on `day` (or the office closure), ignoring weekends."""
        if day in self.spec.removed:
            return None
        if day in self.spec.extra:
            return "office closed"
        return self._table(day.year).holidays.get(day)

    def is_weekend(self, day: date) -> bool:
        """A weekly day off: the spec's own week if it sets one, else the country's; either
        way not a weekend day the country declares a working day."""
        year = self._table(day.year)
        off = day.weekday() in self.spec.weekend if self.spec.weekend is not None \
            else day in year.weekend
        return off and day not in year.workdays

    def closed_reason(self, day: date) -> str | None:
        """Why `day` is not a business day, or None when it is one."""
        holiday = self.holiday_name(day)
        if holiday:
            return f"{WEEKDAY_NAMES[day.weekday()]}, {holiday}"
        if self.is_weekend(day):
            return WEEKDAY_NAMES[day.weekday()]
        return None

    def is_business_day(self, day: date) -> bool:
        return self.closed_reason(day) is None

    def next_business_day(self, day: date, backward: bool = False) -> date:
        step = timedelta(days=-1 if backward else 1)
        for _ in range(MAX_SCHEDULE_DAYS):
            day = day + step
            if self.is_business_day(day):
                return day
        raise DeadlinesError(f"no business day within {MAX_SCHEDULE_DAYS} days on {self.label}")


# The years already read in this process. Every contract's log makes its own BusinessCalendar,
# so without this each one read and parsed the same cache file again. A table is what the
# holidays package answers for a country and subdivision, categories and year (the key), at
# the installed holidays version (fixed for the process; the cache file's name holds it too):
# the same whichever cache folder it was read from. A Year is never changed once made.
_YEARS: dict[tuple[str, tuple[str, ...], int], Year] = {}


@dataclass(frozen=True)
class Window:
    """An open interval within one week: minutes since Monday 00:00, start < end <= 7*1440."""

    start: int
    end: int


def _parse_clock(text: str) -> int:
    match = re.fullmatch(r"(\d{1,2})[:h](\d{2})", str(text).strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59 or (
        int(match.group(1)) == 24 and int(match.group(2)) != 0
    ):
        raise DeadlinesError(f"{text!r} is not a time of day (HH:MM, 00:00 to 24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _parse_weekly_point(text: str) -> int:
    parts = str(text).split()
    if len(parts) != 2:
        raise DeadlinesError(f"{text!r} is not a weekly time; expected e.g. 'sun 22:00'")
    return weekday_index(parts[0]) * 1440 + _parse_clock(parts[1])


def _parse_windows(raw_windows: Any) -> tuple[tuple[Window, ...], list[str]]:
    """Weekly windows and their words, from `[{days, from, to}]` or `[{from: 'sun 22:00', ...}]`."""
    windows: list[Window] = []
    described: list[str] = []
    for raw in raw_windows or []:
        if "days" in raw:
            start, end = _parse_clock(raw["from"]), _parse_clock(raw["to"])
            if end <= start:
                raise DeadlinesError(f"window {raw['from']}-{raw['to']} ends before it starts")
            days = [weekday_index(d) for d in raw["days"]]
            windows += [Window(d * 1440 + start, d * 1440 + end) for d in days]
            described.append(f"{'/'.join(WEEKDAYS[d].capitalize() for d in days)} "
                             f"{raw['from']}-{raw['to']}")
        else:
            start, end = _parse_weekly_point(raw["from"]), _parse_weekly_point(raw["to"])
            if end <= start:  # wraps over Sunday midnight
                windows += [Window(start, 7 * 1440), Window(0, end)]
            else:
                windows.append(Window(start, end))
            described.append(f"{raw['from']} to {raw['to']}")
    return tuple(sorted(windows, key=lambda w: w.start)), described


def _covers(outer: tuple[Window, ...], inner: tuple[Window, ...]) -> bool:
    """Whether every minute of the week open in `inner` is open in `outer`."""
    return all(any(o.start <= w.start and w.end <= o.end for o in outer) for w in inner)


# ---------------------------------------------------------------------------------------------
# Summer time ("daylight saving time") of a zone, for schedules with a summer variant.


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always gives one
    return offset


@cache
def summer_periods(zone_key: str, year: int) -> tuple[tuple[datetime, datetime], ...]:
    """The spans of `year` (UTC, clipped to the year) during which the zone is on summer time:
    its UTC offset is above the lower of its 1 January and 1 July offsets. Empty when the zone
    keeps one offset that year (no summer time: Asia/Tokyo, Mexico since 2022).

    The offset is sampled daily and each change pinned to the second by bisection: a zone that
    changed twice within one day would be missed, and none does."""
    zone = ZoneInfo(zone_key)
    first = datetime(year, 1, 1, tzinfo=UTC)
    last = datetime(year + 1, 1, 1, tzinfo=UTC)
    standard = min(_offset(zone, datetime(year, 1, 1, 12, tzinfo=UTC)),
                   _offset(zone, datetime(year, 7, 1, 12, tzinfo=UTC)))

    def summer(at: datetime) -> bool:
        return _offset(zone, at) > standard

    spans: list[tuple[datetime, datetime]] = []
    opened: datetime | None = first if summer(first) else None
    here = first
    while here < last:
        there = min(here + timedelta(days=1), last)
        if there < last and summer(there) != summer(here):
            lo, hi = here, there  # summer(lo) != summer(hi); the switch is at hi's side
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if summer(mid) == summer(lo):
                    lo = mid
                else:
                    hi = mid
            switch = hi.replace(microsecond=0)
            if summer(there):
                opened = switch
            elif opened is not None:
                spans.append((opened, switch))
                opened = None
        here = there
    if opened is not None:
        spans.append((opened, last))
    return tuple(spans)


def on_summer_time(zone: ZoneInfo, at: datetime) -> bool | None:
    """Whether the zone is on summer time at `at`; None if it has none that year."""
    spans = summer_periods(zone.key, at.astimezone(UTC).year)
    if not spans:
        return None
    return any(lo <= at < hi for lo, hi in spans)


def _summer_switches(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """The instants in (lo, hi) at which the zone goes on or off summer time (a summer that
    runs over New Year is one span, not two)."""
    spans: list[tuple[datetime, datetime]] = []
    for year in range(lo.astimezone(UTC).year - 1, hi.astimezone(UTC).year + 2):
        for begin, end in summer_periods(zone.key, year):
            if spans and spans[-1][1] == begin:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((begin, end))
    return sorted({edge for span in spans for edge in span if lo < edge < hi})


def fmt_utc(at: datetime) -> str:
    """'Sunday 29 March 2026 01:00 UTC'."""
    at = at.astimezone(UTC)
    return f"{at:%A} {at.day} {at:%B %Y} {at:%H:%M} UTC"


@dataclass(frozen=True)
class Summer:
    """Windows that replace a schedule's own while summer time is in force (a text's « Heure
    d'été » beside its « Heure normale »), and the zones whose summer time the text may mean.

    The text may not say whose summer time it means; each listed zone is one reading. The
    primary count opens every hour that any reading opens (a count inside more open hours never
    ends later, so it is the earliest); each zone alone is computed as a reading too."""

    label: str
    windows: tuple[Window, ...]
    zones: tuple[ZoneInfo, ...]
    contract_zone: ZoneInfo
    described: str


@dataclass(frozen=True)
class SupportSchedule:
    """Weekly open windows in a zone, optionally closed on the calendar's holidays, optionally
    with other windows while summer time is in force."""

    name: str
    zone: ZoneInfo
    windows: tuple[Window, ...]
    calendar: BusinessCalendar | None = field(default=None, compare=False)
    skip_holidays: bool = True
    text: str = ""
    label: str = ""
    summer: Summer | None = None
    note: str = ""  # why the schedule reads as it does, shown in the count's trace

    @classmethod
    def parse(cls, name: str, value: Mapping[str, Any], default_zone: ZoneInfo,
              calendar: BusinessCalendar | None) -> SupportSchedule:
        zone = load_zone(str(value["timezone"])) if value.get("timezone") else default_zone
        windows, described = _parse_windows(value.get("windows"))
        if not windows:
            raise DeadlinesError(f"schedule {name!r} has no windows")
        skip = bool(value.get("holidays", True))
        label = str(value.get("label") or "")
        summer: Summer | None = None
        raw_summer = value.get("summer")
        if raw_summer:
            summer_windows, summer_words = _parse_windows(raw_summer.get("windows"))
            if not summer_windows:
                raise DeadlinesError(f"schedule {name!r}: summer has no windows")
            zones: list[ZoneInfo] = []
            for entry in raw_summer.get("while_summer_time_in") or []:
                found = default_zone if str(entry) == "contract" else load_zone(str(entry))
                if found not in zones:
                    zones.append(found)
            if not zones:
                raise DeadlinesError(f"schedule {name!r}: summer needs while_summer_time_in")
            summer = Summer(str(raw_summer.get("label") or "summer"), summer_windows,
                            tuple(zones), default_zone, "; ".join(summer_words))
        if summer is None:
            text = f"{name} ({'; '.join(described)}, {zone.key}"
        else:
            text = (f"{name} ({label or 'standard'}: {'; '.join(described)}; {summer.label}: "
                    f"{summer.described}; {zone.key}")
        if skip and calendar is not None:
            text += f", closed on {calendar.label} holidays"
        text += ")"
        return cls(name, zone, windows, calendar, skip, text, label, summer,
                   " ".join(str(value.get("note") or "").split()))

    def describe(self) -> str:
        return self.text

    # -- summer time ---------------------------------------------------------------------------

    def _zone_words(self, zone: ZoneInfo) -> str:
        assert self.summer is not None
        return f"{zone.key} (the contract's zone)" if zone == self.summer.contract_zone \
            else zone.key

    def summer_rule(self) -> str:
        """Which windows apply when, in words (for the trace)."""
        assert self.summer is not None
        summer = self.summer
        zones = [self._zone_words(z) for z in summer.zones]
        if len(zones) == 1:
            return (f"{summer.label} applies while {zones[0]} is on summer time, "
                    f"{self.label or 'the standard windows'} otherwise.")
        listed = f"{', '.join(zones[:-1])} and {zones[-1]}"
        return (f"{summer.label} applies while both {listed} are on summer time"
                if len(zones) == 2 else
                f"{summer.label} applies while all of {listed} are on summer time") + (
                f", {self.label or 'the standard windows'} while "
                f"{'neither' if len(zones) == 2 else 'none'} is; where they disagree "
                "the hours of both windows count (the earlier due time), and each zone's summer "
                "time alone is shown as another reading.")

    def summer_dates(self, lo: datetime, hi: datetime) -> list[str]:
        """Each zone's summer time in the years from `lo` to `hi`, with the switch instants."""
        assert self.summer is not None
        out = []
        for zone in self.summer.zones:
            for year in range(lo.astimezone(UTC).year, hi.astimezone(UTC).year + 1):
                spans = summer_periods(zone.key, year)
                if not spans:
                    out.append(f"{zone.key} has no summer time in {year}.")
                    continue
                words = []
                for begin, end in spans:
                    starts = "1 January" if begin.month == 1 and begin.day == 1 \
                        and begin.hour == 0 else fmt_utc(begin)
                    ends = "the end of the year" if end.year > year else fmt_utc(end)
                    words.append(f"from {starts} to {ends}")
                out.append(f"Summer time in {zone.key}, {year}: {' and '.join(words)}.")
        return out

    def readings(self, at: datetime) -> list[tuple[str, SupportSchedule]]:
        """One schedule per listed zone, summer time read as that zone's alone (when more than
        one zone is listed). A zone with no summer time in the year of `at` is no reading of
        « summer time » at all (it is left out of the count too, see _seasonal_day)."""
        if self.summer is None or len(self.summer.zones) < 2:
            return []
        out = []
        for zone in self.summer.zones:
            if not summer_periods(zone.key, at.astimezone(UTC).year):
                continue
            # the note is in the primary count's trace already
            variant = replace(self, summer=replace(self.summer, zones=(zone,)), note="")
            out.append((f"{self.summer.label} as the summer time of {self._zone_words(zone)} "
                        "alone", variant))
        return out

    # -- open time -----------------------------------------------------------------------------

    def windows_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (aware UTC datetimes) in time order, from the day of `start` on."""
        for lo, hi, _ in self.open_from(start):
            yield lo, hi

    def open_from(self, start: datetime) -> Iterator[tuple[datetime, datetime, str]]:
        """Open intervals in time order, day by day, each with the name of the windows it comes
        from ('' for a schedule without names or seasons)."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_SCHEDULE_DAYS):
            if self.skip_holidays and self.calendar is not None and \
                    self.calendar.holiday_name(day) is not None:
                day += timedelta(days=1)
                continue
            base = self._day_intervals(day, self.windows)
            if self.summer is None:
                for lo, hi in base:
                    yield lo, hi, self.label
            else:
                yield from self._seasonal_day(day, base)
            day += timedelta(days=1)

    def _day_intervals(self, day: date, windows: tuple[Window, ...]
                       ) -> list[tuple[datetime, datetime]]:
        base = day.weekday() * 1440
        out = []
        for window in windows:
            lo, hi = max(window.start, base), min(window.end, base + 1440)
            if lo < hi:
                out.append((self._instant(day, lo - base), self._instant(day, hi - base)))
        return out

    def _seasonal_day(self, day: date, base: list[tuple[datetime, datetime]]
                      ) -> Iterator[tuple[datetime, datetime, str]]:
        """One day's open time: the summer windows where every zone is on summer time, the
        standard ones where none is, the hours of both where they disagree."""
        summer = self.summer
        assert summer is not None
        warm = self._day_intervals(day, summer.windows)
        day_lo, day_hi = self._instant(day, 0), self._instant(day, 1440)
        cuts = sorted({c for z in summer.zones for c in _summer_switches(z, day_lo, day_hi)})
        edges = [day_lo, *cuts, day_hi]
        pieces: list[tuple[datetime, datetime, str]] = []
        for seg_lo, seg_hi in pairwise(edges):
            states = {z: on_summer_time(z, seg_lo) for z in summer.zones}
            known = {z: s for z, s in states.items() if s is not None}
            if known and all(known.values()):
                chosen, label = warm, summer.label
            elif not any(known.values()):
                chosen, label = base, self.label
            else:
                on = ", ".join(z.key for z, s in known.items() if s)
                off = ", ".join(z.key for z, s in known.items() if not s)
                chosen = _union(base, warm)
                named = self.label if _covers(self.windows, summer.windows) else \
                    summer.label if _covers(summer.windows, self.windows) else \
                    f"{self.label} and {summer.label}"
                label = f"{named}: summer time in {on}, not in {off}"
            for lo, hi in chosen:
                lo, hi = max(lo, seg_lo), min(hi, seg_hi)
                if lo < hi:
                    pieces.append((lo, hi, label))
        pieces.sort()
        merged: list[tuple[datetime, datetime, str]] = []
        for lo, hi, label in pieces:
            if merged and merged[-1][2] == label and merged[-1][1] >= lo:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi), label)
            else:
                merged.append((lo, hi, label))
        yield from merged

    def _instant(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60)).replace(tzinfo=self.zone)
        return local.astimezone(UTC)


def _union(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
           ) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(a + b):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _write_quietly(path: Path, text: str) -> None:
    """Write a cache file atomically; a read-only or full disk only costs speed (and leaves
    no temporary behind: `safeio` removes it on failure)."""
    from .safeio import atomic_write

    with contextlib.suppress(DeadlinesError):
        atomic_write(path, text.encode("utf-8"))
