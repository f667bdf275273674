"""The CLI through click's CliRunner: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from deadlines.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_compute_text(mini: str) -> None:
    code, out, _ = run("compute", mini, "breach_notice", "2026-03-02")
    assert code == 0
    assert "2026-04-01" in out and "cure" in out
    assert "other reading: 30 business days -> 2026-04-16" in out


def test_compute_json_shape(mini: str) -> None:
    code, out, _ = run("compute", mini, "breach_notice", "2026-03-02", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["agreement"] == "mini" and data["event"] == "breach_notice"
    first = data["deadlines"][0]
    assert {"rule", "due", "actor", "action", "source", "explanation", "alternatives"} <= set(first)
    assert set(first["source"]) == {"clause", "lines", "quote"}
    assert first["alternatives"][0]["reading"] == "30 business days"


def test_explain_says_the_count_in_words(mini: str) -> None:
    code, out, _ = run("explain", mini, "breach_notice", "2026-03-02", "--rule", "cure")
    assert code == 0
    assert "2 March not counted; day 1 is 3 March; ... day 30 is Wednesday 1 April 2026." in out
    assert "Due: 2026-04-01" in out


def test_rules_catalog_json(mini: str) -> None:
    code, out, _ = run("rules", mini, "--format", "json")
    assert code == 0
    rows = json.loads(out)["rules"]
    assert {"agreement", "id", "event", "period", "actor", "source", "fulfilled_by"} <= set(rows[0])


def test_add_calculator() -> None:
    code, out, _ = run("add", "2026-03-02", "30 business days", "--calendar", "FR")
    assert code == 0
    assert out.splitlines()[0] == "2026-04-14"


def test_add_hours_with_zone() -> None:
    _code, out, _ = run("add", "2026-03-28T10:00", "24 hours", "--tz", "Europe/Paris")
    assert out.splitlines()[0] == "2026-03-29T11:00:00+02:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compute", "no-such-agreement", "breach_notice", "2026-03-02"), "unknown agreement"),
        (("compute", "MINI", "nope", "2026-03-02"), "unknown event 'nope'"),
        (("compute", "MINI", "breach_notice", "2026-02-30"), "not a valid date"),
        (("compute", "MINI", "breach_notice", "2026-03-02", "--tz", "Nowhere/City"),
         "unknown time zone"),
        (("compute", "MINI", "breach_notice", "2026-03-02", "--calendar", "QQ"),
         "unknown business calendar"),
        (("explain", "MINI", "breach_notice", "2026-03-02", "--rule", "nope"), "unknown rule"),
        (("add", "2026-03-02", "30 fortnights"), "not a period"),
        (("add", "2026-03-02", "3 business days"), "need --calendar"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(mini: str, args: tuple[str, ...], message: str) -> None:
    args = tuple(mini if a == "MINI" else a for a in args)
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deadlines: error:")
    assert message in lines[0]
    assert "Traceback" not in err


def test_hour_rule_with_a_date_warns_on_stderr(mini: str) -> None:
    code, out, err = run("compute", mini, "incident_identified", "2026-03-02")
    assert code == 0
    assert "deadlines: warning:" in err and "00:00" in err
    assert "2026-03-03T00:00:00+11:00" in out


def test_broken_rulebook_reports_file_line_field(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "broken.yaml"
    path.write_text(
        "id: broken\nname: Broken\ngoverning_law: {name: X}\ntimezone: UTC\ncalendar: FR\n"
        "events: {breach_notice: x}\nrules:\n  - id: cure\n    title: t\n"
        "    event: breach_notice\n    period: thirty days\n    actor: provider\n"
        "    action: a\n    clause: '1'\n    lines: [1]\n    quote: q\n"
        "parties: {provider: the provider, customer: the customer}\n"
        "sides: [customer, provider]\n", encoding="utf-8")
    code, _, err = run("compute", str(path), "breach_notice", "2026-03-02")
    assert code == 2
    assert f"{path}:11: rules[0].period: 'thirty days' is not a period" in err
