#!/usr/bin/env python3
"""Fuzz the event-log and rulebook loaders through the command line, in process.

Every input is a set of files: an event log (run as `deadlines build DIR --out OUT --as-of
2026-06-01`, OUT pre-built by a good build), a rulebook (run as `deadlines compute PATH.yaml
EVENT 2026-03-02`), or a log whose agreement is a rulebook file beside it (both at once). The
inputs come from two engines:

- mutation: a seeded `random.Random` takes a valid seed (the example log, one log per agreement
  written below, the six shipped rulebooks) and applies one to three mutations: truncation,
  wrong types, unknown keys, impossible dates, zoneless and unknown zones, duplicate ids,
  dangling, forward and cyclic refs, anchors, aliases, merge keys and billion laughs, deep
  nesting, files over 5 MB, non-UTF-8 bytes, BOMs, NUL bytes, very long strings, YAML tags,
  empty files, lists where mappings go, ...
- hypothesis: strategies that edit the seeds' parsed data with generated values, generate
  whole event logs (dates, gap and fold times, ids and refs drawn from a small pool so that
  duplicates, dangling and forward refs are common), and raw bytes/text.

For each input the oracle asks: exit code 0 or 2, never anything else nor an exception; no
"Traceback" anywhere; on exit 2 exactly one line on stderr that starts with `deadlines: error: `,
names one of the input files, and gives a line number after it whenever that file parses as
YAML; on exit 2 the OUT directory is byte-identical to before; on exit 0 every feed written is a
whole calendar that icalendar reads and every stderr line is a `deadlines: warning: `.

    scripts/fuzz.py --count 10000 --seed 1 [--save failures/] [--hypothesis-share 0.3]

prints the counts (inputs, exit 0, exit 2, failures by kind, time). tests/test_fuzz.py runs a
few hundred seeded inputs of the same machinery in the normal suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without an install
    sys.path.insert(0, str(REPO))

from deadlines import rulebook as rulebook_module  # noqa: E402
from deadlines.cli import cli  # noqa: E402
from deadlines.yamlsource import MAX_BYTES, load_text  # noqa: E402

AS_OF = "2026-06-01"
WHEN = "2026-03-02"
ERROR_PREFIX = "deadlines: error: "
WARNING_PREFIX = "deadlines: warning: "
RULEBOOK_DIR = REPO / "deadlines" / "rulebooks"
EXAMPLE_LOG = REPO / "events" / "acme-freshhawk.yaml"

# ---------------------------------------------------------------------------------------------
# Seeds: the shipped example (freshhawk-enterprise) and one valid log for every other agreement,
# each using triggers, fulfilments with and without ref, `done`, `withdrawn`, severities,
# date-times with and without offsets, contract overrides (zone, calendar, region, roll).

WRITTEN_LOGS: dict[str, str] = {
    "beta-openmethods.yaml": """\
contract:
  id: beta-openmethods
  agreement: openmethods
  start: 2026-02-01
  role: provider
  name: Beta - OpenMethods
  reminders: [2w, 3d, 12h]
events:
  - id: breach-1
    type: breach_notice
    at: 2026-03-02
    note: Late delivery of the SOW
  - type: breach_cured
    at: 2026-03-25
    ref: breach-1
  - id: inc-1
    type: incident_identified
    at: 2026-05-20T09:15-07:00
  - type: incident_notified
    at: 2026-05-20T15:00
  - id: pdb-1
    type: personal_data_breach
    at: 2026-05-21T08:00
  - type: breach_notified
    at: 2026-05-22T08:00
    ref: pdb-1
  - id: sub-1
    type: subprocessor_planned
    at: 2026-08-01
  - id: audit-1
    type: audit_planned
    at: 2026-09-15
  - type: done
    rule: firewall-review
    at: 2026-04-30
  - id: del-1
    type: deletion_request
    at: 2026-05-10
  - type: data_deleted
    at: 2026-05-30
    ref: del-1
  - id: mistake
    type: eol_planned
    at: 2026-12-31
  - type: withdrawn
    ref: mistake
    at: 2026-05-02
""",
    "gamma-bcr.yaml": """\
contract:
  id: gamma-bcr
  agreement: bcr
  start: 2025-11-03
  timezone: America/Sao_Paulo
  calendar: {country: BR, subdiv: SP, categories: [public], extra: [2026-04-20], removed: [],
             weekend: [sat, sun]}
  role: customer
  name: "Gamma - BCR: support & hosting"
  roll: following
events:
  - id: t-crit
    type: support_request
    at: 2026-05-29T23:30
    severity: p1
  - type: support_responded
    at: 2026-05-30T01:00
    ref: t-crit
  - id: t-other
    type: support_request
    at: 2026-05-30T10:00
    severity: other
  - id: maint-1
    type: maintenance_planned
    at: 2026-06-20T22:00
  - type: maintenance_notice_given
    at: 2026-06-01
    ref: maint-1
  - id: inc-1
    type: incident_identified
    at: 2026-02-14T03:00
  - type: incident_report_sent
    at: 2026-02-20
    ref: inc-1
  - id: end-1
    type: services_ended
    at: 2026-04-30
  - type: deletion_certified
    at: 2026-06-15
    ref: end-1
""",
    "delta-aircall.yaml": """\
contract:
  id: delta-aircall
  agreement: aircall
  region: au
  start: 2026-01-01
  role: customer
  name: Delta - Aircall (AU)
  reminders: []
events:
  - id: b-1
    type: breach_notice
    at: 2026-04-03
  - id: tkt-1
    type: support_request
    at: 2026-05-31T07:45+10:00
    severity: major
  - type: support_responded
    at: 2026-05-31T09:00+10:00
    ref: tkt-1
  - id: del-1
    type: deletion_request
    at: 2026-05-01
  - type: deletion_certified
    at: 2026-07-01
    ref: del-1
  - type: done
    rule: firewall-review
    at: 2026-03-31
  - type: withdrawn
    ref: b-1
    at: 2026-04-05
""",
    "epsilon-zuper.yaml": """\
contract:
  id: epsilon-zuper
  agreement: zuper
  start: 2026-01-12
  timezone: America/New_York
  calendar: US-NY
  role: provider
  name: Epsilon - Zuper
events:
  - id: dsr-1
    type: data_subject_request
    at: 2026-05-04
  - type: dsr_answered
    at: 2026-05-20
    ref: dsr-1
  - id: pdb-1
    type: personal_data_breach
    at: 2026-03-08T02:30
    note: Found during the night the clocks go forward
  - id: tk-1
    type: support_request
    at: 2026-05-15T16:00
    severity: critical
  - id: eol-1
    type: eol_planned
    at: 2027-01-31
  - type: eol_notice_given
    at: 2026-05-01
    ref: eol-1
  - type: done
    rule: pen-test
    at: 2026-04-01
""",
    "zeta-freshhawk.yaml": """\
contract:
  id: zeta-freshhawk
  agreement: freshhawk-standard
  start: 2025-07-01
  role: customer
  name: Zeta - FreshHawk Standard
  reminders: [1w]
events:
  - id: inc-1
    type: incident_identified
    at: 2026-04-05T02:30
    note: During the Melbourne fall-back hour
  - type: incident_notified
    at: 2026-04-06T01:00+10:00
    ref: inc-1
  - id: maint-1
    type: maintenance_planned
    at: 2026-07-04T23:00
  - id: eol-1
    type: eol_planned
    at: 2026-12-01
  - id: end
    type: services_ended
    at: 2026-05-31
  - type: data_deleted
    at: 2026-06-10
    ref: end
