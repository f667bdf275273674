"""Date-in/date-out tests for the FreshHawk rulebooks (seed 000_f3a55a2fbf7a4c9c.txt).

freshhawk-standard: lines 9-319; freshhawk-enterprise: lines 321-665 (the same terms plus
clause 2.5 and Annexe B, support procedures). Every expected date below was counted by hand
on a calendar: day periods do not count the trigger day; months/years go to the same day number,
clamped to month end; hours are elapsed time, shown in Australia/Melbourne
(AEDT +11:00 until 5 April 2026 03:00, then AEST +10:00).
"""

from __future__ import annotations

import pytest
from duedates import alternatives, deadlines_of, due, dues

from deadlines.api import catalog, compute_json

STD = "freshhawk-standard"
ENT = "freshhawk-enterprise"


BOTH = pytest.mark.parametrize("book", [STD, ENT])


# --- 8.5 cure period and termination for cause ------------------------------------------------

@BOTH
def test_cure_8_5_thirty_days_after_receipt(book):
    """8.5: notice received Mon 2 March 2026; 30 days, receipt day not counted:
    3..31 March = 29 days, 1 April = day 30."""
    assert due(book, "breach_notice", "2026-03-02", "cure") == "2026-04-01"


def test_cure_8_5_month_end_receipt_on_31_january():
    """8.5: received 31 Jan 2026; 1..28 Feb = 28 days, 1-2 March = days 29-30 -> 2 March."""
    assert due(STD, "breach_notice", "2026-01-31", "cure") == "2026-03-02"


