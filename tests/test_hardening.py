"""Issue 8: no lost events, no leaked or emptied feeds, no exit 3 for the user's environment.

Each test names the attack or the careless act it replays and what must hold afterwards. The
long versions (hundreds of kills, a full disk, a polling client) are in scripts/chaos.py; these
are the fixed small samples that guard the same guarantees in every test run.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadlines import api
from deadlines import build as build_module
from deadlines import store as store_module
from deadlines.cli import cli
from deadlines.errors import DeadlinesError
from deadlines.eventlog import load
from deadlines.store import BACKUP_FILE, STORE_FILE, StoreReader
from deadlines.tokens import TokenStore

LOG = """\
contract:
  id: {id}
  agreement: freshhawk-standard
  start: 2026-01-15
  role: customer
  name: Hardening test {id}
events:
  - id: breach-1
    type: breach_notice
    at: 2026-05-04
"""
AS_OF = "2026-06-01"


def write_log(events: Path, contract_id: str = "hx", text: str = LOG) -> Path:
    events.mkdir(parents=True, exist_ok=True)
    path = events / f"{contract_id}.yaml"
    path.write_text(text.format(id=contract_id), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    """The CLI in-process, as a person types it: exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def deadlines_process(*args: str) -> subprocess.Popen[bytes]:
    """`deadlines ARGS` in its own process (a real concurrent writer)."""
    return subprocess.Popen([sys.executable, "-m", "deadlines", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int, bytes, bytes]]:
    return [(p.wait(60), *p.communicate()) for p in procs]


# --- 1. concurrent writers --------------------------------------------------------------------

def test_twenty_concurrent_records_leave_twenty_events(tmp_path: Path) -> None:
    """20 `record` processes at once on one log: all 20 say Recorded and all 20 are in the
    file (3 survived before the log was locked from read to rename)."""
    log = write_log(tmp_path)
    procs = [deadlines_process("record", str(log), "breach_cured", "--at", "2026-05-20",
                               "--ref", "breach-1", "--id", f"conc-{i}") for i in range(20)]
    results = finish(procs)
    assert all(code == 0 for code, _, _ in results), results
    ids = [e.id for e in load(log).events]
    assert sorted(ids) == sorted(["breach-1", *(f"conc-{i}" for i in range(20))])


def test_concurrent_token_creates_and_a_racing_revoke_all_land(tmp_path: Path) -> None:
    """20 `token create` at once keep 20 tokens (3 before), and a revoke that runs among them
    is not undone by a create that read the file before it."""
    tokens = tmp_path / "tokens.json"
    first, record = TokenStore.load(tokens).create("all", "first")
    procs = [deadlines_process("token", "create", "ours", "--tokens", str(tokens))
             for _ in range(20)]
    procs.append(deadlines_process("token", "revoke", record.id, "--tokens", str(tokens)))
    assert all(code == 0 for code, _, _ in finish(procs))
    store = TokenStore.load(tokens)
    assert len(store.records) == 21
    assert store.lookup(first) is None, "the revoke was undone by a concurrent create"
    assert oct(tokens.stat().st_mode & 0o777) == "0o600"


# --- 2. values read back as written ----------------------------------------------------------

@pytest.mark.parametrize("text", ["12:30:00", "0x1F", "1.10", "010", "yes", "null", "~",
                                  "1_000", "2026-05-04", "-1", "+1", ".5", "1e3", "0o17"])
def test_record_stores_text_that_yaml_would_read_as_another_type(tmp_path: Path,
                                                                  text: str) -> None:
    """`--note 12:30:00` read back as 45000, `0x1F` as 31, `1.10` as 1.1, `--id 010` as 8."""
    log = write_log(tmp_path)
    event_id = text if text[0].isalnum() and all(c.isalnum() or c in "._-" for c in text) \
        else None
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1", note=text,
               event_id=event_id)
    new = load(log).events[-1]
    assert new.note == text
    if event_id is not None:
        assert new.id == event_id


