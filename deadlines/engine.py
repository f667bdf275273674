"""The engine: a rulebook and a trigger -> every deadline it sets off, each with its count.

Pure computation: the rulebook, the settings and the trigger come in as values; nothing here
reads files or the clock.
"""

from __future__ import annotations

import _thread
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from .calendars import BusinessCalendar, SupportSchedule
from .errors import DeadlinesError
from .moments import Moment, start_instant
from .periods import (
    Period,
    Unit,
    add_business_time,
    add_exact,
    add_months,
    count_business_days,
    count_calendar,
    fmt_day,
)
from .rulebook import Reading, Rule, Rulebook
from .settings import Settings
from .vocabulary import EITHER_PARTY, Align, By, Direction, Either, Kind, Roll

if TYPE_CHECKING:
    from .owners import Owners  # only a type here: counting for an agreement loads no owners

Due = date | datetime  # a whole day (date) or an instant (aware datetime in the contract zone)
DEFAULT_HORIZON_MONTHS = 12
# A recurring series is counted occurrence by occurrence from the contract start; a custom rule
# such as `period: 1 minutes` from 2000 would otherwise never end. Past this many, the series
# stops with a warning (the shipped rulebooks stay far below: monthly over 12 months).
MAX_OCCURRENCES = 10_000


# The records of a count (Giver, Alternative, Deadline, Computation) are plain classes, not
# dataclasses: a one-off command creates every class of the modules it imports, and creating a
# dataclass costs a few tenths of a millisecond (bench/startup.py). Nothing compares, hashes or
# prints them; the attributes that never change are Final.


class Giver:
    """Who gave the triggering notice or did the event, for rules either party may owe.

    `party` is `us` or `them` when the log (`by:`) or `--by` says so, or when the rulebook's
    default for the event (`events: {X: {by: ...}}`) is us/them or a side the contract's role
    turns into us/them; one of the rulebook's sides when only its default is known and there
    is no role (a one-off count); None when nothing says. `other` is the party that received
    it: the opposite of `party`."""

    def __init__(self, party: str | None = None, recorded: bool = False,
                 other: str | None = None) -> None:
        self.party: Final = party
        # said by the log or --by, not taken from the rulebook's default
        self.recorded: Final = recorded
        self.other: Final = other


_OPPOSITE = {By.US: By.THEM, By.THEM: By.US}


def resolve_giver(book: Rulebook, event: str, by: str | None, role: str | None) -> Giver:
    if by is not None:
        if by not in tuple(By):
            raise DeadlinesError(f"by must be us or them, not {by!r}")
        return Giver(by, True, _OPPOSITE[By(by)])
    default = book.event_by.get(event)
    if default is None:
        return Giver()
    if default in book.sides:
        if role is None:  # a one-off count: the side as the rulebook names it
            return Giver(default, other=book.other_side(default))
        default = By.US if default == role else By.THEM
    return Giver(default, other=_OPPOSITE[By(default)])


def owed_by(rule: Rule, giver: Giver) -> str | None:
    """The party that owes (or holds) this rule for one event: the rule's actor, or for an
    `either` rule the giver, the other party, or `both`; None when who gave it is not known."""
    if rule.actor != EITHER_PARTY:
        return rule.actor
    if rule.either is Either.BOTH:
        return Either.BOTH
    if giver.party is None:
        return None
    return giver.party if rule.either is Either.BY else giver.other


def is_ours(rule: Rule, giver: Giver, role: str) -> bool:
    """Whether our side (the contract's role) must or may act. An `either` rule whose party is
    not known is shown as ours: a duty wrongly filed as theirs is the one that gets missed."""
    party = owed_by(rule, giver)
    if party is None or party in (Either.BOTH, By.US):
        return True
    if party == By.THEM:
        return False
    return party == role


