"""Issue 11: `serve` rebuilds in a niced child process and never makes a request wait for it;
changes are noticed with few stats, spread over the logs; the page stays small.

The request-level guarantees (back-off, tokens re-read on every request, vanishing files) are
in test_server_attacks.py; these tests use the child process `serve` uses (`isolated=True`).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from serverkit import (
    AS_OF,
    call,
    children,
    descendants,
    hold_rebuild,
    is_alive,
    make_site,
    serving_process,
)

import deadlines.rebuilds as rebuilds
from deadlines.aggregates import aggregate_filter
from deadlines.errors import DeadlinesError
from deadlines.feeds import FeedOptions
from deadlines.rebuilds import NICENESS, BuildRequest, Watcher
from deadlines.rebuilds import _child as rebuild_child
from deadlines.recording import record
from deadlines.safeio import folder_lock, locked
from deadlines.server import FeedServer
from deadlines.store import StoreReader, micros
from deadlines.subscribepage import MAX_ROWS, render_page


def wait_for(path: Path) -> bool:
    """True once `path` exists (polled by a thread joined with a bound, not timed)."""
    found = threading.Event()

    def poll() -> None:
        while not found.is_set():
            if path.exists():
                found.set()
            else:
                threading.Event().wait(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    poller.join(60)
    result = found.is_set()
    found.set()
    return result


def test_requests_are_answered_while_the_rebuild_child_is_held(tmp_path: Path) -> None:
    """A change is picked up by the watching thread and rebuilt in a child process, niced,
    which the test holds before its build. Meanwhile every request is answered, from the
    previous snapshot; a request that waited for the rebuild would never return (the child
    is released only after the requests). Once released, the next request sees the change."""
    gate = tmp_path / "gate"
    gate.mkdir()
    site = make_site(tmp_path, isolated=True,
                     before_rebuild=functools.partial(hold_rebuild, gate))
    first = call(site.app, site.feed("all"))[2]
    (gate / "hold").touch()
    record(site.events / "acme-freshhawk.yaml", "incident_identified", "2026-11-25T09:00",
           event_id="incident-held")
    answers: list[tuple[str, bytes]] = []

    def ask() -> None:
        status, _, body = call(site.app, site.feed("all"))
        answers.append((status, body))

    site.app.start()
    try:
        try:
            assert wait_for(gate / "child"), "no rebuild started"
            pid, niceness = map(int, (gate / "child").read_text().split())
            assert pid != os.getpid()
            assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
            for _ in range(3):
                asking = threading.Thread(target=ask)
                asking.start()
                asking.join(timeout=30)
                assert not asking.is_alive(), "a request waited for the rebuild"
            assert call(site.app, f"/{site.tokens['ours']}/")[0] == "200 OK"  # the page too
        finally:
            (gate / "release").touch()
        assert answers == [("200 OK", first)] * 3
        (gate / "hold").unlink()
        assert site.app.settle(timeout=60)
        assert b"incident-held" in call(site.app, site.feed("all"))[2]
    finally:
        site.app.close()


def test_a_failed_rebuild_in_the_child_is_logged_once_and_keeps_the_feeds(tmp_path: Path
                                                                         ) -> None:
    """The child's error comes back as the one line a build would print; the previous feeds
    are served meanwhile, and a repaired log is built again."""
    site = make_site(tmp_path, isolated=True)
    first = call(site.app, site.feed("all"))[2]
    log = site.events / "acme-freshhawk.yaml"
    good = log.read_text()
    log.write_text("contract: [this is not\n")
    assert site.app.settle(timeout=60)
    assert site.app.settle(timeout=60)  # backing off: not tried again, not logged again
    failed = [line for line in site.lines if "rebuild failed" in line]
    assert len(failed) == 1 and "acme-freshhawk.yaml" in failed[0], site.lines
    assert call(site.app, site.feed("all"))[2] == first
    log.write_text(good)
    assert site.app.settle(timeout=60)
    assert any(line.startswith("rebuild succeeded") for line in site.lines), site.lines


def test_the_first_snapshot_in_a_child_raises_the_build_error(tmp_path: Path) -> None:
    """Bad input at start-up is the one-line error `serve` exits 2 with, child or not."""
    site = make_site(tmp_path, isolated=True)
    (site.events / "acme-freshhawk.yaml").write_text("contract: [this is not\n")
    app = FeedServer(site.events, tmp_path / "other-feeds", site.tokens_path, isolated=True,
                     log=site.lines.append)
    with pytest.raises(DeadlinesError, match=r"acme-freshhawk\.yaml"):
        app.snapshot()


def test_serve_killed_with_sigkill_leaves_no_fork_server_and_no_rebuild(tmp_path: Path
                                                                        ) -> None:
    """`serve` killed with -9 while a rebuild runs: its fork server and the rebuild child end
    with it, rather than build on alone. The test holds the feeds folder's lock, so the
    rebuild waits for it for as long as it lives."""
    with serving_process(tmp_path) as (proc, _, _, errors), \
            locked(folder_lock(tmp_path / "feeds")):
        record(tmp_path / "events" / "acme-freshhawk.yaml", "incident_identified",
               "2026-11-25T09:00", event_id="incident-killed")
        # the fork server's child (serve's grandchild): the rebuild, waiting for the lock
        poll_until(lambda: len(descendants(proc.pid)) > len(children(proc.pid)))
        below = descendants(proc.pid)
        assert set(below) - set(children(proc.pid)), \
            f"no rebuild started: {below}\n{errors.read_text()}"
        proc.kill()
        proc.wait()
        poll_until(lambda: not any(is_alive(pid) for pid in below))
        assert [pid for pid in below if is_alive(pid)] == [], "still running after the kill"


def poll_until(done: Callable[[], bool], seconds: float = 60) -> None:
    """Returns once `done()`, or after `seconds` (a bound for a test that fails, not a
    timing: the caller asserts what it waited for)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize(("server_is_alive", "status"), [(True, 0), (False, 1)])
