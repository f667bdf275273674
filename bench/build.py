"""Throughput of `deadlines build` on a generated portfolio: full, no-change and one-change
builds, against icalendar alone and, optionally, against the landed code.

What it does:

1. Generates N contracts (default 10,000) as YAML event logs in a temporary directory, in the
   format of events/acme-freshhawk.yaml, spread round-robin over the six shipped agreements.
   Each log has deterministic pseudo-random events (random.Random(seed)), drawn from the
   triggers its rulebook declares: breach notices (most cured), incidents (most notified),
   deletion requests, support tickets with a severity the rulebook declares (most answered),
   planned maintenance windows and end-of-life notices (--triggers: mean triggers per log).
   Contracts start within the 6 months before the as-of date. The recurring contract_start
   rules (monthly uptime and maintenance cap, quarterly firewall review, ...) run to as-of + 12
   months, so they alone give 30-65 deadlines per contract: about 48 per contract in all with
   the default 3 triggers, i.e. ~478,000 deadlines for 10,000 contracts.
2. Measures, with a fixed as-of (2026-06-01T12:00Z) and `deadlines.build` defaults (one worker
   process per CPU unless --jobs), each phase in its own subprocess, repeated --repeat times,
   median reported:
     full      build into a fresh output directory (no store: every log is checked, then every
               contract computed)
     rebuild   build again into the same directory, nothing changed
     one-log   one event recorded in one log, then build (the store recomputes one contract
               and rewrites its feed and the aggregates)
     baseline  the same VEVENTs (every contract feed's, in the same order, with the same
               property values) built and serialised with plain icalendar calls only
               (Event(), Alarm(), .add(), to_ical(sorted=True)), each event on its own. The
               values come from the package's tracking and feed entries and the stamps the
               full build left in the store (untimed set-up); the blocks are checked byte for
               byte against the contract feeds. This is the floor for a writer that builds one
               icalendar component per event.
     landed    with --landed DIR (a checkout of the code before the build store, with its own
               .venv): its own bench's full and no-change phases on the same logs
   Times are wall-clock (and CPU, the worker processes' included) around the build call only,
   interpreter start-up and imports excluded. Peak RSS is the phase process's and, apart, the
   largest worker's. Deadlines/s = tracked deadlines / full build time; events/s = VEVENTs
   written in the contract feeds / time.
3. With --profile, instead runs one full build in one process under cProfile and prints the
   top functions by cumulative and by total time.

Run from the repository root with the venv active:

    python bench/build.py --contracts 500                  # quick check
    python bench/build.py --contracts 1000 3000 10000 --repeat 3 --landed /tmp/landed
    python bench/build.py --contracts 10000 --slow-repeat 1  # icalendar alone run once
    python bench/build.py --contracts 1000 --profile       # cProfile of one full build
    python bench/build.py --contracts 200 1000 --sizes     # feed sizes (the README's table)
    python bench/build.py --contracts 500 --keep /tmp/b    # keep the logs and the feeds
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

AS_OF = "2026-06-01T12:00Z"
AGREEMENTS = ("freshhawk-standard", "freshhawk-enterprise", "openmethods", "bcr", "aircall",
              "zuper")
START_WINDOW_DAYS = (14, 183)  # contracts started this many days before the as-of date
EVENT_WINDOW_DAYS = 400  # triggers happen in the last this-many days (after the start)
ZONES = ("Europe/Paris", "Europe/London", "America/New_York")
REMINDERS = ("[7d, 1d]", "[7d, 1d]", "[1d]", "[14d, 2d, 2h]")

# trigger type -> (weight, id prefix, fulfilment type or None, rule the fulfilment closes)
TRIGGERS: dict[str, tuple[int, str, str | None, str | None]] = {
    "support_request": (30, "ticket", "support_responded", "support-response"),
    "incident_identified": (15, "incident", "incident_notified", "incident-notice"),
    "maintenance_planned": (20, "maint", None, None),
    "breach_notice": (10, "breach", "breach_cured", "cure"),
    "deletion_request": (10, "deletion", None, None),
    "eol_notice": (10, "eol", None, None),
}
NOTES = ("Uptime below 99.9 % last month", "Slow API responses reported by agents",
         "Invoices exported twice", "Archived tickets of a closed workspace",
         "Legacy reporting widget to be retired", "")


# ---------------------------------------------------------------------------------------------
# Portfolio generation


@dataclass(frozen=True)
class Menu:
    """What one agreement allows: trigger types, severities, and which fulfilments apply."""

    triggers: tuple[str, ...]
    weights: tuple[int, ...]
    severities: tuple[str, ...]
    fulfils: frozenset[str]


def menus() -> dict[str, Menu]:
    from deadlines import rulebook

    out: dict[str, Menu] = {}
    for agreement in AGREEMENTS:
        book = rulebook.load(agreement)
        rule_ids = {r.id for r in book.rules}
        kinds = tuple(k for k in TRIGGERS if k in book.events)
        fulfils = frozenset(k for k in kinds if TRIGGERS[k][3] in rule_ids)
        out[agreement] = Menu(kinds, tuple(TRIGGERS[k][0] for k in kinds),
                              tuple(book.severities), fulfils)
    return out


def _stamp(moment: datetime, with_time: bool) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M") if with_time else moment.date().isoformat()


def contract_log(index: int, agreement: str, menu: Menu, rng: random.Random, as_of: date,
                 mean_triggers: float) -> str:
    """One event log as YAML text, in the layout of events/acme-freshhawk.yaml."""
    slug = f"c{index:05d}-{agreement}"
    start = as_of - timedelta(days=rng.randint(*START_WINDOW_DAYS))
    lines = [
        "contract:",
        f"  id: {slug}",
        f"  agreement: {agreement}",
        f"  start: {start.isoformat()}",
    ]
    if rng.random() < 0.2:
        lines.append(f"  timezone: {rng.choice(ZONES)}")
    lines += [
        f"  role: {'provider' if rng.random() < 0.2 else 'customer'}",
        f"  name: Customer {index:05d} - {agreement}",
        f"  reminders: {rng.choice(REMINDERS)}",
        "events:",
    ]
    now = datetime.combine(as_of, datetime.min.time())
    first = max(datetime.combine(start, datetime.min.time()),
                now - timedelta(days=EVENT_WINDOW_DAYS))
    span = int((now - first).total_seconds() // 60)
    count = rng.randint(0, round(2 * mean_triggers))
    events: list[tuple[datetime, int, list[str]]] = []
    for n, kind in enumerate(rng.choices(menu.triggers, menu.weights, k=count), start=1):
        _, prefix, fulfilment, _ = TRIGGERS[kind]
        at = first + timedelta(minutes=rng.randrange(span))
        with_time = kind in ("support_request", "incident_identified", "maintenance_planned")
        if kind == "maintenance_planned":  # a planned window: often still ahead
            at += timedelta(days=rng.randint(0, 60))
            at = at.replace(minute=0)
        event_id = f"{prefix}-{n}"
        entry = [f"  - id: {event_id}", f"    type: {kind}", f"    at: {_stamp(at, with_time)}"]
        if kind == "support_request":
            entry.append(f"    severity: {rng.choice(menu.severities)}")
        note = rng.choice(NOTES)
        if note and kind != "support_request":
            entry.append(f"    note: {json.dumps(note)}")
        events.append((at, len(events), entry))
        if fulfilment is None or kind not in menu.fulfils or rng.random() < 0.25:
            continue
        if kind == "breach_notice":
            done = at + timedelta(days=rng.randint(3, 40))
        elif kind == "incident_identified":
            done = at + timedelta(minutes=rng.randint(20, 36 * 60))
        else:
            done = at + timedelta(minutes=rng.randint(5, 180))
        if done < now:
            events.append((done, len(events), [
                f"  - type: {fulfilment}", f"    at: {_stamp(done, with_time)}",
                f"    ref: {event_id}"]))
    events.sort(key=lambda e: (e[0], e[1]))
    if not events:
        lines[-1] = "events: []"
    for _, _, entry in events:
        lines += entry
    return "\n".join(lines) + "\n"


def generate(directory: Path, contracts: int, seed: int, mean_triggers: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    as_of = datetime.fromisoformat(AS_OF.replace("Z", "+00:00")).date()
    by_agreement = menus()
    for index in range(contracts):
        agreement = AGREEMENTS[index % len(AGREEMENTS)]
        text = contract_log(index, agreement, by_agreement[agreement], rng, as_of, mean_triggers)
        (directory / f"c{index:05d}.yaml").write_text(text, encoding="utf-8")


def warm_holiday_cache(directory: Path, as_of: datetime) -> None:
    """Track one log per (agreement, zone) so no measured run pays a holiday-cache miss."""
    from deadlines.eventlog import load
    from deadlines.tracking import track

    seen: set[tuple[str, str | None]] = set()
    for path in sorted(directory.glob("*.yaml")):
        log = load(path)
        key = (log.contract.agreement, log.contract.timezone)
        if key not in seen:
            seen.add(key)
            track(log, as_of)
        if len(seen) == len(AGREEMENTS) * (len(ZONES) + 1):
            break


# ---------------------------------------------------------------------------------------------
# Measured phases (each runs in a child process: `--phase NAME`)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds() -> float:
    """User + system CPU time of this process and of the workers it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stop_workers() -> None:
    """Stop the build's fork server, so that it and the workers it forked are waited for and
    their CPU time and peak RSS count in RUSAGE_CHILDREN (a private hook of multiprocessing,
    used only here)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


def phase_build(events_dir: str, out_dir: str, jobs: int | None = None) -> dict[str, Any]:
    from deadlines.api import parse_as_of
    from deadlines.build import build

    as_of = parse_as_of(AS_OF)
    cpu, start = cpu_seconds(), time.perf_counter()
    report = build(events_dir, out_dir, as_of, jobs=jobs)
    seconds = time.perf_counter() - start
    _stop_workers()
    cpu = cpu_seconds() - cpu
    return {"seconds": seconds, "cpu": cpu, "contracts": report.contracts,
            "deadlines": report.deadlines, "events_written": report.events_written,
            "computed": report.computed, "written": len(report.written),
            "unchanged": len(report.unchanged), "rss_mb": peak_rss_mb(),
            "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def phase_one_log(events_dir: str, out_dir: str, jobs: int | None = None) -> dict[str, Any]:
    """One event recorded in the first log (untimed), then a build (timed)."""
    from deadlines.api import record

    first = sorted(Path(events_dir).glob("*.yaml"))[0]
    record(str(first), "breach_notice", "2026-05-31", note="bench: one more event")
    return phase_build(events_dir, out_dir, jobs)


@dataclass(frozen=True)
class Vevent:
    """Plain values of one VEVENT, as the build wrote it."""

    uid: str
    stamp: datetime
    created: datetime
    sequence: int
    summary: str
    description: str
    start: date | datetime
    status: str
    categories: list[str]
    alarms: tuple[tuple[str, timedelta, str], ...]


def baseline_values(events_dir: str, out_dir: str) -> list[tuple[str, list[Vevent]]]:
    """Untimed set-up: every VEVENT of every contract feed, in its order, with the values the
    build used (the package's tracking and feed entries, the stamps in the store)."""
    from deadlines.api import parse_as_of
    from deadlines.eventlog import load_dir
    from deadlines.feeds import UID_DOMAIN, FeedOptions, entries
    from deadlines.state import FeedState
    from deadlines.store import StoreReader
    from deadlines.tracking import track

    as_of = parse_as_of(AS_OF)
    options = FeedOptions()
    stamps = StoreReader(Path(out_dir)).stamps()
    out = []
    for log in load_dir(events_dir):
        state = FeedState(stamps[log.contract.id])  # the window depends on it (grace periods)
        values = []
        for e in entries(track(log, as_of, options.horizon_months), as_of, options, state):
            s = state.peek(e.uid)
            assert s is not None, f"{e.uid} is not in the store; run the full build first"
            base = e.uid.split("@")[0]
            values.append(Vevent(
                e.uid, s.last_modified, s.created, s.sequence, e.summary, e.description,
                e.start, "CANCELLED" if e.cancelled else "CONFIRMED", list(e.categories),
                tuple((f"{base}-alarm-{i}@{UID_DOMAIN}", t, text)
                      for i, (t, text) in enumerate(e.alarms))))
        out.append((log.contract.id, values))
    return out


def plain_event(v: Vevent) -> Any:
    """One VEVENT (with its VALARMs) through icalendar's API only."""
    from icalendar import Alarm, Event

    event = Event()
    event.add("uid", v.uid)
    event.add("dtstamp", v.stamp)
    event.add("last-modified", v.stamp)
    event.add("created", v.created)
    event.add("sequence", v.sequence)
    event.add("summary", v.summary)
    event.add("description", v.description)
    event.add("dtstart", v.start)
    if not isinstance(v.start, datetime):
        event.add("dtend", v.start + timedelta(days=1))
    event.add("status", v.status)
    event.add("transp", "TRANSPARENT")
    event.add("categories", v.categories)
    for uid, trigger, text in v.alarms:
        alarm = Alarm()
        alarm.add("uid", uid)
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        alarm.add("trigger", trigger)
        event.add_component(alarm)
    return event


VEVENT_RE = re.compile(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", re.DOTALL)


def phase_baseline(events_dir: str, out_dir: str, jobs: int | None = None) -> dict[str, Any]:
    contracts = baseline_values(events_dir, out_dir)
    setup_rss = peak_rss_mb()
    seconds = cpu = 0.0
    different = vevents = 0
    for contract_id, values in contracts:
        cpu_start, start = cpu_seconds(), time.perf_counter()
        blocks = [plain_event(v).to_ical(sorted=True) for v in values]
        seconds += time.perf_counter() - start
        cpu += cpu_seconds() - cpu_start
        written = VEVENT_RE.findall((Path(out_dir) / "contracts" /
                                     f"{contract_id}.ics").read_bytes())
        different += sum(a != b for a, b in zip(blocks, written, strict=False))
        different += abs(len(blocks) - len(written))
        vevents += len(blocks)
    return {"seconds": seconds, "cpu": cpu, "vevents": vevents, "different": different,
            "setup_rss_mb": setup_rss, "rss_mb": peak_rss_mb()}


def phase_idle(events_dir: str, out_dir: str, jobs: int | None = None) -> dict[str, Any]:
    import icalendar  # noqa: F401

    import deadlines.build  # noqa: F401

    return {"seconds": 0.0, "rss_mb": peak_rss_mb()}


STAGES = (  # (label, path suffix, function) of the build's stages, for the profile summary
    ("check the logs (parse)", "deadlines/build.py", "check_logs"),
    ("compute one contract", "deadlines/contractfeed.py", "compute_contract"),
    ("  of which parse", "deadlines/contractfeed.py", "parse_log"),
    ("  of which track", "deadlines/tracking.py", "track"),
    ("    of which engine.compute", "deadlines/engine.py", "compute"),
    ("  of which entries (window + text)", "deadlines/feeds.py", "entries"),
    ("  of which stamps", "deadlines/feeds.py", "stamp_all"),
    ("  of which VEVENTs", "deadlines/icswriter.py", "vevent"),
    ("  of which next_change", "deadlines/contractfeed.py", "next_change"),
    ("store: write a contract", "deadlines/store.py", "put_contract"),
    ("aggregates", "deadlines/aggregates.py", "write_aggregates"),
    ("store: backup", "deadlines/store.py", "backup"),
)


def phase_profile(events_dir: str, out_dir: str, jobs: int | None = None) -> dict[str, Any]:
    from deadlines.api import parse_as_of
    from deadlines.build import build

    as_of = parse_as_of(AS_OF)
    profiler = cProfile.Profile()
    profiler.enable()
    report = build(events_dir, out_dir, as_of, jobs=1)  # one process: the profile sees it all
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    for order in ("cumulative", "tottime"):
        print(f"\n=== top 15 by {order} ===", file=sys.stderr)
        stats.sort_stats(order).print_stats(15)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = max(row[3] for row in table.values())
    print("=== time by stage (cumulative, profiled) ===", file=sys.stderr)
    for label, suffix, function in STAGES:
        rows = [row for (path, _, name), row in table.items()
                if name == function and path.endswith(suffix)]
        cumulative = sum(row[3] for row in rows)
        calls = sum(row[1] for row in rows)
        print(f"  {label:<34} {cumulative:8.2f} s {cumulative / total:6.1%}  {calls:>10,} calls",
              file=sys.stderr)
    return {"seconds": 0.0, "contracts": report.contracts, "deadlines": report.deadlines,
            "events_written": report.events_written, "rss_mb": peak_rss_mb()}


PHASES = {"full": phase_build, "rebuild": phase_build, "one-log": phase_one_log,
          "baseline": phase_baseline, "idle": phase_idle, "profile": phase_profile}


def run_phase(name: str, events_dir: Path, out_dir: Path, env: dict[str, str],
              jobs: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name,
           "--events-dir", str(events_dir), "--out-dir", str(out_dir)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    done = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_landed(landed: Path, name: str, events_dir: Path, out_dir: Path, env: dict[str, str]
               ) -> dict[str, Any]:
    """A phase of the landed code's own bench (its `full` and `rebuild` phases have the same
    output shape), in its own interpreter and with its own package."""
    python = landed / ".venv" / "bin" / "python"
    cmd = [str(python), str(landed / "bench" / "build.py"), "--phase", name,
           "--events-dir", str(events_dir), "--out-dir", str(out_dir)]
    done = subprocess.run(cmd, env={**env, "PYTHONPATH": str(landed)}, check=True,
                          stdout=subprocess.PIPE, text=True, cwd=landed)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------------------------
# Report


# (a TEXT value escapes its commas: 27,374 is written 27\,374)
_LEFT_OUT = re.compile(rb"([\d,\\]+) deadline\(s\) due latest are left out")


def feed_events(path: Path) -> tuple[int, int]:
    """The VEVENTs a feed holds, and how many its description says it left out (the cap)."""
    data = path.read_bytes().replace(b"\r\n ", b"") if path.exists() else b""
    left_out = _LEFT_OUT.search(data)
    return data.count(b"BEGIN:VEVENT"), int(re.sub(rb"\D", b"", left_out[1])) if left_out else 0


def feed_sizes(out_dir: Path) -> dict[str, Any]:
    aggregates = {name: (out_dir / name).stat().st_size if (out_dir / name).exists() else 0
                  for name in ("all.ics", "ours.ics", "theirs.ics")}
    events = {name: feed_events(out_dir / name) for name in aggregates}
    contracts = sorted(p.stat().st_size for p in (out_dir / "contracts").glob("*.ics"))
    parts = sorted(p.stat().st_size for p in out_dir.glob("agreements/*/*.ics"))
    store = out_dir / ".deadlines-store.sqlite"
    return {
        **aggregates,
        "contract_feeds": len(contracts),
        "contract_total": sum(contracts),
        "contract_median": statistics.median(contracts) if contracts else 0,
        "contract_max": contracts[-1] if contracts else 0,
        "parts": len(parts), "parts_max": parts[-1] if parts else 0,
        "store": store.stat().st_size if store.exists() else 0,
        "total": sum(p.stat().st_size for p in out_dir.rglob("*.ics")),
        "events": events,
        "expiring": expiring(store),
    }


def expiring(store: Path) -> tuple[int, int, int]:
    """Of the contracts in the store, how many have a result that time alone makes stale
    within a day and within a week of the as-of moment (each is computed again then), and
    how many there are."""
    import sqlite3

    from deadlines.api import parse_as_of
    from deadlines.store import micros

    if not store.exists():
        return 0, 0, 0
    as_of = parse_as_of(AS_OF)
    with contextlib.closing(sqlite3.connect(store)) as conn:
        def before(delta: timedelta) -> int:
            return int(conn.execute("SELECT count(*) FROM contracts WHERE valid_until <= ?",
                                    (micros(as_of + delta),)).fetchone()[0])
        total = int(conn.execute("SELECT count(*) FROM contracts").fetchone()[0])
        return before(timedelta(days=1)), before(timedelta(days=7)), total


SIZES_HEAD = ("| contracts | all.ics | ours.ics | theirs.ics | split by agreement | contract feeds "
              "(median / max) | computed again by time within a day / a week |\n|" + "---|" * 7)


def sizes_row(contracts: int, sizes: dict[str, Any]) -> str:
    """One row of the README's table of feed sizes."""
    def cell(name: str) -> str:
        held, left_out = sizes["events"][name]
        return f"{mb(sizes[name])}, {held:,} events" + (f" ({left_out:,} left out)"
                                                        if left_out else "")
    parts = f"{sizes['parts']} parts, max {mb(sizes['parts_max'])}" if sizes["parts"] else "no"
    within_day, within_week, total = sizes["expiring"]
    day, week = within_day / max(total, 1), within_week / max(total, 1)
    return (f"| {contracts:,} | {cell('all.ics')} | {cell('ours.ics')} | {cell('theirs.ics')} "
            f"| {parts} | {sizes['contract_median'] / 1e3:,.0f} / "
            f"{sizes['contract_max'] / 1e3:,.0f} kB | {day:.0%} / {week:.0%} |")


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, nargs="+", default=[10_000],
                        help="portfolio sizes, measured one after the other in this run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--triggers", type=float, default=3.0,
                        help="mean trigger events per contract (default 3)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slow-repeat", type=int, default=None,
                        help="runs of icalendar alone and of the landed code (default: --repeat)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes of each build (default: one per CPU)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--landed", metavar="DIR", type=Path,
                        help="a checkout of the landed code with its .venv, measured as well")
    parser.add_argument("--sizes", action="store_true",
                        help="one full build per portfolio, untimed: the README's feed sizes")
    parser.add_argument("--profile", action="store_true",
                        help="profile one full build instead of measuring")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the icalendar-only baseline (slow at 10,000 contracts)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--events-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # child process: one measured phase, one JSON line out
        print(json.dumps(PHASES[args.phase](args.events_dir, args.out_dir, args.jobs),
                         default=str))
        return

    summary: list[str] = []
    for contracts in args.contracts:
        root = Path(args.keep) / str(contracts) if args.keep else \
            Path(tempfile.mkdtemp(prefix="deadlines-bench-"))
        events_dir, out_dir, cache_dir = root / "events", root / "feeds", root / "cache"
        os.environ["DEADLINES_CACHE_DIR"] = str(cache_dir)  # a private holiday cache, warmed
        env = dict(os.environ)
        try:
            shutil.rmtree(events_dir, ignore_errors=True)
            started = time.perf_counter()
            generate(events_dir, contracts, args.seed, args.triggers)
            from deadlines.api import parse_as_of

            warm_holiday_cache(events_dir, parse_as_of(AS_OF))
            print(f"generated {contracts:,} logs in {events_dir} "
                  f"({time.perf_counter() - started:.1f} s, seed {args.seed}, "
                  f"{args.triggers:g} triggers/contract on average)", flush=True)
            if args.sizes:
                shutil.rmtree(out_dir, ignore_errors=True)
                run_phase("full", events_dir, out_dir, env)
                summary.append(sizes_row(contracts, feed_sizes(out_dir)))
                print(summary[-1], flush=True)
                continue
            if args.profile:
                shutil.rmtree(out_dir, ignore_errors=True)
                result = run_phase("profile", events_dir, out_dir, env)
                print(f"profiled one full build: {result['contracts']:,} contracts, "
                      f"{result['deadlines']:,} deadlines, {result['events_written']:,} "
                      "VEVENTs")
                continue
            summary.append(measure(args, events_dir, out_dir, env))
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    if args.sizes:
        print(f"\nfeed sizes of one full build, as of {AS_OF}, default options:")
        print(SIZES_HEAD)
        for line in summary:
            print(line)
    elif len(summary) > 1:
        print("\nsummary (medians):")
        print(SUMMARY_HEAD)
        for line in summary:
            print(line)


SUMMARY_HEAD = ("| contracts | deadlines | full build (wall / CPU) | peak RSS (build / worker) | "
                "no-change rebuild | one changed log | icalendar alone | landed full | "
                "landed rebuild | landed RSS | all.ics |\n|" + "---|" * 11)


def measure(args: argparse.Namespace, events_dir: Path, out_dir: Path, env: dict[str, str]
            ) -> str:
    names = ("full", "rebuild", "one-log")
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in
                                             (*names, "baseline", "landed", "landed-rebuild")}
    slow = args.repeat if args.slow_repeat is None else args.slow_repeat
    load_before = os.getloadavg()[0]
    idle = run_phase("idle", events_dir, out_dir, env)
    pristine = events_dir.parent / "events-pristine"
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(events_dir, pristine)
    for i in range(args.repeat):
        shutil.rmtree(out_dir, ignore_errors=True)
        for name in names:
            runs[name].append(run_phase(name, events_dir, out_dir, env, args.jobs))
            log_run(name, i, args.repeat, runs[name][-1])
        shutil.rmtree(events_dir)
        shutil.copytree(pristine, events_dir)  # the one-log change undone
    shutil.rmtree(out_dir)
    # not timed: the feeds and the store of the logs as generated, for sizes and the baseline
    run_phase("full", events_dir, out_dir, env, args.jobs)
    sizes = feed_sizes(out_dir)
    if not args.no_baseline:
        for i in range(slow):
            runs["baseline"].append(run_phase("baseline", events_dir, out_dir, env))
            log_run("baseline", i, slow, runs["baseline"][-1])
    if args.landed:
        landed_out = out_dir.parent / "feeds-landed"
        for i in range(slow):
            shutil.rmtree(landed_out, ignore_errors=True)
            runs["landed"].append(run_landed(args.landed, "full", events_dir, landed_out, env))
            log_run("landed", i, slow, runs["landed"][-1])
            runs["landed-rebuild"].append(run_landed(args.landed, "rebuild", events_dir,
                                                     landed_out, env))
            log_run("landed-rebuild", i, slow, runs["landed-rebuild"][-1])
        shutil.rmtree(landed_out, ignore_errors=True)
    shutil.rmtree(pristine, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[name]))

    full = runs["full"][-1]
    t_full, c_full = med("full", "seconds"), med("full", "cpu")
    written = full["events_written"]
    print()
    print(f"as-of {AS_OF}, median of {args.repeat} run(s) each ({slow} of icalendar alone and "
          f"of the landed code), {os.cpu_count()} cores, "
          f"jobs {args.jobs or 'one per CPU'}, Python {sys.version.split()[0]}, load average "
          f"{load_before:.1f} before / {os.getloadavg()[0]:.1f} after")
    print(f"  contracts {full['contracts']:,}   tracked deadlines {full['deadlines']:,}   "
          f"VEVENTs written {written:,} (contract feeds and aggregates)")
    rows = [
        ("full build (fresh output dir)", t_full, c_full,
         f"{full['deadlines'] / t_full:,.0f} deadlines/s ({full['deadlines'] / c_full:,.0f} per "
         f"CPU s)", f"{med('full', 'rss_mb'):,.0f} MB + worker "
         f"{med('full', 'worker_rss_mb'):,.0f} MB"),
        ("no-change rebuild", med("rebuild", "seconds"), med("rebuild", "cpu"),
         f"{runs['rebuild'][-1]['computed']} computed, {runs['rebuild'][-1]['written']} files "
         f"rewritten", f"{med('rebuild', 'rss_mb'):,.0f} MB"),
        ("one changed log", med("one-log", "seconds"), med("one-log", "cpu"),
         f"{runs['one-log'][-1]['computed']} computed, {runs['one-log'][-1]['written']} files "
         "rewritten", f"{med('one-log', 'rss_mb'):,.0f} MB"),
    ]
    if runs["baseline"]:
        base = runs["baseline"][-1]
        same = "same VEVENT bytes as the contract feeds" if base["different"] == 0 else \
            f"{base['different']:,} VEVENTs DIFFER from the contract feeds"
        t_base, c_base = med("baseline", "seconds"), med("baseline", "cpu")
        rows.append(("icalendar only, per event", t_base, c_base,
                     f"{base['vevents'] / t_base:,.0f} events/s; the full build is "
                     f"{t_base / t_full:.1f}x faster (wall), {c_base / c_full:.1f}x (CPU)",
                     f"{med('baseline', 'rss_mb'):,.0f} MB"))
    if runs["landed"]:
        rows.append(("landed code, full build", med("landed", "seconds"), med("landed", "cpu"),
                     f"{t_full / med('landed', 'seconds'):.0%} of its time now",
                     f"{med('landed', 'rss_mb'):,.0f} MB"))
        rows.append(("landed code, no-change", med("landed-rebuild", "seconds"),
                     med("landed-rebuild", "cpu"), "", f"{med('landed-rebuild', 'rss_mb'):,.0f} "
                     "MB"))
    print(f"  {'phase':<30} {'wall s':>8} {'CPU s':>8}  {'':<70} peak RSS")
    for name, seconds, cpu, rate, rss in rows:
        print(f"  {name:<30} {seconds:8.2f} {cpu:8.2f}  {rate:<70} {rss}")
    print(f"  {'idle child (imports only)':<30} {'':8} {'':8}  {'':<70} {idle['rss_mb']:,.0f} MB")
    if runs["baseline"]:
        print(f"  baseline check: {same}")
    print(f"  feeds: all.ics {mb(sizes['all.ics'])}, ours.ics {mb(sizes['ours.ics'])}, "
          f"theirs.ics {mb(sizes['theirs.ics'])}; {sizes['parts']} per-agreement parts (max "
          f"{mb(sizes['parts_max'])}); {sizes['contract_feeds']:,} contract feeds "
          f"{mb(sizes['contract_total'])} (median {sizes['contract_median'] / 1e3:,.1f} kB, "
          f"max {sizes['contract_max'] / 1e3:,.1f} kB); store {mb(sizes['store'])}")
    for name in runs:
        if len(runs[name]) > 1:
            print(f"  {name} runs (wall s): " + ", ".join(f"{r['seconds']:.2f}"
                                                        for r in runs[name]))
    landed = (f"{med('landed', 'seconds'):.1f} s", f"{med('landed-rebuild', 'seconds'):.1f} s",
              f"{med('landed', 'rss_mb'):,.0f} MB") if runs["landed"] else ("-", "-", "-")
    base_cell = f"{med('baseline', 'seconds'):.1f} s" if runs["baseline"] else "-"
    return (f"| {full['contracts']:,} | {full['deadlines']:,} | {t_full:.1f} s / {c_full:.1f} s "
            f"| {med('full', 'rss_mb'):,.0f} / {med('full', 'worker_rss_mb'):,.0f} MB "
            f"| {med('rebuild', 'seconds'):.2f} s | {med('one-log', 'seconds'):.2f} s "
            f"| {base_cell} | {landed[0]} | {landed[1]} | {landed[2]} "
            f"| {mb(sizes['all.ics'])} |")


def log_run(name: str, index: int, repeat: int, result: dict[str, Any]) -> None:
    print(f"  run {index + 1}/{repeat} {name:<14} {result['seconds']:8.2f} s wall "
          f"{result['cpu']:8.2f} s CPU {result['rss_mb']:8,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
