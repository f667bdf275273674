"""Start-up time of a one-off `deadlines compute` for a calendar-day rule.

Prints the median wall time of N runs of each command, measured in the same run so that the
figures compare: a bare interpreter, `python -c "import click"` (the baseline the target is
set against), and `deadlines compute freshhawk-standard breach_notice 2026-03-02` with a warm
and with a cold holiday cache. Target (issue 11): compute at most 1.5 x `import click`.

Bytecode: the rows marked "cached bytecode" run with the package's and the libraries'
`__pycache__` as they are after a first run (what an installed tool sees); the row marked
"no cached bytecode" gives every run an empty PYTHONPYCACHEPREFIX with PYTHONDONTWRITEBYTECODE=1,
so every module is compiled again each time (what a read-only checkout or a container without
compiled files sees). Both are printed, so that nobody compares one with the other.

    python bench/startup.py [--runs 21]
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


def median_ms(cmd: list[str], runs: int, env: dict[str, str], before: object = None) -> float:
    times = []
    for _ in range(runs):
        if callable(before):
            before()
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="deadlines-bench-")
    env = dict(os.environ, DEADLINES_CACHE_DIR=cache)
    py = sys.executable
    compute = [py, "-m", "deadlines", "compute", "freshhawk-standard", "breach_notice",
               "2026-03-02"]
    rows = [
        ("python -c pass", median_ms([py, "-c", "pass"], args.runs, env)),
        ('python -c "import click"  (baseline)', median_ms([py, "-c", "import click"],
                                                           args.runs, env)),
    ]
    subprocess.run(compute, stdout=subprocess.DEVNULL, env=env, check=True)  # warm the cache
    rows.append(("deadlines compute (warm holiday cache)", median_ms(compute, args.runs, env)))
    rows.append(("deadlines compute (cold holiday cache)",
                 median_ms(compute, args.runs, env,
                           before=lambda: shutil.rmtree(cache, ignore_errors=True))))
    subprocess.run(compute, stdout=subprocess.DEVNULL, env=env, check=True)  # warm again
    empty = tempfile.mkdtemp(prefix="deadlines-pycache-")
    recompiling = dict(env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)
    rows.append(('python -c "import click", no cached bytecode',
                 median_ms([py, "-c", "import click"], args.runs, recompiling)))
    rows.append(("deadlines compute, no cached bytecode", median_ms(compute, args.runs,
                                                                    recompiling)))
    shutil.rmtree(empty, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    print(f"median of {args.runs} runs each, {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}; cached bytecode unless said otherwise; load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, ms in rows:
        print(f"  {name:<48} {ms:7.1f} ms")
    warm, click = rows[2][1], rows[1][1]
    print(f"  target: compute <= 1.5 x import click ({1.5 * click:.0f} ms) -> "
          f"{'met' if warm <= 1.5 * click else 'NOT met'} ({warm / click:.2f} x)")


if __name__ == "__main__":
    main()
