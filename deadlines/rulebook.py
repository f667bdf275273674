"""Rulebooks: one YAML file per agreement, read into plain data (see docs/rulebook-format.md)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .calendars import BusinessCalendar, CalendarSpec, SupportSchedule, load_zone, weekday_index
from .errors import DeadlinesError
from .periods import MAX_BUSINESS_DAYS, Direction, Period, Unit
from .yamlsource import FieldPath, Located, load_path

RULEBOOK_DIR = Path(__file__).parent / "rulebooks"
ACTORS = ("provider", "customer", "zendesk", "either")
# For an `either` rule, which party owes it for one event: the one that gave the notice or did
# the event (`by`), the other one (`other`: the party that received it), or each of them
EITHER = ("by", "other", "both")
# Who gave a notice or did an event when the log does not say: us or them (relative to the
# contract's owner), or a party that the contract's role turns into us or them
GIVERS = ("us", "them", "provider", "customer")
KINDS = ("obligation", "right", "limit")
ROLLS = ("none", "following", "preceding")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# The longest period a rule may set: 100 years of each unit (a contract counts nothing longer),
# so that every count from any supported date stays inside the years dates can hold.
MAX_AMOUNT = {Unit.DAYS: 36_525, Unit.WEEKS: 5_218, Unit.MONTHS: 1_200, Unit.YEARS: 100,
              Unit.BUSINESS_DAYS: MAX_BUSINESS_DAYS, Unit.BUSINESS_HOURS: 10_000,
              Unit.BUSINESS_MINUTES: 600_000}
CALENDAR_BLOCKS = (1, 2, 3, 4, 6, 12)  # months a calendar-aligned recurring period may span
SCHEDULE_FIELDS = ("timezone", "holidays", "label", "note", "windows", "summer")
SUMMER_FIELDS = ("label", "windows", "while_summer_time_in")


@dataclass(frozen=True)
class Source:
    clause: str
    lines: tuple[int, ...]
    quote: str


@dataclass(frozen=True)
class Reading:
    """An alternative reading of an unclear clause."""

    reading: str
    period: Period | None
    anchor_rule: str | None
    direction: Direction
    note: str = ""
    weekend: tuple[int, ...] | None = None  # days off for business days, if not the calendar's
    align: str | None = None  # recurring rules: anchor or calendar, if not the rule's
    schedule: str | None = None  # business time: another schedule than the rule's
    clear: bool | None = None  # clear days, if not the rule's


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    kind: str
    events: tuple[str, ...]
    period: Period | None
    direction: Direction
    align: str
    anchor_rule: str | None
    schedule: str | None
    severity: str | None
    actor: str
    action: str
    consequence: str
    source: Source
    note: str
    readings: tuple[Reading, ...]
    title_fr: str = ""
    action_fr: str = ""
    # « jours ouvrables » are Monday to Saturday in French usage: a rule may count business
    # days on its own week (weekday numbers, Monday = 0) instead of the calendar's weekend
    weekend: tuple[int, ...] | None = None
    # "at least 7 clear days": neither the trigger (or target) day nor the day of acting counts
    clear: bool = False
    either: str = "both"  # for actor either: by | other | both (see EITHER)

    def title_in(self, lang: str) -> str:
        return self.title_fr if lang == "fr" and self.title_fr else self.title

    def action_in(self, lang: str) -> str:
        return self.action_fr if lang == "fr" and self.action_fr else self.action

    @property
    def key(self) -> str:
        """Unique within the rulebook: the id, plus the severity for support levels."""
        return f"{self.id}@{self.severity}" if self.severity else self.id


@dataclass(frozen=True)
class GoverningLaw:
    name: str
    source: Source | None
    weekend_extension: str
    note: str


@dataclass(frozen=True)
class Region:
    name: str
    timezone: str
    calendar: Any
    law: str


@dataclass
class Rulebook:
    id: str
    name: str
    path: str
    timezone: str
    calendar: Any
    roll: str
    governing_law: GoverningLaw
    parties: dict[str, str]
    events: dict[str, str]
    severities: dict[str, tuple[str, ...]]
    schedules: dict[str, dict[str, Any]]
    regions: dict[str, Region]
    default_region: str | None
    rules: list[Rule] = field(default_factory=list)
    # event type -> who gives it when the log does not say (GIVERS); absent: not known
    event_by: dict[str, str] = field(default_factory=dict)
    source_lines: tuple[int, int] | None = None

    def rules_for(self, event: str) -> list[Rule]:
        return [r for r in self.rules if event in r.events]

    def severity_name(self, text: str) -> str:
        """The canonical severity for a name or alias, or a clear error."""
        wanted = text.strip().lower()
        for name, aliases in self.severities.items():
            if wanted == name or wanted in aliases:
                return name
        known = ", ".join(self.severities) or "none"
        raise DeadlinesError(f"unknown severity {text!r} for {self.id}; expected one of {known}")


# ---------------------------------------------------------------------------------------------


def available() -> list[str]:
    return sorted(p.stem for p in RULEBOOK_DIR.glob("*.yaml"))


def load(name_or_path: str) -> Rulebook:
    """A shipped rulebook by id, or a user's rulebook by path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return _load_file(str(Path(name_or_path)))
    path = RULEBOOK_DIR / f"{name_or_path}.yaml"
    try:
        shipped = bool(_ID_RE.match(name_or_path)) and path.exists()
    except OSError:  # e.g. a name longer than the file system allows
        shipped = False
    if not shipped:
        shown = name_or_path if len(name_or_path) <= 60 else name_or_path[:60] + "..."
        raise DeadlinesError(
            f"unknown agreement {shown!r}; expected one of {', '.join(available())} "
            "or the path of a rulebook .yaml file"
        )
    return _load_file(str(path))


