"""`extend:`: a rulebook that repeats another with changes (docs/rulebook-format.md, "Extending
a rulebook").

The child document is laid over its parent before the rulebook is read:

- a mapping in the child (`parties`, `events`, `governing_law`, one rule, ...) is merged into
  the parent's key by key, at every depth; any other value (text, a number, a list such as
  `lines` or `readings`) replaces the parent's, and `null` removes it;
- `rules` are matched by id (and severity): a child rule with the id of an inherited one is
  merged into it, any other is added after the inherited ones;
- `remove: [id, ...]` drops inherited rules (every severity of that id) before the child's
  rules are laid on; a rule removed and given again is replaced whole.

The parent must be a valid rulebook on its own; it is read first, so that a mistake in it is
reported in its own file. The merged document remembers which file and line each part came
from (`Located.sources`), so that a mistake in an inherited rule points at the parent's line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .yamlsource import FieldPath, Located, load_path

MAX_DEPTH = 8  # rulebooks extending rulebooks; deeper than this is a mistake, not a design
MERGE_FIELDS = ("extend", "remove")


def resolve(doc: Located, _seen: tuple[str, ...] = ()) -> tuple[Located, list[str], str | None]:
    """The document with everything it extends laid under it; the files read (the document's
    first); the id of the rulebook it extends directly (None if it extends nothing)."""
    if not isinstance(doc.data, dict) or doc.data.get("extend") is None:
        if isinstance(doc.data, dict) and doc.data.get("remove") is not None:
            raise doc.error(("remove",), "only a rulebook that extends another removes rules")
        return doc, [doc.file], None
    top = doc.fields()
    parent_path = _parent_path(doc, top.need("extend"))
    real = os.path.realpath(parent_path)
    if real in _seen or real == os.path.realpath(doc.file):
        raise top.fail("extend", "rulebooks extend each other in a cycle")
    if len(_seen) >= MAX_DEPTH:
        raise top.fail("extend", f"more than {MAX_DEPTH} rulebooks extend each other")
    from .rulebookreader import read

    parent, files, _ = resolve(load_path(parent_path), (*_seen, real))
    parent_book = read(parent)  # valid on its own: its mistakes are reported in its own file
    child_id = top.need("id")
    if child_id == parent_book.id:
        raise top.fail("id", f"expected an id of its own, not the id of the rulebook it "
                       f"extends ({parent_book.id})")
    return merge(parent, doc), [doc.file, *files], parent_book.id


def _parent_path(doc: Located, name: str) -> str:
    """A shipped rulebook's file by id, or a path read from the child's own folder."""
    from .rulebook import is_path, shipped_path

    if is_path(name):
        path = Path(name) if Path(name).is_absolute() else Path(doc.file).parent / name
        return str(path)
    shipped = shipped_path(name)
    if shipped is None:
        from .rulebook import available

        raise doc.error(("extend",), f"unknown rulebook {name!r}; expected one of "
                        f"{', '.join(available())} or the path of a rulebook .yaml file")
    return str(shipped)


def merge(parent: Located, child: Located) -> Located:
    """The child laid over the parent (see the module's docstring)."""
    out = Located({}, child.file, {}, {})
    out.lines[()] = child.line(()) or 1
    data: dict[str, Any] = {}
    for key in parent.data:
        if key == "rules":
            data["rules"] = _rules(parent, child, out)
        elif key in child.data and key not in MERGE_FIELDS:
            data[key] = _merged(parent, (key,), child, (key,), (key,), out)
        else:
            data[key] = parent.data[key]
            _take(parent, (key,), (key,), out)
    for key in child.data:
        if key not in parent.data and key not in MERGE_FIELDS:
            data[key] = child.data[key]
            _take(child, (key,), (key,), out)
    out.data = data
    return out


def _at(doc: Located, path: FieldPath) -> Any:
    value: Any = doc.data
    for part in path:
        value = value[part]
    return value


def _take(doc: Located, path: FieldPath, to: FieldPath, out: Located) -> None:
    """Place the lines and origins of `doc` under `path` at `to` in the merged document."""
    out.sources[to] = doc.origin(path)
    size = len(path)
    for where, line in doc.lines.items():
        if where[:size] == path:
            out.lines[(*to, *where[size:])] = line
    for where, origin in doc.sources.items():
        if where[:size] == path and len(where) > size:
            out.sources[(*to, *where[size:])] = origin


def _merged(parent: Located, p_path: FieldPath, child: Located, c_path: FieldPath,
            to: FieldPath, out: Located) -> Any:
    """The child's value at `c_path` laid over the parent's at `p_path`, placed at `to`."""
    old, new = _at(parent, p_path), _at(child, c_path)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        _take(child, c_path, to, out)
        return new
    out.sources[to] = child.origin(c_path)
    if (line := child.lines.get(c_path)) is not None:
        out.lines[to] = line
    merged: dict[str, Any] = {}
    for key in old:
        if key in new:
            merged[key] = _merged(parent, (*p_path, key), child, (*c_path, key),
                                  (*to, key), out)
        else:
            merged[key] = old[key]
            _take(parent, (*p_path, key), (*to, key), out)
    for key in new:
        if key not in old:
            merged[key] = new[key]
            _take(child, (*c_path, key), (*to, key), out)
    return merged


def _rule_key(rule: Any) -> tuple[str, str | None]:
    if not isinstance(rule, dict):
        return "", None
    severity = rule.get("severity")
    return str(rule.get("id")), None if severity is None else str(severity)


def _rules(parent: Located, child: Located, out: Located) -> list[Any]:
    """Inherited rules (less those removed), each merged with the child's rule of the same id
    and severity, then the child's other rules."""
    top = child.fields()
    inherited: list[Any] = parent.data.get("rules") or []
    own = top.list("rules", "a list of rules")
    removed = top.words("remove", "a list of the ids of inherited rules to remove",
                        one=False) or ()
    ids = {str(r.get("id")) for r in inherited if isinstance(r, dict)}
    for index, rule_id in enumerate(removed):
        if rule_id not in ids:
            raise child.error(("remove", index), f"no inherited rule {rule_id!r} to remove")
    if (line := child.lines.get(("rules",)) or parent.lines.get(("rules",))) is not None:
        out.lines[("rules",)] = line
    by_key = {_rule_key(rule): index for index, rule in enumerate(own)}
    used: set[int] = set()
    rules: list[Any] = []
    for index, rule in enumerate(inherited):
        if _rule_key(rule)[0] in removed:
            continue
        to: FieldPath = ("rules", len(rules))
        match = by_key.get(_rule_key(rule))
        if match is None:
            rules.append(rule)
            _take(parent, ("rules", index), to, out)
        else:
            rules.append(_merged(parent, ("rules", index), child, ("rules", match), to, out))
            used.add(match)
    for index, rule in enumerate(own):
        if index in used:
            continue
        if isinstance(rule, dict) and "title" not in rule and "event" not in rule:
            # neither a change to an inherited rule nor a whole new one: most likely a typo
            raise child.error(("rules", index, "id"), f"no inherited rule {_rule_key(rule)[0]!r}"
                              " to change (a new rule needs its title, event, actor, action "
                              "and source)")
        _take(child, ("rules", index), ("rules", len(rules)), out)
        rules.append(rule)
    if not rules:
        raise DeadlinesError("no rule is left once the removed ones are gone",
                             file=child.file, line=child.line(("remove",)), field="remove")
    return rules
