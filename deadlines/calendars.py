"""Business calendars (from the `holidays` package) and support-hours schedules.

`holidays` is imported only when a calendar is first asked about a day, so that a one-off
command that never needs one does not pay for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any
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
    weekend: frozenset[int] = frozenset({5, 6})

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
                weekend=frozenset(weekday_index(w) for w in value.get("weekend", ["sat", "sun"])),
            )
        raise DeadlinesError(f"{value!r} is not a calendar")

    @property
    def label(self) -> str:
        base = f"{self.country}-{self.subdiv}" if self.subdiv else self.country
        if self.weekend != frozenset({5, 6}):
            days = "/".join(WEEKDAY_NAMES[d][:3] for d in sorted(self.weekend)) or "none"
            base += f" (days off: {days})"
        return base


@cache
def holidays_version() -> str:
    """The installed `holidays` version, read without importing the package (about 100 ms)."""
    spec = find_spec("holidays")
    if spec is None or spec.origin is None:  # pragma: no cover - it is a dependency
        return "missing"
    site = Path(spec.origin).parent.parent
    for info in site.glob("holidays-*.dist-info"):
        return info.name.removeprefix("holidays-").removesuffix(".dist-info")
    return "unknown"  # pragma: no cover - an unusual install; the cache still works per path


def cache_dir() -> Path:
    if os.environ.get("DEADLINES_CACHE_DIR"):
        return Path(os.environ["DEADLINES_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deadlines"


@dataclass
class BusinessCalendar:
    """Business days of one calendar spec.

    Holiday tables come from the `holidays` package. Each (calendar, year) table is also kept in
    a small JSON cache keyed by the installed `holidays` version, so that a one-off command does
    not pay for importing the package; the cache holds exactly what the package returned.
    """

    spec: CalendarSpec
    _years: dict[int, dict[date, str]] = field(default_factory=dict, repr=False)

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
        cats = "+".join(sorted(self.spec.categories))
        name = f"{self.spec.label}_{cats}_{year}_holidays-{holidays_version()}.json"
        return cache_dir() / "holidays" / name

    def _year(self, year: int) -> dict[date, str]:
        table = self._years.get(year)
        if table is not None:
            return table
        path = self._cache_path(year)
        try:
            raw = json.loads(read_limited(path, 10_000_000, "cache file"))
            table = {date.fromisoformat(k): str(v) for k, v in raw.items()}
        except (DeadlinesError, ValueError, AttributeError, TypeError):
            table = self._from_package(year)
            _write_quietly(path, json.dumps({d.isoformat(): n for d, n in sorted(table.items())},
                                            ensure_ascii=False))
        self._years[year] = table
        return table

    def _from_package(self, year: int) -> dict[date, str]:
        hol = self._holidays
        # Observed days can be filed under a neighbouring year (a New Year's Day observed on
        # 31 December belongs to the next year's set), so populate the years around it.
        for y in (year - 1, year, year + 1):
            _ = date(y, 6, 1) in hol  # expands the object to that year
        return {d: str(n) for d, n in hol.items() if d.year == year}

    def holiday_name(self, day: date) -> str | None:
        """The holiday on `day` (or the office closure), ignoring weekends."""
        if day in self.spec.removed:
            return None
        if day in self.spec.extra:
            return "office closed"
        return self._year(day.year).get(day)

    def closed_reason(self, day: date) -> str | None:
        """Why `day` is not a business day, or None when it is one."""
        holiday = self.holiday_name(day)
        if holiday:
            return f"{WEEKDAY_NAMES[day.weekday()]}, {holiday}"
        if day.weekday() in self.spec.weekend:
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


@dataclass(frozen=True)
class SupportSchedule:
    """Weekly open windows in a zone, optionally closed on the calendar's holidays."""

    name: str
    zone: ZoneInfo
    windows: tuple[Window, ...]
    calendar: BusinessCalendar | None = field(default=None, compare=False)
    skip_holidays: bool = True
    text: str = ""

    @classmethod
    def parse(cls, name: str, value: Mapping[str, Any], default_zone: ZoneInfo,
              calendar: BusinessCalendar | None) -> SupportSchedule:
        zone = load_zone(str(value["timezone"])) if value.get("timezone") else default_zone
        windows: list[Window] = []
        described: list[str] = []
        for raw in value.get("windows") or []:
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
        if not windows:
            raise DeadlinesError(f"schedule {name!r} has no windows")
        skip = bool(value.get("holidays", True))
        text = f"{name} ({'; '.join(described)}, {zone.key}"
        if skip and calendar is not None:
            text += f", closed on {calendar.label} holidays"
        text += ")"
        return cls(name, zone, tuple(sorted(windows, key=lambda w: w.start)), calendar, skip,
                   text)

    def describe(self) -> str:
        return self.text

    def windows_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (aware UTC datetimes) in time order, from the day of `start` on."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_SCHEDULE_DAYS):
            if self.skip_holidays and self.calendar is not None and \
                    self.calendar.holiday_name(day) is not None:
                day += timedelta(days=1)
                continue
            base = day.weekday() * 1440
            for window in self.windows:
                lo, hi = max(window.start, base), min(window.end, base + 1440)
                if lo >= hi:
                    continue
                yield self._instant(day, lo - base), self._instant(day, hi - base)
            day += timedelta(days=1)

    def _instant(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60)).replace(tzinfo=self.zone)
        return local.astimezone(UTC)


def _write_quietly(path: Path, text: str) -> None:
    """Write a cache file atomically; a read-only or full disk only costs speed (and leaves
    no temporary behind: `safeio` removes it on failure)."""
    from .safeio import atomic_write

    with contextlib.suppress(DeadlinesError):
        atomic_write(path, text.encode("utf-8"))
