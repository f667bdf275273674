"""The command line: a thin click layer; every command is one call into `deadlines.api`.

Exit codes: 0 success; 1 `status --fail-on` matched; 2 bad input (one line on stderr, nothing
written); 3 internal error (a bug: one line, DEADLINES_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from . import api
from .engine import Computation, Deadline
from .errors import EXIT_BAD_INPUT, DeadlinesError
from .safeio import ENVIRONMENT_ERRNOS

EXIT_INTERNAL = 3


class _Group(click.Group):
    """Turns every DeadlinesError, and every fault of the disk or the folders, into one line on
    stderr and exit code 2; anything else is a bug: one line and exit code 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeadlinesError as exc:
            click.echo(f"deadlines: error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deadlines")
def cli() -> None:
    """Contract deadlines: compute them, explain them, publish them as calendars."""


def _agreement_options(f: Any, formats: tuple[str, ...] = ("text", "json")) -> Any:
    f = click.option("--format", "fmt", type=click.Choice(list(formats)), default="text",
                     show_default=True)(f)
    f = click.option("--roll", type=click.Choice(["none", "following", "preceding"]),
                     default=None, help="Move a deadline off a non-business day (default: "
                     "the agreement's rule, normally none).")(f)
    f = click.option("--calendar", default=None,
                     help="Business calendar, e.g. FR or AU-VIC (default: the agreement's).")(f)
    f = click.option("--region", default=None, help="Region, for agreements that have them.")(f)
    f = click.option("--severity", default=None, help="Support request severity.")(f)
    f = click.option("--tz", default=None, help="IANA time zone (default: the agreement's).")(f)
    return f


def _compute_options(f: Any) -> Any:
    return _agreement_options(f, ("text", "json", "ics"))


def _warn(warnings: list[str]) -> None:
    for message in warnings:
        click.echo(f"deadlines: warning: {message}", err=True)


@cli.command()
@click.argument("agreement")
@click.argument("event")
@click.argument("when")
@_compute_options
def compute(agreement: str, event: str, when: str, tz: str | None, severity: str | None,
            region: str | None, calendar: str | None, roll: str | None, fmt: str) -> None:
    """Every deadline EVENT at WHEN sets off under AGREEMENT.

    WHEN is a date (2026-03-02) or an ISO 8601 date-time (2026-03-02T10:00 in the agreement's
    zone, or with an offset: 2026-03-02T10:00+01:00).
    """
    result = api.compute(agreement, event, when, severity=severity, region=region, tz=tz,
                         calendar=calendar, roll=roll)
    _warn(result.warnings)
    if fmt == "json":
        click.echo(json.dumps(api.computation_json(result), ensure_ascii=False, indent=2))
        return
    if fmt == "ics":
        click.echo(api.compute_ics(result), nl=False)
        return
    click.echo(_header(result))
    for line in _table(result):
        click.echo(line)


def _header(result: Computation) -> str:
    s = result.settings
    return (f"{result.rulebook.name} ({result.rulebook.id}): {result.event} at "
            f"{result.trigger.describe(s.zone)}\n"
            f"Zone {s.zone.key}, business calendar {s.calendar.label}, roll: {s.roll}"
            + (f", region {s.region}" if s.region else "") + "\n")