""",
}


def seed_logs() -> dict[str, str]:
    logs = {EXAMPLE_LOG.name: EXAMPLE_LOG.read_text(encoding="utf-8")}
    logs.update(WRITTEN_LOGS)
    return logs


def seed_rulebooks() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(RULEBOOK_DIR.glob("*.yaml"))}


# Trigger events to `compute` with, when the seed rulebook declares them (none needs --severity).
COMPUTE_EVENTS = ("breach_notice", "incident_identified", "deletion_request", "eol_planned",
                  "maintenance_planned", "contract_start", "services_ended")

# ---------------------------------------------------------------------------------------------
# Cases and the oracle.


@dataclass
class Case:
    """One input: files (paths relative to the case directory) and what to run on them.

    kind "log": every events/*.yaml goes through `deadlines build`; kind "rulebook":
    books/rb.yaml goes through `deadlines compute`; kind "both": a log in events/ whose
    agreement is ../books/rb.yaml, through `deadlines build`.
    """

    kind: str
    files: dict[str, bytes]
    how: str
    event: str = "breach_notice"


@dataclass
class Outcome:
    code: int | None
    failures: list[str]
    stderr: str
    argv: list[str]
    seconds: float
    argument_error: bool = False


class FuzzTimeout(BaseException):
    """Not an Exception: neither click's error handler nor CliRunner catches it."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise FuzzTimeout


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def parses_as_yaml(data: bytes) -> bool:
    """Whether a plain YAML parser reads the file into a document (tags, aliases allowed)."""
    if len(data) > MAX_BYTES:
        return False
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.compose(text, Loader=loader_cls) is not None
    except (yaml.YAMLError, RecursionError, ValueError):
        return False


# Errors about the command's own EVENT argument against a (valid) rulebook: they need not name
# the rulebook file.
ARGUMENT_ERRORS = (re.compile(r"^unknown event '"), re.compile(r" needs a severity for "),
                   re.compile(r" names no business calendar; pass --calendar"))


class Harness:
    """Runs cases through the CLI in process and judges them."""

    def __init__(self, workdir: Path, timeout: int = 60) -> None:
        self.workdir = workdir
        self.timeout = timeout
        self.runner = CliRunner()
        self.template = workdir / "template-out"
        self._n = 0
        events = workdir / "template-events"
        events.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE_LOG, events / EXAMPLE_LOG.name)
        result = self.runner.invoke(cli, ["build", str(events), "--out", str(self.template),
                                          "--as-of", AS_OF])
        if result.exit_code != 0:  # pragma: no cover - the example must build
            raise RuntimeError(f"the example log does not build: {result.output}")

    def run(self, case: Case) -> Outcome:
        self._n += 1
        root = self.workdir / f"case-{self._n}"
        root.mkdir()
        try:
            return self._run_in(root, case)
        finally:
            shutil.rmtree(root, ignore_errors=True)
            # Mutated rulebooks are loaded by path: keep the loader's cache from growing.
            if case.kind != "log":
                _clear_rulebook_cache()

    def _run_in(self, root: Path, case: Case) -> Outcome:
        (root / "events").mkdir()
        paths: dict[str, bytes] = {}
        for name, data in case.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            paths[str(path)] = data
            # a log names its rulebook as ../books/rb.yaml, joined to the log's directory
            paths[str(root / "events" / os.path.relpath(path, root / "events"))] = data
        out = root / "out"
        shutil.copytree(self.template, out)
        before = snapshot(out)
        if case.kind == "rulebook":
            argv = ["compute", str(root / "books" / "rb.yaml"), case.event, WHEN]
        else:
            argv = ["build", str(root / "events"), "--out", str(out), "--as-of", AS_OF]
        started = time.perf_counter()
        use_alarm = self.timeout > 0 and hasattr(signal, "SIGALRM")
        if use_alarm:
            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(self.timeout)
        try:
            result = self.runner.invoke(cli, argv)
        except FuzzTimeout:
            return Outcome(None, ["timeout"], "", argv, time.perf_counter() - started)
        finally:
            if use_alarm:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
        seconds = time.perf_counter() - started
        failures: list[str] = []
        code = result.exit_code
        stderr = result.stderr
        stdout = result.stdout
        exc = result.exception
        if exc is not None and not isinstance(exc, SystemExit):
            failures.append(f"exception {type(exc).__name__}")
        if code not in (0, 2):
            failures.append(f"exit {code}")
        if "Traceback" in stderr or "Traceback" in stdout:
            failures.append("traceback")
        argument_error = False
        if code == 2:
            lines = stderr.splitlines()
            if len(lines) != 1:
                failures.append("stderr not one line")
            first = lines[0] if lines else ""
            if not first.startswith(ERROR_PREFIX):
                failures.append("no 'deadlines: error: ' prefix")
            message = first.removeprefix(ERROR_PREFIX)
            # the file the message is about: the one it starts with, else one it mentions
            named = [p for p in sorted(paths, key=len, reverse=True) if message.startswith(p)] \
                or [p for p in sorted(paths, key=len, reverse=True)
                    if f" {p}:" in message or f" {p} " in message]
            if not named:
                if case.kind == "rulebook" and any(r.search(message) for r in ARGUMENT_ERRORS):
                    argument_error = True
                else:
                    failures.append("file not named")
            else:
                path = named[0]
                after = message[message.index(path) + len(path):]
                if parses_as_yaml(paths[path]) and not re.match(r":\d+\b", after):
                    failures.append("no line number")
            if snapshot(out) != before:
                failures.append("out dir changed")
        elif code == 0:
            for line in stderr.splitlines():
                if not line.startswith(WARNING_PREFIX):
                    failures.append("stderr noise on success")
                    break
            if case.kind != "rulebook":
                failures += _check_feeds(out)
        return Outcome(code, failures, stderr, argv, seconds, argument_error)


def _clear_rulebook_cache() -> None:
    for name in ("_load_version", "_load_file"):
        cached = getattr(rulebook_module, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


def _check_feeds(out: Path) -> list[str]:
    from icalendar import Calendar

    for path in sorted(out.glob("*.ics")):
        data = path.read_bytes()
        if not data.startswith(b"BEGIN:VCALENDAR\r\n") or not data.endswith(b"END:VCALENDAR\r\n"):
            return ["feed not a whole calendar"]
        if len(data) > 3_000_000:
            continue
        try:
            Calendar.from_ical(data)
        except Exception:
            return ["feed does not parse"]
    return []


# ---------------------------------------------------------------------------------------------
# Nasty values, shared by both engines.

BAD_DATES = ["2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "0000-01-01",
             "0001-01-01", "9999-12-31", "10000-01-01", "1899-12-31", "2200-01-01",
             "1900-02-29", "2100-02-29", "2000-02-29", "26-03-02", "2026-3-2", "2026/03/02",
             "02/03/2026", "2026-03-02T25:00", "2026-03-02T24:00", "2026-03-02T10:60",
             "2026-W10-1", "2026-061", "20260302", "2026-03-02T10:00:00.123456789",
             "2026-03-02 10:00", "2026-03-02T10:00Z", "2026-03-02T10:00+14:00",
             "2026-03-02T10:00-12:00", "2026-03-02T10:00+24:00", "2026-03-02T10:00+99:99",
             "0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00", "0001-01-01T00:30",
             "2026-03-29T02:30", "2026-10-25T02:30", "2026-03-08T02:30", "2026-11-01T01:30",
             "2026-04-05T02:30", "2026-10-04T02:30", "2026-03-02T10:00 Europe/Paris",
             "2026-03-02T10:00[Europe/Paris]", "yesterday", "now", "", " ", "T", "-"]
BAD_ZONES = ["Mars/Olympus", "Europe/Pariss", "europe/paris", "UTC", "Etc/GMT+14", "EST5EDT",
             "../../etc/passwd", "/etc/localtime", ".", "Europe/../Europe/Paris", "Factory",
             "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/Sao_Paulo",
             "Europe/Paris\x00", "", "Z", "+01:00", "Europe/Paris/x"]
BAD_CALENDARS: list[Any] = ["QQ", "FR", "AU-VIC", "AU-XX", "US-ZZ", "fr", "F", "FRA", "FR-",
                            "XX", 5, {"country": "FR", "extra": 5}, {"country": "FR",
                            "weekend": 5}, {"country": "FR", "weekend": ["sat", "dim"]},
                            {"country": "FR", "categories": ["nope"]}, {"country": "QQ"},
                            {"country": "BR", "subdiv": "SP", "extra": ["2026-02-30"]},
                            {"subdiv": "SP"}, {"country": "FR", "colour": "red"},
                            {"country": ["FR"]}, {"country": "FR", "categories": "public"},
                            {"country": "FR", "removed": {"a": 1}}, {"country": None},
                            {"country": "FR", "weekend": []},
                            {"country": "FR", "weekend": [0, 1, 2, 3, 4, 5, 6]},
                            {"country": "FR", "weekend": ["mon", "tue", "wed", "thu", "fri",
                                                          "sat", "sun"]},
                            {"country": "FR", "extra": [None]}, [], ["FR"]]
NASTY_STRINGS = ["", " ", "~", "null", "yes", "no", "on", "0x1F", "0o17", "1_000", "+1", "-1",
                 ".inf", ".nan", "1e400", "12:30:00", "3 fortnights", "-1 days", "1.5 days",
                 "999999 days", "0 days", "30 Days", "30  business  days", "30 business_days",
                 "a\nb", "a\rb", "tab\there", "nul\x00byte", "\u2028line sep", "\ufeffbom",
                 "emoji 😀🎉", "ünïcödé", "'quote", '"dq', "back\\slash", "END:VCALENDAR",
                 "a,b;c:d", "<script>", "%s%n", "{x}", "${HOME}", "\x1b[31mred",
                 "x" * 1000, "word" * 5000, "ζ" * 3000, "../../etc/passwd", "/dev/null",
                 "CON", "aux.yaml", "rb.yaml", "../books/rb.yaml", "freshhawk-standard",
                 "Freshhawk-Standard", "zuper", "customer", "provider", "either", "breach_notice",
                 "done", "withdrawn", "cure", "firewall-review", "p1", "critical"]


def nasty_scalar(rng: random.Random) -> Any:
    choice = rng.randrange(12)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.choice([0, 1, -1, 2**31, 2**63, 10**30, -(10**30), 7])
    if choice == 2:
        return rng.choice([0.5, -0.0, 1e300, float("inf"), float("-inf"), float("nan")])
    if choice == 3:
        return rng.choice(BAD_DATES)
    if choice == 4:
        return rng.choice(BAD_ZONES)
    if choice == 5:
        return rng.choice([b"\x00\xff", b"bytes", b""])
    if choice == 6:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(1, 40)))
    return rng.choice(NASTY_STRINGS)


def nasty_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.12:
        return [nasty_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if depth < 3 and roll < 0.22:
        return {rng.choice(["a", "id", "type", "at", 1, "x" * 50]): nasty_value(rng, depth + 1)
                for _ in range(rng.randrange(0, 4))}
    if roll < 0.28:
        return rng.choice(BAD_CALENDARS)
    return nasty_scalar(rng)


def dump(data: Any) -> bytes:
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text.encode("utf-8", errors="surrogatepass")


def load_seed(text: str) -> Any:
    return load_text(text, "seed").data


def load_seed_books(books: dict[str, str]) -> dict[str, Any]:
    """Each seed rulebook's data with what it `extend:`s laid under it (its own events, rules
    and all), so that a mutation starts from the whole rulebook."""
    from deadlines.extend import resolve

    return {name: resolve(load_text(text, str(RULEBOOK_DIR / name)))[0].data
            for name, text in books.items()}


def all_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out += all_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.append((*prefix, index))
            out += all_paths(value, (*prefix, index))
    return out


def container_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [p for p in [prefix, *all_paths(data, prefix)] if isinstance(get(data, p), dict)]


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def delete_at(data: Any, path: tuple[Any, ...]) -> None:
    del get(data, path[:-1])[path[-1]]


# ---------------------------------------------------------------------------------------------
# The mutation engine (random.Random).

TEXT_NASTIES = [b"\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\x80", b"\xc3\x28",
                b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\t", b"\r", b"\r\n", b"\x1b", b"\x7f",
                b"\x85", b"\xc2\x85",
                b"\xe2\x80\xa8", b"&a ", b"*a", b"<<: ", b"!!python/object:os.system ", b"? ",
                b"- ", b": ", b"{", b"[", b"]", b"}", b"'", b'"', b"|", b">", b"%YAML 1.1\n",
                b"---\n", b"...\n", b"#", b"!", b"@", b"`"]

VALUE_TOKENS = [*BAD_DATES, *BAD_ZONES, "~", "null", "true", "no", "0", "-1", "1e400", ".nan",
                "99999999999999999999999", "[]", "{}", "[a, b]", "{a: 1}", "[[[[]]]]", "''", '""',
                '"\\0"', '"\\x00nul"', '"a\\nEND:VEVENT\\nb"', '"\\u2028"', '"\\ud800"',
                "!!python/object:os.system ''", "!!python/object/apply:os.system ['true']",
                "!!binary aGVsbG8=", "!!timestamp 2026-03-02", "!!int x", "!!float x",
                "!!str 5", "!!set {a}", "!!omap [a: 1]", "!!map {a: 1}", "!!seq [1]",
                "!custom x", "!<tag:example.com,2000:x> y", "&anchor x", "*anchor", "&a [1, *a]",
                "|\n  block\n  text", ">-\n  folded", "'unterminated", '"unterminated',
                "x" * 300, "😀" * 50, "a: b: c", "- a", "? a", "%", "@x", "`x", "3 fortnights",
                "999999 months", "10001 business days", "5 months", "0 days", "1 minute",
                "12 business hours", "-3 days", "30", "30.5 days", "sun 22:00", "24:00", "25:00",
                "mon", "dim", "following", "preceding", "sideways", "recurring", "before",
                "calendar", "right", "limit", "either", "nobody"]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def m_truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(0, len(data) + 1)
    return data[:cut], f"truncate at {cut}"


def m_delete_line(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"".join(lines[:i] + lines[i + 1:]), f"delete line {i + 1}"


def m_duplicate_line(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"".join([*lines[:i + 1], lines[i], *lines[i + 1:]]), f"duplicate line {i + 1}"


def m_swap_lines(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines), f"swap lines {i + 1} and {j + 1}"


def m_reindent(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines[i] = (b"  " + lines[i]) if rng.random() < 0.5 else lines[i].lstrip(b" ")
    return b"".join(lines), f"reindent line {i + 1}"


def m_insert_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    token = rng.choice(TEXT_NASTIES) if rng.random() < 0.8 else bytes(
        rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + token + data[pos:], f"insert {token!r} at {pos}"


def m_flip_byte(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return b"\xff", "flip on empty"
    pos = rng.randrange(len(data))
    return data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1:], \
        f"flip bit at {pos}"


def m_replace_value(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[\w-]+:\s*\S", line)]
    if not candidates:
        return m_insert_bytes(rng, data)
    i = rng.choice(candidates)
    token = rng.choice(VALUE_TOKENS)
    match = re.match(rb"^(\s*(?:- )?[\w-]+:)", lines[i])
    assert match is not None
    indent = len(match.group(1)) - len(match.group(1).lstrip())
    encoded = token.encode("utf-8", errors="surrogatepass")
    if b"\n" in encoded:  # a block scalar: indent its lines under the key
        encoded = encoded.replace(b"\n", b"\n" + b" " * (indent + 2))
    lines[i] = match.group(1) + b" " + encoded + b"\n"
    return b"".join(lines), f"line {i + 1} value -> {token[:40]!r}"


def m_unknown_key(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*[\w-]+:", line)]
    if not candidates:
        return m_insert_bytes(rng, data)
    i = rng.choice(candidates)
    indent = len(lines[i]) - len(lines[i].lstrip(b" "))
    key = rng.choice([b"colour", b"Id", b"type ", b"at_", b"1", b"~", b"true", b"''", b"<<",
                      b"\"id\"", b"? complex"])
    lines.insert(i, b" " * indent + key + b": red\n")
    return b"".join(lines), f"unknown key {key!r} before line {i + 1}"


def m_anchor_alias(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[\w-]+: \S", line)]
    if len(candidates) < 2:
        return m_insert_bytes(rng, data)
    i, j = sorted(rng.sample(candidates, 2))
    lines[i] = re.sub(rb": ", b": &x ", lines[i], count=1)
    if rng.random() < 0.5:
        lines[j] = re.sub(rb": .*", b": *x", lines[j], count=1)
        how = "alias"
    else:
        indent = len(lines[j]) - len(lines[j].lstrip(b" -"))
        lines.insert(j, b" " * indent + b"<<: *x\n")
        how = "merge key"
    return b"".join(lines), f"anchor on line {i + 1}, {how} at {j + 1}"


def m_tag(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[\w-]+: \S", line)]
    if not candidates:
        return m_insert_bytes(rng, data)
    i = rng.choice(candidates)
    tag = rng.choice([b"!!python/object:os.system", b"!!python/name:os.system",
                      b"!!python/object/apply:os.system", b"!!python/tuple", b"!!binary",
                      b"!!timestamp", b"!!int", b"!!float", b"!!bool", b"!!null", b"!!str",
                      b"!!set", b"!!omap", b"!!pairs", b"!local", b"!!merge", b"!!value"])
    lines[i] = re.sub(rb": ", b": " + tag + b" ", lines[i], count=1)
    return b"".join(lines), f"tag {tag!r} on line {i + 1}"


def m_deep(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    depth = rng.choice([19, 20, 21, 22, 50, 1000, 5000])
    style = rng.randrange(3)
    if style == 0:
        nest = b"[" * depth + b"x" + b"]" * depth
    elif style == 1:
        nest = b"{a: " * depth + b"x" + b"}" * depth
    else:
        nest = b"".join(b"\n" + b"  " * (k + 1) + b"a:" for k in range(min(depth, 200))) + b" x"
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[\w-]+: \S", line)]
    if not candidates:
        return nest + b"\n", f"nesting {depth} as the document"
    i = rng.choice(candidates)
    lines[i] = re.sub(rb": .*", lambda _m: b": " + nest, lines[i].rstrip(b"\n"), count=1) + b"\n"
    return b"".join(lines), f"nesting {depth} (style {style}) on line {i + 1}"


def billion_laughs(levels: int = 9) -> bytes:
    out = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels):
        prev = chr(ord("a") + k - 1).encode()
        name = chr(ord("a") + k).encode()
        out.append(name + b": &" + name + b" [" + b",".join([b"*" + prev] * 9) + b"]")
    return b"\n".join(out) + b"\n"


def m_billion_laughs(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    bomb = billion_laughs(rng.choice([2, 9]))
    if rng.random() < 0.5:
        return bomb, "billion laughs document"
    return data + b"\n" + bomb.replace(b"a: &a", b"zz: &a"), "billion laughs appended"


def m_huge(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    style = rng.randrange(4)
    if style == 0:
        return data + b"# " + b"x" * (MAX_BYTES + 10) + b"\n", "over 5 MB (comment)"
    if style == 1:
        return data + b"\n" * (MAX_BYTES - len(data) + 1), "over 5 MB (newlines)"
    if style == 2:  # under the limit but a very long value
        return data.replace(b"name: ", b"name: " + b"N" * 400_000, 1), "400 kB value"
    return data + b"# " + b"y" * (MAX_BYTES - len(data) - 3) + b"\n", "exactly 5 MB"


EMPTY_DOCS = [b"", b"\n", b"   \n", b"---\n", b"...\n", b"--- \n...\n", b"# only a comment\n",
              b"\xef\xbb\xbf", b"~\n", b"null\n", b"[]\n", b"{}\n", b"''\n", b"0\n", b"- a\n",
              b"just text\n", b"\x00", b"\xff\xfe", b"\xfe\xff\x00a", b"---\na: 1\n---\nb: 2\n",
              b"%YAML 1.2\n---\na: 1\n", b"%TAG ! tag:x,2000:\n---\n!y a\n", b"!!binary x\n",
              b"&a [*a]\n", b"contract:\n", b"events:\n", b"contract: []\nevents: {}\n",
              b"contract: x\n", b"rules: []\n", b"id: x\nrules: [1]\n"]


def m_empty(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    doc = rng.choice(EMPTY_DOCS)
    return doc, f"whole file {doc[:30]!r}"


def m_bom(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    bom = rng.choice([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff",
                      b"\x00\x00\xfe\xff"])
    if bom == b"\xff\xfe" and rng.random() < 0.5:
        return bom + data.decode("utf-8", "replace").encode("utf-16-le"), "UTF-16 LE file"
    return bom + data, f"BOM {bom!r}"


def m_crlf(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    sep = rng.choice([b"\r\n", b"\r", b"\n\n", b"\x85", b"\xe2\x80\xa8"])
    return data.replace(b"\n", sep), f"line ends {sep!r}"


TEXT_MUTATIONS: list[Callable[[random.Random, bytes], tuple[bytes, str]]] = [
    m_truncate, m_delete_line, m_duplicate_line, m_swap_lines, m_reindent, m_insert_bytes,
    m_flip_byte, m_replace_value, m_replace_value, m_replace_value, m_unknown_key, m_anchor_alias,
    m_tag, m_deep, m_billion_laughs, m_huge, m_empty, m_bom, m_crlf,
]


# Data-level mutations of a parsed event log.

def d_set_random(rng: random.Random, doc: Any) -> str:
    paths = all_paths(doc)
    if not paths:
        return "no path"
    path = rng.choice(paths)
    value = nasty_value(rng)
    set_at(doc, path, value)
    return f"set {path} = {str(value)[:40]!r}"


def d_delete_random(rng: random.Random, doc: Any) -> str:
    paths = all_paths(doc)
    if not paths:
        return "no path"
    path = rng.choice(paths)
    delete_at(doc, path)
    return f"delete {path}"


def d_unknown_key(rng: random.Random, doc: Any) -> str:
    paths = container_paths(doc)
    if not paths:
        return "no mapping"
    path = rng.choice(paths)
    key = rng.choice(["colour", "ID", "Type", "At", 5, None, True, 1.5, "", " id"])
    get(doc, path)[key] = nasty_value(rng)
    return f"unknown key {key!r} in {path}"


def d_wrong_type_everywhere(rng: random.Random, doc: Any) -> str:
    """One field, every wrong type: picks a type and puts it at a field of every event."""
    value = rng.choice([None, 0, 1.5, True, [], {}, ["x"], {"x": 1}, "", "x" * 5000])
    field_name = rng.choice(["id", "type", "at", "ref", "note", "severity", "rule"])
    for event in _events(doc):
        if isinstance(event, dict):
            event[field_name] = value
    return f"every events[].{field_name} = {str(value)[:20]!r}"


def d_contract_field(rng: random.Random, doc: Any) -> str:
    if not isinstance(doc, dict) or not isinstance(doc.get("contract"), dict):
        return d_set_random(rng, doc)
    key = rng.choice(["id", "agreement", "start", "timezone", "calendar", "role", "name",
                      "region", "roll", "reminders"])
    options: dict[str, list[Any]] = {
        "id": ["ACME", "a b", "-x", "x" * 101, "ok.id", 5, "", "acme-freshhawk", "../x"],
        "agreement": ["freshhawk", "FRESHHAWK-STANDARD", "../books/nope.yaml", "/etc/passwd",
                      "x.yaml", "zuper", "aircall", "bcr", "openmethods", "/", "..", ".yaml",
                      "sub/dir", 5, "freshhawk-enterprise.yml"],
        "start": BAD_DATES,
        "timezone": BAD_ZONES,
        "calendar": BAD_CALENDARS,
        "role": ["customer", "provider", "either", "Customer", "", 1],
        "name": NASTY_STRINGS,
        "region": ["eu", "us", "au", "mars", "", 5, "other"],
        "roll": ["none", "following", "preceding", "sideways", "", 1],
        "reminders": [[], ["0d"], ["999w"], ["7d", "7d"], ["7x"], ["1000d"], "7d", [7], [None],
                      [["7d"]], ["-1d"], ["1 d"], {"a": 1}],
    }
    value = rng.choice(options[key])
    doc["contract"][key] = value
    return f"contract.{key} = {str(value)[:40]!r}"


def _events(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        return doc["events"]
    return []


def d_events(rng: random.Random, doc: Any) -> str:
    events = _events(doc)
    if not events:
        return d_set_random(rng, doc)
    dicts = [e for e in events if isinstance(e, dict)]
    ids = [str(e.get("id")) for e in dicts if e.get("id")] or ["nothing"]
    choice = rng.randrange(12)
    if choice == 0:  # duplicate an event, id included
        i = rng.randrange(len(events))
        events.insert(i + 1, json.loads(json.dumps(events[i], default=str)))
        return f"duplicate event {i}"
    if choice == 1:
        events.append({"type": "withdrawn", "ref": "no-such-event", "at": "2026-05-01"})
        return "withdrawal of nothing"
    if choice == 2:  # a cycle: two withdrawals that withdraw each other
        events.append({"id": "w1", "type": "withdrawn", "ref": "w2", "at": "2026-05-01"})
        events.append({"id": "w2", "type": "withdrawn", "ref": "w1", "at": "2026-05-01"})
        return "withdrawal cycle"
    if choice == 3:  # a forward ref: the fulfilment comes before its trigger
        target = rng.choice(ids)
        events.insert(0, {"type": rng.choice(["breach_cured", "incident_notified", "done",
                                               "data_deleted", "support_responded"]),
                          "at": "2026-01-20", "ref": target, "rule": "cure"})
        return f"forward ref to {target}"
    if choice == 4:  # a fulfilment that refs a fulfilment (or itself)
        events.append({"id": "self", "type": "breach_cured", "at": "2026-05-01", "ref": "self"})
        return "self ref"
    if choice == 5:
        random_event = rng.choice(dicts) if dicts else {}
        if random_event:
            random_event["ref"] = rng.choice([*ids, "", None, 5, ["x"]])
        return "random ref"
    if choice == 6:
        events.reverse()
        return "events reversed"
    if choice == 7:
        events.append({"type": "done", "rule": rng.choice(["cure", "nope", "firewall-review",
                                                           "uptime", "", None]),
                       "at": rng.choice(BAD_DATES)})
        return "done with odd rule"
    if choice == 8:
        events.append({"type": "support_request", "at": "2026-05-05T10:00",
                       "severity": rng.choice(["p1", "P2", "critique", "urgent", "", None, 1])})
        return "support request"
    if choice == 9:  # ids that differ only by case or collide with derived ids
        events.append({"type": "breach_notice", "at": "2026-03-02"})
        events.append({"type": "breach_notice", "at": "2026-03-02"})
        events.append({"id": "breach_notice@2026-03-02.2", "type": "breach_notice",
                       "at": "2026-03-02"})
        return "derived id collision"
    if choice == 10:
        events.extend({"type": "breach_notice", "at": f"2026-0{1 + k % 9}-1{k % 10}"}
                      for k in range(rng.choice([50, 300])))
        return "many events"
    event = rng.choice(events)
    if isinstance(event, dict):
        event["at"] = rng.choice(BAD_DATES)
    return "event at -> odd date"


def d_list_for_mapping(rng: random.Random, doc: Any) -> str:
    paths = [p for p in all_paths(doc) if isinstance(get(doc, p), dict | list)]
    if not paths:
        return d_set_random(rng, doc)
    path = rng.choice(paths)
    value = get(doc, path)
    set_at(doc, path, list(value.items()) if isinstance(value, dict) else
           {str(i): v for i, v in enumerate(value)})
    return f"container swapped at {path}"


GOOD_ZONES = ["Europe/Paris", "Australia/Melbourne", "America/Sao_Paulo", "America/New_York",
              "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "UTC", "Etc/GMT-14",
              "America/St_Johns", "Africa/Casablanca", "Pacific/Apia", "Europe/Dublin"]
GOOD_CALENDARS: list[Any] = ["FR", "AU-VIC", "US-CA", "BR-SP", "GB", "DE-BY", "NZ", "JP",
                             {"country": "FR", "extra": ["2026-05-11"], "weekend": ["fri", "sat"]},
                             {"country": "US", "subdiv": "WA", "categories": ["public"]}]
TRIGGERS_AND_DONES = ["breach_notice", "incident_identified", "deletion_request", "eol_planned",
                      "maintenance_planned", "services_ended", "breach_cured", "data_deleted",
                      "incident_notified", "incident_report_sent", "eol_notice_given"]


def valid_when(rng: random.Random) -> str:
    """A real date or date-time, often on a DST change night, with or without an offset."""
    day = date(rng.choice([1900, 1999, 2000, 2025, 2026, 2026, 2026, 2027, 2100, 2199]),
               rng.randrange(1, 13), rng.randrange(1, 29))
    if rng.random() < 0.4:
        return day.isoformat()
    if rng.random() < 0.3:
        day = date(2026, rng.choice([3, 4, 10, 11]), rng.choice([1, 5, 8, 29, 25, 4]))
    clock = f"{rng.randrange(24):02d}:{rng.choice([0, 30, 59]):02d}"
    offset = rng.choice(["", "", "Z", "+01:00", "-03:00", "+05:45", "+14:00", "-12:00"])
    return f"{day.isoformat()}T{clock}{offset}"


def d_benign(rng: random.Random, doc: Any) -> str:
    """A change that keeps the log valid more often than not, to reach tracking and feeds."""
    if not isinstance(doc, dict) or not isinstance(doc.get("contract"), dict):
        return "not a log"
    choice = rng.randrange(6)
    if choice == 0:
        doc["contract"]["timezone"] = rng.choice(GOOD_ZONES)
        return f"timezone {doc['contract']['timezone']}"
    if choice == 1:
        doc["contract"]["calendar"] = rng.choice(GOOD_CALENDARS)
        return "calendar changed"
    if choice == 2:
        doc["contract"]["start"] = valid_when(rng)
        return f"start {doc['contract']['start']}"
    events = _events(doc)
    if choice == 3 and events:
        event = rng.choice(events)
        if isinstance(event, dict):
            event["at"] = valid_when(rng)
            return f"at {event['at']}"
    if choice == 4:
        doc["contract"]["role"] = rng.choice(["customer", "provider"])
        doc["contract"]["roll"] = rng.choice(["none", "following", "preceding"])
        doc["contract"]["reminders"] = rng.choice([[], ["1d"], ["2h", "3w"], ["999d"]])
        return "role, roll, reminders"
    doc.setdefault("events", [])
    if isinstance(doc["events"], list):
        doc["events"].append({"type": rng.choice(TRIGGERS_AND_DONES), "at": valid_when(rng),
                              "note": rng.choice(NASTY_STRINGS)})
    return "event added"


LOG_DATA_MUTATIONS: list[Callable[[random.Random, Any], str]] = [
    d_set_random, d_set_random, d_delete_random, d_unknown_key, d_wrong_type_everywhere,
    d_contract_field, d_contract_field, d_events, d_events, d_events, d_list_for_mapping,
    d_benign, d_benign, d_benign, d_benign, d_benign, d_benign,
]


# Data-level mutations of a parsed rulebook.

def r_rule_field(rng: random.Random, doc: Any) -> str:
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        return d_set_random(rng, doc)
    rule = rng.choice(rules)
    if not isinstance(rule, dict):
        return "rule not a mapping"
    ids = [r.get("id") for r in rules if isinstance(r, dict)]
    key = rng.choice(["id", "title", "kind", "event", "severity", "period", "direction",
                      "align", "from", "schedule", "actor", "action", "consequence", "clause",
                      "lines", "quote", "note", "readings", "title_fr", "action_fr",
                      "fulfilled_by", "either"])
    options: dict[str, list[Any]] = {
        "period": ["3 fortnights", "999999 months", "999999 years", "99999 weeks",
                   "10001 business days", "10000 business days", "5 months", "7 months",
                   "0 days", "0 months", "1 minute", "999999 minutes", "999999 hours",
                   "12 business hours", "-3 days", 30, "30.5 days", "", None, ["30 days"],
                   "1 business hour", "2 years", "36525 days"],
        "direction": ["after", "before", "recurring", "sideways", "", 5],
        "align": ["anchor", "calendar", "month", None],
        "from": [*ids, "nope", rule.get("id"), "", None, 5],
        "event": ["breach_notice", "contract_start", ["breach_notice", "contract_start"],
                  ["breach_notice", "incident_identified"], [], "nope", 5, [None]],
        "severity": ["critical", "major", "other", "p1", "nope", "", None],
        "schedule": ["support-hours", "nope", "", None],
        "kind": ["obligation", "right", "limit", "duty", ""],
        "actor": ["provider", "customer", "zendesk", "either", "nobody"],
        "fulfilled_by": [["breach_cured"], ["nope"], ["done"], "breach_cured", [], [5], None],
        "either": ["by", "other", "both", "nobody", None],
        "lines": [[], [0], [-1], ["201"], "201", 201, [True], [1.5], [10**30], None],
        "readings": [[], [{"reading": "x"}], [{"reading": "x", "period": "nope"}],
                     [{"reading": "x", "from": "nope"}], [{"reading": "x", "from": "cure"}],
                     [{"reading": "x", "direction": "before", "period": "3 business hours"}],
                     ["x"], {"reading": "x"}, [{"period": "1 day"}], [None]],
    }
    value = rng.choice(options.get(key, [None, 5, "", [], {}, "x" * 2000, True]))
    if value is None and rng.random() < 0.5:
        rule.pop(key, None)
        return f"rule {rule.get('id')}: delete {key}"
    rule[key] = value
    return f"rule {rule.get('id')}: {key} = {str(value)[:40]!r}"


def r_top_field(rng: random.Random, doc: Any) -> str:
    if not isinstance(doc, dict):
        return d_set_random(rng, doc)
    key = rng.choice(["id", "name", "source", "parties", "governing_law", "timezone", "calendar",
                      "roll", "regions", "default_region", "schedules", "severities", "events",
                      "rules", "sides", "fulfilments", "extend", "remove"])
    options: dict[str, list[Any]] = {
        "timezone": BAD_ZONES,
        "calendar": BAD_CALENDARS,
        "severities": [[], ["a"], {"a": 5}, {"a": {"aliases": "p1"}}, {"a": {"aliases": [1]}},
                       {"a": None}, "x", {1: {}}],
        "parties": [[], ["x"], "x", {"a": None}, {"either": "x"}, {"a": {"name": "x",
                    "label": {"de": "x"}}}, {"a": {"label": "x"}}],
        "sides": [[], ["customer"], ["customer", "customer"], ["customer", "nobody"], "x",
                  ["provider", "customer"]],
        "fulfilments": [[], {"done": "x"}, {"Bad-Name": "x"}, {"breach_cured": None},
                        {"breach_notice": "x"}, "x"],
        "extend": ["freshhawk-standard", "nope", "../nope.yaml", "rb.yaml", "", 5, [],
                   "/etc/passwd"],
        "remove": [["cure"], ["nope"], "cure", [5], []],
        "events": [[], ["breach_notice"], {"Bad-Name": "x"}, {"breach_notice": None},
                   {5: "x"}, "x"],
        "schedules": [[], {"support-hours": []}, {"support-hours": {"windows": []}},
                      {"support-hours": {"windows": ["x"]}},
                      {"support-hours": {"windows": [{"days": "mon", "from": "9", "to": "5"}]}},
                      {"support-hours": {"windows": [{"days": ["mon"], "from": "09:00"}]}},
                      {"support-hours": {"windows": [{"from": "sun 22:00", "to": "mon"}]}},
                      {"support-hours": {"timezone": "Mars/Base", "windows": [
                          {"days": ["mon"], "from": "09:00", "to": "17:00"}]}},
                      {"support-hours": {"windows": [{"days": ["mon"], "from": "17:00",
                                                      "to": "09:00"}]}},
                      {"support-hours": {"windows": [{"days": ["xyz"], "from": "09:00",
                                                      "to": "17:00"}]}},
                      {"support-hours": {"windows": [{"from": "sun 22:00", "to": "sun 22:00"}]}},
                      {"support-hours": {"holidays": "no", "windows": [
                          {"days": ["mon"], "from": "00:00", "to": "24:00"}]}}],
        "regions": [[], {"eu": []}, {"eu": {"timezone": "Mars/Base"}},
                    {"eu": {"timezone": "Europe/Paris", "calendar": "QQ"}},
                    {"eu": {"calendar": "FR"}}, {"eu": {"timezone": "Europe/Paris"}}],
        "default_region": ["eu", "nope", "", 5, None],
        "governing_law": [[], "x", {}, {"name": "x", "weekend_extension": "sideways"},
                          {"name": "x", "quote": "q", "lines": "x"},
                          {"name": "x", "quote": "q", "lines": [1]}],
        "source": [[], "x", {"lines": ["a", "b"]}, {"lines": []}, {"lines": 5},
                   {"lines": [None]}, {"lines": [10**30]}],
        "roll": ["none", "following", "sideways", 5],
        "rules": [[], {}, "x", [None], [[]]],
    }
    value = rng.choice(options.get(key, [None, 5, "", [], {}, "x" * 2000, True]))
    if value is None and rng.random() < 0.5:
        doc.pop(key, None)
        return f"delete {key}"
    doc[key] = value
    return f"{key} = {str(value)[:40]!r}"


def r_chain_cycle(rng: random.Random, doc: Any) -> str:
    rules = [r for r in doc["rules"] if isinstance(r, dict)] \
        if isinstance(doc, dict) and isinstance(doc.get("rules"), list) else []
    if len(rules) < 2:
        return d_set_random(rng, doc)
    a, b = rng.sample(rules, 2)
    a["from"], b["from"] = b.get("id"), a.get("id")
    if rng.random() < 0.5:
        a["event"] = b.get("event")
    return f"chain cycle {a.get('id')} <-> {b.get('id')}"


def r_duplicate_rule(rng: random.Random, doc: Any) -> str:
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        return d_set_random(rng, doc)
    i = rng.randrange(len(rules))
    rules.insert(i, json.loads(json.dumps(rules[i], default=str)))
    return f"duplicate rule {i}"


def r_benign(rng: random.Random, doc: Any) -> str:
    """A change that keeps the rulebook valid more often than not, to reach the engine."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not doc["rules"]:
        return "not a rulebook"
    choice = rng.randrange(5)
    if choice == 0 and "timezone" in doc:
        doc["timezone"] = rng.choice(GOOD_ZONES)
        return f"timezone {doc['timezone']}"
    if choice == 1 and "calendar" in doc:
        doc["calendar"] = rng.choice(GOOD_CALENDARS)
        return "calendar changed"
    if choice == 2:
        doc["roll"] = rng.choice(["none", "following", "preceding"])
        return f"roll {doc['roll']}"
    rule = rng.choice(doc["rules"])
    if not isinstance(rule, dict) or "period" not in rule:
        return "no period"
    unit = str(rule["period"]).split(" ", 1)[-1]
    amount = rng.choice([0, 1, 2, 7, 30, 31, 59, 60, 365, 1000])
    if unit.endswith(("months", "month")):
        amount = rng.choice([1, 2, 3, 6, 12, 1200])
    rule["period"] = f"{amount} {unit}"
    return f"rule {rule.get('id')}: period {rule['period']}"


BOOK_DATA_MUTATIONS: list[Callable[[random.Random, Any], str]] = [
    d_set_random, d_set_random, d_delete_random, d_unknown_key, d_list_for_mapping,
    r_rule_field, r_rule_field, r_rule_field, r_rule_field, r_top_field, r_top_field,
    r_top_field, r_chain_cycle, r_duplicate_rule, r_benign, r_benign,
]


class MutationEngine:
    """Inputs from a seeded random.Random: input i of seed s is the same on every run."""

    def __init__(self) -> None:
        self.logs = seed_logs()
        self.books = seed_rulebooks()
        self.log_data = {name: load_seed(text) for name, text in self.logs.items()}
        self.book_data = load_seed_books(self.books)

    def case(self, rng: random.Random) -> Case:
        kind = rng.choices(["log", "rulebook", "both"], weights=[55, 35, 10])[0]
        if kind == "log":
            name = rng.choice(sorted(self.logs))
            data, how = self._mutate(rng, self.logs[name], self.log_data[name],
                                     LOG_DATA_MUTATIONS)
            files = {f"events/{name}": data}
            if rng.random() < 0.1:  # a second log in the directory: ids must stay unique
                other = rng.choice(sorted(self.logs))
                files[f"events/z-{other}"] = self.logs[other].encode()
                how += f"; plus {other}"
            return Case("log", files, f"{name}: {how}")
        name = rng.choice(sorted(self.books))
        data, how = self._mutate(rng, self.books[name], self.book_data[name],
                                 BOOK_DATA_MUTATIONS)
        declared = self.book_data[name]["events"]
        event = rng.choice([e for e in COMPUTE_EVENTS if e in declared])
        if kind == "rulebook":
            return Case("rulebook", {"books/rb.yaml": data}, f"{name}: {how}", event)
        log = _log_for_book(name)
        return Case("both", {"books/rb.yaml": data, "events/log.yaml": log}, f"{name}: {how}")

    def _mutate(self, rng: random.Random, text: str, parsed: Any,
                data_mutations: list[Callable[[random.Random, Any], str]]) -> tuple[bytes, str]:
        hows: list[str] = []
        if rng.random() < 0.2:  # benign changes only: mostly valid, through to the engine
            doc = json.loads(json.dumps(parsed))
            benign = d_benign if "contract" in doc else r_benign
            for _ in range(rng.choice([1, 2, 3])):
                hows.append(benign(rng, doc))
            return dump(doc), "; ".join(hows)
        if rng.random() < 0.5:
            doc = json.loads(json.dumps(parsed))
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                hows.append(rng.choice(data_mutations)(rng, doc))
            data = dump(doc)
            if rng.random() < 0.2:
                data, how = rng.choice(TEXT_MUTATIONS)(rng, data)
                hows.append(how)
        else:
            data = text.encode("utf-8")
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                data, how = rng.choice(TEXT_MUTATIONS)(rng, data)
                hows.append(how)
        return data, "; ".join(hows)


def _log_for_book(book_name: str) -> bytes:
    """A small valid log whose agreement is the (mutated) rulebook beside it."""
    stem = book_name.removesuffix(".yaml")
    region = "  region: eu\n" if stem == "aircall" else ""
    return (f"contract:\n  id: uses-{stem}\n  agreement: ../books/rb.yaml\n  start: 2026-01-15\n"
            f"{region}events:\n  - id: b1\n    type: breach_notice\n    at: 2026-03-02\n"
            "  - type: breach_cured\n    at: 2026-03-20\n    ref: b1\n").encode()


# ---------------------------------------------------------------------------------------------
# The hypothesis engine.


def hypothesis_strategies() -> Any:
    """The strategy of whole cases (imported lazily: the mutation engine does not need it)."""
    from hypothesis import strategies as st

    logs = seed_logs()
    books = seed_rulebooks()
    log_data = {name: load_seed(text) for name, text in logs.items()}
    book_data = load_seed_books(books)

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(),
        st.text(max_size=30), st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
        st.sampled_from(BAD_DATES), st.sampled_from(BAD_ZONES), st.sampled_from(NASTY_STRINGS),
        st.binary(max_size=10), st.dates().map(str), st.datetimes().map(lambda d: d.isoformat()),
    )
    values = st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(st.one_of(st.text(max_size=6), st.integers(), st.sampled_from(
            ["id", "type", "at", "ref", "country", "windows", "from", "to", "days"])),
            children, max_size=3),
        max_leaves=6,
    )

    @st.composite
    def edited(draw: Any, seeds: dict[str, Any], kind: str) -> Case:
        name = draw(st.sampled_from(sorted(seeds)))
        doc = json.loads(json.dumps(seeds[name]))
        hows: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            paths = all_paths(doc)
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
            if action == "set":
                set_at(doc, path, draw(values))
            elif action == "delete":
                delete_at(doc, path)
            else:
                target = get(doc, path[:-1])
                if isinstance(target, dict):
                    target[draw(st.text(max_size=8))] = draw(values)
                elif isinstance(target, list):
                    target.insert(path[-1], draw(values))
            hows.append(f"{action} {path}")
        data = dump(doc)
        if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
            cut = draw(st.integers(0, len(data)))
            data = data[:cut]
            hows.append(f"truncate at {cut}")
        how = f"{name}: " + "; ".join(hows)
        if kind == "log":
            return Case("log", {f"events/{name}": data}, how)
        declared = book_data[name]["events"]
        event = draw(st.sampled_from([e for e in COMPUTE_EVENTS if e in declared]))
        return Case("rulebook", {"books/rb.yaml": data}, how, event)

    book_names = sorted(book_data)
    pool = ["a", "b", "c", "A", "b1", "x.y", "breach_notice@2026-03-02"]

    def when() -> Any:
        return st.one_of(
            st.dates(min_value=date(1890, 1, 1), max_value=date(2210, 12, 31)).map(str),
            st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
            st.sampled_from(BAD_DATES),
            st.from_regex(r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9](T[0-2][0-9]:[0-5][0-9])?\Z"),
        )

    @st.composite
    def generated_log(draw: Any) -> Case:
        book = draw(st.sampled_from(book_names)).removesuffix(".yaml")
        types = [*sorted(book_data[f"{book}.yaml"]["events"]),
                 "breach_cured", "incident_notified", "data_deleted", "support_responded",
                 "deletion_certified", "done", "withdrawn", "nope"]
        rule_ids = sorted({str(r.get("id")) for r in book_data[f"{book}.yaml"]["rules"]})
        contract: dict[str, Any] = {
            "id": draw(st.sampled_from(["gen", "gen-1", "Gen", ""]) | st.text(max_size=5)),
            "agreement": book,
            "start": draw(when()),
        }
        if book == "aircall" or draw(st.booleans()):
            contract["region"] = draw(st.sampled_from(["eu", "us", "au", "nope"]))
        for key, strategy in (("timezone", st.sampled_from(BAD_ZONES)),
                              ("calendar", st.sampled_from(BAD_CALENDARS)),
                              ("role", st.sampled_from(["customer", "provider", "x"])),
                              ("roll", st.sampled_from(["none", "following", "preceding", "x"])),
                              ("reminders", st.lists(st.from_regex(r"\A[0-9]{1,4}[dhwx]\Z"),
                                                     max_size=3)),
                              ("name", st.text(max_size=40))):
            if draw(st.integers(0, 3)) == 0:
                contract[key] = draw(strategy)
        events = []
        for _ in range(draw(st.integers(0, 8))):
            event: dict[str, Any] = {"type": draw(st.sampled_from(types)), "at": draw(when())}
            if draw(st.booleans()):
                event["id"] = draw(st.sampled_from(pool))
            if draw(st.integers(0, 2)) == 0:
                event["ref"] = draw(st.sampled_from(pool))
            if draw(st.integers(0, 3)) == 0:
                event["severity"] = draw(st.sampled_from(["critical", "major", "p1", "other",
                                                          "minor", "nope"]))
            if event["type"] == "done" or draw(st.integers(0, 9)) == 0:
                event["rule"] = draw(st.sampled_from([*rule_ids, "nope"]))
            if draw(st.integers(0, 3)) == 0:
                event["note"] = draw(st.text(max_size=60))
            events.append(event)
        data = dump({"contract": contract, "events": events})
        return Case("log", {"events/gen.yaml": data}, f"generated log for {book}")

    @st.composite
    def raw(draw: Any) -> Case:
        data = draw(st.one_of(
            st.binary(max_size=300),
            st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.lists(st.sampled_from([*TEXT_NASTIES, b"contract:", b"events:", b"\n", b"  ",
                                      b"id: x", b"rules:", b"- ", b"at: 2026-03-02"]),
                     max_size=40).map(b"".join),
        ))
        if draw(st.booleans()):
            return Case("log", {"events/raw.yaml": data}, "raw bytes as a log")
        return Case("rulebook", {"books/rb.yaml": data}, "raw bytes as a rulebook")

    return st.one_of(edited(log_data, "log"), edited(book_data, "rulebook"), generated_log(),
                     raw())


# ---------------------------------------------------------------------------------------------
# Running and reporting.


@dataclass
class Tally:
    inputs: int = 0
    exit0: int = 0
    exit2: int = 0
    exit2_argument: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    failed_inputs: int = 0
    by_engine: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[Case, Outcome]] = field(default_factory=list)
    slowest: float = 0.0

    def add(self, engine: str, case: Case, outcome: Outcome) -> None:
        self.inputs += 1
        self.by_engine[engine] += 1
        self.slowest = max(self.slowest, outcome.seconds)
        if outcome.code == 0:
            self.exit0 += 1
        elif outcome.code == 2:
            self.exit2 += 1
            self.exit2_argument += outcome.argument_error
        if outcome.failures:
            self.failed_inputs += 1
            self.failures.update(set(outcome.failures))
            self.examples.append((case, outcome))


def describe_failure(case: Case, outcome: Outcome) -> str:
    return (f"[{', '.join(outcome.failures)}] {case.kind} {case.how[:200]}\n"
            f"    argv: deadlines {' '.join(outcome.argv)}\n"
            f"    exit {outcome.code}; stderr: {outcome.stderr.strip()[:300]!r}")


def save_failure(directory: Path, n: int, case: Case, outcome: Outcome) -> None:
    target = directory / f"failure-{n:05d}"
    for name, data in case.files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "meta.json").write_text(json.dumps({
        "kind": case.kind, "how": case.how, "event": case.event, "argv": outcome.argv,
        "exit": outcome.code, "failures": outcome.failures, "stderr": outcome.stderr,
    }, indent=1, ensure_ascii=False), encoding="utf-8")


@contextlib.contextmanager
def fuzz_environment() -> Iterator[Path]:
    """A scratch directory, and a holiday cache in it (fuzzed years stay out of ~/.cache)."""
    with tempfile.TemporaryDirectory(prefix="deadlines-fuzz-") as tmp:
        old = os.environ.get("DEADLINES_CACHE_DIR")
        os.environ["DEADLINES_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.environ.pop("DEADLINES_DEBUG", None)
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("DEADLINES_CACHE_DIR", None)
            else:
                os.environ["DEADLINES_CACHE_DIR"] = old


def run_mutations(harness: Harness, tally: Tally, count: int, seed: int,
                  on_case: Callable[[Case, Outcome], None] | None = None) -> None:
    engine = MutationEngine()
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        case = engine.case(rng)
        outcome = harness.run(case)
        tally.add("mutation", case, outcome)
        if on_case is not None:
            on_case(case, outcome)


def run_hypothesis(harness: Harness, tally: Tally, count: int, seed: int,
                   on_case: Callable[[Case, Outcome], None] | None = None) -> None:
    if count <= 0:
        return
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    strategy = hypothesis_strategies()
    done = 0

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(strategy)
    def fuzz(case: Case) -> None:
        nonlocal done
        if done >= count:
            return
        done += 1
        outcome = harness.run(case)
        tally.add("hypothesis", case, outcome)
        if on_case is not None:
            on_case(case, outcome)

    fuzz()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs to run (10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both engines (0)")
    parser.add_argument("--hypothesis-share", type=float, default=0.3,
                        help="share of the inputs generated by hypothesis (0.3)")
    parser.add_argument("--save", type=Path, default=None, help="write failing inputs here")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per input (60)")
    parser.add_argument("--show", type=int, default=10, help="failures to print (10)")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress every 500")
    args = parser.parse_args(argv)
    n_hyp = round(args.count * args.hypothesis_share)
    n_mut = args.count - n_hyp
    tally = Tally()
    started = time.perf_counter()

    def progress(_case: Case, _outcome: Outcome) -> None:
        if args.verbose and tally.inputs % 500 == 0:
            print(f"  {tally.inputs} inputs, {tally.failed_inputs} failing, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    with fuzz_environment() as tmp:
        harness = Harness(tmp, timeout=args.timeout)
        run_mutations(harness, tally, n_mut, args.seed, progress)
        run_hypothesis(harness, tally, n_hyp, args.seed, progress)
    elapsed = time.perf_counter() - started
    print(f"inputs: {tally.inputs} (mutation {tally.by_engine['mutation']}, "
          f"hypothesis {tally.by_engine['hypothesis']}), seed {args.seed}")
    print(f"exit 0: {tally.exit0}")
    print(f"exit 2: {tally.exit2} (of which {tally.exit2_argument} about the EVENT argument)")
    other = tally.inputs - tally.exit0 - tally.exit2
    print(f"other exits or exceptions: {other}")
    print(f"failing inputs: {tally.failed_inputs}")
    for kind, n in sorted(tally.failures.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {kind}: {n}")
    print(f"time: {elapsed:.1f} s ({1000 * elapsed / max(tally.inputs, 1):.1f} ms per input, "
          f"slowest {tally.slowest:.2f} s)")
    for case, outcome in tally.examples[: args.show]:
        print(describe_failure(case, outcome))
    if args.save is not None:
        for n, (case, outcome) in enumerate(tally.examples):
            save_failure(args.save, n, case, outcome)
    return 1 if tally.failed_inputs else 0


if __name__ == "__main__":
    sys.exit(main())
