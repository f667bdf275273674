"""What a newcomer can look up without reading YAML: `deadlines rules` (agreements, zones,
regions, severities, events and what closes each rule), the region every output was counted
for, and for each deadline still open the `deadlines record` command that closes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines import api, rulebook
from deadlines.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SAMPLES = ROOT / "samples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- deadlines rules --------------------------------------------------------------------------

def test_rules_without_an_agreement_lists_the_agreements_with_their_defaults() -> None:
    code, out, _ = run("rules")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["AGREEMENT", "ZONE", "CALENDAR", "REGIONS", "NAME"]
    assert [line.split()[0] for line in lines[1:7]] == rulebook.available()
    assert any(line.split()[:3] == ["bcr", "America/Sao_Paulo", "BR-SP"] for line in lines)
    assert "us, ca, mx, eu, uk, au, other (default other)" in out


def test_rules_of_aircall_show_zone_calendar_regions_and_the_default_region() -> None:
    code, out, _ = run("rules", "aircall")
    assert code == 0
    assert "Zone Europe/Paris, business calendar FR, roll: none; governing law:" in out
    assert "Regions (--region; the default is other):" in out
    assert "  au     Australia/Sydney AU-NSW   New South Wales, Australia" in out


def test_rules_show_severities_with_their_aliases() -> None:
    _, out, _ = run("rules", "aircall")
    assert "  critical p1, sev1, severity 1, gravité 1, gravite 1" in out


def test_rules_show_every_trigger_event_with_its_meaning() -> None:
    _, out, _ = run("rules", "freshhawk-standard")
    book = rulebook.load("freshhawk-standard")
    for name, meaning in book.events.items():
        assert any(line.split()[:1] == [name] and meaning[:40] in line
                   for line in out.splitlines()), name


def test_each_rule_says_which_event_closes_it() -> None:
    """The shipped example's missed support-update is closed by `done --rule support-update`;
    support_responded closes support-response only."""
    info = api.agreement_info("freshhawk-enterprise")
    closing = {r["id"]: r["fulfilled_by"] for r in info["rules"]}
    assert closing["support-response"] == ["support_responded", "done --rule support-response"]
    assert closing["support-update"] == ["done --rule support-update"]
    assert closing["cure"] == ["breach_cured", "done --rule cure"]
    assert closing["terminate-for-cause"] == []  # a right: nothing to record
    _, out, _ = run("rules", "freshhawk-enterprise")
    assert any(line.split()[:2] == ["cure", "obligation"] and " breach_cured " in line
               for line in out.splitlines())


def test_rules_events_lists_just_the_events() -> None:
    code, out, _ = run("rules", "bcr", "--events")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["EVENT", "KIND", "MEANING"]
    kinds = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert kinds["breach_notice"] == "trigger"
    assert kinds["breach_cured"] == "fulfilment"
    assert kinds["done"] == "fulfilment" and kinds["withdrawn"] == "withdrawal"
    assert kinds["contract_start"] == "start"
    assert "Rules" not in out and "RULE" not in out


def test_the_events_are_exactly_what_a_log_of_the_agreement_may_record() -> None:
    """Triggers from the rulebook, the fulfilments of its own rules, done and withdrawn."""
    for name in rulebook.available():
        book = rulebook.load(name)
        listed = {e["type"] for e in api.agreement_info(name)["events"]}
        own = {kind for rule in book.rules for kind in rule.fulfilled_by}
        assert listed == set(book.events) | own | {"done", "withdrawn"}, name


def test_rules_json_has_the_same_facts() -> None:
    code, out, _ = run("rules", "aircall", "--format", "json")
    assert code == 0
    info = json.loads(out)
    assert set(info) == {"agreement", "name", "timezone", "calendar", "roll", "governing_law",
                         "parties", "sides", "default_region", "regions", "severities",
                         "events", "rules"}
    assert info["default_region"] == "other"
    assert {"region": "au", "timezone": "Australia/Sydney", "calendar": "AU-NSW",
            "law": "New South Wales, Australia (Annexe A: Australie)",
            "default": False} in info["regions"]
    assert info["severities"][0] == {"severity": "critical",
                                     "aliases": ["p1", "sev1", "severity 1", "gravité 1",
                                                 "gravite 1"]}
    cure = next(r for r in info["rules"] if r["id"] == "cure")
    assert cure["fulfilled_by"] == ["breach_cured", "done --rule cure"]
    _, events, _ = run("rules", "aircall", "--events", "--format", "json")
    assert json.loads(events) == info["events"]


def test_rules_tables_stay_aligned_with_long_cells() -> None:
    """Every column starts where its header starts, however long the cells before it."""
    _, out, _ = run("rules", "zuper")
    header, *table = out[out.index("\nRules ("):].splitlines()[2:]
    starts = [header.index(word) for word in ("KIND", "EVENT", "DIRECTION", "PERIOD", "ACTOR",
                                               "CLOSED BY", "CLAUSE")]
    for line in table:
        for start in starts:
            assert line[start - 1] == " " and line[start] != " ", line


def test_rules_events_without_an_agreement_is_refused() -> None:
    code, _, err = run("rules", "--events")
    assert code == 2
    assert err == "deadlines: error: --events needs an AGREEMENT\n"


# --- which region was used ---------------------------------------------------------------------

def test_compute_says_when_the_default_region_was_used() -> None:
    _, out, _ = run("compute", "aircall", "breach_notice", "2026-03-02")
    assert ("Zone Europe/Paris, business calendar FR, roll: none, region other (the default; "
            "--region picks us, ca, mx, eu, uk, au)") in out
    _, out, _ = run("compute", "aircall", "breach_notice", "2026-03-02", "--region", "au")
    assert "Zone Australia/Sydney, business calendar AU-NSW, roll: none, region au\n" in out


def test_compute_and_explain_json_carry_the_region() -> None:
    _, out, _ = run("compute", "aircall", "breach_notice", "2026-03-02", "--format", "json")
    assert json.loads(out)["region"] == "other"
    _, out, _ = run("explain", "aircall", "breach_notice", "2026-03-02", "--rule", "cure",
                    "--format", "json", "--region", "us")
    assert json.loads(out)[0]["region"] == "us"


def test_explain_says_the_region() -> None:
    _, out, _ = run("explain", "aircall", "breach_notice", "2026-03-02", "--rule", "cure")
    assert out.splitlines()[-1] == (
        "  Counted for region other (the default; --region picks us, ca, mx, eu, uk, au): zone "
        "Europe/Paris, business calendar FR.")


def test_an_agreement_without_regions_says_nothing_about_regions() -> None:
    _, out, _ = run("compute", "bcr", "breach_notice", "2026-03-02")
    assert "region" not in out.splitlines()[1]


def test_status_names_the_region_of_each_contract() -> None:
    _, out, _ = run("status", str(SAMPLES / "aircall" / "events"), "--as-of", "2026-06-01")
    assert out.splitlines()[0] == "Pine & Co - Aircall (pine-aircall, aircall, region eu)"
    _, out, _ = run("status", str(SAMPLES / "aircall" / "events"), "--as-of", "2026-06-01",
                    "--format", "json")
    assert {row["region"] for row in json.loads(out)} == {"eu"}


# --- what closes each open deadline -----------------------------------------------------------

@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the shipped example, so that `record` can write to it."""
    shutil.copytree(EVENTS, tmp_path / "events")
    return tmp_path / "events"


