"""`deadlines rulebook check` and `deadlines rulebook new`: writing a rulebook against a text.

The shipped rulebooks pass `check` against the seed; a quote that is not at its line, a line
past the end of the text, a broken field, each is one line `file:line: field: ...` and exit 2;
the skeleton `new` prints passes `check` once its quotes are written, and not before.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines import rulebook
from deadlines.authoring import SKELETON
from deadlines.cli import cli

DATA = Path(__file__).parent / "data"
SEED = DATA / "000_f3a55a2fbf7a4c9c.txt"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="deadlines")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def one_error(err: str) -> str:
    """The one line of a refusal, without the program's prefix."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deadlines: error: "), err
    return lines[0].removeprefix("deadlines: error: ")


@pytest.mark.parametrize("name", rulebook.available())
def test_every_shipped_rulebook_passes_check_against_the_seed(name: str) -> None:
    path = str(rulebook.RULEBOOK_DIR / f"{name}.yaml")
    book = rulebook.load(name)
    code, out, err = run("rulebook", "check", path, "--text", str(SEED))
    assert (code, err) == (0, "")
    quoted = len(book.rules) + (book.governing_law.source is not None)
    extends = f", extends {book.extends}" if book.extends else ""
    assert out == (f"{path}: {name} ({book.name}{extends}): {len(book.rules)} rules, "
                   f"{len(book.events)} events, "
                   f"{len(book.fulfilments)} fulfilments; {quoted} quotes found at their lines\n")


