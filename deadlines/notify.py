"""`deadlines notify`: tell each owner what newly entered a stage, by e-mail or webhook, once.

A deadline still to be met enters a stage as its end comes near: due within 7 days, within 1
day, within 2 hours (hour-based deadlines only), then missed. Each run (cron, every few
minutes) sends every recipient at most one message per channel, holding each deadline that
entered a stage more urgent than the last one sent for it, or whose due date moved since (the
message says from when to when), or whose owner changed. A deadline fulfilled or withdrawn
drops out; recorded late, it stops.

What was sent is kept beside the feeds, one small JSON file per channel and recipient
(`.deadlines-notify/<channel>/<hash of the recipient>.json`: per deadline UID, the stage and the
due date sent). A file is replaced atomically, under the build lock, right after its message was
accepted, so a run killed at any instant resends at most the message that was in flight (never
loses one); a message that was not accepted is not recorded and goes out on the next run. A
damaged file is read as empty, with a warning: its alerts go out again rather than never. One
run at a time (`.deadlines-notify.lock`); a second one waits, then finds nothing new to send.

Delivery: SMTP (`smtplib`; STARTTLS whenever the server offers it, required unless the server
is on loopback or `insecure` is set; login from environment variables only) as plain text plus
HTML; or an HTTP POST of JSON with a `text` field (what Slack, Mattermost and Teams incoming
webhooks accept) plus the structured deadlines. Redirects are not followed: a POST turned into
a GET would look delivered.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import ipaddress
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any, Protocol

from .errors import DeadlinesError
from .labels import labels as shared_labels
from .rows import Row, rows_of
from .safeio import atomic_write, folder_lock, locked, read_limited
from .vocabulary import Kind, Status

MISSED_STAGE = str(Status.MISSED)  # the last stage is the status itself
STAGES = ("7d", "1d", "2h", MISSED_STAGE)  # from the least to the most urgent
# how long before its end a deadline enters each stage; 2h only for hour-based deadlines
STAGE_LEAD = {"7d": timedelta(days=7), "1d": timedelta(days=1), "2h": timedelta(hours=2)}
MOVED = "moved"  # a deadline alerted before whose date moved out of every stage
NOTIFY_FOLDER = ".deadlines-notify"
NOTIFY_LOCK = ".deadlines-notify.lock"
STATE_VERSION = 1
MAX_STATE_BYTES = 64 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
SMTP_USER_ENV = "DEADLINES_SMTP_USER"
SMTP_PASSWORD_ENV = "DEADLINES_SMTP_PASSWORD"
WEBHOOK_ENV = "DEADLINES_WEBHOOK_URL"
NO_OWNER = ""  # the recipient of deadlines nobody owns, on a webhook

_OWN_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "stage.missed": "MISSED", "stage.2h": "due within 2 hours",
        "stage.1d": "due within 1 day", "stage.7d": "due within 7 days",
        "stage.moved": "moved", "sep": ": ",
        "subject": "Deadlines: {summary}",
        "count.missed": "{n} missed", "count.2h": "{n} due within 2 hours",
        "count.1d": "{n} due within 1 day", "count.7d": "{n} due within 7 days",
        "count.moved": "{n} moved",
        "intro": "As of {as_of}, these contract deadlines need your attention:",
        "intro.unowned": "As of {as_of}, these contract deadlines need attention. No owner is "
                         "named for them (owner: in the contract's event log), so they come to "
                         "this address:",
        "clause": "Clause",
        "moved": "Moved: it was due {old}; it is now due {new}.",
        "record": "When done, record it",
        "renewed": "If it is renewed, record it",
        "term_clause": "the contract's term (term: in {path})",
        "no_record": "Nothing to record: this occurrence can no longer be closed; the next "
                     "one is shown when it comes near.",
        "day": "{iso}, by the end of {weekday} {day} {month} {year} ({zone})",
        "instant": "{local} {zone} ({utc} UTC)",
        "footer": "Each deadline is sent once per stage (7 days, 1 day, 2 hours, missed) and "
                  "again if its date moves. Recording what was done (the command under each "
                  "deadline, run where `deadlines notify` runs) stops its alerts. Sent by "
                  "`deadlines notify`.",
    },
    "fr": {
        "stage.missed": "MANQUÉ", "stage.2h": "échéance dans moins de 2 heures",
        "stage.1d": "échéance dans moins d'un jour",
        "stage.7d": "échéance dans moins de 7 jours", "stage.moved": "déplacée",
        "sep": " : ",
        "subject": "Échéances : {summary}",
        "count.missed": "{n} manquée(s)", "count.2h": "{n} dans moins de 2 heures",
        "count.1d": "{n} dans moins d'un jour", "count.7d": "{n} dans moins de 7 jours",
        "count.moved": "{n} déplacée(s)",
        "intro": "Au {as_of}, ces échéances contractuelles demandent votre attention :",
        "intro.unowned": "Au {as_of}, ces échéances contractuelles demandent attention. Aucun "
                         "responsable n'est indiqué (owner: dans le journal du contrat) ; elles "
                         "sont donc envoyées à cette adresse :",
        "clause": "Clause",
        "moved": "Déplacée : l'échéance était le {old} ; elle est désormais le {new}.",
        "record": "Une fois fait, l'enregistrer",
        "renewed": "S'il est renouvelé, l'enregistrer",
        "term_clause": "la durée du contrat (term: dans {path})",
        "no_record": "Rien à enregistrer : cette occurrence ne peut plus être close ; la "
                     "suivante sera signalée à son approche.",
        "day": "{iso}, au plus tard à la fin du {weekday} {day} {month} {year} ({zone})",
        "instant": "{local} {zone} ({utc} UTC)",
        "footer": "Chaque échéance est envoyée une fois par étape (7 jours, 1 jour, 2 heures, "
                  "manquée), et de nouveau si sa date change. Enregistrer ce qui a été fait "
                  "(la commande sous chaque échéance, lancée là où `deadlines notify` "
                  "s'exécute) arrête ses alertes. Envoyé par `deadlines notify`.",
    },
}
# the words an alert shares with the feeds and the page (due, what, who, sides, owner) are
# theirs (labels.py), named once; the rest are the alert's own
LABELS = {lang: {**shared_labels(lang), **own} for lang, own in _OWN_LABELS.items()}
_WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday"),
             "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")}
_MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"),
           "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                  "septembre", "octobre", "novembre", "décembre")}


def stage_of(row: Row, as_of: datetime) -> str | None:
    """The most urgent stage a deadline is in as of `as_of`, or None.

    Only obligations with a date are alerted, and the end of a contract's last term (its
    expiry: 7 days and 1 day before): a right opens (nobody misses it by not acting) and a
    limit's period ending asks nothing of anyone."""
    if row.ends_contract:
        left = row.due_end - as_of
        if row.status != Status.PENDING or left < timedelta(0):
            return None
        return "1d" if left <= STAGE_LEAD["1d"] else "7d" if left <= STAGE_LEAD["7d"] else None
    if row.kind != Kind.OBLIGATION:
        return None
    if row.status == Status.MISSED:
        return MISSED_STAGE
    if row.status != Status.PENDING:
        return None
    left = row.due_end - as_of
    if row.hour_based and left <= STAGE_LEAD["2h"]:
        return "2h"
    if left <= STAGE_LEAD["1d"]:
        return "1d"
    if left <= STAGE_LEAD["7d"]:
        return "7d"
    return None


