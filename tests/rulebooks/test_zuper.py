"""Date-in/date-out tests for the Zuper rulebook (seed 000_f3a55a2fbf7a4c9c.txt, lines 1991-2936).

Main terms (no clause numbers, cited by heading), Affiche A (support), pièce jointe B (security),
pièce C (the ATD / DPA), the 2010/87 EU SCCs and their Annexe 2. Every expected date below was
counted by hand on a calendar: day periods do not count the trigger day; months/years go to the
same day number, clamped to month end; hours are elapsed time, shown in America/Los_Angeles
(PST -08:00 until 8 March 2026 02:00, PDT -07:00 until 1 November 2026 02:00, then PST again).
Business days use the US-WA calendar (2026: 1 Jan, 19 Jan, 16 Feb, 25 May, 19 Jun, 3-4 Jul,
7 Sep, 11 Nov, 26-27 Nov, 25 Dec). Supplier support hours: 09:00-24:00 Mon-Fri, holidays
included (« toutes les semaines de l'année »), in the agreement's zone.
"""

from __future__ import annotations

import pytest
from duedates import alternatives, deadlines_of, due, dues

ZU = "zuper"


# --- VIOLATION MATÉRIELLE (L2189): one month to cure, then termination ----------------------

def test_cure_one_month_after_receipt():
    """« un (1) mois à compter de la réception »: received 2 March 2026 -> 2 April 2026."""
    assert due(ZU, "breach_notice", "2026-03-02", "cure") == "2026-04-02"


def test_cure_month_end_receipt_on_31_january_clamps_to_28_february():
    """Received 31 Jan 2026; one month -> 31 Feb does not exist -> 28 Feb 2026."""
    assert due(ZU, "breach_notice", "2026-01-31", "cure") == "2026-02-28"


