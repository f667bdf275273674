"""Contract terms and renewals: `term:` on the contract, and the deadlines it sets.

    term:
      initial: 12 months     # the first term, from the contract's start (or `ends:`)
      renewal: 12 months     # each renewal (default: initial)
      auto_renew: true       # renews by itself unless notice of non-renewal is given
      notice: 30 days        # ... at least this long before the term ends
      ends: 2027-01-14       # optional: the first term's last day, as the contract gives it

Two rules, set by the contract rather than its agreement (`Rule.origin == "contract"`), one
occurrence per term:

- `term-end` (a limit: the edge of the term, never rolled): the term's last day. A term starts
  on its first day, so a 12-month term from 15 January 2026 runs to the same day number 12
  months later, 15 January 2027, which is the first day of the next term: its last day is 14
  January 2027. That is the earliest reading, and the primary one; the other (the start day not
  counted, as for a period after an event: 15 January 2027) is listed with its date. Renewal
  terms are counted from the first renewal's start, never term by term (month ends do not
  drift).
- `non-renewal-notice` (auto-renewing terms with a `notice`): the last day to decide. Counted
  back from the term's last day with the engine's convention for "at least N before X" (the
  target day not counted; a `preceding` roll moves it earlier, a `following` roll never moves
  it later). Either party may give notice. Closed by `non_renewal_notice_given` (the contract
  then ends with the term; a notice after the last day is late: the term renews and the notice
  takes effect at the end of the next one) or by `renewed` (the decision to keep it). With
  neither, it is missed once its day has passed, and closed when the term has renewed.

Three events every log may record, whatever its agreement (defined here, listed by
`deadlines rules AGREEMENT --events`): `non_renewal_notice_given` and `renewed` (which need a
`term:`), and `terminated`: the contract ended that day, and every deadline after it that an
earlier event set off, or that recurs from the start, is withdrawn. An agreement whose rulebook
has its own `terminated` trigger (post-termination duties) keeps those rules: they are set off
by the termination itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .engine import Alternative, Deadline, _settle, count
from .errors import DeadlinesError
from .labels import period_fr
from .moments import Moment, parse_when
from .periods import Period, Unit, count_calendar, end_of_day, fmt_day
from .rulebook import Rule, Source
from .settings import Settings
from .vocabulary import (
    CANCELLED_STATUSES,
    CONTRACT_EVENTS,
    EITHER_PARTY,
    NON_RENEWAL_EVENT,
    RENEWED_EVENT,
    START_EVENT,
    TERMINATED_EVENT,
    Align,
    Direction,
    Either,
    Kind,
    Status,
)

if TYPE_CHECKING:
    from .eventlog import ContractLog, LoggedEvent
    from .tracking import Tracked

# The contract's own event types are the format's words (vocabulary.CONTRACT_EVENTS).
NON_RENEWAL = NON_RENEWAL_EVENT
RENEWED = RENEWED_EVENT
TERMINATED = TERMINATED_EVENT
TERM_EVENTS = CONTRACT_EVENTS
EVENT_MEANINGS = {
    NON_RENEWAL: "Contract term (any agreement; needs term: in the contract): notice of "
                 "non-renewal was given. On or before the last day for notice, the contract "
                 "ends with the term; later, the term renews and the notice takes effect at the "
                 "end of the next one.",
    RENEWED: "Contract term (any agreement; needs term: in the contract): the contract was "
             "renewed. Without auto_renew, a new term follows the current one; with it, this "
             "records the decision to keep the contract (closes non-renewal-notice).",
    TERMINATED: "The contract ended on this day (any agreement): every deadline after it that "
                "an earlier event set off, or that recurs from the start, is withdrawn.",
}
TERM_END = "term-end"
NOTICE = "non-renewal-notice"
TERM_RULES = (TERM_END, NOTICE)
TERM_FIELDS = ("initial", "renewal", "auto_renew", "notice", "ends")
TERM_UNITS = (Unit.DAYS, Unit.WEEKS, Unit.MONTHS, Unit.YEARS)
NOTICE_UNITS = (*TERM_UNITS, Unit.BUSINESS_DAYS)
MAX_TERMS = 1_000
# The longest term or notice a contract may give, per unit: 100 years. Longer is a typo, and
# its dates would leave the years a calendar can hold, failing every log in the folder.
MAX_AMOUNT = {Unit.DAYS: 36_525, Unit.WEEKS: 5_218, Unit.MONTHS: 1_200, Unit.YEARS: 100,
              Unit.BUSINESS_DAYS: 26_100}
CLAUSE = "contract term"
# the consequence of a term-end: whether the contract goes on (see `ends_contract`)
RENEWS = "None: the contract goes on in the next term."
ENDS = "The contract ends on this day."


@dataclass(frozen=True)
class Term:
    initial: Period | None
    renewal: Period | None  # None: no renewal length (a term given by `ends` that never renews)
    auto_renew: bool
    notice: Period | None
    ends: date | None
    line: int = 0

    def describe(self) -> str:
        parts = []
        if self.initial is not None:
            parts.append(f"initial {self.initial}")
        if self.ends is not None:
            parts.append(f"ends {self.ends.isoformat()}")
        if self.renewal is not None:
            parts.append(f"renewal {self.renewal}")
        parts.append(f"auto_renew {'true' if self.auto_renew else 'false'}")
        if self.notice is not None:
            parts.append(f"notice {self.notice}")
        return ", ".join(parts)


Fail = Callable[[str | None, str], DeadlinesError]  # (field under term, message) -> error


def parse_term(raw: Any, start: date, settings: Settings, fail: Fail, line: int = 0) -> Term:
    """A contract's `term:` mapping, every field checked (`fail` names the field)."""
    if not isinstance(raw, dict):
        raise fail(None, "expected a mapping such as {initial: 12 months, auto_renew: true, "
                         "notice: 30 days}")
    for key in raw:
        if key not in TERM_FIELDS:
            raise fail(str(key), f"unknown field; expected one of {', '.join(TERM_FIELDS)}")

    def length(key: str, units: tuple[Unit, ...]) -> Period | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, dict | list | bool):
            raise fail(key, "expected a length such as 12 months, 1 year or 90 days")
        try:
            period = Period.parse(str(value))
        except DeadlinesError as exc:
            raise fail(key, exc.message) from None
        if period.unit not in units or not 0 < period.amount <= MAX_AMOUNT[period.unit]:
            words = ", ".join(u.value for u in units)
            raise fail(key, f"{value!r}: a term is counted in {words}, at least 1 and at most "
                            "100 years")
        return period

    initial = length("initial", TERM_UNITS)
    renewal = length("renewal", TERM_UNITS)
    notice = length("notice", NOTICE_UNITS)
    auto = raw.get("auto_renew", False)
    if not isinstance(auto, bool):
        raise fail("auto_renew", "expected true or false")
    ends: date | None = None
    if raw.get("ends") is not None:
        try:
            moment = parse_when(str(raw["ends"]), settings.zone, what="ends")
        except DeadlinesError as exc:
            raise fail("ends", exc.message) from None
        if moment.has_time:
            raise fail("ends", "expected a date, the first term's last day")
        ends = moment.day
        if ends < start:
            raise fail("ends", f"{ends.isoformat()} is before the contract's start, "
                               f"{start.isoformat()}")
    if initial is None and ends is None:
        raise fail(None, "expected initial (a length such as 12 months) or ends (the first "
                         "term's last day)")
    if renewal is None:
        renewal = initial
    if auto and renewal is None:
        raise fail("renewal", "an auto-renewing term given by ends needs the length of each "
                              "renewal, such as 12 months")
    if notice is not None and not auto:
        raise fail("notice", "the term does not renew by itself (auto_renew is false), so there "
                             "is no renewal to give notice against; set auto_renew: true or "
                             "remove notice")
    term = Term(initial, renewal, auto, notice, ends, line)
    _check_notice_fits(term, start, fail)
    return term