def rank(stage: str | None) -> int:
    """0 for no stage (or only moved), then 7d < 1d < 2h < missed."""
    return STAGES.index(stage) + 1 if stage in STAGES else 0


# ---------------------------------------------------------------------------------------------
# What was sent


@dataclass(frozen=True)
class Sent:
    """The last alert sent for one deadline to one recipient on one channel."""

    stage: str
    due: str | None
    key: str
    at: str


class NotifyState:
    """Per channel and recipient, per deadline UID, the last alert sent (see the module doc)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sent: dict[tuple[str, str], dict[str, Sent]] = {}
        self.warnings: list[str] = []

    @staticmethod
    def file_name(recipient: str) -> str:
        """A recipient's file: a hash of the address, so any address is a safe file name."""
        return hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:32] + ".json"

    def path(self, channel: str, recipient: str) -> Path:
        return self.folder / NOTIFY_FOLDER / channel / self.file_name(recipient)

    @classmethod
    def load(cls, out: Path, channels: Iterable[str]) -> NotifyState:
        state = cls(out)
        for channel in channels:
            folder = out / NOTIFY_FOLDER / channel
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                try:
                    recipient, entries = _parse_state(read_limited(path, MAX_STATE_BYTES,
                                                                   "notify state file"))
                except (DeadlinesError, ValueError) as exc:
                    message = exc.message if isinstance(exc, DeadlinesError) else str(exc)
                    state.warnings.append(
                        f"{path}: damaged ({message}); the alerts it recorded will be sent "
                        "again")
                    continue
                if path.name != cls.file_name(recipient):
                    state.warnings.append(f"{path}: not the file of {recipient!r}; ignored")
                    continue
                state.sent[(channel, recipient)] = entries
        return state

    def last(self, channel: str, recipient: str, uid: str) -> Sent | None:
        return self.sent.get((channel, recipient), {}).get(uid)

    def mark(self, channel: str, recipient: str, alerts: Sequence[Alert], at: datetime) -> None:
        """Record a message as accepted: in memory, then its recipient's file, atomically,
        under the build lock."""
        entries = self.sent.setdefault((channel, recipient), {})
        when = at.astimezone(UTC).isoformat(timespec="seconds")
        for alert in alerts:
            entries[alert.row.uid] = Sent(alert.stage, alert.row.due, alert.row.key, when)
        self.save(channel, recipient)

    def prune(self, channel: str, current: dict[str, str]) -> None:
        """Forget the deadlines that are no longer open, or that another recipient now answers
        for (`current`: UID -> recipient), so that one reopened (its fulfilment withdrawn)
        or handed back is alerted again."""
        for (kind, recipient), entries in list(self.sent.items()):
            if kind != channel:
                continue
            stale = [uid for uid in entries if current.get(uid) != recipient]
            if stale:
                for uid in stale:
                    del entries[uid]
                self.save(channel, recipient)

    def save(self, channel: str, recipient: str) -> None:
        path = self.path(channel, recipient)
        entries = self.sent.get((channel, recipient), {})
        with locked(folder_lock(self.folder)):
            if not entries:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                return
            data = {"version": STATE_VERSION, "channel": channel, "recipient": recipient,
                    "sent": {uid: {"stage": s.stage, "due": s.due, "key": s.key, "at": s.at}
                             for uid, s in sorted(entries.items())}}
            atomic_write(path, (json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)
                                + "\n").encode("utf-8"))


