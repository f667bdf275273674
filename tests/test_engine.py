"""The engine on a small fixture rulebook: chains, readings, rolls, severities, recurrences."""

from __future__ import annotations

import pytest
from duedates import due

from deadlines import api
from deadlines.errors import DeadlinesError
from deadlines.moments import Moment, parse_when


def test_cure_thirty_days_and_business_day_reading(mini: str) -> None:
    report = api.compute_json(mini, "breach_notice", "2026-03-02")
    cure = report["deadlines"][0]
    assert cure["rule"] == "cure"
    assert cure["due"] == "2026-04-01"
    assert cure["alternatives"] == [
        {"reading": "30 business days", "due": "2026-04-16",
         "explanation": cure["alternatives"][0]["explanation"]}
    ]
    assert "day 30 is Wednesday 1 April 2026" in cure["explanation"]
    assert "a business day on the AU-VIC calendar" in cure["explanation"]


def test_right_to_terminate_opens_the_day_after_the_cure_period(mini: str) -> None:
    assert due(mini, "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-04-02"


def test_no_roll_by_default_but_law_extension_is_named(mini: str) -> None:
    # 3 March 2026 + 30 days = Thursday 2 April; 4 March + 30 = Friday 3 April, Good Friday.
    report = api.compute_json(mini, "breach_notice", "2026-03-04")
    cure = report["deadlines"][0]
    assert cure["due"] == "2026-04-03"
    assert "not a business day" in cure["explanation"]
    assert "may extend to Tuesday 7 April 2026" in cure["explanation"]


def test_roll_following_moves_past_easter(mini: str) -> None:
    assert due(mini, "breach_notice", "2026-03-04", "cure", roll="following") == "2026-04-07"


def test_roll_preceding(mini: str) -> None:
    assert due(mini, "breach_notice", "2026-03-04", "cure", roll="preceding") == "2026-04-02"


def test_calendar_override_changes_the_business_day_remark(mini: str) -> None:
    report = api.compute_json(mini, "breach_notice", "2026-03-04", calendar="FR")
    assert report["calendar"] == "FR"
    assert "Friday 3 April 2026 is a business day on the FR calendar" in \
        report["deadlines"][0]["explanation"]


def test_deletion_then_certificate_chained_from_the_deletion_due_date(mini: str) -> None:
    report = api.compute_json(mini, "deletion_request", "2026-03-02")
    dues = {d["rule"]: d["due"] for d in report["deadlines"]}
    assert dues == {"deletion": "2026-03-23", "deletion-certificate": "2026-04-22"}


def test_deletion_also_set_off_by_services_ending(mini: str) -> None:
    assert due(mini, "services_ended", "2026-01-31", "deletion") == "2026-02-21"


def test_incident_notice_is_24_real_hours_across_dst(mini: str) -> None:
    # Melbourne: AEDT ends Sunday 5 April 2026 03:00.
    assert due(mini, "incident_identified", "2026-04-04T10:00", "incident-notice") == \
        "2026-04-05T09:00:00+10:00"


def test_incident_report_readings_of_its_anchor(mini: str) -> None:
    report = api.compute_json(mini, "incident_identified", "2026-04-04T10:00")
    rep = next(d for d in report["deadlines"] if d["rule"] == "incident-report")
    assert rep["due"] == "2026-04-07"  # 3 days after identification on 4 April
    assert rep["alternatives"][0]["due"] == "2026-04-08"  # 3 days after the notice on 5 April


def test_hour_rule_given_a_date_warns_and_assumes_midnight(mini: str) -> None:
    report = api.compute_json(mini, "incident_identified", "2026-03-02")
    notice = next(d for d in report["deadlines"] if d["rule"] == "incident-notice")
    assert notice["due"] == "2026-03-03T00:00:00+11:00"
    assert any("00:00 on Monday 2 March 2026" in w for w in report["warnings"])


def test_unquantified_duty_has_no_due_date(mini: str) -> None:
    assert due(mini, "incident_identified", "2026-03-02T10:00", "rapid") is None


def test_eol_notice_six_months_before_the_planned_date_clamped(mini: str) -> None:
    assert due(mini, "eol_planned", "2026-08-31", "eol-notice") == "2026-02-28"


def test_support_severity_alias_and_schedule(mini: str) -> None:
    # Friday 6 March 2026 22:00 in São Paulo: 2 h on Friday; Monday 9 March is a holiday in
    # Victoria (the fixture's calendar), so Tuesday 10 March 09:00 + 4 h = 13:00.
    report = api.compute_json(mini, "support_request", "2026-03-06T22:00-03:00",
                              severity="p3", tz="America/Sao_Paulo")
    assert report["deadlines"][0]["due"] == "2026-03-10T13:00:00-03:00"


def test_support_critical_thirty_minutes(mini: str) -> None:
    assert due(mini, "support_request", "2026-03-02T23:45", "support-response",
               severity="critical") == "2026-03-03T00:15:00+11:00"


def test_support_request_without_severity_is_refused(mini: str) -> None:
    with pytest.raises(DeadlinesError, match="needs a severity"):
        api.compute(mini, "support_request", "2026-03-02T10:00")


def test_unknown_severity(mini: str) -> None:
    with pytest.raises(DeadlinesError, match="unknown severity 'p9'"):
        api.compute(mini, "support_request", "2026-03-02T10:00", severity="p9")


def test_recurring_quarterly_from_the_start_not_chained(mini: str) -> None:
    report = api.compute_json(mini, "contract_start", "2026-01-31")
    reviews = [d["due"] for d in report["deadlines"] if d["rule"] == "firewall-review"]
    assert reviews == ["2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31"]


def test_recurring_calendar_months(mini: str) -> None:
    report = api.compute_json(mini, "contract_start", "2026-01-15")
    months = [d["due"] for d in report["deadlines"] if d["rule"] == "uptime"]
    assert months[:3] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert months[-1] == "2027-01-31"


def test_fulfilled_parent_reanchors_the_chain(mini: str) -> None:
    from deadlines import rulebook
    from deadlines.engine import compute
    from deadlines.settings import Settings

    book = rulebook.load(mini)
    settings = Settings.resolve(book)
    trigger = parse_when("2026-03-02", settings.zone)
    result = compute(book, "deletion_request", trigger, settings,
                     fulfilled={"deletion": Moment(parse_when("2026-03-10", settings.zone).day)})
    cert = next(d for d in result.deadlines if d.rule.id == "deletion-certificate")
    assert str(cert.due) == "2026-04-09"
    assert "actual deletion" in cert.trace[0]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2026-02-30", "not a valid date"),
        ("yesterday", "not a date or date-time"),
        ("2026-13-01T10:00", "not a date or date-time"),
    ],
)
def test_bad_when(mini: str, when: str, message: str) -> None:
    with pytest.raises(DeadlinesError, match=message):
        api.compute(mini, "breach_notice", when)


