"""A seventh agreement is one YAML file and nothing else (issue 9).

Everything about an agreement is in its rulebook: its parties and their labels, its trigger and
fulfilment events, which event fulfils which rule. So no party key, no agreement id and no
event type of any shipped rulebook may appear anywhere in the package outside
`deadlines/rulebooks/` (code, comments, help texts, schemas): if one did, a newcomer's own
agreement would lack whatever that line gives the shipped ones.

`customer` and `provider` are the shipped rulebooks' party keys, so they are checked too: the
contract's `role:` is one of the rulebook's own `sides`, and Python knows no side by name.
The format's own words (`either`, `us`, `them`, `contract_start`, `done`, `withdrawn`) are in
`deadlines/vocabulary.py`; a rulebook may not take them as party keys.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deadlines import rulebook
from deadlines.vocabulary import DONE_EVENT, START_EVENT, WITHDRAWN_EVENT

PACKAGE = Path(__file__).resolve().parent.parent / "deadlines"
RULEBOOKS = PACKAGE / "rulebooks"
FORMAT_WORDS = {START_EVENT, DONE_EVENT, WITHDRAWN_EVENT}


def package_files() -> list[Path]:
    """Every file of the package but the rulebooks and what they generate."""
    return [p for p in sorted(PACKAGE.rglob("*"))
            if p.is_file() and RULEBOOKS not in p.parents and "__pycache__" not in p.parts]


def names_of_the_shipped_agreements() -> dict[str, set[str]]:
    """Party keys, agreement ids and event types of every shipped rulebook."""
    names: dict[str, set[str]] = {"party": set(), "agreement": set(), "event": set()}
    for name in rulebook.available():
        book = rulebook.load(name)
        names["agreement"].add(book.id)
        names["party"] |= set(book.parties)
        names["event"] |= (set(book.events) | set(book.fulfilments)) - FORMAT_WORDS
    return names


NAMES = names_of_the_shipped_agreements()


def test_the_shipped_names_are_what_this_test_expects() -> None:
    """The test is not vacuous: it looks for the names the six agreements use."""
    assert {"customer", "provider", "zendesk"} <= NAMES["party"]
    assert {"freshhawk-standard", "freshhawk-enterprise", "openmethods", "bcr", "aircall",
            "zuper"} <= NAMES["agreement"]
    assert {"breach_notice", "breach_cured", "support_responded"} <= NAMES["event"]
    assert any(p.suffix == ".py" for p in package_files())
    assert any(p.suffix == ".json" for p in package_files())


@pytest.mark.parametrize("what", sorted(NAMES))
def test_no_name_of_a_shipped_agreement_is_written_outside_its_rulebook(what: str) -> None:
    """Case-insensitive, as a word or the start of one (`customers`, `Aircall's`, `BCR.CX`)."""
    pattern = re.compile("|".join(rf"(?<![a-z0-9_]){re.escape(word)}(?![a-z0-9_-])"
                                  if what != "party" else rf"(?<![a-z0-9_]){re.escape(word)}"
                                  for word in sorted(NAMES[what], key=len, reverse=True)),
                         re.IGNORECASE)
    found = []
    for path in package_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {match.group(0)}: "
                             f"{line.strip()[:80]}")
    assert not found, f"{what} names outside deadlines/rulebooks/:\n" + "\n".join(found)
