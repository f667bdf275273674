"""`extend:`: a rulebook that repeats another with changes (docs/rulebook-format.md, "Extending
a rulebook"). Inherited rules are kept, changed by id, or removed; mappings merge key by key;
a mistake is reported in the file (and at the line) that wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from duedates import due

from deadlines import rulebook
from deadlines.errors import DeadlinesError

PARENT = """\
id: hosting
name: Hosting agreement
parties:
  buyer: {name: Acme Ltd, label: {en: the buyer, fr: l'acheteur}}
  seller: {name: Widget Hosting Inc, label: {en: the seller, fr: le vendeur}}
sides: [buyer, seller]
governing_law: {name: England and Wales}
timezone: Europe/London
calendar: GB-ENG
events:
  breach_notice: A written notice of breach was received.
fulfilments:
  breach_cured: The breach was remedied.
rules:
  - id: cure
    title: Cure period
    event: breach_notice
    period: 30 days
    actor: seller
    fulfilled_by: [breach_cured]
    action: Remedy the breach.
    clause: "7.2"
    lines: [12]
    quote: within thirty days
  - id: terminate
    title: Right to terminate
    kind: right
    event: breach_notice
    from: cure
    period: 1 day
    actor: buyer
    action: Terminate.
    clause: "7.3"
    lines: [13]
    quote: may terminate
"""


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def child(folder: Path, body: str, parent: str = "hosting.yaml") -> str:
    write(folder, "hosting.yaml", PARENT)
    return write(folder, "premium.yaml", f"extend: {parent}\nid: premium\nname: Premium\n"
                 + body)


def test_an_inherited_rule_changed_by_id(tmp_path: Path) -> None:
    """The parent's cure is 30 days (2 March + 30 = 1 April); the child's 10 days (12 March).
    The right to terminate, inherited as it is, follows the child's cure: 13 March."""
    book = child(tmp_path, "rules:\n  - {id: cure, period: 10 days}\n")
    parent = str(tmp_path / "hosting.yaml")
    assert due(parent, "breach_notice", "2026-03-02", "cure") == "2026-04-01"
    assert due(parent, "breach_notice", "2026-03-02", "terminate") == "2026-04-02"
    assert due(book, "breach_notice", "2026-03-02", "cure") == "2026-03-12"
    assert due(book, "breach_notice", "2026-03-02", "terminate") == "2026-03-13"
    cure = rulebook.load(book).rules[0]
    assert (cure.title, cure.source.quote, cure.fulfilled_by) == (
        "Cure period", "within thirty days", ("breach_cured",))  # the rest is inherited
    assert rulebook.load(book).extends == "hosting"


def test_removed_and_new_rules(tmp_path: Path) -> None:
    """`remove` drops the right to terminate; a new rule comes after the inherited ones: a
    24-hour acknowledgement of the notice received at 10:00 on 2 March, due at 10:00 on
    3 March (London is on GMT then)."""
    book = child(tmp_path, "remove: [terminate]\nrules:\n"
                 "  - id: acknowledge\n    title: Acknowledge the notice\n"
                 "    event: breach_notice\n    period: 24 hours\n    actor: seller\n"
                 "    action: Acknowledge receipt.\n    clause: '7.1'\n    lines: [11]\n"
                 "    quote: acknowledge\n")
    assert [r.id for r in rulebook.load(book).rules] == ["cure", "acknowledge"]
    assert due(book, "breach_notice", "2026-03-02T10:00", "cure") == "2026-04-01"
    assert due(book, "breach_notice", "2026-03-02T10:00", "acknowledge") == \
        "2026-03-03T10:00:00+00:00"
    with pytest.raises(AssertionError, match="terminate not set off"):
        due(book, "breach_notice", "2026-03-02", "terminate")


def test_mappings_merge_key_by_key_and_null_removes(tmp_path: Path) -> None:
    book = rulebook.load(child(tmp_path, "parties:\n  seller: {label: {fr: le prestataire}}\n"
                               "rules:\n  - {id: cure, fulfilled_by: null}\n"))
    seller = book.parties["seller"]
    assert (seller.name, seller.labels) == ("Widget Hosting Inc",
                                            {"en": "the seller", "fr": "le prestataire"})
    assert book.rules[0].fulfilled_by == ()
    assert book.sides == ("buyer", "seller")


def test_a_chain_of_extensions_by_relative_path(tmp_path: Path) -> None:
    """hosting <- premium <- platinum (in another folder): platinum's cure is 5 days
    (2 March + 5 = 7 March), premium's 10 days stays in premium."""
    premium = child(tmp_path, "rules:\n  - {id: cure, period: 10 days}\n")
    platinum = write(tmp_path, "more/platinum.yaml", "extend: ../premium.yaml\nid: platinum\n"
                     "name: Platinum\nrules:\n  - {id: cure, period: 5 days}\n")
    assert due(platinum, "breach_notice", "2026-03-02", "cure") == "2026-03-07"
    assert due(premium, "breach_notice", "2026-03-02", "cure") == "2026-03-12"


def test_an_edited_parent_is_read_again(tmp_path: Path) -> None:
    """`deadlines serve` rebuilds when a rulebook changes: a child must not keep its parent's
    old rules."""
    book = child(tmp_path, "")
    assert due(book, "breach_notice", "2026-03-02", "cure") == "2026-04-01"
    parent = tmp_path / "hosting.yaml"
    parent.write_text(PARENT.replace("period: 30 days", "period: 20 days"), encoding="utf-8")
    os.utime(parent, ns=(1, 1))  # a different version even within one clock tick
    assert due(book, "breach_notice", "2026-03-02", "cure") == "2026-03-22"


@pytest.mark.parametrize(("body", "where", "message"), [
    ("rules:\n  - {id: cure, period: soon}\n", "premium.yaml:5: rules[0].period",
     "'soon' is not a period"),
    ("remove: [nope]\n", "premium.yaml:4: remove[0]", "no inherited rule 'nope' to remove"),
    ("remove: [cure]\n", "hosting.yaml:29: rules[1].from",
     "no rule 'cure' to chain from (inherited by "),
    ("rules:\n  - {id: curee, period: 10 days}\n", "premium.yaml:5: rules[0].id",
     "no inherited rule 'curee' to change"),
])
def test_a_mistake_is_reported_where_it_was_written(tmp_path: Path, body: str, where: str,
                                                   message: str) -> None:
    with pytest.raises(DeadlinesError) as info:
        rulebook.load(child(tmp_path, body))
    assert info.value.render().startswith(f"{tmp_path}/{where}: {message}"), info.value.render()


def test_a_broken_parent_is_reported_in_its_own_file(tmp_path: Path) -> None:
    book = child(tmp_path, "")
    write(tmp_path, "hosting.yaml", PARENT.replace("period: 30 days", "period: thirty days"))
    with pytest.raises(DeadlinesError, match=r"hosting\.yaml:18: rules\[0\]\.period: "):
        rulebook.load(book)


@pytest.mark.parametrize(("parent", "message"), [
    ("premium.yaml", "extend: rulebooks extend each other in a cycle"),
    ("nowhere", "extend: unknown rulebook 'nowhere'"),
])
def test_what_cannot_be_extended(tmp_path: Path, parent: str, message: str) -> None:
    with pytest.raises(DeadlinesError, match=message):
        rulebook.load(child(tmp_path, "", parent=parent))


def test_an_extending_rulebook_has_an_id_of_its_own(tmp_path: Path) -> None:
    write(tmp_path, "hosting.yaml", PARENT)
    path = write(tmp_path, "copy.yaml", "extend: hosting.yaml\nid: hosting\nname: Copy\n")
    with pytest.raises(DeadlinesError, match=r"copy\.yaml:2: id: expected an id of its own"):
        rulebook.load(path)
