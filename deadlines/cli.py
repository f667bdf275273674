"""The command line: a thin click layer; every command is one call into `deadlines.api`.

Exit codes: 0 success; 1 `status --fail-on` matched; 2 bad input (one line on stderr, nothing
written); 3 internal error (a bug: one line, DEADLINES_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import click

from . import api
from .engine import Computation, Deadline, owed_by, who_words
from .errors import EXIT_BAD_INPUT, DeadlinesError
from .feedpolicy import AGGREGATE_DAYS_AHEAD, AGGREGATE_PAST_DAYS, MAX_FEED_BYTES
from .safeio import ENVIRONMENT_ERRNOS
from .vocabulary import ALERT_STATES, DONE_EVENT, EITHER_PARTY, LANGUAGES, By, Roll

EXIT_INTERNAL = 3


# json (like the rulebook author's tools) is imported by the commands that use it, not by every
# one-off `deadlines compute` (start-up time: bench/startup.py).
def _dumps(value: Any, **options: Any) -> str:
    import json

    return json.dumps(value, **options)


class _OneLineUsageError(click.ClickException):
    """A usage error (unknown option, a value out of range) as one line, exit 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, exc: click.UsageError) -> None:
        message = exc.format_message().rstrip(".")
        where = exc.ctx.command_path if exc.ctx is not None else "deadlines"
        super().__init__(f"{message} (see `{where} --help`)")

    def show(self, file: Any = None) -> None:
        click.echo(f"deadlines: error: {' '.join(self.format_message().split())}", err=True)


