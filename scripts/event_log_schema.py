"""Write deadlines/schemas/event-log.schema.json: the hand-written schema of an event log, with
the parts that come from the rulebooks and the event log reader filled in.

The descriptions, patterns and field list are edited in the JSON file itself. This script
replaces only what it derives, so that the schema and the tool never drift apart:

- `$defs.shipped_agreement`: the shipped agreement ids;
- `$defs.closing_type`: the event types that take a `ref` (fulfilments, done, withdrawn);
- `allOf`: per shipped agreement, its event types, rule ids (for `done` and `owners`), regions
  and severities (an editor completes them), and the events that need a severity.

    python scripts/event_log_schema.py          # rewrite the file
    python scripts/event_log_schema.py --check  # exit 1 if the file is not up to date

tests/test_event_log_schema.py runs the check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from deadlines import api, rulebook
from deadlines.eventlog import FULFILMENTS, GENERIC_DONE, WITHDRAWN
from deadlines.terms import TERM_RULES

SCHEMA = Path(__file__).resolve().parent.parent / "deadlines" / "schemas" / \
    "event-log.schema.json"


def agreement_clause(name: str) -> dict[str, Any]:
    """What a log of one shipped agreement may say, beyond the generic shape."""
    book = rulebook.load(name)
    types = [e["type"] for e in api.agreement_info(name)["events"]]
    severities = [level for name_, aliases in book.severities.items()
                  for level in (name_, *aliases)]
    needs_severity = [event for event in book.events
                      if any(r.severity for r in book.rules_for(event))]
    event: dict[str, Any] = {
        "properties": {
            "type": {"enum": types},
            "rule": {"enum": list(dict.fromkeys(r.id for r in book.rules))},
            "severity": {"enum": severities} if severities else False,
        },
    }
    if needs_severity:
        event["allOf"] = [{"if": {"properties": {"type": {"enum": needs_severity}}},
                           "then": {"required": ["severity"]}}]
    return {
        "if": {"required": ["contract"],
               "properties": {"contract": {"required": ["agreement"],
                                           "properties": {"agreement": {"const": book.id}}}}},
        "then": {"properties": {
            "contract": {"properties": {
                "region": {"enum": list(book.regions)} if book.regions else False,
                "owners": {"propertyNames": {"enum": list(dict.fromkeys(
                    [*(r.id for r in book.rules), *TERM_RULES]))}},
            }},
            "events": {"items": event},
        }},
    }


def generate(base: dict[str, Any]) -> dict[str, Any]:
    schema = dict(base)
    defs = dict(schema["$defs"])
    defs["shipped_agreement"] = {"enum": rulebook.available()}
    defs["closing_type"] = {"enum": [*FULFILMENTS, GENERIC_DONE, WITHDRAWN]}
    schema["$defs"] = defs
    schema["allOf"] = [agreement_clause(name) for name in rulebook.available()]
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    current = SCHEMA.read_text(encoding="utf-8")
    fresh = render(generate(json.loads(current)))
    if "--check" in argv:
        if fresh != current:
            print(f"{SCHEMA} is not up to date: run python scripts/event_log_schema.py",
                  file=sys.stderr)
            return 1
        return 0
    SCHEMA.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