def test_status_gives_the_record_command_for_each_open_deadline(example: Path) -> None:
    """The shipped example has support_responded recorded for ticket-1, but support-update is a
    separate duty that only `done --rule support-update` closes."""
    log = example / "acme-freshhawk.yaml"
    _, out, _ = run("status", str(example), "--as-of", "2026-11-26")
    assert (f"  missed     2026-11-25T11:05:00+01:00 support-update (major)           theirs "
            f"provider clause Annexe B 2(b)\n"
            f"             when done: deadlines record {log} done --rule support-update "
            "--ref ticket-1\n") in out
    assert f"when done: deadlines record {log} data_deleted --ref deletion-1" in out


def test_running_the_command_closes_the_deadline(example: Path) -> None:
    _, out, _ = run("status", str(example), "--as-of", "2026-11-26", "--format", "json")
    row = next(r for r in json.loads(out) if r["rule"] == "support-update")
    words = row["record"].split()
    assert words[:2] == ["deadlines", "record"]
    code, said, err = run(*words[1:], "--at", "2026-11-26T10:00")
    assert code == 0, err
    assert "support-update (major)" in said and " late " in said
    _, out, _ = run("status", str(example), "--as-of", "2026-11-26", "--format", "json")
    row = next(r for r in json.loads(out) if r["rule"] == "support-update")
    assert (row["alert"], row["record"]) == ("late", None)


