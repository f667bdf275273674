"""CSV out: `status --format csv` and `compute --format csv`, for spreadsheets.

RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a comma, a quote or a
line break (a quote doubled inside). UTF-8 without a byte-order mark, a header row first.

A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
carriage return) is written with a leading apostrophe, which spreadsheets show as text. No
value the tool computes starts so; an owner or a note typed by a person might.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from .api import due_iso
from .engine import Computation, owed_by
from .rows import Row

# region last: the agreement's region the dates were counted for (empty where it has none)
COLUMNS = ("contract", "rule", "due", "status", "owner", "actor", "clause", "action", "region")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[Sequence[object]], header: Sequence[str] = COLUMNS) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def status_csv(rows: Iterable[Row]) -> str:
    """One line per deadline `status` lists; `status` is what the table shows first (missed,
    late or due-within)."""
    return to_csv((r.contract, r.rule + (f" ({r.severity})" if r.severity else ""), r.due,
                   r.alert, r.owner, r.actor, f"{r.agreement} {r.clause}", r.action, r.region)
                  for r in rows)


def compute_csv(result: Computation) -> str:
    """One line per deadline of a one-off count: no status; the contract and the owner when
    the count was made for a contract's log."""
    lines = []
    for d in result.deadlines:
        rule = d.rule.id + (f" ({d.rule.severity})" if d.rule.severity else "")
        if d.occurrence is not None:
            rule += f" #{d.occurrence}"
        actor = d.rule.actor if d.rule.actor != "either" else \
            f"either:{owed_by(d.rule, result.giver) or '?'}"
        owner = result.owners.for_rule(d.rule.id) if result.owners is not None else None
        lines.append((result.contract or "", rule, due_iso(d.due, result.settings), "",
                      str(owner) if owner is not None else "", actor,
                      f"{result.rulebook.id} {d.rule.source.clause}", d.rule.action,
                      result.settings.region))
    return to_csv(lines)
