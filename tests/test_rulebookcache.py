"""The parsed-rulebook cache (deadlines/rulebookcache.py): a hit gives the same rulebook
without parsing YAML; anything that changed, or anything wrong with an entry, is a miss that
parses again; an unwritable cache folder only costs speed."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from deadlines import extend, rulebook, rulebookcache, yamlsource
from deadlines.rulebook import Rulebook


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, and no parsed rulebook kept in memory."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DEADLINES_CACHE_DIR", str(folder))
    monkeypatch.setattr(rulebook, "_CACHE", {})
    return folder


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the YAML loader is asked to read (what a cache hit spares)."""
    seen: list[str] = []
    real = yamlsource.load_path

    def counting(path: Path | str) -> yamlsource.Located:
        seen.append(str(path))
        return real(path)

    monkeypatch.setattr(yamlsource, "load_path", counting)
    monkeypatch.setattr(extend, "load_path", counting)  # a parent's file
    return seen


def fresh(path: str | Path) -> Rulebook:
    """A rulebook loaded as a new process would: nothing in memory, the disk cache as it is."""
    rulebook._CACHE.clear()
    return rulebook.load(str(path))


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "rulebooks").glob("*.pickle"))


@pytest.fixture
def book_file(tmp_path: Path, mini: str) -> Path:
    path = tmp_path / "mini.yaml"
    shutil.copy(mini, path)
    return path


def test_a_hit_gives_the_same_rulebook_without_parsing(cache: Path, book_file: Path,
                                                       parses: list[str]) -> None:
    first = fresh(book_file)
    assert parses == [str(book_file)] and len(entries(cache)) == 1
    again = fresh(book_file)
    assert parses == [str(book_file)]  # not parsed again
    assert again == first and again is not first
    assert rulebook.source_files(again) == (str(book_file),)


def test_a_shipped_rulebook_is_cached_too(cache: Path, parses: list[str]) -> None:
    first = fresh("freshhawk-standard")
    assert fresh("freshhawk-standard") == first
    assert len(parses) == 1


def test_changed_bytes_are_a_miss(cache: Path, book_file: Path, parses: list[str]) -> None:
    fresh(book_file)
    text = book_file.read_text().replace("title: Cure\n", "title: Cure, edited\n")
    stat = book_file.stat()
    book_file.write_text(text)
    os.utime(book_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the same mtime
    edited = fresh(book_file)
    assert len(parses) == 2
    assert any(r.title == "Cure, edited" for r in edited.rules)
    assert len(entries(cache)) == 1  # the entry is replaced, not added to


def test_a_changed_parent_is_a_miss(cache: Path, tmp_path: Path, book_file: Path,
                                    parses: list[str]) -> None:
    child = tmp_path / "child.yaml"
    child.write_text("extend: mini.yaml\nid: child\nname: Child\n")
    first = fresh(child)
    assert fresh(child) == first and len(parses) == 2  # the child and its parent, once
    book_file.write_text(book_file.read_text().replace("title: Cure\n", "title: Healed\n"))
    edited = fresh(child)
    assert any(r.title == "Healed" for r in edited.rules)
    assert rulebook.source_files(edited) == (str(child), str(book_file))


def test_another_version_of_the_code_is_a_miss(cache: Path, book_file: Path,
                                               parses: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fresh(book_file)
    monkeypatch.setattr(rulebookcache, "__version__", "99.0")
    fresh(book_file)
    monkeypatch.setattr(rulebookcache, "FORMAT", rulebookcache.FORMAT + 1)
    fresh(book_file)
    monkeypatch.setattr(rulebookcache, "holidays_version", lambda: "0.0-other")
    fresh(book_file)
    assert len(parses) == 4
    fresh(book_file)
    assert len(parses) == 4  # and the rewritten entry is a hit again


def test_an_edited_module_is_a_miss(cache: Path, book_file: Path, parses: list[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fresh(book_file)
    real = rulebookcache._code_versions
    monkeypatch.setattr(rulebookcache, "_code_versions",
                        lambda: [(n, m + 1, s) for n, m, s in real()])
    fresh(book_file)
    assert len(parses) == 2


class _Planted:
    """What a hostile entry would build: a call to anything (here os.system)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "hostile", "wrong shape",
                                    "a directory"])
def test_a_damaged_entry_is_a_miss_and_rewritten(cache: Path, book_file: Path,
                                                  parses: list[str], tmp_path: Path,
                                                  damage: str) -> None:
    first = fresh(book_file)
    [entry] = entries(cache)
    good = entry.read_bytes()
    marker = tmp_path / "ran"
    if damage == "empty":
        entry.write_bytes(b"")
    elif damage == "truncated":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"\x80\x05not a pickle at all" * 10)
    elif damage == "hostile":
        entry.write_bytes(pickle.dumps(_Planted(marker)))
    elif damage == "wrong shape":
        entry.write_bytes(pickle.dumps(("key", [], ["x"], {"not": "a rulebook"})))
    else:
        entry.unlink()
        entry.mkdir()
    assert fresh(book_file) == first
    assert not marker.exists()
    assert len(parses) == 2
    if damage != "a directory":
        assert entry.read_bytes() == good  # rewritten
        assert fresh(book_file) == first and len(parses) == 2


def test_an_entry_of_another_path_is_never_served(cache: Path, tmp_path: Path,
                                                  book_file: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(book_file.read_text().replace("id: mini\n", "id: other\n"))
    fresh(book_file)
    [entry] = entries(cache)
    assert fresh(other).id == "other"
    # another rulebook's entry planted under this one's name: its key does not match
    os.replace(entry, rulebookcache._entry_path(str(other)))
    assert fresh(other).id == "other"


@pytest.mark.parametrize("how", ["a file in the way", "read-only"])
def test_a_cache_folder_that_cannot_be_written_only_costs_speed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, book_file: Path, parses: list[str],
        how: str) -> None:
    monkeypatch.setattr(rulebook, "_CACHE", {})
    if how == "a file in the way":
        (tmp_path / "file").write_text("")
        folder = tmp_path / "file" / "cache"
    else:
        folder = tmp_path / "ro"
        (folder / "rulebooks").mkdir(parents=True)
        folder.chmod(0o500)
        (folder / "rulebooks").chmod(0o500)
    monkeypatch.setenv("DEADLINES_CACHE_DIR", str(folder))
    try:
        first = fresh(book_file)
        assert fresh(book_file) == first
    finally:
        if how == "read-only":
            (folder / "rulebooks").chmod(0o700)
            folder.chmod(0o700)
    if how == "a file in the way" or os.geteuid() != 0:  # root writes anyway
        assert len(parses) == 2


def test_a_bad_rulebook_is_reported_as_before(cache: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: [unclosed\n")
    with pytest.raises(Exception) as first:
        fresh(bad)
    with pytest.raises(Exception) as again:
        fresh(bad)
    assert str(again.value) == str(first.value)
    assert entries(cache) == []