def who_words(rule: Rule, giver: Giver, event: str) -> str:
    """'either party: the party that received it, us (the notice given by them, ...)'."""
    if rule.actor != EITHER_PARTY:
        return rule.actor
    if rule.either is Either.BOTH:
        return "either party: each of them"
    whose = "the party that gave it or did it" if rule.either is Either.BY else \
        "the party that received it"
    party = owed_by(rule, giver)
    if giver.party is None:
        return (f"either party: {whose}; who gave the {event} is not recorded, so it is shown "
                "as ours (say by: us or them)")
    if giver.recorded:
        return f"either party: {whose}, {party} (the {event} was given by {giver.party})"
    return (f"either party: {whose}, {party} (the {event} is taken as given by {giver.party}, "
            "the agreement's default; say by: us or them, or --by, if not)")


class Alternative:
    """A deadline as an alternative reading of its clause counts it."""

    def __init__(self, reading: str, due: Due | None, trace: tuple[str, ...]) -> None:
        self.reading: Final = reading
        self.due: Final = due
        self.trace: Final = trace


class Deadline:
    """One rule's deadline for one trigger (or one occurrence of a recurring rule): when it
    is due, and how it was counted."""

    def __init__(self, rule: Rule, event: str, trigger: Moment, anchor: Moment,
                 anchor_text: str, due: Due | None, trace: list[str],
                 alternatives: list[Alternative] | None = None,
                 occurrence: int | None = None) -> None:
        self.rule = rule
        self.event = event
        self.trigger = trigger
        self.anchor = anchor
        self.anchor_text = anchor_text
        self.due = due
        self.trace = trace
        self.alternatives = alternatives if alternatives is not None else []
        self.occurrence = occurrence

    @property
    def hour_based(self) -> bool:
        return isinstance(self.due, datetime)


class Computation:
    """Every deadline one event sets off, with the settings it was counted under."""

    def __init__(self, rulebook: Rulebook, event: str, trigger: Moment, settings: Settings,
                 deadlines: list[Deadline], warnings: list[str], giver: Giver | None = None,
                 contract: str | None = None, owners: Owners | None = None) -> None:
        self.rulebook = rulebook
        self.event = event
        self.trigger = trigger
        self.settings = settings
        self.deadlines = deadlines
        self.warnings = warnings
        self.giver = giver if giver is not None else Giver()
        # counted for a contract (AGREEMENT given as its event log): its id and who owns each
        # rule
        self.contract = contract
        self.owners = owners


# ---------------------------------------------------------------------------------------------


def count(anchor: Moment, period: Period, direction: Direction, settings: Settings,
          schedule: str | None = None, warnings: list[str] | None = None,
          what: str = "", kind: Kind = Kind.OBLIGATION, weekend: tuple[int, ...] | None = None,
          variant: SupportSchedule | None = None, clear: bool = False,
          align: Align = Align.ANCHOR) -> tuple[Due, list[str]]:
    """One period from one anchor, with the roll convention and the governing-law remark.

    `variant`: count business time inside this schedule instead of `schedule` (one reading of
    a schedule's summer time, see SupportSchedule.readings). `clear`: clear days, neither end
    counted. `align=Align.CALENDAR`: to the end of a calendar week, month or year (the one holding
    the anchor being the first)."""
    backward = direction is Direction.BEFORE
    zone = settings.zone
    if period.unit.is_exact:
        instant = anchor.instant
        if instant is None:
            instant = start_instant(anchor.day, zone)
            if warnings is not None:
                message = (f"{what or 'an hour-based rule'} counts hours but the trigger has no "
                           f"time; 00:00 on {fmt_day(anchor.day)} in {zone.key} was assumed")
                if message not in warnings:
                    warnings.append(message)
        if period.unit.is_business_time:
            if backward:
                raise DeadlinesError("business hours cannot be counted backward")
            if variant is None and (schedule is None or schedule not in settings.schedules):
                raise DeadlinesError("business hours need a support schedule")
            return add_business_time(instant, period, variant or settings.schedules[schedule or ""],
                                     zone)
        return add_exact(instant, period, zone, backward)
    calendar = settings.calendar_for(weekend)
    if period.unit is Unit.BUSINESS_DAYS:
        due, steps = count_business_days(anchor.day, period.amount, calendar, backward)
    elif align is Align.CALENDAR and not backward:
        due, steps = calendar_block_end(anchor.day, period)
    elif clear:
        days = period.amount * (7 if period.unit is Unit.WEEKS else 1)
        ends = "the target day" if backward else "the trigger day"
        head = (f"{period} read as clear days: neither {ends} nor the day of acting counts, so "
                f"{days} whole days lie between them and {days + 1} days are counted.")
        due, steps = count_calendar(anchor.day, Period(days + 1, Unit.DAYS), backward)
        steps.insert(0, head)
    else:
        due, steps = count_calendar(anchor.day, period, backward, clamp_up=kind is Kind.RIGHT)
    return _settle(due, steps, settings, direction, calendar, kind)


