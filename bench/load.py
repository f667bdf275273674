"""Bounded load test of `deadlines serve` on loopback, with wrk, against a bare WSGI baseline.

Starts the feed server (waitress, default thread count) on 127.0.0.1 on the repo's events/ with
one token (scope "all"), then runs Debian's wrk for a fixed duration and connection count
against:

* 200: a plain GET of `/<token>/deadlines.ics`;
* 304: the same GET with `If-None-Match: <the feed's ETag>`.

The server is measured twice: with its one-line-per-request log going to a file (as `serve`
logs to stderr, flushed per line) and with a null logger. In the same run, a baseline WSGI app
on waitress returns the same bytes and headers with no logic, so that the server's own overhead
is visible. Prints requests/s, p50 and p99 latency and the error count (non-2xx/3xx responses
plus socket errors; must be 0) for each, from a Lua `done` function in wrk.

    bash scripts/install-test-tools        # wrk, from Debian (as root)
    python bench/load.py [--duration 10] [--connections 16] [--threads 2]

Exits 1 if any run had an error. Loopback only; every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from waitress.server import create_server

from deadlines.server import FEED_NAME, FeedServer
from deadlines.tokens import TokenStore

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.mean,
    latency.max))
end
"""


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: dict[str, int]
    bytes_per_response: float


def median_of(name: str, found: list[Result]) -> Result:
    """One row for several rounds: medians, and the errors of all rounds added up."""
    if len(found) == 1:
        return found[0]
    detail: Counter[str] = Counter()
    for r in found:
        detail.update(r.detail)
    return Result(f"{name}", sum(r.requests for r in found),
                  statistics.median(r.rps for r in found),
                  statistics.median(r.p50_ms for r in found),
                  statistics.median(r.p99_ms for r in found), sum(r.errors for r in found),
                  dict(detail), statistics.median(r.bytes_per_response for r in found))


@contextmanager
def serving(app: Callable[..., Iterable[bytes]], threads: int | None) -> Iterator[int]:
    """The app on waitress at 127.0.0.1:<port>, in a daemon thread; yields the port."""
    kwargs: dict[str, Any] = {} if threads is None else {"threads": threads}
    server = create_server(app, host=HOST, port=0, **kwargs)
    closing = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # the loop's select() on sockets that close() just closed
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        # let the tasks that wrk left queued finish before the sockets close (bounded)
        dispatcher = server.task_dispatcher
        deadline = time.monotonic() + 10
        idle = 0
        while idle < 3 and time.monotonic() < deadline:
            idle = 0 if dispatcher.queue or dispatcher.active_count else idle + 1
            time.sleep(0.05)
        closing.set()
        server.close()
        thread.join(timeout=10)


