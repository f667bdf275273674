"""Feeds: tracked deadlines -> RFC 5545 calendars, written with icalendar's component model.

What makes a subscribed feed work (research/anchors-ical.md, "Checklist"): stable UIDs from the
deadline's identity; identical bytes when nothing changed (no clock anywhere: DTSTAMP and
LAST-MODIFIED come from the state file, which moves them only when a deadline changes); all-day
events for day-based deadlines and UTC times for hour-based ones; no METHOD; RFC 7986 refresh
hints; alarms from a reminder policy; a withdrawn or fulfilled deadline kept as CANCELLED for a
grace period, then dropped; a bounded window.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .eventlog import LoggedEvent, reminder_period
from .feedpolicy import AGGREGATE_DAYS_AHEAD, AGGREGATE_PAST_DAYS, MAX_FEED_BYTES
from .icswriter import vevent
from .labels import LABELS
from .periods import add_months, fmt_day, shift, start_of_day
from .state import FeedState, Stamp
from .terms import record_event
from .tracking import Tracked, sort_key
from .vocabulary import CANCELLED_STATUSES, DONE_EVENT, EITHER_PARTY, Either, Kind, Side, Status

PRODID = "-//deadlines//deadlines contract deadline feeds//EN"
UID_DOMAIN = "deadlines"



# C0 controls other than TAB and LF, and DEL, are not allowed in iCalendar TEXT (RFC 5545
# 3.3.11); a CR or CRLF becomes LF, which icalendar then escapes as \n.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Text a person wrote, made safe for a TEXT value: no control characters."""
    if "\r" in text:  # rare; the two replaces cost as much as the test even when no CR is there
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """A summary or a name: one line, control characters removed."""
    if text.isprintable():  # no control character nor line break: nothing for clean_text
        # and no whitespace but the space (every other one is not printable): text without a
        # double, leading or trailing space is already what split and join would make of it
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            return " ".join(text.split())
        return text
    return " ".join(clean_text(text).split())


@dataclass(frozen=True)
class FeedOptions:
    """The bounded window and the grace period, in days around the as-of date."""

    past_days: int = 60
    horizon_months: int = 12
    grace_days: int = 14
    refresh: timedelta = timedelta(hours=6)
    lang: str = "en"
    # "direct": deadlines.icswriter (same bytes, ~20x faster, measured); "icalendar": the
    # component model, kept as the reference the direct writer is tested against
    writer: str = "direct"
    # The aggregates (all, ours, theirs) hold what someone must act on: obligations and rights,
    # in a tighter window than a contract's feed; no feed grows past max_feed_bytes (see
    # deadlines.feedpolicy for why these numbers).
    aggregate_past_days: int = AGGREGATE_PAST_DAYS
    aggregate_days_ahead: int = AGGREGATE_DAYS_AHEAD
    max_feed_bytes: int = MAX_FEED_BYTES

    def fingerprint(self) -> str:
        """Every option that shapes a feed's bytes, as text (part of the build store's key)."""
        return json.dumps([self.past_days, self.horizon_months, self.grace_days,
                           self.refresh.total_seconds(), self.lang, self.writer,
                           self.aggregate_past_days, self.aggregate_days_ahead,
                           self.max_feed_bytes])


