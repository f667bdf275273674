"""Rolls: what `--roll following|preceding` does to each kind of rule (docs/rulebook-format.md,
"Rolls"). Obligations move as asked; a right never moves earlier and so never opens inside the
period of the duty it follows; a limit never moves; a latest day to give notice never moves
later. Every date below was counted by hand on a printed calendar (python -m calendar).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from deadlines import api, rulebook
from deadlines.engine import compute
from deadlines.moments import Moment
from deadlines.settings import Settings

ROLLS = ("none", "following", "preceding")


def dues(agreement: str, event: str, when: str, roll: str) -> dict[str, str | None]:
    report = api.compute_json(agreement, event, when, roll=roll)
    return {d["rule"]: d["due"] for d in report["deadlines"]}


# --- the case of the issue: FreshHawk 8.5, Victoria, Easter 2027 ------------------------------

@pytest.mark.parametrize(("roll", "cure", "terminate"), [
    # 24 Feb 2027 not counted; day 30 is Friday 26 March 2027, Good Friday in Victoria.
    ("none", "2027-03-26", "2027-03-27"),
    # cure: Good Friday 26, Easter Saturday 27, Easter Sunday 28, Easter Monday 29 March are all
    # closed in Victoria -> Tuesday 30 March; the right opens the day after, Wednesday 31 March.
    ("following", "2027-03-30", "2027-03-31"),
    # cure: back from Good Friday to Thursday 25 March; the right opens the day after, Friday
    # 26 March (a holiday, but a right is never rolled back onto the cure's last day).
    ("preceding", "2027-03-25", "2027-03-26"),
])
def test_freshhawk_right_to_terminate_never_opens_on_the_last_day_of_the_cure(
        roll: str, cure: str, terminate: str) -> None:
    """FreshHawk standard 8.5 (seed line 201): « dans les trente (30) jours suivant la date de
    réception de l'avis »; the right to terminate opens the day after the cure period.
    Breach notice received Wednesday 24 February 2027."""
    got = dues("freshhawk-standard", "breach_notice", "2027-02-24", roll)
    assert (got["cure"], got["terminate-for-cause"]) == (cure, terminate)


def test_preceding_roll_on_a_right_is_explained() -> None:
    """The trace says why Friday 26 March 2027 stays: a right never moves earlier."""
    _, [d] = api.explain("freshhawk-standard", "breach_notice", "2027-02-24",
                         "terminate-for-cause", roll="preceding")
    text = " ".join(d.trace)
    assert "from the due date of cure (Thursday 25 March 2027)" in text
    assert "never moves a right earlier" in text


# --- rights, limits and notices counted backward, on Aircall (default region: Paris, FR) -----

@pytest.mark.parametrize(("roll", "expected"), [
    ("none", "2026-09-26"), ("following", "2026-09-28"), ("preceding", "2026-09-26")])
def test_a_right_rolls_forward_only(roll: str, expected: str) -> None:
    """Aircall 11.5 (seed line 1683), eol-earliest: notice Thursday 26 March 2026 + 6 months =
    Saturday 26 September 2026. `following` opens it on Monday 28 September; `preceding` would
    open it on Friday 25 September, before six months have run, so it stays on Saturday."""
    assert dues("aircall", "eol_notice", "2026-03-26", roll)["eol-earliest"] == expected


@pytest.mark.parametrize("roll", ROLLS)
def test_a_limit_never_rolls(roll: str) -> None:
    """Aircall Annexe B, F (seed line 1877), log-retention: a log of Saturday 7 March 2026 is
    kept at least one year, through Sunday 7 March 2027, under every roll; rolling back would
    allow deleting it early, rolling forward would change the floor the text sets."""
    assert dues("aircall", "log_created", "2026-03-07", roll)["log-retention"] == "2027-03-07"


@pytest.mark.parametrize(("roll", "expected"), [
    ("none", "2026-03-28"), ("following", "2026-03-28"), ("preceding", "2026-03-27")])
def test_a_latest_day_to_give_notice_never_rolls_later(roll: str, expected: str) -> None:
    """Aircall 11.5 (seed line 1683), eol-notice: « au moins six (6) mois à l'avance ». End of
    life planned for Monday 28 September 2026: 6 months back is Saturday 28 March 2026.
    `preceding` moves it to Friday 27 March; `following` would move it to Monday 30 March,
    less than six months before, so it stays on Saturday 28 March."""
    assert dues("aircall", "eol_planned", "2026-09-28", roll)["eol-notice"] == expected


# --- the invariant, over every shipped rulebook ----------------------------------------------

def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


# Triggers whose counts land on Easter 2027, Christmas 2026 and ordinary weekends.
TRIGGER_DAYS = _days(date(2027, 2, 20), 12) + _days(date(2026, 11, 20), 10)


@pytest.mark.parametrize("name", rulebook.available())
@pytest.mark.parametrize("roll", ROLLS)
def test_every_right_opens_after_the_duty_it_follows(name: str, roll: str) -> None:
    """For every right chained (`from:`) on an obligation, in every rulebook, under every
    roll: the right's opening day is after the obligation's due day."""
    book = rulebook.load(name)
    settings = Settings.resolve(book, roll=roll)
    chained = [r for r in book.rules if r.kind == "right" and r.anchor_rule and any(
        p.id == r.anchor_rule and p.kind == "obligation" for p in book.rules)]
    problems = []
    for rule in chained:
        for event in rule.events:
            for day in TRIGGER_DAYS:
                result = compute(book, event, Moment(day), settings, severity=rule.severity)
                due = {d.rule.id: d.due for d in result.deadlines}
                right, duty = due.get(rule.id), due.get(rule.anchor_rule or "")
                if isinstance(right, date) and isinstance(duty, date) and right <= duty:
                    problems.append(f"{rule.id} {event} {day}: opens {right}, duty due {duty}")
    assert not problems, "\n".join(problems)
