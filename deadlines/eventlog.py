"""Event logs: one YAML file per contract, the contract and what happened, in order.

The log is history: an event recorded in error is withdrawn by a later `withdrawn` event, never
deleted. This module reads and checks a log; `record` appends to one (see `recording.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import rulebook as rulebooks
from .calendars import load_zone
from .engine import Settings
from .errors import DeadlinesError
from .feednames import RESERVED_CONTRACT_IDS
from .moments import Moment, parse_when, start_instant
from .periods import Period
from .rulebook import Rulebook
from .yamlsource import FieldPath, Located, load_path

ROLES = ("customer", "provider")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_EVENTS = 10_000

# Fulfilment events and the rule(s) each one closes. `done` closes the rule named by `rule:`.
FULFILMENTS: dict[str, tuple[str, ...]] = {
    "breach_cured": ("cure",),
    "incident_notified": ("incident-notice",),
    "incident_report_sent": ("incident-report",),
    "data_deleted": ("deletion",),
    "deletion_certified": ("deletion-certificate",),
    "eol_notice_given": ("eol-notice",),
    "maintenance_notice_given": ("maintenance-notice",),
    "support_responded": ("support-response",),
    "access_revoked": ("access-revocation",),
    "subprocessor_notice_given": ("subprocessor-notice",),
    "audit_notice_given": ("audit-notice",),
    "dsr_answered": ("dsr-response",),
    "breach_notified": ("personal-data-breach-notice",),
}
GENERIC_DONE = "done"
WITHDRAWN = "withdrawn"
CONTRACT_FIELDS = ("id", "agreement", "start", "timezone", "calendar", "role", "name", "region",
                   "roll", "reminders")
EVENT_FIELDS = ("id", "type", "at", "ref", "note", "severity", "rule", "by")
# `by`: the party who gave (sent) the notice or did the event, relative to the contract's owner;
# it decides who owes the rules either party may owe (docs/rulebook-format.md, `either`)
BY_VALUES = ("us", "them")


@dataclass(frozen=True)
class Contract:
    id: str
    agreement: str
    start: Moment
    role: str
    name: str
    timezone: str | None
    calendar: Any
    region: str | None
    roll: str | None
    reminders: tuple[str, ...]
    line: int


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

    @property
    def kind(self) -> str:
        if self.type == WITHDRAWN:
            return "withdrawal"
        if self.type == GENERIC_DONE or self.type in FULFILMENTS:
            return "fulfilment"
        return "trigger"

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


def effective_withdrawals(events: list[LoggedEvent]) -> set[str]:
    """The ids withdrawn by a withdrawal that is not itself withdrawn.

    A withdrawal recorded in error is withdrawn like any other entry, and the event it named
    counts again. A ref only points back, so one pass from the end settles every chain.
    """
    withdrawn: set[str] = set()
    for event in reversed(events):
        if event.type == WITHDRAWN and event.ref and event.id not in withdrawn:
            withdrawn.add(event.ref)
    return withdrawn


def fulfilling_types(rule_id: str) -> tuple[str, ...]:
    """The fulfilment event types that close a rule (besides `done` with `rule:`)."""
    return tuple(kind for kind, rules in FULFILMENTS.items() if rule_id in rules)


def fulfilled_rules(event: LoggedEvent) -> tuple[str, ...]:
    if event.type == GENERIC_DONE:
        return (event.rule,) if event.rule else ()
    return FULFILMENTS.get(event.type, ())


def reminder_period(text: str) -> Period:
    """How long before a deadline its alarm rings: a period of plain time ('7d', '2h',
    '1 month'), read by the one period parser."""
    return Period.parse_span(text)


def load(path: str | Path) -> ContractLog:
    return parse(load_path(path))


def parse(doc: Located) -> ContractLog:
    return _LogParser(doc).parse()


class _LogParser:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.warnings: list[str] = []

    def fail(self, path: FieldPath, message: str) -> DeadlinesError:
        return self.doc.error(path, message)

    def wrap(self, path: FieldPath, exc: DeadlinesError) -> DeadlinesError:
        return self.fail(path, exc.message)

    def text(self, data: dict[str, Any], key: str, path: FieldPath, required: bool = False
             ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail((*path, key), "required field is missing")
            return None
        if isinstance(value, dict | list | bool):
            raise self.fail((*path, key), f"expected text, got {type(value).__name__}")
        return str(value).strip()

    def parse(self) -> ContractLog:
        top = self.doc.data
        if not isinstance(top, dict):
            raise self.fail((), "expected a mapping with 'contract' and 'events'")
        for key in top:
            if key not in ("contract", "events"):
                raise self.fail((str(key),), "unknown field; expected 'contract' and 'events'")
        raw_contract = top.get("contract")
        if not isinstance(raw_contract, dict):
            raise self.fail(("contract",), "expected a mapping (id, agreement, start, ...)")
        book, contract, settings = self.contract(raw_contract)
        raw_events = top.get("events") or []
        if not isinstance(raw_events, list):
            raise self.fail(("events",), "expected a list of events")
        if len(raw_events) > MAX_EVENTS:
            raise self.fail(("events",), f"more than {MAX_EVENTS} events in one log")
        events: list[LoggedEvent] = []
        for index, raw in enumerate(raw_events):
            events.append(self.event(raw, index, book, settings, events))
        return ContractLog(self.doc.file, contract, book, settings, events, self.warnings)

    def contract(self, data: dict[str, Any]) -> tuple[Rulebook, Contract, Settings]:
        path: FieldPath = ("contract",)
        for key in data:
            if key not in CONTRACT_FIELDS:
                raise self.fail((*path, str(key)),
                                f"unknown field; expected one of {', '.join(CONTRACT_FIELDS)}")
        contract_id = self.text(data, "id", path, required=True) or ""
        if not SLUG_RE.match(contract_id):
            raise self.fail((*path, "id"), "expected a lowercase slug such as acme-freshhawk")
        if contract_id in RESERVED_CONTRACT_IDS:
            raise self.fail((*path, "id"), f"{contract_id!r} is the name of a feed of every "
                            f"contract ({', '.join(sorted(RESERVED_CONTRACT_IDS))} are reserved); "
                            "choose another id")
        agreement = self.text(data, "agreement", path, required=True) or ""
        try:
            if agreement.endswith((".yaml", ".yml")) and not Path(agreement).is_absolute():
                agreement_ref = str(Path(self.doc.file).parent / agreement)
            else:
                agreement_ref = agreement
            book = rulebooks.load(agreement_ref)
        except DeadlinesError as exc:
            if exc.file and exc.line:  # a problem inside the contract's own rulebook file
                raise DeadlinesError(
                    f"{exc.message} (the agreement of {self.doc.file}:"
                    f"{self.doc.line((*path, 'agreement'))})",
                    file=exc.file, line=exc.line, field=exc.field) from None
            raise self.fail((*path, "agreement"), exc.render()) from None
        role = self.text(data, "role", path) or "customer"
        if role not in ROLES:
            raise self.fail((*path, "role"), "expected customer or provider")
        tz = self.text(data, "timezone", path)
        region = self.text(data, "region", path)
        roll = self.text(data, "roll", path)
        calendar = data.get("calendar")
        try:
            if calendar is not None:  # checked now, not mid-count (see check_calendar)
                rulebooks.check_calendar(calendar)
        except DeadlinesError as exc:
            raise self.wrap((*path, "calendar"), exc) from None
        try:
            settings = Settings.resolve(book, tz=tz, calendar=calendar, roll=roll, region=region)
        except DeadlinesError as exc:
            field = "timezone" if "time zone" in exc.message else \
                "region" if "region" in exc.message else "roll" if "roll" in exc.message \
                else "calendar"
            raise self.wrap((*path, field), exc) from None
        if tz is not None:
            try:
                load_zone(tz)
            except DeadlinesError as exc:
                raise self.wrap((*path, "timezone"), exc) from None
        start_text = self.text(data, "start", path, required=True) or ""
        try:
            start = parse_when(start_text, settings.zone, self.warnings, what="start")
        except DeadlinesError as exc:
            raise self.wrap((*path, "start"), exc) from None
        reminders_raw = data.get("reminders", ["7d", "1d"])
        if not isinstance(reminders_raw, list):
            raise self.fail((*path, "reminders"), "expected a list such as [7d, 1d]")
        reminders = []
        for i, item in enumerate(reminders_raw):
            try:
                reminder_period(str(item))
            except DeadlinesError as exc:
                raise self.wrap((*path, "reminders", i), exc) from None
            reminders.append(str(item))
        contract = Contract(
            id=contract_id, agreement=book.id, start=start, role=role,
            name=self.text(data, "name", path) or contract_id, timezone=tz, calendar=calendar,
            region=region, roll=roll, reminders=tuple(reminders),
            line=self.doc.line(path) or 1,
        )
        return book, contract, settings

    def event(self, raw: Any, index: int, book: Rulebook, settings: Settings,
              earlier: list[LoggedEvent]) -> LoggedEvent:
        path: FieldPath = ("events", index)
        if not isinstance(raw, dict):
            raise self.fail(path, "expected a mapping with type and at")
        for key in raw:
            if key not in EVENT_FIELDS:
                raise self.fail((*path, str(key)),
                                f"unknown field; expected one of {', '.join(EVENT_FIELDS)}")
        kind = self.text(raw, "type", path, required=True) or ""
        known = sorted(set(book.events) | set(FULFILMENTS) | {GENERIC_DONE, WITHDRAWN})
        if kind not in known:
            raise self.fail((*path, "type"),
                            f"unknown event type {kind!r} for {book.id}; expected one of "
                            f"{', '.join(known)}")
        at_text = self.text(raw, "at", path, required=True) or ""
        try:
            at = parse_when(at_text, settings.zone, self.warnings, what="at")
        except DeadlinesError as exc:
            raise self.wrap((*path, "at"), exc) from None
        severity = self.text(raw, "severity", path)
        if severity is not None:
            try:
                severity = book.severity_name(severity)
            except DeadlinesError as exc:
                raise self.wrap((*path, "severity"), exc) from None
        elif kind in book.events and any(r.severity for r in book.rules_for(kind)):
            raise self.fail((*path, "severity"),
                            f"{kind} needs a severity: one of {', '.join(book.severities)}")
        rule = self.text(raw, "rule", path)
        if kind == GENERIC_DONE:
            if rule is None:
                raise self.fail((*path, "rule"), "a 'done' event names the rule it fulfils")
            if rule not in {r.id for r in book.rules}:
                raise self.fail((*path, "rule"), f"no rule {rule!r} in {book.id}")
        elif rule is not None:
            raise self.fail((*path, "rule"), "only a 'done' event names a rule")
        event_id = self.text(raw, "id", path)
        if event_id is None:
            event_id = _derived_id(kind, at_text, earlier)
        elif not EVENT_ID_RE.match(event_id):
            raise self.fail((*path, "id"), "expected letters, digits, '.', '_' or '-'")
        if any(e.id == event_id for e in earlier):
            raise self.fail((*path, "id"), f"duplicate event id {event_id!r}")
        ref = self.text(raw, "ref", path)
        by = self.text(raw, "by", path)
        if by is not None and by not in BY_VALUES:
            raise self.fail((*path, "by"), "expected us (we gave the notice or did the event) "
                            "or them (the other party did)")
        event = LoggedEvent(event_id, kind, at, at_text, ref, self.text(raw, "note", path) or "",
                            severity, rule, self.doc.line(path) or 1, index, by)
        self.check_ref(event, path, book, earlier)
        return event

    def check_ref(self, event: LoggedEvent, path: FieldPath, book: Rulebook,
                  earlier: list[LoggedEvent]) -> None:
        if event.kind == "trigger":
            if event.ref is not None:
                raise self.fail((*path, "ref"), "a trigger event does not take a ref")
            return
        if event.type == WITHDRAWN:
            if event.ref is None:
                raise self.fail((*path, "ref"), "a withdrawal names the event it withdraws")
            if not any(e.id == event.ref for e in earlier):
                raise self.fail((*path, "ref"), f"no earlier event {event.ref!r} to withdraw")
            return
        rules = set(fulfilled_rules(event))
        triggers = {e for r in book.rules if r.id in rules for e in r.events}
        if not triggers:
            raise self.fail((*path, "type"),
                            f"{book.id} has no rule that {event.type} fulfils "
                            f"({', '.join(sorted(rules))})")
        if event.ref is None:
            if "contract_start" in triggers:
                return  # a duty that runs from the contract start: the start is the trigger
            if find_open_trigger(event, triggers, earlier) is None:
                raise self.fail((*path, "ref"),
                                f"no earlier {' or '.join(sorted(triggers))} for {event.type} to "
                                "close; add ref: with the trigger's id")
            return
        target = next((e for e in earlier if e.id == event.ref), None)
        if target is None:
            raise self.fail((*path, "ref"), f"no earlier event {event.ref!r}")
        if target.type not in triggers:
            raise self.fail((*path, "ref"),
                            f"{event.ref!r} is a {target.type}; {event.type} closes "
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
    rules = set(fulfilled_rules(event))
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
    paths = [p for p in sorted(root.glob("*.y*ml")) if p.suffix in (".yaml", ".yml")]
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