def calendar_block_end(anchor: date, period: Period) -> tuple[date, list[str]]:
    """The end of the Nth calendar week (Monday to Sunday), month or year, the one holding the
    anchor being the first: "at least once a week" read as once in every calendar week."""
    if period.unit is Unit.WEEKS:
        due = anchor + timedelta(days=6 - anchor.weekday() + 7 * (period.amount - 1))
        blocks = "weeks (Monday to Sunday)"
    elif period.unit is Unit.MONTHS:
        due = add_months(anchor.replace(day=1), period.amount)[0] - timedelta(days=1)
        blocks = "months"
    else:
        due = date(anchor.year + period.amount - 1, 12, 31)
        blocks = "years"
    return due, [f"{period} read as calendar {blocks}, the one holding {fmt_day(anchor)} "
                 f"counted as the first: it ends on {fmt_day(due)}."]


def roll_refusal(kind: Kind, direction: Direction, roll: Roll) -> str | None:
    """Why the contract's roll does not move this date, or None when it does.

    The one statement of the roll rule (docs/rulebook-format.md, "Rolls", says the same):
    - obligation counted forward: `following` and `preceding` move it as they say;
    - obligation counted back from a target ("at least N before"): `preceding` moves it
      earlier; `following` would move the latest day to act later and shorten the notice below
      N, so it does not move it;
    - right (the first day someone may act): `following` moves it later; `preceding` would open
      it before its period has run (for a right that follows a duty, on the duty's own last
      day), so it does not move it;
    - limit (the edge of a measured span: a month of uptime, a retention floor, a look-back
      window): never moved, since moving it would change the span the text measures.
    """
    if roll is Roll.NONE:
        return None
    if kind is Kind.LIMIT:
        return (f"The '{roll}' roll is in force, but a limit marks the edge of a span the text "
                "measures, not a day to act, so no roll moves it; it stays on that day.")
    if kind is Kind.RIGHT and roll is Roll.PRECEDING:
        return ("The 'preceding' roll is in force, but it never moves a right earlier: a right "
                "opens only once its whole period has run (rolling back would open it inside "
                "that period, e.g. on the last day of the duty it follows); it stays on that "
                "day.")
    if kind is Kind.OBLIGATION and direction is Direction.BEFORE and roll is Roll.FOLLOWING:
        return ("The 'following' roll is in force, but it never moves a latest day to act "
                "counted back from a target later: that would leave less than the notice the "
                "text requires; it stays on that day.")
    return None


