"""Start-up time of a one-off `deadlines compute`, against `python -c "import click"`.

Prints the median wall time of N runs of each command, measured in the same run and
interleaved (run 1 of every command, then run 2 of every command, ...), so that a change in the
machine's load between the start and the end of the bench affects every row alike:

- `python -c pass` and `python -c "import click"` (the baseline the target is set against);
- `deadlines compute freshhawk-standard breach_notice 2026-03-02` (a calendar-day rule) and
  `deadlines compute bcr support_request 2026-04-17T23:00 --severity other` (business hours on
  the BR-SP calendar), with warm caches (holiday tables and the parsed rulebook, as on the
  second run of a command) and with cold ones (emptied before each run).

Target (issue 11): compute at most 1.5 x `import click`, cached bytecode, same run.

Bytecode. The machine may set PYTHONDONTWRITEBYTECODE=1, and then nothing ever writes
`__pycache__`: every run compiles every module it imports again, and a figure "with cached
bytecode" would be nothing of the kind. So, for the rows marked "cached bytecode", the bench
first runs each command once with PYTHONDONTWRITEBYTECODE unset (which writes the bytecode of
every module the command imports: the package, click, yaml, the standard library if its folder
is writable), then checks with a probe how many of the modules a command imports still have no
cached bytecode (printed in the header; it should be 0), then times the runs with bytecode
reading allowed and writing off (so no run writes anything the next one reads). The rows marked
"no cached bytecode" give every run an empty PYTHONPYCACHEPREFIX with PYTHONDONTWRITEBYTECODE=1:
every module, the standard library's included, is compiled each time (a container or a
read-only checkout without compiled files). Never compare a row of one kind with one of the
other.

`--landed DIR` also times the compute rows of another checkout (DIR/.venv/bin/python, with
the package installed from DIR; its caches in a folder of their own) in the same run.

    python bench/startup.py [--runs 21] [--landed ../main]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CALENDAR_DAYS = ["compute", "freshhawk-standard", "breach_notice", "2026-03-02"]
BUSINESS_HOURS = ["compute", "bcr", "support_request", "2026-04-17T23:00", "--severity",
                  "other"]

# Counts the modules a command imported whose cached bytecode is missing (stderr, last line).
PROBE = """\
import os, runpy, sys
sys.argv = ["deadlines", *sys.argv[1:]]
try:
    runpy.run_module("deadlines", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
missing = [n for n, m in list(sys.modules.items())
           if getattr(m, "__cached__", None) and not os.path.exists(m.__cached__)]
where = os.path.dirname(os.path.dirname(sys.modules["deadlines"].__file__))
print(len(missing), *sorted(missing)[:5], f"(deadlines from {where})", file=sys.stderr)
"""


@dataclass
class Row:
    name: str
    cmd: list[str]
    env: dict[str, str]
    cwd: str
    before: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)

    cpu: list[float] = field(default_factory=list)

    def run_once(self) -> None:
        if self.before is not None:
            self.before()
        start = time.perf_counter()
        child = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
        _, status, usage = os.wait4(child.pid, 0)
        self.times.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise subprocess.CalledProcessError(child.returncode, self.cmd)
        self.cpu.append(usage.ru_utime + usage.ru_stime)

    @property
    def ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000


def _emptier(folder: str) -> Callable[[], None]:
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def _missing_bytecode(py: str, args: list[str], env: dict[str, str], cwd: str) -> str:
    done = subprocess.run([py, "-c", PROBE, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, check=False)
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--landed", metavar="DIR", default=None,
                        help="another checkout with its own .venv, timed in the same run")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="deadlines-bench-")
    # Every command runs in an empty folder: `python -m deadlines` looks in the current folder
    # first, and a checkout's folder would shadow the package each venv has installed.
    cwd = os.path.join(work, "cwd")
    os.mkdir(cwd)
    base = {k: v for k, v in os.environ.items() if not k.startswith("DEADLINES_")}
    # reading allowed, writing off: the bytecode written by the warm-up is what every run reads
    cached = dict(base, PYTHONDONTWRITEBYTECODE="1")
    cached.pop("PYTHONPYCACHEPREFIX", None)
    writing = {k: v for k, v in cached.items() if k != "PYTHONDONTWRITEBYTECODE"}
    empty = os.path.join(work, "pycache-empty")
    recompiling = dict(cached, PYTHONPYCACHEPREFIX=empty)

    targets = [("", sys.executable)]
    if args.landed:
        landed = Path(args.landed).resolve() / ".venv" / "bin" / "python"
        if not landed.exists():
            parser.error(f"{landed} not found (the checkout needs its own .venv)")
        targets.append((" [landed]", str(landed)))

    py = sys.executable
    rows = [Row("python -c pass", [py, "-c", "pass"], cached, cwd),
            Row('python -c "import click"  (baseline)', [py, "-c", "import click"], cached,
                cwd)]
    probes: list[str] = []
    for tag, target in targets:
        caches = os.path.join(work, f"caches{len(probes)}")
        for label, cmd in (("calendar days", CALENDAR_DAYS), ("business hours", BUSINESS_HOURS)):
            full = [target, "-m", "deadlines", *cmd]
            warm = dict(cached, DEADLINES_CACHE_DIR=caches)
            for _ in range(2):  # writes the bytecode, then the caches with it in place
                subprocess.run(full, stdout=subprocess.DEVNULL, env=dict(
                    writing, DEADLINES_CACHE_DIR=caches), cwd=cwd, check=True)
            probes.append(f"{label}{tag}: {_missing_bytecode(target, cmd, warm, cwd)}")
            rows.append(Row(f"compute, {label}, warm caches{tag}", full, warm, cwd))
            cold_dir = os.path.join(work, f"cold{len(rows)}")
            rows.append(Row(f"compute, {label}, cold caches{tag}", full,
                            dict(cached, DEADLINES_CACHE_DIR=cold_dir), cwd,
                            _emptier(cold_dir)))
    rows.append(Row('python -c "import click", no cached bytecode', [py, "-c", "import click"],
                    recompiling, cwd, _emptier(empty)))
    rows.append(Row("compute, calendar days, warm caches, no cached bytecode",
                    [py, "-m", "deadlines", *CALENDAR_DAYS],
                    dict(recompiling, DEADLINES_CACHE_DIR=os.path.join(work, "caches0")), cwd,
                    _emptier(empty)))

    for _ in range(args.runs):  # round robin: drift in the machine's load hits every row
        for row in rows:
            row.run_once()
    shutil.rmtree(work, ignore_errors=True)

    print(f"median of {args.runs} interleaved runs each, {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}")
    print("bytecode: cached (written by a warm-up run, then read; writing off) unless the row "
          "says no cached bytecode (empty PYTHONPYCACHEPREFIX: everything compiled each run)")
    print("modules imported without cached bytecode (should be 0):")
    for probe in probes:
        print(f"  {probe}")
    print("wall: elapsed time; cpu: the command's user + system time (less sensitive to what "
          "else the machine runs); ratios to import click in the same bytecode state")
    click, click_cold = rows[1], rows[-2]
    print(f"  {'':<58} {'wall':>9} {'ratio':>6} {'cpu':>9} {'ratio':>6}")
    for row in rows:
        ref = click_cold if "no cached bytecode" in row.name else click
        print(f"  {row.name:<58} {row.ms:6.1f} ms {row.ms / ref.ms:5.2f}x "
              f"{row.cpu_ms:6.1f} ms {row.cpu_ms / ref.cpu_ms:5.2f}x")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        print(f"  note: load average {load:.1f} on {cores} cores: other work shared the machine, "
              "the wall times are the less reliable; compare the cpu column")
    for row in rows[2:]:
        if row.name.endswith("warm caches"):
            ratio, cpu_ratio = row.ms / click.ms, row.cpu_ms / click.cpu_ms
            print(f"  target: {row.name} <= 1.5 x import click: "
                  f"{'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f} x wall, "
                  f"{cpu_ratio:.2f} x cpu)")


if __name__ == "__main__":
    main()
