"""What a one-off `deadlines compute` imports, once its caches are warm (no timing here: the
figures are bench/startup.py's). A module listed below costs milliseconds on every command, so
importing it again where the command does not need it is a regression: no YAML parser (the
parsed rulebook comes from its cache), no json, tempfile, pickle or hashlib (their C halves
suffice), no `holidays` (its tables are cached), and none of the package's modules that read
event logs or help write rulebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOT_NEEDED = ("yaml", "json", "tempfile", "pickle", "hashlib", "holidays",
              "deadlines.yamlsource", "deadlines.rulebookreader", "deadlines.extend",
              "deadlines.eventlog", "deadlines.terms", "deadlines.authoring")

PROBE = """\
import sys
sys.argv = ["deadlines", *sys.argv[1:]]
from deadlines.cli import main
try:
    main()
except SystemExit:
    pass
print(" ".join(m for m in {names!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["compute", "freshhawk-standard", "breach_notice", "2026-03-02"],
    ["compute", "bcr", "support_request", "2026-04-17T23:00", "--severity", "other"],
    ["explain", "freshhawk-standard", "breach_notice", "2026-03-02", "--rule", "cure"],
])
def test_a_warm_one_off_command_imports_only_what_it_needs(tmp_path: Path,
                                                             args: list[str]) -> None:
    env = dict(os.environ, DEADLINES_CACHE_DIR=str(tmp_path / "cache"))
    probe = PROBE.format(names=NOT_NEEDED)
    runs = [subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                           text=True, env=env, cwd=tmp_path, check=True) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout != ""  # the cache changes nothing shown
    first, warm = (r.stderr.strip().splitlines()[-1:] for r in runs)
    assert "yaml" in " ".join(first)  # the first run parses the rulebook and fills the caches
    assert warm == []