@dataclass
class Entry:
    """One VEVENT's content, before SEQUENCE and the timestamps are stamped on."""

    uid: str
    key: str
    summary: str
    description: str
    start: date | datetime
    cancelled: bool
    categories: tuple[str, ...]
    alarms: tuple[tuple[timedelta, str], ...]
    changed_at: datetime
    ours: bool
    contract: str
    # for people (the subscribe page), not part of the VEVENT's content hash
    status: Status = field(compare=False, default=Status.PENDING)
    actor: str = field(compare=False, default="")  # who must act, in the feed's language
    clause: str = field(compare=False, default="")
    title: str = field(compare=False, default="")
    due_text: str = field(compare=False, default="")
    due_local: str = field(compare=False, default="")
    contract_name: str = field(compare=False, default="")
    owner: str = field(compare=False, default="")  # `Name <address>`, or "" for nobody
    owner_slug: str = field(compare=False, default="")
    sort: tuple[datetime, str] = field(compare=False, default=(datetime.min.replace(tzinfo=UTC),
                                                                  ""))

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.hashed_text().encode()).hexdigest()

    def hashed_text(self) -> str:
        """`json.dumps(material, ensure_ascii=False)` of the content (a stored hash must never
        change), written directly: json's encoder set-up cost more than the text itself.
        `tests/test_feeds.py` checks it against json.dumps."""
        quote = _quote
        alarms = ""
        if self.alarms:
            texts = {text: quote(text) for _, text in self.alarms}  # mostly one text for all
            alarms = ", ".join(f"[{_lead_json(lead)}, {texts[text]}]"
                               for lead, text in self.alarms)
        return (f"[{quote(self.summary)}, {quote(self.description)}, "
                f"{quote(self.start.isoformat())}, {'true' if self.cancelled else 'false'}, "
                f"[{_categories_json(self.categories)}], [{alarms}]]")


_quote: Callable[[str], str] = json.encoder.encode_basestring  # json's own string writer (C)


# The parts of the hashed text that a whole portfolio shares (a handful of lead times and of
# category tuples), written once each: pure functions of their values.
@lru_cache(maxsize=256)
def _lead_json(lead: timedelta) -> str:
    return _quote(str(lead))


@lru_cache(maxsize=1024)
def _categories_json(categories: tuple[str, ...]) -> str:
    return ", ".join(map(_quote, categories))


def in_window(t: Tracked, as_of: datetime, options: FeedOptions,
              state: FeedState | None = None) -> bool:
    if t.due_day is None:  # undated: listed nowhere (and no window to work out)
        return False
    return _in_window(t, _window(as_of, t.log.settings.zone, options), as_of, options, state)


def _window(as_of: datetime, zone: ZoneInfo, options: FeedOptions) -> tuple[date, date]:
    """The first and last due day a feed shows, on the contract's calendar days."""
    today = as_of.astimezone(zone).date()
    return today - timedelta(days=options.past_days), add_months(today,
                                                                 options.horizon_months)[0]


def _in_window(t: Tracked, window: tuple[date, date], as_of: datetime, options: FeedOptions,
               state: FeedState | None) -> bool:
    """`in_window` of a dated deadline, given its `_window` (one per contract, not per
    deadline)."""
    day = t.due_day
    if day is None or not window[0] <= day <= window[1]:
        return False
    if t.status in CANCELLED_STATUSES:
        grace_start = as_of - timedelta(days=options.grace_days)
        closed = t.closed_at or t.changed_at
        if closed is not None and closed < grace_start:
            # Closed long ago by the facts (a backdated withdrawal, say). Subscribers must still
            # see it cancelled for the grace period once, so the grace counts from when it was
            # first published as cancelled; one never published at all is simply left out.
            stamp = state.peek(t.uid) if state is not None else None
            if stamp is None:
                return False
            if stamp.cancelled_since is not None and stamp.cancelled_since < grace_start:
                return False
    return True


AGGREGATE_KINDS = (Kind.OBLIGATION, Kind.RIGHT)


def in_aggregate(t: Tracked, as_of: datetime, options: FeedOptions,
                 window: tuple[date, date] | None = None) -> bool:
    """Whether a deadline already in its contract's feed also goes in the aggregates: an
    obligation or a right (not a limit: a monitoring period ending asks nothing of anyone)
    due from `aggregate_past_days` back to `aggregate_days_ahead` ahead, on the contract's own
    calendar days. Fulfilled and withdrawn ones stay as CANCELLED for the grace period, as in
    every feed, so that a subscriber sees why they left.

    `window`: those days, from `aggregate_window`, for a caller that asks of every deadline of
    one contract (worked out once, not per deadline)."""
    day = t.due_day
    if day is None or t.deadline.rule.kind not in AGGREGATE_KINDS:
        return False
    first, last = window or aggregate_window(as_of, t.log.settings.zone, options)
    return first <= day <= last


def aggregate_window(as_of: datetime, zone: ZoneInfo, options: FeedOptions
                     ) -> tuple[date, date]:
    """The first and last due day the aggregates show, on a contract's calendar days."""
    today = as_of.astimezone(zone).date()
    return (today - timedelta(days=options.aggregate_past_days),
            today + timedelta(days=options.aggregate_days_ahead))


def record_commands(tracked: Iterable[Tracked], file_of: Callable[[Tracked], str]
                    ) -> dict[str, str]:
    """For each obligation still to be met, by UID, the `deadlines record` command that closes
    it: the rule's own fulfilment event (or `done --rule`) with `--ref` the trigger's id.

    Recorded now, it closes a pending deadline on time and a missed one late. A duty that runs
    from the contract start has no trigger: a `done` closes its earliest open occurrence due on
    or after the day it is dated, so only that occurrence gets the command (an occurrence
    already missed cannot be closed late; the next one would be)."""
    commands: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    # a rule's fulfilment events, once per rulebook and rule in this call (the lookup reads
    # every rule of the rulebook)
    closing: dict[tuple[int, str], tuple[str, ...]] = {}
    for t in sorted(tracked, key=sort_key):
        rule = t.deadline.rule
        if rule.kind is not Kind.OBLIGATION or t.deadline.due is None:
            continue
        term_event = record_event(rule)
        if term_event is not None:
            # the term in force: a notice after its last day still counts for the next term
            if t.status not in (Status.PENDING, Status.MISSED) or \
                    (t.log.path, rule.key) in taken:
                continue
            taken.add((t.log.path, rule.key))
        elif t.trigger is None:
            if t.status is not Status.PENDING or (t.log.path, rule.key) in taken:
                continue
            taken.add((t.log.path, rule.key))
        elif t.status not in (Status.PENDING, Status.MISSED):
            continue
        book = t.log.rulebook
        kinds = closing.get((id(book), rule.id))
        if kinds is None:
            kinds = closing[(id(book), rule.id)] = book.fulfilment_types(rule.id)
        what = term_event or (kinds[0] if len(kinds) == 1 else f"{DONE_EVENT} --rule {rule.id}")
        ref = f" --ref {shlex.quote(t.trigger.id)}" if t.trigger is not None else ""
        commands[t.uid] = f"deadlines record {shlex.quote(file_of(t))} {what}{ref}"
    return commands


def feed_log_path(t: Tracked) -> str:
    """The log as a feed names it: its file name, run from the folder of the event logs (a
    contract's feed is the same bytes whichever folder it was built from)."""
    return _file_name(t.log.path)


@lru_cache(maxsize=1024)
def _file_name(path: str) -> str:
    # memoised: a pure function of the text, asked for each of a contract's obligations
    return Path(path).name


def event_label(event: LoggedEvent) -> str:
    """An event's type, and its id when a person gave one (a derived id repeats the type)."""
    derived = event.id == event.type or event.id.startswith(f"{event.type}@")
    return event.type if derived else f"{event.type} {event.id}"


@dataclass(frozen=True)
class _RuleWords:
    """What an entry says that depends on its rule and its contract only (not on the
    deadline): worked out once per rule and contract, read by each of its deadlines."""

    title: str
    level: str
    who: str
    owner_lines: tuple[str, ...]
    owner: str  # `Name <address>` on one line, or "" for nobody
    owner_slug: str
    what: str  # the "what" and "if missed" lines
    missed: str
    source: str
    contract: str  # the last line: the contract, its agreement and region
    clause: str
    contract_name: str