def _parse_state(raw: bytes) -> tuple[str, dict[str, Sent]]:
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ValueError(f"not a version {STATE_VERSION} notify state file")
    recipient, sent = data.get("recipient"), data.get("sent")
    if not isinstance(recipient, str) or not isinstance(sent, dict):
        raise ValueError("'recipient' must be text and 'sent' an object")
    entries: dict[str, Sent] = {}
    for uid, item in sent.items():
        if not isinstance(item, dict) or item.get("stage") not in (*STAGES, MOVED):
            raise ValueError(f"entry {str(uid)[:40]!r} has no known stage")
        due, key, at = item.get("due"), item.get("key", ""), item.get("at", "")
        if not (due is None or isinstance(due, str)) or not isinstance(key, str) \
                or not isinstance(at, str):
            raise ValueError(f"entry {str(uid)[:40]!r}: due, key and at must be text")
        entries[str(uid)] = Sent(item["stage"], due, key, at)
    return recipient, entries


# ---------------------------------------------------------------------------------------------
# What to send


@dataclass(frozen=True)
class Alert:
    row: Row
    stage: str  # a STAGES value, or MOVED (moved out of every stage)
    moved_from: str | None = None  # the due date sent before, when it moved


@dataclass
class Message:
    channel: str
    recipient: str  # an address, or NO_OWNER on a webhook
    owner: str | None  # `Name <address>` as the log wrote it, when the recipient is an owner
    alerts: list[Alert]
    as_of: datetime
    lang: str = "en"

    @property
    def fingerprint(self) -> str:
        """The same alerts to the same recipient give the same id (a resent message is
        recognisable as the same one by a mail client)."""
        material = [self.channel, self.recipient,
                    sorted((a.row.uid, a.stage, a.row.due or "") for a in self.alerts)]
        return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()[:32]


