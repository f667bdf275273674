"""The JSON Schema of a rulebook (deadlines/schemas/rulebook.schema.json), for editors.

Every shipped rulebook (and the tutorial's, and the test fixture) is valid by the schema; on a
set of broken rulebooks the schema and the loader agree; what only the loader can check (a zone
or a calendar that exists, chains, parties named by rules) is listed and checked below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from deadlines import rulebook
from deadlines.errors import DeadlinesError
from deadlines.yamlsource import load_path, load_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "deadlines" / "schemas" / "rulebook.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BOOKS = [*sorted((ROOT / "deadlines" / "rulebooks").glob("*.yaml")),
         ROOT / "tests" / "fixtures" / "mini.yaml",
         *sorted((ROOT / "docs" / "examples" / "tutorial").glob("*.yaml"))]

GOOD = """\
id: acme-msa
name: Acme hosting agreement
parties:
  buyer: {name: Acme Ltd, label: {en: the buyer, fr: l'acheteur}}
  seller: Widget Hosting Inc
sides: [buyer, seller]
governing_law: {name: England and Wales}
timezone: Europe/London
calendar: GB-ENG
events:
  breach_notice: {meaning: A written notice of breach was received., by: them}
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
"""


def errors(data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATOR.iter_errors(data)]


def variant(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


def loader_refuses(text: str, tmp_path: Path) -> str:
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeadlinesError) as info:
        rulebook.load(str(path))
    return info.value.render()


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_is_shipped_in_the_package() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"schemas/*.json"' in text


@pytest.mark.parametrize("path", BOOKS, ids=[p.name for p in BOOKS])
def test_every_rulebook_we_ship_is_valid_by_the_schema_and_the_loader(path: Path) -> None:
    assert errors(load_path(path).data) == []
    rulebook.load(str(path))


def test_the_good_example_is_good_by_both(tmp_path: Path) -> None:
    assert errors(load_text(GOOD, "good.yaml").data) == []
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert [r.id for r in rulebook.load(str(path)).rules] == ["cure"]


# Each broken rulebook: what is wrong, and the field the loader names.
BROKEN = {
    "no id": (variant("id: acme-msa\n", ""), "id: required field is missing"),
    "id not a slug": (variant("id: acme-msa", "id: Acme MSA"), "id: expected a lowercase slug"),
    "unknown top-level field": (GOOD + "colour: red\n", "colour: unknown field"),
    "no parties": (variant("parties:\n  buyer: {name: Acme Ltd, label: {en: the buyer, fr: "
                           "l'acheteur}}\n  seller: Widget Hosting Inc\n", ""),
                   "parties: expected the parties"),
    "a party named either": (variant("  seller: Widget", "  either: Widget"),
                             "'either' cannot name a party"),
    "a party with an unknown field": (variant("{name: Acme Ltd,", "{name: Acme Ltd, colour: x,"),
                                      "parties.buyer.colour: unknown field"),
    "a label in an unknown language": (variant("fr: l'acheteur", "de: der Käufer"),
                                       "parties.buyer.label.de: unknown language"),
    "one side": (variant("sides: [buyer, seller]", "sides: [buyer]"),
                 "sides: expected two different parties"),
    "no sides": (variant("sides: [buyer, seller]\n", ""), "sides: required field is missing"),
    "a law with no name": (variant("{name: England and Wales}", "{clause: '12'}"),
                           "governing_law.name: required field is missing"),
    "a law quote without lines": (variant("{name: England and Wales}",
                                          "{name: England, quote: laws of England}"),
                                  "governing_law.lines: expected"),
    "a roll that does not exist": (GOOD + "roll: sideways\n", "roll: 'sideways' is not one of"),
    "an event name in kebab-case": (variant("  breach_notice: {meaning",
                                            "  breach-notice: {meaning"),
                                    "events.breach-notice: event types are snake_case"),
    "an event with by and no meaning": (variant("{meaning: A written notice of breach was "
                                                "received., by: them}", "{by: them}"),
                                        "events.breach_notice.meaning: required field"),
    "done as a fulfilment": (variant("  breach_cured: The", "  done: The"),
                             "fulfilments.done: 'done' is already"),
    "no rules": (GOOD[:GOOD.index("rules:")] + "rules: []\n", "rules: expected a non-empty list"),
    "a rule with no title": (variant("    title: Cure period\n", ""),
                             "rules[0].title: required field is missing"),
    "a rule with an unknown field": (variant("    title: Cure period\n",
                                             "    title: Cure period\n    colour: red\n"),
                                     "rules[0].colour: unknown rule field"),
    "a kind that does not exist": (variant("    title: Cure period\n",
                                           "    title: Cure period\n    kind: duty\n"),
                                   "rules[0].kind: 'duty' is not one of"),
    "a period in words": (variant("period: 30 days", "period: thirty days"),
                          "rules[0].period: 'thirty days' is not a period"),
    "a direction that does not exist": (variant("    period: 30 days\n",
                                                "    period: 30 days\n    direction: later\n"),
                                        "rules[0].direction: 'later' is not one of"),
    "either on a one-party rule": (variant("    actor: seller\n",
                                           "    actor: seller\n    either: by\n"),
                                   "rules[0].either: only a rule with actor: either"),
    "a right that is fulfilled": (variant("    title: Cure period\n",
                                          "    title: Cure period\n    kind: right\n"),
                                  "rules[0].fulfilled_by: only an obligation is fulfilled"),
    "lines in words": (variant("lines: [12]", "lines: twelve"), "rules[0].lines: expected"),
    "line zero": (variant("lines: [12]", "lines: [0]"), "rules[0].lines: expected"),
    "a reading with no words": (variant("    quote: within thirty days\n",
                                        "    quote: within thirty days\n    readings:\n"
                                        "      - period: 30 business days\n"),
                                "rules[0].readings[0].reading: required field is missing"),
    "a reading with an unknown field": (variant("    quote: within thirty days\n",
                                                "    quote: within thirty days\n    readings:\n"
                                                "      - {reading: x, colour: red}\n"),
                                        "rules[0].readings[0].colour: unknown reading field"),
    "clear as a word": (variant("    period: 30 days\n", "    period: 30 days\n    clear: yes\n"
                                ) .replace("clear: yes", "clear: 'yes'"),
                        "rules[0].clear: expected true or false"),
    "a window time as a number": (GOOD + "schedules:\n  desk:\n    windows:\n"
                                  "      - {days: [mon], from: 9, to: '17:00'}\n",
                                  "schedules.desk.windows[0].from: expected a time in quotes"),
    "a schedule with no windows": (GOOD + "schedules:\n  desk: {timezone: UTC}\n",
                                   "schedules.desk.windows: expected a non-empty list"),
    "a calendar in words": (variant("calendar: GB-ENG", "calendar: England"),
                            "calendar: 'England' is not a calendar"),
    "a weekend of seven days": (variant("calendar: GB-ENG", "calendar: {country: GB, weekend: "
                                        "[mon, tue, wed, thu, fri, sat, sun]}"),
                                "calendar: the weekend covers all seven days"),
    "remove without extend": (GOOD + "remove: [cure]\n",
                              "remove: only a rulebook that extends another"),
    "aliases as one word": (GOOD + "severities:\n  high: {aliases: p1}\n",
                            "severities.high.aliases: expected a list"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_the_loader_and_the_schema_refuse_the_same_broken_rulebooks(case: str,
                                                                     tmp_path: Path) -> None:
    text, message = BROKEN[case]
    assert errors(load_text(text, "book.yaml").data), f"the schema accepts: {case}"
    rendered = loader_refuses(text, tmp_path)
    assert message in rendered, rendered
    assert rendered.startswith(str(tmp_path / "book.yaml") + ":"), rendered


# What only the loader can check: the schema cannot see the zone database, the holidays
# package, or how one part of the file refers to another.
ONLY_THE_LOADER = {
    "a zone that does not exist": (variant("Europe/London", "Europe/Atlantis"),
                                   "timezone: unknown time zone 'Europe/Atlantis'"),
    "a country the holidays package does not know": (variant("GB-ENG", "QQ"),
                                                    "calendar: unknown business calendar"),
    "an actor that is not a party": (variant("actor: seller", "actor: landlord"),
                                     "rules[0].actor: 'landlord' is not one of buyer, seller, "
                                     "either"),
    "a side that is not a party": (variant("sides: [buyer, seller]", "sides: [buyer, tenant]"),
                                   "sides: 'tenant' is not one of the parties"),
    "a fulfilment that is not declared": (variant("fulfilled_by: [breach_cured]",
                                                  "fulfilled_by: [breach_fixed]"),
                                          "'breach_fixed' is not declared under 'fulfilments:'"),
    "an event that is not declared": (variant("event: breach_notice", "event: breach"),
                                      "rules[0].event: event 'breach' is not declared"),
    "a default giver that is not a side": (variant("by: them", "by: nobody"),
                                           "events.breach_notice.by: 'nobody' is not one of us, "
                                           "them, buyer, seller"),
    "a chain to no rule": (variant("    period: 30 days\n", "    period: 30 days\n"
                                   "    from: notice\n"), "rules[0].from: no rule 'notice'"),
    "a duplicate rule": (GOOD + GOOD[GOOD.index("  - id: cure"):],
                         "rules[1].id: duplicate rule 'cure'"),
    "a period of more than 100 years": (variant("30 days", "36526 days"),
                                        "rules[0].period: 36526 days is too long"),
}


@pytest.mark.parametrize("case", ONLY_THE_LOADER, ids=list(ONLY_THE_LOADER))
def test_what_only_the_loader_checks(case: str, tmp_path: Path) -> None:
    text, message = ONLY_THE_LOADER[case]
    assert errors(load_text(text, "book.yaml").data) == []
    assert message in loader_refuses(text, tmp_path)
