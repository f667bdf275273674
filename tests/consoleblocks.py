"""Documents that show real output: their ```console blocks are run and compared.

In a console block, a line `$ deadlines ...` is a command (a `# comment` after it is ignored,
`> FILE` writes its output to FILE) and the lines after it, up to the next `$`, are exactly what
it prints (stdout and stderr, as a terminal shows them). A line `...` stands for any number of
lines left out. A command whose output shows `deadlines: error:` is expected to exit 2; any
other must exit 0 or 1 (`status --fail-on`).

A fenced block whose info string names a file after its language (```yaml acme.yaml) is that
file's whole content: a tutorial writes it where the reader would, before the commands after
it. Blocks fenced as ```text or ```sh without a file name are illustrations, not run.

    from consoleblocks import console_blocks, matches, run, steps
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from deadlines.cli import cli

ELLIPSIS = "..."
ERROR = "deadlines: error:"


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    start: int  # line of the fence in the document, for the test id
    commands: list[Command]


@dataclass
class FileBlock:
    start: int
    path: str  # where the reader writes it, relative to the folder the commands run in
    text: str


def steps(text: str, name: str = "document") -> list[Block | FileBlock]:
    """The console blocks and the file blocks of a document, in its order."""
    out: list[Block | FileBlock] = []
    current: Block | FileBlock | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            info = line.strip().removeprefix("```").split() if line.startswith("```") else []
            if info == ["console"]:
                current = Block(number, [])
            elif len(info) == 2:
                current = FileBlock(number, info[1], "")
            continue
        if line.strip() == "```":
            out.append(current)
            current = None
        elif isinstance(current, FileBlock):
            current.text += line + "\n"
        elif line.startswith("$ "):
            current.commands.append(Command(line[2:]))
        else:
            assert current.commands, f"{name}:{number}: output before any command"
            current.commands[-1].expected.append(line)
    assert current is None, f"{name}: a block is not closed"
    return out


def console_blocks(text: str, name: str = "document") -> list[Block]:
    return [s for s in steps(text, name) if isinstance(s, Block)]


def matches(expected: list[str], actual: str) -> bool:
    """Line by line, trailing spaces aside; a line `...` stands for any lines."""
    while expected and not expected[-1].strip():
        expected = expected[:-1]  # a blank line before the next `$` only separates commands
    pattern = "".join(r"(?:.*\n)*?" if line.strip() == ELLIPSIS
                      else re.escape(line.rstrip()) + r"\n" for line in expected)
    shown = "".join(line.rstrip() + "\n" for line in actual.splitlines())
    return re.fullmatch(pattern, shown) is not None


def run(command: Command, folder: Path) -> str:
    """Run one `deadlines` command in `folder` (the caller's working directory) and return
    what a terminal shows (or stderr alone when the output goes to a file with `>`)."""
    words = shlex.split(command.line, comments=True)
    assert words[0] == "deadlines", command.line
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    result = CliRunner().invoke(cli, words[1:], prog_name="deadlines", terminal_width=80)
    assert result.exception is None or isinstance(result.exception, SystemExit), command.line
    refusal = any(line.startswith(ERROR) for line in command.expected)
    allowed = (2,) if refusal else (0, 1)
    assert result.exit_code in allowed, f"{command.line}: exit {result.exit_code}: " \
        f"{result.output}"
    if target is not None:
        (folder / target).write_bytes(result.stdout_bytes)
        return result.stderr
    return result.output


def shows_real_output(command: Command, folder: Path) -> None:
    """Run the command and compare what it prints with what the document shows."""
    actual = run(command, folder)
    assert matches(command.expected, actual), (
        f"$ {command.line}\n--- the document shows:\n" + "\n".join(command.expected)
        + "\n--- the command prints:\n" + actual)