def _rule_words(t: Tracked, lang: str) -> _RuleWords:
    labels = LABELS[lang]
    rule = t.deadline.rule
    log = t.log
    contract = log.contract
    owner = contract.owners.for_rule(rule.id)
    src = rule.source
    if rule.origin == "contract":  # the contract's own term, not its agreement's text
        where = f", line {src.lines[0]}" if src.lines else ""
        source = (f"{labels['source']}: {labels['contract.term']} ({Path(log.path).name}"
                  f"{where}): {src.quote}")
    else:
        source = (f"{labels['source']}: {contract.agreement}, clause {src.clause}, "
                  f"{log.rulebook.line_word}(s) {', '.join(map(str, src.lines))}: "
                  f"« {src.quote} »")
    # the region changes an agreement's counts (support hours by region): always said
    region = log.settings.region
    in_region = f", {labels['region']} {region}" if region is not None else ""
    return _RuleWords(
        title=rule.title_in(lang),
        level=f" ({rule.severity})" if rule.severity else "",
        who=log.rulebook.party_label(rule.actor, lang) or labels[f"actor.{EITHER_PARTY}"],
        owner_lines=(f"{labels['owner']}: {owner}",) if owner is not None else (),
        owner=one_line(str(owner)) if owner is not None else "",
        owner_slug=owner.slug if owner is not None else "",
        what=f"{labels['what']}: {rule.action_in(lang)}",
        missed=f"{labels['if_missed']}: {rule.consequence}",
        source=source,
        contract=f"{labels['contract']}: {contract.id} ({contract.agreement}{in_region})",
        clause=f"{contract.agreement} {src.clause}",
        contract_name=one_line(contract.name))


def entry_for(t: Tracked, lang: str = "en", record: str | None = None,
              words: _RuleWords | None = None) -> Entry:
    """One VEVENT's content; `record` is the command that closes the deadline, if any;
    `words` what `_rule_words` says of its rule (worked out here when not given)."""
    labels = LABELS[lang]
    rule = t.deadline.rule
    log = t.log
    contract = log.contract
    zone = log.settings.zone
    said = words if words is not None else _rule_words(t, lang)
    prefix = labels.get(f"prefix.{t.status}", "")
    if not prefix and rule.kind is Kind.RIGHT:
        prefix = labels["prefix.right"]
    occurrence = f" #{t.deadline.occurrence}" if t.deadline.occurrence is not None else ""
    summary = one_line(f"{prefix}{said.title}{said.level}{occurrence} - {contract.name}")
    due = t.deadline.due
    assert due is not None
    if isinstance(due, datetime):
        due_text = f"{due.astimezone(zone).isoformat(timespec='minutes')} ({zone.key})"
    else:
        due_text = labels["due_day"].format(day=fmt_day(due), zone=zone.key)
    side = labels["ours"] if t.ours else labels["theirs"]
    lines = [
        f"{labels['who']}: {said.who}"
        f"{_either_words(t, labels)} ({side})",
        *said.owner_lines,
        said.what,
        said.missed,
        f"{labels['status']}: {labels['status.' + t.status]}",
        f"{labels['due']}: {due_text}",
    ]
    if record is not None:
        lines.append(f"{labels['close']}: {record}")
    if t.done is not None:
        lines.append(f"{labels['done']}: {t.done.type} {t.done.at_text}"
                     + (f" ({t.done.note})" if t.done.note else ""))
    if t.trigger is not None:
        note = f" - {t.trigger.note}" if t.trigger.note else ""
        lines.append(f"{labels['trigger']}: {event_label(t.trigger)} "
                     f"({t.trigger.at_text}){note}")
    lines.append(said.source)
    lines.append(f"{labels['count']}:")
    lines += [f"- {step}" for step in t.deadline.trace]
    if t.deadline.alternatives:
        lines.append(f"{labels['readings']}:")
        for alt in t.deadline.alternatives:
            alt_due = alt.due.isoformat() if alt.due is not None else labels["no_date"]
            lines.append(f"- {alt.reading}: {alt_due}")
    lines.append(said.contract)
    cancelled = t.status in CANCELLED_STATUSES
    alarms: tuple[tuple[timedelta, str], ...] = ()
    if t.status is Status.PENDING:
        # a reminder that would ring before the trigger happened is left out (a 30-minute
        # support response gets no "7 days before" alarm)
        begins = due if isinstance(due, datetime) else start_of_day(due, zone)
        since = t.trigger.instant(log.settings) if t.trigger is not None else \
            start_of_day(contract.start.day, zone)
        reminder = labels["reminder"].format(title=said.title, when=due_text)
        alarms = tuple(
            (-lead, reminder)
            for lead in (_lead_time(r, begins, zone) for r in contract.reminders)
            if begins - lead > since
        )
    categories = (contract.agreement, Side.OURS if t.ours else Side.THEIRS, rule.kind,
                  t.status)
    return Entry(t.uid, t.key, summary, clean_text("\n".join(lines)),
                 due.astimezone(UTC) if isinstance(due, datetime) else due, cancelled,
                 categories, alarms, t.changed_at or datetime.min.replace(tzinfo=UTC),
                 t.ours, contract.id, status=t.status,
                 actor=said.who,
                 clause=said.clause,
                 title=one_line(f"{said.title}{said.level}{occurrence}"),
                 due_text=due_text, contract_name=said.contract_name,
                 due_local=(f"{due.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
                            if isinstance(due, datetime) else due.isoformat()),
                 owner=said.owner, owner_slug=said.owner_slug, sort=sort_key(t))


