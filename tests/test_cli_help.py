"""Every command explains itself: `--help` on each one, every option with a help line, and
numeric options checked by click ranges (a bad value is exit 2 with one line)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deadlines.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def commands(group: click.Group = cli, path: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand, with the words that call it."""
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


ALL = list(commands())
IDS = [" ".join(path) or "deadlines" for path, _ in ALL]


def help_of(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
def test_every_option_has_a_help_line(path: tuple[str, ...], command: click.Command) -> None:
    undocumented = [p.name for p in command.params
                    if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not undocumented


@pytest.mark.parametrize(("path", "command"), ALL, ids=IDS)
def test_help_names_every_argument_and_cuts_no_line(path: tuple[str, ...],
                                                    command: click.Command) -> None:
    text = help_of(*path)
    body = text.split("Options:")[0]
    for argument in (p for p in command.params if isinstance(p, click.Argument)):
        metavar = argument.make_metavar(click.Context(command)).strip("[].")
        assert metavar in body.split("\n", 1)[1], f"{metavar} is not explained"
    assert not re.search(r"\b[A-Z]+_\b", text), "a metavar such as TYPE_ leaks a Python name"
    for line in text.splitlines()[1:]:  # the usage line ends with [ARGS]...
        assert not line.rstrip().endswith(("e.g.", "e.g", "...")), line


def test_the_command_list_shows_every_summary_whole() -> None:
    text = help_of()
    listed = text.split("Commands:")[1].strip().splitlines()
    assert [line.split()[0] for line in listed] == sorted(cli.commands)
    for line in listed:
        assert line.rstrip().endswith("."), f"cut summary: {line}"
    assert re.search(r"\n  add +A date plus a period, with no agreement: a calculator\.\n", text)


@pytest.mark.parametrize("command", ["build", "status", "serve"])
def test_folder_commands_say_the_default_folder_and_no_subfolders(command: str) -> None:
    text = " ".join(help_of(command).split())
    assert "(default: events, in the current folder); subfolders are not searched." in text


@pytest.mark.parametrize("command", ["compute", "explain"])
def test_compute_and_explain_say_where_to_look_things_up(command: str) -> None:
    text = " ".join(help_of(command).split())
    assert "`deadlines rules` lists them" in text
    assert ("severities, regions, default zone and calendar are shown by `deadlines rules "
            "AGREEMENT`") in text


def test_record_help_shows_type_and_documents_note_and_severity() -> None:
    text = help_of("record")
    assert text.startswith("Usage: deadlines record [OPTIONS] FILE TYPE\n")
    assert "--note TEXT      Free text kept with the event" in text
    assert "--severity TEXT  Severity, for an event whose rules depend on" in text
    assert "deadlines rules AGREEMENT --events" in " ".join(text.split())


# --- numeric options: click ranges, exit 2, one line --------------------------------------

@pytest.mark.parametrize(("args", "shown"), [
    (("build", "--horizon", "-3"), "'--horizon': -3 is not in the range 1<=x<=120"),
    (("build", "--horizon", "0"), "'--horizon': 0 is not in the range 1<=x<=120"),
    (("build", "--horizon", "121"), "'--horizon': 121 is not in the range 1<=x<=120"),
    (("build", "--horizon", "twelve"), "'--horizon': 'twelve' is not a valid integer range"),
    (("build", "--past-days", "-1"), "'--past-days': -1 is not in the range 0<=x<=3650"),
    (("build", "--past-days", "3651"), "'--past-days': 3651 is not in the range 0<=x<=3650"),
    (("build", "--grace-days", "-1"), "'--grace-days': -1 is not in the range 0<=x<=3650"),
    (("build", "--grace-days", "99999"),
     "'--grace-days': 99999 is not in the range 0<=x<=3650"),
    (("serve", "--port", "99999"), "'--port': 99999 is not in the range 0<=x<=65535"),
    (("serve", "--port", "-1"), "'--port': -1 is not in the range 0<=x<=65535"),
])
def test_a_numeric_option_out_of_range_is_one_line_and_exit_2(
        args: tuple[str, ...], shown: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("deadlines: error: Invalid value for ")
    assert shown in line
    assert line.endswith(f"(see `deadlines {args[0]} --help`)")
    assert list(tmp_path.iterdir()) == [], "nothing is written"


@pytest.mark.parametrize("args", [("nosuch",), ("--bogus",), ("compute",),
                                  ("token", "create"), ("status", "--format", "xml")])
def test_every_usage_error_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("deadlines: error: ")


def test_the_edges_of_the_ranges_are_accepted(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    result = CliRunner().invoke(cli, ["build", str(ROOT / "events"), "--out", str(out),
                                      "--as-of", "2026-11-26", "--horizon", "120",
                                      "--past-days", "0", "--grace-days", "0"])
    assert result.exit_code == 0, result.stderr
    assert (out / "all.ics").exists()


@pytest.mark.parametrize("args", [(), ("token",)])
def test_a_group_alone_shows_its_help_whole(args: tuple[str, ...]) -> None:
    """`deadlines` with no command prints the help (click's exit 2), not a one-line error."""
    result = CliRunner().invoke(cli, list(args))
    assert result.output.startswith(f"Usage: deadlines {' '.join(args)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in result.output
    assert "deadlines: error" not in result.output
