"""Aircall's English support coverage in standard and summer time (Pièce jointe C 3(b)).

Seed line 1948: « Heure normale : Du dimanche 22h00 GMT au vendredi 23h00 GMT »; seed line 1950:
« Heure d'été : Du dimanche 23h00 GMT au vendredi 22h00 GMT ». Whose summer time is not said:
the rulebook reads the customer's own and the text's own (EU) summer time, counts every hour
either opens, and shows each alone as a reading where it gives another time (docs/
rulebook-format.md, "Schedules"). Summer time, 2026: Europe/Paris 29 March 01:00 UTC to
25 October 01:00 UTC; America/New_York 8 March 07:00 UTC to 1 November 06:00 UTC;
Australia/Sydney until 4 April 16:00 UTC and from 3 October 16:00 UTC.

Counts below are Grav. 3 (6 business hours, seed lines 1975-1979) and Grav. 4 (12 business
hours, seed lines 1981-1985), counted by hand in GMT (= UTC).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from duedates import deadline

from deadlines import api, rulebook
from deadlines.errors import DeadlinesError


def due(when: str, severity: str, **options: object) -> str:
    return str(deadline("aircall", "support_request", when, "support-response",
                        severity=severity, **options)["due"])


def readings(when: str, severity: str, **options: object) -> list[tuple[str, str]]:
    """Each other reading of the response time, with its due time."""
    found = deadline("aircall", "support_request", when, "support-response", severity=severity,
                     **options)
    return [(a["reading"], a["due"]) for a in found["alternatives"]]


# --- both windows, default region (other: Europe/Paris, EU rule) -----------------------------

def test_standard_time_window_in_february() -> None:
    """Friday 13 February 2026 21:00 GMT, Grav. 3: « Heure normale » closes Friday 23:00, 2 h;
    reopens Sunday 15 February 22:00, + 4 h = Monday 16 February 02:00 GMT = 03:00 CET."""
    assert due("2026-02-13T21:00+00:00", "moderate") == "2026-02-16T03:00:00+01:00"


def test_summer_time_window_in_july() -> None:
    """Friday 10 July 2026 21:00 GMT, Grav. 3: « Heure d'été » closes Friday 22:00, 1 h;
    reopens Sunday 12 July 23:00, + 5 h = Monday 13 July 04:00 GMT = 06:00 CEST (the standard
    window, used all year before issue 10, gave 02:00 GMT)."""
    assert due("2026-07-10T21:00+00:00", "moderate") == "2026-07-13T06:00:00+02:00"
    assert readings("2026-07-10T21:00+00:00", "moderate") == []


def test_explain_names_the_window_and_the_summer_time_rule_in_july() -> None:
    """A July user is told the summer window, whose summer time decided it and its dates."""
    _, [d] = api.explain("aircall", "support_request", "2026-07-10T21:00+00:00",
                         "support-response", severity="moderate")
    text = "\n".join(d.trace)
    assert "« Heure d'été »: sun 23:00 to fri 22:00" in text
    assert "« Heure d'été » applies while Europe/Paris (the contract's zone) is on summer " \
           "time, « Heure normale » otherwise." in text
    assert "Summer time in Europe/Paris, 2026: from Sunday 29 March 2026 01:00 UTC to " \
           "Sunday 25 October 2026 01:00 UTC." in text
    assert "Friday 10 July 2026 from 21:00: 1 h (« Heure d'été »)" in text
    assert "The text does not say whose summer time." in text


def test_major_coverage_reading_uses_the_summer_window() -> None:
    """Gravité 2 « <2 heures (24 h/5 j) », Saturday 11 July 2026 10:00 Paris: clock time
    12:00 CEST; inside the coverage, « Heure d'été » opens Sunday 12 July 23:00 GMT, + 2 h =
    Monday 13 July 01:00 GMT = 03:00 CEST."""
    d = deadline("aircall", "support_request", "2026-07-11T10:00", "support-response",
                 severity="major")
    assert d["due"] == "2026-07-11T12:00:00+02:00"
    assert [a["due"] for a in d["alternatives"]] == ["2026-07-13T03:00:00+02:00"]


# --- the two EU switch weekends, tickets opened before and answered after --------------------

def test_ticket_across_the_spring_switch() -> None:
    """Friday 27 March 2026 20:00 GMT, Grav. 4 (12 h): still standard time, Friday to 23:00 =
    3 h. Paris goes on summer time Sunday 29 March 01:00 GMT, so the window reopens Sunday
    23:00 (not 22:00): + 9 h = Monday 30 March 08:00 GMT = 10:00 CEST."""
    assert due("2026-03-27T20:00+00:00", "minor") == "2026-03-30T10:00:00+02:00"


def test_ticket_across_the_autumn_switch() -> None:
    """Friday 23 October 2026 20:00 GMT, Grav. 4 (12 h): still summer time, Friday to 22:00 =
    2 h. Paris leaves summer time Sunday 25 October 01:00 GMT, so the window reopens Sunday
    22:00: + 10 h = Monday 26 October 08:00 GMT = 09:00 CET."""
    assert due("2026-10-23T20:00+00:00", "minor") == "2026-10-26T09:00:00+01:00"


# --- region us: the US rule is a reading where it differs from the EU rule -------------------

def test_us_ticket_across_the_us_spring_switch() -> None:
    """Region us, Friday 6 March 2026 21:00 GMT (16:00 EST), Grav. 3. Friday: both zones on
    standard time, to 23:00 = 2 h. New York goes on summer time Sunday 8 March 07:00 GMT,
    Paris not until 29 March: they disagree, so the standard window (which holds the summer
    one) counts: Sunday 22:00 + 4 h = Monday 9 March 02:00 GMT = Sunday 8 March 22:00 EDT.
    The US rule alone: Sunday 23:00 + 4 h = 03:00 GMT = 23:00 EDT."""
    assert due("2026-03-06T21:00+00:00", "moderate", region="us") == \
        "2026-03-08T22:00:00-04:00"
    assert readings("2026-03-06T21:00+00:00", "moderate", region="us") == [
        ("« Heure d'été » as the summer time of America/New_York (the contract's zone) alone",
         "2026-03-08T23:00:00-04:00")]


def test_us_ticket_in_the_autumn_week_where_the_rules_differ() -> None:
    """Region us, Friday 30 October 2026 21:00 GMT (17:00 EDT), Grav. 3. Paris left summer
    time on 25 October, New York has not: standard window, Friday to 23:00 = 2 h; New York
    leaves summer time Sunday 1 November 06:00 GMT; Sunday 22:00 + 4 h = Monday 2 November
    02:00 GMT = Sunday 21:00 EST. The US rule alone: Friday to 22:00 = 1 h, Sunday 22:00 + 5 h
    = 03:00 GMT = 22:00 EST."""
    assert due("2026-10-30T21:00+00:00", "moderate", region="us") == \
        "2026-11-01T21:00:00-05:00"
    assert [d for _, d in readings("2026-10-30T21:00+00:00", "moderate", region="us")] == [
        "2026-11-01T22:00:00-05:00"]


def test_us_ticket_in_july_uses_the_summer_window() -> None:
    """Region us, Friday 10 July 2026 21:00 GMT: both rules say summer time; as in Paris,
    Monday 13 July 04:00 GMT = 00:00 EDT, and no other reading."""
    assert due("2026-07-10T21:00+00:00", "moderate", region="us") == \
        "2026-07-13T00:00:00-04:00"
    assert readings("2026-07-10T21:00+00:00", "moderate", region="us") == []


# --- region au: southern summer time is a reading, the opposite half of the year -------------

def test_australian_ticket_in_july() -> None:
    """Region au, Friday 10 July 2026 21:00 GMT, Grav. 3. Sydney is on standard time (AEST),
    Paris on summer time: they disagree, the standard window counts: Friday to 23:00 = 2 h,
    Sunday 22:00 + 4 h = Monday 13 July 02:00 GMT = 12:00 AEST. The EU rule alone (summer
    window): 1 h, Sunday 23:00 + 5 h = 04:00 GMT = 14:00 AEST."""
    assert due("2026-07-10T21:00+00:00", "moderate", region="au") == \
        "2026-07-13T12:00:00+10:00"
    assert readings("2026-07-10T21:00+00:00", "moderate", region="au") == [
        ("« Heure d'été » as the summer time of Europe/Paris alone", "2026-07-13T14:00:00+10:00")]


def test_australian_ticket_in_january() -> None:
    """Region au, Friday 9 January 2026 21:00 GMT, Grav. 3. Sydney on summer time (AEDT),
    Paris not: standard window, 2 h + Sunday 22:00 + 4 h = Monday 12 January 02:00 GMT =
    13:00 AEDT. Australian summer time alone: 1 h + Sunday 23:00 + 5 h = 04:00 GMT = 15:00."""
    assert due("2026-01-09T21:00+00:00", "moderate", region="au") == \
        "2026-01-12T13:00:00+11:00"
    assert readings("2026-01-09T21:00+00:00", "moderate", region="au") == [
        ("« Heure d'été » as the summer time of Australia/Sydney (the contract's zone) alone",
         "2026-01-12T15:00:00+11:00")]


def test_australian_ticket_when_both_summers_overlap() -> None:
    """Region au, Friday 9 October 2026 21:00 GMT: Sydney (since 3 October) and Paris (until
    25 October) are both on summer time: summer window, 1 h + Sunday 11 October 23:00 + 5 h =
    Monday 12 October 04:00 GMT = 15:00 AEDT, no other reading."""
    assert due("2026-10-09T21:00+00:00", "moderate", region="au") == \
        "2026-10-12T15:00:00+11:00"
    assert readings("2026-10-09T21:00+00:00", "moderate", region="au") == []


def test_a_contract_zone_without_summer_time_leaves_the_eu_rule() -> None:
    """--tz Asia/Tokyo (no summer time): the EU rule alone decides. Friday 10 July 2026
    21:00 GMT, Grav. 3 -> Monday 13 July 04:00 GMT = 13:00 JST, as in Paris."""
    assert due("2026-07-10T21:00+00:00", "moderate", tz="Asia/Tokyo") == \
        "2026-07-13T13:00:00+09:00"
    assert readings("2026-07-10T21:00+00:00", "moderate", tz="Asia/Tokyo") == []


# --- the format ------------------------------------------------------------------------------

BAD_SCHEDULE = """\
id: bad-summer
name: Bad summer
governing_law: {{name: Nowhere}}
timezone: UTC
calendar: FR
schedules:
  desk:
    windows: [{{from: "sun 22:00", to: "fri 23:00"}}]
    summer:
{summer}
events:
  support_request: ticket
rules:
  - id: answer
    title: Answer
    event: support_request
    period: 2 business hours
    schedule: desk
    actor: provider
    action: Answer.
    clause: "1"
    lines: [1]
    quote: "x"
parties: {{provider: the provider, customer: the customer}}
sides: [customer, provider]
"""


@pytest.mark.parametrize(("summer", "message"), [
    ('      windows: [{from: "sun 23:00", to: "fri 22:00"}]',
     "summer.while_summer_time_in: expected a list of zones"),
    ('      windows: [{from: "sun 23:00", to: "fri 22:00"}]\n'
     "      while_summer_time_in: [Mars/Olympus]", "unknown time zone 'Mars/Olympus'"),
    ("      while_summer_time_in: [contract]", "summer.windows: expected a non-empty list"),
    ('      windows: [{from: "sun 23:00", to: "fri 22:00"}]\n'
     "      while_summer_time_in: [contract]\n      when: always", "unknown field"),
])
def test_summer_variant_errors_name_the_field(tmp_path: Path, summer: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SCHEDULE.format(summer=summer), encoding="utf-8")
    with pytest.raises(DeadlinesError, match=message):
        rulebook.load(str(path))
