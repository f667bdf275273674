"""Golden files: every sample in samples/ rebuilds to exactly the bytes checked in.

A failure here means the feed output changed. If the change is intended, regenerate the
samples as samples/README.md says and review the diff; never regenerate to silence this test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot

from deadlines.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AGREEMENTS = ("aircall", "bcr", "freshhawk-enterprise", "freshhawk-standard", "openmethods",
              "zuper")
AS_OF = "2026-06-01"
STATE_FILE = ".deadlines-state.json"


def rebuild(sample: Path, out: Path) -> None:
    """The command of samples/README.md, through click, into `out`."""
    result = CliRunner().invoke(cli, ["build", str(sample / "events"), "--out", str(out),
                                      "--as-of", AS_OF])
    assert result.exit_code == 0, result.output + result.stderr


def checked_in(sample: Path) -> set[str]:
    return set(snapshot(sample / "expected"))


def test_every_agreement_has_a_sample() -> None:
    present = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert present == set(AGREEMENTS)
    for agreement in AGREEMENTS:
        logs = sorted((SAMPLES / agreement / "events").glob("*.yaml"))
        assert len(logs) == 1, f"{agreement}: expected one event log, found {logs}"


@pytest.mark.parametrize("agreement", AGREEMENTS)
def test_sample_rebuilds_byte_identical(agreement: str, tmp_path: Path) -> None:
    sample = SAMPLES / agreement
    out = tmp_path / "out"
    rebuild(sample, out)
    built = set(snapshot(out))
    expected = checked_in(sample)
    assert {n for n in built if n.endswith(".ics")} == {n for n in expected
                                                         if n.endswith(".ics")}
    assert STATE_FILE in expected, "the state file is checked in with the feeds"
    for name in sorted(expected):
        new = (out / name).read_bytes()
        old = (sample / "expected" / name).read_bytes()
        assert new == old, (
            f"samples/{agreement}/expected/{name} differs from a fresh build; if the change is "
            "intended, regenerate the samples (samples/README.md) and review the diff")


@pytest.mark.parametrize("agreement", AGREEMENTS)
def test_sample_feeds_are_not_empty(agreement: str) -> None:
    """Each sample exercises both sides: the contract feed, ours and theirs all have events."""
    for path in sorted((SAMPLES / agreement / "expected").glob("**/*.ics")):
        assert b"BEGIN:VEVENT" in path.read_bytes(), f"{path} has no VEVENT"