def _check_notice_fits(term: Term, start: date, fail: Fail) -> None:
    """A notice counted back from the first term's end must not fall before the contract's
    start: a notice longer than the term is a typo (3 months' notice of a 1-month term)."""
    if term.notice is None or term.notice.unit is Unit.BUSINESS_DAYS:
        return  # business days need the calendar; such a notice is days, never years
    first = next(spans(term, start))
    latest, _ = count_calendar(first.last, term.notice, backward=True)
    if latest < start:
        raise fail("notice", f"{term.notice} before the first term ends ({fmt_day(first.last)}) "
                             f"is {fmt_day(latest)}, before the contract's start; the notice "
                             "must be shorter than the term")


# ---------------------------------------------------------------------------------------------
# The terms, one after the other


@dataclass
class Span:
    """One term: its number (1 is the initial term), first and last day, and the count."""

    number: int
    first: date
    last: date
    trace: list[str]
    alternative: tuple[date, list[str]] | None = None  # the start day not counted


def _after(anchor: date, period: Period) -> tuple[date, list[str]]:
    """The same day number `period` after `anchor` (never chained), with the count's words."""
    return count_calendar(anchor, period, backward=False)


def _fr(period: Period | None) -> str:
    return period_fr(period.amount, period.unit.value) if period is not None else ""


