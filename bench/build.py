"""Throughput of `deadlines build` on a generated portfolio, against an icalendar-only floor.

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
   the default 3 triggers, i.e. ~478,000 deadlines for 10,000 contracts; ~4,200 contracts give
   ~200,000. Fewer triggers barely change that; later contract starts would.
2. Measures, with a fixed as-of (2026-06-01T12:00Z) and `deadlines.api.build` defaults, each
   phase in its own subprocess (so peak RSS, from resource.getrusage, is per phase), repeated
   --repeat times, median reported:
     full      build into a fresh output directory
     rebuild   build again into the same directory, nothing changed
     baseline  the same VEVENTs (those of all.ics: every distinct event, in the same order,
               with the same property values) built and serialised with plain icalendar calls
               only (Event(), Alarm(), .add(), to_ical(sorted=True)), two ways: "per event",
               each event serialised on its own, and "one Calendar", all of them added to one
               Calendar() serialised by one to_ical(). The values come from the package's
               tracking and feed entries and from the state file the full build left (untimed
               set-up); the per-event blocks are checked byte for byte against all.ics. This is
               the floor for a writer that builds one icalendar component per event: the build
               serialises each distinct VEVENT once and shares the block between the feeds that
               hold it (its contract's, all, ours or theirs).
   Times are wall-clock (and CPU) around the build call only, interpreter start-up and imports
   excluded. Deadlines/s = tracked deadlines / full build time; events/s = distinct VEVENTs /
   time, for the build and for the baseline alike.
3. With --profile, instead runs one full build under cProfile and prints the top functions by
   cumulative and by total time.

Run from the repository root with the venv active:

    python bench/build.py --contracts 500                  # quick check
    python bench/build.py --repeat 1                       # 10,000 contracts; takes many minutes
    python bench/build.py --contracts 1000 --profile       # cProfile of one full build
    python bench/build.py --contracts 500 --keep /tmp/b    # keep the logs and the feeds
"""

from __future__ import annotations

import argparse
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
    """User + system CPU time of this process: less sensitive than wall time to other load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase_build(events_dir: str, out_dir: str) -> dict[str, Any]:
    from deadlines.api import build, parse_as_of

    as_of = parse_as_of(AS_OF)
    cpu, start = cpu_seconds(), time.perf_counter()
    report = build(events_dir, out_dir, as_of=as_of)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return {"seconds": seconds, "cpu": cpu, "contracts": report.contracts,
            "deadlines": report.deadlines, "events_written": report.events_written,
            "written": len(report.written), "unchanged": len(report.unchanged),
            "rss_mb": peak_rss_mb()}


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


def baseline_values(events_dir: str, out_dir: str) -> list[Vevent]:
    """Untimed set-up: every VEVENT of all.ics, in its order, with the values the build used
    (the package's tracking and feed entries, and the stamps in the state file it left)."""
    from deadlines.api import parse_as_of
    from deadlines.eventlog import load_dir
    from deadlines.feeds import UID_DOMAIN, FeedOptions, entries
    from deadlines.state import FeedState
    from deadlines.tracking import track

    as_of = parse_as_of(AS_OF)
    options = FeedOptions()
    state = FeedState.load(Path(out_dir))  # the window depends on it (cancelled grace periods)
    items = [e for log in load_dir(events_dir)
             for e in entries(track(log, as_of, options.horizon_months), as_of, options, state)]
    items.sort(key=lambda e: e.sort)
    values = []
    for e in items:
        s = state.peek(e.uid)
        assert s is not None, f"{e.uid} is not in the state file; run the full build first"
        base = e.uid.split("@")[0]
        values.append(Vevent(
            e.uid, s.last_modified, s.created, s.sequence, e.summary, e.description, e.start,
            "CANCELLED" if e.cancelled else "CONFIRMED", list(e.categories),
            tuple((f"{base}-alarm-{i}@{UID_DOMAIN}", t, text)
                  for i, (t, text) in enumerate(e.alarms))))
    return values


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


def plain_calendar(values: list[Vevent]) -> bytes:
    """Variant "calendar": one Calendar holding every event, serialised in one to_ical()."""
    from icalendar import Calendar
    from icalendar.prop import vDuration

    from deadlines.feeds import LABELS, PRODID

    labels = LABELS["en"]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", labels["all.name"])
    cal.add("x-wr-calname", labels["all.name"])
    cal.add("description", labels["feed.description"])
    cal.add("x-wr-caldesc", labels["feed.description"])
    cal.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(timedelta(hours=6)))
    if values:
        cal.add("last-modified", max(v.stamp for v in values))
    for v in values:
        cal.add_component(plain_event(v))
    data: bytes = cal.to_ical(sorted=True)
    return data


def plain_blocks(values: list[Vevent]) -> list[bytes]:
    """Variant "per event": each event built and serialised on its own (how the writer now
    assembles feeds from shared blocks)."""
    return [plain_event(v).to_ical(sorted=True) for v in values]


