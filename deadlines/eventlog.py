"""Event logs: one YAML file per contract, the contract and what happened, in order.

The log is history: an event recorded in error is withdrawn by a later `withdrawn` event, never
deleted. This module reads and checks a log; `record` appends to one (see `recording.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import rulebook as rulebooks
from .calendars import load_zone
from .errors import DeadlinesError
from .feednames import RESERVED_CONTRACT_IDS
from .moments import Moment, parse_when, start_instant
from .owners import NOBODY, Owner, Owners, parse_owner
from .periods import Period
from .rulebook import Rulebook
from .settings import Settings
from .terms import TERM_RULES, Term, parse_term
from .vocabulary import (
    CONTRACT_EVENTS,
    DONE_EVENT,
    START_EVENT,
    TERMINATED_EVENT,
    WITHDRAWN_EVENT,
    By,
    EventKind,
)
from .yamlsource import Fields, Located, load_path

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_EVENTS = 10_000

CONTRACT_FIELDS = ("id", "agreement", "start", "timezone", "calendar", "role", "name", "region",
                   "roll", "reminders", "owner", "owners", "term")
EVENT_FIELDS = ("id", "type", "at", "ref", "note", "severity", "rule", "by")


@dataclass(frozen=True)
class Contract:
    id: str
    agreement: str
    start: Moment
    role: str  # one of the rulebook's two sides: whose side the log's owner is on
    name: str
    timezone: str | None
    calendar: Any
    region: str | None
    roll: str | None
    reminders: tuple[str, ...]
    line: int
    owners: Owners = NOBODY  # who answers for its deadlines (deadlines.owners)
    term: Term | None = None  # its term and renewals (deadlines.terms)


@dataclass(frozen=True)
class LoggedEvent:
    id: str
    type: str
    at: Moment
    at_text: str
    ref: str | None
    note: str
    severity: str | None
    rule: str | None
    line: int
    index: int
    by: str | None = None
    # trigger, fulfilment or withdrawal: what the rulebook makes of the type (`event_kind`);
    # contract: the contract's own events (its term and its end, deadlines.terms)
    kind: EventKind = EventKind.TRIGGER

    def instant(self, settings: Settings) -> datetime:
        """When it happened; a date alone counts from the start of that day."""
        return self.at.instant or start_instant(self.at.day, settings.zone)


@dataclass
class ContractLog:
    path: str
    contract: Contract
    rulebook: Rulebook
    settings: Settings
    events: list[LoggedEvent]
    warnings: list[str]

    def by_id(self, event_id: str) -> LoggedEvent | None:
        return next((e for e in self.events if e.id == event_id), None)

    @property
    def withdrawn_ids(self) -> set[str]:
        return effective_withdrawals(self.events)

    @property
    def live_events(self) -> list[LoggedEvent]:
        """The events that count: every one but those an effective withdrawal names."""
        withdrawn = self.withdrawn_ids
        return [e for e in self.events if e.id not in withdrawn]


def effective_withdrawals(events: list[LoggedEvent]) -> set[str]:
    """The ids withdrawn by a withdrawal that is not itself withdrawn.

    A withdrawal recorded in error is withdrawn like any other entry, and the event it named
    counts again. A ref only points back, so one pass from the end settles every chain.
    """
    withdrawn: set[str] = set()
    for event in reversed(events):
        if event.type == WITHDRAWN_EVENT and event.ref and event.id not in withdrawn:
            withdrawn.add(event.ref)
    return withdrawn


def fulfilled_rules(event: LoggedEvent, book: Rulebook) -> tuple[str, ...]:
    """The ids of the rules a fulfilment closes (its rulebook's `fulfilled_by`, or the rule a
    `done` names)."""
    return book.closes(event.type, event.rule)


@lru_cache(maxsize=256)
def reminder_period(text: str) -> Period:
    """How long before a deadline its alarm rings: a period of plain time ('7d', '2h',
    '1 month'), read by the one period parser. Memoised (a feed asks once per reminder of
    every pending deadline, of a handful of distinct texts): the result depends on the text
    alone, and a Period is immutable; a text that is not a period raises and is not kept."""
    return Period.parse_span(text)


def load(path: str | Path) -> ContractLog:
    return parse(load_path(path))


def parse(doc: Located) -> ContractLog:
    return _LogParser(doc).parse()


class _LogParser:
    """One reader per part of a log: the contract, then each event in order."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.warnings: list[str] = []
        self.term: Term | None = None

    def parse(self) -> ContractLog:
        top = self.doc.fields((), "a mapping with 'contract' and 'events'")
        for key in top.data:
            if key not in ("contract", "events"):
                raise top.fail(str(key), "unknown field; expected 'contract' and 'events'")
        contract_fields = top.mapping("contract", "a mapping (id, agreement, start, ...)")
        if top.get("contract") is None:
            raise top.fail("contract", "expected a mapping (id, agreement, start, ...)")
        book, contract, settings = self.contract(contract_fields)
        self.term = contract.term
        raw_events = top.list("events", "a list of events")
        if len(raw_events) > MAX_EVENTS:
            raise top.fail("events", f"more than {MAX_EVENTS} events in one log")
        events: list[LoggedEvent] = []
        for index in range(len(raw_events)):
            events.append(self.event(index, book, settings, events))
        return ContractLog(self.doc.file, contract, book, settings, events, self.warnings)

    # --- the contract ------------------------------------------------------------------------

    def contract(self, data: Fields) -> tuple[Rulebook, Contract, Settings]:
        data.only(CONTRACT_FIELDS)
        contract_id = data.need("id")
        if not SLUG_RE.match(contract_id):
            raise data.fail("id", "expected a lowercase slug such as acme-msa")
        if contract_id in RESERVED_CONTRACT_IDS:
            raise data.fail("id", f"{contract_id!r} is the name of a feed of every contract "
                            f"({', '.join(sorted(RESERVED_CONTRACT_IDS))} are reserved); "
                            "choose another id")
        book = self.rulebook(data)
        role = data.text("role") or book.sides[0]
        if role not in book.sides:
            raise data.fail("role", f"expected {' or '.join(book.sides)} (the sides of "
                            f"{book.id}): whose side we are on")
        settings = self.settings(data, book)
        try:
            start = parse_when(data.need("start"), settings.zone, self.warnings, what="start")
        except DeadlinesError as exc:
            raise data.fail("start", exc.message) from None
        term = self.term_of(data, start, settings)
        contract = Contract(
            id=contract_id, agreement=book.id, start=start, role=role,
            name=data.text("name") or contract_id, timezone=data.text("timezone"),
            calendar=data.get("calendar"), region=data.text("region"), roll=data.text("roll"),
            reminders=self.reminders(data), line=self.doc.line(data.path) or 1,
            owners=self.owners(data, book, term), term=term,
        )
        return book, contract, settings

    def term_of(self, data: Fields, start: Moment, settings: Settings) -> Term | None:
        """`term:`, the contract's term and renewals (deadlines.terms)."""
        if not data.has("term"):
            return None
        where = data.mapping("term", "a mapping such as {initial: 12 months, auto_renew: true}")

        def fail(key: str | None, message: str) -> DeadlinesError:
            return where.fail(key, message)

        return parse_term(where.data, start.day, settings, fail,
                          self.doc.line(where.path) or 0)

    def owners(self, data: Fields, book: Rulebook, term: Term | None) -> Owners:
        """`owner:` (a name and address) and `owners:` (rule id -> a name and address)."""
        default: Owner | None = None
        text = data.text("owner")
        if text is not None:
            try:
                default = parse_owner(text)
            except DeadlinesError as exc:
                raise data.fail("owner", exc.message) from None
        if not data.has("owners"):
            return Owners(default)
        mapping = data.mapping("owners", "a mapping of rule ids to owners, such as "
                                         "{support-response: support@example.org}")
        rules = {r.id for r in book.rules} | (set(TERM_RULES) if term is not None else set())
        by_rule: list[tuple[str, Owner]] = []
        for rule, value in mapping.data.items():
            key = str(rule)
            if key not in rules:
                also = " (term-end and non-renewal-notice need term: in the contract)" \
                    if key in TERM_RULES else ""
                raise mapping.fail(key, f"no rule {key!r} in {book.id} (`deadlines rules "
                                   f"{book.id}` lists them){also}")
            if isinstance(value, dict | list | bool) or value is None:
                raise mapping.fail(key, "expected a name and an e-mail address such as "
                                   "'Dana Legal <dana@example.org>'")
            try:
                by_rule.append((key, parse_owner(str(value))))
            except DeadlinesError as exc:
                raise mapping.fail(key, exc.message) from None
        return Owners(default, tuple(by_rule))

    def rulebook(self, data: Fields) -> Rulebook:
        """The contract's agreement: a shipped id, or a rulebook file read from the log's own
        folder."""
        agreement = data.need("agreement")
        if agreement.endswith((".yaml", ".yml")) and not Path(agreement).is_absolute():
            agreement = str(Path(self.doc.file).parent / agreement)
        try:
            return rulebooks.load(agreement)
        except DeadlinesError as exc:
            if exc.file and exc.line:  # a problem inside the contract's own rulebook file
                raise DeadlinesError(
                    f"{exc.message} (the agreement of {self.doc.file}:"
                    f"{self.doc.line((*data.path, 'agreement'))})",
                    file=exc.file, line=exc.line, field=exc.field) from None
            raise data.fail("agreement", exc.render()) from None

    def settings(self, data: Fields, book: Rulebook) -> Settings:
        """Zone, calendar, roll and region: the contract's own, else the agreement's."""
        calendar = data.get("calendar")
        try:
            if calendar is not None:  # checked now, not mid-count (see check_calendar)
                rulebooks.check_calendar(calendar)
        except DeadlinesError as exc:
            raise data.fail("calendar", exc.message) from None
        tz = data.text("timezone")
        try:
            settings = Settings.resolve(book, tz=tz, calendar=calendar, roll=data.text("roll"),
                                        region=data.text("region"))
        except DeadlinesError as exc:  # Settings says which field is wrong
            raise data.fail(exc.field or "calendar", exc.message) from None
        if tz is not None:
            try:
                load_zone(tz)
            except DeadlinesError as exc:
                raise data.fail("timezone", exc.message) from None
        return settings

    def reminders(self, data: Fields) -> tuple[str, ...]:
        raw = data.get("reminders") if "reminders" in data.data else ["7d", "1d"]
        if not isinstance(raw, list):
            raise data.fail("reminders", "expected a list such as [7d, 1d]")
        for i, item in enumerate(raw):
            try:
                reminder_period(str(item))
            except DeadlinesError as exc:
                raise self.doc.error((*data.path, "reminders", i), exc.message) from None
        return tuple(str(item) for item in raw)

    # --- the events --------------------------------------------------------------------------

    def event(self, index: int, book: Rulebook, settings: Settings,
              earlier: list[LoggedEvent]) -> LoggedEvent:
        data = self.doc.fields(("events", index), "a mapping with type and at")
        data.only(EVENT_FIELDS)
        kind = data.need("type")
        event_kind = book.event_kind(kind)
        if event_kind is None and kind in CONTRACT_EVENTS:
            event_kind = EventKind.CONTRACT  # the contract's own (deadlines.terms)
        if event_kind is None:
            known = sorted({*book.events, *book.fulfilments, *CONTRACT_EVENTS, DONE_EVENT,
                            WITHDRAWN_EVENT})
            raise data.fail("type", f"unknown event type {kind!r} for {book.id}; expected one "
                            f"of {', '.join(known)}")
        at_text = data.need("at")
        try:
            at = parse_when(at_text, settings.zone, self.warnings, what="at")
        except DeadlinesError as exc:
            raise data.fail("at", exc.message) from None
        event_id = data.text("id")
        if event_id is None:
            event_id = _derived_id(kind, at_text, earlier)
        elif not EVENT_ID_RE.match(event_id):
            raise data.fail("id", "expected letters, digits, '.', '_' or '-'")
        if any(e.id == event_id for e in earlier):
            raise data.fail("id", f"duplicate event id {event_id!r}")
        by = data.text("by")
        if by is not None and by not in tuple(By):
            raise data.fail("by", "expected us (we gave the notice or did the event) or them "
                            "(the other party did)")
        event = LoggedEvent(event_id, kind, at, at_text, data.text("ref"), data.text("note") or "",
                            self.severity(data, book, kind), self.rule(data, book, kind),
                            self.doc.line(data.path) or 1, index, by,
                            EventKind.TRIGGER if event_kind is EventKind.START else event_kind)
        if event.kind is EventKind.CONTRACT:
            if kind != TERMINATED_EVENT and self.term is None:
                raise data.fail("type", f"{kind} is about the contract's term; add term: to the "
                                "contract (docs/event-log.md, \"The term\")")
            if event.ref is not None:
                raise data.fail("ref", f"{kind} is about the contract as a whole; it takes no "
                                "ref")
            return event
        self.check_ref(event, data, book, earlier)
        return event

    def severity(self, data: Fields, book: Rulebook, kind: str) -> str | None:
        """A severity or alias, required for an event whose rules depend on one."""
        severity = data.text("severity")
        if severity is not None:
            try:
                return book.severity_name(severity)
            except DeadlinesError as exc:
                raise data.fail("severity", exc.message) from None
        if kind in book.events and any(r.severity for r in book.rules_for(kind)):
            raise data.fail("severity", f"{kind} needs a severity: one of "
                            f"{', '.join(book.severities)}")
        return None

    def rule(self, data: Fields, book: Rulebook, kind: str) -> str | None:
        """The rule a `done` fulfils (only a `done` names one)."""
        rule = data.text("rule")
        if kind == DONE_EVENT:
            if rule is None:
                raise data.fail("rule", "a 'done' event names the rule it fulfils")
            if rule not in {r.id for r in book.rules}:
                raise data.fail("rule", f"no rule {rule!r} in {book.id}")
        elif rule is not None:
            raise data.fail("rule", "only a 'done' event names a rule")
        return rule

    def check_ref(self, event: LoggedEvent, data: Fields, book: Rulebook,
                  earlier: list[LoggedEvent]) -> None:
        if event.kind is EventKind.TRIGGER:
            if event.ref is not None:
                raise data.fail("ref", "a trigger event does not take a ref")
            return
        if event.type == WITHDRAWN_EVENT:
            if event.ref is None:
                raise data.fail("ref", "a withdrawal names the event it withdraws")
            if not any(e.id == event.ref for e in earlier):
                raise data.fail("ref", f"no earlier event {event.ref!r} to withdraw")
            return
        rules = set(fulfilled_rules(event, book))
        triggers = {e for r in book.rules if r.id in rules for e in r.events}
        if not triggers:
            raise data.fail("type", f"{book.id} has no rule that {event.type} fulfils "
                            f"({', '.join(sorted(rules))})")
        if event.ref is None:
            if START_EVENT in triggers:
                return  # a duty that runs from the contract start: the start is the trigger
            if find_open_trigger(event, triggers, earlier) is None:
                raise data.fail("ref", f"no earlier {' or '.join(sorted(triggers))} for "
                                f"{event.type} to close; add ref: with the trigger's id")
            return
        target = next((e for e in earlier if e.id == event.ref), None)
        if target is None:
            raise data.fail("ref", f"no earlier event {event.ref!r}")
        if target.type not in triggers:
            raise data.fail("ref", f"{event.ref!r} is a {target.type}; {event.type} closes "
                            f"{' or '.join(sorted(triggers))}")


