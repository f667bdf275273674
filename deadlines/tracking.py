"""Tracking: an event log -> every deadline it set off, each with its status as of a moment.

Statuses:
  pending    the due date has not passed and nothing fulfils it yet
  met        fulfilled on or before the due date
  late       fulfilled after the due date
  missed     the due date passed and nothing fulfils it
  withdrawn  the trigger was withdrawn (recorded in error), or a right never opened because the
             obligation before it was met
  open       a right whose opening date has passed (the obligation before it was not met)
  closed     a limit whose measuring period has ended (the tool cannot see whether it was kept)
  undated    a duty with no number in the text: listed, never dated
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar, overload

from .engine import (
    DEFAULT_HORIZON_MONTHS,
    Computation,
    Deadline,
    Due,
    Giver,
    compute,
    is_ours,
    resolve_giver,
)
from .eventlog import ContractLog, LoggedEvent, fulfilled_rules, resolve_target
from .moments import Moment
from .periods import add_months, end_of_day, start_of_day
from .terms import contract_end, end_at_termination, track_terms
from .vocabulary import START_EVENT, WITHDRAWN_EVENT, EventKind, Kind, Status

_T = TypeVar("_T")


class _once(Generic[_T]):
    """A property computed on first use and then kept in the instance (functools'
    cached_property without its per-class lock, which cost more than some of the values it
    guards: a build reads these for hundreds of thousands of deadlines). Only for values that
    never change once the instance exists (see Tracked)."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _once[_T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> _T | _once[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)  # later reads find it there
        return value


@dataclass
class Tracked:
    log: ContractLog
    deadline: Deadline
    trigger: LoggedEvent | None  # None for rules that run from the contract start
    status: Status
    done: LoggedEvent | None = None
    closed_at: datetime | None = None  # when it was fulfilled or withdrawn (UTC)
    changed_at: datetime | None = None  # latest fact that shaped it (UTC), for LAST-MODIFIED

    # The identity, the due instant and day and who gave the trigger are read many times per
    # deadline (window, status, stamps, feeds, next change). They derive only from `log`,
    # `deadline` and `trigger`, which are never reassigned once a Tracked is made (only the
    # status, the fulfilment and the timestamps change), and a Deadline's due date, rule and
    # occurrence never change either; so each is computed once, on first use.

    @_once
    def key(self) -> str:
        """Identity: contract, rule (and severity), trigger, occurrence. Never the date."""
        rule = self.deadline.rule
        trigger = self.trigger.id if self.trigger else "start"
        parts = [self.log.contract.id, rule.key, trigger]
        if self.deadline.occurrence is not None:
            parts.append(str(self.deadline.occurrence))
        return "/".join(parts)

    @_once
    def uid(self) -> str:
        digest = hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:24]
        return f"{digest}@deadlines"

    @property
    def due(self) -> Due | None:
        return self.deadline.due

    @_once
    def due_end(self) -> datetime | None:
        """The instant the deadline passes (a whole day ends at its midnight)."""
        return due_end(self.deadline.due, self.log)

    @_once
    def due_day(self) -> date | None:
        due = self.deadline.due
        if due is None:
            return None
        if isinstance(due, datetime):
            return due.astimezone(self.log.settings.zone).date()
        return due

    @_once
    def giver(self) -> Giver:
        """Who gave the triggering notice or did the event (the log's `by`, else the
        rulebook's default for the event type with the contract's role)."""
        if self.trigger is None:
            return Giver()
        return resolve_giver(self.log.rulebook, self.trigger.type, self.trigger.by,
                             self.log.contract.role)

    @_once
    def ours(self) -> bool:
        """Whether our side must (or may) act; for a rule either party may owe, decided by who
        gave the notice (see engine.owed_by)."""
        return is_ours(self.deadline.rule, self.giver, self.log.contract.role)


def due_end(due: Due | None, log: ContractLog) -> datetime | None:
    if due is None:
        return None
    if isinstance(due, datetime):
        return due.astimezone(UTC)
    return end_of_day(due, log.settings.zone)


def _moment_end(moment: Moment, log: ContractLog) -> datetime:
    """A fulfilment recorded with a date only is taken at the end of that day (conservative)."""
    return moment.instant or end_of_day(moment.day, log.settings.zone)