def _settle(due: date, steps: list[str], settings: Settings, direction: Direction,
            cal: BusinessCalendar, kind: Kind = Kind.OBLIGATION) -> tuple[date, list[str]]:
    """Say whether the last day is a business day; roll only if the contract opted in, and only
    in the direction that is safe for this kind of rule (see `roll_refusal`)."""
    reason = cal.closed_reason(due)
    if reason is None:
        steps.append(f"{fmt_day(due)} is a business day on the {cal.label} calendar.")
        return due, steps
    steps.append(f"{fmt_day(due)} is not a business day on the {cal.label} calendar ({reason}).")
    refusal = roll_refusal(kind, direction, settings.roll)
    if refusal is not None:
        steps.append(refusal)
        return due, steps
    if settings.roll is not Roll.NONE:
        rolled = cal.next_business_day(due, backward=settings.roll is Roll.PRECEDING)
        steps.append(f"The '{settings.roll}' roll is in force: the deadline moves to "
                     f"{fmt_day(rolled)}.")
        return rolled, steps
    steps.append("No roll applies (the default): the deadline stays on that day.")
    # Statutory extensions lengthen a period that runs forward; a "latest day to give notice"
    # counted backward is never pushed later by them, and a limit is not a day to act.
    if settings.law_extension is not Roll.NONE and direction is Direction.AFTER \
            and kind is not Kind.LIMIT:
        extended = cal.next_business_day(due, backward=settings.law_extension is Roll.PRECEDING)
        note = f" ({settings.law_note})" if settings.law_note else ""
        steps.append(
            f"Under the governing law, {settings.law_name}{note}, a period that ends on a "
            f"non-business day may extend to {fmt_day(extended)}; --roll "
            f"{settings.law_extension} applies that."
        )
    return due, steps


def _describe_anchor(anchor: Moment, label: str, zone: ZoneInfo) -> str:
    return f"{label} ({anchor.describe(zone)})"


def _check_event(book: Rulebook, event: str) -> None:
    if event not in book.events:
        raise DeadlinesError(
            f"unknown event {event!r} for {book.id}; expected one of {', '.join(book.events)}"
        )


def applicable_rules(book: Rulebook, event: str, severity: str | None) -> list[Rule]:
    _check_event(book, event)
    rules = book.rules_for(event)
    levelled = [r for r in rules if r.severity is not None]
    if levelled and severity is None:
        raise DeadlinesError(
            f"{event} needs a severity for {book.id}; expected one of "
            f"{', '.join(book.severities)}"
        )
    wanted = book.severity_name(severity) if severity is not None and book.severities else None
    if severity is not None and not book.severities:
        raise DeadlinesError(f"{book.id} defines no severities")
    return [r for r in rules if r.severity is None or r.severity == wanted]


def _ordered(rules: list[Rule]) -> list[Rule]:
    """Parents before the rules that chain from them."""
    ids = {r.id for r in rules}
    done: set[str] = set()
    out: list[Rule] = []
    pending = list(rules)
    while pending:
        progressed = False
        for rule in list(pending):
            deps = {rule.anchor_rule} | {r.anchor_rule for r in rule.readings}
            deps = {d for d in deps if d is not None and d in ids}
            if deps <= done:
                out.append(rule)
                pending.remove(rule)
                progressed = True
        done = {r.id for r in out}
        if not progressed:  # a cycle; the rulebook loader refuses these
            out.extend(pending)
            break
    return out