def fetch(port: int, path: str, headers: dict[str, str] | None = None
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def run_wrk(name: str, url: str, args: argparse.Namespace, workdir: Path,
            headers: dict[str, str]) -> Result:
    script = workdir / "load.lua"
    lines = [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n" + DONE_LUA)
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", f"{args.timeout}s", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          timeout=args.duration + 60)
    if args.verbose:
        print(done.stdout.replace(url, url.rsplit("/", 2)[0] + "/<token>/" + FEED_NAME),
              file=sys.stderr)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"no summary from wrk:\n{done.stdout}")
    data = json.loads(line.split(" ", 1)[1])
    detail = {k: data[k] for k in ("status", "connect", "read", "write", "timeout")}
    return Result(name, data["requests"], data["requests"] / (data["duration_us"] / 1e6),
                  data["p50_us"] / 1000, data["p99_us"] / 1000, sum(detail.values()), detail,
                  data["bytes"] / max(data["requests"], 1))


class Recorder(threading.Thread):
    """Records an event into one of the logs once a second, until stopped: each is a change
    the server rebuilds for, in the background, while wrk measures."""

    def __init__(self, events: Path) -> None:
        super().__init__(daemon=True)
        self.logs = sorted(events.glob("*.yaml"))
        self.halt = threading.Event()
        self.count = 0

    def stop(self) -> None:
        self.halt.set()
        self.join(30)

    def run(self) -> None:
        from deadlines.api import record

        while not self.halt.wait(1.0):
            log = self.logs[self.count % len(self.logs)]
            record(str(log), "breach_notice", "2026-05-30", note=f"load {self.count}")
            self.count += 1


def baseline_app(body: bytes, headers: list[tuple[str, str]], etag: str
                 ) -> Callable[..., Iterable[bytes]]:
    """The same bytes and headers, and a 304 on the same ETag; nothing else."""
    not_modified = [(k, v) for k, v in headers
                    if k.lower() not in ("content-type", "content-length", "content-encoding")]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", not_modified)
            return [b""]
        start_response("200 OK", headers)
        return [body]

    return app


def check(port: int, path: str, etag_headers: dict[str, str]) -> None:
    """The 200 and the 304 answer as expected before wrk hammers them."""
    status, _, _ = fetch(port, path)
    assert status == 200, status
    status, _, body = fetch(port, path, etag_headers)
    assert status == 304 and body == b"", status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--connections", type=int, default=16, help="open connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the six runs, interleaved, and print medians (1)")
    parser.add_argument("--timeout", type=int, default=5, help="wrk request timeout, s (5)")
    parser.add_argument("--server-threads", type=int, default=None,
                        help="waitress threads (default: waitress's own default, 4)")
    parser.add_argument("--events", default=str(ROOT / "events"), help="event log folder")
    parser.add_argument("--as-of", default=None,
                        help="pin the server's clock (ISO date-time, UTC); default: real clock")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip")
    parser.add_argument("--log-file", default=None,
                        help="where the server's request log goes (default: a temp file)")
    parser.add_argument("--verbose", action="store_true", help="echo wrk's own output")
    parser.add_argument("--during-rebuilds", action="store_true",
                        help="also measure while events are recorded into the logs once a "
                        "second (each one a background rebuild of the server)")
    args = parser.parse_args()
    if min(args.duration, args.connections, args.threads, args.rounds) < 1:
        parser.error("duration, connections, threads and rounds must be at least 1")
    if args.threads > args.connections:
        parser.error("wrk needs at least as many connections as threads")
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `bash scripts/install-test-tools` as root "
              "(or: apt-get install wrk)", file=sys.stderr)
        return 2

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="deadlines-load-"))
    log_path = Path(args.log_file) if args.log_file else work / "requests.log"
    # waitress's own warnings (e.g. "Task queue depth is N": all threads busy), counted
    waitress_warnings: Counter[str] = Counter()
    tracebacks: dict[str, str] = {}

    measuring = threading.Event()

    class Tally(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not measuring.is_set():
                return  # not during start-up or shut-down of the servers
            message = record.getMessage()
            kind = "Task queue depth" if message.startswith("Task queue depth") else \
                message.split(" <", 1)[0]
            waitress_warnings[kind] += 1
            if record.exc_info and kind not in tracebacks:
                tracebacks[kind] = logging.Formatter().formatException(record.exc_info)

    logging.getLogger("waitress").addHandler(Tally(logging.WARNING))
    logging.getLogger("waitress").propagate = False

    token, _ = TokenStore.load(work / "tokens.json").create("all")
    path = f"/{token}/{FEED_NAME}"
    clock: Callable[[], datetime]
    if args.as_of:
        pinned = datetime.fromisoformat(args.as_of).replace(tzinfo=UTC)
        clock = lambda: pinned  # noqa: E731
    else:
        clock = lambda: datetime.now(UTC)  # noqa: E731
    encoding = {"Accept-Encoding": "gzip"} if args.gzip else {}
    runs: dict[str, list[Result]] = {}
    feed_bytes = 0
    with ExitStack() as stack:
        log_file = stack.enter_context(log_path.open("a", encoding="utf-8", buffering=1))

        def to_file(line: str) -> None:
            print(line, file=log_file, flush=True)  # as `serve` does on stderr

        def null(line: str) -> None:
            pass

        # a copy of the logs: --during-rebuilds records events into them
        events = work / "events"
        shutil.copytree(args.events, events)
        app = FeedServer(events, work / "feeds", work / "tokens.json", clock=clock, log=null)
        started = time.perf_counter()
        app.snapshot()  # built before any run starts
        first_build = time.perf_counter() - started
        port = stack.enter_context(serving(app, args.server_threads))
        url = f"http://{HOST}:{port}{path}"
        status, headers, body = fetch(port, path, encoding)
        assert status == 200, status
        feed_bytes = len(body)
        etag = next(v for k, v in headers if k.lower() == "etag")
        inm = {**encoding, "If-None-Match": etag}
        check(port, path, inm)
        kept = [(k, v) for k, v in headers
                if k.lower() not in ("server", "date", "connection", "transfer-encoding")]
        bare_port = stack.enter_context(serving(baseline_app(body, kept, etag),
                                                args.server_threads))
        bare_url = f"http://{HOST}:{bare_port}{path}"
        check(bare_port, path, inm)
        plan: list[tuple[str, str, Callable[[str], None], dict[str, str]]] = []
        for label, log in (("log to file", to_file), ("null log", null)):
            plan += [(f"deadlines, {label}, 200", url, log, encoding),
                     (f"deadlines, {label}, 304", url, log, inm)]
        plan += [("baseline (bare WSGI), 200", bare_url, null, encoding),
                 ("baseline (bare WSGI), 304", bare_url, null, inm)]
        if args.during_rebuilds:
            plan += [("deadlines, null log, 200, rebuilds", url, null, encoding)]
        measuring.set()
        rebuilds = 0
        for _ in range(args.rounds):
            for name, target, logger, request_headers in plan:
                app.log = logger
                recorder = Recorder(events) if name.endswith("rebuilds") else None
                if recorder is not None:
                    recorder.start()
                try:
                    runs.setdefault(name, []).append(run_wrk(name, target, args, work,
                                                             request_headers))
                finally:
                    if recorder is not None:
                        recorder.stop()
                        rebuilds += recorder.count
            app.log = null
        measuring.clear()
        server_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logging.getLogger("waitress").propagate = True
    results = [median_of(name, found) for name, found in runs.items()]

    log_lines = log_path.read_text(encoding="utf-8").splitlines()
    statuses = Counter(line.split()[2] for line in log_lines if len(line.split()) > 2)
    threads = args.server_threads or "default (4)"
    rounds = f"; median of {args.rounds} interleaved rounds" if args.rounds > 1 else ""
    print(f"bench/load.py: wrk {args.duration} s x {args.connections} connections, "
          f"{args.threads} threads, per run{rounds}; waitress threads: {threads}; "
          f"{os.cpu_count()} cores; Python {platform.python_version()}; load average before: "
          f"{load_before}")
    if float(load_before.split()[0]) > 1:
        print("note: the machine was busy before the start (1-min load average > 1); single "
              "runs are noisy there, compare with --rounds 3")
    print(f"feed: scope 'all' from {args.events}, {feed_bytes} bytes"
          f"{' (gzip)' if args.gzip else ''}; clock: {args.as_of or 'real'}; first build "
          f"{first_build:.1f} s; peak RSS of the server process {server_rss:,.0f} MB (the bare "
          "baseline server and the loop included)")
    if args.during_rebuilds:
        print(f"during rebuilds: {rebuilds} events recorded, one a second, each seen by the "
              "server as a change (a background incremental rebuild)")
    print(f"{'run':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'requests':>10}"
          f"{'B/resp':>9}")
    for r in results:
        print(f"{r.name:<34}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>8}"
              f"{r.requests:>10}{r.bytes_per_response:>9.0f}")
    by_name = {r.name: r for r in results}
    for code in ("200", "304"):
        base = by_name[f"baseline (bare WSGI), {code}"]
        for label in ("log to file", "null log"):
            r = by_name[f"deadlines, {label}, {code}"]
            print(f"  {code} {label:<12} vs baseline: {r.rps / base.rps:6.1%} of its req/s, "
                  f"p50 {r.p50_ms - base.p50_ms:+.2f} ms, p99 {r.p99_ms - base.p99_ms:+.2f} ms")
    logged = by_name["deadlines, log to file, 200"].requests + \
        by_name["deadlines, log to file, 304"].requests
    where = log_path if args.log_file else "temp file"
    print(f"request log ({where}): {len(log_lines)} lines ({dict(sorted(statuses.items()))}); "
          f"wrk counted {logged} completed requests in the logged runs")
    if waitress_warnings:
        print(f"waitress warnings: {dict(waitress_warnings)}")
    for kind, text in tracebacks.items():
        print(f"first '{kind}':\n{text}", file=sys.stderr)
    bad = [r for r in results if r.errors]
    for r in bad:
        print(f"ERRORS in {r.name}: {r.detail}", file=sys.stderr)
    if not args.log_file:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
