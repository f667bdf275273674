"""`deadlines record`: append one event to a contract's log without hand-editing the YAML.

The new entry is appended as text at the end of the `events:` list, so every comment, blank line
and quoting choice of the file stays byte for byte as the person wrote it. When the list is not
the last block of the file, the file is edited as round-trip YAML (ruamel.yaml), which also
keeps comments. Either way the result is checked as a whole log before it replaces the file
atomically; if the check fails, the file is not touched.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .eventlog import ContractLog, LoggedEvent, parse
from .state import atomic_write
from .yamlsource import load_text, read_text

_EVENTS_KEY = re.compile(r"^events:(.*)$", re.MULTILINE)


def _scalar(value: str) -> str:
    """A YAML scalar: plain when that is unambiguous, JSON-style double quotes otherwise."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:+-]*", value) and value.lower() not in (
        "yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"
    ):
        return value
    return json.dumps(value, ensure_ascii=False)


def entry_fields(kind: str, at: str, ref: str | None, note: str | None, severity: str | None,
                 event_id: str | None, rule: str | None, by: str | None = None
                 ) -> list[tuple[str, str]]:
    fields = []
    if event_id:
        fields.append(("id", event_id))
    fields += [("type", kind), ("at", at)]
    for key, value in (("ref", ref), ("rule", rule), ("severity", severity), ("by", by),
                       ("note", note)):
        if value:
            fields.append((key, value))
    return fields


def append_text(text: str, fields: list[tuple[str, str]]) -> str | None:
    """The file with one more item at the end of `events:`, or None if the layout is unusual."""
    match = _EVENTS_KEY.search(text)
    if match is None:
        block = "\nevents:\n" if text and not text.endswith("\n") else "events:\n"
        indent = "  "
        return text + block + _item(fields, indent)
    if match.group(1).split("#", 1)[0].strip():
        return None  # `events: []` or another inline value
    after = text[match.end():]
    # every later non-blank line must be indented (part of the list) or a comment
    item_indent: str | None = None
    for line in after.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            return None  # another top-level key follows the list
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and item_indent is None:
            item_indent = line[: len(line) - len(stripped)]
        if stripped.startswith("[") or stripped.startswith("{"):
            return None  # flow style
    if item_indent is None:
        item_indent = "  "
    body = text if text.endswith("\n") else text + "\n"
    return body + _item(fields, item_indent)


def _item(fields: list[tuple[str, str]], indent: str) -> str:
    lines = []
    for i, (key, value) in enumerate(fields):
        lead = f"{indent}- " if i == 0 else f"{indent}  "
        lines.append(f"{lead}{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def append_roundtrip(text: str, fields: list[tuple[str, str]]) -> str:
    from ruamel.yaml import YAML  # deferred: only for unusual layouts
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    data: Any = yaml.load(text)
    if not isinstance(data, dict):
        raise DeadlinesError("the log is not a mapping with 'contract' and 'events'")
    events = data.get("events")
    if events is None:
        events = CommentedSeq()
        data["events"] = events
    item = CommentedMap()
    for key, value in fields:
        item[key] = value
    events.append(item)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def record(path: str | Path, kind: str, at: str, *, ref: str | None = None,
           note: str | None = None, severity: str | None = None, event_id: str | None = None,
           rule: str | None = None, by: str | None = None) -> tuple[ContractLog, LoggedEvent]:
    """Append the event, check the whole log, replace the file; returns the new log."""
    file = Path(path)
    name = str(path)
    body, bom = read_text(file)
    before = parse(load_text(body, name))  # the log must be valid before we add to it
    fields = entry_fields(kind, at, ref, note, severity, event_id, rule, by)
    new_body = append_text(body, fields)
    if new_body is None:
        new_body = append_roundtrip(body, fields)
    after = parse(load_text(new_body, name))
    def facts(log: ContractLog) -> list[tuple[object, ...]]:
        return [(e.id, e.type, e.at, e.ref, e.note, e.severity, e.rule, e.by)
                for e in log.events]

    if len(after.events) != len(before.events) + 1 or facts(after)[:-1] != facts(before):
        raise DeadlinesError("could not append the event without changing earlier entries",
                             file=name)
    atomic_write(file, (("\ufeff" if bom else "") + new_body).encode("utf-8"))
    return after, after.events[-1]