def find_open_trigger(event: LoggedEvent, triggers: set[str], earlier: list[LoggedEvent]
                      ) -> LoggedEvent | None:
    """The latest earlier trigger of a matching type that is not withdrawn."""
    withdrawn = effective_withdrawals(earlier)
    for candidate in reversed(earlier):
        if candidate.type in triggers and candidate.id not in withdrawn:
            return candidate
    return None


def resolve_target(event: LoggedEvent, log: ContractLog) -> LoggedEvent | None:
    """The trigger a fulfilment closes: its ref, or the latest open one before it."""
    if event.ref is not None:
        return log.by_id(event.ref)
    rules = set(fulfilled_rules(event, log.rulebook))
    triggers = {e for r in log.rulebook.rules if r.id in rules for e in r.events}
    return find_open_trigger(event, triggers, log.events[: event.index])


def _derived_id(kind: str, at_text: str, earlier: list[LoggedEvent]) -> str:
    """type@when, stable while the entry is not edited; a counter tells twins apart."""
    base = f"{kind}@{re.sub(r'[^0-9A-Za-z]+', '-', at_text).strip('-')}"
    taken = {e.id for e in earlier}
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"


def find_logs(directory: str | Path) -> list[Path]:
    """The event logs of a folder (*.yaml, *.yml; subfolders are not searched), or an error."""
    root = Path(directory)
    if not root.is_dir():
        raise DeadlinesError("not a directory of event logs", file=str(directory))
    # sorted by name (the same order as by path, the folder being one): comparing Paths is
    # slow enough to show in a build of 10,000 logs
    paths = [p for p in sorted(root.glob("*.y*ml"), key=lambda p: p.name)
             if p.suffix in (".yaml", ".yml")]
    if not paths:
        # a build pointed at the wrong folder must not publish empty calendars over good ones
        raise DeadlinesError("no event log (*.yaml, *.yml) in this folder; logs in subfolders "
                             "are not searched", file=str(directory))
    return paths


def load_dir(directory: str | Path) -> list[ContractLog]:
    """Every log of a folder (see `find_logs`), checked as a set (contract ids unique)."""
    logs = [load(p) for p in find_logs(directory)]
    seen: dict[str, str] = {}
    for log in logs:
        if log.contract.id in seen:
            raise DeadlinesError(
                f"contract id {log.contract.id!r} is also used by {seen[log.contract.id]}",
                file=log.path, line=log.contract.line, field="contract.id")
        seen[log.contract.id] = log.path
    return logs


def now_utc() -> datetime:  # the one wall-clock read, at the edge
    return datetime.now(UTC)