@BOTH
def test_terminate_for_cause_8_5_opens_day_after_cure(book):
    """8.5: cure ends 1 April 2026 -> the right to terminate opens 2 April."""
    assert due(book, "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-04-02"


# --- 2.3 service levels ---------------------------------------------------------------------

@BOTH
def test_uptime_2_3_each_calendar_month(book):
    """2.3: 99.9 % 'pour tout mois calendaire'; start 1 Feb 2026 -> months end 28 Feb
    (non-leap), 31 March, 30 April."""
    assert dues(book, "contract_start", "2026-02-01", "uptime", 3) == [
        "2026-02-28", "2026-03-31", "2026-04-30"]


@BOTH
def test_maintenance_cap_2_3_each_month(book):
    """2.3: planned downtime under 4 hours 'par mois donné', read as calendar months."""
    assert dues(book, "contract_start", "2026-02-01", "maintenance-cap", 3) == [
        "2026-02-28", "2026-03-31", "2026-04-30"]


@BOTH
def test_maintenance_notice_2_3_seven_days_before(book):
    """2.3 « préavis écrit d'au moins sept (7) jours » (seed lines 83 / 393); maintenance Tue
    10 March 2026. Primary, seven clear days (neither the notice day nor the maintenance day
    counts; issue 10 item 4: the note named this reading without a date): 3..9 March are the
    seven days between, notice by Monday 2 March. Other reading, the notice day counted:
    latest notice 3 March (the primary date before)."""
    assert due(book, "maintenance_planned", "2026-03-10", "maintenance-notice") == "2026-03-02"
    assert alternatives(book, "maintenance_planned", "2026-03-10", "maintenance-notice") == [
        "2026-03-03"]


def test_maintenance_notice_2_3_across_month_start():
    """2.3: maintenance Thu 5 March 2026 22:00 -> 7 days back: 4,3,2,1 March, 28,27,26 Feb
    -> 26 February with the notice day counted (the reading); as seven clear days (26 Feb to
    4 March between) the notice is due Wednesday 25 February (the primary)."""
    assert due(STD, "maintenance_planned", "2026-03-05T22:00", "maintenance-notice") == "2026-02-25"
    assert alternatives(STD, "maintenance_planned", "2026-03-05T22:00", "maintenance-notice") == [
        "2026-02-26"]


# --- 8.4 end of life ----------------------------------------------------------------------------

@BOTH
def test_eol_notice_8_4_six_months_before(book):
    """8.4: EOL planned 30 Sept 2026 -> notice by 30 March 2026."""
    assert due(book, "eol_planned", "2026-09-30", "eol-notice") == "2026-03-30"


def test_eol_notice_8_4_month_end_clamped():
    """8.4: EOL planned 31 Aug 2026 -> 6 months back = 31 Feb, clamped to 28 Feb 2026."""
    assert due(STD, "eol_planned", "2026-08-31", "eol-notice") == "2026-02-28"


@BOTH
def test_eol_earliest_8_4_six_months_after_notice(book):
    """8.4: EOL notice received 2 March 2026 -> EOL no earlier than 2 Sept 2026."""
    assert due(book, "eol_notice", "2026-03-02", "eol-earliest") == "2026-09-02"


def test_eol_earliest_8_4_month_end_clamped():
    """8.4: notice 31 Aug 2026 -> 31 Feb 2027 does not exist; 6 months back from 28 Feb is
    28 Aug, before the notice, so the earliest end-of-life date is 1 Mar 2027."""
    assert due(STD, "eol_notice", "2026-08-31", "eol-earliest") == "2027-03-01"


# --- 9.3 liability look-back ------------------------------------------------------------------

@BOTH
def test_liability_lookback_9_3_twelve_months_before(book):
    """9.3: event 15 March 2026 -> fees paid from 15 March 2025 count."""
    assert due(book, "liability_event", "2026-03-15", "liability-lookback") == "2025-03-15"


def test_liability_lookback_9_3_from_leap_day():
    """9.3: event 29 Feb 2024 -> 12 months back = 29 Feb 2023, clamped to 28 Feb 2023."""
    assert due(STD, "liability_event", "2024-02-29", "liability-lookback") == "2023-02-28"


# --- Annexe A: deletion and its certificate -------------------------------------------------

@BOTH
def test_deletion_annex_a_21_days_after_request(book):
    """Annexe A: request 2 March 2026 + 21 days = 23 March."""
    assert due(book, "deletion_request", "2026-03-02", "deletion") == "2026-03-23"


def test_deletion_annex_a_21_days_after_services_end_over_new_year():
    """Annexe A: services end 20 Dec 2026; 21-31 Dec = 11 days, 1-10 Jan = 21 -> 10 Jan 2027."""
    assert due(STD, "services_ended", "2026-12-20", "deletion") == "2027-01-10"


@BOTH
def test_deletion_certificate_annex_a_primary_30_days_after_request(book):
    """Annexe A 'dans les trente (30) jours suivant.' (anchor cut off): primary (earliest) =
    30 days after the request of 2 March 2026 = 1 April."""
    assert due(book, "deletion_request", "2026-03-02", "deletion-certificate") == "2026-04-01"


@BOTH
def test_deletion_certificate_annex_a_reading_from_deletion(book):
    """Other reading: 30 days after the deletion due date (23 March) = 22 April 2026."""
    assert "2026-04-22" in alternatives(book, "deletion_request", "2026-03-02",
                                        "deletion-certificate")


def test_deletion_certificate_annex_a_after_services_end():
    """Services end 20 Dec 2026: certificate 30 days later = 19 Jan 2027; from the deletion
    (10 Jan 2027) + 30 = 9 Feb 2027."""
    assert due(STD, "services_ended", "2026-12-20", "deletion-certificate") == "2027-01-19"
    assert "2027-02-09" in alternatives(STD, "services_ended", "2026-12-20", "deletion-certificate")


# --- Annexe A: incidents ------------------------------------------------------------------------

@BOTH
def test_incident_notice_annex_a_24_hours(book):
    """Annexe A (ii): identified Mon 2 March 2026 10:00 AEDT -> 3 March 10:00 AEDT."""
    assert due(book, "incident_identified", "2026-03-02T10:00", "incident-notice") ==\
        "2026-03-03T10:00:00+11:00"


def test_incident_notice_annex_a_24_hours_across_dst_end():
    """Identified 4 April 2026 10:00 AEDT (23:00 UTC); AEDT ends 5 April 03:00 -> 24 real hours
    later is 5 April 09:00 AEST."""
    assert due(STD, "incident_identified", "2026-04-04T10:00", "incident-notice") ==\
        "2026-04-05T09:00:00+10:00"


@BOTH
def test_incident_report_annex_a_three_days_after_identification(book):
    """Annexe A (ii) 'dans les trois (3) jours qui suivent': primary = 3 days after
    identification on 4 April 2026 -> 7 April."""
    assert due(book, "incident_identified", "2026-04-04T10:00", "incident-report") == "2026-04-07"


@BOTH
def test_incident_report_annex_a_reading_after_notice(book):
    """Other reading: 3 days after the notice due 5 April 2026 -> 8 April."""
    assert "2026-04-08" in alternatives(book, "incident_identified", "2026-04-04T10:00",
                                        "incident-report")


# --- Annexe A: firewall review and log retention -------------------------------------------

@BOTH
def test_firewall_review_annex_a_calendar_quarters_then_every_three_months(book):
    """Annexe A 'tous les trimestres' (seed lines 307 / 619), start 31 Jan 2026. Primary,
    calendar quarters (the earlier): 31 March, 30 June, 30 Sept. Other reading, every 3 months
    from the start: 30 April (clamped), 31 July, 31 Oct (the primary dates before issue 10
    item 3)."""
    assert dues(book, "contract_start", "2026-01-31", "firewall-review", 3) == [
        "2026-03-31", "2026-06-30", "2026-09-30"]
    reviews = deadlines_of(book, "contract_start", "2026-01-31", "firewall-review")[:3]
    assert [d["alternatives"][0]["due"] for d in reviews] == [
        "2026-04-30", "2026-07-31", "2026-10-31"]


@BOTH
def test_log_retention_annex_a_one_year(book):
    """Annexe A: logs of 2 March 2026 kept at least until 2 March 2027."""
    assert due(book, "log_produced", "2026-03-02", "log-retention") == "2027-03-02"


def test_log_retention_annex_a_from_leap_day():
    """Logs of 29 Feb 2028 -> 29 Feb 2029 does not exist -> 28 Feb 2029."""
    assert due(STD, "log_produced", "2028-02-29", "log-retention") == "2029-02-28"


# --- duties with no number: listed with no due date ------------------------------------------

@BOTH
@pytest.mark.parametrize("event, rule", [
    ("deletion_request", "content-deletion"),          # 4.4 « dans les plus brefs délais »
    ("payment_default", "payment-suspension"),          # 8.1 « immédiatement »
    ("member_data_changed", "member-data-update"),      # 3.1(b) « rapidement »
    ("virus_definitions_released", "virus-definition-update"),  # Annexe A « rapidement »
    ("vulnerability_identified", "vulnerability-remediation"),  # Annexe A « délai fondé sur »
    ("incident_info_request", "incident-info-response"),  # Annexe A (iii) « rapidement »
])
def test_duties_without_number_have_no_due_date(book, event, rule):
    assert due(book, event, "2026-03-02", rule) is None


# --- Enterprise only: Annexe B support -------------------------------------------------------

def test_support_response_annex_b_critical_30_minutes():
    """Annexe B 2(a): critical ticket 2 March 2026 10:00 AEDT -> respond by 10:30."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-response",
               severity="critical") == "2026-03-02T10:30:00+11:00"


def test_support_response_annex_b_critical_alias_critique():
    """The agreement's own word « critique » selects the critical level."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-response",
               severity="critique") == "2026-03-02T10:30:00+11:00"