def compute(book: Rulebook, event: str, trigger: Moment, settings: Settings, *,
            severity: str | None = None, fulfilled: Mapping[str, Moment] | None = None,
            recurring_until: date | None = None, warnings: list[str] | None = None,
            by: str | None = None, role: str | None = None) -> Computation:
    """Every deadline that `event` at `trigger` sets off, chained ones included.

    `fulfilled` maps a rule id to when that step was actually done: a later step chained from
    it then counts from the actual date instead of the due date. `by` (us or them) says who gave
    the notice or did the event, `role` whose side we are on; they decide who owes the rules
    either party may owe (see `owed_by`), and do not change any date.
    """
    warnings = [] if warnings is None else warnings
    fulfilled = fulfilled or {}
    rules, position = _counting_order(book, event, severity)
    giver = resolve_giver(book, event, by, role)
    zone = settings.zone
    due_by_rule: dict[str, Due] = {}
    out: list[Deadline] = []
    trigger_label = _describe_anchor(trigger, f"the {event.replace('_', ' ')}", zone)
    for rule in rules:
        if rule.direction is Direction.RECURRING:
            out.extend(_recurring(rule, event, trigger, settings, recurring_until, warnings))
            continue
        anchor, anchor_text = trigger, f"from the trigger, {trigger_label}"
        if rule.anchor_rule is not None:
            # A right opens when the obligation before it falls due unmet; a late fulfilment
            # does not move that day, so rights never re-derive from what actually happened.
            # (A right that follows another right, such as terminating after suspending, does
            # follow the actual exercise of the first one.)
            parents = [r for r in book.rules if r.id == rule.anchor_rule]
            after_duty = rule.kind is Kind.RIGHT and any(p.kind is Kind.OBLIGATION
                                                         for p in parents)
            actual = {} if after_duty else fulfilled
            anchor, anchor_text = _chain_anchor(rule.anchor_rule, due_by_rule, actual, zone)
        if rule.period is None:
            out.append(Deadline(rule, event, trigger, anchor, anchor_text, None, [
                "The text sets no number of days or hours for this duty, so no due date is "
                "computed; it is listed so that it is not forgotten."
            ]))
            continue
        due, steps = count(anchor, rule.period, rule.direction, settings, rule.schedule,
                           warnings, what=f"rule {rule.id}", kind=rule.kind,
                           weekend=rule.weekend, clear=rule.clear, align=rule.align)
        head = _headline(rule.period, rule.direction, anchor_text, rule.kind)
        deadline = Deadline(rule, event, trigger, anchor, anchor_text, due, [head, *steps])
        due_by_rule.setdefault(rule.id, due)
        deadline.alternatives += _season_readings(
            rule, rule.period, rule.schedule, (anchor, anchor_text), due, "", settings, warnings)
        for reading in rule.readings:
            deadline.alternatives += _alternatives(rule, reading, (anchor, anchor_text),
                                                   due_by_rule, fulfilled, settings, warnings)
        out.append(deadline)
    out.sort(key=lambda d: position[id(d.rule)])  # the rulebook's order; stable for occurrences
    return Computation(book, event, trigger, settings, out, warnings, giver)


# The rules an event sets off, in counting order, and each rule's place in the rulebook, by
# rulebook (the object), event and severity: a build asks the same few for each trigger of
# every contract. A rulebook's rules are fixed once it is read (the reader appends them while
# reading, before anyone counts); each entry holds its rulebook, so an id is not reused while
# the entry lives. A refusal (an unknown event, a missing severity) is raised, not kept.
_RULES: dict[tuple[int, str, str | None],
             tuple[Rulebook, tuple[Rule, ...], dict[int, int]]] = {}
_RULES_SIZE = 1024
_RULES_LOCK = _thread.allocate_lock()


def _counting_order(book: Rulebook, event: str, severity: str | None
                    ) -> tuple[tuple[Rule, ...], dict[int, int]]:
    key = (id(book), event, severity)
    with _RULES_LOCK:  # a server counts in more than one thread
        found = _RULES.get(key)
    if found is not None and found[0] is book:
        return found[1], found[2]
    rules = tuple(_ordered(applicable_rules(book, event, severity)))
    position = {id(rule): index for index, rule in enumerate(book.rules)}
    with _RULES_LOCK:
        if len(_RULES) >= _RULES_SIZE:
            _RULES.pop(next(iter(_RULES)))
        _RULES[key] = (book, rules, position)
    return rules, position


def _headline(period: Period, direction: Direction, anchor_text: str,
              kind: Kind | None = None) -> str:
    target = anchor_text.removeprefix("from ")
    if direction is Direction.BEFORE and kind is Kind.LIMIT:
        return f"A window of {period} back from {target}; it opens on the day computed below."
    if direction is Direction.BEFORE:
        return f"At least {period} before the target, {target}."
    return f"{period} counted {anchor_text}."