def _load_file(path: str) -> Rulebook:
    """Parsed once per version of the file: an edited rulebook is read again (`deadlines serve`
    rebuilds when a rulebook changes, and must not keep the old one)."""
    try:
        st = os.stat(path)
    except OSError:
        return parse(load_path(path))  # load_path says what is wrong with the path
    return _load_version(path, (st.st_mtime_ns, st.st_size, st.st_ino))


@lru_cache(maxsize=64)
def _load_version(path: str, version: tuple[int, int, int]) -> Rulebook:
    return parse(load_path(path))


def parse(doc: Located) -> Rulebook:
    p = _Parser(doc)
    return p.rulebook()


def check_calendar(value: Any) -> None:
    """A business calendar that can be counted on, checked when a file is read rather than
    mid-count: a shape CalendarSpec reads, a country the holidays package knows, and at least
    one business day a week (with none, a business-day count would never end)."""
    try:
        spec = CalendarSpec.parse(value)
    except (TypeError, ValueError, AttributeError, KeyError):
        raise DeadlinesError("expected a calendar such as FR or AU-VIC, or a mapping {country, "
                             "subdiv, categories: [...], extra: [YYYY-MM-DD, ...], removed: "
                             "[...], weekend: [sat, sun]}") from None
    if len(spec.weekend) >= 7:
        raise DeadlinesError("the weekend covers all seven days; a calendar needs at least one "
                             "business day a week")
    BusinessCalendar(spec).validate()