notes = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40) \
    .map(str.strip).filter(bool)
ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=notes, event_id=ids)
def test_any_note_and_id_read_back_unchanged(tmp_path_factory: pytest.TempPathFactory,
                                             note: str, event_id: str) -> None:
    """Hypothesis: whatever text a person types as a note or an id is the text read back."""
    log = write_log(tmp_path_factory.mktemp("rt"))
    if event_id == "breach-1":
        return
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1", note=note,
               event_id=event_id)
    new = load(log).events[-1]
    assert (new.id, new.note) == (event_id, note)


# --- 3. the file itself: links, mode, owner, line endings -------------------------------------

def test_record_through_a_symlink_updates_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = write_log(tmp_path / "store")
    link = tmp_path / "events" / "hx.yaml"
    link.parent.mkdir()
    link.symlink_to(target)
    api.record(str(link), "breach_cured", "2026-05-20", ref="breach-1")
    assert link.is_symlink()
    assert "breach_cured" in target.read_text(encoding="utf-8")


def test_record_keeps_a_hard_link_and_the_mode(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    twin = tmp_path / "twin.yaml.bak"
    os.link(log, twin)
    log.chmod(0o600)
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1")
    assert log.stat().st_ino == twin.stat().st_ino and log.stat().st_nlink == 2
    assert "breach_cured" in twin.read_text(encoding="utf-8")
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_record_keeps_the_mode_of_a_private_log(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    log.chmod(0o640)
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1")
    assert oct(log.stat().st_mode & 0o777) == "0o640"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_record_keeps_the_owner_of_a_log(tmp_path: Path) -> None:
    """A log owned by another user (root records into it from cron) stays theirs: the file
    that replaces it is given the same owner and group."""
    log = write_log(tmp_path)
    os.chown(log, 65534, 65534)  # nobody:nogroup
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1")
    assert (log.stat().st_uid, log.stat().st_gid) == (65534, 65534)
    assert load(log).events[-1].type == "breach_cured"


def test_record_keeps_a_crlf_file_crlf(tmp_path: Path) -> None:
    log = tmp_path / "hx.yaml"
    original = LOG.format(id="hx").replace("\n", "\r\n").encode()
    log.write_bytes(original)
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1", note="a\nb")
    data = log.read_bytes()
    assert data.startswith(original)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert load(log).events[-1].note == "a\nb"


# --- 4. the wrong folder ------------------------------------------------------------------------

def test_build_on_a_folder_with_no_log_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    """`deadlines build .` from the wrong folder used to publish three empty calendars over
    the good ones; it now names the folder, says subfolders are not searched, and writes
    nothing."""
    events = tmp_path / "events"
    write_log(events)
    out = tmp_path / "feeds"
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    before = snapshot(out)
    (tmp_path / "elsewhere" / "sub").mkdir(parents=True)
    write_log(tmp_path / "elsewhere" / "sub")  # a log in a subfolder is not found
    code, _, err = run("build", str(tmp_path / "elsewhere"), "--out", str(out))
    assert code == 2
    assert "elsewhere: no event log" in err and "subfolders are not searched" in err
    assert snapshot(out) == before


# --- 5. a removed contract ----------------------------------------------------------------------

def test_a_removed_contracts_feed_is_cancelled_then_removed(tmp_path: Path) -> None:
    """Day 0: two contracts. Day 1: hy's log is deleted; its feed now has every event
    CANCELLED with SEQUENCE + 1, and -v says so. Day 1 + 14 (the grace period): the file goes."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events, "hx")
    gone = write_log(events, "hy")
    assert run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")[0] == 0
    feed = out / "contracts" / "hy.ics"
    before = feed.read_text(encoding="utf-8")
    assert "STATUS:CONFIRMED" in before
    gone.unlink()
    code, stdout, _ = run("build", str(events), "--out", str(out), "--as-of", "2026-06-02",
                          "-v")
    assert code == 0 and "contract hy: no event log any more" in stdout
    after = feed.read_text(encoding="utf-8")
    assert "STATUS:CONFIRMED" not in after
    assert after.count("STATUS:CANCELLED") == before.count("BEGIN:VEVENT")
    assert "SEQUENCE:1" in after and "BEGIN:VALARM" not in after
    assert "LAST-MODIFIED:20260602T120000Z" in after
    assert b"hy" not in (out / "all.ics").read_bytes().split(b"BEGIN:VEVENT", 1)[1]
    # unchanged within the grace period, gone after it
    assert run("build", str(events), "--out", str(out), "--as-of", "2026-06-10")[0] == 0
    assert feed.read_text(encoding="utf-8") == after
    code, stdout, _ = run("build", str(events), "--out", str(out), "--as-of", "2026-06-16",
                          "-v")
    assert code == 0 and "grace period over" in stdout and not feed.exists()
    assert "hy" not in StoreReader(out).removed()


def test_a_contract_whose_log_comes_back_is_published_again(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events, "hx")
    gone = write_log(events, "hy")
    text = gone.read_text()
    api.build(str(events), str(out), as_of=api.parse_as_of("2026-06-01"))
    gone.unlink()
    api.build(str(events), str(out), as_of=api.parse_as_of("2026-06-02"))
    cancelled = (out / "contracts" / "hy.ics").read_bytes()
    gone.write_text(text)
    api.build(str(events), str(out), as_of=api.parse_as_of("2026-06-03"))
    back = (out / "contracts" / "hy.ics").read_bytes()
    assert b"STATUS:CONFIRMED" in back
    assert StoreReader(out).removed() == {}
    # calendar apps keep the copy with the higher SEQUENCE: the deadlines of a log that comes
    # back must move past their cancelled copy (they used to go back to their old number)
    assert max(_sequences(back)) > max(_sequences(cancelled))


# --- 6. reserved names --------------------------------------------------------------------------

@pytest.mark.parametrize("reserved", ["all", "ours", "theirs"])
def test_a_contract_id_that_names_an_aggregate_is_refused(tmp_path: Path, reserved: str) -> None:
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events, reserved)
    code, _, err = run("build", str(events), "--out", str(out))
    assert code == 2
    assert f"{reserved}.yaml:2: contract.id: '{reserved}' is the name of a feed" in err
    assert not out.exists()


def test_contract_feeds_and_aggregates_cannot_share_a_file_or_a_scope(tmp_path: Path) -> None:
    """By construction: contracts/<id>.ics and scope contract:<id>, aggregates at the top."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events, "hx")
    report = build_module.build(events, out, api.parse_as_of(AS_OF))
    assert sorted(p.relative_to(out).as_posix() for p in report.written) == [
        "all.ics", "contracts/hx.ics", "ours.ics", "theirs.ics"]
    assert sorted(snapshot(out)) == [".deadlines-store.sqlite", ".deadlines-store.sqlite.bak",
                                     "all.ics", "contracts/hx.ics", "ours.ics", "theirs.ics"]
    # a token scoped contract:all opens no feed at all
    from deadlines.server import FeedServer
    tokens = tmp_path / "tokens.json"
    secret, _ = TokenStore.load(tokens).create("contract:all")
    app = FeedServer(events, out, tokens, clock=lambda: datetime(2026, 6, 1, 12, tzinfo=UTC),
                     log=lambda line: None)
    status, _, _ = app.respond("GET", f"/{secret}/deadlines.ics", {})
    assert status.startswith("404")


# --- 7. a damaged store (the JSON state file before it: tests/test_store.py) ----------------

def _rewrite_store(path: Path, sql: str, *args: object) -> None:
    """Change the store behind the tool's back, as a person with the sqlite3 shell could."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(sql, args)
    conn.close()


def sqlite3_value(path: Path, sql: str) -> bytes:
    import sqlite3

    conn = sqlite3.connect(path)
    (value,) = conn.execute(sql).fetchone()
    conn.close()
    return bytes(value)


def _damage(path: Path, kind: str) -> None:
    data = path.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2 + 100])
    elif kind == "garbage":
        path.write_bytes(b"\x00\xff not a database " * 200)
    elif kind == "the old JSON state":
        path.write_bytes(b'{"version": 1, "entries": {}}\n')
    elif kind == "torn pages":  # every page after the first overwritten mid-way
        page = int.from_bytes(data[16:18], "big")
        torn = bytearray(data)
        for start in range(page, len(data), page):
            torn[start + 8:start + 64] = b"\xee" * 56
        path.write_bytes(bytes(torn))
    elif kind == "wrong shape":
        path.unlink()
        _rewrite_store(path, "CREATE TABLE something (other)")
    elif kind == "a stamp cut short":
        _rewrite_store(path, "UPDATE contracts SET stamps = substr(stamps, 1, 50)")
    elif kind in ("year 9999", "SEQUENCE past 2^31"):
        from dataclasses import replace

        from deadlines.store import pack_stamps, unpack_stamps
        blob = sqlite3_value(path, "SELECT stamps FROM contracts")
        stamps = unpack_stamps(blob, "test")
        uid = sorted(stamps)[0]
        stamps[uid] = replace(stamps[uid], last_modified=datetime(9999, 12, 31, tzinfo=UTC)) \
            if kind == "year 9999" else replace(stamps[uid], sequence=2**31 + 5)
        _rewrite_store(path, "UPDATE contracts SET stamps = ?", pack_stamps(stamps))
    elif kind == "a block that is not one":
        _rewrite_store(path, "UPDATE entries SET block = 'x', size = 1")
    else:
        raise AssertionError(kind)


DAMAGE = ["empty", "truncated", "garbage", "the old JSON state", "torn pages", "wrong shape",
          "a stamp cut short", "year 9999", "SEQUENCE past 2^31", "a block that is not one"]


def _sequences(feed: bytes) -> list[int]:
    return [int(line[9:]) for line in feed.split(b"\r\n") if line.startswith(b"SEQUENCE:")]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_store_is_recovered_from_its_backup(tmp_path: Path, damage: str) -> None:
    """The store is damaged between two builds: the build warns, takes the backup of the last
    good build, and SEQUENCE numbers continue (a JSON state damaged this way used to restart
    them at 0, or exit 3). Nothing is recomputed from scratch by mistake: the feeds stay the
    bytes they were."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    log = write_log(events)
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1")
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    feeds = {k: v for k, v in snapshot(out).items() if k.endswith(".ics")}
    assert 1 in _sequences(feeds["contracts/hx.ics"])
    _damage(out / STORE_FILE, damage)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", AS_OF)
    assert code == 0, err
    assert f"recovered from {BACKUP_FILE}" in err
    assert {k: v for k, v in snapshot(out).items() if k.endswith(".ics")} == feeds
    # and the next change moves SEQUENCE on from where it was, not from 0
    api.record(str(log), "incident_identified", "2026-05-30T09:00")
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    assert max(_sequences((out / "contracts" / "hx.ics").read_bytes())) >= 1
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[2] == ""


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_store_with_no_good_backup_is_refused(tmp_path: Path, damage: str) -> None:
    """Both damaged: exit 2, one line that says how to start afresh, nothing touched."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events)
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    _damage(out / STORE_FILE, damage)
    (out / BACKUP_FILE).write_bytes(b"\x00" * 5000)
    before = snapshot(out)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", AS_OF)
    assert code == 2 and err.count("\n") == 1, err
    assert "remove both to start afresh" in err
    assert snapshot(out) == before


# --- 8. what a killed build leaves -------------------------------------------------------------

def test_the_next_build_removes_temporaries_of_dead_writers_only(tmp_path: Path) -> None:
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [out / f".all.ics.{dead.pid}.0123abcd.tmp",
             out / "contracts" / f".hx.ics.{dead.pid}.89abcdef.tmp"]
    legacy = out / ".all.ics.k2j4h5g6.tmp"  # the old mkstemp name, an hour old
    live = out / f".tokens.json.{os.getppid()}.00000000.tmp"  # a live process's
    for path in [*stale, legacy, live]:
        path.write_bytes(b"x" * 1000)
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    assert not any(p.exists() for p in [*stale, legacy])
    assert live.exists()


def test_builds_killed_mid_write_leave_nothing_after_the_next_build(tmp_path: Path) -> None:
    """Five builds killed with SIGKILL at staggered moments, then one clean build: no
    temporary is left and the feeds are those of a fresh build."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    for i in range(40):
        write_log(events, f"k{i:02d}")
    for delay in (0.3, 0.5, 0.7, 0.9, 1.1):
        proc = deadlines_process("build", str(events), "--out", str(out), "--as-of", AS_OF)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert run("build", str(events), "--out", str(out), "--as-of", AS_OF)[0] == 0
    assert not [p for p in out.rglob("*.tmp")]
    fresh = tmp_path / "fresh"
    api.build(str(events), str(fresh), as_of=api.parse_as_of(AS_OF))
    got = {k: v for k, v in snapshot(out).items() if k.endswith(".ics")}
    assert got == {k: v for k, v in snapshot(fresh).items() if k.endswith(".ics")}


def test_feeds_staged_unsynced_are_flushed_before_the_store_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 32 contracts the workers stage their feeds without an fsync each, and one flush of
    the file system, run while the aggregates are made, covers them all. The store commits
    (and the renames follow) only once that flush has ended: a crash can never publish a
    feed whose bytes are not on disk."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    for i in range(40):
        write_log(events, f"k{i:02d}")
    said: list[str] = []
    flush, commit = build_module.sync_filesystem, store_module.BuildStore.commit

    def slow_flush(folder: Path) -> None:
        time.sleep(0.5)  # longer than the aggregates take
        flush(folder)
        said.append("flushed")

    def recorded_commit(self: store_module.BuildStore) -> None:
        said.append("commit")
        commit(self)

    monkeypatch.setattr(build_module, "sync_filesystem", slow_flush)
    monkeypatch.setattr(store_module.BuildStore, "commit", recorded_commit)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    assert said == ["commit", "flushed", "commit"]  # the store's creation, then the build's


# --- 9. a build that read before a record ------------------------------------------------------

def test_a_build_that_read_before_a_record_does_not_overwrite_a_later_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build A reads the logs; before it takes the lock, someone records an incident and build
    B runs start to finish. A then writes: its feeds must still hold the incident (it re-reads
    the logs that changed while it waited), as B's did."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    log = write_log(events)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    real_locked = build_module.locked
    interleaved = []

    def record_then_lock(lock: Path) -> Iterator[None]:
        if not interleaved:
            interleaved.append(True)
            api.record(str(log), "incident_identified", "2026-05-30T09:00")
            api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))  # build B
        return real_locked(lock)  # type: ignore[no-any-return]

    monkeypatch.setattr(build_module, "locked", record_then_lock)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))  # build A
    assert interleaved
    assert b"incident_identified" in (out / "all.ics").read_bytes()


