"""Date-in/date-out tests for the OpenMethods rulebook (seed lines 667-1363).

Every expected date was counted by hand on a printed calendar (trigger day not counted; months to
the same day number, clamped to the month's end; hours as exact elapsed time, shown in
America/Los_Angeles; US daylight time starts Sunday 8 March 2026 at 02:00).
"""

from __future__ import annotations

from duedates import alternatives, deadlines_of, due, dues

OM = "openmethods"


# --- Conditions de service -----------------------------------------------------------------

def test_uptime_1_8_each_calendar_month():
    """1.8: 99.9 % per calendar month; start 1 Feb 2026 -> month ends 28 Feb, 31 Mar, 30 Apr."""
    assert dues(OM, "contract_start", "2026-02-01", "uptime") == [
        "2026-02-28", "2026-03-31", "2026-04-30"]


def test_maintenance_cap_1_8_each_calendar_month():
    """1.8: planned maintenance under 4 h « par mois donné », read as calendar months."""
    assert dues(OM, "contract_start", "2026-02-01", "maintenance-cap") == [
        "2026-02-28", "2026-03-31", "2026-04-30"]


def test_maintenance_notice_1_8_seven_days_before():
    """1.8: notice at least 7 days before maintenance on 10 March -> 3 March."""
    assert due(OM, "maintenance_planned", "2026-03-10", "maintenance-notice") == "2026-03-03"


def test_maintenance_notice_1_8_across_month_start():
    """1.8: 7 days before 5 March 2026 -> 1 Mar (4), 28 Feb (5), 27 (6), 26 Feb (7)."""
    assert due(OM, "maintenance_planned", "2026-03-05", "maintenance-notice") == "2026-02-26"


def test_eol_notice_1_9_six_months_before_clamped():
    """1.9: 6 months before 31 August 2026 -> 31 February does not exist -> 28 Feb 2026."""
    assert due(OM, "eol_planned", "2026-08-31", "eol-notice") == "2026-02-28"


def test_eol_notice_1_9_six_months_before():
    """1.9: 6 months before 30 September 2026 -> 30 March 2026."""
    assert due(OM, "eol_planned", "2026-09-30", "eol-notice") == "2026-03-30"


def test_eol_earliest_1_9_six_months_after_notice():
    """1.9: notice received 2 March 2026 -> EOL no earlier than 2 September 2026."""
    assert due(OM, "eol_notice", "2026-03-02", "eol-earliest") == "2026-09-02"


def test_eol_earliest_1_9_month_end():
    """1.9: notice received 31 August 2026 + 6 months: no 31 February 2027, and 6 months back
    from 28 February is 28 August, so the right opens on 1 March 2027."""
    assert due(OM, "eol_notice", "2026-08-31", "eol-earliest") == "2027-03-01"


def test_cure_8_2_thirty_days_after_notice():
    """8.2: notice 2 March 2026; 3-31 March = 29 days, 1 April = day 30."""
    assert due(OM, "breach_notice", "2026-03-02", "cure") == "2026-04-01"