class _Parser:
    def __init__(self, doc: Located) -> None:
        self.doc = doc

    def fail(self, path: FieldPath, message: str) -> DeadlinesError:
        return self.doc.error(path, message)

    def mapping(self, value: Any, path: FieldPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected a mapping")
        return value

    def text(self, data: dict[str, Any], key: str, path: FieldPath, required: bool = True,
             default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail((*path, key), "required field is missing")
            return default
        if isinstance(value, bool | dict | list):
            raise self.fail((*path, key), "expected text")
        return str(value).strip()

    def choice(self, data: dict[str, Any], key: str, path: FieldPath, options: tuple[str, ...],
               default: str) -> str:
        value = self.text(data, key, path, required=False, default=default)
        if value not in options:
            raise self.fail((*path, key), f"{value!r} is not one of {', '.join(options)}")
        return value

    def source(self, data: dict[str, Any], path: FieldPath, clause_required: bool = True
               ) -> Source:
        lines = data.get("lines")
        if isinstance(lines, int) and not isinstance(lines, bool):
            lines = [lines]
        if not isinstance(lines, list) or not lines or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lines
        ):
            raise self.fail((*path, "lines"), "expected a list of seed line numbers")
        return Source(
            clause=self.text(data, "clause", path, required=clause_required),
            lines=tuple(lines),
            quote=self.text(data, "quote", path),
        )

    def period(self, data: dict[str, Any], path: FieldPath) -> Period | None:
        if data.get("period") is None:
            return None
        try:
            period = Period.parse(str(data["period"]))
        except DeadlinesError as exc:
            raise self.fail((*path, "period"), exc.message) from None
        limit = MAX_AMOUNT.get(period.unit)
        if limit is not None and period.amount > limit:
            raise self.fail((*path, "period"), f"{period} is too long; at most {limit} "
                            f"{period.unit.value}")
        return period

    def zone(self, value: Any, path: FieldPath) -> None:
        try:
            load_zone(str(value))
        except DeadlinesError as exc:
            raise self.fail(path, exc.message) from None

    def calendar(self, value: Any, path: FieldPath) -> None:
        try:
            check_calendar(value)
        except DeadlinesError as exc:
            raise self.fail(path, exc.message) from None

    def schedule(self, name: str, spec: dict[str, Any]) -> None:
        """A support-hours schedule whose every window reads, checked with its line."""
        path: FieldPath = ("schedules", name)
        for key in spec:
            if key not in SCHEDULE_FIELDS:
                raise self.fail((*path, str(key)),
                                f"unknown field; expected one of {', '.join(SCHEDULE_FIELDS)}")
        if spec.get("timezone") is not None:
            self.zone(spec["timezone"], (*path, "timezone"))
        if not isinstance(spec.get("holidays", True), bool):
            raise self.fail((*path, "holidays"), "expected true or false")
        for key in ("label", "note"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise self.fail((*path, key), "expected text")
        self.windows(name, spec.get("windows"), (*path, "windows"))
        summer = spec.get("summer")
        if summer is not None:
            spath: FieldPath = (*path, "summer")
            summer = self.mapping(summer, spath)
            for key in summer:
                if key not in SUMMER_FIELDS:
                    raise self.fail((*spath, str(key)),
                                    f"unknown field; expected one of {', '.join(SUMMER_FIELDS)}")
            if summer.get("label") is not None and not isinstance(summer["label"], str):
                raise self.fail((*spath, "label"), "expected text")
            self.windows(name, summer.get("windows"), (*spath, "windows"))
            zones = summer.get("while_summer_time_in")
            if not isinstance(zones, list) or not zones:
                raise self.fail((*spath, "while_summer_time_in"), "expected a list of zones: "
                                "contract (the contract's own zone) or IANA names")
            for i, zone in enumerate(zones):
                if zone != "contract":
                    self.zone(zone, (*spath, "while_summer_time_in", i))

    def windows(self, name: str, windows: Any, path: FieldPath) -> None:
        """A non-empty list of windows, each checked with its line."""
        if not isinstance(windows, list) or not windows:
            raise self.fail(path, "expected a non-empty list of windows")
        for i, window in enumerate(windows):
            wpath = (*path, i)
            if not isinstance(window, dict) or not {"from", "to"} <= set(window) \
                    or not set(window) <= {"days", "from", "to"}:
                raise self.fail(wpath, "expected {days: [mon, ...], from: 'HH:MM', to: 'HH:MM'}"
                                " or {from: 'sun 22:00', to: 'fri 23:00'}")
            if "days" in window and (not isinstance(window["days"], list) or not window["days"]
                                     or not all(isinstance(d, str) for d in window["days"])):
                raise self.fail((*wpath, "days"), "expected a list of weekdays such as [mon, tue]")
            for key in ("from", "to"):
                if not isinstance(window[key], str):
                    raise self.fail((*wpath, key), "expected a time in quotes, e.g. \"09:00\" or "
                                    "\"sun 22:00\" (YAML reads an unquoted 17:00 as a number)")
            try:
                SupportSchedule.parse(name, {"windows": [window]}, load_zone("UTC"), None)
            except DeadlinesError as exc:
                raise self.fail(wpath, exc.message) from None

    def direction(self, data: dict[str, Any], path: FieldPath, default: str) -> Direction:
        value = self.choice(data, "direction", path, tuple(d.value for d in Direction), default)
        return Direction(value)

    def rulebook(self) -> Rulebook:
        top = self.mapping(self.doc.data, ())
        known = {"id", "name", "source", "parties", "governing_law", "timezone", "calendar",
                 "roll", "regions", "default_region", "schedules", "severities", "events",
                 "rules"}
        for key in top:
            if key not in known:
                raise self.fail((key,),
                                f"unknown field; expected one of {', '.join(sorted(known))}")
        book_id = self.text(top, "id", ())
        if not _ID_RE.match(book_id):
            raise self.fail(("id",), "expected a lowercase slug such as freshhawk-standard")
        law = self.mapping(top.get("governing_law") or {}, ("governing_law",))
        law_source = self.source(law, ("governing_law",), clause_required=False) \
            if law.get("quote") else None
        governing = GoverningLaw(
            name=self.text(law, "name", ("governing_law",)),
            source=law_source,
            weekend_extension=self.choice(law, "weekend_extension", ("governing_law",),
                                          ("following", "preceding", "none"), "none"),
            note=self.text(law, "weekend_extension_note", ("governing_law",), required=False),
        )
        events: dict[str, str] = {}
        event_by: dict[str, str] = {}
        for name, spec in self.mapping(top.get("events") or {}, ("events",)).items():
            if not _EVENT_RE.match(str(name)):
                raise self.fail(("events", name), "event types are snake_case")
            if isinstance(spec, dict):  # {meaning: ..., by: ...}
                epath: FieldPath = ("events", str(name))
                for key in spec:
                    if key not in ("meaning", "by"):
                        raise self.fail((*epath, str(key)),
                                        "unknown field; expected one of meaning, by")
                events[str(name)] = self.text(spec, "meaning", epath)
                if spec.get("by") is not None:
                    event_by[str(name)] = self.choice(spec, "by", epath, GIVERS, "")
            else:
                events[str(name)] = str(spec)
        severities: dict[str, tuple[str, ...]] = {}
        for name, spec in self.mapping(top.get("severities") or {}, ("severities",)).items():
            spath: FieldPath = ("severities", str(name))
            aliases = self.mapping(spec, spath).get("aliases") or [] if spec is not None else []
            if not isinstance(aliases, list) or not all(
                    isinstance(a, str | int) and not isinstance(a, bool) for a in aliases):
                raise self.fail((*spath, "aliases"), "expected a list of names such as [p1]")
            severities[str(name)] = tuple(str(a).lower() for a in aliases)
        regions: dict[str, Region] = {}
        for name, spec in self.mapping(top.get("regions") or {}, ("regions",)).items():
            spec = self.mapping(spec, ("regions", name))
            regions[str(name)] = Region(
                name=str(name),
                timezone=self.text(spec, "timezone", ("regions", name)),
                calendar=spec.get("calendar"),
                law=self.text(spec, "law", ("regions", name), required=False),
            )
            self.zone(regions[str(name)].timezone, ("regions", name, "timezone"))
            if spec.get("calendar") is not None:
                self.calendar(spec["calendar"], ("regions", name, "calendar"))
        default_region = top.get("default_region")
        if default_region is not None and str(default_region) not in regions:
            raise self.fail(("default_region",), "not one of the regions")
        schedules = {str(k): self.mapping(v, ("schedules", k))
                     for k, v in self.mapping(top.get("schedules") or {}, ("schedules",)).items()}
        for name, spec in schedules.items():
            self.schedule(name, spec)
        src = self.mapping(top.get("source") or {}, ("source",))
        src_lines = src.get("lines")
        if src_lines is not None and (not isinstance(src_lines, list) or not src_lines or not all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in src_lines)):
            raise self.fail(("source", "lines"), "expected [first, last] seed line numbers")
        book = Rulebook(
            id=book_id,
            name=self.text(top, "name", ()),
            path=self.doc.file,
            timezone=self.text(top, "timezone", (), required=default_region is None,
                               default=regions[str(default_region)].timezone
                               if default_region else ""),
            calendar=top.get("calendar") or (regions[str(default_region)].calendar
                                             if default_region else None),
            roll=self.choice(top, "roll", (), ROLLS, "none"),
            governing_law=governing,
            parties={str(k): str(v) for k, v in self.mapping(top.get("parties") or {},
                                                             ("parties",)).items()},
            events=events,
            severities=severities,
            schedules=schedules,
            regions=regions,
            default_region=str(default_region) if default_region else None,
            source_lines=(int(src_lines[0]), int(src_lines[-1]))
            if isinstance(src_lines, list) and src_lines else None,
            event_by=event_by,
        )
        if top.get("timezone") is not None:
            self.zone(book.timezone, ("timezone",))
        if top.get("calendar"):
            self.calendar(top["calendar"], ("calendar",))
        rules = top.get("rules")
        if not isinstance(rules, list) or not rules:
            raise self.fail(("rules",), "expected a non-empty list of rules")
        keys: set[str] = set()
        for index, raw in enumerate(rules):
            rule = self.rule(raw, ("rules", index), book)
            if rule.key in keys:
                raise self.fail(("rules", index, "id"), f"duplicate rule {rule.key!r}")
            keys.add(rule.key)
            book.rules.append(rule)
        self.check_chains(book)
        return book

    def rule(self, raw: Any, path: FieldPath, book: Rulebook) -> Rule:
        data = self.mapping(raw, path)
        known = {"id", "title", "kind", "event", "severity", "period", "direction", "align",
                 "from", "schedule", "actor", "action", "consequence", "clause", "lines",
                 "quote", "note", "readings", "title_fr", "action_fr", "weekend", "clear",
                 "either"}
        for key in data:
            if key not in known:
                raise self.fail((*path, key),
                                f"unknown rule field; expected one of {', '.join(sorted(known))}")
        rule_id = self.text(data, "id", path)
        if not _ID_RE.match(rule_id):
            raise self.fail((*path, "id"), "expected a kebab-case id such as incident-notice")
        raw_events = data.get("event")
        events = tuple(str(e) for e in raw_events) if isinstance(raw_events, list) \
            else (str(raw_events),) if raw_events else ()
        if not events:
            raise self.fail((*path, "event"), "required field is missing")
        for event in events:
            if event not in book.events:
                raise self.fail((*path, "event"),
                                f"event {event!r} is not declared under 'events:'")
        severity = self.text(data, "severity", path, required=False) or None
        if severity is not None and severity not in book.severities:
            raise self.fail((*path, "severity"), "not one of the rulebook's severities")
        period = self.period(data, path)
        direction = self.direction(data, path, "after")
        schedule = self.text(data, "schedule", path, required=False) or None
        if period is not None and period.unit.is_business_time and schedule is None:
            raise self.fail((*path, "schedule"), "business hours need a schedule")
        if schedule is not None and schedule not in book.schedules:
            raise self.fail((*path, "schedule"), "not one of the rulebook's schedules")
        align = self.choice(data, "align", path, ("anchor", "calendar"), "anchor")
        if direction is Direction.RECURRING:
            if period is None or period.amount == 0:
                raise self.fail((*path, "period"), "a recurring rule needs a period above 0")
            months = {Unit.MONTHS: period.amount, Unit.YEARS: 12 * period.amount}.get(period.unit)
            if align == "calendar" and months not in CALENDAR_BLOCKS:
                raise self.fail((*path, "period"), "a calendar-aligned recurring rule needs 1, "
                                f"2, 3, 4, 6 or 12 months, not {period}")
        self.business_hours(period, direction, path)
        clear = self.flag(data, "clear", path)
        self.count_options(period, direction, align, bool(clear), path)
        readings_raw = data.get("readings") or []
        if not isinstance(readings_raw, list):
            raise self.fail((*path, "readings"), "expected a list of {reading, period, ...}")
        readings = []
        for i, item in enumerate(readings_raw):
            rpath = (*path, "readings", i)
            item = self.mapping(item, rpath)
            reading = Reading(
                reading=self.text(item, "reading", rpath),
                period=self.period(item, rpath) or period,
                anchor_rule=self.text(item, "from", rpath, required=False) or None,
                direction=self.direction(item, rpath, direction.value),
                note=self.text(item, "note", rpath, required=False),
                weekend=self.weekend(item, rpath) or self.weekend(data, path),
                align=self.choice(item, "align", rpath, ("anchor", "calendar"), align)
                if item.get("align") is not None else None,
                schedule=self.text(item, "schedule", rpath, required=False) or None,
                clear=self.flag(item, "clear", rpath),
            )
            self.count_options(reading.period, reading.direction, reading.align or align,
                               bool(clear if reading.clear is None else reading.clear), rpath)
            if reading.schedule is not None and reading.schedule not in book.schedules:
                raise self.fail((*rpath, "schedule"), "not one of the rulebook's schedules")
            every = reading.period or period
            if reading.align == "calendar" and direction is Direction.RECURRING and \
                    every is not None:
                months = {Unit.MONTHS: 1, Unit.YEARS: 12}.get(every.unit, 0) * every.amount
                if months not in CALENDAR_BLOCKS:
                    raise self.fail((*rpath, "align"), "a calendar-aligned reading needs 1, 2, "
                                    "3, 4, 6 or 12 months")
            self.business_hours(reading.period, reading.direction, rpath)
            if reading.period is not None and reading.period.unit.is_business_time \
                    and (reading.schedule or schedule) is None:
                raise self.fail((*rpath, "period"), "business hours need the rule's schedule "
                                "or the reading's own")
            readings.append(reading)
        actor = self.choice(data, "actor", path, ACTORS, "provider")
        either = self.choice(data, "either", path, EITHER, "both")
        if data.get("either") is not None and actor != "either":
            raise self.fail((*path, "either"), "only a rule with actor: either says which party "
                            "owes it")
        return Rule(
            id=rule_id,
            title=self.text(data, "title", path),
            kind=self.choice(data, "kind", path, KINDS, "obligation"),
            events=events,
            period=period,
            direction=direction,
            align=align,
            anchor_rule=self.text(data, "from", path, required=False) or None,
            schedule=schedule,
            severity=severity,
            actor=actor,
            action=self.text(data, "action", path),
            consequence=self.text(data, "consequence", path, required=False,
                                  default="Not stated in the text."),
            source=self.source(data, path),
            note=self.text(data, "note", path, required=False),
            readings=tuple(readings),
            title_fr=self.text(data, "title_fr", path, required=False),
            action_fr=self.text(data, "action_fr", path, required=False),
            weekend=self.weekend(data, path),
            clear=bool(clear),
            either=either,
        )

    def flag(self, data: dict[str, Any], key: str, path: FieldPath) -> bool | None:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail((*path, key), "expected true or false")
        return value

    def count_options(self, period: Period | None, direction: Direction, align: str,
                      clear: bool, path: FieldPath) -> None:
        """`clear` needs whole days; `align: calendar` outside a recurring rule needs weeks,
        months or years counted forward (the end of the calendar week, month or year)."""
        if clear and (period is None or period.unit not in (Unit.DAYS, Unit.WEEKS)
                      or direction is Direction.RECURRING):
            raise self.fail((*path, "clear"), "clear days need a period in days or weeks, "
                            "after or before")
        if align == "calendar" and direction is not Direction.RECURRING and (
                period is None or period.unit not in (Unit.WEEKS, Unit.MONTHS, Unit.YEARS)
                or direction is not Direction.AFTER):
            raise self.fail((*path, "align"), "outside a recurring rule, align: calendar needs "
                            "a period in weeks, months or years and direction: after")

    def weekend(self, data: dict[str, Any], path: FieldPath) -> tuple[int, ...] | None:
        raw = data.get("weekend")
        if raw is None:
            return None
        if not isinstance(raw, list) or len(raw) >= 7:
            raise self.fail((*path, "weekend"), "expected a list of days off such as [sun]")
        try:
            return tuple(sorted({weekday_index(str(day)) for day in raw}))
        except DeadlinesError as exc:
            raise self.fail((*path, "weekend"), exc.message) from None

    def business_hours(self, period: Period | None, direction: Direction, path: FieldPath
                       ) -> None:
        if period is not None and period.unit.is_business_time \
                and direction is not Direction.AFTER:
            raise self.fail((*path, "direction"), "business hours are only counted forward "
                            "(direction: after)")

    def check_chains(self, book: Rulebook) -> None:
        ids = {r.id for r in book.rules}
        for index, rule in enumerate(book.rules):
            anchors = [("from", rule.anchor_rule)] + [
                (("readings", i, "from"), r.anchor_rule) for i, r in enumerate(rule.readings)]
            for where, anchor in anchors:
                if anchor is None:
                    continue
                path: FieldPath = ("rules", index, *((where,) if isinstance(where, str)
                                                     else where))
                if anchor not in ids:
                    raise self.fail(path, f"no rule {anchor!r} to chain from")
                parents = [r for r in book.rules if r.id == anchor]
                if not any(set(p.events) & set(rule.events) for p in parents):
                    raise self.fail(path, f"rule {anchor!r} is not set off by the same event")
                if rule.direction is not Direction.RECURRING:
                    gap = _chain_gap(book, rule, anchor)
                    if gap is not None:
                        raise self.fail(path, gap)
        # cycles, through primary anchors and readings alike
        edges: dict[str, set[str]] = {}
        for rule in book.rules:
            targets = edges.setdefault(rule.id, set())
            targets |= {a for a in [rule.anchor_rule, *(r.anchor_rule for r in rule.readings)]
                        if a is not None}
        for index, rule in enumerate(book.rules):
            stack, seen = list(edges[rule.id]), set()
            while stack:
                current = stack.pop()
                if current == rule.id:
                    raise self.fail(("rules", index, "from"), "rules chain from each other in a "
                                    "cycle")
                if current not in seen:
                    seen.add(current)
                    stack.extend(edges.get(current, ()))


def _chain_gap(book: Rulebook, rule: Rule, anchor: str) -> str | None:
    """Why `rule` could not find a due date of `anchor` for one of its events, if it could not.

    The engine anchors a chained step on the parent's due date for the same trigger: a parent
    that is set off by that event (at the severity asked for), has a period and is not recurring.
    """
    for event in rule.events:
        levelled = any(r.severity for r in book.rules if event in r.events)
        wanted_options = [rule.severity] if rule.severity else [None, *book.severities]
        for wanted in wanted_options:
            if wanted is None and levelled:
                continue  # such a request needs a severity; it never gets this far
            if not any(p.id == anchor and event in p.events and p.period is not None
                       and p.direction is not Direction.RECURRING
                       and (p.severity is None or p.severity == wanted) for p in book.rules):
                level = f" at severity {wanted}" if wanted else ""
                return (f"rule {anchor!r} gives no due date to chain from for {event}{level} "
                        "(it needs that event, a period, and a direction other than recurring)")
    return None
