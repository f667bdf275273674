"""`deadlines import contracts.csv`: one event log per row of a spreadsheet of contracts.

Every row is checked first, as the log it would become (the same checks as `build`: agreement,
zone, calendar, region, dates, ids unique across the CSV and the folder); the first error is
one line, `contracts.csv:ROW: column: what was expected` (ROW as a spreadsheet numbers it, the
header being row 1), and nothing is created. A log that exists is never overwritten: its row is
an error, unless `update` is set, which merges the row into the log's `contract:` section only
(an empty cell keeps the log's value), keeping everything else of the file byte for byte:
comments, the events, their quoting and line ends.

Writing: each new log is staged beside its name and linked into place (a name that appeared
meanwhile is not replaced); each updated one is rewritten under its lock (`safeio`) after
checking that it still holds what was read. If a write fails, the logs already written by this
import are taken back (created ones removed, updated ones restored), and the fault is exit 2.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DeadlinesError
from .eventlog import ContractLog, parse
from .safeio import atomic_write, fault, lock_beside, locked, read_limited, stage
from .yamlsource import load_path, load_text, read_text

MAX_CSV_BYTES = 50_000_000
MAX_ROWS = 100_000

# CSV column -> the contract field it fills, as a path under `contract:`
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",), "agreement": ("agreement",), "start": ("start",),
    "timezone": ("timezone",), "calendar": ("calendar",), "region": ("region",),
    "role": ("role",), "roll": ("roll",), "name": ("name",), "owner": ("owner",),
    "term_initial": ("term", "initial"), "term_renewal": ("term", "renewal"),
    "term_auto_renew": ("term", "auto_renew"), "term_notice": ("term", "notice"),
    "term_ends": ("term", "ends"),
}
BOOLEANS = {"true": "true", "yes": "true", "1": "true", "false": "false", "no": "false",
            "0": "false"}  # a true-or-false cell, as spreadsheets write them
BOOLEAN_COLUMNS = ("term_auto_renew",)
REQUIRED = ("id", "agreement", "start")


@dataclass
class Planned:
    row: int
    contract: str
    path: Path
    text: str  # the new log's text (without BOM)
    old: str | None = None  # the log's text before, for an update
    bom: bool = False

    @property
    def changed(self) -> bool:
        return self.old != self.text


@dataclass
class ImportReport:
    created: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def yaml_value(column: str, value: str) -> str:
    """A cell as the YAML scalar of its field: true or false for a yes-or-no column, else
    text that reads back as the cell."""
    if column in BOOLEAN_COLUMNS:
        return BOOLEANS[value.lower()]
    return scalar(value)


def scalar(value: str) -> str:
    """A YAML scalar that reads back as this text: plain when it can be, else double-quoted."""
    from .recording import double_quoted

    return value if _plain_reads_back(value) else double_quoted(value)


class _Table:
    """The CSV's rows as {column: text}, each with its spreadsheet row number."""

    def __init__(self, path: str) -> None:
        self.name = path
        raw = read_limited(path, MAX_CSV_BYTES, "CSV file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise self.error(line, None, "not UTF-8 text (save the sheet as CSV UTF-8)") \
                from None
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records: list[list[str]] = []
        last_line = 0  # the line the last good record ended on
        try:
            for record in reader:
                records.append(record)
                last_line = reader.line_num
        except csv.Error as exc:
            # the bad record starts on the line after the last good one (a quoted cell may
            # span lines, so reader.line_num is where the reader gave up, not where it began)
            raise self.error(last_line + 1, None, f"not CSV: {exc} (in the record that starts "
                                                  "on this line)") from None
        if not records or not any(cell.strip() for cell in records[0]):
            raise self.error(1, None, "expected a header row: " + ", ".join(COLUMNS))
        self.header = [cell.strip().lower() for cell in records[0]]
        for index, column in enumerate(self.header):
            if column not in COLUMNS:
                raise self.error(1, column or f"column {index + 1}",
                                 f"unknown column; expected {', '.join(COLUMNS)}")
            if self.header.index(column) != index:
                raise self.error(1, column, "this column appears twice")
        for column in REQUIRED:
            if column not in self.header:
                raise self.error(1, column, "required column is missing")
        if len(records) - 1 > MAX_ROWS:
            raise self.error(None, None, f"more than {MAX_ROWS:,} rows")
        self.rows: list[tuple[int, dict[str, str]]] = []
        for number, cells in enumerate(records[1:], start=2):
            if not any(c.strip() for c in cells):
                continue  # a blank line between blocks of rows
            if len(cells) != len(self.header):
                raise self.error(number, None, f"expected {len(self.header)} cells as in the "
                                 f"header, found {len(cells)}")
            self.rows.append((number, {column: cell.strip() for column, cell
                                       in zip(self.header, cells, strict=True)
                                       if cell.strip()}))

    def error(self, row: int | None, column: str | None, message: str) -> DeadlinesError:
        return DeadlinesError(message, file=self.name, line=row, field=column)


def _column_of(error: DeadlinesError) -> str | None:
    """The CSV column behind an error in a generated log (`contract.start` -> start)."""
    if not error.field or not error.field.startswith("contract."):
        return None
    path = tuple(error.field.split(".")[1:])
    best = None
    for column, target in COLUMNS.items():
        if path[: len(target)] == target and (best is None or len(target) > len(COLUMNS[best])):
            best = column
    return best


def _existing(events: Path) -> dict[str, Path]:
    """Contract id -> its log, for every log of the folder (only the id is read)."""
    found: dict[str, Path] = {}
    if not events.is_dir():
        return found
    for path in sorted(events.glob("*.y*ml")):
        if path.suffix not in (".yaml", ".yml"):
            continue
        data = load_path(path).data
        contract = data.get("contract") if isinstance(data, dict) else None
        contract_id = contract.get("id") if isinstance(contract, dict) else None
        if not isinstance(contract_id, str):
            raise DeadlinesError("cannot tell which contract this log holds (contract.id)",
                                 file=str(path))
        found.setdefault(contract_id.strip(), path)
    return found


def new_log(cells: dict[str, str], source: str, row: int) -> str:
    """The text of a new event log for one row."""
    lines = [f"# Event log created by `deadlines import` from {Path(source).name}, row {row}.",
             "# Never delete an entry: withdraw one recorded in error with a `withdrawn` event.",
             "contract:"]
    lines += _fields(cells, "  ")
    lines += ["", "events:  # `deadlines record` appends here", ""]
    return "\n".join(lines)


def _fields(cells: dict[str, str], indent: str) -> list[str]:
    out: list[str] = []
    nested: dict[str, list[str]] = {}
    for column, target in COLUMNS.items():
        if column not in cells:
            continue
        if len(target) == 1:
            out.append(f"{indent}{target[0]}: {yaml_value(column, cells[column])}")
        else:
            nested.setdefault(target[0], []).append(
                f"{indent}  {target[1]}: {yaml_value(column, cells[column])}")
    for key, items in nested.items():
        out.append(f"{indent}{key}:")
        out += items
    return out


def _plain_reads_back(value: str) -> bool:
    """Whether `key: value` written plain reads back as exactly this text."""
    if value != value.strip() or "\n" in value or "\r" in value:
        return False
    try:
        data = load_text(f"k: {value}\n", "<value>").data
    except DeadlinesError:
        return False
    return isinstance(data, dict) and data.get("k") == value


def _value_and_comment(rest: str) -> tuple[str, str]:
    """`rest` is what follows `key:` on its line: its value's text and its trailing comment
    (with the spaces before it), found where the text before a ` #` still reads as YAML."""
    for match in re.finditer(r"[ \t]+#", rest):
        head = rest[: match.start()]
        try:
            load_text(f"k:{head}\n", "<value>")
        except DeadlinesError:
            continue
        return head, rest[match.start():]
    return rest, ""


_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][A-Za-z0-9_-]*):(?P<rest>.*)$")