def _table(result: Computation) -> list[str]:
    s = result.settings
    lines: list[str] = []
    for d in result.deadlines:
        due = api.due_iso(d.due, s) or "no date"
        rule = d.rule.id + (f" ({d.rule.severity})" if d.rule.severity else "")
        if d.occurrence is not None:
            rule += f" #{d.occurrence}"
        lines.append(f"{due:<25} {rule:<30} {d.rule.actor:<9} {d.rule.action}")
        lines.append(f"{'':<25} clause {d.rule.source.clause}, seed line "
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


@cli.command()
@click.argument("agreement")
@click.argument("event")
@click.argument("when")
@click.option("--rule", "rule_id", required=True, help="Rule id, e.g. cure.")
@_agreement_options
def explain(agreement: str, event: str, when: str, rule_id: str, tz: str | None,
            severity: str | None, region: str | None, calendar: str | None, roll: str | None,
            fmt: str) -> None:
    """How the due date of one rule was reached, step by step."""
    result, matches = api.explain(agreement, event, when, rule_id, severity=severity,
                                  region=region, tz=tz, calendar=calendar, roll=roll)
    _warn(result.warnings)
    if fmt == "json":
        data = [api.deadline_json(d, result.settings) for d in matches]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for d in matches:
        click.echo(_explanation(d, result))


def _explanation(d: Deadline, result: Computation) -> str:
    s = result.settings
    rule = d.rule
    out = [f"{rule.id}: {rule.title}" + (f" (severity {rule.severity})" if rule.severity else "")
           + (f", occurrence {d.occurrence}" if d.occurrence is not None else "")]
    out.append(f"  Clause {rule.source.clause}, seed line(s) "
               f"{', '.join(map(str, rule.source.lines))}: « {rule.source.quote} »")
    out.append(f"  Who: {rule.actor}. What: {rule.action}")
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


@cli.command()
@click.argument("agreement", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def rules(agreement: str | None, fmt: str) -> None:
    """The rule catalog of one agreement, or of all of them."""
    rows = api.catalog(agreement)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        event = row["event"] if isinstance(row["event"], str) else "|".join(row["event"])
        period = row["period"] or "(no number)"
        if row["from"]:
            period += f" from {row['from']}"
        level = f" [{row['severity']}]" if row["severity"] else ""
        click.echo(f"{row['agreement']:<21} {row['id'] + level:<34} {event:<22} "
                   f"{row['direction']:<9} {period:<28} {row['actor']:<9} "
                   f"clause {row['source']['clause']} (line "
                   f"{','.join(map(str, row['source']['lines']))})")


@cli.command()
@click.argument("when")
@click.argument("period")
@click.option("--calendar", default=None, help="Business calendar, e.g. FR or AU-VIC.")
@click.option("--roll", type=click.Choice(["none", "following", "preceding"]), default="none",
              show_default=True)
@click.option("--tz", default="UTC", show_default=True, help="Zone for date-times.")
@click.option("--before", is_flag=True, help="Count backward (the latest date to act).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def add(when: str, period: str, calendar: str | None, roll: str, tz: str, before: bool,
        fmt: str) -> None:
    """WHEN plus PERIOD, e.g. `deadlines add 2026-03-02 "30 business days" --calendar FR`."""
    due, steps, warnings = api.add(when, period, calendar=calendar, roll=roll, tz=tz,
                                   backward=before)
    _warn(warnings)
    due_text = api.due_iso(due, zone=tz)
    if fmt == "json":
        click.echo(json.dumps({"due": due_text, "explanation": " ".join(steps)},
                              ensure_ascii=False, indent=2))
        return
    click.echo(due_text)
    for step in steps:
        click.echo(f"  {step}")


@cli.command()
@click.argument("events_dir", default="events", type=click.Path())
@click.option("--out", default="feeds", show_default=True, type=click.Path(),
              help="Where the .ics files go.")
@click.option("--as-of", default=None, help="Status as of this date or date-time (default: "
              "now; a date alone is 12:00 UTC).")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of summaries and descriptions (quotes stay in French).")
@click.option("--past-days", default=60, show_default=True, help="Window: days back.")
@click.option("--horizon", default=12, show_default=True, help="Window: months ahead.")
@click.option("--grace-days", default=14, show_default=True,
              help="Days a fulfilled or withdrawn deadline stays as CANCELLED.")
@click.option("-v", "--verbose", is_flag=True, help="List what changed.")
def build(events_dir: str, out: str, as_of: str | None, lang: str, past_days: int,
          horizon: int, grace_days: int, verbose: bool) -> None:
    """Regenerate the feed files from the event logs (quiet on success, for cron)."""
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
                           horizon_months=horizon, grace_days=grace_days, progress=progress)
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
        for uid in report.added_uids:
            click.echo(f"  new deadline {uid}")
        for uid in report.changed_uids:
            click.echo(f"  changed deadline {uid}")


@cli.command()
@click.argument("events_dir", default="events", type=click.Path())
@click.option("--as-of", default=None, help="Date or date-time (default: now).")
@click.option("--within", default="14d", show_default=True, help="Window ahead: 14d, 2w, 48h.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--fail-on", default="", help="Exit 1 when any deadline is in one of these "
              "states: missed, late, due-within (comma-separated).")
def status(events_dir: str, as_of: str | None, within: str, fmt: str, fail_on: str) -> None:
    """What is missed, late, and due within the window, per contract."""
    wanted = {s.strip() for s in fail_on.split(",") if s.strip()}
    unknown = wanted - set(api.ALERT_STATES)
    if unknown:
        raise DeadlinesError(f"--fail-on: unknown state(s) {', '.join(sorted(unknown))}; "
                             f"expected {', '.join(api.ALERT_STATES)}")
    moment = api.parse_as_of(as_of)
    rows = api.status(events_dir, as_of=moment, within=api.parse_span(within))
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        if not rows:
            click.echo(f"Nothing missed, late or due within {within} as of "
                       f"{moment:%Y-%m-%d %H:%M} UTC.")
        current = None
        for row in rows:
            if row["contract"] != current:
                current = row["contract"]
                click.echo(f"{row['name']} ({row['contract']}, {row['agreement']})")
            level = f" ({row['severity']})" if row["severity"] else ""
            click.echo(f"  {row['alert']:<10} {row['due']:<25} {row['rule'] + level:<32} "
                       f"{row['side']:<6} {row['actor']:<8} clause {row['clause']}")
    if wanted and any(row["alert"] in wanted for row in rows):
        sys.exit(1)


@cli.command()
@click.argument("file", type=click.Path())
@click.argument("type_")
@click.option("--at", default=None, help="When it happened (default: now, in the contract's "
              "zone).")
@click.option("--ref", default=None, help="The event this one fulfils or withdraws.")
@click.option("--note", default=None)
@click.option("--severity", default=None)
@click.option("--id", "event_id", default=None, help="A stable id for the new event.")
@click.option("--rule", default=None, help="For `done`: the rule it fulfils.")
def record(file: str, type_: str, at: str | None, ref: str | None, note: str | None,
           severity: str | None, event_id: str | None, rule: str | None) -> None:
    """Append an event to a contract's log and print what it sets off."""
    log, event, concerned = api.record(file, type_, at, ref=ref, note=note, severity=severity,
                                       event_id=event_id, rule=rule)
    _warn(log.warnings)
    click.echo(f"Recorded {event.type} {event.id} at {event.at_text} in {file}")
    for t in concerned:
        due = api.due_iso(t.deadline.due, log.settings) or "no date"
        level = f" ({t.deadline.rule.severity})" if t.deadline.rule.severity else ""
        click.echo(f"  {due:<25} {t.deadline.rule.id + level:<32} {t.status:<9} "
                   f"{t.deadline.rule.actor:<8} {t.deadline.rule.action}")


@cli.command()
@click.argument("events_dir", default="events", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--tokens", default=".deadlines-tokens.json", show_default=True,
              type=click.Path(), help="The token file (`deadlines token create` fills it).")
@click.option("--out", default="feeds", show_default=True, type=click.Path(),
              help="Where the feed files and their state live (shared with `build`).")
@click.option("--public-url", default=None,
              help="Base URL people subscribe to, e.g. https://deadlines.example.org")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True)