def _times(period: Period, n: int) -> Period:
    return Period(period.amount * n, period.unit)


def spans(term: Term, start: date) -> Iterator[Span]:
    """The initial term, then each renewal term (as long as the caller asks)."""
    if term.ends is not None:
        first_last = term.ends
        trace = [f"The first term starts on {fmt_day(start)}, the contract's start, and ends on "
                 f"the day the contract gives (term: ends), {fmt_day(term.ends)}."]
        yield Span(1, start, first_last, trace)
    else:
        assert term.initial is not None
        boundary, steps = _after(start, term.initial)
        last = boundary - timedelta(days=1)
        trace = [f"The first term starts on {fmt_day(start)}, the contract's start, and runs "
                 f"{term.initial}.", *steps,
                 f"That day is the first of the next term: the day a term starts is its own "
                 f"first day, so its last day is the day before, {fmt_day(last)}."]
        other = [f"The first term starts on {fmt_day(start)} and runs {term.initial}, the start "
                 f"day not counted (as for a period after an event).", *steps,
                 f"Its last day would be {fmt_day(boundary)}."]
        yield Span(1, start, last, trace, (boundary, other))
        first_last = last
    if term.renewal is None:
        return
    anchor = first_last + timedelta(days=1)  # the first renewal's first day
    for n in range(1, MAX_TERMS):
        multiple = _times(term.renewal, n)
        boundary, steps = _after(anchor, multiple)
        first = anchor if n == 1 else _after(anchor, _times(term.renewal, n - 1))[0]
        last = boundary - timedelta(days=1)
        which = "the first renewal" if n == 1 else f"renewal {n}"
        head = (f"Term {n + 1} ({which}) starts on {fmt_day(first)}, the day after the previous "
                f"term, and runs {term.renewal}.")
        if n > 1:
            head += (f" Renewals are counted from the first renewal's start, "
                     f"{fmt_day(anchor)}: {n} x {term.renewal} = {multiple}, never term by "
                     "term.")
        trace = [head, *steps, f"That day starts the next term; this term's last day is the "
                               f"day before, {fmt_day(last)}."]
        other = [head.replace("runs", "runs (the start day not counted)"), *steps,
                 f"Its last day would be {fmt_day(boundary)}."]
        yield Span(n + 1, first, last, trace, (boundary, other))


