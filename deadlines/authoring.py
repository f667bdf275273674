"""Writing a rulebook against your own contract: `deadlines rulebook check` and `new`.

`check` reads a rulebook as every command would (its shape, ids, chains and cycles, periods,
zones and calendars that exist, every actor a party, every `fulfilled_by` declared), counts
every trigger once, and, given the contract's text, finds every quote at the lines it cites.
`skeleton` is the commented starting point `new` prints: one rule of each kind.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from . import rulebook as rulebooks
from .errors import DeadlinesError
from .extend import resolve
from .rulebook import ID_RE, Rulebook, Source
from .safeio import read_limited
from .yamlsource import FieldPath, Located, load_path

MAX_TEXT_BYTES = 20_000_000
# A fixed instant to count every trigger once at: `check` must not depend on today.
PROBE = "2026-03-02T10:00"


def normalise(text: str) -> str:
    """What a quote is compared on: apostrophe variants, no-break spaces and runs of white space
    are the only differences forgiven (a quote may run over a line break)."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub("[\u2019\u2018\u02bc]", "'", text)
    text = re.sub("[\u00a0\u202f\u2007]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Quote:
    """One quote a rulebook cites: where it is written (its field path) and what it says."""

    path: FieldPath  # in the (merged) rulebook document, e.g. ("rules", 3)
    name: str  # the rule's key, or governing_law
    source: Source


def quotes(book: Rulebook) -> list[Quote]:
    """Every quote of a rulebook: each rule's, then the governing law's."""
    out = [Quote(("rules", index), rule.key, rule.source)
           for index, rule in enumerate(book.rules)]
    if book.governing_law.source is not None:
        out.append(Quote(("governing_law",), "governing_law", book.governing_law.source))
    return out


def quote_problem(quote: Quote, lines: list[str], text: str = "the text") -> str | None:
    """Why a quote does not stand at its cited lines of `text`, or None when it does."""
    outside = [n for n in quote.source.lines if not 0 < n <= len(lines)]
    if outside:
        return (f"line {outside[0]} is past the end of {text} ({len(lines)} lines); "
                "expected the line numbers the quote stands on")
    cited = " ".join(lines[n - 1] for n in quote.source.lines)
    if normalise(quote.source.quote) in normalise(cited):
        return None
    where = ", ".join(map(str, quote.source.lines))
    shown = normalise(cited)
    shown = f"« {shown} »" if len(shown) <= 70 else f"« {shown[:70]}... »"
    if not normalise(cited):
        shown = "nothing (blank)"
    return (f"not found at line(s) {where} of {text}, which read {shown}; expected the words "
            "of the text there, verbatim")


@dataclass(frozen=True)
class CheckReport:
    """What `deadlines rulebook check` found in a rulebook that passed."""

    path: str
    book: Rulebook
    quotes_found: int | None  # None: no contract text was given

    def summary(self) -> str:
        book = self.book
        parts = [f"{len(book.rules)} rules", f"{len(book.events)} events",
                 f"{len(book.fulfilments)} fulfilments"]
        extends = f", extends {book.extends}" if book.extends else ""
        if self.quotes_found is None:
            quoted = "quotes not checked (give --text CONTRACT.txt)"
        else:
            quoted = f"{self.quotes_found} quotes found at their lines"
        return f"{self.path}: {book.id} ({book.name}{extends}): {', '.join(parts)}; {quoted}"


def check(path: str, text: str | None = None) -> CheckReport:
    """A rulebook file checked as a whole, and its quotes against the contract's text; the
    first mistake is raised as `file:line: field: what was expected`."""
    if not rulebooks.is_path(path):
        raise DeadlinesError("expected the path of a rulebook .yaml file", file=path)
    book = rulebooks.load(path)
    _count_every_trigger(book, path)
    if text is None:
        return CheckReport(path, book, None)
    doc, _, _ = resolve(load_path(path))
    lines = _text_lines(text)
    problems = [(quote, problem) for quote in quotes(book)
                if (problem := quote_problem(quote, lines, text)) is not None]
    if problems:
        quote, problem = problems[0]
        more = len(problems) - 1
        others = f" ({more} more quote{'s' if more > 1 else ''} not found)" if more else ""
        raise _at_quote(doc, quote, f"{problem}{others}")
    return CheckReport(path, book, len(quotes(book)))


def _at_quote(doc: Located, quote: Quote, message: str) -> DeadlinesError:
    """An error at the quote's line; for a rule inherited with its `lines:` given again (a text
    that repeats the clause elsewhere), at those lines, the part the extending file wrote."""
    text_at, lines_at = (*quote.path, "quote"), (*quote.path, "lines")
    if doc.origin(lines_at)[0] != doc.origin(text_at)[0]:
        return doc.error(lines_at, message)
    return doc.error(text_at, message)


def _text_lines(path: str) -> list[str]:
    raw = read_limited(path, MAX_TEXT_BYTES, "contract text")
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DeadlinesError("not UTF-8 text", file=path, line=line) from None


def _count_every_trigger(book: Rulebook, path: str) -> None:
    """Count every trigger once (each severity, each region), so that nothing the loader cannot
    see (a calendar without the years asked, a schedule with no open time) waits for the day a
    deadline is needed."""
    from .engine import compute
    from .moments import parse_when
    from .settings import Settings

    regions: list[str | None] = [*book.regions] or [None]
    for region in regions:
        settings = Settings.resolve(book, region=region)
        trigger = parse_when(PROBE, settings.zone)
        for event in book.events:
            levels = sorted({r.severity for r in book.rules_for(event) if r.severity})
            severities: list[str | None] = [*levels] or [None]
            for severity in severities:
                try:
                    compute(book, event, trigger, settings, severity=severity)
                except DeadlinesError as exc:
                    where = f" in region {region}" if region else ""
                    raise DeadlinesError(f"counting {event} at {PROBE}{where} fails: "
                                         f"{exc.message}", file=path,
                                         field=f"events.{event}") from None


def skeleton(book_id: str) -> str:
    """A commented rulebook with one rule of each kind, for `deadlines rulebook new ID`."""
    if not ID_RE.match(book_id):
        raise DeadlinesError(f"{book_id!r} is not an agreement id; expected a lowercase slug "
                             "such as acme-msa")
    return SKELETON.replace("ID", book_id)


SKELETON = """\
# The rulebook of ID: the time-bound duties of one agreement, one rule per duty.
# Format: docs/rulebook-format.md; a worked example: docs/your-own-contract.md.
# Write every `quote:` (the words of the clause, verbatim) and its `lines:` (the line numbers
# of the contract text it stands on), then check the file against the text:
#   deadlines rulebook check ID.yaml --text CONTRACT.txt
# `check` refuses the file while a quote is empty. Delete the rules your contract does not have.
id: ID
name: ID (the agreement's name as people say it)
source:
  file: CONTRACT.txt           # the contract text the line numbers refer to

parties:                       # who may have to act; rules name them by these keys
  buyer:
    name: Us, the party that buys the service
    label: {en: the buyer, fr: l'acheteur}      # how the calendar entries name it
  supplier:
    name: The party that provides the service
    label: {en: the supplier, fr: le fournisseur}
sides: [buyer, supplier]       # the two that sign; a log's `role:` is one of them (the first
                               # by default)

governing_law:
  name: England and Wales
  # what that law does with a period that ends on a weekend or holiday (shown, never applied
  # unless a roll is asked for): following | preceding | none
  weekend_extension: none
timezone: Europe/London        # the IANA zone days are counted in
calendar: GB-ENG               # business days: a country (and a subdivision) as the holidays
                               # package knows them
roll: none                     # none | following | preceding

schedules:                     # the hours `business hours` are counted in
  support-hours:
    windows:
      - days: [mon, tue, wed, thu, fri]
        from: "09:00"
        to: "17:30"

events:                        # what sets deadlines off, each with its meaning
  contract_start: The contract's start date; anchors the recurring rules.
  notice_of_breach:
    meaning: A written notice of breach was given to the party in breach.
    by: them                   # who gives it when the log does not say: us, them, or a side
  erasure_request: The buyer asked in writing for its data to be deleted.
  ticket_opened: The buyer reported a problem to the supplier's support desk.
  claim_made: A party made a claim under the agreement.

fulfilments:                   # what closes a rule (each rule lists its own in fulfilled_by)
  breach_remedied: The breach described in the notice was remedied.
  data_erased: The data was deleted.
  erasure_certified: The deletion was certified in writing.
  ticket_answered: The support request was answered.

rules:
  # An obligation: someone must act by the date (here either side, whoever was in breach).
  - id: cure
    title: Cure period after a written breach notice
    kind: obligation
    event: notice_of_breach
    period: 30 days
    actor: either
    either: other              # the party that received the notice
    fulfilled_by: [breach_remedied]
    action: Remedy the breach described in the notice.
    consequence: The other party may terminate the agreement.
    clause: "1"
    lines: [1]
    quote:

  # A right, chained to the obligation before it: it opens the day after the cure period
  # ends, and only if the breach was not cured in time.
  - id: terminate-for-cause
    title: Right to terminate once the cure period has run out
    kind: right
    event: notice_of_breach
    from: cure
    period: 1 day
    actor: either
    either: by                 # the party that gave the notice
    action: Terminate the agreement for the uncured breach.
    clause: "1"
    lines: [1]
    quote:

  # Business days: counted on the calendar above, weekends and holidays skipped.
  - id: deletion
    title: Delete the buyer's data
    kind: obligation
    event: erasure_request
    period: 10 business days
    actor: supplier
    fulfilled_by: [data_erased]
    action: Delete every copy of the buyer's data.
    clause: "2"
    lines: [2]
    quote:

  # A chained obligation: counted from the due date of the rule named by `from:` (or from the
  # day it was actually done, once the log records it).
  - id: deletion-certificate
    title: Certify the deletion in writing
    kind: obligation
    event: erasure_request
    from: deletion
    period: 5 days
    actor: supplier
    fulfilled_by: [erasure_certified]
    action: Send the buyer a written certificate of deletion.
    clause: "2"
    lines: [2]
    quote:

  # Business hours: counted only inside the schedule's open windows.
  - id: support-response
    title: Respond to a support request
    kind: obligation
    event: ticket_opened
    period: 4 business hours
    schedule: support-hours
    actor: supplier
    fulfilled_by: [ticket_answered]
    action: Respond to the support request.
    clause: "3"
    lines: [3]
    quote:

  # A recurring duty: every calendar quarter from the contract start.
  - id: service-review
    title: Quarterly service review
    kind: obligation
    event: contract_start
    period: 3 months
    direction: recurring
    align: calendar
    actor: supplier
    action: Hold a service review with the buyer in each calendar quarter.
    clause: "4"
    lines: [4]
    quote:

  # A limit: the edge of a span the text measures, here the look-back window of a claim
  # (counted back from the claim: "losses in the 12 months before the claim").
  - id: claim-lookback
    title: Losses count only in the 12 months before a claim
    kind: limit
    event: claim_made
    period: 12 months
    direction: before
    actor: either
    action: Only losses in the 12 months before the claim count toward it.
    clause: "5"
    lines: [5]
    quote:
"""