def serve(events_dir: str, host: str, port: int, tokens: str, out: str, public_url: str | None,
          lang: str) -> None:
    """Serve the feeds for calendar subscriptions (waitress, loopback by default)."""
    from .feeds import FeedOptions
    from .server import serve as run

    run(events_dir, host=host, port=port, tokens=tokens, out=out, public_url=public_url,
        options=FeedOptions(lang=lang))


@cli.group()
def token() -> None:
    """Manage the secret tokens that open subscribed feeds."""


_tokens_option = click.option("--tokens", default=".deadlines-tokens.json", show_default=True,
                              type=click.Path(), help="The token file.")


@token.command("create")
@click.argument("scope")
@click.option("--label", default="", help="Who or what the token is for.")
@_tokens_option
def token_create(scope: str, label: str, tokens: str) -> None:
    """Create a token for SCOPE: all, ours, theirs or contract:<contract-id>.

    The token is printed once; the file keeps only its hash.
    """
    from .tokens import TokenStore

    secret, record = TokenStore.load(tokens).create(scope, label)
    click.echo(f"token {record.id} for {record.scope}: {secret}")
    click.echo(f"  feed: /{secret}/deadlines.ics   page: /{secret}/")


@token.command("list")
@_tokens_option
def token_list(tokens: str) -> None:
    """The tokens in the file (ids and scopes; the secrets are not stored)."""
    from .tokens import TokenStore

    for record in TokenStore.load(tokens).records:
        state = "revoked" if record.revoked else "active"
        click.echo(f"{record.id}  {state:<8} {record.scope:<30} {record.created}  {record.label}")


@token.command("revoke")
@click.argument("token_id")
@_tokens_option
def token_revoke(token_id: str, tokens: str) -> None:
    """Revoke a token by its id (from `deadlines token list`)."""
    from .tokens import TokenStore

    record = TokenStore.load(tokens).revoke(token_id)
    click.echo(f"revoked {record.id} ({record.scope})")


def main() -> None:
    try:
        cli(prog_name="deadlines")
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


__all__ = ["EXIT_BAD_INPUT", "cli", "main"]
