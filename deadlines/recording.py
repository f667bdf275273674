"""`deadlines record`: append one event to a contract's log without hand-editing the YAML.

The new entry is appended as text at the end of the `events:` list, so every comment, blank line
and quoting choice of the file stays byte for byte as the person wrote it (CRLF files stay CRLF).
When the list is not the last block of the file, the file is edited as round-trip YAML
(ruamel.yaml), which also keeps comments. Either way the result is checked as a whole log
before it replaces the file; if the check fails, the file is not touched.

The log's lock (`safeio`) is held from the read to the rename, so concurrent records all land.
The file is replaced through `safeio.atomic_write`: a symlink stays a link to the updated
target, mode and owner are kept, a hard-linked log is updated in place.

Every value is written so that it reads back as the same text: anything YAML 1.1 would read as
another type (`12:30:00`, `0x1F`, `1.10`, `010`, `yes`, `null`) is quoted.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import DeadlinesError
from .eventlog import ContractLog, LoggedEvent, parse
from .safeio import atomic_write, clean_stale_temporaries, lock_beside, locked
from .yamlsource import RESOLVER, load_text, read_text

_EVENTS_KEY = re.compile(r"^events:(.*)$", re.MULTILINE)
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]*")
_STR_TAG = "tag:yaml.org,2002:str"


def reads_as_text(value: str) -> bool:
    """Whether `value` written plain reads back as that text (not a number, date, bool...)."""
    if not _PLAIN.fullmatch(value):
        return False
    tag: str = RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _scalar(value: str) -> str:
    """A YAML scalar: plain when it reads back as the same text, double-quoted otherwise."""
    return value if reads_as_text(value) else double_quoted(value)


def double_quoted(value: str) -> str:
    """A YAML double-quoted scalar; every character that YAML would fold, drop or refuse
    (line breaks, C0/C1 controls, NEL, LS, PS, BOM) is written as an escape."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or 0x7F <= code <= 0x9F or char in "\u2028\u2029\ufeff" \
                or code in (0xFFFE, 0xFFFF):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _check_text(name: str, value: str | None) -> str | None:
    """Command-line text must be UTF-8 (the shell may pass any bytes); surrounding whitespace
    is not kept (the log reader strips it), so the value written is the value read back."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DeadlinesError(f"{name}: not valid UTF-8 text") from None
    return value.strip()


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


def newline_of(text: str) -> str:
    """The file's line ending, from its first line: CRLF files stay CRLF."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def append_text(text: str, fields: list[tuple[str, str]]) -> str | None:
    """The file with one more item at the end of `events:`, or None if the layout is unusual."""
    nl = newline_of(text)
    match = _EVENTS_KEY.search(text)
    if match is None:
        block = f"{nl}events:{nl}" if text and not text.endswith("\n") else f"events:{nl}"
        indent = "  "
        return text + block + _item(fields, indent, nl)
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
    body = text if text.endswith("\n") else text + nl
    return body + _item(fields, item_indent, nl)


def _item(fields: list[tuple[str, str]], indent: str, nl: str) -> str:
    lines = []
    for i, (key, value) in enumerate(fields):
        lead = f"{indent}- " if i == 0 else f"{indent}  "
        lines.append(f"{lead}{key}: {_scalar(value)}")
    return nl.join(lines) + nl


def append_roundtrip(text: str, fields: list[tuple[str, str]]) -> str:
    from ruamel.yaml import YAML  # deferred: only for unusual layouts
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

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
        # ruamel writes YAML 1.2, where 010 or 12:30:00 are plain text; the reader is YAML 1.1
        item[key] = value if reads_as_text(value) else DoubleQuotedScalarString(value)
    events.append(item)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().replace("\n", newline_of(text))


def record(path: str | Path, kind: str, at: str, *, ref: str | None = None,
           note: str | None = None, severity: str | None = None, event_id: str | None = None,
           rule: str | None = None, by: str | None = None) -> tuple[ContractLog, LoggedEvent]:
    """Append the event, check the whole log, replace the file; returns the new log."""
    values = {name: _check_text(f"--{name}", value) for name, value in (
        ("type", kind), ("at", at), ("ref", ref), ("note", note), ("severity", severity),
        ("id", event_id), ("rule", rule), ("by", by))}
    fields = entry_fields(values["type"] or "", values["at"] or "", values["ref"],
                          values["note"], values["severity"], values["id"], values["rule"],
                          values["by"])
    target = Path(os.path.realpath(path))
    with locked(lock_beside(target)):
        clean_stale_temporaries(target.parent)
        return _append(path, fields)


def _signature(path: str | Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns


def _append(path: str | Path, fields: list[tuple[str, str]]) -> tuple[ContractLog, LoggedEvent]:
    """Under the log's lock: read, append, check, replace.

    Other `record`s wait for the lock; a person saving the file in an editor does not, so the
    file is compared just before it is replaced with what was read, and a change is refused
    rather than overwritten."""
    name = str(path)
    try:
        seen = _signature(path)
    except OSError:
        seen = None  # read_text says what is wrong
    body, bom = read_text(path)
    before = parse(load_text(body, name))  # the log must be valid before we add to it
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
    written = dict(fields)
    new = after.events[-1]
    read_back = {"id": new.id, "type": new.type, "at": new.at_text, "ref": new.ref,
                 "note": new.note, "severity": new.severity, "rule": new.rule, "by": new.by}
    if any(read_back[key] != value for key, value in written.items() if key != "severity"):
        raise DeadlinesError("the new entry would not read back as written", file=name)
    try:
        unchanged = _signature(path) == seen
    except OSError:
        unchanged = False
    if not unchanged:
        raise DeadlinesError("the log changed while the event was being recorded (saved in an "
                             "editor?); nothing was written: run the command again", file=name)
    atomic_write(Path(path), (("\ufeff" if bom else "") + new_body).encode("utf-8"))
    return after, new
