#!/usr/bin/env python3
"""Replay the attacks of issue 8 against the real command line, and count what went wrong.

Every step runs `python -m deadlines ...` in subprocesses (real concurrent writers, real
SIGKILLs, a real server) inside a scratch folder, and checks what must hold afterwards:

records    ROUNDS rounds of 20 parallel `record` on one log (a plain log, one that starts as
           `events: []`, a CRLF log, a log reached through a symlink): every id must be in the
           log afterwards, the earlier entries unchanged           -> records lost
tokens     ROUNDS rounds of 20 parallel `token create` with `token revoke`s of older tokens
           started among them: every new token in the file with its hash, every revoked one
           revoked, the file still 0600                              -> tokens lost, revokes undone
kills      a portfolio of CONTRACTS logs; KILLS builds killed with SIGKILL at random moments
           (each started beside a `record` of a new event, every fifth beside a second build that
           runs to the end), while a reader thread reads every feed and the build store over and
           over: each read must be a whole calendar (`BEGIN:VCALENDAR` ... `END:VCALENDAR\\r\\n`)
           or a store that opens whole; then one clean build, whose feeds and stamps must equal
           those of a fresh build of the same logs into an empty folder, with no `*.tmp` left
                                        -> partial feeds seen, stale feeds, temporaries left,
                                           orphaned workers
disk       a small tmpfs mounted as the feed folder (root only; skipped with the reason
           otherwise), filled so that builds hit ENOSPC at many points (a sweep of free space, then
           a bisection towards the smallest space that fits): a build that does not fit must exit
           2 with one line naming the disk, leave every old file as it was and no temporary; a
           `record` on the full disk likewise; then space is freed and a build must succeed and
           equal a fresh build                     -> disk-full faults mishandled, stale feeds
server     `deadlines serve` on a free loopback port with 60 logs; client threads poll the `all`
           feed (GET, half of them conditional) while a thread deletes logs of one half and puts
           them back (renamed into place) without pause, the main thread now and then deletes
           several at once for a second, and records events in the other half; every answer must
           be 200 or 304 with a whole calendar, and afterwards the served feed must show every
           recorded event within 20 s; no server log line may hold the token
                                   -> requests failed, stale feeds, tokens in server logs
slowloris  HALF_OPEN sockets connect and send part of a request line and hold; one normal feed
           GET is timed (the target once the server is hardened is under 2 s) and must succeed;
           after the sockets close a GET must succeed again                 -> requests failed
all        "Traceback" in every stderr captured (commands, killed builds, the servers), exit 3
           (internal errors), and commands that should have succeeded and did not

    scripts/chaos.py --quick              # about a minute
    scripts/chaos.py                      # the full run: 10 record rounds, 50 kills, ...
    scripts/chaos.py --only kills,disk --seed 3 --workdir /tmp/chaos

Prints a table of figures; exits 1 if any figure marked "must be 0" is not, and then keeps the
scratch folder (the problems printed above the table name the commands to run again there).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-01"
AS_OF_DATE = date(2026, 6, 1)
STEPS = ("records", "tokens", "kills", "disk", "server", "slowloris")
AGREEMENTS = ("freshhawk-standard", "freshhawk-enterprise", "openmethods", "bcr", "aircall",
              "zuper")
# trigger -> its fulfilment (by ref), in every shipped rulebook
TRIGGERS = {"breach_notice": "breach_cured", "incident_identified": "incident_notified",
            "deletion_request": "data_deleted", "eol_notice": None}
NOTES = ("Uptime below 99.9 % in the month", "Invoices exported twice: 12:30:00", "0x1F",
         "Archived tickets of a closed workspace", "")
STATE_NAMES = (".deadlines-store.sqlite", ".deadlines-store.sqlite.bak")
# SQLite's own files beside the store while it is open (its write-ahead log and index): part of
# its transactions, not of what a build leaves
STORE_SIDE_FILES = ("-wal", "-shm", "-journal")
PROBLEMS_SHOWN = 40
SERVER_LOGS = 60  # the server stats every log to see a change: a window for one to vanish
MASKED = "/<token>/deadlines.ics"  # what is printed for a feed URL: tokens stay out of output


@dataclass(frozen=True)
class Settings:
    record_rounds: int
    token_rounds: int
    kills: int
    contracts: int
    sweep: int  # disk: free-space levels swept
    bisect: int  # disk: trials bisecting towards the smallest space that fits
    poll_seconds: float
    half_open: int
    get_timeout: float


FULL = Settings(record_rounds=10, token_rounds=5, kills=50, contracts=100, sweep=10, bisect=8,
                poll_seconds=45.0, half_open=200, get_timeout=180.0)
QUICK = Settings(record_rounds=1, token_rounds=1, kills=5, contracts=30, sweep=4, bisect=2,
                 poll_seconds=6.0, half_open=200, get_timeout=5.0)


# ---------------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    value: int | float | None = None  # None: the step that sets it did not run
    must_be_zero: bool = False
    unit: str = ""
    note: str = ""


class Report:
    """The figures, in the order they are printed, and the problems behind them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.skipped: list[str] = []
        self.figures: dict[str, Figure] = {}
        for name, zero in (
            ("records attempted", False), ("records lost", True),
            ("tokens created", False), ("token revokes", False), ("tokens lost", True),
            ("revokes undone", True),
            ("builds killed", False), ("builds done before their kill", False),
            ("feed reads", False), ("partial feeds seen", True), ("partial state seen", True),
            ("stale feeds", True), ("temporaries left", True), ("orphaned workers", True),
            ("disk-full builds", False), ("disk-full faults mishandled", True),
            ("requests", False), ("requests failed", True),
            ("half-open sockets", False), ("GET latency, 200 half-open", False),
            ("tokens in server logs", True), ("server log lines run together", False),
            ("tracebacks", True),
            ("internal errors (exit 3)", True), ("commands failed", True),
        ):
            self.figures[name] = Figure(must_be_zero=zero)
        self.figures["GET latency, 200 half-open"].unit = "s"
        self.figures["GET latency, 200 half-open"].note = "target < 2 s"

    def add(self, name: str, n: int | float = 1) -> None:
        with self.lock:
            figure = self.figures.setdefault(name, Figure())
            figure.value = (figure.value or 0) + n

    def touch(self, *names: str) -> None:
        """These figures were measured (0 unless something is added)."""
        for name in names:
            self.add(name, 0)

    def set(self, name: str, value: float, unit: str = "", note: str = "") -> None:
        with self.lock:
            figure = self.figures.setdefault(name, Figure())
            figure.value = value
            figure.unit = unit or figure.unit
            figure.note = note or figure.note

    def problem(self, figure: str, text: str) -> None:
        with self.lock:
            self.problems.append(f"[{figure}] {text}")

    def failing(self) -> list[str]:
        return [name for name, f in self.figures.items() if f.must_be_zero and f.value]

    def table(self) -> str:
        rows = [("figure", "value", "must be 0")]
        for name, f in self.figures.items():
            if f.value is None:
                value = "-"
            elif isinstance(f.value, float):
                value = f"{f.value:.2f}{(' ' + f.unit) if f.unit else ''}"
            else:
                value = f"{f.value}{(' ' + f.unit) if f.unit else ''}"
            mark = "  ".join(filter(None, ["yes" if f.must_be_zero else "",
                                           f"({f.note})" if f.note else ""]))
            rows.append((name, value, mark))
        width = max(len(r[0]) for r in rows)
        vwidth = max(len(r[1]) for r in rows)
        return "\n".join(f"{a:<{width}}  {b:>{vwidth}}  {c}".rstrip() for a, b, c in rows)


