"""Rules either party may owe, assigned from who gave the notice (`by: us|them`), issue 10 item 5.

Aircall 11.3(a) (seed line 1679): « l'une ou l'autre des parties peut résilier le présent
Accord (a) si l'autre partie enfreint la règle dans un délai de trente (30) jours après
réception de l'avis écrit ». The cure falls on the party that received the notice (`either:
other`), the right to terminate on the party that gave it (`either: by`). A notice received
Monday 2 March 2026: cure by Wednesday 1 April (3 March is day 1), right opens 2 April. `by`
never changes a date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines import api, rulebook
from deadlines.cli import cli
from deadlines.errors import DeadlinesError
from deadlines.eventlog import load
from deadlines.feeds import entry_for
from deadlines.tracking import track

AS_OF = datetime(2026, 3, 20, 12, tzinfo=UTC)


def log_text(by: str | None, role: str = "customer", agreement: str = "aircall",
             event: str = "breach_notice", at: str = "2026-03-02") -> str:
    line = f"    by: {by}\n" if by else ""
    return (f"contract:\n  id: c-1\n  agreement: {agreement}\n  start: 2026-01-12\n"
            f"  role: {role}\n  region: eu\nevents:\n  - id: e-1\n    type: {event}\n"
            f"    at: {at}\n{line}")


def sides(tmp_path: Path, text: str) -> dict[str, tuple[str, str]]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    log = load(path)
    return {t.deadline.rule.id: ("ours" if t.ours else "theirs", str(t.due))
            for t in track(log, AS_OF) if t.trigger is not None}


@pytest.mark.parametrize(("by", "cure", "terminate"), [
    # a customer that sent the notice: Aircall cures, the customer may terminate
    ("us", "theirs", "ours"),
    # a customer that received it: the customer cures, Aircall may terminate
    ("them", "ours", "theirs"),
    # not recorded: the rulebook's default for breach_notice is them (a notice received)
    (None, "ours", "theirs"),
])
def test_aircall_customer_breach_notice_sides(tmp_path: Path, by: str | None, cure: str,
                                              terminate: str) -> None:
    got = sides(tmp_path, log_text(by))
    assert got["cure"] == (cure, "2026-04-01")
    assert got["terminate-for-cause"] == (terminate, "2026-04-02")


def test_the_provider_side_is_the_mirror(tmp_path: Path) -> None:
    """Aircall's own log (role provider), a notice it sent (by: us): the customer cures
    (theirs), Aircall may terminate (ours)."""
    got = sides(tmp_path, log_text("us", role="provider"))
    assert (got["cure"][0], got["terminate-for-cause"][0]) == ("theirs", "ours")


def test_rules_for_both_parties_stay_ours(tmp_path: Path) -> None:
    """Aircall 12.3 (seed line 1691): the 30 days of negotiation bind each party (`either:
    both`), whoever sent the dispute notice."""
    got = sides(tmp_path, log_text("them", event="dispute_notice"))
    assert got["dispute-standstill"][0] == "ours"
    assert got["dispute-proceedings"][0] == "ours"


def test_a_role_dependent_default(tmp_path: Path) -> None:
    """BCR 7,9 (seed line 1442): each party reports breaches in its own activities
    (`either: by`); `incident_identified` defaults to the provider. A customer's log: the
    report is theirs, unless the customer records the breach as its own (by: us)."""
    text = log_text(None, agreement="bcr", event="incident_identified", at="2026-03-02T10:00")
    text = text.replace("  region: eu\n", "")
    assert sides(tmp_path, text)["security-breach-report"][0] == "theirs"
    assert sides(tmp_path, text + "    by: us\n")["security-breach-report"][0] == "ours"


def test_no_default_and_no_by_is_shown_as_ours(tmp_path: Path) -> None:
    """Zuper FORCE MAJEURE (seed line 2195): the rulebook has no default for who was hit; the
    180-day cap (`either: by`) is shown as ours and the feed says who it was is not recorded."""
    text = log_text(None, agreement="zuper", event="force_majeure").replace("  region: eu\n", "")
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    log = load(path)
    (cap,) = [t for t in track(log, AS_OF) if t.deadline.rule.id == "force-majeure-cap"]
    assert cap.ours
    assert "who gave the force_majeure is not recorded" in entry_for(cap).description


def test_feed_placement_and_description_follow_by(tmp_path: Path) -> None:
    """The feed's categories (ours/theirs) and "Who must act" line say which party and why."""
    path = tmp_path / "c.yaml"
    path.write_text(log_text("us"), encoding="utf-8")
    log = load(path)
    entries = {t.deadline.rule.id: entry_for(t) for t in track(log, AS_OF) if t.due}
    cure, right = entries["cure"], entries["terminate-for-cause"]
    assert (cure.ours, right.ours) == (False, True)
    assert "theirs" in cure.categories and "ours" in right.categories
    assert ("Who must act: either party: the party that received the notice; breach_notice "
            "given by us (the counterparty)") in cure.description
    path.write_text(log_text(None), encoding="utf-8")
    (default_cure,) = [entry_for(t) for t in track(load(path), AS_OF)
                       if t.deadline.rule.id == "cure"]
    assert "breach_notice given by the counterparty (the default for breach_notice; record " \
           "by: us or them) (our side)" in default_cure.description


