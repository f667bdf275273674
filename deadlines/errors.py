"""Errors a person can act on, and the exit codes the CLI maps them to.

Exit codes (documented in the README):
  0  success
  1  `status --fail-on` found a deadline in the requested state
  2  bad input: unknown agreement, event, rule, zone or calendar; an impossible date;
     an invalid rulebook or event log; or a fault of the user's environment (disk full,
     read-only folder: `safeio.EnvironmentFault`). Nothing is written.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_BAD_INPUT = 2


class DeadlinesError(Exception):
    """Bad input. The message is one line that says where and what was expected."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        if self.field:
            where += f"{self.field}: "
        return where + self.message
