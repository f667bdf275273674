"""Event logs: file:line:field errors, exit code 2, and `record` keeping what a person wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot

from deadlines import api
from deadlines.cli import cli
from deadlines.errors import DeadlinesError
from deadlines.eventlog import load, load_dir

GOOD = """\
# A test contract. This comment must survive `record`.
contract:
  id: t-1
  agreement: freshhawk-standard
  start: 2026-01-15
  role: customer
  name: Test contract

events:
  - id: breach-1     # inline comment
    type: breach_notice
    at: 2026-03-02
    note: 'single-quoted note'
"""


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_log_loads(tmp_path: Path) -> None:
    log = load(write(tmp_path, GOOD))
    assert log.contract.id == "t-1"
    assert [e.id for e in log.events] == ["breach-1"]
    assert str(log.settings.zone) == "Australia/Melbourne"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("at: 2026-03-02", "at: 2026-02-30", ":12: events[0].at:", "not a valid date"),
        ("type: breach_notice", "type: breach_noticed", ":11: events[0].type:",
         "unknown event type 'breach_noticed'"),
        ("agreement: freshhawk-standard", "agreement: freshhawk", ":4: contract.agreement:",
         "unknown agreement"),
        ("  role: customer", "  role: landlord", ":6: contract.role:", "customer or provider"),
        ("  start: 2026-01-15", "  start: soon", ":5: contract.start:", "not a date"),
        ("  role: customer", "  role: customer\n  timezone: Mars/Base", ":7: contract.timezone:",
         "unknown time zone"),
        ("  role: customer", "  role: customer\n  colour: red", ":7: contract.colour:",
         "unknown field"),
        ("    note: 'single-quoted note'", "    note: x\n    ref: nowhere", ":14: events[0].ref:",
         "does not take a ref"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, old: str, new: str, where: str,
                                         message: str) -> None:
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(DeadlinesError) as info:
        load(path)
    text = info.value.render()
    assert text.startswith(str(path) + where), text
    assert message in text


def test_fulfilment_ref_to_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  - type: breach_cured\n    at: 2026-03-05\n    ref: breach-9\n")
    with pytest.raises(DeadlinesError, match=r":16: events\[1\]\.ref: no earlier event"):
        load(path)


def test_fulfilment_without_ref_closes_the_latest_open_trigger(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  - type: breach_cured\n    at: 2026-03-05\n")
    statuses = {t.deadline.rule.id: t.status for t in _track(path, "2026-06-01")}
    assert statuses["cure"] == "met"
    assert statuses["terminate-for-cause"] == "withdrawn"  # never opened: cured in time


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  - id: breach-1\n    type: breach_notice\n    at: 2026-04-01\n")
    with pytest.raises(DeadlinesError, match="duplicate event id 'breach-1'"):
        load(path)


def test_duplicate_contract_ids_in_a_directory(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(DeadlinesError, match="contract id 't-1' is also used by"):
        load_dir(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "anchors and aliases are not allowed"),
        ("contract: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_hostile_or_broken_yaml(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DeadlinesError, match=message):
        load(write(tmp_path, text))


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(GOOD.encode("utf-8") + b"  - note: \xff\xfe\n")
    with pytest.raises(DeadlinesError, match="not UTF-8"):
        load(path)


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load(path).contract.id == "t-1"


def _track(path: Path, as_of: str) -> list:  # type: ignore[type-arg]
    from deadlines.tracking import track

    return track(load(path), api.parse_as_of(as_of))


def test_statuses_met_late_missed_pending(tmp_path: Path) -> None:
    text = GOOD + (
        "  - id: inc-1\n    type: incident_identified\n    at: 2026-05-01T10:00\n"
        "  - type: incident_notified\n    at: 2026-05-02T11:00\n    ref: inc-1\n"  # 25 h: late
        "  - id: del-1\n    type: deletion_request\n    at: 2026-05-20\n"
        "  - type: data_deleted\n    at: 2026-05-25\n    ref: del-1\n"  # met (due 10 June)
    )
    statuses = {t.deadline.rule.id: t.status for t in _track(write(tmp_path, text), "2026-06-01")}
    assert statuses["cure"] == "missed"  # 30 days after 2 March: 1 April, not cured
    assert statuses["terminate-for-cause"] == "open"  # opened 2 April
    assert statuses["incident-notice"] == "late"
    assert statuses["incident-report"] == "missed"  # 3 days after 1 May = 4 May
    assert statuses["deletion"] == "met"
    assert statuses["deletion-certificate"] == "pending"


def test_actual_deletion_re_derives_the_certificate_reading(tmp_path: Path) -> None:
    text = GOOD + ("  - id: del-1\n    type: deletion_request\n    at: 2026-05-01\n"
                   "  - type: data_deleted\n    at: 2026-05-05\n    ref: del-1\n")
    cert = next(t for t in _track(write(tmp_path, text), "2026-05-06")
                if t.deadline.rule.id == "deletion-certificate")
    # primary: 30 days after the request (31 May); the chained reading runs from the actual
    # deletion on 5 May: 4 June.
    assert str(cert.deadline.due) == "2026-05-31"
    assert [str(a.due) for a in cert.deadline.alternatives] == ["2026-06-04"]


def test_withdrawn_trigger_withdraws_its_deadlines(tmp_path: Path) -> None:
    text = GOOD + "  - type: withdrawn\n    ref: breach-1\n    at: 2026-03-03\n"
    tracked = _track(write(tmp_path, text), "2026-06-01")
    statuses = {t.deadline.rule.id: t.status for t in tracked if t.trigger is not None}
    assert statuses == {"cure": "withdrawn", "terminate-for-cause": "withdrawn"}


# --- record --------------------------------------------------------------------------------


def test_record_appends_and_keeps_every_byte_before(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["record", str(path), "breach_cured", "--at", "2026-03-20",
                                      "--ref", "breach-1", "--note", "Fixed: SLA, see #12"])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text.startswith(GOOD)
    assert text[len(GOOD):] == ("  - type: breach_cured\n    at: 2026-03-20\n    ref: breach-1\n"
                                "    note: \"Fixed: SLA, see #12\"\n")
    assert "met" in result.output and "cure" in result.output
    assert load(path).events[-1].note == "Fixed: SLA, see #12"


def test_record_refuses_bad_input_and_leaves_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["record", str(path), "breach_cured", "--at", "2026-02-30",
                                      "--ref", "breach-1"])
    assert result.exit_code == 2
    assert "not a valid date" in result.stderr
    assert path.read_text(encoding="utf-8") == GOOD


def test_record_into_a_log_where_events_is_not_last(tmp_path: Path) -> None:
    text = ("events:\n  - id: b1\n    type: breach_notice\n    at: 2026-03-02\n"
            "# the contract\ncontract:\n  id: t-2\n  agreement: bcr\n  start: 2026-01-01\n")
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["record", str(path), "breach_cured", "--at", "2026-03-05",
                                      "--ref", "b1"])
    assert result.exit_code == 0, result.output
    new = path.read_text(encoding="utf-8")
    assert "# the contract" in new
    assert [e.type for e in load(path).events] == ["breach_notice", "breach_cured"]


def test_record_a_trigger_prints_what_it_sets_off(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["record", str(path), "incident_identified", "--at",
                                      "2026-04-04T10:00", "--id", "inc-9"])
    assert result.exit_code == 0, result.output
    assert "2026-04-05T09:00:00+10:00" in result.output  # 24 real hours across the DST change


# --- build and status through the CLI -------------------------------------------------------


def test_build_with_bad_input_touches_no_feed(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    write(events, GOOD)
    out = tmp_path / "feeds"
    assert CliRunner().invoke(cli, ["build", str(events), "--out", str(out), "--as-of",
                                    "2026-06-01"]).exit_code == 0
    before = snapshot(out)
    write(events, GOOD.replace("at: 2026-03-02", "at: 2026-13-02"), "t.yaml")
    result = CliRunner().invoke(cli, ["build", str(events), "--out", str(out), "--as-of",
                                      "2026-07-01"])
    assert result.exit_code == 2
    assert "t.yaml:12: events[0].at:" in result.stderr
    assert snapshot(out) == before


def test_build_is_quiet_on_success(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    write(events, GOOD)
    result = CliRunner().invoke(cli, ["build", str(events), "--out", str(tmp_path / "f"),
                                      "--as-of", "2026-06-01"])
    assert result.exit_code == 0 and result.output == ""


def test_status_fail_on(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    write(events, GOOD)
    ok = CliRunner().invoke(cli, ["status", str(events), "--as-of", "2026-03-10",
                                  "--fail-on", "missed"])
    assert ok.exit_code == 0
    alert = CliRunner().invoke(cli, ["status", str(events), "--as-of", "2026-04-10",
                                     "--fail-on", "missed,due-within"])
    assert alert.exit_code == 1
    assert "missed" in alert.output and "cure" in alert.output
    soon = CliRunner().invoke(cli, ["status", str(events), "--as-of", "2026-03-25",
                                    "--within", "14d", "--format", "json"])
    import json

    rows = json.loads(soon.output)
    assert [(r["rule"], r["due"], r["alert"]) for r in rows] == [
        # the first calendar quarter of a 15 January start (issue 10 item 3: calendar quarters
        # are the primary, earlier reading of « tous les trimestres »)
        ("firewall-review", "2026-03-31", "due-within"),
        ("cure", "2026-04-01", "due-within"),
        ("terminate-for-cause", "2026-04-02", "due-within"),  # the right opens the day after
    ]
