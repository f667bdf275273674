"""Status rows: one tracked deadline as `status`, `notify` and the CSV export show it.

A row is plain data: what `deadlines status --format json` prints (`Row.json`), plus what the
commands built on it need (the instant the deadline passes, whether it counts hours, the
action, the log's path). `notify` and `status` read the same rows, so an alert and the status
table never disagree about a date, a status, an owner or the command that closes a deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .eventlog import ContractLog
from .terms import ends_contract, is_term_end, renewal_command, summary_for
from .tracking import Tracked, track
from .vocabulary import EITHER_PARTY, Alert, Kind, Side, Status


@dataclass(frozen=True)
class Row:
    """One dated deadline of one contract, as of one moment."""

    contract: str
    name: str
    agreement: str
    region: str | None
    rule: str
    severity: str | None
    title: str
    title_fr: str
    kind: str  # obligation, right or limit
    due: str | None  # YYYY-MM-DD, or an ISO date-time with the contract zone's offset
    due_end: datetime  # the instant it passes (a whole day ends at its midnight), UTC
    hour_based: bool
    zone: str
    status: str  # tracking.STATUSES
    alert: Alert | None  # missed, late or due-within (status's window), else None
    actor: str
    side: Side
    trigger: str | None  # the event id, None for a duty from the contract start
    clause: str
    action: str
    action_fr: str
    uid: str
    key: str  # contract/rule/trigger[/occurrence]: the deadline's identity in words
    record: str | None  # the `deadlines record` command that closes it, if any
    owner: str | None  # `Name <address>` of who answers for it, if anyone
    owner_address: str | None
    path: str  # the event log
    contract_owner: str | None = None  # the contract's own owner (`owner:`), if any
    # the contract's term: "renews on ... unless notice by ...", "ends on ...", "terminated on"
    term: str | None = None
    ends_contract: bool = False  # the last term's end: the contract expires (terms.py)
    origin: str = "rulebook"  # or "contract": a rule of the contract's own term (terms.py)
    who: str = ""  # the actor for people: the party's label (English), or "either party"
    who_fr: str = ""

    def json(self) -> dict[str, Any]:
        """The row as `status --format json` prints it (keys in the README)."""
        return {
            "contract": self.contract, "name": self.name, "agreement": self.agreement,
            "region": self.region, "rule": self.rule, "severity": self.severity,
            "title": self.title, "due": self.due, "status": self.status, "alert": self.alert,
            "actor": self.actor, "side": self.side, "trigger": self.trigger,
            "clause": self.clause, "uid": self.uid, "record": self.record,
            "owner": self.owner, "term": self.term,
        }


def owner_of(t: Tracked) -> tuple[str | None, str | None]:
    """Who answers for a deadline: (`Name <address>`, address), or (None, None) when the
    contract names nobody (`notify --to` is then the fallback)."""
    owner = t.log.contract.owners.for_rule(t.deadline.rule.id)
    return (str(owner), owner.address) if owner is not None else (None, None)


def _who(log: ContractLog, actor: str, lang: str) -> str:
    from .labels import LABELS

    return log.rulebook.party_label(actor, lang) or LABELS[lang][f"actor.{EITHER_PARTY}"]


def rows_of(log: ContractLog, as_of: datetime, until: datetime | None = None,
            tracked: list[Tracked] | None = None) -> list[Row]:
    """Every dated deadline of one contract except the limits (a limit's period ending asks
    nothing of anyone) but the ends of the contract's terms (`status` shows a renewal or an
    expiry that comes within its window), in tracking order. `alert` says whether `status`
    lists it: missed, late, or (when `until` is given) pending or open with its end between
    `as_of` and `until`."""
    from .api import due_iso
    from .feeds import record_commands

    items = track(log, as_of) if tracked is None else tracked
    commands = record_commands(items, lambda t: t.log.path)
    out: list[Row] = []
    default = log.contract.owners.default
    contract_owner = str(default) if default is not None else None
    term = summary_for(log, as_of)
    for t in items:
        end = t.due_end
        rule = t.deadline.rule
        expiry = ends_contract(rule)
        if end is None or (rule.kind == Kind.LIMIT and not is_term_end(rule)):
            continue
        alert: Alert | None = None
        if t.status in (Status.MISSED, Status.LATE):
            alert = Alert(t.status.value)
        elif t.status in (Status.PENDING, Status.OPEN) and until is not None \
                and as_of <= end <= until:
            alert = Alert.DUE_WITHIN
        owner, address = owner_of(t)
        out.append(Row(
            contract=log.contract.id, name=log.contract.name, agreement=log.contract.agreement,
            region=log.settings.region, rule=rule.id, severity=rule.severity, title=rule.title,
            title_fr=rule.title_in("fr"), kind=rule.kind,
            due=due_iso(t.deadline.due, log.settings), due_end=end,
            hour_based=t.deadline.hour_based, zone=log.settings.zone.key, status=t.status,
            alert=alert, actor=rule.actor, side=Side.OURS if t.ours else Side.THEIRS,
            trigger=t.trigger.id if t.trigger else None, clause=rule.source.clause,
            action=rule.action, action_fr=rule.action_in("fr"), uid=t.uid, key=t.key,
            record=commands.get(t.uid) or (renewal_command(log.path) if expiry else None),
            owner=owner, owner_address=address, path=log.path,
            contract_owner=contract_owner, term=term, ends_contract=expiry,
            origin=rule.origin, who=_who(log, rule.actor, "en"),
            who_fr=_who(log, rule.actor, "fr"),
        ))
    return out


def status_rows(logs: Iterable[ContractLog], as_of: datetime, until: datetime
                ) -> list[Row]:
    """What `status` lists: missed, late, and due within the window, per contract, soonest
    first."""
    rows = [r for log in logs for r in rows_of(log, as_of, until) if r.alert is not None]
    rows.sort(key=lambda r: (r.contract, r.due_end, r.rule))
    return rows