def _chain_anchor(parent: str, due_by_rule: Mapping[str, Due], fulfilled: Mapping[str, Moment],
                  zone: ZoneInfo) -> tuple[Moment, str]:
    if parent in fulfilled:
        actual = fulfilled[parent]
        return actual, f"from the actual {parent}, recorded on {actual.describe(zone)}"
    if parent not in due_by_rule:
        raise DeadlinesError(f"rule chains from {parent!r}, which has no due date for this event")
    due = due_by_rule[parent]
    described = fmt_day(due) if not isinstance(due, datetime) else Moment.at(due, zone).describe(
        zone)
    return Moment.of_due(due, zone), f"from the due date of {parent} ({described})"


def _alternatives(rule: Rule, reading: Reading, anchored: tuple[Moment, str],
                  due_by_rule: Mapping[str, Due], fulfilled: Mapping[str, Moment],
                  settings: Settings, warnings: list[str]) -> list[Alternative]:
    """One other reading of the rule, counted from its own anchor when it names one and inside
    its own schedule when it names one; then that reading under each other reading of its
    schedule's summer time, where that gives another date."""
    anchor, anchor_text = anchored
    if reading.anchor_rule is not None and reading.anchor_rule != rule.anchor_rule:
        anchor, anchor_text = _chain_anchor(reading.anchor_rule, due_by_rule, fulfilled,
                                            settings.zone)
    if reading.period is None:
        return [Alternative(reading.reading, None,
                            ("No number of days or hours under this reading.",))]
    schedule = reading.schedule or rule.schedule
    due, steps = count(anchor, reading.period, reading.direction, settings, schedule,
                       warnings, what=f"rule {rule.id}", kind=rule.kind, weekend=reading.weekend,
                       clear=rule.clear if reading.clear is None else reading.clear,
                       align=reading.align or rule.align)
    head = _headline(reading.period, reading.direction, anchor_text, rule.kind)
    return [Alternative(reading.reading, due, (head, *steps)),
            *_season_readings(rule, reading.period, schedule, (anchor, anchor_text), due,
                              reading.reading, settings, warnings)]


def _season_readings(rule: Rule, period: Period, schedule: str | None,
                     anchored: tuple[Moment, str], due: Due, name: str, settings: Settings,
                     warnings: list[str]) -> list[Alternative]:
    """A count inside a schedule whose summer windows follow more than one zone's summer time
    (the text does not say whose) was made on the hours any of them opens, the earliest; here
    it is made again with each zone's summer time alone, and kept where the date differs."""
    if not period.unit.is_business_time or schedule not in settings.schedules:
        return []
    anchor, anchor_text = anchored
    start = anchor.instant or start_instant(anchor.day, settings.zone)
    out = []
    for words, variant in settings.schedules[schedule].readings(start):
        alt_due, steps = count(anchor, period, Direction.AFTER, settings, schedule, warnings,
                               what=f"rule {rule.id}", kind=rule.kind, variant=variant)
        if alt_due != due:
            head = _headline(period, Direction.AFTER, anchor_text, rule.kind)
            out.append(Alternative(f"{name}; {words}" if name else words, alt_due,
                                   (head, *steps)))
    return out


def _recurring(rule: Rule, event: str, start: Moment, settings: Settings,
               until: date | None, warnings: list[str]) -> list[Deadline]:
    """Occurrences of a recurring rule from the contract start up to `until`; each reading
    (say, calendar quarters instead of every 3 months from the start) gives the matching
    occurrence of its own series as an alternative."""
    assert rule.period is not None
    last = until or add_months(start.day, DEFAULT_HORIZON_MONTHS)[0]
    primary = _occurrences(rule, rule.period, rule.align, start, settings, last, warnings)
    others = [
        (reading, _occurrences(rule, reading.period or rule.period, reading.align or rule.align,
                               start, settings, last, warnings, extra=len(primary)))
        for reading in rule.readings
    ]
    out: list[Deadline] = []
    for number, (due, steps) in enumerate(primary, start=1):
        deadline = Deadline(rule, event, start, start, "from the contract start", due, steps,
                            occurrence=number)
        for reading, series in others:
            if number <= len(series):
                alt_due, alt_steps = series[number - 1]
                deadline.alternatives.append(Alternative(reading.reading, alt_due,
                                                         tuple(alt_steps)))
        out.append(deadline)
    return out