def plan(rows: Iterable[Row], state: NotifyState, channel: str, as_of: datetime, *,
         fallback: str | None, lang: str = "en") -> tuple[list[Message], dict[str, str], int]:
    """The messages of one channel: per recipient, the deadlines that entered a new stage,
    moved, or changed hands since the last alert sent to that recipient.

    Returns the messages, every open deadline's recipient (UID -> recipient, for `prune`), and
    how many alerts have no recipient (no owner, no fallback; on a webhook NO_OWNER receives
    them)."""
    by_recipient: dict[str, list[Alert]] = {}
    owners: dict[str, str | None] = {}
    current: dict[str, str] = {}
    unaddressed = 0
    for row in rows:
        if (row.kind != Kind.OBLIGATION and not row.ends_contract) \
                or row.status not in (Status.PENDING, Status.MISSED):
            continue
        recipient = row.owner_address or fallback
        if recipient is None:
            if channel != "webhook":
                unaddressed += stage_of(row, as_of) is not None
                continue
            recipient = NO_OWNER
        recipient = recipient.lower()
        current[row.uid] = recipient
        stage = stage_of(row, as_of)
        last = state.last(channel, recipient, row.uid)
        moved_from = last.due if last is not None and last.due != row.due else None
        if stage is None:
            if moved_from is None or last is None:
                continue
            alert = Alert(row, MOVED, moved_from)  # alerted before, now out of every stage
        elif last is None or moved_from is not None or rank(stage) > rank(last.stage):
            alert = Alert(row, stage, moved_from)
        else:
            continue
        by_recipient.setdefault(recipient, []).append(alert)
        owners.setdefault(recipient, row.owner if row.owner_address else None)
    messages = []
    for recipient in sorted(by_recipient):
        alerts = sorted(by_recipient[recipient],
                        key=lambda a: (-rank(a.stage), a.row.due_end, a.row.contract, a.row.key))
        messages.append(Message(channel, recipient, owners[recipient], alerts, as_of, lang))
    return messages, current, unaddressed


# ---------------------------------------------------------------------------------------------
# How it reads


def due_words(row: Row, lang: str = "en") -> str:
    """'2026-12-01, by the end of Tuesday 1 December 2026 (Europe/Paris)', or for an instant
    '2026-11-25 11:05 Europe/Paris (10:05 UTC)'."""
    from .calendars import load_zone

    labels = LABELS[lang]
    zone = load_zone(row.zone)
    if row.due is None:
        return "-"
    if row.hour_based:
        local = row.due_end.astimezone(zone)
        return labels["instant"].format(local=f"{local:%Y-%m-%d %H:%M}", zone=row.zone,
                                        utc=f"{row.due_end.astimezone(UTC):%Y-%m-%d %H:%M}")
    day = (row.due_end - timedelta(microseconds=1)).astimezone(zone).date()
    number = "1er" if lang == "fr" and day.day == 1 else str(day.day)
    return labels["day"].format(iso=row.due, weekday=_WEEKDAYS[lang][day.weekday()],
                                day=number, month=_MONTHS[lang][day.month - 1], year=day.year,
                                zone=row.zone)


def _as_of_words(as_of: datetime) -> str:
    return f"{as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def subject(message: Message) -> str:
    labels = LABELS[message.lang]
    counts: dict[str, int] = {}
    for alert in message.alerts:
        counts[alert.stage] = counts.get(alert.stage, 0) + 1
    parts = [labels[f"count.{stage}"].format(n=counts[stage])
             for stage in (*reversed(STAGES), MOVED) if stage in counts]
    names = sorted({a.row.name for a in message.alerts})
    where = f" - {names[0]}" if len(names) == 1 else ""
    return _one_line(labels["subject"].format(summary=", ".join(parts)) + where)


def _one_line(text: str) -> str:
    from .feeds import one_line

    return one_line(text)


def _heading(alert: Alert, lang: str) -> str:
    row = alert.row
    level = f" ({row.severity})" if row.severity else ""
    title = row.title_fr if lang == "fr" else row.title
    return _one_line(f"{LABELS[lang]['stage.' + alert.stage]}{LABELS[lang]['sep']}{title}"
                     f"{level} - {row.name} "
                     f"({row.contract}, {row.rule})")


