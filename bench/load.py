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

With --rebuilds-only, measures instead what issue 11 asks of `serve` during rebuilds: it runs
`deadlines serve` itself (a subprocess, rebuilds in its niced child process, as deployed) on
the logs, and paced clients (--connections of them, one request each per --delay ms) fetch
contract feeds for --duration seconds twice: idle, then while an event is recorded into one of
the logs once a second (each a change the server rebuilds for). It prints p50/p99 latency of
each phase (and of the requests sent while a rebuild child was running), the number of
rebuilds seen (the server's rebuild processes, sampled from /proc every 20 ms), and the peak
RSS of the server alone and of the server plus all its child processes (a sum over processes:
pages a fork shares are counted in each). --contracts N generates the logs the way
bench/build.py does (its generator, imported) instead of copying --events.

    python bench/load.py --rebuilds-only --contracts 1000 --duration 30 --delay 20
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import logging
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
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
        self.count_file: Path | None = None

    def stop(self) -> None:
        self.halt.set()
        self.join(30)

    def run(self) -> None:
        from deadlines.api import record
        from deadlines.errors import DeadlinesError

        tried = 0
        while not self.halt.wait(1.0):
            for _ in range(len(self.logs)):  # a log whose agreement has no breach notice: next
                log = self.logs[tried % len(self.logs)]
                tried += 1
                try:
                    record(str(log), "breach_notice", "2026-05-30", note=f"load {self.count}")
                except DeadlinesError:
                    continue
                self.count += 1
                if self.count_file is not None:
                    self.count_file.write_text(str(self.count))
                break


class RecorderProcess:
    """A Recorder in a process of its own (`--record-into`): recording parses and writes YAML,
    and in this process it would hold the interpreter lock the measuring clients need."""

    def __init__(self, events: Path, work: Path) -> None:
        self.count_file = work / "recorded"
        self.proc = subprocess.Popen([sys.executable, __file__, "--record-into", str(events),
                                      "--count-file", str(self.count_file)])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    @property
    def count(self) -> int:
        try:
            return int(self.count_file.read_text())
        except (OSError, ValueError):
            return 0


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
    parser.add_argument("--contracts", type=int, default=None,
                        help="generate this many contracts (as bench/build.py does) instead "
                        "of copying --events")
    parser.add_argument("--rebuilds-only", action="store_true",
                        help="run `deadlines serve` and measure paced requests idle and during "
                        "rebuilds, with the RSS of the server and its children (no wrk)")
    parser.add_argument("--delay", type=float, default=20.0,
                        help="--rebuilds-only: ms between one client's requests (20; 0: back "
                        "to back)")
    parser.add_argument("--serve-jobs", type=int, default=None,
                        help="--rebuilds-only: serve --jobs (default: one per CPU)")
    parser.add_argument("--record-into", help=argparse.SUPPRESS)
    parser.add_argument("--count-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record_into:  # the recorder's own process (RecorderProcess)
        recorder = Recorder(Path(args.record_into))
        recorder.count_file = Path(args.count_file)
        signal.signal(signal.SIGTERM, lambda *_: recorder.halt.set())
        recorder.run()
        return 0
    if args.contracts is not None and args.contracts < 1:
        parser.error("--contracts must be at least 1")
    if args.rebuilds_only:
        return rebuilds_only(args)
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
        portfolio(args, events)
        app = FeedServer(events, work / "feeds", work / "tokens.json", clock=clock, log=null)
        started = time.perf_counter()
        app.snapshot()  # built before any run starts
        first_build = time.perf_counter() - started
        app.start()  # looks for changes once a second and rebuilds in a child, as `serve`
        stack.callback(app.close)
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
                recorder = RecorderProcess(events, work) if name.endswith("rebuilds") \
                    else None
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


def portfolio(args: argparse.Namespace, events: Path) -> None:
    """The logs the server serves: generated (--contracts) or a copy of --events."""
    if args.contracts is None:
        shutil.copytree(args.events, events)
        return
    # bench/build.py's own generator, so that both benches measure the same portfolios
    spec = importlib.util.spec_from_file_location("bench_build", ROOT / "bench" / "build.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules["bench_build"] = generator  # its dataclasses look their module up there
    spec.loader.exec_module(generator)
    generator.generate(events, args.contracts, 2026, 3.0)
    args.events = f"{args.contracts} generated contracts"


class TreeSampler(threading.Thread):
    """Every 20 ms, from /proc: the RSS of a process and of all its descendants, the peaks
    since `phase()`, and the rebuild processes seen (the children of multiprocessing's fork
    server, which the server starts for its rebuilds)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.halt = threading.Event()
        self.rebuilds: set[tuple[int, str]] = set()
        self.rebuilding = False
        self.server_peak = self.tree_peak = 0

    @staticmethod
    def children(pid: int) -> list[int]:
        out: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                out += [int(x) for x in task.read_text().split()]
            except OSError:
                continue
        return out

    @staticmethod
    def rss_kb(pid: int) -> int:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        found = re.search(r"VmRSS:\s+(\d+)", text)
        return int(found.group(1)) if found else 0

    def phase(self) -> tuple[int, int, int]:
        """The peaks (server, server plus children, in kB) and rebuilds seen, then reset."""
        found = (self.server_peak, self.tree_peak, len(self.rebuilds))
        self.server_peak = self.tree_peak = 0
        self.rebuilds = set()
        return found

    def sample(self) -> None:
        tree, todo, forkservers = [], [self.pid], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            kids = self.children(pid)
            todo += kids
            if pid == self.pid:
                for kid in kids:
                    try:
                        if b"forkserver" in Path(f"/proc/{kid}/cmdline").read_bytes():
                            forkservers.append(kid)
                    except OSError:
                        continue
        rebuilding = False
        for server in forkservers:
            for kid in self.children(server):
                try:  # the start time tells a reused pid apart
                    started = Path(f"/proc/{kid}/stat").read_text().rsplit(")", 1)[1].split()[19]
                except (OSError, IndexError):
                    continue
                self.rebuilds.add((kid, started))
                rebuilding = True
        self.rebuilding = rebuilding
        server_rss = self.rss_kb(self.pid)
        self.server_peak = max(self.server_peak, server_rss)
        self.tree_peak = max(self.tree_peak, sum(self.rss_kb(pid) for pid in tree))

    def run(self) -> None:
        while not self.halt.wait(0.02):
            self.sample()


@dataclass
class Paced:
    latencies: list[float]  # ms
    during: list[float]  # ms, of the requests sent while a rebuild process ran
    errors: int
    outside: list[float] = field(default_factory=list)  # ms, sent while none ran

    def add(self, other: Paced) -> None:
        self.latencies += other.latencies
        self.during += other.during
        self.outside += other.outside
        self.errors += other.errors


def merge_peaks(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    """Peaks of two phases (the larger) and rebuilds seen (added up)."""
    return max(a[0], b[0]), max(a[1], b[1]), a[2] + b[2]


def paced_requests(port: int, paths: list[str], args: argparse.Namespace,
                   sampler: TreeSampler) -> Paced:
    """--connections clients, each on its own keep-alive connection, one request per --delay
    ms (or back to back), for --duration seconds."""
    result = Paced([], [], 0)
    end = time.perf_counter() + args.duration
    lock = threading.Lock()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        n = index
        while (now := time.perf_counter()) < end:
            path = paths[n % len(paths)]
            n += 1
            rebuilding = sampler.rebuilding
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                ok = False
            took = (time.perf_counter() - now) * 1000
            with lock:
                result.latencies.append(took)
                (result.during if rebuilding else result.outside).append(took)
                result.errors += not ok
            time.sleep(max(0.0, args.delay / 1000 - took / 1000))
        conn.close()

    clients = [threading.Thread(target=client, args=(i,)) for i in range(args.connections)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def rebuilds_only(args: argparse.Namespace) -> int:
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="deadlines-load-"))
    events = work / "events"
    portfolio(args, events)
    logs = sorted(events.glob("*.yaml"))
    ids = []
    for log in logs[:20]:
        found = re.search(r"^  id: (\S+)$", log.read_text(encoding="utf-8"), re.M)
        if found:
            ids.append(found.group(1))
    store = TokenStore.load(work / "tokens.json")
    paths = [f"/{store.create(f'contract:{cid}')[0]}/{FEED_NAME}" for cid in ids]
    errors_path = work / "serve.log"
    command = [sys.executable, "-m", "deadlines", "serve", str(events), "--port", "0",
               "--tokens", str(work / "tokens.json"), "--out", str(work / "feeds")]
    if args.serve_jobs:
        command += ["--jobs", str(args.serve_jobs)]
    started = time.perf_counter()
    with errors_path.open("wb") as errors:
        proc = subprocess.Popen(command, stderr=errors, stdout=subprocess.DEVNULL)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    port = None
    try:
        while port is None and proc.poll() is None and time.perf_counter() - started < 3600:
            found = re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/",
                              errors_path.read_text(encoding="utf-8", errors="replace"))
            port = int(found.group(1)) if found else None
            time.sleep(0.1)
        if port is None:
            print(errors_path.read_text(encoding="utf-8", errors="replace"), file=sys.stderr)
            return 2
        first_build = time.perf_counter() - started
        _, start_peak, _ = sampler.phase()
        time.sleep(3)  # anything the first build left to notice
        sampler.phase()
        # idle and busy phases alternate --rounds times, so that the machine's other load
        # falls on both alike
        idle, busy = Paced([], [], 0), Paced([], [], 0)
        idle_peaks, busy_peaks = (0, 0, 0), (0, 0, 0)
        recorded = 0
        for _ in range(args.rounds):
            idle.add(paced_requests(port, paths, args, sampler))
            idle_peaks = merge_peaks(idle_peaks, sampler.phase())
            recorder = RecorderProcess(events, work)
            try:
                busy.add(paced_requests(port, paths, args, sampler))
            finally:
                recorder.stop()
                recorded += recorder.count
            time.sleep(2)  # the last rebuild ends in this phase's figures
            busy_peaks = merge_peaks(busy_peaks, sampler.phase())
    finally:
        sampler.halt.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"bench/load.py --rebuilds-only: `deadlines serve` on {args.events} "
          f"({len(logs)} logs); {args.connections} paced clients, one request each per "
          f"{args.delay:g} ms, {args.duration} s per phase, {args.rounds} round(s) of idle "
          f"then rebuilds; contract feeds of {len(paths)} "
          f"tokens; {os.cpu_count()} cores; Python {platform.python_version()}")
    print(f"load average before: {load_before}; after: {load_after}")
    print(f"start-up (first build in the rebuild child, then listening): {first_build:.1f} s, "
          f"peak RSS server + children {start_peak / 1024:,.0f} MB")
    print(f"{'phase':<34}{'requests':>9}{'errors':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'rebuilds':>9}{'RSS server':>11}{'+children':>10}")
    rows = [("idle", idle.latencies, idle.errors, idle_peaks),
            (f"during rebuilds ({recorded} events)", busy.latencies, busy.errors,
             busy_peaks),
            # the server's clock is the real one: the moment some contract's deadlines
            # change starts a rebuild in the idle phase too, so both are also split by what
            # the server was doing when each request was sent
            ("both phases, a rebuild running", idle.during + busy.during, 0, None),
            ("both phases, no rebuild running", idle.outside + busy.outside, 0, None)]
    for name, values, errors, peaks in rows:
        rebuilt = f"{peaks[2]:>9}{peaks[0] / 1024:>9.0f}MB{peaks[1] / 1024:>8.0f}MB" \
            if peaks else ""
        print(f"{name:<34}{len(values):>9}{errors:>7}{percentile(values, 50):>9.2f}"
              f"{percentile(values, 99):>9.2f}{max(values, default=float('nan')):>9.1f}"
              f"{rebuilt}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if idle.errors or busy.errors else 0


if __name__ == "__main__":
    sys.exit(main())