def track(log: ContractLog, as_of: datetime, horizon_months: int = DEFAULT_HORIZON_MONTHS
          ) -> list[Tracked]:
    """Every deadline of one contract with its status as of `as_of` (aware)."""
    settings = log.settings
    book = log.rulebook
    withdrawn = log.withdrawn_ids
    live = [e for e in log.events if e.id not in withdrawn]
    # fulfilments per trigger id: rule id -> the earliest fulfilling event
    done: dict[str, dict[str, LoggedEvent]] = {}
    start_done: dict[str, list[LoggedEvent]] = {}
    for event in live:
        # a fulfilment dated after the as-of moment has not happened yet, as of then
        if event.kind is not EventKind.FULFILMENT or event.instant(settings) > as_of:
            continue
        target = resolve_target(event, log)
        for rule_id in fulfilled_rules(event, book):
            if target is None or target.id in withdrawn:
                start_done.setdefault(rule_id, []).append(event)
                continue
            slot = done.setdefault(target.id, {})
            if rule_id not in slot or event.at.day < slot[rule_id].at.day:
                slot[rule_id] = event
    out: list[Tracked] = []
    for event in log.events:
        if event.kind is not EventKind.TRIGGER or event.type == START_EVENT:
            continue  # the contract's own events (EventKind.CONTRACT): the terms below
        fulfilled = {rule: e.at for rule, e in done.get(event.id, {}).items()}
        result = compute(book, event.type, event.at, settings, severity=event.severity,
                         fulfilled=fulfilled)
        log.warnings.extend(w for w in result.warnings if w not in log.warnings)
        for deadline in result.deadlines:
            tracked = Tracked(log, deadline, event, Status.PENDING,
                              done=done.get(event.id, {}).get(deadline.rule.id))
            _status(tracked, as_of, event.id in withdrawn, withdrawal(log, event.id))
            out.append(tracked)
    until = add_months(as_of.astimezone(settings.zone).date(), horizon_months)[0]
    if START_EVENT in book.events:
        result = compute(book, START_EVENT, log.contract.start, settings,
                         recurring_until=until)
        log.warnings.extend(w for w in result.warnings if w not in log.warnings)
        used: set[str] = set()
        for deadline in result.deadlines:
            tracked = Tracked(log, deadline, None, Status.PENDING)
            tracked.done = _match_recurring(tracked, start_done.get(deadline.rule.id, []), used)
            _status(tracked, as_of, False, None)
            out.append(tracked)
    terms = track_terms(log, as_of, until, live)
    out.extend(terms.items)
    _resolve_rights(out, as_of)
    end = contract_end(log, terms)
    if end is not None:
        end_at_termination(out, log, end)
    # A fact dated in the future (a planned maintenance window, a planned end-of-life) is
    # known today at the latest: cap at the start of the as-of day, never at the clock time.
    today = datetime.combine(as_of.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    for tracked in out:
        tracked.changed_at = min(_changed_at(tracked, log), today)
    return out


def withdrawal(log: ContractLog, event_id: str) -> LoggedEvent | None:
    """The withdrawal in force for an event: the latest one that is not itself withdrawn."""
    withdrawn = log.withdrawn_ids
    return next((e for e in reversed(log.events)
                 if e.type == WITHDRAWN_EVENT and e.ref == event_id
                 and e.id not in withdrawn), None)


def _match_recurring(tracked: Tracked, candidates: list[LoggedEvent], used: set[str]
                     ) -> LoggedEvent | None:
    """A `done` with no trigger closes the first open occurrence due on or after it."""
    day = tracked.due_day
    if day is None:
        return None
    for event in candidates:
        if event.id not in used and event.at.day <= day:
            used.add(event.id)
            return event
    return None


def _status(tracked: Tracked, as_of: datetime, trigger_withdrawn: bool,
            withdrawn_by: LoggedEvent | None) -> None:
    log = tracked.log
    rule = tracked.deadline.rule
    if trigger_withdrawn:
        tracked.status = Status.WITHDRAWN
        if withdrawn_by is not None:
            tracked.closed_at = withdrawn_by.instant(log.settings)
        return
    end = tracked.due_end
    if end is None:
        tracked.status = Status.UNDATED
        return
    if rule.kind is Kind.LIMIT:
        tracked.status = Status.CLOSED if as_of >= end else Status.PENDING
        return
    if rule.kind is Kind.RIGHT:
        tracked.status = Status.PENDING  # settled by _resolve_rights
        return
    if tracked.done is not None:
        if tracked.deadline.hour_based:
            in_time = _moment_end(tracked.done.at, log) <= end
        else:  # a whole-day deadline is met by anything done on or before that day
            due_day = tracked.due_day
            assert due_day is not None  # it has a due date: `end` was set from it
            in_time = tracked.done.at.day <= due_day
        tracked.status = Status.MET if in_time else Status.LATE
        tracked.closed_at = tracked.done.instant(log.settings)
        return
    tracked.status = Status.MISSED if as_of >= end else Status.PENDING


def _resolve_rights(items: list[Tracked], as_of: datetime) -> None:
    """A right that follows an obligation opens only if that obligation was not met in time."""
    by_trigger: dict[tuple[str, str], Tracked] = {}
    for t in items:
        if t.trigger is not None and t.deadline.rule.kind is not Kind.RIGHT:
            by_trigger.setdefault((t.trigger.id, t.deadline.rule.id), t)
    for t in items:
        rule = t.deadline.rule
        if rule.kind is not Kind.RIGHT or t.status is Status.WITHDRAWN or t.due_end is None:
            continue
        parent = by_trigger.get((t.trigger.id, rule.anchor_rule)) \
            if t.trigger is not None and rule.anchor_rule else None
        if parent is not None and parent.status is Status.MET:
            t.status = Status.WITHDRAWN
            t.closed_at = parent.closed_at
            continue
        start = t.due_end - timedelta(days=1) if not t.deadline.hour_based else t.due_end
        t.status = Status.OPEN if as_of >= start else Status.PENDING


def _changed_at(tracked: Tracked, log: ContractLog) -> datetime:
    """The latest fact behind this deadline's current state: its trigger, its fulfilment or
    withdrawal, or the passing of its due date. No wall clock is involved."""
    settings = log.settings
    facts: list[datetime] = []
    if tracked.trigger is not None:
        facts.append(tracked.trigger.instant(settings))
    else:
        facts.append(start_of_day(log.contract.start.day, settings.zone))
    if tracked.closed_at is not None:
        facts.append(tracked.closed_at)
    end = tracked.due_end
    if end is not None and tracked.status in (Status.MISSED, Status.CLOSED):
        facts.append(end)
    if end is not None and tracked.status is Status.OPEN:
        facts.append(end - timedelta(days=1) if not tracked.deadline.hour_based else end)
    return max(facts).astimezone(UTC)


def track_all(logs: Iterable[ContractLog], as_of: datetime,
              horizon_months: int = DEFAULT_HORIZON_MONTHS) -> list[Tracked]:
    out: list[Tracked] = []
    for log in logs:
        out.extend(track(log, as_of, horizon_months))
    return out


_NEVER = datetime.max.replace(tzinfo=UTC)  # an undated deadline sorts last


def sort_key(t: Tracked) -> tuple[datetime, str]:
    return (t.due_end or _NEVER, t.key)


def as_one_off(result: Computation) -> list[Tracked]:
    """The deadlines of one `compute` as tracked entries (status pending), for an .ics file."""
    from .eventlog import Contract, ContractLog, LoggedEvent

    book, settings = result.rulebook, result.settings
    contract = Contract(id="one-off", agreement=book.id, start=result.trigger, role=book.sides[0],
                        name=book.name, timezone=settings.zone.key, calendar=None, region=None,
                        roll=None, reminders=("7d", "1d"), line=1)
    trigger = LoggedEvent(id=result.event, type=result.event, at=result.trigger,
                          at_text=result.trigger.iso(settings.zone), ref=None, note="",
                          severity=None, rule=None, line=1, index=0,
                          by=result.giver.party if result.giver.recorded else None)
    log = ContractLog("", contract, book, settings, [trigger], [])
    out = []
    for d in result.deadlines:
        if d.due is None:
            continue
        t = Tracked(log, d, trigger, Status.PENDING)
        t.changed_at = _changed_at(t, log)
        out.append(t)
    return out
