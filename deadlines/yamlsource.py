"""Load YAML with the line of every value, so that errors can say file:line:field.

Anchors and aliases are refused: neither rulebooks nor event logs need them, and refusing them
closes the "billion laughs" expansion attack on anything that walks the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import DeadlinesError
from .safeio import read_limited

try:  # libyaml is much faster when the wheel ships it
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """Safe loading with dates and times left as text.

    PyYAML would turn `2026-02-30` into a ValueError with no line, and `2026-03-02 10:00` into a
    naive datetime; the project's own parsers read them with the line and the contract's zone.
    """

    def resolve(self, kind: type, value: Any, implicit: Any) -> Any:
        """The tag of a node (libyaml's composer asks for every node's): a scalar's from
        `_scalar_tag`, memoised."""
        if kind is yaml.ScalarNode:
            return _scalar_tag(value, implicit)
        return _BASE_RESOLVE(self, kind, value, implicit)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


class _Resolver(yaml.resolver.Resolver):
    """The loader's rules for plain scalars (which text reads as a number, a bool, null)."""


_Resolver.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
RESOLVER = _Resolver()  # `RESOLVER.resolve(yaml.ScalarNode, text, (True, False))` is a tag


@lru_cache(maxsize=4096)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    """The tag of a plain or quoted scalar: `RESOLVER`'s rules (a handful of regular
    expressions), a pure function of the text and how it was written (neither loader has a
    path resolver), asked for every key and value of every log; keys and most values repeat
    from log to log, so it is memoised."""
    resolver: Any = RESOLVER  # PyYAML's methods are untyped
    tag: str = resolver.resolve(yaml.ScalarNode, value, implicit)
    return tag


_BASE_RESOLVE: Any = _Base.resolve
assert not _Loader.yaml_path_resolvers  # else a scalar's tag would depend on where it is

# What SafeConstructor reads a `str` scalar as: its text (`_construct_scalar` takes it
# directly, without the constructor's bookkeeping, when the loader reads strings that way).
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_STR = _Loader.yaml_constructors.get(_STR_TAG) is \
    yaml.constructor.SafeConstructor.construct_yaml_str

MAX_BYTES = 5_000_000
MAX_DEPTH = 20

FieldPath = tuple[str | int, ...]


@dataclass
class Located:
    """Parsed YAML data plus the 1-based line of every mapping value and list item.

    A document merged from several files (a rulebook that `extend:`s another) says in
    `sources` which file, and which path in it, each part came from, so that an error points
    at the line a person wrote."""

    data: Any
    file: str
    lines: dict[FieldPath, int] = field(default_factory=dict)
    # merged path -> (file, path in that file); the longest prefix of a path decides
    sources: dict[FieldPath, tuple[str, FieldPath]] = field(default_factory=dict)

    def line(self, path: FieldPath) -> int | None:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def origin(self, path: FieldPath) -> tuple[str, FieldPath]:
        """The file `path` was written in, and its path there."""
        for cut in range(len(path), -1, -1):
            found = self.sources.get(path[:cut])
            if found is not None:
                return found[0], (*found[1], *path[cut:])
        return self.file, path

    def error(self, path: FieldPath, message: str) -> DeadlinesError:
        file, written = self.origin(path)
        if file != self.file:  # an inherited part: say which file it was read for
            message += f" (inherited by {self.file})"
        return DeadlinesError(message, file=file, line=self.line(path),
                              field=dotted(written) or None)

    def fields(self, path: FieldPath = (), what: str = "a mapping") -> Fields:
        """The mapping at `path`, to read field by field; `what` says what was expected."""
        value: Any = self.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else \
                value[part] if isinstance(value, list) and isinstance(part, int) \
                and 0 <= part < len(value) else None
        if not isinstance(value, dict):
            raise self.error(path, f"expected {what}")
        return Fields(self, path, value)


