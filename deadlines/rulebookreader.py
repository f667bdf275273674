"""Reading a rulebook document, one small reader per section (docs/rulebook-format.md).

Every value is read through `yamlsource.Fields`, so that any mistake is reported as
`file:line: field: what was expected`, pointing at the line a person wrote (in the file that
is extended, for an inherited part). Checks that need the whole rulebook (chains, cycles)
run once every rule is read.
"""

from __future__ import annotations

import re
from typing import Any

from .calendars import SupportSchedule, load_zone, weekday_index
from .errors import DeadlinesError
from .periods import MAX_BUSINESS_DAYS, Period, Unit
from .rulebook import (
    ID_RE,
    GoverningLaw,
    Party,
    Reading,
    Region,
    Rule,
    Rulebook,
    Source,
    check_calendar,
)
from .vocabulary import (
    DONE_EVENT,
    EITHER_PARTY,
    LANGUAGES,
    RESERVED_PARTY_KEYS,
    Align,
    By,
    Direction,
    Either,
    Kind,
    Roll,
)
from .yamlsource import FieldPath, Fields, Located

TOP_FIELDS = ("id", "name", "source", "parties", "sides", "governing_law", "timezone",
              "calendar", "roll", "regions", "default_region", "schedules", "severities",
              "events", "fulfilments", "rules")
RULE_FIELDS = ("id", "title", "kind", "event", "severity", "period", "direction", "align",
               "from", "schedule", "actor", "either", "action", "consequence", "fulfilled_by",
               "clause", "lines", "quote", "note", "readings", "title_fr", "action_fr",
               "weekend", "clear")
READING_FIELDS = ("reading", "period", "from", "direction", "weekend", "align", "clear",
                  "schedule", "note")
SCHEDULE_FIELDS = ("timezone", "holidays", "label", "note", "windows", "summer")
SUMMER_FIELDS = ("label", "windows", "while_summer_time_in")
PARTY_FIELDS = ("name", "label")
LAW_FIELDS = ("name", "clause", "lines", "quote", "weekend_extension", "weekend_extension_note")
REGION_FIELDS = ("timezone", "calendar", "law")
SOURCE_FIELDS = ("file", "lines", "called")
EVENT_FIELDS = ("meaning", "by")
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
# The longest period a rule may set: 100 years of each unit (a contract counts nothing longer),
# so that every count from any supported date stays inside the years dates can hold.
MAX_AMOUNT = {Unit.DAYS: 36_525, Unit.WEEKS: 5_218, Unit.MONTHS: 1_200, Unit.YEARS: 100,
              Unit.BUSINESS_DAYS: MAX_BUSINESS_DAYS, Unit.BUSINESS_HOURS: 10_000,
              Unit.BUSINESS_MINUTES: 600_000}
CALENDAR_BLOCKS = (1, 2, 3, 4, 6, 12)  # months a calendar-aligned recurring period may span
NOT_STATED = "Not stated in the text."


def read(doc: Located) -> Rulebook:
    """The rulebook a (merged) document describes, or the first mistake in it."""
    top = doc.fields((), "a mapping (id, name, parties, events, rules, ...)")
    top.only(TOP_FIELDS)
    book_id = top.need("id")
    if not ID_RE.match(book_id):
        raise top.fail("id", "expected a lowercase slug such as acme-msa")
    parties = _parties(top)
    sides = _sides(top, parties)
    events, event_by = _events(top, sides)
    regions, default_region = _regions(top)
    timezone = top.text("timezone")
    if timezone is None:
        if default_region is None:
            raise top.fail("timezone", "required field is missing")
        timezone = regions[default_region].timezone
    else:
        _zone(top, "timezone")
    if top.get("calendar"):
        _calendar(top, "calendar", top.get("calendar"))
    book = Rulebook(
        id=book_id,
        name=top.need("name"),
        path=doc.file,
        timezone=timezone,
        calendar=top.get("calendar") or (regions[default_region].calendar
                                         if default_region else None),
        roll=Roll(top.choice("roll", Roll, Roll.NONE)),
        governing_law=_governing_law(top),
        parties=parties,
        sides=sides,
        events=events,
        severities=_severities(top),
        schedules=_schedules(top),
        regions=regions,
        default_region=default_region,
        event_by=event_by,
        source_lines=_source_lines(top),
        line_word=_line_word(top),
        fulfilments=_fulfilments(top, events),
    )
    _rules(top, book)
    _check_chains(doc, book)
    return book


