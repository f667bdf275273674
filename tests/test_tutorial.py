"""docs/your-own-contract.md is followed to the letter: in an empty folder, every file it shows
is written and every command it shows is run, in its order, and each prints what the page says.

So a seventh agreement is one YAML file and nothing else: the page writes a rulebook for a
contract of its own (docs/examples/tutorial/acme-hosting.txt), checks it against the text,
computes with it, keeps a log that uses it by path, builds calendars and reports the status.
The files the page shows are the files of docs/examples/tutorial/, byte for byte.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from consoleblocks import Block, FileBlock, shows_real_output, steps

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "your-own-contract.md"
EXAMPLES = ROOT / "docs" / "examples" / "tutorial"
STEPS = steps(PAGE.read_text(encoding="utf-8"), "docs/your-own-contract.md")
FILES = [s for s in STEPS if isinstance(s, FileBlock)]
COMMANDS = [c for s in STEPS if isinstance(s, Block) for c in s.commands]


def test_the_page_writes_a_rulebook_a_text_and_a_log_and_runs_the_commands() -> None:
    assert {f.path for f in FILES} == {"acme-hosting.txt", "acme-hosting.yaml",
                                       "events/acme-nimbus.yaml"}
    verbs = {shlex.split(c.line, comments=True)[1] for c in COMMANDS}
    assert verbs >= {"rulebook", "rules", "compute", "explain", "build", "status", "record"}


@pytest.mark.parametrize("block", FILES, ids=[f.path for f in FILES])
def test_the_files_on_the_page_are_the_example_files(block: FileBlock) -> None:
    assert block.text == (EXAMPLES / block.path).read_text(encoding="utf-8")


def test_every_example_file_is_on_the_page() -> None:
    shown = {f.path for f in FILES}
    files = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()}
    assert files == shown


def test_commands_that_depend_on_today_are_pinned() -> None:
    for command in COMMANDS:
        words = shlex.split(command.line, comments=True)
        if words[1] in ("build", "status"):
            assert "--as-of" in words, command.line
        if words[1] == "record":
            assert "--at" in words, command.line


def test_following_the_page_prints_what_it_shows(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One folder for the whole page: each step sees what the steps before it left."""
    monkeypatch.chdir(tmp_path)
    for step in STEPS:
        if isinstance(step, FileBlock):
            target = tmp_path / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text, encoding="utf-8")
            continue
        for command in step.commands:
            shows_real_output(command, tmp_path)