def test_a_rebuild_child_whose_server_died_before_it_started_ends(
        tmp_path: Path, server_is_alive: bool, status: int) -> None:
    """`serve` killed with -9 between starting a rebuild child and the child asking to die
    with the fork server left the child building alone: the child checks that the server still
    reads its result pipe (its only reader) once it has asked, and builds only then."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    request = BuildRequest(tmp_path / "events", tmp_path / "feeds", datetime.now(UTC),
                           FeedOptions(), before=(tmp_path / "built").touch)
    if not server_is_alive:
        receiving.close()
    child = os.fork()
    if child == 0:
        try:  # as a child of the fork server, which hands it only the sending end
            if server_is_alive:
                receiving.close()
            rebuild_child(request, sending)
        finally:
            os._exit(0)
    sending.close()
    _, wait_status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(wait_status) == status
    assert (tmp_path / "built").exists() == server_is_alive


@pytest.mark.parametrize(("cpus", "jobs", "asked"), [
    (2, None, [None, 1]), (8, None, [None, 7]), (1, None, [None, 1]), (2, 2, [2, 2])])
def test_rebuilds_while_serving_leave_a_core_to_the_requests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpus: int, jobs: int | None,
        asked: list[int | None]) -> None:
    """Unless `--jobs` says otherwise, the first build (before the server listens) has a worker
    per CPU, and a rebuild while serving one fewer, at least one: one that computes many
    contracts leaves a core to the request threads."""
    monkeypatch.setattr(rebuilds, "default_jobs", lambda: cpus)
    seen: list[int | None] = []
    real = rebuilds.build

    def counted(*args: Any, jobs: int | None = None, **kwargs: Any) -> Any:
        seen.append(jobs)
        return real(*args, jobs=jobs, **kwargs)

    monkeypatch.setattr(rebuilds, "build", counted)
    site = make_site(tmp_path, jobs=jobs)
    call(site.app, site.feed("all"))
    record(site.events / "acme-freshhawk.yaml", "incident_identified", "2026-11-25T09:00",
           event_id="incident-jobs")
    assert site.app.settle(timeout=60)
    assert seen == asked


def logs(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"c{i}.yaml" for i in range(count)]
    for path in paths:
        path.write_text("x")
    return paths


def test_the_watcher_spreads_its_stats_over_the_logs(tmp_path: Path) -> None:
    """Two logs a look: an edit in place of the fifth of five is seen at the third look (not
    at once, and not never); a log added is seen at once (the folder's own stat)."""
    paths = logs(tmp_path / "events", 5)
    watcher = Watcher(tmp_path / "events", tmp_path / "no-rulebooks", per_look=2)
    before = watcher.look(full=True)
    stamp = paths[4].stat().st_mtime_ns + 10**9
    os.utime(paths[4], ns=(stamp, stamp))  # an edit in place: the folder does not change
    assert watcher.look() == before  # logs 0 and 1
    assert watcher.look() == before  # logs 2 and 3
    after = watcher.look()  # logs 4 and 0
    assert after != before and after[4][2] == stamp
    (tmp_path / "events" / "c9.yaml").write_text("x")
    assert len(watcher.look()) == 6


def test_the_watcher_sees_a_log_vanish_between_two_full_looks(tmp_path: Path) -> None:
    paths = logs(tmp_path / "events", 3)
    watcher = Watcher(tmp_path / "events", tmp_path / "no-rulebooks", per_look=1)
    before = watcher.look(full=True)
    paths[0].unlink()
    assert watcher.look() != before  # the folder changed: listed again, no error


def test_an_aggregate_page_shows_at_most_its_limit_and_says_how_many_more() -> None:
    as_of = datetime(2026, 11, 26, 12, tzinfo=UTC)
    rows = [{"sort": micros(as_of + timedelta(hours=i)), "uid": f"u{i}", "due": f"d{i}",
             "title": f"Deadline {i}", "status": "pending", "actor": "provider", "clause": "c",
             "contract": f"c{i % 7}", "contract_name": "C"} for i in range(MAX_ROWS + 25)]
    page = render_page("All", rows, "http://h/t/deadlines.ics", as_of, FeedOptions(), 14, 30)
    assert page.count('<tr class="pending">') == MAX_ROWS
    assert f">Deadline {MAX_ROWS - 1} - C<" in page and f">Deadline {MAX_ROWS} - C<" not in page
    assert "25 more deadlines in the window are not shown here" in page
    assert "more deadlines" not in render_page("All", rows[:10], "http://h/t/deadlines.ics",
                                               as_of, FeedOptions(), 14, 30)


def test_an_aggregate_page_loads_only_the_rows_it_shows(tmp_path: Path) -> None:
    """The store hands the page its first rows of the window in the page's order, and how
    many more there are, rather than every row: the page is the same bytes as one rendered
    from every row."""
    site = make_site(tmp_path)
    call(site.app, site.feed("all"))
    reader = StoreReader(tmp_path / "feeds")
    where, args = aggregate_filter("all")
    since = micros(AS_OF - timedelta(days=FeedOptions().aggregate_past_days))
    every, none_left = reader.aggregate_page(where, args, 0, 10**9)
    shown = len([row for row in every if row["sort"] >= since]) - 2
    assert none_left == 0 and shown > 2
    first, more = reader.aggregate_page(where, args, since, shown)
    assert more == 2
    assert first == sorted((row for row in every if row["sort"] >= since),
                           key=lambda row: (row["sort"], row["uid"]))[:shown]
    page = functools.partial(render_page, "All", feed_url="http://h/t/deadlines.ics",
                             as_of=AS_OF, past_days=FeedOptions().aggregate_past_days,
                             ahead_days=30, max_rows=shown)
    assert page(first, more=more) == page(every)
    assert "2 more deadlines in the window are not shown here" in page(first, more=more)


def test_a_relisting_stats_only_what_was_replaced(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A log replaced by a rename (as `record` does) moves the folder: the listing shows the
    new inode, and that one file is stat'ed, not the other 99."""
    paths = logs(tmp_path / "events", 100)
    watcher = Watcher(tmp_path / "events", tmp_path / "no-rulebooks", per_look=1)
    before = watcher.look(full=True)
    (tmp_path / "new.yaml").write_text("xy")
    (tmp_path / "new.yaml").rename(paths[50])
    stats: list[str] = []
    real = Path.stat

    def counted(self: Path, **kwargs: bool) -> os.stat_result:
        stats.append(self.name)
        return real(self, **kwargs)

    monkeypatch.setattr(Path, "stat", counted)
    after = watcher.look()
    assert [a[0] for a, b in zip(before, after, strict=True) if a != b] == [str(paths[50])]
    assert stats == ["events", "no-rulebooks", "c50.yaml"], stats
