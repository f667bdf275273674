"""The build store (issue 11): incremental builds that give the same bytes as computing
everything, whatever the number of worker processes; stamps migrated from the JSON state file.

The damaged-store cases (recovered from the backup, or exit 2) are with the other damage in
tests/test_hardening.py, section 7.
"""

from __future__ import annotations

import json
import re
import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from folders import snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from deadlines import aggregates, api
from deadlines import build as build_module
from deadlines.cli import cli
from deadlines.contractfeed import page_text
from deadlines.feeds import Entry, FeedOptions
from deadlines.state import BACKUP_FILE as LEGACY_BACKUP
from deadlines.state import STATE_FILE as LEGACY_STATE
from deadlines.store import STORE_FILE, StoreReader, micros, pack_page, pack_page_texts
from deadlines.vocabulary import Status

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
LEGACY = Path(__file__).resolve().parent / "data" / "legacy-state"
AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def feeds(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.ics"))}


def events_of(data: bytes) -> dict[str, dict[str, str]]:
    """UID -> the VEVENT's own properties (unfolded; its alarms left out)."""
    out = {}
    for block in data.decode().replace("\r\n ", "").split("BEGIN:VEVENT")[1:]:
        own = block.split("BEGIN:VALARM")[0].split("END:VEVENT")[0]
        props = dict(line.split(":", 1) for line in own.split("\r\n") if ":" in line)
        out[props["UID"]] = props
    return out


def portfolio(directory: Path, copies: int = 2) -> Path:
    """The six sample logs, each under `copies` contract ids: 12 contracts by default, enough
    for the build to start its worker processes. Copy n is owned by desk n, so that owners'
    feeds span contracts computed by different workers."""
    directory.mkdir(parents=True, exist_ok=True)
    for sample in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        (log,) = (sample / "events").glob("*.yaml")
        text = log.read_text(encoding="utf-8")
        contract_id = re.search(r"^  id: (\S+)$", text, re.M)
        assert contract_id is not None
        for n in range(copies):
            new = f"{contract_id[1]}-{n}"
            (directory / f"{new}.yaml").write_text(
                text.replace(f"  id: {contract_id[1]}\n",
                             f"  id: {new}\n  owner: Desk {n} <desk{n}@example.org>\n"),
                encoding="utf-8")
    return directory


def live_stamps(out: Path) -> dict[str, dict[str, object]]:
    """The stamps of the deadlines in a feed. (Those out of every feed are dropped after the
    grace period when their contract is next computed, which is sooner when everything is.)"""
    return {contract: {uid: stamp for uid, stamp in stamps.items() if stamp.gone_since is None}
            for contract, stamps in StoreReader(out).stamps().items()}


@contextmanager
def computing_everything() -> Iterator[None]:
    """The store vouches for nothing: every contract is computed, as if nothing were cached
    (its stamps are still used: they are state, not cache)."""
    real = build_module._inputs_match
    build_module._inputs_match = lambda *args: False  # type: ignore[assignment]
    try:
        yield
    finally:
        build_module._inputs_match = real


# --- incremental ---------------------------------------------------------------------------

def test_a_rebuild_computes_only_the_contract_whose_log_changed(tmp_path: Path) -> None:
    events, out = portfolio(tmp_path / "events", copies=1), tmp_path / "feeds"
    first = build_module.build(events, out, AS_OF, jobs=1)
    # six contract feeds, all/ours/theirs, desk 0's feed
    assert first.computed == 6 and len(first.written) == 6 + 3 + 1
    again = build_module.build(events, out, AS_OF, jobs=1)
    assert again.computed == 0 and again.written == []
    assert again.deadlines == first.deadlines  # counted from the store
    api.record(str(events / "kiwi-freshhawk-0.yaml"), "incident_identified",
               "2026-05-31T09:00")
    third = build_module.build(events, out, AS_OF, jobs=1)
    assert third.computed == 1
    assert [p.relative_to(out).as_posix() for p in third.written] == [
        "contracts/kiwi-freshhawk-0.ics", "all.ics", "theirs.ics", "owners/desk0@example.org.ics"]


def test_a_store_written_before_the_feed_index_gets_it_and_builds_the_same(
        tmp_path: Path) -> None:
    """A version 1 store from before the index that counts an aggregate's entries (written by
    an earlier release) is given it when a build opens it; nothing else changes."""
    import sqlite3

    events, out = portfolio(tmp_path / "events", copies=1), tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    before = feeds(out)
    with sqlite3.connect(out / STORE_FILE) as conn:
        conn.execute("DROP INDEX entries_by_feed")
    api.record(str(events / "kiwi-freshhawk-0.yaml"), "incident_identified",
               "2026-05-31T09:00")
    report = build_module.build(events, out, AS_OF, jobs=1)
    assert report.computed == 1
    with sqlite3.connect(out / STORE_FILE) as conn:
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM entries "
                            "WHERE ours = 1").fetchall()
    assert "entries_by_feed" in str(plan)
    assert feeds(out).keys() == before.keys()


