"""The refactor of issue 9 moved no date: `deadlines rules --format json` of every shipped
agreement and a fixed set of `deadlines compute --format json` answers are compared, byte for
byte, with the answers saved before it started (tests/golden/).

The set: every trigger event of every agreement (each severity, for an event whose rules
depend on one; each region, for an agreement that counts by region) at 2026-03-02 (a date
alone) and at 2026-04-04T10:00 (a Saturday morning, the day before Melbourne leaves summer
time), plus the list of agreements. The two FreshHawk rulebooks are the same answers whether
`freshhawk-enterprise` repeats the standard rules or `extend:`s them.

After a deliberate change of an answer, rewrite the files and read their diff:

    python tests/test_golden.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deadlines import rulebook
from deadlines.cli import cli

GOLDEN = Path(__file__).parent / "golden"
WHEN = ("2026-03-02", "2026-04-04T10:00")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), prog_name="deadlines")
    assert result.exit_code == 0, f"deadlines {' '.join(args)}: {result.output}"
    return result.stdout


def compute_cases(name: str) -> list[tuple[str, ...]]:
    """The arguments of every `compute` of one agreement in the set."""
    book = rulebook.load(name)
    cases = []
    for event in book.events:
        rules = book.rules_for(event)
        if not rules:
            continue
        severities = sorted({r.severity for r in rules if r.severity}) or [None]
        for region in sorted(book.regions) or [None]:
            for severity in severities:
                for when in WHEN:
                    args = ["compute", name, event, when, "--format", "json"]
                    if severity is not None:
                        args += ["--severity", severity]
                    if region is not None:
                        args += ["--region", region]
                    cases.append(tuple(args))
    return cases


def answers(name: str) -> dict[str, str]:
    """`rules NAME --format json` and every compute of the set, by command line."""
    out = {f"rules {name} --format json": run("rules", name, "--format", "json")}
    for args in compute_cases(name):
        out[" ".join(args)] = run(*args)
    return out


def golden_file(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def saved(name: str) -> dict[str, str]:
    """The saved answers as the command printed them: each is kept parsed (a readable diff)
    and printed back the way the CLI prints JSON."""
    data = json.loads(golden_file(name).read_text(encoding="utf-8"))
    return {command: printed(value) for command, value in data.items()}


def printed(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


SHIPPED = sorted(p.stem for p in GOLDEN.glob("*.json") if p.stem != "agreements")


def test_every_shipped_agreement_has_its_saved_answers() -> None:
    assert rulebook.available() == SHIPPED


def test_the_list_of_agreements_is_unchanged() -> None:
    assert run("rules", "--format", "json") == \
        (GOLDEN / "agreements.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SHIPPED)
def test_rules_and_computed_dates_are_unchanged(name: str) -> None:
    before = saved(name)
    after = answers(name)
    assert sorted(after) == sorted(before), "the set of commands changed"
    changed = [command for command in before if after[command] != before[command]]
    assert not changed, "answers changed:\n" + "\n".join(changed[:20])


def write() -> None:
    GOLDEN.mkdir(exist_ok=True)
    (GOLDEN / "agreements.json").write_text(run("rules", "--format", "json"), encoding="utf-8")
    for name in rulebook.available():
        parsed = {command: json.loads(text) for command, text in answers(name).items()}
        text = json.dumps(parsed, ensure_ascii=False, indent=1) + "\n"
        golden_file(name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_golden.py --write")
    write()