def test_a_duty_from_the_contract_start_gets_the_command_on_its_next_occurrence(
        example: Path) -> None:
    """`done --rule firewall-review` closes the earliest open occurrence due on or after its
    date. Calendar quarters are the primary reading (issue 10 item 3), so for the example
    (start 15 January 2026, reviews done 10 April and 14 July) the first quarter, due
    31 March, is missed and cannot be closed late; the fourth, due 31 December, can; so the
    command is given for that one only."""
    _, out, _ = run("status", str(example), "--as-of", "2026-11-26", "--within", "2 months",
                    "--format", "json")
    reviews = {r["due"]: r["record"] for r in json.loads(out) if r["rule"] == "firewall-review"}
    assert reviews == {
        "2026-03-31": None,
        "2026-12-31": f"deadlines record {example / 'acme-freshhawk.yaml'} done --rule "
                      "firewall-review"}


def test_the_feed_description_gives_the_command(example: Path, tmp_path: Path) -> None:
    code, _, err = run("build", str(example), "--out", str(tmp_path / "feeds"), "--as-of",
                       "2026-11-26")
    assert code == 0, err
    feed = (tmp_path / "feeds" / "contracts" / "acme-freshhawk.ics").read_bytes()
    feed = feed.replace(b"\r\n ", b"")
    assert (b"When done\\, record it (in the event logs' folder) with: deadlines record "
            b"acme-freshhawk.yaml done --rule support-update --ref ticket-1\\n") in feed


def test_sample_feeds_give_a_command_to_every_open_obligation_with_a_trigger() -> None:
    paths = sorted(SAMPLES.glob("*/expected/contracts/*.ics"))
    assert len(paths) == 6
    for path in paths:
        text = path.read_bytes().replace(b"\r\n ", b"").decode("utf-8")
        for event in text.split("BEGIN:VEVENT")[1:]:
            categories = next(line for line in event.splitlines()
                              if line.startswith("CATEGORIES:"))
            kind, state = categories.split(",")[-2:]
            triggered = "Set off by:" in event
            if kind == "obligation" and state in ("pending", "missed") and triggered:
                assert f"record it (in the event logs' folder) with: deadlines record " \
                       f"{path.stem}.yaml " in event, event[:300]


# --- record says what it did and what comes next ---------------------------------------------

EIGHT_LINES = """contract:
  id: eight
  agreement: freshhawk-standard
  start: 2026-01-05
events:
  - id: breach-1
    type: breach_notice
    at: 2026-03-02
"""