# --- 15. files that are not logs ---------------------------------------------------------------

def test_a_fifo_among_the_logs_is_refused_not_waited_for(tmp_path: Path) -> None:
    events = tmp_path / "events"
    write_log(events)
    os.mkfifo(events / "pipe.yaml")
    proc = deadlines_process("build", str(events), "--out", str(tmp_path / "feeds"))
    code, _, err = proc.wait(20), *proc.communicate()
    assert code == 2 and b"pipe.yaml: not a regular file" in err


def test_a_huge_sparse_log_is_refused_before_it_is_read(tmp_path: Path) -> None:
    events = tmp_path / "events"
    write_log(events)
    with open(events / "huge.yaml", "wb") as handle:
        handle.truncate(3 * 1024**3)  # 3 GB, no block written
    code, _, err = run("build", str(events), "--out", str(tmp_path / "feeds"))
    assert code == 2 and "huge.yaml: file is larger than 5,000,000 bytes" in err


def test_a_device_given_as_a_log_is_refused(tmp_path: Path) -> None:
    code, _, err = run("record", "/dev/zero", "breach_notice", "--at", "2026-05-04")
    assert code == 2 and "/dev/zero: not a regular file" in err


# --- 17. the user's environment ------------------------------------------------------------------

def test_out_pointing_at_a_file_is_exit_2(tmp_path: Path) -> None:
    events = tmp_path / "events"
    write_log(events)
    target = tmp_path / "not-a-folder"
    target.write_text("keep me")
    code, _, err = run("build", str(events), "--out", str(target))
    assert code == 2 and err.count("\n") == 1 and "not a directory" in err.lower()
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("command", ["build", "serve", "notify"])
def test_an_empty_out_is_refused_not_taken_for_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """`--out ''` wrote the feeds and the store into the current folder."""
    write_log(tmp_path / "events")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(command, "events", "--out", "")
    assert code == 2 and err.count("\n") == 1 and "expected a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events"]


