"""Import iCalendar files into khal, each into an empty calendar of its own, in one process.

    python tests/tools/khalcheck.py WORKDIR FILE.ics [FILE.ics ...]

For each file: a config and a vdir under WORKDIR/<n>/, then what a user types,
`khal -c CONFIG import --batch -a feed FILE` and `khal -c CONFIG search --format {uid} VEVENT`,
run through khal's own click commands (one interpreter instead of two per file: khal takes a
third of a second to start). Prints JSON {file: {"exit": [import, search], "output": [lines khal
printed on import, stdout or stderr], "search_errors": [...], "files": [names in the vdir],
"listed": [UIDs search printed]}}. The test decides what is an error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner
from khal.cli import main_khal

CONFIG = """\
[calendars]
[[feed]]
path = {vdir}
type = calendar
[locale]
local_timezone = UTC
default_timezone = UTC
[sqlite]
path = {db}
"""


def khal(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main_khal, ["-c", str(config), *args], catch_exceptions=True)
    err = result.stderr if result.stderr_bytes is not None else ""
    out = result.stdout
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, out, err


def check(home: Path, ics: str) -> dict[str, object]:
    vdir = home / "vdir" / "feed"
    vdir.mkdir(parents=True)
    config = home / "khal.conf"
    config.write_text(CONFIG.format(vdir=vdir, db=home / "khal.db"))
    code_import, out, err = khal(config, "import", "--batch", "-a", "feed", ics)
    code_search, listed, search_err = khal(config, "search", "--format", "{uid}", "VEVENT")
    return {
        "exit": [code_import, code_search],
        "output": [ln for ln in (out + err).splitlines() if ln.strip()],
        "search_errors": [ln for ln in search_err.splitlines() if ln.strip()],
        "files": sorted(p.name for p in vdir.iterdir()),
        "listed": listed.split(),
    }


def main(argv: list[str]) -> int:
    work = Path(argv[0])
    report = {ics: check(work / str(n), ics) for n, ics in enumerate(argv[1:])}
    json.dump(report, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
