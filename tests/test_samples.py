"""Golden files: every sample in samples/ rebuilds to exactly the bytes checked in.

A failure here means the feed output changed. If the change is intended, regenerate the
samples as samples/README.md says and review the diff; never regenerate to silence this test.

The goldens are the .ics files. The build store (`.deadlines-store.sqlite`) is not checked in:
it is an SQLite file whose bytes depend on the SQLite version and record the feed files' inodes,
and everything a subscriber sees of it (SEQUENCE, LAST-MODIFIED, CREATED) is in the feeds. The
test checks instead that the store holds exactly the stamps the feeds show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot

from deadlines.cli import cli
from deadlines.store import StoreReader

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AGREEMENTS = ("aircall", "bcr", "freshhawk-enterprise", "freshhawk-standard", "openmethods",
              "zuper")
AS_OF = "2026-06-01"


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
    assert {n for n in built if n.endswith(".ics")} == expected
    for name in sorted(expected):
        new = (out / name).read_bytes()
        old = (sample / "expected" / name).read_bytes()
        assert new == old, (
            f"samples/{agreement}/expected/{name} differs from a fresh build; if the change is "
            "intended, regenerate the samples (samples/README.md) and review the diff")


@pytest.mark.parametrize("agreement", AGREEMENTS)
def test_the_store_holds_the_stamps_the_feeds_show(agreement: str, tmp_path: Path) -> None:
    """A fresh build: every VEVENT of the contract's feed is at SEQUENCE 0, and the store
    keeps that UID with the same SEQUENCE, LAST-MODIFIED and CREATED."""
    out = tmp_path / "out"
    rebuild(SAMPLES / agreement, out)
    (feed,) = (out / "contracts").glob("*.ics")
    (stamps,) = StoreReader(out).stamps().values()
    shown = {}
    for block in feed.read_bytes().decode().replace("\r\n ", "").split("BEGIN:VEVENT")[1:]:
        event = block.split("BEGIN:VALARM")[0]  # the event's own lines, not its alarms'
        props = dict(line.split(":", 1) for line in event.split("\r\n") if ":" in line)
        shown[props["UID"]] = (int(props["SEQUENCE"]), props["LAST-MODIFIED"], props["CREATED"])
    assert shown and all(sequence == 0 for sequence, _, _ in shown.values())
    kept = {uid: (s.sequence, f"{s.last_modified:%Y%m%dT%H%M%SZ}", f"{s.created:%Y%m%dT%H%M%SZ}")
            for uid, s in stamps.items() if uid in shown}
    assert kept == shown


@pytest.mark.parametrize("agreement", AGREEMENTS)
def test_sample_feeds_are_not_empty(agreement: str) -> None:
    """Each sample exercises both sides: its contract's feed has deadlines of ours and of
    theirs, and all.ics has the ones due within weeks."""
    expected = SAMPLES / agreement / "expected"
    (feed,) = (expected / "contracts").glob("*.ics")
    data = feed.read_bytes()
    assert b",ours," in data and b",theirs," in data, f"{feed}: one side is missing"
    assert b"BEGIN:VEVENT" in (expected / "all.ics").read_bytes()
