"""Rulebooks: one YAML file per agreement, read into plain data (see docs/rulebook-format.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .periods import Direction, Period
from .yamlsource import FieldPath, Located, load_path

RULEBOOK_DIR = Path(__file__).parent / "rulebooks"
ACTORS = ("provider", "customer", "zendesk", "either")
KINDS = ("obligation", "right", "limit")
ROLLS = ("none", "following", "preceding")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


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
    if not _ID_RE.match(name_or_path) or not path.exists():
        raise DeadlinesError(
            f"unknown agreement {name_or_path!r}; expected one of {', '.join(available())} "
            "or the path of a rulebook .yaml file"
        )
    return _load_file(str(path))


@cache
def _load_file(path: str) -> Rulebook:
    return parse(load_path(path))


def parse(doc: Located) -> Rulebook:
    p = _Parser(doc)
    return p.rulebook()


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
            return Period.parse(str(data["period"]))
        except DeadlinesError as exc:
            raise self.fail((*path, "period"), exc.message) from None

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
        events = {str(k): str(v) for k, v in self.mapping(top.get("events") or {},
                                                          ("events",)).items()}
        for name in events:
            if not _EVENT_RE.match(name):
                raise self.fail(("events", name), "event types are snake_case")
        severities: dict[str, tuple[str, ...]] = {}
        for name, spec in (top.get("severities") or {}).items():
            aliases = (spec or {}).get("aliases", []) if isinstance(spec, dict) else []
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
        default_region = top.get("default_region")
        if default_region is not None and str(default_region) not in regions:
            raise self.fail(("default_region",), "not one of the regions")
        schedules = {str(k): self.mapping(v, ("schedules", k))
                     for k, v in self.mapping(top.get("schedules") or {}, ("schedules",)).items()}
        src = top.get("source") or {}
        src_lines = src.get("lines") if isinstance(src, dict) else None
        book = Rulebook(
            id=book_id,
            name=self.text(top, "name", ()),
            path=self.doc.file,
            timezone=self.text(top, "timezone", (), required=not regions,
                               default=regions[str(default_region)].timezone
                               if default_region else ""),
            calendar=top.get("calendar") or (regions[str(default_region)].calendar
                                             if default_region else None),
            roll=self.choice(top, "roll", (), ROLLS, "none"),
            governing_law=governing,
            parties={str(k): str(v) for k, v in (top.get("parties") or {}).items()},
            events=events,
            severities=severities,
            schedules=schedules,
            regions=regions,
            default_region=str(default_region) if default_region else None,
            source_lines=(int(src_lines[0]), int(src_lines[-1]))
            if isinstance(src_lines, list) and src_lines else None,
        )
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
                 "quote", "note", "readings", "title_fr", "action_fr"}
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
        if period is not None and period.unit.value == "business hours" and schedule is None:
            raise self.fail((*path, "schedule"), "business hours need a schedule")
        if schedule is not None and schedule not in book.schedules:
            raise self.fail((*path, "schedule"), "not one of the rulebook's schedules")
        if direction is Direction.RECURRING and period is None:
            raise self.fail((*path, "period"), "a recurring rule needs a period")
        readings = []
        for i, item in enumerate(data.get("readings") or []):
            rpath = (*path, "readings", i)
            item = self.mapping(item, rpath)
            readings.append(Reading(
                reading=self.text(item, "reading", rpath),
                period=self.period(item, rpath) or period,
                anchor_rule=self.text(item, "from", rpath, required=False) or None,
                direction=self.direction(item, rpath, direction.value),
                note=self.text(item, "note", rpath, required=False),
            ))
        return Rule(
            id=rule_id,
            title=self.text(data, "title", path),
            kind=self.choice(data, "kind", path, KINDS, "obligation"),
            events=events,
            period=period,
            direction=direction,
            align=self.choice(data, "align", path, ("anchor", "calendar"), "anchor"),
            anchor_rule=self.text(data, "from", path, required=False) or None,
            schedule=schedule,
            severity=severity,
            actor=self.choice(data, "actor", path, ACTORS, "provider"),
            action=self.text(data, "action", path),
            consequence=self.text(data, "consequence", path, required=False,
                                  default="Not stated in the text."),
            source=self.source(data, path),
            note=self.text(data, "note", path, required=False),
            readings=tuple(readings),
            title_fr=self.text(data, "title_fr", path, required=False),
            action_fr=self.text(data, "action_fr", path, required=False),
        )

    def check_chains(self, book: Rulebook) -> None:
        ids = {r.id for r in book.rules}
        for index, rule in enumerate(book.rules):
            anchors = [rule.anchor_rule] + [r.anchor_rule for r in rule.readings]
            for anchor in anchors:
                if anchor is None:
                    continue
                if anchor not in ids:
                    raise self.fail(("rules", index, "from"), f"no rule {anchor!r} to chain from")
                parents = [r for r in book.rules if r.id == anchor]
                if not any(set(p.events) & set(rule.events) for p in parents):
                    raise self.fail(("rules", index, "from"),
                                    f"rule {anchor!r} is not set off by the same event")
        # cycles: follow primary anchors
        by_id = {r.id: r for r in book.rules}
        for index, rule in enumerate(book.rules):
            seen = {rule.id}
            current = rule.anchor_rule
            while current is not None:
                if current in seen:
                    raise self.fail(("rules", index, "from"), "rules chain from each other in a "
                                    "cycle")
                seen.add(current)
                current = by_id[current].anchor_rule