def test_terminate_for_cause_opens_the_day_after_the_cure_period():
    """Cure ends 2 April 2026 (received 2 March); the right opens 3 April."""
    assert due(ZU, "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-04-03"


def test_terminate_for_cause_after_a_clamped_cure_period():
    """Received 31 Jan -> cure ends 28 Feb 2026 -> right opens 1 March 2026."""
    assert due(ZU, "breach_notice", "2026-01-31", "terminate-for-cause") == "2026-03-01"


# --- FORCE MAJEURE (L2195): 180 days at most -------------------------------------------------

def test_force_majeure_cap_180_days_from_the_event():
    """Event starts 2 March 2026: 3-31 Mar = 29, Apr 30 (59), May 31 (90), Jun 30 (120),
    Jul 31 (151), then 29 more days -> 29 August 2026."""
    assert due(ZU, "force_majeure", "2026-03-02", "force-majeure-cap") == "2026-08-29"


# --- AVIS DE FIN DE VIE (L2111): six months ----------------------------------------------------

def test_eol_notice_six_months_before_the_planned_date():
    """EOL planned 30 Sep 2026: latest notice 30 March 2026."""
    assert due(ZU, "eol_planned", "2026-09-30", "eol-notice") == "2026-03-30"


def test_eol_notice_month_end_clamps_to_28_february():
    """EOL planned 31 Aug 2026: six months before -> 31 Feb does not exist -> 28 Feb 2026."""
    assert due(ZU, "eol_planned", "2026-08-31", "eol-notice") == "2026-02-28"


def test_eol_earliest_six_months_after_the_notice():
    """Notice received 2 March 2026: earliest EOL 2 Sep 2026."""
    assert due(ZU, "eol_notice", "2026-03-02", "eol-earliest") == "2026-09-02"


def test_eol_earliest_month_end_clamps_to_28_february_2027():
    """Notice received 31 Aug 2026: six months -> no 31 Feb 2027; a right opens the day after
    the month's end, 1 Mar 2027 (6 months back from 28 Feb would be only 28 Aug)."""
    assert due(ZU, "eol_notice", "2026-08-31", "eol-earliest") == "2027-03-01"


# --- TEMPS DE DISPONIBILITÉ (L2113): uptime, maintenance cap and notice -----------------------

def test_uptime_each_calendar_month_closes_at_month_end():
    """Start 1 Jan 2026: January, February, March close on 31 Jan, 28 Feb, 31 Mar."""
    assert dues(ZU, "contract_start", "2026-01-01", "uptime", 3) == [
        "2026-01-31", "2026-02-28", "2026-03-31"]


def test_maintenance_cap_is_counted_per_calendar_month():
    """« moins de quatre (4) heures par mois donné »: start 1 Jan 2026 -> months close on
    31 Jan, 28 Feb, 31 Mar."""
    assert dues(ZU, "contract_start", "2026-01-01", "maintenance-cap", 3) == [
        "2026-01-31", "2026-02-28", "2026-03-31"]


def test_maintenance_notice_seven_days_before():
    """Maintenance starts 10 March 2026: written notice by 3 March 2026."""
    assert due(ZU, "maintenance_planned", "2026-03-10", "maintenance-notice") == "2026-03-03"


def test_maintenance_notice_across_a_month_end():
    """Maintenance starts 3 March 2026: back 2 days to 1 March, 5 more -> 24 Feb 2026."""
    assert due(ZU, "maintenance_planned", "2026-03-03", "maintenance-notice") == "2026-02-24"


# --- MISES À JOUR (L2099): roadmap meetings twice a month -------------------------------------

def test_roadmap_meetings_each_calendar_month():
    """Start 15 March 2026: March (part) closes 31 March, then 30 April, 31 May."""
    assert dues(ZU, "contract_start", "2026-03-15", "roadmap-meetings", 3) == [
        "2026-03-31", "2026-04-30", "2026-05-31"]


# --- Affiche A (L2219-L2239): support --------------------------------------------------------

def test_support_response_critical_30_minutes_round_the_clock():
    """2(a): critical issue Mon 2 March 2026 23:45 PST -> 00:15 on 3 March."""
    assert due(ZU, "support_request", "2026-03-02T23:45", "support-response",
               severity="critical") == "2026-03-03T00:15:00-08:00"


def test_support_update_critical_every_30_minutes_first_one_30_minutes_after_request():
    """2(a): first update 30 minutes after the request (earliest reading)."""
    assert due(ZU, "support_request", "2026-03-02T23:45", "support-update",
               severity="critical") == "2026-03-03T00:15:00-08:00"


def test_support_update_critical_alternative_counts_from_the_response_deadline():
    """Response due 00:15 -> first update 30 minutes later, 00:45 on 3 March."""
    assert "2026-03-03T00:45:00-08:00" in alternatives(ZU,
        "support_request", "2026-03-02T23:45", "support-update", severity="critical")


def test_support_response_major_one_hour_across_the_spring_forward():
    """2(b): Sun 8 March 2026 01:30 PST (09:30 UTC) + 1 h = 10:30 UTC = 03:30 PDT
    (clocks jump from 02:00 to 03:00)."""
    assert due(ZU, "support_request", "2026-03-08T01:30", "support-response",
               severity="major") == "2026-03-08T03:30:00-07:00"


def test_support_update_major_hourly_and_its_alternative():
    """2(b): first update 1 h after the request (03:30 PDT); alternative 1 h after the
    response deadline (04:30 PDT)."""
    assert due(ZU, "support_request", "2026-03-08T01:30", "support-update",
               severity="major") == "2026-03-08T03:30:00-07:00"
    assert "2026-03-08T04:30:00-07:00" in alternatives(ZU,
        "support_request", "2026-03-08T01:30", "support-update", severity="major")


def test_support_response_other_six_support_hours_over_a_weekend():
    """2(c): Fri 6 March 2026 22:00: 22:00-24:00 = 2 h; Mon 9 March 09:00 + 4 h = 13:00 PDT."""
    assert due(ZU, "support_request", "2026-03-06T22:00", "support-response",
               severity="other") == "2026-03-09T13:00:00-07:00"


def test_support_response_other_request_on_saturday_starts_monday_9am():
    """Sat 7 March 2026 10:00 is outside the window: Mon 9 March 09:00 + 6 h = 15:00 PDT."""
    assert due(ZU, "support_request", "2026-03-07T10:00", "support-response",
               severity="other") == "2026-03-09T15:00:00-07:00"


def test_support_response_other_before_the_window_opens():
    """Tue 3 March 2026 07:00: counting starts 09:00 -> 15:00 PST."""
    assert due(ZU, "support_request", "2026-03-03T07:00", "support-response",
               severity="other") == "2026-03-03T15:00:00-08:00"


def test_support_response_other_counts_a_public_holiday():
    """Memorial Day, Mon 25 May 2026, 10:00: holidays are support days (« toutes les
    semaines de l'année ») -> 16:00 PDT the same day."""
    assert due(ZU, "support_request", "2026-05-25T10:00", "support-response",
               severity="other") == "2026-05-25T16:00:00-07:00"


def test_support_response_other_late_evening_runs_into_next_morning():
    """Wed 4 March 2026 23:00: 1 h to midnight; Thu 5 March 09:00 + 5 h = 14:00 PST."""
    assert due(ZU, "support_request", "2026-03-04T23:00", "support-response",
               severity="other") == "2026-03-05T14:00:00-08:00"


def test_support_update_weekly_one_week_after_the_request():
    """2(e): request Fri 6 March 2026 22:00 -> first weekly update by Fri 13 March."""
    assert due(ZU, "support_request", "2026-03-06T22:00", "support-update-weekly",
               severity="other") == "2026-03-13"


def test_support_resolution_has_no_number():
    """2(d): « dans un délai commercialement raisonnable »."""
    assert due(ZU, "support_request", "2026-03-06T22:00", "support-resolution",
               severity="other") is None


# --- pièce jointe B 2 (L2269): deletion and certificate ----------------------------------------

def test_deletion_21_days_after_the_request():
    """Request 2 March 2026: 3..23 March = 21 days -> 23 March."""
    assert due(ZU, "deletion_request", "2026-03-02", "deletion") == "2026-03-23"


def test_deletion_21_days_after_the_end_of_the_service():
    """Service ends 20 Jan 2026: 21..31 Jan = 11 days, 1..10 Feb = 10 -> 10 Feb."""
    assert due(ZU, "services_ended", "2026-01-20", "deletion") == "2026-02-10"


def test_deletion_certificate_30_days_after_the_request():
    """« dans les trente (30) jours suivant. » (no anchor): earliest reading, 30 days after the
    request of 2 March 2026: 3..31 March = 29, 1 April = 30."""
    assert due(ZU, "deletion_request", "2026-03-02", "deletion-certificate") == "2026-04-01"


def test_deletion_certificate_alternative_counts_from_the_deletion_deadline():
    """Deletion due 23 March 2026 -> 24..31 March = 8, 1..22 April = 22 -> 22 April."""
    assert "2026-04-22" in alternatives(ZU, "deletion_request",
                                        "2026-03-02", "deletion-certificate")


def test_deletion_on_a_weekend_with_the_following_roll():
    """Request Sat 7 March 2026 + 21 days = Sat 28 March; no roll by default; with
    --roll following (Washington, RCW 1.12.040 by analogy) -> Mon 30 March."""
    assert due(ZU, "deletion_request", "2026-03-07", "deletion") == "2026-03-28"
    assert due(ZU, "deletion_request", "2026-03-07", "deletion", roll="following") == "2026-03-30"


# --- pièce jointe B 4, 6, 7 (L2301-L2356): access, firewall, logs, incidents ----------------

def test_access_revocation_24_hours_across_the_spring_forward():
    """Sat 7 March 2026 18:00 PST (02:00 UTC 8 March) + 24 h = 02:00 UTC 9 March
    = 19:00 PDT on 8 March."""
    assert due(ZU, "access_need_ended", "2026-03-07T18:00", "access-revocation") == \
        "2026-03-08T19:00:00-07:00"


def test_firewall_review_calendar_quarters_then_every_three_months_from_a_31st():
    """pièce jointe B 6 (L2336), start 31 Jan 2026. Primary, calendar quarters (the earlier):
    31 March, 30 June, 30 Sept. Other reading: +3 months -> 30 April (clamped), +6 -> 31 July,
    +9 -> 31 Oct (the primary dates before issue 10 item 3)."""
    assert dues(ZU, "contract_start", "2026-01-31", "firewall-review", 3) == [
        "2026-03-31", "2026-06-30", "2026-09-30"]
    reviews = deadlines_of(ZU, "contract_start", "2026-01-31", "firewall-review")[:3]
    assert [d["alternatives"][0]["due"] for d in reviews] == [
        "2026-04-30", "2026-07-31", "2026-10-31"]


def test_log_retention_one_year():
    """Log of 2 March 2026 kept at least until 2 March 2027."""
    assert due(ZU, "log_created", "2026-03-02", "log-retention") == "2027-03-02"


def test_log_retention_from_29_february_clamps():
    """Log of 29 Feb 2028 + 1 year -> 29 Feb 2029 does not exist -> 28 Feb 2029."""
    assert due(ZU, "log_created", "2028-02-29", "log-retention") == "2029-02-28"


def test_incident_notice_24_hours_after_identification():
    """Identified Mon 2 March 2026 10:00 PST -> 3 March 10:00 PST."""
    assert due(ZU, "incident_identified", "2026-03-02T10:00", "incident-notice") == \
        "2026-03-03T10:00:00-08:00"


def test_incident_notice_across_the_fall_back():
    """Sat 31 Oct 2026 12:00 PDT (19:00 UTC) + 24 h = 19:00 UTC 1 Nov = 11:00 PST."""
    assert due(ZU, "incident_identified", "2026-10-31T12:00", "incident-notice") == \
        "2026-11-01T11:00:00-08:00"


def test_incident_report_three_days_after_identification():
    """« dans les trois (3) jours qui suivent »: earliest reading from identification on
    2 March 2026 -> 5 March."""
    assert due(ZU, "incident_identified", "2026-03-02T10:00", "incident-report") == "2026-03-05"


def test_incident_report_alternative_counts_from_the_notice():
    """Notice due 3 March 2026 10:00 -> 3 days -> 6 March."""
    assert "2026-03-06" in alternatives(ZU, "incident_identified", "2026-03-02T10:00",
                                        "incident-report")


# --- ATD (L2418-L2527) -------------------------------------------------------------------------

def test_dsr_response_three_business_days_over_presidents_day():
    """ATD 4.3 « 3 (trois) jours ouvrables » (Monday to Saturday): identified Thu 12 Feb 2026:
    Fri 13 (1), Sat 14 (2), Sun off, Mon 16 Presidents' Day skipped, Tue 17 (3) -> 17 Feb.
    Reading Monday to Friday: Fri 13 (1), Tue 17 (2), Wed 18 (3) -> 18 Feb."""
    assert due(ZU, "data_subject_request", "2026-02-12", "dsr-response") == "2026-02-17"
    assert alternatives(ZU, "data_subject_request", "2026-02-12", "dsr-response") == ["2026-02-18"]


def test_dsr_response_over_thanksgiving():
    """Identified Wed 25 Nov 2026: Thu 26 (Thanksgiving) and Fri 27 (WA state holiday)
    skipped, Sat 28 (1), Mon 30 (2), Tue 1 Dec (3) -> 1 Dec; Monday to Friday: Mon 30 (1),
    Tue 1 Dec (2), Wed 2 Dec (3) -> 2 Dec."""
    assert due(ZU, "data_subject_request", "2026-11-25", "dsr-response") == "2026-12-01"
    assert alternatives(ZU, "data_subject_request", "2026-11-25", "dsr-response") == ["2026-12-02"]


def test_personal_data_breach_notice_72_hours_across_the_fall_back():
    """ATD 8.1: aware Fri 30 Oct 2026 12:00 PDT (19:00 UTC) + 72 h = 19:00 UTC 2 Nov
    = 11:00 PST."""
    assert due(ZU, "personal_data_breach", "2026-10-30T12:00", "personal-data-breach-notice") == \
        "2026-11-02T11:00:00-08:00"


def test_subprocessor_notice_15_days_before_the_appointment():
    """ATD 9.1: appointment 16 March 2026 -> notice by 1 March."""
    assert due(ZU, "subprocessor_planned", "2026-03-16", "subprocessor-notice") == "2026-03-01"


def test_subprocessor_notice_across_february():
    """Appointment 10 March 2026: back 9 days to 1 March, 6 more -> 23 Feb."""
    assert due(ZU, "subprocessor_planned", "2026-03-10", "subprocessor-notice") == "2026-02-23"


def test_dpa_termination_takes_effect_90_days_after_notice():
    """ATD 10.3: notice sent 2 March 2026: 3-31 Mar = 29, Apr 30 (59), May 31 (90) -> 31 May."""
    assert due(ZU, "dpa_termination_notice", "2026-03-02", "dpa-termination-notice") == "2026-05-31"


def test_retention_after_termination_14_day_export_window():
    """ATD 11(i): account terminated 2 March 2026 -> last day 16 March."""
    assert due(ZU, "terminated", "2026-03-02", "retention-after-termination") == "2026-03-16"


def test_email_archive_three_months_clamped():
    """ATD 11(ii): terminated 30 Nov 2026 + 3 months -> 30 Feb does not exist -> 28 Feb 2027."""
    assert due(ZU, "terminated", "2026-11-30", "email-archive-retention") == "2027-02-28"


def test_log_archive_30_days_then_cold_storage_11_months():
    """ATD 11(iii): terminated 2 March 2026 -> 30 days -> 1 April; + 11 months -> 1 March 2027."""
    assert due(ZU, "terminated", "2026-03-02", "log-archive-retention") == "2026-04-01"
    assert due(ZU, "terminated", "2026-03-02", "log-cold-storage-retention") == "2027-03-01"


# --- SCCs and Annexe 2 (L2813-L2931) ------------------------------------------------------------

def test_subprocessor_list_update_yearly():
    """SCC 11(4) « au moins une fois par an » (L2813), start 2 March 2026. Primary, calendar
    years (the earlier): first update by 31 December 2026. Other reading, a year from the
    start: 2 March 2027 (the primary date before issue 10 item 3)."""
    assert dues(ZU, "contract_start", "2026-03-02", "subprocessor-list-update", 1) == [
        "2026-12-31"]
    first = deadlines_of(ZU, "contract_start", "2026-03-02", "subprocessor-list-update")[0]
    assert [a["due"] for a in first["alternatives"]] == ["2027-03-02"]


def test_security_overview_review_yearly():
    """Annexe 2 1.3: start 2 March 2026 -> 2 March 2027."""
    assert dues(ZU, "contract_start", "2026-03-02", "security-overview-review", 1) == ["2027-03-02"]


def test_pen_test_yearly_from_29_february_clamps():
    """Annexe 2 5.1 « au moins une fois par an » (L2919), start 29 Feb 2028. Primary, calendar
    years (the earlier): first test by 31 December 2028. Other reading: 29 Feb 2028 + 1 year
    -> 28 Feb 2029, clamped (the primary date before issue 10 item 3)."""
    assert dues(ZU, "contract_start", "2028-02-29", "pen-test", 1) == ["2028-12-31"]
    first = deadlines_of(ZU, "contract_start", "2028-02-29", "pen-test")[0]
    assert [a["due"] for a in first["alternatives"]] == ["2029-02-28"]


def test_training_recertification_one_year_after_training():
    """Annexe 2 1.2: trained 2 March 2026 -> re-certify by 2 March 2027."""
    assert due(ZU, "training_completed", "2026-03-02", "training-recertification") == "2027-03-02"


def test_pd_theft_notice_72_hours_after_confirmation_across_spring_forward():
    """Annexe 2 1.5: confirmed Fri 6 March 2026 09:00 PST (17:00 UTC) + 72 h = 17:00 UTC
    9 March = 10:00 PDT."""
    assert due(ZU, "personal_data_theft_confirmed", "2026-03-06T09:00", "pd-theft-notice") == \
        "2026-03-09T10:00:00-07:00"


# --- Duties with no number: listed, never dated ---------------------------------------------

NO_NUMBER = [
    ("payment_due", "prompt-payment"),
    ("claim_known", "claim-notice"),
    ("liability_claim", "liability-cap-lookback"),
    ("virus_definitions_released", "virus-definitions"),
    ("contract_start", "vulnerability-scans"),
    ("vulnerability_identified", "vulnerability-remediation"),
    ("incident_info_request", "incident-info-response"),
    ("unlawful_instruction", "unlawful-instruction-notice"),
    ("disclosure_request", "disclosure-warning"),
    ("disclosure_ban_lifted", "disclosure-ban-lifted-notice"),
    ("audit_request", "compliance-information"),
    ("subprocessor_planned", "subprocessor-objection"),
    ("dpa_breach", "dpa-terminate-for-cause"),
    ("special_category_transfer", "special-data-inform"),
    ("scc_noncompliance", "scc-noncompliance-inform"),
    ("legislation_change", "scc-legislation-change-notice"),
    ("disclosure_request", "scc-disclosure-inform"),
    ("personal_data_breach", "scc-unauthorised-access-inform"),
    ("data_subject_request", "dsr-scc-inform"),
    ("exporter_inquiry", "scc-exporter-inquiries"),
    ("subprocessor_agreement_signed", "scc-subprocessor-agreement-copy"),
    ("audit_blocking_law", "scc-audit-law-inform"),
    ("services_ended", "scc-return-or-destroy"),
    ("employee_hired", "security-training"),
    ("personal_data_theft", "pd-theft-investigation"),
    ("security_test_completed", "security-test-remediation"),
    ("contract_start", "ssae18-audit"),
    ("audit_request", "audit-results"),
    ("security_issue_notice", "audit-issue-remediation"),
]


@pytest.mark.parametrize(("event", "rule"), NO_NUMBER, ids=[r for _, r in NO_NUMBER])
def test_duty_without_a_number_is_listed_with_no_date(event, rule):
    """« rapidement », « dans un délai raisonnable », « dans les plus brefs délais », ...:
    the rule is listed but has no due date."""
    assert due(ZU, event, "2026-03-02", rule) is None
