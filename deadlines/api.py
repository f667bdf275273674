"""The library's front door: every CLI command is one call in here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from . import rulebook as rulebooks
from .calendars import BusinessCalendar, CalendarSpec, load_zone
from .engine import Computation, Deadline, Due, Giver, count, owed_by, who_words
from .engine import compute as _compute
from .errors import DeadlinesError
from .feedpolicy import AGGREGATE_DAYS_AHEAD, AGGREGATE_PAST_DAYS, MAX_FEED_BYTES
from .moments import Moment, parse_when
from .periods import Period, Unit, count_calendar, shift
from .rulebook import Rule, Rulebook
from .settings import Settings
from .vocabulary import (
    DONE_EVENT,
    EITHER_PARTY,
    LANGUAGES,
    START_EVENT,
    WITHDRAWN_EVENT,
    Direction,
    EventKind,
    Kind,
    Roll,
)

if TYPE_CHECKING:
    from .build import BuildReport
    from .eventlog import ContractLog, LoggedEvent
    from .importing import ImportReport
    from .notify import NotifyReport
    from .owners import Owners
    from .rows import Row
    from .tracking import Tracked


# The command-line option of each setting a one-off count may override.
OPTIONS = {"timezone": "--tz", "calendar": "--calendar", "roll": "--roll", "region": "--region"}


def compute(agreement: str, event: str, when: object, *, severity: str | None = None,
            region: str | None = None, tz: str | None = None, calendar: object = None,
            roll: str | None = None, by: str | None = None) -> Computation:
    """Every deadline that EVENT at WHEN sets off under AGREEMENT. `by` (us or them): who gave
    the notice, for the rules either party may owe (the rulebook's default otherwise).

    AGREEMENT may also be a contract's event log: the count is then the contract's (its zone,
    calendar, roll and region unless given here, its role), and says who owns each rule."""
    log = contract_log(agreement)
    book = rulebooks.load(agreement) if log is None else log.rulebook
    if log is not None and (tz, calendar, roll, region) == (None, None, None, None):
        settings = log.settings
    else:
        if log is not None:  # the contract's own settings, but for what the options say
            contract = log.contract
            tz, roll, region = tz or contract.timezone, roll or contract.roll, \
                region or contract.region
            calendar = calendar if calendar is not None else contract.calendar
        try:
            if calendar is not None:  # checked now, not mid-count (see check_calendar)
                rulebooks.check_calendar(calendar)
            settings = Settings.resolve(book, tz=tz, calendar=calendar, roll=roll,
                                        region=region)
        except DeadlinesError as exc:  # named by the option that gave the value
            raise DeadlinesError(exc.message, field=OPTIONS.get(exc.field or "")) from None
    warnings: list[str] = []
    trigger = parse_when(when, settings.zone, warnings)
    result = _compute(book, event, trigger, settings, severity=severity, warnings=warnings,
                      by=by, role=log.contract.role if log is not None else None)
    if log is not None:
        result.contract, result.owners = log.contract.id, log.contract.owners
    return result


def contract_log(path: str) -> ContractLog | None:
    """The event log at `path`, if it is one (a YAML file with a `contract:` section)."""
    if not path.endswith((".yaml", ".yml")):
        return None  # an agreement's id: no need to import the log's reader (or YAML)
    from .eventlog import parse
    from .yamlsource import load_path

    try:
        doc = load_path(path)
    except DeadlinesError:
        return None  # the rulebook loader says what is wrong with the file
    if not isinstance(doc.data, dict) or "contract" not in doc.data:
        return None
    return parse(doc)


def due_iso(due: Due | None, settings: Settings | None = None, zone: str | None = None
            ) -> str | None:
    """'YYYY-MM-DD' for a whole day, ISO 8601 with offset in the contract's zone for an instant."""
    if due is None:
        return None
    if isinstance(due, datetime):
        tzinfo = settings.zone if settings is not None else load_zone(zone or "UTC")
        return due.astimezone(tzinfo).isoformat(timespec="seconds")
    return due.isoformat()


def deadline_json(d: Deadline, settings: Settings, giver: Giver | None = None,
                  owners: Owners | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": d.rule.id,
        "title": d.rule.title,
        "kind": d.rule.kind,
        "due": due_iso(d.due, settings),
        "actor": d.rule.actor,
        "action": d.rule.action,
        "consequence": d.rule.consequence,
        "source": source_json(d.rule),
        "explanation": " ".join(d.trace),
        "alternatives": [
            {"reading": a.reading, "due": due_iso(a.due, settings),
             "explanation": " ".join(a.trace)}
            for a in d.alternatives
        ],
    }
    if d.rule.severity:
        out["severity"] = d.rule.severity
    if d.rule.actor == EITHER_PARTY and giver is not None:
        # which party owes it for this event (us, them, one of the sides, both; null: who
        # gave the notice is not known) and why
        out["owed_by"] = owed_by(d.rule, giver)
        out["who"] = who_words(d.rule, giver, d.event)
    if d.occurrence is not None:
        out["occurrence"] = d.occurrence
    if d.rule.note:
        out["note"] = d.rule.note
    if settings.region is not None:
        out["region"] = settings.region
    if owners is not None:
        owner = owners.for_rule(d.rule.id)
        out["owner"] = str(owner) if owner is not None else None
    return out


def source_json(rule: Rule) -> dict[str, Any]:
    return {"clause": rule.source.clause, "lines": list(rule.source.lines),
            "quote": rule.source.quote}


def computation_json(result: Computation) -> dict[str, Any]:
    settings = result.settings
    return {
        "agreement": result.rulebook.id,
        "event": result.event,
        "trigger": result.trigger.iso(settings.zone),
        "timezone": settings.zone.key,
        "calendar": settings.calendar.label,
        "roll": settings.roll,
        "region": settings.region,
        # who gave the notice or did the event (us, them; a party from the rulebook's default
        # when there is no role; null: not known), and whether that was said (--by) or defaulted
        "given_by": result.giver.party,
        "given_by_default": result.giver.party is not None and not result.giver.recorded,
        "deadlines": [deadline_json(d, settings, result.giver, result.owners)
                      for d in result.deadlines],
        "warnings": list(result.warnings),
    }


def compute_json(agreement: str, event: str, when: object, **options: Any) -> dict[str, Any]:
    """`deadlines compute --format json`, as a dict."""
    return computation_json(compute(agreement, event, when, **options))


def explain(agreement: str, event: str, when: object, rule_id: str, **options: Any
            ) -> tuple[Computation, list[Deadline]]:
    """The deadlines of one rule (several for a recurring rule) with their counts."""
    result = compute(agreement, event, when, **options)
    matches = [d for d in result.deadlines if d.rule.id == rule_id]
    if not matches:
        matches = _term_deadlines(agreement, result, rule_id)
    if not matches:
        ids = sorted({d.rule.id for d in result.deadlines})
        known = {r.id for r in result.rulebook.rules}
        if rule_id in known:
            raise DeadlinesError(f"rule {rule_id!r} is not set off by {event}; the rules it sets "
                                 f"off are {', '.join(ids)}")
        raise DeadlinesError(f"unknown rule {rule_id!r} for {result.rulebook.id}; expected one "
                             f"of {', '.join(ids) or 'none'}")
    return result, matches


def _term_deadlines(agreement: str, result: Computation, rule_id: str) -> list[Deadline]:
    """The term rules (term-end, non-renewal-notice) come from a contract's `term:`, not from
    its rulebook: explained for a contract's log, each term up to 12 months after WHEN (the
    count of a term does not depend on the event, only on the contract's start)."""
    from .periods import add_months
    from .terms import TERM_RULES, track_terms

    log = contract_log(agreement) if rule_id in TERM_RULES else None
    if log is None or log.contract.term is None:
        return []
    trigger = result.trigger
    as_of = trigger.instant or datetime.combine(trigger.day, time.max,
                                                log.settings.zone).astimezone(UTC)
    until = add_months(trigger.day, 12)[0]
    tracking = track_terms(log, as_of, until, log.live_events)
    return [t.deadline for t in tracking.items if t.deadline.rule.id == rule_id]


def fulfilled_by(book: Rulebook, rule: Rule) -> list[str]:
    """What a person records to say a rule was met: its own fulfilment event(s), and always
    `done` with `--rule`. A right or a limit is closed by nothing (a right opens; a limit's
    period ends)."""
    if rule.kind is not Kind.OBLIGATION:
        return []
    return [*book.fulfilment_types(rule.id), f"{DONE_EVENT} --rule {rule.id}"]


def catalog(agreement: str | None = None) -> list[dict[str, Any]]:
    """Every rule of one or all shipped rulebooks."""
    books: list[Rulebook] = [rulebooks.load(agreement)] if agreement else [
        rulebooks.load(name) for name in rulebooks.available()
    ]
    return [
        {
            "agreement": book.id,
            "id": rule.id,
            "title": rule.title,
            "kind": rule.kind,
            "event": list(rule.events) if len(rule.events) > 1 else rule.events[0],
            "severity": rule.severity,
            "period": str(rule.period) if rule.period else None,
            "direction": rule.direction.value,
            "from": rule.anchor_rule,
            "actor": rule.actor,
            "action": rule.action,
            "consequence": rule.consequence,
            "source": source_json(rule),
            "readings": [r.reading for r in rule.readings],
            "fulfilled_by": fulfilled_by(book, rule),
        }
        for book in books
        for rule in book.rules
    ]


def events_of(book: Rulebook) -> list[dict[str, Any]]:
    """Every event type a log of this agreement may record, with its meaning: the triggers
    and the fulfilments (from the rulebook, each fulfilment with the rules it closes), the
    contract's own events (its term and its end: deadlines.terms), `done` and `withdrawn`."""
    rows: list[dict[str, Any]] = []
    for name, meaning in book.events.items():
        if name == START_EVENT:
            rows.append({"type": name, "kind": EventKind.START, "closes": [],
                         "meaning": f"{meaning} Not recorded: it is the contract's start."})
        else:
            rows.append({"type": name, "kind": EventKind.TRIGGER, "closes": [],
                         "meaning": meaning})
    for name, meaning in book.fulfilments.items():
        own = list(book.closes(name))
        if own:
            rows.append({"type": name, "kind": EventKind.FULFILMENT, "closes": own,
                         "meaning": f"{meaning} Closes {', '.join(own)} (ref: the id of the "
                                    "event that set it off)."})
    from .terms import EVENT_MEANINGS, NOTICE, TERM_EVENTS, TERMINATED

    for name in TERM_EVENTS:  # the contract's own events, whatever its agreement
        meaning = EVENT_MEANINGS[name]
        same = next((r for r in rows if r["type"] == name), None)
        if same is not None:  # the agreement's own trigger of that name (post-termination duties)
            same["meaning"] += f" Also, for every agreement: {meaning}"
            continue
        rows.append({"type": name, "kind": EventKind.CONTRACT,
                     "closes": [NOTICE] if name != TERMINATED else [], "meaning": meaning})
    rows.append({"type": DONE_EVENT, "kind": EventKind.FULFILMENT, "closes": [],
                 "meaning": "Closes the obligation named by rule: (ref: the id of the event "
                            "that set it off, if any)."})
    rows.append({"type": WITHDRAWN_EVENT, "kind": EventKind.WITHDRAWAL, "closes": [],
                 "meaning": "Withdraws the entry named by ref: (recorded in error); its "
                            "deadlines are cancelled."})
    return rows


def agreement_info(agreement: str) -> dict[str, Any]:
    """Everything `deadlines rules AGREEMENT` shows: defaults, regions, severities, events and
    rules, each rule with what closes it."""
    book = rulebooks.load(agreement)
    default = Settings.resolve(book)
    regions = []
    for name, region in book.regions.items():
        settings = Settings.resolve(book, region=name)
        regions.append({"region": name, "timezone": settings.zone.key,
                        "calendar": settings.calendar.label, "law": region.law,
                        "default": name == book.default_region})
    return {
        "agreement": book.id,
        "name": book.name,
        "timezone": default.zone.key,
        "calendar": default.calendar.label,
        "roll": default.roll,
        "governing_law": book.governing_law.name,
        # who each actor name stands for, with its labels; `role:` in a log is one of `sides`
        "parties": [{"party": p.key, "name": p.name, "labels": p.labels}
                    for p in book.parties.values()],
        "sides": list(book.sides),
        "default_region": book.default_region,
        "regions": regions,
        "severities": [{"severity": name, "aliases": list(aliases)}
                       for name, aliases in book.severities.items()],
        "events": events_of(book),
        "rules": catalog(agreement),
    }


def agreements() -> list[dict[str, Any]]:
    """The shipped agreements, with their default zone, calendar and regions."""
    out = []
    for name in rulebooks.available():
        book = rulebooks.load(name)
        default = Settings.resolve(book)
        out.append({"agreement": book.id, "name": book.name, "timezone": default.zone.key,
                    "calendar": default.calendar.label, "default_region": book.default_region,
                    "regions": list(book.regions)})
    return out


def add(when: object, period: str, *, calendar: str | None = None, roll: str = Roll.NONE,
        tz: str = "UTC", backward: bool = False) -> tuple[Due, list[str], list[str]]:
    """A calculator with no agreement: WHEN + PERIOD; returns (due, steps, warnings)."""
    zone = load_zone(tz)
    spec = CalendarSpec.parse(calendar) if calendar else None
    parsed = Period.parse(period)
    if parsed.unit is Unit.BUSINESS_HOURS:
        raise DeadlinesError("business hours need an agreement's support schedule; use compute")
    if spec is None and parsed.unit is Unit.BUSINESS_DAYS:
        raise DeadlinesError("business days need --calendar, e.g. --calendar FR")
    business = BusinessCalendar(spec or CalendarSpec("XX"))
    if roll not in tuple(Roll):
        raise DeadlinesError(f"unknown roll {roll!r}; expected none, following or preceding")
    settings = Settings(zone, business, Roll(roll), None, "", Roll.NONE, "")
    warnings: list[str] = []
    anchor: Moment = parse_when(when, zone, warnings)
    direction = Direction.BEFORE if backward else Direction.AFTER
    if spec is None and not parsed.unit.is_exact:
        # no calendar: plain counting, no business-day remark
        due_day, steps = count_calendar(anchor.day, parsed, backward)
        if roll != Roll.NONE:
            raise DeadlinesError("--roll needs --calendar")
        return due_day, steps, warnings
    due, steps = count(anchor, parsed, direction, settings, None, warnings, what=period)
    return due, steps, warnings



# ---------------------------------------------------------------------------------------------
# Event logs, tracking and feeds.


def parse_as_of(text: str | None) -> datetime:
    """--as-of: now when absent; a date alone means 12:00 UTC that day, which is that same date
    in every zone from UTC-11 to UTC+11; a date-time without an offset is UTC."""
    from .eventlog import now_utc

    if text is None:
        return now_utc()
    moment = parse_when(text, load_zone("UTC"), what="--as-of")
    if moment.instant is not None:
        return moment.instant
    return datetime.combine(moment.day, time(12, 0), tzinfo=UTC)


def parse_span(text: str, option: str = "--within") -> Period:
    """A period of plain time typed on the command line ('14d', '2w', '48h', '1 month')."""
    try:
        return Period.parse_span(text)
    except DeadlinesError as exc:
        raise DeadlinesError(exc.message, field=option) from None


def build(events_dir: str, out: str, *, as_of: datetime, lang: str = "en",
          past_days: int = 60, horizon_months: int = 12, grace_days: int = 14,
          progress: Callable[[int], None] | None = None, jobs: int | None = None,
          max_feed_bytes: int = MAX_FEED_BYTES, aggregate_past_days: int = AGGREGATE_PAST_DAYS,
          aggregate_days_ahead: int = AGGREGATE_DAYS_AHEAD) -> BuildReport:
    """Every feed of the logs in `events_dir`, into `out`; `jobs` worker processes (None: one
    per CPU). The output is the same whatever `jobs` is."""
    from .build import build as _build
    from .feeds import FeedOptions

    if lang not in LANGUAGES:
        raise DeadlinesError(f"unknown language {lang!r}; expected en or fr")
    options = FeedOptions(past_days=past_days, horizon_months=horizon_months,
                          grace_days=grace_days, lang=lang, max_feed_bytes=max_feed_bytes,
                          aggregate_past_days=aggregate_past_days,
                          aggregate_days_ahead=aggregate_days_ahead)
    return _build(events_dir, out, as_of, options, progress=progress, jobs=jobs)



def status(events_dir: str, *, as_of: datetime, within: Period | str | timedelta
           ) -> list[dict[str, Any]]:
    """What is missed, late and due within the window (`within` after `as_of`), per contract,
    soonest first."""
    return [row.json() for row in status_rows(events_dir, as_of=as_of, within=within)]


def status_rows(events_dir: str, *, as_of: datetime, within: Period | str | timedelta,
                owner: str | None = None) -> list[Row]:
    """`status` as rows (deadlines.rows), for the commands built on it; `owner` (an address,
    or `Name <address>`) keeps the deadlines that owner answers for."""
    from .eventlog import load_dir
    from .owners import parse_owner
    from .rows import status_rows as _rows

    wanted = None
    if owner is not None:
        try:
            wanted = parse_owner(owner).slug
        except DeadlinesError as exc:
            raise DeadlinesError(exc.message, field="--owner") from None
    if isinstance(within, timedelta):
        until = as_of + within
    else:
        until = shift(as_of, within if isinstance(within, Period) else parse_span(within))
    rows = _rows(load_dir(events_dir), as_of, until)
    if wanted is not None:
        rows = [r for r in rows if r.owner_address is not None
                and r.owner_address.lower() == wanted]
    return rows


def notify(events_dir: str, out: str, *, as_of: datetime, smtp: str | None = None,
           sender: str | None = None, smtp_insecure: bool = False, webhook: str | None = None,
           fallback: str | None = None, lang: str = "en", dry_run: bool = False,
           outbox: str | None = None) -> NotifyReport:
    """`deadlines notify`: alert each owner of what newly entered a stage (deadlines.notify).
    SMTP credentials come from the environment only (DEADLINES_SMTP_USER and
    DEADLINES_SMTP_PASSWORD)."""
    from .notify import (
        Channel,
        OutboxChannel,
        SmtpChannel,
        WebhookChannel,
        check_address,
        parse_host_port,
        smtp_credentials,
    )
    from .notify import notify as _notify

    channels: list[Channel] = []
    if smtp is not None:
        if sender is None:
            raise DeadlinesError("--smtp needs --from, the sender's address")
        host, port = parse_host_port(smtp)
        channels.append(SmtpChannel(host, port, sender, insecure=smtp_insecure,
                                    credentials=smtp_credentials()))
    elif sender is not None and outbox is None:
        raise DeadlinesError("--from goes with --smtp or --outbox")
    if webhook is not None:
        channels.append(WebhookChannel(webhook))
    if outbox is not None:
        channels.append(OutboxChannel(outbox, sender or "deadlines@example.invalid"))
    if not channels and not dry_run:
        raise DeadlinesError("notify needs --smtp HOST:PORT (with --from), --webhook URL or "
                             "--outbox DIR, or --dry-run to show what would be sent")
    if fallback is not None:
        check_address(fallback, "--to")
    return _notify(events_dir, out, as_of=as_of, channels=channels, lang=lang,
                   fallback=fallback, dry_run=dry_run)


def import_contracts(csv_path: str, events_dir: str, *, update: bool = False
                     ) -> ImportReport:
    """`deadlines import`: one event log per row of a CSV of contracts (deadlines.importing)."""
    from .importing import import_csv

    return import_csv(csv_path, events_dir, update=update)


def record(path: str, kind: str, at: str | None, *, ref: str | None = None,
           note: str | None = None, severity: str | None = None, event_id: str | None = None,
           rule: str | None = None, by: str | None = None
           ) -> tuple[ContractLog, LoggedEvent, list[Tracked]]:
    """Append an event to a log and return the deadlines it sets off (or closes)."""
    from .eventlog import load, now_utc
    from .recording import record as _record
    from .tracking import track

    if at is None:
        log = load(path)
        at = now_utc().astimezone(log.settings.zone).replace(microsecond=0).isoformat()
    try:
        new_log, event = _record(path, kind, at, ref=ref, note=note, severity=severity,
                                 event_id=event_id, rule=rule, by=by)
    except DeadlinesError as exc:
        raise _about_the_new_event(exc, path) from None
    tracked = track(new_log, event.instant(new_log.settings))
    concerned = [t for t in tracked if (t.trigger is not None and t.trigger.id == event.id)
                 or (t.done is not None and t.done.id == event.id)
                 or (event.type == WITHDRAWN_EVENT and t.trigger is not None
                     and t.trigger.id == event.ref)]
    return new_log, event, concerned


# The command-line names of the fields of a recorded event.
RECORD_OPTIONS = {"type": "TYPE", "at": "--at", "ref": "--ref", "note": "--note",
                  "severity": "--severity", "id": "--id", "rule": "--rule", "by": "--by"}


def _about_the_new_event(exc: DeadlinesError, path: str) -> DeadlinesError:
    """An error in the event being recorded names the option that gave the value, not a line
    of the checked copy: the file on disk has no such line, and it is left as it was."""
    from .yamlsource import read_text

    if exc.file != str(path) or exc.line is None:
        return exc
    try:
        text, _ = read_text(path)
    except DeadlinesError:
        return exc
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if exc.line <= lines:
        return exc  # a problem in the file itself
    key = (exc.field or "").rsplit(".", 1)[-1]
    message = exc.message.removeprefix(f"{key} ")  # "at '2026-02-30' is not ..." names it twice
    return DeadlinesError(f"{message}; nothing was recorded", file=exc.file,
                          field=RECORD_OPTIONS.get(key, exc.field))


def compute_ics(result: Computation, lang: str = "en") -> bytes:
    """A one-off calendar of one computation, for import."""
    from .feeds import FeedOptions, entry_for, render
    from .state import FeedState
    from .tracking import as_one_off

    items = [entry_for(t, lang) for t in as_one_off(result)]
    items.sort(key=lambda e: e.sort)
    name = f"{result.rulebook.name}: {result.event} {result.trigger.iso(result.settings.zone)}"
    return render(name, f"one-off-{result.rulebook.id}", items, FeedState(),
                  FeedOptions(lang=lang))
