"""Feeds are replaced atomically: a reader polling them during builds never sees a partial or
mixed file, while 100 builds (two processes at once) write into the same output directory.

Design. The event log alternates between two versions: A (one breach notice) and B (A plus an
incident), so the feed bytes really change on most builds. B only adds entries, so every entry
keeps its content hash across the flips and its SEQUENCE / LAST-MODIFIED stamps never move:
each feed then has exactly two complete versions, bytes(A) and bytes(B), whatever the order of
the builds (checked first, on an A, B, A, B history). Two worker processes (`python -c`, calling
`deadlines.api.build` in a loop) each flip the log (atomically) and build 50 times; meanwhile
this process reads the four feeds over and over and checks each read: it starts with
BEGIN:VCALENDAR, ends with END:VCALENDAR CRLF, equals bytes(A) or bytes(B) of that feed, and
icalendar parses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from deadlines import api
from deadlines.store import StoreReader

BUILDS_PER_WORKER = 50  # two workers: 100 builds
AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # what --as-of 2026-06-01 means
FEEDS = ("contracts/fh.ics", "all.ics", "ours.ics", "theirs.ics")
TIME_LIMIT = 45.0

LOG_A = """\
contract:
  id: fh
  agreement: freshhawk-standard
  start: 2026-01-15
  role: customer
  name: Concurrency test
events:
  - id: breach-1
    type: breach_notice
    at: 2026-05-04
    note: The first version of the log
"""
LOG_B = LOG_A + """\
  - id: incident-1
    type: incident_identified
    at: 2026-05-20T09:15
    note: Only in the second version
"""

WORKER = r"""
import os, sys
from datetime import datetime, timezone
from deadlines import api

events, out, scratch, first, count = sys.argv[1:6]
versions = [open(p, "rb").read() for p in sys.argv[6:8]]
as_of = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
target = os.path.join(events, "fh.yaml")
for i in range(int(count)):
    tmp = os.path.join(scratch, f"fh.{os.getpid()}.tmp")  # outside the events directory
    with open(tmp, "wb") as handle:
        handle.write(versions[(int(first) + i) % 2])
    os.replace(tmp, target)  # the log itself is swapped whole, so a build reads one version
    api.build(events, out, as_of=as_of)
print("done", count)
"""


def _write_log(events: Path, text: str) -> None:
    events.mkdir(parents=True, exist_ok=True)
    (events / "fh.yaml").write_text(text, encoding="utf-8")


def _feeds(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FEEDS}


def _known_versions(tmp: Path) -> dict[str, set[bytes]]:
    """bytes(A) and bytes(B) of each feed, from fresh builds, and the same after A, B, A, B."""
    fresh: dict[str, dict[str, bytes]] = {}
    for label, text in (("A", LOG_A), ("B", LOG_B)):
        _write_log(tmp / f"events-{label}", text)
        api.build(str(tmp / f"events-{label}"), str(tmp / f"out-{label}"), as_of=AS_OF)
        fresh[label] = _feeds(tmp / f"out-{label}")
    history = tmp / "events-history"
    for label, text in (("A", LOG_A), ("B", LOG_B), ("A", LOG_A), ("B", LOG_B)):
        _write_log(history, text)
        api.build(str(history), str(tmp / "out-history"), as_of=AS_OF)
        assert _feeds(tmp / "out-history") == fresh[label], "stamps moved with the history"
    for name in FEEDS:
        assert fresh["A"][name] != fresh["B"][name] or name == "ours.ics"
    return {name: {fresh["A"][name], fresh["B"][name]} for name in FEEDS}


def test_a_polling_reader_never_sees_a_partial_or_mixed_feed(tmp_path: Path) -> None:
    from icalendar import Calendar

    known = _known_versions(tmp_path)
    events, out, scratch = tmp_path / "events", tmp_path / "out", tmp_path / "scratch"
    scratch.mkdir()
    _write_log(events, LOG_A)
    api.build(str(events), str(out), as_of=AS_OF)  # the feeds exist before the reader starts
    (tmp_path / "a.yaml").write_text(LOG_A, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(LOG_B, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(events), str(out), str(scratch), str(first),
             str(BUILDS_PER_WORKER), str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for first in (0, 1)
    ]
    started = time.monotonic()
    reads = changes = 0
    parsed: set[bytes] = set()
    previous: dict[str, bytes] = {}
    seen: dict[str, set[bytes]] = {name: set() for name in FEEDS}
    try:
        while any(w.poll() is None for w in workers):
            assert time.monotonic() - started < TIME_LIMIT, "the builds took too long"
            for name in FEEDS:
                data = (out / name).read_bytes()
                reads += 1
                assert data.startswith(b"BEGIN:VCALENDAR\r\n"), f"{name}: partial start"
                assert data.endswith(b"END:VCALENDAR\r\n"), f"{name}: partial end"
                assert data in known[name], f"{name}: {len(data)} bytes, not a known version"
                if data not in parsed:  # parse each distinct version once: polling stays fast
                    Calendar.from_ical(data)
                    parsed.add(data)
                if previous.get(name, data) != data:
                    changes += 1
                previous[name] = data
                seen[name].add(data)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    outputs = [w.communicate(timeout=10) for w in workers]
    for worker, (stdout, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr.decode()
        assert stdout.decode().strip() == f"done {BUILDS_PER_WORKER}"
    # the reader really watched the bytes change, many times
    assert reads > 100 and changes >= 5, (reads, changes)
    assert all(len(versions) == 2 for name, versions in seen.items() if name != "ours.ics")
    # afterwards: every feed is one of its versions, the store is whole, no temp file left
    for name, data in _feeds(out).items():
        assert data in known[name]
    assert StoreReader(out).stamps()  # the store reads whole
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
