"""The parsed rulebook, kept on disk so that a one-off command reads no YAML.

Reading a rulebook costs about 6 ms of parsing and, above all, about 20 ms of `import yaml`,
which is most of what a one-off `deadlines compute` spends beyond the interpreter and click.
The parsed `Rulebook` is pickled in the user's cache folder (the holiday tables' folder, see
`calendars.cache_dir`), one file per rulebook path.

An entry is served only when everything its content depends on is unchanged, checked by a
sha256 key over: the layout of the entry, the package version and the version (mtime, size)
of every module that defines or reads the parsed structure, the Python and `holidays` versions
(a calendar is validated against the package), the path as given and as resolved (the rulebook
records its path; a relative `extend:` is read from its folder), and the rulebook's bytes. The
files it extends are not known before the YAML is parsed, so the entry lists them with the
sha256 of their bytes, and each is read and checked before the entry is served.

Anything wrong with an entry (missing, unreadable, truncated, corrupt, written by another
version, a class it has no business holding) is a miss: the rulebook is parsed again and the
entry rewritten atomically. A cache folder that cannot be written only costs speed. Entries are
read with an unpickler that only builds the package's rulebook classes and a few plain types,
so a file planted in the cache folder cannot run code.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from _pickle import Unpickler, UnpicklingError  # pickle's C half: see _sha256_function
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .calendars import cache_dir, holidays_version
from .errors import DeadlinesError
from .safeio import read_limited

if TYPE_CHECKING:
    from .rulebook import Rulebook

FORMAT = 1  # the layout of an entry; bump it when that changes
MAX_RULEBOOK_BYTES = 5_000_000  # as yamlsource.MAX_BYTES, without importing yaml to know it
MAX_ENTRY_BYTES = 50_000_000

_HERE = os.path.dirname(os.path.abspath(__file__))
# The modules whose code decides what a parsed rulebook holds: edit one (or install another
# version) and every entry misses.
CODE = ("rulebook.py", "rulebookreader.py", "extend.py", "yamlsource.py", "periods.py",
        "vocabulary.py", "calendars.py", "errors.py", "rulebookcache.py")

# What an entry may hold besides plain containers, text and numbers: the classes of the parsed
# structure, by module, and the standard library's dates and zones.
_ALLOWED = {
    "deadlines.rulebook": None,  # None: any class defined in that module
    "deadlines.periods": None,
    "deadlines.vocabulary": None,
    "datetime": {"date", "datetime", "time", "timedelta", "timezone"},
    "zoneinfo": {"ZoneInfo"},
    "zoneinfo._zoneinfo": {"ZoneInfo"},
}


def _sha256_function() -> Callable[[bytes], Any]:
    """The C modules behind `hashlib.sha256` and `pickle`: `import hashlib` (which loads
    OpenSSL) and `import pickle` add about 4 ms to a one-off command that only reads an entry.
    Writing one imports `pickle` itself."""
    try:
        return importlib.import_module("_sha256").sha256  # type: ignore[no-any-return]
    except (ImportError, AttributeError):  # another Python, or one that names it otherwise
        import hashlib

        return hashlib.sha256


_sha256 = _sha256_function()


class _Refused(UnpicklingError):
    pass


class _Unpickler(Unpickler):
    """Builds only the classes in `_ALLOWED`: never a function, never another module's class
    (what a hostile pickle would call to run code)."""

    def find_class(self, module: str, name: str) -> Any:
        if module not in _ALLOWED:
            raise _Refused(f"{module}.{name}")
        names = _ALLOWED[module]
        if names is not None and name not in names:
            raise _Refused(f"{module}.{name}")
        found = super().find_class(module, name)
        if not isinstance(found, type) or (names is None and found.__module__ != module):
            raise _Refused(f"{module}.{name}")
        return found


def _digest(data: bytes) -> str:
    return str(_sha256(data).hexdigest())


def _code_versions() -> list[tuple[str, int, int]]:
    out = []
    for name in CODE:
        try:
            st = os.stat(os.path.join(_HERE, name))
        except OSError:
            out.append((name, -1, -1))
        else:
            out.append((name, st.st_mtime_ns, st.st_size))
    return out


def _key(path: str, data: bytes) -> str:
    """What an entry's content depends on, but for the files it extends (checked apart)."""
    parts = repr((FORMAT, __version__, _code_versions(), sys.version, holidays_version(),
                  path, os.path.realpath(path), _digest(data)))
    return _digest(parts.encode("utf-8", "surrogateescape"))


def _entry_path(path: str) -> Path:
    # one entry per rulebook path (as given and as resolved): a changed rulebook replaces its
    # entry instead of adding one
    name = _digest(repr((path, os.path.realpath(path))).encode("utf-8", "surrogateescape"))
    return cache_dir() / "rulebooks" / f"{name[:32]}.pickle"


def _read(path: str) -> bytes | None:
    try:
        return read_limited(path, MAX_RULEBOOK_BYTES, "rulebook file")
    except DeadlinesError:
        return None  # the YAML loader reads it again and says what is wrong


def load(path: str, data: bytes) -> tuple[Rulebook, list[str]] | None:
    """The rulebook read from `path` (whose bytes are `data`) and the files it was read from,
    if the cache holds them for exactly these bytes and this code; None otherwise (never an
    exception)."""
    try:
        raw = read_limited(_entry_path(path), MAX_ENTRY_BYTES, "cache file")
        entry = _Unpickler(io.BytesIO(raw)).load()
        key, parents, files, book = entry
        if key != _key(path, data):
            return None
        for parent, digest in parents:
            parent_data = _read(parent)
            if parent_data is None or _digest(parent_data) != digest:
                return None
        from .rulebook import Rulebook

        if not isinstance(book, Rulebook) or not all(isinstance(f, str) for f in files):
            return None
        return book, list(files)
    except Exception:  # any unreadable entry is a miss, recomputed and rewritten
        return None


def store(path: str, data: bytes, book: Rulebook, files: list[str]) -> None:
    """Keep `book`, parsed from `data` (the bytes at `path`), for the next command. Quiet: a
    cache that cannot be written only costs speed."""
    parents = []
    for parent in files[1:]:
        parent_data = _read(parent)
        if parent_data is None:
            return
        parents.append((parent, _digest(parent_data)))
    entry = (_key(path, data), parents, list(files), book)
    import pickle

    from .safeio import atomic_write

    with contextlib.suppress(DeadlinesError, OSError, pickle.PicklingError, TypeError,
                             AttributeError, RecursionError):
        atomic_write(_entry_path(path), pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))


def read_bytes(path: str) -> bytes | None:
    """The bytes a rulebook is parsed from, read before parsing (so that an entry is never
    stored under the key of bytes that were not the ones parsed)."""
    return _read(path)