def _details(alert: Alert, lang: str) -> list[tuple[str, str]]:
    """(label, value) lines under an alert's heading; the record command last."""
    labels = LABELS[lang]
    row = alert.row
    lines = [(labels["due"], due_words(row, lang))]
    if alert.moved_from is not None:
        lines.append(("", labels["moved"].format(old=alert.moved_from, new=row.due)))
    side = labels[row.side]
    who = (row.who_fr if lang == "fr" else row.who) or row.actor
    clause = labels["term_clause"].format(path=row.path) if row.origin == "contract" else \
        f"{row.agreement} {row.clause}"
    lines += [(labels["what"], row.action_fr if lang == "fr" else row.action),
              (labels["who"], f"{who} ({side})"), (labels["clause"], clause)]
    if row.owner:
        lines.append((labels["owner"], row.owner))
    if row.ends_contract and row.record:
        lines.append((labels["renewed"], row.record))
    else:
        lines.append((labels["record"], row.record) if row.record else
                     ("", labels["no_record"]))
    return lines


def _intro(message: Message) -> str:
    labels = LABELS[message.lang]
    key = "intro" if message.owner is not None else "intro.unowned"
    return labels[key].format(as_of=_as_of_words(message.as_of))


def text_body(message: Message) -> str:
    sep = LABELS[message.lang]["sep"]
    lines = [_intro(message), ""]
    for alert in message.alerts:
        lines.append(_heading(alert, message.lang))
        for label, value in _details(alert, message.lang):
            lines.append(f"  {label}{sep}{value}" if label else f"  {value}")
        lines.append("")
    lines.append(LABELS[message.lang]["footer"])
    return "\n".join(lines) + "\n"


def html_body(message: Message) -> str:
    esc = html.escape
    parts = [f'<!DOCTYPE html>\n<html lang="{message.lang}"><head><meta charset="utf-8">'
             f"<title>{esc(subject(message))}</title></head><body>",
             f"<p>{esc(_intro(message))}</p>"]
    for alert in message.alerts:
        colour = "#b00020" if alert.stage == MISSED_STAGE else "#000"
        parts.append(f'<h3 style="color:{colour}">{esc(_heading(alert, message.lang))}</h3>'
                     "<table>")
        for label, value in _details(alert, message.lang):
            shown = f"<code>{esc(value)}</code>" if alert.row.record and value == \
                alert.row.record else esc(value)
            parts.append(f'<tr><th style="text-align:left;vertical-align:top">{esc(label)}'
                         f"</th><td>{shown}</td></tr>")
        parts.append("</table>")
    parts.append(f"<p><small>{esc(LABELS[message.lang]['footer'])}</small></p></body></html>")
    return "\n".join(parts) + "\n"


def payload(message: Message) -> dict[str, Any]:
    """The webhook's JSON: `text` (what chat webhooks show) and the structured deadlines."""
    owner = None
    if message.recipient != NO_OWNER:
        name, address = parseaddr(message.owner or message.recipient)
        owner = {"name": name or None, "address": address or message.recipient,
                 "owner": message.owner is not None}
    return {
        "text": f"{subject(message)}\n\n{text_body(message)}",
        "as_of": message.as_of.astimezone(UTC).isoformat(timespec="seconds"),
        "recipient": owner,
        "deadlines": [{**alert.row.json(), "stage": alert.stage,
                       "moved_from": alert.moved_from, "action": alert.row.action}
                      for alert in message.alerts],
    }