# --- the agreement ---------------------------------------------------------------------------


def _parties(top: Fields) -> dict[str, Party]:
    """`parties:`: each key is an actor a rule may name; its value is who that is (text), or
    `{name, label}` with the label the feeds show, as text or `{en: ..., fr: ...}`."""
    parties: dict[str, Party] = {}
    for key, value in top.items("parties", "a mapping of the parties: KEY: who it is"):
        if not _PARTY_RE.match(key) or key in RESERVED_PARTY_KEYS:
            raise top.fail("parties", f"{key!r} cannot name a party; expected a lowercase word "
                           f"other than {', '.join(RESERVED_PARTY_KEYS)}")
        if not isinstance(value, dict):
            parties[key] = Party(key, top.mapping("parties").need(key))
            continue
        spec = top.mapping("parties").mapping(key)
        spec.only(PARTY_FIELDS)
        parties[key] = Party(key, spec.need("name"), _labels(spec))
    if not parties:
        raise top.fail("parties", "expected the parties, each with who it is, e.g. "
                       "{buyer: Acme Ltd, seller: Widget Inc}")
    return parties


def _labels(spec: Fields) -> dict[str, str]:
    """A party's label: one text for every language, or one per language."""
    if not isinstance(spec.get("label"), dict):
        text = spec.text("label")
        return {lang: text for lang in LANGUAGES} if text else {}
    labels = spec.mapping("label")
    labels.only(LANGUAGES, "language")
    return {lang: text for lang in LANGUAGES if (text := labels.text(lang))}


def _sides(top: Fields, parties: dict[str, Party]) -> tuple[str, str]:
    """`sides:`: the two parties that sign, the log's default `role:` first."""
    sides = top.words("sides", "a list of the two parties that sign, e.g. [buyer, seller]")
    if sides is None:
        raise top.fail("sides", "required field is missing; expected the two parties that "
                       "sign, e.g. [buyer, seller]")
    if len(sides) != 2 or sides[0] == sides[1]:
        raise top.fail("sides", "expected two different parties, e.g. [buyer, seller]")
    for side in sides:
        if side not in parties:
            raise top.fail("sides", f"{side!r} is not one of the parties "
                           f"({', '.join(parties)})")
    return sides[0], sides[1]


def _governing_law(top: Fields) -> GoverningLaw:
    law = top.mapping("governing_law")
    law.only(LAW_FIELDS)
    return GoverningLaw(
        name=law.need("name"),
        source=_source(law, clause_required=False) if law.get("quote") else None,
        weekend_extension=Roll(law.choice("weekend_extension", Roll, Roll.NONE)),
        note=law.text("weekend_extension_note") or "",
    )


def _source(fields: Fields, clause_required: bool = True) -> Source:
    lines = fields.line_numbers("lines", "a list of line numbers of the contract text")
    clause = fields.need("clause") if clause_required else fields.text("clause") or ""
    return Source(clause=clause, lines=lines, quote=fields.need("quote"))


def _source_lines(top: Fields) -> tuple[int, int] | None:
    src = top.mapping("source")
    src.only(SOURCE_FIELDS)
    if src.get("lines") is None:
        return None
    lines = src.line_numbers("lines", "[first, last] line numbers of the contract text")
    return lines[0], lines[-1]


def _line_word(top: Fields) -> str:
    """How outputs cite a line of the text: `source.called` before "line" ("seed line 201"),
    or "line" alone."""
    called = top.mapping("source").text("called")
    return f"{called} line" if called else "line"