class _Section:
    """A block mapping's lines in a log's text, edited in place line by line."""

    def __init__(self, lines: list[str], first: int, last: int, indent: int) -> None:
        self.lines, self.first, self.last, self.indent = lines, first, last, indent

    def keys(self) -> dict[str, tuple[int, int]]:
        """Key -> (its line, one past the last line of its value)."""
        found: dict[str, tuple[int, int]] = {}
        index = self.first
        while index < self.last:
            match = _KEY_LINE.match(self.lines[index].rstrip("\r\n"))
            if match is not None and len(match["indent"]) == self.indent:
                end = index + 1
                while end < self.last and _deeper(self.lines[end], self.indent):
                    end += 1
                found[match["key"]] = (index, end)
                index = end
            else:
                index += 1
        return found

    def content_end(self) -> int:
        """One past the last line that holds a value of this mapping."""
        end = self.first
        for index in range(self.first, self.last):
            line = self.lines[index].strip()
            if line and not line.startswith("#"):
                end = index + 1
        return end


def _deeper(line: str, indent: int) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    return len(line) - len(line.lstrip(" ")) > indent


def merge_contract(text: str, cells: dict[str, str]) -> str:
    """The log with the row's cells merged into its `contract:` section, line by line: a
    changed value is rewritten on its own line (its comment kept), a new one is added at the
    end of the section, and every other byte of the file stays as it was."""
    from .recording import newline_of

    nl = newline_of(text)
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if re.match(r"^contract:", line)), None)
    if top is None:
        raise DeadlinesError("the log has no contract: section to merge into")
    if _value_and_comment(lines[top].rstrip("\r\n")[len("contract:"):])[0].strip():
        raise DeadlinesError("the contract: section is written inline; write it as a block "
                             "(one field a line) to merge into it")
    last = top + 1
    while last < len(lines) and (not lines[last].strip() or lines[last][0] in " \t#"):
        last += 1
    section = _Section(lines, top + 1, last, _indent_of(lines, top + 1, last, 2))
    for column, target in COLUMNS.items():
        if column in cells:
            _set(section, target, yaml_value(column, cells[column]), nl)
    return "".join(section.lines)