def _either_words(t: Tracked, labels: dict[str, str]) -> str:
    """For a rule either party may owe: which one, and what says so (the log's `by`, the
    rulebook's default for the event, or nothing)."""
    rule = t.deadline.rule
    if rule.actor != EITHER_PARTY or t.trigger is None:
        return ""
    whose = labels[f"either.{rule.either}"]
    if rule.either is Either.BOTH:
        return f": {whose}"
    giver = t.giver
    event = t.trigger.type
    if giver.party is None:
        return f": {whose}; {labels['by.unknown'].format(event=event)}"
    said = labels[f"by.{giver.party}"].format(event=event)
    if not giver.recorded:
        said += labels["by.default"].format(event=event)
    return f": {whose}; {said}"


@lru_cache(maxsize=16384)
def _lead_time(reminder: str, begins: datetime, zone: ZoneInfo) -> timedelta:
    """How long before `begins` a reminder rings, on the contract's wall clock ('1 month'
    before 1 March is 28 days, before 1 April 31 days). Memoised: a pure function of the
    reminder's text, the instant and the zone (an aware datetime compares by its instant,
    and only the instant is used: it is shown in `zone` first), and deadlines of many
    contracts begin at the same midnights."""
    local = begins.astimezone(zone)
    return local - shift(local, reminder_period(reminder), backward=True)


def entries(tracked: Iterable[Tracked], as_of: datetime, options: FeedOptions,
            state: FeedState | None = None) -> list[Entry]:
    tracked = list(tracked)
    commands = record_commands(tracked, feed_log_path)
    # a rule's words once per contract: keyed by the log and the rule themselves (both live
    # as long as `tracked`, so their ids are not reused meanwhile)
    said: dict[tuple[int, int], _RuleWords] = {}
    windows: dict[int, tuple[date, date]] = {}  # by the log's id, as `said`
    chosen = []
    for t in tracked:
        if t.due_day is None:  # as in `in_window`, whose window is worked out only for a date
            continue
        window = windows.get(id(t.log))
        if window is None:
            window = windows[id(t.log)] = _window(as_of, t.log.settings.zone, options)
        if not _in_window(t, window, as_of, options, state):
            continue
        key = (id(t.log), id(t.deadline.rule))
        words = said.get(key)
        if words is None:
            words = said[key] = _rule_words(t, options.lang)
        chosen.append(entry_for(t, options.lang, commands.get(t.uid), words))
    chosen.sort(key=lambda e: e.sort)
    return chosen


def render(name: str, feed_id: str, items: Sequence[Entry], state: FeedState,
           options: FeedOptions, rendered: dict[str, bytes] | None = None,
           as_of: datetime | None = None, note: str = "") -> bytes:
    """One VCALENDAR; the same entries and state give the same bytes.

    Each VEVENT is serialised by icalendar once per build (`rendered` holds them by UID) and
    the calendar is its serialised properties followed by those blocks, which is exactly what
    `Calendar.to_ical()` would produce with the events added as subcomponents.
    """
    rendered = {} if rendered is None else rendered
    blocks: list[bytes] = []
    latest: datetime | None = None
    for item in items:
        stamp = state.stamp(item.uid, item.content_hash, item.changed_at,
                            cancelled=item.cancelled, now=as_of)
        latest = stamp.last_modified if latest is None else max(latest, stamp.last_modified)
        block = rendered.get(item.uid)
        if block is None:
            block = rendered[item.uid] = (
                event_component(item, stamp).to_ical(sorted=True)
                if options.writer == "icalendar" else event_bytes(item, stamp))
        blocks.append(block)
    return calendar_head(name, feed_id, options, latest, note, empty=not items) \
        + b"".join(blocks) + CALENDAR_END


