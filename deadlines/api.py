"""The library's front door: every CLI command is one call in here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import rulebook as rulebooks
from .calendars import BusinessCalendar, CalendarSpec, load_zone
from .engine import Computation, Deadline, Due, Settings, count
from .engine import compute as _compute
from .errors import DeadlinesError
from .moments import Moment, parse_when
from .periods import Direction, Period, count_calendar
from .rulebook import Rule, Rulebook


def compute(agreement: str, event: str, when: object, *, severity: str | None = None,
            region: str | None = None, tz: str | None = None, calendar: object = None,
            roll: str | None = None) -> Computation:
    """Every deadline that EVENT at WHEN sets off under AGREEMENT."""
    book = rulebooks.load(agreement)
    settings = Settings.resolve(book, tz=tz, calendar=calendar, roll=roll, region=region)
    warnings: list[str] = []
    trigger = parse_when(when, settings.zone, warnings)
    return _compute(book, event, trigger, settings, severity=severity, warnings=warnings)


def due_iso(due: Due | None, settings: Settings | None = None, zone: str | None = None
            ) -> str | None:
    """'YYYY-MM-DD' for a whole day, ISO 8601 with offset in the contract's zone for an instant."""
    if due is None:
        return None
    if isinstance(due, datetime):
        tzinfo = settings.zone if settings is not None else load_zone(zone or "UTC")
        return due.astimezone(tzinfo).isoformat(timespec="seconds")
    return due.isoformat()


def deadline_json(d: Deadline, settings: Settings) -> dict[str, Any]:
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
    if d.occurrence is not None:
        out["occurrence"] = d.occurrence
    if d.rule.note:
        out["note"] = d.rule.note
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
        "deadlines": [deadline_json(d, settings) for d in result.deadlines],
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
        ids = sorted({d.rule.id for d in result.deadlines})
        known = {r.id for r in result.rulebook.rules}
        if rule_id in known:
            raise DeadlinesError(f"rule {rule_id!r} is not set off by {event}; the rules it sets "
                                 f"off are {', '.join(ids)}")
        raise DeadlinesError(f"unknown rule {rule_id!r} for {result.rulebook.id}; expected one "
                             f"of {', '.join(ids) or 'none'}")
    return result, matches


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
        }
        for book in books
        for rule in book.rules
    ]


def add(when: object, period: str, *, calendar: str | None = None, roll: str = "none",
        tz: str = "UTC", backward: bool = False) -> tuple[Due, list[str], list[str]]:
    """A calculator with no agreement: WHEN + PERIOD; returns (due, steps, warnings)."""
    zone = load_zone(tz)
    spec = CalendarSpec.parse(calendar) if calendar else None
    parsed = Period.parse(period)
    if parsed.unit.value == "business hours":
        raise DeadlinesError("business hours need an agreement's support schedule; use compute")
    if spec is None and parsed.unit.value == "business days":
        raise DeadlinesError("business days need --calendar, e.g. --calendar FR")
    business = BusinessCalendar(spec or CalendarSpec("XX"))
    settings = Settings(zone, business, roll, None, "", "none", "")
    warnings: list[str] = []
    anchor: Moment = parse_when(when, zone, warnings)
    direction = Direction.BEFORE if backward else Direction.AFTER
    if spec is None and not parsed.unit.is_exact:
        # no calendar: plain counting, no business-day remark
        due_day, steps = count_calendar(anchor.day, parsed, backward)
        if roll != "none":
            raise DeadlinesError("--roll needs --calendar")
        return due_day, steps, warnings
    due, steps = count(anchor, parsed, direction, settings, None, warnings, what=period)
    return due, steps, warnings