def test_unknown_event_lists_the_known_ones(mini: str) -> None:
    with pytest.raises(DeadlinesError, match=r"unknown event .breach.*breach_notice"):
        api.compute(mini, "breach", "2026-03-02")


def test_unknown_zone(mini: str) -> None:
    with pytest.raises(DeadlinesError, match="unknown time zone 'Mars/Olympus'"):
        api.compute(mini, "breach_notice", "2026-03-02", tz="Mars/Olympus")


def test_dst_gap_is_accepted_with_the_instant_named(mini: str) -> None:
    report = api.compute_json(mini, "incident_identified", "2026-03-29T02:30",
                              tz="Europe/Paris")
    assert report["trigger"] == "2026-03-29T03:30:00+02:00"
    assert "does not exist" in report["warnings"][0]
    assert "01:30 UTC" in report["warnings"][0]


def test_dst_fold_takes_the_first_instant(mini: str) -> None:
    report = api.compute_json(mini, "incident_identified", "2026-10-25T02:30",
                              tz="Europe/Paris")
    assert report["trigger"] == "2026-10-25T02:30:00+02:00"
    assert "occurs twice" in report["warnings"][0]


def test_explicit_offset_in_the_fold_is_respected(mini: str) -> None:
    report = api.compute_json(mini, "incident_identified", "2026-10-25T02:30+01:00",
                              tz="Europe/Paris")
    assert report["trigger"] == "2026-10-25T02:30:00+01:00"
    assert report["warnings"] == []