def test_a_feed_file_changed_behind_the_builds_back_is_written_again(tmp_path: Path) -> None:
    events, out = portfolio(tmp_path / "events", copies=1), tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    before = feeds(out)
    (out / "contracts" / "lumen-bcr-0.ics").write_bytes(b"edited")
    (out / "all.ics").unlink()
    report = build_module.build(events, out, AS_OF, jobs=1)
    assert report.computed == 1
    assert feeds(out) == before


def test_an_edited_rulebook_recomputes_the_contracts_that_use_it(tmp_path: Path) -> None:
    book = (ROOT / "deadlines" / "rulebooks" / "zuper.yaml").read_text(encoding="utf-8")
    (tmp_path / "books").mkdir()
    custom = tmp_path / "books" / "mine.yaml"
    custom.write_text(book.replace("id: zuper", "id: mine"), encoding="utf-8")
    events = tmp_path / "events"
    (log,) = (SAMPLES / "zuper" / "events").glob("*.yaml")
    events.mkdir()
    (events / "mine.yaml").write_text(log.read_text(encoding="utf-8").replace(
        "agreement: zuper", "agreement: ../books/mine.yaml"), encoding="utf-8")
    out = tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    assert build_module.build(events, out, AS_OF, jobs=1).computed == 0
    custom.write_text(custom.read_text(encoding="utf-8").replace(
        "\n    title: ", "\n    title: Edited - "), encoding="utf-8")
    report = build_module.build(events, out, AS_OF, jobs=1)
    assert report.computed == 1 and report.changed_uids
    # a rulebook edit that breaks it is bad input like any other: exit 2, nothing touched
    before = snapshot(out)
    custom.write_text("id: [", encoding="utf-8")
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")
    assert code == 2 and "mine.yaml" in err
    assert snapshot(out) == before


@pytest.mark.parametrize("sample", ["aircall", "bcr", "zuper"])
def test_incremental_builds_over_three_months_match_computing_everything(
        tmp_path: Path, sample: str) -> None:
    """The promise of `valid_until`: a contract's stored result is reused only while nothing
    in it would change. Two folders are built at the same 70 moments, 19 h 47 min apart (so
    that they fall at every hour of the day), from 2026-05-20: one incrementally, one computing
    every contract every time. Every feed and every stamp must be the same at every moment;
    the incremental one computes far less."""
    events = tmp_path / "events"
    events.mkdir()
    for log in (SAMPLES / sample / "events").glob("*.yaml"):
        shutil.copy(log, events)
    shutil.copy(ROOT / "events" / "acme-freshhawk.yaml", events)  # support tickets, hours
    incremental, everything = tmp_path / "incremental", tmp_path / "everything"
    moment = datetime(2026, 5, 20, 3, 17, tzinfo=UTC)
    computed = 0
    for _ in range(70):
        computed += build_module.build(events, incremental, moment, jobs=1).computed
        with computing_everything():
            build_module.build(events, everything, moment, jobs=1)
        assert feeds(incremental) == feeds(everything), moment
        assert live_stamps(incremental) == live_stamps(everything), moment
        moment += timedelta(hours=19, minutes=47)
    assert computed < 70, computed  # of 140 contract-moments


