"""Terms and renewals: `term:` on the contract, the deadlines `term-end` and
`non-renewal-notice`, and the contract's own events `non_renewal_notice_given`, `renewed` and
`terminated`.

The contract: Acme's Aircall subscription (region other: Europe/Paris, the FR calendar), from
Thursday 15 January 2026 for 12 months, renewing by itself for 12 months unless notice of
non-renewal is given at least 30 days before the term ends. The first term's last day is
Thursday 14 January 2027 (15 January 2027 is the first day of the next term); the last day to
give notice is Tuesday 15 December 2026, 30 days before it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines import rulebook
from deadlines.cli import cli
from deadlines.eventlog import load
from deadlines.tracking import Tracked, track
from deadlines.vocabulary import START_EVENT

CONTRACT = """\
contract:
  id: acme
  agreement: aircall
  start: {start}
  name: Acme - Aircall
  owner: Dana Legal <dana@example.org>
  term:
{term}
events:
{events}"""
YEARLY = "    initial: 12 months\n    auto_renew: true\n    notice: 30 days\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events").mkdir()
    return tmp_path


def write(folder: Path, term: str = YEARLY, events: str = "", start: str = "2026-01-15"
          ) -> Path:
    path = folder / "events" / "acme.yaml"
    path.write_text(CONTRACT.format(start=start, term=term.rstrip("\n"), events=events),
                    encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="deadlines")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def term_deadlines(path: Path, as_of: str) -> list[Tracked]:
    moment = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
    return [t for t in track(load(path), moment)
            if t.deadline.rule.id in ("term-end", "non-renewal-notice")]


def dates(items: list[Tracked]) -> list[tuple[str, int | None, str, str]]:
    return [(t.deadline.rule.id, t.deadline.occurrence, str(t.deadline.due), t.status)
            for t in items]


# --- how it counts ---------------------------------------------------------------------------


def test_the_first_term_ends_the_day_before_its_anniversary(folder: Path) -> None:
    items = term_deadlines(write(folder), "2026-06-01T12:00")
    assert dates(items)[:2] == [("term-end", 1, "2027-01-14", "pending"),
                                ("non-renewal-notice", 1, "2026-12-15", "pending")]
    end, notice = items[0].deadline, items[1].deadline
    assert end.trace[:4] == [
        "The first term starts on Thursday 15 January 2026, the contract's start, and runs "
        "12 months.",
        "12 months after Thursday 15 January 2026: the same day number, 12 months later, "
        "counted from the anchor.",
        "That is Friday 15 January 2027.",
        "That day is the first of the next term: the day a term starts is its own first day, "
        "so its last day is the day before, Thursday 14 January 2027."]
    # the other reading, listed with its date: the start day not counted
    assert [(a.reading, str(a.due)) for a in end.alternatives] == [
        ("the start day not counted (as for a period after an event)", "2027-01-15")]
    assert notice.trace[:2] == [
        "At least 30 days before the end of term 1, its last day (Thursday 14 January 2027).",
        "Counting back from 14 January, which is not counted; day 1 is 13 January; day 30 is "
        "Tuesday 15 December 2026."]
    assert [str(a.due) for a in notice.alternatives] == ["2026-12-16"]


def test_renewals_are_counted_from_the_first_renewal_not_term_by_term(folder: Path) -> None:
    """The first term ends on 31 January (ends:); each monthly renewal ends on the last day
    of its month, February included, because every count starts from 1 February."""
    path = write(folder, "    ends: 2026-01-31\n    renewal: 1 month\n    auto_renew: true\n",
                 start="2026-01-01")
    ends = [str(t.deadline.due) for t in term_deadlines(path, "2026-01-10T12:00")
            if t.deadline.rule.id == "term-end"]
    assert ends[:5] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    third = next(t for t in term_deadlines(path, "2026-01-10T12:00")
                 if t.deadline.occurrence == 3)
    assert "Renewals are counted from the first renewal's start, Sunday 1 February 2026: 2 x " \
        "1 month = 2 months, never term by term." in third.deadline.trace[0]


def test_a_preceding_roll_moves_the_notice_earlier_and_nothing_moves_the_term_end(
        folder: Path) -> None:
    """A term from Monday 15 February 2027: it ends on Monday 14 February 2028; 30 days before
    is Saturday 15 January 2028, which a `preceding` roll moves to Friday 14 January."""
    path = write(folder, start="2027-02-15")
    text = path.read_text(encoding="utf-8").replace("  owner:", "  roll: preceding\n  owner:")
    path.write_text(text, encoding="utf-8")
    notice = term_deadlines(path, "2027-03-01T12:00")[1].deadline
    assert str(notice.due) == "2028-01-14"
    assert "The 'preceding' roll is in force: the deadline moves to Friday 14 January 2028." \
        in notice.trace
    path.write_text(text.replace("roll: preceding", "roll: following"), encoding="utf-8")
    notice = term_deadlines(path, "2027-03-01T12:00")[1].deadline
    assert str(notice.due) == "2028-01-15"  # moving it later would shorten the notice


# --- status and what closes the notice -------------------------------------------------------


def test_status_says_when_it_renews_unless_notice_by_when(folder: Path) -> None:
    write(folder)
    code, out, _ = run("status", "--as-of", "2026-12-01", "--within", "30d")
    assert code == 0
    assert out.splitlines()[:4] == [
        "Acme - Aircall (acme, aircall, region other); owner Dana Legal <dana@example.org>",
        "  term: renews on Friday 15 January 2027 for 12 months unless notice by Tuesday 15 "
        "December 2026",
        "  due-within 2026-12-15                non-renewal-notice               ours   either"
        "   clause contract term",
        "             when done: deadlines record events/acme.yaml non_renewal_notice_given"]
    _, out, _ = run("status", "--as-of", "2026-12-20")
    assert "  term: renews on Friday 15 January 2027 for 12 months: the last day for notice, " \
        "Tuesday 15 December 2026, has passed" in out
    assert "  missed     2026-12-15                non-renewal-notice" in out
    # once the term has renewed, the decision window is closed, not missed, and the next one
    # is shown
    _, out, _ = run("status", "--as-of", "2027-01-20", "--within", "1y", "--format", "json")
    rows = json.loads(out)
    assert [(r["rule"], r["due"], r["alert"]) for r in rows
            if r["clause"] == "contract term"] == [
        ("non-renewal-notice", "2027-12-15", "due-within"),
        ("term-end", "2028-01-14", "due-within")]
    assert rows[0]["term"] == ("renews on Saturday 15 January 2028 for 12 months unless notice "
                               "by Wednesday 15 December 2027")


def test_notice_in_time_ends_the_contract_with_the_term(folder: Path) -> None:
    """An Aircall breach notice of 1 December 2026 sets a cure due on 31 December; a monthly
    duty recurs from the start. Once notice of non-renewal is given on 10 December, nothing
    after 14 January 2027 is due any more."""
    path = write(folder)
    code, out, _ = run("record", "events/acme.yaml", "non_renewal_notice_given",
                       "--at", "2026-12-10", "--note", "Sent by registered letter")
    assert code == 0, out
    assert "non-renewal-notice               met" in out
    items = term_deadlines(path, "2026-12-11T12:00")
    assert dates(items) == [("term-end", 1, "2027-01-14", "pending"),
                            ("non-renewal-notice", 1, "2026-12-15", "met")]
    assert items[0].deadline.rule.action == ("The contract ends with this term: notice of "
                                             "non-renewal was given (2026-12-10).")
    _, out, _ = run("status", "--as-of", "2026-12-11")
    assert "  term: ends on Thursday 14 January 2027: notice of non-renewal given on " \
        "2026-12-10" in out
    later = [t for t in track(load(path), datetime(2026, 12, 11, 12, tzinfo=UTC))
             if t.due_day is not None and str(t.due_day) > "2027-01-14"]
    assert later and {t.status for t in later} == {"withdrawn"}
    assert later[0].deadline.trace[-1] == (
        "The contract ended with its term on Thursday 14 January 2027 (notice of non-renewal "
        "given on 2026-12-10): this deadline no longer applies.")


def test_a_late_notice_takes_effect_at_the_end_of_the_next_term(folder: Path) -> None:
    path = write(folder, events="  - type: non_renewal_notice_given\n    at: 2026-12-20\n")
    items = term_deadlines(path, "2027-02-01T12:00")
    assert dates(items) == [("term-end", 1, "2027-01-14", "closed"),
                            ("non-renewal-notice", 1, "2026-12-15", "late"),
                            ("term-end", 2, "2028-01-14", "pending"),
                            ("non-renewal-notice", 2, "2027-12-15", "met")]
    assert items[1].deadline.trace[-1] == (
        "Notice of non-renewal was given on Sunday 20 December 2026, after this last day: the "
        "term renews on Friday 15 January 2027, and the notice takes effect at the end of the "
        "next term.")


def test_renewed_records_the_decision_to_keep_it(folder: Path) -> None:
    path = write(folder, events="  - type: renewed\n    at: 2026-11-30\n")
    assert dates(term_deadlines(path, "2026-12-20T12:00"))[:2] == [
        ("term-end", 1, "2027-01-14", "pending"), ("non-renewal-notice", 1, "2026-12-15", "met")]
    _, out, _ = run("status", "--as-of", "2026-12-20", "--within", "30d")
    assert "  term: renews on Friday 15 January 2027 for 12 months (renewed recorded on " \
        "2026-11-30)" in out
    assert "  due-within 2027-01-14                term-end" in out  # the renewal day is near


def test_a_term_that_does_not_renew_by_itself(folder: Path) -> None:
    """No notice deadline; the next term only once `renewed` is recorded. Without it, status
    asks, and no deadline is dropped on that guess."""
    path = write(folder, "    initial: 12 months\n")
    assert dates(term_deadlines(path, "2026-06-01T12:00")) == [
        ("term-end", 1, "2027-01-14", "pending")]
    _, out, _ = run("status", "--as-of", "2027-01-05")
    assert "  term: ends on Thursday 14 January 2027; it does not renew by itself (record " \
        "renewed if it is renewed)" in out
    _, out, _ = run("status", "--as-of", "2027-02-01", "--within", "1y")
    assert "  term: its term ended on Thursday 14 January 2027 and it does not renew by itself:" \
        " record renewed if it was renewed, or terminated" in out
    later = [t for t in track(load(path), datetime(2027, 2, 1, 12, tzinfo=UTC))
             if t.due_day is not None and str(t.due_day) > "2027-01-14"]
    assert later and "withdrawn" not in {t.status for t in later}
    run("record", "events/acme.yaml", "renewed", "--at", "2027-01-05")
    assert dates(term_deadlines(path, "2027-02-01T12:00")) == [
        ("term-end", 1, "2027-01-14", "closed"), ("term-end", 2, "2028-01-14", "pending")]


def test_terminated_ends_every_later_deadline_but_what_it_sets_off(folder: Path) -> None:
    """Aircall's rulebook has its own `terminated` trigger: the duties that follow the end are
    set off by it and stay; the cure of a breach notified before it is withdrawn."""
    path = write(folder, events="  - id: breach-1\n    type: breach_notice\n    at: 2026-06-01\n"
                                "  - type: terminated\n    at: 2026-06-10\n")
    items = track(load(path), datetime(2026, 6, 11, 12, tzinfo=UTC))
    cure = next(t for t in items if t.deadline.rule.id == "cure")
    assert (str(cure.deadline.due), cure.status) == ("2026-07-01", "withdrawn")
    after = [t for t in items if t.trigger is not None and t.trigger.type == "terminated"]
    assert after and "withdrawn" not in {t.status for t in after}
    assert {t.status for t in items if t.deadline.rule.id in ("term-end", "non-renewal-notice")
            } == {"withdrawn"}
    from deadlines.terms import summary_for

    assert summary_for(load(path), datetime(2026, 6, 11, 12, tzinfo=UTC)) == \
        "terminated on 2026-06-10"


def test_terminated_without_a_term_or_a_rulebook_trigger(folder: Path) -> None:
    (folder / "events" / "kiwi.yaml").write_text(
        "contract: {id: kiwi, agreement: freshhawk-standard, start: 2026-01-01}\n"
        "events:\n  - {type: terminated, at: 2026-05-15}\n", encoding="utf-8")
    items = track(load(folder / "events" / "kiwi.yaml"), datetime(2026, 5, 20, 12, tzinfo=UTC))
    reviews = [(str(t.deadline.due), t.status) for t in items
               if t.deadline.rule.id == "firewall-review"]
    assert reviews[:3] == [("2026-03-31", "missed"), ("2026-06-30", "withdrawn"),
                           ("2026-09-30", "withdrawn")]


# --- alerts, owners, feeds --------------------------------------------------------------------


def test_the_notice_deadline_is_alerted_and_stops_once_decided(folder: Path) -> None:
    from mailkit import smtp_server

    write(folder, events="")
    (folder / "events" / "acme.yaml").write_text(
        (folder / "events" / "acme.yaml").read_text(encoding="utf-8").replace(
            "  term:", "  owners: {non-renewal-notice: Procurement <buy@example.org>}\n  term:"),
        encoding="utf-8")
    args = ("--smtp", "", "--from", "deadlines@example.org")
    with smtp_server() as server:
        mail = (args[0], server.address, *args[2:])
        assert run("notify", "--as-of", "2026-12-09", *mail)[0] == 0
        assert run("notify", "--as-of", "2026-12-15", *mail)[0] == 0
        run("record", "events/acme.yaml", "renewed", "--at", "2026-12-15")
        assert run("notify", "--as-of", "2026-12-16", *mail)[0] == 0
    subjects = [m["Subject"] for m in server.messages]
    assert subjects == ["Deadlines: 1 due within 7 days - Acme - Aircall",
                        "Deadlines: 1 due within 1 day - Acme - Aircall"]
    assert [rcpts for _, rcpts in server.envelopes] == [["buy@example.org"]] * 2
    text = str(server.messages[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "due within 7 days: Last day to give notice of non-renewal - Acme - Aircall " \
        "(acme, non-renewal-notice)" in text
    assert "When done, record it: deadlines record events/acme.yaml non_renewal_notice_given" \
        in text


def test_the_expiry_of_a_term_that_does_not_renew_is_alerted(folder: Path) -> None:
    write(folder, "    initial: 12 months\n")
    code, out, _ = run("notify", "--as-of", "2027-01-08", "--dry-run")
    assert code == 0
    assert "due within 7 days: End of the contract term - Acme - Aircall (acme, term-end)" in out
    assert ("What: The contract ends with this term: it does not renew by itself (record "
            "renewed if it was renewed).") in out


def test_the_feed_entry_cites_the_contracts_term(folder: Path) -> None:
    write(folder)
    assert run("build", "--as-of", "2026-06-01")[0] == 0
    feed = (folder / "feeds" / "contracts" / "acme.ics").read_bytes().decode("utf-8")
    feed = feed.replace("\r\n ", "")
    assert "SUMMARY:Last day to give notice of non-renewal #1 - Acme - Aircall" in feed
    assert ("Source: the contract's term\\, in its event log (acme.yaml\\, line 8): term: "
            "initial 12 months\\, renewal 12 months\\, auto_renew true\\, notice 30 days") in feed
    assert "SUMMARY:End of the contract term #1 - Acme - Aircall" in feed


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("term", "events", "error"), [
    ("    initial: 12 parsecs\n", "", "contract.term.initial: '12 parsecs' is not a period"),
    ("    initial: 36 hours\n", "", "contract.term.initial: '36 hours': a term is counted in "
     "days, weeks, months, years"),
    ("    initial: 1 year\n    notice: 30 days\n", "", "contract.term.notice: the term does not "
     "renew by itself"),
    ("    ends: 2025-12-31\n", "", "contract.term.ends: 2025-12-31 is before the contract's "
     "start"),
    ("    initial: 1 year\n    auto_renew: maybe\n", "", "contract.term.auto_renew: expected "
     "true or false"),
    ("    auto_renew: true\n", "", "contract.term: expected initial"),
    # 9000 years would leave the years a calendar holds (year 11025) and fail every log
    ("    initial: 9000 years\n", "", "contract.term.initial: '9000 years': a term is counted "
     "in days, weeks, months, years, at least 1 and at most 100 years"),
    # the first term runs 15 January to 14 February 2026; 3 months before its end is
    # 14 November 2025, before the start: the notice cannot be given inside the term
    ("    initial: 1 month\n    auto_renew: true\n    notice: 3 months\n", "",
     "contract.term.notice: 3 months before the first term ends (Saturday 14 February 2026) is "
     "Friday 14 November 2025, before the contract's start"),
    ("    initial: 1 year\n    length: 2y\n", "", "contract.term.length: unknown field"),
    ("    initial: 1 year\n", "  - {type: renewed, at: 2026-03-01, ref: x}\n",
     "events[0].ref: renewed is about the contract as a whole; it takes no ref"),
])
def test_a_bad_term_is_one_line(folder: Path, term: str, events: str, error: str) -> None:
    write(folder, term, events)
    code, _, err = run("status")
    assert code == 2 and len(err.splitlines()) == 1
    assert error in err, err


def test_term_events_need_a_term(folder: Path) -> None:
    (folder / "events" / "kiwi.yaml").write_text(
        "contract: {id: kiwi, agreement: zuper, start: 2026-01-01}\n"
        "events:\n  - {type: non_renewal_notice_given, at: 2026-05-15}\n", encoding="utf-8")
    code, _, err = run("status")
    assert code == 2
    assert "events[0].type: non_renewal_notice_given is about the contract's term; add term: " \
        "to the contract" in err


def test_import_reads_the_term_columns(folder: Path) -> None:
    (folder / "contracts.csv").write_text(
        "id,agreement,start,term_initial,term_auto_renew,term_notice\n"
        "acme,aircall,2026-01-15,12 months,Yes,30 days\n", encoding="utf-8")
    assert run("import", "contracts.csv")[0] == 0
    term = load(folder / "events" / "acme.yaml").contract.term
    assert term is not None and term.describe() == (
        "initial 12 months, renewal 12 months, auto_renew true, notice 30 days")
    (folder / "contracts.csv").write_text(
        "id,agreement,start,term_initial,term_auto_renew\nbeta,aircall,2026-01-15,1y,perhaps\n",
        encoding="utf-8")
    code, _, err = run("import", "contracts.csv")
    assert code == 2
    assert err == ("deadlines: error: contracts.csv:2: term_auto_renew: 'perhaps': expected true "
                   "or false\n")


def test_explain_shows_how_each_term_end_was_counted(folder: Path) -> None:
    """Start 15 January 2026, 12-month terms: term 1 ends on 14 January 2027 (the day before
    15 January 2027, the next term's first day); 30 days' notice counted back from 14 January
    is 15 December 2026. `explain` on the log gives both, citing the log's own line."""
    path = write(folder)
    code, out, err = run("explain", str(path), "contract_start", "2026-01-15",
                         "--rule", "non-renewal-notice")
    assert code == 0, err
    assert "Clause contract term, event log line(s)" in out
    assert "  Due: 2026-12-15" in out
    code, out, _ = run("explain", str(path), "contract_start", "2026-01-15", "--rule", "term-end")
    assert code == 0 and "  Due: 2027-01-14" in out


@pytest.mark.parametrize("agreement", rulebook.available())
def test_every_shipped_agreement_says_how_term_applies_to_it(agreement: str) -> None:
    """The shipped texts speak of their own duration (OpenMethods 1.3 and 8.1, FreshHawk's
    annual cycle, BCR 3.1, Aircall's « Terme », Zuper's « Condition »): the meaning of each
    agreement's contract_start says what to give `term:` (or why to leave it out)."""
    meaning = rulebook.load(agreement).events[START_EVENT]
    assert "Term" in meaning and "term:" in meaning, meaning
