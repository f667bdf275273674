"""Rulebooks: one YAML file per agreement, read into plain data (see docs/rulebook-format.md).

A rulebook holds everything about its agreement: its parties and their labels, its trigger and
fulfilment events with their meaning, which event fulfils which rule, its zone, calendar,
regions, severities and schedules. Python knows no agreement, party or event by name; the
shipped rulebooks are data in `deadlines/rulebooks/`, and a user's own rulebook is the same
kind of file, passed by path. One rulebook may `extend:` another (see `extend.py`).

This module is the model and the loading; `rulebookreader.py` reads a document section by
section.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import rulebookcache
from .errors import DeadlinesError
from .periods import Period
from .vocabulary import (
    DONE_EVENT,
    EITHER_PARTY,
    START_EVENT,
    WITHDRAWN_EVENT,
    Align,
    Direction,
    Either,
    EventKind,
    Kind,
    Roll,
)

if TYPE_CHECKING:
    from .yamlsource import Located

RULEBOOK_DIR = Path(__file__).parent / "rulebooks"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# Every class here has a docstring: without one, `dataclass` builds it from the signature of
# __init__ (`inspect.signature`), about 1.5 ms of a one-off command for the five of them.


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: the clause, the lines of the text, the quote."""

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
    align: Align | None = None  # recurring rules: anchor or calendar, if not the rule's
    schedule: str | None = None  # business time: another schedule than the rule's
    clear: bool | None = None  # clear days, if not the rule's


@dataclass(frozen=True)
class Rule:
    """One deadline an agreement sets (or a right, or a limit): what sets it off, the period
    and how it is counted, who owes it, and where the text says so."""

    id: str
    title: str
    kind: Kind
    events: tuple[str, ...]
    period: Period | None
    direction: Direction
    align: Align
    anchor_rule: str | None
    schedule: str | None
    severity: str | None
    actor: str  # a key of the rulebook's parties, or EITHER_PARTY
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
    either: Either = Either.BOTH  # for actor either: which side owes it for one event
    # the fulfilment events that close it (`done` with `rule:` closes any obligation too)
    fulfilled_by: tuple[str, ...] = ()
    # "rulebook", or "contract" for a rule the contract's own log sets (its term: terms.py)
    origin: str = "rulebook"

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
    """The law the agreement names, and how it moves a deadline off a non-business day."""

    name: str
    source: Source | None
    weekend_extension: Roll
    note: str


@dataclass(frozen=True)
class Region:
    """A region a contract may name: its zone, business calendar and law."""

    name: str
    timezone: str
    calendar: Any
    law: str


@dataclass(frozen=True)
class Party:
    """Who an actor name stands for, and how the feeds name it in each language."""

    key: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key


@dataclass
class Rulebook:
    """One agreement, read from its rulebook file (see the module's docstring)."""

    id: str
    name: str
    path: str
    timezone: str
    calendar: Any
    roll: Roll
    governing_law: GoverningLaw
    parties: dict[str, Party]
    # The two parties that sign: a log's `role:` is one of them (the first by default), and a
    # rule either of them may owe falls on one of them.
    sides: tuple[str, str]
    events: dict[str, str]  # trigger event type -> meaning
    severities: dict[str, tuple[str, ...]]
    schedules: dict[str, dict[str, Any]]
    regions: dict[str, Region]
    default_region: str | None
    rules: list[Rule] = field(default_factory=list)
    # event type -> who gives it when the log does not say: us, them or one of the sides;
    # absent: not known
    event_by: dict[str, str] = field(default_factory=dict)
    source_lines: tuple[int, int] | None = None
    fulfilments: dict[str, str] = field(default_factory=dict)  # fulfilment type -> meaning
    extends: str | None = None  # the id of the rulebook this one extends
    line_word: str = "line"  # how outputs cite a line of the text: "line 14", "seed line 201"

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

    def closes(self, event_type: str, rule: str | None = None) -> tuple[str, ...]:
        """The ids of the rules an event of this type closes (for `done`: the rule it names)."""
        if event_type == DONE_EVENT:
            return (rule,) if rule else ()
        return tuple(dict.fromkeys(r.id for r in self.rules if event_type in r.fulfilled_by))

    def fulfilment_types(self, rule_id: str) -> tuple[str, ...]:
        """The fulfilment events that close a rule (besides `done` with `rule:`), in the
        order the rulebook declares them."""
        named = {t for r in self.rules if r.id == rule_id for t in r.fulfilled_by}
        return tuple(t for t in self.fulfilments if t in named)

    def event_kind(self, event_type: str) -> EventKind | None:
        """What an event type is to a log of this agreement; None if it is not one of its."""
        if event_type == START_EVENT and event_type in self.events:
            return EventKind.START
        if event_type in self.events:
            return EventKind.TRIGGER
        if event_type == DONE_EVENT or event_type in self.fulfilments:
            return EventKind.FULFILMENT
        if event_type == WITHDRAWN_EVENT:
            return EventKind.WITHDRAWAL
        return None

    def other_side(self, party: str) -> str:
        """The side that is not `party` (one of the two sides)."""
        first, second = self.sides
        return second if party == first else first

    def party_label(self, actor: str, lang: str) -> str | None:
        """How the feeds name a rule's actor; None for `either` (the format's own words)."""
        if actor == EITHER_PARTY:
            return None
        party = self.parties.get(actor)
        return party.label(lang) if party is not None else actor