def email_message(message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    name, address = parseaddr(sender)
    mail["From"] = Address(display_name=_one_line(name), addr_spec=address)
    owner_name = parseaddr(message.owner)[0] if message.owner else ""
    mail["To"] = Address(display_name=_one_line(owner_name), addr_spec=message.recipient)
    mail["Subject"] = subject(message)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    domain = address.rpartition("@")[2] or "deadlines.invalid"
    mail["Message-ID"] = f"<{message.fingerprint}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    mail["Content-Language"] = message.lang
    mail.set_content(text_body(message))
    mail.add_alternative(html_body(message), subtype="html")
    return mail


# ---------------------------------------------------------------------------------------------
# Delivery


class DeliveryError(Exception):
    """A message was not accepted; `unreachable`: nothing more can go out on this channel this
    run (the server could not be reached or refused us)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class Channel(Protocol):
    name: str

    def describe(self) -> str: ...
    def send(self, message: Message) -> None: ...
    def close(self) -> None: ...


def is_loopback(host: str) -> bool:
    """Loopback by its name or address alone (no DNS: a name that resolves to 127.0.0.1 is
    not trusted to keep doing so)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_host_port(text: str, default_port: int = 25) -> tuple[str, int]:
    """HOST, HOST:PORT or [IPv6]:PORT."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise DeadlinesError(f"{text!r} is not HOST:PORT", field="--smtp")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DeadlinesError(f"{port_text!r} is not a port number (1 to 65535)", field="--smtp")
    return host, int(port_text)


def smtp_credentials(environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The SMTP login, from the environment only (never the command line or a file)."""
    env = os.environ if environ is None else environ
    user, password = env.get(SMTP_USER_ENV), env.get(SMTP_PASSWORD_ENV)
    if not user and not password:
        return None
    if not user or password is None:
        raise DeadlinesError(f"set both {SMTP_USER_ENV} and {SMTP_PASSWORD_ENV} to log in to "
                             "the SMTP server, or neither")
    return user, password


def check_address(text: str, what: str) -> str:
    """An e-mail address (optionally `Name <address>`), or a one-line error naming `what`."""
    address = parseaddr(text)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        raise DeadlinesError(f"{what}: {text!r} is not an e-mail address such as "
                             "deadlines@example.org")
    return address


class SmtpChannel:
    """E-mail through one SMTP server, one connection per run (opened again after a refused
    message)."""

    name = "mail"

    def __init__(self, host: str, port: int, sender: str, *, insecure: bool = False,
                 credentials: tuple[str, str] | None = None,
                 timeout: float = TIMEOUT_SECONDS, context: ssl.SSLContext | None = None
                 ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.sender_address = check_address(sender, "--from")
        self.require_tls = not (insecure or is_loopback(host))
        self.credentials = credentials
        self.timeout = timeout
        self.context = context
        self._smtp: smtplib.SMTP | None = None

    def describe(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach the {self.describe()}: {_reason(exc)}",
                                unreachable=True) from None
        try:
            smtp.ehlo()
            encrypted = False
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.context or ssl.create_default_context())
                smtp.ehlo()
                encrypted = True
            elif self.require_tls:
                raise DeliveryError(
                    f"the {self.describe()} does not offer STARTTLS, which is required for a "
                    "server that is not on loopback (--smtp-insecure sends in clear text)",
                    unreachable=True)
            if self.credentials is not None:
                if not encrypted and self.require_tls:  # pragma: no cover - refused above
                    raise DeliveryError("no login without TLS", unreachable=True)
                smtp.login(*self.credentials)
        except DeliveryError:
            _quietly_close(smtp)
            raise
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            _quietly_close(smtp)
            raise DeliveryError(f"the {self.describe()} refused the session: {_reason(exc)}",
                                unreachable=True) from None
        return smtp

    def send(self, message: Message) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        mail = email_message(message, self.sender)
        try:
            refused = self._smtp.send_message(mail, from_addr=self.sender_address,
                                              to_addrs=[message.recipient])
        except (OSError, smtplib.SMTPException) as exc:
            # the next message opens a new session (and finds out if the server is gone)
            _quietly_close(self._smtp)
            self._smtp = None
            raise DeliveryError(f"not accepted: {_reason(exc)}") from None
        if refused:
            raise DeliveryError(f"not accepted: {_reason(refused)}")

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.close()


def _reason(exc: object) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _reason(exc.recipients)
    if isinstance(exc, dict):
        return "; ".join(f"{to}: {code} {_text(msg)}" for to, (code, msg) in exc.items())
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def _text(value: object) -> str:
    shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(shown.split())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is then raised as an HTTPError: not delivered


def check_webhook(url: str) -> str:
    """An https URL, or http on loopback; anything else is a one-line error."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeadlinesError("--webhook: expected an https:// URL", field=None)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise DeadlinesError("--webhook: expected an https:// URL (http:// is accepted only on "
                             "loopback: the URL and the deadlines would cross the network in "
                             "clear text)")
    return url


def shown_url(url: str) -> str:
    """A webhook URL as logs show it: its path is often the secret, so only scheme and host."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/..."


class WebhookChannel:
    """An HTTP POST of JSON per message; any 2xx is accepted, anything else is not."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = check_webhook(url)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def describe(self) -> str:
        return f"webhook {shown_url(self.url)}"

    def send(self, message: Message) -> None:
        body = json.dumps(payload(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": "deadlines-notify"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(1 << 16)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"not accepted: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DeliveryError(f"cannot reach the {self.describe()}: {_reason(reason)}",
                                unreachable=True) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"not accepted: HTTP {status}")

    def close(self) -> None:
        pass


class OutboxChannel:
    """Each message written as an RFC 5322 file (`.eml`) in a folder, replaced atomically: for
    a mail system that picks files up, for an archive, or to see exactly what goes out. A
    message counts as delivered once its file is in place."""

    name = "outbox"

    def __init__(self, folder: str | Path, sender: str = "deadlines@example.invalid") -> None:
        self.folder = Path(folder)
        self.sender = sender
        check_address(sender, "--from")

    def describe(self) -> str:
        return f"outbox {self.folder}"

    def send(self, message: Message) -> None:
        recipient = message.recipient or "no-owner"
        name = (f"{message.as_of.astimezone(UTC):%Y%m%dT%H%M%SZ}-{message.fingerprint[:12]}-"
                f"{NotifyState.file_name(recipient).removesuffix('.json')[:8]}.eml")
        mail = email_message(message, self.sender) if message.recipient else None
        data = bytes(mail) if mail is not None else (
            f"Subject: {subject(message)}\n\n{text_body(message)}").encode()
        try:
            atomic_write(self.folder / name, data)
        except DeadlinesError as exc:
            raise DeliveryError(f"not written: {exc.message}", unreachable=True) from None

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# A run


@dataclass
class Failure:
    channel: str
    recipient: str
    alerts: int
    reason: str


@dataclass
class NotifyReport:
    contracts: int = 0
    messages: list[Message] = field(default_factory=list)  # sent (or, dry run, to send)
    failures: list[Failure] = field(default_factory=list)
    unaddressed: int = 0  # alerts with no owner and no --to, on e-mail
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def alerts(self) -> int:
        return sum(len(m.alerts) for m in self.messages)


def notify(events_dir: str | Path, out: str | Path, *, as_of: datetime,
           channels: Sequence[Channel], lang: str = "en", fallback: str | None = None,
           dry_run: bool = False) -> NotifyReport:
    """One run: read every log (bad input stops everything before anything is sent), then per
    channel plan and send, recording each accepted message at once."""
    from .eventlog import load_dir

    if lang not in LABELS:
        raise DeadlinesError(f"unknown language {lang!r}; expected en or fr")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise DeadlinesError("expected the feeds' folder, found a file", file=str(folder))
    logs = load_dir(events_dir)
    rows = [row for log in logs for row in rows_of(log, as_of)]
    report = NotifyReport(contracts=len(logs), dry_run=dry_run)
    names = [c.name for c in channels] or ["mail"]
    if dry_run:
        state = NotifyState.load(folder, names)
        report.warnings += state.warnings
        for name in names:
            messages, _, unaddressed = plan(rows, state, name, as_of, fallback=fallback,
                                            lang=lang)
            report.messages += messages
            report.unaddressed += unaddressed
        return report
    with _run_lock(folder):
        state = NotifyState.load(folder, names)
        report.warnings += state.warnings
        for channel in channels:
            messages, current, unaddressed = plan(rows, state, channel.name, as_of,
                                                  fallback=fallback, lang=lang)
            report.unaddressed += unaddressed
            _deliver(channel, messages, state, report)
            state.prune(channel.name, current)
    return report


@contextlib.contextmanager
def _run_lock(folder: Path) -> Iterator[None]:
    with locked(folder / NOTIFY_LOCK):
        yield


def _deliver(channel: Channel, messages: list[Message], state: NotifyState,
             report: NotifyReport) -> None:
    blocked: str | None = None
    try:
        for message in messages:
            if blocked is not None:
                report.failures.append(Failure(channel.name, message.recipient,
                                               len(message.alerts), f"not sent: {blocked}"))
                continue
            try:
                channel.send(message)
            except DeliveryError as exc:
                report.failures.append(Failure(channel.name, message.recipient,
                                               len(message.alerts), str(exc)))
                if exc.unreachable:
                    blocked = str(exc)
                continue
            state.mark(channel.name, message.recipient, message.alerts, message.as_of)
            report.messages.append(message)
    finally:
        channel.close()
