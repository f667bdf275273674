"""The README shows real output: every ```console block is run and compared with what it shows
(tests/consoleblocks.py says how a block reads). Each block runs in its own temporary folder
holding a copy of `events/`, one command after the other, so `record` changes the copy and never
the checkout. Every command whose answer depends on today is pinned with `--as-of` or `--at`.

Blocks fenced as ```text are illustrations that cannot be replayed (a random token, a server
that runs until stopped); ```sh blocks are shell set-up, not `deadlines` commands.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from consoleblocks import Block, console_blocks, shows_real_output

from deadlines.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCKS = console_blocks(README.read_text(encoding="utf-8"), "README.md")


def test_the_readme_has_console_blocks() -> None:
    assert len(BLOCKS) >= 4
    assert sum(len(b.commands) for b in BLOCKS) >= 12


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.start}" for b in BLOCKS])
def test_console_block_shows_real_output(block: Block, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "events", tmp_path / "events")
    monkeypatch.chdir(tmp_path)
    for command in block.commands:
        shows_real_output(command, tmp_path)


def test_commands_that_depend_on_today_are_pinned() -> None:
    for block in BLOCKS:
        for command in block.commands:
            words = shlex.split(command.line, comments=True)
            if words[1] in ("build", "status"):
                assert "--as-of" in words, command.line
            if words[1] == "record":
                assert "--at" in words, command.line


def test_the_readme_names_no_option_that_does_not_exist() -> None:
    """`--json` was once documented; the option is `--format json`."""
    text = README.read_text(encoding="utf-8")
    options = {o for c in cli.commands.values() for p in c.params for o in p.opts}
    options |= {o for g in cli.commands.values() if hasattr(g, "commands")
                for c in g.commands.values() for p in c.params for o in p.opts}
    for option in sorted(set(re.findall(r"`(--[a-z-]+)", text))):
        assert option in options, option


def test_the_readme_yaml_example_is_a_valid_log_by_the_schema() -> None:
    """The README's event log shows region, roll, severity and by; `by` is read by the tool
    once the dates branch lands, so the whole example is checked against the schema here."""
    import json

    import jsonschema

    from deadlines.yamlsource import load_text

    text = README.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n((?:#.*\n)*contract:.*?)```", text, re.DOTALL)
    assert block
    for field_name in ("region", "roll", "severity", "by", "reminders", "ref", "rule"):
        assert re.search(rf"^\s*#?\s*-?\s*{field_name}:", block.group(1), re.MULTILINE), \
            field_name
    schema = json.loads((ROOT / "deadlines" / "schemas" / "event-log.schema.json").read_text(
        encoding="utf-8"))
    data = load_text(block.group(1), "README.md").data
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == []
