"""A fixed, seeded slice of scripts/fuzz.py in the normal suite (a few hundred inputs).

Every input (mutated seed logs and rulebooks, hypothesis-generated logs and raw bytes) goes
through the CLI in process; the oracle is the script's: exit 0 or 2 only, no traceback, on 2
one `deadlines: error: FILE[:LINE]: ...` line and the pre-built OUT directory unchanged, on 0
whole calendars that icalendar reads. Run the full fuzzer with
`python scripts/fuzz.py --count 10000 --seed 1`.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fuzz.py"
MUTATION_INPUTS = 240
HYPOTHESIS_INPUTS = 80
SEED = 20260601


def _fuzz_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deadlines_fuzz_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz_module()


def _report(tally: object) -> str:
    examples = getattr(tally, "examples", [])
    return "\n".join(fuzz.describe_failure(case, outcome) for case, outcome in examples[:15])


def test_the_seed_logs_and_rulebooks_are_valid() -> None:
    """The seeds themselves build and compute cleanly, so every failure is the mutation's."""
    with fuzz.fuzz_environment() as tmp:
        harness = fuzz.Harness(tmp)
        for name, text in fuzz.seed_logs().items():
            outcome = harness.run(fuzz.Case("log", {f"events/{name}": text.encode()}, name))
            assert outcome.code == 0 and not outcome.failures, (name, outcome)
        for name, text in fuzz.seed_rulebooks().items():
            for event in ("breach_notice", "contract_start"):
                outcome = harness.run(fuzz.Case("rulebook", {"books/rb.yaml": text.encode()},
                                                name, event))
                assert outcome.code == 0 and not outcome.failures, (name, event, outcome)


def test_the_mutation_engine_is_deterministic() -> None:
    engine = fuzz.MutationEngine()
    first = [engine.case(random.Random(f"{SEED}:{i}")) for i in range(30)]
    again = [engine.case(random.Random(f"{SEED}:{i}")) for i in range(30)]
    assert [(c.kind, c.files, c.event) for c in first] == \
        [(c.kind, c.files, c.event) for c in again]


def test_mutated_inputs_exit_0_or_2_with_one_clear_line() -> None:
    tally = fuzz.Tally()
    with fuzz.fuzz_environment() as tmp:
        fuzz.run_mutations(fuzz.Harness(tmp, timeout=60), tally, MUTATION_INPUTS, SEED)
    assert tally.inputs == MUTATION_INPUTS
    assert tally.failed_inputs == 0, _report(tally)
    assert tally.exit0 > 0 and tally.exit2 > 0  # both paths were exercised


def test_hypothesis_inputs_exit_0_or_2_with_one_clear_line() -> None:
    pytest.importorskip("hypothesis")
    tally = fuzz.Tally()
    with fuzz.fuzz_environment() as tmp:
        fuzz.run_hypothesis(fuzz.Harness(tmp, timeout=60), tally, HYPOTHESIS_INPUTS, SEED)
    assert tally.inputs > 0
    assert tally.failed_inputs == 0, _report(tally)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("bom only", b"\xef\xbb\xbf"),
        ("nul", b"contract:\n  id: a\x00b\n"),
        ("not utf-8", b"contract:\n  name: \xff\xfe\n"),
        ("billion laughs", fuzz.billion_laughs()),
        ("over 5 MB", b"# " + b"x" * 5_000_001 + b"\n"),
        ("python tag", b"contract: !!python/object/apply:os.system ['true']\n"),
        ("bad timestamp tag", b"contract:\n  start: !!timestamp soon\n"),
        ("deep", b"contract: " + b"[" * 30 + b"]" * 30 + b"\n"),
        ("line separator in a key", b"contract:\n  \"a\\u2028b\": 1\n"),
        ("year 1", b"contract: {id: a, agreement: zuper, start: 0001-01-01T00:30}\n"),
        ("year 9999", b"contract: {id: a, agreement: zuper, start: 9999-12-31}\n"),
        ("unknown country", b"contract: {id: a, agreement: zuper, start: 2026-01-01, "
                            b"calendar: QQ}\n"),
        ("calendar with an int", b"contract: {id: a, agreement: zuper, start: 2026-01-01, "
                                 b"calendar: {country: FR, weekend: 5}}\n"),
        ("agreement name too long", b"contract: {id: a, agreement: " + b"x" * 300
                                    + b", start: 2026-01-01}\n"),
        ("no business day", b"contract: {id: a, agreement: zuper, start: 2026-01-01, calendar: "
                            b"{country: FR, weekend: [mon, tue, wed, thu, fri, sat, sun]}}\n"
                            b"events: [{type: data_subject_request, at: 2026-03-02}]\n"),
    ],
)
def test_known_nasty_logs(name: str, data: bytes) -> None:
    with fuzz.fuzz_environment() as tmp:
        outcome = fuzz.Harness(tmp).run(fuzz.Case("log", {"events/x.yaml": data}, name))
    assert outcome.code == 2 and not outcome.failures, outcome


WITHDRAWAL_CHAIN = """\
contract:
  id: ww
  agreement: freshhawk-standard
  start: 2026-01-15
events:
  - id: b1
    type: breach_notice
    at: 2026-05-20
  - id: w1
    type: withdrawn
    ref: b1
    at: 2026-05-21
  - id: w2
    type: withdrawn
    ref: w1
    at: 2026-05-22
    note: w1 was recorded in error
"""


@pytest.mark.parametrize(
    ("extra", "cure_status"),
    [
        ("", "pending"),  # w2 withdraws w1, so b1 counts again
        ("  - {id: w3, type: withdrawn, ref: b1, at: 2026-05-23}\n", "withdrawn"),
        ("  - {id: w3, type: withdrawn, ref: w2, at: 2026-05-23}\n", "withdrawn"),
        ("  - {type: breach_cured, at: 2026-05-25}\n", "met"),  # closes b1: it is open again
    ],
)
def test_a_withdrawn_withdrawal_gives_the_event_back(tmp_path: Path, extra: str,
                                                     cure_status: str) -> None:
    from datetime import UTC, datetime

    from deadlines.eventlog import load
    from deadlines.tracking import track

    path = tmp_path / "ww.yaml"
    path.write_text(WITHDRAWAL_CHAIN + extra, encoding="utf-8")
    tracked = track(load(path), datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert {t.status for t in tracked if t.deadline.rule.id == "cure"} == {cure_status}