VEVENT_RE = re.compile(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", re.DOTALL)


def phase_baseline(events_dir: str, out_dir: str) -> dict[str, Any]:
    values = baseline_values(events_dir, out_dir)
    setup_rss = peak_rss_mb()
    cpu, start = cpu_seconds(), time.perf_counter()
    blocks = plain_blocks(values)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    written = VEVENT_RE.findall((Path(out_dir) / "all.ics").read_bytes())
    different = sum(a != b for a, b in zip(blocks, written, strict=False))
    different += abs(len(blocks) - len(written))
    joined = b"".join(blocks)
    del blocks, written
    cal_cpu, cal_start = cpu_seconds(), time.perf_counter()
    data = plain_calendar(values)
    cal_seconds, cal_cpu = time.perf_counter() - cal_start, cpu_seconds() - cal_cpu
    return {"seconds": seconds, "cpu": cpu, "cal_seconds": cal_seconds, "cal_cpu": cal_cpu,
            "vevents": len(values), "different": different, "cal_same": joined in data,
            "setup_rss_mb": setup_rss, "rss_mb": peak_rss_mb()}


def phase_idle(events_dir: str, out_dir: str) -> dict[str, Any]:
    import icalendar  # noqa: F401

    import deadlines.api  # noqa: F401

    return {"seconds": 0.0, "rss_mb": peak_rss_mb()}


STAGES = (  # (label, path suffix, function) of the build's stages, for the profile summary
    ("read + check logs (load_dir)", "deadlines/eventlog.py", "load_dir"),
    ("  of which YAML parsing", "deadlines/yamlsource.py", "load_path"),
    ("track (all contracts)", "deadlines/tracking.py", "track"),
    ("  of which engine.compute", "deadlines/engine.py", "compute"),
    ("plan_feeds (window + entries)", "deadlines/build.py", "plan_feeds"),
    ("  of which entry_for", "deadlines/feeds.py", "entry_for"),
    ("render (all feeds)", "deadlines/feeds.py", "render"),
    ("  of which content_hash", "deadlines/feeds.py", "content_hash"),
    ("  of which FeedState.stamp", "deadlines/state.py", "stamp"),
    ("  of which event_component", "deadlines/feeds.py", "event_component"),
    ("  of which icalendar to_ical", "icalendar/cal/component.py", "to_ical"),
    ("compare with files on disk", "deadlines/build.py", "_same_bytes"),
    ("atomic_write (write + fsync)", "deadlines/state.py", "atomic_write"),
    ("state file to_json", "deadlines/state.py", "to_json"),
)


def phase_profile(events_dir: str, out_dir: str) -> dict[str, Any]:
    from deadlines.api import build, parse_as_of

    as_of = parse_as_of(AS_OF)
    profiler = cProfile.Profile()
    profiler.enable()
    report = build(events_dir, out_dir, as_of=as_of)
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


PHASES = {"full": phase_build, "rebuild": phase_build, "baseline": phase_baseline,
          "idle": phase_idle, "profile": phase_profile}


def run_phase(name: str, events_dir: Path, out_dir: Path, env: dict[str, str]
              ) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name,
           "--events-dir", str(events_dir), "--out-dir", str(out_dir)]
    done = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------------------------
# Report