def test_a_full_disk_is_exit_2_and_leaves_the_old_feeds(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC in the middle of staging (simulated; scripts/chaos.py fills a real tmpfs)."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    log = write_log(events)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    before = snapshot(out)
    api.record(str(log), "incident_identified", "2026-05-30T09:00")
    real_write = os.write
    calls = []

    def full(fd: int, data: bytes | memoryview) -> int:
        calls.append(1)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", AS_OF)
    monkeypatch.undo()
    assert code == 2 and err.count("\n") == 1
    assert "no space left on device writing" in err and "feeds/" in err
    assert snapshot(out) == before
    assert not list(out.rglob("*.tmp"))


def test_a_store_unreadable_on_a_full_disk_is_exit_2_not_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk SQLite cannot write its shared-memory index and says "disk I/O error"
    when the store is opened (seen on a full tmpfs): the disk is full, the store is whole;
    exit 2 saying so, not "damaged ... remove both to start afresh", and nothing replaced."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events)
    api.build(str(events), str(out), as_of=api.parse_as_of(AS_OF))
    before = snapshot(out)

    def no_room(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_module, "_connect", no_room)
    monkeypatch.setattr(store_module, "_disk_full", lambda path: True)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", AS_OF)
    monkeypatch.undo()
    assert code == 2 and err.count("\n") == 1
    assert "no space left on device reading the build store" in err
    assert snapshot(out) == before


@pytest.mark.parametrize(("parent_is_alive", "status"), [(True, 0), (False, 1)])
def test_a_worker_whose_build_died_before_it_started_ends(parent_is_alive: bool,
                                                          status: int) -> None:
    """A build killed with -9 between starting a worker and the worker asking to die with it
    left the worker waiting for work forever (holding the folder's lock): a worker checks its
    parent is still the build once it has asked."""
    build_pid = os.getpid() if parent_is_alive else 1  # pid 1 stands for "another parent"
    child = os.fork()
    if child == 0:
        build_module.die_with_parent(build_pid)
        os._exit(0)
    _, wait_status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(wait_status) == status


def test_a_read_only_output_is_exit_2(tmp_path: Path) -> None:
    """A real read-only mount (root can write through chmod 0555, not through a ro mount)."""
    events, out = tmp_path / "events", tmp_path / "feeds"
    write_log(events)
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(out)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        code, _, err = run("build", str(events), "--out", str(out))
    finally:
        subprocess.run(["umount", str(out)], check=True)
    assert code == 2 and err.count("\n") == 1 and "read-only file system" in err


def test_a_note_that_is_not_utf8_is_exit_2(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    before = log.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "deadlines", "record", str(log),
                           "breach_cured", "--ref", "breach-1", "--at", "2026-05-20",
                           b"--note=caf\xe9"], capture_output=True)
    assert proc.returncode == 2, proc.stderr
    assert b"--note: not valid UTF-8 text" in proc.stderr
    assert log.read_bytes() == before


