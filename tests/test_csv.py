"""CSV in and out: `status` and `compute` for a spreadsheet, and `deadlines import` of a sheet of
contracts into event logs (checked first, one line per error, nothing created; an existing log
never overwritten, `--update` merging its contract section only)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot

from deadlines.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout as written (click's `result.stdout` turns CRLF into LF), stderr."""
    result = CliRunner().invoke(cli, list(args), prog_name="deadlines")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- out -------------------------------------------------------------------------------------


def test_status_as_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "events", tmp_path / "events")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("status", "--as-of", "2026-11-26", "--format", "csv")
    assert code == 0
    assert out.startswith("contract,rule,due,status,owner,actor,clause,action,region\r\n")
    assert out.endswith("\r\n") and "\n" not in out.replace("\r\n", "")  # RFC 4180 line ends
    rows = read_csv(out)
    assert rows[2] == [
        "acme-freshhawk", "incident-report", "2026-11-23", "missed", "", "provider",
        "freshhawk-enterprise Annexe A (réponse aux incidents) (ii)",
        "Give the customer a written report on the Incident (nature, impact, investigation "
        "and corrective measures).", ""]  # FreshHawk counts no region
    assert rows[3][:4] == ["acme-freshhawk", "support-update (major)",
                           "2026-11-25T11:05:00+01:00", "missed"]
    assert [r[3] for r in rows[1:]] == ["missed", "missed", "missed", "due-within",
                                        "due-within"]
    # a comma inside a cell is quoted, as a spreadsheet expects
    assert ',"freshhawk-enterprise Annexe A (stockage, gestion et suppression des Données)",' \
        in out


def test_compute_as_csv() -> None:
    code, out, _ = run("compute", "freshhawk-standard", "breach_notice", "2026-03-02",
                       "--format", "csv")
    assert code == 0
    assert read_csv(out) == [
        ["contract", "rule", "due", "status", "owner", "actor", "clause", "action", "region"],
        ["", "cure", "2026-04-01", "", "", "provider", "freshhawk-standard 8.5",
         "Remedy the breach described in the customer's written notice.", ""],
        ["", "terminate-for-cause", "2026-04-02", "", "", "customer", "freshhawk-standard 8.5",
         "Terminate the agreement for cause (the breach was not remedied within the cure "
         "period).", ""],
    ]