# ---------------------------------------------------------------------------------------------
# Running the command line


@dataclass
class Done:
    argv: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float

    def shown(self) -> str:
        return shlex.join(["deadlines", *self.argv])

    def first_error(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1][:300] if lines else "(no stderr)"


class Cli:
    """`python -m deadlines ARGS` in subprocesses; every stderr is checked for tracebacks and
    internal errors, and an unexpected exit code is a failed command."""

    def __init__(self, root: Path, report: Report) -> None:
        self.report = report
        self.env = dict(os.environ)
        self.env.pop("DEADLINES_DEBUG", None)
        self.env["DEADLINES_CACHE_DIR"] = str(root / "cache")
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
        self.env["LC_ALL"] = "C.UTF-8"

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "deadlines", *args]

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], list[str], float]:
        proc = subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=self.env)
        return proc, list(args), time.perf_counter()

    def finish(self, started: tuple[subprocess.Popen[bytes], list[str], float],
               expect: int | None = 0, timeout: float = 300) -> Done:
        proc, args, t0 = started
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.report.add("commands failed")
            self.report.problem("commands failed", f"{shlex.join(['deadlines', *args])}: "
                                f"still running after {timeout:.0f} s, killed")
        done = Done(args, proc.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"), time.perf_counter() - t0)
        self.check(done, expect)
        return done

    def run(self, *args: str, expect: int | None = 0, timeout: float = 300) -> Done:
        return self.finish(self.start(*args), expect, timeout)

    def check(self, done: Done, expect: int | None) -> None:
        tracebacks = done.stderr.count("Traceback")
        if tracebacks:
            self.report.add("tracebacks", tracebacks)
            self.report.problem("tracebacks", f"{done.shown()} (exit {done.code}):\n"
                                + indent(done.stderr.strip()[-1500:]))
        if done.code == 3 or "internal error" in done.stderr:
            self.report.add("internal errors (exit 3)")
            self.report.problem("internal errors (exit 3)",
                                f"{done.shown()}: exit {done.code}: {done.first_error()}")
        elif expect is not None and done.code != expect:
            self.report.add("commands failed")
            self.report.problem("commands failed", f"{done.shown()}: exit {done.code}, "
                                f"expected {expect}: {done.first_error()}")

    def scan_file(self, path: Path, what: str, secrets: tuple[str, ...] = ()) -> None:
        """Tracebacks in a captured stderr file (a server's); `secrets` are masked in what is
        printed."""
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        for secret in secrets:
            text = text.replace(secret, "<token>")
        tracebacks = text.count("Traceback")
        if tracebacks:
            self.report.add("tracebacks", tracebacks)
            self.report.problem("tracebacks", f"{what}: {tracebacks} in {path}; the first:\n"
                                + indent(first_traceback(text)))


def first_traceback(text: str) -> str:
    """From the line before the first "Traceback" to its exception line."""
    lines = text[:text.index("Traceback")].splitlines()[-1:]
    for line in text[text.index("Traceback"):].splitlines():
        lines.append(line)
        if len(lines) > 2 and line and not line[0].isspace():
            break
    return "\n".join(lines)[-3000:]


def indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# Inputs


def contract_log(contract_id: str, index: int, rng: random.Random, as_of: date) -> str:
    """A valid event log: a contract on one of the six agreements and one to four triggers,
    most of them fulfilled by ref (a fulfilment without ref could move to a later trigger)."""
    agreement = AGREEMENTS[index % len(AGREEMENTS)]
    start = as_of - timedelta(days=rng.randint(60, 180))
    lines = ["contract:", f"  id: {contract_id}", f"  agreement: {agreement}",
             f"  start: {start.isoformat()}", f"  role: {rng.choice(['customer', 'provider'])}",
             f"  name: Chaos {index:03d} - {agreement}", "events:"]
    events: list[tuple[str, list[str]]] = []
    span = (as_of - start).days - 2
    for n in range(rng.randint(1, 4)):
        kind = rng.choice(sorted(TRIGGERS))
        day = start + timedelta(days=rng.randint(1, span))
        at = f"{day.isoformat()}T{rng.randint(8, 18):02d}:00" \
            if kind == "incident_identified" else day.isoformat()
        event_id = f"{kind.split('_')[0]}-{n}"
        entry = [f"  - id: {event_id}", f"    type: {kind}", f"    at: {at}"]
        note = rng.choice(NOTES)
        if note:
            entry.append(f"    note: {json.dumps(note)}")
        events.append((at, entry))
        fulfilment = TRIGGERS[kind]
        if fulfilment is not None and rng.random() < 0.6:
            done = min(day + timedelta(days=rng.randint(0, 20)), as_of - timedelta(days=1))
            done_at = f"{done.isoformat()}T20:00" if kind == "incident_identified" \
                else done.isoformat()
            events.append((done_at, [f"  - type: {fulfilment}", f"    at: {done_at}",
                                     f"    ref: {event_id}"]))
    events.sort(key=lambda e: e[0])
    for _, entry in events:
        lines += entry
    return "\n".join(lines) + "\n"


def portfolio(folder: Path, count: int, rng: random.Random, prefix: str,
              as_of: date = AS_OF_DATE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:03d}.yaml"
        path.write_text(contract_log(f"{prefix}{i:03d}", i, rng, as_of), encoding="utf-8")
        paths.append(path)
    return paths


def event_ids(log: Path) -> list[str] | None:
    """The ids of a log's events (None if it no longer reads as a log)."""
    try:
        data = yaml.safe_load(log.read_bytes().decode("utf-8-sig"))
        return [str(e.get("id")) for e in data.get("events") or [] if isinstance(e, dict)]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        return None


def whole_calendar(data: bytes) -> bool:
    return data.startswith(b"BEGIN:VCALENDAR") and data.endswith(b"END:VCALENDAR\r\n")


def whole_store(path: Path) -> bool:
    """The build store opens read-only and passes SQLite's check (a reader in WAL mode sees the
    last committed state, whatever a build is writing)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
            conn.execute("SELECT count(*) FROM contracts").fetchone()
            return ok
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def stamps_of(folder: Path) -> dict[str, object]:
    """The stamps of every deadline in a feed, by contract (from the build store)."""
    from deadlines.store import StoreReader

    return {contract: {uid: s for uid, s in stamps.items() if s.gone_since is None}
            for contract, stamps in StoreReader(folder).stamps().items()}


def unfolded(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n ", "")


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` but lock files and temporaries (counted on their own)."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith((".lock", ".tmp", *STORE_SIDE_FILES)):
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


def feeds_of(folder: Path) -> dict[str, bytes]:
    return {name: data for name, data in files_of(folder).items() if name.endswith(".ics")}


def temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.tmp")]


def differing(got: dict[str, bytes], want: dict[str, bytes]) -> list[str]:
    return sorted(name for name in set(got) | set(want) if got.get(name) != want.get(name))


# ---------------------------------------------------------------------------------------------
# Steps


@dataclass
class Chaos:
    root: Path
    settings: Settings
    rng: random.Random
    report: Report = field(default_factory=Report)
    cli: Cli = field(init=False)

    def __post_init__(self) -> None:
        self.cli = Cli(self.root, self.report)

    def compare_with_fresh(self, events: Path, out: Path, fresh: Path, what: str) -> None:
        """The feeds and stamps in `out` against a build of the same logs into an empty
        folder: any feed that differs is a stale feed, and so is a store whose stamps differ
        (the store's own bytes record the feed files' inodes, so they always differ)."""
        self.cli.run("build", str(events), "--out", str(fresh), "--as-of", AS_OF)
        stale = differing(feeds_of(out), feeds_of(fresh))
        if stamps_of(out) != stamps_of(fresh):
            stale.append(STATE_NAMES[0])
        self.report.add("stale feeds", len(stale))
        if stale:
            self.report.problem("stale feeds", f"{what}: {len(stale)} file(s) of {out} differ "
                                f"from a fresh build of the same logs ({fresh}): "
                                f"{', '.join(stale[:10])}")

    def count_orphans(self, what: str, folder: Path) -> None:
        """Build workers left alive by a killed build (adopted by init, their command line the
        build's, naming `folder`): each would wait forever, holding the folder's lock."""
        orphans = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ValueError, IndexError):
                continue
            if ppid == 1 and str(folder) in command and " build " in command:
                orphans.append(int(proc.name))
        self.report.add("orphaned workers", len(orphans))
        if orphans:
            self.report.problem("orphaned workers", f"{what}: pids {orphans[:10]}")
            for pid in orphans:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def count_temporaries(self, what: str, *folders: Path) -> None:
        left = temporaries(*folders)
        self.report.add("temporaries left", len(left))
        if left:
            size = sum(p.stat().st_size for p in left if p.exists())
            self.report.problem("temporaries left", f"{what}: {len(left)} file(s), {size:,} "
                                f"bytes: {', '.join(str(p) for p in left[:5])}")

    # -- 1. concurrent records -----------------------------------------------------------------

    def records(self) -> None:
        self.report.touch("records attempted", "records lost")
        variants = ("plain", "events: []", "CRLF", "symlink")
        for r in range(self.settings.record_rounds):
            variant = variants[r % len(variants)]
            folder = self.root / "records" / f"round-{r:02d}"
            folder.mkdir(parents=True)
            text = contract_log(f"rec-{r}", r, self.rng, AS_OF_DATE)
            if variant == "events: []":
                text = text.split("events:")[0] + "events: []\n"
            log = folder / "c.yaml"
            target = log
            if variant == "symlink":
                target = folder / "store" / "c.yaml"
                target.parent.mkdir()
                log.symlink_to(target)
            data = text.encode()
            target.write_bytes(data.replace(b"\n", b"\r\n") if variant == "CRLF" else data)
            before = event_ids(target) or []
            new = [f"conc-{r}-{i}" for i in range(20)]
            procs = [self.cli.start("record", str(log), "breach_notice", "--at", "2026-05-04",
                                    "--id", event_id) for event_id in new]
            for proc in procs:
                self.cli.finish(proc)
            self.report.add("records attempted", len(new))
            present = event_ids(target)
            if present is None:
                self.report.add("records lost", len(new) + len(before))
                self.report.problem("records lost", f"round {r} ({variant}): {target} no "
                                    "longer reads as YAML")
                continue
            lost = [i for i in [*before, *new] if i not in present]
            if present[:len(before)] != before:
                self.report.add("records lost", sum(
                    1 for old, now in zip(before, present, strict=False) if old != now))
                self.report.problem("records lost", f"round {r} ({variant}): the earlier "
                                    f"entries of {target} changed: {present[:len(before)]}")
            self.report.add("records lost", len(lost))
            if lost:
                self.report.problem("records lost", f"round {r} ({variant}): 20 parallel "
                                    f"`deadlines record {log} breach_notice --at 2026-05-04 "
                                    f"--id conc-{r}-$i`: {len(lost)} missing: {lost}")
            if variant == "symlink" and not log.is_symlink():
                self.report.add("commands failed")
                self.report.problem("commands failed", f"round {r}: {log} is no longer a "
                                    "symlink after the records")
            if variant == "CRLF" and b"\n" in target.read_bytes().replace(b"\r\n", b""):
                self.report.add("commands failed")
                self.report.problem("commands failed", f"round {r}: {target} was CRLF and "
                                    "now has bare LF line endings")

    # -- 2. concurrent token edits -------------------------------------------------------------

    def tokens(self) -> None:
        self.report.touch("tokens created", "token revokes", "tokens lost", "revokes undone")
        scopes = ("all", "ours", "theirs", "contract:acme", "contract:beta")
        for r in range(self.settings.token_rounds):
            path = self.root / "tokens" / f"round-{r:02d}" / "tokens.json"
            path.parent.mkdir(parents=True)
            older: dict[str, str] = {}  # id -> secret of the tokens made beforehand
            for i in range(6):
                done = self.cli.run("token", "create", scopes[i % len(scopes)], "--tokens",
                                    str(path), "--label", f"older {i}")
                older.update(parse_tokens(done.stdout))
            revoked = self.rng.sample(sorted(older), 3)
            jobs: list[tuple[str, ...]] = [
                ("token", "create", self.rng.choice(scopes), "--tokens", str(path), "--label",
                 f"new {i}") for i in range(20)]
            for token_id in revoked:
                jobs.insert(self.rng.randint(0, len(jobs)),
                            ("token", "revoke", token_id, "--tokens", str(path)))
            procs = [self.cli.start(*job) for job in jobs]
            created: dict[str, str] = {}
            for proc in procs:
                done = self.cli.finish(proc)
                if done.argv[1] == "create":
                    created.update(parse_tokens(done.stdout))
            self.report.add("tokens created", 20)
            self.report.add("token revokes", len(revoked))
            try:
                records = {t["id"]: t for t in json.loads(path.read_text())["tokens"]}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.report.add("tokens lost", 26)
                self.report.problem("tokens lost", f"round {r}: {path} unreadable: {exc}")
                continue
            expected = {**older, **created}
            lost = [i for i, secret in expected.items()
                    if i not in records or records[i].get("hash")
                    != hashlib.sha256(secret.encode()).hexdigest()]
            lost += ["(unprinted)"] * (26 - len(expected))  # a create that printed no token
            undone = [i for i in revoked if not records.get(i, {}).get("revoked")]
            wrongly = [i for i in older if i not in revoked and records.get(i, {}).get("revoked")]
            self.report.add("tokens lost", len(lost))
            self.report.add("revokes undone", len(undone))
            how = (f"20 parallel `deadlines token create SCOPE --tokens {path}` with "
                   f"`deadlines token revoke ID --tokens {path}` of 3 older tokens among them")
            if lost:
                self.report.problem("tokens lost", f"round {r}: {how}: {len(lost)} missing: "
                                    f"{lost}")
            if undone:
                self.report.problem("revokes undone", f"round {r}: {how}: still active: "
                                    f"{undone}")
            if wrongly:
                self.report.add("commands failed")
                self.report.problem("commands failed", f"round {r}: tokens revoked that no "
                                    f"one revoked: {wrongly}")
            mode = path.stat().st_mode & 0o777
            if mode != 0o600:
                self.report.add("commands failed")
                self.report.problem("commands failed", f"round {r}: {path} has mode "
                                    f"{mode:o}, not 600")

    # -- 3. kill -9 during builds --------------------------------------------------------------

    def kills(self) -> None:
        self.report.touch("builds killed", "builds done before their kill", "feed reads",
                          "partial feeds seen", "partial state seen", "stale feeds",
                          "temporaries left", "records lost")
        base = self.root / "kills"
        events, out = base / "events", base / "feeds"
        logs = portfolio(events, self.settings.contracts, self.rng, "k")
        first = self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF)
        self.report.set("clean build, kills portfolio", first.seconds, "s",
                        f"{self.settings.contracts} logs")
        # the builds killed below are incremental (one record each): kills are timed within
        # one of those, not within the first build, which takes far longer
        self.cli.run("record", str(logs[0]), "breach_notice", "--at", AS_OF_DATE.isoformat(),
                     "--id", "kill-timing")
        timing = self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF)
        span = max(timing.seconds, 0.2)
        reader = FeedReader(out, self.report)
        reader.start()
        recorded: list[tuple[Path, str]] = []
        killed = attempts = 0
        try:
            while killed < self.settings.kills and attempts < 3 * self.settings.kills:
                attempts += 1
                log = self.rng.choice(logs)
                event_id = f"kill-{attempts}"
                day = AS_OF_DATE - timedelta(days=self.rng.randint(1, 40))
                record = self.cli.start("record", str(log), "breach_notice", "--at",
                                        day.isoformat(), "--id", event_id)
                build = self.cli.start("build", str(events), "--out", str(out), "--as-of",
                                       AS_OF)
                companion = self.cli.start("build", str(events), "--out", str(out),
                                           "--as-of", AS_OF) if attempts % 5 == 0 else None
                time.sleep(self.rng.uniform(0.0, 1.4 * span))
                if build[0].poll() is None:
                    build[0].send_signal(signal.SIGKILL)
                    killed += 1
                    self.cli.finish(build, expect=None)
                else:
                    self.report.add("builds done before their kill")
                    self.cli.finish(build)
                if self.cli.finish(record).code == 0:
                    recorded.append((log, event_id))
                if companion is not None:
                    self.cli.finish(companion)
        finally:
            reader.stop()
        self.report.add("builds killed", killed)
        self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF)
        self.count_temporaries("after the kills and one clean build", out, events)
        self.count_orphans("after the kills", events)
        self.compare_with_fresh(events, out, base / "fresh", "after the kills")
        self.report.add("records attempted", attempts)
        lost = [(log, i) for log, i in recorded if i not in (event_ids(log) or [])]
        self.report.add("records lost", len(lost))
        for log, i in lost:
            self.report.problem("records lost", f"kills: `record {log} ... --id {i}` said "
                                "Recorded, the event is not in the log")

    # -- 4. a full disk ----------------------------------------------------------------------------

    def disk(self) -> None:
        base = self.root / "disk"
        events = base / "events"
        logs = portfolio(events, 6, self.rng, "d")
        measure = base / "measure"
        self.cli.run("build", str(events), "--out", str(measure), "--as-of", AS_OF)
        needed = sum(len(b) for b in files_of(measure).values())
        mnt = base / "feeds"
        mnt.mkdir()
        size_kib = max(4096, -(-3 * needed // 1024))
        if os.geteuid() != 0:
            self.report.skipped.append("disk: not root, cannot mount a tmpfs")
            return
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs",
                                  str(mnt)], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.report.skipped.append(f"disk: cannot mount a tmpfs on {mnt}: "
                                       f"{mounted.stderr.strip() or mounted.returncode}")
            return
        self.report.touch("disk-full builds", "disk-full faults mishandled", "stale feeds",
                          "temporaries left")
        try:
            self._full_disk(events, logs, mnt, needed, base)
        finally:
            if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)

    def _full_disk(self, events: Path, logs: list[Path], mnt: Path, needed: int,
                   base: Path) -> None:
        out = mnt / "feeds"
        filler = mnt / "filler.bin"
        self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF)
        trial = fitted = 0

        def attempt(leave: int) -> bool:
            """Record a new event (so the build has feeds to replace), leave `leave` bytes
            free, build: True if it fitted."""
            nonlocal trial, fitted
            trial += 1
            log = logs[trial % len(logs)]
            self.cli.run("record", str(log), "incident_identified", "--at",
                         f"2026-05-{1 + trial % 28:02d}T09:00", "--id", f"disk-{trial}")
            before = files_of(out)
            fill(filler, leave)
            try:
                done = self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF,
                                    expect=None)
            finally:
                filler.unlink()
            self.report.add("disk-full builds")
            left = temporaries(out)
            wrong: list[str] = []
            if done.code == 0:
                wrong += [f"{name} is not a whole calendar" for name, data in files_of(out)
                          .items() if name.endswith(".ics") and not whole_calendar(data)]
            else:
                lines = done.stderr.strip().splitlines()
                if done.code != 2:
                    wrong.append(f"exit {done.code}, expected 2")
                if len(lines) != 1 or "no space left on device" not in done.stderr.lower():
                    wrong.append(f"stderr is not one line naming the full disk: {lines[:4]}")
                changed = differing(files_of(out), before)
                if changed:
                    wrong.append(f"changed although the build failed: {', '.join(changed)}")
            if left:
                wrong.append(f"temporaries left: {', '.join(p.name for p in left)}")
                self.report.add("temporaries left", len(left))
            if wrong:
                self.report.add("disk-full faults mishandled")
                self.report.problem("disk-full faults mishandled", f"{done.shown()} with "
                                    f"{leave:,} bytes free on the tmpfs (trial {trial}): "
                                    + "; ".join(wrong))
            fitted += done.code == 0
            return done.code == 0

        # a sweep from a full disk to more than a build needs, then a bisection between the
        # largest space that did not fit and the smallest that did, where a build runs out of
        # space as late as it can (after the feeds, writing the state)
        steps = self.settings.sweep
        levels = [0, 4096] + [round(1.25 * needed * k / steps) for k in range(1, steps + 1)]
        too_small, fits = 0, None
        for leave in levels:
            if attempt(leave):
                fits = leave if fits is None else min(fits, leave)
            else:
                too_small = max(too_small, leave)
        for _ in range(self.settings.bisect):
            if fits is None or fits - too_small <= 4096:
                break
            middle = (too_small + fits) // 2
            if attempt(middle):
                fits = middle
            else:
                too_small = middle
        # a record on the full disk
        logs_on_disk = mnt / "logs"
        logs_on_disk.mkdir()
        log = logs_on_disk / "r.yaml"
        shutil.copyfile(logs[0], log)
        self.cli.run("record", str(log), "breach_notice", "--at", "2026-05-04", "--id", "r-1")
        before = log.read_bytes()
        fill(filler, 0)
        try:
            done = self.cli.run("record", str(log), "breach_notice", "--at", "2026-05-05",
                                "--id", "r-2", expect=2)
        finally:
            filler.unlink()
        left = temporaries(logs_on_disk)
        if (done.code != 2 or log.read_bytes() != before or left
                or len(done.stderr.strip().splitlines()) != 1):
            self.report.add("disk-full faults mishandled")
            self.report.problem("disk-full faults mishandled", f"{done.shown()} on a full "
                                f"tmpfs: exit {done.code}, stderr {done.stderr.strip()!r}, log "
                                f"{'unchanged' if log.read_bytes() == before else 'CHANGED'}, "
                                f"{len(left)} temporaries")
        self.report.add("temporaries left", len(left))
        # space again: the next build succeeds and catches up
        self.cli.run("build", str(events), "--out", str(out), "--as-of", AS_OF)
        self.count_temporaries("after the full disk and one build with space", mnt, events)
        self.compare_with_fresh(events, out, base / "fresh", "after the full disk")
        self.report.set("disk: smallest free space that fitted", float(fits or 0) / 1024,
                        "KiB", f"largest that did not: {too_small / 1024:,.1f} KiB")
        self.report.figures["disk-full builds"].note = \
            f"{trial - fitted} ran out of space, {fitted} fitted; feeds+state {needed:,} bytes"

    # -- 5. deleting logs while a client polls the server -----------------------------------------

    def server(self) -> None:
        self.report.touch("requests", "requests failed", "stale feeds", "partial feeds seen",
                          "tokens in server logs")
        base = self.root / "server"
        today = datetime.now(UTC).date()
        logs = portfolio(base / "events", SERVER_LOGS, self.rng, "s", as_of=today)
        # the first half are deleted and put back; events are recorded in the second half (a
        # record into a log that vanishes under it rightly fails)
        flapped, recorded_into = logs[:SERVER_LOGS // 2], logs[SERVER_LOGS // 2:]
        tokens = base / "tokens.json"
        secret = self.token(tokens, "all")
        feed = f"/{secret}/deadlines.ics"
        recorded: list[str] = []
        with Server(self, base / "events", base / "feeds", tokens, "poll", secret) as server:
            pollers = [Poller(server.port, feed, self.report, n) for n in range(2)]
            flapper = Flapper(flapped, self.rng.randrange(1 << 30))
            for thread in (*pollers, flapper):
                thread.start()
            ended = time.monotonic() + self.settings.poll_seconds
            outages = attempts = 0
            try:
                while time.monotonic() < ended:
                    if self.rng.random() < 0.8:
                        attempts += 1
                        event_id = f"srv-{attempts}"
                        # 10 days ago: every agreement's cure (10 days to a month) then
                                        # falls within the 30 days ahead the all feed holds
                        done = self.cli.run("record", str(self.rng.choice(recorded_into)),
                                            "breach_notice", "--at",
                                            (today - timedelta(days=10)).isoformat(), "--id",
                                            event_id)
                        if done.code == 0:
                            recorded.append(event_id)
                    else:  # several logs gone for a while, the flapper paused
                        with flapper.paused():
                            gone = self.rng.sample(flapped, self.rng.randint(3, 8))
                            for log in gone:
                                log.unlink()
                            time.sleep(self.rng.uniform(0.3, 1.5))
                            for log in gone:
                                flapper.put_back(log)
                        outages += 1
                    time.sleep(self.rng.uniform(0, 0.3))
            finally:
                flapper.stop()
                for poller in pollers:
                    poller.halt.set()
                for poller in pollers:
                    poller.join(60)
            for poller in pollers:
                self.report.add("requests", poller.requests)
            self.report.set("server: logs deleted and put back", flapper.flaps + outages, "",
                            f"{flapper.flaps} one at a time, {outages} times several")
            # the served feed catches up with every recorded event
            missing = recorded
            deadline = time.monotonic() + 20
            status: int | str = "no answer"
            while time.monotonic() < deadline:
                status, body, _, _ = get(server.port, feed, 30)
                self.report.add("requests")
                text = unfolded(body) if status == 200 else ""
                missing = [i for i in recorded
                           if f"Set off by: breach_notice {i} (" not in text]
                if status == 200 and not missing:
                    break
                time.sleep(1)
            if status != 200:
                self.report.add("requests failed")
                self.report.problem("requests failed", f"GET {MASKED} after the deletions: "
                                    f"{status}")
            elif missing:
                self.report.add("stale feeds")
                self.report.problem("stale feeds", f"the served all feed lacks recorded "
                                    f"events 20 s after the last change: {missing[:10]}")
        self.report.add("records attempted", attempts)

    def token(self, tokens: Path, scope: str) -> str:
        done = self.cli.run("token", "create", scope, "--tokens", str(tokens))
        made = parse_tokens(done.stdout)
        if not made:
            raise SystemExit(f"chaos: `{done.shown()}` printed no token: {done.stderr}")
        return next(iter(made.values()))

    # -- 6. half-open sockets ----------------------------------------------------------------------

    def slowloris(self) -> None:
        self.report.touch("requests", "requests failed", "half-open sockets",
                          "tokens in server logs")
        base = self.root / "slowloris"
        portfolio(base / "events", 3, self.rng, "h")
        tokens = base / "tokens.json"
        secret = self.token(tokens, "all")
        feed = f"/{secret}/deadlines.ics"
        with Server(self, base / "events", base / "feeds", tokens, "slowloris",
                    secret) as server:
            status, _, before, _ = get(server.port, feed, 30)
            self.report.add("requests")
            self.report.set("GET latency, no attack", before, "s")
            if status != 200:
                self.report.add("requests failed")
                self.report.problem("requests failed", f"GET {MASKED} before the attack: "
                                    f"{status}")
            sockets: list[socket.socket] = []
            refused = 0
            for _ in range(self.settings.half_open):
                try:
                    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                    sock.sendall(b"GET /" + b"x" * self.rng.randint(0, 40))
                    sockets.append(sock)
                except OSError:
                    refused += 1
            self.report.add("half-open sockets", len(sockets))
            time.sleep(0.5)
            try:
                status, body, latency, _ = get(server.port, feed, self.settings.get_timeout)
                self.report.add("requests")
                self.report.set("GET latency, 200 half-open", latency, "s")
                if status != 200 or not whole_calendar(body):
                    self.report.figures["GET latency, 200 half-open"].note = \
                        f"no feed: {str(status)[:40]}; target < 2 s"
                    self.report.add("requests failed")
                    self.report.problem("requests failed", f"GET {MASKED} with "
                                        f"{len(sockets)} half-open sockets held: {status} after "
                                        f"{latency:.1f} s (timeout "
                                        f"{self.settings.get_timeout:.0f} s)")
                still = sum(1 for sock in sockets if is_open(sock))
                self.report.set("half-open sockets still open after the GET", still, "",
                                f"{refused} could not connect")
            finally:
                for sock in sockets:
                    sock.close()
            time.sleep(0.5)
            status, _, after, _ = get(server.port, feed, 60)
            self.report.add("requests")
            self.report.set("GET latency, sockets closed", after, "s")
            if status != 200:
                self.report.add("requests failed")
                self.report.problem("requests failed", f"GET {MASKED} after the half-open "
                                    f"sockets closed: {status} after {after:.1f} s")


def parse_tokens(stdout: str) -> dict[str, str]:
    """`token ID for SCOPE: SECRET` lines -> {id: secret}."""
    out = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 5 and words[0] == "token" and words[2] == "for":
            out[words[1]] = words[4]
    return out


def restore(path: Path, data: bytes) -> None:
    """Put a log back as a careful person would: written beside it, renamed over."""
    staging = path.with_name(path.name + ".restore")
    staging.write_bytes(data)
    os.replace(staging, path)


def fill(filler: Path, leave: int) -> None:
    """Fill the file system of `filler` until `leave` bytes are free."""
    info = os.statvfs(filler.parent)
    size = info.f_bavail * info.f_frsize - leave
    chunk = b"\0" * (1 << 20)
    # unbuffered: nothing is left to flush (and fail) at close
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while size > 0:
            size -= handle.write(chunk[:min(size, len(chunk))]) or 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, timeout: float, headers: dict[str, str] | None = None
        ) -> tuple[int | str, bytes, float, str | None]:
    """(status or what went wrong, body, seconds, ETag) of one GET on a new connection."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    etag = None
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        status: int | str = response.status
        etag = response.getheader("ETag")
    except (OSError, http.client.HTTPException) as exc:
        status, body = f"{type(exc).__name__}: {exc}", b""
    finally:
        conn.close()
    return status, body, time.perf_counter() - started, etag


def is_open(sock: socket.socket) -> bool:
    """Whether the server still holds this connection open."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


class FeedReader(threading.Thread):
    """Reads every feed and the state file over and over: each read must be whole."""

    def __init__(self, out: Path, report: Report) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.report = report
        self.halt = threading.Event()

    def stop(self) -> None:
        self.halt.set()
        self.join(60)

    def run(self) -> None:
        reads = 0
        while not self.halt.is_set():
            paths = [self.out / name for name in ("all.ics", "ours.ics", "theirs.ics",
                                                  *STATE_NAMES)]
            with contextlib.suppress(OSError):
                paths += sorted((self.out / "contracts").glob("*.ics"))
            for path in paths:
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    self.report.add("partial feeds seen")
                    self.report.problem("partial feeds seen", f"reading {path}: {exc}")
                    continue
                reads += 1
                if path.suffix == ".ics" and not whole_calendar(data):
                    self.report.add("partial feeds seen")
                    self.report.problem("partial feeds seen", f"{path}: {len(data):,} bytes, "
                                        f"starts {data[:20]!r}, ends {data[-20:]!r}")
                elif path.name in STATE_NAMES and not whole_store(path):
                    self.report.add("partial state seen")
                    self.report.problem("partial state seen", f"{path}: {len(data):,} bytes, "
                                        f"ends {data[-20:]!r}")
                time.sleep(0)
        self.report.add("feed reads", reads)


class Poller(threading.Thread):
    """GETs a feed until told to stop, half of the requests conditional on the last ETag."""

    def __init__(self, port: int, path: str, report: Report, n: int) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.report = port, path, report
        self.rng = random.Random(n)
        self.halt = threading.Event()
        self.requests = 0

    def run(self) -> None:
        etag: str | None = None
        while not self.halt.is_set():
            headers: dict[str, str] = {}
            if etag and self.rng.random() < 0.5:
                headers["If-None-Match"] = etag
            status, body, seconds, tag = get(self.port, self.path, 30, headers)
            self.requests += 1
            etag = tag or etag
            if status == 200 and not whole_calendar(body):
                self.report.add("partial feeds seen")
                self.report.problem("partial feeds seen", f"GET {MASKED}: 200 with "
                                    f"{len(body):,} bytes that are not a whole calendar")
            elif status not in (200, 304):
                self.report.add("requests failed")
                self.report.problem("requests failed", f"GET {MASKED} "
                                    f"{'(If-None-Match) ' if headers else ''}while logs were "
                                    f"deleted: {status} after {seconds:.2f} s: {body[:120]!r}")


class Flapper(threading.Thread):
    """Deletes a log and puts it back (renamed into place), one after another without pause,
    so that logs vanish while the server lists and reads the folder."""

    def __init__(self, logs: list[Path], seed: int) -> None:
        super().__init__(daemon=True)
        self.logs = logs
        self.contents = {log: log.read_bytes() for log in logs}
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.hold = threading.Lock()
        self.flaps = 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self.hold:
            yield

    def put_back(self, log: Path) -> None:
        restore(log, self.contents[log])

    def stop(self) -> None:
        self.halt.set()
        self.join(60)
        for log in self.logs:
            if not log.exists():
                self.put_back(log)

    def run(self) -> None:
        while not self.halt.is_set():
            with self.hold:
                log = self.rng.choice(self.logs)
                log.unlink()
                time.sleep(self.rng.choice((0, 0, 0.001, 0.01)))
                self.put_back(log)
                self.flaps += 1
            time.sleep(0.0005)


class Server:
    """`deadlines serve` on a free loopback port, ready once it serves the feed, stopped (by its
    pid) on exit; its stderr is kept in a file and scanned for tracebacks and the token."""

    def __init__(self, chaos: Chaos, events: Path, out: Path, tokens: Path, name: str,
                 secret: str) -> None:
        self.chaos = chaos
        self.secret = secret
        self.port = free_port()
        self.stderr = events.parent / f"serve-{name}.stderr"
        self.args = ("serve", str(events), "--out", str(out), "--tokens", str(tokens),
                     "--port", str(self.port))
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(self.chaos.cli.argv(self.args), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, env=self.chaos.cli.env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"chaos: `deadlines {shlex.join(self.args)}` exited "
                                 f"{self.proc.returncode}: {self.stderr.read_text()[-2000:]}")
            if get(self.port, f"/{self.secret}/deadlines.ics", 30)[0] == 200:
                return self
            time.sleep(0.1)
        raise SystemExit(f"chaos: `deadlines {shlex.join(self.args)}` served no feed in 120 s")

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.chaos.cli.scan_file(self.stderr, f"deadlines {shlex.join(self.args)}",
                                 (self.secret,))
        text = self.stderr.read_text("utf-8", "replace")
        leaks = [line for line in text.splitlines() if self.secret in line]
        self.chaos.report.add("tokens in server logs", len(leaks))
        if leaks:
            self.chaos.report.problem("tokens in server logs", f"{self.stderr}: {len(leaks)} "
                                      "line(s) hold the token, e.g. "
                                      f"{leaks[0].replace(self.secret, '<TOKEN>')[:200]!r}")
        merged = sum(line.count("msGET ") + line.count("msHEAD ")
                     for line in text.splitlines())
        self.chaos.report.add("server log lines run together", merged)
        if merged:
            self.chaos.report.problem("server log lines run together", f"{self.stderr}: "
                                      f"{merged} request line(s) written on the end of another")
        errors = sum(1 for line in text.splitlines() if " 500 " in line)
        if errors:
            self.chaos.report.problem("requests failed", f"{self.stderr}: {errors} request(s) "
                                      "logged with status 500")


# ---------------------------------------------------------------------------------------------
# Main


@contextlib.contextmanager
def scratch(workdir: Path | None, report: Report) -> Iterator[Path]:
    """The given folder (kept), or a temporary one kept only when something failed."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="chaos-", dir=workdir))
        yield root
        print(f"scratch folder kept: {root}")
        return
    root = Path(tempfile.mkdtemp(prefix="deadlines-chaos-"))
    try:
        yield root
    finally:
        if report.failing() or sys.exc_info()[0] is not None:
            print(f"scratch folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (0)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="make the scratch folder in here and keep it")
    parser.add_argument("--only", default=",".join(STEPS),
                        help=f"comma-separated steps to run ({','.join(STEPS)})")
    parser.add_argument("--kills", type=int, help="builds to kill (50; quick 5)")
    parser.add_argument("--rounds", type=int, help="rounds of 20 parallel records and of 20 "
                        "parallel token creates (10 and 5; quick 1 and 1)")
    parser.add_argument("--contracts", type=int, help="logs in the kills portfolio (100; "
                        "quick 30)")
    parser.add_argument("--poll-seconds", type=float, help="how long logs are deleted under "
                        "the polling client (45; quick 6)")
    parser.add_argument("--half-open", type=int, help="half-open sockets (200)")
    parser.add_argument("--get-timeout", type=float, help="seconds the GET under the half-open "
                        "sockets may take (180; quick 5)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(STEPS)
    if unknown:
        parser.error(f"--only: unknown step(s) {', '.join(sorted(unknown))}; "
                     f"expected {', '.join(STEPS)}")
    settings = QUICK if args.quick else FULL
    overrides = {"kills": args.kills, "contracts": args.contracts,
                 "poll_seconds": args.poll_seconds, "half_open": args.half_open,
                 "get_timeout": args.get_timeout}
    if args.rounds is not None:
        overrides.update(record_rounds=args.rounds, token_rounds=args.rounds)
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    report = Report()
    started = time.perf_counter()
    with scratch(args.workdir, report) as root:
        chaos = Chaos(root, settings, random.Random(args.seed), report)
        report.touch("tracebacks", "internal errors (exit 3)", "commands failed")
        for step in STEPS:
            if step not in only:
                continue
            print(f"chaos: {step} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            getattr(chaos, step)()
            report.set(f"time: {step}", time.perf_counter() - t0, "s")
        report.set("time: total", time.perf_counter() - started, "s")
        for line in report.problems[:PROBLEMS_SHOWN]:
            print(line)
        if len(report.problems) > PROBLEMS_SHOWN:
            print(f"... and {len(report.problems) - PROBLEMS_SHOWN} more problem(s)")
        for reason in report.skipped:
            print(f"skipped: {reason}")
        print(f"\ndeadlines chaos: {'quick' if args.quick else 'full'} run, seed {args.seed}, "
              f"steps {','.join(s for s in STEPS if s in only)}")
        print(report.table())
        failing = report.failing()
        print("\nFAIL: " + ", ".join(failing) if failing
              else "\nOK: every must-be-0 figure is 0")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
