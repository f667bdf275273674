"""The words every module shares: what a rule is, which way it counts, what state a deadline
is in, who acts. One definition each, so that a rulebook, the engine, the tracker, the feeds
and the command line cannot drift apart on a spelling.

These are `StrEnum`s: a member is its own text (`Kind.RIGHT == "right"`), so it reads from and
writes to YAML and JSON unchanged. Nothing here names an agreement, a party or an event of a
shipped rulebook: those are data, in `deadlines/rulebooks/`.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a rule's date is (docs/rulebook-format.md, "Fields of a rule")."""

    OBLIGATION = "obligation"  # the last day someone must act by
    RIGHT = "right"  # the first day someone may act
    LIMIT = "limit"  # the edge of a measured span (a month of uptime, a look-back window)


class Direction(StrEnum):
    """Which way a period is counted from its anchor."""

    AFTER = "after"
    BEFORE = "before"  # the trigger is a target date; the due date is the latest day to act
    RECURRING = "recurring"  # every period from the contract start


class Align(StrEnum):
    """How a recurring (or calendar-week/month/year) period is laid out."""

    ANCHOR = "anchor"  # counted from the anchor: start + 1 x period, start + 2 x period, ...
    CALENDAR = "calendar"  # calendar weeks, months, quarters or years


class Roll(StrEnum):
    """Whether a date on a non-business day moves (docs/rulebook-format.md, "Rolls")."""

    NONE = "none"
    FOLLOWING = "following"
    PRECEDING = "preceding"


class Status(StrEnum):
    """A tracked deadline's state as of a moment (see tracking.py for each one's meaning)."""

    PENDING = "pending"
    MET = "met"
    LATE = "late"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"
    OPEN = "open"
    CLOSED = "closed"
    UNDATED = "undated"


# Fulfilled or withdrawn: the deadline stays in the feeds as CANCELLED for the grace period.
CANCELLED_STATUSES = (Status.MET, Status.LATE, Status.WITHDRAWN)


class Alert(StrEnum):
    """Why `status` flags a row (its ALERT column and `--alerts`)."""

    MISSED = "missed"
    LATE = "late"
    DUE_WITHIN = "due-within"  # pending or open, due within --within


ALERT_STATES = tuple(Alert)


class By(StrEnum):
    """Who gave a notice or did an event, relative to the event log's owner (`by:`)."""

    US = "us"
    THEM = "them"


class Side(StrEnum):
    """Whose deadline it is, relative to the event log's owner: the `ours` and `theirs` feeds."""

    OURS = "ours"
    THEIRS = "theirs"


class Either(StrEnum):
    """For a rule either side may owe (`actor: either`), which one owes it for one event."""

    BY = "by"  # the side that gave the notice or did the event
    OTHER = "other"  # the side that received it
    BOTH = "both"  # each of them


class EventKind(StrEnum):
    """What an event type is to a log (`deadlines rules AGREEMENT --events`)."""

    TRIGGER = "trigger"  # sets deadlines off
    START = "start"  # the contract's own start; never recorded as an event
    FULFILMENT = "fulfilment"  # closes a deadline
    WITHDRAWAL = "withdrawal"  # withdraws an entry recorded in error
    CONTRACT = "contract"  # the contract's own: its term and its end (CONTRACT_EVENTS)


# The actor of a rule that falls on either side (`either:` says which for one event). A
# rulebook's parties are its own; this word, like the event types below, is the format's.
EITHER_PARTY = "either"
# The contract's start date as a trigger: it anchors recurring rules and is never recorded.
START_EVENT = "contract_start"
# A fulfilment of any obligation, naming the rule it closes (`rule:`).
DONE_EVENT = "done"
# An entry that withdraws another one recorded in error (`ref:`).
WITHDRAWN_EVENT = "withdrawn"
# The contract's own events, in every log whatever its agreement (deadlines/terms.py): notice of
# non-renewal given and a renewal (they need the contract's `term:`), and the contract's end.
# A rulebook may also have a trigger called `terminated` (duties that follow the end): it is
# then both that trigger and the end of the contract's later deadlines.
NON_RENEWAL_EVENT = "non_renewal_notice_given"
RENEWED_EVENT = "renewed"
TERMINATED_EVENT = "terminated"
CONTRACT_EVENTS = (NON_RENEWAL_EVENT, RENEWED_EVENT, TERMINATED_EVENT)
# Words a rulebook may not take as a party key: they already mean something in a rule or a log.
RESERVED_PARTY_KEYS = (EITHER_PARTY, *By, *Either)

LANGUAGES = ("en", "fr")  # of summaries, descriptions and the subscribe page