def copy_of(name: str, tmp_path: Path, old: str = "", new: str = "") -> Path:
    text = (rulebook.RULEBOOK_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_a_quote_not_at_its_line_is_named_with_its_own_line(tmp_path: Path) -> None:
    """freshhawk-standard's cure cites line 201; at line 200 the words are not there."""
    path = copy_of("freshhawk-standard", tmp_path, "  lines: [201]\n  quote: si nous ne",
                   "  lines: [200]\n  quote: si nous ne")
    code, _, err = run("rulebook", "check", str(path), "--text", str(SEED))
    assert code == 2
    error = one_error(err)
    quote_line = line_of(path, "quote: si nous ne")
    assert error == (f"{path}:{quote_line}: rules[8].quote: not found at line(s) 200 of {SEED}, "
                     "which read nothing (blank); expected the words of the text there, "
                     "verbatim")


def test_an_inherited_rule_at_the_wrong_line_points_at_the_line_given_again(
        tmp_path: Path) -> None:
    """freshhawk-enterprise repeats the standard cure at line 513 of the seed: a wrong line
    there is reported in the extending file, at its `lines:`, not in the file it extends."""
    path = copy_of("freshhawk-enterprise", tmp_path, "- {id: cure, lines: [513]}",
                   "- {id: cure, lines: [512]}")
    code, _, err = run("rulebook", "check", str(path), "--text", str(SEED))
    assert code == 2
    assert one_error(err).startswith(f"{path}:{line_of(path, 'id: cure,')}: rules[8].lines: "
                                     "not found at line(s) 512 of ")


def test_a_line_past_the_end_of_the_text(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    path = copy_of("freshhawk-standard", tmp_path)
    code, _, err = run("rulebook", "check", str(path), "--text", str(short))
    assert code == 2
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: rules\[0\]\.quote: line 83 is past the "
                        rf"end of {re.escape(str(short))} \(1 lines\); expected the line numbers "
                        r"the quote stands on \(\d+ more quotes not found\)", one_error(err))


def test_a_quote_may_run_over_its_lines_and_forgive_apostrophes_and_spaces(
        tmp_path: Path) -> None:
    text = tmp_path / "contract.txt"
    text.write_text("Clause 1.\nThe supplier\u2019s duty:\u00a0within thirty\n  days of notice.\n",
                    encoding="utf-8")
    book = skeleton_with_quotes(tmp_path, {"cure": ("[2, 3]", '"The supplier\'s duty: within '
                                                    'thirty days"')}, default=("[1]", "Clause 1."))
    code, out, err = run("rulebook", "check", str(book), "--text", str(text))
    assert (code, err) == (0, ""), err
    assert out.endswith("; 7 quotes found at their lines\n")


def test_a_broken_field_is_one_line_with_file_line_and_field(tmp_path: Path) -> None:
    path = copy_of("bcr", tmp_path, "period: 10 days", "period: ten days")
    code, out, err = run("rulebook", "check", str(path))
    assert (code, out) == (2, "")
    line = line_of(path, "period: ten days")
    assert re.match(rf"{re.escape(str(path))}:{line}: rules\[\d+\]\.period: 'ten days' is not a "
                    "period", one_error(err))


@pytest.mark.parametrize(("args", "message"), [
    (("nowhere.yaml",), "nowhere.yaml: no such file"),
    (("bcr",), "bcr: expected the path of a rulebook .yaml file"),
    (("MINI", "--text", "nowhere.txt"), "nowhere.txt: no such file"),
])
def test_files_that_cannot_be_read(args: tuple[str, ...], message: str, mini: str) -> None:
    code, _, err = run("rulebook", "check", *(mini if a == "MINI" else a for a in args))
    assert code == 2
    assert one_error(err) == message


def test_a_text_that_is_not_utf8(tmp_path: Path, mini: str) -> None:
    text = tmp_path / "latin1.txt"
    text.write_bytes("ligne 1\ncaf\xe9\n".encode("latin-1"))
    code, _, err = run("rulebook", "check", mini, "--text", str(text))
    assert code == 2
    assert one_error(err) == f"{text}:2: not UTF-8 text"


# --- new --------------------------------------------------------------------------------------

def skeleton_with_quotes(tmp_path: Path, quotes: dict[str, tuple[str, str]],
                         default: tuple[str, str] | None = None) -> Path:
    """The skeleton with `lines` and `quote` written for some rules (all with `default`)."""
    code, out, _ = run("rulebook", "new", "acme-msa")
    assert code == 0
    rules = out.split("\n  - id: ")
    for index, rule in enumerate(rules[1:], 1):
        rule_id = rule.split("\n", 1)[0]
        lines, quote = quotes.get(rule_id, default or ("", ""))
        if quote:
            rule = re.sub(r"lines: \[\d+\]", f"lines: {lines}", rule)
            rule = rule.replace("    quote:\n", f"    quote: {quote}\n")
        rules[index] = rule
    path = tmp_path / "acme-msa.yaml"
    path.write_text("\n  - id: ".join(rules), encoding="utf-8")
    return path


def test_new_prints_one_rule_of_each_kind() -> None:
    code, out, err = run("rulebook", "new", "acme-msa")
    assert (code, err) == (0, "")
    assert out == SKELETON.replace("ID", "acme-msa")
    for words in ("kind: obligation", "kind: right", "kind: limit", "direction: recurring",
                  "from: cure", "business days", "business hours", "fulfilled_by:",
                  "actor: either"):
        assert words in out, words


def test_the_skeleton_passes_check_once_its_quotes_are_written(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(run("rulebook", "new", "acme-msa")[1], encoding="utf-8")
    code, _, err = run("rulebook", "check", str(empty))
    assert code == 2
    assert one_error(err) == f"{empty}:{line_of(empty, '    quote:')}: rules[0].quote: " \
        "required field is missing"
    written = skeleton_with_quotes(tmp_path, {}, default=("[1]", "the words of clause 1"))
    code, out, err = run("rulebook", "check", str(written))
    assert (code, err) == (0, "")
    assert out == (f"{written}: acme-msa (acme-msa (the agreement's name as people say it)): "
                   "7 rules, 5 events, 4 fulfilments; quotes not checked (give --text "
                   "CONTRACT.txt)\n")


def test_new_refuses_an_id_that_is_not_a_slug() -> None:
    code, out, err = run("rulebook", "new", "Acme MSA")
    assert (code, out) == (2, "")
    assert one_error(err) == "'Acme MSA' is not an agreement id; expected a lowercase slug " \
        "such as acme-msa"