def test_terminate_for_cause_8_2_day_after_cure():
    """8.2: cure ends 1 April 2026 -> right to terminate opens 2 April."""
    assert due(OM, "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-04-02"


def test_liability_cap_window_10_twelve_months_before():
    """10: « DEUXIÈMES (12) MOIS »; digits: 12 months before 2 March 2026 -> 2 March 2025."""
    assert due(OM, "liability_event", "2026-03-02", "liability-cap-window") == "2025-03-02"


def test_liability_cap_window_10_readings():
    """10: « deux » -> 2 Jan 2026; no « précédant » -> 12 months after, 2 Mar 2027."""
    alts = alternatives(OM, "liability_event", "2026-03-02", "liability-cap-window")
    assert "2026-01-02" in alts
    assert "2027-03-02" in alts


def test_claim_notice_12_3_thirty_days():
    """12.3: Client received the first notice 2 March 2026 -> notice to OpenMethods by 1 April."""
    assert due(OM, "claim_known", "2026-03-02", "claim-notice") == "2026-04-01"


def test_claim_notice_provider_13_2_thirty_days():
    """13.2: OpenMethods received the first notification 31 Jan 2026; Feb has 28 days -> 2 March."""
    assert due(OM, "claim_known", "2026-01-31", "claim-notice-provider") == "2026-03-02"


def test_insurance_notice_15_8_thirty_calendar_days_before():
    """15,8: cancellation on 30 June 2026; 30 days back: 31 May 2026."""
    assert due(OM, "insurance_change_planned", "2026-06-30", "insurance-notice") == "2026-05-31"


def test_fees_acceleration_8_4_has_no_date():
    """8.4: « immédiatement » -> no period, no due date."""
    assert due(OM, "terminated", "2026-03-02", "fees-acceleration") is None


def test_confidential_info_return_11_4_has_no_date():
    """11.4: « rapidement » -> no due date."""
    assert due(OM, "terminated", "2026-03-02", "confidential-info-return") is None


def test_compelled_disclosure_notice_11_3_has_no_date():
    """11.3(iv): « au préalable » -> no due date."""
    assert due(OM, "compelled_disclosure_planned",
               "2026-03-10", "compelled-disclosure-notice") is None


def test_vulnerability_fix_4_4_has_no_date():
    """4.4: « dans un délai fondé sur leur gravité » -> no due date."""
    assert due(OM, "vulnerability_identified", "2026-03-02", "vulnerability-fix") is None


# --- Figure A (security) ---------------------------------------------------------------------

def test_deletion_fig_a_21_days_after_request():
    """Figure A: request 2 March 2026; 3-23 March = 21 days -> 23 March."""
    assert due(OM, "deletion_request", "2026-03-02", "deletion") == "2026-03-23"


def test_deletion_fig_a_21_days_after_services_end():
    """Figure A: services ended 2 March 2026 -> 23 March, same count."""
    assert due(OM, "services_ended", "2026-03-02", "deletion") == "2026-03-23"


def test_deletion_certificate_fig_a_thirty_days_after_deletion():
    """Figure A: deletion due 23 March; 24-31 March = 8, 1-22 April = 22 -> 22 April."""
    assert due(OM, "deletion_request", "2026-03-02", "deletion-certificate") == "2026-04-22"


def test_virus_definitions_update_fig_a_has_no_date():
    """Figure A: « rapidement dès leur sortie » -> no due date."""
    assert due(OM, "virus_definitions_released", "2026-03-02", "virus-definitions-update") is None


def test_access_revocation_fig_a_24_hours_across_dst():
    """Figure A: need ended Sat 7 March 2026 12:00 PST (20:00 UTC); +24 h = 8 March 20:00 UTC,
    which is 13:00 PDT (daylight time started at 02:00 that morning)."""
    assert due(OM, "access_need_ended", "2026-03-07T12:00", "access-revocation") == \
        "2026-03-08T13:00:00-07:00"


def test_firewall_review_fig_a_calendar_quarters_then_every_three_months_month_end():
    """Figure A (seed line 968): start 31 Jan 2026. Primary, calendar quarters (the earlier):
    31 March, 30 June, 30 September. Other reading: +3 months -> 30 April (clamped), +6 ->
    31 July, +9 -> 31 October (each counted from the start, not chained; the primary dates
    before issue 10 item 3)."""
    assert dues(OM, "contract_start", "2026-01-31", "firewall-review") == [
        "2026-03-31", "2026-06-30", "2026-09-30"]
    reviews = deadlines_of(OM, "contract_start", "2026-01-31", "firewall-review")[:3]
    assert [d["alternatives"][0]["due"] for d in reviews] == [
        "2026-04-30", "2026-07-31", "2026-10-31"]


def test_log_retention_fig_a_one_year_leap_day():
    """Figure A: log of 29 Feb 2028 + 1 year -> 29 Feb 2029 does not exist -> 28 Feb 2029."""
    assert due(OM, "log_created", "2028-02-29", "log-retention") == "2029-02-28"


def test_incident_notice_fig_a_24_hours():
    """Figure A: identified 2 March 2026 10:00 PST -> 3 March 10:00 PST."""
    assert due(OM, "incident_identified", "2026-03-02T10:00", "incident-notice") == \
        "2026-03-03T10:00:00-08:00"


def test_incident_notice_fig_a_24_hours_across_dst():
    """Figure A: identified 7 March 2026 12:00 PST -> 8 March 13:00 PDT (24 real hours)."""
    assert due(OM, "incident_identified", "2026-03-07T12:00", "incident-notice") == \
        "2026-03-08T13:00:00-07:00"


def test_incident_report_fig_a_three_days_after_identification():
    """Figure A: identified 2 March 2026 -> 3 days -> 5 March (primary, earliest)."""
    assert due(OM, "incident_identified", "2026-03-02T10:00", "incident-report") == "2026-03-05"


def test_incident_report_fig_a_reading_after_notice():
    """Figure A: « trois (3) jours qui suivent » the notice: notice due 3 March -> 6 March."""
    assert "2026-03-06" in alternatives(OM, "incident_identified", "2026-03-02T10:00",
                                        "incident-report")


def test_incident_containment_fig_a_has_no_date():
    """Figure A: « immédiatement » -> no due date."""
    assert due(OM, "incident_identified", "2026-03-02T10:00", "incident-containment") is None


def test_incident_info_response_fig_a_has_no_date():
    """Figure A: « répondre rapidement » -> no due date."""
    assert due(OM, "incident_info_request", "2026-03-02", "incident-info-response") is None


# --- ATD (data processing) -------------------------------------------------------------------

def test_subprocessor_notice_atd_3_3_ten_days_before():
    """ATD 3.3: engagement on 10 March 2026; 10 days back: 1 Mar (9), 28 Feb (10)."""
    assert due(OM, "subprocessor_planned", "2026-03-10", "subprocessor-notice") == "2026-02-28"


def test_subprocessor_objection_atd_3_4_thirty_days():
    """ATD 3.4: notice received 2 March 2026 -> objection by 1 April."""
    assert due(OM, "subprocessor_notice", "2026-03-02", "subprocessor-objection") == "2026-04-01"


def test_audit_notice_atd_7_2_thirty_days_before():
    """ATD 7.2: audit on 15 May 2026; 15 days back -> 30 April, 30 days back -> 15 April."""
    assert due(OM, "audit_planned", "2026-05-15", "audit-notice") == "2026-04-15"


def test_audit_earliest_atd_7_2_thirty_days_after_request():
    """ATD 7.2: notice 2 March 2026 -> audit no earlier than 1 April."""
    assert due(OM, "audit_request", "2026-03-02", "audit-earliest") == "2026-04-01"


def test_retention_after_termination_annex_i_180_days():
    """Annexe I.B: termination 2 March 2026; Mar 3-31 = 29, Apr 30 (59), May 31 (90),
    Jun 30 (120), Jul 31 (151), Aug 1-29 = 29 (180) -> 29 August 2026."""
    assert due(OM, "terminated", "2026-03-02", "retention-after-termination") == "2026-08-29"


def test_no_number_atd_duties_have_no_date():
    """ATD 2.4, 4.1, 4.3, 6 and 9.1: « sans délai », « une fois qu'il a identifié »,
    « dans les plus brefs délais », own schedules -> listed without a due date."""
    assert due(OM, "unlawful_instruction_found",
               "2026-03-02", "unlawful-instruction-notice") is None
    assert due(OM, "data_subject_request", "2026-03-02", "dsr-forward") is None
    assert due(OM, "inaccurate_data_found", "2026-03-02", "inaccurate-data-notice") is None
    assert due(OM, "personal_data_breach", "2026-03-02", "personal-data-breach-notice") is None
    assert due(OM, "deletion_request", "2026-03-02", "atd-deletion-or-return") is None


# --- Statement of work -----------------------------------------------------------------------

def test_pmo_engagement_sow_ten_days_after_go_live():
    """SOW Go-Live: go-live 2 March 2026 -> PMO engaged until 12 March."""
    assert due(OM, "go_live", "2026-03-02", "pmo-engagement") == "2026-03-12"


def test_custom_services_warranty_sow_60_days():
    """SOW 6.a: go-live 2 March 2026; Mar 3-31 = 29, Apr = 30 (59), 1 May = 60."""
    assert due(OM, "go_live", "2026-03-02", "custom-services-warranty") == "2026-05-01"


def test_sow_fee_validity_90_days():
    """SOW fees: delivered 2 March 2026; Mar 29 + Apr 30 = 59, May 1-31 = 31 (90) -> 31 May."""
    assert due(OM, "sow_delivered", "2026-03-02", "sow-fee-validity") == "2026-05-31"


def test_sow_payment_30_days_after_execution():
    """SOW fees: executed 2 March 2026 -> pay by 1 April."""
    assert due(OM, "sow_signed", "2026-03-02", "sow-payment") == "2026-04-01"


def test_integration_pack_expiry_six_months_month_end():
    """SOW fees: subscription start 31 August 2026 + 6 months -> 28 February 2027 (clamped)."""
    assert due(OM, "contract_start", "2026-08-31", "integration-pack-expiry") == "2027-02-28"