def test_support_update_annex_b_critical_every_30_minutes():
    """Annexe B 2(a): first update 30 min after the request (10:30); other reading 30 min after
    the response deadline (11:00)."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-update",
               severity="critical") == "2026-03-02T10:30:00+11:00"
    assert "2026-03-02T11:00:00+11:00" in alternatives(
        ENT, "support_request", "2026-03-02T10:00", "support-update", severity="critical")


def test_support_response_annex_b_major_one_hour():
    """Annexe B 2(b): major ticket 2 March 2026 10:00 AEDT -> respond by 11:00."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-response",
               severity="major") == "2026-03-02T11:00:00+11:00"


def test_support_response_annex_b_major_across_dst_end():
    """Ticket 5 April 2026 02:30 AEDT (+11:00, 15:30 UTC); one real hour later is 16:30 UTC =
    02:30 AEST (+10:00), the clocks having gone back at 03:00."""
    assert due(ENT, "support_request", "2026-04-05T02:30:00+11:00", "support-response",
               severity="major") == "2026-04-05T02:30:00+10:00"


def test_support_update_annex_b_major_hourly():
    """Annexe B 2(b): first update 1 h after the request (11:00); other reading 1 h after the
    response deadline (12:00)."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-update", severity="major") ==\
        "2026-03-02T11:00:00+11:00"
    assert "2026-03-02T12:00:00+11:00" in alternatives(
        ENT, "support_request", "2026-03-02T10:00", "support-update", severity="major")


def test_support_response_annex_b_other_six_hours_overnight():
    """Annexe B 2(c): other request 2 March 2026 20:00 AEDT -> 6 elapsed hours = 3 March 02:00."""
    assert due(ENT, "support_request", "2026-03-02T20:00", "support-response",
               severity="other") == "2026-03-03T02:00:00+11:00"


def test_support_update_weekly_annex_b_other():
    """Annexe B 2(e): at least weekly; request 2 March 2026 -> 9 March; other reading: 1 week
    after the response deadline (3 March 02:00) -> 10 March; calendar weeks (issue 10 item 4:
    the note named them without a date): the request's week (2-8 March) is covered by the
    initial response, the first update by the end of the next week, Sunday 15 March."""
    assert due(ENT, "support_request", "2026-03-02T20:00", "support-update-weekly",
               severity="other") == "2026-03-09"
    assert alternatives(ENT, "support_request", "2026-03-02T20:00", "support-update-weekly",
                        severity="other") == ["2026-03-10", "2026-03-15"]


@pytest.mark.parametrize("severity", ["critical", "major", "other"])
def test_support_resolution_annex_b_no_number(severity):
    """Annexe B 2(d): « dans un délai commercialement raisonnable » -> listed, no due date."""
    assert due(ENT, "support_request", "2026-03-02T10:00", "support-resolution",
               severity=severity) is None


def test_support_rules_only_for_their_severity():
    """A critical ticket sets off the critical response, not the 6-hour or weekly rules."""
    report = compute_json(ENT, "support_request", "2026-03-02T10:00", severity="critical")
    responses = [d["due"] for d in report["deadlines"] if d["rule"] == "support-response"]
    assert responses == ["2026-03-02T10:30:00+11:00"]
    assert not [d for d in report["deadlines"] if d["rule"] == "support-update-weekly"]


def test_standard_has_no_support_rules():
    """Clause 2.5 and Annexe B exist only in the Enterprise terms."""
    assert not [r for r in catalog(STD) if r["id"].startswith("support-")]
    assert {r["id"] for r in catalog(ENT) if r["id"].startswith("support-")} == {
        "support-response", "support-update", "support-update-weekly", "support-resolution"}


def test_enterprise_cites_its_own_lines():
    """Enterprise cure is clause 8.5 at line 513 (standard: line 201)."""
    (std,) = deadlines_of(STD, "breach_notice", "2026-03-02", "cure")
    (ent,) = deadlines_of(ENT, "breach_notice", "2026-03-02", "cure")
    assert std["source"]["lines"] == [201]
    assert ent["source"]["lines"] == [513]