# ---------------------------------------------------------------------------------------------
# Rules and tracking


def _source(log: ContractLog) -> Source:
    term = log.contract.term
    assert term is not None
    return Source(CLAUSE, (term.line,) if term.line else (), f"term: {term.describe()}")


def _rule(log: ContractLog, rule_id: str, kind: Kind, title: str, title_fr: str, action: str,
          action_fr: str, consequence: str, period: Period | None, direction: Direction
          ) -> Rule:
    """A rule of the contract's own (`origin` contract): either side may act on it."""
    closers = (NON_RENEWAL, RENEWED) if rule_id == NOTICE else ()
    return Rule(id=rule_id, title=title, kind=kind, events=(START_EVENT,), period=period,
                direction=direction, align=Align.ANCHOR, anchor_rule=None, schedule=None,
                severity=None, actor=EITHER_PARTY, action=action, consequence=consequence,
                source=_source(log), note="", readings=(), title_fr=title_fr,
                action_fr=action_fr, either=Either.BOTH, fulfilled_by=closers,
                origin="contract")


@dataclass
class TermState:
    """What the tracker knows about one term, for `status` ("renews on ... unless notice by
    ...")."""

    span: Span
    renews: bool  # another term follows
    notice_due: date | None = None
    notice_status: str | None = None
    notice_done: LoggedEvent | None = None  # what closed the notice deadline
    ended_by: LoggedEvent | None = None  # the notice that ends the contract with this term
    renewal: Period | None = None


@dataclass
class TermTracking:
    items: list[Tracked] = field(default_factory=list)
    states: list[TermState] = field(default_factory=list)
    terminated: LoggedEvent | None = None


def track_terms(log: ContractLog, as_of: datetime, until: date,
                live: list[LoggedEvent]) -> TermTracking:
    """Every term's `term-end` and `non-renewal-notice` up to the term that starts after
    `until`, with their statuses as of `as_of`."""

    out = TermTracking(terminated=termination(log, live))
    term = log.contract.term
    if term is None:
        return out
    settings = log.settings
    zone = settings.zone
    start = log.contract.start
    happened = [e for e in live if e.instant(settings) <= as_of]
    notices = [e for e in happened if e.type == NON_RENEWAL]
    renewals = [e for e in happened if e.type == RENEWED]
    stop = out.terminated.at.day if out.terminated is not None else None
    for span in spans(term, start.day):
        if span.number > 1 and (span.first > until or (stop is not None and span.first > stop)):
            break
        state = TermState(span, renews=term.auto_renew, renewal=term.renewal)
        notice_t: Tracked | None = None
        if term.auto_renew and term.notice is not None:
            notice_t = _notice(log, span, term.notice, notices, renewals, as_of)
            state.notice_due = notice_t.due_day
            state.notice_status = notice_t.status
            state.notice_done = notice_t.done
            if notice_t.status == Status.MET and notice_t.done is not None \
                    and notice_t.done.type == NON_RENEWAL:
                state.renews, state.ended_by = False, notice_t.done
        if not term.auto_renew:
            # a term that does not renew by itself is followed by another only when renewed
            state.renews = bool(renewals)
            if renewals:
                renewals.pop(0)
        out.items.append(_term_end(log, span, state, as_of))
        if notice_t is not None:
            out.items.append(notice_t)
        out.states.append(state)
        if not state.renews:
            break
        if span.number >= MAX_TERMS:
            log.warnings.append(f"term: more than {MAX_TERMS} terms; only the first "
                                f"{MAX_TERMS} are counted")
            break
    for t in out.items:
        if t.status == Status.MISSED and t.deadline.rule.id == NOTICE:
            # the day to give notice has passed; once the term it belongs to is over (and the
            # contract renewed), the decision window is closed rather than missed
            term_over = end_of_day(t.deadline.anchor.day, zone)
            if as_of >= term_over:
                t.status = Status.CLOSED
    return out