# --- 18. long recurring series ---------------------------------------------------------------

DAILY_BOOK = """\
id: daily
name: A custom rulebook with a daily recurring duty
governing_law:
  name: France
parties: {provider: the provider, customer: the customer}
sides: [customer, provider]
timezone: UTC
calendar: FR
events:
  contract_start: the contract starts
rules:
  - id: daily-check
    title: Daily check
    event: contract_start
    direction: recurring
    period: 1 days
    actor: provider
    action: Check the backups.
    clause: "1"
    lines: [1]
    quote: x
"""


def test_a_recurring_series_past_the_cap_says_so(tmp_path: Path) -> None:
    """A custom rulebook with a daily recurring rule from 2000-01-01: up to the horizon
    (2027-06-01) that is over 9,900 days, and the series is cut at 10,000 occurrences, the
    10,000th being 2000-01-01 + 10,000 days = 2027-05-19; the build says so (it used to stop
    silently), and names the rule."""
    (tmp_path / "daily.yaml").write_text(DAILY_BOOK)
    text = LOG.replace("agreement: freshhawk-standard", "agreement: ../daily.yaml") \
        .replace("start: 2026-01-15", "start: 2000-01-01").split("events:")[0]
    events = tmp_path / "events"
    write_log(events, "old", text)
    code, _, err = run("build", str(events), "--out", str(tmp_path / "feeds"), "--as-of",
                       "2026-06-01")
    assert code == 0, err
    assert "rule daily-check: recurring every 1 day from Saturday 1 January 2000 has more " \
           "than 10,000 occurrences" in err
    assert "(the last on Wednesday 19 May 2027)" in err