def test_an_hour_based_deadline_sets_the_next_change_to_the_minute(tmp_path: Path) -> None:
    """A support ticket at 10:05 (Paris) with a 30-minute response: the contract is computed
    again at 10:35 exactly, when the response becomes missed, not at the next midnight."""
    events = tmp_path / "events"
    events.mkdir()
    text = (ROOT / "events" / "acme-freshhawk.yaml").read_text(encoding="utf-8")
    head = text.split("events:")[0]
    (events / "t.yaml").write_text(head + """events:
  - id: ticket-9
    type: support_request
    at: 2026-06-01T10:05
    severity: critical
""", encoding="utf-8")
    out = tmp_path / "feeds"
    at = datetime(2026, 6, 1, 8, 6, tzinfo=UTC)  # 10:06 in Paris
    report = build_module.build(events, out, at, jobs=1)
    assert report.next_change is not None
    assert report.next_change - at < timedelta(hours=1)
    before = feeds(out)
    assert build_module.build(events, out, report.next_change - timedelta(seconds=1),
                              jobs=1).computed == 0
    after = build_module.build(events, out, report.next_change, jobs=1)
    assert after.computed == 1 and feeds(out) != before


# --- the pool --------------------------------------------------------------------------------

def test_one_job_and_four_jobs_write_the_same_bytes(tmp_path: Path) -> None:
    """Twelve contracts built by one process and by four workers: the same feeds and the same
    stamps, on a first build and after a change to some of the logs."""
    events = portfolio(tmp_path / "events")
    one, four = tmp_path / "one", tmp_path / "four"
    first = build_module.build(events, one, AS_OF, jobs=1)
    assert build_module.build(events, four, AS_OF, jobs=4).computed == first.computed == 12
    assert feeds(one) == feeds(four)
    assert {"owners/desk0@example.org.ics", "owners/desk1@example.org.ics"} < set(feeds(one))
    for name in ("pine-aircall-1", "vela-zuper-0", "lumen-bcr-1"):
        api.record(str(events / f"{name}.yaml"), "breach_notice", "2026-05-30")
    later = AS_OF + timedelta(days=9)
    assert build_module.build(events, one, later, jobs=1).written
    assert build_module.build(events, four, later, jobs=4).written
    assert feeds(one) == feeds(four)
    assert StoreReader(one).stamps() == StoreReader(four).stamps()


def test_bad_input_found_by_a_worker_touches_nothing(tmp_path: Path) -> None:
    events = portfolio(tmp_path / "events")
    out = tmp_path / "feeds"
    assert run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")[0] == 0
    before = snapshot(out)
    for log in sorted(events.glob("*.yaml"))[:10]:  # enough for the workers
        log.write_text(log.read_text(encoding="utf-8") + "\n  - type: breach_notice\n",
                       encoding="utf-8")
    (events / "vela-zuper-1.yaml").write_text("contract: [\n", encoding="utf-8")
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01",
                       "--jobs", "4")
    assert code == 2 and err.count("\n") == 1, err
    assert snapshot(out) == before
    assert not list(out.rglob("*.tmp"))


# --- migration from the JSON state file ------------------------------------------------------

def legacy_copy(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(LEGACY, tmp_path / "legacy")
    return tmp_path / "legacy" / "events", tmp_path / "legacy" / "feeds"


def assert_sequences_continue(old: bytes, new: bytes) -> None:
    """Every deadline of the old feed that is still in the new one keeps its SEQUENCE and
    stamps if its content is the same, and has a higher SEQUENCE if it changed."""
    before, after = events_of(old), events_of(new)
    assert set(before) & set(after)
    content = ("SUMMARY", "DESCRIPTION", "STATUS", "CATEGORIES")
    for uid in set(before) & set(after):
        a, b = before[uid], after[uid]
        if all(a.get(k) == b.get(k) for k in content) and \
                a.get("DTSTART") == b.get("DTSTART"):
            assert (b["SEQUENCE"], b["LAST-MODIFIED"], b["CREATED"]) == \
                (a["SEQUENCE"], a["LAST-MODIFIED"], a["CREATED"]), uid
        else:
            assert int(b["SEQUENCE"]) > int(a["SEQUENCE"]), uid


def test_a_legacy_state_is_migrated_and_sequence_numbers_continue(tmp_path: Path) -> None:
    """A folder written before the store (tests/data/legacy-state): the first build imports
    its stamps, SEQUENCE numbers continue (10 deadlines there are at SEQUENCE 1), the old
    state files are removed, and the removed contract goes on being cancelled, then removed."""
    events, out = legacy_copy(tmp_path)
    old = (out / "contracts" / "kiwi-freshhawk.ics").read_bytes()
    assert b"SEQUENCE:1\r\n" in old
    code, stdout, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01",
                            "-v")
    assert code == 0, err
    assert f"{LEGACY_STATE}: its stamps now live in the build store; removed" in stdout
    assert not (out / LEGACY_STATE).exists() and not (out / LEGACY_BACKUP).exists()
    assert (out / STORE_FILE).exists()
    assert_sequences_continue(old, (out / "contracts" / "kiwi-freshhawk.ics").read_bytes())
    assert StoreReader(out).removed() == {"gone-freshhawk": datetime(2026, 6, 1, 12, tzinfo=UTC)}
    assert (out / "contracts" / "gone-freshhawk.ics").exists()
    code, stdout, _ = run("build", str(events), "--out", str(out), "--as-of", "2026-06-16", "-v")
    assert code == 0 and "contract gone-freshhawk: grace period over" in stdout
    assert not (out / "contracts" / "gone-freshhawk.ics").exists()