def _term_end(log: ContractLog, span: Span, state: TermState, as_of: datetime) -> Tracked:
    from .tracking import Tracked

    settings = log.settings
    term = log.contract.term
    assert term is not None
    renewal = state.renewal
    renewal_fr = _fr(renewal)
    following = span.last + timedelta(days=1)
    if state.ended_by is not None:
        action = (f"The contract ends with this term: notice of non-renewal was given "
                  f"({state.ended_by.at_text}).")
        action_fr = (f"Le contrat prend fin avec cette période : le préavis de non-"
                     f"renouvellement a été donné ({state.ended_by.at_text}).")
    elif not state.renews:
        action = ("The contract ends with this term: it does not renew by itself (record "
                  "renewed if it was renewed).")
        action_fr = ("Le contrat prend fin avec cette période : il ne se renouvelle pas seul "
                     "(enregistrer renewed s'il a été renouvelé).")
    elif state.notice_due is not None:
        action = (f"The term renews on {fmt_day(following)} for {renewal} unless notice of "
                  f"non-renewal is given by {fmt_day(state.notice_due)}.")
        action_fr = (f"La période se renouvelle le {following.isoformat()} pour {renewal_fr}, sauf "
                     f"préavis de non-renouvellement donné au plus tard le "
                     f"{state.notice_due.isoformat()}.")
    else:
        action = f"The term renews on {fmt_day(following)} for {renewal}."
        action_fr = f"La période se renouvelle le {following.isoformat()} pour {renewal_fr}."
    rule = _rule(log, TERM_END, Kind.LIMIT, "End of the contract term", "Fin de la période du "
                 "contrat", action, action_fr,
                 RENEWS if state.renews else ENDS,
                 term.initial if span.number == 1 else renewal, Direction.AFTER)
    due, steps = _settle(span.last, list(span.trace), settings, Direction.AFTER,
                         settings.calendar, Kind.LIMIT)
    alternatives = []
    if span.alternative is not None:
        other_day, other_steps = span.alternative
        alternatives.append(Alternative("the start day not counted (as for a period after an "
                                        "event)", other_day, tuple(other_steps)))
    start = log.contract.start
    deadline = Deadline(rule, START_EVENT, start, Moment.of_due(span.first, settings.zone),
                        f"from the start of term {span.number}", due, steps, alternatives,
                        occurrence=span.number)
    tracked = Tracked(log, deadline, None, Status.PENDING)
    end = tracked.due_end
    assert end is not None
    tracked.status = Status.CLOSED if as_of >= end else Status.PENDING
    return tracked