def feed_sizes(out_dir: Path) -> dict[str, Any]:
    special = ("all", "ours", "theirs")
    sizes = {p.stem: p.stat().st_size for p in out_dir.glob("*.ics")}
    per_contract = sorted(v for k, v in sizes.items() if k not in special)
    all_ics = out_dir / "all.ics"
    return {
        **{f"{k}.ics": sizes.get(k, 0) for k in special},
        "contract_feeds": len(per_contract),
        "contract_total": sum(per_contract),
        "contract_median": statistics.median(per_contract) if per_contract else 0,
        "contract_max": per_contract[-1] if per_contract else 0,
        "total": sum(sizes.values()),
        "vevents_in_all": all_ics.read_bytes().count(b"BEGIN:VEVENT") if all_ics.exists() else 0,
    }


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--triggers", type=float, default=3.0,
                        help="mean trigger events per contract (default 3)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--profile", action="store_true",
                        help="profile one full build instead of measuring")
    parser.add_argument("--no-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--events-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # child process: one measured phase, one JSON line out
        print(json.dumps(PHASES[args.phase](args.events_dir, args.out_dir), default=str))
        return

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="deadlines-bench-"))
    events_dir, out_dir, cache_dir = root / "events", root / "feeds", root / "cache"
    os.environ["DEADLINES_CACHE_DIR"] = str(cache_dir)  # a private holiday cache, warmed below
    env = dict(os.environ)
    try:
        shutil.rmtree(events_dir, ignore_errors=True)
        started = time.perf_counter()
        generate(events_dir, args.contracts, args.seed, args.triggers)
        from deadlines.api import parse_as_of

        warm_holiday_cache(events_dir, parse_as_of(AS_OF))
        print(f"generated {args.contracts:,} logs in {events_dir} "
              f"({time.perf_counter() - started:.1f} s, seed {args.seed}, "
              f"{args.triggers:g} triggers/contract on average)", flush=True)
        if args.profile:
            shutil.rmtree(out_dir, ignore_errors=True)
            result = run_phase("profile", events_dir, out_dir, env)
            print(f"profiled one full build: {result['contracts']:,} contracts, "
                  f"{result['deadlines']:,} deadlines, {result['events_written']:,} VEVENTs")
            return
        measure(args, events_dir, out_dir, env)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def measure(args: argparse.Namespace, events_dir: Path, out_dir: Path, env: dict[str, str]
            ) -> None:
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "rebuild": [], "baseline": []}
    load_before = os.getloadavg()[0]
    idle = run_phase("idle", events_dir, out_dir, env)
    for i in range(args.repeat):
        shutil.rmtree(out_dir, ignore_errors=True)
        for name in ("full", "rebuild"):
            runs[name].append(run_phase(name, events_dir, out_dir, env))
            log_run(name, i, args.repeat, runs[name][-1])
    sizes = feed_sizes(out_dir)
    if not args.no_baseline:
        for i in range(args.repeat):
            runs["baseline"].append(run_phase("baseline", events_dir, out_dir, env))
            log_run("baseline", i, args.repeat, runs["baseline"][-1])

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[name]))

    full, rebuild = runs["full"][-1], runs["rebuild"][-1]
    t_full, t_rebuild = med("full", "seconds"), med("rebuild", "seconds")
    written, vevents = full["events_written"], sizes["vevents_in_all"]
    print()
    print(f"as-of {AS_OF}, median of {args.repeat} run(s) each, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"  contracts {full['contracts']:,}   tracked deadlines {full['deadlines']:,}   "
          f"VEVENTs {vevents:,} (all.ics; {written:,} in all feeds together)")
    print("  events/s = distinct VEVENTs (those of all.ics) per second: the build serialises "
          "each one once and shares the block between its feeds")
    c_full = med("full", "cpu")
    rows = [
        ("full build (fresh output dir)", t_full, c_full,
         f"{full['deadlines'] / t_full:,.0f} deadlines/s ({full['deadlines'] / c_full:,.0f} per "
         f"CPU s), {vevents / t_full:,.0f} events/s ({vevents / c_full:,.0f})",
         f"{med('full', 'rss_mb'):,.0f} MB"),
        ("no-change rebuild", t_rebuild, med("rebuild", "cpu"),
         f"{rebuild['written']} files rewritten, {rebuild['unchanged']:,} unchanged",
         f"{med('rebuild', 'rss_mb'):,.0f} MB"),
    ]
    if runs["baseline"]:
        base = runs["baseline"][-1]
        same = "same VEVENT bytes as all.ics" if base["different"] == 0 else \
            f"{base['different']:,} VEVENTs DIFFER from all.ics"
        for label, key in (("per event", ""), ("one Calendar", "cal_")):
            t_base, c_base = med("baseline", f"{key}seconds"), med("baseline", f"{key}cpu")
            n = base["vevents"]
            rows.append((f"icalendar only, {label}", t_base, c_base,
                         f"{n / t_base:,.0f} events/s ({n / c_base:,.0f} per CPU s); "
                         f"CPU {c_base / c_full:.0%} of the full build's", ""))
        rows[-1] = (*rows[-1][:4], f"{med('baseline', 'rss_mb'):,.0f} MB (set-up "
                                   f"{med('baseline', 'setup_rss_mb'):,.0f} MB)")
    print(f"  {'phase':<30} {'wall s':>8} {'CPU s':>8}  {'throughput':<76} peak RSS")
    for name, seconds, cpu, rate, rss in rows:
        print(f"  {name:<30} {seconds:8.2f} {cpu:8.2f}  {rate:<76} {rss}")
    print(f"  {'idle child (imports only)':<30} {'':8} {'':8}  {'':<76} {idle['rss_mb']:,.0f} MB")
    if runs["baseline"]:
        print(f"  baseline check: {same}" + ("" if base["cal_same"] else
                                              "; the one-Calendar output does NOT contain them"))
    print(f"  feeds: all.ics {mb(sizes['all.ics'])}, ours.ics {mb(sizes['ours.ics'])}, "
          f"theirs.ics {mb(sizes['theirs.ics'])}; {sizes['contract_feeds']:,} contract feeds "
          f"{mb(sizes['contract_total'])} (median {sizes['contract_median'] / 1e3:,.1f} kB, "
          f"max {sizes['contract_max'] / 1e3:,.1f} kB); total {mb(sizes['total'])}")
    for name in runs:
        if len(runs[name]) > 1:
            print(f"  {name} runs (wall s): " + ", ".join(f"{r['seconds']:.2f}"
                                                        for r in runs[name]))


def log_run(name: str, index: int, repeat: int, result: dict[str, Any]) -> None:
    print(f"  run {index + 1}/{repeat} {name:<8} {result['seconds']:8.2f} s wall "
          f"{result['cpu']:8.2f} s CPU {result['rss_mb']:8,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