def test_csv_says_the_region_the_dates_were_counted_for() -> None:
    """Aircall counts support hours by region: a count without --region uses the default
    (other), and the CSV says so on every row, as the text and JSON outputs do."""
    code, out, _ = run("compute", "aircall", "support_request", "2026-03-02T10:00",
                       "--severity", "critical", "--format", "csv")
    assert code == 0
    rows = read_csv(out)
    assert rows[0][-1] == "region" and {r[-1] for r in rows[1:]} == {"other"}
    code, out, _ = run("compute", "aircall", "support_request", "2026-03-02T10:00",
                       "--severity", "critical", "--region", "eu", "--format", "csv")
    assert {r[-1] for r in read_csv(out)[1:]} == {"eu"}


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    from deadlines.csvio import to_csv

    assert to_csv([["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "ok"]], header=["a"] * 5) \
        == 'a,a,a,a,a\r\n"\'=HYPERLINK(""x"")",\'+1,\'-2,\'@SUM(A1),ok\r\n'


# --- in --------------------------------------------------------------------------------------

SHEET = """\
id,agreement,start,timezone,calendar,region,role,name
acme-freshhawk,freshhawk-enterprise,2026-01-15,Europe/Paris,FR,,customer,"Acme, Inc - FreshHawk"
acme-aircall,aircall,2026-02-01,,,us,customer,Acme - Aircall
bakery-zuper,zuper,2026-03-01,,,,provider,Kiwi Bakery - Zuper
"""


@pytest.fixture
def sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "contracts.csv"
    path.write_text(SHEET, encoding="utf-8")
    return path


def test_import_creates_one_log_per_row(sheet: Path) -> None:
    code, out, _ = run("import", "contracts.csv")
    assert (code, out) == (0, "contracts.csv: 3 log(s) created, 0 updated, 0 unchanged in "
                              "events\n")
    assert (sheet.parent / "events" / "acme-freshhawk.yaml").read_text(encoding="utf-8") == (
        "# Event log created by `deadlines import` from contracts.csv, row 2.\n"
        "# Never delete an entry: withdraw one recorded in error with a `withdrawn` event.\n"
        "contract:\n"
        "  id: acme-freshhawk\n"
        "  agreement: freshhawk-enterprise\n"
        "  start: 2026-01-15\n"
        "  timezone: Europe/Paris\n"
        "  calendar: FR\n"
        "  role: customer\n"
        "  name: Acme, Inc - FreshHawk\n"
        "\n"
        "events:  # `deadlines record` appends here\n")
    code, out, _ = run("record", "events/acme-aircall.yaml", "breach_notice", "--at",
                       "2026-03-02", "--id", "breach-1")
    assert code == 0, out
    code, out, _ = run("status", "--as-of", "2026-03-30", "--format", "csv")
    assert read_csv(out)[1][:4] == ["acme-aircall", "cure", "2026-04-01", "due-within"]


def test_a_sheet_saved_by_excel_reads_the_same(sheet: Path) -> None:
    """Excel writes CSV UTF-8 with a byte-order mark and CRLF line ends."""
    sheet.write_bytes(b"\xef\xbb\xbf" + SHEET.replace("\n", "\r\n").encode("utf-8"))
    assert run("import", "contracts.csv")[0] == 0
    assert len(list((sheet.parent / "events").iterdir())) == 3


@pytest.mark.parametrize(("edit", "error"), [
    (lambda s: s.replace("2026-02-01", "2026-02-30"),
     "contracts.csv:3: start: '2026-02-30' is not a valid date"),
    (lambda s: s.replace(",aircall,", ",aircal,"),
     "contracts.csv:3: agreement: unknown agreement 'aircal'"),
    (lambda s: s.replace("Europe/Paris", "Europe/Pariss"),
     "contracts.csv:2: timezone: unknown time zone 'Europe/Pariss'"),
    (lambda s: s.replace(",us,", ",mars,"), "contracts.csv:3: region: unknown region 'mars'"),
    (lambda s: s.replace(",FR,", ",QQ,"), "contracts.csv:2: calendar: unknown business "
     "calendar"),
    (lambda s: s.replace(",provider,", ",vendor,"),
     "contracts.csv:4: role: expected customer or provider"),
    (lambda s: s.replace("bakery-zuper", "Bakery Zuper"),
     "contracts.csv:4: id: expected a lowercase slug"),
    (lambda s: s.replace("bakery-zuper", "acme-aircall"),
     "contracts.csv:4: id: 'acme-aircall' is also on row 3"),
    (lambda s: s.replace("bakery-zuper", "all"), "contracts.csv:4: id: 'all' is the name of"),
    (lambda s: s.replace(",2026-03-01,", ",,"), "contracts.csv:4: start: required: this cell "
     "is empty"),
    (lambda s: s.replace(",region,", ",regoin,"),
     "contracts.csv:1: regoin: unknown column; expected id, agreement, start"),
    (lambda s: s.replace("id,agreement", "agreement"),
     "contracts.csv:1: id: required column is missing"),
    (lambda s: s.replace(",customer,Acme - Aircall", ",customer"),
     "contracts.csv:3: expected 8 cells as in the header, found 7"),
    (lambda s: s.replace("Acme - Aircall", "Acme - Aircall\udcff"),
     "contracts.csv:3: not UTF-8 text (save the sheet as CSV UTF-8)"),
    # a quote opened on row 3 and never closed: the reader fails at the end of the file, but
    # the error names the line the unfinished record starts on
    (lambda s: s.replace("Acme - Aircall", '"Acme - Aircall'),
     "contracts.csv:3: not CSV: unexpected end of data (in the record that starts on this "
     "line)"),
])
def test_any_bad_row_is_one_line_and_creates_nothing(sheet: Path, edit: object,
                                                     error: str) -> None:
    assert callable(edit)
    sheet.write_bytes(edit(SHEET).encode("utf-8", "surrogateescape"))
    code, out, err = run("import", "contracts.csv")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"deadlines: error: {error}"), err
    assert not (sheet.parent / "events").exists()


def test_an_existing_log_is_never_overwritten(sheet: Path) -> None:
    assert run("import", "contracts.csv")[0] == 0
    events = sheet.parent / "events"
    before = snapshot(events)
    code, _, err = run("import", "contracts.csv")
    assert code == 2
    assert err == ("deadlines: error: contracts.csv:2: id: 'acme-freshhawk' already has a log "
                   "(events/acme-freshhawk.yaml); --update merges the row into it\n")
    # a file of that name holding another contract is not replaced either
    (events / "acme-freshhawk.yaml").rename(events / "renamed.yaml")
    (events / "other.yaml").write_text((events / "renamed.yaml").read_text(encoding="utf-8")
                                       .replace("id: acme-freshhawk", "id: other"),
                                       encoding="utf-8")
    (events / "renamed.yaml").rename(events / "acme-freshhawk.yaml.keep")
    (events / "other.yaml").rename(events / "acme-freshhawk.yaml")
    code, _, err = run("import", "contracts.csv", "--update")
    assert code == 2 and "acme-freshhawk.yaml exists and holds another contract" in err
    assert set(snapshot(events)) == set(before) | {"acme-freshhawk.yaml.keep"}


LOG_WITH_EVENTS = (
    "\ufeff# Acme's FreshHawk contract: hand-written, with comments\r\n"
    "contract:\r\n"
    "    id: acme-freshhawk      # the feed's name\r\n"
    "    agreement: freshhawk-enterprise\r\n"
    "    start: 2026-01-10\r\n"
    "    name: 'Acme - old name'  # renamed in the sheet\r\n"
    "    reminders: [7d, 1d]\r\n"
    "\r\n"
    "# What happened, oldest first\r\n"
    "events:\r\n"
    "  - id: ask-1   # by e-mail\r\n"
    "    type: incident_info_request\r\n"
    "    at: '2026-03-02'\r\n"
)


def test_update_merges_the_contract_section_and_keeps_every_other_byte(sheet: Path) -> None:
    events = sheet.parent / "events"
    events.mkdir()
    log = events / "acme.yaml"
    log.write_bytes(LOG_WITH_EVENTS.encode("utf-8"))
    code, out, _ = run("import", "contracts.csv", "--update")
    assert (code, out) == (0, "contracts.csv: 2 log(s) created, 1 updated, 0 unchanged in "
                              "events\n")
    after = log.read_bytes().decode("utf-8")
    assert after == (
        "\ufeff# Acme's FreshHawk contract: hand-written, with comments\r\n"
        "contract:\r\n"
        "    id: acme-freshhawk      # the feed's name\r\n"
        "    agreement: freshhawk-enterprise\r\n"
        "    start: 2026-01-15\r\n"
        "    name: Acme, Inc - FreshHawk  # renamed in the sheet\r\n"
        "    reminders: [7d, 1d]\r\n"
        "    timezone: Europe/Paris\r\n"
        "    calendar: FR\r\n"
        "    role: customer\r\n"
        "\r\n"
        "# What happened, oldest first\r\n"
        "events:\r\n"
        "  - id: ask-1   # by e-mail\r\n"
        "    type: incident_info_request\r\n"
        "    at: '2026-03-02'\r\n")
    code, out, _ = run("import", "contracts.csv", "--update")
    assert out == "contracts.csv: 0 log(s) created, 0 updated, 3 unchanged in events\n"
    assert log.read_bytes().decode("utf-8") == after


def test_an_update_that_would_break_the_events_changes_nothing(sheet: Path) -> None:
    """BCR's terms have no incident_info_request: the log's event would become unknown."""
    events = sheet.parent / "events"
    events.mkdir()
    (events / "acme.yaml").write_bytes(LOG_WITH_EVENTS.encode("utf-8"))
    sheet.write_text(SHEET.replace("freshhawk-enterprise", "bcr"), encoding="utf-8")
    before = snapshot(events)
    code, _, err = run("import", "contracts.csv", "--update")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("deadlines: error: contracts.csv:2: agreement, start, timezone, "
                          "calendar, role, name: the log would not be valid: "
                          "events/acme.yaml:"), err
    assert snapshot(events) == before


def test_a_failed_write_takes_back_what_the_import_wrote(
        sheet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deadlines import importing
    from deadlines.safeio import EnvironmentFault

    real = importing._create
    calls: list[Path] = []

    def fail_third(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise EnvironmentFault(f"no space left on device creating {path}")
        real(path, data)

    monkeypatch.setattr(importing, "_create", fail_third)
    code, _, err = run("import", "contracts.csv")
    assert code == 2 and "no space left on device" in err
    assert list((sheet.parent / "events").iterdir()) == []


def test_a_thousand_rows_import_and_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.chdir(tmp_path)
    agreements = ["freshhawk-standard", "freshhawk-enterprise", "openmethods", "bcr",
                  "aircall", "zuper"]
    lines = ["id,agreement,start,role,name"]
    for i in range(1000):
        lines.append(f'c{i:04d},{agreements[i % 6]},2026-{1 + i % 12:02d}-{1 + i % 28:02d},'
                     f'{"customer" if i % 3 else "provider"},"Customer {i}, Inc"')
    (tmp_path / "contracts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run("import", "contracts.csv")
    assert (code, out) == (0, "contracts.csv: 1000 log(s) created, 0 updated, 0 unchanged in "
                              "events\n")
    code, out, _ = run("build", "--as-of", "2026-06-01", "--horizon", "1", "--past-days", "0",
                       "-v")
    assert code == 0
    assert out.startswith("1000 contracts, ")
    assert len(list((tmp_path / "feeds" / "contracts").iterdir())) == 1000
