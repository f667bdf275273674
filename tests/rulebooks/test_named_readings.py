"""Every reading a rule's note names has a computed date (issue 10 item 4).

Each test names the clause and seed line, and counts the dates by hand (python -m calendar;
holidays from the `holidays` package: São Paulo 21 April 2026 Tiradentes, Washington 25 May 2026
Memorial Day). The last test checks every note of every shipped rulebook.
"""

from __future__ import annotations

import re

import pytest
from duedates import deadline as one
from duedates import deadlines_of as found

from deadlines import rulebook


def alt_dues(d: dict) -> list[str]:
    return [a["due"] for a in d["alternatives"]]


# --- support hours that skip holidays ----------------------------------------------------------

def test_bcr_support_hours_closed_on_holidays_is_a_reading() -> None:
    """BCR Affiche A 2(c), 1(d) (seed lines 1478, 1490): 6 support hours, 09:00-24:00 Monday to
    Friday, São Paulo. Request Monday 20 April 2026 20:00: 4 h to midnight. Primary (holidays
    not skipped): Tuesday 21 April (Tiradentes) 09:00 + 2 h = 11:00. Reading « jour ouvré »
    closed on holidays: Tuesday skipped, Wednesday 22 April 09:00 + 2 h = 11:00."""
    d = one("bcr", "support_request", "2026-04-20T20:00", "support-response", severity="other")
    assert d["due"] == "2026-04-21T11:00:00-03:00"
    assert alt_dues(d) == ["2026-04-22T11:00:00-03:00"]
    assert "Tiradentes" not in d["explanation"]


def test_zuper_support_hours_closed_on_holidays_is_a_reading() -> None:
    """Zuper Affiche A 2(c) (seed line 2235), 1(d) (L2219): 6 support hours, 09:00-24:00
    Monday to Friday, Los Angeles. Request Friday 22 May 2026 20:00: 4 h to midnight. Primary:
    Monday 25 May (Memorial Day) 09:00 + 2 h = 11:00 PDT. Reading closed on Washington
    holidays: Tuesday 26 May 11:00 PDT."""
    d = one("zuper", "support_request", "2026-05-22T20:00", "support-response",
            severity="other")
    assert d["due"] == "2026-05-25T11:00:00-07:00"
    assert alt_dues(d) == ["2026-05-26T11:00:00-07:00"]


# --- Aircall's 30-minute critical target inside the coverage ----------------------------------

def test_aircall_critical_thirty_minutes_inside_the_coverage_in_winter() -> None:
    """Aircall Pièce jointe C 3(c) « <30 minutes (24 h/5 j) » (seed lines 1965, 1967).
    Saturday 7 March 2026 10:00 Paris: clock time 10:30. Inside the coverage: « Heure
    normale » opens Sunday 8 March 22:00 GMT, + 30 min = 22:30 GMT = 23:30 CET."""
    d = one("aircall", "support_request", "2026-03-07T10:00", "support-response",
            severity="critical")
    assert d["due"] == "2026-03-07T10:30:00+01:00"
    assert alt_dues(d) == ["2026-03-08T23:30:00+01:00"]


def test_aircall_critical_thirty_minutes_inside_the_coverage_in_summer() -> None:
    """Saturday 11 July 2026 10:00 Paris: « Heure d'été » opens Sunday 12 July 23:00 GMT,
    + 30 min = 23:30 GMT = Monday 13 July 01:30 CEST."""
    d = one("aircall", "support_request", "2026-07-11T10:00", "support-response",
            severity="critical")
    assert alt_dues(d) == ["2026-07-13T01:30:00+02:00"]


# --- calendar or business days -----------------------------------------------------------------

def test_bcr_cure_in_business_days_is_a_reading() -> None:
    """BCR 3.3.1 « 10 (dix) jours » (seed line 1394): notice Monday 2 March 2026. Calendar
    days: 12 March. Business days on BR-SP: 3-6 March (4), 9-13 (9), 16 March (10)."""
    d = one("bcr", "breach_notice", "2026-03-02", "cure")
    assert (d["due"], alt_dues(d)) == ("2026-03-12", ["2026-03-16"])


