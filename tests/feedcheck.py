"""Feed checks shared by the tests: a byte lint and three independent parsers.

Plain functions, no pytest fixtures, so any test module can import them:

- `lint(data, as_of=None)` returns a list of problems (empty when the feed is clean): the RFC 5545
  §3.1 byte rules no parser enforces (CRLF, 75-octet folding on UTF-8 boundaries, no BOM) and the
  project's feed rules (no METHOD, refresh hints, all-day and UTC shapes, unique UIDs, no stamp
  after the as-of moment).
- `components(data)` is a small content-line reader (no library) returning the VCALENDAR as a
  tree of `Component`s, to read SEQUENCE, LAST-MODIFIED, STATUS ... exactly as written.
- `parse_icalendar`, `parse_ical`, `parse_vobject` parse with icalendar, ical (strict pydantic
  model) and vobject, raise `FeedError` on any complaint, and return the VEVENTs they saw;
  `check_parsers` runs all three and checks each saw as many VEVENTs as were written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_OCTETS = 75
REQUIRED_CALENDAR_LINES = ("VERSION:2.0",)


class FeedError(AssertionError):
    """A parser refused the feed or recorded an error in it."""


# --------------------------------------------------------------------------------------------
# Reading content lines without a library


@dataclass
class Prop:
    name: str  # upper case
    params: dict[str, str]  # upper-case names, raw values
    value: str  # raw (still escaped) value
    line: str  # the whole unfolded line


@dataclass
class Component:
    name: str
    props: list[Prop] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name.upper()]

    def get(self, name: str) -> Prop | None:
        found = self.all(name)
        return found[0] if found else None

    def value(self, name: str) -> str | None:
        prop = self.get(name)
        return prop.value if prop is not None else None

    def sub(self, name: str) -> list[Component]:
        return [c for c in self.children if c.name == name.upper()]

    @property
    def uid(self) -> str:
        return self.value("UID") or ""


def physical_lines(data: bytes) -> list[bytes]:
    """The lines as written, without their CRLF (the text after the last CRLF is dropped)."""
    return data.split(b"\r\n")[:-1]


def unfold(data: bytes) -> list[str]:
    """Logical content lines: CRLF followed by one space or tab is removed (RFC 5545 §3.1)."""
    text = data.decode("utf-8")
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")[:-1]


def split_line(line: str) -> Prop:
    """NAME;PARAM=VALUE;...:VALUE, with quoted parameter values allowed to hold ':' and ';'."""
    in_quotes = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == ":" and not in_quotes:
            head, value = line[:i], line[i + 1:]
            break
    else:
        raise ValueError(f"no ':' in content line {line!r}")
    parts = re.findall(r'(?:[^;"]|"[^"]*")+', head)
    name = parts[0].upper()
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        params[key.upper()] = val
    return Prop(name, params, value, line)


def components(data: bytes) -> Component:
    """The VCALENDAR as a tree (raises ValueError when BEGIN/END do not nest)."""
    root = Component("#root")
    stack = [root]
    for line in unfold(data):
        if not line:
            raise ValueError("empty content line")
        prop = split_line(line)
        if prop.name == "BEGIN":
            comp = Component(prop.value.upper())
            stack[-1].children.append(comp)
            stack.append(comp)
        elif prop.name == "END":
            if len(stack) == 1 or stack[-1].name != prop.value.upper():
                raise ValueError(f"END:{prop.value} does not close BEGIN:{stack[-1].name}")
            stack.pop()
        else:
            if len(stack) == 1:
                raise ValueError(f"property outside any component: {line!r}")
            stack[-1].props.append(prop)
    if len(stack) != 1:
        raise ValueError(f"BEGIN:{stack[-1].name} is never closed")
    if [c.name for c in root.children] != ["VCALENDAR"]:
        raise ValueError(f"expected one VCALENDAR, got {[c.name for c in root.children]}")
    return root.children[0]


def vevents(data: bytes) -> dict[str, Component]:
    """UID -> VEVENT, as written."""
    return {e.uid: e for e in components(data).sub("VEVENT")}


def count_vevents(data: bytes) -> int:
    """How many VEVENTs were written: the BEGIN:VEVENT lines."""
    return sum(1 for line in physical_lines(data) if line == b"BEGIN:VEVENT")


def unescape_text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT unescaping."""
    return re.sub(r"\\([\\;,nN])",
                  lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse_utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def parse_date(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


# --------------------------------------------------------------------------------------------
# The byte lint


def lint_bytes(data: bytes) -> list[str]:
    """RFC 5545 §3.1 at the byte level: what no parser checks."""
    errs: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        errs.append("UTF-8 BOM present")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        errs.append(f"invalid UTF-8 at byte {exc.start}")
    if not data.endswith(b"\r\n"):
        errs.append("last line not terminated by CRLF")
    if re.search(rb"(?<!\r)\n", data):
        errs.append("bare LF line break")
    if re.search(rb"\r(?!\n)", data):
        errs.append("bare CR")
    lines = physical_lines(data)
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_OCTETS:
            errs.append(f"line {i}: {len(line)} octets > {MAX_OCTETS}")
        if not line:
            errs.append(f"line {i}: empty line")
        if re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line):
            errs.append(f"line {i}: control character")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            errs.append(f"line {i}: does not decode as UTF-8 on its own (a fold splits a "
                        "character)")
        if line[:1] == b"\t":
            errs.append(f"line {i}: continuation starts with a tab, not one space")
        if i == 1 and line[:1] == b" ":
            errs.append("line 1: starts with a space")
        if i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            trailing = len(line) - len(line.rstrip(b"\\"))
            if trailing % 2:
                errs.append(f"line {i}: fold inside a backslash escape")
    return errs


def lint_structure(data: bytes, as_of: datetime | None = None) -> list[str]:
    """The project's feed rules, on the unfolded content lines."""
    errs: list[str] = []
    try:
        cal = components(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"structure: {exc}"]
    names = [p.name for p in cal.props]
    if cal.get("METHOD") is not None:
        errs.append("METHOD present (a subscribed feed must not have one)")
    if cal.value("VERSION") != "2.0":
        errs.append(f"VERSION is {cal.value('VERSION')!r}, expected 2.0")
    if not cal.value("PRODID"):
        errs.append("PRODID missing")
    for singleton in ("VERSION", "PRODID", "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "UID"):
        if names.count(singleton) > 1:
            errs.append(f"{singleton} appears {names.count(singleton)} times")
    refresh = cal.get("REFRESH-INTERVAL")
    if refresh is None or refresh.params.get("VALUE") != "DURATION":
        errs.append("REFRESH-INTERVAL;VALUE=DURATION missing")
    ttl = cal.get("X-PUBLISHED-TTL")
    if ttl is None:
        errs.append("X-PUBLISHED-TTL missing")
    elif refresh is not None and ttl.value != refresh.value:
        errs.append(f"X-PUBLISHED-TTL {ttl.value} differs from REFRESH-INTERVAL {refresh.value}")
    stamps: list[tuple[str, str, str]] = []
    for prop in cal.all("LAST-MODIFIED"):
        stamps.append(("VCALENDAR", "LAST-MODIFIED", prop.value))
    uids: dict[str, int] = {}
    for index, event in enumerate(cal.sub("VEVENT"), 1):
        where = f"VEVENT {index} ({event.uid or 'no UID'})"
        errs += _lint_event(event, where)
        uids[event.uid] = uids.get(event.uid, 0) + 1
        for name in ("DTSTAMP", "LAST-MODIFIED", "CREATED"):
            for prop in event.all(name):
                stamps.append((where, name, prop.value))
    for uid, n in uids.items():
        if n > 1:
            errs.append(f"UID {uid} used by {n} VEVENTs")
    errs += _lint_stamps(cal)
    for where, name, value in stamps:
        try:
            moment = parse_utc(value)
        except ValueError:
            errs.append(f"{where}: {name} {value!r} is not a UTC date-time")
            continue
        if as_of is not None and moment > as_of:
            errs.append(f"{where}: {name} {value} is after the as-of moment {as_of:%Y%m%dT%H%M%SZ}")
    return errs


def _lint_stamps(cal: Component) -> list[str]:
    """DTSTAMP = LAST-MODIFIED >= CREATED per event; the calendar's LAST-MODIFIED is the latest
    event's (so an HTTP Last-Modified derived from it never says "now")."""
    errs: list[str] = []
    latest: datetime | None = None
    for event in cal.sub("VEVENT"):
        try:
            modified = parse_utc(event.value("LAST-MODIFIED") or "")
            created = parse_utc(event.value("CREATED") or "")
        except ValueError:
            errs.append(f"VEVENT {event.uid}: LAST-MODIFIED or CREATED missing or not UTC")
            continue
        if event.value("DTSTAMP") != event.value("LAST-MODIFIED"):
            errs.append(f"VEVENT {event.uid}: DTSTAMP differs from LAST-MODIFIED")
        if created > modified:
            errs.append(f"VEVENT {event.uid}: CREATED after LAST-MODIFIED")
        latest = modified if latest is None else max(latest, modified)
    own = cal.value("LAST-MODIFIED")
    if latest is not None and own != f"{latest:%Y%m%dT%H%M%SZ}":
        errs.append(f"calendar LAST-MODIFIED {own} is not the latest event's "
                    f"({latest:%Y%m%dT%H%M%SZ})")
    return errs


def _lint_event(event: Component, where: str) -> list[str]:
    errs: list[str] = []
    for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY", "SEQUENCE"):
        if len(event.all(name)) != 1:
            errs.append(f"{where}: {len(event.all(name))} {name} properties, expected 1")
    start = event.get("DTSTART")
    end = event.get("DTEND")
    if event.get("DURATION") is not None:
        errs.append(f"{where}: DURATION present")
    if start is None:
        return errs
    if start.params.get("VALUE") == "DATE":
        try:
            day = parse_date(start.value)
        except ValueError:
            return [*errs, f"{where}: DTSTART;VALUE=DATE {start.value!r} is not a date"]
        if end is None or end.params.get("VALUE") != "DATE":
            errs.append(f"{where}: all-day event without DTEND;VALUE=DATE")
        else:
            try:
                if parse_date(end.value) != day + timedelta(days=1):
                    errs.append(f"{where}: DTEND {end.value} is not the day after {start.value}")
            except ValueError:
                errs.append(f"{where}: DTEND;VALUE=DATE {end.value!r} is not a date")
    else:
        if start.params:
            errs.append(f"{where}: timed DTSTART has parameters {start.params} (expected UTC)")
        if not start.value.endswith("Z"):
            errs.append(f"{where}: timed DTSTART {start.value} is not UTC")
        else:
            try:
                parse_utc(start.value)
            except ValueError:
                errs.append(f"{where}: DTSTART {start.value!r} is not a UTC date-time")
        if end is not None:
            errs.append(f"{where}: timed event has a DTEND")
    sequence = event.value("SEQUENCE")
    if sequence is not None and not sequence.isdigit():
        errs.append(f"{where}: SEQUENCE {sequence!r}")
    status = event.value("STATUS")
    if status not in ("CONFIRMED", "CANCELLED", "TENTATIVE"):
        errs.append(f"{where}: STATUS {status!r}")
    for alarm in event.sub("VALARM"):
        for name in ("ACTION", "TRIGGER", "DESCRIPTION"):
            if alarm.get(name) is None:
                errs.append(f"{where}: VALARM without {name}")
    return errs


def lint(data: bytes, as_of: datetime | None = None) -> list[str]:
    """Every problem found in one feed; an empty list means it passes."""
    errs = lint_bytes(data)
    if not any(e.startswith("invalid UTF-8") for e in errs):
        errs += lint_structure(data, as_of)
    return errs


# --------------------------------------------------------------------------------------------
# Three parsers


def parse_icalendar(data: bytes) -> list[Any]:
    """icalendar: parse, then no component may have recorded an error."""
    from icalendar import Calendar

    try:
        cal = Calendar.from_ical(data)
    except Exception as exc:
        raise FeedError(f"icalendar: {type(exc).__name__}: {exc}") from exc
    problems = [(c.name, err) for c in cal.walk() for err in c.errors]
    if problems:
        raise FeedError(f"icalendar recorded errors: {problems[:5]}")
    if cal.get_missing_tzids():
        raise FeedError(f"icalendar: TZIDs without VTIMEZONE: {cal.get_missing_tzids()}")
    return list(cal.walk("VEVENT"))


def parse_ical(data: bytes) -> list[Any]:
    """ical (Home Assistant's strict pydantic model)."""
    from ical.calendar_stream import IcsCalendarStream
    from ical.exceptions import CalendarParseError

    try:
        cal = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    except CalendarParseError as exc:
        raise FeedError(f"ical: {exc} {getattr(exc, 'detailed_error', '')}") from exc
    except Exception as exc:
        raise FeedError(f"ical: {type(exc).__name__}: {exc}") from exc
    return list(cal.events)


def parse_vobject(data: bytes) -> list[Any]:
    """vobject: read with validation, validate again, and serialize with validation."""
    import vobject

    try:
        cal = vobject.readOne(data.decode("utf-8"), validate=True)
        cal.validate()
        cal.serialize(validate=True)
    except Exception as exc:
        raise FeedError(f"vobject: {type(exc).__name__}: {exc}") from exc
    return list(cal.contents.get("vevent", []))


PARSERS = {"icalendar": parse_icalendar, "ical": parse_ical, "vobject": parse_vobject}


def check_parsers(data: bytes) -> int:
    """All three parsers accept the feed and see every VEVENT written; returns that number."""
    written = count_vevents(data)
    for name, parse in PARSERS.items():
        seen = len(parse(data))
        if seen != written:
            raise FeedError(f"{name} saw {seen} VEVENTs, {written} were written")
    return written


def descriptions(data: bytes) -> dict[str, list[str]]:
    """Every VEVENT's DESCRIPTION as each parser reads it back (unescaped)."""
    out: dict[str, list[str]] = {
        "icalendar": [str(e.get("DESCRIPTION")) for e in parse_icalendar(data)],
        "ical": [e.description or "" for e in parse_ical(data)],
        "vobject": [e.description.value for e in parse_vobject(data)],
    }
    out["raw"] = [unescape_text(e.value("DESCRIPTION") or "")
                  for e in components(data).sub("VEVENT")]
    return out
