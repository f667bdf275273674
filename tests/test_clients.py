"""Real calendar clients read every feed we write, with no error and no event lost.

Research (anchors-ical.md §3 and §6): no conformance validator exists for RFC 5545, so the feeds
go through the parsers and clients that real subscribers run, all local and headless:

* ical.js, Thunderbird's parser (tests/js/parse.mjs, pinned by tests/js/package-lock.json);
* libical, Evolution's parser (tests/tools/icalcheck.c, compiled here against libical-dev);
* khal, importing into a temporary vdir (one file per UID), then listing what it indexed
  (tests/tools/khalcheck.py runs khal's commands for a batch of feeds in one interpreter);
* calcurse, importing into a temporary data directory (its own parser, strict about shapes);
* Radicale, a CalDAV server, taking each feed as one whole-calendar PUT (it refuses duplicate
  UIDs and what vobject cannot serialize), then serving it back.

The feeds: every samples/*/expected/*.ics (globbed when the tests run) and the feeds of the
example events/ built into a temporary directory as of 2026-11-26. For each client and feed the
number of events the client sees must equal the number of `BEGIN:VEVENT` lines written, and the
client must report nothing. A failure lists every feed with its counts and the client's words.

Tools outside the venv come from `bash scripts/install-test-tools` (Debian packages, npm ci);
khal and Radicale from the `test` extra. A missing tool skips the test, or fails it when CI is set.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from feedcheck import components, count_vevents
from tooling import missing, require_module, require_tool, stop

from deadlines.cli import cli

pytestmark = pytest.mark.clients

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests" / "js"
ICALCHECK_C = ROOT / "tests" / "tools" / "icalcheck.c"
EVENTS_AS_OF = "2026-11-26"
INSTALL = "bash scripts/install-test-tools"
PIP = "pip install -e '.[test]'"
NODE_HINT = f"apt-get install nodejs npm, then {INSTALL}"
TIMEOUT = 60  # seconds for any one client command (each takes well under one here)


# --- the feeds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    label: str  # samples/<agreement>/<name>.ics or events/<name>.ics
    path: Path
    data: bytes

    @property
    def written(self) -> int:
        return count_vevents(self.data)

    @property
    def uids(self) -> list[str]:
        return [e.uid for e in components(self.data).sub("VEVENT")]

    def shapes(self) -> tuple[int, int]:
        """(all-day, timed) VEVENTs as written."""
        starts = [e.get("DTSTART") for e in components(self.data).sub("VEVENT")]
        all_day = sum(1 for s in starts if s is not None and s.params.get("VALUE") == "DATE")
        return all_day, len(starts) - all_day


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Feed]:
    found = [Feed(f"samples/{p.parent.parent.name}/{p.name}", p, p.read_bytes())
             for p in sorted(ROOT.glob("samples/*/expected/**/*.ics"))]
    out = tmp_path_factory.mktemp("events-feeds")
    result = CliRunner().invoke(cli, ["build", str(ROOT / "events"), "--out", str(out),
                                      "--as-of", EVENTS_AS_OF])
    assert result.exit_code == 0, result.output
    built = sorted(out.glob("**/*.ics"))
    assert built, f"deadlines build events/ wrote no feed into {out}"
    found += [Feed(f"events/{p.name}", p, p.read_bytes()) for p in built]
    return found


# --- the verdict ----------------------------------------------------------------------------


@dataclass
class Seen:
    events: int | None = None  # what the client counted; None when it gave no count
    errors: list[str] = field(default_factory=list)


def verdict(client: str, feeds: list[Feed], seen: dict[str, Seen]) -> None:
    """Every feed: the client saw as many events as were written and reported nothing."""
    rows, failures = [], []
    for feed in feeds:
        got = seen.get(feed.label, Seen(None, ["no result from the client"]))
        rows.append(f"{client:9} {feed.label:48} written {feed.written:3}  seen {got.events!s:>4}"
                    f"  errors {len(got.errors)}")
        if got.events != feed.written or got.errors:
            lines = "".join(f"\n      {e}" for e in got.errors[:12])
            more = f"\n      ... {len(got.errors) - 12} more" if len(got.errors) > 12 else ""
            failures.append(f"  {feed.label}: {feed.written} VEVENTs written, {client} saw "
                            f"{got.events}{lines}{more}")
    print("\n" + "\n".join(rows))
    assert not failures, f"{client} lost events or reported errors:\n" + "\n".join(failures)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def each(feeds: list[Feed], check: Callable[[Feed], Seen]) -> dict[str, Seen]:
    """`check` on every feed, a few at a time (each runs its own client process)."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip([f.label for f in feeds], pool.map(check, feeds), strict=True))


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