def test_record_refuses_to_overwrite_a_log_saved_meanwhile(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A person saves the log in an editor (no lock) while `record` is checking its new
    entry: the save is kept and the record refused, never the other way round."""
    from deadlines import recording

    log = write_log(tmp_path)
    real_parse = recording.parse
    calls = []

    def parse_then_edit(doc: object) -> object:
        calls.append(1)
        if len(calls) == 2:  # after the append was computed, before the file is replaced
            log.write_text(log.read_text() + "# saved in an editor\n")
        return real_parse(doc)  # type: ignore[arg-type]

    monkeypatch.setattr(recording, "parse", parse_then_edit)
    with pytest.raises(DeadlinesError, match="the log changed while the event"):
        api.record(str(log), "breach_cured", "2026-05-20", ref="breach-1")
    assert log.read_text().endswith("# saved in an editor\n")


def _square_unless_13(n: int) -> int:
    if n == 13:
        raise OSError("no space left on device")
    return n * n


def test_an_error_in_a_workers_batch_is_raised_and_every_other_result_discarded() -> None:
    """Workers take their items a few at a time: an item's error still reaches the build
    (once it comes to it), and every result computed meanwhile, in its batch or another,
    is given back to be discarded, never lost (a staged feed would be left behind)."""
    items = list(range(200))
    assert build_module.chunk_size(len(items), 2) > 1  # batches, not one item per task
    handed: list[int] = []
    discarded: list[int] = []
    with build_module.Workers(2) as workers, pytest.raises(OSError, match="no space left"):
        for result in workers.run(_square_unless_13, items, discarded.append):
            handed.append(result)
    assert 13 * 13 not in handed + discarded
    assert not set(handed) & set(discarded)
    assert set(handed + discarded) <= {n * n for n in items}
    assert set(handed) | set(discarded) >= {n * n for n in range(8, 16) if n != 13}  # its batch


def test_workers_hand_out_every_result_once() -> None:
    items = list(range(101))
    with build_module.Workers(2) as workers:
        assert sorted(workers.run(_square_unless_13, [n for n in items if n != 13],
                                  lambda _: None)) == [n * n for n in items if n != 13]