def test_a_damaged_legacy_state_is_migrated_from_its_backup(tmp_path: Path) -> None:
    events, out = legacy_copy(tmp_path)
    old = (out / "contracts" / "kiwi-freshhawk.ics").read_bytes()
    (out / LEGACY_STATE).write_bytes(b'{"version": 1, "entries": {"a": {"hash"')
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")
    assert code == 0, err
    assert f"recovered from {LEGACY_BACKUP}" in err
    assert_sequences_continue(old, (out / "contracts" / "kiwi-freshhawk.ics").read_bytes())


@pytest.mark.parametrize("damage", [
    b'{"version": 1, "entries": {"a": {"sequence": Infinity}}}',  # json reads Infinity
    b'{"version": 1, "entries": {"a": {"last_modified": "9999-12-31T23:59:59+00:00"}}}',
    b"[" * 100_000 + b"]" * 100_000,  # nesting past the parser's recursion limit
])
def test_a_legacy_state_with_values_out_of_range_is_migrated_from_its_backup(
        tmp_path: Path, damage: bytes) -> None:
    """Values that parse but cannot be stamps (they once gave exit 3 and blocked every
    build): the state is damaged, and its backup is migrated instead, with a warning."""
    events, out = legacy_copy(tmp_path)
    (out / LEGACY_STATE).write_bytes(damage)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")
    assert code == 0, err
    assert f"recovered from {LEGACY_BACKUP}" in err


def test_a_legacy_state_damaged_with_its_backup_is_refused(tmp_path: Path) -> None:
    events, out = legacy_copy(tmp_path)
    for name in (LEGACY_STATE, LEGACY_BACKUP):
        (out / name).write_bytes(b'{"version": 1, "entries": []}')
    before = snapshot(out)
    code, _, err = run("build", str(events), "--out", str(out), "--as-of", "2026-06-01")
    assert code == 2 and err.count("\n") == 1 and "remove both to start afresh" in err
    assert snapshot(out) == before


def test_the_store_keeps_no_stamp_long_out_of_every_feed(tmp_path: Path) -> None:
    """The JSON state grew forever (+39 % over six months of rebuilds). A stamp whose deadline
    has been in no feed for longer than the grace period is dropped."""
    events = tmp_path / "events"
    events.mkdir()
    shutil.copy(ROOT / "events" / "acme-freshhawk.yaml", events)
    out = tmp_path / "feeds"
    options = FeedOptions(past_days=10)
    build_module.build(events, out, datetime(2026, 11, 26, 12, tzinfo=UTC), options, jobs=1)
    (early,) = StoreReader(out).stamps().values()
    # half a year on, the November deadlines have left the feed; a grace period later (the
    # log changed meanwhile, so the contract is computed again) their stamps are dropped
    build_module.build(events, out, datetime(2027, 6, 1, 12, tzinfo=UTC), options, jobs=1)
    (gone,) = StoreReader(out).stamps().values()
    assert set(early) <= set(gone)
    api.record(str(events / "acme-freshhawk.yaml"), "breach_notice", "2027-06-10")
    build_module.build(events, out, datetime(2027, 6, 16, 12, tzinfo=UTC), options, jobs=1)
    (late,) = StoreReader(out).stamps().values()
    assert set(early) - set(late), "nothing was dropped"
    for uid in set(early) - set(late):
        assert uid.encode() not in b"".join(feeds(out).values())