# --- ical.js (Thunderbird) ------------------------------------------------------------------


def test_icaljs_thunderbird(feeds: list[Feed]) -> None:
    node = require_tool("node", NODE_HINT)
    if not (JS_DIR / "node_modules" / "ical.js" / "package.json").is_file():
        missing("ical.js (tests/js/node_modules)", INSTALL)
    done = run([node, str(JS_DIR / "parse.mjs"), *(str(f.path) for f in feeds)], cwd=JS_DIR)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"parse.mjs exited {done.returncode} without JSON:\n{done.stdout}\n"
                    f"{done.stderr}")
    if done.returncode not in (0, 1) or done.stderr.strip():
        pytest.fail(f"parse.mjs exited {done.returncode}:\n{done.stderr}")
    seen = {f.label: Seen(report[str(f.path)]["events"], report[str(f.path)]["errors"])
            for f in feeds}
    verdict("ical.js", feeds, seen)


# --- libical (Evolution) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def icalcheck(tmp_path_factory: pytest.TempPathFactory) -> str:
    gcc = require_tool("gcc", f"apt-get install gcc, then {INSTALL}")
    pkg_config = require_tool("pkg-config", f"apt-get install pkgconf, then {INSTALL}")
    flags = run([pkg_config, "--cflags", "--libs", "libical"])
    if flags.returncode != 0:
        missing("libical-dev", INSTALL)
    exe = tmp_path_factory.mktemp("icalcheck") / "icalcheck"
    done = run([gcc, "-O1", "-Wall", "-o", str(exe), str(ICALCHECK_C), *flags.stdout.split()])
    assert done.returncode == 0, f"icalcheck.c does not compile:\n{done.stderr}"
    return str(exe)


def test_libical_evolution(feeds: list[Feed], icalcheck: str) -> None:
    done = run([icalcheck, *(str(f.path) for f in feeds)])
    if done.returncode not in (0, 1) or done.stderr.strip():
        pytest.fail(f"icalcheck exited {done.returncode}:\n{done.stderr}")
    by_path = {str(f.path): Seen() for f in feeds}
    for line in done.stdout.splitlines():
        kind, path, what = line.split("\t", 2)
        if kind == "EVENTS":
            by_path[path].events = int(what)
        else:
            by_path[path].errors.append(what)
    verdict("libical", feeds, {f.label: by_path[str(f.path)] for f in feeds})


# --- khal -----------------------------------------------------------------------------------


KHALCHECK = ROOT / "tests" / "tools" / "khalcheck.py"