def _indent_of(lines: list[str], first: int, last: int, default: int) -> int:
    for line in lines[first:last]:
        if line.strip() and not line.strip().startswith("#"):
            return len(line) - len(line.lstrip(" "))
    return default


def _set(section: _Section, path: tuple[str, ...], value: str, nl: str) -> None:
    keys = section.keys()
    pad = " " * section.indent
    key = path[0]
    if len(path) == 1:
        new = f"{pad}{key}: {value}"
        if key not in keys:
            at = section.content_end()
            section.lines[at:at] = [new + nl]
            return
        start, end = keys[key]
        head, comment = _value_and_comment(
            _KEY_LINE.match(section.lines[start].rstrip("\r\n"))["rest"])  # type: ignore[index]
        old = load_text(f"k:{head}\n", "<value>").data
        wanted = load_text(f"k: {value}\n", "<value>").data
        if end == start + 1 and isinstance(old, dict) and old == wanted:
            return  # the same value: the line stays as written
        section.lines[start:end] = [new + comment + nl]
        return
    if key in keys:
        start, end = keys[key]
        rest = _KEY_LINE.match(section.lines[start].rstrip("\r\n"))["rest"]  # type: ignore[index]
        if not _value_and_comment(rest)[0].strip():  # a block mapping: edit inside it
            inner = _Section(section.lines, start + 1, end,
                             _indent_of(section.lines, start + 1, end, section.indent + 2))
            _set(inner, path[1:], value, nl)
            return
        section.lines[start:end] = [f"{pad}{key}:{nl}"]  # a scalar or flow value: rebuilt
        end = start + 1
    else:
        start = end = section.content_end()
        section.lines[start:start] = [f"{pad}{key}:{nl}"]
        end = start + 1
    inner = _Section(section.lines, start + 1, end, section.indent + 2)
    _set(inner, path[1:], value, nl)