def test_a_backup_left_behind_by_a_crash_is_made_again(tmp_path: Path) -> None:
    """A build that stops between its commit and its backup leaves a backup one build old
    (restored, it could take a SEQUENCE back below what subscribers saw after two more
    changes). The next build, even with nothing to compute, sees that the backup is not of
    the store's generation and makes it again."""
    events, out = portfolio(tmp_path / "events", copies=1), tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    old = (out / ".deadlines-store.sqlite.bak").read_bytes()
    api.record(str(events / "kiwi-freshhawk-0.yaml"), "incident_identified", "2026-05-31T09:00")
    build_module.build(events, out, AS_OF, jobs=1)
    (out / ".deadlines-store.sqlite.bak").write_bytes(old)  # as if the backup had not run
    assert build_module.build(events, out, AS_OF, jobs=1).computed == 0
    current = (out / ".deadlines-store.sqlite.bak").read_bytes()
    assert current != old
    import sqlite3

    generations = []
    for name in (".deadlines-store.sqlite", ".deadlines-store.sqlite.bak"):
        conn = sqlite3.connect(f"file:{out / name}?mode=ro", uri=True)
        generations.append(conn.execute(
            "SELECT value FROM meta WHERE name = 'generation'").fetchone())
        conn.close()
    assert generations[0] == generations[1] == ("2",)


def test_an_edited_parent_rulebook_recomputes_the_contracts_whose_rulebook_extends_it(
        tmp_path: Path) -> None:
    """A rulebook that `extend:`s another is read from both files: the store keys its
    contracts on both, so an edit of the parent alone is seen."""
    books = tmp_path / "books"
    books.mkdir()
    parent = books / "parent.yaml"
    parent.write_text((ROOT / "deadlines" / "rulebooks" / "zuper.yaml").read_text(
        encoding="utf-8").replace("id: zuper", "id: parent"), encoding="utf-8")
    (books / "child.yaml").write_text("extend: parent.yaml\nid: child\nname: A child\n",
                                      encoding="utf-8")
    events = tmp_path / "events"
    events.mkdir()
    (log,) = (SAMPLES / "zuper" / "events").glob("*.yaml")
    (events / "c.yaml").write_text(log.read_text(encoding="utf-8").replace(
        "agreement: zuper", "agreement: ../books/child.yaml"), encoding="utf-8")
    out = tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    assert build_module.build(events, out, AS_OF, jobs=1).computed == 0
    parent.write_text(parent.read_text(encoding="utf-8").replace(
        "\n    title: ", "\n    title: Edited - "), encoding="utf-8")
    report = build_module.build(events, out, AS_OF, jobs=1)
    assert report.computed == 1 and report.changed_uids
    assert b"Edited - " in (out / "contracts" / "vela-zuper.ics").read_bytes()


def test_a_first_build_with_bad_input_leaves_no_folder_at_all(tmp_path: Path) -> None:
    """A first build computes (and so checks) each log once, in a private folder beside the
    one asked for, renamed into place at the end: a log found bad by a worker leaves neither
    the folder nor its private one."""
    events = portfolio(tmp_path / "events")
    (events / "vela-zuper-1.yaml").write_text("contract: [\n", encoding="utf-8")
    code, _, err = run("build", str(events), "--out", str(tmp_path / "feeds"), "--as-of",
                       "2026-06-01", "--jobs", "4")
    assert code == 2 and "vela-zuper-1.yaml" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events"]


def test_two_logs_with_one_contract_id_in_a_first_build(tmp_path: Path) -> None:
    events = portfolio(tmp_path / "events")
    shutil.copy(events / "vela-zuper-1.yaml", events / "zz-copy.yaml")
    code, _, err = run("build", str(events), "--out", str(tmp_path / "feeds"), "--as-of",
                       "2026-06-01")
    assert code == 2
    assert "zz-copy.yaml:" in err and "contract id 'vela-zuper-1' is also used by" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events"]


