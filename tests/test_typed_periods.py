"""A period is typed the same way everywhere: `add`, `status --within`, a log's reminders and a
rulebook's `period:` all go through one parser (`Period.parse`) and fail with one wording."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines.cli import cli

EVENTS = str(Path(__file__).resolve().parent.parent / "events")  # the shipped example
NOT_A_PERIOD = ("is not a period; expected e.g. 30d, 30 days, 2w, 48h, 90min, 1 month, 1y or "
                "30 business days")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("period", ["30d", "30 days", "30days", "30 calendar days"])
def test_add_takes_the_short_and_the_long_form(period: str) -> None:
    """31 January not counted; day 30 is 2 March 2026."""
    code, out, _ = run("add", "2026-01-31", period)
    assert code == 0
    assert out.splitlines()[0] == "2026-03-02"


@pytest.mark.parametrize(("period", "due"), [("2w", "2026-03-16"), ("1 month", "2026-04-02"),
                                             ("1y", "2027-03-02")])
def test_add_weeks_months_years(period: str, due: str) -> None:
    code, out, _ = run("add", "2026-03-02", period)
    assert (code, out.splitlines()[0]) == (0, due)


def test_add_hours_short_form_is_elapsed_time() -> None:
    """48 hours from 28 March 10:00 in Paris cross the change to summer time (29 March)."""
    code, out, _ = run("add", "2026-03-28T10:00", "48h", "--tz", "Europe/Paris")
    assert (code, out.splitlines()[0]) == (0, "2026-03-30T11:00:00+02:00")


@pytest.mark.parametrize("within", ["7d", "7 days", "1w", "168h", "1 week"])
def test_status_within_takes_every_form(within: str) -> None:
    code, out, _ = run("status", EVENTS, "--as-of", "2026-11-26", "--within", within)
    assert code == 0
    # the maintenance notice of the example (due 4 December: seven clear days before the
    # maintenance of 12 December, issue 10 item 4; 5 December before) lies beyond 7 days
    assert "due-within 2026-12-01" in out and "2026-12-04" not in out


def test_status_within_a_month() -> None:
    code, out, _ = run("status", EVENTS, "--as-of", "2026-11-26", "--within", "1 month")
    assert code == 0
    assert "due-within 2026-12-04" in out


@pytest.mark.parametrize(("args", "typed"), [
    (("add", "2026-01-31", "30x"), "30x"),
    (("status", EVENTS, "--within", "7"), "7"),
    (("status", EVENTS, "--within", "a week"), "a week"),
])
def test_one_wording_for_a_bad_period(args: tuple[str, ...], typed: str) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert f"{typed!r} {NOT_A_PERIOD}" in err
    assert "reminder" not in err


def test_within_says_which_option_is_wrong() -> None:
    _, _, err = run("status", EVENTS, "--within", "7")
    assert err.startswith("deadlines: error: --within: '7' is not a period")


def test_within_in_business_days_is_refused_plainly() -> None:
    """Contracts count business days on different calendars; a window across them cannot."""
    code, _, err = run("status", EVENTS, "--within", "3 business days")
    assert code == 2
    assert "business days need a business calendar" in err


def _log(tmp_path: Path, reminders: str) -> Path:
    events = tmp_path / "events"
    events.mkdir()
    (events / "rem.yaml").write_text(
        "contract:\n  id: rem\n  agreement: freshhawk-standard\n  start: 2026-01-05\n"
        f"  reminders: {reminders}\n"
        "events:\n  - id: breach-1\n    type: breach_notice\n    at: 2026-01-30\n",
        encoding="utf-8")
    return events


def test_reminders_take_every_form_and_a_month_counts_to_the_same_day(tmp_path: Path) -> None:
    """Breach notice 30 January: the cure period ends 1 March (30 days). A reminder "1 month"
    before rings on 1 February, 28 days before; "48h" is 2 days; "2w" 14 days."""
    events = _log(tmp_path, "[1 month, 48h, 2w]")
    code, _, err = run("build", str(events), "--out", str(tmp_path / "feeds"), "--as-of",
                       "2026-02-01")
    assert code == 0, err
    feed = (tmp_path / "feeds" / "contracts" / "rem.ics").read_text(encoding="utf-8")
    cure = feed[feed.index("SUMMARY:Cure period"):]
    cure = cure[:cure.index("END:VEVENT")]
    assert "DTSTART;VALUE=DATE:20260301" in cure
    triggers = [line for line in cure.splitlines() if line.startswith("TRIGGER")]
    assert triggers == ["TRIGGER:-P28D", "TRIGGER:-P2D", "TRIGGER:-P14D"]


def test_a_bad_reminder_is_file_line_field_and_the_period_wording(tmp_path: Path) -> None:
    events = _log(tmp_path, "[7d, 7]")
    code, _, err = run("status", str(events))
    assert code == 2
    assert f"rem.yaml:5: contract.reminders[1]: '7' {NOT_A_PERIOD}" in err


def test_a_rulebook_period_takes_the_short_form_too(mini: str, tmp_path: Path) -> None:
    text = Path(mini).read_text(encoding="utf-8").replace("period: 30 days", "period: 30d", 1)
    assert "period: 30d" in text
    book = tmp_path / "short.yaml"
    book.write_text(text, encoding="utf-8")
    code, out, _ = run("compute", str(book), "breach_notice", "2026-03-02")
    assert code == 0
    assert "2026-04-01" in out


def test_a_window_or_reminder_of_centuries_is_refused_at_its_option_or_field(
        tmp_path: Path) -> None:
    """99999 years once failed as "2026-12-02 +1199988 months is outside years 1-9999",
    naming neither the option nor the log's line; windows and reminders stop at 10 years."""
    code, _, err = run("status", EVENTS, "--within", "99999 years")
    assert code == 2 and err == "deadlines: error: --within: '99999 years': expected at " \
        "most 10 years\n"
    assert run("status", EVENTS, "--as-of", "2026-11-26", "--within", "10 years")[0] == 0
    events = tmp_path / "events"
    events.mkdir()
    (events / "c.yaml").write_text("contract:\n  id: r1\n  agreement: zuper\n"
                                   "  start: 2026-01-01\n  reminders: [1d, 99999 years]\n"
                                   "events: []\n", encoding="utf-8")
    code, _, err = run("status", str(events))
    assert code == 2
    assert "c.yaml:5: contract.reminders[1]: '99999 years': expected at most 10 years" in err