def test_add_calculator() -> None:
    due_value, _steps, _ = api.add("2026-03-02", "30 business days", calendar="FR")
    assert due_value.isoformat() == "2026-04-14"
    due_value, _, _ = api.add("2026-03-02", "1 month")
    assert due_value.isoformat() == "2026-04-02"


def test_recurring_reading_gives_the_matching_occurrence() -> None:
    """« tous les trimestres » (FreshHawk Annexe A, seed line 307) from a 31 January 2026 start:
    calendar quarters are the primary reading, being always the earlier (31 March, 30 June,
    30 September, 31 December, then 31 March 2027, the quarter holding the 12-month horizon);
    every 3 months from the start is the other reading, matched occurrence by occurrence
    (30 April, 31 July, 31 October, 31 January, 30 April 2027). Issue 10 item 3: these two
    series were the other way round (the same dates), against DESIGN's earliest-first rule."""
    report = api.compute_json("freshhawk-standard", "contract_start", "2026-01-31")
    reviews = [d for d in report["deadlines"] if d["rule"] == "firewall-review"]
    assert [d["due"] for d in reviews] == ["2026-03-31", "2026-06-30", "2026-09-30",
                                           "2026-12-31", "2027-03-31"]
    assert [d["alternatives"][0]["due"] for d in reviews] == [
        "2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31", "2027-04-30"]


def _with_start() -> list[str]:
    from deadlines import rulebook

    return [a for a in rulebook.available() if "contract_start" in rulebook.load(a).events]


@pytest.mark.parametrize("agreement", _with_start())
@pytest.mark.parametrize("start", ["2026-01-31", "2026-02-28", "2026-05-15"])
def test_later_occurrences_are_what_a_longer_horizon_adds(agreement: str, start: str) -> None:
    """next_change looks one month past the horizon with engine.later_occurrences instead of
    counting every occurrence again: the days must be those a longer count adds."""
    from datetime import date, datetime

    from deadlines import rulebook
    from deadlines.engine import compute, later_occurrences
    from deadlines.settings import Settings
    from deadlines.vocabulary import Direction

    book = rulebook.load(agreement)
    settings = Settings.resolve(book)
    moment = Moment(date.fromisoformat(start))
    after, until = date(2027, 1, 31), date(2027, 3, 3)
    longer = compute(book, "contract_start", moment, settings, recurring_until=until)
    expected = set()
    for d in longer.deadlines:
        if d.rule.direction is not Direction.RECURRING or d.due is None:
            continue
        day = d.due.astimezone(settings.zone).date() if isinstance(d.due, datetime) else d.due
        if day > after:
            expected.add(day)
    found = later_occurrences(book, "contract_start", moment, settings, after, until)
    assert found == expected


def test_a_recounted_series_gives_traces_of_its_own() -> None:
    """A recurring series is counted once per contract and reused: a trace one caller extends
    (a terminated contract's deadlines get a line) must not show up in the next count."""
    from datetime import date

    from deadlines import rulebook
    from deadlines.engine import compute
    from deadlines.settings import Settings

    agreement = _with_start()[0]
    book = rulebook.load(agreement)
    settings = Settings.resolve(book)
    moment = Moment(date(2026, 3, 31))
    first = compute(book, "contract_start", moment, settings, recurring_until=date(2026, 12, 31))
    before = [list(d.trace) for d in first.deadlines]
    for d in first.deadlines:
        d.trace.append("ended")
    again = compute(book, "contract_start", moment, settings, recurring_until=date(2026, 12, 31))
    assert [d.trace for d in again.deadlines] == before