def test_the_folder_of_a_killed_first_build_is_removed_by_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    events = portfolio(tmp_path / "events", copies=1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f".feeds.{dead.pid}.0123abcd.tmp"
    (left / "contracts").mkdir(parents=True)
    (left / "contracts" / "half.ics").write_bytes(b"BEGIN:VCALENDAR")
    build_module.build(events, tmp_path / "feeds", AS_OF, jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events", "feeds"]


def test_a_first_build_leaves_its_store_in_write_ahead_log_mode(tmp_path: Path) -> None:
    """A first build writes its store with a rollback journal (nobody reads its private folder
    meanwhile); the store it leaves logs ahead like every other build's, so that `serve` and
    `status` read it while a later build writes. The later build's store is the same."""
    import sqlite3

    events = portfolio(tmp_path / "events")
    out = tmp_path / "feeds"
    build_module.build(events, out, AS_OF, jobs=1)
    conn = sqlite3.connect(out / STORE_FILE)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert sorted(p.name for p in out.iterdir() if "-journal" in p.name) == []
    assert build_module.build(events, out, AS_OF + timedelta(days=40), jobs=1).computed

def test_a_rebuild_writes_only_the_aggregates_its_changes_fall_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An aggregate none of whose entries changed is not read or written again (the other
    agreements' parts, the other owners' feeds). Two folders go through the same builds: one
    leaving such aggregates alone, one writing every aggregate every time; their feeds must be
    the same bytes at every step. The aggregates are capped at 20 kB, so that they are split by
    agreement and some parts are capped too: records, days passing, an owner renamed, a log
    removed and its grace period running out."""
    events = portfolio(tmp_path / "events", copies=2)
    options = FeedOptions(max_feed_bytes=20_000)
    skipping, writing = tmp_path / "skipping", tmp_path / "writing"
    written: list[str] = []
    real_write = aggregates._write_one

    def spy(store: object, out: Path, scope: str, *args: object, **kwargs: object) -> None:
        if out == skipping:
            written.append(scope)
        real_write(store, out, scope, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aggregates, "_write_one", spy)

    def both(moment: datetime) -> list[str]:
        written.clear()
        build_module.build(events, skipping, moment, options, jobs=1)
        with monkeypatch.context() as always:
            always.setattr(aggregates._Unchanged, "keep", lambda *args: False)
            build_module.build(events, writing, moment, options, jobs=1)
        assert feeds(skipping) == feeds(writing), moment
        return sorted(written)

    both(AS_OF)  # a first build (into a private folder, renamed into place)
    assert both(AS_OF) == []  # nothing changed: nothing read
    api.record(str(events / "kiwi-freshhawk-0.yaml"), "incident_identified",
               "2026-05-31T09:00")
    # the incident sets off duties and rights on both sides: all, ours and theirs, their
    # freshhawk parts, desk 0's feed; nothing of desk 1 or of another agreement
    assert both(AS_OF) == ["all", "all:freshhawk-standard", "ours", "ours:freshhawk-standard",
                           "owner:desk0@example.org", "theirs", "theirs:freshhawk-standard"]
    moment = AS_OF
    for _ in range(4):
        moment += timedelta(days=1, hours=5)
        both(moment)
    log = events / "lumen-bcr-1.yaml"
    log.write_text(log.read_text(encoding="utf-8").replace("Desk 1 <", "Desk One <"),
                   encoding="utf-8")
    assert "owner:desk1@example.org" in both(moment)
    (events / "kiwi-freshhawk-0.yaml").unlink()
    for _ in range(4):
        both(moment)
        moment += timedelta(days=5)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), st.one_of(st.text(), st.integers(), st.booleans(), st.none(),
                                            st.sampled_from(list(Status)), st.floats()))
       )
def test_a_page_packed_from_row_texts_is_the_page_packed_from_rows(
        row: dict[str, object]) -> None:
    """The subscribe page reads the rows the store keeps: rows written as JSON text one by one
    pack to the same bytes as the rows themselves."""
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    assert pack_page_texts([text] * 2) == pack_page([row] * 2) == zlib.compress(
        json.dumps([row] * 2, ensure_ascii=False, separators=(",", ":")).encode())


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.text(), min_size=7, max_size=7), owner=st.text(),
       status=st.sampled_from(list(Status)),
       due=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2299, 12, 31),
                        timezones=st.just(UTC)))
def test_a_deadline_page_row_is_what_json_dumps_writes(words: list[str], owner: str,
                                                       status: Status, due: datetime) -> None:
    uid, due_local, title, actor, clause, contract, name = words
    item = Entry(uid, "k", "s", "d", due.date(), False, (), (), due, True, contract,
                 status=status, actor=actor, clause=clause, title=title, due_local=due_local,
                 owner=owner, sort=(due, "k"))
    row = {"uid": uid, "sort": micros(due), "due": due_local, "title": title, "status": status,
           "actor": actor, "clause": clause, "contract": contract, "contract_name": name,
           **({"owner": owner} if owner else {})}
    assert page_text(item, name) == json.dumps(row, ensure_ascii=False, separators=(",", ":"))