def test_status_side_follows_by(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "c.yaml").write_text(log_text("us"), encoding="utf-8")
    rows = api.status(str(events), as_of=datetime(2026, 3, 25, 12, tzinfo=UTC),
                      within=api.parse_span("14d"))
    assert {r["rule"]: r["side"] for r in rows} == {"cure": "theirs",
                                                    "terminate-for-cause": "ours"}


# --- the event log, record, compute and explain ------------------------------------------------

def test_by_must_be_us_or_them(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(log_text("aircall"), encoding="utf-8")
    with pytest.raises(DeadlinesError, match=r"events\[0\]\.by.*expected us .* or them"):
        load(path)


def test_record_by_writes_it_and_assigns_the_sides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(log_text(None).split("events:")[0] + "events:\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["record", str(path), "breach_notice", "--at",
                                      "2026-03-02", "--by", "us", "--id", "b-1"])
    assert result.exit_code == 0, result.output
    assert "    by: us\n" in path.read_text(encoding="utf-8")
    assert load(path).events[0].by == "us"
    assert sides(tmp_path, path.read_text(encoding="utf-8"))["cure"][0] == "theirs"


def test_compute_and_explain_take_by(tmp_path: Path) -> None:
    """One-off counts: the same default, --by overrides it, the side is shown; dates equal."""
    default = api.compute_json("aircall", "breach_notice", "2026-03-02")
    sent = api.compute_json("aircall", "breach_notice", "2026-03-02", by="us")
    assert (default["given_by"], default["given_by_default"]) == ("them", True)
    assert (sent["given_by"], sent["given_by_default"]) == ("us", False)
    owed = {d["rule"]: (d.get("owed_by"), d["due"]) for d in sent["deadlines"]}
    assert owed["cure"] == ("them", "2026-04-01")
    assert owed["terminate-for-cause"] == ("us", "2026-04-02")
    assert [d["due"] for d in default["deadlines"]] == [d["due"] for d in sent["deadlines"]]
    text = CliRunner().invoke(cli, ["compute", "aircall", "breach_notice", "2026-03-02",
                                    "--by", "us"]).output
    assert "either:them" in text and "either:us" in text
    explained = CliRunner().invoke(cli, ["explain", "aircall", "breach_notice", "2026-03-02",
                                         "--rule", "cure"]).output
    assert ("Who: either party: the party that received it, us (the breach_notice is taken as "
            "given by them, the agreement's default") in explained
    as_json = json.loads(CliRunner().invoke(cli, [
        "explain", "aircall", "breach_notice", "2026-03-02", "--rule", "cure", "--by", "us",
        "--format", "json"]).output)
    assert as_json[0]["owed_by"] == "them"
    ics = CliRunner().invoke(cli, ["compute", "aircall", "breach_notice", "2026-03-02",
                                   "--by", "us", "--format", "ics"]).output
    assert "CATEGORIES:aircall,theirs,obligation,pending" in ics  # the cure
    assert "CATEGORIES:aircall,ours,right,pending" in ics  # the right to terminate


def test_a_one_off_without_a_role_names_the_party() -> None:
    """BCR incident_identified defaults to the provider; with no contract there is no role,
    so the report is owed by 'provider'."""
    report = api.compute_json("bcr", "incident_identified", "2026-03-02T10:00")
    (d,) = [d for d in report["deadlines"] if d["rule"] == "security-breach-report"]
    assert d["owed_by"] == "provider"


# --- the rulebook format ------------------------------------------------------------------------

RULEBOOK = """\
id: either-test
name: Either test
governing_law: {{name: Nowhere}}
parties: {{provider: the provider, customer: the customer}}
sides: [provider, customer]
timezone: UTC
calendar: FR
events:
{events}
rules:
  - id: cure
    title: Cure
    event: breach_notice
    period: 30 days
    actor: {actor}
    either: other
    action: Cure.
    clause: "1"
    lines: [1]
    quote: "x"
"""


@pytest.mark.parametrize(("events", "actor", "message"), [
    ("  breach_notice: {meaning: notice, by: nobody}", "either",
     "'nobody' is not one of us, them, provider, customer"),
    ("  breach_notice: {meaning: notice, sender: us}", "either", "unknown field"),
    ("  breach_notice: notice", "provider", "only a rule with actor: either"),
])
def test_rulebook_either_and_event_defaults_are_checked(tmp_path: Path, events: str,
                                                        actor: str, message: str) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(RULEBOOK.format(events=events, actor=actor), encoding="utf-8")
    with pytest.raises(DeadlinesError, match=message):
        rulebook.load(str(path))


@pytest.mark.parametrize("name", rulebook.available())
def test_every_shipped_either_rule_says_whose_it_is(name: str) -> None:
    """A rule that falls on the party in one position says `by` or `other`; `both` is for rules
    that bind each party (negotiation, returning each other's information, limits)."""
    book = rulebook.load(name)
    for rule in book.rules:
        if rule.actor != "either" or rule.either == "both":
            continue
        assert rule.either in ("by", "other")