@dataclass(frozen=True)
class Fields:
    """The fields of one YAML mapping, read with the file, line and field of every error.

    The one reader of values a person typed, for rulebooks and event logs alike: a missing
    required field, text where a list was expected, a word outside a list of choices, each
    becomes `file:line: field: what was expected`."""

    doc: Located
    path: FieldPath
    data: dict[str, Any]

    def fail(self, key: str | int | None, message: str) -> DeadlinesError:
        return self.doc.error(self.path if key is None else (*self.path, key), message)

    def only(self, allowed: Iterable[str], what: str = "field") -> None:
        """Refuse a key that is not one of `allowed` (a typo must not be ignored)."""
        names = list(allowed)
        for key in self.data:
            if key not in names:
                raise self.fail(str(key), f"unknown {what}; expected one of {', '.join(names)}")

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, *, required: bool = False) -> str | None:
        """Text (a number or a word is read as its text), stripped; None when absent."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "required field is missing")
            return None
        if isinstance(value, dict | list | bool):
            raise self.fail(key, f"expected text, got {_yaml_type(value)}")
        return str(value).strip()

    def need(self, key: str) -> str:
        """Required text (empty text is missing text)."""
        value = self.text(key, required=True)
        if not value:
            raise self.fail(key, "required field is empty")
        return value

    def choice(self, key: str, options: Iterable[str], default: str) -> str:
        """One word out of `options`; `default` when absent."""
        names = [str(o) for o in options]
        value = self.text(key)
        if value is None:
            return default
        if value not in names:
            raise self.fail(key, f"{value!r} is not one of {', '.join(names)}")
        return value

    def flag(self, key: str) -> bool | None:
        """true or false; None when absent."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, "expected true or false")
        return value

    def mapping(self, key: str, what: str = "a mapping") -> Fields:
        """The mapping under `key` (empty when absent)."""
        if self.data.get(key) is None:
            return Fields(self.doc, (*self.path, key), {})
        return self.doc.fields((*self.path, key), what)

    def items(self, key: str, what: str = "a mapping") -> list[tuple[str, Any]]:
        """The entries of the mapping under `key`, with their keys as text."""
        return [(str(k), v) for k, v in self.mapping(key, what).data.items()]

    def list(self, key: str, what: str = "a list") -> list[Any]:
        """The list under `key` (empty when absent)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected {what}")
        return value

    def words(self, key: str, what: str = "a list of names", one: bool = True
              ) -> tuple[str, ...] | None:
        """A list of words (with `one`, a single word is a list of one); None when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) and not one:
            raise self.fail(key, f"expected {what}")
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
            raise self.fail(key, f"expected {what}")
        return tuple(str(v).strip() for v in items)

    def line_numbers(self, key: str, what: str = "a list of line numbers") -> tuple[int, ...]:
        """A non-empty list of positive line numbers (a single number is a list of one)."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value or not all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value):
            raise self.fail(key, f"expected {what}")
        return tuple(value)


def _yaml_type(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true or false"}.get(type(value),
                                                                         type(value).__name__)


def dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        if not isinstance(part, int) and not str(part).isprintable():
            part = repr(str(part))  # a key with a line break must not break the error line
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# What the safe constructor raises on a scalar it cannot read (`!!int x`, `!!float x`,
# `!!timestamp x`, `!!bool x`): a value error, or a lookup that finds nothing.
_CONSTRUCT_ERRORS = (ValueError, TypeError, OverflowError, AttributeError, KeyError)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def load_text(text: str, file: str) -> Located:
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return Located(None, file, {})
            lines: dict[FieldPath, int] = {(): node.start_mark.line + 1}
            _index(node, (), lines, file, 0, set(), loader)
            try:
                data = loader.construct_document(node)
            except _CONSTRUCT_ERRORS as exc:
                raise DeadlinesError(f"a value cannot be read: {_one_line(exc)}", file=file,
                                     line=lines[()]) from None
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, most control characters). libyaml counts the
        # position in UTF-8 bytes, the pure-Python reader in characters.
        pos = exc.position if isinstance(exc.position, int) else 0
        before = text.encode("utf-8", "surrogatepass")[:pos].count(b"\n") \
            if _Base is not yaml.SafeLoader else text[:pos].count("\n")
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1]
                                                                         or "\0")
        raise DeadlinesError(f"not valid YAML: unacceptable character #x{char:04x}: "
                             f"{_one_line(exc.reason)}", file=file, line=before + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DeadlinesError(f"not valid YAML: {_one_line(problem)}", file=file,
                             line=line) from None
    except yaml.YAMLError as exc:
        raise DeadlinesError(f"not valid YAML: {_one_line(exc)}", file=file) from None
    except RecursionError:  # the pure-Python composer on deep nesting (libyaml stops at 1000)
        raise DeadlinesError(f"nested deeper than {MAX_DEPTH} levels", file=file) from None
    return Located(data, file, lines)


def read_text(path: Path | str) -> tuple[str, bool]:
    """A YAML file's text (size-checked, UTF-8, BOM removed) and whether it had a BOM."""
    return decode(read_limited(path, MAX_BYTES, "YAML file"), str(path))


def decode(raw: bytes, name: str) -> tuple[str, bool]:
    """A YAML file's bytes as text (UTF-8, BOM removed), and whether it had a BOM."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    if bom:
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DeadlinesError("not UTF-8 text", file=name, line=line) from None


def load_path(path: Path | str) -> Located:
    return load_text(read_text(path)[0], str(path))


def _index(node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int], file: str,
           depth: int, seen_nodes: set[int], loader: Any) -> None:
    # An alias is the same node object reached twice.
    if isinstance(node, yaml.CollectionNode | yaml.ScalarNode) and id(node) in seen_nodes:
        raise DeadlinesError("YAML anchors and aliases are not allowed", file=file,
                             line=node.start_mark.line + 1)
    seen_nodes.add(id(node))
    if depth > MAX_DEPTH:
        raise DeadlinesError(f"nested deeper than {MAX_DEPTH} levels", file=file,
                             line=node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        _construct_scalar(node, file, loader)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key == "<<":
                raise DeadlinesError("YAML merge keys (<<) are not allowed", file=file,
                                     line=key_node.start_mark.line + 1)
            if isinstance(key_node, yaml.ScalarNode):
                _construct_scalar(key_node, file, loader)
            if key in seen:
                raise DeadlinesError(f"duplicate key {key!r}", file=file,
                                     line=key_node.start_mark.line + 1)
            seen.add(key)
            lines[(*path, key)] = value_node.start_mark.line + 1
            _index(value_node, (*path, key), lines, file, depth + 1, seen_nodes, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines, file, depth + 1, seen_nodes, loader)


def _construct_scalar(node: yaml.ScalarNode, file: str, loader: Any) -> None:
    """Read a scalar where its line is known (construct_document then reuses the value)."""
    if node.tag == _STR_TAG and _PLAIN_STR:  # most scalars: the text, as construct_object
        loader.constructed_objects[node] = node.value  # would keep it
        return
    try:
        loader.construct_object(node)
    except _CONSTRUCT_ERRORS:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        value = str(node.value)
        shown = repr(value if len(value) <= 40 else value[:40] + "...")
        raise DeadlinesError(f"{shown} cannot be read as {tag}", file=file,
                             line=node.start_mark.line + 1) from None