def test_record_prints_the_event_once_and_says_to_build(tmp_path: Path) -> None:
    log = tmp_path / "eight.yaml"
    log.write_text(EIGHT_LINES, encoding="utf-8")
    code, out, _ = run("record", str(log), "breach_cured", "--at", "2026-03-20")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"Recorded breach_cured at 2026-03-20 in {log} "
                        "(id breach_cured@2026-03-20, for --ref)")
    assert lines[1].split()[:3] == ["2026-04-01", "cure", "met"]
    assert lines[-1] == ("Run `deadlines build` to update the feeds (`deadlines serve` picks "
                         "the change up by itself).")


@pytest.mark.parametrize(("args", "error"), [
    (("breach_cured", "--at", "2026-02-30"),
     "--at: '2026-02-30' is not a valid date: day is out of range for month"),
    (("breach_cured", "--at", "2026-03-20", "--ref", "nope"), "--ref: no earlier event 'nope'"),
    (("done", "--at", "2026-03-20"), "--rule: a 'done' event names the rule it fulfils"),
    (("breach_cured", "--at", "2026-03-20", "--id", "a b"),
     "--id: expected letters, digits, '.', '_' or '-'"),
    (("nope", "--at", "2026-03-20"), "TYPE: unknown event type 'nope'"),
])
def test_record_names_the_option_not_a_line_the_file_does_not_have(
        tmp_path: Path, args: tuple[str, ...], error: str) -> None:
    """The file has 8 lines; the checked copy with the new event has more. An error in the new
    event names the option that gave the value, and the file is left as it was."""
    log = tmp_path / "eight.yaml"
    log.write_text(EIGHT_LINES, encoding="utf-8")
    code, out, err = run("record", str(log), *args)
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"deadlines: error: {log}: {error}")
    assert line.endswith("; nothing was recorded")
    assert log.read_text(encoding="utf-8") == EIGHT_LINES


def test_an_error_in_the_file_itself_keeps_its_line(tmp_path: Path) -> None:
    log = tmp_path / "eight.yaml"
    log.write_text(EIGHT_LINES.replace("at: 2026-03-02", "at: 2026-02-30"), encoding="utf-8")
    _, _, err = run("record", str(log), "breach_cured", "--at", "2026-03-20")
    assert err.startswith(f"deadlines: error: {log}:8: events[0].at: ")


# --- one-off feeds and build -v ---------------------------------------------------------------

def test_a_one_off_feed_names_its_trigger_once() -> None:
    code, out, _ = run("compute", "openmethods", "incident_identified", "2026-03-02T10:00",
                       "--format", "ics")
    assert code == 0
    text = out.replace("\r\n ", "")
    assert "Set off by: incident_identified (2026-03-02T10:00:00-08:00)" in text
    assert "incident_identified incident_identified" not in text


def test_a_derived_event_id_is_not_repeated_but_a_given_one_is_shown(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "c.yaml").write_text(
        "contract: {id: c, agreement: freshhawk-standard, start: 2026-01-05}\n"
        "events:\n  - {type: breach_notice, at: 2026-03-02}\n"
        "  - {id: inc-1, type: incident_identified, at: '2026-03-03T10:00'}\n",
        encoding="utf-8")
    run("build", str(events), "--out", str(tmp_path / "feeds"), "--as-of", "2026-03-04")
    text = (tmp_path / "feeds" / "contracts" / "c.ics").read_bytes().decode("utf-8")
    text = text.replace("\r\n ", "")
    assert "Set off by: breach_notice (2026-03-02)" in text
    assert "Set off by: incident_identified inc-1 (2026-03-03T10:00)" in text


def test_build_verbose_sorts_occurrences_by_number(tmp_path: Path) -> None:
    """start/9 comes before start/22, as a person counts."""
    code, out, _ = run("build", str(SAMPLES / "zuper" / "events"), "--out",
                       str(tmp_path / "feeds"), "--as-of", "2026-06-01", "-v")
    assert code == 0
    meetings = [line.rsplit("/", 1)[1] for line in out.splitlines()
                if "/roadmap-meetings/start/" in line]
    assert len(meetings) > 10
    assert meetings == sorted(meetings, key=int)