def _occurrences(rule: Rule, period: Period, align: Align, start: Moment, settings: Settings,
                 last: date, warnings: list[str], extra: int = 0
                 ) -> list[tuple[Due, list[str]]]:
    """One recurring series up to `last` (and at least `extra` occurrences, so that a reading
    has a match for every primary occurrence)."""
    out: list[tuple[Due, list[str]]] = []
    number = 1
    if align is Align.CALENDAR:
        block = _calendar_block_months(period)
        for number, (block_start, block_end) in enumerate(
                _calendar_blocks(block, start.day, last, extra), start=1):
            steps = _calendar_steps(block, start.day, number, block_start, block_end)
            out.append((block_end, list(steps)))  # a list of its own: a trace may grow
        return out
    series = _series(rule, period, start, settings)
    try:
        while True:
            if number > MAX_OCCURRENCES:
                warnings.append(
                    f"rule {rule.id}: recurring every {period} from {fmt_day(start.day)} has "
                    f"more than {MAX_OCCURRENCES:,} occurrences up to {fmt_day(last)}; only the "
                    f"first {MAX_OCCURRENCES:,} are computed (the last on "
                    f"{fmt_day(_day(out[-1][0]))})")
                break
            due, trace = series.occurrence(number)
            if series.warnings:  # in this caller's list where a fresh count would add them
                warnings.extend(w for w in series.warnings if w not in warnings)
            if _day(due) > last and number > extra:
                break
            out.append((due, list(trace)))  # a list of its own: a trace may be added to later
            number += 1
    finally:  # also when a count fails: what it said before failing
        warnings.extend(w for w in series.warnings if w not in warnings)
    return out


def _calendar_blocks(block: int, start: date, last: date, extra: int
                     ) -> list[tuple[date, date]]:
    """The first and last day of each block of a calendar-aligned series: the block holding
    the start, then each following one, until one starts past `last` (and at least `extra`
    blocks)."""
    out: list[tuple[date, date]] = []
    index = (start.year * 12 + start.month - 1) // block * block
    year, month0 = divmod(index, 12)
    block_start = date(year, month0 + 1, 1)
    while True:
        index += block
        year, month0 = divmod(index, 12)
        next_start = date(year, month0 + 1, 1)  # a block ends the day before the next starts
        if block_start > last and len(out) >= extra:
            return out
        out.append((block_start, next_start - _ONE_DAY))
        block_start = next_start


_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=16384)
def _calendar_steps(block: int, start: date, number: int, block_start: date, block_end: date
                    ) -> tuple[str, ...]:
    """The trace of one occurrence of a calendar-aligned series. Memoised: it depends on these
    arguments alone (no rule, no settings), and contracts that start on the same day share
    their calendar months and quarters."""
    name = f"{block_start:%B %Y}" if block == 1 else \
        f"{fmt_day(block_start)} to {fmt_day(block_end)}"
    steps: tuple[str, ...] = (
        f"Recurring every calendar {'month' if block == 1 else f'{block}-month block'} "
        f"from the contract start ({fmt_day(start)}).",
        f"Occurrence {number}: {name}; it closes at the end of {fmt_day(block_end)}.",
    )
    if block_start < start:
        steps += (f"The contract starts on {fmt_day(start)}, part-way through this period; "
                  "only the days from the start count.",)
    return steps