CALENDAR_END = b"END:VCALENDAR\r\n"


def stamp_all(items: Iterable[Entry], state: FeedState, as_of: datetime | None) -> None:
    """Stamp every entry (a new or changed one gets its next SEQUENCE) before any is written."""
    for item in items:
        state.stamp(item.uid, item.content_hash, item.changed_at, cancelled=item.cancelled,
                    now=as_of)


def calendar_head(name: str, feed_id: str, options: FeedOptions,
                  last_modified: datetime | None, note: str = "", *, empty: bool) -> bytes:
    """A VCALENDAR up to its first VEVENT: what `Calendar.to_ical()` writes before the events
    that follow it (each serialised on its own, then END:VCALENDAR)."""
    if options.writer != "icalendar":
        from .icswriter import calendar_head as direct

        return direct(prodid=PRODID, name=one_line(name),
                      description=LABELS[options.lang]["feed.description"] + note,
                      refresh=options.refresh, last_modified=last_modified, empty=empty)
    cal = calendar_component(name, feed_id, options, last_modified, note)
    if empty:
        # RFC 5545 3.6: a calendar holds at least one component; an empty window gets an
        # invisible one (the UTC time zone) rather than a made-up event.
        cal.add_component(_utc_timezone())
    head: bytes = cal.to_ical(sorted=True)
    assert head.endswith(CALENDAR_END)
    return head[: -len(CALENDAR_END)]


def calendar_component(name: str, feed_id: str, options: FeedOptions,
                       last_modified: datetime | None, note: str = "") -> Any:
    from icalendar import Calendar  # deferred: only builds need it
    from icalendar.prop import vDuration, vText

    labels = LABELS[options.lang]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # No calendar-level UID (RFC 7986 makes it optional): vdirsyncer 0.21 takes the first UID
    # line of a feed as every item's identity and collapses the whole feed into one item.
    name = one_line(name)
    # icalendar 7 leaves NAME and X-WR-* untyped (unescaped); vText escapes , ; \\ as TEXT
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    description = labels["feed.description"] + note
    cal.add("description", description)
    cal.add("x-wr-caldesc", vText(description))
    # icalendar 7 leaves out the VALUE=DURATION that RFC 7986 requires here
    cal.add("refresh-interval", options.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(options.refresh))
    if last_modified is not None:
        cal.add("last-modified", last_modified)
    return cal


def _utc_timezone() -> Any:
    from icalendar import Timezone, TimezoneStandard

    zone = Timezone()
    zone.add("tzid", "UTC")
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(0))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("tzname", "UTC")
    zone.add_component(standard)
    return zone


def event_bytes(item: Entry, stamp: Stamp) -> bytes:
    return vevent(uid=item.uid, summary=item.summary, description=item.description,
                  start=item.start, stamp=stamp.last_modified, created=stamp.created,
                  sequence=stamp.sequence, cancelled=item.cancelled,
                  categories=item.categories, alarms=item.alarms)


def event_component(item: Entry, stamp: Stamp) -> Any:
    from icalendar import Alarm, Event

    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", stamp.last_modified)
    event.add("last-modified", stamp.last_modified)
    event.add("created", stamp.created)
    event.add("sequence", stamp.sequence)
    event.add("summary", item.summary)
    event.add("description", item.description)
    event.add("dtstart", item.start)
    if not isinstance(item.start, datetime):  # all day: DTEND is the next day (exclusive)
        event.add("dtend", item.start + timedelta(days=1))
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("categories", list(item.categories))
    for index, (trigger, text) in enumerate(item.alarms):
        alarm = Alarm()
        alarm.add("uid", f"{item.uid.split('@')[0]}-alarm-{index}@{UID_DOMAIN}")
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        alarm.add("trigger", trigger)
        event.add_component(alarm)
    return event