# ---------------------------------------------------------------------------------------------


def available() -> list[str]:
    return sorted(p.stem for p in RULEBOOK_DIR.glob("*.yaml"))


def shipped_path(name: str) -> Path | None:
    """The file of a shipped rulebook, or None when `name` is not one."""
    path = _shipped_file(name)
    return Path(path) if path is not None else None


def _shipped_file(name: str) -> str | None:
    """`shipped_path` as text: what `load` reads, once per event log of a build."""
    path = _shipped_name(name)
    # os.path.exists: False on any OSError (e.g. a name longer than the file system allows)
    return path if path is not None and os.path.exists(path) else None


@lru_cache(maxsize=256)
def _shipped_name(name: str) -> str | None:
    # the file a shipped id would be, memoised (a pure function of the text): None for a name
    # that is no id
    return str(RULEBOOK_DIR / f"{name}.yaml") if ID_RE.match(name) else None


def is_path(name_or_path: str) -> bool:
    """Whether an agreement is given as the path of a rulebook file rather than an id."""
    return name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path


def load(name_or_path: str) -> Rulebook:
    """A shipped rulebook by id, or a user's rulebook by path."""
    if is_path(name_or_path):
        return _load_file(str(Path(name_or_path)))
    path = _shipped_file(name_or_path)
    if path is None:
        shown = name_or_path if len(name_or_path) <= 60 else name_or_path[:60] + "..."
        raise DeadlinesError(
            f"unknown agreement {shown!r}; expected one of {', '.join(available())} "
            "or the path of a rulebook .yaml file"
        )
    return _load_file(path)


# Parsed rulebooks by path: the versions (mtime, size, inode) of the file and of every file it
# extends, and the result. An edited rulebook, or an edited parent, is read again (`deadlines
# serve` rebuilds when a rulebook changes, and must not keep the old one).
_CACHE: dict[str, tuple[tuple[tuple[str, tuple[int, int, int]], ...], Rulebook]] = {}
_CACHE_SIZE = 64


def _version(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _load_file(path: str) -> Rulebook:
    cached = _CACHE.get(path)
    if cached is not None and all(_version(p) == v for p, v in cached[0]):
        return cached[1]
    # The parsed rulebook from the disk cache if it holds these very bytes (a one-off command
    # then imports no YAML parser); the bytes are read before parsing, and the entry written
    # only if the file still holds them after, so that it never keys bytes that were not parsed.
    data = rulebookcache.read_bytes(path)
    hit = rulebookcache.load(path, data) if data is not None else None
    if hit is not None:
        book, files = hit
    else:
        from .yamlsource import load_path

        book, files = _read(load_path(path))
        if data is not None and rulebookcache.read_bytes(path) == data:
            rulebookcache.store(path, data, book, files)
    versions = tuple((p, v) for p in files if (v := _version(p)) is not None)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[path] = (versions, book)
    return book


def source_files(book: Rulebook) -> tuple[str, ...]:
    """Every file `book` was read from: its own first, then those it extends (the build store
    keys a contract's result on their bytes)."""
    cached = _CACHE.get(book.path)
    if cached is not None and cached[1] is book:
        return tuple(p for p, _ in cached[0])
    from .yamlsource import load_path

    return tuple(_read(load_path(book.path))[1])


def parse(doc: Located) -> Rulebook:
    """A rulebook from a document (with the rulebooks it extends laid under it)."""
    return _read(doc)[0]


def _read(doc: Located) -> tuple[Rulebook, list[str]]:
    """The rulebook and every file it was read from (itself first, then what it extends)."""
    from .extend import resolve
    from .rulebookreader import read

    merged, files, parent = resolve(doc)
    book = read(merged)
    book.extends = parent
    return book, files


def check_calendar(value: Any) -> None:
    """A business calendar that can be counted on, checked when a file is read rather than
    mid-count: a shape CalendarSpec reads, a country the holidays package knows, and at least
    one business day a week (with none, a business-day count would never end). Every error
    names the field `calendar`."""
    from .calendars import BusinessCalendar, CalendarSpec

    try:
        spec = CalendarSpec.parse(value)
        if spec.weekend is not None and len(spec.weekend) >= 7:
            raise DeadlinesError("the weekend covers all seven days; a calendar needs at least "
                                 "one business day a week")
        BusinessCalendar(spec).validate()
    except (TypeError, ValueError, AttributeError, KeyError):
        raise DeadlinesError("expected a calendar such as FR or AU-VIC, or a mapping {country, "
                             "subdiv, categories: [...], extra: [YYYY-MM-DD, ...], removed: "
                             "[...], weekend: [sat, sun]}", field="calendar") from None
    except DeadlinesError as exc:
        raise DeadlinesError(exc.message, field="calendar") from None