def test_bcr_payment_cure_in_business_days_is_a_reading() -> None:
    """BCR 4.2 « plus de 15 jours » (seed line 1406): notice Monday 2 March 2026. Calendar
    days: 17 March. Business days: 3-6 (4), 9-13 (9), 16-20 (14), Monday 23 March (15)."""
    d = one("bcr", "payment_default", "2026-03-02", "payment-cure")
    assert (d["due"], alt_dues(d)) == ("2026-03-17", ["2026-03-23"])


# --- calendar or rolling months ----------------------------------------------------------------

@pytest.mark.parametrize(("agreement", "start", "primary", "rolling"), [
    # start 15 Jan 2026: calendar months end 31 Jan, 28 Feb, 31 Mar; rolling 15 Feb, 15 Mar,
    # 15 Apr (BCR 6.2 seed line 1420, FreshHawk 2.3 lines 83 / 393, OpenMethods 1.8 line 717)
    ("bcr", "2026-01-15", ["2026-01-31", "2026-02-28", "2026-03-31"],
     ["2026-02-15", "2026-03-15", "2026-04-15"]),
    ("freshhawk-standard", "2026-01-15", ["2026-01-31", "2026-02-28", "2026-03-31"],
     ["2026-02-15", "2026-03-15", "2026-04-15"]),
    ("freshhawk-enterprise", "2026-01-15", ["2026-01-31", "2026-02-28", "2026-03-31"],
     ["2026-02-15", "2026-03-15", "2026-04-15"]),
    ("openmethods", "2026-01-15", ["2026-01-31", "2026-02-28", "2026-03-31"],
     ["2026-02-15", "2026-03-15", "2026-04-15"]),
])
def test_maintenance_cap_per_rolling_month_is_a_reading(agreement: str, start: str,
                                                        primary: list[str],
                                                        rolling: list[str]) -> None:
    """« moins de quatre (4) heures par mois donné »: calendar months first, rolling months
    from the contract start as the reading, occurrence by occurrence."""
    months = found(agreement, "contract_start", start, "maintenance-cap")[:3]
    assert [d["due"] for d in months] == primary
    assert [d["alternatives"][0]["due"] for d in months] == rolling


def test_zuper_roadmap_meetings_per_rolling_month_is_a_reading() -> None:
    """Zuper « deux fois par mois » (seed line 2099), start 15 March 2026: calendar months
    31 March, 30 April, 31 May; rolling months 15 April, 15 May, 15 June."""
    months = found("zuper", "contract_start", "2026-03-15", "roadmap-meetings")[:3]
    assert [d["due"] for d in months] == ["2026-03-31", "2026-04-30", "2026-05-31"]
    assert [d["alternatives"][0]["due"] for d in months] == [
        "2026-04-15", "2026-05-15", "2026-06-15"]


# --- every note, every rulebook ----------------------------------------------------------------

OTHER_READING = re.compile(r"\b(?:other|another) readings?\b", re.IGNORECASE)
UNCOMPUTED = re.compile(r"cannot (?:be )?express|not computed|named here only", re.IGNORECASE)


@pytest.mark.parametrize("name", rulebook.available())
def test_every_note_that_names_another_reading_has_one(name: str) -> None:
    """A note that speaks of "the other reading" belongs to a rule with readings, and no note
    says a reading is left uncomputed (the format limits that once forced that are gone:
    business minutes, a reading's own schedule, align on readings, clear days)."""
    problems = []
    for rule in rulebook.load(name).rules:
        if UNCOMPUTED.search(rule.note):
            problems.append(f"{rule.key}: says a reading is not computed")
        if OTHER_READING.search(rule.note) and not rule.readings:
            problems.append(f"{rule.key}: names another reading but has none")
    assert not problems, "\n".join(problems)