def _events(top: Fields, sides: tuple[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """`events:`: the trigger types with their meaning, and who gives each by default."""
    events: dict[str, str] = {}
    event_by: dict[str, str] = {}
    givers = (*By, *sides)
    section = top.mapping("events")
    for name, spec in section.data.items():
        name = str(name)
        if not _EVENT_RE.match(name):
            raise section.fail(name, "event types are snake_case")
        if isinstance(spec, dict):  # {meaning: ..., by: ...}
            entry = section.mapping(name)
            entry.only(EVENT_FIELDS)
            events[name] = entry.need("meaning")
            if entry.has("by"):
                event_by[name] = entry.choice("by", givers, "")
        else:
            events[name] = section.need(name)
    return events, event_by


def _fulfilments(top: Fields, events: dict[str, str]) -> dict[str, str]:
    """`fulfilments:`: the events that close a rule (`fulfilled_by:`), with their meaning."""
    out: dict[str, str] = {}
    section = top.mapping("fulfilments")
    for name in map(str, section.data):
        if not _EVENT_RE.match(name):
            raise section.fail(name, "event types are snake_case")
        if name in events or name == DONE_EVENT:
            raise section.fail(name, f"{name!r} is already a trigger event or `done`")
        out[name] = section.need(name)
    return out


def _severities(top: Fields) -> dict[str, tuple[str, ...]]:
    severities: dict[str, tuple[str, ...]] = {}
    section = top.mapping("severities")
    for name, spec in section.data.items():
        level = section.mapping(str(name)) if spec is not None else None
        if level is not None:
            level.only(("aliases",))
        aliases = level.words("aliases", "a list of names such as [p1]", one=False) \
            if level else None
        severities[str(name)] = tuple(a.lower() for a in aliases or ())
    return severities


def _regions(top: Fields) -> tuple[dict[str, Region], str | None]:
    regions: dict[str, Region] = {}
    section = top.mapping("regions")
    for name in section.data:
        spec = section.mapping(str(name))
        spec.only(REGION_FIELDS)
        regions[str(name)] = Region(name=str(name), timezone=spec.need("timezone"),
                                    calendar=spec.get("calendar"), law=spec.text("law") or "")
        _zone(spec, "timezone")
        if spec.get("calendar") is not None:
            _calendar(spec, "calendar", spec.get("calendar"))
    default = top.text("default_region")
    if default is not None and default not in regions:
        raise top.fail("default_region", "not one of the regions")
    return regions, default


def _zone(fields: Fields, key: str | int, value: Any = None) -> None:
    try:
        load_zone(str(fields.get(str(key)) if value is None else value))
    except DeadlinesError as exc:
        raise fields.fail(key, exc.message) from None


def _calendar(fields: Fields, key: str, value: Any) -> None:
    try:
        check_calendar(value)
    except DeadlinesError as exc:
        raise fields.fail(key, exc.message) from None


# --- schedules -------------------------------------------------------------------------------


def _schedules(top: Fields) -> dict[str, dict[str, Any]]:
    schedules: dict[str, dict[str, Any]] = {}
    section = top.mapping("schedules")
    for name in section.data:
        spec = section.mapping(str(name))
        _schedule(str(name), spec)
        schedules[str(name)] = spec.data
    return schedules


def _schedule(name: str, spec: Fields) -> None:
    """A support-hours schedule whose every window reads, checked with its line."""
    spec.only(SCHEDULE_FIELDS)
    if spec.has("timezone"):
        _zone(spec, "timezone")
    spec.flag("holidays")
    for key in ("label", "note"):
        if spec.has(key) and not isinstance(spec.get(key), str):
            raise spec.fail(key, "expected text")
    _windows(name, spec, "windows")
    if not spec.has("summer"):
        return
    summer = spec.mapping("summer")
    summer.only(SUMMER_FIELDS)
    if summer.has("label") and not isinstance(summer.get("label"), str):
        raise summer.fail("label", "expected text")
    _windows(name, summer, "windows")
    zones = summer.get("while_summer_time_in")
    if not isinstance(zones, list) or not zones:
        raise summer.fail("while_summer_time_in", "expected a list of zones: contract (the "
                          "contract's own zone) or IANA names")
    for i, zone in enumerate(zones):
        if zone != "contract":
            try:
                load_zone(str(zone))
            except DeadlinesError as exc:
                raise summer.doc.error((*summer.path, "while_summer_time_in", i),
                                       exc.message) from None


def _windows(name: str, spec: Fields, key: str) -> None:
    """A non-empty list of windows, each checked with its line."""
    windows = spec.get(key)
    if not isinstance(windows, list) or not windows:
        raise spec.fail(key, "expected a non-empty list of windows")
    for i, window in enumerate(windows):
        path: FieldPath = (*spec.path, key, i)
        if not isinstance(window, dict) or not {"from", "to"} <= set(window) \
                or not set(window) <= {"days", "from", "to"}:
            raise spec.doc.error(path, "expected {days: [mon, ...], from: 'HH:MM', to: 'HH:MM'}"
                                 " or {from: 'sun 22:00', to: 'fri 23:00'}")
        if "days" in window and (not isinstance(window["days"], list) or not window["days"]
                                 or not all(isinstance(d, str) for d in window["days"])):
            raise spec.doc.error((*path, "days"), "expected a list of weekdays such as "
                                 "[mon, tue]")
        for end in ("from", "to"):
            if not isinstance(window[end], str):
                raise spec.doc.error((*path, end), "expected a time in quotes, e.g. \"09:00\" "
                                     "or \"sun 22:00\" (YAML reads an unquoted 17:00 as a "
                                     "number)")
        try:
            SupportSchedule.parse(name, {"windows": [window]}, load_zone("UTC"), None)
        except DeadlinesError as exc:
            raise spec.doc.error(path, exc.message) from None


# --- rules -----------------------------------------------------------------------------------


def _rules(top: Fields, book: Rulebook) -> None:
    rules = top.get("rules")
    if not isinstance(rules, list) or not rules:
        raise top.fail("rules", "expected a non-empty list of rules")
    keys: set[str] = set()
    for index in range(len(rules)):
        fields = top.doc.fields(("rules", index), "a mapping (id, title, event, ...)")
        rule = _rule(fields, book)
        if rule.key in keys:
            raise fields.fail("id", f"duplicate rule {rule.key!r}")
        keys.add(rule.key)
        book.rules.append(rule)


def _rule(data: Fields, book: Rulebook) -> Rule:
    data.only(RULE_FIELDS, "rule field")
    rule_id = data.need("id")
    if not ID_RE.match(rule_id):
        raise data.fail("id", "expected a kebab-case id such as incident-notice")
    kind = Kind(data.choice("kind", Kind, Kind.OBLIGATION))
    period = _period(data)
    direction = _direction(data, Direction.AFTER)
    schedule = data.text("schedule") or None
    if period is not None and period.unit.is_business_time and schedule is None:
        raise data.fail("schedule", "business hours need a schedule")
    if schedule is not None and schedule not in book.schedules:
        raise data.fail("schedule", "not one of the rulebook's schedules")
    align = Align(data.choice("align", Align, Align.ANCHOR))
    _recurring(data, period, direction, align)
    _business_hours(data, period, direction)
    clear = bool(data.flag("clear"))
    _count_options(data, period, direction, align, clear)
    actor, either = _actor(data, book)
    return Rule(
        id=rule_id,
        title=data.need("title"),
        kind=kind,
        events=_rule_events(data, book),
        period=period,
        direction=direction,
        align=align,
        anchor_rule=data.text("from") or None,
        schedule=schedule,
        severity=_severity(data, book),
        actor=actor,
        action=data.need("action"),
        consequence=data.text("consequence") or NOT_STATED,
        source=_source(data),
        note=data.text("note") or "",
        readings=_readings(data, book, period, direction, align, clear, schedule),
        title_fr=data.text("title_fr") or "",
        action_fr=data.text("action_fr") or "",
        weekend=_weekend(data),
        clear=clear,
        either=either,
        fulfilled_by=_fulfilled_by(data, book, kind),
    )


def _rule_events(data: Fields, book: Rulebook) -> tuple[str, ...]:
    raw = data.get("event")
    events = tuple(str(e) for e in raw) if isinstance(raw, list) else (str(raw),) if raw \
        else ()
    if not events:
        raise data.fail("event", "required field is missing")
    for event in events:
        if event not in book.events:
            raise data.fail("event", f"event {event!r} is not declared under 'events:'")
    return events


def _severity(data: Fields, book: Rulebook) -> str | None:
    severity = data.text("severity") or None
    if severity is not None and severity not in book.severities:
        raise data.fail("severity", "not one of the rulebook's severities")
    return severity


def _actor(data: Fields, book: Rulebook) -> tuple[str, Either]:
    """Who must (or may) act: a party, or either side, with which one for one event."""
    actor = data.choice("actor", (*book.parties, EITHER_PARTY), "")
    if not actor:
        raise data.fail("actor", f"required field is missing; expected one of "
                        f"{', '.join((*book.parties, EITHER_PARTY))}")
    either = Either(data.choice("either", Either, Either.BOTH))
    if data.has("either") and actor != EITHER_PARTY:
        raise data.fail("either", "only a rule with actor: either says which party owes it")
    return actor, either


def _fulfilled_by(data: Fields, book: Rulebook, kind: Kind) -> tuple[str, ...]:
    """The rulebook's own fulfilment events that close this rule."""
    named = data.words("fulfilled_by", "a list of events declared under fulfilments:")
    if named is None:
        return ()
    if kind is not Kind.OBLIGATION:
        raise data.fail("fulfilled_by", "only an obligation is fulfilled (a right opens, a "
                        "limit's period ends)")
    for event in named:
        if event == DONE_EVENT:
            raise data.fail("fulfilled_by", "`done` with `rule:` closes every obligation "
                            "already; list the rulebook's own fulfilment events")
        if event not in book.fulfilments:
            raise data.fail("fulfilled_by", f"{event!r} is not declared under 'fulfilments:'")
    return named


def _period(data: Fields) -> Period | None:
    text = data.text("period")
    if text is None:
        return None
    try:
        period = Period.parse(text)
    except DeadlinesError as exc:
        raise data.fail("period", exc.message) from None
    limit = MAX_AMOUNT.get(period.unit)
    if limit is not None and period.amount > limit:
        raise data.fail("period", f"{period} is too long; at most {limit} {period.unit.value}")
    return period


def _direction(data: Fields, default: Direction) -> Direction:
    return Direction(data.choice("direction", Direction, default))


def _recurring(data: Fields, period: Period | None, direction: Direction, align: Align
               ) -> None:
    if direction is not Direction.RECURRING:
        return
    if period is None or period.amount == 0:
        raise data.fail("period", "a recurring rule needs a period above 0")
    months = {Unit.MONTHS: period.amount, Unit.YEARS: 12 * period.amount}.get(period.unit)
    if align is Align.CALENDAR and months not in CALENDAR_BLOCKS:
        raise data.fail("period", "a calendar-aligned recurring rule needs 1, 2, 3, 4, 6 or 12 "
                        f"months, not {period}")


def _business_hours(data: Fields, period: Period | None, direction: Direction) -> None:
    if period is not None and period.unit.is_business_time \
            and direction is not Direction.AFTER:
        raise data.fail("direction", "business hours are only counted forward "
                        "(direction: after)")


def _count_options(data: Fields, period: Period | None, direction: Direction, align: Align,
                   clear: bool) -> None:
    """`clear` needs whole days; `align: calendar` outside a recurring rule needs weeks,
    months or years counted forward (the end of the calendar week, month or year)."""
    if clear and (period is None or period.unit not in (Unit.DAYS, Unit.WEEKS)
                  or direction is Direction.RECURRING):
        raise data.fail("clear", "clear days need a period in days or weeks, after or before")
    if align is Align.CALENDAR and direction is not Direction.RECURRING and (
            period is None or period.unit not in (Unit.WEEKS, Unit.MONTHS, Unit.YEARS)
            or direction is not Direction.AFTER):
        raise data.fail("align", "outside a recurring rule, align: calendar needs a period in "
                        "weeks, months or years and direction: after")


def _weekend(data: Fields) -> tuple[int, ...] | None:
    raw = data.get("weekend")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) >= 7:
        raise data.fail("weekend", "expected a list of days off such as [sun]")
    try:
        return tuple(sorted({weekday_index(str(day)) for day in raw}))
    except DeadlinesError as exc:
        raise data.fail("weekend", exc.message) from None


def _readings(data: Fields, book: Rulebook, period: Period | None, direction: Direction,
              align: Align, clear: bool, schedule: str | None) -> tuple[Reading, ...]:
    """Other readings of an unclear clause, each field the rule's unless given."""
    readings = []
    for i in range(len(data.list("readings", "a list of {reading, period, ...}"))):
        item = data.doc.fields((*data.path, "readings", i), "a mapping {reading, period, ...}")
        item.only(READING_FIELDS, "reading field")
        own_align = Align(item.choice("align", Align, align)) if item.has("align") else None
        reading = Reading(
            reading=item.need("reading"),
            period=_period(item) or period,
            anchor_rule=item.text("from") or None,
            direction=_direction(item, direction),
            note=item.text("note") or "",
            weekend=_weekend(item) or _weekend(data),
            align=own_align,
            schedule=item.text("schedule") or None,
            clear=item.flag("clear"),
        )
        _count_options(item, reading.period, reading.direction, reading.align or align,
                       clear if reading.clear is None else reading.clear)
        if reading.schedule is not None and reading.schedule not in book.schedules:
            raise item.fail("schedule", "not one of the rulebook's schedules")
        every = reading.period or period
        if reading.align is Align.CALENDAR and direction is Direction.RECURRING and \
                every is not None:
            months = {Unit.MONTHS: 1, Unit.YEARS: 12}.get(every.unit, 0) * every.amount
            if months not in CALENDAR_BLOCKS:
                raise item.fail("align", "a calendar-aligned reading needs 1, 2, 3, 4, 6 or 12 "
                                "months")
        _business_hours(item, reading.period, reading.direction)
        if reading.period is not None and reading.period.unit.is_business_time \
                and (reading.schedule or schedule) is None:
            raise item.fail("period", "business hours need the rule's schedule or the "
                            "reading's own")
        readings.append(reading)
    return tuple(readings)


# --- the rules as a whole --------------------------------------------------------------------


def _check_chains(doc: Located, book: Rulebook) -> None:
    """Every `from:` names a rule set off by the same event that gives it a due date, and no
    rules chain from each other in a cycle."""
    ids = {r.id for r in book.rules}
    for index, rule in enumerate(book.rules):
        anchors = [(("from",), rule.anchor_rule)] + [
            (("readings", i, "from"), r.anchor_rule) for i, r in enumerate(rule.readings)]
        for where, anchor in anchors:
            if anchor is None:
                continue
            path: FieldPath = ("rules", index, *where)
            if anchor not in ids:
                raise doc.error(path, f"no rule {anchor!r} to chain from")
            parents = [r for r in book.rules if r.id == anchor]
            if not any(set(p.events) & set(rule.events) for p in parents):
                raise doc.error(path, f"rule {anchor!r} is not set off by the same event")
            if rule.direction is not Direction.RECURRING:
                gap = _chain_gap(book, rule, anchor)
                if gap is not None:
                    raise doc.error(path, gap)
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
                raise doc.error(("rules", index, "from"), "rules chain from each other in a "
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