def later_occurrences(book: Rulebook, event: str, start: Moment, settings: Settings,
                      after: date, until: date) -> set[date]:
    """The days of the occurrences of `event`'s recurring rules that fall after `after` and
    up to `until`: what `compute(..., recurring_until=until)` adds to the recurring series of
    `compute(..., recurring_until=after)` (the rules' other readings left out), without
    rebuilding every occurrence. Occurrences already counted for this contract (see
    `_series`) are not counted again."""
    out: set[date] = set()
    for rule in _counting_order(book, event, None)[0]:
        if rule.direction is not Direction.RECURRING:
            continue
        assert rule.period is not None
        if rule.align is Align.CALENDAR:  # only the days: no trace to write
            dues: list[Due] = [end for _, end in _calendar_blocks(
                _calendar_block_months(rule.period), start.day, until, 0)]
        else:
            dues = [due for due, _ in _occurrences(rule, rule.period, rule.align, start,
                                                   settings, until, [])]
        for due in dues:
            day = due.astimezone(settings.zone).date() if isinstance(due, datetime) else due
            if day > after:
                out.add(day)
    return out


class _Series:
    """One recurring series from a contract start, counted lazily occurrence by occurrence.

    Occurrence N is `count(start, N x period)`, a pure function of the rule (its schedule, kind
    and id), the period, the start and the contract's settings, and independent of every other
    occurrence; so the occurrences counted for `track` are reused when the build looks further
    ahead for the same contract (`later_occurrences`) instead of being counted again. Callers
    get copies of the steps, and the warnings counting gave are replayed into each caller's
    list, so that a reused series behaves exactly as a fresh count."""

    def __init__(self, rule: Rule, period: Period, start: Moment, settings: Settings) -> None:
        self.rule, self.period, self.start, self.settings = rule, period, start, settings
        self.items: list[tuple[Due, tuple[str, ...]]] = []
        self.warnings: list[str] = []

    def occurrence(self, number: int) -> tuple[Due, tuple[str, ...]]:
        with _SERIES_LOCK:  # a server counts in more than one thread
            while len(self.items) < number:
                self.items.append(self._count(len(self.items) + 1))
            return self.items[number - 1]

    def _count(self, number: int) -> tuple[Due, tuple[str, ...]]:
        rule, period, start = self.rule, self.period, self.start
        multiple = Period(period.amount * number, period.unit)
        due, steps = count(start, multiple, Direction.AFTER, self.settings, rule.schedule,
                           self.warnings, what=f"rule {rule.id}", kind=rule.kind)
        head = (f"Recurring every {period} from the contract start; occurrence {number} "
                f"is {multiple} after {fmt_day(start.day)}, counted from the start (not from "
                "the previous occurrence).")
        return due, (head, *steps)


# The series counted lately, by the identity of the rule and the settings (each entry holds
# them, so an id is not reused while its entry lives; a Settings is made per contract log and
# never changed after) and the period and start. Bounded: a build counts contract by contract,
# so only the last few contracts' series are ever asked for again.
_SERIES: dict[tuple[int, int, Period, Moment], _Series] = {}
_SERIES_SIZE = 256
_SERIES_LOCK = _thread.allocate_lock()


def _series(rule: Rule, period: Period, start: Moment, settings: Settings) -> _Series:
    key = (id(rule), id(settings), period, start)
    with _SERIES_LOCK:
        found = _SERIES.get(key)
        if found is not None and found.rule is rule and found.settings is settings:
            return found
        if len(_SERIES) >= _SERIES_SIZE:
            _SERIES.pop(next(iter(_SERIES)))
        made = _SERIES[key] = _Series(rule, period, start, settings)
        return made


def _day(due: Due) -> date:
    return due.date() if isinstance(due, datetime) else due


_MONTHS_IN = {Unit.MONTHS: 1, Unit.YEARS: 12}


def _calendar_block_months(period: Period) -> int:
    months = period.amount * _MONTHS_IN[period.unit] if period.unit in _MONTHS_IN else None
    if months is None or months <= 0 or 12 % months:
        raise DeadlinesError(
            f"a calendar-aligned recurring rule needs 1, 2, 3, 4, 6 or 12 months, not {period}"
        )
    return months
