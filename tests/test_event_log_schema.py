"""The event log format: docs/event-log.md, one example per agreement (docs/examples), and the
JSON Schema editors use (deadlines/schemas/event-log.schema.json).

Every sample, example and shipped log is valid by the schema and by the tool; on a set of
broken logs the two agree; what only the tool can check is listed, and checked, below."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from deadlines import eventlog, rulebook
from deadlines.errors import DeadlinesError
from deadlines.yamlsource import load_path, load_text

ROOT = Path(__file__).resolve().parent.parent
# The schema of logs of the shipped agreements (generated), and of logs of any rulebook
SCHEMA_FILE = ROOT / "deadlines" / "rulebooks" / "event-log.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
GENERIC_FILE = ROOT / "deadlines" / "schemas" / "event-log.schema.json"
GENERIC = jsonschema.Draft202012Validator(json.loads(GENERIC_FILE.read_text(encoding="utf-8")))
DOC = ROOT / "docs" / "event-log.md"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yaml"))
LOGS = [*sorted(ROOT.glob("samples/*/events/*.yaml")), *sorted(ROOT.glob("events/*.yaml")),
        *EXAMPLES]
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"


def schema_errors(data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATOR.iter_errors(data)]


def the_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "event_log_schema", ROOT / "scripts" / "event_log_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the schema itself ----------------------------------------------------------------------

def test_the_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(GENERIC.schema)


def test_the_schema_is_up_to_date_with_the_rulebooks() -> None:
    """Agreements, their event types, rules, sides, regions and severities come from the
    rulebooks; after a rulebook (or the generic schema) changes, run
    `python scripts/event_log_schema.py`."""
    assert the_script().fresh() == SCHEMA_FILE.read_text(encoding="utf-8")


def test_the_schema_has_the_fields_the_tool_reads() -> None:
    """`by` is documented and in the schema; the tool reads it once the dates branch lands."""
    contract = SCHEMA["$defs"]["contract"]["properties"]
    event = SCHEMA["$defs"]["event"]["properties"]
    assert set(contract) == set(eventlog.CONTRACT_FIELDS)
    assert set(event) - {"by"} == set(eventlog.EVENT_FIELDS) - {"by"}
    assert SCHEMA["$defs"]["contract"]["required"] == ["id", "agreement", "start"]
    assert SCHEMA["$defs"]["event"]["required"] == ["type", "at"]


def test_the_schema_is_shipped_in_the_package() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'deadlines = \[.*"schemas/\*\.json".*\]', text)
    assert re.search(r'deadlines = \[.*"rulebooks/\*\.json".*\]', text)


# --- samples, the shipped example and the documented examples ----------------------------

@pytest.mark.parametrize("path", LOGS, ids=[str(p.relative_to(ROOT)) for p in LOGS])
def test_every_log_we_ship_is_valid_by_the_schema_and_the_tool(path: Path) -> None:
    assert schema_errors(load_path(path).data) == []
    assert list(GENERIC.iter_errors(load_path(path).data)) == []
    eventlog.load(path)


TUTORIAL_LOGS = sorted((ROOT / "docs" / "examples" / "tutorial" / "events").glob("*.yaml"))


@pytest.mark.parametrize("path", TUTORIAL_LOGS, ids=[p.name for p in TUTORIAL_LOGS])
def test_a_log_of_a_rulebook_of_ones_own_is_valid_by_the_generic_schema(path: Path) -> None:
    """docs/your-own-contract.md: its log names the generic schema; the shipped one would not
    know its rulebook's events."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.endswith("/deadlines/schemas/event-log.schema.json")
    assert (path.parent / first.split("$schema=")[1]).resolve() == GENERIC_FILE
    assert list(GENERIC.iter_errors(load_path(path).data)) == []
    eventlog.load(path)


def test_one_complete_example_per_agreement() -> None:
    agreements = sorted(eventlog.load(p).contract.agreement for p in EXAMPLES)
    assert agreements == rulebook.available()


