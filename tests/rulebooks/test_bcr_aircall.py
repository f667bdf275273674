"""Date-in / date-out tests for the BCR Teleatendimento (bcr) and Aircall (aircall) rulebooks.

Every expected date was counted by hand on a printed calendar (python -m calendar), with the
conventions of DESIGN.md "How time is counted": the trigger day is not counted; months go to the
same day number, clamped to the month's end; hours are exact elapsed time; business hours only
inside the schedule; no roll unless asked. BCR counts in America/Sao_Paulo (UTC-03:00 all year,
no DST since 2019); Aircall's default region ("other") counts in Europe/Paris (CET +01:00 until
29 March 2026 02:00, then CEST +02:00).
"""

from __future__ import annotations

from duedates import alternatives, deadline, deadlines_of, due, dues

from deadlines.api import compute_json

# =============================================================================================
# BCR Teleatendimento (America/Sao_Paulo, BR-SP)
# =============================================================================================


def test_bcr_cure_3_3_1_ten_days_after_notice():
    """3.3.1 « 10 (dix) jours suivant la notification écrite »: 2 Mar not counted;
    day 10 = 12 Mar."""
    assert due("bcr", "breach_notice", "2026-03-02", "cure") == "2026-03-12"


def test_bcr_terminate_for_cause_3_2_day_after_cure():
    """3.2: immediate termination once the cure ends (12 Mar) -> right opens 13 Mar."""
    assert due("bcr", "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-03-13"


def test_bcr_cure_ending_on_saturday_not_rolled_by_default():
    """3.3.1: 4 Mar + 10 days = Sat 14 Mar; no roll by default."""
    assert due("bcr", "breach_notice", "2026-03-04", "cure") == "2026-03-14"


def test_bcr_cure_ending_on_saturday_rolled_when_asked():
    """Same count with roll=following: Sat 14 Mar -> Mon 16 Mar (a business day in BR-SP)."""
    assert due("bcr", "breach_notice", "2026-03-04", "cure", roll="following") == "2026-03-16"


def test_bcr_payment_cure_4_2_fifteen_days_after_default_notice():
    """4.2 « si le défaut reste plus de 15 jours »: notice 2 Mar; day 15 = 17 Mar."""
    assert due("bcr", "payment_default", "2026-03-02", "payment-cure") == "2026-03-17"


def test_bcr_payment_suspension_4_2_day_sixteen():
    """4.2: more than 15 days -> suspension on day 16 = 18 Mar."""
    assert due("bcr", "payment_default", "2026-03-02", "payment-suspension") == "2026-03-18"


def test_bcr_payment_termination_4_2_after_thirty_days_of_interruption():
    """4.2 « après une 30 (trente) jours d'interruption totale »: suspended 18 Mar; the 30 whole
    days of interruption are 19 Mar - 17 Apr, so the right opens 18 Apr (18 Mar + 31 days).
    For a right the primary is the latest opening date."""
    assert due("bcr", "payment_default", "2026-03-02", "payment-termination") == "2026-04-18"


def test_bcr_payment_termination_alternative_counts_the_suspension_day():
    """Reading: the suspension day is day 1 -> 18 Mar + 30 = 17 Apr (one day earlier)."""
    assert alternatives("bcr", "payment_default", "2026-03-02", "payment-termination") == [
        "2026-04-17"]


def test_bcr_uptime_6_2_each_calendar_month_closes_at_month_end():
    """6.2 « n'importe quel mois calendaire »: start 15 Jan 2026 -> 31 Jan, 28 Feb, 31 Mar, ..."""
    assert dues("bcr", "contract_start", "2026-01-15", "uptime", 3) == [
        "2026-01-31", "2026-02-28", "2026-03-31"]


def test_bcr_maintenance_cap_6_2_per_calendar_month():
    """6.2 « moins de quatre (4) heures par mois donné »: calendar months, as uptime."""
    assert dues("bcr", "contract_start", "2026-01-15", "maintenance-cap", 2) == [
        "2026-01-31", "2026-02-28"]


def test_bcr_maintenance_notice_6_2_seven_days_before():
    """6.2 « au moins sept (7) jours à l'avance »: maintenance 10 Mar -> notice by 3 Mar."""
    assert due("bcr", "maintenance_planned", "2026-03-10", "maintenance-notice") == "2026-03-03"


def test_bcr_eol_notice_6_3_six_months_before():
    """6,3 « au moins six (6) mois à l'avance »: EOL 30 Sep 2026 -> notice by 30 Mar 2026."""
    assert due("bcr", "eol_planned", "2026-09-30", "eol-notice") == "2026-03-30"


def test_bcr_eol_notice_6_3_month_end_clamped():
    """6 months before 31 Aug 2026: February has no 31st -> 28 Feb 2026."""
    assert due("bcr", "eol_planned", "2026-08-31", "eol-notice") == "2026-02-28"


def test_bcr_eol_earliest_6_3_six_months_after_notice():
    """Notice 2 Mar 2026 -> earliest EOL 2 Sep 2026."""
    assert due("bcr", "eol_notice", "2026-03-02", "eol-earliest") == "2026-09-02"


def test_bcr_eol_earliest_month_end_clamped():
    """Notice 31 Aug 2026 + 6 months: no 31 Feb 2027, and 6 months back from 28 Feb is only
    28 Aug, so the right opens on 1 Mar 2027 (as Código Civil art. 132 §3 also counts)."""
    assert due("bcr", "eol_notice", "2026-08-31", "eol-earliest") == "2027-03-01"


def test_bcr_data_access_request_notice_7_8_fifteen_days_before():
    """7,8 « 15 (cinq) jours à l'avance »: wanted 20 Mar; digits 15 -> request by 5 Mar."""
    assert due("bcr", "data_access_planned", "2026-03-20", "data-access-request-notice") == \
        "2026-03-05"


def test_bcr_data_access_request_notice_alternative_five_days():
    """Word « cinq »: 20 Mar - 5 days = 15 Mar."""
    assert alternatives("bcr", "data_access_planned", "2026-03-20",
                        "data-access-request-notice") == ["2026-03-15"]


def test_bcr_data_access_response_7_8_five_days_primary():
    """Provider side: request 2 Mar; word « cinq » (earlier for the provider) -> 7 Mar."""
    assert due("bcr", "data_access_request", "2026-03-02", "data-access-response") == "2026-03-07"


def test_bcr_data_access_response_alternative_fifteen_days():
    """Digits 15: 2 Mar + 15 = 17 Mar."""
    assert alternatives("bcr", "data_access_request", "2026-03-02",
                        "data-access-response") == ["2026-03-17"]


def test_bcr_authority_disclosure_notice_7_7_immediately_has_no_date():
    """7,7 « informera immédiatement »: no number -> listed with no due date."""
    assert due("bcr", "authority_disclosure", "2026-03-02", "authority-disclosure-notice") is None


def test_bcr_security_breach_report_7_9_twenty_four_hours():
    """7,9 « dans un délai de 24 heures »: 2 Mar 10:00 (-03:00) + 24 h = 3 Mar 10:00."""
    assert due("bcr", "incident_identified", "2026-03-02T10:00", "security-breach-report") == \
        "2026-03-03T10:00:00-03:00"


def test_bcr_incident_notice_b_twenty_four_hours_after_identification():
    """Pièce B (ii) « dans les vingt-quatre (24) heures suivant l'identification »."""
    assert due("bcr", "incident_identified", "2026-03-02T10:00", "incident-notice") == \
        "2026-03-03T10:00:00-03:00"


def test_bcr_incident_notice_accepts_offset_time():
    """Trigger given with an offset: 13:00 UTC = 10:00 in São Paulo; + 24 h = 3 Mar 10:00 -03:00."""
    assert due("bcr", "incident_identified", "2026-03-02T13:00:00+00:00", "incident-notice") == \
        "2026-03-03T10:00:00-03:00"


def test_bcr_incident_report_b_three_days_after_identification():
    """Pièce B (ii) « dans les trois (3) jours qui suivent »: primary from identification,
    2 Mar not counted -> 5 Mar."""
    assert due("bcr", "incident_identified", "2026-03-02T10:00", "incident-report") == "2026-03-05"


def test_bcr_incident_report_alternative_three_days_after_notice():
    """Reading: after the 24-hour notice, due 3 Mar -> 3 Mar not counted -> 6 Mar."""
    assert alternatives("bcr", "incident_identified", "2026-03-02T10:00",
                        "incident-report") == ["2026-03-06"]


def test_bcr_incident_no_number_duties_have_no_date():
    """Pièce B (i) « immédiatement », (iii) « rapidement »: listed, no due date."""
    assert due("bcr", "incident_identified", "2026-03-02T10:00", "incident-containment") is None
    assert due("bcr", "incident_identified", "2026-03-02T10:00", "incident-info-response") is None


def test_bcr_support_response_critical_30_minutes_round_the_clock():
    """Affiche A 2(a): 30 min, 24 h a day, 365 days: Sat 7 Mar 23:50 -> Sun 8 Mar 00:20."""
    assert due("bcr", "support_request", "2026-03-07T23:50", "support-response",
               severity="critical") == "2026-03-08T00:20:00-03:00"


def test_bcr_support_response_accepts_alias():
    """Alias « critique » = critical: Mon 2 Mar 10:00 + 30 min = 10:30."""
    assert due("bcr", "support_request", "2026-03-02T10:00", "support-response",
               severity="critique") == "2026-03-02T10:30:00-03:00"


def test_bcr_support_update_critical_every_30_minutes():
    """2(a) updates every 30 minutes: first one 30 min after the request, 10:30."""
    assert due("bcr", "support_request", "2026-03-02T10:00", "support-update",
               severity="critical") == "2026-03-02T10:30:00-03:00"


def test_bcr_support_update_critical_alternative_after_response():
    """Reading: 30 min after the response due at 10:30 -> 11:00."""
    assert alternatives("bcr", "support_request", "2026-03-02T10:00", "support-update",
                        severity="critical") == ["2026-03-02T11:00:00-03:00"]


def test_bcr_support_response_major_one_hour():
    """2(b) « dans un (1) heure, 24 h/24 »: Sun 8 Mar 10:00 -> 11:00 (weekends count)."""
    assert due("bcr", "support_request", "2026-03-08T10:00", "support-response",
               severity="major") == "2026-03-08T11:00:00-03:00"


def test_bcr_support_update_major_hourly_and_alternative():
    """2(b) updates « toutes les heures (1) »: 10:00 -> 11:00; reading after response -> 12:00."""
    d = deadline("bcr", "support_request", "2026-03-02T10:00", "support-update", severity="major")
    assert d["due"] == "2026-03-02T11:00:00-03:00"
    assert [a["due"] for a in d["alternatives"]] == ["2026-03-02T12:00:00-03:00"]


def test_bcr_support_response_other_six_support_hours_over_weekend():
    """2(c) 6 « heures Support »; 1(d) 09:00-24:00 Mon-Fri (São Paulo assumed).
    Fri 6 Mar 21:00: 3 h to midnight; Mon 9 Mar 09:00 + 3 h = 12:00."""
    assert due("bcr", "support_request", "2026-03-06T21:00", "support-response",
               severity="other") == "2026-03-09T12:00:00-03:00"


def test_bcr_support_response_other_request_outside_hours_starts_at_opening():
    """Sat 7 Mar 10:00: nothing counts until Mon 9 Mar 09:00; + 6 h = 15:00."""
    assert due("bcr", "support_request", "2026-03-07T10:00", "support-response",
               severity="other") == "2026-03-09T15:00:00-03:00"


def test_bcr_support_response_other_before_opening_same_day():
    """Mon 2 Mar 08:00: counting starts 09:00; + 6 h = 15:00."""
    assert due("bcr", "support_request", "2026-03-02T08:00", "support-response",
               severity="other") == "2026-03-02T15:00:00-03:00"


def test_bcr_support_response_other_holidays_not_skipped():
    """« toutes les semaines de l'année »: Good Friday 3 Apr 2026 is not skipped.
    Thu 2 Apr 20:00: 4 h to midnight; Fri 3 Apr 09:00 + 2 h = 11:00."""
    assert due("bcr", "support_request", "2026-04-02T20:00", "support-response",
               severity="other") == "2026-04-03T11:00:00-03:00"


def test_bcr_support_update_weekly_2_e():
    """2(e) « au moins une fois par semaine »: request 2 Mar -> first weekly update 9 Mar."""
    assert due("bcr", "support_request", "2026-03-02T10:00", "support-update-weekly",
               severity="other") == "2026-03-09"


def test_bcr_support_resolution_2_d_has_no_date():
    """2(d) « dans un délai commercialement raisonnable »: no number."""
    assert due("bcr", "support_request", "2026-03-02T10:00", "support-resolution",
               severity="major") is None


def test_bcr_deletion_b_21_days_after_request():
    """Pièce B « pas plus de vingt-et-un (21) jours après la date de la demande »:
    2 Mar -> 23 Mar."""
    assert due("bcr", "deletion_request", "2026-03-02", "deletion") == "2026-03-23"


def test_bcr_deletion_b_21_days_after_end_of_services():
    """« ou de l'arrêt des services »: services ended 2 Mar -> 23 Mar."""
    assert due("bcr", "services_ended", "2026-03-02", "deletion") == "2026-03-23"


def test_bcr_deletion_certificate_b_thirty_days_primary_from_request():
    """« dans les trente (30) jours suivant. » (no anchor): primary from the request,
    2 Mar + 30 = 1 Apr."""
    assert due("bcr", "deletion_request", "2026-03-02", "deletion-certificate") == "2026-04-01"


def test_bcr_deletion_certificate_alternative_thirty_days_after_deletion():
    """Reading from the deletion: due 23 Mar + 30 = 22 Apr."""
    assert alternatives("bcr", "deletion_request", "2026-03-02", "deletion-certificate") == [
        "2026-04-22"]
    assert alternatives("bcr", "services_ended", "2026-03-02", "deletion-certificate") == [
        "2026-04-22"]


def test_bcr_access_revocation_b_24_hours():
    """Pièce B « dans un délai de vingt-quatre (24) heures suivant la fin de la nécessité »."""
    assert due("bcr", "access_need_ended", "2026-03-02T10:00", "access-revocation") == \
        "2026-03-03T10:00:00-03:00"


def test_bcr_firewall_review_b_calendar_quarters_then_every_three_months_from_start():
    """« tous les trimestres » (seed line 1545) from 31 Jan 2026. Primary, calendar quarters
    (the earlier): 31 Mar, 30 Jun, 30 Sep. Other reading, every 3 months from the start:
    30 Apr (clamped), 31 Jul, 31 Oct (these were the primary dates before issue 10 item 3)."""
    assert dues("bcr", "contract_start", "2026-01-31", "firewall-review", 3) == [
        "2026-03-31", "2026-06-30", "2026-09-30"]
    reviews = deadlines_of("bcr", "contract_start", "2026-01-31", "firewall-review")[:3]
    assert [d["alternatives"][0]["due"] for d in reviews] == [
        "2026-04-30", "2026-07-31", "2026-10-31"]


def test_bcr_log_retention_b_one_year():
    """« pendant au moins un (1) an »: log of 2 Mar 2026 kept through 2 Mar 2027."""
    assert due("bcr", "log_created", "2026-03-02", "log-retention") == "2027-03-02"


def test_bcr_log_retention_leap_day_clamped():
    """29 Feb 2028 + 1 year = 28 Feb 2029."""
    assert due("bcr", "log_created", "2028-02-29", "log-retention") == "2029-02-28"


def test_bcr_no_number_duties_have_no_date():
    assert due("bcr", "antivirus_definitions_released", "2026-03-02", "antivirus-update") is None
    assert due("bcr", "vulnerability_identified", "2026-03-02",
               "vulnerability-remediation") is None


def test_bcr_report_uses_sao_paulo():
    report = compute_json("bcr", "breach_notice", "2026-03-02")
    assert report["timezone"] == "America/Sao_Paulo"
    assert report["calendar"] == "BR-SP"


# =============================================================================================
# Aircall (regions; default "other" = France, Europe/Paris, FR)
# =============================================================================================


def test_aircall_cure_11_3_thirty_days_after_receipt():
    """11.3(a) « trente (30) jours après réception de l'avis écrit »: 2 Mar -> 1 Apr."""
    assert due("aircall", "breach_notice", "2026-03-02", "cure") == "2026-04-01"


def test_aircall_terminate_for_cause_day_after_cure():
    assert due("aircall", "breach_notice", "2026-03-02", "terminate-for-cause") == "2026-04-02"


def test_aircall_suspension_notice_deadline_11_2_has_no_date():
    """11.2 « le délai fourni par Aircall dans l'avis »: no number in the text."""
    assert due("aircall", "breach_notice", "2026-03-02", "suspension-notice-deadline") is None


def test_aircall_payment_suspension_and_termination_effects_have_no_date():
    assert due("aircall", "payment_due", "2026-03-02", "payment-suspension") is None
    assert due("aircall", "terminated", "2026-03-02", "termination-effects") is None


def test_aircall_eol_notice_11_5_six_months_before():
    """11.5 « au moins six (6) mois à l'avance »: EOL 30 Sep 2026 -> notice by 30 Mar 2026."""
    assert due("aircall", "eol_planned", "2026-09-30", "eol-notice") == "2026-03-30"


def test_aircall_eol_earliest_11_5_clamped_opens_october_1():
    """Notice 31 Mar 2026 + 6 months: no 31 Sep; 6 months back from 30 Sep is 30 Mar, before
    the notice, so the earliest end-of-life date is 1 Oct 2026."""
    assert due("aircall", "eol_notice", "2026-03-31", "eol-earliest") == "2026-10-01"


def test_aircall_claim_notice_10_4_one_year():
    """10.4 « DANS UN (1) AN APRÈS LA RÉCLUSION »: 2 Mar 2026 -> 2 Mar 2027."""
    assert due("aircall", "claim_known", "2026-03-02", "claim-notice") == "2027-03-02"


def test_aircall_claim_notice_leap_day():
    """29 Feb 2028 + 1 year = 28 Feb 2029."""
    assert due("aircall", "claim_known", "2028-02-29", "claim-notice") == "2029-02-28"


def test_aircall_liability_lookback_10_4_twelve_months_digits():
    """« DEUX (12) MOIS AVANT LA RÉCLUSION »: digits, claim 30 Apr 2026 -> 30 Apr 2025."""
    assert due("aircall", "claim_known", "2026-04-30", "liability-lookback") == "2025-04-30"


def test_aircall_liability_lookback_alternative_two_months_clamped():
    """Word « DEUX »: 2 months before 30 Apr 2026 = 28 Feb 2026 (clamped)."""
    assert alternatives("aircall", "claim_known", "2026-04-30", "liability-lookback") == [
        "2026-02-28"]


def test_aircall_dispute_standstill_12_3_thirty_days_after_sending():
    """12.3 « trente (30) jours après l'envoi »: sent 2 Mar -> standstill ends 1 Apr."""
    assert due("aircall", "dispute_notice", "2026-03-02", "dispute-standstill") == "2026-04-01"


def test_aircall_dispute_proceedings_next_day_and_alternative_same_day():
    """Right to start proceedings: 2 Apr; reading « le 30e jour »: 1 Apr."""
    d = deadline("aircall", "dispute_notice", "2026-03-02", "dispute-proceedings")
    assert d["due"] == "2026-04-02"
    assert [a["due"] for a in d["alternatives"]] == ["2026-04-01"]


def test_aircall_terms_update_notice_13_thirty_days_before():
    """13 « préavis de trente (30) jours »: effective 1 Apr -> notice by 2 Mar."""
    assert due("aircall", "terms_update_planned", "2026-04-01", "terms-update-notice") == \
        "2026-03-02"


def test_aircall_terms_update_effective_13_thirty_days_after_notification():
    assert due("aircall", "terms_update_notice", "2026-03-02", "terms-update-effective") == \
        "2026-04-01"


def test_aircall_exit_window_13_thirty_days_after_receipt():
    """13 « dans les trente (30) jours suivant la réception de la mise à jour »: 2 Mar -> 1 Apr."""
    assert due("aircall", "terms_update_notice", "2026-03-02", "exit-window") == "2026-04-01"


def test_aircall_exit_window_from_month_end():
    """Received 31 Jan 2026 + 30 days = 2 Mar 2026 (Feb has 28 days: 31 Jan + 28 = 28 Feb)."""
    assert due("aircall", "terms_update_notice", "2026-01-31", "exit-window") == "2026-03-02"


def test_aircall_usage_billing_5_1_monthly():
    """5.1 « tous les mois, en retard » (seed line 1615), start 15 Jan 2026. A right, so the
    later reading is primary (issue 10 item 4: its note named billing months without a date):
    billing months from the start, 15 Feb, 15 Mar, 15 Apr. Calendar months, the primary dates
    before, are the reading: 31 Jan, 28 Feb, 31 Mar."""
    assert dues("aircall", "contract_start", "2026-01-15", "usage-billing", 3) == [
        "2026-02-15", "2026-03-15", "2026-04-15"]
    months = deadlines_of("aircall", "contract_start", "2026-01-15", "usage-billing")[:3]
    assert [d["alternatives"][0]["due"] for d in months] == [
        "2026-01-31", "2026-02-28", "2026-03-31"]


def test_aircall_deletion_b_21_days_after_request():
    """Annexe B « en aucun cas plus de vingt et un (21) jours après la date de la demande »."""
    assert due("aircall", "deletion_request", "2026-03-02", "deletion") == "2026-03-23"


def test_aircall_deletion_certificate_b_primary_and_alternative():
    """« dans les trente (30) jours suivant. »: from the request 1 Apr; from deletion 22 Apr."""
    d = deadline("aircall", "deletion_request", "2026-03-02", "deletion-certificate")
    assert d["due"] == "2026-04-01"
    assert [a["due"] for a in d["alternatives"]] == ["2026-04-22"]


def test_aircall_log_retention_f_one_year():
    assert due("aircall", "log_created", "2026-03-02", "log-retention") == "2027-03-02"


def test_aircall_security_duties_without_number_have_no_date():
    """« sans délai injustifié », « ultérieurement », « rapidement », « régulièrement »."""
    for rule in ("incident-notice", "incident-report", "incident-containment",
                 "incident-info-response"):
        assert due("aircall", "incident_identified", "2026-03-02T10:00", rule) is None
    assert due("aircall", "access_need_ended", "2026-03-02T10:00", "access-revocation") is None
    assert due("aircall", "antivirus_definitions_released", "2026-03-02",
               "antivirus-update") is None
    assert due("aircall", "vulnerability_identified", "2026-03-02",
               "vulnerability-remediation") is None
    assert due("aircall", "document_request", "2026-03-02", "regulatory-cooperation") is None


def test_aircall_uptime_c_2a_calendar_months():
    """99,95 % « sur une base mensuelle »: start 10 Feb 2026 -> 28 Feb, 31 Mar."""
    assert dues("aircall", "contract_start", "2026-02-10", "uptime", 2) == [
        "2026-02-28", "2026-03-31"]


def test_aircall_no_period_contract_start_rules_listed_once():
    assert due("aircall", "contract_start", "2026-02-10", "firewall-review") is None
    assert due("aircall", "contract_start", "2026-02-10", "maintenance-cap") is None


def test_aircall_support_response_sev1_30_minutes_paris():
    """3(c) Gravité 1 « <30 minutes »: Mon 2 Mar 10:00 Paris (+01:00) -> 10:30."""
    assert due("aircall", "support_request", "2026-03-02T10:00", "support-response",
               severity="critical") == "2026-03-02T10:30:00+01:00"


def test_aircall_support_response_sev1_across_dst_change():
    """29 Mar 2026 01:45 CET (00:45 UTC) + 30 min = 01:15 UTC = 03:15 CEST."""
    assert due("aircall", "support_request", "2026-03-29T01:45", "support-response",
               severity="gravité 1") == "2026-03-29T03:15:00+02:00"


def test_aircall_support_response_sev1_us_region():
    """Region us counts in New York: 2 Mar 10:00 (-05:00) + 30 min = 10:30-05:00."""
    assert due("aircall", "support_request", "2026-03-02T10:00", "support-response",
               severity="p1", region="us") == "2026-03-02T10:30:00-05:00"


def test_aircall_support_response_sev2_clock_hours_and_coverage_alternative():
    """Gravité 2 « <2 heures (24 h/5 j) »: Sat 7 Mar 10:00 Paris -> 12:00 (clock time).
    Reading inside coverage Sun 22:00-Fri 23:00 GMT: opens Sun 8 Mar 22:00 UTC + 2 h
    = Mon 9 Mar 00:00 UTC = 01:00 Paris."""
    d = deadline("aircall", "support_request", "2026-03-07T10:00", "support-response",
                 severity="major")
    assert d["due"] == "2026-03-07T12:00:00+01:00"
    assert [a["due"] for a in d["alternatives"]] == ["2026-03-09T01:00:00+01:00"]


def test_aircall_support_response_sev3_six_business_hours_over_weekend():
    """Grav. 3 « <6 ouvrées heures » in the English coverage: Fri 6 Mar 22:00 UTC: 1 h to
    23:00; Sun 8 Mar 22:00 UTC + 5 h = Mon 9 Mar 03:00 UTC = 04:00 Paris."""
    assert due("aircall", "support_request", "2026-03-06T22:00:00+00:00", "support-response",
               severity="moderate") == "2026-03-09T04:00:00+01:00"


def test_aircall_support_response_sev3_midweek():
    """Wed 4 Mar 10:00 Paris = 09:00 UTC, inside coverage; + 6 h = 15:00 UTC = 16:00 Paris."""
    assert due("aircall", "support_request", "2026-03-04T10:00", "support-response",
               severity="sev3") == "2026-03-04T16:00:00+01:00"


def test_aircall_support_response_sev4_twelve_business_hours_over_weekend():
    """Grav. 4 « <12 ouvrables heures »: Fri 6 Mar 20:00 UTC: 3 h to 23:00; Sun 22:00 UTC + 9 h
    = Mon 9 Mar 07:00 UTC = 08:00 Paris."""
    assert due("aircall", "support_request", "2026-03-06T20:00:00+00:00", "support-response",
               severity="minor") == "2026-03-09T08:00:00+01:00"


def test_aircall_support_response_sev4_australia_region():
    """Region au (Sydney, +11:00): Mon 2 Mar 10:00 = Sun 1 Mar 23:00 UTC, inside coverage
    (opened 22:00 UTC); + 12 h = 2 Mar 11:00 UTC = 22:00 Sydney."""
    assert due("aircall", "support_request", "2026-03-02T10:00", "support-response",
               severity="minor", region="au") == "2026-03-02T22:00:00+11:00"


def test_aircall_customer_support_cooperation_has_no_date():
    assert due("aircall", "support_request", "2026-03-02T10:00", "customer-support-cooperation",
               severity="minor") is None


def test_aircall_regions_pick_zone_and_calendar():
    assert compute_json("aircall", "breach_notice", "2026-03-02")["timezone"] == "Europe/Paris"
    us = compute_json("aircall", "breach_notice", "2026-03-02", region="us")
    assert (us["timezone"], us["calendar"]) == ("America/New_York", "US-NY")
    au = compute_json("aircall", "breach_notice", "2026-03-02", region="au")
    assert (au["timezone"], au["calendar"]) == ("Australia/Sydney", "AU-NSW")
    assert due("aircall", "breach_notice", "2026-03-02", "cure", region="mx") == "2026-04-01"
