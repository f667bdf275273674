"""Due dates of one rule, read through the library as `deadlines compute --format json` gives
them. The rulebook tests are written with these, a named date in and a named date out:

    from duedates import alternatives, due, dues

    assert due("bcr", "breach_notice", "2026-03-02", "cure") == "2026-03-12"
    assert dues("bcr", "contract_start", "2026-01-15", "uptime", 2) == ["2026-01-31", ...]

Options are those of `api.compute` (severity, region, tz, calendar, roll).
"""

from __future__ import annotations

from typing import Any

from deadlines.api import compute_json


def deadlines_of(agreement: str, event: str, when: str, rule: str, **options: Any
                 ) -> list[dict[str, Any]]:
    """Every deadline of RULE that EVENT at WHEN sets off (several for a recurring rule)."""
    report = compute_json(agreement, event, when, **options)
    found = [d for d in report["deadlines"] if d["rule"] == rule]
    assert found, f"{rule} not set off by {event}: {[d['rule'] for d in report['deadlines']]}"
    return found


def deadline(agreement: str, event: str, when: str, rule: str, **options: Any
             ) -> dict[str, Any]:
    """The one deadline of a one-off RULE, as JSON."""
    found = deadlines_of(agreement, event, when, rule, **options)
    assert len(found) == 1, f"{rule}: expected one deadline, got {len(found)}"
    return found[0]


def due(agreement: str, event: str, when: str, rule: str, **options: Any) -> str | None:
    """The due value of a one-off RULE: YYYY-MM-DD, an ISO date-time, or None (no number)."""
    value: str | None = deadline(agreement, event, when, rule, **options)["due"]
    return value


def dues(agreement: str, event: str, when: str, rule: str, n: int = 3, **options: Any
         ) -> list[str]:
    """The first N due values of a recurring RULE."""
    return [d["due"] for d in deadlines_of(agreement, event, when, rule, **options)][:n]


def alternatives(agreement: str, event: str, when: str, rule: str, **options: Any
                 ) -> list[str]:
    """The due values of the other readings of a one-off RULE, in the rulebook's order."""
    return [a["due"] for a in deadline(agreement, event, when, rule, **options)["alternatives"]]