def plan(csv_path: str, events: str | Path, *, update: bool = False) -> list[Planned]:
    """Every row checked, as the log it would become; nothing is written."""
    table = _Table(csv_path)
    folder = Path(events)
    existing = _existing(folder)
    seen: dict[str, int] = {}
    out: list[Planned] = []
    for number, cells in table.rows:
        for required in REQUIRED:
            if required not in cells:
                raise table.error(number, required, "required: this cell is empty")
        for flag in BOOLEAN_COLUMNS:
            if flag in cells and cells[flag].lower() not in BOOLEANS:
                raise table.error(number, flag, f"{cells[flag]!r}: expected true or false")
        contract_id = cells["id"]
        if contract_id in seen:
            raise table.error(number, "id", f"{contract_id!r} is also on row {seen[contract_id]}")
        seen[contract_id] = number
        path = existing.get(contract_id)
        if path is not None and not update:
            raise table.error(number, "id", f"{contract_id!r} already has a log ({path}); "
                              "--update merges the row into it")
        try:
            if path is None:
                target = folder / f"{contract_id}.yaml"
                text = new_log(cells, csv_path, number)
                log = parse(load_text(text, str(target)))
                if target.exists() or target.is_symlink():
                    raise table.error(number, "id", f"{target} exists and holds another "
                                      "contract; nothing is overwritten")
                planned = Planned(number, contract_id, target, text)
            else:
                old, bom = read_text(path)
                before = parse(load_text(old, str(path)))
                text = merge_contract(old, cells)
                log = parse(load_text(text, str(path)))
                _same_events(before, log, path)
                planned = Planned(number, contract_id, path, text, old, bom)
        except DeadlinesError as exc:
            if exc.file == table.name:
                raise
            column = _column_of(exc)
            if column is not None and exc.file in (str(folder / f"{contract_id}.yaml"),
                                                   str(path)):
                # "start '2026-02-30' is not ..." names its field, which the column does
                message = exc.message.removeprefix(f"{COLUMNS[column][-1]} ")
                raise table.error(number, column, message) from None
            changed = ", ".join(c for c in COLUMNS if c in cells and c != "id")
            raise table.error(number, changed or "id",
                              f"the log would not be valid: {exc.render()}") from None
        if log.contract.id != contract_id:  # pragma: no cover - the id cell is the id
            raise table.error(number, "id", "the log's id differs")
        out.append(planned)
    return out


def _same_events(before: ContractLog, after: ContractLog, path: Path) -> None:
    def facts(log: ContractLog) -> list[tuple[object, ...]]:
        return [(e.id, e.type, e.at, e.ref, e.note, e.severity, e.rule, e.by)
                for e in log.events]

    if facts(before) != facts(after):  # pragma: no cover - the merge keeps them as text
        raise DeadlinesError("merging the row would change the events", file=str(path))


def write(planned: list[Planned]) -> ImportReport:
    """Create and update the logs; on a failure, take back what this import wrote."""
    report = ImportReport()
    done: list[Planned] = []
    try:
        for item in planned:
            if item.old is None:
                _create(item.path, item.text.encode("utf-8"))
                report.created.append(item.path)
            elif not item.changed:
                report.unchanged.append(item.path)
                continue
            else:
                _update(item)
                report.updated.append(item.path)
            done.append(item)
    except BaseException:
        for item in reversed(done):
            with contextlib.suppress(OSError, DeadlinesError):
                if item.old is None:
                    item.path.unlink(missing_ok=True)
                else:
                    atomic_write(item.path, (("\ufeff" if item.bom else "") + item.old)
                                 .encode("utf-8"))
        raise
    return report


def _create(path: Path, data: bytes) -> None:
    temporary = stage(path, data)
    try:
        os.link(temporary, path)  # fails if the name exists: never replaces a log
    except FileExistsError:
        raise DeadlinesError("appeared while importing; nothing is overwritten",
                             file=str(path)) from None
    except OSError as exc:
        raise fault(exc, "creating", path) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _update(item: Planned) -> None:
    target = Path(os.path.realpath(item.path))
    with locked(lock_beside(target)):
        now, _ = read_text(item.path)
        if now != item.old:
            raise DeadlinesError("changed while importing (a `record`, or an editor); nothing "
                                 "was written: run the import again", file=str(item.path))
        atomic_write(item.path, (("\ufeff" if item.bom else "") + item.text).encode("utf-8"))


def import_csv(csv_path: str, events: str | Path, *, update: bool = False) -> ImportReport:
    return write(plan(csv_path, events, update=update))