def test_the_examples_use_every_field_between_them() -> None:
    """Every contract field and every event field the tool reads appears in some example
    (`by` too, once the tool reads it: see the doc)."""
    contract_fields: set[str] = set()
    event_fields: set[str] = set()
    for path in EXAMPLES:
        data = load_path(path).data
        contract_fields |= set(data["contract"])
        event_fields |= {key for event in data["events"] for key in event}
    assert contract_fields == set(eventlog.CONTRACT_FIELDS)
    assert event_fields == set(eventlog.EVENT_FIELDS) - {"by"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_names_the_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (path.parent / match.group(1)).resolve() == SCHEMA_FILE


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_builds(path: Path, tmp_path: Path) -> None:
    from deadlines import api

    events = tmp_path / "events"
    events.mkdir()
    shutil.copy(path, events / path.name)
    report = api.build(str(events), str(tmp_path / "feeds"),
                       as_of=api.parse_as_of("2026-06-01"))
    assert report.contracts == 1 and report.deadlines > 0


def test_the_inline_example_of_the_doc_is_the_example_file() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# yaml-language-server.*?)```", text, re.DOTALL)
    assert block
    assert block.group(1) == (ROOT / "docs" / "examples" / "freshhawk-standard.yaml").read_text(
        encoding="utf-8")


def test_the_doc_documents_every_field() -> None:
    text = DOC.read_text(encoding="utf-8")
    contract = text[text.index("## The contract"):text.index("## Events")]
    events = text[text.index("## Events"):text.index("### Event types")]
    for field in eventlog.CONTRACT_FIELDS:
        assert f"\n| `{field}` |" in contract, field
    for field in (*eventlog.EVENT_FIELDS, "by"):
        assert f"\n| `{field}` |" in events, field


# --- the tool and the schema agree ----------------------------------------------------------

HEAD = "contract:\n  id: acme\n  agreement: {agreement}\n  start: 2026-01-15\n"


def log(agreement: str = "freshhawk-enterprise", contract: str = "", events: str = "") -> str:
    text = HEAD.format(agreement=agreement) + contract
    if events:
        text += "events:\n" + events
    return text


BREACH = "  - {id: breach-1, type: breach_notice, at: 2026-03-02}\n"
TICKET = "  - {id: ticket-1, type: support_request, at: '2026-03-02T10:00', severity: major}\n"

BROKEN = {
    "not a mapping": "- contract\n- events\n",
    "unknown top-level field": log() + "event: []\n",
    "no contract": "events: []\n",
    "contract without id": "contract: {agreement: bcr, start: 2026-01-15}\n",
    "contract without agreement": "contract: {id: acme, start: 2026-01-15}\n",
    "contract without start": "contract: {id: acme, agreement: bcr}\n",
    "contract id not a slug": log().replace("id: acme", "id: Acme Corp"),
    "unknown contract field": log(contract="  colour: blue\n"),
    "unknown agreement": log(agreement="acme-msa"),
    "role": log(contract="  role: buyer\n"),
    "roll": log(contract="  roll: sideways\n"),
    "reminders not a list": log(contract="  reminders: 7d\n"),
    "reminder without unit": log(contract="  reminders: [7d, 7]\n"),
    "reminder in business days": log(contract="  reminders: [3 business days]\n"),
    "start with a typo in the year": log().replace("start: 2026-01-15", "start: 0226-01-15"),
    "start month 13": log().replace("start: 2026-01-15", "start: 2026-13-01"),
    "start in words": log().replace("start: 2026-01-15", "start: next monday"),
    "calendar not a code": log(contract="  calendar: France\n"),
    "calendar mapping without country": log(contract="  calendar: {subdiv: SP}\n"),
    "calendar mapping with an unknown field": log(contract="  calendar: {country: BR, zone: x}\n"),
    "region for an agreement without regions": log(contract="  region: us\n"),
    "unknown region": log(agreement="aircall", contract="  region: mars\n"),
    "events not a list": log() + "events: {breach: 2026-03-02}\n",
    "event not a mapping": log(events="  - breach_notice\n"),
    "event without type": log(events="  - {at: 2026-03-02}\n"),
    "event without at": log(events="  - {type: breach_notice}\n"),
    "unknown event field": log(events="  - {type: breach_notice, at: 2026-03-02, who: legal}\n"),
    "unknown event type": log(events="  - {type: breach_cure, at: 2026-03-02}\n"),
    "a fulfilment of another agreement": log(
        agreement="freshhawk-standard",
        events=BREACH + "  - {type: support_responded, at: 2026-03-03, ref: breach-1}\n"),
    "event id with a space": log(
        events="  - {id: breach 1, type: breach_notice, at: 2026-03-02}\n"),
    "hour 25": log(events="  - {type: breach_notice, at: '2026-03-02T25:00'}\n"),
    "at is a list": log(events="  - {type: breach_notice, at: [2026-03-02]}\n"),
    "note is a mapping": log(events="  - {type: breach_notice, at: 2026-03-02, note: {a: b}}\n"),
    "done without rule": log(events="  - {type: done, at: 2026-03-02}\n"),
    "done with an unknown rule": log(events="  - {type: done, rule: nope, at: 2026-03-02}\n"),
    "rule on another event": log(
        events=BREACH + "  - {type: breach_cured, rule: cure, at: 2026-03-03, ref: breach-1}\n"),
    "withdrawn without ref": log(events=BREACH + "  - {type: withdrawn, at: 2026-03-03}\n"),
    "a trigger with a ref": log(events=BREACH + "  - {type: breach_notice, at: 2026-03-04, "
                                               "ref: breach-1}\n"),
    "support request without severity": log(
        events="  - {type: support_request, at: '2026-03-02T10:00'}\n"),
    "unknown severity": log(events=TICKET.replace("major", "p9")),
    "severity for an agreement without severities": log(
        agreement="freshhawk-standard",
        events="  - {type: breach_notice, at: 2026-03-02, severity: p1}\n"),
}

VALID = {
    "the required fields only": log(),
    "no events (null)": log() + "events:\n",
    "every contract field": log(contract="  timezone: Europe/Paris\n  calendar: FR\n"
                                         "  role: provider\n  roll: following\n  name: Acme\n"
                                         "  reminders: [1 month, 2w, 48h, 90min]\n"),
    "a calendar mapping": log(contract="  calendar: {country: BR, subdiv: SP, categories: "
                                       "[public], extra: [2026-01-25], weekend: [sat, sun]}\n"),
    "a region": log(agreement="aircall", contract="  region: au\n"),
    "a severity by alias": log(events=TICKET.replace("major", "p2")),
    "a fulfilment, done, a withdrawal": log(
        events=BREACH + TICKET
        + "  - {type: breach_cured, at: '2026-03-20T16:00+01:00', ref: breach-1}\n"
          "  - {type: done, rule: support-update, at: '2026-03-02T10:50Z', ref: ticket-1}\n"
          "  - {id: w-1, type: withdrawn, at: 2026-03-21, ref: ticket-1}\n"
          "  - {type: withdrawn, at: 2026-03-22, ref: w-1, note: 12.5}\n"),
    "a rulebook by path": log(agreement="mini.yaml",
                              events="  - {type: breach_notice, at: 2026-03-02}\n"),
}

# What the shape of a log cannot tell: only the tool checks these.
TOOL_ONLY = {
    "a day that does not exist": log().replace("start: 2026-01-15", "start: 2026-02-30"),
    "a ref to no earlier event": log(
        events=BREACH + "  - {type: breach_cured, at: 2026-03-20, ref: breach-9}\n"),
    "a fulfilment with nothing to close": log(
        events="  - {type: breach_cured, at: 2026-03-20}\n"),
    "two events with one id": log(events=BREACH + BREACH),
    "a time zone that does not exist": log(contract="  timezone: Europe/Atlantis\n"),
}


def verdicts(text: str, tmp_path: Path) -> tuple[bool, bool]:
    """(the tool accepts, the schema accepts)."""
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    shutil.copy(MINI, tmp_path / "mini.yaml")
    try:
        eventlog.load(path)
        tool = True
    except DeadlinesError:
        tool = False
    return tool, VALIDATOR.is_valid(load_text(text, str(path)).data)


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_the_tool_and_the_schema_refuse_the_same_broken_logs(text: str, tmp_path: Path) -> None:
    assert verdicts(text, tmp_path) == (False, False)


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_the_tool_and_the_schema_accept_the_same_logs(text: str, tmp_path: Path) -> None:
    assert verdicts(text, tmp_path) == (True, True)


@pytest.mark.parametrize("text", TOOL_ONLY.values(), ids=TOOL_ONLY.keys())
def test_what_only_the_tool_checks(text: str, tmp_path: Path) -> None:
    assert verdicts(text, tmp_path) == (False, True)