class _Group(click.Group):
    """Turns every DeadlinesError, every usage error, and every fault of the disk or the
    folders into one line on stderr and exit code 2; anything else is a bug: one line and exit
    code 3."""

    group_class = type  # `deadlines token` is a _Group too

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `deadlines` alone shows the help
        except click.UsageError as exc:
            raise _OneLineUsageError(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeadlinesError as exc:
            click.echo(f"deadlines: error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `deadlines token` alone shows its help
        except click.UsageError as exc:
            raise _OneLineUsageError(exc) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # `deadlines ... | head`: the reader left; not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # a bug: never show a person a traceback by default
            if os.environ.get("DEADLINES_DEBUG"):
                raise
            if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
                # the disk or the folder, not a bug: what and where, in one line
                where = f": {exc.filename}" if exc.filename else ""
                click.echo(f"deadlines: error: {exc.strerror or exc}{where}", err=True)
                ctx.exit(EXIT_BAD_INPUT)
            click.echo(f"deadlines: internal error: {type(exc).__name__}: {exc} "
                       "(set DEADLINES_DEBUG=1 for the traceback)", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(name="deadlines", cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deadlines")
def cli() -> None:
    """Contract deadlines: compute them, explain them, publish them as calendars.

    `deadlines rules` lists the agreements; `deadlines rules AGREEMENT` shows one agreement's
    events, severities, regions, zone, calendar and rules. A period is written 30d, 30 days,
    2w, 48h, 1 month or 30 business days. Exit codes: 0 success, 1 `status --fail-on`
    matched, 2 bad input (one line on stderr), 3 internal error.
    """


_EVENTS_DIR_HELP = ("EVENTS_DIR is the folder of event logs, one .yaml file per contract "
                    "(default: events, in the current folder); subfolders are not searched.")
_LOOKUP_HELP = ("AGREEMENT is a shipped agreement id or the path of a rulebook .yaml file "
                "(`deadlines rules` lists them), or a contract's event log (its zone, calendar "
                "and owners apply). EVENT is one of the agreement's events, and "
                "its severities, regions, default zone and calendar are shown by `deadlines rules "
                "AGREEMENT` (`--events` for the events alone).")
_WHEN_HELP = ("WHEN is a date (2026-03-02) or an ISO 8601 date-time (2026-03-02T10:00 in the "
              "agreement's zone, or with an offset: 2026-03-02T10:00+01:00).")
ROLLS = [r.value for r in Roll]  # click reads an Enum member by its name, not its text


def _agreement_options(f: Any, formats: tuple[str, ...] = ("text", "json")) -> Any:
    shapes = {"text": "text (a table)", "json": "json (keys in the README)",
              "ics": "ics (a calendar file to import)",
              "csv": "csv (one row per deadline, for a spreadsheet)"}
    f = click.option("--format", "fmt", type=click.Choice(list(formats)), default="text",
                     show_default=True,
                     help="Output: " + ", ".join(shapes[x] for x in formats) + ".")(f)
    f = click.option("--roll", type=click.Choice(ROLLS), default=None,
                     help="Move a due date off a non-business day (default: the agreement's "
                     "rule, normally none).")(f)
    f = click.option("--calendar", default=None,
                     help="Business calendar such as FR or AU-VIC (default: the agreement's, "
                     "see `deadlines rules AGREEMENT`).")(f)
    f = click.option("--region", default=None,
                     help="Region, for an agreement that counts by region (its regions and "
                     "default one: `deadlines rules AGREEMENT`).")(f)
    f = click.option("--severity", default=None,
                     help="Severity, for an event whose rules depend on one: a name or an "
                     "alias from `deadlines rules AGREEMENT`.")(f)
    f = click.option("--tz", default=None,
                     help="IANA time zone such as Europe/Paris (default: the agreement's).")(f)
    f = click.option("--by", type=click.Choice([b.value for b in By]), default=None,
                     help="Who gave the notice or did the event; decides who owes the rules "
                     "either party may owe (default: the agreement's default for the event).")(f)
    return f


def _compute_options(f: Any) -> Any:
    return _agreement_options(f, ("text", "json", "ics", "csv"))


def _warn(warnings: list[str]) -> None:
    for message in warnings:
        click.echo(f"deadlines: warning: {message}", err=True)


class _Folder(click.Path):
    """--out: a folder, never the empty path (which would mean the current folder, and put
    feeds and the store among whatever is there)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("expected a folder; an empty path would mean the current folder", param,
                      ctx)
        return super().convert(value, param, ctx)


OUT_FOLDER = _Folder()


@cli.command(short_help="Every deadline an event sets off under an agreement.",
             help="Every deadline EVENT at WHEN sets off under AGREEMENT.\n\n"
             f"{_LOOKUP_HELP}\n\n{_WHEN_HELP}")
@click.argument("agreement")
@click.argument("event")
@click.argument("when")
@_compute_options
def compute(agreement: str, event: str, when: str, by: str | None, tz: str | None,
            severity: str | None, region: str | None, calendar: str | None, roll: str | None,
            fmt: str) -> None:
    """Every deadline EVENT at WHEN sets off under AGREEMENT (help text above)."""
    result = api.compute(agreement, event, when, severity=severity, region=region, tz=tz,
                         calendar=calendar, roll=roll, by=by)
    _warn(result.warnings)
    if fmt == "json":
        click.echo(_dumps(api.computation_json(result), ensure_ascii=False, indent=2))
        return
    if fmt == "ics":
        click.echo(api.compute_ics(result), nl=False)
        return
    if fmt == "csv":
        from .csvio import compute_csv

        click.echo(compute_csv(result), nl=False)
        return
    click.echo(_header(result, region))
    for line in _table(result):
        click.echo(line)


def _header(result: Computation, asked_region: str | None) -> str:
    s = result.settings
    contract = f", contract {result.contract}" if result.contract else ""
    return (f"{result.rulebook.name} ({result.rulebook.id}{contract}): {result.event} at "
            f"{result.trigger.describe(s.zone)}\n"
            f"Zone {s.zone.key}, business calendar {s.calendar.label}, roll: {s.roll}"
            + _region_note(result, asked_region) + "\n")


def _region_note(result: Computation, asked_region: str | None) -> str:
    """', region au', or for a region nobody chose, which one was used and how to pick another."""
    region = result.settings.region
    if region is None:
        return ""
    if asked_region is not None:
        return f", region {region}"
    others = ", ".join(r for r in result.rulebook.regions if r != region)
    return f", region {region} (the default; --region picks {others})"


def _table(result: Computation) -> list[str]:
    s = result.settings
    lines: list[str] = []
    # an `either` rule shows which party owes it for this event (`?`: who gave it is unknown)
    actors = [d.rule.actor if d.rule.actor != EITHER_PARTY else
              f"either:{owed_by(d.rule, result.giver) or '?'}" for d in result.deadlines]
    width = max([9, *map(len, actors)])
    for d, actor in zip(result.deadlines, actors, strict=True):
        due = api.due_iso(d.due, s) or "no date"
        rule = d.rule.id + (f" ({d.rule.severity})" if d.rule.severity else "")
        if d.occurrence is not None:
            rule += f" #{d.occurrence}"
        lines.append(f"{due:<25} {rule:<30} {actor:<{width}} {d.rule.action}")
        lines.append(f"{'':<25} clause {d.rule.source.clause}, {result.rulebook.line_word} "
                     f"{', '.join(map(str, d.rule.source.lines))}"
                     + (f"; if missed: {d.rule.consequence}"
                        if d.rule.consequence and d.rule.consequence != "Not stated in the text."
                        else ""))
        for alt in d.alternatives:
            lines.append(f"{'':<25} other reading: {alt.reading} -> "
                         f"{api.due_iso(alt.due, s) or 'no date'}")
    if not result.deadlines:
        lines.append("No deadline is set off by this event.")
    return lines


@cli.command(short_help="How one rule's due date was reached, step by step.",
             help="How the due date of one rule that EVENT at WHEN sets off under AGREEMENT "
             f"was reached, step by step.\n\n{_LOOKUP_HELP}\n\n{_WHEN_HELP}")
@click.argument("agreement")
@click.argument("event")
@click.argument("when")
@click.option("--rule", "rule_id", required=True,
              help="The rule's id, such as cure (`deadlines rules AGREEMENT` lists them).")
@_agreement_options
def explain(agreement: str, event: str, when: str, rule_id: str, by: str | None,
            tz: str | None, severity: str | None, region: str | None, calendar: str | None,
            roll: str | None, fmt: str) -> None:
    """How the due date of one rule was reached, step by step (help text above)."""
    result, matches = api.explain(agreement, event, when, rule_id, severity=severity,
                                  region=region, tz=tz, calendar=calendar, roll=roll, by=by)
    _warn(result.warnings)
    if fmt == "json":
        data = [api.deadline_json(d, result.settings, result.giver, result.owners)
                for d in matches]
        click.echo(_dumps(data, ensure_ascii=False, indent=2))
        return
    for d in matches:
        click.echo(_explanation(d, result))
    if result.settings.region is not None:
        click.echo(f"  Counted for region{_region_note(result, region).removeprefix(', region')}"
                   f": zone {result.settings.zone.key}, business calendar "
                   f"{result.settings.calendar.label}.")


def _explanation(d: Deadline, result: Computation) -> str:
    s = result.settings
    rule = d.rule
    out = [f"{rule.id}: {rule.title}" + (f" (severity {rule.severity})" if rule.severity else "")
           + (f", occurrence {d.occurrence}" if d.occurrence is not None else "")]
    # a term rule quotes the contract's event log, not the agreement's text
    cited = "event log line" if rule.origin == "contract" else result.rulebook.line_word
    out.append(f"  Clause {rule.source.clause}, {cited}(s) "
               f"{', '.join(map(str, rule.source.lines))}: « {rule.source.quote} »")
    out.append(f"  Who: {who_words(rule, result.giver, result.event)}. What: {rule.action}")
    if result.owners is not None:
        owner = result.owners.for_rule(rule.id)
        out.append(f"  Owner: {owner}" if owner is not None else
                   f"  Owner: nobody named (owner: in the log of {result.contract})")
    out.append(f"  If missed: {rule.consequence}")
    if rule.note:
        out.append(f"  Note: {rule.note}")
    out.append("  Count:")
    out += [f"    {step}" for step in d.trace]
    out.append(f"  Due: {api.due_iso(d.due, s) or 'no date (no number in the text)'}")
    for alt in d.alternatives:
        out.append(f"  Other reading: {alt.reading} -> {api.due_iso(alt.due, s) or 'no date'}")
        out += [f"    {step}" for step in alt.trace]
    return "\n".join(out)


def _columns(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    """A table with a header row, each column as wide as its longest cell; the last column is
    left free, so a long cell there keeps every other column aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return [indent + " ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False))
            + " " + r[-1] for r in [header, *rows]]


def _rule_rows(rules: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["RULE", "KIND", "EVENT", "DIRECTION", "PERIOD", "ACTOR", "CLOSED BY", "CLAUSE"]
    rows = []
    for row in rules:
        event = row["event"] if isinstance(row["event"], str) else "|".join(row["event"])
        period = row["period"] or "(no number)"
        if row["from"]:
            period += f" from {row['from']}"
        level = f" [{row['severity']}]" if row["severity"] else ""
        own = [c for c in row["fulfilled_by"] if " --rule " not in c]
        closed = ", ".join(own) or (DONE_EVENT if row["fulfilled_by"] else "-")
        rows.append([row["id"] + level, row["kind"], event, row["direction"], period,
                     row["actor"], closed, f"{row['source']['clause']} (line "
                     f"{','.join(map(str, row['source']['lines']))})"])
    return header, rows


def _event_rows(events: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    return ["EVENT", "KIND", "MEANING"], [[e["type"], e["kind"], e["meaning"]] for e in events]


@cli.command(short_help="The agreements, or one agreement's events and rules.")
@click.argument("agreement", required=False)
@click.option("--events", "events_only", is_flag=True,
              help="Only the events a log of AGREEMENT may record, with their meaning.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output: table, or json (keys in the README).")
def rules(agreement: str | None, events_only: bool, fmt: str) -> None:
    """The shipped agreements, or everything about AGREEMENT.

    AGREEMENT is a shipped agreement id or the path of a rulebook .yaml file. Its default zone
    and business calendar, its regions (--region) with the default one, its severities
    (--severity) with their aliases, every event with its meaning, and every rule with the
    event that closes it (`done --rule RULE` closes any obligation).
    """
    if agreement is None:
        if events_only:
            raise DeadlinesError("--events needs an AGREEMENT")
        listing = api.agreements()
        if fmt == "json":
            click.echo(_dumps(listing, ensure_ascii=False, indent=2))
            return
        rows = [[a["agreement"], a["timezone"], a["calendar"],
                 ", ".join(a["regions"]) + (f" (default {a['default_region']})"
                                            if a["default_region"] else "") or "-", a["name"]]
                for a in listing]
        for line in _columns(["AGREEMENT", "ZONE", "CALENDAR", "REGIONS", "NAME"], rows, ""):
            click.echo(line.rstrip())
        click.echo("\n`deadlines rules AGREEMENT` shows one agreement's events, severities and "
                   "rules.")
        return
    info = api.agreement_info(agreement)
    if fmt == "json":
        click.echo(_dumps(info["events"] if events_only else info, ensure_ascii=False,
                          indent=2))
        return
    if events_only:
        for line in _columns(*_event_rows(info["events"]), indent=""):
            click.echo(line.rstrip())
        return
    click.echo(f"{info['name']} ({info['agreement']})")
    click.echo(f"Zone {info['timezone']}, business calendar {info['calendar']}, roll: "
               f"{info['roll']}; governing law: {info['governing_law']}")
    first, second = info["sides"]
    click.echo(f"\nParties (ACTOR in the rules; a log's role: is {first}, the default, or "
               f"{second}):")
    for line in _columns(["PARTY", "LABEL", "WHO"],
                         [[p["party"], p["labels"].get("en", p["party"]), p["name"]]
                          for p in info["parties"]]):
        click.echo(line.rstrip())
    if info["regions"]:
        click.echo(f"\nRegions (--region; the default is {info['default_region']}):")
        for line in _columns(["REGION", "ZONE", "CALENDAR", "LAW"],
                             [[r["region"], r["timezone"], r["calendar"], r["law"]]
                              for r in info["regions"]]):
            click.echo(line.rstrip())
    if info["severities"]:
        click.echo("\nSeverities (--severity, or severity: in a log; a name or an alias):")
        for line in _columns(["SEVERITY", "ALIASES"],
                             [[s["severity"], ", ".join(s["aliases"])]
                              for s in info["severities"]]):
            click.echo(line.rstrip())
    click.echo("\nEvents:")
    for line in _columns(*_event_rows(info["events"])):
        click.echo(line.rstrip())
    click.echo("\nRules (CLOSED BY: the event to record; `done --rule RULE` works for any "
               "obligation):")
    for line in _columns(*_rule_rows(info["rules"])):
        click.echo(line.rstrip())


@cli.group(short_help="Write a rulebook for a contract of your own: new, check.")
def rulebook() -> None:
    """Write a rulebook for a contract of your own (docs/your-own-contract.md).

    `deadlines rulebook new ID > ID.yaml` starts one; `deadlines rulebook check ID.yaml --text
    CONTRACT.txt` checks it, and every quote against the contract's text.
    """


@rulebook.command("check", short_help="Check a rulebook file, and its quotes against a text.")
@click.argument("file")
@click.option("--text", "text", default=None, metavar="CONTRACT.txt",
              help="The contract's text: every quote must stand at the line(s) it cites "
              "(apostrophes, no-break spaces and line breaks aside).")
def rulebook_check(file: str, text: str | None) -> None:
    """Check the rulebook FILE as every command reads it: its fields, ids, chains (no cycle),
    periods, zones and calendars that exist, every actor one of its parties, every
    `fulfilled_by` declared; and count each trigger once. With --text, find every quote at its
    lines. Prints one line on success; the first mistake as FILE:LINE: FIELD: ... (exit 2).
    """
    from . import authoring  # deferred: only these commands need it

    click.echo(authoring.check(file, text).summary())


@rulebook.command("new", short_help="Print a commented rulebook to start from.")
@click.argument("book_id", metavar="ID")
def rulebook_new(book_id: str) -> None:
    """Print a commented rulebook for the agreement ID, with one rule of each kind (an
    obligation, a right, a limit, a recurring duty, a chained step, business days, business
    hours): `deadlines rulebook new acme-msa > acme-msa.yaml`. It passes `check` once every
    quote is written.
    """
    from . import authoring  # deferred: only these commands need it

    click.echo(authoring.skeleton(book_id), nl=False)


@cli.command(short_help="A date plus a period, with no agreement: a calculator.")
@click.argument("when")
@click.argument("period")
@click.option("--calendar", default=None,
              help="Business calendar such as FR or AU-VIC (needed for business days).")
@click.option("--roll", type=click.Choice(ROLLS), default="none", show_default=True,
              help="Move the due date off a non-business day (needs --calendar).")
@click.option("--tz", default="UTC", show_default=True,
              help="IANA time zone for a WHEN with a time and no offset, and for the answer.")
@click.option("--before", is_flag=True, help="Count backward (the latest date to act).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output: text, or json ({due, explanation}).")
def add(when: str, period: str, calendar: str | None, roll: str, tz: str, before: bool,
        fmt: str) -> None:
    """WHEN plus PERIOD, counted as a contract would count it.

    WHEN is a date or an ISO 8601 date-time. PERIOD is 30d, 30 days, 2w, 48h, 1 month or
    30 business days (with --calendar), for instance:
    deadlines add 2026-03-02 "30 business days" --calendar FR
    """
    due, steps, warnings = api.add(when, period, calendar=calendar, roll=roll, tz=tz,
                                   backward=before)
    _warn(warnings)
    due_text = api.due_iso(due, zone=tz)
    if fmt == "json":
        click.echo(_dumps({"due": due_text, "explanation": " ".join(steps)},
                          ensure_ascii=False, indent=2))
        return
    click.echo(due_text)
    for step in steps:
        click.echo(f"  {step}")


def _natural(text: str) -> list[Any]:
    """Sort key that reads numbers as numbers: start/9 before start/22."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


_events_dir = click.argument("events_dir", default="events", type=click.Path())


def _feed_size_options(f: Any) -> Any:
    """What goes in the aggregates, and how big any feed may grow (build and serve)."""
    f = click.option("--aggregate-days-ahead", default=AGGREGATE_DAYS_AHEAD, show_default=True,
                     type=click.IntRange(0, 3650),
                     help="all/ours/theirs hold obligations and rights due up to this many "
                     "days ahead (each contract's feed holds everything in its window).")(f)
    f = click.option("--aggregate-past-days", default=AGGREGATE_PAST_DAYS, show_default=True,
                     type=click.IntRange(0, 3650),
                     help="all/ours/theirs hold obligations and rights due from this many days "
                     "back.")(f)
    f = click.option("--max-feed-bytes", default=MAX_FEED_BYTES, show_default=True,
                     type=click.IntRange(min=0),
                     help="A larger feed leaves out the deadlines due latest and says so in its "
                     "description (Google Calendar stops reading at about 1 MB); an aggregate "
                     "is then also written split by agreement. 0: no limit.")(f)
    return f


@cli.command(short_help="Write the feed files from the event logs (for cron).",
             help="Regenerate the feed files from the event logs in EVENTS_DIR (quiet on "
             f"success, for cron).\n\n{_EVENTS_DIR_HELP}")
@_events_dir
@click.option("--out", default="feeds", show_default=True, type=OUT_FOLDER,
              help="Where the .ics files and their state file go.")
@click.option("--as-of", default=None, help="Status as of this date or date-time (default: "
              "now; a date alone is 12:00 UTC).")
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default="en", show_default=True,
              help="Language of summaries and descriptions (quotes stay in French).")
@click.option("--past-days", default=60, show_default=True, type=click.IntRange(0, 3650),
              help="Window: days back.")
@click.option("--horizon", default=12, show_default=True, type=click.IntRange(1, 120),
              help="Window: months ahead.")
@click.option("--grace-days", default=14, show_default=True, type=click.IntRange(0, 3650),
              help="Days a fulfilled or withdrawn deadline stays as CANCELLED.")
@_feed_size_options
@click.option("-j", "--jobs", default=None, type=click.IntRange(1, 1024),
              help="Worker processes for the contracts to compute (default: one per CPU); "
              "the feeds are the same bytes whatever the number.")
@click.option("-v", "--verbose", is_flag=True, help="List what changed.")
def build(events_dir: str, out: str, as_of: str | None, lang: str, past_days: int,
          horizon: int, grace_days: int, max_feed_bytes: int, aggregate_past_days: int,
          aggregate_days_ahead: int, jobs: int | None, verbose: bool) -> None:
    """Regenerate the feed files from the event logs (help text above)."""
    moment = api.parse_as_of(as_of)
    bar: Any = None
    progress = None
    if sys.stderr.isatty():
        from pathlib import Path

        count = sum(1 for p in Path(events_dir).glob("*.y*ml")) if Path(events_dir).is_dir() else 0
        if count >= 200:
            bar = click.progressbar(length=count, label="contracts", file=sys.stderr)
            bar.__enter__()
            progress = bar.update
    try:
        report = api.build(events_dir, out, as_of=moment, lang=lang, past_days=past_days,
                           horizon_months=horizon, grace_days=grace_days, progress=progress,
                           jobs=jobs, max_feed_bytes=max_feed_bytes,
                           aggregate_past_days=aggregate_past_days,
                           aggregate_days_ahead=aggregate_days_ahead)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    _warn(report.warnings)
    if verbose:
        click.echo(f"{report.contracts} contracts, {report.deadlines} deadlines, "
                   f"{len(report.written)} feed(s) written, {len(report.unchanged)} unchanged")
        for path in report.written:
            click.echo(f"  wrote {path}")
        for note in report.notes:
            click.echo(f"  {note}")
        for uid in sorted(report.added_uids, key=_natural):
            click.echo(f"  new deadline {uid}")
        for uid in sorted(report.changed_uids, key=_natural):
            click.echo(f"  changed deadline {uid}")


@cli.command(short_help="What is missed, late or due soon, per contract.",
             help="What is missed, late, and due within the window, per contract, from the "
             f"event logs in EVENTS_DIR.\n\n{_EVENTS_DIR_HELP}")
@_events_dir
@click.option("--as-of", default=None, help="Date or date-time (default: now; a date alone is "
              "12:00 UTC).")
@click.option("--within", default="14d", show_default=True,
              help="Window ahead for due-within: 14d, 2w, 48h, 1 month.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output: table, json (keys in the README), or csv "
              "(contract, rule, due, status, owner, actor, clause, action).")
@click.option("--fail-on", default="", help="Exit 1 when any deadline is in one of these "
              "states: missed, late, due-within (comma-separated).")
@click.option("--owner", default=None, metavar="ADDR",
              help="Only the deadlines this owner answers for (an e-mail address).")
def status(events_dir: str, as_of: str | None, within: str, fmt: str, fail_on: str,
           owner: str | None) -> None:
    """What is missed, late, and due within the window, per contract (help text above)."""
    wanted = {s.strip() for s in fail_on.split(",") if s.strip()}
    unknown = wanted - set(ALERT_STATES)
    if unknown:
        raise DeadlinesError(f"--fail-on: unknown state(s) {', '.join(sorted(unknown))}; "
                             f"expected {', '.join(ALERT_STATES)}")
    moment = api.parse_as_of(as_of)
    found = api.status_rows(events_dir, as_of=moment, within=api.parse_span(within),
                            owner=owner)
    rows = [row.json() for row in found]
    if fmt == "json":
        click.echo(_dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        from .csvio import status_csv

        click.echo(status_csv(found), nl=False)
    else:
        if not found:
            whose = f" for {owner}" if owner else ""
            click.echo(f"Nothing missed, late or due within {within}{whose} as of "
                       f"{moment:%Y-%m-%d %H:%M} UTC.")
        current = None
        for row in found:
            if row.contract != current:
                current = row.contract
                region = f", region {row.region}" if row.region else ""
                owned = f"; owner {row.contract_owner}" if row.contract_owner else ""
                click.echo(f"{row.name} ({row.contract}, {row.agreement}{region}){owned}")
                if row.term:
                    click.echo(f"  term: {row.term}")
            level = f" ({row.severity})" if row.severity else ""
            click.echo(f"  {row.alert or '':<10} {row.due or '':<25} {row.rule + level:<32} "
                       f"{row.side:<6} {row.actor:<8} clause {row.clause}")
            if row.owner and row.owner != row.contract_owner:
                click.echo(f"  {'':<10} owner: {row.owner}")
            if row.record:
                click.echo(f"  {'':<10} when done: {row.record}")
    if wanted and any(row["alert"] in wanted for row in rows):
        sys.exit(1)


@cli.command(short_help="E-mail or post each owner what newly entered a stage (for cron).",
             help="Tell each owner, by e-mail, webhook or outbox, which deadlines of the event "
             "logs in EVENTS_DIR newly entered a stage: due within 7 days, within 1 day, within 2 "
             "hours (hour-based deadlines), missed. One message per recipient per run, each "
             "deadline once per stage (again if its date moves), with the `deadlines record` "
             "command that closes it. What was sent is kept in --out. Quiet on success; exit 1 "
             "when a message was not delivered (it is sent on the next run) or an alert has "
             "nobody to go to.\n\n"
             f"{_EVENTS_DIR_HELP}\n\nSMTP login: the environment variables "
             "DEADLINES_SMTP_USER and DEADLINES_SMTP_PASSWORD (never an option). STARTTLS is "
             "used whenever the server offers it, and required unless the server is on "
             "loopback or --smtp-insecure is given.")
@_events_dir
@click.option("--out", default="feeds", show_default=True, type=OUT_FOLDER,
              help="The feeds' folder, where what was sent is kept (shared with `build`).")
@click.option("--as-of", default=None, help="Date or date-time (default: now; a date alone is "
              "12:00 UTC).")
@click.option("--smtp", default=None, metavar="HOST:PORT",
              help="Send e-mail through this SMTP server (port 25 when not given).")
@click.option("--from", "sender", default=None, metavar="ADDR",
              help="The sender of the e-mails: deadlines@example.org or 'Deadlines "
              "<deadlines@example.org>'.")
@click.option("--to", "fallback", default=None, metavar="ADDR",
              help="Where the deadlines that have no owner go.")
@click.option("--smtp-insecure", is_flag=True,
              help="Send without TLS when the server does not offer STARTTLS.")
@click.option("--webhook", default=None, metavar="URL", envvar="DEADLINES_WEBHOOK_URL",
              help="POST each message as JSON ({text, deadlines}) to this https URL (a Slack, "
              "Mattermost or Teams incoming webhook); or set DEADLINES_WEBHOOK_URL.")
@click.option("--outbox", default=None, metavar="DIR", type=click.Path(),
              help="Write each message as an .eml file in DIR (for a mail system that picks "
              "files up, or an archive); a written file counts as delivered.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the messages.")
@click.option("--dry-run", is_flag=True,
              help="Print the messages a run would send; send nothing, record nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Say what was sent.")
def notify(events_dir: str, out: str, as_of: str | None, smtp: str | None, sender: str | None,
           fallback: str | None, smtp_insecure: bool, webhook: str | None,
           outbox: str | None, lang: str, dry_run: bool, verbose: bool) -> None:
    """Tell each owner what newly entered a stage (help text above)."""
    from .notify import subject, text_body

    moment = api.parse_as_of(as_of)
    report = api.notify(events_dir, out, as_of=moment, smtp=smtp, sender=sender,
                        smtp_insecure=smtp_insecure, webhook=webhook, fallback=fallback,
                        lang=lang, dry_run=dry_run, outbox=outbox)
    _warn(report.warnings)
    if dry_run:
        for message in report.messages:
            to = message.owner or message.recipient or "(no owner)"
            click.echo(f"To: {to}\nSubject: {subject(message)}\n")
            click.echo(text_body(message))
        click.echo(f"dry run: {len(report.messages)} message(s), {report.alerts} alert(s); "
                   "nothing sent, nothing recorded")
    elif verbose:
        click.echo(f"{report.contracts} contracts: {len(report.messages)} message(s) sent, "
                   f"{report.alerts} alert(s), {len(report.failures)} not delivered")
        for message in report.messages:
            click.echo(f"  {message.channel} to {message.recipient or '(no owner)'}: "
                       f"{len(message.alerts)} alert(s)")
    for failure in report.failures:
        click.echo(f"deadlines: error: {failure.channel} to {failure.recipient or '(no owner)'} "
                   f"({failure.alerts} alert(s)) not delivered: {failure.reason}; it is sent "
                   "again on the next run", err=True)
    if report.unaddressed:
        click.echo(f"deadlines: error: {report.unaddressed} alert(s) have no owner and no --to, "
                   "so no e-mail: name an owner in the contract or pass --to", err=True)
    if report.failures or (report.unaddressed and not dry_run):
        sys.exit(1)


@cli.command(short_help="Append an event to a contract's log.")
@click.argument("file", type=click.Path())
@click.argument("event_type", metavar="TYPE")
@click.option("--at", default=None, help="When it happened: a date or an ISO 8601 date-time "
              "(default: now, in the contract's zone).")
@click.option("--ref", default=None, help="The id of the event this one fulfils or withdraws "
              "(default for a fulfilment: the latest open trigger it can close).")
@click.option("--note", default=None, help="Free text kept with the event (shown in the feeds).")
@click.option("--severity", default=None, help="Severity, for an event whose rules depend on "
              "one: a name or an alias from `deadlines rules AGREEMENT`.")
@click.option("--id", "event_id", default=None,
              help="A stable id for the new event (default: TYPE@WHEN).")
@click.option("--rule", default=None, help="For TYPE done: the id of the rule it fulfils.")
@click.option("--by", type=click.Choice([b.value for b in By]), default=None,
              help="Who gave the notice or did the event; decides who owes the rules either "
              "party may owe (default: the agreement's default for TYPE).")
def record(file: str, event_type: str, at: str | None, ref: str | None, note: str | None,
           severity: str | None, event_id: str | None, rule: str | None, by: str | None
           ) -> None:
    """Append an event to the contract log FILE and print the deadlines it sets off or closes.

    TYPE is one of the agreement's events (`deadlines rules AGREEMENT --events` lists them
    with the rules each fulfilment closes), `done` with --rule for any rule, or `withdrawn`
    with --ref for an entry recorded in error. The feeds change at the next `deadlines build`.
    """
    log, event, concerned = api.record(file, event_type, at, ref=ref, note=note,
                                       severity=severity, event_id=event_id, rule=rule, by=by)
    _warn(log.warnings)
    click.echo(f"Recorded {event.type} at {event.at_text} in {file} (id {event.id}, for --ref)")
    for t in concerned:
        due = api.due_iso(t.deadline.due, log.settings) or "no date"
        level = f" ({t.deadline.rule.severity})" if t.deadline.rule.severity else ""
        click.echo(f"  {due:<25} {t.deadline.rule.id + level:<32} {t.status:<9} "
                   f"{t.deadline.rule.actor:<8} {t.deadline.rule.action}")
    click.echo("Run `deadlines build` to update the feeds (`deadlines serve` picks the change "
               "up by itself).")


@cli.command("import", short_help="Create event logs from a CSV of contracts.")
@click.argument("csv_file", metavar="CSV", type=click.Path())
@click.option("--events", "events_dir", default="events", show_default=True,
              type=click.Path(), help="The folder of event logs to create them in.")
@click.option("--update", is_flag=True, help="Merge a row whose contract already has a log "
              "into that log's contract: section (events and comments kept as they are).")
@click.option("-v", "--verbose", is_flag=True, help="List every log created or updated.")
def import_(csv_file: str, events_dir: str, update: bool, verbose: bool) -> None:
    """Create one event log per row of CSV, a spreadsheet of contracts saved as CSV (UTF-8,
    a header row).

    Columns: id, agreement and start (required), timezone, calendar, region, role, roll, name,
    owner (Name <address>), and the term: term_initial, term_renewal, term_auto_renew (true or
    false), term_notice, term_ends; an empty cell leaves the field out. Every row is checked
    first; an error is one line (CSV:ROW: column: what was expected, exit 2) and creates
    nothing. A log that exists is never overwritten: its row is an error unless --update is
    given.
    """
    report = api.import_contracts(csv_file, events_dir, update=update)
    click.echo(f"{csv_file}: {len(report.created)} log(s) created, {len(report.updated)} "
               f"updated, {len(report.unchanged)} unchanged in {events_dir}")
    if verbose:
        for path in report.created:
            click.echo(f"  created {path}")
        for path in report.updated:
            click.echo(f"  updated {path}")


@cli.command(short_help="Serve the feeds for calendar subscriptions.",
             help="Serve the feeds of the event logs in EVENTS_DIR for calendar subscriptions "
             f"(waitress, loopback by default).\n\n{_EVENTS_DIR_HELP}")
@_events_dir
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep loopback and put TLS in front (--public-url).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--tokens", default=".deadlines-tokens.json", show_default=True,
              type=click.Path(), help="The token file (`deadlines token create` fills it).")
@click.option("--out", default="feeds", show_default=True, type=OUT_FOLDER,
              help="Where the feed files and their state live (shared with `build`).")
@click.option("--public-url", default=None,
              help="Base URL people subscribe to, such as https://deadlines.example.org")
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default="en", show_default=True,
              help="Language of summaries, descriptions and the subscribe page.")
@_feed_size_options
@click.option("-j", "--jobs", default=None, type=click.IntRange(1, 1024),
              help="Worker processes of a rebuild (default: one per CPU for the first "
              "build, one fewer (at least one) for the rebuilds while serving).")
def serve(events_dir: str, host: str, port: int, tokens: str, out: str, public_url: str | None,
          lang: str, max_feed_bytes: int, aggregate_past_days: int, aggregate_days_ahead: int,
          jobs: int | None) -> None:
    """Serve the feeds for calendar subscriptions (help text above)."""
    from .feeds import FeedOptions
    from .server import serve as run

    _check_host(host, port)
    run(events_dir, host=host, port=port, tokens=tokens, out=out, public_url=public_url,
        options=FeedOptions(lang=lang, max_feed_bytes=max_feed_bytes,
                            aggregate_past_days=aggregate_past_days,
                            aggregate_days_ahead=aggregate_days_ahead), jobs=jobs)


def _check_host(host: str, port: int) -> None:
    """A host that names no address (999.1.1.1, a misspelt name) is the user's mistake, said
    before the server starts (waitress would raise a bare ValueError)."""
    import socket

    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeadlinesError(f"{host!r} is not an address this machine can listen on "
                             f"({reason})", field="--host") from None


@cli.group(short_help="Manage the tokens that open subscribed feeds.")
def token() -> None:
    """Manage the secret tokens that open subscribed feeds."""


_tokens_option = click.option("--tokens", default=".deadlines-tokens.json", show_default=True,
                              type=click.Path(), help="The token file.")


@token.command("create", short_help="Create a token for a feed scope (printed once).")
@click.argument("scope")
@click.option("--label", default="", help="Who or what the token is for.")
@_tokens_option
def token_create(scope: str, label: str, tokens: str) -> None:
    """Create a token for SCOPE: all, ours, theirs, contract:<contract-id> or
    owner:<address> (the deadlines one owner answers for).

    The token is printed once; the file keeps only its hash.
    """
    from .tokens import TokenStore

    secret, record = TokenStore.load(tokens).create(scope, label)
    click.echo(f"token {record.id} for {record.scope}: {secret}")
    click.echo(f"  feed: /{secret}/deadlines.ics   page: /{secret}/")


@token.command("list", short_help="The tokens in the file (ids and scopes).")
@_tokens_option
def token_list(tokens: str) -> None:
    """The tokens in the file (ids and scopes; the secrets are not stored)."""
    from .tokens import TokenStore

    for record in TokenStore.load(tokens).records:
        state = "revoked" if record.revoked else "active"
        click.echo(f"{record.id}  {state:<8} {record.scope:<30} {record.created}  {record.label}")


@token.command("revoke", short_help="Revoke a token by its id.")
@click.argument("token_id")
@_tokens_option
def token_revoke(token_id: str, tokens: str) -> None:
    """Revoke the token whose id is TOKEN_ID (`deadlines token list` shows the ids)."""
    from .tokens import TokenStore

    record = TokenStore.load(tokens).revoke(token_id)
    click.echo(f"revoked {record.id} ({record.scope})")


def main() -> None:
    try:
        cli(prog_name="deadlines")
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


__all__ = ["EXIT_BAD_INPUT", "cli", "main"]