def _notice(log: ContractLog, span: Span, notice: Period, notices: list[LoggedEvent],
            renewals: list[LoggedEvent], as_of: datetime) -> Tracked:
    from .tracking import Tracked

    settings = log.settings
    zone = settings.zone
    term = log.contract.term
    assert term is not None
    target = Moment.of_due(span.last, zone)
    warnings: list[str] = []
    due, steps = count(target, notice, Direction.BEFORE, settings, None, warnings,
                       what="the non-renewal notice", kind=Kind.OBLIGATION)
    head = (f"At least {notice} before the end of term {span.number}, its last day "
            f"({fmt_day(span.last)}).")
    alternatives = []
    if span.alternative is not None:
        other_end = span.alternative[0]
        other_due, other_steps = count(Moment.of_due(other_end, zone), notice, Direction.BEFORE,
                                       settings, None, warnings, kind=Kind.OBLIGATION)
        alternatives.append(Alternative(
            "the term's start day not counted: the term ends a day later",
            other_due, (f"At least {notice} before {fmt_day(other_end)}.", *other_steps)))
    following = span.last + timedelta(days=1)
    rule = _rule(
        log, NOTICE, Kind.OBLIGATION, "Last day to give notice of non-renewal",
        "Dernier jour pour donner le préavis de non-renouvellement",
        f"Decide whether to renew: to end the contract with this term, give written notice of "
        f"non-renewal by this day (then record non_renewal_notice_given); to keep it, record "
        f"renewed. Without either, the term renews on {fmt_day(following)} for "
        f"{term.renewal}.",
        f"Décider du renouvellement : pour mettre fin au contrat avec cette période, donner un "
        f"préavis écrit de non-renouvellement au plus tard ce jour (puis enregistrer "
        f"non_renewal_notice_given) ; pour le garder, enregistrer renewed. Sinon, la période "
        f"se renouvelle le {following.isoformat()} pour {_fr(term.renewal)}.",
        f"The term renews automatically on {fmt_day(following)} for {term.renewal}.",
        notice, Direction.BEFORE)
    deadline = Deadline(rule, START_EVENT, log.contract.start, target,
                        f"from the end of term {span.number} ({fmt_day(span.last)})", due,
                        [head, *steps], alternatives, occurrence=span.number)
    tracked = Tracked(log, deadline, None, Status.PENDING)
    day = tracked.due_day
    assert day is not None
    # the decision made during this term (or before it): a notice, else a renewal
    done = next((e for e in notices if e.at.day <= span.last), None)
    if done is not None and done.at.day <= day:
        notices.remove(done)  # it ends the contract: used up
    elif done is None:
        done = next((e for e in renewals if e.at.day <= span.last), None)
        if done is not None:
            renewals.remove(done)
    # a late notice is not used up: it takes effect at the end of the next term
    if done is not None:
        tracked.done = done
        tracked.status = Status.MET if done.at.day <= day else Status.LATE
        tracked.closed_at = done.instant(settings)
        if tracked.status == Status.LATE and done.type == NON_RENEWAL:
            deadline.trace.append(
                f"Notice of non-renewal was given on {fmt_day(done.at.day)}, after this last "
                f"day: the term renews on {fmt_day(following)}, and the notice takes effect at "
                "the end of the next term.")
        return tracked
    end = tracked.due_end
    assert end is not None
    tracked.status = Status.MISSED if as_of >= end else Status.PENDING
    return tracked


def termination(log: ContractLog, live: list[LoggedEvent]) -> LoggedEvent | None:
    """The earliest `terminated` event that is not withdrawn, if any."""
    ended = [e for e in live if e.type == TERMINATED]
    return min(ended, key=lambda e: e.instant(log.settings)) if ended else None


def contract_end(log: ContractLog, tracking: TermTracking) -> tuple[datetime, datetime, str
                                                                    ] | None:
    """When the contract ends, if a fact says so: (from when later deadlines no longer apply,
    the instant that counts as the end, why). A `terminated` event ends it on its day; a timely
    notice of non-renewal at the end of its term's last day. A term that does not renew by
    itself is not taken as an end without one of those: a contract that goes on unrecorded
    must not lose its deadlines."""
    settings = log.settings
    ends: list[tuple[datetime, datetime, str]] = []
    if tracking.terminated is not None:
        ended = tracking.terminated
        when = ended.instant(settings)
        day_end = end_of_day(ended.at.day, settings.zone) if ended.at.instant is None else when
        ends.append((day_end, when, f"The contract was terminated on {ended.at_text} "
                                    f"({ended.type} {ended.id})"))
    final = next((s for s in tracking.states if s.ended_by is not None), None)
    if final is not None and final.ended_by is not None:
        day_end = end_of_day(final.span.last, settings.zone)
        ends.append((day_end, day_end, f"The contract ended with its term on "
                                       f"{fmt_day(final.span.last)} (notice of non-renewal "
                                       f"given on {final.ended_by.at_text})"))
    return min(ends) if ends else None