def scratch_dir() -> str | None:
    """A tmpfs for clients that fsync every write (khal: each item file and its SQLite index),
    which costs seconds on a busy disk and tells nothing about parsing; None: the default tmp."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def test_khal_import(feeds: list[Feed]) -> None:
    require_module("khal", PIP)
    # tests/tools/khalcheck.py runs khal's own commands, `khal -c CONFIG import --batch -a feed
    # FILE` then `khal -c CONFIG search --format {uid} VEVENT`, for each feed into an empty
    # calendar of its own, in one interpreter per batch of feeds (khal takes 0.3 s to start).
    workers = max(2, os.cpu_count() or 2)
    batches = [feeds[i::workers] for i in range(workers)]
    with tempfile.TemporaryDirectory(prefix="khal-", dir=scratch_dir()) as work:

        def run_batch(n: int) -> dict[str, dict[str, object]]:
            if not batches[n]:
                return {}
            home = Path(work) / str(n)
            env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
                   "XDG_DATA_HOME": str(home / "data")}
            done = run([sys.executable, str(KHALCHECK), str(home),
                        *(str(f.path) for f in batches[n])], env=env)
            assert done.returncode == 0, f"khalcheck.py exited {done.returncode}:\n{done.stderr}"
            return dict(json.loads(done.stdout))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            report: dict[str, dict[str, object]] = {}
            for part in pool.map(run_batch, range(workers)):
                report.update(part)

    seen: dict[str, Seen] = {}
    for feed in feeds:
        got = report[str(feed.path)]
        files = [str(name) for name in got["files"]]  # type: ignore[attr-defined]
        errors = [f"import: {ln}" for ln in got["output"]]  # type: ignore[attr-defined]
        errors += [f"search: {ln}" for ln in got["search_errors"]]  # type: ignore[attr-defined]
        if got["exit"] != [0, 0]:
            errors.append(f"khal import, search exited {got['exit']}")
        others = [name for name in files if not name.endswith(".ics")]
        if others:
            errors.append(f"the vdir holds other files: {others[:5]}")
        listed = sorted(str(uid) for uid in got["listed"])  # type: ignore[attr-defined]
        if listed != sorted(feed.uids):
            errors.append(f"khal search lists {len(listed)} events ({len(set(listed))} UIDs), "
                          f"not the {feed.written} written")
        seen[feed.label] = Seen(len(files) - len(others), errors)
    verdict("khal", feeds, seen)


# --- calcurse -------------------------------------------------------------------------------

# calcurse's apts file (calcurse(1) FILES; io.c): one item per line,
#   MM/DD/YYYY @ HH:MM -> MM/DD/YYYY @ HH:MM [{recurrence}] [!] [>note] |summary   appointment
#   MM/DD/YYYY [ID] [{recurrence}] [>note] |summary                               event
# An all-day VEVENT becomes an event ([1]), a timed one an appointment.
APPOINTMENT = re.compile(r"^\d\d/\d\d/\d{4} @ \d\d:\d\d -> \d\d/\d\d/\d{4} @ \d\d:\d\d")
EVENT = re.compile(r"^\d\d/\d\d/\d{4} \[\d+\]")
REPORT = re.compile(r"(\d+) apps? / (\d+) events? / (\d+) todos? / (\d+) skipped")


def calcurse_check(root: Path, calcurse: str) -> Callable[[Feed], Seen]:
    def check(feed: Feed) -> Seen:
        home = root / slug(feed.label)
        data, tmp = home / "data", home / "tmp"
        data.mkdir(parents=True)
        tmp.mkdir()
        # TMPDIR: calcurse writes its import log (the skipped items and why) there.
        env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
        done = run([calcurse, "-D", str(data), "-i", str(feed.path)], env=env)
        seen = Seen()
        output = done.stdout + done.stderr
        if done.returncode != 0:
            seen.errors.append(f"calcurse -i exited {done.returncode}")
        for log in sorted(tmp.glob("calcurse_log.*")):
            seen.errors += [f"log: {ln}" for ln in log.read_text(errors="replace").splitlines()
                            if re.match(r"(VEVENT|VTODO) \[", ln)]
        report = REPORT.search(output)
        if report is None:
            seen.errors.append(f"no import report in: {output.strip()!r}")
            apps = events = todos = skipped = -1
        else:
            apps, events, todos, skipped = (int(n) for n in report.groups())
        extra = [ln for ln in output.splitlines()
                 if ln.strip() and not ln.startswith("Import process report") and
                 not REPORT.search(ln)]
        seen.errors += [f"output: {ln}" for ln in extra]
        lines = (data / "apts").read_text().splitlines() if (data / "apts").exists() else []
        in_apts = (sum(1 for ln in lines if APPOINTMENT.match(ln)),
                   sum(1 for ln in lines if EVENT.match(ln)))
        seen.events = sum(in_apts)
        if len(lines) != seen.events:
            seen.errors.append(f"apts has {len(lines) - seen.events} lines of unknown shape")
        if skipped or todos:
            seen.errors.append(f"report: {skipped} skipped, {todos} todos")
        if (apps, events) != in_apts:
            seen.errors.append(f"report says {apps} apps / {events} events, apts holds "
                               f"{in_apts[0]} / {in_apts[1]}")
        all_day, timed = feed.shapes()
        if in_apts != (timed, all_day):
            seen.errors.append(f"{all_day} all-day and {timed} timed written, calcurse made "
                               f"{in_apts[1]} events and {in_apts[0]} appointments")
        return seen

    return check


def test_calcurse_import(feeds: list[Feed], tmp_path: Path) -> None:
    calcurse = require_tool("calcurse", INSTALL)
    verdict("calcurse", feeds, each(feeds, calcurse_check(tmp_path, calcurse)))


# --- Radicale -------------------------------------------------------------------------------


@dataclass
class Radicale:
    url: str
    store: Path
    log: Path
    auth: str  # Basic credentials: with auth type none any login works, and owns /<login>/

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Authorization", f"Basic {self.auth}")
        if body is not None:
            req.add_header("Content-Type", "text/calendar; charset=utf-8")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=TIMEOUT) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


RADICALE_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
[auth]
type = none
[rights]
type = owner_only
[storage]
filesystem_folder = {store}
[logging]
level = warning
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    require_module("radicale", PIP)
    home = tmp_path_factory.mktemp("radicale")
    port = free_port()
    scratch = tempfile.TemporaryDirectory(prefix="radicale-", dir=scratch_dir())
    server = Radicale(f"http://127.0.0.1:{port}", Path(scratch.name) / "store",
                      home / "radicale.log", b64encode(b"deadlines:x").decode())
    # No auth: any login owns /<login>/. The store on tmpfs, where fsync costs nothing.
    config = home / "radicale.conf"
    config.write_text(RADICALE_CONFIG.format(port=port, store=server.store))
    with server.log.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"radicale exited {proc.returncode}:\n{server.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"radicale did not listen on {port}:\n{server.log.read_text()}")
                time.sleep(0.05)
        yield server
    finally:
        stop(proc)
        scratch.cleanup()


def test_radicale_put(feeds: list[Feed], radicale: Radicale) -> None:
    seen: dict[str, Seen] = {}
    for feed in feeds:  # one at a time, so that each new log line belongs to this feed
        got = seen[feed.label] = Seen()
        collection = f"/deadlines/{slug(feed.label)}/"
        mark = radicale.log.stat().st_size
        status, body = radicale.request("PUT", collection, feed.data)
        if not 200 <= status < 300:
            got.errors.append(f"PUT {collection} (whole calendar): {status} "
                              f"{body.decode(errors='replace').strip()}")
        status, body = radicale.request("GET", collection)
        if status != 200:
            got.errors.append(f"GET {collection}: {status}")
        else:
            served = body.replace(b"\r\n", b"\n").split(b"\n")
            got.events = served.count(b"BEGIN:VEVENT")
            uids = {ln[4:].decode() for ln in served if ln.startswith(b"UID:")}
            lost = set(feed.uids) - uids
            if lost:
                got.errors.append(f"served back without {len(lost)} UIDs: {sorted(lost)[:3]}")
        items = radicale.store / "collection-root" / collection.strip("/")
        stored = len(list(items.glob("*.ics"))) if items.is_dir() else 0
        if stored != feed.written:
            got.errors.append(f"{stored} items stored for {feed.written} VEVENTs")
        with radicale.log.open("rb") as log:
            log.seek(mark)
            got.errors += [f"log: {ln}" for ln in log.read().decode(errors="replace").splitlines()
                           if "WARNING" in ln or "ERROR" in ln or "CRITICAL" in ln]
    verdict("radicale", feeds, seen)


def test_radicale_refuses_a_duplicate_uid(feeds: list[Feed], radicale: Radicale) -> None:
    """The check has teeth: a feed with one VEVENT written twice is refused."""
    feed = max(feeds, key=lambda f: f.written)
    text = feed.data.decode()
    start = text.index("BEGIN:VEVENT\r\n")
    end = text.index("END:VEVENT\r\n", start) + len("END:VEVENT\r\n")
    doubled = (text[:end] + text[start:end] + text[end:]).encode()
    status, _ = radicale.request("PUT", "/deadlines/duplicate-uid/", doubled)
    assert status == 400, f"Radicale took a feed with a duplicate UID ({status})"


def test_icaljs_is_pinned() -> None:
    """package.json pins ical.js exactly and its lock file is checked in next to it."""
    package = json.loads((JS_DIR / "package.json").read_text())
    assert package["private"] is True
    version = package["dependencies"]["ical.js"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"ical.js is not pinned: {version}"
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/ical.js"]["version"] == version
