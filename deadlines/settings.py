"""Where and how to count for one contract: its zone, business calendar, roll and region.

Below both the engine (which counts with them) and the event log reader (which resolves them
from a contract's fields); it knows a rulebook's defaults and nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from .calendars import BusinessCalendar, CalendarSpec, SupportSchedule, load_zone
from .errors import DeadlinesError
from .rulebook import Rulebook
from .vocabulary import Roll


class Settings:
    """Where and how to count for one contract: zone, business calendar, roll, region.

    A plain class, not a dataclass, as the engine's records are (start-up time)."""

    def __init__(self, zone: ZoneInfo, calendar: BusinessCalendar, roll: Roll,
                 region: str | None, law_name: str, law_extension: Roll, law_note: str,
                 schedules: dict[str, SupportSchedule] | None = None) -> None:
        self.zone = zone
        self.calendar = calendar
        self.roll = roll
        self.region = region
        self.law_name = law_name
        self.law_extension = law_extension
        self.law_note = law_note
        self.schedules = schedules if schedules is not None else {}
        self._variants: dict[tuple[int, ...], BusinessCalendar] = {}

    def calendar_for(self, weekend: tuple[int, ...] | None) -> BusinessCalendar:
        """The business calendar, or the same holidays on a rule's own working week."""
        if weekend is None or frozenset(weekend) == self.calendar.spec.weekend:
            return self.calendar
        if weekend not in self._variants:
            spec = replace(self.calendar.spec, weekend=frozenset(weekend))
            self._variants[weekend] = BusinessCalendar(spec)
        return self._variants[weekend]

    @classmethod
    def resolve(cls, book: Rulebook, *, tz: str | None = None, calendar: object = None,
                roll: str | None = None, region: str | None = None) -> Settings:
        """The rulebook's defaults (or its region's), overridden by what the contract or the
        command line says. An error names the field it is about (`timezone`, `calendar`,
        `roll`, `region`), so that a log's reader can point at that line."""
        zone_name, cal_value, law_name = book.timezone, book.calendar, book.governing_law.name
        if region is not None and not book.regions:
            raise DeadlinesError(f"{book.id} has no regions; --region does not apply",
                                 field="region")
        region = region or book.default_region
        if region is not None:
            if region not in book.regions:
                raise DeadlinesError(
                    f"unknown region {region!r} for {book.id}; expected one of "
                    f"{', '.join(book.regions)}", field="region")
            chosen = book.regions[region]
            zone_name, cal_value = chosen.timezone, chosen.calendar or cal_value
            law_name = chosen.law or law_name
        try:
            zone = load_zone(tz or zone_name)
        except DeadlinesError as exc:
            raise DeadlinesError(exc.message, field="timezone") from None
        if calendar is None and cal_value is None:
            raise DeadlinesError(f"{book.id} names no business calendar; pass --calendar",
                                 field="calendar")
        try:
            business = BusinessCalendar(CalendarSpec.parse(calendar if calendar is not None
                                                           else cal_value))
        except DeadlinesError as exc:
            raise DeadlinesError(exc.message, field="calendar") from None
        chosen_roll = roll or book.roll
        if chosen_roll not in tuple(Roll):
            raise DeadlinesError(f"unknown roll {chosen_roll!r}; expected none, following or "
                                 "preceding", field="roll")
        schedules = {
            name: SupportSchedule.parse(name, spec, zone, business)
            for name, spec in book.schedules.items()
        }
        return cls(zone, business, Roll(chosen_roll), region, law_name,
                   book.governing_law.weekend_extension, book.governing_law.note, schedules)