def end_at_termination(items: list[Tracked], log: ContractLog,
                       end: tuple[datetime, datetime, str]) -> None:
    """The contract ended: every deadline due after that day which an earlier event set off (or
    which recurs from the start) is withdrawn, whatever its state; those the termination
    itself or a later event set off stay (post-termination duties)."""
    settings = log.settings
    day_end, when, why = end
    for t in items:
        if t.status in CANCELLED_STATUSES:
            continue
        if t.trigger is not None and t.trigger.instant(settings) >= when:
            continue
        due_end = t.due_end
        if due_end is None or due_end <= day_end:
            continue
        t.status = Status.WITHDRAWN
        t.closed_at = when
        t.deadline.trace.append(f"{why}: this deadline no longer applies.")


def summary(tracking: TermTracking, as_of: datetime, zone: Any) -> str | None:
    """'renews on 15 January 2027 for 12 months unless notice by 15 December 2026', or how
    the term ends; None when the contract has no term and was not terminated."""
    if tracking.terminated is not None:
        return f"terminated on {tracking.terminated.at_text}"
    if not tracking.states:
        return None
    current = next((s for s in tracking.states if as_of < end_of_day(s.span.last, zone)),
                   None)
    if current is None:
        last = tracking.states[-1]
        if last.renews:  # past the horizon: should not happen, the tracker reaches as_of
            return None
        if last.ended_by is not None:
            return (f"ended on {fmt_day(last.span.last)} (notice of non-renewal given on "
                    f"{last.ended_by.at_text})")
        return (f"its term ended on {fmt_day(last.span.last)} and it does not renew by itself: "
                "record renewed if it was renewed, or terminated")
    following = fmt_day(current.span.last + timedelta(days=1))
    if current.ended_by is not None:
        return (f"ends on {fmt_day(current.span.last)}: notice of non-renewal given on "
                f"{current.ended_by.at_text}")
    if not current.renews:
        return (f"ends on {fmt_day(current.span.last)}; it does not renew by itself (record "
                "renewed if it is renewed)")
    if current.notice_due is None:
        return f"renews on {following} for {current.renewal}"
    if current.notice_status == Status.PENDING:
        return (f"renews on {following} for {current.renewal} unless notice by "
                f"{fmt_day(current.notice_due)}")
    done = current.notice_done
    if done is not None and done.type == NON_RENEWAL:  # late: it ends the next term
        return (f"renews on {following} for {current.renewal}: the notice of non-renewal given "
                f"on {done.at_text} came after the last day, {fmt_day(current.notice_due)}, "
                "and takes effect at the end of the next term")
    if done is not None:
        return f"renews on {following} for {current.renewal} (renewed recorded on {done.at_text})"
    return (f"renews on {following} for {current.renewal}: the last day for notice, "
            f"{fmt_day(current.notice_due)}, has passed")


def summary_for(log: ContractLog, as_of: datetime, horizon_months: int = 12) -> str | None:
    """`summary` of one contract's log as of a moment."""
    from .periods import add_months

    live = log.live_events
    if log.contract.term is None and not any(e.type == TERMINATED for e in live):
        return None
    zone = log.settings.zone
    until = add_months(as_of.astimezone(zone).date(), horizon_months)[0]
    return summary(track_terms(log, as_of, until, live), as_of, zone)


def is_term_end(rule: Rule) -> bool:
    return rule.origin == "contract" and rule.id == TERM_END


def ends_contract(rule: Rule) -> bool:
    """A term-end after which no term follows: the contract's expiry, shown by `status` and
    alerted by `notify` like a deadline (7 days and 1 day before)."""
    return rule.origin == "contract" and rule.id == TERM_END and rule.consequence == ENDS


def renewal_command(path: str) -> str:
    """What closes the expiry of a term that does not renew by itself: its renewal."""
    import shlex

    return f"deadlines record {shlex.quote(path)} {RENEWED}"


def record_event(rule: Rule) -> str | None:
    """The event that closes a term rule (`deadlines record LOG <event>`), or None."""
    return NON_RENEWAL if rule.origin == "contract" and rule.id == NOTICE else None

